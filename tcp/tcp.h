/*
 * tcp.h: TCP (RFC 9293), event-driven, per-core and zero-copy: the API
 * an application uses, and the one entry the IP layer calls.  Portable.
 *
 *	receive:  ip_input -> tcp_input -> (owner core) tcp_process
 *	                   -> the connection's receive / sent / ... callbacks
 *	transmit: tcp_send, tcp_write -> tcp_output -> ip_output
 *	timers:   retransmission, persist, delayed ACK, keepalive, TIME_WAIT
 *	          (tcp_timer.c), each on the connection's core
 *
 * A minimal echo server (app/echo does this, with backpressure):
 *
 *	static void rx(void *arg, struct tcp_conn *c, struct iobuf *data)
 *	{
 *		if (data == NULL) {		// the peer closed its side
 *			tcp_close(c);		// ours too; c is gone for us
 *			return;
 *		}
 *		tcp_send(c, data);		// queues clones of what fits
 *		iobuf_free_chain(data);		// ... so we free ours
 *	}
 *	static const struct tcp_callbacks echo_cb = { .receive = rx };
 *	static int acc(void *arg, struct tcp_conn *c)
 *	{
 *		tcp_attach(c, &echo_cb, NULL);
 *		return 0;
 *	}
 *	tcp_listen(7, acc, NULL);
 *
 * Cores.  A connection lives on one core, its owner: the core whose
 * queue received its SYN (a passive open), or the core that called
 * tcp_connect.  Every callback of the connection runs there, its timers
 * are armed there, and every call that names a struct tcp_conn must be
 * made there (the functions below panic elsewhere: hand work to the
 * owner with spawn_on and tcp_core(c)).  A segment that arrives on
 * another core (the NIC spread the flow differently, or the connection
 * was opened by tcp_connect) is found in a shared table of owners and
 * handed to the owner with spawn_on.  Listening ports are one table for
 * the instance, read under RCU on every core.
 *
 * A connection handle (struct tcp_conn *) is the application's from
 * tcp_connect's return, or from the call of on_accept, until the
 * application gives it up with tcp_close or tcp_abort, or until the
 * aborted callback returns: after any of those the pointer must not be
 * used (the stack may still keep the connection, to finish its FIN
 * exchange or sit in TIME_WAIT, and then frees it itself).
 *
 * Re-entrancy: every callback runs inside the owner core's event (an
 * input segment's, a timer's or an API call's): it must not block.  It
 * may call any function here, on this connection or another on the same
 * core; when a callback closes or aborts its own connection, the stack
 * notices on return and calls nothing more on it.  A callback is never
 * called from inside the application's own call on the same connection
 * (tcp_send never calls sent, tcp_close never calls closed): it comes
 * from an input segment or a timer.
 *
 * Memory: each connection's send queue holds at most its sndbuf bytes
 * and its receive side (the out-of-order queue and what the application
 * has not released yet) at most its rcvbuf bytes, the window advertised
 * to the peer.  At most conn_max connections exist at once, in any
 * state, and a listener keeps at most syn_backlog handshakes in
 * progress (past that, SYN cookies answer without keeping anything).  When an allocation fails the segment in hand is dropped and
 * counted (the peer will retransmit); nothing from the network can make
 * the stack panic.
 *
 * Errors are returned as positive errno values (0 is success); calls
 * that move bytes return a count, or a negated errno value.
 *
 * Counters: the instance's, per core and by reason, are struct
 * tcp_stats in stats.h (NSTAT(tcp, ...), net_stats_read); one
 * connection's are tcp_conn_info's.
 */
#ifndef TCP_TCP_H
#define TCP_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "iobuf.h"
#include "ip.h"

struct tcp_conn;		/* one connection: opaque, owned by its core */

/* The states of RFC 9293 section 3.3.2, as tcp_state reports them. */
enum tcp_state {
	TCP_CLOSED,
	TCP_LISTEN,		/* never a connection's: listeners are not conns */
	TCP_SYN_SENT,
	TCP_SYN_RCVD,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSE_WAIT,
	TCP_CLOSING,
	TCP_LAST_ACK,
	TCP_TIME_WAIT,
};

/* Why a connection ended abnormally: the aborted callback's reason. */
enum tcp_abort_reason {
	TCP_ERR_RESET = 1,	/* the peer sent an acceptable RST */
	TCP_ERR_REFUSED,	/* an RST answered our SYN (SYN_SENT) */
	TCP_ERR_TIMEOUT,	/* retransmissions (or SYNs) went unanswered */
	TCP_ERR_KEEPALIVE,	/* keepalive probes went unanswered */
	/*
	 * Not produced by this implementation, kept so that tables indexed
	 * by reason stay valid: an allocation failure drops a segment (the
	 * peer retransmits) or makes the call return ENOMEM, and a peer with
	 * no route fails tcp_connect at once (EHOSTUNREACH).
	 */
	TCP_ERR_NOMEM,
	TCP_ERR_UNREACH,
};

