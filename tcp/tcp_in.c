/*
 * tcp_in.c: TCP input once the segment has found its connection (or
 * listener: tcp_rx.c): the state machine, and the receive side.
 * Portable.
 *
 *	tcp_dispatch (tcp_rx.c) -> tcp_listen_input (a SYN for a listener)
 *	                        -> tcp_process (a connection's segment)
 *	tcp_process -> step_state (CLOSED, syn_sent, SYN_RCVD's SYN again)
 *	            -> step_seq (PAWS, acceptability) -> step_rst_syn
 *	            -> step_ack (tcp_ack.c) -> ack_states (handshake, FIN
 *	               acked) -> step_text -> tcp_receive -> tcp_deliver,
 *	               tcp_fin_in; beyond a hole tcp_ooo_add; a hole
 *	               filled: tcp_ooo_take (tcp_sack.c) -> tcp_deliver
 *	            -> tcp_output (tcp_out.c)
 *
 * tcp_process follows RFC 9293 section 3.10.7.4 in its order: check
 * the sequence number (with PAWS, RFC 7323 5.3, first), then RST, then
 * SYN, then ACK, then the text, then FIN.  Resets and SYNs in a
 * synchronized state are checked as RFC 5961 says: an RST is taken only
 * at exactly RCV.NXT, one elsewhere in the window gets a challenge ACK
 * (rate limited), and any SYN gets a challenge ACK; an ACK too far
 * below SND.UNA (RFC 5961 5.2) gets one too.
 *
 * Receiving is zero-copy: the payload's buffers (the received frame's,
 * with the headers skipped) go to the application's receive callback
 * as they are, or into the out-of-order queue (tcp_sack.c) until the
 * hole before them fills.  Every callback may close, abort or free the
 * connection: the steps of tcp_process stop at the first that leaves
 * c->freed (step(), the one place that asks; the memory stays valid
 * until the event ends, tcp.c), and tcp_receive stops likewise.
 *
 * Nothing from the network panics: every malformed segment is counted
 * in struct tcp_stats and dropped.
 */
#include <errno.h>
#include <string.h>

#include "ebb/event.h"
#include "inet.h"
#include "kernel/malloc.h"
#include "pkt.h"
#include "stats.h"
#include "tcp_int.h"

/* ---- opening ---------------------------------------------------------------- */

/* A SYN for listener l: a new connection in SYN_RCVD, and the SYN-ACK. */
void
tcp_listen_input(struct tcp_listener *l, struct tcp_rxseg *s, struct iobuf *pkt)
{
	struct tcp_conn *c;
	int err;

	iobuf_free_chain(pkt);		/* data on a SYN: the peer sends it again */
	NSTAT(tcp, syn_rx);
	if ((uint32_t)__atomic_load_n(&l->backlog, __ATOMIC_RELAXED) >= tcp_cfg.syn_backlog) {
		if (tcp_cfg.syn_cookies)
			tcp_cookie_syn(l, s);	/* no state: tcp_cookie.c */
		else
			NSTAT(tcp, backlog_drops);
		return;
	}
	c = tcp_conn_new(s->nif, s->dst, s->dport, s->src, s->sport, &err);
	if (c == NULL) {
		if (err == ENOMEM)
			NSTAT(tcp, nomem);
		return;			/* EADDRINUSE: another core has it */
	}
	/* Relaxed: counts; the listener is alive (RCU) while we take a ref. */
	__atomic_add_fetch(&l->refs, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&l->backlog, 1, __ATOMIC_RELAXED);
	c->lst = l;
	tcp_syn_options(c, s);
	tcp_set_state(c, TCP_SYN_RCVD);
	tcp_send_syn(c);
}

