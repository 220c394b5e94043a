/*
 * test_tcp.c: TCP's state machine (tcp/tcp*.c), hosted, with crafted
 * segments in lwIP's manner (test/test_tcp.h has the scripted peer):
 * passive and active opens with their options, data both ways with
 * delayed ACKs, orderly close from either side, half-close, TIME_WAIT
 * (its FIN retransmitted, its end), simultaneous open and close, and RST
 * in every state; a burst of segments merged and ACKed once.  The edges (RFC 5961, segments with no connection,
 * the backlog, limits, checksums, ISNs) are in test_tcp_edge.c.  Every
 * test ends with no connection, no buffer and no slab object left.
 */
#define _GNU_SOURCE
#include "test_tcp.h"

/* ---- opening, data, closing ------------------------------------------------------ */

static int
passive_body(void)
{
	struct out o = open_passive(40000, &full);
	struct tcp_info ti;

	/* The SYN-ACK's options answer the SYN's. */
	CHECK_EQ(o.mss, 1460);
	CHECK_EQ(o.ws, 3);			/* 256 KiB buffer: shift 3 */
	CHECK(o.sack_ok);
	CHECK(o.ts);
	CHECK_EQ(o.tsecr, 777);
	CHECK_EQ(o.win, 65535);			/* never scaled in a SYN */
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.mss, 1460 - 12);
	CHECK_EQ(ti.snd_wscale, 7);
	CHECK_EQ(ti.rcv_wscale, 3);
	CHECK_EQ(ti.snd_wnd, 65535u << 7);
	CHECK(ti.ts_ok && ti.sack_ok);
	/* One segment: the ACK is delayed; the second gets one at once. */
	p_send(&p, TCP_FACK | TCP_FPSH, "hello", 5);
	CHECK_EQ(app.nrx, 5);
	CHECK_EQ(nframes, 0);
	p_send(&p, TCP_FACK | TCP_FPSH, " world", 6);
	CHECK_EQ(app.nrx, 11);
	CHECK(memcmp(app.rx, "hello world", 11) == 0);
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.flags, TCP_FACK);
	CHECK_EQ(o.ack, p.snd);
	CHECK_EQ(o.win, 262144 >> 3);
	/* Data the other way; the ACK frees it and says so. */
	clear();
	CHECK_EQ(tcp_write(app.c, "reply", 5), 5);
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.flags, TCP_FACK | TCP_FPSH);
	CHECK_EQ(o.len, 5);
	CHECK(memcmp(o.data, "reply", 5) == 0);
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK_EQ(app.sent, 5);
	/* The peer closes: we hear it, ACK it, close too. */
	clear();
	p_send(&p, TCP_FACK | TCP_FFIN, NULL, 0);
	CHECK_EQ(app.fin, 1);
	CHECK_EQ(tcp_state(app.c), TCP_CLOSE_WAIT);
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.ack, p.snd);
	clear();
	tcp_close(app.c);
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.flags, TCP_FACK | TCP_FFIN);
	CHECK_EQ(tcp_live(), 1);			/* LAST_ACK */
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK_EQ(tcp_live(), 0);
	CHECK_EQ(app.closed, 0);			/* closed by the app: no callback */
	CHECK_EQ(tcp_unlisten(80), 0);
	CHECK_EQ(DELTA(tcp, accepts), 1);
	CHECK_EQ(DELTA(tcp, established), 1);
	return 0;
}

TEST(tcp_passive_open_data_close)
{
	trun(passive_body);
}

