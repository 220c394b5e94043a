/*
 * tcp_ack.c: what an acknowledgment does on the sending side: the send
 * queue trimmed, RTT sampled, the congestion window moved, losses
 * detected and recovered from.  Portable.
 *
 *	tcp_process -> tcp_ack -> RFC 5961 5.2 check -> tcp_sack_update
 *	            -> new data acked: ack_segs -> tcp_rtt_sample
 *	                               -> cc_newack (slow start, congestion
 *	                                  avoidance, NewReno partial and full
 *	                                  ACKs) -> the sent callback
 *	            -> a duplicate: cc_dupack -> fast retransmit, recovery
 *	            -> window update (SND.WL1/WL2)
 *	(the RTO's side, RFC 6298 5.4-5.7 and RFC 5681 3.1, is
 *	tcp_rto_expired in tcp_expire.c, beside the timer that calls it)
 *
 * Congestion control is RFC 5681: slow start below ssthresh (cwnd grows
 * by the bytes each ACK acks, up to ssthresh: RFC 3465's byte counting
 * without its limit, as Linux, since receivers that ACK a burst at once
 * (ours, tcp_out.c; Linux behind its receive offload) send stretch
 * ACKs), congestion avoidance above it (one MSS per cwnd of bytes
 * acked).  Loss recovery has two forms, chosen by
 * whether the peer agreed to SACK:
 *   - without SACK, NewReno (RFC 6582): the third duplicate ACK sends
 *     the first unacknowledged segment again, sets ssthresh to half the
 *     flight and inflates cwnd by three segments and one more per
 *     further duplicate; a partial ACK (below `recover`, the highest
 *     sequence sent when recovery began) sends the next hole at once and
 *     deflates cwnd by what it acked; a full ACK ends recovery.
 *   - with SACK, RFC 6675: recovery starts on the third duplicate ACK or
 *     when the scoreboard deems the first segment lost; cwnd is set to
 *     ssthresh, and tcp_output sends while the scoreboard's pipe (bytes
 *     believed in the network) is below cwnd, holes first
 *     (tcp_next_hole), new data after.
 * A retransmission timeout (tcp_rto_expired) ends any recovery, drops
 * cwnd to one segment and sends again from SND.UNA, skipping segments
 * the peer has SACKed (their marks are forgotten only on a second
 * timeout in a row: RFC 2018 8, the receiver may renege).  Until the
 * resend passes the old SND.MAX, what is in flight is counted as the
 * scoreboard's pipe, so the skipped segments do not count.
 *
 * Limited transmit (RFC 3042): the first two duplicate ACKs each let one
 * new segment go beyond cwnd, so that a small window still produces the
 * three duplicates fast retransmit needs.
 *
 * RTT (RFC 6298): an ACK that covers a segment sent only once is a
 * sample, timed from its send (Karn's rule: a retransmitted one is
 * ambiguous), the freshest such segment if it covers several; but not
 * when it also covers a retransmitted one (as Linux does), nor from a
 * segment the peer had SACKed already, sent before the last RTO, or
 * acked during recovery: those sat at the peer behind a hole, and their
 * time says how long the hole took, not the path.  Otherwise the
 * timestamp echo is the sample (it names the segment that moved the
 * peer's edge).  A SACK block gives a sample too, from the freshest
 * segment it newly covers that was sent once since the last RTO
 * (tcp_sack.c).  When every segment an ACK covers was sent again,
 * timestamps can still give one (now - TSecr, RFC 7323 4.1), but only
 * if the echo is of the latest transmission of the retransmitted ones:
 * a receiver echoes the TSval of the last segment it took in order, and
 * for a retransmission it drops as a duplicate that is the original's,
 * which would count the backoff as path delay and inflate the RTO
 * without end.  So an RTO that was spurious (its ACK lost, not its
 * data) leaves the backoff in place until fresh data is acked.
 */
#include "stats.h"
#include "tcp_int.h"

#include "kernel/malloc.h"

/*
 * Free what ack covers from the front of the send queue; returns the
 * payload bytes acked, in *rtt_ns a Karn-valid sample (0 if none), and
 * in *last_ns the latest send of a retransmitted segment it covers (0 if
 * none), which a timestamp echo must not be older than.
 */
