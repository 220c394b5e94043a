/*
 * test_tcp_edge.c: TCP's edges (tcp/tcp*.c), hosted, with crafted
 * segments as in test_tcp.c (test/test_tcp.h has the scripted peer):
 * the RFC 5961 challenge ACKs, segments with no connection, the SYN
 * backlog with cookies off (a full one drops) and SYN-ACK retries, an application refusing a connection,
 * SYN retries running out, checksums (bad ones dropped, the device's
 * word taken, offload hints when sending: data, a pure ACK and an RST
 * for no connection each leave the field the pseudo-header's sum and
 * the hints right for the device), the connection limit, what
 * follows tcp_close (FIN_WAIT_2's limit, data answered by RST) and the
 * RFC 6528 ISNs.  Every test ends with no connection, no buffer and no
 * slab object left.
 */
#define _GNU_SOURCE
#include "test_tcp.h"

/* ---- RFC 5961, no connection, backlog, refusal ----------------------------------------- */

static int
rfc5961_body(void)
{
	struct out o;

	learn_peer();
	open_passive(43000, &bare);
	/* A SYN on an established connection: a challenge ACK, no reset. */
	uint32_t snd = p.snd;
	clear();
	p.snd = snd + 100;
	p_syn(&p, TCP_FSYN, &bare);
	CHECK_EQ(nframes, 1);
	o = out(0);
	CHECK_EQ(o.flags, TCP_FACK);
	CHECK_EQ(o.ack, snd);
	CHECK_EQ(tcp_state(app.c), TCP_ESTABLISHED);
	p.snd = snd;
	/* An ACK far below SND.UNA (blind data injection): a challenge, dropped. */
	uint32_t rcv = p.rcv;
	p.rcv = rcv - 200000;
	clear();
	p_send(&p, TCP_FACK, "evil", 4);
	CHECK_EQ(nframes, 1);
	CHECK_EQ(app.nrx, 0);
	/* An ACK of bytes never sent: an ACK back, the data dropped. */
	p.rcv = rcv + 50;
	p.snd = snd;
	clear();
	p_send(&p, TCP_FACK, "evil", 4);
	CHECK_EQ(nframes, 1);
	CHECK_EQ(out(0).ack, snd);
	CHECK_EQ(app.nrx, 0);
	p.rcv = rcv;
	p.snd = snd;
	p_send(&p, TCP_FACK, "good", 4);
	CHECK_EQ(app.nrx, 4);
	CHECK_EQ(DELTA(tcp, challenge_acks), 2);
	CHECK_EQ(DELTA(tcp, rx_bad_ack), 1);
	return tdone();
}

TEST(tcp_rfc5961_challenge_acks)
{
	trun(rfc5961_body);
}

static int
no_conn_body(void)
{
	struct out o;

	learn_peer();
	memset(&p, 0, sizeof p);
	p.port = 44000;
	p.our_port = 81;
	p.snd = 500;
	p.rcv = 12345;
	/* A SYN to a closed port: RST|ACK acking it, seq 0. */
	p_syn(&p, TCP_FSYN, &bare);
	CHECK_EQ(nframes, 1);
	o = out(0);
	CHECK_EQ(o.flags, TCP_FRST | TCP_FACK);
	CHECK_EQ(o.seq, 0);
	CHECK_EQ(o.ack, 501);
	/* An ACK: RST with its ack as our seq. */
	clear();
	p_send(&p, TCP_FACK, "abc", 3);
	o = out(0);
	CHECK_EQ(o.flags, TCP_FRST);
	CHECK_EQ(o.seq, 12345);
	/* An RST: nothing. */
	clear();
	p_send(&p, TCP_FRST, NULL, 0);
	CHECK_EQ(nframes, 0);
	CHECK_EQ(DELTA(tcp, rx_no_conn), 3);
	CHECK_EQ(DELTA(tcp, rst_tx), 2);
	return 0;
}

TEST(tcp_no_connection_rst)
{
	trun(no_conn_body);
}

static int
backlog_body(void)
{
	learn_peer();
	CHECK_EQ(tcp_listen(80, app_accept, &app), 0);
	CHECK_EQ(tcp_listen(80, app_accept, &app), EADDRINUSE);
	CHECK_EQ(tcp_listen(0, app_accept, &app), EINVAL);
	for (int i = 0; i < 3; i++) {
		memset(&p, 0, sizeof p);
		p.port = (uint16_t)(45000 + i);
		p.our_port = 80;
		p.snd = 100;
		p_syn(&p, TCP_FSYN, &bare);
	}
	CHECK_EQ(nframes, 2);
	CHECK_EQ(tcp_live(), 2);
	CHECK_EQ(DELTA(tcp, backlog_drops), 1);
	/* The handshakes give up after syn_retries SYN-ACKs, silently. */
	nap(60 + 120 + 240 + 100);
	CHECK_EQ(tcp_live(), 0);
	CHECK_EQ(nframes, 2 * 3);
	CHECK_EQ(app.accepted, 0);
	CHECK_EQ(tcp_unlisten(80), 0);
	CHECK_EQ(tcp_unlisten(80), ENOENT);
	return 0;
}