/* SYN_RCVD -> ESTABLISHED: hand a passive connection to on_accept. */
static void
tcp_accept(struct tcp_conn *c)
{
	struct tcp_listener *l = c->lst;
	int refused;

	tcp_established(c);
	if (l == NULL) {		/* a simultaneous open: ours */
		if (c->cb != NULL && c->cb->connected != NULL && !c->app_gone)
			c->cb->connected(c->arg, c);
		return;
	}
	c->lst = NULL;
	__atomic_sub_fetch(&l->backlog, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&l->dead, __ATOMIC_ACQUIRE)) {
		refused = 1;
	} else {
		c->accepted = 1;
		NSTAT(tcp, accepts);
		refused = l->fn(l->arg, c);
	}
	tcp_listener_put(l);
	if (refused && !c->freed) {
		NSTAT(tcp, refused_by_app);
		c->app_gone = 1;
		tcp_send_rst(c);
		tcp_conn_free(c);
	}
}

/* SYN_SENT (RFC 9293 3.10.7.3). */
static void
syn_sent(struct tcp_conn *c, struct tcp_rxseg *s)
{
	int ack_ok = (s->flags & TCP_FACK) && s->ack == c->snd_nxt;

	if ((s->flags & TCP_FACK) && !ack_ok) {
		if (!(s->flags & TCP_FRST))
			tcp_rst_reply(s);
		return;
	}
	if (s->flags & TCP_FRST) {
		if (ack_ok)
			tcp_drop(c, TCP_ERR_REFUSED);
		return;
	}
	if (!(s->flags & TCP_FSYN))
		return;
	tcp_syn_options(c, s);
	if (!ack_ok) {			/* simultaneous open */
		tcp_set_state(c, TCP_SYN_RCVD);
		tcp_send_syn(c);
		return;
	}
	c->snd_una = s->ack;
	c->snd_wl2 = s->ack;
	c->retries = 0;
	timer_stop(&c->rtx);
	tcp_established(c);
	tcp_ack_now(c);
	if (c->cb != NULL && c->cb->connected != NULL && !c->app_gone)
		c->cb->connected(c->arg, c);
	if (!c->freed)
		tcp_output(c);
}

/* ---- receiving -------------------------------------------------------------- */

/* Hand len in-order bytes to the receive callback (freed if nobody reads). */
static void
tcp_deliver(struct tcp_conn *c, struct iobuf *data, uint32_t len)
{
	c->ctr.bytes_received += len;
	if (c->app_gone || c->cb == NULL || c->cb->receive == NULL) {
		iobuf_free_chain(data);
		return;
	}
	if (c->manual)
		c->rcv_held += len;
	c->cb->receive(c->arg, c, data);
}

/* The peer's FIN, in sequence: its state change, and receive(NULL). */
static void
tcp_fin_in(struct tcp_conn *c)
{
	c->rcv_nxt++;
	c->fin_rcvd = 1;
	c->ack_now = 1;
	switch (c->state) {
	case TCP_SYN_RCVD:
	case TCP_ESTABLISHED:
		tcp_set_state(c, TCP_CLOSE_WAIT);
		break;
	case TCP_FIN_WAIT_1:
		/* Our FIN acked already would have made it FIN_WAIT_2. */
		tcp_set_state(c, TCP_CLOSING);
		break;
	case TCP_FIN_WAIT_2:
		tcp_time_wait(c);
		break;
	default:
		break;
	}
	if (!c->app_gone && c->cb != NULL && c->cb->receive != NULL)
		c->cb->receive(c->arg, c, NULL);
}

/*
 * Bytes and FIN at RCV.NXT (either may be absent): RCV.NXT past them,
 * the bytes to the application, the FIN taken.  Nonzero if a callback
 * freed c.
 */
static inline int
tcp_in_order(struct tcp_conn *c, struct iobuf *data, uint32_t len, int fin)
{
	if (len > 0) {
		c->rcv_nxt += len;
		tcp_deliver(c, data, len);
		if (c->freed)
			return -1;
	} else {
		iobuf_free_chain(data);
	}
	if (fin)
		tcp_fin_in(c);
	return c->freed ? -1 : 0;
}