/*
 * A connection's event handlers.  The struct is the application's and
 * must outlive the connection (a static const struct is usual); any
 * member may be NULL, meaning "nothing to do" (for receive: the data is
 * freed and counted as consumed; a FIN is still acknowledged).  Every
 * handler gets the arg given to tcp_connect or tcp_attach and the
 * connection, and runs on the connection's core (see the top).
 */
struct tcp_callbacks {
	/*
	 * tcp_connect's handshake completed: the connection is
	 * ESTABLISHED and tcp_send may be called.  Not called for accepted
	 * connections (on_accept is their start).
	 */
	void (*connected)(void *arg, struct tcp_conn *c);

	/*
	 * In-order bytes from the peer: data is a chain (one or more
	 * buffers, never empty) whose ownership passes to the handler,
	 * which must pass it on (to tcp_send, which clones, and then free
	 * it; to another core; into its own queue) or free it with
	 * iobuf_free_chain.  The buffers are the received frames' own
	 * (zero copy): another core may free them.
	 *
	 * data == NULL: the peer's FIN.  It sends nothing more; this is
	 * called once, after every byte before it.  The connection stays
	 * open for sending (CLOSE_WAIT) until tcp_shutdown or tcp_close.
	 *
	 * Window: unless the connection has TCP_OPT_MANUAL_RECVED on, the
	 * bytes count as consumed when the handler returns and the receive
	 * window reopens at once.  With it on, they stay counted against
	 * rcvbuf until the application calls tcp_recved for them:
	 * that is the backpressure a slow consumer needs.
	 */
	void (*receive)(void *arg, struct tcp_conn *c, struct iobuf *data);

	/*
	 * The peer acknowledged acked bytes, so that much send space came
	 * free (tcp_sndbuf_free says how much there is now).  The place
	 * to call tcp_send again after it took less than was offered.
	 */
	void (*sent)(void *arg, struct tcp_conn *c, size_t acked);

	/*
	 * Both directions have finished in order: the peer's FIN was
	 * delivered (receive with NULL) and ours was acknowledged.  The
	 * handle is still the application's: it calls tcp_close (here or
	 * later) to give it up.  Not called after tcp_close.
	 */
	void (*closed)(void *arg, struct tcp_conn *c);

	/*
	 * The connection is gone (enum tcp_abort_reason says why): queued
	 * data is dropped and the handle is invalid once this returns.  Do
	 * not call tcp_close or tcp_abort on it (from inside or after);
	 * free the application's state for it here.  Not called after
	 * tcp_close or tcp_abort.
	 */
	void (*aborted)(void *arg, struct tcp_conn *c, int reason);
};

/*
 * A new connection on a listening port, called on its owner core when
 * the handshake completes (ESTABLISHED; the final ACK's data, if any,
 * is delivered after this returns).  The handler takes the connection
 * by calling tcp_attach(c, callbacks, arg) and returning 0; returning
 * nonzero refuses it (it is reset and freed, and c must not be kept).
 * arg is the one given to tcp_listen.  After tcp_unlisten returns it
 * may still run on other cores until their current events end (an RCU
 * grace period): free arg with rcu_call, not at once.
 */
typedef int (*tcp_accept_fn)(void *arg, struct tcp_conn *c);

/* ---- listening ------------------------------------------------------------ */

/*
 * Accept connections to port (host order, 1..65535) on every interface
 * and every core, calling on_accept(arg, c) for each.  Any core.
 * Returns 0, EINVAL (port 0, no on_accept), EADDRINUSE, or ENOMEM.
 */
int tcp_listen(uint16_t port, tcp_accept_fn on_accept, void *arg);

/*
 * Stop accepting on port.  Handshakes in progress are reset when their
 * final ACK comes; established connections are untouched.  Returns 0 or
 * ENOENT.
 */
int tcp_unlisten(uint16_t port);

/* ---- opening, sending, closing ------------------------------------------- */

/*
 * Open a connection to ip:port (network-order address, host-order
 * port) from an ephemeral local port (49152..65535), owned by this
 * core; cb and arg as tcp_attach.  The SYN goes out at once;
 * cb->connected follows, or cb->aborted (TCP_ERR_REFUSED,
 * TCP_ERR_TIMEOUT).  On success *out is the handle.  Returns 0,
 * EINVAL (port 0, address 0 or broadcast), EHOSTUNREACH (no route),
 * EADDRNOTAVAIL (no ephemeral port free for that peer), EMFILE
 * (conn_max reached), or ENOMEM.
 */
int tcp_connect(uint32_t ip, uint16_t port, const struct tcp_callbacks *cb,
    void *arg, struct tcp_conn **out);

