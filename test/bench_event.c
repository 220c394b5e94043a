/*
 * bench_event.c: what the event loop and the timers cost (make bench).
 * Hosted, optimized, no sanitizers; prints figures, asserts nothing.
 *
 *   spawn + dispatch, chain	an event spawns the next, N times: one
 *				spawn and one dispatch per event, one core
 *   spawn + dispatch, burst	one event spawns BURST, then they run
 *   spawn_on round trip	core 0 -> core 1 -> core 0, N times, with
 *				the cores sleeping between (so each hop
 *				wakes its target: an eventfd write and a
 *				wake-up), and with both cores polling (an
 *				idle handler that always says "busy", so
 *				no core sleeps and no wake is sent)
 *   timer start + stop		timer_start_at + timer_stop on an empty
 *				heap, and with MANY other timers armed
 *				(log n levels); timer_start adds a
 *				clock_ns(), which is measured too
 *
 * Each figure is the best of REPEAT runs (the others met a noisy
 * neighbour).  The goal for a local spawn + dispatch is under 50 ns.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ebb/event.h"
#include "ebb/timer.h"
#include "hosted/hosted.h"
#include "kernel/malloc.h"
#include "kernel/page.h"
#include "kernel/platform.h"
#include "kernel/slab.h"

#define N	(2 * 1000 * 1000)	/* events per chain run */
#define BURST	1000			/* events per burst */
#define BURSTS	2000			/* bursts per run */
#define TRIPS	100000			/* round trips per run (polling) */
#define SLEEPY	20000			/* round trips per run (sleeping) */
#define PAIRS	(1000 * 1000)		/* timer start/stop pairs per run */
#define MANY	100000			/* timers armed under the pairs */
#define REPEAT	5

static uint64_t t0, t1;
static long count;

/* ---- one core: a chain --------------------------------------------------- */

static void
chain(void *unused)
{
	(void)unused;
	if (++count == N) {
		t1 = clock_ns();
		event_stop(0);
		return;
	}
	spawn(chain, NULL);
}

static void
chain_first(void *unused)
{
	(void)unused;
	count = 0;
	t0 = clock_ns();
	spawn(chain, NULL);
}

/* ---- one core: bursts ---------------------------------------------------- */

static void burst(void *unused);

static void
burst_one(void *unused)
{
	(void)unused;
	if (++count % BURST == 0) {		/* the burst's last */
		if (count == (long)BURST * BURSTS) {
			t1 = clock_ns();
			event_stop(0);
		} else {
			spawn(burst, NULL);
		}
	}
}

static void
burst(void *unused)
{
	(void)unused;
	for (int i = 0; i < BURST; i++)
		spawn(burst_one, NULL);
}

static void
burst_first(void *unused)
{
	count = 0;
	t0 = clock_ns();
	burst(unused);
}

/* ---- two cores: round trips ---------------------------------------------- */

static long trips;
static struct event_idle *poll0, *poll1;

static void ping(void *unused);

static void
pong(void *unused)			/* core 0 */
{
	(void)unused;
	if (++count == trips) {
		t1 = clock_ns();
		event_stop(0);
		return;
	}
	spawn_on(1, ping, NULL);
}

static void
ping(void *unused)			/* core 1 */
{
	(void)unused;
	spawn_on(0, pong, NULL);
}

static void
trip_first(void *unused)
{
	(void)unused;
	count = 0;
	t0 = clock_ns();
	spawn_on(1, ping, NULL);
}

/* An idle handler that always claims work: the core polls, never sleeps. */
static int
busy(void *unused)
{
	(void)unused;
	return 1;
}

static void
poll_on1(void *unused)
{
	(void)unused;
	poll1 = event_idle_add(busy, NULL);
	event_stop(0);
}

static void
poll_off1(void *unused)
{
	(void)unused;
	event_idle_remove(poll1);
	event_stop(0);
}

static void
poll_setup(void *unused)		/* core 0: both cores poll */
{
	(void)unused;
	poll0 = event_idle_add(busy, NULL);
	spawn_on(1, poll_on1, NULL);
}

static void
poll_teardown(void *unused)
{
	(void)unused;
	event_idle_remove(poll0);
	spawn_on(1, poll_off1, NULL);
}

/* ---- driver -------------------------------------------------------------- */

