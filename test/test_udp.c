/*
 * test_udp.c: UDP (tcp/udp.c) over IPv4 and ARP, hosted, in lwIP's
 * manner: an echo binding driven by crafted datagrams, checksums
 * verified, skipped (0) and vouched for by the device, offload hints,
 * and every core sending and receiving at once (test/netfake.h
 * explains the harness).
 */
#define _GNU_SOURCE
#include "netfake.h"

/* ---- UDP ----------------------------------------------------------------- */

/* Echo: send the payload back to where it came from. */
static void
echo(void *arg, const struct udp_rx *rx, struct iobuf *p)
{
	__atomic_add_fetch((long *)arg, 1, __ATOMIC_RELAXED);
	udp_sendto(rx->nif, rx->dst_port, rx->src_ip, rx->src_port, p);
}

static long echoed;

static int
udp_echo_body(void)
{
	uint8_t f[256];
	size_t n;

	learn_peer();
	CHECK_EQ(udp_bind(7, echo, &echoed), 0);
	CHECK_EQ(udp_bind(7, echo, &echoed), EADDRINUSE);
	CHECK_EQ(udp_bind(0, echo, &echoed), EINVAL);
	n = mk_udp(f, OUR_IP, 5555, 7, payload, 33);
	inject(f, n, L4 + 3, 0);		/* split inside the UDP header */
	CHECK_EQ(nframes, 1);
	check_ip(0, PEER_IP, IP_PROTO_UDP);
	CHECK(memcmp(F_ETH(0)->dst, peer_mac, 6) == 0);
	CHECK_EQ(ntoh16(((struct udp_hdr *)F_L4(0))->sport), 7);
	CHECK_EQ(ntoh16(((struct udp_hdr *)F_L4(0))->dport), 5555);
	CHECK_EQ(ntoh16(((struct udp_hdr *)F_L4(0))->len), UDP_HLEN + 33);
	CHECK_EQ(frames[0].len, n);
	CHECK(memcmp(F_L4(0) + UDP_HLEN, payload, 33) == 0);
	CHECK(udp_good(0));
	CHECK_EQ(frames[0].has_hints, 0);
	/* No checksum sent (0): delivered. */
	mk_udp(f, OUR_IP, 5555, 7, payload, 33);
	((struct udp_hdr *)(f + L4))->csum = 0;
	inject(f, n, 0, 0);
	CHECK_EQ(nframes, 2);
	/* A bad checksum: dropped, unless the device said it was good. */
	mk_udp(f, OUR_IP, 5555, 7, payload, 33);
	f[n - 1] ^= 0x55;
	inject(f, n, 0, 0);
	CHECK_EQ(nframes, 2);
	CHECK_EQ(DELTA(udp, rx_bad_csum), 1);
	inject(f, n, 0, NETIF_RX_CSUM_OK);
	CHECK_EQ(nframes, 3);
	/* A length field past the datagram; one shorter than a header. */
	mk_udp(f, OUR_IP, 5555, 7, payload, 33);
	((struct udp_hdr *)(f + L4))->len = hton16(100);
	inject(f, n, 0, 0);
	((struct udp_hdr *)(f + L4))->len = hton16(4);
	inject(f, n, 0, 0);
	CHECK_EQ(DELTA(udp, rx_bad_len), 2);
	CHECK_EQ(nframes, 3);
	CHECK_EQ(echoed, 3);
	/* Too big for the MTU; an unbound port. */
	struct iobuf *big = iobuf_alloc(IOBUF_HEADROOM, 1500);
	iobuf_put(big, 1500 - IP_HLEN - UDP_HLEN + 1);
	CHECK_EQ(udp_sendto(NULL, 1, PEER_IP, 2, big), EMSGSIZE);
	CHECK_EQ(udp_sendto(NULL, 1, IP4(10, 0, 0, 3), 2, NULL), 0);	/* waits for ARP */
	CHECK_EQ(udp_unbind(7), 0);
	CHECK_EQ(udp_unbind(7), ENOENT);
	CHECK_EQ(DELTA(udp, rx), 3);
	CHECK_EQ(DELTA(udp, tx), 4);
	return 0;
}

TEST(udp_echo)
{
	struct test_leaks l = begin();

	echoed = 0;
	run(udp_echo_body);
	end(l);
}

/* With NETIF_F_TX_CSUM the device finishes the sum the hints describe. */
static int
udp_offload_body(void)
{
	learn_peer();
	fake.features |= NETIF_F_TX_CSUM;
	struct iobuf *p = iobuf_alloc(IOBUF_HEADROOM, 64);
	memcpy(iobuf_put(p, 21), payload, 21);
	CHECK_EQ(udp_sendto(NULL, 1000, PEER_IP, 2000, p), 0);
	fake.features &= ~NETIF_F_TX_CSUM;
	CHECK_EQ(nframes, 1);
	CHECK_EQ(frames[0].has_hints, 1);
	CHECK_EQ(frames[0].h.csum_start, L4);
	CHECK_EQ(frames[0].h.csum_offset, 6);
	CHECK(!udp_good(0));		/* not finished yet: the pseudo sum only */
	/* Do what the device would: sum from csum_start, store at the offset. */
	uint8_t *fr = frames[0].b;
	uint16_t c = inet_csum(inet_sum(fr + L4, frames[0].len - L4, 0));
	fr[L4 + 6] = (uint8_t)(c >> 8);
	fr[L4 + 7] = (uint8_t)c;
	CHECK(udp_good(0));
	return 0;
}

TEST(udp_checksum_offload_hints)
{
	struct test_leaks l = begin();

	run(udp_offload_body);
	end(l);
}

/*
 * Every core at once: each sends to an unresolved address (one pending
 * record, created by whichever core came first, holds them), then the
 * reply arrives on the last core, and each core echoes datagrams it
 * receives itself.
 */
static long mc_left;

static void
mc_reply(void *unused)
{
	uint8_t f[128];

	(void)unused;
	inject(f, mk_arp(f, ARP_REPLY, PEER_IP, our_mac, OUR_IP), 0, 0);
	CHECK_EQ(nframes, 1 + ARP_QUEUE_MAX);	/* the request, then the newest held */
	for (int i = 1; i < nframes; i++)
		CHECK(memcmp(F_ETH(i)->dst, peer_mac, 6) == 0);
	finish();
}

static void
mc_send(void *unused)
{
	uint8_t f[256];

	(void)unused;
	CHECK_EQ(udp_sendto(NULL, 1000, PEER_IP, 2000, NULL), 0);
	inject(f, mk_udp(f, OUR_IP, (uint16_t)(6000 + core_id()), 7, payload, 10), 0, 0);
	if (__atomic_sub_fetch(&mc_left, 1, __ATOMIC_ACQ_REL) == 0)
		spawn_on(core_count() - 1, mc_reply, NULL);
}

static int
udp_multicore_body(void)
{
	CHECK_EQ(udp_bind(7, echo, &echoed), 0);
	mc_left = core_count();
	for (int c = 0; c < core_count(); c++)
		spawn_on(c, mc_send, NULL);
	return 1;
}

TEST(udp_arp_across_cores)
{
	struct test_leaks l = begin();

	echoed = 0;
	run(udp_multicore_body);
	CHECK_EQ(echoed, NCORES);
	CHECK_EQ(DELTA(arp, tx_requests), 1);
	CHECK_EQ(DELTA(arp, queued), 2 * NCORES);
	CHECK_EQ(DELTA(arp, queue_drops), 2 * NCORES - ARP_QUEUE_MAX);
	CHECK_EQ(udp_unbind(7), 0);
	run(prime);
	end(l);
}
