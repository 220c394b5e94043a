/*
 * idmap.c: the global id map (see idmap.h).  Portable.
 *
 * The server keeps an rhash from id to a slot, made on the id's first
 * set and kept; a slot points to the value (rcu_assign), so a set
 * swaps the pointer (an atomic exchange: two sets at once need no
 * lock) and frees the old value after a grace period, and a get reads
 * it with no lock and copies it out.
 *
 * Requests (Ebb EBB_IDMAP; every number a big-endian u32):
 *	GET	tag, id			-> REPLY tag, status, value bytes
 *	SET	tag, id, value bytes	-> REPLY tag, status
 *	RANGE	tag			-> REPLY tag, status, first id
 * A client keeps each request on its pending list under the map's
 * lock, keyed by tag, with a timer on the core that asked, and the
 * messenger's future for its send.  Whichever of the reply (any core),
 * the timer and a failed send (that core) unlinks it first completes
 * its future; a reply then sends the request back to its core
 * (req_end) to stop the timer.  The request is freed there once both
 * the answer and the send's future are done (refs).  The server answers in the handler's event,
 * which may block: a reply that finds the queue full waits for room.
 */
#include <errno.h>
#include <string.h>

#include "event.h"
#include "idmap.h"
#include "kernel/malloc.h"
#include "kernel/spinlock.h"
#include "percore.h"
#include "rcu.h"
#include "rhash.h"
#include "tcp/proto.h"
#include "timer.h"

enum { IDMAP_GET = 1, IDMAP_SET, IDMAP_RANGE_REQ, IDMAP_REPLY };

#define IDMAP_TYPES_MAX	32	/* global types, at most */

/* A stored value: freed after a grace period once replaced. */
struct stored {
	struct rcu_head rcu;
	uint32_t len;
	uint8_t bytes[];
};

struct slot {
	struct stored *val;		/* rcu_assign / rcu_deref */
};

/* A request in flight, on the client. */
struct req {
	struct req *next;		/* on im->pending, under im->lock */
	struct idmap *im;
	uint32_t tag;
	int kind;
	struct future *f;
	int core;			/* where it was made: its timer's */
	int refs;			/* 2: the answer's, the sent future's (core's) */
	struct future sent;		/* the messenger's: the request reached the server */
	struct timer timer;
	struct event ev;		/* req_end, after a reply */
};

struct idmap {
	struct messenger *m;
	uint32_t server;
	struct rhash *slots;		/* the server's: id -> struct slot */
	uint32_t ranges;		/* the server's: ranges handed out (atomic) */
	uint32_t range0, nranges;	/* the server's: its site's ranges */
	const struct idmap_store *store;	/* the server's, if not its memory */
	uint64_t range;			/* this node's: next id << 32 | end (atomic) */
	struct spinlock lock;
	/* lock must be held when using these: */
	struct req *pending;
	uint32_t tag;
};

static struct spinlock maps_lock = SPINLOCK_INIT("idmap maps");
static struct idmap *maps[MSG_NODES_MAX];	/* written once each, under the lock */
static int nmaps;				/* entries (release/acquire) */
static struct idmap *dflt;			/* answers global misses (atomic) */
static struct ebb_shared idmap_ebb = EBB_SHARED(maps);

static struct {
	uint16_t num;			/* published last (release) */
	struct ebb_root *(*make)(uint32_t id, const void *bytes, size_t n);
	void (*drop)(struct ebb_root *root);
} types[IDMAP_TYPES_MAX];
static int ntypes;			/* release/acquire */

static void on_idmap(void *rep, struct msg *m);
static struct ebb_root *idmap_miss(uint32_t id);

static int
is_global(uint32_t id)
{
	return id > EBB_LOCAL_MAX && id < EBB_MAX;
}

/* ---- starting ------------------------------------------------------------ */

