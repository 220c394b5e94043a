/*
 * netwire.h: what the suites that run two stacks over the in-memory
 * wire share (test_netcfg.c, test_dhcp.c): the runs, the counters and
 * the leak checks.  Test code only.
 *
 * Both interfaces of a memlink live in this one process, so they share
 * the instance's tables (the ARP cache is keyed by address and
 * interface, the UDP bindings by port): the two "stacks" are two
 * interfaces, each with its own address, and every send names its
 * interface (udp_sendto(nif, ...)), since ip_route would pick the first
 * one on the subnet for both.  memlink delivers a frame on the core
 * that sent it, so a test driven from core 0 stays on core 0.
 *
 * A test is one run (wire_run(body)): body runs on core 0 and returns
 * 0 when it is done or 1 when one of its own callbacks will call
 * wire_finish; a 10 s watchdog ends a run that hangs (status 1).
 * wire_finish flushes ARP and stops the run once every core's RCU
 * callbacks have run; wire_begin and wire_end bracket the test with
 * the leak checks (iobuf_live() back to zero, test_leak_check).
 */
#ifndef TEST_NETWIRE_H
#define TEST_NETWIRE_H

#include <string.h>

#include "ebb/event.h"
#include "ebb/rcu.h"
#include "ebb/timer.h"
#include "hosted/memlink.h"
#include "tcp/eth.h"
#include "tcp/netcfg.h"
#include "tcp/proto.h"
#include "tcp/stats.h"
#include "tcp/udp.h"
#include "frame.h"
#include "test.h"

#define NCORES	4
#define WIRE_DOG_MS	10000	/* a run that takes longer has hung */

__attribute__((unused)) static struct net_stats s0;	/* counters at the test's start */
static int settled;				/* cores whose RCU callbacks ran */
static struct timer dog;			/* the watchdog, on core 0 */

/* The change in counter layer.field since the test began. */
#define DELTA(layer, field) ({ struct net_stats s_; net_stats_read(&s_); \
	(long long)(s_.layer.field - s0.layer.field); })

static inline void
wire_stop(void *unused)
{
	(void)unused;
	timer_stop(&dog);
	event_stop(0);
}

static inline void
wire_settled(void *unused)
{
	(void)unused;
	/* Acq_rel: the last core to count sees every core's callbacks run. */
	if (__atomic_add_fetch(&settled, 1, __ATOMIC_ACQ_REL) == core_count())
		spawn_on(0, wire_stop, NULL);
}

static inline void
wire_settle_core(void *unused)
{
	(void)unused;
	if (rcu_call(wire_settled, NULL) != 0)
		CHECK(!"rcu_call");
}

/* A test's last step, on any core: forget ARP, stop once RCU settles. */
static inline void
wire_finish(void)
{
	arp_flush();
	settled = 0;
	for (int c = 0; c < core_count(); c++)
		spawn_on(c, wire_settle_core, NULL);
}

static inline void
wire_dog(void *unused)
{
	(void)unused;
	CHECK(!"the run hung: watchdog fired");
	event_stop(1);
}

static inline void
wire_first(void *body)
{
	timer_setup(&dog, wire_dog, NULL);
	timer_start(&dog, WIRE_DOG_MS * TIMER_MS, 0);
	if (((int (*)(void))body)() == 0)
		wire_finish();
}

static inline void
wire_run(int (*body)(void))
{
	CHECK_EQ(event_run(wire_first, (void *)body), 0);
}

/*
 * Craft an ARP request from (smac, sip) for tip and give it to nif as
 * if it came off the wire: nif learns the sender (the ARP cache is
 * made) and answers.
 */
static inline void
wire_arp_in(struct netif *nif, const uint8_t *smac, uint32_t sip, uint32_t tip)
{
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, ETH_MIN_FRAME);

	frame_arp_request(iobuf_put(b, ETH_MIN_FRAME), smac, sip, tip);
	netif_input(nif, b, 0);
}

static inline void
wire_sink(void *arg, const struct udp_rx *rx, struct iobuf *p)
{
	(void)arg;
	(void)rx;
	iobuf_free_chain(p);
}

/*
 * The first run of a suite: make what the stack makes once and keeps
 * (the ARP cache, the UDP bindings table, the buffer caches), so that
 * the leak checks compare like with like.  a is configured for the
 * occasion and left as it was.
 */
static struct netif *prime_nif;

static inline int
wire_prime(void)
{
	struct netif *a = prime_nif;
	uint32_t ip = a->ip, mask = a->netmask, gw = a->gateway;
	static const uint8_t other[ETH_ALEN] = { 2, 0, 0, 0, 0x7f, 1 };

	netcfg_apply(a, IP4(192, 168, 255, 1), IP4(255, 255, 255, 0), 0);
	wire_arp_in(a, other, IP4(192, 168, 255, 2), a->ip);
	CHECK_EQ(udp_bind(9, wire_sink, NULL), 0);
	CHECK_EQ(udp_unbind(9), 0);
	a->ip = ip;
	a->netmask = mask;
	a->gateway = gw;
	return 0;
}

/*
 * A test's start: the runtime once (make, called once, builds the
 * suite's links and returns an interface to prime with); the leak
 * baseline; the counters noted.
 */
static inline struct test_leaks
wire_begin(struct netif *(*make)(void))
{
	static int done;
	struct test_leaks l;

	test_setup(NCORES, 0, TEST_RCU);
	if (!done) {
		done = 1;
		prime_nif = make();
		wire_run(wire_prime);
	}
	l = test_leak_start(NCORES);
	net_stats_read(&s0);
	return l;
}

/*
 * wire_begin, and once per suite a first run of prime through the
 * suite's own run (so that what the first run of the suite's kind of
 * body makes and keeps for good: loop stacks, connection tables, ARP
 * entries, is made before the baseline); then the baseline again.
 */
static inline struct test_leaks
wire_begin_primed(struct netif *(*make)(void), void (*run)(void (*body)(void)),
    void (*prime)(void))
{
	static int primed;
	struct test_leaks l = wire_begin(make);

	if (!primed) {
		primed = 1;
		run(prime);
		l = test_leak_start(NCORES);
		net_stats_read(&s0);
	}
	return l;
}

static inline void
wire_end(struct test_leaks l)
{
	CHECK_EQ(iobuf_live(), 0);
	test_leak_check(l);
}

#endif
