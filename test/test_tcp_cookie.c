/*
 * test_tcp_cookie.c: SYN cookies (tcp/tcp_cookie.c), hosted, with
 * crafted segments as in test_tcp.c (test/test_tcp.h has the scripted
 * peer).
 *
 * First the cookie itself, as pure functions: every MSS index, window
 * scale and SACK bit comes back from an ACK; a cookie from the time
 * slot before is taken and one from two slots before is not; an ACK
 * with a wrong ACK number, 4-tuple, peer ISN or option bits fails.
 * Then through the input path, with the backlog set to 4: a flood of
 * SYNs from 2000 spoofed addresses is answered with cookie SYN-ACKs
 * that keep nothing (no connection, buffer or slab object more than
 * the backlog's four), after which a real client's handshake completes
 * through a cookie, its first data is delivered, and the connection
 * has the MSS, window scaling, SACK and timestamps the cookie carried;
 * the same without timestamps (no window scaling, no SACK); tampered
 * ACKs answered by RST and counted; a listener that sent no cookie
 * takes none; and with cookies off a full backlog drops.  Every test
 * ends with no connection, no buffer and no slab object left.
 * (test_tcp_wire.c floods over memlink while a real client echoes.)
 */
#define _GNU_SOURCE
#include "test_tcp.h"

#define SLOT_NS		TCP_COOKIE_SLOT_NS
#define BACKLOG		4
#define FLOOD		2000

/* A SYN as the input path parses it: 10.0.0.2:port -> us:80, options so. */
static struct tcp_rxseg
syn_seg(uint32_t src, uint16_t sport, uint32_t seq, const struct synopt *so)
{
	struct tcp_rxseg s;

	memset(&s, 0, sizeof s);
	s.src = src;
	s.dst = OUR_IP;
	s.sport = sport;
	s.dport = 80;
	s.seq = seq;
	s.flags = TCP_FSYN;
	s.mss = so->mss;
	s.wscale = (int16_t)so->ws;
	s.sack_ok = (uint8_t)so->sack_ok;
	s.ts = (uint8_t)so->ts;
	s.tsval = 4242;
	return s;
}

/* The ACK that completes syn's handshake with cookie isn (TSecr tsecr). */
static struct tcp_rxseg
ack_seg(const struct tcp_rxseg *syn, uint32_t isn, uint32_t tsecr)
{
	struct tcp_rxseg a = *syn;

	a.flags = TCP_FACK;
	a.seq = syn->seq + 1;
	a.ack = isn + 1;
	a.tsecr = tsecr;
	a.mss = 0;
	a.wscale = -1;
	a.sack_ok = 0;
	return a;
}

/* ---- the cookie, as pure functions ----------------------------------------------------- */

