/*
 * netfake.h: what the network suites (test_ip.c, test_udp.c) share: a
 * fake interface, frame builders, and runs that settle.  Test code only.
 *
 * The fake interface records every frame the stack transmits
 * (flattened, with its offload hints and the core that sent it).  Each
 * test crafts frames byte by byte, pushes them in through netif_input
 * as a driver would (inject), and decodes what came out (frames[],
 * F_ETH and the rest); the per-layer counters (tcp/stats.h, DELTA) say
 * why anything was dropped.  Tests run inside the real event loops
 * (NCORES threads), because ARP's retries are timers and the cache and
 * bindings free their memory after RCU grace periods: each test is one
 * run (run(body)) whose last step (finish) flushes the ARP cache and
 * waits until every core's RCU callbacks have run; begin and end then
 * bracket the test with the leak checks (iobuf_live() back to zero,
 * test_leak_check).
 *
 * The fake link: we are 10.0.0.1/24 at 02:00:00:00:00:01 with gateway
 * 10.0.0.254; the peer is 10.0.0.2 at 02:00:00:00:00:02.
 *
 * Everything here is static (inline, or unused-tolerant), so that each
 * suite includes it once and the Makefile needs no extra object.
 */
#ifndef TEST_NETFAKE_H
#define TEST_NETFAKE_H

#include <errno.h>
#include <string.h>

#include "ebb/event.h"
#include "ebb/rcu.h"
#include "ebb/timer.h"
#include "kernel/spinlock.h"
#include "tcp/eth.h"
#include "tcp/inet.h"
#include "tcp/ip.h"
#include "tcp/proto.h"
#include "tcp/stats.h"
#include "tcp/udp.h"
#include "frame.h"
#include "test.h"

#define NCORES	4
#define MAXF	64		/* frames the fake interface records */

__attribute__((unused)) static const uint8_t our_mac[6] = { 2, 0, 0, 0, 0, 1 };
__attribute__((unused)) static const uint8_t peer_mac[6] = { 2, 0, 0, 0, 0, 2 };
#define OUR_IP	IP4(10, 0, 0, 1)
#define PEER_IP	IP4(10, 0, 0, 2)
#define GW_IP	IP4(10, 0, 0, 254)

/* ---- the fake interface ------------------------------------------------- */

struct frame {
	uint8_t b[2048];
	size_t len;
	int has_hints;
	struct netif_tx_hints h;
	int core;
};

__attribute__((unused)) static struct frame frames[MAXF];
__attribute__((unused)) static int nframes;			/* under tx_lock */
__attribute__((unused)) static struct spinlock tx_lock = SPINLOCK_INIT("fake_tx");

static inline int
fake_transmit(struct netif *nif, struct iobuf *frame, const struct netif_tx_hints *h)
{
	size_t len = iobuf_chain_len(frame);

	(void)nif;
	spin_lock(&tx_lock);
	if (nframes < MAXF && len <= sizeof frames[0].b) {
		struct frame *f = &frames[nframes++];
		iobuf_copy_out(frame, 0, len, f->b);
		f->len = len;
		f->has_hints = h != NULL && h->csum;
		if (h != NULL)
			f->h = *h;
		f->core = core_id();
	}
	spin_unlock(&tx_lock);
	iobuf_free_chain(frame);
	return 0;
}

__attribute__((unused)) static const struct netif_ops fake_ops = { .transmit = fake_transmit };
__attribute__((unused)) static struct netif fake;

/* Push a crafted frame in, split into two buffers at split (0: one). */
static inline void
inject(const uint8_t *bytes, size_t len, size_t split, uint32_t flags)
{
	struct iobuf *a = iobuf_alloc(IOBUF_HEADROOM, len), *b;

	if (split == 0 || split >= len) {
		memcpy(iobuf_put(a, len), bytes, len);
	} else {
		b = iobuf_alloc(0, len - split);
		memcpy(iobuf_put(a, split), bytes, split);
		memcpy(iobuf_put(b, len - split), bytes + split, len - split);
		a->next = b;
	}
	netif_input(&fake, a, flags);
}

