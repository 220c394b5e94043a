/*
 * testlib.c: the helpers every hosted suite may use (declared in test.h),
 * linked into each test binary beside test.c.
 *
 * - test_setup brings the runtime up once per process, in the order
 *   ebb_start does, as far as a suite needs: pages and slabs, kmalloc,
 *   the Ebb id map, the event loops and timers, RCU.  The core count and
 *   the size of the hosted memory must be set before page_init, so they
 *   are its arguments; calls after the first only return the free pages.
 * - test_rnd is a deterministic random stream (xorshift64*), the same in
 *   every suite, so that a failing run can be repeated exactly.
 * - test_fill and test_intact write and check a byte pattern keyed by a
 *   seed: memory a test owns holds its pattern until the test frees it,
 *   so an allocator that hands a block out twice, overlaps two blocks or
 *   writes into one shows up as a broken pattern.
 * - test_in_use counts objects in use in one slab cache, or in all.
 * - test_leak_start (which brings the runtime up as far as the loops)
 *   and test_leak_check bracket a test that runs the event loops: at
 *   its end no timer is armed on any core, no event record and no more
 *   slab objects than at its start are in use, and once every core has
 *   given its slab arrays back (a run in which each core calls
 *   slab_reap), the page allocator has the free pages it had at the
 *   start.
 */
#include <endian.h>
#include <pthread.h>
#include <string.h>

#include "ebb/ebb.h"
#include "ebb/event.h"
#include "ebb/future.h"
#include "ebb/rcu.h"
#include "ebb/timer.h"
#include "hosted/hosted.h"
#include "kernel/malloc.h"
#include "kernel/page.h"
#include "kernel/platform.h"
#include "kernel/slab.h"
#include "test.h"

size_t
test_setup(int ncores, size_t mem, enum test_layer upto)
{
	static int done;

	if (!done) {
		done = 1;
		hosted_set_core_count(ncores);	/* before anything asks core_count */
		if (mem != 0)
			hosted_set_mem(mem);	/* before page_init maps it */
		page_init();
		slab_init();
		if (upto >= TEST_KMALLOC)
			kmalloc_init();
		if (upto >= TEST_EBB)
			ebb_init();
		if (upto >= TEST_EVENTS) {
			event_init();
			timer_init();
		}
		if (upto >= TEST_RCU)
			rcu_init();
	}
	return page_count_free();
}

/* xorshift64*: one stream per process, so one thread at a time. */
static uint64_t rng = 88172645463325252ULL;

uint64_t
test_rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

/* One step of the xorshift64 stream that makes the pattern. */
static uint64_t
pattern_step(uint64_t x)
{
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

/*
 * Write (write != 0) or check n bytes of seed's pattern at b: one step
 * of the stream per 8 bytes, each step's bytes taken from the lowest up
 * (so a whole word is the step stored little-endian).  Returns 0 at the
 * first word that differs.
 */
static int
pattern(unsigned char *b, size_t n, uint64_t seed, int write)
{
	uint64_t x = (seed * 0x9E3779B97F4A7C15ULL) | 1, w, got;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		x = pattern_step(x);
		w = htole64(x);
		if (write) {
			memcpy(b + i, &w, 8);
		} else {
			memcpy(&got, b + i, 8);
			if (got != w)
				return 0;
		}
	}
	if (i < n)
		x = pattern_step(x);
	for (int j = 0; i < n; i++, j++) {	/* the last, partial word */
		unsigned char v = (unsigned char)(x >> (j * 8));
		if (write)
			b[i] = v;
		else if (b[i] != v)
			return 0;
	}
	return 1;
}

void
test_fill(void *p, size_t n, uint64_t seed)
{
	pattern(p, n, seed, 1);
}

int
test_intact(const void *p, size_t n, uint64_t seed)
{
	return pattern((unsigned char *)p, n, seed, 0);
}

size_t
test_in_use(const char *name)
{
	struct slab_stats st[64];
	int n = slab_stats_all(st, 64);
	size_t sum = 0;

	for (int i = 0; i < n; i++)
		if (name == NULL || strcmp(st[i].name, name) == 0)
			sum += st[i].in_use;
	return sum;
}

/* ---- leaks: a run in which every core reaps ----------------------------- */

static int reaped;		/* cores that have reaped in this run (atomic) */

/* On each core: its timers are gone; its slab arrays go back. */
static void
reap(void *unused)
{
	(void)unused;
	CHECK_EQ(timer_count(), 0);
	slab_reap();
	/* Acquire-release: the last core to count sees every core's reap done. */
	if (__atomic_add_fetch(&reaped, 1, __ATOMIC_ACQ_REL) == core_count())
		event_stop(0);
}

static void
reap_first(void *unused)
{
	(void)unused;
	for (int c = core_count() - 1; c >= 0; c--)	/* core 0's own last */
		spawn_on(c, reap, NULL);
}

static void
reap_all(void)
{
	reaped = 0;
	event_run(reap_first, NULL);
}

struct test_leaks
test_leak_start(int ncores)
{
	test_setup(ncores, 0, TEST_EVENTS);
	reap_all();
	return (struct test_leaks){ page_count_free(), test_in_use(NULL) };
}

