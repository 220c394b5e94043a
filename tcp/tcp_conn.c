/*
 * tcp_conn.c: a connection's life: made (on its core, in both tables,
 * its timers set up), given the options of the SYN that opened it,
 * moved from state to state, and ended: aborted (tcp_drop), closed in
 * order (tcp_finished), kept in TIME_WAIT, freed.  Portable.
 *
 *	tcp_connect (tcp_api.c), tcp_listen_input (tcp_in.c), a SYN
 *	cookie's ACK (tcp_cookie.c) -> tcp_conn_new -> tcp_table_add (tcp.c)
 *	                                            -> tcp_timers_setup
 *	                            -> tcp_syn_options
 *	input, the API, the timers -> tcp_established, tcp_time_wait
 *	                           -> tcp_drop -> the aborted callback
 *	                           -> tcp_finished -> the closed callback
 *	                           -> tcp_conn_free -> tcp_table_remove
 *	                              -> (RCU) kfree
 *
 * It calls down only (the timers' arming, the queues, the tables) and
 * up to the application's callbacks; never into input or output.  A
 * callback may close or abort the connection: code that ran one checks
 * c->freed before going on (the memory stays valid until the event
 * ends, because other cores reach connections through the shared table
 * under RCU: tcp.c).
 */
#include <errno.h>
#include <stddef.h>

#include "kernel/malloc.h"
#include "pkt.h"
#include "stats.h"
#include "tcp_int.h"

/* A new connection on this core, in both tables; NULL with *err set. */
struct tcp_conn *
tcp_conn_new(struct netif *nif, uint32_t lip, uint16_t lport, uint32_t rip,
    uint16_t rport, int *err)
{
	struct tcp_conn *c;

	if ((c = kcalloc(1, sizeof *c)) == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	c->core = core_id();
	c->state = TCP_CLOSED;
	c->nif = nif;
	c->lip = lip;
	c->rip = rip;
	c->lport = lport;
	c->rport = rport;
	TAILQ_INIT(&c->sndq);
	TAILQ_INIT(&c->oooq);
	c->sndbuf = tcp_cfg.sndbuf;
	c->rcvbuf = tcp_cfg.rcvbuf;
	c->rcv_ws = tcp_wscale_for(c->rcvbuf);
	c->rto_ms = tcp_cfg.rto_init_ms;
	c->ssthresh = UINT32_MAX;
	c->last_rx_ns = clock_ns();
	tcp_timers_setup(c);
	if ((*err = tcp_table_add(c)) != 0) {
		kfree(c);
		return NULL;
	}
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	return c;
}

/* Take the SYN's options into c (either end; a SYN cookie's, decoded). */
void
tcp_syn_options(struct tcp_conn *c, const struct tcp_rxseg *s)
{
	uint32_t peer_mss = s->mss != 0 ? s->mss : TCP_MSS_DEFAULT;
	int mss;

	c->rmss = (uint16_t)(c->nif->mtu - IP_HLEN - TCP_HLEN);
	/* Passive: agree to what the peer offered; active: it answered. */
	c->ws_ok = s->wscale >= 0;
	c->snd_ws = c->ws_ok ? (uint8_t)s->wscale : 0;
	if (!c->ws_ok)
		c->rcv_ws = 0;
	c->sack_ok = s->sack_ok;
	c->ts_ok = s->ts;
	if (c->ts_ok)
		c->ts_recent = s->tsval;
	mss = (int)(peer_mss < c->rmss ? peer_mss : c->rmss);
	if (c->ts_ok)
		mss -= 12;		/* NOP, NOP, timestamps on every segment */
	c->mss = (uint16_t)(mss < 64 ? 64 : mss);	/* a silly MSS option */
	/* RFC 5681 3.1: the initial window. */
	c->cwnd = c->mss > 2190 ? 2u * c->mss : c->mss > 1095 ? 3u * c->mss : 4u * c->mss;
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	c->snd_wnd = s->wnd;		/* never scaled in a SYN (RFC 7323 2.2) */
	c->snd_wnd_max = c->snd_wnd;
	c->snd_wl1 = s->seq;
	c->recover = c->iss;
}

/* After a grace period: a connection no other core can be reading. */
static void
conn_kfree(struct rcu_head *r)
{
	kfree((char *)r - offsetof(struct tcp_conn, rcu));
}

/* Free c: timers, queues, tables; the memory after a grace period. */
void
tcp_conn_free(struct tcp_conn *c)
{
	struct tcp_seg *s;

	if (c->freed)
		return;
	c->freed = 1;
	c->app_gone = 1;
	tcp_timers_stop(c);
	tcp_burst_remove(c);
	iobuf_free_chain(c->gro_pkt);	/* a held segment nobody will take */
	c->gro_pkt = NULL;
	while ((s = TAILQ_FIRST(&c->sndq)) != NULL) {
		TAILQ_REMOVE(&c->sndq, s, link);
		tcp_seg_free(s);
	}
	c->snd_next = NULL;
	tcp_ooo_free(c);
	if (c->lst != NULL) {
		__atomic_sub_fetch(&c->lst->backlog, 1, __ATOMIC_RELAXED);
		tcp_listener_put(c->lst);
		c->lst = NULL;
	}
	tcp_table_remove(c);
	c->state = TCP_CLOSED;
	NSTAT(tcp, closed);
	rcu_call_head(&c->rcu, conn_kfree);
}

/* Set c's state. */
void
tcp_set_state(struct tcp_conn *c, enum tcp_state s)
{
	c->state = s;
}

/* Enter ESTABLISHED (and start keepalive if asked for). */
void
tcp_established(struct tcp_conn *c)
{
	tcp_set_state(c, TCP_ESTABLISHED);
	NSTAT(tcp, established);
	tcp_keepalive_reset(c);
}

/* Does the application still hold c (callbacks allowed)? */
static int
app_holds(const struct tcp_conn *c)
{
	return c->accepted && !c->app_gone && !c->freed;
}

/* Abort c: tell the application why (if it holds c), then free it. */
void
tcp_drop(struct tcp_conn *c, int reason)
{
	if (c->freed)
		return;
	NSTAT(tcp, aborts);
	if (app_holds(c)) {
		c->app_gone = 1;
		if (c->cb != NULL && c->cb->aborted != NULL)
			c->cb->aborted(c->arg, c, reason);
	}
	tcp_conn_free(c);
}

/* Tell the application both directions finished (once). */
static void
tcp_notify_closed(struct tcp_conn *c)
{
	if (app_holds(c) && !c->closed_cb) {
		c->closed_cb = 1;
		if (c->cb != NULL && c->cb->closed != NULL)
			c->cb->closed(c->arg, c);
	}
}

/* Both directions done: free c, or tell the application it is closed. */
void
tcp_finished(struct tcp_conn *c)
{
	tcp_timers_stop(c);
	if (!app_holds(c)) {
		tcp_conn_free(c);
		return;
	}
	tcp_set_state(c, TCP_CLOSED);
	tcp_notify_closed(c);		/* the application's tcp_close frees it */
}

/* Enter TIME_WAIT for 2MSL, and tell the application it is closed. */
void
tcp_time_wait(struct tcp_conn *c)
{
	tcp_set_state(c, TCP_TIME_WAIT);
	NSTAT(tcp, time_wait);
	tcp_timers_stop(c);
	tcp_slow_arm(c, tcp_cfg.time_wait_ms);
	tcp_notify_closed(c);
}
