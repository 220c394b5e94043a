/*
 * test_ip.c: Ethernet, ARP, IPv4 and ICMP (tcp/eth.c, arp.c, ip.c,
 * icmp.c) and the checksum (tcp/inet.c), hosted, in lwIP's manner:
 * crafted frames in through a fake interface, transmitted frames
 * decoded, drops checked against the per-layer counters, and no iobuf
 * or slab object left after each test (test/netfake.h explains the
 * harness).
 */
#define _GNU_SOURCE
#include "netfake.h"

/* ---- checksums ----------------------------------------------------------- */

TEST(inet_checksum)
{
	/* RFC 1071 section 3's example: the sum is ddf2. */
	static const uint8_t v[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint8_t buf[301];
	struct iobuf *a, *b, *c;
	struct test_leaks l = begin();

	CHECK_EQ(inet_fold(inet_sum(v, sizeof v, 0)), 0xddf2);
	CHECK_EQ(inet_fold(inet_sum(v, 3, 0)), 0xf201);	/* odd: 00 01, f2 00 */
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)test_rnd();
	/* A chain split at odd and even places sums as the flat bytes do. */
	for (int t = 0; t < 200; t++) {
		size_t x = test_rnd() % sizeof buf, y = x + test_rnd() % (sizeof buf - x);
		a = iobuf_alloc(0, x);
		b = iobuf_alloc(0, y - x);
		c = iobuf_alloc(0, sizeof buf - y);
		memcpy(iobuf_put(a, x), buf, x);
		memcpy(iobuf_put(b, y - x), buf + x, y - x);
		memcpy(iobuf_put(c, sizeof buf - y), buf + y, sizeof buf - y);
		a->next = b;
		b->next = c;
		CHECK_EQ(inet_fold(inet_sum_chain(a, 0, sizeof buf, 7)),
		    inet_fold(inet_sum(buf, sizeof buf, 7)));
		CHECK_EQ(inet_fold(inet_sum_chain(a, 5, 100, 0)),
		    inet_fold(inet_sum(buf + 5, 100, 0)));
		iobuf_free_chain(a);
	}
	end(l);
}

/* ---- ARP ----------------------------------------------------------------- */
/* A request for our address is answered, and teaches us the asker. */
static int
arp_reply_body(void)
{
	uint8_t f[128];

	inject(f, mk_arp(f, ARP_REQUEST, PEER_IP, zero_mac, OUR_IP), 0, 0);
	CHECK_EQ(nframes, 1);
	CHECK(memcmp(F_ETH(0)->dst, peer_mac, 6) == 0);
	CHECK(memcmp(F_ETH(0)->src, our_mac, 6) == 0);
	CHECK_EQ(ntoh16(F_ETH(0)->type), ETHERTYPE_ARP);
	CHECK_EQ(ntoh16(F_ARP(0)->op), ARP_REPLY);
	CHECK(memcmp(F_ARP(0)->sha, our_mac, 6) == 0);
	CHECK_EQ(F_ARP(0)->spa, OUR_IP);
	CHECK(memcmp(F_ARP(0)->tha, peer_mac, 6) == 0);
	CHECK_EQ(F_ARP(0)->tpa, PEER_IP);
	/* Learned: a datagram goes straight out, no request first. */
	CHECK_EQ(udp_sendto(NULL, 1000, PEER_IP, 2000, NULL), 0);
	CHECK_EQ(nframes, 2);
	CHECK(memcmp(F_ETH(1)->dst, peer_mac, 6) == 0);
	CHECK_EQ(DELTA(arp, hits), 1);
	/* A request for someone else's address: no reply, nothing learned. */
	inject(f, mk_arp(f, ARP_REQUEST, IP4(10, 0, 0, 3), zero_mac, IP4(10, 0, 0, 9)), 0, 0);
	CHECK_EQ(nframes, 2);
	CHECK_EQ(DELTA(arp, learned), 1);
	/* Malformed: a short packet, a wrong hardware type. */
	inject(f, mk_arp(f, ARP_REQUEST, PEER_IP, zero_mac, OUR_IP) - 10, 0, 0);
	mk_arp(f, ARP_REQUEST, PEER_IP, zero_mac, OUR_IP);
	f[ETH_HLEN + 1] = 6;
	inject(f, 60, 0, 0);
	CHECK_EQ(DELTA(arp, rx_bad), 2);
	CHECK_EQ(nframes, 2);
	return 0;
}

