/*
 * share.c: the share= argument: native nodes read the host's files
 * through the file Ebb (ebb/file.h), the offload at work.
 *
 *	frontend (share=DIR)                     node
 *	file_serve(DIR)   at the messenger's start
 *	every hello in -> SHARE to each node -> a walk of DIR through its
 *	                                         file Ebb: list, stat, read
 *	                  <- SHARED: the report: every file's path, size and
 *	                     FNV-1a 64 checksum, and what an escape got
 *	the same walk here, through the same Ebb (its local rep): the
 *	reports must be equal byte for byte -> "match", bye, exit
 *
 * The node reads every file in pieces of SHARE_PIECE bytes (several
 * reply messages each) and sums the bytes where they landed, buffer by
 * buffer of the chain: nothing is copied.  The walk goes into
 * subdirectories (SHARE_DEPTH levels).  Its last line is what reading
 * "../" (out of the directory) gave: it must be refused.  The report is
 * one message (at most SHARE_REPORT_MAX bytes; a longer one is cut and
 * marked, and then does not match).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "ebb/event.h"
#include "ebb/file.h"
#include "kernel/malloc.h"
#include "kernel/platform.h"

#define SHARE_PIECE		(1u << 20)	/* bytes per file_read */
#define SHARE_DEPTH		4		/* directory levels walked */
#define SHARE_REPORT_MAX	(256u << 10)	/* bytes of a report */

/* A report being written: text in buf, at most SHARE_REPORT_MAX. */
struct report {
	char *buf;
	size_t len;
	int cut;
	uint32_t files;
	uint64_t bytes;
};

static void
say(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct report *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->cut)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->len, SHARE_REPORT_MAX - r->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= SHARE_REPORT_MAX - r->len) {
		r->cut = 1;
		r->len = strlen(r->buf);
		return;
	}
	r->len += (size_t)n;
}

/* Block on f; its error, *v its value. */
static int
share_wait(struct future *f, void **v)
{
	return future_block(f, v);
}

/* Read path whole in pieces: its size and checksum, or an error. */
static int
sum_file(struct files *fs, const char *path, uint64_t *size, uint64_t *sum)
{
	uint64_t h = 0xcbf29ce484222325ull, off = 0;
	struct future f;
	void *v;
	int err;

	for (;;) {
		future_init(&f);
		if ((err = file_read(fs, path, off, SHARE_PIECE, &f)) != 0 ||
		    (err = share_wait(&f, &v)) != 0)
			return err;
		size_t n = iobuf_chain_len(v);
		for (struct iobuf *b = v; b != NULL; b = b->next)
			for (size_t i = 0; i < b->len; i++)
				h = (h ^ b->data[i]) * 0x100000001b3ull;
		iobuf_free_chain(v);
		off += n;
		if (n < SHARE_PIECE)
			break;
	}
	*size = off;
	*sum = h;
	return 0;
}

/* Walk directory dir ("" the top): a line per file, in the listing's order. */
static void
walk(struct files *fs, struct report *r, const char *dir, int depth)
{
	char path[FILE_PATH_MAX];
	struct future f;
	uint64_t size, sum;
	char *names, *p, *e;
	void *v = NULL;
	size_t n;
	int err;

	future_init(&f);
	if ((err = file_list(fs, dir, &f)) != 0 || (err = share_wait(&f, &v)) != 0) {
		say(r, "%s/: cannot list: %s\n", dir, strerror(err));
		return;
	}
	n = iobuf_chain_len(v);
	if ((names = kmalloc(n + 1)) == NULL) {
		iobuf_free_chain(v);
		say(r, "%s/: no memory\n", dir);
		return;
	}
	iobuf_copy_out(v, 0, n, names);
	names[n] = 0;
	iobuf_free_chain(v);
	for (p = names; (e = strchr(p, '\n')) != NULL; p = e + 1) {
		*e = 0;
		snprintf(path, sizeof path, "%s%s%s", dir, dir[0] ? "/" : "", p);
		if (e > p && e[-1] == '/') {
			path[strlen(path) - 1] = 0;
			if (depth < SHARE_DEPTH)
				walk(fs, r, path, depth + 1);
			continue;
		}
		if ((err = sum_file(fs, path, &size, &sum)) != 0) {
			say(r, "%s: %s\n", path, strerror(err));
			continue;
		}
		say(r, "%s %llu %016llx\n", path, (unsigned long long)size, (unsigned long long)sum);
		r->files++;
		r->bytes += size;
	}
	kfree(names);
}