/* ns per clock_ns() call (timer_start reads the clock; timer_start_at not). */
static double
clock_cost(void)
{
	uint64_t s = clock_ns(), x = 0;

	for (long i = 0; i < PAIRS; i++)
		x += clock_ns();
	__asm__ volatile("" : : "r"(x));
	return (double)(clock_ns() - s) / PAIRS;
}

/* ---- blocking: an event blocks, another on its core activates it ------- */

#define BLOCKS	200000			/* block + activate pairs per run */
static struct event_ctx *blocked;
static long nblocked;

static void
activator(void *unused)
{
	(void)unused;
	event_activate(blocked);
}

static void
blocker(void *unused)
{
	struct event_ctx ctx;

	(void)unused;
	t0 = clock_ns();
	for (nblocked = 0; nblocked < BLOCKS; nblocked++) {
		event_ctx_init(&ctx);
		blocked = &ctx;
		spawn(activator, NULL);
		event_block(&ctx);	/* the activator runs, then we resume */
	}
	t1 = clock_ns();
	event_stop(0);
}

/* ns per unit of the best of REPEAT runs of first, units per run. */
static double
best(void (*first)(void *), long units)
{
	double b = 1e30;

	for (int r = 0; r < REPEAT; r++) {
		event_run(first, NULL);
		double ns = (double)(t1 - t0) / (double)units;
		if (ns < b)
			b = ns;
	}
	return b;
}

static void
nop(void *unused)
{
	(void)unused;
}

/* ns per timer_start + timer_stop pair, with `armed` others armed. */
static double
timer_pairs(int armed)
{
	static struct timer t, *others;
	uint64_t far = clock_ns() + 3600ULL * 1000 * TIMER_MS;	/* an hour */
	double b = 1e30;

	others = calloc(armed ? armed : 1, sizeof *others);
	for (int i = 0; i < armed; i++) {	/* 0..armed ns after far, shuffled */
		timer_setup(&others[i], nop, NULL);
		timer_start_at(&others[i], far + (uint64_t)i * 7919 % armed, 0);
	}
	timer_setup(&t, nop, NULL);
	for (int r = 0; r < REPEAT; r++) {
		uint64_t s = clock_ns();
		for (long i = 0; i < PAIRS; i++) {
			/* deadlines among the others' */
			timer_start_at(&t, far + (uint64_t)(i * 40503 % MANY), 0);
			timer_stop(&t);
		}
		double ns = (double)(clock_ns() - s) / PAIRS;
		if (ns < b)
			b = ns;
	}
	for (int i = 0; i < armed; i++)
		timer_stop(&others[i]);
	free(others);
	return b;
}

int
main(void)
{
	struct event_stats st0, st1;
	double chain_ns, burst_ns, sleepy_ns, poll_ns;
	uint64_t wakes;

	hosted_init();
	hosted_set_core_count(2);
	page_init();
	slab_init();
	kmalloc_init();
	event_init();
	timer_init();

	chain_ns = best(chain_first, N);
	burst_ns = best(burst_first, (long)BURST * BURSTS);

	trips = SLEEPY;
	event_stats(0, &st0);
	sleepy_ns = best(trip_first, SLEEPY);
	event_stats(0, &st1);
	wakes = st1.wakes - st0.wakes;
	event_run(poll_setup, NULL);
	trips = TRIPS;
	poll_ns = best(trip_first, TRIPS);
	event_run(poll_teardown, NULL);
	double block_ns = best(blocker, BLOCKS);

	printf("event loop, best of %d runs (hosted, %d cores)\n", REPEAT, core_count());
	printf("  spawn + dispatch, chain      %8.1f ns per event\n", chain_ns);
	printf("  spawn + dispatch, burst      %8.1f ns per event (bursts of %d)\n",
	    burst_ns, BURST);
	printf("  spawn_on round trip, polling %8.1f ns\n", poll_ns);
	printf("  spawn_on round trip, asleep  %8.1f ns (%.2f wakes per trip "
	    "from core 0)\n", sleepy_ns, (double)wakes / (REPEAT * SLEEPY));
	printf("  block + activate, one core   %8.1f ns (save, run the activator, resume)\n",
	    block_ns);
	printf("  clock_ns                     %8.1f ns\n", clock_cost());
	printf("  timer start + stop, empty    %8.1f ns per pair\n", timer_pairs(0));
	printf("  timer start + stop, %dk armed %6.1f ns per pair\n", MANY / 1000,
	    timer_pairs(MANY));
	return 0;
}
