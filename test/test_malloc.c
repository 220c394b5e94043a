/*
 * test_malloc.c: kmalloc and its family (kernel/malloc.c), hosted.
 *
 * The allocators run over the hosted runtime's one mmap, made 64 MiB so
 * that running it dry is quick, set up once per process (setup).  Every
 * block a test allocates is filled with a pattern from its own seed,
 * every byte, and checked before it is freed or after it is moved.
 * Every test ends with finish(): no kmalloc cache has an object in use,
 * and after this core's arrays are reaped the page allocator has exactly
 * the free pages it had when the test began.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hosted/hosted.h"
#include "kernel/malloc.h"
#include "kernel/page.h"
#include "kernel/slab.h"
#include "test.h"

#define MB		(1UL << 20)
#define NTHREADS	4

static const size_t classes[] = { 8, 16, 32, 64, 96, 128, 192, 256, 512,
    1024, 2048, 4096 };
#define NCLASS (int)(sizeof classes / sizeof classes[0])

/* The allocators over 64 MiB, once; the free pages now, for finish(). */
static size_t
setup(void)
{
	return test_setup(1, 64 * MB, TEST_KMALLOC);
}

/* What kmalloc(n) should really give: the class, or a power-of-two block. */
static size_t
expected_size(size_t n)
{
	size_t b = PAGE_SIZE;

	for (int i = 0; i < NCLASS; i++)
		if (n <= classes[i])
			return classes[i];
	while (b < n)
		b *= 2;
	return b;
}

/* Nothing in use in any kmalloc cache; reaped, the pages are back at start. */
static void
finish(size_t start)
{
	struct slab_stats st[64];
	int n = slab_stats_all(st, 64);

	for (int i = 0; i < n; i++)
		if (strncmp(st[i].name, "kmalloc-", 8) == 0 && st[i].in_use != 0) {
			char m[128];
			snprintf(m, sizeof m, "%s: %zu in use", st[i].name, st[i].in_use);
			test_fail(__FILE__, __LINE__, m);
		}
	slab_reap();
	CHECK_EQ(page_count_free(), start);
}

TEST(class_boundaries)
{
	size_t start = setup();
	static struct { void *p; size_t n; } b[3 * NCLASS + 2];
	int nb = 0;

	for (int i = 0; i < NCLASS; i++)
		for (size_t n = classes[i] - 1; n <= classes[i] + 1; n++) {
			void *p = kmalloc(n);
			size_t u = kmalloc_usable_size(p);
			CHECK(p != NULL);
			CHECK_EQ(u, expected_size(n));
			CHECK((uintptr_t)p % (n <= 8 ? 8 : 16) == 0);
			test_fill(p, u, n);
			b[nb].p = p;
			b[nb++].n = n;
		}
	b[nb].p = kmalloc(0);
	b[nb++].n = 0;
	b[nb].p = kmalloc(0);
	b[nb++].n = 0;
	CHECK(b[nb - 1].p != NULL && b[nb - 2].p != b[nb - 1].p);
	CHECK_EQ(kmalloc_usable_size(b[nb - 1].p), 8);
	CHECK_EQ(kmalloc_usable_size(NULL), 0);
	for (int i = 0; i < nb; i++) {
		size_t u = kmalloc_usable_size(b[i].p);
		if (b[i].n > 0)
			CHECK(test_intact(b[i].p, u, b[i].n));
		kfree(b[i].p);
	}
	kfree(NULL);
	finish(start);
}

TEST(large_blocks)
{
	static const size_t sizes[] = { 4097, 8192, 8193, 12345, 65536,
	    MB, MB + 1, 3 * MB, 8 * MB };
	size_t start = setup();

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		void *p = kmalloc(sizes[i]);
		size_t u = kmalloc_usable_size(p);
		CHECK(p != NULL && (uintptr_t)p % PAGE_SIZE == 0);
		CHECK_EQ(u, expected_size(sizes[i]));
		CHECK((uintptr_t)p % u == 0);	/* blocks are aligned to their size */
		test_fill(p, u, i);
		CHECK(test_intact(p, u, i));
		kfree(p);
	}
	CHECK(kmalloc(8 * MB + 1) == NULL);
	CHECK(kmalloc(SIZE_MAX) == NULL);
	CHECK(kmalloc(SIZE_MAX / 2 + 2) == NULL);
	finish(start);
}

