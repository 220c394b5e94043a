/*
 * msg.c: the messenger's nodes, peers and sending (see msg.h).
 * Portable.  The receiving half is msg_rx.c; msg_int.h holds what they
 * share.
 *
 * Objects:
 *	struct messenger	one per node (several in a test process), found
 *				by the accept path in nodes[] by local address;
 *				never freed
 *	struct msg_peer		the sending side toward one node: its queue's
 *				byte count (atomic: any core reserves room), the
 *				connection that sends for it, the room waiters;
 *				made by the first send to the node (or its first
 *				hello), on that core, its core for good; never freed
 *	struct msg_conn		one TCP connection, owned by its core: the
 *				records it sends (outq), the frame it receives
 *	struct msg_out		one message on its way: the bytes TCP has not
 *				taken yet, its end in the stream, its future
 *
 * A send, on any core:
 *	msg_send: reserve room in peer->queued (compare-and-swap, never past
 *	MSG_QUEUE_MAX), push the header, hand the record to peer->core
 *	(spawn_on_record: cannot fail) -> out_enqueue: open the connection
 *	if there is none (its first record the hello), queue, conn_pump:
 *	tcp_send what fits, drop what TCP took (it holds clones).
 *	TCP's sent callback adds to conn->acked; every record whose end it
 *	passes is done: its future resolves, its bytes leave peer->queued,
 *	and room waiters are resolved once the queue is at half.
 *
 * A break (the connection aborted, a bad frame, msgr_drop, the peer's
 * FIN): conn_gone fails every record still queued, frees the partial
 * frame, and unlinks the connection from its peer, so the next send
 * opens a new one.  The conn struct itself lives until its messages
 * delivered and not yet freed are given back (refs).
 *
 * One connection per pair: a node accepting a connection from a node
 * it has no sending connection to (on that core) sends on the accepted
 * one too.  If both open at once, each sends on its own and receives
 * on both; each direction still has one connection, so order holds.
 */
#include <errno.h>
#include <string.h>

#include "kernel/malloc.h"
#include "kernel/spinlock.h"
#include "msg_int.h"
#include "tcp/pkt.h"
#include "tcp/proto.h"

static struct spinlock nodes_lock = SPINLOCK_INIT("msg nodes");
static struct messenger *nodes[MSG_NODES_MAX];	/* written once each, under the lock */
static int nnodes;				/* entries in nodes[] (release/acquire) */

/* ---- nodes ----------------------------------------------------------------- */

struct messenger *
msgr_find(uint32_t ip)
{
	/* Acquire: pairs with msgr_start's release; the entry is complete. */
	int n = __atomic_load_n(&nnodes, __ATOMIC_ACQUIRE);

	for (int i = 0; i < n; i++)
		if (nodes[i]->ip == ip)
			return nodes[i];
	return NULL;
}

struct messenger *
msgr_start(uint32_t ip)
{
	struct messenger *m;
	int first;

	if (ip == 0 || (m = kmalloc(sizeof *m)) == NULL)
		return NULL;
	memset(m, 0, sizeof *m);
	m->ip = ip;
	for (int c = 0; c < NCPU; c++)
		LIST_INIT(&m->cores[c].conns);
	if ((m->peers = rhash_new(64)) == NULL) {
		kfree(m);
		return NULL;
	}
	spin_lock(&nodes_lock);
	if (nnodes == MSG_NODES_MAX || msgr_find(ip) != NULL) {
		spin_unlock(&nodes_lock);
		return NULL;	/* the peers table is lost: a misuse, rare */
	}
	first = nnodes == 0;
	nodes[nnodes] = m;
	/* Release: the entry is written before the count shows it. */
	__atomic_store_n(&nnodes, nnodes + 1, __ATOMIC_RELEASE);
	spin_unlock(&nodes_lock);
	if (first && tcp_listen(MSG_PORT, msg_accept, NULL) != 0)
		return NULL;
	return m;
}

uint32_t
msgr_ip(const struct messenger *m)
{
	return m->ip;
}

