/*
 * test_tcp.h: what the crafted-segment TCP suites share (test_tcp.c,
 * test_tcp_opts.c): a scripted peer, segment builders and decoders, an
 * application that records its callbacks, and a sleep.  Test code
 * only, on top of test/netfake.h (the fake interface at 10.0.0.1 and
 * the peer 10.0.0.2).
 *
 * The peer is a struct peer: its port and ours, the next sequence
 * number it sends (snd) and the next it expects from us (rcv), its
 * window, and its timestamp clock when it uses timestamps.  p_send()
 * crafts one segment from it with the current numbers, pushes it in
 * through netif_input and advances snd; out(i) decodes frame i (what
 * the stack transmitted), checking its IP header and TCP checksum, and
 * p_take(&p, i) moves the peer's rcv past it.  Tests run inside the
 * loops (run(body), netfake.h); a body may block in nap(ms) while
 * timers fire, because the body is an event.
 *
 * Every test ends with tcp_live() == 0 and the leak checks (end()).
 */
#ifndef TEST_TEST_TCP_H
#define TEST_TEST_TCP_H

#include "ebb/event.h"
#include "netfake.h"
#include "tcp/tcp.h"
#include "tcp/tcp_int.h"

/* ---- the peer ------------------------------------------------------------------ */

struct peer {
	uint16_t port, our_port;
	uint32_t snd, rcv;		/* its SND.NXT, and its RCV.NXT (our seq) */
	uint16_t win;			/* the window field it sends */
	int ts;				/* sends timestamps */
	uint32_t tsval, tsecr;		/* its clock; our last TSval seen */
	int cpu_flags;			/* netif_input flags */
};

/* Options for a SYN from the peer. */
struct synopt {
	uint16_t mss;			/* 0: none */
	int ws;				/* -1: none */
	int sack_ok;
	int ts;
};

/* One decoded transmitted segment. */
struct out {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win, sport, dport;
	uint32_t len;			/* payload bytes */
	const uint8_t *data;
	uint16_t mss;
	int ws, sack_ok, ts;
	uint32_t tsval, tsecr;
	int nsack;
	uint32_t sack[4][2];
};

static inline void
settle_wake(void *ctx)
{
	event_activate(ctx);
}

/*
 * Let the events queued behind this one run, then come back: what a
 * driver's burst of frames ends with.  TCP sends the ACK it owes for a
 * burst then (tcp_out.c), so each p_send is a burst of one.
 */
static inline void
settle(void)
{
	struct event_ctx ctx;

	event_ctx_init(&ctx);
	if (spawn(settle_wake, &ctx) == 0)
		CHECK_EQ(event_block(&ctx), 0);
}

/* Build a TCP segment from the peer in f (after Ethernet and IP); its length. */
static inline size_t
mk_tcp(uint8_t *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
    uint8_t flags, uint16_t win, const uint8_t *opt, int olen,
    const void *data, size_t n)
{
	struct tcp_hdr *th = (struct tcp_hdr *)(f + L4);
	size_t hlen = TCP_HLEN + (size_t)((olen + 3) & ~3), len = hlen + n;

	memset(th, 0, hlen);
	th->sport = hton16(sport);
	th->dport = hton16(dport);
	th->seq = hton32(seq);
	th->ack = hton32(ack);
	th->off = (uint8_t)((hlen / 4) << 4);
	th->flags = flags;
	th->win = hton16(win);
	if (olen > 0)
		memcpy(th + 1, opt, (size_t)olen);
	if (n > 0)
		memcpy(f + L4 + hlen, data, n);
	th->csum = hton16(inet_csum(inet_sum(th, len, inet_pseudo(PEER_IP, OUR_IP,
	    IP_PROTO_TCP, (uint16_t)len))));
	return mk_ip(f, PEER_IP, OUR_IP, IP_PROTO_TCP, len);
}

static inline int
put_ts(uint8_t *o, uint32_t val, uint32_t ecr)
{
	o[0] = TCPOPT_NOP;
	o[1] = TCPOPT_NOP;
	o[2] = TCPOPT_TS;
	o[3] = 10;
	val = hton32(val);
	ecr = hton32(ecr);
	memcpy(o + 4, &val, 4);
	memcpy(o + 8, &ecr, 4);
	return 12;
}