/* Every MSS index, window scale, SACK bit, with and without timestamps. */
TEST(tcp_cookie_round_trip)
{
	static const uint16_t mss[] = { 0, 100, 536, 1000, 1300, 1439, 1440, 1459, 1460, 9000 };
	static const uint16_t want[] = { 536, 536, 536, 536, 1300, 1300, 1440, 1440, 1460, 1460 };
	static const int ws[] = { -1, 0, 1, 7, 13, 14 };
	struct tcp_cookie ck, back;
	int n = 0;

	tbegin();
	for (size_t m = 0; m < sizeof mss / sizeof mss[0]; m++)
	for (size_t w = 0; w < sizeof ws / sizeof ws[0]; w++)
	for (int sack = 0; sack <= 1; sack++)
	for (int ts = 0; ts <= 1; ts++) {
		struct synopt so = { .mss = mss[m], .ws = ws[w], .sack_ok = sack, .ts = ts };
		struct tcp_rxseg syn = syn_seg((uint32_t)test_rnd(), (uint16_t)(test_rnd() | 1),
		    (uint32_t)test_rnd(), &so), ack;
		uint64_t now = test_rnd() >> 8;
		uint32_t isn = tcp_cookie_encode(&syn, now, &ck), clock = (uint32_t)test_rnd();
		uint32_t tsval = ts ? tcp_cookie_tsval(&ck, clock) : 0;

		CHECK_EQ(ck.mss, want[m]);
		CHECK_EQ(ck.ts, ts);
		CHECK_EQ(ck.wscale, ts ? ws[w] : -1);
		CHECK_EQ(ck.sack_ok, ts && sack);
		CHECK_EQ(isn & 3, m < 4 ? 0 : m < 6 ? 1 : m < 8 ? 2 : 3);
		if (ts) {			/* the clock's high bits; never ahead of it */
			CHECK(SEQ_LEQ(tsval, clock) && clock - tsval < 32);
			CHECK_EQ(tsval & 15, ws[w] < 0 ? 15 : ws[w]);
			CHECK_EQ((tsval >> 4) & 1, sack);
		}
		ack = ack_seg(&syn, isn, tsval);
		memset(&back, 0x55, sizeof back);
		CHECK_EQ(tcp_cookie_decode(&ack, now, &back), 0);
		CHECK_EQ(back.mss, ck.mss);
		CHECK_EQ(back.wscale, ck.wscale);
		CHECK_EQ(back.sack_ok, ck.sack_ok);
		CHECK_EQ(back.ts, ck.ts);
		n++;
	}
	CHECK_EQ(n, 10 * 6 * 2 * 2);
}

/* Taken in its own slot and the next (any time in them); not two slots on. */
TEST(tcp_cookie_time_slots)
{
	struct synopt so = { .mss = 1460, .ws = 7, .sack_ok = 1, .ts = 1 };
	struct tcp_cookie ck, back;

	tbegin();
	for (int i = 0; i < 200; i++) {
		struct tcp_rxseg syn = syn_seg(PEER_IP, (uint16_t)(40000 + i), (uint32_t)test_rnd(), &so);
		uint64_t slot = 5 + test_rnd() % 1000;
		uint64_t t = slot * SLOT_NS + test_rnd() % SLOT_NS;
		uint32_t isn = tcp_cookie_encode(&syn, t, &ck);
		struct tcp_rxseg ack = ack_seg(&syn, isn, tcp_cookie_tsval(&ck, 99999));

		CHECK_EQ(tcp_cookie_decode(&ack, t, &back), 0);
		CHECK_EQ(tcp_cookie_decode(&ack, slot * SLOT_NS + SLOT_NS - 1, &back), 0);
		CHECK_EQ(tcp_cookie_decode(&ack, (slot + 1) * SLOT_NS, &back), 0);
		CHECK_EQ(tcp_cookie_decode(&ack, (slot + 1) * SLOT_NS + test_rnd() % SLOT_NS, &back), 0);
		CHECK_EQ(tcp_cookie_decode(&ack, (slot + 2) * SLOT_NS, &back), -1);
		CHECK_EQ(tcp_cookie_decode(&ack, (slot + 2) * SLOT_NS + test_rnd() % SLOT_NS, &back), -1);
		CHECK_EQ(tcp_cookie_decode(&ack, (slot + 3) * SLOT_NS, &back), -1);
	}
}

