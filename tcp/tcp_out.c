/*
 * tcp_out.c: TCP output: deciding what of the send queue (tcp_sndq.c)
 * may go, building headers, checksums and offload hints.  Portable.
 *
 *	tcp_output -> SACK holes first (in RFC 6675 recovery)
 *	           -> new segments, as the peer's window, cwnd, the sender's
 *	              SWS rule and Nagle allow (tcp_seg_split cuts one to fit
 *	              a small window) -> tcp_xmit, or tcp_xmit_tso for a run
 *	           -> tcp_rtx_check (retransmission or persist timer)
 *	tcp_xmit, control segments -> tcp_emit -> options, window, checksum
 *	                                       -> ip_output
 *	no connection -> tcp_rst_reply, tcp_cookie_syn -> tcp_reply -> ip_output
 *
 * Each transmission sends fresh clones of a segment's data (tcp_slice,
 * tcp_sndq.c), with the headers in a buffer of their own in front
 * (pkt_push sees the shared block).  A clone is one small allocation;
 * if it fails the segment is not sent this time (counted) and the
 * retransmission timer sends it later.
 *
 * ACKs owed for a burst of received segments go once, at its end
 * (tcp_ack_later puts the connection on the burst list, tcp_rx.c).
 *
 * Every segment but the first SYN carries an ACK of RCV.NXT and the
 * window (tcp_rcv_wnd_field), so sending anything pays the owed ACK (the
 * delayed-ACK timer stays armed and will find nothing owed).  The window offered is what the receive
 * buffer has free (less what the application holds under
 * TCP_OPT_MANUAL_RECVED and the out-of-order queue), never less than
 * what was offered before (RFC 9293 3.8.6.2.2: the right edge is never
 * retracted), and not opened by less than an MSS or half the buffer
 * (the receiver's silly-window rule).
 *
 * Checksums (tcp_csum, for every segment we send, a connection's or a
 * reply's): computed here over the pseudo-header and the whole chain,
 * or, when the interface has NETIF_F_TX_CSUM, left to the device with
 * the pseudo-header's sum in place and hints (netif.h).  A run of full
 * segments goes down as one frame with hints.mss (its checksum always
 * left to what is below), on any interface: a device with NETIF_F_TSO4
 * cuts it, and for any other netif_send cuts it in software just
 * before the driver (gso.c), so that one header's work (options, the
 * window, the route, ARP, the counters) serves the whole run.  The
 * counters count the segments on the wire.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "inet.h"
#include "kernel/malloc.h"
#include "pkt.h"
#include "stats.h"
#include "tcp_int.h"


/* ---- headers ---------------------------------------------------------------- */

/* The window field to send now (scaled, never retracting the edge). */
uint32_t
tcp_rcv_wnd_field(struct tcp_conn *c)
{
	uint32_t used = c->rcv_held + c->ooo_bytes;
	uint32_t avail = c->rcvbuf > used ? c->rcvbuf - used : 0;
	uint32_t ws = c->ws_ok ? c->rcv_ws : 0, w, field;

	if (avail > (65535u << ws))
		avail = 65535u << ws;
	if (avail < c->rcvbuf / 2 && avail < c->rmss)	/* receiver SWS */
		avail = 0;
	w = SEQ_LT(c->rcv_nxt + avail, c->rcv_adv) ? c->rcv_adv - c->rcv_nxt : avail;
	field = w >> ws;
	if (SEQ_LT(c->rcv_nxt + (field << ws), c->rcv_adv))
		field++;				/* round up: never retract */
	if (field > 65535)
		field = 65535;
	if (SEQ_GT(c->rcv_nxt + (field << ws), c->rcv_adv))
		c->rcv_adv = c->rcv_nxt + (field << ws);
	return field;
}

/*
 * Write a SYN's options into o: MSS, window scale ws (-1: none),
 * SACK-permitted, timestamps (tsval, tsecr) if ts; their length.  Also
 * the SYN cookie's SYN-ACK (tcp_cookie.c), which has no connection.
 */
