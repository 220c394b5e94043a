/*
 * tcp_rx.c: a segment's way in: to its connection, and what a burst of
 * segments leaves for its end.  Portable.  The top of the TCP files.
 *
 *	ip_input -> tcp_input -> tcp_parse (tcp_parse.c: header, options,
 *	                         checksum) -> tcp_dispatch, then burst_kick
 *	tcp_dispatch -> this core's connection: gro_input -> held, merged
 *	                into the held one, or tcp_process (tcp_in.c)
 *	             -> another core's: spawn_on -> tcp_handoff
 *	                -> tcp_dispatch on the owner, then burst_kick
 *	             -> a listener: tcp_listen_input (tcp_in.c: a SYN;
 *	                backlog full: tcp_cookie_syn), or tcp_cookie_ack
 *	                (an ACK: tcp_cookie.c)
 *	             -> nobody: tcp_rst_reply
 *	burst_end (an event) -> the held segments: tcp_process; the ACKs
 *	                        owed: tcp_ack_now (tcp_out.c)
 *
 * Bursts.  A driver hands up in one event the frames it has (virtio-
 * net's used ring, memlink's due frames, a TAP read loop), and TCP does
 * two things once a burst instead of once a segment.  Each is a reason
 * for a connection to be on its core's burst list (tcp.c); burst_kick,
 * after every segment this file hands on, spawns one event per burst,
 * burst_end, which runs behind the driver's and settles the list.
 *
 *   ACKs.  A connection that owes the ACK of a second full segment
 *   (tcp_ack_later, tcp_out.c) is listed, and burst_end sends its ACK
 *   if nothing sent since has carried it: a window's worth of segments
 *   that came together gets one ACK (a "stretch ACK", as Linux's
 *   receive offload makes), and one past TCP_ACK_STRETCH bytes goes at
 *   once.
 *
 *   Receive coalescing (Linux's GRO).  A full in-order data segment of
 *   an established connection (no flag but ACK and PSH, no SACK
 *   blocks) is held, not processed; the segments of the burst that
 *   continue it (the next sequence number, the same ACK, window and
 *   timestamps) are appended to it, and the whole goes through
 *   tcp_process once, as one segment, when the run ends: at a short
 *   segment (merged first: the end of what the peer had to send), at
 *   one that does not continue it (the held one first, so order is
 *   kept), at GRO_MAX bytes, or at burst_end.  A segment that comes
 *   alone (a request, an echo) is short and never waits.
 *
 * The held segment is the connection's (gro_pkt, gro_s): tcp_conn_free
 * frees it and takes the connection off the list.
 */
#include <stddef.h>

#include "ebb/event.h"
#include "ebb/percore.h"
#include "kernel/malloc.h"
#include "pkt.h"
#include "stats.h"
#include "tcp_int.h"

#define GRO_MAX		65535	/* bytes of payload a held segment grows to */

/* Per core: burst_end's record. */
static struct burst {
	struct event ev;
	int scheduled;			/* ev queued, not yet run */
} bursts[NCPU] PERCORE;

static void tcp_dispatch(struct tcp_rxseg *s, struct iobuf *pkt, int handed);

/* ---- a burst's end -------------------------------------------------------------- */

/* The held segment of c through tcp_process, as one. */
static void
gro_flush(struct tcp_conn *c)
{
	struct tcp_rxseg s = c->gro_s;
	struct iobuf *pkt = c->gro_pkt;

	c->gro_pkt = NULL;
	tcp_process(c, &s, pkt);
}

/* The event behind a burst: every listed connection's held segment and ACK. */
static void
burst_end(void *arg)
{
	struct burst *b = arg;
	struct tcp_burstq *q = tcp_burstq();
	struct tcp_conn *c;

	/* A connection listed again meanwhile (its held segment's ACK) is
	 * taken again by this loop: b stays scheduled until it ends. */
	while ((c = LIST_FIRST(q)) != NULL) {
		tcp_burst_remove(c);
		if (c->gro_pkt != NULL)
			gro_flush(c);
		else if (!c->freed && c->acks_owed > 0)	/* nothing since has carried it */
			tcp_ack_now(c);
	}
	b->scheduled = 0;
}

/* Make sure burst_end will run if this core's list holds anything. */
static inline void
burst_kick(void)
{
	struct burst *b = &bursts[core_id()];

	if (!b->scheduled && !LIST_EMPTY(tcp_burstq())) {
		b->scheduled = 1;
		spawn_on_record(core_id(), &b->ev, burst_end, b);
	}
}

/* ---- coalescing ------------------------------------------------------------------ */

/* A full segment of c: its payload and options make up the MSS we announced. */
static inline int
gro_full(const struct tcp_conn *c, const struct tcp_rxseg *s)
{
	return s->len + (uint32_t)(s->hlen - TCP_HLEN) >= c->rmss;
}

/* Does s continue the held segment h, and fit? */
static int
gro_continues(const struct tcp_rxseg *h, const struct tcp_rxseg *s)
{
	return s->seq == h->seq + h->len && (s->flags & ~TCP_FPSH) == TCP_FACK &&
	    s->ack == h->ack && s->wnd == h->wnd && s->nsack == 0 && s->len > 0 &&
	    s->ts == h->ts && s->tsval == h->tsval && s->tsecr == h->tsecr &&
	    h->len + s->len <= GRO_MAX;
}