TEST(realloc_grow_and_shrink)
{
	static const size_t sizes[] = { 1, 7, 8, 9, 16, 100, 120, 255, 256,
	    257, 1000, 4095, 4096, 4097, 10000, 100000, MB, 3 * MB };
	const int n = sizeof sizes / sizeof sizes[0];
	size_t start = setup();
	size_t have = 0;
	void *p = NULL;

	/* Up, then down again: the common prefix survives every move. */
	for (int k = 0; k < 2 * n; k++) {
		size_t want = sizes[k < n ? k : 2 * n - 1 - k];
		void *q = krealloc(p, want);
		CHECK(q != NULL);
		if (p != NULL)
			CHECK(test_intact(q, have < want ? have : want, k - 1));
		if (p != NULL && expected_size(want) == expected_size(have))
			CHECK(q == p);		/* the same class: in place */
		test_fill(q, want, k);
		p = q;
		have = want;
	}
	CHECK(krealloc(p, 0) == NULL);	/* frees it */
	p = krealloc(NULL, 50);
	CHECK(p != NULL && kmalloc_usable_size(p) == 64);
	test_fill(p, 50, 1);
	CHECK(krealloc(p, 16 * MB) == NULL);	/* too big: p untouched */
	CHECK(test_intact(p, 50, 1));
	kfree(p);
	finish(start);
}

TEST(alignment)
{
	size_t start = setup();

	for (size_t align = 1; align <= 8 * MB; align *= 2) {
		const size_t sizes[] = { 0, 1, 8, 24, 100, align - 1, align,
		    align + 1, 5000 };
		void *live[sizeof sizes / sizeof sizes[0]];
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			size_t n = sizes[i];
			void *p = kaligned_alloc(align, n);
			live[i] = p;
			if (n > 8 * MB) {
				CHECK(p == NULL);
				continue;
			}
			CHECK(p != NULL && (uintptr_t)p % align == 0);
			CHECK(kmalloc_usable_size(p) >= n);
			test_fill(p, n, align + i);
			if (align > 64 * 1024) {	/* memory is short: free now */
				CHECK(test_intact(p, n, align + i));
				kfree(p);
				live[i] = NULL;
			}
		}
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
			if (live[i] != NULL) {
				CHECK(test_intact(live[i], sizes[i],
				    align + i));
				kfree(live[i]);
			}
	}
	CHECK(kaligned_alloc(16 * MB, 1) == NULL);
	CHECK(kaligned_alloc(0, 10) == NULL);
	CHECK(kaligned_alloc(48, 10) == NULL);
	finish(start);
}

TEST(posix_memalign_errors)
{
	size_t start = setup();
	void *p = (void *)1;

	CHECK_EQ(kposix_memalign(&p, 4, 10), EINVAL);
	CHECK_EQ(kposix_memalign(&p, 24, 10), EINVAL);
	CHECK_EQ(kposix_memalign(&p, 0, 10), EINVAL);
	CHECK(p == (void *)1);			/* untouched on failure */
	CHECK_EQ(kposix_memalign(&p, 16 * MB, 10), ENOMEM);
	for (size_t align = 8; align <= MB; align *= 4) {
		CHECK_EQ(kposix_memalign(&p, align, 300), 0);
		CHECK(p != NULL && (uintptr_t)p % align == 0);
		test_fill(p, 300, align);
		CHECK(test_intact(p, 300, align));
		kfree(p);
	}
	finish(start);
}

TEST(calloc_zeroes)
{
	size_t start = setup();
	void *p = kmalloc(200);

	memset(p, 0xff, 200);
	kfree(p);
	unsigned char *q = kcalloc(10, 20);	/* likely p again */
	CHECK(q != NULL);
	for (int i = 0; i < 200; i++)
		CHECK(q[i] == 0);
	kfree(q);
	q = kcalloc(1, 20000);
	CHECK(q != NULL);
	for (int i = 0; i < 20000; i++)
		CHECK(q[i] == 0);
	kfree(q);
	CHECK(kcalloc(SIZE_MAX / 2, 3) == NULL);
	CHECK(kcalloc((size_t)1 << 32, (size_t)1 << 32) == NULL);
	q = kcalloc(0, 5);
	CHECK(q != NULL);
	kfree(q);
	finish(start);
}

/* A random request size: mostly small, some a few pages, a few large. */
static size_t
random_size(void)
{
	uint64_t r = test_rnd() % 1000;

	if (r < 700)
		return test_rnd() % 257;
	if (r < 950)
		return 257 + test_rnd() % 3840;
	if (r < 997)
		return 4097 + test_rnd() % 60000;
	return test_rnd() % MB;
}

/*
 * Random malloc, calloc, aligned_alloc, realloc and free against a
 * model: a slot table of live blocks with their sizes and seeds.
 */