/* ---- frame builders ------------------------------------------------------ */

static inline size_t
mk_eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	struct eth_hdr *e = (struct eth_hdr *)f;

	memcpy(e->dst, dst, 6);
	memcpy(e->src, peer_mac, 6);
	e->type = hton16(type);
	return ETH_HLEN;
}

static inline size_t
mk_arp(uint8_t *f, uint16_t op, uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
	size_t n = mk_eth(f, op == ARP_REQUEST ? eth_broadcast : our_mac, ETHERTYPE_ARP);
	struct arp_pkt *a = (struct arp_pkt *)(f + n);

	a->htype = hton16(1);
	a->ptype = hton16(ETHERTYPE_IPV4);
	a->hlen = 6;
	a->plen = 4;
	a->op = hton16(op);
	memcpy(a->sha, peer_mac, 6);
	a->spa = spa;
	memcpy(a->tha, tha, 6);
	a->tpa = tpa;
	return n + ARP_LEN;
}

/* An IPv4 frame around n bytes of l4 (already in place at f + 34). */
static inline size_t
mk_ip(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto, size_t n)
{
	return frame_ipv4(f, our_mac, peer_mac, src, dst, proto, n);
}

#define L4	(ETH_HLEN + IP_HLEN)	/* where the transport header goes */

static inline size_t
mk_udp(uint8_t *f, uint32_t dst, uint16_t sport, uint16_t dport,
    const void *data, size_t n)
{
	struct udp_hdr *u = (struct udp_hdr *)(f + L4);
	uint16_t len = (uint16_t)(UDP_HLEN + n);

	u->sport = hton16(sport);
	u->dport = hton16(dport);
	u->len = hton16(len);
	u->csum = 0;
	memcpy(f + L4 + UDP_HLEN, data, n);
	u->csum = hton16(inet_csum(inet_sum(u, len, inet_pseudo(PEER_IP, dst,
	    IP_PROTO_UDP, len))));
	return mk_ip(f, PEER_IP, dst, IP_PROTO_UDP, len);
}

static inline size_t
mk_echo(uint8_t *f, uint16_t id, uint16_t seq, size_t n)
{
	struct icmp_hdr *ic = (struct icmp_hdr *)(f + L4);

	memset(ic, 0, ICMP_HLEN);
	ic->type = ICMP_ECHO;
	ic->id = hton16(id);
	ic->seq = hton16(seq);
	for (size_t i = 0; i < n; i++)
		f[L4 + ICMP_HLEN + i] = (uint8_t)(i * 7 + 1);
	ic->csum = hton16(inet_csum(inet_sum(ic, ICMP_HLEN + n, 0)));
	return mk_ip(f, PEER_IP, OUR_IP, IP_PROTO_ICMP, ICMP_HLEN + n);
}

/* Frame i's headers, for decoding. */
#define F_ETH(i)	((struct eth_hdr *)frames[i].b)
#define F_ARP(i)	((struct arp_pkt *)(frames[i].b + ETH_HLEN))
#define F_IP(i)		((struct ip_hdr *)(frames[i].b + ETH_HLEN))
#define F_L4(i)		(frames[i].b + L4)

/* Check frame i is a well-formed IPv4 datagram to dst (proto), sum good. */
static inline void
check_ip(int i, uint32_t dst, uint8_t proto)
{
	struct ip_hdr *ih = F_IP(i);

	CHECK_EQ(ntoh16(F_ETH(i)->type), ETHERTYPE_IPV4);
	CHECK_EQ(ih->vhl, 0x45);
	CHECK_EQ(ih->ttl, IP_TTL);
	CHECK_EQ(ih->proto, proto);
	CHECK_EQ(ih->src, OUR_IP);
	CHECK_EQ(ih->dst, dst);
	CHECK_EQ(ntoh16(ih->len), frames[i].len - ETH_HLEN);
	CHECK_EQ(ntoh16(ih->frag), IP_DF);
	CHECK_EQ(inet_csum(inet_sum(ih, IP_HLEN, 0)), 0);
}