/* The text of an acceptable segment (RFC 9293 3.10.7.4, seventh and eighth). */
static void
tcp_receive(struct tcp_conn *c, struct tcp_rxseg *s, struct iobuf *pkt)
{
	uint32_t seq = s->seq, len = s->len, wnd, dlen;
	int fin = (s->flags & TCP_FFIN) != 0, had_ooo = !TAILQ_EMPTY(&c->oooq), dfin;

	if (SEQ_LT(seq, c->rcv_nxt)) {		/* old bytes at the front */
		uint32_t d = c->rcv_nxt - seq;
		if (d > len || (d == len && !fin)) {
			if (len > 0) {
				NSTAT(tcp, rx_dup);
				c->ack_now = 1;
			}
			iobuf_free_chain(pkt);
			return;
		}
		if (d == len) {			/* only the FIN is new */
			len = 0;
		} else {
			pkt_skip(pkt, d);
			len -= d;
		}
		seq = c->rcv_nxt;
	}
	wnd = c->rcv_adv - c->rcv_nxt;
	if (SEQ_GT(seq + len, c->rcv_nxt + wnd)) {	/* past the window */
		len = c->rcv_nxt + wnd - seq;
		fin = 0;
		c->ack_now = 1;
	}
	if (len == 0 && !fin) {
		iobuf_free_chain(pkt);
		return;
	}
	if (len > 0)
		pkt_trim(pkt, len);
	if (seq != c->rcv_nxt) {
		tcp_ooo_add(c, seq, pkt, len, fin);
		c->ack_now = 1;			/* a duplicate ACK, with SACK */
		return;
	}
	if (tcp_in_order(c, pkt, len, fin) != 0)
		return;
	while (!TAILQ_EMPTY(&c->oooq) && tcp_ooo_take(c, &pkt, &dlen, &dfin))
		if (tcp_in_order(c, pkt, dlen, dfin) != 0)
			return;
	if (had_ooo || fin)
		c->ack_now = 1;			/* RFC 5681 4.2: a hole filled */
	else if (c->rcv_nxt == c->rcv_adv)
		c->ack_now = 1;			/* the window is used up: the peer
						 * can send nothing until we speak */
	else if (len > 0)
		tcp_ack_later(c, len);
}

/* ---- the state machine ------------------------------------------------------- */

/*
 * Each step of tcp_process says GO (the next step runs) or STOP (the
 * segment is done with); step() also stops when the step left c freed.
 */
enum { STOP, GO };

static inline int
step(const struct tcp_conn *c, int go)
{
	return go == GO && !c->freed;
}

/*
 * Is s acceptable (RFC 9293 3.10.7.4, the four cases)?  One allowance,
 * which the RFC asks for ("special allowance should be made to accept
 * valid ACKs"): a segment with no data may sit exactly at the right
 * edge, so a pure ACK is taken when the window is zero or the peer has
 * filled it to the last byte (its SEQ is its SND.MAX there).
 */
static int
tcp_acceptable(const struct tcp_conn *c, const struct tcp_rxseg *s)
{
	uint32_t wnd = c->rcv_adv - c->rcv_nxt;
	uint32_t seglen = s->len + ((s->flags & TCP_FSYN) != 0) + ((s->flags & TCP_FFIN) != 0);

	if (seglen == 0)
		return SEQ_GEQ(s->seq, c->rcv_nxt) && SEQ_LEQ(s->seq, c->rcv_nxt + wnd);
	if (wnd == 0)
		return 0;
	return SEQ_IN(s->seq, c->rcv_nxt, c->rcv_nxt + wnd) ||
	    SEQ_IN(s->seq + seglen - 1, c->rcv_nxt, c->rcv_nxt + wnd);
}

/* An ACK that says where we are (RFC 5961), at most TCP_CHALLENGE_RATE/s. */
static void
tcp_challenge(struct tcp_conn *c)
{
	if (tcp_challenge_ok()) {
		NSTAT(tcp, challenge_acks);
		tcp_ack_now(c);
	}
}

