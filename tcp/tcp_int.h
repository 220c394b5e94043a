/*
 * tcp_int.h: what the TCP files share and nobody else sees: the
 * connection, the send and out-of-order queues, a parsed segment,
 * sequence arithmetic, the tunables, and the functions each file gives
 * the others.  Portable.
 *
 *	tcp_rx.c   tcp_input -> tcp_dispatch: the way in; a burst's end
 *	           (ACKs owed, segments held and merged)
 *	tcp_in.c   tcp_process: the state machine, receiving
 *	tcp_api.c  the application's calls, configuration
 *	tcp_expire.c what each timer does when it expires
 *	tcp_cookie.c SYN cookies: a full backlog's SYN-ACKs, and the ACK
 *	           that comes back turned into a connection
 *	tcp_ack.c  tcp_ack: the send queue, RTT, congestion control, recovery
 *	tcp_conn.c a connection's life: made, states, aborted, closed, freed
 *	tcp_out.c  tcp_output -> tcp_xmit -> ip_output; control segments
 *	tcp_sndq.c the send queue: segments of clones, slices to send
 *	tcp_sack.c the out-of-order queue, SACK blocks both ways, the
 *	           scoreboard
 *	tcp_timer.c arming the three timers (retransmission / persist / tail
 *	           loss probe, delayed ACK, and one "slow" timer for
 *	           keepalive / TIME_WAIT / FIN_WAIT_2), the RTO estimator
 *	tcp.c      lookup tables, listeners, ISNs, the clock
 *	tcp_parse.c a received segment's header, checksum and options
 *
 * in the order they call each other: each calls only those below it
 * (tcp/README.md draws the graph).
 *
 * A connection (struct tcp_conn) belongs to its core (c->core): every
 * field is read and written there only, without locks, except core and
 * key, which never change after the connection is published and which
 * other cores read through the shared owner table (tcp.c) during their
 * own event; the struct is freed after an RCU grace period for their
 * sake.
 *
 * The send queue (sndq) is a list of segments in sequence order, each
 * at most tcp_seg_cap's whole MSSes of payload (one MSS once resent or
 * SACKed in part: tcp_sndq.c) held as iobuf clones of the application's
 * bytes (the first in the segment itself, usually the only one: see
 * tcp_out.c), plus the SYN or FIN flag it carries.  Those before snd_next
 * have been sent and are the retransmission queue; snd_next and after
 * are not sent yet.  A segment leaves the queue when the peer
 * acknowledges all of it.  Its flags carry the SACK scoreboard: sacked
 * (the peer holds it), lost (RFC 6675 IsLost), rexmit_rec (already
 * retransmitted in this recovery episode).
 *
 * Sequence numbers are compared only through SEQ_LT and friends (modulo
 * 2^32, RFC 9293 3.4).
 */
#ifndef TCP_TCP_INT_H
#define TCP_TCP_INT_H

#include <stdint.h>
#include <sys/queue.h>

#include "ebb/rcu.h"
#include "ebb/timer.h"
#include "iobuf.h"
#include "ip.h"
#include "proto.h"
#include "tcp.h"

/* ---- tunables that are not in struct tcp_config -------------------------- */

#define TCP_CONN_BUCKETS  512		/* per-core lookup chains */
#define TCP_OWNER_BUCKETS 16384		/* the shared owner table's chains */
#define TCP_LISTEN_BUCKETS 256		/* the listeners table's chains */
#define TCP_EPHEMERAL_LO  49152		/* ephemeral ports (RFC 6335) */
#define TCP_EPHEMERAL_HI  65535
#define TCP_OOO_SEGS_MAX  512		/* out-of-order segments kept per conn
					 * (the window bounds their bytes; this
					 * bounds the blocks tiny segments pin) */
#define TCP_CHALLENGE_RATE 100		/* challenge ACKs a second, per core */
#define TCP_ACK_STRETCH	  65536		/* bytes received before an ACK goes at
					 * once, burst or not (tcp_ack_later) */