int
tcp_syn_opts(uint8_t *o, uint16_t mss, int ws, int sack_ok, int ts,
    uint32_t tsval, uint32_t tsecr)
{
	int n = 0;

	o[n++] = TCPOPT_MSS;
	o[n++] = 4;
	o[n++] = (uint8_t)(mss >> 8);
	o[n++] = (uint8_t)mss;
	if (ws >= 0) {
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_WSCALE;
		o[n++] = 3;
		o[n++] = (uint8_t)ws;
	}
	if (sack_ok) {
		if (!ts) {
			o[n++] = TCPOPT_NOP;
			o[n++] = TCPOPT_NOP;
		}
		o[n++] = TCPOPT_SACK_OK;
		o[n++] = 2;
	} else if (ts) {
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_NOP;
	}
	if (ts) {
		o[n++] = TCPOPT_TS;
		o[n++] = 10;
		tsval = hton32(tsval);
		memcpy(o + n, &tsval, 4);
		tsecr = hton32(tsecr);
		memcpy(o + n + 4, &tsecr, 4);
		n += 8;
	}
	return n;
}

/* Write the options of c's SYN (we offer all) or SYN-ACK (what the peer did). */
static int
syn_options(struct tcp_conn *c, uint8_t *o)
{
	int active = c->state == TCP_SYN_SENT, ts = active || c->ts_ok;

	return tcp_syn_opts(o, c->rmss, active || c->ws_ok ? c->rcv_ws : -1,
	    active || c->sack_ok, ts, ts ? tcp_ts_now(c) : 0,
	    active ? 0 : c->ts_recent);
}

/* Write the options of any other segment (TS, SACK blocks) within room. */
static int
seg_options(struct tcp_conn *c, uint8_t *o, int room)
{
	struct tcp_sackblk b[TCP_SACK_MAX];
	int n = 0, nb;
	uint32_t v;

	if (c->ts_ok) {
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_TS;
		o[n++] = 10;
		v = hton32(tcp_ts_now(c));
		memcpy(o + n, &v, 4);
		v = hton32(c->ts_recent);
		memcpy(o + n + 4, &v, 4);
		n += 8;
	}
	if (c->sack_ok && !TAILQ_EMPTY(&c->oooq) && room - n >= 12) {
		nb = tcp_sack_blocks(c, b, c->ts_ok ? 3 : 4);
		if (nb > (room - n - 4) / 8)
			nb = (room - n - 4) / 8;
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_SACK;
		o[n++] = (uint8_t)(2 + 8 * nb);
		for (int i = 0; i < nb; i++) {
			v = hton32(b[i].left);
			memcpy(o + n, &v, 4);
			v = hton32(b[i].right);
			memcpy(o + n + 4, &v, 4);
			n += 8;
		}
	}
	return n;
}

/*
 * The checksum of segment pkt (tlen bytes, its TCP header th first,
 * from src to dst) through nif: computed here, or, when nif offloads it
 * (and always for a TSO frame, h->mss set), the pseudo-header's sum put
 * in the field and h completed for the device.  The hints to send with
 * it: h, or NULL.
 */
static const struct netif_tx_hints *
tcp_csum(const struct netif *nif, const struct iobuf *pkt, struct tcp_hdr *th,
    size_t tlen, uint32_t src, uint32_t dst, struct netif_tx_hints *h)
{
	uint32_t sum = inet_pseudo(src, dst, IP_PROTO_TCP, (uint16_t)(tlen > 0xffff ? 0 : tlen));

	if ((nif->features & NETIF_F_TX_CSUM) || h->mss != 0) {
		th->csum = hton16(inet_fold(sum));	/* the device adds the rest */
		h->csum = 1;
		h->csum_start = 0;
		h->csum_offset = offsetof(struct tcp_hdr, csum);
		return h;
	}
	th->csum = 0;
	th->csum = hton16(inet_csum(inet_sum_chain(pkt, 0, tlen, sum)));
	return NULL;
}

