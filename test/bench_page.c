/*
 * bench_page.c: what a page_alloc + page_free pair costs, for each order,
 * on one thread, over the hosted memory (page_init: HOSTED_MEM of mmap).
 * Prints a table; asserts nothing.
 *
 *	alone	one block allocated and freed again and again, everything
 *		else free: each pair splits down from the largest free block
 *		(or takes a small one left at a range's edge) and merges back.
 *	batch	BATCH blocks allocated (fewer if they do not fit), then
 *		freed in the order they came: the lists are busier and most
 *		splits and merges stop early.
 *
 * The blocks' memory is never touched, so the figures are the allocator's
 * own: list work, descriptor writes (one per page, so large orders cost
 * more) and the lock.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kernel/page.h"
#include "kernel/platform.h"

#define PAIRS	(1 << 20)	/* pairs timed per column at order 0 ... */
#define PAIRS_MIN	(1 << 14)	/* ... halving with each order, down to this */
#define BATCH	256		/* most blocks held at once in the batch column */

static void *held[BATCH];

/* How many pairs to time at order k: fewer for the slower large orders. */
static uint64_t
npairs(int k)
{
	return (PAIRS >> k) > PAIRS_MIN ? (PAIRS >> k) : PAIRS_MIN;
}

/* ns per pair, one block at a time. */
static double
alone(int k)
{
	uint64_t n = npairs(k), t0 = clock_ns();

	for (uint64_t i = 0; i < n; i++) {
		void *p = page_alloc(k);
		if (p == NULL)
			abort();	/* the first one succeeded */
		page_free(p, k);
	}
	return (double)(clock_ns() - t0) / n;
}

/* ns per pair, up to BATCH blocks at a time. */
static double
batch(int k)
{
	size_t n = page_count_free() >> k;
	uint64_t pairs = 0, t0;

	if (n > BATCH)
		n = BATCH;
	t0 = clock_ns();
	while (pairs < npairs(k)) {
		size_t got = 0;
		while (got < n && (held[got] = page_alloc(k)) != NULL)
			got++;
		for (size_t i = 0; i < got; i++)
			page_free(held[i], k);
		pairs += got;
		if (got == 0)
			return 0;
	}
	return (double)(clock_ns() - t0) / pairs;
}

/* Print one row of the table, or only warm up (first touches fault). */
static void
row(int k, int print)
{
	void *p = page_alloc(k);
	size_t kib = (size_t)PAGE_SIZE << k >> 10;

	if (p == NULL) {
		if (print)
			printf("%5d  %6zuK   (no free block)\n", k, kib);
		return;
	}
	page_free(p, k);
	double a = alone(k);
	double b = batch(k);
	if (print)
		printf("%5d  %6zuK  %7.1f  %7.1f\n", k, kib, a, b);
}

int
main(void)
{
	page_init();
	for (int k = 0; k <= PAGE_MAX_ORDER; k++)
		row(k, 0);
	printf("page allocator: ns per page_alloc + page_free pair, 1 thread, "
	    "%zu MiB managed\n", page_count_total() * PAGE_SIZE >> 20);
	printf("order      size    alone    batch\n");
	for (int k = 0; k <= PAGE_MAX_ORDER; k++)
		row(k, 1);
	return 0;
}