TEST(arp_reply_and_learn)
{
	struct test_leaks l = begin();

	run(arp_reply_body);
	end(l);
}

/* Packets wait for the reply; the queue keeps the newest ARP_QUEUE_MAX. */
static int
arp_pending_body(void)
{
	uint8_t f[128];
	int n = ARP_QUEUE_MAX + 2;

	for (int i = 0; i < n; i++) {
		struct iobuf *p = iobuf_alloc(IOBUF_HEADROOM, 1);
		*(uint8_t *)iobuf_put(p, 1) = (uint8_t)i;
		CHECK_EQ(udp_sendto(NULL, 1000, PEER_IP, 2000, p), 0);
	}
	CHECK_EQ(nframes, 1);			/* one request only */
	CHECK(memcmp(F_ETH(0)->dst, eth_broadcast, 6) == 0);
	CHECK_EQ(ntoh16(F_ARP(0)->op), ARP_REQUEST);
	CHECK_EQ(F_ARP(0)->spa, OUR_IP);
	CHECK_EQ(F_ARP(0)->tpa, PEER_IP);
	CHECK_EQ(DELTA(arp, queued), n);
	CHECK_EQ(DELTA(arp, queue_drops), 2);
	inject(f, mk_arp(f, ARP_REPLY, PEER_IP, our_mac, OUR_IP), 0, 0);
	CHECK_EQ(nframes, 1 + ARP_QUEUE_MAX);
	for (int i = 1; i < nframes; i++) {	/* the oldest two were dropped */
		CHECK(memcmp(F_ETH(i)->dst, peer_mac, 6) == 0);
		check_ip(i, PEER_IP, IP_PROTO_UDP);
		CHECK_EQ(F_L4(i)[UDP_HLEN], i + 1);
		CHECK(udp_good(i));
	}
	/* Off the subnet: the gateway is resolved instead. */
	CHECK_EQ(udp_sendto(NULL, 1000, IP4(8, 8, 8, 8), 53, NULL), 0);
	CHECK_EQ(F_ARP(nframes - 1)->tpa, GW_IP);
	return 0;
}

TEST(arp_pending_queue)
{
	struct test_leaks l = begin();

	run(arp_pending_body);
	end(l);
}

/* Unanswered: ARP_RETRIES requests, ARP_RETRY apart, then the drop. */
static void
arp_retry_check(void *unused)
{
	(void)unused;
	CHECK_EQ(nframes, ARP_RETRIES);
	for (int i = 0; i < nframes; i++)
		CHECK_EQ(F_ARP(i)->tpa, PEER_IP);
	CHECK_EQ(DELTA(arp, timeouts), 1);
	CHECK_EQ(DELTA(arp, timeout_drops), 2);
	arp_tune(ARP_TTL_MS * TIMER_MS, ARP_RETRY_MS * TIMER_MS);
	finish();
}

static int
arp_retry_body(void)
{
	arp_tune(ARP_TTL_MS * TIMER_MS, 10 * TIMER_MS);
	CHECK_EQ(udp_sendto(NULL, 1000, PEER_IP, 2000, NULL), 0);
	CHECK_EQ(udp_sendto(NULL, 1000, PEER_IP, 2000, NULL), 0);
	timer_setup(&check_t, arp_retry_check, NULL);
	timer_start(&check_t, (ARP_RETRIES + 2) * 10 * TIMER_MS, 0);
	return 1;
}