TEST(tcp_syn_backlog_and_syn_ack_retries)
{
	struct test_leaks l = tbegin();
	struct tcp_config cfg;

	tcp_config_get(&cfg);
	cfg.syn_backlog = 2;
	cfg.syn_cookies = 2;
	CHECK_EQ(tcp_configure(&cfg), EINVAL);
	cfg.syn_cookies = 0;		/* the drop (test_tcp_cookie.c: cookies) */
	CHECK_EQ(tcp_configure(&cfg), 0);
	cfg.rto_min_ms = 5000;
	CHECK_EQ(tcp_configure(&cfg), EINVAL);
	run(backlog_body);
	tend(l);
}

static int
refuse_body(void)
{
	learn_peer();
	app.refuse = 1;
	open_passive(46000, &bare);
	CHECK_EQ(app.accepted, 1);
	CHECK_EQ(tcp_live(), 0);
	CHECK_EQ(DELTA(tcp, refused_by_app), 1);
	CHECK_EQ(DELTA(tcp, rst_tx), 1);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

TEST(tcp_accept_refused)
{
	trun(refuse_body);
}

static int
syn_timeout_body(void)
{
	learn_peer();
	CHECK_EQ(tcp_connect(PEER_IP, 80, &app_cb, &app, &app.c), 0);
	CHECK_EQ(tcp_connect(PEER_IP, 0, &app_cb, &app, &app.c), EINVAL);
	nap(60 + 120 + 240 + 100);
	CHECK_EQ(nframes, 3);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(out(i).flags, TCP_FSYN);
	CHECK_EQ(out(2).seq, out(0).seq);
	CHECK_EQ(app.aborted, 1);
	CHECK_EQ(app.reason, TCP_ERR_TIMEOUT);
	CHECK_EQ(tcp_live(), 0);
	return 0;
}

TEST(tcp_connect_times_out)
{
	trun(syn_timeout_body);
}

/* ---- checksums -------------------------------------------------------------------------- */

/*
 * Frame i was sent with its checksum offloaded: check the hints and the
 * pseudo-header's sum in the field, then do what the device would (sum
 * from csum_start, store at csum_offset), so that out() can check it.
 */
static void
device_csum(int i)
{
	uint8_t *fr = frames[i].b;
	uint16_t n = (uint16_t)(frames[i].len - L4), c;

	CHECK_EQ(frames[i].has_hints, 1);
	CHECK_EQ(frames[i].h.csum_start, L4);
	CHECK_EQ(frames[i].h.csum_offset, 16);
	CHECK_EQ(fr[L4 + 16] << 8 | fr[L4 + 17],
	    inet_fold(inet_pseudo(OUR_IP, F_IP(i)->dst, IP_PROTO_TCP, n)));
	c = inet_csum(inet_sum(fr + L4, n, 0));
	fr[L4 + 16] = (uint8_t)(c >> 8);
	fr[L4 + 17] = (uint8_t)c;
}

static int
csum_body(void)
{
	static uint8_t f[256];
	size_t n;

	learn_peer();
	open_passive(47000, &bare);
	/* A bad checksum: dropped and counted, unless the device vouched. */
	n = mk_tcp(f, p.port, 80, p.snd, p.rcv, TCP_FACK, 1000, NULL, 0, "abcd", 4);
	f[n - 1] ^= 0x40;
	inject(f, n, L4 + 7, 0);
	CHECK_EQ(app.nrx, 0);
	CHECK_EQ(DELTA(tcp, rx_bad_csum), 1);
	inject(f, n, L4 + 7, NETIF_RX_CSUM_OK);
	CHECK_EQ(app.nrx, 4);
	CHECK_EQ(app.rx[3], 'd' ^ 0x40);
	p.snd += 4;
	/* Offload: the device gets the pseudo-header sum and the hints. */
	fake.features |= NETIF_F_TX_CSUM;
	clear();
	CHECK_EQ(tcp_write(app.c, "offload", 7), 7);
	fake.features &= ~NETIF_F_TX_CSUM;
	CHECK_EQ(nframes, 1);
	device_csum(0);
	p_take(&p, 0);				/* out() checks the finished sum */
	/* Control segments too: a pure ACK, and an RST for no connection. */
	fake.features |= NETIF_F_TX_CSUM;
	clear();
	uint32_t snd = p.snd;
	p.snd += 1000;				/* out of order: an ACK at once */
	p_send(&p, TCP_FACK, "late", 4);
	p.snd = snd;
	n = mk_tcp(f, 5, 81, 1, 0, TCP_FSYN, 1000, NULL, 0, NULL, 0);
	inject(f, n, 0, 0);			/* port 81: nobody listens */
	fake.features &= ~NETIF_F_TX_CSUM;
	CHECK_EQ(nframes, 2);
	for (int i = 0; i < nframes; i++)
		device_csum(i);
	CHECK_EQ(out(0).flags, TCP_FACK);
	CHECK_EQ(out(1).flags, TCP_FRST | TCP_FACK);
	/* A header too short, an offset past the segment. */
	n = mk_tcp(f, p.port, 80, p.snd, p.rcv, TCP_FACK, 1000, NULL, 0, NULL, 0);
	f[L4 + 12] = 0x40;
	inject(f, n, 0, NETIF_RX_CSUM_OK);
	f[L4 + 12] = 0xf0;
	inject(f, n, 0, NETIF_RX_CSUM_OK);
	CHECK_EQ(DELTA(tcp, rx_bad_off), 2);
	return tdone();
}

TEST(tcp_checksums_and_offload)
{
	trun(csum_body);
}

/* ---- limits ----------------------------------------------------------------------------- */

static int
conn_max_body(void)
{
	struct tcp_conn *c2;

	learn_peer();
	CHECK_EQ(tcp_connect(PEER_IP, 80, &app_cb, &app, &app.c), 0);
	CHECK_EQ(tcp_connect(PEER_IP, 81, &app_cb, &app, &c2), EMFILE);
	/* A SYN to a listener is turned away too, silently. */
	CHECK_EQ(tcp_listen(80, app_accept, &app), 0);
	memset(&p, 0, sizeof p);
	p.port = 48000;
	p.our_port = 80;
	clear();
	p_syn(&p, TCP_FSYN, &bare);
	CHECK_EQ(nframes, 0);
	CHECK_EQ(DELTA(tcp, conn_limit), 2);
	CHECK_EQ(tcp_live(), 1);
	tcp_close(app.c);			/* SYN_SENT: just gone */
	CHECK_EQ(tcp_live(), 0);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

TEST(tcp_connection_limit)
{
	struct test_leaks l = tbegin();
	struct tcp_config cfg;

	tcp_config_get(&cfg);
	cfg.conn_max = 1;
	CHECK_EQ(tcp_configure(&cfg), 0);
	run(conn_max_body);
	tend(l);
}

/* ---- after tcp_close -------------------------------------------------------------------- */

static int
orphan_body(void)
{
	struct out o;

	/* Closed by the app, acked by the peer: FIN_WAIT_2, then gone after
	 * fin_wait2_ms even though the peer never sends its FIN. */
	open_passive(49000, &bare);
	clear();
	tcp_close(app.c);
	o = p_take(&p, 0);
	CHECK_EQ(o.flags, TCP_FACK | TCP_FFIN);
	p_send(&p, TCP_FACK, NULL, 0);
	CHECK_EQ(tcp_live(), 1);
	nap(130);
	CHECK_EQ(tcp_live(), 0);
	/* Closed, and the peer sends data nobody will read: an RST. */
	memset(&app, 0, sizeof app);
	open_passive(49001, &bare);
	tcp_close(app.c);
	p_take(&p, 0);
	clear();
	p_send(&p, TCP_FACK, "unread", 6);
	CHECK_EQ(nframes, 1);
	CHECK(out(0).flags & TCP_FRST);
	CHECK_EQ(tcp_live(), 0);
	CHECK_EQ(DELTA(tcp, rx_after_close), 1);
	CHECK_EQ(app.nrx, 0);
	CHECK_EQ(tcp_unlisten(80), 0);
	return 0;
}

TEST(tcp_fin_wait_2_timeout_and_data_after_close)
{
	trun(orphan_body);
}

/* RFC 6528: one 4-tuple's ISNs advance with the clock; another's are unrelated. */
TEST(tcp_isn_rfc6528)
{
	uint32_t a1, a2, b;

	tbegin();
	a1 = tcp_isn(OUR_IP, 49152, PEER_IP, 80);
	a2 = tcp_isn(OUR_IP, 49152, PEER_IP, 80);
	b = tcp_isn(OUR_IP, 49153, PEER_IP, 80);
	CHECK(a2 - a1 < 250000);		/* under a second of 4 us ticks */
	CHECK(b - a1 > 1000000 && a1 - b > 1000000);
}