/*
 * Send one segment of c: data (owned; NULL for none) at seq with flags;
 * tso_mss nonzero for a TSO frame.  0, or an errno (dropped, counted).
 */
static int
tcp_emit(struct tcp_conn *c, struct iobuf *data, uint32_t seq, uint8_t flags,
    uint16_t tso_mss)
{
	struct netif_tx_hints hints = { .mss = tso_mss };
	uint8_t opt[40];
	size_t dlen = iobuf_chain_len(data), tlen;
	uint32_t segs;
	int olen, hlen, room;
	struct tcp_hdr *th;

	room = (int)(c->nif->mtu - IP_HLEN - TCP_HLEN) - (int)(tso_mss ? tso_mss : dlen);
	if (room > 40)
		room = 40;
	olen = (flags & TCP_FSYN) ? syn_options(c, opt) : seg_options(c, opt, room);
	hlen = TCP_HLEN + olen;
	if ((th = pkt_push(&data, (size_t)hlen)) == NULL) {
		NSTAT(tcp, nomem);
		iobuf_free_chain(data);
		return ENOMEM;
	}
	th->sport = hton16(c->lport);
	th->dport = hton16(c->rport);
	th->seq = hton32(seq);
	th->ack = (flags & TCP_FACK) ? hton32(c->rcv_nxt) : 0;
	th->off = (uint8_t)((hlen / 4) << 4);
	th->flags = flags;
	th->win = hton16((uint16_t)((flags & TCP_FSYN) ?
	    (c->rcvbuf > 65535 ? 65535 : c->rcvbuf) : tcp_rcv_wnd_field(c)));
	th->urg = 0;
	th->csum = 0;
	memcpy(th + 1, opt, (size_t)olen);
	if (flags & TCP_FSYN)
		c->rcv_adv = c->rcv_nxt + ntoh16(th->win);
	if (flags & TCP_FACK) {			/* the delayed ACK is paid (its */
		c->last_ack_sent = c->rcv_nxt;	/* timer, still armed, will */
		c->acks_owed = 0;		/* find nothing owed) */
		c->ack_now = 0;
	}
	tlen = dlen + (size_t)hlen;
	segs = tso_mss != 0 ? (uint32_t)((dlen + tso_mss - 1) / tso_mss) : 1;
	c->ctr.segs_out += segs;
	NSTAT_ADD(tcp, tx, segs);
	if (flags & TCP_FRST)
		NSTAT(tcp, rst_tx);
	return ip_output(c->nif, data, c->rip, IP_PROTO_TCP,
	    tcp_csum(c->nif, data, th, tlen, c->lip, c->rip, &hints));
}

/* ---- segments ---------------------------------------------------------------- */

/* Note seg as sent now (a retransmission if it was sent before). */
static void
seg_sent(struct tcp_conn *c, struct tcp_seg *seg)
{
	if (SEQ_LT(seg->seq, c->snd_max)) {
		seg->rexmits++;
		c->ctr.retransmits++;
		NSTAT(tcp, retransmits);
	}
	seg->sent_ns = tcp_conn_now(c);
	c->ctr.bytes_sent += seg->len;
}

/* Send segment seg (again, if sent before); 0, or ENOMEM. */
int
tcp_xmit(struct tcp_conn *c, struct tcp_seg *seg)
{
	struct iobuf *data = NULL;
	uint8_t flags;

	/* A segment of several MSSes goes one MSS at a time here (sent
	 * again, or past the TSO rules): the rest becomes the next. */
	if (seg->len > c->mss && tcp_seg_split(c, seg, c->mss) != 0) {
		NSTAT(tcp, nomem);
		return ENOMEM;
	}
	flags = TCP_FACK | (seg->flags & TCP_FFIN);
	if (seg->len > 0) {
		if ((data = tcp_slice(seg->data, 0, seg->len)) == NULL) {
			NSTAT(tcp, nomem);
			return ENOMEM;		/* the RTO sends it later */
		}
		flags |= TCP_FPSH;
	}
	seg_sent(c, seg);
	return tcp_emit(c, data, seg->seq, flags, 0);
}