TEST(arp_retries_then_drop)
{
	struct test_leaks l = begin();

	run(arp_retry_body);
	end(l);
}

/* An entry older than the TTL is a miss: asked for again. */
static void
arp_expiry_check(void *unused)
{
	(void)unused;
	CHECK_EQ(udp_sendto(NULL, 1000, PEER_IP, 2000, NULL), 0);
	CHECK_EQ(nframes, 2);
	CHECK_EQ(ntoh16(F_ETH(1)->type), ETHERTYPE_ARP);
	CHECK_EQ(ntoh16(F_ARP(1)->op), ARP_REQUEST);
	CHECK_EQ(DELTA(arp, expired), 1);
	arp_tune(ARP_TTL_MS * TIMER_MS, ARP_RETRY_MS * TIMER_MS);
	finish();
}

static int
arp_expiry_body(void)
{
	arp_tune(20 * TIMER_MS, ARP_RETRY_MS * TIMER_MS);
	learn_peer();
	CHECK_EQ(udp_sendto(NULL, 1000, PEER_IP, 2000, NULL), 0);
	CHECK_EQ(nframes, 1);
	CHECK_EQ(ntoh16(F_ETH(0)->type), ETHERTYPE_IPV4);
	timer_setup(&check_t, arp_expiry_check, NULL);
	timer_start(&check_t, 40 * TIMER_MS, 0);
	return 1;
}

TEST(arp_expiry)
{
	struct test_leaks l = begin();

	run(arp_expiry_body);
	end(l);
}

static int
arp_announce_body(void)
{
	CHECK_EQ(arp_announce(&fake), 0);
	CHECK_EQ(nframes, 1);
	CHECK(memcmp(F_ETH(0)->dst, eth_broadcast, 6) == 0);
	CHECK_EQ(ntoh16(F_ARP(0)->op), ARP_REQUEST);
	CHECK_EQ(F_ARP(0)->spa, OUR_IP);
	CHECK_EQ(F_ARP(0)->tpa, OUR_IP);
	CHECK(memcmp(F_ARP(0)->sha, our_mac, 6) == 0);
	return 0;
}

TEST(arp_gratuitous)
{
	struct test_leaks l = begin();

	run(arp_announce_body);
	end(l);
}

/* ---- Ethernet and IPv4 validation ------------------------------------------ */

