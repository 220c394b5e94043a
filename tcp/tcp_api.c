/*
 * tcp_api.c: the calls an application makes on a connection (tcp.h),
 * and the configuration.  Portable.
 *
 *	tcp_connect -> tcp_conn_new (tcp.c) -> tcp_send_syn
 *	tcp_send, tcp_write -> tcp_queue_data -> tcp_output (tcp_out.c),
 *	                       or, from a callback inside tcp_process, the
 *	                       tcp_output it ends with
 *	tcp_recved -> a window update (tcp_ack_now)
 *	tcp_shutdown -> tcp_queue_fin -> tcp_output (the same)
 *	tcp_close -> tcp_shutdown, or tcp_send_rst -> tcp_conn_free
 *	tcp_abort -> tcp_send_rst -> tcp_conn_free
 *
 * Every call that names a connection runs on its core (percore_check
 * panics elsewhere: that is the caller's broken invariant, never the
 * network's).  None calls a callback of the connection it is given: a
 * callback comes only from an input segment or a timer, so an
 * application may call these from inside its callbacks freely.
 */
#include <errno.h>
#include <stddef.h>

#include "ebb/percore.h"
#include "stats.h"
#include "tcp_int.h"

/* ---- the API --------------------------------------------------------------- */

/*
 * What the application queued goes now, unless the call came from a
 * callback inside tcp_process for c (an ACK's sent, a receive, an
 * accept): tcp_process ends with tcp_output anyway, and one pass over
 * the windows then sends it all.
 */
static void
api_output(struct tcp_conn *c)
{
	if (!c->in_input)
		tcp_output(c);
}

/* Connect to ip:port from an ephemeral port; the SYN goes now (tcp.h). */
int
tcp_connect(uint32_t ip, uint16_t port, const struct tcp_callbacks *cb,
    void *arg, struct tcp_conn **out)
{
	struct netif *nif;
	struct tcp_conn *c;
	uint32_t next_hop;
	int err;

	if (port == 0 || ip == 0 || ip == IP4_BROADCAST)
		return EINVAL;
	if ((nif = ip_route(ip, &next_hop)) == NULL)
		return EHOSTUNREACH;
	if ((c = tcp_conn_new(nif, nif->ip, 0, ip, port, &err)) == NULL)
		return err;
	c->accepted = 1;
	c->cb = cb;
	c->arg = arg;
	tcp_set_state(c, TCP_SYN_SENT);
	NSTAT(tcp, connects);
	*out = c;
	tcp_send_syn(c);
	return 0;
}

/* Set c's callbacks and their argument (tcp.h). */
void
tcp_attach(struct tcp_conn *c, const struct tcp_callbacks *cb, void *arg)
{
	percore_check(c->core, "tcp_attach");
	c->cb = cb;
	c->arg = arg;
}

/* Can the application queue data on c now?  0, or a negated errno. */
static long
tcp_can_send(const struct tcp_conn *c)
{
	switch (c->state) {
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		return c->shut_wr ? -EPIPE : 0;
	case TCP_SYN_SENT:
	case TCP_SYN_RCVD:
		return -ENOTCONN;
	default:
		return -EPIPE;
	}
}

/* Queue what fits of data's bytes (clones) and send what may go (tcp.h). */
long
tcp_send(struct tcp_conn *c, const struct iobuf *data)
{
	long r;
	int err = 0;
	size_t n;

	percore_check(c->core, "tcp_send");
	if ((r = tcp_can_send(c)) != 0)
		return r;
	n = tcp_queue_data(c, data, iobuf_chain_len(data), NULL, &err);
	if (n == 0 && err != 0)
		return -err;
	api_output(c);
	return (long)n;
}

/* Queue n bytes copied from p and send what may go (tcp.h). */
long
tcp_write(struct tcp_conn *c, const void *p, size_t n)
{
	long r;
	int err = 0;

	percore_check(c->core, "tcp_write");
	if ((r = tcp_can_send(c)) != 0)
		return r;
	n = tcp_queue_data(c, NULL, n, p, &err);
	if (n == 0 && err != 0)
		return -err;
	api_output(c);
	return (long)n;
}

/* Bytes of send buffer free now. */
size_t
tcp_sndbuf_free(const struct tcp_conn *c)
{
	return tcp_sndbuf_room(c);
}

/* Give n delivered bytes back to the window; tell the peer if it matters. */
void
tcp_recved(struct tcp_conn *c, size_t n)
{
	uint32_t before, after;

	percore_check(c->core, "tcp_recved");
	if (c->freed || c->state < TCP_ESTABLISHED)
		return;
	before = c->rcv_adv - c->rcv_nxt;
	c->rcv_held -= n > c->rcv_held ? c->rcv_held : (uint32_t)n;
	after = c->rcvbuf - c->rcv_held - c->ooo_bytes;
	if (after > (65535u << (c->ws_ok ? c->rcv_ws : 0)))	/* what the field */
		after = 65535u << (c->ws_ok ? c->rcv_ws : 0);	/* can say at most */
	/* Window update (RFC 9293 3.8.6.2.2): when it opens by enough. */
	if (after > before && (after - before >= 2u * c->rmss ||
	    after - before >= c->rcvbuf / 2 || before < c->rmss))
		tcp_ack_now(c);
}

/* Queue our FIN after the data: FIN_WAIT_1 or LAST_ACK (tcp.h). */
int
tcp_shutdown(struct tcp_conn *c)
{
	percore_check(c->core, "tcp_shutdown");
	if (c->shut_wr || (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT))
		return ENOTCONN;
	if (tcp_queue_fin(c) != 0)
		return ENOMEM;
	tcp_set_state(c, c->state == TCP_ESTABLISHED ? TCP_FIN_WAIT_1 : TCP_LAST_ACK);
	api_output(c);
	return 0;
}

