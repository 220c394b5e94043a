/*
 * pagetest.h: what the page allocator's suites share (test_page.c, the
 * allocator at work; test_page_death.c, its bad frees): the arena, the
 * awkward layouts of ranges carved from it, the shadow map that says
 * what each page is, setup, and the checks every block is held to.
 * test_page.c's top comment explains them.  Static functions, one
 * copy per suite.
 */
#ifndef PAGETEST_H
#define PAGETEST_H

#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hosted/hosted.h"
#include "kernel/page.h"
#include "test.h"

#define MB		(1UL << 20)
#define BLOCK_MAX	((size_t)PAGE_SIZE << PAGE_MAX_ORDER)	/* 8 MiB */
#define BYTES(k)	((size_t)PAGE_SIZE << (k))	/* bytes in a block of order k */
#define ARENA		(64 * MB)
#define ARENA_PAGES	(ARENA / PAGE_SIZE)
#define NORDERS		(PAGE_MAX_ORDER + 1)
#define MAXLIVE		ARENA_PAGES	/* enough for every page as a block */

static char *arena;		/* 8 MiB aligned, ARENA bytes */

/* What the shadow map says about a page of the arena. */
enum { S_UNMANAGED, S_DESC, S_FREE, S_USED };
static struct {
	uint8_t state;
	int8_t range;		/* which range holds it, -1 if none */
} shadow[ARENA_PAGES];

/* The free lists right after init, to compare with at the end. */
static size_t init_blocks[NORDERS];
static size_t init_free;

struct block {
	char *p;
	int order;
};
static struct block live[MAXLIVE];
static int nlive;

/* The arena, mapped once. */
static inline char *
arena_get(void)
{
	if (arena == NULL) {
		char *p = mmap(NULL, ARENA + BLOCK_MAX, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			_exit(2);
		}
		arena = (char *)(((uintptr_t)p + BLOCK_MAX - 1) & ~(BLOCK_MAX - 1));
	}
	return arena;
}

static inline size_t
arena_page(const void *p)
{
	return (size_t)((const char *)p - arena) / PAGE_SIZE;
}

/* Layout 0: fixed awkward ranges.  1: the whole arena.  Else: random. */
static inline int
layout(int which, struct mem_range *r)
{
	uintptr_t a = (uintptr_t)arena_get();
	int n = 0;

	if (which == 0) {
		r[n++] = (struct mem_range){ a + 3 * PAGE_SIZE, 21 * MB + 5 * PAGE_SIZE };
		r[n++] = (struct mem_range){ a + 24 * MB + 100, 8 * MB + 3 * PAGE_SIZE + 50 };
		r[n++] = (struct mem_range){ a + 34 * MB, PAGE_SIZE };	/* too small */
		r[n++] = (struct mem_range){ a + 36 * MB, 2 * PAGE_SIZE };
		r[n++] = (struct mem_range){ a + 40 * MB, 24 * MB };
		return n;
	}
	if (which == 1) {
		r[n++] = (struct mem_range){ a, ARENA };
		return n;
	}
	/* Random: up to 6 slices, each trimmed by odd amounts at both ends. */
	int slices = 1 + test_rnd() % 6;
	size_t slice = ARENA / slices;
	for (int i = 0; i < slices; i++) {
		size_t lo = test_rnd() % (slice / 4);
		size_t hi = test_rnd() % (slice / 4);
		if (test_rnd() % 3 == 0)
			lo = hi = 0;
		r[n++] = (struct mem_range){ a + i * slice + lo, slice - lo - hi };
	}
	return n;
}

/*
 * Fill the arena with descriptors of free blocks of order k, so that an
 * allocator that looks at a descriptor outside its zones (a buddy beyond
 * a range's end, say) is likely to merge with memory it does not own.
 */
static inline void
fake_descriptors(int k)
{
	struct page *pg = (struct page *)arena_get();

	for (size_t i = 0; i < ARENA / sizeof *pg; i++)
		pg[i] = (struct page){ .owner = PAGE_FREE, .order = k };
}

/*
 * The shadow map of ranges r[0..n-1] as page.c lays them out: each range
 * shrunk to whole pages, its descriptors first (if it holds them and a
 * page more), the rest free.
 */
static inline void
shadow_build(const struct mem_range *r, int n)
{
	for (size_t i = 0; i < ARENA_PAGES; i++)
		shadow[i] = (typeof(shadow[i])){ S_UNMANAGED, -1 };
	for (int j = 0; j < n; j++) {
		uintptr_t lo = (r[j].base + PAGE_SIZE - 1) / PAGE_SIZE;
		uintptr_t hi = (r[j].base + r[j].len) / PAGE_SIZE;
		size_t npg = hi > lo ? hi - lo : 0;
		size_t ndesc = (npg * sizeof(struct page) + PAGE_SIZE - 1) / PAGE_SIZE;
		for (uintptr_t pfn = lo; pfn < hi; pfn++) {
			size_t i = arena_page((char *)(pfn * PAGE_SIZE));
			shadow[i].range = j;
			if (ndesc < npg)
				shadow[i].state = pfn - lo < ndesc ? S_DESC : S_FREE;
		}
	}
}