#define TCP_TSO_MAX	  65000		/* payload of one TSO frame, at most */
#define TCP_DUPTHRESH	  3		/* duplicate ACKs that mean a loss */
#define TCP_G_US	  1000		/* clock granularity G of RFC 6298 */
#define TCP_REO_MIN_NS	  1000000	/* least reordering allowed for before a
					 * segment is deemed lost by time (RACK) */
#define TCP_PTO_MIN_MS	  2		/* least wait before a tail loss probe */
#define TCP_COOKIE_SLOT_NS (64 * 1000 * TIMER_MS) /* a SYN cookie's time slot: it
					 * is good in its own and the next */

/* ---- sequence arithmetic (RFC 9293 3.4) ----------------------------------- */

#define SEQ_LT(a, b)	((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b)	((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)	((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b)	((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)
#define SEQ_MAX(a, b)	(SEQ_GT(a, b) ? (a) : (b))
#define SEQ_MIN(a, b)	(SEQ_LT(a, b) ? (a) : (b))
/* a <= x < b */
#define SEQ_IN(x, a, b)	(SEQ_LEQ(a, x) && SEQ_LT(x, b))

/* ---- a segment of the send queue ----------------------------------------- */

struct tcp_seg {
	TAILQ_ENTRY(tcp_seg) link;
	uint32_t seq;			/* first sequence number (the SYN's, if any) */
	uint32_t len;			/* payload bytes */
	uint8_t flags;			/* TCP_FSYN / TCP_FFIN it carries, or 0 */
	uint8_t sacked;			/* the peer SACKed all of it */
	uint8_t lost;			/* RFC 6675: deemed lost */
	uint8_t rexmit_rec;		/* retransmitted in this recovery */
	uint16_t rexmits;		/* times sent again (Karn: no RTT sample) */
	uint64_t sent_ns;		/* when last sent */
	struct iobuf *data;		/* the payload: clones, or NULL if len 0 */
	struct iobuf head;		/* the first clone's struct, when data is
					 * &head (iobuf_clone_in: no allocation) */
};
TAILQ_HEAD(tcp_segq, tcp_seg);

/* Sequence space a segment takes: its bytes, plus one for SYN and FIN. */
static inline uint32_t
seg_span(const struct tcp_seg *s)
{
	return s->len + ((s->flags & TCP_FSYN) != 0) + ((s->flags & TCP_FFIN) != 0);
}

/*
 * The right edge of the peer's window: the ACK of the segment that
 * gave the window, plus it.  Not SND.UNA + SND.WND: a later segment may
 * move SND.UNA without being allowed to move the window (an older SEQ,
 * such as a retransmission's), and the edge must not move with it.
 */
#define tcp_snd_edge(c)	((c)->snd_wl2 + (c)->snd_wnd)

/* ---- an out-of-order segment ---------------------------------------------- */

struct tcp_ooo {
	TAILQ_ENTRY(tcp_ooo) link;
	uint32_t seq, len;		/* its bytes: [seq, seq + len) */
	int fin;			/* a FIN follows its last byte */
	struct iobuf *data;
};
TAILQ_HEAD(tcp_oooq, tcp_ooo);

/* ---- a received segment, parsed ------------------------------------------- */

struct tcp_sackblk {
	uint32_t left, right;		/* [left, right) */
};

struct tcp_rxseg {
	uint32_t src, dst;		/* network order: the peer, us */
	uint16_t sport, dport;		/* host order */
	uint32_t seq, ack;
	uint8_t flags;
	uint32_t wnd;			/* the raw 16-bit field */
	uint32_t len;			/* payload bytes */
	uint8_t hlen;			/* header bytes, options included */
	/* options */
	uint16_t mss;			/* 0: none */
	int16_t wscale;			/* -1: none */
	uint8_t sack_ok;
	uint8_t ts;			/* timestamps present */
	uint32_t tsval, tsecr;
	uint8_t nsack;			/* SACK blocks */
	struct tcp_sackblk sack[TCP_SACK_MAX];
	struct netif *nif;
	uint32_t rx_flags;
};

/* ---- the connection -------------------------------------------------------- */