static int
active_body(void)
{
	static const struct synopt so = { .mss = 1000, .ws = 2, .sack_ok = 1, .ts = 1 };
	static uint8_t big[3000];
	struct tcp_info ti;
	struct out o;

	learn_peer();
	open_active(&so);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.mss, 1000 - 12);
	CHECK_EQ(ti.snd_wscale, 2);
	CHECK_EQ(ti.cwnd, 4 * 988);		/* RFC 5681's initial window */
	/* 3000 bytes: three full segments go; Nagle holds the short fourth. */
	for (int i = 0; i < 3000; i++)
		big[i] = (uint8_t)(i * 13);
	CHECK_EQ(tcp_write(app.c, big, 3000), 3000);
	CHECK_EQ(nframes, 3);
	for (int i = 0; i < 3; i++) {
		o = p_take(&p, i);
		CHECK_EQ(o.len, 988);
		CHECK(memcmp(o.data, big + 988 * i, 988) == 0);
	}
	clear();
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK_EQ(app.sent, 3 * 988);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.cwnd, 7 * 988);		/* slow start counts the bytes a
						 * stretch ACK acks (RFC 3465) */
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.len, 36);
	/* Shut down our side: the FIN follows; FIN_WAIT_1, then _2. */
	clear();
	CHECK_EQ(tcp_shutdown(app.c), 0);
	CHECK_EQ(tcp_shutdown(app.c), ENOTCONN);
	CHECK_EQ(tcp_write(app.c, "x", 1), -EPIPE);
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.flags, TCP_FACK | TCP_FFIN);
	CHECK_EQ(tcp_state(app.c), TCP_FIN_WAIT_1);
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK_EQ(tcp_state(app.c), TCP_FIN_WAIT_2);
	CHECK_EQ(app.sent, 3000);
	/* Half-closed: the peer still sends, we still receive. */
	p_send(&p, TCP_FACK, "late", 4);
	CHECK_EQ(app.nrx, 4);
	clear();
	p_send(&p, TCP_FACK | TCP_FFIN, NULL, 0);
	CHECK_EQ(tcp_state(app.c), TCP_TIME_WAIT);
	CHECK_EQ(app.fin, 1);
	CHECK_EQ(app.closed, 1);
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.ack, p.snd);
	/* TIME_WAIT answers the FIN again, and ends after 2MSL. */
	clear();
	p.snd--;
	p_send(&p, TCP_FACK | TCP_FFIN, NULL, 0);
	CHECK_EQ(nframes, 1);
	CHECK_EQ(out(0).ack, p.snd);
	tcp_close(app.c);
	CHECK_EQ(tcp_live(), 1);
	nap(30);
	CHECK_EQ(tcp_live(), 1);
	nap(100);
	CHECK_EQ(tcp_live(), 0);
	CHECK_EQ(DELTA(tcp, time_wait), 1);
	return 0;
}

TEST(tcp_active_open_half_close_time_wait)
{
	trun(active_body);
}

static int
close_wait_body(void)
{
	struct out o;

	learn_peer();
	open_passive(40001, &bare);
	/* No options: MSS 536, no scaling, no timestamps. */
	struct tcp_info ti;
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.mss, 536);
	CHECK_EQ(ti.rcv_wscale, 0);
	CHECK(!ti.ts_ok && !ti.sack_ok);
	/* The peer closes first; we go on sending in CLOSE_WAIT. */
	p_send(&p, TCP_FACK | TCP_FFIN, NULL, 0);
	CHECK_EQ(tcp_state(app.c), TCP_CLOSE_WAIT);
	clear();
	CHECK_EQ(tcp_write(app.c, "still here", 10), 10);
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.len, 10);
	CHECK_EQ(o.win, 65535);			/* unscaled: clamped */
	p_send(&p, TCP_FACK, NULL, 0);
	clear();
	CHECK_EQ(tcp_shutdown(app.c), 0);
	CHECK_EQ(tcp_state(app.c), TCP_LAST_ACK);
	CHECK_EQ(nframes, 1);
	uint32_t rcv = p.rcv;
	o = p_take(&p, 0);
	CHECK_EQ(o.flags, TCP_FACK | TCP_FFIN);
	p.rcv = rcv;
	p_send(&p, TCP_FACK, NULL, 0);		/* not our FIN's ACK */
	CHECK_EQ(tcp_state(app.c), TCP_LAST_ACK);
	p.rcv = rcv + 1;
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK_EQ(tcp_state(app.c), TCP_CLOSED);
	CHECK_EQ(app.closed, 1);		/* shut down, not closed: told */
	tcp_close(app.c);
	CHECK_EQ(tcp_live(), 0);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

TEST(tcp_close_wait_last_ack)
{
	trun(close_wait_body);
}

