/*
 * test_tcp_opts.c: TCP's options, timers and loss recovery, hosted,
 * with crafted segments (test/test_tcp.h): window scaling both ways and
 * the sender's silly-window rule, timestamps with PAWS and RTT samples,
 * zero-copy delivery, the manual receive window, the RTO with backoff
 * and Karn's rule and its give-up, fast retransmit with NewReno's
 * partial and full ACKs, SACK blocks generated from the out-of-order
 * queue, SACK used to resend only the hole, persist probes, keepalive,
 * the delayed-ACK timer, Nagle on and off, and segments handed between
 * cores.  Every test ends with no connection and nothing leaked.
 */
#define _GNU_SOURCE
#include "test_tcp.h"

/* The payload of frame i starts with the test pattern at offset off? */
static int
pattern_at(int i, uint32_t off)
{
	struct out o = out(i);

	for (uint32_t k = 0; k < o.len; k++)
		if (o.data[k] != (uint8_t)((off + k) * 7 + 3))
			return 0;
	return 1;
}

static uint8_t pat[65536];

static void
pattern_init(void)
{
	for (size_t i = 0; i < sizeof pat; i++)
		pat[i] = (uint8_t)(i * 7 + 3);
}

/* ---- windows ---------------------------------------------------------------------- */

static int
wscale_body(void)
{
	static const struct synopt so = { .mss = 1460, .ws = 2, .sack_ok = 0, .ts = 0 };
	struct tcp_info ti;
	struct out o;

	open_passive(50000, &so);
	CHECK_EQ(tcp_setopt(app.c, TCP_OPT_NODELAY, 1), 0);
	/* The peer offers 1000 << 2 = 4000 bytes. */
	p.win = 1000;
	p_send(&p, TCP_FACK, NULL, 0);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.snd_wnd, 4000);
	clear();
	CHECK_EQ(tcp_write(app.c, pat, 10000), 10000);
	/* Two full segments fit; the 1080 left is under half the window. */
	CHECK_EQ(nframes, 2);
	o = p_take(&p, 0);
	CHECK_EQ(o.len, 1460);
	CHECK_EQ(o.win, 262144 >> 3);		/* ours, scaled by 3 */
	p_take(&p, 1);
	CHECK(pattern_at(1, 1460));
	clear();
	p_send(&p, TCP_FACK, NULL, 0);		/* 4000 more from here */
	CHECK_EQ(nframes, 2);
	p_take(&p, 0);
	p_take(&p, 1);
	/* A window of 700: under an MSS but over half the largest seen?  No. */
	p.win = 175;
	clear();
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK_EQ(nframes, 0);
	/* 2500 (625 << 2): the next full segment fits, no more. */
	p.win = 625;
	p_send(&p, TCP_FACK | TCP_FPSH, "x", 1);
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.len, 1460);
	CHECK(pattern_at(0, 4 * 1460));
	tcp_abort(app.c);
	/* A peer whose window never reaches an MSS: segments cut to fit. */
	memset(&app, 0, sizeof app);
	open_win = 300;
	open_passive(50010, &bare);
	open_win = 65535;
	CHECK_EQ(tcp_setopt(app.c, TCP_OPT_NODELAY, 1), 0);
	clear();
	CHECK_EQ(tcp_write(app.c, pat, 536 * 3), 536 * 3);
	CHECK_EQ(nframes, 1);			/* 300 of the first 536 */
	CHECK_EQ(p_take(&p, 0).len, 300);
	clear();
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK_EQ(nframes, 1);			/* its other 236; 64 is too few */
	CHECK_EQ(p_take(&p, 0).len, 236);
	CHECK(pattern_at(0, 300));
	tcp_abort(app.c);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

TEST(tcp_window_scaling_and_sender_sws)
{
	struct test_leaks l = tbegin();

	pattern_init();
	run(wscale_body);
	tend(l);
}

