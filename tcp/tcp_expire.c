/*
 * tcp_expire.c: what a connection's timers do when they expire.
 * Portable.  Each handler is an event on the connection's core, entered
 * from the loop as input is (tcp_timer.c arms the timers and names
 * these handlers to them).
 *
 *	rtx:  tcp_rtx_fire -> SYN_SENT / SYN_RCVD: tcp_send_syn again, or
 *	                      give up after syn_retries
 *	                   -> a tail loss probe: tcp_send_tlp, then the RTO
 *	                   -> persist: tcp_send_probe, the interval doubling
 *	                      up to persist_max_ms
 *	                   -> data: tcp_rto_expired -> tcp_output, or abort
 *	                      after data_retries
 *	dack: tcp_dack_fire -> tcp_ack_now
 *	slow: tcp_slow_fire -> TIME_WAIT over: tcp_finished
 *	                    -> FIN_WAIT_2 after tcp_close: free
 *	                    -> keepalive: idle long enough: tcp_send_probe,
 *	                       or abort after keepalive_cnt unanswered
 *
 * A zero-window probe is the segment Linux sends: an ACK one below
 * SND.UNA, which the peer must answer (RFC 9293 3.10.7.4: an
 * unacceptable segment gets an ACK) with its current window; the probes
 * never give up while the peer answers.  A keepalive probe is the same
 * segment (RFC 1122 4.2.3.6).
 *
 * The RTO (tcp_rto_expired) is the congestion side of a timeout (RFC
 * 6298 5.4-5.7, RFC 5681 3.1): cwnd to one segment, ssthresh from the
 * flight, recovery ended, the resend from SND.UNA; tcp_ack.c explains
 * how SACK marks and RTT samples treat what follows.
 */
#include "stats.h"
#include "tcp_int.h"

/* The RTO fired: cwnd to one segment, back off, resend from SND.UNA. */
static void
tcp_rto_expired(struct tcp_conn *c)
{
	struct tcp_seg *s;
	uint32_t flight = tcp_inflight(c);

	c->ctr.timeouts++;
	NSTAT(tcp, timeouts);
	/*
	 * RFC 5681 3.1 (4): ssthresh from the flight, but only at the first
	 * expiry for this data ("not yet resent by way of the retransmission
	 * timer"): at a second in a row the flight is the one segment resent
	 * and would pin ssthresh at two.  cwnd one segment.
	 */
	if (c->retries <= 1)
		c->ssthresh = flight / 2 > 2u * c->mss ? flight / 2 : 2u * c->mss;
	c->cwnd = c->mss;
	c->ca_acked = 0;
	c->recover = c->snd_max;
	tcp_recovery_reset(c);
	/*
	 * SACK marks survive one timeout, so that the resend skips what the
	 * peer holds (RFC 6675 5.1); a second timeout in a row forgets them,
	 * in case the peer reneged on what it SACKed (RFC 2018 8).
	 */
	c->rto_sack = c->sack_ok && c->retries < 2;
	TAILQ_FOREACH(s, &c->sndq, link) {
		if (!c->rto_sack)
			s->sacked = 0;
		s->lost = 0;
	}
	c->rto_ns = tcp_now_ns();
	c->tlp = 0;
	/* Go back to SND.UNA: tcp_output sends from there again. */
	c->snd_next = TAILQ_FIRST(&c->sndq);
	c->snd_nxt = c->snd_una;
	c->rto_ms = c->rto_ms * 2 > tcp_cfg.rto_max_ms ? tcp_cfg.rto_max_ms : c->rto_ms * 2;
}

/* The retransmission (or persist) timer. */
void
tcp_rtx_fire(void *arg)
{
	struct tcp_conn *c = arg;
	uint64_t due = c->rtx_due;

	c->rtx_due = 0;
	if (due > clock_ns()) {			/* restarted since it was armed */
		timer_start_at(&c->rtx, due, 0);
		return;
	}
	switch (c->state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RCVD:
		if ((uint32_t)++c->retries >= tcp_cfg.syn_retries) {
			if (c->lst != NULL)
				tcp_conn_free(c);	/* a passive open: silently */
			else
				tcp_drop(c, TCP_ERR_TIMEOUT);
			return;
		}
		c->ctr.timeouts++;
		c->rto_ms = c->rto_ms * 2 > tcp_cfg.rto_max_ms ? tcp_cfg.rto_max_ms :
		    c->rto_ms * 2;
		tcp_send_syn(c);
		return;
	case TCP_CLOSED:
	case TCP_TIME_WAIT:
	case TCP_LISTEN:
		return;
	default:
		break;
	}
	if (c->persist) {
		c->probes++;
		c->ctr.zero_window_probes++;
		NSTAT(tcp, zero_window_probes);
		tcp_send_probe(c);
		c->persist_ms = c->persist_ms * 2 > tcp_cfg.persist_max_ms ?
		    tcp_cfg.persist_max_ms : c->persist_ms * 2;
		tcp_rtx_start(c, (uint64_t)c->persist_ms * TIMER_MS);
		return;
	}
	if (!SEQ_LT(c->snd_una, c->snd_nxt) && c->snd_next == NULL)
		return;
	if (c->tlp) {				/* the probe, then the RTO */
		c->tlp = 0;
		tcp_send_tlp(c);
		tcp_rtx_arm(c);
		return;
	}
	if ((uint32_t)++c->retries > tcp_cfg.data_retries) {
		tcp_send_rst(c);
		tcp_drop(c, TCP_ERR_TIMEOUT);
		return;
	}
	tcp_rto_expired(c);
	tcp_output(c);
	if (!c->freed && !timer_armed(&c->rtx))
		tcp_rtx_arm(c);
}

/*
 * The delayed-ACK timer: the owed ACK goes now.  Sending any segment
 * pays what was owed and leaves the timer armed (stopping it on every
 * segment would cost a timer heap operation each): a fire that finds
 * nothing owed does nothing, and one that finds an ACK owed since sends
 * it a little early, which is always allowed.
 */
void
tcp_dack_fire(void *arg)
{
	struct tcp_conn *c = arg;

	if (c->last_ack_sent != c->rcv_nxt || c->acks_owed > 0) {
		NSTAT(tcp, delayed_acks);
		tcp_ack_now(c);
	}
}

/* TIME_WAIT's end, FIN_WAIT_2's limit, or a keepalive tick. */
void
tcp_slow_fire(void *arg)
{
	struct tcp_conn *c = arg;
	uint64_t idle, need;

	switch (c->state) {
	case TCP_TIME_WAIT:
		tcp_finished(c);
		return;
	case TCP_FIN_WAIT_2:
		if (c->app_gone)
			tcp_conn_free(c);
		return;
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		break;
	default:
		return;
	}
	if (!c->keepalive)
		return;
	idle = (tcp_now_ns() - c->last_rx_ns) / TIMER_MS;
	need = c->ka_probes == 0 ? tcp_cfg.keepalive_idle_ms : tcp_cfg.keepalive_intvl_ms;
	if (c->ka_probes == 0 && idle < need) {
		tcp_slow_arm(c, need - idle);
		return;
	}
	if ((uint32_t)c->ka_probes >= tcp_cfg.keepalive_cnt) {
		NSTAT(tcp, keepalive_drops);
		tcp_send_rst(c);
		tcp_drop(c, TCP_ERR_KEEPALIVE);
		return;
	}
	c->ka_probes++;
	c->ctr.keepalive_probes++;
	NSTAT(tcp, keepalive_probes);
	tcp_send_probe(c);
	tcp_slow_arm(c, tcp_cfg.keepalive_intvl_ms);
}