void
test_leak_check(struct test_leaks start)
{
	CHECK_EQ(test_in_use("event"), 0);
	CHECK_EQ(test_in_use(NULL), start.objs);
	reap_all();
	CHECK_EQ(page_count_free(), start.pages);
}

/* ---- test_cross_free --------------------------------------------------- */

#define XQ_CAP		256	/* blocks in flight between the threads */
#define XQ_CROSS	1000	/* blocks per box in the cross phase */
#define XQ_MAX_THREADS	16

static struct {
	pthread_mutex_t lock;
	struct { void *p; size_t n; uint64_t seed; int core; } q[XQ_CAP];
	int head, n;
	long foreign;
} xq = { .lock = PTHREAD_MUTEX_INITIALIZER };
static struct {
	void *p;
	size_t n;
} xbox[XQ_MAX_THREADS][XQ_CROSS];
static pthread_barrier_t xbar;
static int xthreads;
static long xper;
static void *(*xalloc)(int, long, size_t *);
static void (*xrelease)(void *);

/* Take one block from the queue, if any, check it and free it. */
static int
xq_free_one(int core)
{
	void *p;
	size_t n;
	uint64_t seed;

	pthread_mutex_lock(&xq.lock);
	if (xq.n == 0) {
		pthread_mutex_unlock(&xq.lock);
		return 0;
	}
	p = xq.q[xq.head].p;
	n = xq.q[xq.head].n;
	seed = xq.q[xq.head].seed;
	xq.foreign += xq.q[xq.head].core != core;
	xq.head = (xq.head + 1) % XQ_CAP;
	xq.n--;
	pthread_mutex_unlock(&xq.lock);
	if (!test_intact(p, n, seed))
		test_fail(__FILE__, __LINE__, "a block changed in flight");
	xrelease(p);
	return 1;
}

/* Put a block on the queue, freeing one first if it is full. */
static void
xq_put(void *p, size_t n, uint64_t seed, int core)
{
	pthread_mutex_lock(&xq.lock);
	while (xq.n == XQ_CAP) {
		pthread_mutex_unlock(&xq.lock);
		xq_free_one(core);
		pthread_mutex_lock(&xq.lock);
	}
	int t = (xq.head + xq.n++) % XQ_CAP;
	xq.q[t].p = p;
	xq.q[t].n = n;
	xq.q[t].seed = seed;
	xq.q[t].core = core;
	pthread_mutex_unlock(&xq.lock);
}

/* The cross phase: fill my box, wait for every box, free the next one's. */
static void
xcross(int core)
{
	int next = (core + 1) % xthreads;

	for (int k = 0; k < XQ_CROSS; k++) {
		xbox[core][k].p = xalloc(core, -1 - k, &xbox[core][k].n);
		if (xbox[core][k].p == NULL)
			test_fail(__FILE__, __LINE__, "allocation failed");
		else
			test_fill(xbox[core][k].p, xbox[core][k].n, ((uint64_t)core << 40) | (uint64_t)k);
	}
	pthread_barrier_wait(&xbar);
	for (int k = 0; k < XQ_CROSS; k++) {
		void *p = xbox[next][k].p;
		if (p == NULL)
			continue;
		if (!test_intact(p, xbox[next][k].n, ((uint64_t)next << 40) | (uint64_t)k))
			test_fail(__FILE__, __LINE__, "a block changed in its box");
		xrelease(p);
		pthread_mutex_lock(&xq.lock);
		xq.foreign++;
		pthread_mutex_unlock(&xq.lock);
	}
}

static void *
xthread(void *arg)
{
	int core = (int)(intptr_t)arg;

	hosted_set_core(core);
	for (long i = 0; i < xper; i++) {
		size_t n;
		uint64_t seed = ((uint64_t)core << 32) | (uint64_t)i;
		void *p = xalloc(core, i, &n);
		if (p == NULL) {
			test_fail(__FILE__, __LINE__, "allocation failed");
			break;
		}
		test_fill(p, n, seed);
		xq_put(p, n, seed, core);
		if (i % 3 != 0)		/* free less than we make: the queue fills */
			xq_free_one(core);
	}
	xcross(core);
	slab_reap();			/* this core's arrays go back to the depots */
	return NULL;
}

long
test_cross_free(int nthreads, long per_thread,
    void *(*alloc)(int core, long i, size_t *size), void (*release)(void *p))
{
	pthread_t t[XQ_MAX_THREADS];

	if (nthreads > XQ_MAX_THREADS)
		nthreads = XQ_MAX_THREADS;
	xthreads = nthreads;
	xper = per_thread;
	xalloc = alloc;
	xrelease = release;
	xq.foreign = 0;
	hosted_set_core_count(nthreads);
	pthread_barrier_init(&xbar, NULL, nthreads);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, xthread, (void *)(intptr_t)i);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&xbar);
	hosted_set_core_count(1);
	hosted_set_core(0);
	while (xq_free_one(0))
		;
	return xq.foreign;
}

static void
sleep_wake(void *f)
{
	future_resolve(f, NULL);
}

void
test_sleep_ms(uint64_t ms)
{
	struct future f;
	struct timer t;

	future_init(&f);
	timer_setup(&t, sleep_wake, &f);
	CHECK_EQ(timer_start(&t, ms * TIMER_MS, 0), 0);
	future_block(&f, NULL);
}