static int
manual_window_body(void)
{
	struct out o;
	static uint8_t d[1000];

	open_passive(50001, &bare);
	CHECK_EQ(tcp_setopt(app.c, TCP_OPT_MANUAL_RECVED, 1), 0);
	/* The receive buffer is 4000 (set for this test): the SYN-ACK said so. */
	for (int i = 0; i < 4; i++)
		p_send(&p, TCP_FACK, d, 1000);
	CHECK_EQ(app.nrx, 4000);
	o = p_take(&p, nframes - 1);
	CHECK_EQ(o.ack, p.snd);
	CHECK_EQ(o.win, 0);			/* all held by the application */
	/* Zero-copy: the bytes came in the frame's own buffer. */
	CHECK_EQ(app.headroom, IOBUF_HEADROOM + L4 + TCP_HLEN);
	/* One byte more: outside the window, not delivered, answered. */
	clear();
	p_send(&p, TCP_FACK, "z", 1);
	p.snd--;
	CHECK_EQ(app.nrx, 4000);
	CHECK_EQ(nframes, 1);
	CHECK_EQ(out(0).win, 0);
	/* Released: a window update. */
	clear();
	tcp_recved(app.c, 4000);
	CHECK_EQ(nframes, 1);
	CHECK_EQ(out(0).win, 4000);
	/* Data held when the application closes: an RST, not a FIN. */
	p_send(&p, TCP_FACK, d, 10);
	clear();
	tcp_close(app.c);
	CHECK_EQ(nframes, 1);
	CHECK(out(0).flags & TCP_FRST);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

TEST(tcp_manual_receive_window_and_zero_copy)
{
	struct test_leaks l = tbegin();
	struct tcp_config cfg;

	tcp_config_get(&cfg);
	cfg.rcvbuf = 4000;
	CHECK_EQ(tcp_configure(&cfg), 0);
	run(manual_window_body);
	tend(l);
}

/* ---- timestamps ------------------------------------------------------------------- */

static int
ts_body(void)
{
	struct tcp_info ti;
	struct out o;

	open_passive(50002, &full);
	p.tsval = 1000;
	p_send(&p, TCP_FACK, "abc", 3);
	p.tsval = 2000;
	p_send(&p, TCP_FACK, "def", 3);
	CHECK_EQ(app.nrx, 6);
	o = p_take(&p, nframes - 1);
	CHECK(o.ts);
	CHECK_EQ(o.tsecr, 1000);		/* RFC 7323 4.3: the earliest unacked */
	/* PAWS: an older TSval is a segment from the past: dropped. */
	p.tsval = 500;
	clear();
	p_send(&p, TCP_FACK, "old", 3);
	p.snd -= 3;
	CHECK_EQ(app.nrx, 6);
	CHECK_EQ(DELTA(tcp, rx_paws), 1);
	CHECK_EQ(nframes, 1);			/* answered with an ACK */
	o = out(0);
	CHECK_EQ(o.tsecr, 1000);
	/* An RTT sample from TSecr: about the 20 ms the peer takes. */
	p.tsval = 3000;
	clear();
	CHECK_EQ(tcp_write(app.c, "ping", 4), 4);
	p_take(&p, 0);
	nap(20);
	p_send(&p, TCP_FACK, NULL, 0);
	tcp_conn_info(app.c, &ti);
	CHECK(ti.srtt_us >= 15000 && ti.srtt_us < 200000);
	CHECK_EQ(ti.rto_ms >= 30, 1);
	tcp_abort(app.c);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

TEST(tcp_timestamps_paws_rtt)
{
	struct test_leaks l = tbegin();

	run(ts_body);
	tend(l);
}

/* ---- retransmission --------------------------------------------------------------- */

static int
rto_body(void)
{
	struct tcp_info ti;
	struct out o;

	open_passive(50003, &bare);
	CHECK_EQ(tcp_write(app.c, "lost?", 5), 5);
	o = out(0);
	/* RTO 60 ms: sent again after it, then after 120 more (backoff). */
	nap(80);
	CHECK_EQ(nframes, 2);
	CHECK_EQ(out(1).seq, o.seq);
	CHECK_EQ(out(1).len, 5);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.rto_ms, 120);
	CHECK_EQ(ti.timeouts, 1);
	nap(60);
	CHECK_EQ(nframes, 2);
	nap(90);
	CHECK_EQ(nframes, 3);
	/* The ACK: Karn's rule, no sample from a retransmitted segment. */
	p_take(&p, 2);
	p_send(&p, TCP_FACK, NULL, 0);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.srtt_us, 0);
	CHECK_EQ(ti.inflight, 0);
	CHECK_EQ(app.sent, 5);
	/* Unanswered for data_retries expiries: reset and aborted. */
	CHECK_EQ(tcp_write(app.c, "gone", 4), 4);
	nap(240 + 300 + 300 + 150);		/* RTO 240, then 300: rto_max */
	CHECK_EQ(app.aborted, 1);
	CHECK_EQ(app.reason, TCP_ERR_TIMEOUT);
	CHECK(out(nframes - 1).flags & TCP_FRST);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

TEST(tcp_rto_backoff_karn_giveup)
{
	struct test_leaks l = tbegin();
	struct tcp_config cfg;

	tcp_config_get(&cfg);
	cfg.data_retries = 2;
	cfg.rto_max_ms = 300;
	CHECK_EQ(tcp_configure(&cfg), 0);
	run(rto_body);
	tend(l);
}

/* Ack the peer's way: everything up to seq, with no data. */
static void
ack_to(uint32_t seq)
{
	p.rcv = seq;
	p_send(&p, TCP_FACK, NULL, 0);
}

static int
newreno_body(void)
{
	struct tcp_info ti;
	uint32_t q0, m = 536, hi;
	int n;

	open_passive(50004, &bare);
	tcp_setopt(app.c, TCP_OPT_NODELAY, 1);
	clear();
	CHECK_EQ(tcp_write(app.c, pat, 20 * m), 20 * m);
	CHECK_EQ(nframes, 4);			/* the initial window: 4 * 536 */
	q0 = out(0).seq;
	/* Each segment acked alone: slow start grows cwnd by one MSS each. */
	for (int i = 1; i <= 4; i++)
		ack_to(q0 + (uint32_t)i * m);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.cwnd, 8 * m);
	CHECK_EQ(nframes, 4 + 8);		/* segments 5..12 in flight */
	/*
	 * Segment 5 is lost.  The first two duplicate ACKs each let one new
	 * segment go (limited transmit, RFC 3042); the third sends 5 again.
	 */
	clear();
	ack_to(q0 + 4 * m);
	ack_to(q0 + 4 * m);
	CHECK_EQ(nframes, 2);
	CHECK_EQ(out(0).seq, q0 + 12 * m);
	CHECK_EQ(out(1).seq, q0 + 13 * m);
	clear();
	ack_to(q0 + 4 * m);
	CHECK_EQ(nframes, 1);
	CHECK_EQ(out(0).seq, q0 + 4 * m);
	CHECK(pattern_at(0, 4 * m));
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.ssthresh, 5 * m);		/* half of 10 segments in flight */
	CHECK_EQ(ti.cwnd, 5 * m + 3 * m);
	CHECK_EQ(ti.fast_retransmits, 1);
	/* A fourth duplicate inflates cwnd by one more segment. */
	clear();
	ack_to(q0 + 4 * m);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.cwnd, 9 * m);
	/* A partial ACK (segment 7 lost too): it goes at once. */
	clear();
	ack_to(q0 + 6 * m);
	CHECK(nframes >= 1);
	CHECK_EQ(out(0).seq, q0 + 6 * m);
	/* The full ACK of everything sent ends recovery: cwnd about ssthresh. */
	hi = q0 + 14 * m;
	for (n = 0; n < nframes; n++)
		if (SEQ_GT(out(n).seq + out(n).len, hi))
			hi = out(n).seq + out(n).len;
	clear();
	ack_to(hi);
	tcp_conn_info(app.c, &ti);
	CHECK(ti.cwnd <= 5 * m + m);
	CHECK_EQ(DELTA(tcp, fast_retransmits), 1);
	tcp_abort(app.c);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