/* ---- simultaneous open and close --------------------------------------------------- */

static int
simopen_body(void)
{
	struct out o;

	learn_peer();
	memset(&p, 0, sizeof p);
	p.port = 80;
	p.snd = 9000;
	p.win = 65535;
	CHECK_EQ(tcp_connect(PEER_IP, 80, &app_cb, &app, &app.c), 0);
	o = p_take(&p, 0);
	p.our_port = o.sport;
	p.rcv = o.seq;				/* the peer has not seen our SYN */
	clear();
	p_syn(&p, TCP_FSYN, &bare);		/* SYNs cross */
	CHECK_EQ(tcp_state(app.c), TCP_SYN_RCVD);
	CHECK_EQ(nframes, 1);
	o = out(0);
	CHECK_EQ(o.flags, TCP_FSYN | TCP_FACK);
	CHECK_EQ(o.ack, 9001);
	p.rcv = o.seq + 1;
	/* The peer's SYN-ACK (its SYN again, with an ACK of ours). */
	p.snd = 9000;
	clear();
	p_syn(&p, TCP_FSYN | TCP_FACK, &bare);
	CHECK_EQ(tcp_state(app.c), TCP_ESTABLISHED);
	CHECK_EQ(app.connected, 1);
	/* Simultaneous close: FINs cross, CLOSING, then TIME_WAIT. */
	clear();
	CHECK_EQ(tcp_shutdown(app.c), 0);
	o = out(0);
	CHECK_EQ(o.flags, TCP_FACK | TCP_FFIN);
	uint32_t rcv = p.rcv;
	clear();
	p_send(&p, TCP_FACK | TCP_FFIN, NULL, 0);	/* acks up to our FIN, not it */
	CHECK_EQ(tcp_state(app.c), TCP_CLOSING);
	CHECK_EQ(nframes, 1);
	CHECK_EQ(out(0).ack, p.snd);
	p.rcv = rcv + 1;
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK_EQ(tcp_state(app.c), TCP_TIME_WAIT);
	CHECK_EQ(app.closed, 1);
	tcp_close(app.c);
	nap(100);
	CHECK_EQ(tcp_live(), 0);
	return 0;
}

TEST(tcp_simultaneous_open_and_close)
{
	trun(simopen_body);
}

/* ---- RST in every state --------------------------------------------------------------- */

/* Put the passive connection in state st (from ESTABLISHED). */
static void
to_state(enum tcp_state st)
{
	switch (st) {
	case TCP_FIN_WAIT_1:
		tcp_shutdown(app.c);
		break;
	case TCP_FIN_WAIT_2:
		tcp_shutdown(app.c);
		p_take(&p, nframes - 1);
		p_send(&p, TCP_FACK, NULL, 0);
		break;
	case TCP_CLOSE_WAIT:
		p_send(&p, TCP_FACK | TCP_FFIN, NULL, 0);
		break;
	case TCP_CLOSING:
		tcp_shutdown(app.c);
		p_send(&p, TCP_FACK | TCP_FFIN, NULL, 0);
		break;
	case TCP_LAST_ACK:
		p_send(&p, TCP_FACK | TCP_FFIN, NULL, 0);
		tcp_shutdown(app.c);
		break;
	case TCP_TIME_WAIT:
		tcp_shutdown(app.c);
		p_take(&p, nframes - 1);
		p_send(&p, TCP_FACK | TCP_FFIN, NULL, 0);
		break;
	default:
		break;
	}
	CHECK_EQ(tcp_state(app.c), st);
}

static enum tcp_state rst_state;

