/*
 * file.c: the file Ebb (see file.h).  Portable; the host's system
 * calls are the platform's (fhost_*: hosted/file_host.c, natively
 * kernel/file_none.c, which has none).
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
#include "file.h"
#include "kernel/malloc.h"
#include "kernel/spinlock.h"
#include "tcp/proto.h"
#include "timer.h"

enum { F_READ = 1, F_STAT, F_LIST, F_DATA };

#define DATA_HDR	16		/* tag, status, at, last */

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

struct files {
	struct messenger *m;
	uint32_t server;		/* a client's */
	int root;			/* the server's directory, or -1 */
	uint32_t timeout_ms;		/* a client's requests' (file_timeout) */
	int serving;			/* the server's requests in hand (atomic) */
	struct spinlock lock;
	/* lock must be held when using these: */
	struct req *pending;
	uint32_t tag;
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
	return __atomic_load_n(&nall, __ATOMIC_ACQUIRE) > 0 ? ebb_rep(EBB_FILE) : NULL;
}

static struct files *
files_of(struct messenger *m)
{
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

/* ---- the server's work (here, at once) -------------------------------------------- */

/*
 * A buffer of room bytes after hdr bytes, holding what fd has at off
 * (up to room): *n the bytes read.  NULL with *err.
 */
static struct iobuf *
chunk_read(int fd, uint64_t off, uint32_t room, size_t hdr, uint32_t *n, int *err)
{
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, hdr + room);
	long r;

	if (b == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	r = fhost_pread(fd, b->data + hdr, room, off);
	if (r < 0) {
		iobuf_free(b);
		*err = (int)-r;
		return NULL;
	}
	iobuf_put(b, hdr + (size_t)r);
	*n = (uint32_t)r;
	return b;
}

/* Open path for reading (a regular file): 0 with *fd, or the errno. */
static int
open_reg(struct files *fs, const char *path, int *fd)
{
	uint64_t size;
	int type, err;

	if ((err = file_path_check(path)) != 0 ||
	    (err = fhost_open(fs->root, path, fd, &size, &type)) != 0)
		return err;
	if (type == FILE_DIR)
		return EISDIR;
	return 0;
}

/* A read on the server itself: the chain, or NULL with *err (0: no bytes). */
static struct iobuf *
local_read(struct files *fs, const char *path, uint64_t off, uint32_t len, int *err)
{
	struct iobuf *head = NULL, *tail = NULL, *b;
	uint32_t at = 0, n;
	int fd;

	if ((*err = open_reg(fs, path, &fd)) != 0)
		return NULL;
	while (at < len) {
		uint32_t room = len - at < FILE_CHUNK ? len - at : FILE_CHUNK;
		if ((b = chunk_read(fd, off + at, room, 0, &n, err)) == NULL) {
			iobuf_free_chain(head);
			head = NULL;
			break;
		}
		if (n == 0) {
			iobuf_free(b);
			break;
		}
		if (head == NULL)
			head = b;
		else
			tail->next = b;
		tail = b;
		at += n;
		if (n < room)
			break;
	}
	fhost_close(fd);
	return head;
}

static int
local_stat(struct files *fs, const char *path, struct file_stat *st)
{
	int fd, type, err;

	if ((err = file_path_check(path)) != 0 ||
	    (err = fhost_open(fs->root, path, &fd, &st->size, &type)) != 0)
		return err;
	st->type = type;
	if (fd >= 0)
		fhost_close(fd);
	return 0;
}

/* The listing of path as one buffer (extra bytes of headroom before it). */
static struct iobuf *
local_list(struct files *fs, const char *path, size_t hdr, int *err)
{
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, hdr + FILE_CHUNK);
	size_t n;

	if (b == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	if ((*err = file_path_check(path)) != 0 ||
	    (*err = fhost_list(fs->root, path, (char *)b->data + hdr, FILE_CHUNK, &n)) != 0) {
		iobuf_free(b);
		return NULL;
	}
	iobuf_put(b, hdr + n);
	return b;
}

/* ---- the server's answers ---------------------------------------------------------- */

static void
put_words(uint8_t *p, const uint32_t *w, int n)
{
	for (int i = 0; i < n; i++)
		memcpy(p + 4 * i, &(uint32_t){ hton32(w[i]) }, 4);
}

/* The u32 at byte off of m's payload (0 if short: callers check len). */
static uint32_t
word(const struct msg *m, size_t off)
{
	uint32_t w = 0;

	iobuf_copy_out(m->data, off, 4, &w);
	return ntoh32(w);
}

/*
 * Send b (its first DATA_HDR bytes the header, filled here) to m's
 * sender, waiting for room; 0, or the error (b freed).
 */
static int
answer_send(struct msg *m, struct iobuf *b, uint32_t tag, uint32_t status, uint32_t at,
    uint32_t last)
{
	uint32_t h[4] = { tag, status, at, last };
	int err;

	if (b == NULL && (b = iobuf_alloc(IOBUF_HEADROOM, DATA_HDR)) != NULL)
		iobuf_put(b, DATA_HDR);
	if (b == NULL)
		return ENOMEM;		/* the client times out */
	put_words(b->data, h, 4);
	while ((err = msg_send(m->to, m->from, EBB_FILE, F_DATA, b, NULL)) == EAGAIN) {
		struct future room;
		future_init(&room);
		if (msg_wait_room(m->to, m->from, &room) != 0)
			break;
		future_block(&room, NULL);
	}
	if (err != 0)
		iobuf_free_chain(b);
	return err;
}

static void
serve_read(struct files *fs, struct msg *m, uint32_t tag, const char *path, uint64_t off,
    uint32_t len)
{
	uint32_t at = 0, n = 0;
	struct iobuf *b;
	int fd, err;

	if (len > FILE_READ_MAX)
		err = EMSGSIZE;
	else
		err = open_reg(fs, path, &fd);
	if (err != 0) {
		answer_send(m, NULL, tag, (uint32_t)err, 0, 1);
		return;
	}
	for (;;) {
		uint32_t room = len - at < FILE_CHUNK ? len - at : FILE_CHUNK;
		if ((b = chunk_read(fd, off + at, room, DATA_HDR, &n, &err)) == NULL) {
			answer_send(m, NULL, tag, (uint32_t)err, at, 1);
			break;
		}
		int last = n < room || at + n == len;
		if (answer_send(m, b, tag, 0, at, last) != 0 || last)
			break;
		at += n;
	}
	fhost_close(fd);
}

static void
serve(struct files *fs, struct msg *m)
{
	uint32_t tag = word(m, 0), hdr = m->kind == F_READ ? 16 : 4, status = 0;
	char path[FILE_PATH_MAX];
	struct file_stat st;
	struct iobuf *b;
	int err;

	if (m->len < hdr || m->len - hdr >= FILE_PATH_MAX || m->kind < F_READ ||
	    m->kind > F_LIST) {
		answer_send(m, NULL, tag, EINVAL, 0, 1);
		return;
	}
	iobuf_copy_out(m->data, hdr, m->len - hdr, path);
	path[m->len - hdr] = 0;
	if (strlen(path) != m->len - hdr) {
		answer_send(m, NULL, tag, EINVAL, 0, 1);	/* a NUL inside */
		return;
	}
	switch (m->kind) {
	case F_READ:
		serve_read(fs, m, tag, path, (uint64_t)word(m, 4) << 32 | word(m, 8), word(m, 12));
		return;
	case F_STAT:
		if ((err = local_stat(fs, path, &st)) != 0) {
			answer_send(m, NULL, tag, (uint32_t)err, 0, 1);
			return;
		}
		if ((b = iobuf_alloc(IOBUF_HEADROOM, DATA_HDR + 12)) == NULL)
			return;
		put_words(iobuf_put(b, DATA_HDR + 12) + DATA_HDR, (uint32_t[3]){
		    (uint32_t)(st.size >> 32), (uint32_t)st.size, (uint32_t)st.type }, 3);
		answer_send(m, b, tag, 0, 0, 1);
		return;
	case F_LIST:
		if ((b = local_list(fs, path, DATA_HDR, &err)) == NULL)
			status = (uint32_t)err;
		answer_send(m, b, tag, status, 0, 1);
		return;
	}
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
	put_words(p, &r->tag, 1);
	put_words(p + 4, w, nw);
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
	c = local_read(fs, path, off, len, &err);
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
	if ((err = local_stat(fs, path, st)) != 0)
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
	if ((b = local_list(fs, path, 0, &err)) == NULL)
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
	uint32_t tag = word(m, 0), status = word(m, 4), at = word(m, 8), last = word(m, 12);
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
			serve(fs, m);
			__atomic_sub_fetch(&fs->serving, 1, __ATOMIC_RELAXED);
		}
	}
	msg_free(m);
}