TEST(tcp_fast_retransmit_newreno)
{
	struct test_leaks l = tbegin();

	pattern_init();
	run(newreno_body);
	tend(l);
}

/* ---- SACK ------------------------------------------------------------------------- */

static int
sack_gen_body(void)
{
	struct out o;
	uint32_t s;

	open_passive(50005, &full);
	s = p.snd;
	/* B before A: an ACK at once, with B's block. */
	p.snd = s + 100;
	p_send(&p, TCP_FACK, pat + 100, 100);
	CHECK_EQ(nframes, 1);
	o = out(0);
	CHECK_EQ(o.ack, s);
	CHECK_EQ(o.nsack, 1);
	CHECK_EQ(o.sack[0][0], s + 100);
	CHECK_EQ(o.sack[0][1], s + 200);
	/* D: two blocks, the newest first. */
	clear();
	p.snd = s + 300;
	p_send(&p, TCP_FACK, pat + 300, 100);
	o = out(0);
	CHECK_EQ(o.nsack, 2);
	CHECK_EQ(o.sack[0][0], s + 300);
	CHECK_EQ(o.sack[1][0], s + 100);
	/* A duplicate of B changes nothing. */
	p.snd = s + 150;
	p_send(&p, TCP_FACK, pat + 150, 50);
	CHECK_EQ(app.nrx, 0);
	/* A fills the first hole: B is delivered too; D's block remains. */
	clear();
	p.snd = s;
	p_send(&p, TCP_FACK, pat, 100);
	CHECK_EQ(app.nrx, 200);
	o = out(0);
	CHECK_EQ(o.ack, s + 200);
	CHECK_EQ(o.nsack, 1);
	CHECK_EQ(o.sack[0][0], s + 300);
	/* C, overlapping D: all in order, no blocks. */
	clear();
	p.snd = s + 200;
	p_send(&p, TCP_FACK, pat + 200, 150);
	o = out(0);
	CHECK_EQ(o.ack, s + 400);
	CHECK_EQ(o.nsack, 0);
	CHECK_EQ(app.nrx, 400);
	CHECK(memcmp(app.rx, pat, 400) == 0);
	CHECK_EQ(DELTA(tcp, rx_ooo), 2);
	CHECK_EQ(DELTA(tcp, rx_dup), 1);
	/* A FIN out of order waits for the bytes before it. */
	p.snd = s + 410;
	p_send(&p, TCP_FACK | TCP_FFIN, pat + 410, 10);
	CHECK_EQ(app.fin, 0);
	p.snd = s + 400;
	p_send(&p, TCP_FACK, pat + 400, 10);
	CHECK_EQ(app.fin, 1);
	CHECK_EQ(app.nrx, 420);
	CHECK_EQ(tcp_state(app.c), TCP_CLOSE_WAIT);
	tcp_abort(app.c);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

TEST(tcp_sack_generation_and_reassembly)
{
	struct test_leaks l = tbegin();

	pattern_init();
	run(sack_gen_body);
	tend(l);
}

/* The peer ACKs up to ack and SACKs [l, r). */
static void
sack_to(uint32_t ack, uint32_t l, uint32_t r)
{
	uint8_t o[12] = { TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK, 10 };
	uint32_t v = hton32(l);

	memcpy(o + 4, &v, 4);
	v = hton32(r);
	memcpy(o + 8, &v, 4);
	p.rcv = ack;
	p_send_opt(&p, TCP_FACK, NULL, 0, o, 12);
}

static int
sack_use_body(void)
{
	static const struct synopt so = { .mss = 1000, .ws = 0, .sack_ok = 1, .ts = 0 };
	struct tcp_info ti;
	uint32_t q0, m = 1000;

	open_passive(50006, &so);
	tcp_setopt(app.c, TCP_OPT_NODELAY, 1);
	clear();
	CHECK_EQ(tcp_write(app.c, pat, 30 * m), 30 * m);
	CHECK_EQ(nframes, 4);
	q0 = out(0).seq;
	for (int i = 1; i <= 4; i++)
		ack_to(q0 + (uint32_t)i * m);
	CHECK_EQ(nframes, 12);			/* segments 5..12 in flight */
	/* Segment 5 lost: SACKs for 6, 6-7, 6-8. */
	clear();
	sack_to(q0 + 4 * m, q0 + 5 * m, q0 + 6 * m);
	sack_to(q0 + 4 * m, q0 + 5 * m, q0 + 7 * m);
	CHECK_EQ(nframes, 2);			/* limited transmit: 13, 14 */
	CHECK_EQ(out(0).seq, q0 + 12 * m);
	clear();
	sack_to(q0 + 4 * m, q0 + 5 * m, q0 + 8 * m);
	/* Only the hole went again (and new data as the pipe allows). */
	CHECK(nframes >= 1);
	CHECK_EQ(out(0).seq, q0 + 4 * m);
	for (int i = 1; i < nframes; i++)
		CHECK(SEQ_GEQ(out(i).seq, q0 + 12 * m));	/* new data only */
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.ssthresh, 5 * m);
	CHECK_EQ(ti.cwnd, 5 * m);
	/* More SACKs, more of the pipe out: still nothing SACKed goes again. */
	nap(3);
	clear();
	sack_to(q0 + 4 * m, q0 + 5 * m, q0 + 14 * m);
	CHECK(nframes >= 1);
	for (int i = 0; i < nframes; i++)
		CHECK(SEQ_GEQ(out(i).seq, q0 + 14 * m));
	/*
	 * Segments sent after the hole's retransmission arrive (SACKed) and
	 * it does not: it was lost again, and goes a third time.
	 */
	uint32_t hi = out(nframes - 1).seq + out(nframes - 1).len;
	clear();
	sack_to(q0 + 4 * m, q0 + 5 * m, hi);
	CHECK(nframes >= 1);
	CHECK_EQ(out(0).seq, q0 + 4 * m);
	/* Its ACK covers everything SACKed. */
	clear();
	ack_to(hi);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.retransmits, 2);
	CHECK_EQ(DELTA(tcp, sack_retransmits) + DELTA(tcp, fast_retransmits), 2);
	tcp_abort(app.c);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