static int
rst_body(void)
{
	learn_peer();
	memset(&app, 0, sizeof app);
	open_passive((uint16_t)(41000 + rst_state), &bare);
	clear();
	to_state(rst_state);
	/* Outside the window: ignored, silently. */
	uint32_t snd = p.snd;
	p.snd += 1u << 20;
	clear();
	p_send(&p, TCP_FRST, NULL, 0);
	CHECK_EQ(nframes, 0);
	CHECK_EQ(tcp_live(), 1);
	/* In the window, not exact: a challenge ACK (RFC 5961 3.2). */
	p.snd = snd + 1;
	p_send(&p, TCP_FRST, NULL, 0);
	CHECK_EQ(tcp_live(), 1);
	CHECK_EQ(nframes, 1);
	CHECK_EQ(out(0).flags, TCP_FACK);
	CHECK_EQ(out(0).ack, snd);
	/* Exact: the connection goes, and the app hears why. */
	p.snd = snd;
	p_send(&p, TCP_FRST, NULL, 0);
	CHECK_EQ(tcp_live(), 0);
	CHECK_EQ(app.aborted, 1);
	CHECK_EQ(app.reason, TCP_ERR_RESET);
	CHECK_EQ(DELTA(tcp, challenge_acks), 1);
	CHECK_EQ(DELTA(tcp, rst_rx), 1);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

TEST(tcp_rst_in_each_synchronized_state)
{
	static const enum tcp_state st[] = { TCP_ESTABLISHED, TCP_FIN_WAIT_1,
	    TCP_FIN_WAIT_2, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK, TCP_TIME_WAIT };

	for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
		struct test_leaks l = tbegin();
		rst_state = st[i];
		run(rst_body);
		tend(l);
	}
}

static int
rst_handshake_body(void)
{
	struct out o;

	learn_peer();
	/* SYN_SENT: an RST without an acceptable ACK is ignored ... */
	memset(&p, 0, sizeof p);
	p.port = 80;
	p.win = 1000;
	CHECK_EQ(tcp_connect(PEER_IP, 80, &app_cb, &app, &app.c), 0);
	o = p_take(&p, 0);
	p.our_port = o.sport;
	clear();
	p.rcv = o.seq + 5;
	p_send(&p, TCP_FRST | TCP_FACK, NULL, 0);
	CHECK_EQ(tcp_live(), 1);
	CHECK_EQ(tcp_state(app.c), TCP_SYN_SENT);
	/* ... and one that acks our SYN refuses the connection. */
	p.rcv = o.seq + 1;
	p_send(&p, TCP_FRST | TCP_FACK, NULL, 0);
	CHECK_EQ(tcp_live(), 0);
	CHECK_EQ(app.aborted, 1);
	CHECK_EQ(app.reason, TCP_ERR_REFUSED);
	/* SYN_RCVD: an exact RST sends it back to listening, silently. */
	memset(&app, 0, sizeof app);
	CHECK_EQ(tcp_listen(80, app_accept, &app), 0);
	memset(&p, 0, sizeof p);
	p.port = 42000;
	p.our_port = 80;
	p.snd = 100;
	p.win = 1000;
	clear();
	p_syn(&p, TCP_FSYN, &bare);
	CHECK_EQ(tcp_live(), 1);
	p_take(&p, 0);
	p_send(&p, TCP_FRST, NULL, 0);
	CHECK_EQ(tcp_live(), 0);
	CHECK_EQ(app.accepted, 0);
	/* SYN_RCVD: an ACK of something else gets an RST and no change. */
	p.port = 42001;
	p.snd = 100;
	clear();
	p_syn(&p, TCP_FSYN, &bare);
	o = p_take(&p, 0);
	p.rcv = o.seq + 7;
	clear();
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK_EQ(nframes, 1);
	CHECK_EQ(out(0).flags, TCP_FRST);
	CHECK_EQ(out(0).seq, o.seq + 7);
	CHECK_EQ(tcp_live(), 1);
	/* The SYN again: the SYN-ACK again. */
	p.snd = 100;
	clear();
	p_syn(&p, TCP_FSYN, &bare);
	CHECK_EQ(nframes, 1);
	CHECK_EQ(out(0).flags, TCP_FSYN | TCP_FACK);
	CHECK_EQ(out(0).seq, o.seq);
	/* Unlistened while the handshake runs: the final ACK is refused. */
	CHECK_EQ(tcp_unlisten(80), 0);
	p.rcv = o.seq + 1;
	clear();
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK_EQ(tcp_live(), 0);
	CHECK_EQ(nframes, 1);
	CHECK(out(0).flags & TCP_FRST);
	CHECK_EQ(app.accepted, 0);
	return 0;
}

