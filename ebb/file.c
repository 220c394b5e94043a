/*
 * file.c: the file Ebb (see file.h): its reps, the wire, the client.
 * Portable.  The serving half is file_srv.c (file_int.h is what they
 * share); the host's system calls are the platform's (fhost_*:
 * hosted/file_host.c, natively kernel/file_none.c, which has none).
 *
 * A struct files is one node's rep: either the server's (root >= 0:
 * calls are done here, at once, and requests from other nodes are
 * answered) or a client's (calls become requests to server).
 *
 * Messages to EBB_FILE (every number a big-endian u32):
 *	READ	tag, off >> 32, off & 0xffffffff, len, path bytes
 *	STAT	tag, path bytes
 *	LIST	tag, path bytes
 *	DATA	tag, status, at, last, bytes	(server -> client)
 * The server answers a request with DATA messages, in order (one
 * handler event sends them all, so they travel on one connection from
 * one core): at is the offset of its bytes within the answer, last is 1
 * on the final one.  A failure is a DATA with a status and last set,
 * which may come after some data (a read error midway): the client then
 * frees what it had.  A READ's DATA carry at most FILE_CHUNK bytes,
 * each read by the server straight into the buffer sent after the
 * 16-byte header; STAT's one DATA is size >> 32, size & 0xffffffff,
 * type; LIST's one DATA is the listing.
 *
 * A client keeps a request on its pending list under its lock, keyed
 * by tag, as ebb/idmap.c does: with a timer on the core that asked and
 * the messenger's future for the send.  DATA that is not the last is
 * chained onto the request under the lock (the messages' chains are
 * taken, not copied); whichever of the last DATA, the timer and a
 * failed send unlinks the request first completes its future.  The
 * request is freed on its core once both the answer and the send's
 * future are done (refs).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ebb.h"
#include "event.h"
#include "file_int.h"
#include "kernel/malloc.h"
#include "kernel/spinlock.h"
#include "tcp/proto.h"
#include "timer.h"

struct req {
	struct req *next;		/* on fs->pending, under fs->lock */
	struct files *fs;
	uint32_t tag;
	int kind;
	uint32_t want;			/* a READ's len */
	struct future *f;
	struct file_stat *st;		/* a STAT's */
	struct iobuf *chain;		/* the answer so far (under fs->lock) */
	uint32_t got;			/* ... its bytes */
	int core;			/* where it was made: its timer's */
	int refs;			/* 2: the answer's, the sent future's */
	struct future sent;
	struct timer timer;
	struct event ev;
};

static struct spinlock all_lock = SPINLOCK_INIT("files");
static struct files *all[MSG_NODES_MAX];	/* written once each, under the lock */
static int nall;				/* release/acquire */
static struct ebb_shared file_root;

static void on_file(void *rep, struct msg *m);

/* ---- starting ---------------------------------------------------------------- */

static struct files *
files_add(struct messenger *m, uint32_t server, int root)
{
	struct files *fs = kmalloc(sizeof *fs);
	int first;

	if (fs == NULL)
		return NULL;
	*fs = (struct files){ .m = m, .server = server, .root = root,
	    .timeout_ms = FILE_TIMEOUT_MS };
	spin_init(&fs->lock, "files");
	spin_lock(&all_lock);
	for (int i = 0; i <= nall; i++)
		if (i == MSG_NODES_MAX || (i < nall && all[i]->m == m)) {
			spin_unlock(&all_lock);
			kfree(fs);
			return NULL;
		}
	first = nall == 0;
	all[nall] = fs;
	/* Release: the entry is whole before the count shows it. */
	__atomic_store_n(&nall, nall + 1, __ATOMIC_RELEASE);
	spin_unlock(&all_lock);
	if (first) {
		file_root = (struct ebb_shared)EBB_SHARED(fs);
		ebb_bind(EBB_FILE, &file_root.root);
		msg_handle(EBB_FILE, on_file);
	}
	return fs;
}

struct files *
file_start(struct messenger *m, uint32_t server)
{
	return files_add(m, server, -1);
}

struct files *
file_serve(struct messenger *m, const char *dir, char *why, size_t whylen)
{
	struct files *fs;
	int root, err;

	if ((err = fhost_root(dir, &root)) != 0) {
		snprintf(why, whylen, "%s: %s", dir, err == ENOTSUP ?
		    "a native instance has no host files to serve" : strerror(err));
		return NULL;
	}
	if ((fs = files_add(m, msgr_ip(m), root)) == NULL) {
		fhost_close(root);
		snprintf(why, whylen, "no memory, or this messenger has a file Ebb");
	}
	return fs;
}

void
file_timeout(struct files *fs, uint32_t ms)
{
	fs->timeout_ms = ms;
}

void
file_counts(struct files *fs, int *serving, int *pending)
{
	struct req *r;
	int n = 0;

	spin_lock(&fs->lock);
	for (r = fs->pending; r != NULL; r = r->next)
		n++;
	spin_unlock(&fs->lock);
	*pending = n;
	*serving = __atomic_load_n(&fs->serving, __ATOMIC_RELAXED);
}

