/*
 * counter.c: the distributed counter Ebb (ebb/counter.h) in use on every
 * core.  Binds a counter; sends every core an event that adds to it N
 * times through the Ebb translation table (each core its own rep, made
 * on the core's first call: natively that first call also faults in a
 * page of the core's own table, kernel/vm.c); the last core to finish
 * tells core 0, which checks the sum and prints how long an add took.
 *
 *	make run APP=counter CPUS=4 [ARGS=N]	N adds per core (default 1000000)
 *	build/hosted/counter --cpus 4 [N]
 */
#include <stdio.h>
#include <stdlib.h>

#include "ebb/counter.h"
#include "ebb/event.h"
#include "ebb/runtime.h"

static struct counter adds;
static long per_core;
static int finished;		/* cores done adding (atomic) */
static uint64_t slowest;	/* the longest a core took, in ns (core 0 reads) */

/* On core 0, once every core is done: check and report. */
static void
report(void *unused)
{
	long want = per_core * core_count(), sum = counter_sum(&adds);

	(void)unused;
	printf("counter: %ld adds on each of %d cores, at most %.1f ns each, sum %ld: %s\n",
	    per_core, core_count(), (double)slowest / (double)per_core, sum,
	    sum == want ? "ok" : "WRONG");
	ebb_exit(sum == want ? 0 : 1);
}

/* On every core: add per_core times, then count ourselves done. */
static void
add_here(void *unused)
{
	uint64_t t0 = clock_ns();

	(void)unused;
	for (long i = 0; i < per_core; i++)
		counter_add(adds.id, 1);
	uint64_t took = clock_ns() - t0, seen = __atomic_load_n(&slowest, __ATOMIC_RELAXED);
	while (took > seen && !__atomic_compare_exchange_n(&slowest, &seen, took, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	/* Acq_rel: the last core sees every other core's adds and time. */
	if (__atomic_add_fetch(&finished, 1, __ATOMIC_ACQ_REL) == core_count() &&
	    spawn_on(0, report, NULL) != 0)
		ebb_exit(1);
}

/* ebb/runtime.h: how many adds each core makes (default 1000000). */
const char app_usage[] = "[ADDS_PER_CORE]";

int
app_main(int argc, char **argv)
{
	per_core = argc > 1 ? atol(argv[1]) : 1000000;
	if (per_core <= 0) {
		printf("counter: usage: counter [N > 0]\n");
		return 64;
	}
	if (counter_init(&adds) < 0) {
		printf("counter: cannot bind the counter\n");
		return 1;
	}
	for (int c = 0; c < core_count(); c++)
		if (spawn_on(c, add_here, NULL) != 0) {
			printf("counter: no memory to send an event\n");
			return 1;
		}
	return EBB_RUN;
}
