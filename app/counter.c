/*
 * counter.c: the distributed counter Ebb (ebb/counter.h) in use.  Binds
 * a counter, adds to it through the Ebb translation table, checks the
 * sum, and prints how long an add took.  Natively the first add faults
 * in a page of core 0's table (kernel/vm.c); hosted it is a page of an
 * mmap.
 *
 *	make run APP=counter [ARGS=N]		N adds (default 1000000)
 */
#include <stdio.h>
#include <stdlib.h>

#include "ebb/counter.h"
#include "ebb/runtime.h"

static struct counter adds;

int
app_main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;

	if (n <= 0) {
		printf("counter: usage: counter [N > 0]\n");
		return 64;
	}
	if (counter_init(&adds) < 0) {
		printf("counter: cannot bind the counter\n");
		return 1;
	}
	uint64_t t0 = clock_ns();
	for (long i = 0; i < n; i++)
		counter_add(adds.id, 1);
	uint64_t t1 = clock_ns();
	long sum = counter_sum(&adds);
	printf("counter: %ld adds on core %d in %llu us (%.1f ns each), sum %ld: %s\n",
	    n, core_id(), (unsigned long long)(t1 - t0) / 1000,
	    (double)(t1 - t0) / (double)n, sum, sum == n ? "ok" : "WRONG");
	return sum == n ? 0 : 1;
}
