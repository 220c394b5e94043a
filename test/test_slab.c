/*
 * test_slab.c: the slab allocator (kernel/slab.c), hosted.
 *
 * The page allocator runs over the hosted runtime's one mmap, made
 * 64 MiB so that running it dry is quick, and is set up once per process
 * (setup).  Every object a test allocates is filled with a pattern from
 * its own seed, every byte, and checked before it is freed, so an object
 * handed out twice or overlapping another shows up as a broken pattern.
 * Every test ends with finish(): its caches report nothing in use, and
 * after they are destroyed and this core's arrays reaped, the page
 * allocator has exactly the free pages it had when the test began.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hosted/hosted.h"
#include "kernel/page.h"
#include "kernel/slab.h"
#include "test.h"

#define MB		(1UL << 20)
#define NTHREADS	4

/* The allocators over 64 MiB, once; the free pages now, for finish(). */
static size_t
setup(void)
{
	return test_setup(1, 64 * MB, TEST_SLAB);
}

static struct slab_stats
stats(struct slab_cache *c)
{
	struct slab_stats st;

	slab_stats(c, &st);
	return st;
}

/* Nothing in use; destroy c; reap; the page allocator is back at start. */
static void
finish(struct slab_cache *c, size_t start)
{
	CHECK_EQ(stats(c).in_use, 0);
	slab_cache_destroy(c);
	slab_reap();
	CHECK_EQ(page_count_free(), start);
}

TEST(basic)
{
	size_t start = setup();
	struct slab_cache *c = slab_cache_create("t-basic", 24, 8);
	static void *p[1000];
	struct slab_stats st;

	CHECK(c != NULL);
	st = stats(c);
	CHECK_EQ(st.size, 24);
	CHECK_EQ(st.in_use, 0);
	CHECK_EQ(st.pages, 0);
	for (int i = 0; i < 1000; i++) {
		p[i] = slab_alloc(c);
		CHECK(p[i] != NULL && (uintptr_t)p[i] % 8 == 0);
		test_fill(p[i], 24, i);
	}
	st = stats(c);
	CHECK_EQ(st.in_use, 1000);
	CHECK_EQ(st.in_use + st.free, st.slabs * st.objs_per_slab);
	CHECK(st.pages > 0 && st.grows > 0);
	CHECK_EQ(slab_obj_size(p[7]), 24);
	for (int i = 0; i < 1000; i++) {
		CHECK(test_intact(p[i], 24, i));
		slab_free(p[i]);
	}
	CHECK_EQ(stats(c).in_use, 0);
	finish(c, start);
}

/* Allocate 3 slabs and a bit of size/align; check, free in random order. */
static void
one_shape(size_t size, size_t align)
{
	size_t start = setup();
	struct slab_cache *c = slab_cache_create("t-shape", size, align);
	struct slab_stats st = stats(c);
	size_t n = 3 * st.objs_per_slab + 5;
	struct { void *p; uint64_t seed; } *o = calloc(n, sizeof *o);

	CHECK(st.size >= size && st.size % 8 == 0);
	CHECK(st.size % (align ? align : 8) == 0);
	/* The slab wastes at most 1/SLAB_WASTE of itself, or is as big as can be. */
	CHECK(st.order == SLAB_MAX_ORDER || ((size_t)PAGE_SIZE << st.order) -
	    st.objs_per_slab * st.size <= ((size_t)PAGE_SIZE << st.order) / SLAB_WASTE);
	for (size_t i = 0; i < n; i++) {
		o[i].p = slab_alloc(c);
		o[i].seed = test_rnd();
		CHECK(o[i].p != NULL);
		CHECK((uintptr_t)o[i].p % (align ? align : 8) == 0);
		test_fill(o[i].p, st.size, o[i].seed);
	}
	CHECK_EQ(stats(c).in_use, n);
	for (size_t i = n; i > 1; i--) {	/* shuffle */
		size_t j = test_rnd() % i;
		void *p = o[i - 1].p;
		uint64_t seed = o[i - 1].seed;
		o[i - 1] = o[j];
		o[j].p = p;
		o[j].seed = seed;
	}
	for (size_t i = 0; i < n; i++) {
		CHECK(test_intact(o[i].p, st.size, o[i].seed));
		slab_free(o[i].p);
	}
	free(o);
	finish(c, start);
}

