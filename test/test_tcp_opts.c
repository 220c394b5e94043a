/*
 * test_tcp_opts.c: TCP's options and timers, hosted, with crafted
 * segments (test/test_tcp.h): window scaling both ways and the sender's
 * silly-window rule, the manual receive window and zero-copy delivery,
 * timestamps with PAWS and RTT samples, persist probes, keepalive, the
 * delayed-ACK timer, Nagle on and off, segments handed between cores,
 * TSO frames, hostile options and the peer's sequence numbers wrapping
 * 2^32.  (Loss recovery is test_tcp_loss.c.)  Every test ends
 * with no connection and nothing leaked.
 */
#define _GNU_SOURCE
#include "test_tcp.h"

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
	CHECK_EQ(nframes, 1);			/* the window's 300 again (the queue */
	CHECK_EQ(p_take(&p, 0).len, 300);	/* holds the 1308 left as one segment, */
	CHECK(pattern_at(0, 300));		/* cut where the window ends) */
	clear();
	p.win = 0;				/* nothing while the window is shut */
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK_EQ(nframes, 0);
	return tdone();
}

TEST(tcp_window_scaling_and_sender_sws)
{
	trun(wscale_body);
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

/*
 * A peer without window scaling, a receive buffer past 64 KiB: the
 * window field says 65535 whatever the application releases, so a
 * release sends no window update (it once sent one per tcp_recved).
 */
static int
noscale_body(void)
{
	static uint8_t d[100];

	open_passive(50002, &bare);
	CHECK_EQ(tcp_setopt(app.c, TCP_OPT_MANUAL_RECVED, 1), 0);
	for (int i = 0; i < 3; i++) {
		p_send(&p, TCP_FACK | TCP_FPSH, d, sizeof d);
		clear();
		tcp_recved(app.c, sizeof d);
		CHECK_EQ(nframes, 0);
	}
	return tdone();
}

TEST(tcp_manual_release_without_window_scaling)
{
	trun(noscale_body);
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
	o = p_take(&p, 0);
	nap(20);
	p_send(&p, TCP_FACK, NULL, 0);
	tcp_conn_info(app.c, &ti);
	CHECK(ti.srtt_us >= 15000 && ti.srtt_us < 200000);
	CHECK_EQ(ti.rto_ms >= 30, 1);
	/* Input over, the clock again: a write 25 ms on is stamped then, not
	 * with the time of the last segment in (tcp_conn_now). */
	nap(25);
	clear();
	CHECK_EQ(tcp_write(app.c, "late", 4), 4);
	CHECK((int32_t)(p_take(&p, 0).tsval - o.tsval) >= 40);
	return tdone();
}

TEST(tcp_timestamps_paws_rtt)
{
	trun(ts_body);
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
	return tdone();
}

TEST(tcp_persist_probes)
{
	trun(persist_body);
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
	trun(keepalive_body);
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
	/* Two segments: the ACK at once; the timer the first armed, left
	 * armed, finds nothing owed when it fires. */
	clear();
	p_send(&p, TCP_FACK, "r", 1);
	p_send(&p, TCP_FACK, "s", 1);
	CHECK_EQ(nframes, 1);
	CHECK_EQ(out(0).ack, p.snd);
	nap(60);
	CHECK_EQ(nframes, 1);
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
	p_take(&p, 0);
	p_take(&p, 1);
	/* Written inside the receive callback: sent by the input's own output
	 * pass, at once, one segment with the ACK of what came. */
	app.echo = 1;
	clear();
	p_send(&p, TCP_FACK, "echo", 4);
	app.echo = 0;
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.len, 4);
	CHECK(memcmp(o.data, "echo", 4) == 0);
	CHECK_EQ(o.ack, p.snd);
	/* A full send buffer takes what fits. */
	CHECK_EQ(tcp_setopt(app.c, TCP_OPT_SNDBUF, 10), 0);
	CHECK_EQ(tcp_write(app.c, "0123456789abc", 13), 6);	/* 4 queued */
	CHECK_EQ(tcp_sndbuf_free(app.c), 0);
	CHECK_EQ(tcp_write(app.c, "x", 1), 0);
	return tdone();
}

TEST(tcp_delayed_ack_and_nagle)
{
	trun(delack_nagle_body);
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
	trun(cross_body);
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
	return tdone();
}

TEST(tcp_tso_frames)
{
	trun(tso_body);
}


/* ---- hostile options and the wrap of 2^32 ------------------------------------------------ */

/* The peer sends one segment with options o (olen bytes) and no data. */
static void
p_raw_opts(uint8_t flags, const uint8_t *o, int olen)
{
	static uint8_t f[256];

	inject(f, mk_tcp(f, p.port, p.our_port, p.snd, p.rcv, flags, p.win, o, olen,
	    NULL, 0), 0, 0);
	p.snd += (flags & TCP_FSYN) != 0;
}

/*
 * A SYN with an MSS of 0, a window scale of 200 and an option whose
 * length runs past the header; the peer's sequence numbers wrap 2^32
 * in the middle of its data, which arrives out of order; then ACKs
 * whose SACK blocks are malformed, backwards or outside what we sent.
 * Nothing breaks: the MSS falls back to the default, the shift to 14,
 * the SACK block names the wrapped range, the bytes arrive in order,
 * and no bad block marks anything (nothing is skipped when we resend).
 */
