/*
 * test_tcp_loss.c: TCP's loss recovery, hosted, with crafted segments
 * (test/test_tcp.h): the RTO with backoff, Karn's rule and its give-up,
 * the RTO restarted by an ACK of new data (the timer left armed early
 * re-arms itself, it does not fire),
 * fast retransmit with NewReno's partial and full ACKs and limited
 * transmit, SACK blocks generated from the out-of-order queue and
 * reassembly, the SACK scoreboard resending only the hole (and a hole
 * lost again, found at once in recovery), ssthresh over two RTOs in a
 * row, the tail loss probe.  Every test ends with no connection and
 * nothing leaked.
 */
#define _GNU_SOURCE
#include "test_tcp.h"

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
	nap(240 + 300 + 300 + 600);		/* RTO 240, then 300: rto_max; slack for a loaded machine */
	CHECK_EQ(app.aborted, 1);
	CHECK_EQ(app.reason, TCP_ERR_TIMEOUT);
	CHECK(out(nframes - 1).flags & TCP_FRST);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

/*
 * An ACK of new data restarts the RTO (RFC 6298 5.3).  The timer armed
 * when "a" went (due at 60 ms) is left where it is and re-arms itself
 * for the restart, so "b", sent before "a" was acked at 40 ms, goes
 * again one RTO (now 40 + 4 * 20 = 120 ms) after that ACK, not at 60.
 */
static int
rto_restart_body(void)
{
	struct tcp_info ti;

	open_passive(50013, &bare);
	tcp_setopt(app.c, TCP_OPT_NODELAY, 1);
	clear();
	CHECK_EQ(tcp_write(app.c, "a", 1), 1);
	nap(40);
	CHECK_EQ(tcp_write(app.c, "b", 1), 1);
	CHECK_EQ(nframes, 2);
	p_take(&p, 0);
	p_send(&p, TCP_FACK, NULL, 0);		/* "a" acked: a sample, the restart */
	tcp_conn_info(app.c, &ti);
	CHECK(ti.rto_ms >= 110);
	nap(50);				/* past "a"'s deadline: nothing yet */
	CHECK_EQ(nframes, 2);
	CHECK_EQ(DELTA(tcp, timeouts), 0);
	nap(ti.rto_ms);
	CHECK_EQ(nframes, 3);
	CHECK_EQ(out(2).seq, out(1).seq);	/* "b" again */
	CHECK_EQ(out(2).len, 1);
	CHECK_EQ(DELTA(tcp, timeouts), 1);
	return tdone();
}

TEST(tcp_rto_restarted_by_ack)
{
	trun(rto_restart_body);
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
	return tdone();
}

TEST(tcp_fast_retransmit_newreno)
{
	trun(newreno_body);
}

/* ---- SACK ------------------------------------------------------------------------- */

/* The SYN options of the SACK tests' peer: MSS 1000, SACK, nothing else. */
static const struct synopt sack_so = { .mss = 1000, .ws = 0, .sack_ok = 1, .ts = 0 };

/*
 * The SACK tests' start: a connection from port pport, 30 segments of m
 * bytes written, the first four acked; returns the first one's seq.
 */
static uint32_t
sack_start(uint16_t pport, uint32_t m)
{
	uint32_t q0;

	open_passive(pport, &sack_so);
	tcp_setopt(app.c, TCP_OPT_NODELAY, 1);
	clear();
	CHECK_EQ(tcp_write(app.c, pat, 30 * m), 30 * m);
	q0 = out(0).seq;
	for (int i = 1; i <= 4; i++)
		ack_to(q0 + (uint32_t)i * m);
	return q0;
}

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
	return tdone();
}

TEST(tcp_sack_generation_and_reassembly)
{
	trun(sack_gen_body);
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
	struct tcp_info ti;
	uint32_t q0, m = 1000;

	open_passive(50006, &sack_so);
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
	return tdone();
}

TEST(tcp_sack_scoreboard_resends_only_holes_lost_retransmission)
{
	trun(sack_use_body);
}

/*
 * In recovery a hole's retransmission lost again is seen as soon as a
 * segment sent after it is SACKed, however soon after (RFC 8985 6.2:
 * no reordering allowance while in recovery with none observed), not
 * after a probe or the RTO.  The same steps as above, without the nap.
 */
static int
sack_relost_body(void)
{
	uint32_t q0, m = 1000, hi;

	q0 = sack_start(50007, m);
	sack_to(q0 + 4 * m, q0 + 5 * m, q0 + 6 * m);
	sack_to(q0 + 4 * m, q0 + 5 * m, q0 + 7 * m);
	clear();
	sack_to(q0 + 4 * m, q0 + 5 * m, q0 + 8 * m);
	CHECK_EQ(out(0).seq, q0 + 4 * m);	/* the hole, once */
	clear();
	sack_to(q0 + 4 * m, q0 + 5 * m, q0 + 14 * m);
	CHECK(nframes >= 1);			/* new data, after the hole's resend */
	CHECK(SEQ_GEQ(out(0).seq, q0 + 14 * m));
	hi = out(nframes - 1).seq + out(nframes - 1).len;
	clear();
	sack_to(q0 + 4 * m, q0 + 5 * m, hi);	/* at once: no reordering wait */
	CHECK(nframes >= 1);
	CHECK_EQ(out(0).seq, q0 + 4 * m);	/* the hole, a third time */
	CHECK_EQ(DELTA(tcp, timeouts), 0);
	CHECK_EQ(DELTA(tcp, tlp_probes), 0);
	return tdone();
}