/* An RST in a synchronized state or SYN_RCVD: 0 if it was dealt with. */
static void
tcp_rst_in(struct tcp_conn *c, const struct tcp_rxseg *s)
{
	if (s->seq != c->rcv_nxt) {		/* in the window, not exact */
		NSTAT(tcp, rst_ignored);
		tcp_challenge(c);
		return;
	}
	NSTAT(tcp, rst_rx);
	if (c->state == TCP_SYN_RCVD && c->lst != NULL) {
		tcp_conn_free(c);		/* back to listening, silently */
		return;
	}
	tcp_drop(c, c->state == TCP_SYN_RCVD ? TCP_ERR_REFUSED : TCP_ERR_RESET);
}

/* PAWS (RFC 7323 5.3): 0 if s passes, -1 if it is dropped. */
static int
tcp_paws(struct tcp_conn *c, const struct tcp_rxseg *s)
{
	if (!c->ts_ok || !s->ts || (s->flags & TCP_FRST))
		return 0;
	if (SEQ_LT(s->tsval, c->ts_recent)) {
		NSTAT(tcp, rx_paws);
		c->ack_now = 1;
		return -1;
	}
	return 0;
}

/* Where the ACK of an acceptable segment leads (FIN acked, handshake). */
static int
ack_states(struct tcp_conn *c, struct tcp_rxseg *s)
{
	int fin_acked = c->shut_wr && c->snd_una == c->snd_max &&
	    TAILQ_EMPTY(&c->sndq);

	switch (c->state) {
	case TCP_SYN_RCVD:
		if (!SEQ_LT(c->snd_una, s->ack) || !SEQ_LEQ(s->ack, c->snd_max)) {
			tcp_rst_reply(s);
			return STOP;
		}
		c->snd_una = s->ack;
		c->retries = 0;
		timer_stop(&c->rtx);
		c->snd_wnd = s->wnd << c->snd_ws;
		c->snd_wnd_max = c->snd_wnd;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = s->ack;
		tcp_accept(c);
		return GO;
	case TCP_FIN_WAIT_1:
		if (fin_acked) {
			tcp_set_state(c, TCP_FIN_WAIT_2);
			if (c->app_gone)
				tcp_slow_arm(c, tcp_cfg.fin_wait2_ms);
		}
		return GO;
	case TCP_CLOSING:
		if (fin_acked)
			tcp_time_wait(c);
		return GO;
	case TCP_LAST_ACK:
		if (fin_acked) {
			tcp_finished(c);
			return STOP;
		}
		return GO;
	default:
		return GO;
	}
}

/*
 * RFC 9293 3.10.7, the steps before the first check: a connection
 * already CLOSED, SYN_SENT's own processing, and in SYN_RCVD the SYN
 * again (the peer's retransmission, or simultaneous open's SYN-ACK).
 */
static int
step_state(struct tcp_conn *c, struct tcp_rxseg *s)
{
	if (c->state == TCP_CLOSED) {		/* done, the app not yet told */
		if (!(s->flags & TCP_FRST))
			tcp_rst_reply(s);
		return STOP;
	}
	if (c->state == TCP_SYN_SENT) {
		syn_sent(c, s);
		return STOP;
	}
	if ((s->flags & TCP_FSYN) && c->state == TCP_SYN_RCVD && s->seq == c->irs) {
		if (!(s->flags & TCP_FACK)) {
			tcp_send_syn(c);
			return STOP;
		}
		s->flags &= (uint8_t)~TCP_FSYN;	/* simultaneous open's SYN-ACK */
		s->seq++;
	}
	return GO;
}

/* The ACK check (fifth): tcp_ack (tcp_ack.c), except in SYN_RCVD. */
static int
step_ack(struct tcp_conn *c, struct tcp_rxseg *s)
{
	return c->state == TCP_SYN_RCVD || tcp_ack(c, s) == 0 ? GO : STOP;
}