TEST(sizes_and_alignments)
{
	static const size_t sizes[] = { 1, 8, 13, 24, 64, 96, 100, 255, 500,
	    504, 512, 1000, 2048, 3000, 4095, 4096 };
	static const size_t aligns[] = { 0, 8, 16, 64, 512, 4096 };

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		for (size_t j = 0; j < sizeof aligns / sizeof aligns[0]; j++)
			one_shape(sizes[i], aligns[j]);
}

/*
 * Random allocations and frees over several caches against a model: a
 * slot table of live objects with their seeds; every object is checked
 * when freed, and the caches' in-use counts must match the model.
 */
#define NSLOT	4096
#define NCACHE	5
TEST(random_against_model)
{
	static const size_t sizes[NCACHE] = { 8, 40, 96, 600, 4096 };
	static struct { void *p; int cache; uint64_t seed; } slot[NSLOT];
	struct slab_cache *c[NCACHE];
	size_t live[NCACHE] = { 0 };
	size_t start = setup();

	for (int k = 0; k < NCACHE; k++)
		c[k] = slab_cache_create("t-random", sizes[k], 0);
	for (uint64_t op = 1; op <= 200000; op++) {
		int s = test_rnd() % NSLOT, k;
		if (slot[s].p == NULL) {
			k = test_rnd() % NCACHE;
			slot[s].p = slab_alloc(c[k]);
			CHECK(slot[s].p != NULL);
			slot[s].cache = k;
			slot[s].seed = op;
			test_fill(slot[s].p, sizes[k], op);
			live[k]++;
		} else {
			k = slot[s].cache;
			CHECK(test_intact(slot[s].p, sizes[k], slot[s].seed));
			slab_free(slot[s].p);
			slot[s].p = NULL;
			live[k]--;
		}
		if (op % 10000 == 0)
			for (k = 0; k < NCACHE; k++)
				CHECK_EQ(stats(c[k]).in_use, live[k]);
	}
	for (int s = 0; s < NSLOT; s++)
		if (slot[s].p != NULL) {
			CHECK(test_intact(slot[s].p, sizes[slot[s].cache],
			    slot[s].seed));
			slab_free(slot[s].p);
			slot[s].p = NULL;
		}
	for (int k = 0; k < NCACHE; k++) {
		CHECK(stats(c[k]).grows > 0);
		CHECK_EQ(stats(c[k]).in_use, 0);
		slab_cache_destroy(c[k]);
	}
	slab_reap();
	CHECK_EQ(page_count_free(), start);
}

/* Freeing everything keeps at most the high-water mark of empty slabs. */
TEST(high_water)
{
	size_t start = setup();
	struct slab_cache *c = slab_cache_create("t-water", 256, 0);
	static void *p[5000];
	struct slab_stats st;

	for (int i = 0; i < 5000; i++)
		p[i] = slab_alloc(c);
	CHECK(stats(c).slabs >= 5000 / stats(c).objs_per_slab);
	for (int i = 0; i < 5000; i++)
		slab_free(p[i]);
	st = stats(c);
	/* Free objects are in empty slabs, this core's array or the stack. */
	CHECK(st.slabs <= SLAB_EMPTY_MAX + SLAB_CORE_MAX + SLAB_DEPOT_MAX);
	CHECK(st.shrinks > 0 && st.drains > 0 && st.refills > 0);
	CHECK_EQ(st.in_use, 0);
	slab_cache_drain(c);
	st = stats(c);
	CHECK_EQ(st.slabs, 0);
	CHECK_EQ(st.pages, 0);
	CHECK_EQ(st.free, 0);
	finish(c, start);
}