/* Any field of the ACK changed: the cookie fails (1000 random handshakes). */
TEST(tcp_cookie_tampered_fails)
{
	struct tcp_cookie ck, back;
	int bad = 0;

	tbegin();
	for (int i = 0; i < 1000; i++) {
		struct synopt so = { .mss = 1460, .ws = (int)(test_rnd() % 15), .sack_ok = i & 1, .ts = 1 };
		struct tcp_rxseg syn = syn_seg((uint32_t)test_rnd(), (uint16_t)(test_rnd() | 1),
		    (uint32_t)test_rnd(), &so);
		uint64_t now = 77 * SLOT_NS + test_rnd() % SLOT_NS;
		uint32_t isn = tcp_cookie_encode(&syn, now, &ck);
		struct tcp_rxseg good = ack_seg(&syn, isn, tcp_cookie_tsval(&ck, (uint32_t)test_rnd()));
		struct tcp_rxseg a;

		CHECK_EQ(tcp_cookie_decode(&good, now, &back), 0);
		a = good; a.ack += 1u << (test_rnd() % 32);	/* any one bit of the ISN */
		bad += tcp_cookie_decode(&a, now, &back) == 0;
		a = good; a.ack += 8;
		bad += tcp_cookie_decode(&a, now, &back) == 0;
		a = good; a.src ^= 1u << (test_rnd() % 32);
		bad += tcp_cookie_decode(&a, now, &back) == 0;
		a = good; a.dst ^= 1u << 24;
		bad += tcp_cookie_decode(&a, now, &back) == 0;
		a = good; a.sport ^= 1;
		bad += tcp_cookie_decode(&a, now, &back) == 0;
		a = good; a.dport = 81;
		bad += tcp_cookie_decode(&a, now, &back) == 0;
		a = good; a.seq += 1;				/* another SYN's ISN */
		bad += tcp_cookie_decode(&a, now, &back) == 0;
		a = good; a.tsecr ^= 1u << (test_rnd() % 5);	/* the option bits */
		bad += tcp_cookie_decode(&a, now, &back) == 0;
		a = good; a.ts = 0;				/* timestamps dropped */
		bad += tcp_cookie_decode(&a, now, &back) == 0;
	}
	CHECK_EQ(bad, 0);
}

/* ---- through the input path ------------------------------------------------------------- */

/* A SYN from src:sport (any address; via the gateway if off the subnet), options so. */
static void
spoofed_syn(uint32_t src, uint16_t sport, uint32_t seq, const struct synopt *so)
{
	static uint8_t f[256];
	uint8_t o[24] = { 0 };
	struct tcp_hdr *th = (struct tcp_hdr *)(f + L4);
	int n = 0;
	size_t len;

	o[n++] = TCPOPT_MSS;
	o[n++] = 4;
	o[n++] = (uint8_t)(so->mss >> 8);
	o[n++] = (uint8_t)so->mss;
	if (so->ts)
		n += put_ts(o + n, seq ^ 0x5a5a, 0);
	len = TCP_HLEN + (size_t)n;
	memset(th, 0, TCP_HLEN);
	th->sport = hton16(sport);
	th->dport = hton16(80);
	th->seq = hton32(seq);
	th->off = (uint8_t)((len / 4) << 4);
	th->flags = TCP_FSYN;
	th->win = hton16(29200);
	memcpy(th + 1, o, (size_t)n);
	th->csum = hton16(inet_csum(inet_sum(th, len, inet_pseudo(src, OUR_IP,
	    IP_PROTO_TCP, (uint16_t)len))));
	inject(f, mk_ip(f, src, OUR_IP, IP_PROTO_TCP, len), 0, 0);
}

/* Learn the gateway's MAC, so that replies off the subnet go out at once. */
static void
learn_gw(void)
{
	uint8_t f[128];

	inject(f, mk_arp(f, ARP_REQUEST, GW_IP, zero_mac, OUR_IP), 0, 0);
	clear();
}

/* Frame i's TSval (0 if it has none). */
static uint32_t
tsval_of(int i)
{
	const uint8_t *t = F_L4(i), *op = t + TCP_HLEN;
	int hlen = (((const struct tcp_hdr *)t)->off >> 4) * 4, k = 0;
	uint32_t v = 0;

	while (k < hlen - TCP_HLEN && op[k] != TCPOPT_EOL) {
		if (op[k] == TCPOPT_NOP) {
			k++;
			continue;
		}
		if (op[k] == TCPOPT_TS)
			memcpy(&v, op + k + 2, 4);
		k += op[k + 1] < 2 ? 2 : op[k + 1];
	}
	return ntoh32(v);
}