/* Each broken frame is dropped, counted by its reason, and answers nothing. */
static int
ip_bad_body(void)
{
	static const uint8_t other[6] = { 2, 0, 0, 0, 0, 9 }, mcast[6] = { 1, 0, 0x5e, 0, 0, 1 };
	uint8_t f[256] = { 0 };
	size_t n;
	struct ip_hdr *ih = (struct ip_hdr *)(f + ETH_HLEN);

#define REDO_CSUM() (ih->csum = 0, ih->csum = hton16(inet_csum(inet_sum(ih, IP_HLEN, 0))))
	inject(f, 10, 0, 0);					/* runt */
	n = mk_echo(f, 1, 1, 8);
	memcpy(f, other, 6);
	inject(f, n, 0, 0);					/* another's MAC */
	memcpy(f, mcast, 6);
	inject(f, n, 0, 0);					/* multicast */
	mk_eth(f, our_mac, 0x86dd);
	inject(f, n, 0, 0);					/* IPv6 */
	mk_echo(f, 1, 1, 8);
	inject(f, ETH_HLEN + 12, 0, 0);				/* short header */
	mk_echo(f, 1, 1, 8);
	ih->vhl = 0x65; REDO_CSUM();
	inject(f, n, 0, 0);					/* version 6 */
	mk_echo(f, 1, 1, 8);
	ih->vhl = 0x44; REDO_CSUM();
	inject(f, n, 0, 0);					/* IHL 4 */
	mk_echo(f, 1, 1, 8);
	ih->vhl = 0x4f; REDO_CSUM();
	inject(f, n, 0, 0);					/* IHL past the length */
	mk_echo(f, 1, 1, 8);
	ih->len = hton16(200); REDO_CSUM();
	inject(f, n, 0, 0);					/* longer than the frame */
	mk_echo(f, 1, 1, 8);
	ih->csum ^= 1;
	inject(f, n, 0, 0);					/* checksum */
	mk_echo(f, 1, 1, 8);
	ih->frag = hton16(IP_MF); REDO_CSUM();
	inject(f, n, 0, 0);					/* first fragment */
	mk_echo(f, 1, 1, 8);
	ih->frag = hton16(100); REDO_CSUM();
	inject(f, n, 0, 0);					/* a later fragment */
	mk_echo(f, 1, 1, 8);
	ih->dst = IP4(10, 0, 0, 7); REDO_CSUM();
	inject(f, n, 0, 0);					/* not our address */
	mk_echo(f, 1, 1, 8);
	ih->src = IP4(224, 0, 0, 1); REDO_CSUM();
	inject(f, n, 0, 0);					/* multicast source */
	mk_echo(f, 1, 1, 8);
	f[L4 + 9] ^= 0xff;
	inject(f, n, 0, 0);					/* ICMP checksum */
	mk_echo(f, 1, 1, 8);
	inject(f, ETH_HLEN + IP_HLEN + 4, 0, 0);		/* cut short */

	CHECK_EQ(nframes, 0);
	CHECK_EQ(DELTA(eth, rx_short), 1);
	CHECK_EQ(DELTA(eth, rx_not_ours), 1);
	CHECK_EQ(DELTA(eth, rx_multicast), 1);
	CHECK_EQ(DELTA(eth, rx_bad_type), 1);
	CHECK_EQ(DELTA(ip, rx_short), 1);
	CHECK_EQ(DELTA(ip, rx_bad_version), 1);
	CHECK_EQ(DELTA(ip, rx_bad_hlen), 2);
	CHECK_EQ(DELTA(ip, rx_bad_len), 2);
	CHECK_EQ(DELTA(ip, rx_bad_csum), 1);
	CHECK_EQ(DELTA(ip, rx_frag), 2);
	CHECK_EQ(DELTA(ip, rx_not_ours), 1);
	CHECK_EQ(DELTA(ip, rx_bad_src), 1);
	CHECK_EQ(DELTA(icmp, rx_bad_csum), 1);
	CHECK_EQ(DELTA(ip, rx), 1);
	return 0;
#undef REDO_CSUM
}

TEST(ip_bad_frames_dropped_and_counted)
{
	struct test_leaks l = begin();

	run(ip_bad_body);
	end(l);
}

/* ---- ICMP ---------------------------------------------------------------- */