/* Send segments first .. first+n-1 (full, unsent, no FIN) as one TSO frame. */
static void
tcp_xmit_tso(struct tcp_conn *c, struct tcp_seg *first, int n)
{
	struct iobuf *data = NULL, **tail = &data;
	struct tcp_seg *s = first;

	for (int i = 0; i < n; i++, s = TAILQ_NEXT(s, link)) {
		if ((*tail = tcp_slice(s->data, 0, s->len)) == NULL) {
			NSTAT(tcp, nomem);
			iobuf_free_chain(data);
			return;
		}
		while (*tail != NULL)		/* the slice's end: the next goes there */
			tail = &(*tail)->next;
		seg_sent(c, s);
	}
	tcp_emit(c, data, first->seq, TCP_FACK | TCP_FPSH, c->mss);
}

/* Move the send pointer past s (just sent). */
static void
advance(struct tcp_conn *c, struct tcp_seg *s)
{
	c->snd_next = TAILQ_NEXT(s, link);
	c->snd_nxt = s->seq + seg_span(s);
	if (SEQ_GT(c->snd_nxt, c->snd_max))
		c->snd_max = c->snd_nxt;
}

/*
 * May s go now?  1 yes, 0 no.  A segment of several MSSes may be cut
 * first: its short rest into a segment of its own (whole MSSes go, the
 * rest is judged alone, by Nagle too), and to whole MSSes that the
 * peer's window and cwnd have room for.
 */
static int
tcp_may_send(struct tcp_conn *c, struct tcp_seg *s, uint32_t flight)
{
	uint32_t edge = tcp_snd_edge(c), usable, cwnd, room;

	if (s->len > c->mss && s->len % c->mss != 0 &&
	    tcp_seg_split(c, s, s->len - s->len % c->mss) != 0)
		return 0;
	if (SEQ_GT(s->seq + s->len, edge)) {
		/* Sender SWS (RFC 9293 3.8.6.2.1): a full MSS, or half the
		 * largest window the peer has offered. */
		usable = SEQ_GT(edge, s->seq) ? edge - s->seq : 0;
		if (usable == 0 || (usable < c->mss && usable < (c->snd_wnd_max + 1) / 2))
			return 0;
		if (tcp_seg_split(c, s, usable > c->mss ? usable - usable % c->mss : usable) != 0)
			return 0;
	}
	cwnd = c->cwnd;
	if (!c->in_recovery && c->dupacks > 0 && c->dupacks < TCP_DUPTHRESH &&
	    !SEQ_LT(s->seq, c->snd_max))
		cwnd += (uint32_t)c->dupacks * c->mss;	/* limited transmit */
	if (flight + s->len > cwnd) {
		room = cwnd > flight ? cwnd - flight : 0;
		if (s->len > c->mss && room >= c->mss) {
			if (tcp_seg_split(c, s, room - room % c->mss) != 0)
				return 0;
		} else if (flight > 0) {
			return 0;
		} else if (s->len > c->mss && tcp_seg_split(c, s, c->mss) != 0) {
			return 0;			/* nothing in flight: one MSS */
		}
	}
	/* Nagle (RFC 9293 3.7.4): one small segment in flight at a time. */
	if (s->len < c->mss && !(s->flags & TCP_FFIN) && !c->nodelay &&
	    flight > 0 && TAILQ_NEXT(s, link) == NULL)
		return 0;
	return 1;
}

