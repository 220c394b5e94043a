/*
 * bench_malloc.c: kmalloc/kfree beside glibc's malloc/free, hosted.
 * Prints a table; asserts nothing (make bench).
 *
 * Each thread plays one core (hosted_set_core) and keeps a ring of RING
 * live blocks: every step frees the oldest block, allocates a new one of
 * the same size in its place and writes a byte of it.  One step is one
 * malloc/free pair; the ring and the write keep the compiler from
 * removing the pair and make each block really used, as a program would.
 * Every size runs with one thread, then with one thread per online CPU,
 * with kmalloc/kfree and with glibc's malloc/free in the same process,
 * alternately, REPEAT times each; the best run of each counts (the
 * others met a noisy neighbour).  Per thread: ns per pair; over all
 * threads: millions of pairs per second (throughput), which should grow
 * with the threads.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hosted/hosted.h"
#include "kernel/malloc.h"
#include "kernel/page.h"
#include "kernel/platform.h"
#include "kernel/slab.h"

#define RING	16		/* live blocks per thread (a power of two) */
#define PAIRS	(1000L * 1000)	/* timed pairs per thread and run */
#define REPEAT	15		/* runs of each; the best counts */
#define WARMUP	(PAIRS / 10)	/* untimed pairs first */

/* Make the compiler believe p is used (and memory with it). */
static inline void
keep(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* pairs steps of the ring with kmalloc/kfree; the nanoseconds they took. */
static uint64_t
ring_kmalloc(size_t size, long pairs)
{
	void *ring[RING];
	uint64_t t0, t;

	for (int i = 0; i < RING; i++)
		ring[i] = kmalloc(size);
	t0 = clock_ns();
	for (long i = 0; i < pairs; i++) {
		void **slot = &ring[i & (RING - 1)];
		kfree(*slot);
		*slot = kmalloc(size);
		*(volatile char *)*slot = (char)i;
		keep(*slot);
	}
	t = clock_ns() - t0;
	for (int i = 0; i < RING; i++)
		kfree(ring[i]);
	return t;
}

/* The same with glibc's malloc/free. */
static uint64_t
ring_glibc(size_t size, long pairs)
{
	void *ring[RING];
	uint64_t t0, t;

	for (int i = 0; i < RING; i++)
		ring[i] = malloc(size);
	t0 = clock_ns();
	for (long i = 0; i < pairs; i++) {
		void **slot = &ring[i & (RING - 1)];
		free(*slot);
		*slot = malloc(size);
		*(volatile char *)*slot = (char)i;
		keep(*slot);
	}
	t = clock_ns() - t0;
	for (int i = 0; i < RING; i++)
		free(ring[i]);
	return t;
}

/* One thread's run. */
struct job {
	int core;
	int glibc;		/* 1: malloc/free; 0: kmalloc/kfree */
	size_t size;
	pthread_barrier_t *start;
	uint64_t ns;		/* out: time of the timed pairs */
};

static void *
job_run(void *arg)
{
	struct job *j = arg;

	hosted_set_core(j->core);
	if (j->glibc)
		ring_glibc(j->size, WARMUP);
	else
		ring_kmalloc(j->size, WARMUP);
	pthread_barrier_wait(j->start);
	j->ns = j->glibc ? ring_glibc(j->size, PAIRS) : ring_kmalloc(j->size, PAIRS);
	return NULL;
}

/* Results of one run over n threads. */
struct result {
	double ns_per_pair;	/* mean over the threads */
	double mpairs;		/* all threads' pairs per microsecond */
};

/* The better of two results. */
static struct result
best(struct result a, struct result b)
{
	return a.ns_per_pair != 0 && a.ns_per_pair < b.ns_per_pair ? a : b;
}

static struct result
run(int n, int glibc, size_t size)
{
	pthread_t t[NCPU];
	struct job j[NCPU];
	pthread_barrier_t start;
	struct result r = { 0, 0 };
	uint64_t sum = 0, slowest = 0;

	pthread_barrier_init(&start, NULL, n);
	hosted_set_core_count(n);
	for (int i = 0; i < n; i++) {
		j[i] = (struct job){ .core = i, .glibc = glibc, .size = size,
		    .start = &start };
		pthread_create(&t[i], NULL, job_run, &j[i]);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		sum += j[i].ns;
		if (j[i].ns > slowest)
			slowest = j[i].ns;
	}
	pthread_barrier_destroy(&start);
	r.ns_per_pair = (double)sum / n / PAIRS;
	r.mpairs = (double)n * PAIRS / slowest * 1000.0;
	return r;
}

int
main(void)
{
	static const size_t sizes[] = { 16, 64, 256, 4096 };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int threads[2] = { 1, ncpu < 1 ? 1 : ncpu > NCPU ? NCPU : (int)ncpu };

	hosted_init();
	page_init();
	slab_init();
	kmalloc_init();
	printf("malloc/free pairs, a ring of %d live blocks per thread, "
	    "%ld pairs per thread, best of %d runs\n", RING, PAIRS, REPEAT);
	printf("%6s %7s | %9s %9s %7s | %11s %11s\n", "", "", "ns/pair",
	    "ns/pair", "glibc/", "Mpairs/s", "Mpairs/s");
	printf("%6s %7s | %9s %9s %7s | %11s %11s\n", "size", "threads",
	    "kmalloc", "glibc", "kmalloc", "kmalloc", "glibc");
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
		for (int k = 0; k < (threads[1] > 1 ? 2 : 1); k++) {
			struct result km = { 0, 0 }, gl = { 0, 0 };
			for (int r = 0; r < REPEAT; r++) {
				km = best(km, run(threads[k], 0, sizes[s]));
				gl = best(gl, run(threads[k], 1, sizes[s]));
			}
			printf("%6zu %7d | %9.1f %9.1f %6.1fx | %11.1f %11.1f\n",
			    sizes[s], threads[k], km.ns_per_pair, gl.ns_per_pair,
			    gl.ns_per_pair / km.ns_per_pair, km.mpairs, gl.mpairs);
		}
	return 0;
}