static struct { uint32_t src, seq; uint16_t sport; int ts; } sent[MAXF];

/* The backlog filled by a flood from spoofed addresses; the rest get cookies. */
static void
flood(void)
{
	size_t objs = 0;

	learn_gw();
	for (int i = 0; i < FLOOD; i++) {
		struct synopt so = { .mss = 1460, .ws = -1, .ts = i & 1 };
		uint32_t src = IP4(172, 16 + (test_rnd() & 15), test_rnd() & 255, 1 + test_rnd() % 254);
		uint16_t sport = (uint16_t)(1024 + test_rnd() % 60000);
		uint32_t seq = (uint32_t)test_rnd();

		if (i < MAXF)
			sent[i] = (typeof(sent[0])){ src, seq, sport, so.ts };
		spoofed_syn(src, sport, seq, &so);
		if (i == BACKLOG - 1)
			objs = test_in_use(NULL);
		CHECK_EQ(tcp_live(), i < BACKLOG ? i + 1 : BACKLOG);
	}
	CHECK_EQ(iobuf_live(), 0);
	CHECK_EQ(test_in_use(NULL), objs);		/* nothing kept per cookie */
	CHECK_EQ(DELTA(tcp, syn_rx), FLOOD);
	CHECK_EQ(DELTA(tcp, cookies_sent), FLOOD - BACKLOG);
	CHECK_EQ(DELTA(tcp, backlog_drops), 0);
	CHECK_EQ(nframes, MAXF);
	/* Each recorded cookie SYN-ACK answers its SYN, and its ACK would pass. */
	for (int i = BACKLOG; i < MAXF; i++) {
		const struct tcp_hdr *th = (const struct tcp_hdr *)F_L4(i);
		struct synopt so = { .mss = 1460, .ws = -1, .ts = sent[i].ts };
		struct tcp_rxseg syn = syn_seg(sent[i].src, sent[i].sport, sent[i].seq, &so), ack;
		struct tcp_cookie ck;

		CHECK_EQ(F_IP(i)->dst, sent[i].src);
		CHECK_EQ(th->flags, TCP_FSYN | TCP_FACK);
		CHECK_EQ(ntoh32(th->ack), sent[i].seq + 1);
		ack = ack_seg(&syn, ntoh32(th->seq), tsval_of(i));
		CHECK_EQ(tcp_cookie_decode(&ack, tcp_now_ns(), &ck), 0);
		CHECK_EQ(ck.ts, sent[i].ts);
	}
	clear();
}

/*
 * A body's end: the connection gone, the backlog's handshakes timed out
 * (syn_retries 3, rto 60 ms: 60 + 120 + 240 ms at the least; on a busy
 * host the timers fire later, so wait for the count, up to 30 s, rather
 * than for a fixed time), listening ended.
 */