/* The first check: PAWS, then the sequence number. */
static int
step_seq(struct tcp_conn *c, struct tcp_rxseg *s)
{
	if (tcp_paws(c, s) != 0)
		return STOP;
	if (tcp_acceptable(c, s))
		return GO;
	NSTAT(tcp, rx_out_of_window);
	if (s->flags & TCP_FRST) {
		NSTAT(tcp, rst_ignored);
		return STOP;
	}
	c->ack_now = 1;
	/* Data beyond a closed window (a probe): its ACK still counts. */
	if (SEQ_GEQ(s->seq, c->rcv_nxt) && SEQ_LEQ(s->seq, c->rcv_adv) &&
	    (s->flags & (TCP_FACK | TCP_FSYN)) == TCP_FACK &&
	    c->state != TCP_SYN_RCVD && step(c, step_ack(c, s)))
		ack_states(c, s);
	return STOP;
}

/* The second to fourth checks: RST, SYN (RFC 5961 4.2), ACK present. */
static int
step_rst_syn(struct tcp_conn *c, struct tcp_rxseg *s)
{
	if (s->flags & TCP_FRST) {
		tcp_rst_in(c, s);
		return STOP;
	}
	if (s->flags & TCP_FSYN) {
		tcp_challenge(c);
		return STOP;
	}
	return (s->flags & TCP_FACK) ? GO : STOP;
}

/* The text and FIN (seventh, eighth); pkt is taken. */
static void
step_text(struct tcp_conn *c, struct tcp_rxseg *s, struct iobuf *pkt)
{
	if (s->len == 0 && !(s->flags & TCP_FFIN)) {
		iobuf_free_chain(pkt);
		return;
	}
	switch (c->state) {
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2:
		if (c->app_gone && s->len > 0 && SEQ_GT(s->seq + s->len, c->rcv_nxt)) {
			/* Bytes nobody will read (RFC 9293 3.10.4). */
			NSTAT(tcp, rx_after_close);
			tcp_send_rst(c);
			tcp_conn_free(c);
			break;
		}
		tcp_receive(c, s, pkt);
		return;
	case TCP_TIME_WAIT:
		if (s->flags & TCP_FFIN) {	/* their FIN again */
			c->ack_now = 1;
			tcp_slow_arm(c, tcp_cfg.time_wait_ms);
		}
		break;
	default:			/* the peer's FIN came already */
		c->ack_now = 1;
		break;
	}
	iobuf_free_chain(pkt);
}

/*
 * One segment on c's core: RFC 9293 3.10.7's steps in order, then
 * output.  Any step may end the connection (it frees c, or a callback
 * it runs closes or aborts it); step() is the one place that asks, and
 * the steps after it do not run.
 */
void
tcp_process(struct tcp_conn *c, struct tcp_rxseg *s, struct iobuf *pkt)
{
	int ts_edge;

	c->ctr.segs_in++;
	c->last_rx_ns = tcp_now_ns();
	c->in_input = 1;		/* tcp_conn_now: last_rx_ns, until the end */
	c->ka_probes = 0;
	if (step(c, step_state(c, s)) && step(c, step_seq(c, s)) &&
	    step(c, step_rst_syn(c, s))) {
		/*
		 * RFC 7323 4.3: remember the timestamp of the segment at the
		 * edge, once its ACK has been found acceptable (a segment
		 * dropped for its ACK must not move TS.Recent, or a far-future
		 * TSval in it would make PAWS drop the real peer from then on).
		 */
		ts_edge = c->ts_ok && s->ts && SEQ_LEQ(s->seq, c->last_ack_sent);
		if (step(c, step_ack(c, s)) && step(c, ack_states(c, s))) {
			if (ts_edge)
				c->ts_recent = s->tsval;
			step_text(c, s, pkt);
			pkt = NULL;
		}
	}
	iobuf_free_chain(pkt);
	if (!c->freed && c->state != TCP_SYN_SENT && c->state != TCP_SYN_RCVD)
		tcp_output(c);
	if (!c->freed && c->ack_now)
		tcp_ack_now(c);
	c->in_input = 0;		/* valid until this event ends, freed or not */
}
