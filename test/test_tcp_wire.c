/*
 * test_tcp_wire.c: two TCP stacks over the in-memory wire
 * (hosted/memlink.c), hosted: a client on side A sends a patterned
 * stream to an echo server on side B, which sends every byte back with
 * backpressure (TCP_OPT_MANUAL_RECVED: it releases the window only for
 * what tcp_send took); the client checks each byte it gets back, closes
 * when all came, the server closes on the FIN, and the test ends when
 * both connections are gone (TIME_WAIT included).  Run over a wire that
 * loses, reorders, duplicates and corrupts frames, it exercises loss
 * recovery (fast retransmit, SACK, the RTO), the out-of-order queue and
 * checksums together (once with both checksum offloads on, where only
 * the corrupted frames are summed); the counters say which of them ran.  Short
 * transfers here (the 64 MiB runs are the echo app's suite).
 *
 * And a SYN flood: side A sends SYNs to the echo port from spoofed
 * addresses of the link's subnet while the client, also on A, makes
 * three echo connections one after another; with the backlog at 4, the
 * flood's handshakes fill it and every one of the client's goes
 * through a SYN cookie (tcp/tcp_cookie.c).
 */
#define _GNU_SOURCE
#include "frame.h"
#include "netwire.h"
#include "tcp/inet.h"
#include "tcp/pkt.h"
#include "tcp/tcp.h"

#define ECHO_PORT	7

static struct memlink *lk[4];

static int echo_accept(void *arg, struct tcp_conn *c);

static struct netif *
make_links(void)
{
	struct memlink_config a = { .seed = 11, .loss_ppm = 20000, .dup_ppm = 10000,
	    .reorder_ppm = 20000, .reorder_ns = 300000, .corrupt_ppm = 5000,
	    .delay_ns = 100000 };
	struct memlink_config b = { .seed = 12, .loss_ppm = 100000, .delay_ns = 200000 };

	/* The TCP tables, made now so that the leak checks see them from the start. */
	CHECK_EQ(tcp_listen(9, echo_accept, NULL), 0);
	CHECK_EQ(tcp_unlisten(9), 0);
	struct memlink_config clean = { .seed = 10 };
	struct memlink *p = memlink_create("pa", "pb", &clean);

	struct memlink_config fc = { .seed = 13, .delay_ns = 50000 };
	struct memlink_config o = a;		/* the first's, both offloads, more flips */

	o.seed = 14;
	o.corrupt_ppm = 20000;
	o.features = NETIF_F_TX_CSUM | NETIF_F_RX_CSUM;
	lk[0] = memlink_create("ta", "tb", &a);
	lk[1] = memlink_create("ua", "ub", &b);
	lk[2] = memlink_create("fa", "fb", &fc);
	lk[3] = memlink_create("oa", "ob", &o);
	CHECK(p != NULL && lk[0] != NULL && lk[1] != NULL && lk[2] != NULL && lk[3] != NULL);
	/* Primed on a clean link: no frame is still on a delaying wire after. */
	return memlink_netif(p, 0);
}

static uint8_t
pat(size_t i)
{
	return (uint8_t)(i * 7 + 3 + (i >> 12));
}

/* ---- the echo server (side B) ---------------------------------------------------- */

struct echo {
	struct iobuf *pend;		/* received, not yet taken by tcp_send */
	struct tcp_conn *c;
	int fin;
};

static struct echo srv;

/* Send what is pending; release the window for what went; close at the end. */
static void
echo_push(struct tcp_conn *c)
{
	struct iobuf *b;
	long n;

	while (srv.pend != NULL) {
		if ((n = tcp_send(c, srv.pend)) <= 0)
			break;
		pkt_skip(srv.pend, (size_t)n);
		while (srv.pend != NULL && srv.pend->len == 0) {
			b = srv.pend->next;
			iobuf_free(srv.pend);
			srv.pend = b;
		}
		tcp_recved(c, (size_t)n);
	}
	if (srv.pend == NULL && srv.fin == 1) {
		srv.fin = 2;
		tcp_close(c);
	}
}

static void
echo_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	(void)arg;
	if (data == NULL)
		srv.fin = 1;
	else if (srv.pend == NULL)
		srv.pend = data;
	else
		iobuf_chain_append(srv.pend, data);
	echo_push(c);
}

static void
echo_sent(void *arg, struct tcp_conn *c, size_t n)
{
	(void)arg;
	(void)n;
	echo_push(c);
}

static void
echo_aborted(void *arg, struct tcp_conn *c, int reason)
{
	(void)arg;
	(void)c;
	printf("  echo: aborted (%d)\n", reason);
	iobuf_free_chain(srv.pend);
	srv.pend = NULL;
	srv.fin = 3;
}

