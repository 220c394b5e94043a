/*
 * benchlib.h: what the hosted benchmarks over the runtime share (they
 * are linked without the test harness, so this is a header): the runtime
 * brought up on a given number of cores as hosted/main.c does, and two
 * stacks' interfaces joined by a memlink, A at 10.0.0.1 and B at
 * 10.0.0.2 on one /24.  Each benchmark then starts its own loops with
 * event_run, as the tests do.  A benchmark that cannot set up its
 * stage has nothing to measure: these say why and exit 1.
 */
#ifndef BENCHLIB_H
#define BENCHLIB_H

#include <stdio.h>
#include <stdlib.h>

#include "ebb/event.h"
#include "ebb/runtime.h"
#include "hosted/hosted.h"
#include "hosted/memlink.h"
#include "kernel/malloc.h"
#include "kernel/page.h"
#include "kernel/slab.h"
#include "tcp/proto.h"
#include "tcp/tcp.h"

/* The allocators, the id map, the loops, timers and RCU on ncores cores. */
static inline void
bench_runtime(int ncores)
{
	hosted_init();
	hosted_set_core_count(ncores);	/* before anything asks core_count */
	page_init();
	slab_init();
	kmalloc_init();
	ebb_init_runtime();
}

/* A memlink configured by cfg; *a is 10.0.0.1/24, *b 10.0.0.2/24. */
static inline void
bench_link(const struct memlink_config *cfg, struct netif **a, struct netif **b)
{
	struct memlink *ml = memlink_create("a", "b", cfg);

	if (ml == NULL) {
		fprintf(stderr, "bench: memlink_create failed\n");
		exit(1);
	}
	*a = memlink_netif(ml, 0);
	*b = memlink_netif(ml, 1);
	(*a)->ip = IP4(10, 0, 0, 1);
	(*b)->ip = IP4(10, 0, 0, 2);
	(*a)->netmask = (*b)->netmask = IP4(255, 255, 255, 0);
}

/* A client connection's aborted callback: no connection may fail in a benchmark. */
static inline void
bench_aborted(void *arg, struct tcp_conn *c, int reason)
{
	(void)arg;
	(void)c;
	fprintf(stderr, "bench: a connection was aborted (reason %d)\n", reason);
	exit(1);
}

#endif