void
msgr_stats(const struct messenger *m, struct msgr_stats *out)
{
	memset(out, 0, sizeof *out);
	for (int c = 0; c < core_count(); c++) {
		const struct msgr_stats *s = &m->cores[c].st;
		/* Relaxed: counters, each a value of its own. */
#define SUM(f) out->f += __atomic_load_n(&s->f, __ATOMIC_RELAXED)
		SUM(sent); SUM(sent_bytes); SUM(acked); SUM(failed); SUM(delivered);
		SUM(rx_bytes); SUM(no_handler); SUM(bad_frames); SUM(opened);
		SUM(accepted); SUM(broken); SUM(held); SUM(live);
#undef SUM
	}
}

/* ---- peers ----------------------------------------------------------------- */

/* The peer for node ip, made on this core if it is new; NULL if no memory. */
struct msg_peer *
peer_get(struct messenger *m, uint32_t ip)
{
	struct msg_peer *p = rhash_get(m->peers, ip);
	int r;

	if (p != NULL)
		return p;
	if ((p = kmalloc(sizeof *p)) == NULL)
		return NULL;
	*p = (struct msg_peer){ .m = m, .ip = ip, .core = core_id() };
	if ((r = rhash_put(m->peers, ip, p)) != 0) {
		kfree(p);	/* another core made it first (-1), or no memory */
		return r == -1 ? rhash_get(m->peers, ip) : NULL;
	}
	return p;
}

/*
 * Take n bytes of room toward p; 0 if the queue would pass
 * MSG_QUEUE_MAX.  An empty queue takes any message (up to MSG_LEN_MAX),
 * so the bound is the larger of the two.
 */