static const struct tcp_callbacks echo_cb = {
	.receive = echo_receive, .sent = echo_sent, .aborted = echo_aborted,
};

static int
echo_accept(void *arg, struct tcp_conn *c)
{
	(void)arg;
	tcp_setopt(c, TCP_OPT_MANUAL_RECVED, 1);
	srv.c = c;
	srv.fin = 0;			/* (the flood's clients come one by one) */
	tcp_attach(c, &echo_cb, NULL);
	return 0;
}

/* ---- the client (side A) --------------------------------------------------------- */

static struct client {
	struct tcp_conn *c;
	size_t total, sent, got;
	int bad, done, aborted;
	int echoed;			/* connections that got all their bytes back */
	struct timer poll;
} cl;

static void
cl_pump(struct tcp_conn *c)
{
	static uint8_t chunk[8192];
	size_t k;
	long n;

	while (cl.sent < cl.total) {
		k = cl.total - cl.sent < sizeof chunk ? cl.total - cl.sent : sizeof chunk;
		for (size_t i = 0; i < k; i++)
			chunk[i] = pat(cl.sent + i);
		if ((n = tcp_write(c, chunk, k)) <= 0)
			break;
		cl.sent += (size_t)n;
	}
}

static void
cl_connected(void *arg, struct tcp_conn *c)
{
	(void)arg;
	cl_pump(c);
}

static void
cl_sent(void *arg, struct tcp_conn *c, size_t n)
{
	(void)arg;
	(void)n;
	cl_pump(c);
}

static void
cl_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	(void)arg;
	if (data == NULL) {
		cl.bad += cl.got != cl.total;	/* the server closes only after all */
		return;
	}
	for (struct iobuf *b = data; b != NULL; b = b->next)
		for (size_t i = 0; i < b->len; i++, cl.got++)
			cl.bad += b->data[i] != pat(cl.got);
	iobuf_free_chain(data);
	if (cl.got == cl.total && cl.c != NULL) {
		tcp_close(c);
		cl.c = NULL;
		cl.echoed++;
	}
}

static void
cl_aborted(void *arg, struct tcp_conn *c, int reason)
{
	(void)arg;
	(void)c;
	printf("  client: aborted (%d)\n", reason);
	cl.aborted = 1;
	cl.c = NULL;
}

static const struct tcp_callbacks cl_cb = {
	.connected = cl_connected, .receive = cl_receive, .sent = cl_sent,
	.aborted = cl_aborted,
};

/* Every 5 ms: both connections gone?  Then the run ends. */
static void
cl_poll(void *arg)
{
	(void)arg;
	if (cl.c == NULL && tcp_live() == 0 && !cl.done) {
		cl.done = 1;
		timer_stop(&cl.poll);
		tcp_unlisten(ECHO_PORT);
		wire_finish();
	}
}

static int which;		/* the link of this run */
static uint32_t bufsize = 65536;	/* both ends' send and receive buffers */

static int
transfer_body(void)
{
	struct netif *a = memlink_netif(lk[which], 0), *b = memlink_netif(lk[which], 1);
	struct tcp_config cfg;

	tcp_config_get(&cfg);
	cfg.rto_init_ms = 100;
	cfg.rto_min_ms = 20;
	cfg.time_wait_ms = 50;
	cfg.sndbuf = bufsize;
	cfg.rcvbuf = bufsize;
	CHECK_EQ(tcp_configure(&cfg), 0);
	arp_tune(ARP_TTL_MS * TIMER_MS, 10 * TIMER_MS);
	CHECK_EQ(netcfg_apply(a, IP4(10, 20 + which, 0, 1), IP4(255, 255, 255, 0), 0), 0);
	CHECK_EQ(netcfg_apply(b, IP4(10, 20 + which, 0, 2), IP4(255, 255, 255, 0), 0), 0);
	memset(&srv, 0, sizeof srv);
	CHECK_EQ(tcp_listen(ECHO_PORT, echo_accept, NULL), 0);
	CHECK_EQ(tcp_connect(b->ip, ECHO_PORT, &cl_cb, NULL, &cl.c), 0);
	timer_setup(&cl.poll, cl_poll, NULL);
	timer_start(&cl.poll, 5 * TIMER_MS, 5 * TIMER_MS);
	return 1;
}