/*
 * A burst freed past the core's array lands on the depot's stack, and
 * the next burst takes those same objects back without a new slab;
 * a drain puts the stack back into the slabs.
 */
TEST(depot_stack)
{
	size_t start = setup();
	struct slab_cache *c = slab_cache_create("t-stack", 256, 0);
	static void *p[200], *q[200];
	struct slab_stats st, st0;
	uint64_t grows;
	size_t again = 0;

	for (int i = 0; i < 200; i++)
		CHECK((p[i] = slab_alloc(c)) != NULL);
	st0 = stats(c);			/* the array's rest of its last batch */
	for (int i = 0; i < 200; i++)
		slab_free(p[i]);
	st = stats(c);
	CHECK_EQ(st.in_use, 0);
	CHECK(st.stacked > 0 && st.stacked <= SLAB_DEPOT_MAX);
	/* None went into a slab: all are in the array or on the stack. */
	CHECK_EQ(st.cached + st.stacked, 200 + st0.cached + st0.stacked);
	grows = st.grows;
	for (int i = 0; i < 200; i++) {
		CHECK((q[i] = slab_alloc(c)) != NULL);
		for (int j = 0; j < 200; j++)
			again += q[i] == p[j];
	}
	CHECK(again >= 200 - st0.cached);	/* the same objects, hot */
	CHECK_EQ(stats(c).grows, grows);
	for (int i = 0; i < 200; i++)
		slab_free(q[i]);
	slab_cache_drain(c);
	st = stats(c);
	CHECK_EQ(st.stacked, 0);
	CHECK_EQ(st.slabs, 0);
	CHECK_EQ(st.free, 0);
	finish(c, start);
}

/* Running the page allocator dry: NULL, and everything comes back. */
TEST(exhaustion)
{
	size_t start = setup();
	struct slab_cache *big = slab_cache_create("t-big", 4096, 0);
	struct slab_cache *small = slab_cache_create("t-small", 16, 0);
	size_t n = 0, cap = 1 << 16;
	void **p = malloc(cap * sizeof *p);
	size_t nbig;

	while ((p[n] = slab_alloc(big)) != NULL)
		n++;
	nbig = n;
	CHECK(nbig > start * 7 / 8);	/* most of memory: a page an object */
	for (int k = stats(big).order; k <= PAGE_MAX_ORDER; k++)
		CHECK_EQ(page_count_free_blocks(k), 0);	/* no room for a slab */
	for (;;) {
		if (n == cap)
			p = realloc(p, (cap *= 2) * sizeof *p);
		if ((p[n] = slab_alloc(small)) == NULL)
			break;
		*(uint64_t *)p[n] = n;
		n++;
	}
	CHECK_EQ(page_count_free(), 0);
	CHECK(slab_alloc(small) == NULL && slab_alloc(big) == NULL);
	for (size_t i = 0; i < n; i++) {
		if (i >= nbig)
			CHECK_EQ(*(uint64_t *)p[i], i);
		slab_free(p[i]);
	}
	free(p);
	slab_cache_destroy(small);
	finish(big, start);
}

TEST(stats_all_and_print)
{
	size_t start = setup();
	struct slab_cache *a = slab_cache_create("t-stats-a", 32, 0);
	struct slab_cache *b = slab_cache_create("t-stats-b", 1024, 0);
	struct slab_stats all[64];
	void *x[3] = { slab_alloc(a), slab_alloc(a), slab_alloc(b) };
	int n = slab_stats_all(all, 64), seen = 0;

	for (int i = 0; i < n; i++) {
		if (strcmp(all[i].name, "t-stats-a") == 0)
			seen += all[i].in_use == 2;
		if (strcmp(all[i].name, "t-stats-b") == 0)
			seen += all[i].in_use == 1 && all[i].size == 1024;
	}
	CHECK_EQ(seen, 2);
	CHECK(n >= 2);
	slab_print();
	for (int i = 0; i < 3; i++)
		slab_free(x[i]);
	slab_cache_destroy(b);
	finish(a, start);
}