/* Send one segment from p with extra options (SACK blocks, say). */
static inline void
p_send_opt(struct peer *p, uint8_t flags, const void *data, size_t n,
    const uint8_t *extra, int elen)
{
	static uint8_t f[2048];
	uint8_t o[40];
	int olen = 0;

	if (p->ts)
		olen = put_ts(o, p->tsval, p->tsecr);
	if (elen > 0)
		memcpy(o + olen, extra, (size_t)elen);
	olen += elen;
	inject(f, mk_tcp(f, p->port, p->our_port, p->snd, p->rcv, flags, p->win,
	    o, olen, data, n), 0, (uint32_t)p->cpu_flags);
	p->snd += (uint32_t)n + ((flags & TCP_FSYN) != 0) + ((flags & TCP_FFIN) != 0);
	settle();
}

/* Send one segment from p: flags, n bytes of data. */
static inline void
p_send(struct peer *p, uint8_t flags, const void *data, size_t n)
{
	p_send_opt(p, flags, data, n, NULL, 0);
}

/* p_send without the burst's end: the next p_burst is in the same burst. */
__attribute__((unused)) static void
p_burst(struct peer *p, uint8_t flags, const void *data, size_t n)
{
	static uint8_t f[2048];
	uint8_t o[40];
	int olen = p->ts ? put_ts(o, p->tsval, p->tsecr) : 0;

	inject(f, mk_tcp(f, p->port, p->our_port, p->snd, p->rcv, flags, p->win,
	    o, olen, data, n), 0, (uint32_t)p->cpu_flags);
	p->snd += (uint32_t)n;
}

/* A SYN (flags: TCP_FSYN, or with TCP_FACK) with options so. */
static inline void
p_syn(struct peer *p, uint8_t flags, const struct synopt *so)
{
	static uint8_t f[256];
	uint8_t o[40] = { 0 };	/* zeroed: gcc cannot see n bounds the reads */
	int n = 0;

	if (so->mss) {
		o[n++] = TCPOPT_MSS;
		o[n++] = 4;
		o[n++] = (uint8_t)(so->mss >> 8);
		o[n++] = (uint8_t)so->mss;
	}
	if (so->ws >= 0) {
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_WSCALE;
		o[n++] = 3;
		o[n++] = (uint8_t)so->ws;
	}
	if (so->sack_ok) {
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_SACK_OK;
		o[n++] = 2;
	}
	if (so->ts)
		n += put_ts(o + n, p->tsval, p->tsecr);
	p->ts = so->ts;
	inject(f, mk_tcp(f, p->port, p->our_port, p->snd, p->rcv, flags, p->win,
	    o, n, NULL, 0), 0, 0);
	p->snd++;
}

/* Decode frame i (checking IP, ports and the TCP checksum) into *o. */
static inline struct out
out(int i)
{
	struct out o;
	const uint8_t *t = F_L4(i), *op;
	const struct tcp_hdr *th = (const struct tcp_hdr *)t;
	size_t n = frames[i].len - L4;
	int hlen, k = 0;

	memset(&o, 0, sizeof o);
	o.ws = -1;
	check_ip(i, PEER_IP, IP_PROTO_TCP);
	CHECK(inet_csum(inet_sum(t, n, inet_pseudo(OUR_IP, PEER_IP, IP_PROTO_TCP,
	    (uint16_t)n))) == 0);
	o.sport = ntoh16(th->sport);
	o.dport = ntoh16(th->dport);
	o.seq = ntoh32(th->seq);
	o.ack = ntoh32(th->ack);
	o.flags = th->flags;
	o.win = ntoh16(th->win);
	hlen = (th->off >> 4) * 4;
	o.len = (uint32_t)(n - (size_t)hlen);
	o.data = t + hlen;
	op = t + TCP_HLEN;
	while (k < hlen - TCP_HLEN) {
		if (op[k] == TCPOPT_EOL)
			break;
		if (op[k] == TCPOPT_NOP) {
			k++;
			continue;
		}
		switch (op[k]) {
		case TCPOPT_MSS:
			o.mss = (uint16_t)(op[k + 2] << 8 | op[k + 3]);
			break;
		case TCPOPT_WSCALE:
			o.ws = op[k + 2];
			break;
		case TCPOPT_SACK_OK:
			o.sack_ok = 1;
			break;
		case TCPOPT_TS:
			o.ts = 1;
			memcpy(&o.tsval, op + k + 2, 4);
			memcpy(&o.tsecr, op + k + 6, 4);
			o.tsval = ntoh32(o.tsval);
			o.tsecr = ntoh32(o.tsecr);
			break;
		case TCPOPT_SACK:
			for (int b = 0; b < (op[k + 1] - 2) / 8 && b < 4; b++) {
				uint32_t e[2];
				memcpy(e, op + k + 2 + 8 * b, 8);
				o.sack[b][0] = ntoh32(e[0]);
				o.sack[b][1] = ntoh32(e[1]);
				o.nsack++;
			}
			break;
		}
		k += op[k + 1] < 2 ? 2 : op[k + 1];
	}
	return o;
}

