/*
 * bench_ebb.c: what an Ebb call costs over a direct call (make bench).
 *
 * Two loops do the same work, adding 1 to a counter's per-core rep n
 * times: one through the Ebb translation table (counter_add, a hit after
 * the first call), one through a pointer held in a register (the direct
 * call the Ebb replaces).  Both loops are noinline functions, so that
 *
 *	valgrind --tool=callgrind --toggle-collect=loop_ebb build/hosted/bench_ebb
 *
 * counts the instructions of one loop alone; make bench runs that for
 * both loops when valgrind is installed and prints instructions per call.
 * Then the cost of a context switch there and back (ebb/context.h).
 * Prints figures, asserts nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ebb/context.h"
#include "ebb/counter.h"
#include "hosted/hosted.h"
#include "kernel/malloc.h"
#include "kernel/page.h"
#include "kernel/slab.h"

static struct counter c;

__attribute__((noinline)) static void
loop_direct(struct counter_rep *r, long n)
{
	for (long i = 0; i < n; i++) {
		__atomic_store_n(&r->n, r->n + 1, __ATOMIC_RELAXED);
		__asm__ volatile("" : : : "memory");	/* keep each add */
	}
}

__attribute__((noinline)) static void
loop_ebb(uint32_t id, long n)
{
	for (long i = 0; i < n; i++) {
		counter_add(id, 1);
		__asm__ volatile("" : : : "memory");	/* and each lookup */
	}
}

static void *main_sp, *flow_sp;

/* Switch straight back, forever: one round trip per ctx_switch pair. */
static void
bounce(void *arg)
{
	(void)arg;
	for (;;)
		ctx_switch(&flow_sp, main_sp);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000000;
	double best_d = 1e30, best_e = 1e30;

	hosted_init();
	page_init();
	slab_init();
	kmalloc_init();
	ebb_init();
	if (counter_init(&c) < 0)
		return 1;
	struct counter_rep *r = ebb_rep(c.id);	/* the miss, outside the loops */
	for (int round = 0; round < 5; round++) {
		double t0 = now();
		loop_direct(r, n);
		double t1 = now();
		loop_ebb(c.id, n);
		double t2 = now();
		if ((t1 - t0) / n < best_d)
			best_d = (t1 - t0) / n;
		if ((t2 - t1) / n < best_e)
			best_e = (t2 - t1) / n;
	}
	printf("Ebb call (counter_add through the table) vs direct, %ld calls, best of 5\n", n);
	printf("  direct  %6.2f ns/call\n  Ebb     %6.2f ns/call  (+%.2f ns)\n", best_d, best_e,
	    best_e - best_d);

	static char stack[16384];
	long m = n / 10;
	double best_s = 1e30;
	flow_sp = ctx_make(stack, sizeof stack, bounce, NULL);
	for (int round = 0; round < 5; round++) {
		double t0 = now();
		for (long i = 0; i < m; i++)
			ctx_switch(&main_sp, flow_sp);
		double t1 = now();
		if ((t1 - t0) / m < best_s)
			best_s = (t1 - t0) / m;
	}
	printf("context switch there and back (ctx_switch x 2): %.2f ns\n", best_s);
	return counter_sum(&c) == 10 * n ? 0 : 1;
}
