/*
 * test_netcfg.c: static IPv4 configuration (tcp/netcfg.c), and two
 * stacks talking over a lossy wire.
 *
 *   - netcfg_parse: good configurations, with and without a gateway;
 *     every kind of bad one gets its own error, and the outputs are
 *     left alone.
 *   - netcfg_apply over a clean memlink: the fields are set and one
 *     gratuitous ARP (sender = target = our address, broadcast) goes
 *     out and arrives; ip 0 unconfigures and says nothing.
 *   - Two interfaces, each statically configured on 10.1.0.0/24, over
 *     a memlink that loses 20% of frames: ARP resolves through its
 *     retries, and 20 UDP request/response exchanges complete with the
 *     client retrying at the application level; the link's counters
 *     show the losses, and no buffer is left (test/netwire.h).
 */
#include "netwire.h"

/* ---- the parser ----------------------------------------------------------- */

TEST(netcfg_parse_good)
{
	uint32_t ip, mask, gw;

	CHECK_EQ(netcfg_parse("ip=10.0.2.15/24,gw=10.0.2.2", &ip, &mask, &gw), NETCFG_OK);
	CHECK_EQ(ip, IP4(10, 0, 2, 15));
	CHECK_EQ(mask, IP4(255, 255, 255, 0));
	CHECK_EQ(gw, IP4(10, 0, 2, 2));
	CHECK_EQ(netcfg_parse("ip=192.168.1.7/16", &ip, &mask, &gw), NETCFG_OK);
	CHECK_EQ(ip, IP4(192, 168, 1, 7));
	CHECK_EQ(mask, IP4(255, 255, 0, 0));
	CHECK_EQ(gw, 0);
	CHECK_EQ(netcfg_parse("ip=172.16.0.1/12", &ip, &mask, &gw), NETCFG_OK);
	CHECK_EQ(mask, IP4(255, 240, 0, 0));
	CHECK_EQ(netcfg_parse("ip=1.2.3.4/32", &ip, &mask, &gw), NETCFG_OK);
	CHECK_EQ(mask, IP4_BROADCAST);
	CHECK_EQ(netcfg_parse("ip=10.0.0.0/31", &ip, &mask, &gw), NETCFG_OK);	/* RFC 3021 */
	CHECK_EQ(netcfg_parse("ip=0.0.0.1/1", &ip, &mask, &gw), NETCFG_OK);
	CHECK_EQ(mask, IP4(128, 0, 0, 0));
}

TEST(netcfg_parse_errors)
{
	static const struct { const char *s; int err; } bad[] = {
		{ "", NETCFG_E_PREFIX },
		{ "ip10.0.0.1/24", NETCFG_E_PREFIX },
		{ "IP=10.0.0.1/24", NETCFG_E_PREFIX },
		{ "ip=dhcp", NETCFG_E_ADDR },
		{ "ip=10.0.0/24", NETCFG_E_ADDR },
		{ "ip=10.0.0.256/24", NETCFG_E_ADDR },
		{ "ip=10.0.0.1000/24", NETCFG_E_ADDR },
		{ "ip=10..0.1/24", NETCFG_E_ADDR },
		{ "ip=-1.0.0.1/24", NETCFG_E_ADDR },
		{ "ip=10.0.0.1", NETCFG_E_LEN },
		{ "ip=10.0.0.1/", NETCFG_E_LEN },
		{ "ip=10.0.0.1/0", NETCFG_E_LEN },
		{ "ip=10.0.0.1/33", NETCFG_E_LEN },
		{ "ip=10.0.0.1/2x", NETCFG_E_TRAILING },
		{ "ip=10.0.0.1/24,", NETCFG_E_GW },
		{ "ip=10.0.0.1/24,gw=", NETCFG_E_GW },
		{ "ip=10.0.0.1/24,router=10.0.0.2", NETCFG_E_GW },
		{ "ip=10.0.0.1/24,gw=10.0.0.2 ", NETCFG_E_TRAILING },
		{ "ip=10.0.0.1/24,gw=10.0.0.2,x", NETCFG_E_TRAILING },
		{ "ip=10.0.0.0/24", NETCFG_E_HOST },
		{ "ip=10.0.0.255/24", NETCFG_E_HOST },
		{ "ip=10.0.0.1/24,gw=10.0.1.1", NETCFG_E_GW_NET },
		{ "ip=10.0.0.1/24,gw=10.0.0.1", NETCFG_E_GW_NET },
	};
	uint32_t ip = 7, mask = 8, gw = 9;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int err = netcfg_parse(bad[i].s, &ip, &mask, &gw);
		if (err != bad[i].err) {
			char m[160];
			snprintf(m, sizeof m, "netcfg_parse(\"%s\") = %d, want %d", bad[i].s,
			    err, bad[i].err);
			test_fail(__FILE__, __LINE__, m);
		}
		CHECK(strcmp(netcfg_error(err), "unknown error") != 0);
	}
	CHECK_EQ(ip, 7);		/* untouched by every failure */
	CHECK_EQ(mask, 8);
	CHECK_EQ(gw, 9);
}