struct tcp_listener;

struct tcp_conn {
	LIST_ENTRY(tcp_conn) hlink;	/* on its core's lookup chain */
	int core;			/* the owner: immutable once published */
	uint64_t key;			/* remote ip, remote port, local port */
	enum tcp_state state;
	struct netif *nif;
	uint32_t lip, rip;		/* network order */
	uint16_t lport, rport;		/* host order */
	struct tcp_listener *lst;	/* SYN_RCVD: the listener (one reference) */

	const struct tcp_callbacks *cb;
	void *arg;

	/* flags */
	unsigned app_gone : 1;		/* tcp_close / tcp_abort / aborted done */
	unsigned accepted : 1;		/* on_accept took it, or tcp_connect made it */
	unsigned shut_wr : 1;		/* FIN queued */
	unsigned fin_rcvd : 1;		/* the peer's FIN is in sequence */
	unsigned closed_cb : 1;		/* closed was called */
	unsigned nodelay : 1;
	unsigned keepalive : 1;
	unsigned manual : 1;		/* TCP_OPT_MANUAL_RECVED */
	unsigned ts_ok : 1, sack_ok : 1, ws_ok : 1;
	unsigned ack_now : 1;		/* send an ACK at the end of this input */
	unsigned burst_queued : 1;	/* on this core's burst list (tcp_rx.c) */
	unsigned in_recovery : 1;	/* fast recovery (RFC 6582 / 6675) */
	unsigned rto_sack : 1;		/* resending after an RTO, SACK marks kept */
	unsigned tlp : 1;		/* the rtx timer is a tail loss probe's */
	unsigned persist : 1;		/* the rtx timer is the persist timer */
	unsigned in_input : 1;		/* tcp_process runs for c: tcp_conn_now
					 * is last_rx_ns */
	unsigned rtx_restart : 1;	/* an ACK of new data: tcp_rtx_check restarts
					 * the probe/RTO (RFC 6298 5.3) */
	unsigned freed : 1;		/* gone (tcp_conn_free): the memory stays
					 * valid until this event ends (RCU), so
					 * a caller checks this after a callback */

	/* send side (RFC 9293 3.3.1) */
	uint32_t iss, snd_una, snd_nxt, snd_max;
	uint32_t snd_wnd;		/* the peer's window, scaled */
	uint32_t snd_wnd_max;		/* the largest it has been (RFC 5961 5.2) */
	uint32_t snd_wl1, snd_wl2;
	uint8_t snd_ws, rcv_ws;		/* shifts: theirs, ours */
	uint16_t mss;			/* payload per segment we send */
	uint16_t rmss;			/* the MSS we announced */
	struct tcp_segq sndq;
	struct tcp_seg *snd_next;	/* first unsent segment, or NULL */
	uint32_t sndq_bytes;		/* payload bytes queued, sent or not */
	uint32_t sndbuf;

	/* congestion control (RFC 5681, 6582, 6675) */
	uint32_t cwnd, ssthresh;
	uint32_t recover;		/* snd_max when recovery began */
	uint32_t ca_acked;		/* bytes acked toward the next CA increase */
	int dupacks;

	/* RTT and RTO (RFC 6298), microseconds and milliseconds */
	uint32_t srtt_us, rttvar_us, rto_ms;
	int retries;			/* RTO expiries since progress */
	uint64_t rto_ns;		/* when the RTO last expired (0: never) */
	int probes;			/* persist probes sent in a row */
	int ka_probes;			/* keepalive probes unanswered */
	uint32_t persist_ms;		/* the persist interval now */

	/* receive side */
	uint32_t irs, rcv_nxt;
	uint32_t rcv_adv;		/* right edge advertised: never retracted */
	uint32_t rcvbuf;
	uint32_t rcv_held;		/* delivered, not released (manual mode) */
	uint32_t last_ack_sent;
	int acks_owed;			/* full segments received, not yet ACKed */
	LIST_ENTRY(tcp_conn) burst_link; /* owes an ACK or holds a segment at
					 * the burst's end (tcp_rx.c) */
	struct iobuf *gro_pkt;		/* the held segment's payload, or NULL */
	struct iobuf *gro_last;		/* ...its last buffer */
	struct tcp_rxseg gro_s;		/* ...and its header, as parsed */
	struct tcp_oooq oooq;
	uint32_t ooo_bytes;
	int ooo_segs;
	uint32_t sack_recent;		/* seq of the latest out-of-order arrival */