/*
 * Threads as cores free each other's objects (test_cross_free): 48-byte
 * objects mostly, a 1024-byte one every fifth.
 */
#define PER_THREAD	20000
static const size_t xsize[2] = { 48, 1024 };
static struct slab_cache *xc[2];	/* 48 bytes (order 0), 1024 (order 2) */

static void *
xalloc(int core, long i, size_t *size)
{
	int big = i % 5 == 0;

	(void)core;
	*size = xsize[big];
	return slab_alloc(xc[big]);
}

TEST(threads_free_each_others)
{
	size_t start = setup();

	xc[0] = slab_cache_create("t-cross-48", xsize[0], 0);
	xc[1] = slab_cache_create("t-cross-1024", xsize[1], 0);
	CHECK(test_cross_free(NTHREADS, PER_THREAD, xalloc, slab_free) >= NTHREADS * 1000);
	CHECK(stats(xc[0]).drains > 0 && stats(xc[1]).refills > 0);
	slab_cache_destroy(xc[1]);
	finish(xc[0], start);
}

/* Death tests: each runs in a child, which must panic saying why. */

static void
free_stack(void)
{
	int x;

	setup();
	slab_free(&x);
}

static void
free_interior(void)
{
	setup();
	char *p = slab_alloc(slab_cache_create("t-d", 64, 0));
	slab_free(p + 8);
}

static void
free_page_block(void)
{
	setup();
	slab_free(page_alloc(0));
}

static void
free_twice(void)
{
	setup();
	void *p = slab_alloc(slab_cache_create("t-d", 64, 0));
	slab_free(p);
	slab_free(p);
}

static void
free_twice_after_drain(void)
{
	setup();
	struct slab_cache *c = slab_cache_create("t-d", 64, 0);
	void *p = slab_alloc(c);
	slab_alloc(c);			/* keeps the slab in the depot */
	slab_free(p);
	slab_cache_drain(c);		/* p is back in its slab */
	slab_free(p);
}

static void
free_never_allocated(void)
{
	setup();
	struct slab_cache *c = slab_cache_create("t-d", 64, 0);
	char *p = slab_alloc(c);
	slab_free(p + 64);		/* its neighbour, still in the array */
	slab_cache_drain(c);		/* caught here at the latest */
}

static void
destroy_in_use(void)
{
	setup();
	struct slab_cache *c = slab_cache_create("t-busy", 64, 0);
	slab_alloc(c);
	slab_cache_destroy(c);
}

static void
create_too_big(void)
{
	setup();
	slab_cache_create("t-huge", SLAB_MAX_SIZE + 1, 0);
}

TEST(death_bad_free)
{
	CHECK_DEATH(free_stack, "not a slab object");
	CHECK_DEATH(free_interior, "not a slab object (cache t-d)");
	CHECK_DEATH(free_page_block, "not a slab object");
}

TEST(death_double_free)
{
	CHECK_DEATH(free_twice, "double free (cache t-d)");
	CHECK_DEATH(free_twice_after_drain, "double free (cache t-d)");
	CHECK_DEATH(free_never_allocated, "double free (cache t-d)");
}

TEST(death_misuse)
{
	CHECK_DEATH(destroy_in_use, "slab_cache_destroy: t-busy: 1 object(s) still in use");
	CHECK_DEATH(create_too_big, "slab_cache_create: t-huge: size 4097 above 4096");
}

#ifdef DEBUG
static void
write_after_free(void)
{
	setup();
	struct slab_cache *c = slab_cache_create("t-d", 64, 0);
	char *p = slab_alloc(c);
	slab_free(p);
	p[20] = 1;
	slab_alloc(c);			/* the same object again: checked */
}

TEST(death_write_after_free)
{
	CHECK_DEATH(write_after_free, "written after free (cache t-d, byte 20)");
}
#endif