TEST(netcfg_fmt_addresses)
{
	char b[16];

	CHECK(strcmp(netcfg_fmt(IP4(10, 0, 2, 15), b), "10.0.2.15") == 0);
	CHECK(strcmp(netcfg_fmt(IP4_BROADCAST, b), "255.255.255.255") == 0);
	CHECK(strcmp(netcfg_fmt(0, b), "0.0.0.0") == 0);
}

/* ---- the links ------------------------------------------------------------ */

static struct memlink *clean, *lossy;

static struct netif *
make_links(void)
{
	struct memlink_config c = { .seed = 1 };
	struct memlink_config l = { .seed = 5, .loss_ppm = 200000 };	/* 20% */

	clean = memlink_create("ca", "cb", &c);
	lossy = memlink_create("la", "lb", &l);
	CHECK(clean != NULL && lossy != NULL);
	return memlink_netif(clean, 0);
}

/* ---- netcfg_apply ---------------------------------------------------------- */

static int
apply_body(void)
{
	struct netif *a = memlink_netif(clean, 0);
	struct memlink_stats st0, st;

	memlink_stats(clean, 0, &st0);
	CHECK_EQ(netcfg_apply(a, IP4(10, 9, 0, 1), IP4(255, 255, 0, 0), IP4(10, 9, 0, 254)), 0);
	CHECK_EQ(a->ip, IP4(10, 9, 0, 1));
	CHECK_EQ(a->netmask, IP4(255, 255, 0, 0));
	CHECK_EQ(a->gateway, IP4(10, 9, 0, 254));
	memlink_stats(clean, 0, &st);
	CHECK_EQ(st.sent - st0.sent, 1);
	CHECK_EQ(DELTA(arp, tx_requests), 1);
	/* Unconfigure: the fields go, nothing is sent. */
	CHECK_EQ(netcfg_apply(a, 0, IP4(255, 0, 0, 0), IP4(10, 0, 0, 1)), 0);
	CHECK_EQ(a->ip, 0);
	CHECK_EQ(a->netmask, 0);
	CHECK_EQ(a->gateway, 0);
	memlink_stats(clean, 0, &st);
	CHECK_EQ(st.sent - st0.sent, 1);
	return 0;
}

TEST(netcfg_apply_announces)
{
	struct test_leaks l = wire_begin(make_links);

	wire_run(apply_body);
	/* The announcement crossed the wire (delivered by the end of the run). */
	CHECK_EQ(DELTA(arp, rx_requests), 1);
	wire_end(l);
}

/* ---- two stacks, 20% loss -------------------------------------------------- */

#define EXCHANGES	20
#define CLIENT_PORT	5000
#define ECHO_PORT	7
#define APP_RETRY_MS	30	/* the client's own retransmission interval */

static struct {
	struct netif *a, *b;
	int seq;		/* the exchange in progress */
	int done;		/* exchanges completed */
	int sends;		/* requests sent, retries included */
	int wrong;		/* responses that were not the one awaited */
	struct timer retry;
} cl;

/* The server, on b: echo the request back to its sender. */
static void
srv_echo(void *arg, const struct udp_rx *rx, struct iobuf *p)
{
	(void)arg;
	CHECK(rx->nif == cl.b);
	udp_sendto(rx->nif, rx->dst_port, rx->src_ip, rx->src_port, p);
}