static void
transfer(int link, size_t total)
{
	struct test_leaks l = wire_begin(make_links);
	struct memlink_stats sa0, sb0, sa, sb;

	which = link;
	memset(&cl, 0, sizeof cl);
	cl.total = total;
	memlink_stats(lk[link], 0, &sa0);
	memlink_stats(lk[link], 1, &sb0);
	wire_run(transfer_body);
	memlink_stats(lk[link], 0, &sa);
	memlink_stats(lk[link], 1, &sb);
	CHECK_EQ(cl.got, total);
	CHECK_EQ(cl.bad, 0);
	CHECK_EQ(cl.aborted, 0);
	CHECK_EQ(srv.fin, 2);
	CHECK(sa.lost - sa0.lost + sb.lost - sb0.lost > 0);
	CHECK(DELTA(tcp, retransmits) > 0);
	CHECK_EQ(tcp_live(), 0);
	printf("  %zu bytes each way; lost %llu+%llu frames; retransmits %lld (fast %lld, "
	    "sack %lld, timeouts %lld); out of order %lld; bad checksums %lld\n", total,
	    (unsigned long long)(sa.lost - sa0.lost), (unsigned long long)(sb.lost - sb0.lost),
	    DELTA(tcp, retransmits), DELTA(tcp, fast_retransmits),
	    DELTA(tcp, sack_retransmits), DELTA(tcp, timeouts), DELTA(tcp, rx_ooo),
	    DELTA(tcp, rx_bad_csum));
	netcfg_apply(memlink_netif(lk[link], 0), 0, 0, 0);
	netcfg_apply(memlink_netif(lk[link], 1), 0, 0, 0);
	arp_tune(ARP_TTL_MS * TIMER_MS, ARP_RETRY_MS * TIMER_MS);
	wire_end(l);
}

TEST(tcp_wire_loss_reorder_dup_corrupt)
{
	transfer(0, 1 << 20);
	CHECK(DELTA(tcp, rx_ooo) > 0);
}

/*
 * Checksums offloaded at both ends: good frames cross unsummed, marked
 * good; corrupted ones are filled in first and must be caught by the
 * stack's own check (the stream still arrives intact).
 */
TEST(tcp_wire_offload_corrupt)
{
	transfer(3, 1 << 20);
	CHECK(DELTA(tcp, rx_bad_csum) > 0);
}

TEST(tcp_wire_ten_percent_loss)
{
	transfer(1, 256 << 10);
}

/* A one-byte window both ways: every segment is cut to a byte. */
TEST(tcp_wire_one_byte_window)
{
	bufsize = 1;
	transfer(0, 1000);
	bufsize = 65536;
	CHECK(DELTA(tcp, tx) > 2 * 1000);
}

/* ---- a SYN flood while the client echoes --------------------------------------------- */

#define FLOOD_MIN	5000	/* spoofed SYNs sent, at least */
#define FLOOD_BATCH	20	/* of them every millisecond (20,000 a second) */
#define FLOOD_CLIENTS	3	/* echo connections during the flood, one by one */
#define FLOOD_BYTES	(64 << 10)	/* each way on each */

static struct flood {
	struct timer tick;
	uint64_t rng;
	long syns;			/* spoofed SYNs sent */
	int started;			/* client connections opened */
	int over;			/* the flood stopped: waiting for the backlog */
} fl;

/* A SYN to B's echo port from a spoofed .3 to .254 of the subnet, out of A. */
static void
flood_syn(struct netif *a, struct netif *b)
{
	static const uint8_t opt[12] = { TCPOPT_MSS, 4, 1460 >> 8, 1460 & 255,
	    TCPOPT_NOP, TCPOPT_WSCALE, 3, 7, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK_OK, 2 };
	size_t tlen = TCP_HLEN + sizeof opt, n = ETH_HLEN + IP_HLEN + tlen;
	struct iobuf *f = iobuf_alloc(IOBUF_HEADROOM, n);
	uint32_t src;
	struct tcp_hdr *th;
	uint8_t *p;
	uint64_t r;

	if (f == NULL)
		return;
	fl.rng = fl.rng * 6364136223846793005ULL + 1442695040888963407ULL;
	r = fl.rng >> 11;
	src = (b->ip & b->netmask) | hton32((uint32_t)(3 + r % 252));
	p = iobuf_put(f, n);
	frame_ipv4(p, b->mac, a->mac, src, b->ip, IP_PROTO_TCP, tlen);
	th = (struct tcp_hdr *)(p + ETH_HLEN + IP_HLEN);
	memset(th, 0, TCP_HLEN);
	th->sport = hton16((uint16_t)(1024 + (r >> 8) % 64000));
	th->dport = hton16(ECHO_PORT);
	th->seq = hton32((uint32_t)(r >> 24));
	th->off = (uint8_t)((tlen / 4) << 4);
	th->flags = TCP_FSYN;
	th->win = hton16(64240);
	memcpy(th + 1, opt, sizeof opt);
	th->csum = hton16(inet_csum(inet_sum(th, tlen, inet_pseudo(src, b->ip,
	    IP_PROTO_TCP, (uint16_t)tlen))));
	netif_send(a, f, NULL);
}