	/* timestamps (RFC 7323) */
	uint32_t ts_recent;		/* the peer's latest valid TSval */
	uint32_t ts_off;		/* our clock's per-connection offset */

	/* timers: all on c->core */
	struct timer rtx;		/* retransmission, or persist */
	uint64_t rtx_due;		/* rtx is armed early: really due then (0:
					 * as armed; tcp_timer.c) */
	struct timer dack;		/* delayed ACK */
	struct timer slow;		/* keepalive, TIME_WAIT, FIN_WAIT_2 */
	uint64_t last_rx_ns;		/* when the latest segment came (tcp_process,
					 * first thing): keepalive's idle time, and
					 * "now" for the ACK it carries (RTT samples) */

	struct tcp_info ctr;		/* counters (state etc. filled on read) */
	struct rcu_head rcu;		/* freed after a grace period */
};

/* A listening port: shared by every core, read under RCU. */
struct tcp_listener {
	uint16_t port;
	tcp_accept_fn fn;
	void *arg;
	int refs;			/* table + each SYN_RCVD conn (atomic) */
	int backlog;			/* SYN_RCVD conns now (atomic) */
	int dead;			/* unlistened (atomic) */
	uint64_t cookie_ns;		/* when it last sent a SYN cookie, 0:
					 * never (atomic; tcp_cookie.c) */
	struct rcu_head rcu;
};

extern struct tcp_config tcp_cfg;	/* read anywhere, set by tcp_configure */

/*
 * The functions each file gives the others, bottom layer first.  A file
 * calls only the files above it in this list (its layer and lower):
 * calls run one way, from the entry points (input, the application's
 * calls, a timer's expiry: events, each entered from the loop) down to
 * output, the timers' arming and the tables.  The expiry handlers are
 * named to timer_setup by tcp_timers_setup below them; that is how an
 * event is registered, not a call up.
 */

/* Helpers every layer uses. */

/* Bytes sent and not yet acknowledged. */
static inline uint32_t
tcp_inflight(const struct tcp_conn *c)
{
	return c->snd_nxt - c->snd_una;
}

/*
 * The longest a send queue's segment grows: the whole MSSes of one TSO
 * frame (TCP_TSO_MAX payload bytes).  A segment goes out as one frame
 * (tcp_out.c) and is cut to an MSS where one must be resent or counted
 * alone (tcp_seg_fine).
 */
static inline uint32_t
tcp_seg_cap(const struct tcp_conn *c)
{
	return c->mss >= TCP_TSO_MAX ? c->mss : TCP_TSO_MAX / c->mss * c->mss;
}

/* Bytes of c's send buffer free now (tcp_sndbuf_free, for the API). */
static inline size_t
tcp_sndbuf_room(const struct tcp_conn *c)
{
	return c->sndq_bytes >= c->sndbuf ? 0 : c->sndbuf - c->sndq_bytes;
}

/* The window-scale shift a receive buffer of rcvbuf bytes needs. */
static inline uint8_t
tcp_wscale_for(uint32_t rcvbuf)
{
	uint8_t ws = 0;

	while (ws < TCP_WSCALE_MAX && (rcvbuf >> ws) > 0xffff)
		ws++;
	return ws;
}

/* ---- tcp.c: tables, ISNs, the clock ------------------------------------ */

/*
 * This core's burst list (tcp_rx.c): the connections that owe an ACK or
 * hold a segment at the end of the burst of segments now coming in.
 */
LIST_HEAD(tcp_burstq, tcp_conn);
struct tcp_burstq *tcp_burstq(void);