TEST(tcp_sack_scoreboard_resends_only_holes_lost_retransmission)
{
	struct test_leaks l = tbegin();

	pattern_init();
	run(sack_use_body);
	tend(l);
}

/* ---- persist, keepalive, delayed ACK, Nagle ------------------------------------------- */

static int
persist_body(void)
{
	struct out o;

	open_passive(50007, &bare);
	p.win = 0;
	p_send(&p, TCP_FACK, NULL, 0);
	clear();
	CHECK_EQ(tcp_write(app.c, "wait", 4), 4);
	CHECK_EQ(nframes, 0);
	/* Probes at 60, 120, 200 ms: ACKs one below SND.UNA, no data. */
	nap(300);
	CHECK(nframes >= 2);
	o = out(0);
	CHECK_EQ(o.seq, p.rcv - 1);
	CHECK_EQ(o.len, 0);
	CHECK(DELTA(tcp, zero_window_probes) >= 2);
	CHECK_EQ(tcp_live(), 1);		/* probing never gives up */
	/* The window opens: the data goes. */
	p.win = 100;
	clear();
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.len, 4);
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK_EQ(app.sent, 4);
	tcp_abort(app.c);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

TEST(tcp_persist_probes)
{
	struct test_leaks l = tbegin();

	run(persist_body);
	tend(l);
}

