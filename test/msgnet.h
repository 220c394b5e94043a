/*
 * msgnet.h: three nodes in one process for the messenger's suites
 * (test_msg.c, test_idmap.c).  Test code only.
 *
 * Node X (A, B, C; D has an address and no messenger) is the B side of
 * memlink L_X, 10.(71+X).0.2; L_X's A side, 10.(71+X).0.1, is the
 * interface every node's connections to X leave from (ip_route picks
 * the first interface on a subnet, and a memlink's A side is added
 * first), so any node reaches any other through one wire, and the
 * messenger's hello, not the source address, says who connected.
 *
 * A test is one run (run(body)): body is an event on core 0 that may
 * block on futures; after it, every connection is reset (msgr_drop)
 * and the run waits until the messengers and TCP hold nothing (live
 * connections, held bytes), then ends as test/netwire.h's runs do, and
 * the suite checks leaks with wire_end.  A run that takes more than
 * RUN_DOG_MS has hung.
 */
#ifndef TEST_MSGNET_H
#define TEST_MSGNET_H

#include "ebb/future.h"
#include "ebb/msg.h"
#include "netwire.h"
#include "tcp/tcp.h"

#define NNODES		3		/* A, B, C; D (index 3) has no messenger */
#define NODE_IP(i)	IP4(10, 71 + (i), 0, 2)
#define RUN_DOG_MS	120000		/* a run that takes longer has hung */

static struct messenger *node[NNODES];
static struct memlink *links[NNODES + 1];

/* Every messenger's stats summed: live connections and held bytes. */
static void
sum_stats(int64_t *live, int64_t *held)
{
	struct msgr_stats s;

	*live = *held = 0;
	for (int i = 0; i < NNODES; i++) {
		msgr_stats(node[i], &s);
		*live += s.live;
		*held += s.held;
	}
}

/* Reset every connection and wait until nothing is left: then the run ends. */
static void
quiesce(void)
{
	int64_t live, held;

	for (int i = 0; i < NNODES; i++)
		CHECK_EQ(msgr_drop(node[i], 0), 0);
	for (int i = 0; i < 20000; i++) {
		sum_stats(&live, &held);
		if (live == 0 && held == 0 && tcp_live() == 0)
			break;
		test_sleep_ms(1);
	}
	sum_stats(&live, &held);
	CHECK_EQ(live, 0);
	CHECK_EQ(held, 0);
	CHECK_EQ(tcp_live(), 0);
}

/* ---- the runs --------------------------------------------------------------- */

static void
run_dog(void *unused)
{
	(void)unused;
	CHECK(!"the run hung: watchdog fired");
	event_stop(1);
}

static void
run_first(void *body)
{
	timer_setup(&dog, run_dog, NULL);
	timer_start(&dog, RUN_DOG_MS * TIMER_MS, 0);
	((void (*)(void))body)();
	quiesce();
	wire_finish();
}

static void
run(void (*body)(void))
{
	CHECK_EQ(event_run(run_first, (void *)body), 0);
}

/* The links, the messengers, TCP's times for a 20 us wire: an interface to prime. */
static struct netif *
msgnet_make(void)
{
	static const struct memlink_config cfg = { .seed = 71, .delay_ns = 20000,
	    .features = NETIF_F_TX_CSUM | NETIF_F_RX_CSUM };
	struct tcp_config tc;
	char na[8], nb[8];

	for (int i = 0; i <= NNODES; i++) {
		snprintf(na, sizeof na, "m%da", i);
		snprintf(nb, sizeof nb, "m%db", i);
		links[i] = memlink_create(na, nb, &cfg);
		CHECK(links[i] != NULL);
		struct netif *a = memlink_netif(links[i], 0), *b = memlink_netif(links[i], 1);
		a->ip = IP4(10, 71 + i, 0, 1);
		b->ip = NODE_IP(i);
		a->netmask = b->netmask = IP4(255, 255, 255, 0);
	}
	for (int i = 0; i < NNODES; i++)
		CHECK((node[i] = msgr_start(NODE_IP(i))) != NULL);
	tcp_config_get(&tc);
	tc.rto_min_ms = 10;
	tc.rto_init_ms = 100;
	tc.time_wait_ms = 20;
	CHECK_EQ(tcp_configure(&tc), 0);
	return memlink_netif(links[0], 0);
}

#endif