/*
 * page_init_ranges on a layout, then build the shadow map and check
 * page_of against it: descriptor pages are described and reserved from
 * the start; a free page is either described and free or still in the
 * wilderness (NULL, its descriptor never written); nothing else is
 * managed.
 */
static inline void
setup(int which)
{
	struct mem_range r[8];
	int n = layout(which, r);
	size_t nfree = 0, ndesc = 0;

	fake_descriptors(which % NORDERS);
	page_init_ranges(r, n);
	nlive = 0;
	shadow_build(r, n);
	for (size_t i = 0; i < ARENA_PAGES; i++) {
		struct page *pg = page_of(arena + i * PAGE_SIZE);

		switch (shadow[i].state) {
		case S_DESC:
			CHECK(pg != NULL && pg->owner == PAGE_RESERVED);
			break;
		case S_FREE:
			CHECK(pg == NULL || pg->owner == PAGE_FREE);
			break;
		default:
			CHECK(pg == NULL);
		}
		/* Every descriptor lies in a page that is itself reserved. */
		if (pg != NULL)
			CHECK(shadow[arena_page(pg)].state == S_DESC);
		nfree += shadow[i].state == S_FREE;
		ndesc += shadow[i].state == S_DESC;
	}
	CHECK(ndesc > 0);
	CHECK_EQ(page_count_total(), nfree);
	CHECK_EQ(page_count_free(), nfree);
	init_free = nfree;
	for (int k = 0; k < NORDERS; k++) {
		init_blocks[k] = page_count_free_blocks(k);
		nfree -= init_blocks[k] << k;
	}
	CHECK_EQ(nfree, 0);
}

/* The free lists are exactly as right after setup(). */
static inline void
check_initial(void)
{
	CHECK_EQ(page_count_free(), init_free);
	for (int k = 0; k < NORDERS; k++)
		CHECK_EQ(page_count_free_blocks(k), init_blocks[k]);
}

/*
 * A block's pattern (test_fill) is keyed by its address: a block holds
 * it from claim to release, so a block that overlaps another, or that
 * the allocator writes into while it is allocated, no longer does.
 */
static inline void
fill(char *p, int order)
{
	test_fill(p, BYTES(order), (uintptr_t)p);
}

/* Is the block still holding its pattern? */
static inline int
intact(char *p, int order)
{
	return test_intact(p, BYTES(order), (uintptr_t)p);
}

/* A new block: check it against the shadow map, claim it, fill it. */
static inline int
claim(char *p, int order)
{
	size_t first = arena_page(p), n = (size_t)1 << order;

	if ((uintptr_t)p % BYTES(order) != 0 || first + n > ARENA_PAGES)
		return 0;
	for (size_t i = first; i < first + n; i++)
		if (shadow[i].state != S_FREE || shadow[i].range != shadow[first].range)
			return 0;
	for (size_t i = 0; i < n; i++) {
		struct page *pg = page_of(p + i * PAGE_SIZE);
		if (pg->owner != PAGE_ALLOCATED || pg->head != i ||
		    page_head(p + i * PAGE_SIZE + 8) != page_of(p))
			return 0;
		shadow[first + i].state = S_USED;
	}
	if (page_of(p)->order != order || page_of(p)->priv != NULL)
		return 0;
	fill(p, order);
	live[nlive++] = (struct block){ p, order };
	return 1;
}

/* Check live block i, free it and forget it. */
static inline int
release(int i)
{
	struct block b = live[i];
	size_t first = arena_page(b.p);

	if (!intact(b.p, b.order))
		return 0;
	for (size_t j = first; j < first + ((size_t)1 << b.order); j++)
		shadow[j].state = S_FREE;
	page_free(b.p, b.order);
	for (size_t j = 0; j < ((size_t)1 << b.order); j++)
		if (page_of(b.p + j * PAGE_SIZE)->owner != PAGE_FREE ||
		    page_head(b.p + j * PAGE_SIZE) != NULL)
			return 0;
	live[i] = live[--nlive];
	return 1;
}

static inline int
release_all(void)
{
	while (nlive > 0)
		if (!release(test_rnd() % nlive))
			return 0;
	return 1;
}

/* Mostly small orders, now and then anything. */
static inline int
random_order(void)
{
	if (test_rnd() % 64 == 0)
		return test_rnd() % NORDERS;
	int k = __builtin_ctzll(test_rnd() | (1ULL << PAGE_MAX_ORDER));
	return k;
}

/* One random alloc/free step; checks the model.  0 on a failure. */
static inline int
step(size_t *used)
{
	if (nlive > 0 && (nlive == MAXLIVE || test_rnd() % 100 < 45)) {
		int i = test_rnd() % nlive;
		*used -= (size_t)1 << live[i].order;
		return release(i);
	}
	int k = random_order();
	char *p = page_alloc(k);
	if (p == NULL) {
		for (int j = k; j < NORDERS; j++)
			if (page_count_free_blocks(j) != 0)
				return 0;
		return 1;
	}
	*used += (size_t)1 << k;
	return claim(p, k);
}

/* Sum of the free lists, in pages, equals the free count. */
static inline int
lists_agree(void)
{
	size_t n = 0;

	for (int k = 0; k < NORDERS; k++)
		n += page_count_free_blocks(k) << k;
	return n == page_count_free();
}

#endif
