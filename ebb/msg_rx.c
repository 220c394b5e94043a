/*
 * msg_rx.c: the messenger's receiving half and its TCP callbacks (see
 * msg.h; msg_int.h draws the frame).  Portable.
 *
 * A connection's bytes, on its core:
 *	msg_receive: append the chain to cn->rx; release the bytes to TCP's
 *	window at once while the connection's delivered-but-not-freed bytes
 *	(held) are under MSG_HOLD_MAX, else owe them; then rx_frames:
 *	    a header once 12 bytes are in (checked: flags 0, len <=
 *	    MSG_LEN_MAX, a hello first on an accepted connection and never
 *	    after) -> the payload once len more are in, cut from the chain
 *	    without a copy (chain_split: the buffer the boundary falls in is
 *	    cloned) -> rx_hello, or deliver: a struct msg, held += its size,
 *	    and an event on this core (deliver_event) that finds the Ebb's
 *	    handler and rep and calls it.
 *	msg_free, from any core: the payload freed, an event back to the
 *	connection's core (msg_release): held -= size, the owed bytes
 *	released if held is under the bound again, the reference dropped.
 * So what one connection can hold is bounded: held (MSG_HOLD_MAX plus
 * the frames of one receive), owed (TCP's receive buffer), one partial
 * frame (MSG_LEN_MAX).
 *
 * Handlers are a fixed open-addressed table (MSG_HANDLERS_MAX): a
 * handler is set once and never removed, so readers take no lock: the
 * id is published (release) after the function.
 */
#include <errno.h>
#include <string.h>

#include "ebb.h"
#include "kernel/malloc.h"
#include "kernel/spinlock.h"
#include "msg_int.h"
#include "tcp/pkt.h"
#include "tcp/proto.h"

#define MSG_HANDLERS_MAX 256	/* Ebb ids with a handler, at most (a power of two) */

static struct {
	uint32_t id;		/* 0: free; published last (release) */
	msg_handler fn;
} handlers[MSG_HANDLERS_MAX];
static struct spinlock handlers_lock = SPINLOCK_INIT("msg handlers");

/* ---- handlers -------------------------------------------------------------- */

static unsigned
handler_slot(uint32_t id)
{
	return (id * 2654435761u) & (MSG_HANDLERS_MAX - 1);
}

static msg_handler
handler_of(uint32_t id)
{
	for (unsigned i = 0, s = handler_slot(id); i < MSG_HANDLERS_MAX; i++, s = (s + 1) &
	    (MSG_HANDLERS_MAX - 1)) {
		/* Acquire: pairs with msg_handle's release; fn is written. */
		uint32_t k = __atomic_load_n(&handlers[s].id, __ATOMIC_ACQUIRE);
		if (k == id)
			return handlers[s].fn;
		if (k == 0)
			return NULL;
	}
	return NULL;
}

int
msg_handle(uint32_t id, msg_handler fn)
{
	int err = ENOMEM;

	if (id == 0 || fn == NULL)
		return EINVAL;
	spin_lock(&handlers_lock);
	for (unsigned i = 0, s = handler_slot(id); i < MSG_HANDLERS_MAX; i++, s = (s + 1) &
	    (MSG_HANDLERS_MAX - 1)) {
		if (handlers[s].id == id) {
			err = EEXIST;
			break;
		}
		if (handlers[s].id == 0) {
			handlers[s].fn = fn;
			/* Release: a reader that sees the id sees fn. */
			__atomic_store_n(&handlers[s].id, id, __ATOMIC_RELEASE);
			err = 0;
			break;
		}
	}
	spin_unlock(&handlers_lock);
	return err;
}

/* ---- delivery ---------------------------------------------------------------- */

/* On the connection's core: the message's bytes no longer hold the window. */
static void
msg_release(void *arg)
{
	struct msg *mm = arg;
	struct msg_conn *cn = mm->conn;

	cn->held -= mm->len + MSG_HDR_LEN;
	MSTAT(cn->m, held, -(int64_t)(mm->len + MSG_HDR_LEN));
	if (cn->c != NULL && cn->owed > 0 && cn->held < MSG_HOLD_MAX) {
		tcp_recved(cn->c, cn->owed);
		cn->owed = 0;
	}
	conn_put(cn);
	kfree(mm);
}