static uint32_t
ack_segs(struct tcp_conn *c, uint32_t ack, uint64_t *rtt_ns, uint64_t *last_ns)
{
	struct tcp_seg *s;
	uint32_t bytes = 0, span;
	uint64_t now = c->last_rx_ns;	/* when this ACK came (tcp_process) */
	int rexmit;

	*rtt_ns = 0;
	*last_ns = 0;
	rexmit = 0;
	while ((s = TAILQ_FIRST(&c->sndq)) != NULL && SEQ_GT(ack, s->seq)) {
		span = seg_span(s);
		if (SEQ_LT(ack, s->seq + span)) {	/* part of it */
			uint32_t d = ack - s->seq;
			if (s->flags & TCP_FSYN) {
				s->flags &= (uint8_t)~TCP_FSYN;
				d--;
			}
			if (d > 0 && d <= s->len) {
				struct iobuf *rest = tcp_slice(s->data, d, s->len - d);
				if (rest == NULL)	/* keep it whole: acked later */
					break;
				tcp_seg_drop_data(s);
				s->data = rest;
				s->len -= d;
				bytes += d;
			}
			s->seq = ack;
			break;
		}
		/* Timed: sent once, since the last RTO, not held behind a hole. */
		rexmit |= s->rexmits != 0;
		if (s->rexmits == 0 && !s->sacked && s->sent_ns > c->rto_ns &&
		    !c->in_recovery && (*rtt_ns == 0 || now - s->sent_ns < *rtt_ns))
			*rtt_ns = now - s->sent_ns;
		if (s->rexmits != 0 && s->sent_ns > *last_ns)
			*last_ns = s->sent_ns;
		bytes += s->len;
		if (c->snd_next == s)
			c->snd_next = TAILQ_NEXT(s, link);
		TAILQ_REMOVE(&c->sndq, s, link);
		tcp_seg_free(s);
	}
	c->sndq_bytes -= bytes;
	if (rexmit)
		*rtt_ns = 0;		/* an ACK of a retransmission: ambiguous */
	return bytes;
}

/* RFC 5681 and RFC 6582 on an ACK of new data. */
static void
cc_newack(struct tcp_conn *c, uint32_t acked, uint32_t ack)
{
	if (c->in_recovery) {
		if (SEQ_GEQ(ack, c->recover)) {		/* a full ACK: done */
			uint32_t flight = tcp_inflight(c);
			c->cwnd = c->ssthresh < flight + c->mss ? c->ssthresh : flight + c->mss;
			if (c->cwnd < c->mss)
				c->cwnd = c->mss;
			tcp_recovery_reset(c);
			return;
		}
		if (!c->sack_ok) {			/* partial: the next hole now */
			struct tcp_seg *s = TAILQ_FIRST(&c->sndq);
			if (s != NULL && s != c->snd_next) {
				tcp_xmit(c, s);
				c->ctr.fast_retransmits++;
			}
			c->cwnd -= acked < c->cwnd ? acked : c->cwnd - c->mss;
			if (acked >= c->mss)
				c->cwnd += c->mss;
		}
		return;
	}
	if (c->cwnd < c->ssthresh) {			/* slow start, bytes */
		c->cwnd += acked;			/* counted (a stretch ACK) */
		if (c->cwnd > c->ssthresh)
			c->cwnd = c->ssthresh;
	} else {					/* congestion avoidance */
		c->ca_acked += acked;
		if (c->ca_acked >= c->cwnd) {
			c->ca_acked -= c->cwnd;
			c->cwnd += c->mss;
		}
	}
}

/* Enter loss recovery: ssthresh, and the first segment sent again. */
static void
cc_enter_recovery(struct tcp_conn *c)
{
	struct tcp_seg *s = TAILQ_FIRST(&c->sndq);
	uint32_t flight = tcp_inflight(c);

	c->ssthresh = flight / 2 > 2u * c->mss ? flight / 2 : 2u * c->mss;
	c->recover = c->snd_max;
	c->in_recovery = 1;
	c->ca_acked = 0;
	c->cwnd = c->sack_ok ? c->ssthresh : c->ssthresh + 3u * c->mss;
	if (s != NULL && s != c->snd_next && !s->sacked) {
		s->lost = 1;
		s->rexmit_rec = 1;
		tcp_xmit(c, s);
		c->ctr.fast_retransmits++;
		NSTAT(tcp, fast_retransmits);
	}
}