/* Give the handle up; finish with a FIN, or reset (tcp.h). */
void
tcp_close(struct tcp_conn *c)
{
	percore_check(c->core, "tcp_close");
	if (c->freed)
		return;
	c->app_gone = 1;
	switch (c->state) {
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		/* Bytes that will never be read, or no memory for a FIN: reset. */
		if (c->rcv_held > 0 || tcp_shutdown(c) != 0) {
			tcp_send_rst(c);
			tcp_conn_free(c);
		}
		return;
	case TCP_FIN_WAIT_2:
		tcp_slow_arm(c, tcp_cfg.fin_wait2_ms);
		return;
	case TCP_FIN_WAIT_1:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
	case TCP_TIME_WAIT:
		return;				/* finishing on its own */
	default:				/* SYN_SENT, SYN_RCVD, CLOSED */
		tcp_conn_free(c);
		return;
	}
}

/* Give the handle up with an RST; free everything now (tcp.h). */
void
tcp_abort(struct tcp_conn *c)
{
	percore_check(c->core, "tcp_abort");
	if (c->freed)
		return;
	c->app_gone = 1;
	NSTAT(tcp, aborts);
	if (c->state != TCP_SYN_SENT && c->state != TCP_CLOSED &&
	    c->state != TCP_TIME_WAIT)
		tcp_send_rst(c);
	tcp_conn_free(c);
}

/* Set one per-connection option (tcp.h). */
int
tcp_setopt(struct tcp_conn *c, enum tcp_opt opt, long v)
{
	percore_check(c->core, "tcp_setopt");
	switch (opt) {
	case TCP_OPT_NODELAY:
		c->nodelay = v != 0;
		if (c->nodelay)
			tcp_output(c);
		return 0;
	case TCP_OPT_KEEPALIVE:
		c->keepalive = v != 0;
		tcp_keepalive_reset(c);
		return 0;
	case TCP_OPT_SNDBUF:
		if (v <= 0 || v > (1L << 30))
			return EINVAL;
		c->sndbuf = (uint32_t)v;
		return 0;
	case TCP_OPT_RCVBUF:
		if (v <= 0 || v > (1L << 30))
			return EINVAL;
		c->rcvbuf = (uint32_t)v;
		if (c->state == TCP_CLOSED || c->state == TCP_SYN_SENT)
			c->rcv_ws = tcp_wscale_for(c->rcvbuf);
		return 0;
	case TCP_OPT_MANUAL_RECVED:
		c->manual = v != 0;
		return 0;
	}
	return EINVAL;
}

/* The core that owns c. */
int
tcp_core(const struct tcp_conn *c)
{
	return c->core;
}

/* c's state. */
enum tcp_state
tcp_state(const struct tcp_conn *c)
{
	return c->state;
}

/* A state's name. */
const char *
tcp_state_name(enum tcp_state s)
{
	static const char *const names[] = {
		"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED",
		"FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING",
		"LAST_ACK", "TIME_WAIT",
	};

	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

/* c's addresses and ports. */
void
tcp_endpoints(const struct tcp_conn *c, uint32_t *lip, uint16_t *lport,
    uint32_t *rip, uint16_t *rport)
{
	if (lip != NULL)
		*lip = c->lip;
	if (lport != NULL)
		*lport = c->lport;
	if (rip != NULL)
		*rip = c->rip;
	if (rport != NULL)
		*rport = c->rport;
}

/* A snapshot of c's counters and estimates. */
void
tcp_conn_info(const struct tcp_conn *c, struct tcp_info *ti)
{
	*ti = c->ctr;
	ti->state = c->state;
	ti->mss = c->mss;
	ti->snd_wnd = c->snd_wnd;
	ti->rcv_wnd = c->rcv_adv - c->rcv_nxt;
	ti->snd_wscale = c->ws_ok ? c->snd_ws : 0;
	ti->rcv_wscale = c->ws_ok ? c->rcv_ws : 0;
	ti->ts_ok = c->ts_ok;
	ti->sack_ok = c->sack_ok;
	ti->cwnd = c->cwnd;
	ti->ssthresh = c->ssthresh;
	ti->srtt_us = c->srtt_us;
	ti->rttvar_us = c->rttvar_us;
	ti->rto_ms = c->rto_ms;
	ti->inflight = c->snd_nxt - c->snd_una;
	ti->sndq = c->sndq_bytes;
	ti->rcvq = c->rcv_held;
	ti->oooq = c->ooo_bytes;
}

/* ---- configuration --------------------------------------------------------- */

/* Copy the settings out. */
void
tcp_config_get(struct tcp_config *out)
{
	*out = tcp_cfg;
}

/* Set every setting at once, after checking them (tcp.h). */
int
tcp_configure(const struct tcp_config *in)
{
	const uint32_t *w = (const uint32_t *)in;

	for (size_t i = 0; i < sizeof *in / sizeof *w; i++)
		if (w[i] == 0 && &w[i] != &in->syn_cookies)
			return EINVAL;
	if (in->rto_min_ms > in->rto_max_ms || in->rto_init_ms > in->rto_max_ms ||
	    in->sndbuf > (1u << 30) || in->rcvbuf > (1u << 30) || in->syn_cookies > 1)
		return EINVAL;
	tcp_cfg = *in;
	return 0;
}