void
msg_free(struct msg *mm)
{
	iobuf_free_chain(mm->data);
	mm->data = NULL;
	spawn_on_record(mm->conn->core, &mm->ev, msg_release, mm);
}

/* The event that hands a message to its Ebb's handler, with this core's rep. */
static void
deliver_event(void *arg)
{
	struct msg *mm = arg;
	msg_handler fn = handler_of(mm->ebb);
	void *rep;

	if (fn == NULL || ebb_root_of(mm->ebb) == NULL || (rep = ebb_rep(mm->ebb)) == NULL) {
		MSTAT(mm->to, no_handler, 1);
		msg_free(mm);
		return;
	}
	MSTAT(mm->to, delivered, 1);
	fn(rep, mm);
}

/* A whole frame for an Ebb: make the message and send it on.  0, or ENOMEM. */
static int
deliver(struct msg_conn *cn, struct iobuf *payload)
{
	struct msg *mm = kmalloc(sizeof *mm);

	if (mm == NULL) {
		iobuf_free_chain(payload);
		return ENOMEM;
	}
	*mm = (struct msg){ .to = cn->m, .from = cn->from, .ebb = cn->ebb, .kind = cn->kind,
	    .len = cn->want, .data = payload, .conn = cn };
	cn->refs++;
	cn->held += cn->want + MSG_HDR_LEN;
	MSTAT(cn->m, held, cn->want + MSG_HDR_LEN);
	spawn_on_record(cn->core, &mm->ev, deliver_event, mm);
	return 0;
}

/* ---- frames ------------------------------------------------------------------ */

/*
 * Cut the first n bytes off *chain and return them as a chain of their
 * own (NULL for n 0); *chain keeps the rest.  The buffer the boundary
 * falls in is cloned, so nothing is copied.  -1 in *err if the clone
 * could not be made (the chain is then unchanged).
 */
static struct iobuf *
chain_split(struct iobuf **chain, size_t n, int *err)
{
	struct iobuf *head = *chain, **pp = chain, *b, *tail;

	*err = 0;
	if (n == 0)
		return NULL;
	while (n >= (*pp)->len) {	/* the caller checked the chain is long enough */
		n -= (*pp)->len;
		pp = &(*pp)->next;
		if (n == 0) {
			*chain = *pp;
			*pp = NULL;
			return head;
		}
	}
	b = *pp;
	if ((tail = iobuf_clone(b)) == NULL) {
		*err = -1;
		return NULL;
	}
	iobuf_advance(tail, n);
	tail->next = b->next;
	iobuf_trim(b, n);
	b->next = NULL;
	*chain = tail;
	return head;
}

/* An accepted connection's hello: who is at the other end.  0 or EPROTO. */
static int
rx_hello(struct msg_conn *cn, struct iobuf *payload)
{
	struct msg_hello h;
	struct msg_peer *p;

	iobuf_copy_out(payload, 0, sizeof h, &h);
	iobuf_free_chain(payload);
	if (ntoh32(h.magic) != MSG_MAGIC || ntoh16(h.version) != MSG_VERSION || h.node == 0 ||
	    h.node == cn->m->ip)
		return EPROTO;
	cn->from = h.node;
	/* Send on it too, unless this core has a connection for the peer already. */
	p = peer_get(cn->m, h.node);
	if (p != NULL && p->core == cn->core && p->conn == NULL) {
		p->conn = cn;
		cn->peer = p;
	}
	return 0;
}

/* Read a header out of cn->rx and check it.  0 or EPROTO. */
static int
rx_header(struct msg_conn *cn)
{
	struct msg_wire_hdr h;

	iobuf_copy_out(cn->rx, 0, sizeof h, &h);
	cn->rx = pkt_drop(cn->rx, MSG_HDR_LEN);
	cn->rx_len -= MSG_HDR_LEN;
	cn->want = ntoh32(h.len);
	cn->ebb = ntoh32(h.ebb);
	cn->kind = ntoh16(h.kind);
	cn->have_hdr = 1;
	if (h.flags != 0 || cn->want > MSG_LEN_MAX)
		return EPROTO;
	if (cn->from == 0)	/* an accepted connection's first frame */
		return cn->ebb == 0 && cn->kind == MSG_KIND_HELLO &&
		    cn->want == MSG_HELLO_LEN ? 0 : EPROTO;
	return cn->ebb == 0 ? EPROTO : 0;
}