static int
icmp_echo_body(void)
{
	uint8_t f[256];
	size_t n;

	learn_peer();
	n = mk_echo(f, 0x1234, 7, 100);
	inject(f, n, L4 + 5, 0);	/* split at an odd place in the message */
	f[n] = 0xee;			/* Ethernet padding: ignored */
	inject(f, n + 1, 0, 0);
	CHECK_EQ(nframes, 2);
	for (int i = 0; i < nframes; i++) {
		struct icmp_hdr *ic = (struct icmp_hdr *)F_L4(i);
		check_ip(i, PEER_IP, IP_PROTO_ICMP);
		CHECK(memcmp(F_ETH(i)->dst, peer_mac, 6) == 0);
		CHECK_EQ(frames[i].len, n);
		CHECK_EQ(ic->type, ICMP_ECHO_REPLY);
		CHECK_EQ(ic->code, 0);
		CHECK_EQ(ntoh16(ic->id), 0x1234);
		CHECK_EQ(ntoh16(ic->seq), 7);
		CHECK(memcmp(F_L4(i) + ICMP_HLEN, f + L4 + ICMP_HLEN, 100) == 0);
		CHECK_EQ(inet_csum(inet_sum(ic, ICMP_HLEN + 100, 0)), 0);
	}
	CHECK_EQ(DELTA(icmp, rx_echo), 2);
	/* A field the device vouched for but left partial: the reply summed afresh. */
	n = mk_echo(f, 0x4321, 8, 100);
	((struct icmp_hdr *)(f + L4))->csum = hton16(0x1111);
	inject(f, n, L4 + 33, 0);		/* unvouched: dropped */
	inject(f, n, L4 + 33, NETIF_RX_CSUM_OK);
	CHECK_EQ(nframes, 3);
	CHECK_EQ(DELTA(icmp, rx_bad_csum), 1);
	CHECK_EQ(ntoh16(((struct icmp_hdr *)F_L4(2))->seq), 8);
	CHECK(memcmp(F_L4(2) + ICMP_HLEN, f + L4 + ICMP_HLEN, 100) == 0);
	CHECK_EQ(inet_csum(inet_sum(F_L4(2), ICMP_HLEN + 100, 0)), 0);
	/* To the broadcast address: ignored. */
	mk_echo(f, 1, 1, 8);
	((struct ip_hdr *)(f + ETH_HLEN))->dst = IP4(10, 0, 0, 255);
	((struct ip_hdr *)(f + ETH_HLEN))->csum = 0;
	((struct ip_hdr *)(f + ETH_HLEN))->csum = hton16(inet_csum(inet_sum(f + ETH_HLEN, IP_HLEN, 0)));
	memcpy(f, eth_broadcast, 6);
	inject(f, n, 0, 0);
	CHECK_EQ(nframes, 3);
	CHECK_EQ(DELTA(icmp, rx_ignored), 1);
	return 0;
}

TEST(icmp_echo_reply)
{
	struct test_leaks l = begin();

	run(icmp_echo_body);
	end(l);
}

/* Closed port: unreachables, ICMP_BURST at once and then none. */
static void
unreach_check(void *unused)
{
	uint8_t f[256];
	size_t n = 0;

	(void)unused;
	learn_peer();
	for (int i = 0; i < ICMP_BURST + 5; i++)
		inject(f, n = mk_udp(f, OUR_IP, 5555, 4444, payload, 20), 0, 0);
	CHECK_EQ(nframes, ICMP_BURST);
	CHECK_EQ(DELTA(icmp, tx_unreach), ICMP_BURST);
	CHECK_EQ(DELTA(icmp, rate_limited), 5);
	CHECK_EQ(DELTA(udp, rx_no_port), ICMP_BURST + 5);
	check_ip(0, PEER_IP, IP_PROTO_ICMP);
	CHECK_EQ(F_L4(0)[0], ICMP_UNREACH);
	CHECK_EQ(F_L4(0)[1], ICMP_UNREACH_PORT);
	CHECK_EQ(frames[0].len, L4 + ICMP_HLEN + IP_HLEN + ICMP_ERR_DATA);
	/* It quotes the datagram's header and its first 8 bytes: the UDP header. */
	CHECK(memcmp(F_L4(0) + ICMP_HLEN, f + ETH_HLEN, IP_HLEN + 8) == 0);
	CHECK_EQ(inet_csum(inet_sum(F_L4(0), frames[0].len - L4, 0)), 0);
	/* Nothing about a broadcast. */
	n = mk_udp(f, IP4_BROADCAST, 5555, 4444, payload, 20);
	memcpy(f, eth_broadcast, 6);
	inject(f, n, 0, 0);
	CHECK_EQ(DELTA(icmp, rate_limited), 5);
	finish();
}

static int
unreach_body(void)
{
	/* Let this core's bucket fill up whatever earlier tests took. */
	timer_setup(&check_t, unreach_check, NULL);
	timer_start(&check_t, 1000 * TIMER_MS * ICMP_BURST / ICMP_RATE + 10 * TIMER_MS, 0);
	return 1;
}

TEST(icmp_port_unreachable_rate_limited)
{
	struct test_leaks l = begin();

	run(unreach_body);
	end(l);
}