static int
hostile_body(void)
{
	static const uint8_t syn_o[] = { TCPOPT_MSS, 4, 0, 0, TCPOPT_WSCALE, 3, 200,
	    TCPOPT_SACK_OK, 2, TCPOPT_SACK, 40, 1, 2 };
	uint8_t bad[40], a[512], b[512];
	struct tcp_info ti;
	struct out o;
	uint32_t v[8], q0;

	learn_peer();
	memset(&p, 0, sizeof p);
	p.port = 50020;
	p.our_port = 80;
	p.snd = 0xfffffe00u;
	p.win = 1000;
	CHECK_EQ(tcp_listen(80, app_accept, &app), 0);
	clear();
	p_raw_opts(TCP_FSYN, syn_o, sizeof syn_o);
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.flags, TCP_FSYN | TCP_FACK);
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK(app.c != NULL);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.mss, TCP_MSS_DEFAULT);
	CHECK_EQ(ti.snd_wscale, TCP_WSCALE_MAX);
	CHECK_EQ(ti.sack_ok, 1);
	/* Its bytes [0xfffffe01, +1024) wrap 2^32; the second half first. */
	for (int i = 0; i < 512; i++) {
		a[i] = (uint8_t)i;
		b[i] = (uint8_t)(i + 100);
	}
	clear();
	p.snd += 512;
	p_send(&p, TCP_FACK | TCP_FPSH, b, 512);
	CHECK_EQ(nframes, 1);
	o = out(0);
	CHECK_EQ(o.ack, 0xfffffe01u);
	CHECK_EQ(o.nsack, 1);
	CHECK_EQ(o.sack[0][0], 0xfffffe01u + 512);
	CHECK_EQ(o.sack[0][1], 0xfffffe01u + 1024);
	p.snd -= 1024;
	p_send(&p, TCP_FACK | TCP_FPSH, a, 512);
	CHECK_EQ(app.nrx, 1024);
	CHECK(memcmp(app.rx, a, 512) == 0 && memcmp(app.rx + 512, b, 512) == 0);
	p.snd += 512;
	o = out(nframes - 1);
	CHECK_EQ(o.ack, 0xfffffe01u + 1024);
	CHECK_EQ(o.nsack, 0);
	/* Our data, and ACKs with bad SACK options. */
	tcp_setopt(app.c, TCP_OPT_NODELAY, 1);
	clear();
	CHECK_EQ(tcp_write(app.c, pat, 3 * 536), 3 * 536);
	q0 = out(0).seq;
	p.rcv = q0;
	/* A block length not a multiple of 8; a length of 1; 0. */
	uint8_t l3[] = { TCPOPT_SACK, 3, 0, TCPOPT_NOP }, l1[] = { TCPOPT_SACK, 1 },
	    l0[] = { TCPOPT_SACK, 0, 0, 0 };
	p_raw_opts(TCP_FACK, l3, sizeof l3);
	p_raw_opts(TCP_FACK, l1, sizeof l1);
	p_raw_opts(TCP_FACK, l0, sizeof l0);
	/* Four blocks: backwards, below SND.UNA, past SND.MAX, all of it. */
	v[0] = hton32(q0 + 1000); v[1] = hton32(q0 + 536);
	v[2] = hton32(q0 - 5000); v[3] = hton32(q0 + 1072);
	v[4] = hton32(q0 + 536); v[5] = hton32(q0 + 90000);
	v[6] = hton32(q0 + 1u); v[7] = hton32(q0);
	bad[0] = TCPOPT_NOP;
	bad[1] = TCPOPT_NOP;
	bad[2] = TCPOPT_SACK;
	bad[3] = 34;
	memcpy(bad + 4, v, 32);
	p_raw_opts(TCP_FACK, bad, 36);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.state, TCP_ESTABLISHED);
	/* Nothing was marked: after the RTO every segment goes again. */
	nap(150);
	tcp_conn_info(app.c, &ti);
	CHECK(ti.timeouts >= 1);
	int seen[3] = { 0, 0, 0 };
	for (int i = 3; i < nframes; i++)
		for (int k = 0; k < 3; k++)
			if (out(i).seq == q0 + (uint32_t)k * 536 && out(i).len == 536)
				seen[k] = 1;
	CHECK(seen[0]);
	p.rcv = q0 + 3 * 536;
	p_send(&p, TCP_FACK, NULL, 0);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.inflight, 0);
	CHECK_EQ(app.sent, 3 * 536);
	return tdone();
}

TEST(tcp_hostile_options_and_sequence_wrap)
{
	trun(hostile_body);
}

/*
 * A segment in the window whose ACK is not acceptable (beyond what we
 * sent) is dropped whole: its TSval must not become TS.Recent, or a far
 * future one would make PAWS drop every later segment of the real peer
 * and wedge the connection (RFC 7323 4.3 updates TS.Recent only from
 * acceptable segments).
 */
static int
ts_bad_ack_body(void)
{
	uint32_t tsv;

	open_passive(50021, &full);
	tsv = p.tsval;
	p.tsval = tsv + 0x40000000u;		/* far ahead */
	p.rcv += 100000;			/* acks what we never sent */
	clear();
	p_send(&p, TCP_FACK | TCP_FPSH, "x", 1);
	CHECK_EQ(app.nrx, 0);
	CHECK_EQ(DELTA(tcp, rx_bad_ack), 1);
	p.snd -= 1;
	p.rcv -= 100000;
	p.tsval = tsv + 1;			/* the real peer's clock */
	p_send(&p, TCP_FACK | TCP_FPSH, "y", 1);
	CHECK_EQ(app.nrx, 1);
	CHECK_EQ(app.rx[0], 'y');
	CHECK_EQ(DELTA(tcp, rx_paws), 0);
	return tdone();
}

TEST(tcp_ts_recent_not_from_a_bad_ack)
{
	trun(ts_bad_ack_body);
}