/* Take every whole frame out of cn->rx.  0, or the error to reset with. */
static int
rx_frames(struct msg_conn *cn)
{
	struct iobuf *payload;
	int err;

	for (;;) {
		if (!cn->have_hdr) {
			if (cn->rx_len < MSG_HDR_LEN)
				return 0;
			if ((err = rx_header(cn)) != 0)
				return err;
		}
		if (cn->rx_len < cn->want)
			return 0;
		payload = chain_split(&cn->rx, cn->want, &err);
		if (err != 0)
			return ENOMEM;
		cn->rx_len -= cn->want;
		cn->have_hdr = 0;
		if (cn->ebb == 0)
			err = rx_hello(cn, payload);
		else
			err = deliver(cn, payload);
		if (err != 0)
			return err;
	}
}

/* ---- TCP's callbacks ----------------------------------------------------------- */

static void
msg_connected(void *arg, struct tcp_conn *c)
{
	struct msg_conn *cn = arg;

	(void)c;
	cn->up = 1;
	conn_pump(cn);
}

static void
msg_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	struct msg_conn *cn = arg;
	size_t n;
	int err;

	if (data == NULL) {		/* the peer's FIN: it is going away */
		tcp_close(c);
		cn->c = NULL;
		conn_gone(cn, EPIPE);
		return;
	}
	n = iobuf_chain_len(data);
	MSTAT(cn->m, rx_bytes, n);
	if (cn->rx == NULL)
		cn->rx = data;
	else
		iobuf_chain_append(cn->rx, data);
	cn->rx_len += n;
	if (cn->held < MSG_HOLD_MAX) {
		tcp_recved(c, n + cn->owed);
		cn->owed = 0;
	} else {
		cn->owed += n;
	}
	if ((err = rx_frames(cn)) != 0) {
		if (err == EPROTO)
			MSTAT(cn->m, bad_frames, 1);
		conn_reset(cn, err);
	}
}

static void
msg_sent(void *arg, struct tcp_conn *c, size_t acked)
{
	(void)c;
	conn_acked(arg, acked);
}

static void
msg_closed(void *arg, struct tcp_conn *c)
{
	struct msg_conn *cn = arg;

	tcp_close(c);
	if (cn->c != NULL) {
		cn->c = NULL;
		conn_gone(cn, EPIPE);
	}
}

/* The error a message fails with when its connection aborted for reason. */
static int
abort_errno(int reason)
{
	switch (reason) {
	case TCP_ERR_RESET:
		return ECONNRESET;
	case TCP_ERR_REFUSED:
		return ECONNREFUSED;
	case TCP_ERR_TIMEOUT:
	case TCP_ERR_KEEPALIVE:
		return ETIMEDOUT;
	default:
		return ECONNABORTED;
	}
}

static void
msg_aborted(void *arg, struct tcp_conn *c, int reason)
{
	struct msg_conn *cn = arg;

	(void)c;
	cn->c = NULL;
	conn_gone(cn, abort_errno(reason));
}

const struct tcp_callbacks msg_tcp_cb = {
	.connected = msg_connected, .receive = msg_receive, .sent = msg_sent,
	.closed = msg_closed, .aborted = msg_aborted,
};

/* A connection to MSG_PORT: the messenger of its local address takes it. */
int
msg_accept(void *arg, struct tcp_conn *c)
{
	struct messenger *m;
	struct msg_conn *cn;
	uint32_t lip;

	(void)arg;
	tcp_endpoints(c, &lip, NULL, NULL, NULL);
	if ((m = msgr_find(lip)) == NULL || (cn = conn_new(m)) == NULL)
		return 1;
	cn->c = c;
	cn->up = 1;
	tcp_setopt(c, TCP_OPT_NODELAY, 1);
	tcp_setopt(c, TCP_OPT_MANUAL_RECVED, 1);
	tcp_attach(c, &msg_tcp_cb, cn);
	MSTAT(m, accepted, 1);
	return 0;
}