struct idmap *
idmap_start(struct messenger *m, uint32_t server)
{
	struct idmap *im = kmalloc(sizeof *im);
	int first;

	if (im == NULL)
		return NULL;
	*im = (struct idmap){ .m = m, .server = server };
	spin_init(&im->lock, "idmap");
	if (server == msgr_ip(m)) {
		if ((im->slots = rhash_new(256)) == NULL) {
			kfree(im);
			return NULL;
		}
		im->ranges = 1;		/* range 0 is the server's own */
		im->nranges = (EBB_MAX - EBB_LOCAL_MAX - 1) / IDMAP_RANGE;
		im->range = (uint64_t)(EBB_LOCAL_MAX + 1) << 32 | (EBB_LOCAL_MAX + 1 + IDMAP_RANGE);
	}
	spin_lock(&maps_lock);
	for (int i = 0; i < nmaps; i++)
		if (maps[i]->m == m) {
			spin_unlock(&maps_lock);
			return NULL;	/* lost im: a misuse */
		}
	if (nmaps == MSG_NODES_MAX) {
		spin_unlock(&maps_lock);
		return NULL;
	}
	first = nmaps == 0;
	maps[nmaps] = im;
	/* Release: the entry is written before the count shows it. */
	__atomic_store_n(&nmaps, nmaps + 1, __ATOMIC_RELEASE);
	spin_unlock(&maps_lock);
	if (first) {
		ebb_bind(EBB_IDMAP, &idmap_ebb.root);
		msg_handle(EBB_IDMAP, on_idmap);
		ebb_global_miss(idmap_miss);
		idmap_default(im);
	}
	return im;
}

void
idmap_default(struct idmap *im)
{
	/* Release: a miss that finds im finds it started. */
	__atomic_store_n(&dflt, im, __ATOMIC_RELEASE);
}

static struct idmap *
map_of(struct messenger *m)
{
	/* Acquire: pairs with idmap_start's release. */
	int n = __atomic_load_n(&nmaps, __ATOMIC_ACQUIRE);

	for (int i = 0; i < n; i++)
		if (maps[i]->m == m)
			return maps[i];
	return NULL;
}

/* ---- the server's store --------------------------------------------------- */

static void
stored_free(struct rcu_head *h)
{
	kfree(h);	/* rcu is the first member */
}

/* A value of n bytes to fill; NULL if no memory. */
static struct stored *
stored_new(size_t n)
{
	struct stored *v = kmalloc(sizeof *v + n);

	if (v != NULL)
		v->len = (uint32_t)n;
	return v;
}

/* Make v id's value (v is the map's from now on).  0 or ENOMEM. */
static int
store_set(struct idmap *im, uint32_t id, struct stored *v)
{
	struct stored *old;
	struct slot *s;
	int r;

	if ((s = rhash_get(im->slots, id)) == NULL) {
		if ((s = kmalloc(sizeof *s)) == NULL) {
			kfree(v);
			return ENOMEM;
		}
		s->val = NULL;
		if ((r = rhash_put(im->slots, id, s)) != 0) {
			kfree(s);	/* another set made it (-1), or no memory */
			if (r != -1 || (s = rhash_get(im->slots, id)) == NULL) {
				kfree(v);
				return ENOMEM;
			}
		}
	}
	/* Acq_rel: readers that see v see its bytes; we see old's. */
	old = __atomic_exchange_n(&s->val, v, __ATOMIC_ACQ_REL);
	if (old != NULL)
		rcu_call_head(&old->rcu, stored_free);
	return 0;
}

/* A copy of id's value: *out (the caller's), 0, ENOENT or ENOMEM. */
static int
store_get(struct idmap *im, uint32_t id, struct idmap_val **out)
{
	struct slot *s = rhash_get(im->slots, id);
	struct stored *v = s != NULL ? rcu_deref(s->val) : NULL;

	if (v == NULL)
		return ENOENT;
	if ((*out = kmalloc(sizeof **out + v->len)) == NULL)
		return ENOMEM;
	(*out)->len = v->len;
	memcpy((*out)->bytes, v->bytes, v->len);
	return 0;
}

/* A fresh range's first id, or 0 if the global ids are used up. */
static uint32_t
range_new(struct idmap *im)
{
	/* Relaxed: ranges only need to be distinct. */
	uint64_t k = __atomic_fetch_add(&im->ranges, 1, __ATOMIC_RELAXED);
	uint64_t first = EBB_LOCAL_MAX + 1 + (im->range0 + k) * IDMAP_RANGE;

	return k < im->nranges && first + IDMAP_RANGE <= EBB_MAX ? (uint32_t)first : 0;
}

int
idmap_site(struct idmap *im, int site)
{
	if (im->slots == NULL || site < 0 || site >= IDMAP_SITES)
		return EINVAL;
	im->range0 = (uint32_t)site * IDMAP_SITE_RANGES;
	im->nranges = IDMAP_SITE_RANGES;
	idmap_range_set(im, EBB_LOCAL_MAX + 1 + im->range0 * IDMAP_RANGE, IDMAP_RANGE);
	return 0;
}

void
idmap_use_store(struct idmap *im, const struct idmap_store *st)
{
	im->store = st;
}