/*
 * Every millisecond: a batch of spoofed SYNs, and the client's next
 * connection when the last one is done (its SYN follows the batch on
 * the wire, so it finds the backlog full); the flood ends once every
 * client echoed and FLOOD_MIN SYNs went, the run once nothing is left.
 */
static void
flood_tick(void *arg)
{
	struct netif *a = memlink_netif(lk[2], 0), *b = memlink_netif(lk[2], 1);

	(void)arg;
	if (fl.over) {
		if (tcp_live() == 0) {
			timer_stop(&fl.tick);
			tcp_unlisten(ECHO_PORT);
			wire_finish();
		}
		return;
	}
	for (int i = 0; i < FLOOD_BATCH; i++)
		flood_syn(a, b);
	fl.syns += FLOOD_BATCH;
	if (cl.c == NULL && !cl.aborted && cl.echoed == fl.started &&
	    fl.started < FLOOD_CLIENTS) {
		cl.sent = cl.got = 0;
		CHECK_EQ(tcp_connect(b->ip, ECHO_PORT, &cl_cb, NULL, &cl.c), 0);
		fl.started++;
	}
	if ((cl.echoed == FLOOD_CLIENTS || cl.aborted) && fl.syns >= FLOOD_MIN)
		fl.over = 1;
}

/* Short times, backlog 4, addresses; the listener and the flood's tick. */
static int
flood_body(void)
{
	struct netif *a = memlink_netif(lk[2], 0), *b = memlink_netif(lk[2], 1);
	struct tcp_config cfg;

	tcp_config_get(&cfg);
	cfg.syn_backlog = 4;
	cfg.syn_retries = 2;
	cfg.rto_init_ms = 100;
	cfg.time_wait_ms = 50;
	cfg.sndbuf = cfg.rcvbuf = 65536;
	CHECK_EQ(tcp_configure(&cfg), 0);
	arp_tune(ARP_TTL_MS * TIMER_MS, 10 * TIMER_MS);
	CHECK_EQ(netcfg_apply(a, IP4(10, 22, 0, 1), IP4(255, 255, 255, 0), 0), 0);
	CHECK_EQ(netcfg_apply(b, IP4(10, 22, 0, 2), IP4(255, 255, 255, 0), 0), 0);
	wire_arp_in(a, b->mac, b->ip, a->ip);	/* A knows B: no SYN waits for ARP */
	memset(&srv, 0, sizeof srv);
	CHECK_EQ(tcp_listen(ECHO_PORT, echo_accept, NULL), 0);
	timer_setup(&fl.tick, flood_tick, NULL);
	timer_start(&fl.tick, TIMER_MS, TIMER_MS);
	return 1;
}

TEST(tcp_wire_syn_flood_cookies)
{
	struct test_leaks l = wire_begin(make_links);
	struct tcp_config saved;

	tcp_config_get(&saved);
	memset(&cl, 0, sizeof cl);
	memset(&fl, 0, sizeof fl);
	fl.rng = 42;
	cl.total = FLOOD_BYTES;
	wire_run(flood_body);
	CHECK_EQ(cl.echoed, FLOOD_CLIENTS);
	CHECK_EQ(cl.bad, 0);
	CHECK_EQ(cl.aborted, 0);
	CHECK(fl.syns >= FLOOD_MIN);
	CHECK_EQ(DELTA(tcp, syn_rx), fl.syns + FLOOD_CLIENTS);
	CHECK_EQ(DELTA(tcp, accepts), FLOOD_CLIENTS);
	CHECK_EQ(DELTA(tcp, cookies_validated), FLOOD_CLIENTS);
	CHECK(DELTA(tcp, cookies_sent) > fl.syns / 2);
	CHECK_EQ(DELTA(tcp, cookies_rejected), 0);
	CHECK_EQ(DELTA(tcp, backlog_drops), 0);
	CHECK_EQ(tcp_live(), 0);
	printf("  %ld spoofed SYNs, %lld cookies sent; %d connections echoed %d bytes "
	    "each way through cookies\n", fl.syns, DELTA(tcp, cookies_sent),
	    cl.echoed, FLOOD_BYTES);
	netcfg_apply(memlink_netif(lk[2], 0), 0, 0, 0);
	netcfg_apply(memlink_netif(lk[2], 1), 0, 0, 0);
	arp_tune(ARP_TTL_MS * TIMER_MS, ARP_RETRY_MS * TIMER_MS);
	CHECK_EQ(tcp_configure(&saved), 0);
	wire_end(l);
}