/* Send request cl.seq from a: 4 bytes of sequence and a pattern. */
static void
cl_send(void)
{
	struct iobuf *p = iobuf_alloc(IOBUF_HEADROOM, 64);
	uint8_t *d = iobuf_put(p, 64);

	memcpy(d, &cl.seq, 4);
	test_fill(d + 4, 60, (uint64_t)cl.seq);
	cl.sends++;
	CHECK_EQ(udp_sendto(cl.a, CLIENT_PORT, IP4(10, 1, 0, 2), ECHO_PORT, p), 0);
	timer_start(&cl.retry, APP_RETRY_MS * TIMER_MS, 0);
}

static void
cl_retry(void *unused)
{
	(void)unused;
	cl_send();		/* the request or its response was lost */
}

/* The client's port, on a: a response; the next request, or the end. */
static void
cl_recv(void *arg, const struct udp_rx *rx, struct iobuf *p)
{
	uint8_t d[64];
	int seq = -1;

	(void)arg;
	if (iobuf_chain_len(p) == 64 && iobuf_copy_out(p, 0, 64, d) != NULL)
		memcpy(&seq, d, 4);
	iobuf_free_chain(p);
	CHECK(rx->nif == cl.a && rx->src_ip == IP4(10, 1, 0, 2));
	if (seq != cl.seq || !test_intact(d + 4, 60, (uint64_t)seq)) {
		cl.wrong++;	/* a duplicate answer to a retried request */
		return;
	}
	cl.done++;
	timer_stop(&cl.retry);
	if (++cl.seq < EXCHANGES) {
		cl_send();
		return;
	}
	udp_unbind(CLIENT_PORT);
	udp_unbind(ECHO_PORT);
	netcfg_apply(cl.a, 0, 0, 0);
	netcfg_apply(cl.b, 0, 0, 0);
	arp_tune(ARP_TTL_MS * TIMER_MS, ARP_RETRY_MS * TIMER_MS);
	wire_finish();
}

static int
wire_body(void)
{
	uint32_t ip, mask, gw;

	memset(&cl, 0, sizeof cl);
	cl.a = memlink_netif(lossy, 0);
	cl.b = memlink_netif(lossy, 1);
	timer_setup(&cl.retry, cl_retry, NULL);
	arp_tune(ARP_TTL_MS * TIMER_MS, 10 * TIMER_MS);	/* quick ARP retries */
	CHECK_EQ(netcfg_parse("ip=10.1.0.1/24,gw=10.1.0.254", &ip, &mask, &gw), 0);
	CHECK_EQ(netcfg_apply(cl.a, ip, mask, gw), 0);
	CHECK_EQ(netcfg_parse("ip=10.1.0.2/24", &ip, &mask, &gw), 0);
	CHECK_EQ(netcfg_apply(cl.b, ip, mask, gw), 0);
	CHECK_EQ(udp_bind(ECHO_PORT, srv_echo, NULL), 0);
	CHECK_EQ(udp_bind(CLIENT_PORT, cl_recv, NULL), 0);
	cl_send();
	return 1;
}

TEST(wire_two_stacks_lossy)
{
	struct test_leaks l = wire_begin(make_links);
	struct memlink_stats sa0, sb0, sa, sb;

	memlink_stats(lossy, 0, &sa0);
	memlink_stats(lossy, 1, &sb0);
	wire_run(wire_body);
	memlink_stats(lossy, 0, &sa);
	memlink_stats(lossy, 1, &sb);
	CHECK_EQ(cl.done, EXCHANGES);
	CHECK(cl.sends > EXCHANGES);			/* some were retried */
	CHECK((sa.lost - sa0.lost) + (sb.lost - sb0.lost) > 0);
	CHECK(DELTA(arp, tx_requests) >= 3);		/* 2 announcements, >= 1 request */
	CHECK(DELTA(arp, rx_replies) >= 1);		/* resolved */
	CHECK_EQ(DELTA(udp, rx_no_port), 0);
	printf("  wire: %d exchanges, %d requests sent, %d stale answers; lost %llu of %llu "
	    "frames a->b, %llu of %llu b->a; %lld ARP requests, %lld ARP timeouts\n",
	    cl.done, cl.sends, cl.wrong,
	    (unsigned long long)(sa.lost - sa0.lost), (unsigned long long)(sa.sent - sa0.sent),
	    (unsigned long long)(sb.lost - sb0.lost), (unsigned long long)(sb.sent - sb0.sent),
	    DELTA(arp, tx_requests), DELTA(arp, timeouts));
	wire_end(l);
}