uint32_t
idmap_id_alloc(struct idmap *im)
{
	/* Relaxed: ids only need to be distinct; the pair moves as one. */
	uint64_t r = __atomic_load_n(&im->range, __ATOMIC_RELAXED);

	do {
		if ((uint32_t)(r >> 32) >= (uint32_t)r)
			return 0;
	} while (!__atomic_compare_exchange_n(&im->range, &r, r + (1ull << 32), 1,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return (uint32_t)(r >> 32);
}

static void
range_take(struct idmap *im, uint32_t first)
{
	idmap_range_set(im, first, IDMAP_RANGE);
}

void
idmap_reserve(struct idmap *im, uint32_t n)
{
	uint32_t k = __atomic_load_n(&im->ranges, __ATOMIC_RELAXED);

	while (k < n && !__atomic_compare_exchange_n(&im->ranges, &k, n, 1,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void
idmap_range_set(struct idmap *im, uint32_t first, uint32_t count)
{
	/* Relaxed: as idmap_id_alloc. */
	__atomic_store_n(&im->range, (uint64_t)first << 32 | (first + count), __ATOMIC_RELAXED);
}

/* ---- the client's requests --------------------------------------------------- */

/* Unlink the request tagged tag; NULL if it is gone (answered, timed out). */
static struct req *
req_take(struct idmap *im, uint32_t tag)
{
	struct req **pp, *r = NULL;

	spin_lock(&im->lock);
	for (pp = &im->pending; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->tag == tag) {
			r = *pp;
			*pp = r->next;
			break;
		}
	spin_unlock(&im->lock);
	return r;
}

/* Drop one of r's references, on its core: the last frees it. */
static void
req_put(struct req *r)
{
	percore_check(r->core, "req_put");
	if (--r->refs == 0)
		kfree(r);
}

/* The timer, on the request's core: fail it unless a reply took it. */
static void
req_timeout(void *arg)
{
	struct req *r = arg;

	if (req_take(r->im, r->tag) != r)
		return;		/* a reply has it; req_end comes */
	future_fail(r->f, ETIMEDOUT);
	req_put(r);
}

/* After a reply, on the request's core. */
static void
req_end(void *arg)
{
	struct req *r = arg;

	timer_stop(&r->timer);
	req_put(r);
}

/* The messenger is done with the request: if it failed, so does r. */
static void
req_sent(struct future *f, void *arg)
{
	struct req *r = arg;

	if (f->err != 0 && req_take(r->im, r->tag) == r) {
		timer_stop(&r->timer);
		future_fail(r->f, f->err);
		req_put(r);
	}
	req_put(r);
}

/* Send a request of kind with words w[0..nw) then n bytes of b (copied). */
static int
req_send(struct idmap *im, int kind, struct future *f, const uint32_t *w, int nw,
    const void *bytes, size_t n)
{
	struct req *r = kmalloc(sizeof *r);
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, 4 + 4 * (size_t)nw + n);
	uint8_t *p;
	int err;

	if (r == NULL || b == NULL) {
		kfree(r);
		iobuf_free_chain(b);
		return ENOMEM;
	}
	*r = (struct req){ .im = im, .kind = kind, .f = f, .core = core_id(), .refs = 2 };
	future_init(&r->sent);
	if (future_then(&r->sent, req_sent, r) != 0) {
		kfree(r);
		iobuf_free_chain(b);
		return ENOMEM;
	}
	spin_lock(&im->lock);
	r->tag = ++im->tag;
	r->next = im->pending;
	im->pending = r;
	spin_unlock(&im->lock);
	p = iobuf_put(b, 4 + 4 * (size_t)nw + n);
	memcpy(p, &(uint32_t){ hton32(r->tag) }, 4);
	for (int i = 0; i < nw; i++)
		memcpy(p + 4 + 4 * i, &(uint32_t){ hton32(w[i]) }, 4);
	if (n > 0)
		memcpy(p + 4 + 4 * nw, bytes, n);
	timer_setup(&r->timer, req_timeout, r);
	/*
	 * Armed first: a reply may take r as soon as it is sent; its
	 * req_end, and req_sent, run on this core after this event.
	 * Without memory for the timer the request has no timeout (a reply
	 * or a failed send still ends it).
	 */
	timer_start(&r->timer, IDMAP_TIMEOUT_MS * TIMER_MS, 0);
	if ((err = msg_send(im->m, im->server, EBB_IDMAP, (uint16_t)kind, b, &r->sent)) != 0) {
		iobuf_free_chain(b);
		future_fail(&r->sent, err);	/* req_sent fails the request */
	}
	return 0;
}

int
idmap_get(struct idmap *im, uint32_t id, struct future *f)
{
	struct idmap_val *v;
	int err;

	if (!is_global(id))
		return EINVAL;
	if (im->slots == NULL)
		return req_send(im, IDMAP_GET, f, &id, 1, NULL, 0);
	if (im->store != NULL)
		return im->store->get(im->store->arg, id, f);
	if ((err = store_get(im, id, &v)) != 0)
		future_fail(f, err);
	else
		future_resolve(f, v);
	return 0;
}

int
idmap_set(struct idmap *im, uint32_t id, const void *bytes, size_t n, struct future *done)
{
	struct stored *v;
	int err;

	if (!is_global(id) || n == 0 || n > IDMAP_VAL_MAX)
		return EINVAL;
	if (im->slots == NULL)
		return req_send(im, IDMAP_SET, done, &id, 1, bytes, n);
	if (im->store != NULL)
		return im->store->set(im->store->arg, id, bytes, n, done);
	if ((v = stored_new(n)) == NULL)
		return ENOMEM;
	memcpy(v->bytes, bytes, n);
	err = store_set(im, id, v);
	if (done != NULL) {
		if (err != 0)
			future_fail(done, err);
		else
			future_resolve(done, NULL);
	}
	return 0;
}

int
idmap_range(struct idmap *im, struct future *f)
{
	uint32_t first;

	if (im->slots == NULL)
		return req_send(im, IDMAP_RANGE_REQ, f, NULL, 0, NULL, 0);
	if ((first = range_new(im)) == 0) {
		future_fail(f, ENOSPC);
		return 0;
	}
	range_take(im, first);
	future_resolve(f, (void *)(uintptr_t)first);
	return 0;
}

/* ---- messages -------------------------------------------------------------------- */

/* The u32 at byte off of m's payload (0 if short: callers check len). */
static uint32_t
word(const struct msg *m, size_t off)
{
	uint32_t w = 0;

	iobuf_copy_out(m->data, off, 4, &w);
	return ntoh32(w);
}

/* Server: answer m with status and n bytes (v, or a first id). */
static void
reply(struct msg *m, uint32_t tag, uint32_t status, const void *v, size_t n)
{
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, 8 + n);
	uint32_t h[2] = { hton32(tag), hton32(status) };
	int err;

	if (b == NULL)
		return;		/* the client times out */
	memcpy(iobuf_put(b, 8), h, 8);
	if (n > 0)
		memcpy(iobuf_put(b, n), v, n);
	while ((err = msg_send(m->to, m->from, EBB_IDMAP, IDMAP_REPLY, b, NULL)) == EAGAIN) {
		struct future room;
		future_init(&room);
		if (msg_wait_room(m->to, m->from, &room) != 0)
			break;
		future_block(&room, NULL);
	}
	if (err != 0)
		iobuf_free_chain(b);
}

/* Server: id's value from wherever it is kept (blocks on a store). */
static int
serve_get(struct idmap *im, uint32_t id, struct idmap_val **v)
{
	struct future f;
	int err;

	if (im->store == NULL)
		return store_get(im, id, v);
	future_init(&f);
	if ((err = im->store->get(im->store->arg, id, &f)) != 0)
		return err;
	return future_block(&f, (void **)v);
}

/* Server: keep sv's bytes in the store (blocks); sv stays the caller's. */
static int
serve_set(struct idmap *im, uint32_t id, struct stored *sv)
{
	struct future f;
	int err;

	future_init(&f);
	if ((err = im->store->set(im->store->arg, id, sv->bytes, sv->len, &f)) != 0)
		return err;
	return future_block(&f, NULL);
}

/* Server: one request. */
static void
serve(struct idmap *im, struct msg *m)
{
	uint32_t tag = word(m, 0), id = word(m, 4), first;
	struct idmap_val *v = NULL;
	struct stored *sv;
	int err;

	switch (m->kind) {
	case IDMAP_GET:
		if (m->len != 8 || !is_global(id))
			return reply(m, tag, EINVAL, NULL, 0);
		if ((err = serve_get(im, id, &v)) != 0)
			return reply(m, tag, (uint32_t)err, NULL, 0);
		reply(m, tag, 0, v->bytes, v->len);
		kfree(v);
		return;
	case IDMAP_SET:
		if (m->len <= 8 || m->len - 8 > IDMAP_VAL_MAX || !is_global(id))
			return reply(m, tag, EINVAL, NULL, 0);
		if ((sv = stored_new(m->len - 8)) == NULL)
			return reply(m, tag, ENOMEM, NULL, 0);
		iobuf_copy_out(m->data, 8, sv->len, sv->bytes);
		if (im->store != NULL) {
			err = serve_set(im, id, sv);
			kfree(sv);
		} else {
			err = store_set(im, id, sv);
		}
		return reply(m, tag, (uint32_t)err, NULL, 0);
	case IDMAP_RANGE_REQ:
		first = hton32(range_new(im));
		return reply(m, tag, first != 0 ? 0 : ENOSPC, &first, 4);
	}
}

/* Client: a reply completes its request (a malformed one fails it). */
static void
answer(struct idmap *im, struct msg *m)
{
	struct req *r = m->len >= 8 ? req_take(im, word(m, 0)) : NULL;
	uint32_t status = word(m, 4);
	struct idmap_val *v = NULL;

	if (r == NULL)
		return;		/* late (timed out) or bogus */
	if (status == 0) {
		switch (r->kind) {
		case IDMAP_GET:
			if ((v = kmalloc(sizeof *v + m->len - 8)) == NULL) {
				status = ENOMEM;
				break;
			}
			v->len = m->len - 8;
			iobuf_copy_out(m->data, 8, v->len, v->bytes);
			break;
		case IDMAP_RANGE_REQ:
			if (m->len != 12 || !is_global(word(m, 8))) {
				status = EPROTO;
				break;
			}
			range_take(im, word(m, 8));
			v = (void *)(uintptr_t)word(m, 8);
			break;
		default:
			if (m->len != 8)
				status = EPROTO;
			break;
		}
	}
	if (r->f != NULL) {
		if (status == 0)
			future_resolve(r->f, v);
		else
			future_fail(r->f, (int)status);
	}
	spawn_on_record(r->core, &r->ev, req_end, r);
}

/* EBB_IDMAP's handler: requests on the server, replies on a client. */
static void
on_idmap(void *rep, struct msg *m)
{
	struct idmap *im = map_of(m->to);

	(void)rep;
	if (im != NULL && m->len >= 4) {
		if (m->kind == IDMAP_REPLY && im->slots == NULL)
			answer(im, m);
		else if (m->kind != IDMAP_REPLY && im->slots != NULL)
			serve(im, m);
	}
	msg_free(m);
}

/* ---- global types and misses --------------------------------------------------- */

int
idmap_type(uint16_t num, struct ebb_root *(*make)(uint32_t id, const void *bytes, size_t n),
    void (*drop)(struct ebb_root *root))
{
	int n;

	if (make == NULL || drop == NULL)
		return EINVAL;
	spin_lock(&maps_lock);
	n = ntypes;
	for (int i = 0; i < n; i++)
		if (types[i].num == num) {
			spin_unlock(&maps_lock);
			return EEXIST;
		}
	if (n == IDMAP_TYPES_MAX) {
		spin_unlock(&maps_lock);
		return EINVAL;
	}
	types[n].num = num;
	types[n].make = make;
	types[n].drop = drop;
	/* Release: a miss that counts the entry sees it whole. */
	__atomic_store_n(&ntypes, n + 1, __ATOMIC_RELEASE);
	spin_unlock(&maps_lock);
	return 0;
}

/* ebb_miss on a global id with no root here: ask the map (blocks). */
static struct ebb_root *
idmap_miss(uint32_t id)
{
	struct idmap *im = __atomic_load_n(&dflt, __ATOMIC_ACQUIRE);
	struct ebb_root *root = NULL, *bound;
	struct idmap_val *v;
	struct future f;
	int n;

	if (im == NULL)
		return NULL;
	future_init(&f);
	if (idmap_get(im, id, &f) != 0 || future_block(&f, (void **)&v) != 0)
		return NULL;
	n = __atomic_load_n(&ntypes, __ATOMIC_ACQUIRE);
	for (int i = 0; v->len >= 2 && i < n; i++)
		if (types[i].num == (v->bytes[0] << 8 | v->bytes[1])) {
			if ((root = types[i].make(id, v->bytes + 2, v->len - 2)) != NULL &&
			    ebb_bind(id, root) != 0) {
				/* Another core bound it while we asked. */
				bound = ebb_root_of(id);
				types[i].drop(root);
				root = bound;
			}
			break;
		}
	kfree(v);
	return root;
}
