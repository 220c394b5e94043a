/*
 * fuzzlib.h: what the libFuzzer targets (fuzz_rx.c, fuzz_tcp.c,
 * fuzz_kv.c) share.  Test code only; all static.
 *
 * A fuzz target is not linked with the test harness (test.c's main and
 * CHECK are libFuzzer's business there), so it brings the runtime up
 * itself, once, on one core (fuzz_runtime): the allocators, then
 * ebb_init_runtime (ebb/init.c), as the platforms do.  fuzz_setup then
 * adds a fake interface, 10.0.0.1/24 at 02:00:00:00:00:01 with gateway
 * 10.0.0.254, whose
 * transmit op is the target's own (one that frees, one that watches).
 * Anything that cannot be set up aborts: memory is not what is fuzzed.
 */
#ifndef TEST_FUZZLIB_H
#define TEST_FUZZLIB_H

#include <stdlib.h>
#include <string.h>

#include "ebb/ebb.h"
#include "ebb/event.h"
#include "ebb/runtime.h"
#include "hosted/hosted.h"
#include "kernel/malloc.h"
#include "kernel/page.h"
#include "kernel/slab.h"
#include "tcp/inet.h"
#include "tcp/netif.h"

#define FUZZ_OUR_IP	IP4(10, 0, 0, 1)
#define FUZZ_GW_IP	IP4(10, 0, 0, 254)

static const uint8_t fuzz_our_mac[ETH_ALEN] = { 2, 0, 0, 0, 0, 1 };

/* The runtime on one core. */
static inline void
fuzz_runtime(void)
{
	hosted_set_core_count(1);
	page_init();
	slab_init();
	kmalloc_init();
	ebb_init_runtime();	/* the id map, loops, timers, RCU */
}

/* The runtime on one core, and nif as the fake interface sending with ops. */
static inline void
fuzz_setup(struct netif *nif, const struct netif_ops *ops)
{
	fuzz_runtime();
	nif->ops = ops;
	strcpy(nif->name, "fuzz0");
	memcpy(nif->mac, fuzz_our_mac, ETH_ALEN);
	nif->mtu = 1500;
	nif->nqueues = 1;
	nif->ip = FUZZ_OUR_IP;
	nif->netmask = IP4(255, 255, 255, 0);
	nif->gateway = FUZZ_GW_IP;
	if (netif_add(nif) != 0)
		abort();
}

#endif