/* Set (or change) c's handlers and their argument. */
void tcp_attach(struct tcp_conn *c, const struct tcp_callbacks *cb, void *arg);

/*
 * Queue up to iobuf_chain_len(data) bytes of data for sending: as many
 * as fit in c's send buffer (tcp_sndbuf_free).  The caller keeps its
 * chain: tcp_send takes references (iobuf_clone) to the bytes it
 * queues, so the caller frees data (or keeps the part past the count
 * for later) and must not write into those blocks again.  Returns the
 * bytes taken (0: the buffer is full; sent will say when there is
 * room), or -ENOTCONN (not yet connected: SYN_SENT takes no data),
 * -EPIPE (shut down for writing already, or the connection is closing
 * or closed), -ENOMEM (nothing taken).  Segments go out as the windows
 * and Nagle allow, some before this returns.
 */
long tcp_send(struct tcp_conn *c, const struct iobuf *data);

/* tcp_send of n bytes copied from p (into new buffers): the same returns. */
long tcp_write(struct tcp_conn *c, const void *p, size_t n);

/* Send space: the bytes tcp_send would take now. */
size_t tcp_sndbuf_free(const struct tcp_conn *c);

/*
 * Give back n bytes that the receive callback delivered, reopening the
 * window by as much (a window update goes out when it has grown enough
 * to matter).  Only with TCP_OPT_MANUAL_RECVED; n beyond what is held
 * is clamped.
 */
void tcp_recved(struct tcp_conn *c, size_t n);

/*
 * Close the write side: a FIN goes after every queued byte.  Receiving
 * goes on until the peer's FIN.  Returns 0, ENOTCONN if already shut
 * down or not connected (SYN_SENT: tcp_close gives such a connection
 * up), or ENOMEM (nothing changed: try again, or tcp_abort).
 */
int tcp_shutdown(struct tcp_conn *c);

/*
 * Give the handle up and close: tcp_shutdown if not done already; the
 * stack finishes the FIN exchange on its own and frees the connection
 * (after TIME_WAIT if we close first).  No callback is called on c
 * again.  If bytes arrive after this, or were delivered but not yet
 * released under TCP_OPT_MANUAL_RECVED, the peer gets an RST instead
 * (RFC 9293 3.10.4: data that will never be read).
 */
void tcp_close(struct tcp_conn *c);

/*
 * Give the handle up and reset: an RST goes to the peer (unless the
 * connection is not synchronized), queued data is dropped, everything
 * is freed now.  No callback is called.
 */
void tcp_abort(struct tcp_conn *c);

/* ---- options and introspection ------------------------------------------- */

/* Per-connection options for tcp_setopt. */
enum tcp_opt {
	TCP_OPT_NODELAY = 1,	/* 1: Nagle off (send small segments at once) */
	TCP_OPT_KEEPALIVE,	/* 1: probe an idle connection (tcp_config's
				 * keepalive_* set the times) */
	TCP_OPT_SNDBUF,		/* send buffer limit, bytes (>= 1 MSS sensible) */
	TCP_OPT_RCVBUF,		/* receive buffer limit, bytes: the most window
				 * advertised.  Before the handshake it also
				 * chooses the window scale we offer; after, it
				 * may shrink the window but never retracts an
				 * edge already advertised */
	TCP_OPT_MANUAL_RECVED,	/* 1: delivered bytes count against the window
				 * until tcp_recved (see the receive callback) */
};

/* Set an option.  Returns 0, or EINVAL (unknown option or bad value). */
int tcp_setopt(struct tcp_conn *c, enum tcp_opt opt, long value);

/* The core that owns c: the only core that may use it. */
int tcp_core(const struct tcp_conn *c);

/* c's state now. */
enum tcp_state tcp_state(const struct tcp_conn *c);

/* Its name for printing ("ESTABLISHED", ...). */
const char *tcp_state_name(enum tcp_state s);

/*
 * The two ends of c: addresses in network order, ports in host order.
 * Any pointer may be NULL.
 */
void tcp_endpoints(const struct tcp_conn *c, uint32_t *local_ip,
    uint16_t *local_port, uint32_t *remote_ip, uint16_t *remote_port);