/* The whole report through fs: the text (kfree it) and its figures, or NULL. */
static char *
share_report(struct files *fs, uint32_t *files, uint64_t *bytes)
{
	struct report r = { .buf = kmalloc(SHARE_REPORT_MAX) };
	struct future f;
	void *v = NULL;
	int err;

	if (r.buf == NULL)
		return NULL;
	r.buf[0] = 0;
	walk(fs, &r, "", 0);
	future_init(&f);
	err = file_read(fs, "../etc/passwd", 0, 100, &f);
	if (err == 0 && (err = share_wait(&f, &v)) == 0)
		iobuf_free_chain(v);
	say(&r, "escape ../etc/passwd: %s\n", err == 0 ? "READ (not confined!)" : strerror(err));
	if (r.cut)
		memcpy(r.buf + SHARE_REPORT_MAX - 6, "\n...\n", 6);
	*files = r.files;
	*bytes = r.bytes;
	return r.buf;
}

/* ---- the node's side ------------------------------------------------------------------ */

static struct {
	struct messenger *m;
	uint32_t front;
} nd;

static void
node_share(void *arg)
{
	static struct files *fs;
	uint64_t bytes, t0 = clock_ns(), ms;
	uint32_t files;
	char *text;

	(void)arg;
	if (fs == NULL && (fs = file_start(nd.m, nd.front)) == NULL) {
		printf("share: no file Ebb\n");
		return;
	}
	if ((text = share_report(fs, &files, &bytes)) == NULL) {
		printf("share: no memory for the report\n");
		return;
	}
	ms = (clock_ns() - t0) / 1000000;
	printf("share: read %u files, %llu bytes, from the host through the file Ebb in %llu ms"
	    " (%llu MB/s)\n", files, (unsigned long long)bytes, (unsigned long long)ms,
	    (unsigned long long)(bytes / 1000 / (ms + 1)));
	cl_send(nd.m, nd.front, CL_FRONT, K_SHARED, text, (uint32_t)strlen(text));
	kfree(text);
}

void
cl_share_node(struct messenger *m, uint32_t front)
{
	nd.m = m;
	nd.front = front;
	spawn(node_share, NULL);
}

/* ---- the frontend's side ---------------------------------------------------------------- */

static struct {
	struct future got[NODE_MAX + 1];	/* each node's SHARED */
	char *text[NODE_MAX + 1];		/* ... its report (kmalloc'd) */
} fr;

int
cl_share_dir_ok(const char *dir)
{
	int root, err = fhost_root(dir, &root);

	if (err != 0) {
		printf("cluster: share: %s: %s\n", dir, err == ENOTSUP ?
		    "a native instance has no host files to serve" : strerror(err));
		return -1;
	}
	fhost_close(root);
	return 0;
}

int
cl_share_serve(struct messenger *m, const char *dir)
{
	char why[256];

	for (int k = 0; k <= NODE_MAX; k++)
		future_init(&fr.got[k]);
	if (file_serve(m, dir, why, sizeof why) == NULL) {
		printf("cluster: share: %s\n", why);
		return -1;
	}
	return 0;
}

void
cl_share_got(int num, struct msg *m)
{
	char *t;

	if (num < 1 || num > NODE_MAX || fr.text[num] != NULL || fr.got[num].done ||
	    (t = kmalloc(m->len + 1)) == NULL)
		return;
	iobuf_copy_out(m->data, 0, m->len, t);
	t[m->len] = 0;
	fr.text[num] = t;
	future_resolve(&fr.got[num], t);
}

void
cl_share_gone(int num)
{
	if (num >= 1 && num <= NODE_MAX && !fr.got[num].done)
		future_fail(&fr.got[num], ECONNABORTED);
}

int
cl_share_check(struct messenger *m, const uint32_t *ips, const int *nums, int n)
{
	uint32_t files;
	uint64_t bytes;
	char *mine = share_report(file_ebb(), &files, &bytes);
	int bad = mine == NULL;

	if (mine != NULL)
		printf("share: the frontend reads %u files, %llu bytes:\n%s", files,
		    (unsigned long long)bytes, mine);
	for (int i = 0; i < n; i++)
		if (cl_send(m, ips[i], CL_NODE, K_SHARE, NULL, 0) != 0)
			cl_share_gone(nums[i]);
	for (int i = 0; i < n; i++) {
		int k = nums[i], err = share_wait(&fr.got[k], NULL);

		if (err != 0) {
			printf("share: node %d: no report: %s\n", k, strerror(err));
			bad = 1;
		} else if (mine != NULL && strcmp(fr.text[k], mine) == 0) {
			printf("share: node %d: %u files, %llu bytes: every size and checksum"
			    " matches the frontend's\n", k, files, (unsigned long long)bytes);
		} else {
			printf("share: node %d: its report differs from the frontend's:\n%s", k,
			    fr.text[k]);
			bad = 1;
		}
		kfree(fr.text[k]);
		fr.text[k] = NULL;
	}
	kfree(mine);
	return bad;
}