/* The last buffer of chain b. */
static inline struct iobuf *
chain_last(struct iobuf *b)
{
	while (b->next != NULL)
		b = b->next;
	return b;
}

/*
 * A segment for c, on c's core (a held one that s does not continue was
 * processed already): appended to the held one, held, or processed.
 */
static void
gro_input(struct tcp_conn *c, struct tcp_rxseg *s, struct iobuf *pkt)
{
	if (c->gro_pkt != NULL) {		/* s continues it: tcp_dispatch saw */
		c->gro_last->next = pkt;
		c->gro_last = chain_last(pkt);
		c->gro_s.len += s->len;
		c->gro_s.flags |= s->flags;	/* PSH */
		c->ctr.segs_in++;		/* tcp_process counts the whole as one */
		NSTAT(tcp, rx_coalesced);
		if (!gro_full(c, s) || c->gro_s.len + c->rmss > GRO_MAX)
			gro_flush(c);		/* the run ends here */
		return;
	}
	if (gro_full(c, s) && c->state == TCP_ESTABLISHED &&
	    (s->flags & ~TCP_FPSH) == TCP_FACK && s->seq == c->rcv_nxt &&
	    s->nsack == 0 && TAILQ_EMPTY(&c->oooq) && s->len + c->rmss <= GRO_MAX) {
		c->gro_s = *s;
		c->gro_pkt = pkt;
		c->gro_last = chain_last(pkt);
		tcp_burst_add(c);
		return;
	}
	tcp_process(c, s, pkt);
}

/* ---- finding the connection --------------------------------------------------------- */

/* A segment on its way to its owner core. */
struct tcp_handoff {
	struct tcp_rxseg s;
	struct iobuf *pkt;
};

/* A TCP segment from IP: parse and check it, then find its connection. */
void
tcp_input(const struct ip_rx *rx, struct iobuf *pkt)
{
	struct tcp_rxseg s;

	if (tcp_parse(rx, pkt, &s) != 0) {
		iobuf_free_chain(pkt);
		return;
	}
	pkt_skip(pkt, s.hlen);
	NSTAT(tcp, rx);
	tcp_dispatch(&s, pkt, 0);
	burst_kick();
}

/* On the owner core: the segment another core received. */
static void
tcp_handoff(void *arg)
{
	struct tcp_handoff *h = arg;

	tcp_dispatch(&h->s, h->pkt, 1);
	kfree(h);
	burst_kick();
}

/* Send the segment to core c's tcp_dispatch; dropped if out of memory. */
static void
tcp_handover(int c, const struct tcp_rxseg *s, struct iobuf *pkt)
{
	struct tcp_handoff *h = kmalloc(sizeof *h);

	if (h == NULL) {
		NSTAT(tcp, nomem);
		iobuf_free_chain(pkt);
		return;
	}
	h->s = *s;
	h->pkt = pkt;
	NSTAT(tcp, rx_handover);
	if (spawn_on(c, tcp_handoff, h) != 0) {
		NSTAT(tcp, nomem);
		iobuf_free_chain(pkt);
		kfree(h);
	}
}

/*
 * Find s's connection and process it there.  handed: it came from
 * another core already (it is not sent on again, so a connection that
 * moved cannot bounce a segment between cores).
 */
static void
tcp_dispatch(struct tcp_rxseg *s, struct iobuf *pkt, int handed)
{
	uint64_t key = tcp_key(s->src, s->sport, s->dport);
	struct tcp_conn *c = tcp_lookup(key), *o;
	struct tcp_listener *l;

	if (c != NULL && c->gro_pkt != NULL && c->lip == s->dst &&
	    !gro_continues(&c->gro_s, s)) {
		gro_flush(c);			/* the held segment first: in order */
		c = tcp_lookup(key);		/* it may have ended the connection */
	}
	if (c != NULL && c->lip == s->dst) {
		gro_input(c, s, pkt);
		return;
	}
	if (c == NULL && !handed && (o = tcp_owner_lookup(key)) != NULL &&
	    o->core != core_id()) {
		/* o->core is immutable and o is RCU-protected: safe to read. */
		tcp_handover(o->core, s, pkt);
		return;
	}
	if (c == NULL && (l = tcp_listener_get(s->dport)) != NULL) {
		if ((s->flags & (TCP_FSYN | TCP_FACK | TCP_FRST)) == TCP_FSYN) {
			tcp_listen_input(l, s, pkt);
			return;
		}
		/* An ACK for no connection: the end of a SYN cookie's handshake? */
		if ((s->flags & (TCP_FSYN | TCP_FACK | TCP_FRST)) == TCP_FACK &&
		    tcp_cookie_ack(l, s, pkt, &c) == 0) {
			if (c != NULL)
				tcp_process(c, s, pkt);	/* ESTABLISHED, on_accept, data */
			return;
		}
	}
	NSTAT(tcp, rx_no_conn);
	if (!(s->flags & TCP_FRST))
		tcp_rst_reply(s);
	iobuf_free_chain(pkt);
}