/* The peer takes in frame i: its rcv moves past it, its tsecr echoes it. */
static inline struct out
p_take(struct peer *p, int i)
{
	struct out o = out(i);
	uint32_t end = o.seq + o.len + ((o.flags & TCP_FSYN) != 0) +
	    ((o.flags & TCP_FFIN) != 0);

	if (SEQ_GT(end, p->rcv) || (o.flags & TCP_FSYN))
		p->rcv = end;
	if (o.ts)
		p->tsecr = o.tsval;
	return o;
}

/* ---- the application ----------------------------------------------------------- */

struct app {
	struct tcp_conn *c;
	int accepted, connected, closed, aborted, reason, fin;
	int refuse;			/* on_accept says no */
	int close_on_fin;		/* tcp_close when the FIN comes */
	int echo;			/* tcp_write what comes back, in the callback */
	size_t nrx;
	uint8_t rx[1 << 16];
	size_t sent;
	size_t headroom;		/* of the first buffer last delivered */
	int core;			/* where the last callback ran */
};

__attribute__((unused)) static struct app app;

static inline void
app_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	struct app *a = arg;

	a->core = core_id();
	if (data == NULL) {
		a->fin++;
		if (a->close_on_fin) {
			tcp_close(c);
			a->c = NULL;
		}
		return;
	}
	a->headroom = iobuf_headroom(data);
	for (struct iobuf *b = data; b != NULL; b = b->next) {
		size_t k = b->len;
		if (a->nrx + k > sizeof a->rx)
			k = sizeof a->rx - a->nrx;
		memcpy(a->rx + a->nrx, b->data, k);
		if (a->echo)
			CHECK_EQ(tcp_write(c, b->data, k), (long)k);
		a->nrx += k;
	}
	iobuf_free_chain(data);
}

static inline void
app_connected(void *arg, struct tcp_conn *c)
{
	(void)c;
	((struct app *)arg)->connected++;
	((struct app *)arg)->core = core_id();
}

static inline void
app_sent(void *arg, struct tcp_conn *c, size_t n)
{
	(void)c;
	((struct app *)arg)->sent += n;
}

static inline void
app_closed(void *arg, struct tcp_conn *c)
{
	(void)c;
	((struct app *)arg)->closed++;
}

static inline void
app_aborted(void *arg, struct tcp_conn *c, int reason)
{
	struct app *a = arg;

	(void)c;
	a->aborted++;
	a->reason = reason;
	a->c = NULL;
}

__attribute__((unused)) static const struct tcp_callbacks app_cb = {
	.connected = app_connected,
	.receive = app_receive,
	.sent = app_sent,
	.closed = app_closed,
	.aborted = app_aborted,
};

static inline int
app_accept(void *arg, struct tcp_conn *c)
{
	struct app *a = arg;

	a->accepted++;
	a->core = core_id();
	if (a->refuse)
		return 1;
	a->c = c;
	tcp_attach(c, &app_cb, a);
	return 0;
}

/* ---- time and set-up ------------------------------------------------------------- */

static inline void
nap_wake(void *ctx)
{
	event_activate(ctx);
}

/* Block this event (a test body) for ms milliseconds; timers fire meanwhile. */
static inline void
nap(unsigned ms)
{
	struct event_ctx ctx;
	struct timer t;

	event_ctx_init(&ctx);
	timer_setup(&t, nap_wake, &ctx);
	timer_start(&t, (uint64_t)ms * TIMER_MS, 0);
	CHECK_EQ(event_block(&ctx), 0);
}

/* Short times, so that timer tests take milliseconds. */
static inline void
tcp_test_config(void)
{
	struct tcp_config cfg;

	tcp_config_get(&cfg);
	cfg.time_wait_ms = 60;
	cfg.fin_wait2_ms = 100;
	cfg.rto_init_ms = 60;
	cfg.rto_min_ms = 30;
	cfg.rto_max_ms = 2000;
	cfg.syn_retries = 3;
	cfg.data_retries = 4;
	cfg.delack_ms = 40;
	cfg.keepalive_idle_ms = 60;
	cfg.keepalive_intvl_ms = 30;
	cfg.keepalive_cnt = 2;
	cfg.persist_max_ms = 200;
	cfg.syn_backlog = 128;
	cfg.syn_cookies = 1;
	cfg.sndbuf = 262144;
	cfg.rcvbuf = 262144;
	CHECK_EQ(tcp_configure(&cfg), 0);
}

static inline int
tcp_prime(void)
{
	learn_peer();
	CHECK_EQ(tcp_listen(9, app_accept, &app), 0);	/* the tables exist now */
	CHECK_EQ(tcp_unlisten(9), 0);
	nap(1);				/* the loop's spare stack exists now */
	return 0;
}