/* Send what the windows, the scoreboard and Nagle allow; arm the timers. */
void
tcp_output(struct tcp_conn *c)
{
	struct tcp_seg *s, *t;
	int sack_rec, n, tso;
	uint32_t flight, run;

	if (c->freed)
		return;
	if (c->snd_next == NULL && c->snd_una == c->snd_nxt && !c->persist &&
	    !timer_armed(&c->rtx)) {
		/* Nothing to send, nothing in flight, no timer to stop: a
		 * receiver's usual case, one call per segment it takes. */
		c->rtx_restart = 0;
		if (c->ack_now)
			tcp_ack_now(c);
		return;
	}
	switch (c->state) {
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT_1:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		break;
	default:
		if (c->ack_now)
			tcp_ack_now(c);
		return;
	}
	sack_rec = c->sack_ok && (c->in_recovery || c->rto_sack);
	while (sack_rec && (s = tcp_next_hole(c)) != NULL &&
	    c->cwnd > (flight = tcp_pipe(c)) && c->cwnd - flight >= s->len) {
		s->rexmit_rec = 1;
		c->ctr.sack_retransmits++;
		NSTAT(tcp, sack_retransmits);
		tcp_xmit(c, s);
	}
	while ((s = c->snd_next) != NULL) {
		if (s->sacked) {			/* the peer has it (after an RTO) */
			advance(c, s);
			continue;
		}
		flight = sack_rec ? tcp_pipe(c) : tcp_inflight(c);
		if (!tcp_may_send(c, s, flight))
			break;
		/* Whole MSSes, new, in a run for one TSO frame. */
		n = 1;
		run = s->len;
		tso = !sack_rec && !SEQ_LT(s->seq, c->snd_max) && s->len % c->mss == 0 &&
		    !s->flags;
		if (tso) {
			for (t = TAILQ_NEXT(s, link); t != NULL && t->len % c->mss == 0 &&
			    t->len > 0 && !t->flags && run + t->len <= TCP_TSO_MAX &&
			    SEQ_LEQ(t->seq + t->len, tcp_snd_edge(c)) &&
			    flight + run + t->len <= c->cwnd; t = TAILQ_NEXT(t, link)) {
				run += t->len;
				n++;
			}
		}
		if (tso && run > c->mss) {
			tcp_xmit_tso(c, s, n);
			for (int i = 0; i < n; i++)
				advance(c, c->snd_next);
		} else {
			tcp_xmit(c, s);
			advance(c, s);
		}
	}
	if (c->ack_now)
		tcp_ack_now(c);
	tcp_rtx_check(c);
}

/* ---- control segments --------------------------------------------------------- */

/* A pure ACK now, at SND.MAX. */
void
tcp_ack_now(struct tcp_conn *c)
{
	if (c->freed || c->state == TCP_CLOSED || c->state == TCP_SYN_SENT)
		return;
	tcp_emit(c, NULL, c->snd_max, TCP_FACK, 0);	/* not SND.NXT: after an RTO
							 * it went back below what
							 * the peer has seen */
}

/*
 * Owe an ACK for len bytes of new data: the delayed-ACK timer armed on
 * the first full segment; from the second on (a segment merged from
 * several counts as two), on the burst list, to go when the burst of
 * segments it came in ends (tcp_rx.c); at once when TCP_ACK_STRETCH
 * bytes have come since the last ACK we sent.
 */
void
tcp_ack_later(struct tcp_conn *c, uint32_t len)
{
	if (c->rcv_nxt - c->last_ack_sent >= TCP_ACK_STRETCH) {
		c->ack_now = 1;
		return;
	}
	c->acks_owed += len > c->rmss ? 2 : 1;
	if (c->acks_owed >= 2)
		tcp_burst_add(c);
	if (!timer_armed(&c->dack))
		timer_start(&c->dack, (uint64_t)tcp_cfg.delack_ms * TIMER_MS, 0);
}

/* Send our SYN (or SYN-ACK) and arm the retransmission timer. */
void
tcp_send_syn(struct tcp_conn *c)
{
	uint8_t flags = TCP_FSYN | (c->state == TCP_SYN_RCVD ? TCP_FACK : 0);

	c->rmss = (uint16_t)(c->nif->mtu - IP_HLEN - TCP_HLEN);
	tcp_emit(c, NULL, c->iss, flags, 0);
	c->snd_nxt = c->iss + 1;
	if (SEQ_GT(c->snd_nxt, c->snd_max))
		c->snd_max = c->snd_nxt;
	tcp_rtx_arm(c);
}