/* Put c on its core's burst list (once). */
static inline void
tcp_burst_add(struct tcp_conn *c)
{
	if (!c->burst_queued) {
		LIST_INSERT_HEAD(tcp_burstq(), c, burst_link);
		c->burst_queued = 1;
	}
}

/* Take c off the burst list, if it is there. */
static inline void
tcp_burst_remove(struct tcp_conn *c)
{
	if (c->burst_queued) {
		LIST_REMOVE(c, burst_link);
		c->burst_queued = 0;
	}
}

uint64_t tcp_key(uint32_t rip, uint16_t rport, uint16_t lport);
struct tcp_conn *tcp_lookup(uint64_t key);		/* this core's */
struct tcp_conn *tcp_owner_lookup(uint64_t key);	/* any core's (RCU) */
struct tcp_listener *tcp_listener_get(uint16_t port);	/* RCU; NULL if none */
void tcp_listener_put(struct tcp_listener *l);
int tcp_table_add(struct tcp_conn *c);			/* 0, or an errno */
void tcp_table_remove(struct tcp_conn *c);
uint32_t tcp_isn(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport);
uint32_t tcp_ts_offset(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport);
uint64_t tcp_hash(const uint64_t *m, int n);		/* SipHash-2-4, boot secret */
uint32_t tcp_ts_now(const struct tcp_conn *c);		/* our TSval */
uint64_t tcp_now_ns(void);
uint64_t tcp_conn_now(const struct tcp_conn *c);	/* in tcp_process: the
							 * segment's arrival */
int tcp_challenge_ok(void);				/* rate limit */

/* ---- tcp_parse.c ------------------------------------------------------------ */

int tcp_parse(const struct ip_rx *rx, struct iobuf *pkt, struct tcp_rxseg *s);	/* 0, or -1 */

/* ---- tcp_timer.c: arming the timers, the RTO estimator ------------------ */

void tcp_timers_setup(struct tcp_conn *c);
void tcp_timers_stop(struct tcp_conn *c);
void tcp_rtx_start(struct tcp_conn *c, uint64_t delay_ns);	/* rtx in delay_ns */
void tcp_rtx_arm(struct tcp_conn *c);			/* (re)start the RTO */
void tcp_rtx_check(struct tcp_conn *c);			/* arm/stop/persist as due */
void tcp_rtt_sample(struct tcp_conn *c, uint64_t rtt_us);
void tcp_slow_arm(struct tcp_conn *c, uint64_t ms);
void tcp_keepalive_reset(struct tcp_conn *c);

/* ---- tcp_sack.c: the out-of-order queue, SACK, the scoreboard ----------- */

void tcp_ooo_add(struct tcp_conn *c, uint32_t seq, struct iobuf *data,
    uint32_t len, int fin);
int tcp_ooo_take(struct tcp_conn *c, struct iobuf **data, uint32_t *len,
    int *fin);						/* 1: the next in order */
void tcp_ooo_free(struct tcp_conn *c);
int tcp_sack_blocks(const struct tcp_conn *c, struct tcp_sackblk *out, int max);
void tcp_sack_update(struct tcp_conn *c, const struct tcp_rxseg *s);
uint32_t tcp_pipe(const struct tcp_conn *c);
struct tcp_seg *tcp_next_hole(struct tcp_conn *c);
void tcp_recovery_reset(struct tcp_conn *c);

/* ---- tcp_sndq.c: the send queue ------------------------------------------- */

struct iobuf *tcp_slice(const struct iobuf *b, size_t off, size_t len);
void tcp_seg_drop_data(struct tcp_seg *s);		/* s->data given up */
void tcp_seg_free(struct tcp_seg *s);			/* off the queue already */
int tcp_queue_fin(struct tcp_conn *c);			/* 0, or ENOMEM */
size_t tcp_queue_data(struct tcp_conn *c, const struct iobuf *data, size_t n,
    const void *bytes, int *err);
int tcp_seg_split(struct tcp_conn *c, struct tcp_seg *s, uint32_t k);	/* 0, or ENOMEM */
int tcp_seg_fine(struct tcp_conn *c);			/* sent ones cut to an MSS */