/* A TCP test's start: netfake's begin, the tables made, short times. */
static inline struct test_leaks
tbegin(void)
{
	static int done;
	struct test_leaks l;

	test_setup(NCORES, 0, TEST_RCU);
	if (!done) {
		done = 1;
		begin();
		run(tcp_prime);
	}
	tcp_test_config();
	memset(&app, 0, sizeof app);
	l = begin();
	return l;
}

static inline void
tend(struct test_leaks l)
{
	CHECK_EQ(tcp_live(), 0);
	end(l);
}

/* Frames sent since the last clear; clear the record. */
static inline void
clear(void)
{
	nframes = 0;
}

/* ---- opening ------------------------------------------------------------------------ */

__attribute__((unused)) static const struct synopt full = { .mss = 1460, .ws = 7, .sack_ok = 1, .ts = 1 };
__attribute__((unused)) static const struct synopt bare = { .mss = 0, .ws = -1, .sack_ok = 0, .ts = 0 };
__attribute__((unused)) static struct peer p;
__attribute__((unused)) static uint16_t open_win = 65535;	/* the peer's window in the handshake */

/* A new peer (port pport) sends its SYN (so) to our port 80: our SYN-ACK. */
__attribute__((unused)) static struct out
p_syn_passive(uint16_t pport, const struct synopt *so)
{
	struct out o;

	memset(&p, 0, sizeof p);
	p.port = pport;
	p.our_port = 80;
	p.snd = 1000;
	p.win = open_win;
	p.tsval = 777;
	clear();
	p_syn(&p, TCP_FSYN, so);
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.flags, TCP_FSYN | TCP_FACK);
	CHECK_EQ(o.ack, p.snd);
	CHECK_EQ(o.sport, 80);
	CHECK_EQ(o.dport, pport);
	clear();
	return o;
}

/* Listen on 80 and take a connection from the peer (port pport). */
__attribute__((unused)) static struct out
open_passive(uint16_t pport, const struct synopt *so)
{
	struct out o;

	learn_peer();
	if (tcp_listen(80, app_accept, &app) != 0 && tcp_listen(80, app_accept, &app) != EADDRINUSE)
		CHECK(!"tcp_listen");
	o = p_syn_passive(pport, so);
	p_send(&p, TCP_FACK, NULL, 0);
	if (app.refuse) {			/* refused: an RST */
		CHECK_EQ(nframes, 1);
		CHECK_EQ(out(0).flags, TCP_FRST | TCP_FACK);
		return o;
	}
	CHECK_EQ(nframes, 0);
	CHECK(app.c != NULL);
	if (app.c != NULL)
		CHECK_EQ(tcp_state(app.c), TCP_ESTABLISHED);
	return o;
}

/* Connect to the peer's port 80; the peer answers with a SYN-ACK (so). */
__attribute__((unused)) static void
open_active(const struct synopt *so)
{
	struct out o;

	learn_peer();
	memset(&p, 0, sizeof p);
	p.port = 80;
	p.snd = 5000;
	p.win = 65535;
	p.tsval = 100;
	clear();
	CHECK_EQ(tcp_connect(PEER_IP, 80, &app_cb, &app, &app.c), 0);
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.flags, TCP_FSYN);
	p.our_port = o.sport;
	clear();
	p_syn(&p, TCP_FSYN | TCP_FACK, so);
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.flags, TCP_FACK);
	CHECK_EQ(o.ack, p.snd);
	CHECK_EQ(app.connected, 1);
	CHECK_EQ(tcp_state(app.c), TCP_ESTABLISHED);
	clear();
}

/* ---- the test pattern ------------------------------------------------------------------ */

__attribute__((unused)) static int
pattern_at(int i, uint32_t off)
{
	struct out o = out(i);

	for (uint32_t k = 0; k < o.len; k++)
		if (o.data[k] != (uint8_t)((off + k) * 7 + 3))
			return 0;
	return 1;
}

__attribute__((unused)) static uint8_t pat[65536];

__attribute__((unused)) static void
pattern_init(void)
{
	for (size_t i = 0; i < sizeof pat; i++)
		pat[i] = (uint8_t)(i * 7 + 3);
}

/* The end of a body that opened passively: abort, stop listening; 0. */
__attribute__((unused)) static int
tdone(void)
{
	tcp_abort(app.c);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

/* A whole test as most are: tbegin, the pattern, body on the loops, tend. */
__attribute__((unused)) static void
trun(int (*body)(void))
{
	struct test_leaks l = tbegin();

	pattern_init();
	run(body);
	tend(l);
}

#endif