/* Send an RST at SND.MAX (tcp_abort, tcp_close with unread data). */
void
tcp_send_rst(struct tcp_conn *c)
{
	tcp_emit(c, NULL, c->snd_max, TCP_FRST | TCP_FACK, 0);
}

/* A zero-window or keepalive probe: an ACK at SND.UNA - 1. */
void
tcp_send_probe(struct tcp_conn *c)
{
	tcp_emit(c, NULL, c->snd_una - 1, TCP_FACK, 0);
}

/* A tail loss probe: the next new segment if it fits, else the last one sent. */
void
tcp_send_tlp(struct tcp_conn *c)
{
	struct tcp_seg *s = c->snd_next;

	NSTAT(tcp, tlp_probes);
	/* New data if the peer's window has room for a segment ... */
	if (s != NULL && s->len > 0 && SEQ_LEQ(s->seq + s->len, tcp_snd_edge(c))) {
		tcp_xmit(c, s);
		advance(c, s);
		return;
	}
	/* ... else the last segment sent, again (its last MSS, if longer). */
	for (s = TAILQ_LAST(&c->sndq, tcp_segq); s != NULL && !SEQ_LT(s->seq, c->snd_max);
	    s = TAILQ_PREV(s, tcp_segq, link))
		;
	if (s != NULL && s->len > c->mss && tcp_seg_split(c, s, s->len - c->mss) == 0)
		s = TAILQ_NEXT(s, link);
	if (s != NULL)
		tcp_xmit(c, s);
}

/*
 * A segment that no connection sends, back to the sender of s: seq,
 * ack, flags, window and olen bytes of options (an RST, or a SYN
 * cookie's SYN-ACK).  Checksummed as any segment (tcp_csum: here, or by
 * the device); dropped and counted if out of memory.
 */
void
tcp_reply(const struct tcp_rxseg *s, uint32_t seq, uint32_t ack, uint8_t flags,
    uint16_t win, const uint8_t *opt, int olen)
{
	struct iobuf *pkt = iobuf_alloc(IOBUF_HEADROOM, 0);
	struct netif_tx_hints hints = { .mss = 0 };
	size_t hlen = TCP_HLEN + (size_t)olen;
	struct tcp_hdr *th;

	if (pkt == NULL || s->nif == NULL) {
		NSTAT(tcp, nomem);
		iobuf_free_chain(pkt);
		return;
	}
	th = iobuf_push(pkt, hlen);
	memset(th, 0, TCP_HLEN);
	th->sport = hton16(s->dport);
	th->dport = hton16(s->sport);
	th->seq = hton32(seq);
	th->ack = hton32(ack);
	th->off = (uint8_t)((hlen / 4) << 4);
	th->flags = flags;
	th->win = hton16(win);
	if (olen > 0)
		memcpy(th + 1, opt, (size_t)olen);
	NSTAT(tcp, tx);
	if (flags & TCP_FRST)
		NSTAT(tcp, rst_tx);
	ip_output(s->nif, pkt, s->src, IP_PROTO_TCP,
	    tcp_csum(s->nif, pkt, th, hlen, s->dst, s->src, &hints));
}

/* An RST for a segment that has no connection (RFC 9293 3.10.7.1). */
void
tcp_rst_reply(const struct tcp_rxseg *s)
{
	if (s->flags & TCP_FACK)		/* <SEQ=SEG.ACK><CTL=RST> */
		tcp_reply(s, s->ack, 0, TCP_FRST, 0, NULL, 0);
	else					/* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
		tcp_reply(s, 0, s->seq + s->len + ((s->flags & TCP_FSYN) != 0) +
		    ((s->flags & TCP_FFIN) != 0), TCP_FRST | TCP_FACK, 0, NULL, 0);
}