TEST(tcp_sack_lost_rexmit_found_at_once_in_recovery)
{
	trun(sack_relost_body);
}

/* The peer ACKs up to ack and SACKs [l1, r1) and [l2, r2). */
static void
sack2_to(uint32_t ack, uint32_t l1, uint32_t r1, uint32_t l2, uint32_t r2)
{
	uint8_t o[20] = { TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK, 18 };
	uint32_t v[4] = { hton32(l1), hton32(r1), hton32(l2), hton32(r2) };

	memcpy(o + 4, v, 16);
	p.rcv = ack;
	p_send_opt(&p, TCP_FACK, NULL, 0, o, 20);
}

/*
 * Two RTOs in a row on the same hole: ssthresh is set by the first only
 * (RFC 5681 3.1: "has not yet been resent by way of the retransmission
 * timer"; the second's flight is the one resent segment, and halving it
 * would pin ssthresh at two segments, so that slow start after the
 * losses stops at two segments).
 */
static int
rto_repeat_body(void)
{
	struct tcp_info ti;
	uint32_t q0, m = 1000, ss1;

	q0 = sack_start(50009, m);
	/* Segments 5 and 7 (from 1) lost, 6 and 8 SACKed; then silence. */
	sack2_to(q0 + 4 * m, q0 + 5 * m, q0 + 6 * m, q0 + 7 * m, q0 + 8 * m);
	nap(50);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.timeouts, 1);
	ss1 = ti.ssthresh;
	CHECK(ss1 >= 4 * m);
	nap(60);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.timeouts, 2);
	CHECK_EQ(ti.ssthresh, ss1);		/* not halved again */
	CHECK_EQ(ti.cwnd, m);
	/* The first hole arrives: the ACK stops at the second, sent next. */
	clear();
	ack_to(q0 + 6 * m);
	CHECK(nframes >= 1);
	CHECK_EQ(out(0).seq, q0 + 6 * m);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.ssthresh, ss1);
	return tdone();
}

TEST(tcp_rto_twice_keeps_ssthresh)
{
	trun(rto_repeat_body);
}

/* ---- tail loss probe ------------------------------------------------------------------ */

static int
tlp_body(void)
{
	struct tcp_info ti;
	struct out o;

	open_passive(50012, &full);
	/* An RTT sample first: the peer answers at once. */
	clear();
	CHECK_EQ(tcp_write(app.c, "one", 3), 3);
	p_take(&p, 0);
	p_send(&p, TCP_FACK, NULL, 0);
	tcp_conn_info(app.c, &ti);
	CHECK(ti.srtt_us > 0 && ti.srtt_us < 1000);
	/* The tail is lost: two RTTs (at least 2 ms) on, it goes again as a
	 * probe, long before the RTO (30 ms here). */
	clear();
	CHECK_EQ(tcp_write(app.c, "tail", 4), 4);
	o = out(0);
	nap(10);
	CHECK_EQ(nframes, 2);
	CHECK_EQ(out(1).seq, o.seq);
	CHECK_EQ(out(1).len, 4);
	CHECK_EQ(DELTA(tcp, tlp_probes), 1);
	CHECK_EQ(DELTA(tcp, timeouts), 0);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.cwnd, 3 * (1460 - 12) + 3);	/* a probe is not a timeout */
	/* Still nothing: the RTO follows. */
	nap(50);
	CHECK(DELTA(tcp, timeouts) >= 1);
	return tdone();
}

TEST(tcp_tail_loss_probe)
{
	trun(tlp_body);
}


/*
 * The send queue keeps a write as segments of whole MSSes, up to a TSO
 * frame's (tcp_seg_cap), each sent as one frame and cut below (gso.c):
 * after the initial window, a write of ten MSSes and a bit is three
 * segments (the four sent, six more, the short rest).  A SACK of part of
 * the sent one cuts it into MSSes first, so the scoreboard marks just
 * the SACKed one.
 */
static int
sndq_body(void)
{
	struct tcp_seg *s;
	uint32_t q0, m = 1000;
	int n = 0;

	open_passive(50007, &sack_so);
	tcp_setopt(app.c, TCP_OPT_NODELAY, 1);
	clear();
	CHECK_EQ(tcp_write(app.c, pat, 10 * m + 300), 10 * m + 300);
	CHECK_EQ(nframes, 4);			/* the initial window */
	for (int i = 0; i < 4; i++)
		CHECK_EQ(out(i).len, m);
	q0 = out(0).seq;
	TAILQ_FOREACH(s, &app.c->sndq, link)
		n++;
	CHECK_EQ(n, 3);
	s = TAILQ_FIRST(&app.c->sndq);
	CHECK_EQ(s->len, 4 * m);
	CHECK_EQ(TAILQ_NEXT(s, link)->len, 6 * m);
	CHECK_EQ(TAILQ_LAST(&app.c->sndq, tcp_segq)->len, 300);
	clear();
	sack_to(q0, q0 + 2 * m, q0 + 3 * m);
	s = TAILQ_FIRST(&app.c->sndq);
	for (int i = 0; i < 4 && s != NULL; i++, s = TAILQ_NEXT(s, link)) {
		CHECK_EQ(s->seq, q0 + (uint32_t)i * m);
		CHECK_EQ(s->len, m);
		CHECK_EQ(s->sacked, i == 2);
	}
	return tdone();
}

TEST(tcp_send_queue_segments_of_whole_msses)
{
	trun(sndq_body);
}