static int
keepalive_body(void)
{
	open_passive(50008, &bare);
	CHECK_EQ(tcp_setopt(app.c, TCP_OPT_KEEPALIVE, 1), 0);
	clear();
	nap(80);				/* idle 60 ms: a probe */
	CHECK_EQ(nframes, 1);
	CHECK_EQ(out(0).seq, p.rcv - 1);
	p_send(&p, TCP_FACK, NULL, 0);		/* answered */
	clear();
	nap(40);
	CHECK_EQ(nframes, 0);			/* idle again from the answer */
	/* Unanswered: two probes, then the connection is reset. */
	nap(200);
	CHECK_EQ(app.aborted, 1);
	CHECK_EQ(app.reason, TCP_ERR_KEEPALIVE);
	CHECK_EQ(nframes, 3);
	CHECK(out(2).flags & TCP_FRST);
	CHECK_EQ(DELTA(tcp, keepalive_probes), 3);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

TEST(tcp_keepalive)
{
	struct test_leaks l = tbegin();

	run(keepalive_body);
	tend(l);
}

static int
delack_nagle_body(void)
{
	struct out o;

	open_passive(50009, &bare);
	/* One segment: no ACK until the 40 ms timer. */
	clear();
	p_send(&p, TCP_FACK, "q", 1);
	CHECK_EQ(nframes, 0);
	nap(60);
	CHECK_EQ(nframes, 1);
	CHECK_EQ(out(0).ack, p.snd);
	CHECK_EQ(DELTA(tcp, delayed_acks), 1);
	/* Nagle: "a" goes, "b" and "c" wait for its ACK and go together. */
	clear();
	CHECK_EQ(tcp_write(app.c, "a", 1), 1);
	CHECK_EQ(tcp_write(app.c, "b", 1), 1);
	CHECK_EQ(tcp_write(app.c, "c", 1), 1);
	CHECK_EQ(nframes, 1);
	p_take(&p, 0);
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK_EQ(nframes, 2);
	o = p_take(&p, 1);
	CHECK_EQ(o.len, 2);
	CHECK(memcmp(o.data, "bc", 2) == 0);
	/* Nagle off: each write goes at once. */
	CHECK_EQ(tcp_setopt(app.c, TCP_OPT_NODELAY, 1), 0);
	clear();
	CHECK_EQ(tcp_write(app.c, "d", 1), 1);
	CHECK_EQ(tcp_write(app.c, "e", 1), 1);
	CHECK_EQ(nframes, 2);
	/* A full send buffer takes what fits. */
	CHECK_EQ(tcp_setopt(app.c, TCP_OPT_SNDBUF, 10), 0);
	CHECK_EQ(tcp_write(app.c, "0123456789abc", 13), 6);	/* 4 queued */
	CHECK_EQ(tcp_sndbuf_free(app.c), 0);
	CHECK_EQ(tcp_write(app.c, "x", 1), 0);
	tcp_abort(app.c);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

TEST(tcp_delayed_ack_and_nagle)
{
	struct test_leaks l = tbegin();

	run(delack_nagle_body);
	tend(l);
}

/* ---- cores ------------------------------------------------------------------------- */

static struct synopt cross_so;

static void
on_core_syn(void *arg)
{
	(void)arg;
	p_syn(&p, TCP_FSYN, &cross_so);
}

static void
on_core_ack(void *arg)
{
	(void)arg;
	p_send(&p, TCP_FACK, "hi", 2);
}

static void
on_core_synack(void *arg)
{
	(void)arg;
	p_syn(&p, TCP_FSYN | TCP_FACK, &cross_so);
}

static void
on_core_abort(void *arg)
{
	tcp_abort(arg);
}

static int
cross_body(void)
{
	struct out o;

	cross_so = bare;
	learn_peer();
	/* A passive open on core 2; its next segment arrives on core 0. */
	CHECK_EQ(tcp_listen(80, app_accept, &app), 0);
	memset(&p, 0, sizeof p);
	p.port = 51000;
	p.our_port = 80;
	p.snd = 10;
	p.win = 1000;
	spawn_on(2, on_core_syn, NULL);
	nap(20);
	CHECK_EQ(nframes, 1);
	CHECK_EQ(frames[0].core, 2);
	p_take(&p, 0);
	on_core_ack(NULL);			/* here, on core 0 */
	nap(20);
	CHECK_EQ(app.accepted, 1);
	CHECK_EQ(app.core, 2);			/* accepted and delivered on 2 */
	CHECK_EQ(app.nrx, 2);
	CHECK_EQ(tcp_core(app.c), 2);
	CHECK_EQ(DELTA(tcp, rx_handover), 1);
	spawn_on(2, on_core_abort, app.c);
	nap(20);
	CHECK_EQ(tcp_live(), 0);
	CHECK_EQ(tcp_unlisten(80), 0);
	/* An active open from core 0 whose SYN-ACK arrives on core 3. */
	memset(&app, 0, sizeof app);
	memset(&p, 0, sizeof p);
	p.port = 80;
	p.snd = 70;
	p.win = 1000;
	clear();
	CHECK_EQ(tcp_connect(PEER_IP, 80, &app_cb, &app, &app.c), 0);
	o = p_take(&p, 0);
	p.our_port = o.sport;
	spawn_on(3, on_core_synack, NULL);
	nap(20);
	CHECK_EQ(app.connected, 1);
	CHECK_EQ(app.core, 0);
	CHECK_EQ(tcp_state(app.c), TCP_ESTABLISHED);
	CHECK_EQ(DELTA(tcp, rx_handover), 2);
	tcp_abort(app.c);
	return 0;
}

TEST(tcp_segments_handed_to_the_owner_core)
{
	struct test_leaks l = tbegin();

	run(cross_body);
	tend(l);
}

/* ---- TSO ------------------------------------------------------------------------------ */

static int
tso_body(void)
{
	static const struct synopt so = { .mss = 400, .ws = -1, .sack_ok = 0, .ts = 0 };
	struct out o;

	open_passive(50011, &so);
	CHECK_EQ(tcp_setopt(app.c, TCP_OPT_NODELAY, 1), 0);
	fake.features |= NETIF_F_TSO4;
	clear();
	CHECK_EQ(tcp_write(app.c, pat, 6 * 400), 6 * 400);
	fake.features &= ~NETIF_F_TSO4;
	/* The initial window (4 segments) goes as one frame the device cuts. */
	CHECK_EQ(nframes, 1);
	CHECK_EQ(frames[0].h.mss, 400);
	CHECK_EQ(frames[0].has_hints, 1);
	CHECK_EQ(frames[0].h.csum_start, L4);
	CHECK_EQ(frames[0].h.csum_offset, 16);
	uint8_t *fr = frames[0].b;
	uint16_t c = inet_csum(inet_sum(fr + L4, frames[0].len - L4, 0));
	fr[L4 + 16] = (uint8_t)(c >> 8);
	fr[L4 + 17] = (uint8_t)c;
	o = p_take(&p, 0);
	CHECK_EQ(o.len, 4 * 400);
	CHECK(pattern_at(0, 0));
	tcp_abort(app.c);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

TEST(tcp_tso_frames)
{
	struct test_leaks l = tbegin();

	pattern_init();
	run(tso_body);
	tend(l);
}