TEST(tcp_rst_in_handshake_states)
{
	trun(rst_handshake_body);
}

/* ---- bursts: ACKs and coalescing (tcp_rx.c) -------------------------------------- */

static int
burst_body(void)
{
	static uint8_t src[16 * 1448], small[1000];
	struct tcp_info ti;
	uint32_t first;
	struct out o;

	open_passive(40000, &full);
	test_fill(src, sizeof src, 7);
	memset(small, 's', sizeof small);
	/* Six full segments in one burst: held and merged, delivered in
	 * order and ACKed once, when the burst ends. */
	clear();
	for (int i = 0; i < 6; i++)
		p_burst(&p, TCP_FACK | TCP_FPSH, src + i * 1448, 1448);
	CHECK_EQ(app.nrx, 0);
	CHECK_EQ(nframes, 0);
	settle();
	CHECK_EQ(app.nrx, 6 * 1448);
	CHECK(memcmp(app.rx, src, 6 * 1448) == 0);
	CHECK_EQ(DELTA(tcp, rx_coalesced), 5);
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.flags, TCP_FACK);
	CHECK_EQ(o.ack, p.snd);
	CHECK_EQ(o.len, 0);
	/* A short segment ends the run: the whole goes up at once, its ACK
	 * at the burst's end. */
	clear();
	for (int i = 6; i < 9; i++)
		p_burst(&p, TCP_FACK | TCP_FPSH, src + i * 1448, 1448);
	p_burst(&p, TCP_FACK | TCP_FPSH, src + 9 * 1448, 500);
	CHECK_EQ(app.nrx, 9 * 1448 + 500);
	CHECK(memcmp(app.rx, src, 9 * 1448 + 500) == 0);
	CHECK_EQ(nframes, 0);
	settle();
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.ack, p.snd);
	/* Short segments are not held: each goes up as it comes; past
	 * TCP_ACK_STRETCH bytes since the last ACK one goes at once, and
	 * one more at the burst's end. */
	clear();
	first = p.snd;
	for (int i = 0; i < 70; i++)
		p_burst(&p, TCP_FACK | TCP_FPSH, small, sizeof small);
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.bytes_received, 9 * 1448 + 500 + 70 * sizeof small);
	CHECK_EQ(nframes, 1);
	o = p_take(&p, 0);
	CHECK_EQ(o.ack - first, (TCP_ACK_STRETCH + sizeof small - 1) / sizeof small * sizeof small);
	settle();
	CHECK_EQ(nframes, 2);
	o = p_take(&p, 1);
	CHECK_EQ(o.ack, p.snd);
	/* A segment that does not continue the held one (its ACK moved):
	 * the held one goes up first, in order. */
	clear();
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(DELTA(tcp, rx_coalesced), 5 + 3);
	p_burst(&p, TCP_FACK | TCP_FPSH, src, 1448);
	p.rcv--;				/* an older ACK: not the same */
	p_burst(&p, TCP_FACK | TCP_FPSH, src + 1448, 1448);
	p.rcv++;
	settle();
	CHECK_EQ(DELTA(tcp, rx_coalesced), 5 + 3);	/* none merged */
	first = (uint32_t)ti.bytes_received;
	tcp_conn_info(app.c, &ti);
	CHECK_EQ(ti.bytes_received - first, 2 * 1448);
	CHECK_EQ(nframes, 1);
	CHECK_EQ(p_take(&p, 0).ack, p.snd);
	/* A connection that holds a segment and owes an ACK, aborted first:
	 * the RST and nothing after it; the held bytes are freed (tend). */
	clear();
	p_burst(&p, TCP_FACK | TCP_FPSH, src, 1448);
	p_burst(&p, TCP_FACK | TCP_FPSH, src + 1448, 1448);
	CHECK_EQ(nframes, 0);
	tcp_abort(app.c);
	app.c = NULL;
	settle();
	CHECK_EQ(nframes, 1);
	CHECK(out(0).flags & TCP_FRST);
	nap(1);					/* the grace period: its memory goes */
	CHECK_EQ(tcp_live(), 0);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

TEST(tcp_bursts_ack_and_coalesce)
{
	trun(burst_body);
}