#define NSLOT 2048
TEST(random_against_model)
{
	static struct { unsigned char *p; size_t n; uint64_t seed; } s[NSLOT];
	size_t start = setup();

	for (uint64_t op = 1; op <= 150000; op++) {
		int i = test_rnd() % NSLOT, r = test_rnd() % 10;
		size_t n = random_size();
		if (s[i].p == NULL) {
			if (r < 8) {
				s[i].p = kmalloc(n);
			} else if (r < 9) {
				s[i].p = kcalloc(1, n);
				for (size_t j = 0; j < n; j++)
					CHECK(s[i].p[j] == 0);
			} else {
				size_t align = (size_t)8 << (test_rnd() % 11);
				s[i].p = kaligned_alloc(align, n);
				CHECK((uintptr_t)s[i].p % align == 0);
			}
			CHECK(s[i].p != NULL && kmalloc_usable_size(s[i].p) >= n);
		} else if (r < 3) {
			CHECK(test_intact(s[i].p, s[i].n, s[i].seed));
			unsigned char *q = krealloc(s[i].p, n);
			if (n == 0) {		/* krealloc(p, 0) frees p */
				CHECK(q == NULL);
				s[i].p = NULL;
				continue;
			}
			CHECK(q != NULL);
			CHECK(test_intact(q, n < s[i].n ? n : s[i].n,
			    s[i].seed));
			s[i].p = q;
		} else {
			CHECK(test_intact(s[i].p, s[i].n, s[i].seed));
			kfree(s[i].p);
			s[i].p = NULL;
			continue;
		}
		s[i].n = n;
		s[i].seed = op;
		test_fill(s[i].p, n, op);
	}
	for (int i = 0; i < NSLOT; i++)
		if (s[i].p != NULL) {
			CHECK(test_intact(s[i].p, s[i].n, s[i].seed));
			kfree(s[i].p);
			s[i].p = NULL;
		}
	finish(start);
}

/* Running memory dry: NULL at every size, and everything comes back. */
TEST(exhaustion)
{
	static const size_t sizes[] = { MB, 4096, 64, 8 };
	size_t start = setup();
	size_t n = 0, cap = 1 << 16;
	void **p = malloc(cap * sizeof *p);

	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t before = n;
		for (;;) {
			if (n == cap)
				p = realloc(p, (cap *= 2) * sizeof *p);
			if ((p[n] = kmalloc(sizes[k])) == NULL)
				break;
			memset(p[n], (int)k, sizes[k]);
			n++;
		}
		if (k == 0)
			CHECK(n - before >= 48);	/* most of 64 MiB */
	}
	CHECK_EQ(page_count_free(), 0);
	CHECK(kmalloc(1) == NULL && kcalloc(1, 1) == NULL);
	for (size_t i = 0; i < n; i++)
		kfree(p[i]);
	free(p);
	finish(start);
}

/*
 * Threads as cores free each other's blocks (test_cross_free), of sizes
 * from each core's own LCG: mostly under 2000 bytes, one in a hundred of
 * 20000 (whole pages).
 */
#define PER_THREAD	20000

static void *
xalloc(int core, long i, size_t *size)
{
	uint64_t x = ((uint64_t)core + 1) * 6364136223846793005ULL + (uint64_t)i * 1442695040888963407ULL;

	x ^= x >> 29;
	*size = (x >> 33) % 100 == 0 ? 20000 : (x >> 40) % 2000;
	return kmalloc(*size);
}

TEST(threads_free_each_others)
{
	size_t start = setup();

	CHECK(test_cross_free(NTHREADS, PER_THREAD, xalloc, kfree) >= NTHREADS * 1000);
	finish(start);
}

/* Death tests: each runs in a child, which must panic saying why. */

static void
free_stack(void)
{
	int x;

	setup();
	kfree(&x);
}

static void
free_interior_large(void)
{
	setup();
	kfree((char *)kmalloc(3 * PAGE_SIZE) + PAGE_SIZE);
}

static void
free_interior_small(void)
{
	setup();
	kfree((char *)kmalloc(100) + 16);
}

static void
free_page_block(void)
{
	setup();
	kfree(page_alloc(1));
}

static void
free_twice_small(void)
{
	setup();
	void *p = kmalloc(100);
	kfree(p);
	kfree(p);
}

static void
free_twice_large(void)
{
	setup();
	void *p = kmalloc(100000);
	kfree(p);
	kfree(p);
}

static void
usable_size_bad(void)
{
	int x;

	setup();
	kmalloc_usable_size(&x);
}

TEST(death_bad_free)
{
	CHECK_DEATH(free_stack, "kfree: ");
	CHECK_DEATH(free_stack, "not allocated by kmalloc");
	CHECK_DEATH(free_interior_large, "not allocated by kmalloc");
	CHECK_DEATH(free_page_block, "not allocated by kmalloc");
	CHECK_DEATH(free_interior_small, "not a slab object (cache kmalloc-128)");
	CHECK_DEATH(usable_size_bad, "kmalloc_usable_size: ");
}

TEST(death_double_free)
{
	CHECK_DEATH(free_twice_small, "double free (cache kmalloc-128)");
	CHECK_DEATH(free_twice_large, "double free (the block is free)");
}