/* One connection's counters and estimates (a snapshot, tcp_info). */
struct tcp_info {
	enum tcp_state state;
	uint32_t mss;			/* bytes per segment we send (after options) */
	uint32_t snd_wnd;		/* the peer's window, bytes (scaled) */
	uint32_t rcv_wnd;		/* the window we advertise, bytes */
	uint8_t snd_wscale, rcv_wscale;	/* shifts in use (0 if not agreed) */
	uint8_t ts_ok, sack_ok;		/* timestamps, SACK agreed */
	uint32_t cwnd, ssthresh;	/* congestion window and threshold, bytes */
	uint32_t srtt_us, rttvar_us;	/* RFC 6298 estimates (0: no sample yet) */
	uint32_t rto_ms;		/* the retransmission timeout now */
	uint32_t inflight;		/* bytes sent and not yet acknowledged */
	uint32_t sndq, rcvq;		/* bytes queued to send; held unreleased */
	uint32_t oooq;			/* bytes in the out-of-order queue */
	uint64_t bytes_sent;		/* payload bytes sent, retransmissions too */
	uint64_t bytes_acked;		/* payload bytes the peer acknowledged */
	uint64_t bytes_received;	/* payload bytes delivered in order */
	uint64_t segs_in, segs_out;	/* segments received and sent */
	uint64_t retransmits;		/* segments sent again, for any reason */
	uint64_t fast_retransmits;	/* ... on three duplicate ACKs */
	uint64_t sack_retransmits;	/* ... holes the SACK scoreboard found */
	uint64_t timeouts;		/* retransmission timer expiries */
	uint64_t dupacks;		/* duplicate ACKs received */
	uint64_t ooo_segs;		/* segments that arrived out of order */
	uint64_t zero_window_probes;	/* persist probes sent */
	uint64_t keepalive_probes;	/* keepalive probes sent */
};

/* Fill *ti with c's counters. */
void tcp_conn_info(const struct tcp_conn *c, struct tcp_info *ti);

/*
 * Connections alive now, in any state (TIME_WAIT and handshakes in
 * progress included), on every core: what a test's leak check wants at
 * zero once every connection has been closed and has timed out.
 */
long tcp_live(void);

/*
 * Add this core's connections to out, by state (out[TCP_ESTABLISHED]
 * += ...): a walk of the core's table, for a status page that samples
 * each core on the core.
 */
void tcp_count_states(long out[TCP_TIME_WAIT + 1]);

/* ---- configuration -------------------------------------------------------- */

/*
 * The instance's TCP settings.  tcp_configure sets them all at once;
 * set them before connections exist (a connection keeps the buffer
 * limits it was made with; the times are read when used).  Defaults in
 * parentheses.  Every field is a uint32_t (tcp_configure checks them as
 * an array).
 */
struct tcp_config {
	uint32_t time_wait_ms;		/* TIME_WAIT, 2MSL (60000) */
	uint32_t fin_wait2_ms;		/* FIN_WAIT_2 after tcp_close (60000) */
	uint32_t sndbuf;		/* default send buffer, bytes (262144) */
	uint32_t rcvbuf;		/* default receive buffer, bytes (262144) */
	uint32_t conn_max;		/* connections at once, any state (65536) */
	uint32_t syn_backlog;		/* handshakes in progress per listener (128) */
	uint32_t rto_init_ms;		/* RTO before any sample (1000, RFC 6298) */
	uint32_t rto_min_ms;		/* lower bound of the RTO (200) */
	uint32_t rto_max_ms;		/* upper bound, backoff included (60000) */
	uint32_t syn_retries;		/* SYN / SYN-ACK sends before giving up (6) */
	uint32_t data_retries;		/* RTO expiries on data before aborting (15) */
	uint32_t delack_ms;		/* delayed-ACK timer (40) */
	uint32_t keepalive_idle_ms;	/* idle time before the first probe (7200000) */
	uint32_t keepalive_intvl_ms;	/* between probes (75000) */
	uint32_t keepalive_cnt;		/* unanswered probes before aborting (9) */
	uint32_t persist_max_ms;	/* longest zero-window probe interval (60000) */
	/*
	 * SYN cookies (RFC 4987, tcp/tcp_cookie.c): 1, a SYN that finds its
	 * listener's syn_backlog full is answered with a SYN-ACK whose ISN
	 * encodes the handshake, and no state is kept until the peer's ACK
	 * brings it back; 0, such a SYN is dropped (counted in
	 * backlog_drops).  The only setting that may be 0.  (1)
	 */
	uint32_t syn_cookies;
};

/* The settings now. */
void tcp_config_get(struct tcp_config *out);

/*
 * Set them all (a copy of tcp_config_get's, changed).  Any core, before
 * traffic.  Returns 0, or EINVAL if one is out of range (zero buffers,
 * limits, or times; rto_min > rto_max; syn_cookies other than 0 or 1).
 */
int tcp_configure(const struct tcp_config *in);

/*
 * Replace the boot secret of RFC 6528's initial sequence numbers (by
 * default made at first use from the clock; a platform with a random
 * source should pass 16 random bytes).  Before any connection.
 */
void tcp_set_secret(const uint8_t key[16]);

/* ---- from IP -------------------------------------------------------------- */

/* A TCP segment (the IP payload), on the receiving core: from ip_input. */
void tcp_input(const struct ip_rx *rx, struct iobuf *pkt);

#endif