static int
peer_reserve(struct msg_peer *p, uint32_t n)
{
	/* Relaxed: a count; the record itself travels by spawn_on. */
	uint32_t q = __atomic_load_n(&p->queued, __ATOMIC_RELAXED);

	do {
		if (q > 0 && q + (uint64_t)n > MSG_QUEUE_MAX)
			return 0;
	} while (!__atomic_compare_exchange_n(&p->queued, &q, q + n, 1,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return 1;
}

static void
peer_unreserve(struct msg_peer *p, uint32_t n)
{
	__atomic_fetch_sub(&p->queued, n, __ATOMIC_RELAXED);
}

/* On p's core: resolve the room waiters if the queue is at half or less. */
void
peer_room(struct msg_peer *p)
{
	struct msg_waiter *w;

	percore_check(p->core, "peer_room");
	if (__atomic_load_n(&p->queued, __ATOMIC_RELAXED) > MSG_QUEUE_MAX / 2)
		return;
	while ((w = p->waiters) != NULL) {
		p->waiters = w->next;
		future_resolve(w->f, NULL);
		kfree(w);
	}
}

static void
room_add(void *arg)
{
	struct msg_waiter *w = arg;

	w->next = w->peer->waiters;
	w->peer->waiters = w;
	peer_room(w->peer);
}

int
msg_wait_room(struct messenger *m, uint32_t to, struct future *f)
{
	struct msg_peer *p = peer_get(m, to);
	struct msg_waiter *w;

	if (p == NULL || (w = kmalloc(sizeof *w)) == NULL)
		return ENOMEM;
	*w = (struct msg_waiter){ .peer = p, .f = f };
	spawn_on_record(p->core, &w->ev, room_add, w);
	return 0;
}

/* ---- records ----------------------------------------------------------------- */

/* A record's end: its future resolved (ok) or failed, its room given back. */
void
out_done(struct msg_out *o, int err)
{
	struct messenger *m = o->peer->m;

	if (o->sent != NULL) {
		if (err == 0)
			future_resolve(o->sent, NULL);
		else
			future_fail(o->sent, err);
	}
	if (o->kind != OUT_HELLO && err == 0)
		MSTAT(m, acked, 1);
	else if (o->kind != OUT_HELLO)
		MSTAT(m, failed, 1);
	if (o->kind != OUT_HELLO)
		peer_unreserve(o->peer, o->len);
	iobuf_free_chain(o->rest);
	kfree(o);
}

/* Write a frame header into h. */
static void
hdr_fill(uint8_t *h, uint32_t len, uint32_t ebb, uint16_t kind)
{
	struct msg_wire_hdr w = { hton32(len), hton32(ebb), hton16(kind), 0 };

	memcpy(h, &w, sizeof w);
}

/* A record for the frame (ebb, kind, data): NULL if no memory (data kept). */
static struct msg_out *
out_new(struct msg_peer *p, uint32_t ebb, uint16_t kind, struct iobuf *data)
{
	struct msg_out *o = kmalloc(sizeof *o);
	uint32_t n = (uint32_t)iobuf_chain_len(data);
	uint8_t *h;

	if (o == NULL)
		return NULL;
	if ((h = pkt_push(&data, MSG_HDR_LEN)) == NULL) {
		kfree(o);
		return NULL;
	}
	hdr_fill(h, n, ebb, kind);
	*o = (struct msg_out){ .peer = p, .rest = data, .len = n + MSG_HDR_LEN };
	return o;
}

/* The first record of a connection we open: who we are. */
static struct msg_out *
hello_new(struct msg_peer *p)
{
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, MSG_HELLO_LEN);
	struct msg_hello h = { hton32(MSG_MAGIC), hton16(MSG_VERSION), 0, p->m->ip };
	struct msg_out *o;

	if (b == NULL)
		return NULL;
	memcpy(iobuf_put(b, sizeof h), &h, sizeof h);
	if ((o = out_new(p, 0, MSG_KIND_HELLO, b)) == NULL) {
		iobuf_free_chain(b);
		return NULL;
	}
	o->kind = OUT_HELLO;		/* not in p->queued: not the sender's */
	return o;
}

/* ---- connections: opening, pumping, breaking --------------------------------- */

struct msg_conn *
conn_new(struct messenger *m)
{
	struct msg_conn *cn = kmalloc(sizeof *cn);

	if (cn == NULL)
		return NULL;
	*cn = (struct msg_conn){ .m = m, .core = core_id(), .refs = 1 };
	STAILQ_INIT(&cn->outq);
	LIST_INSERT_HEAD(&m->cores[cn->core].conns, cn, link);
	MSTAT(m, live, 1);
	return cn;
}

/* Drop one reference to cn (on its core): the last frees it. */
void
conn_put(struct msg_conn *cn)
{
	percore_check(cn->core, "conn_put");
	if (--cn->refs == 0)
		kfree(cn);
}

/* Append o to cn's queue; its end is where the stream will be past it. */
static void
conn_queue(struct msg_conn *cn, struct msg_out *o)
{
	cn->qend += o->len;
	o->end = cn->qend;
	STAILQ_INSERT_TAIL(&cn->outq, o, link);
	if (cn->unsent == NULL)
		cn->unsent = o;
}

/* Open a connection for p, on p's core, its hello queued.  0 or an error. */
static int
peer_connect(struct msg_peer *p)
{
	struct msg_conn *cn = conn_new(p->m);
	struct msg_out *hello;
	int err;

	if (cn == NULL)
		return ENOMEM;
	if ((hello = hello_new(p)) == NULL) {
		conn_gone(cn, ENOMEM);
		return ENOMEM;
	}
	cn->from = p->ip;
	cn->peer = p;
	conn_queue(cn, hello);
	if ((err = tcp_connect(p->ip, MSG_PORT, &msg_tcp_cb, cn, &cn->c)) != 0) {
		cn->c = NULL;
		conn_gone(cn, err);
		return err;
	}
	tcp_setopt(cn->c, TCP_OPT_NODELAY, 1);
	tcp_setopt(cn->c, TCP_OPT_MANUAL_RECVED, 1);
	p->conn = cn;
	MSTAT(p->m, opened, 1);
	return 0;
}

/* Give TCP what it takes of cn's queue, oldest first. */
void
conn_pump(struct msg_conn *cn)
{
	struct msg_out *o;
	long r;

	while (cn->c != NULL && cn->up && (o = cn->unsent) != NULL) {
		if (o->rest != NULL) {
			if ((r = tcp_send(cn->c, o->rest)) < 0) {
				conn_reset(cn, -r == ENOMEM ? ENOMEM : EPIPE);
				return;
			}
			o->rest = pkt_drop(o->rest, (size_t)r);	/* TCP holds clones */
			if (o->rest != NULL)
				return;		/* the send buffer is full: sent() resumes */
		}
		cn->unsent = STAILQ_NEXT(o, link);
	}
}

/* TCP's sent callback: the records acked passes are done. */
void
conn_acked(struct msg_conn *cn, size_t acked)
{
	struct msg_peer *p = cn->peer;	/* cn may be gone after the pump */
	struct msg_out *o;

	cn->acked += acked;
	while ((o = STAILQ_FIRST(&cn->outq)) != NULL && o->end <= cn->acked) {
		STAILQ_REMOVE_HEAD(&cn->outq, link);
		out_done(o, 0);
	}
	conn_pump(cn);
	if (p != NULL)
		peer_room(p);
}

/*
 * cn is broken (its TCP connection already gone or given up: cn->c is
 * NULL): fail what it was sending, free what it was receiving, unlink it.
 */
void
conn_gone(struct msg_conn *cn, int err)
{
	struct msg_out *o;
	struct messenger *m = cn->m;

	percore_check(cn->core, "conn_gone");
	cn->c = NULL;
	cn->unsent = NULL;
	LIST_REMOVE(cn, link);
	MSTAT(m, live, -1);
	MSTAT(m, broken, 1);
	if (cn->peer != NULL && cn->peer->conn == cn)
		cn->peer->conn = NULL;
	while ((o = STAILQ_FIRST(&cn->outq)) != NULL) {
		STAILQ_REMOVE_HEAD(&cn->outq, link);
		out_done(o, err);
	}
	iobuf_free_chain(cn->rx);
	cn->rx = NULL;
	if (cn->peer != NULL)
		peer_room(cn->peer);
	conn_put(cn);
}

/* Reset cn ourselves (no callback follows) and break it with err. */
void
conn_reset(struct msg_conn *cn, int err)
{
	if (cn->c != NULL)
		tcp_abort(cn->c);
	cn->c = NULL;
	conn_gone(cn, err);
}

/* ---- sending ------------------------------------------------------------------- */

/* On the peer's core: queue o behind what is there, opening a connection first. */
static void
out_enqueue(void *arg)
{
	struct msg_out *o = arg;
	struct msg_peer *p = o->peer;
	int err;

	if (p->conn == NULL && (err = peer_connect(p)) != 0) {
		out_done(o, err);
		peer_room(p);
		return;
	}
	conn_queue(p->conn, o);
	conn_pump(p->conn);
}

int
msg_send(struct messenger *m, uint32_t to, uint32_t ebb, uint16_t kind,
    struct iobuf *data, struct future *sent)
{
	size_t n = iobuf_chain_len(data);
	struct msg_peer *p;
	struct msg_out *o;

	if (to == 0 || to == m->ip || ebb == 0)
		return EINVAL;
	if (n > MSG_LEN_MAX)
		return EMSGSIZE;
	if ((p = peer_get(m, to)) == NULL)
		return ENOMEM;
	if (!peer_reserve(p, (uint32_t)n + MSG_HDR_LEN))
		return EAGAIN;
	if ((o = out_new(p, ebb, kind, data)) == NULL) {
		peer_unreserve(p, (uint32_t)n + MSG_HDR_LEN);
		return ENOMEM;
	}
	o->sent = sent;
	MSTAT(m, sent, 1);
	MSTAT(m, sent_bytes, n);
	spawn_on_record(p->core, &o->ev, out_enqueue, o);
	return 0;
}

/* ---- msgr_drop ------------------------------------------------------------------ */

struct drop {
	struct event ev;
	struct messenger *m;
	uint32_t peer;
};

/* On each core: reset this core's connections to the peer (or all). */
static void
drop_core(void *arg)
{
	struct drop *d = arg;
	struct msg_conn *cn, *next;

	for (cn = LIST_FIRST(&d->m->cores[core_id()].conns); cn != NULL; cn = next) {
		next = LIST_NEXT(cn, link);
		if (d->peer == 0 || cn->from == d->peer)
			conn_reset(cn, ECONNABORTED);
	}
	kfree(d);
}

int
msgr_drop(struct messenger *m, uint32_t peer)
{
	struct drop *d[NCPU];
	int n = core_count();

	for (int c = 0; c < n; c++)
		if ((d[c] = kmalloc(sizeof *d[c])) == NULL) {
			while (c-- > 0)
				kfree(d[c]);
			return ENOMEM;
		}
	for (int c = 0; c < n; c++) {
		*d[c] = (struct drop){ .m = m, .peer = peer };
		spawn_on_record(c, &d[c]->ev, drop_core, d[c]);
	}
	return 0;
}
