/*
 * tcp_timer.c: arming a connection's three timers, all on its core
 * (ebb/timer.h), and the RTO estimator.  Portable.  What each timer
 * does when it expires is tcp_expire.c's; this file only says when.
 *
 *	rtx:  tcp_output, tcp_ack -> tcp_rtx_check -> the tail loss probe
 *	      or the RTO (tcp_pto_arm, tcp_rtx_arm), the persist timer, or
 *	      nothing, as the flight needs
 *	dack: tcp_ack_later (tcp_out.c) arms it
 *	slow: tcp_slow_arm (TIME_WAIT, FIN_WAIT_2), tcp_keepalive_reset
 *	RTT:  tcp_ack, tcp_sack_update -> tcp_rtt_sample -> SRTT, RTTVAR, RTO
 *
 * The retransmission timer runs whenever bytes are in flight
 * (tcp_rtx_check), restarted by every ACK of new data; a restart to a
 * later deadline leaves the timer armed where it was and notes the new
 * one (rtx_due), to which the early fire re-arms it: the same
 * deadlines, without a timer heap operation per ACK.  When nothing is
 * in flight but data waits for a window the peer closed, the same timer
 * is the persist timer (c->persist).
 *
 * RTO (RFC 6298): the first sample R sets SRTT = R and RTTVAR = R/2,
 * later ones RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R| and SRTT = 7/8 SRTT +
 * 1/8 R; RTO = SRTT + max(G, 4 RTTVAR), clamped to [rto_min_ms,
 * rto_max_ms].  Each expiry doubles the RTO (backoff) until a new sample
 * recomputes it.
 */
#include "stats.h"
#include "tcp_int.h"

/* Set up c's three timers (none armed), each with its expiry (tcp_expire.c). */
void
tcp_timers_setup(struct tcp_conn *c)
{
	timer_setup(&c->rtx, tcp_rtx_fire, c);
	timer_setup(&c->dack, tcp_dack_fire, c);
	timer_setup(&c->slow, tcp_slow_fire, c);
}

static void tcp_pto_arm(struct tcp_conn *c);

/* Stop c's three timers. */
void
tcp_timers_stop(struct tcp_conn *c)
{
	timer_stop(&c->rtx);
	timer_stop(&c->dack);
	timer_stop(&c->slow);
	c->persist = 0;
}

/*
 * Arm the rtx timer to fire delay_ns from now.  When it is armed already
 * for no later than that (every ACK of new data restarts it, RFC 6298
 * 5.3, and the new deadline is later), it is left where it is and
 * rtx_due notes when it is really due: its early fire re-arms it for
 * then (tcp_rtx_fire), so a restart costs no timer heap operation.
 */
void
tcp_rtx_start(struct tcp_conn *c, uint64_t delay_ns)
{
	uint64_t due = tcp_conn_now(c) + delay_ns;

	if (timer_armed(&c->rtx) && c->rtx.deadline <= due) {
		c->rtx_due = due;
		return;
	}
	c->rtx_due = 0;
	timer_start_at(&c->rtx, due, 0);
}

/* Start the retransmission timer for one RTO. */
void
tcp_rtx_arm(struct tcp_conn *c)
{
	tcp_rtx_start(c, (uint64_t)c->rto_ms * TIMER_MS);
}

/*
 * Arm the rtx timer for the flight in the air: a tail loss probe first
 * (RFC 8985 7: after two RTTs without an ACK, one segment goes to draw
 * a SACK that shows what was lost), when SACK is on, an RTT is known and
 * no RTO's resend runs (in fast recovery too, as Linux does with RACK:
 * a probe SACKed shows a hole's retransmission lost); else the RTO.
 */
static void
tcp_pto_arm(struct tcp_conn *c)
{
	uint64_t pto = 2ULL * c->srtt_us / 1000;

	if (pto < TCP_PTO_MIN_MS)
		pto = TCP_PTO_MIN_MS;
	c->tlp = c->sack_ok && c->srtt_us != 0 && !c->rto_sack && pto < c->rto_ms;
	if (!c->tlp) {
		tcp_rtx_arm(c);
		return;
	}
	tcp_rtx_start(c, pto * TIMER_MS);
}

/* Start the slow timer for ms. */
void
tcp_slow_arm(struct tcp_conn *c, uint64_t ms)
{
	timer_start(&c->slow, ms * TIMER_MS, 0);
}

/* Restart (or stop) the keepalive timer after activity. */
void
tcp_keepalive_reset(struct tcp_conn *c)
{
	c->ka_probes = 0;
	if (c->keepalive && (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT))
		tcp_slow_arm(c, tcp_cfg.keepalive_idle_ms);
	else if (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT)
		timer_stop(&c->slow);
}

/*
 * Arm the probe/RTO, the persist timer, or nothing, as the flight needs;
 * restart the probe/RTO if an ACK of new data asked (rtx_restart).
 */
void
tcp_rtx_check(struct tcp_conn *c)
{
	int restart = c->rtx_restart;

	c->rtx_restart = 0;
	if (SEQ_LT(c->snd_una, c->snd_nxt)) {
		if (c->persist) {
			c->persist = 0;
			timer_stop(&c->rtx);
		}
		if (!timer_armed(&c->rtx) || restart)
			tcp_pto_arm(c);
	} else if (c->snd_next != NULL) {
		if (!c->persist) {
			c->persist = 1;
			c->probes = 0;
			c->persist_ms = c->rto_ms;
			tcp_rtx_start(c, (uint64_t)c->persist_ms * TIMER_MS);
		}
	} else {
		c->persist = 0;
		timer_stop(&c->rtx);
	}
}

/* Take an RTT sample r (microseconds) into SRTT, RTTVAR and the RTO. */
void
tcp_rtt_sample(struct tcp_conn *c, uint64_t r)
{
	uint64_t rto;
	uint32_t d;

	if (r > 60000000)
		r = 60000000;		/* a minute: a wild TSecr, not a path */
	if (c->srtt_us == 0) {
		c->srtt_us = (uint32_t)r + 1;	/* 0 means "no sample yet" */
		c->rttvar_us = (uint32_t)r / 2;
	} else {
		d = c->srtt_us > r ? c->srtt_us - (uint32_t)r : (uint32_t)r - c->srtt_us;
		c->rttvar_us = (3 * c->rttvar_us + d) / 4;
		c->srtt_us = (uint32_t)((7ULL * c->srtt_us + r) / 8);
		if (c->srtt_us == 0)
			c->srtt_us = 1;
	}
	rto = c->srtt_us + (4ULL * c->rttvar_us > TCP_G_US ? 4ULL * c->rttvar_us : TCP_G_US);
	rto /= 1000;
	if (rto < tcp_cfg.rto_min_ms)
		rto = tcp_cfg.rto_min_ms;
	if (rto > tcp_cfg.rto_max_ms)
		rto = tcp_cfg.rto_max_ms;
	c->rto_ms = (uint32_t)rto;
}