static int
drain(void)
{
	if (app.c != NULL)
		tcp_abort(app.c);
	nap(60 + 120 + 240);
	for (int i = 0; i < 300 && tcp_live() != 0; i++)
		nap(100);
	CHECK_EQ(tcp_live(), 0);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

/* A real client's handshake through a cookie: the SYN-ACK it gets. */
static struct out
cookie_open(uint16_t pport, const struct synopt *so)
{
	struct out o = p_syn_passive(pport, so);

	CHECK_EQ(tcp_live(), BACKLOG);		/* nothing kept for it */
	return o;
}

/* Listen on 80, and fill the backlog with SYNs (so) from spoofed addresses. */
static void
listen_full(const struct synopt *so)
{
	learn_peer();
	learn_gw();
	CHECK_EQ(tcp_listen(80, app_accept, &app), 0);
	for (int i = 0; i < BACKLOG; i++)
		spoofed_syn(IP4(172, 16, 0, 1 + i), 1000, 1, so);
	CHECK_EQ(tcp_live(), BACKLOG);
}

/* Run body with the backlog at BACKLOG, checking for leaks around it. */
static void
with_backlog(int (*body)(void))
{
	struct test_leaks l = tbegin();
	struct tcp_config cfg;

	pattern_init();
	tcp_config_get(&cfg);
	cfg.syn_backlog = BACKLOG;
	CHECK_EQ(tcp_configure(&cfg), 0);
	run(body);
	tend(l);
}

/* The flood, then a real handshake through a cookie with every option. */
static int
flood_body(void)
{
	struct tcp_info ti;
	struct out o;

	learn_peer();
	CHECK_EQ(tcp_listen(80, app_accept, &app), 0);
	flood();
	o = cookie_open(53000, &full);
	CHECK_EQ(o.mss, 1460);
	CHECK_EQ(o.ws, tcp_wscale_for(262144));
	CHECK(o.sack_ok && o.ts);
	CHECK_EQ(o.tsval & 31, 7 | 16);		/* the peer's shift, SACK-permitted */
	CHECK_EQ(o.tsecr, 777);
	/* The ACK carries data: the connection, on_accept, the data delivered. */
	p_send(&p, TCP_FACK | TCP_FPSH, "hello", 5);
	CHECK_EQ(DELTA(tcp, cookies_validated), 1);
	CHECK_EQ(app.accepted, 1);
	CHECK(app.c != NULL);
	CHECK_EQ(app.nrx, 5);
	CHECK(memcmp(app.rx, "hello", 5) == 0);
	CHECK_EQ(tcp_state(app.c), TCP_ESTABLISHED);
	CHECK_EQ(tcp_live(), BACKLOG + 1);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.mss, 1460 - 12);
	CHECK_EQ(ti.snd_wscale, 7);
	CHECK_EQ(ti.rcv_wscale, tcp_wscale_for(262144));
	CHECK(ti.ts_ok && ti.sack_ok);
	CHECK_EQ(ti.snd_wnd, (uint32_t)open_win << 7);	/* the ACK's window, scaled */
	/* Echoed: our first byte is the cookie's next, our TSval goes on. */
	clear();
	CHECK_EQ(tcp_write(app.c, app.rx, 5), 5);
	CHECK_EQ(nframes, 1);
	struct out e = p_take(&p, 0);
	CHECK_EQ(e.seq, o.seq + 1);
	CHECK_EQ(e.ack, p.snd);
	CHECK(e.len == 5 && memcmp(e.data, "hello", 5) == 0);
	CHECK(e.ts && SEQ_GEQ(e.tsval, o.tsval));
	/* SACK in use: a segment past a hole is acknowledged with a block. */
	clear();
	p.snd += 100;
	p_send(&p, TCP_FACK, "later", 5);
	CHECK_EQ(nframes, 1);
	o = out(0);
	CHECK_EQ(o.nsack, 1);
	CHECK_EQ(o.sack[0][0], p.snd - 5);
	return drain();
}

TEST(tcp_cookie_flood_then_handshake)
{
	with_backlog(flood_body);
}

/* Without timestamps: MSS only, no window scaling, no SACK, both ways. */
static int
no_ts_body(void)
{
	static const struct synopt so = { .mss = 1400, .ws = 7, .sack_ok = 1, .ts = 0 };
	struct tcp_info ti;
	struct out o;

	listen_full(&so);
	o = cookie_open(53001, &so);
	CHECK_EQ(o.ws, -1);
	CHECK(!o.sack_ok && !o.ts);
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK_EQ(app.accepted, 1);
	CHECK(app.c != NULL);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.mss, 1300);			/* 1400, rounded down to the table */
	CHECK_EQ(ti.snd_wscale, 0);
	CHECK_EQ(ti.rcv_wscale, 0);
	CHECK(!ti.ts_ok && !ti.sack_ok);
	p_send(&p, TCP_FACK, "abc", 3);
	CHECK_EQ(app.nrx, 3);
	clear();
	CHECK_EQ(tcp_write(app.c, pat, 3000), 3000);
	CHECK(nframes >= 2);
	CHECK_EQ(out(0).len, 1300);
	CHECK_EQ(out(0).win, 65535);		/* unscaled, the buffer's 256 KiB */
	return drain();
}