/* A duplicate ACK (RFC 5681 2 definition; SACK-bearing ones too). */
static void
cc_dupack(struct tcp_conn *c)
{
	struct tcp_seg *first = TAILQ_FIRST(&c->sndq);

	c->dupacks++;
	c->ctr.dupacks++;
	NSTAT(tcp, dupacks);
	if (c->in_recovery) {
		if (!c->sack_ok)
			c->cwnd += c->mss;		/* inflation */
		return;					/* tcp_output sends */
	}
	/* RFC 6582 3.2 step 1: not again for losses of the last episode. */
	if (SEQ_LT(c->snd_una, c->recover))
		return;
	if (c->dupacks >= TCP_DUPTHRESH ||
	    (c->sack_ok && first != NULL && first->lost))
		cc_enter_recovery(c);
}

/* The ACK field (and SACK blocks, window) of s; 0, or -1 to drop s. */
int
tcp_ack(struct tcp_conn *c, const struct tcp_rxseg *s)
{
	uint32_t ack = s->ack, wnd = s->wnd << c->snd_ws, acked;
	uint64_t rtt_ns, last_ns;
	struct tcp_seg *first;

	if (SEQ_GT(ack, c->snd_max)) {			/* acks what we never sent */
		NSTAT(tcp, rx_bad_ack);
		c->ack_now = 1;
		return -1;
	}
	if (SEQ_LT(ack, c->snd_una - c->snd_wnd_max)) {	/* RFC 5961 5.2 */
		if (tcp_challenge_ok()) {
			NSTAT(tcp, challenge_acks);
			c->ack_now = 1;
		}
		return -1;
	}
	if (c->sack_ok && s->nsack > 0) {
		tcp_seg_fine(c);		/* the scoreboard counts by the MSS */
		tcp_sack_update(c, s);
	}
	if (SEQ_GT(ack, c->snd_una)) {
		acked = ack - c->snd_una;
		uint32_t bytes = ack_segs(c, ack, &rtt_ns, &last_ns);
		c->snd_una = ack;
		if (SEQ_LT(c->snd_nxt, ack))
			c->snd_nxt = ack;
		c->retries = 0;
		c->probes = 0;
		if (rtt_ns != 0)
			tcp_rtt_sample(c, rtt_ns / 1000);
		else if (c->ts_ok && s->ts && s->tsecr != 0 && (last_ns == 0 ||
		    SEQ_GEQ(s->tsecr, (uint32_t)(last_ns / TIMER_MS) + c->ts_off)))
			tcp_rtt_sample(c, (uint64_t)(tcp_ts_now(c) - s->tsecr) * 1000);
		cc_newack(c, acked, ack);
		if (!c->in_recovery)
			c->dupacks = 0;
		if (SEQ_GEQ(ack, c->recover))
			c->rto_sack = 0;		/* the resend is over */
		c->ctr.bytes_acked += bytes;
		c->rtx_restart = 1;			/* RFC 6298 5.3: tcp_rtx_check */
		c->persist = 0;
		c->tlp = 0;
		if (bytes > 0 && !c->app_gone && c->cb != NULL && c->cb->sent != NULL) {
			c->cb->sent(c->arg, c, bytes);
			if (c->freed)
				return -1;
		}
	} else if (ack == c->snd_una && s->len == 0 &&
	    !(s->flags & (TCP_FSYN | TCP_FFIN)) && wnd == c->snd_wnd &&
	    c->snd_una != c->snd_max) {
		cc_dupack(c);
	}
	/* RFC 6675 / 8985: recovery starts once the first segment is lost. */
	first = TAILQ_FIRST(&c->sndq);
	if (c->sack_ok && !c->in_recovery && first != NULL && first != c->snd_next &&
	    first->lost && !first->sacked && SEQ_GEQ(c->snd_una, c->recover))
		cc_enter_recovery(c);
	/* The window, from the newest segment only (RFC 9293 3.10.7.4). */
	if (SEQ_LT(c->snd_wl1, s->seq) ||
	    (c->snd_wl1 == s->seq && SEQ_LEQ(c->snd_wl2, ack))) {
		c->snd_wnd = wnd;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = ack;
		if (wnd > c->snd_wnd_max)
			c->snd_wnd_max = wnd;
	}
	return 0;
}