struct files *
file_ebb(void)
{
	/*
	 * Bound, not merely counted: files_add publishes its entry before
	 * the first one binds EBB_FILE, and ebb_rep of an unbound static id
	 * panics.  (Not a hot path: the root's lookup is fine here.)
	 */
	return ebb_root_of(EBB_FILE) != NULL ? ebb_rep(EBB_FILE) : NULL;
}

static struct files *
files_of(struct messenger *m)
{
	/* Acquire: pairs with the start's release; the entries below n are whole. */
	int n = __atomic_load_n(&nall, __ATOMIC_ACQUIRE);

	for (int i = 0; i < n; i++)
		if (all[i]->m == m)
			return all[i];
	return NULL;
}

int
file_path_check(const char *path)
{
	size_t n = strnlen(path, FILE_PATH_MAX);
	const char *p = path;

	if (n == FILE_PATH_MAX)
		return EINVAL;
	if (path[0] == '/')
		return EACCES;
	while (*p != 0) {
		const char *e = strchr(p, '/');
		size_t k = e != NULL ? (size_t)(e - p) : strlen(p);
		if (k == 2 && p[0] == '.' && p[1] == '.')
			return EACCES;
		p += k;
		if (*p == '/')
			p++;
	}
	return 0;
}

/* ---- the client's requests ------------------------------------------------------------ */

static void
req_put(struct req *r)
{
	if (--r->refs == 0)		/* both on r->core */
		kfree(r);
}

/* Unlink r if it is still pending; 1 if we did. */
static int
req_unlink(struct files *fs, struct req *r)
{
	struct req **pp;

	for (pp = &fs->pending; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			return 1;
		}
	return 0;
}

/* Fail r (unlinked by the caller) and free what it had gathered. */
static void
req_fail(struct req *r, int err)
{
	iobuf_free_chain(r->chain);
	r->chain = NULL;
	future_fail(r->f, err);
}

static void
req_timeout(void *arg)
{
	struct req *r = arg;
	int mine;

	spin_lock(&r->fs->lock);
	mine = req_unlink(r->fs, r);
	spin_unlock(&r->fs->lock);
	if (!mine)
		return;		/* answered; req_end comes */
	req_fail(r, ETIMEDOUT);
	req_put(r);
}

/* After the answer, on the request's core. */
static void
req_end(void *arg)
{
	struct req *r = arg;

	timer_stop(&r->timer);
	req_put(r);
}

static void
req_sent(struct future *f, void *arg)
{
	struct req *r = arg;
	int mine = 0;

	if (f->err != 0) {
		spin_lock(&r->fs->lock);
		mine = req_unlink(r->fs, r);
		spin_unlock(&r->fs->lock);
	}
	if (mine) {
		timer_stop(&r->timer);
		req_fail(r, f->err);
		req_put(r);
	}
	req_put(r);
}

/* Send a request of kind: w[0..nw) after the tag, then the path. */
static int
req_send(struct files *fs, int kind, const uint32_t *w, int nw, const char *path,
    struct future *f, struct file_stat *st, uint32_t want)
{
	size_t pn = strlen(path), n = 4 + 4 * (size_t)nw + pn;
	struct req *r = kmalloc(sizeof *r);
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, n);
	uint8_t *p;
	int err;

	if (r == NULL || b == NULL) {
		kfree(r);
		iobuf_free_chain(b);
		return ENOMEM;
	}
	*r = (struct req){ .fs = fs, .kind = kind, .f = f, .st = st, .want = want,
	    .core = core_id(), .refs = 2 };
	future_init(&r->sent);
	if (future_then(&r->sent, req_sent, r) != 0) {
		kfree(r);
		iobuf_free_chain(b);
		return ENOMEM;
	}
	spin_lock(&fs->lock);
	r->tag = ++fs->tag;
	r->next = fs->pending;
	fs->pending = r;
	spin_unlock(&fs->lock);
	p = iobuf_put(b, n);
	file_put_words(p, &r->tag, 1);
	file_put_words(p + 4, w, nw);
	memcpy(p + 4 + 4 * nw, path, pn);
	timer_setup(&r->timer, req_timeout, r);
	/* Armed first: an answer may take r as soon as it is sent. */
	timer_start(&r->timer, (uint64_t)fs->timeout_ms * TIMER_MS, 0);
	if ((err = msg_send(fs->m, fs->server, EBB_FILE, (uint16_t)kind, b, &r->sent)) != 0) {
		iobuf_free_chain(b);
		future_fail(&r->sent, err);	/* req_sent fails the request */
	}
	return 0;
}

/* Checks every call makes before asking: 0 or the error. */
static int
call_check(const char *path)
{
	return path == NULL ? EINVAL : file_path_check(path);
}