TEST(tcp_cookie_without_timestamps)
{
	with_backlog(no_ts_body);
}

/* Tampered ACKs: an RST each, counted, nothing made; then the right one. */
static int
tamper_body(void)
{
	struct out o;
	uint32_t rcv;

	listen_full(&bare);
	o = cookie_open(53002, &full);
	rcv = p.rcv;
	p.rcv = rcv + 1;			/* a wrong ACK number */
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK_EQ(nframes, 1);
	CHECK_EQ(out(0).flags, TCP_FRST);
	CHECK_EQ(out(0).seq, rcv + 1);
	p.rcv = rcv;
	p.port++;				/* another 4-tuple */
	p_send(&p, TCP_FACK, NULL, 0);
	p.port--;
	p.tsecr ^= 16;				/* SACK-permitted changed */
	p_send(&p, TCP_FACK, NULL, 0);
	p.tsecr ^= 16;
	CHECK_EQ(nframes, 3);
	CHECK_EQ(DELTA(tcp, cookies_rejected), 3);
	CHECK_EQ(DELTA(tcp, rx_no_conn), 3);
	CHECK_EQ(tcp_live(), BACKLOG);
	CHECK_EQ(app.accepted, 0);
	clear();
	p_send(&p, TCP_FACK, NULL, 0);		/* the real one still works */
	CHECK_EQ(nframes, 0);
	CHECK_EQ(app.accepted, 1);
	CHECK_EQ(DELTA(tcp, cookies_validated), 1);
	CHECK_EQ(o.ack, p.snd);
	return drain();
}

TEST(tcp_cookie_tampered_ack_rst)
{
	with_backlog(tamper_body);
}

/* A valid cookie to a listener that sent none: refused; cookies off: drops. */
static int
quiet_body(void)
{
	struct tcp_rxseg syn = syn_seg(PEER_IP, 53003, 5000, &bare);
	struct tcp_cookie ck;
	uint32_t isn;

	learn_peer();
	learn_gw();
	CHECK_EQ(tcp_listen(80, app_accept, &app), 0);
	isn = tcp_cookie_encode(&syn, tcp_now_ns(), &ck);
	memset(&p, 0, sizeof p);
	p.port = 53003;
	p.our_port = 80;
	p.snd = 5001;
	p.rcv = isn + 1;
	p.win = 1000;
	p_send(&p, TCP_FACK, NULL, 0);		/* would pass, but no cookie went */
	CHECK_EQ(nframes, 1);
	CHECK_EQ(out(0).flags, TCP_FRST);
	CHECK_EQ(app.accepted, 0);
	CHECK_EQ(DELTA(tcp, cookies_rejected), 0);
	CHECK_EQ(tcp_live(), 0);
	/* Cookies off: a full backlog drops the SYN, silently. */
	struct tcp_config cfg;
	tcp_config_get(&cfg);
	cfg.syn_cookies = 0;
	CHECK_EQ(tcp_configure(&cfg), 0);
	for (int i = 0; i <= BACKLOG; i++)
		spoofed_syn(IP4(172, 16, 0, 1 + i), 1000, 1, &bare);
	CHECK_EQ(tcp_live(), BACKLOG);
	CHECK_EQ(DELTA(tcp, backlog_drops), 1);
	CHECK_EQ(DELTA(tcp, cookies_sent), 0);
	return drain();
}

TEST(tcp_cookie_only_after_overflow_and_off)
{
	with_backlog(quiet_body);
}