/* ---- tcp_out.c -------------------------------------------------------------- */

void tcp_output(struct tcp_conn *c);			/* what the windows allow */
void tcp_ack_now(struct tcp_conn *c);			/* a pure ACK at once */
void tcp_ack_later(struct tcp_conn *c, uint32_t len);	/* delayed-ACK rules */
void tcp_send_syn(struct tcp_conn *c);			/* SYN or SYN-ACK */
void tcp_send_rst(struct tcp_conn *c);			/* for tcp_abort */
void tcp_send_probe(struct tcp_conn *c);		/* seq snd_una - 1, no data */
void tcp_send_tlp(struct tcp_conn *c);			/* a tail loss probe */
void tcp_rst_reply(const struct tcp_rxseg *s);		/* no connection */
void tcp_reply(const struct tcp_rxseg *s, uint32_t seq, uint32_t ack,
    uint8_t flags, uint16_t win, const uint8_t *opt, int olen);
int tcp_syn_opts(uint8_t *o, uint16_t mss, int ws, int sack_ok, int ts,
    uint32_t tsval, uint32_t tsecr);			/* a SYN's options */
int tcp_xmit(struct tcp_conn *c, struct tcp_seg *seg);
uint32_t tcp_rcv_wnd_field(struct tcp_conn *c);

/* ---- tcp_conn.c: a connection's life ------------------------------------ */

struct tcp_conn *tcp_conn_new(struct netif *nif, uint32_t lip, uint16_t lport,
    uint32_t rip, uint16_t rport, int *err);
void tcp_syn_options(struct tcp_conn *c, const struct tcp_rxseg *syn);
void tcp_conn_free(struct tcp_conn *c);
void tcp_set_state(struct tcp_conn *c, enum tcp_state s);
void tcp_established(struct tcp_conn *c);
void tcp_drop(struct tcp_conn *c, int reason);		/* aborted cb, free */
void tcp_finished(struct tcp_conn *c);			/* CLOSED in order */
void tcp_time_wait(struct tcp_conn *c);

/* ---- tcp_ack.c ---------------------------------------------------------------- */

int tcp_ack(struct tcp_conn *c, const struct tcp_rxseg *s);	/* 0, or -1: drop */

/* ---- tcp_cookie.c ----------------------------------------------------------- */

/* What a SYN cookie keeps of the SYN it answered. */
struct tcp_cookie {
	uint16_t mss;			/* the peer's, rounded down to the table */
	int8_t wscale;			/* the peer's shift, -1: none */
	uint8_t sack_ok;		/* SACK-permitted */
	uint8_t ts;			/* timestamps (without them: no wscale, SACK) */
};

void tcp_cookie_syn(struct tcp_listener *l, const struct tcp_rxseg *s);
int tcp_cookie_ack(struct tcp_listener *l, struct tcp_rxseg *s, struct iobuf *pkt,
    struct tcp_conn **cp);				/* -1: not a cookie of ours */
uint32_t tcp_cookie_encode(const struct tcp_rxseg *syn, uint64_t now_ns,
    struct tcp_cookie *ck);				/* the ISN */
uint32_t tcp_cookie_tsval(const struct tcp_cookie *ck, uint32_t ts_now);
int tcp_cookie_decode(const struct tcp_rxseg *ack, uint64_t now_ns,
    struct tcp_cookie *ck);				/* 0, or -1: not ours */

/* ---- tcp_expire.c: what a timer's expiry does (entered from the loop) ---- */

void tcp_rtx_fire(void *arg);				/* retransmission, persist, probe */
void tcp_dack_fire(void *arg);				/* the delayed ACK */
void tcp_slow_fire(void *arg);				/* TIME_WAIT, FIN_WAIT_2, keepalive */

/* ---- tcp_in.c: input on a connection (from tcp_rx.c) ------------------------ */

void tcp_process(struct tcp_conn *c, struct tcp_rxseg *s, struct iobuf *pkt);
void tcp_listen_input(struct tcp_listener *l, struct tcp_rxseg *s, struct iobuf *pkt);

#endif