/* Is frame i's UDP checksum (pseudo-header included) good? */
static inline int
udp_good(int i)
{
	size_t n = frames[i].len - L4;

	return inet_csum(inet_sum(F_L4(i), n, inet_pseudo(F_IP(i)->src,
	    F_IP(i)->dst, IP_PROTO_UDP, (uint16_t)n))) == 0;
}

/* ---- runs ---------------------------------------------------------------- */

__attribute__((unused)) static struct net_stats s0;		/* the counters when the test began */
__attribute__((unused)) static int settled;			/* cores whose RCU callbacks ran (atomic) */

/* The change in counter layer.field since the test began. */
#define DELTA(layer, field) ({ struct net_stats s_; net_stats_read(&s_); \
	(long long)(s_.layer.field - s0.layer.field); })

static inline void
stop(void *unused)
{
	(void)unused;
	event_stop(0);
}

/* Queued after every callback of this core's: they have all run. */
static inline void
settled_cb(void *unused)
{
	(void)unused;
	if (__atomic_add_fetch(&settled, 1, __ATOMIC_ACQ_REL) == core_count())
		spawn(stop, NULL);
}

static inline void
settle_core(void *unused)
{
	(void)unused;
	if (rcu_call(settled_cb, NULL) != 0)
		CHECK(!"rcu_call");
}

/*
 * A test's last step: forget ARP, and stop the run once every core's
 * RCU callbacks queued so far (the frees) have run.
 */
static inline void
finish(void)
{
	arp_flush();
	settled = 0;
	for (int c = 0; c < core_count(); c++)
		spawn_on(c, settle_core, NULL);
}

/* A body returns 0 when done, 1 if a timer of its own calls finish. */
static inline void
first(void *body)
{
	if (((int (*)(void))body)() == 0)
		finish();
}

static inline void
run(int (*body)(void))
{
	CHECK_EQ(event_run(first, (void *)body), 0);
}

/* Learn the peer's MAC (it asks for ours) and forget the reply. */
static inline void
learn_peer(void)
{
	uint8_t f[128];
	static const uint8_t zero[6];

	inject(f, mk_arp(f, ARP_REQUEST, PEER_IP, zero, OUR_IP), 0, 0);
	nframes = 0;
}

/* A binding that drops what it gets. */
static inline void
sink(void *arg, const struct udp_rx *rx, struct iobuf *p)
{
	(void)arg;
	(void)rx;
	iobuf_free_chain(p);
}

static inline int
prime(void)
{
	learn_peer();
	CHECK_EQ(udp_bind(9, sink, NULL), 0);
	CHECK_EQ(udp_unbind(9), 0);
	return 0;
}

/* The runtime once; a test's start: tables made, counters noted. */
static inline struct test_leaks
begin(void)
{
	static int done;
	struct test_leaks l;

	test_setup(NCORES, 0, TEST_RCU);
	if (!done) {
		done = 1;
		fake.ops = &fake_ops;
		strcpy(fake.name, "fake0");
		memcpy(fake.mac, our_mac, 6);
		fake.mtu = 1500;
		fake.nqueues = NCORES;
		fake.ip = OUR_IP;
		fake.netmask = IP4(255, 255, 255, 0);
		fake.gateway = GW_IP;
		CHECK_EQ(netif_add(&fake), 0);
		run(prime);		/* the tables and caches exist from now */
	}
	l = test_leak_start(NCORES);
	nframes = 0;
	net_stats_read(&s0);
	return l;
}

static inline void
end(struct test_leaks l)
{
	CHECK_EQ(iobuf_live(), 0);
	test_leak_check(l);
}

/* ---- shared by the suites' tests ---------------------------------------- */

__attribute__((unused)) static const uint8_t zero_mac[6];
__attribute__((unused)) static uint8_t payload[64] = "hello, world";

__attribute__((unused)) static struct timer check_t;		/* a test's own delay */

#endif