int
file_read(struct files *fs, const char *path, uint64_t off, uint32_t len, struct future *f)
{
	struct iobuf *c;
	int err;

	if ((err = call_check(path)) != 0)
		return err;
	if (len > FILE_READ_MAX)
		return EMSGSIZE;
	if (fs->root < 0) {
		uint32_t w[3] = { (uint32_t)(off >> 32), (uint32_t)off, len };
		return req_send(fs, F_READ, w, 3, path, f, NULL, len);
	}
	c = file_local_read(fs, path, off, len, &err);
	if (err != 0)
		future_fail(f, err);
	else
		future_resolve(f, c);
	return 0;
}

int
file_stat(struct files *fs, const char *path, struct file_stat *st, struct future *f)
{
	int err;

	if ((err = call_check(path)) != 0)
		return err;
	if (fs->root < 0)
		return req_send(fs, F_STAT, NULL, 0, path, f, st, 12);
	if ((err = file_local_stat(fs, path, st)) != 0)
		future_fail(f, err);
	else
		future_resolve(f, st);
	return 0;
}

int
file_list(struct files *fs, const char *path, struct future *f)
{
	struct iobuf *b;
	int err;

	if ((err = call_check(path)) != 0)
		return err;
	if (fs->root < 0)
		return req_send(fs, F_LIST, NULL, 0, path, f, NULL, FILE_CHUNK);
	if ((b = file_local_list(fs, path, 0, &err)) == NULL)
		future_fail(f, err);
	else if (b->len == 0) {
		iobuf_free(b);
		future_resolve(f, NULL);
	} else
		future_resolve(f, b);
	return 0;
}

/* ---- the client's answers --------------------------------------------------------------- */

/* chain without its first n bytes (buffers emptied are freed); NULL if nothing is left. */
static struct iobuf *
chain_skip(struct iobuf *c, size_t n)
{
	while (c != NULL && (n > 0 || c->len == 0)) {
		if (c->len > n) {
			iobuf_advance(c, n);
			break;
		}
		n -= c->len;
		struct iobuf *next = c->next;
		c->next = NULL;
		iobuf_free(c);
		c = next;
	}
	return c;
}

/* Complete r (unlinked) with what it gathered. */
static void
req_done(struct req *r)
{
	uint32_t w[3];

	if (r->kind != F_STAT) {
		future_resolve(r->f, r->chain);
		r->chain = NULL;
		return;
	}
	if (r->got != 12) {
		req_fail(r, EPROTO);
		return;
	}
	iobuf_copy_out(r->chain, 0, 12, w);
	r->st->size = (uint64_t)ntoh32(w[0]) << 32 | ntoh32(w[1]);
	r->st->type = (int)ntoh32(w[2]);
	iobuf_free_chain(r->chain);
	r->chain = NULL;
	future_resolve(r->f, r->st);
}

/* A DATA message: gather it into its request; the last completes it. */
static void
answer(struct files *fs, struct msg *m)
{
	uint32_t tag = file_word(m, 0), status = file_word(m, 4), at = file_word(m, 8), last = file_word(m, 12);
	uint32_t n = m->len - DATA_HDR;
	struct iobuf *data;
	struct req *r;
	int end = 0;

	spin_lock(&fs->lock);
	for (r = fs->pending; r != NULL && r->tag != tag; r = r->next)
		;
	if (r == NULL) {
		spin_unlock(&fs->lock);
		return;		/* late (timed out, failed) or bogus */
	}
	/*
	 * A gap: messages from the server's core arrive in order unless a
	 * connection broke between them (the server went on on a new one).
	 */
	if (status == 0 && at != r->got)
		status = ECONNRESET;
	if (status == 0 && n > r->want - r->got)
		status = EPROTO;
	if (status == 0 && n > 0) {
		data = chain_skip(m->data, DATA_HDR);
		m->data = NULL;
		if (r->chain == NULL)
			r->chain = data;
		else
			iobuf_chain_append(r->chain, data);
		r->got += n;
	}
	if (status != 0 || last)
		end = req_unlink(fs, r);
	spin_unlock(&fs->lock);
	if (!end)
		return;
	if (status != 0)
		req_fail(r, (int)status);
	else
		req_done(r);
	spawn_on_record(r->core, &r->ev, req_end, r);
}

/* EBB_FILE's handler: requests on the server, answers on a client. */
static void
on_file(void *rep, struct msg *m)
{
	struct files *fs = files_of(m->to);

	(void)rep;
	if (fs != NULL && m->len >= 4) {
		if (m->kind == F_DATA && fs->root < 0 && m->len >= DATA_HDR)
			answer(fs, m);
		else if (m->kind != F_DATA && fs->root >= 0) {
			__atomic_add_fetch(&fs->serving, 1, __ATOMIC_RELAXED);
			file_serve_msg(fs, m);
			__atomic_sub_fetch(&fs->serving, 1, __ATOMIC_RELAXED);
		}
	}
	msg_free(m);
}
