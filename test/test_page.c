/*
 * test_page.c: the page allocator (kernel/page.c), hosted.
 *
 * Every test runs the allocator over ranges carved from one mmap of our
 * own (the arena), laid out to be awkward: starts that are not 8 MiB
 * aligned, lengths that are not whole pages, ranges too small to use,
 * gaps that nobody manages.  A shadow map of the arena, built from the
 * ranges as page.c lays them out (and checked against page_of() right
 * after page_init_ranges()), says which pages are free, allocated,
 * descriptors or unmanaged, and the tests check every block
 * the allocator hands out against it: aligned, inside one range, not
 * overlapping anything.  Tests end by freeing everything and checking
 * that the free lists are exactly those right after init: no leaks.
 * The bad frees, which must panic, are test_page_death.c's; pagetest.h
 * has what the two share.
 */
#include "pagetest.h"

TEST(random_against_model)
{
	for (int round = 0; round < 8; round++) {
		size_t used = 0;
		setup(round);
		for (int i = 0; i < 20000; i++) {
			if (!step(&used)) {
				CHECK(!"block misplaced, overwritten, or NULL while free");
				return;
			}
			if (page_count_free() != init_free - used ||
			    (i % 64 == 0 && !lists_agree())) {
				CHECK_EQ(page_count_free(), init_free - used);
				CHECK(lists_agree());
				return;
			}
		}
		CHECK(release_all());
		check_initial();
	}
}

/* Allocate order k until NULL; the count is what the lists promised. */
static void
exhaust(int k)
{
	size_t expect = 0, rest = 0, got = 0;
	char *p;

	for (int j = 0; j < NORDERS; j++) {
		if (j >= k)
			expect += init_blocks[j] << (j - k);
		else
			rest += init_blocks[j] << j;
	}
	while ((p = page_alloc(k)) != NULL) {
		got++;
		if (!claim(p, k)) {
			CHECK(!"exhaust: bad block");
			break;
		}
	}
	CHECK_EQ(got, expect);
	CHECK_EQ(page_count_free(), rest);
	for (int j = k; j < NORDERS; j++)
		CHECK_EQ(page_count_free_blocks(j), 0);
	CHECK(release_all());
	check_initial();
}

TEST(exhaustion)
{
	static const int orders[] = { 0, 1, 2, 5, 10, 11 };

	for (int l = 0; l < 4; l++)
		for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
			setup(l);
			exhaust(orders[i]);
		}
}

TEST(exhaustion_mixed)
{
	setup(0);
	/* Fill with random orders until even order 0 fails. */
	for (;;) {
		int k = random_order();
		char *p = page_alloc(k);
		if (p == NULL && k == 0)
			break;
		if (p != NULL && !claim(p, k)) {
			CHECK(!"bad block");
			return;
		}
	}
	CHECK_EQ(page_count_free(), 0);
	CHECK(release_all());
	check_initial();
}

TEST(bad_orders)
{
	setup(0);
	CHECK(page_alloc(-1) == NULL);
	CHECK(page_alloc(NORDERS) == NULL);
	CHECK_EQ(page_count_free_blocks(-1), 0);
	CHECK_EQ(page_count_free_blocks(NORDERS), 0);
	check_initial();
}

TEST(reinit_resets)
{
	setup(1);
	CHECK(page_alloc(0) != NULL);
	CHECK(page_alloc(7) != NULL);
	setup(1);			/* forgets both blocks */
	check_initial();
	setup(0);
	check_initial();
}

TEST(page_of_and_owner)
{
	static int cookie;
	char *p, *gap;
	struct page *pg;

	setup(0);
	gap = arena + 22 * MB;		/* between ranges 0 and 1 */
	CHECK(page_of(gap) == NULL);
	CHECK(page_head(gap) == NULL);
	CHECK(page_of(&cookie) == NULL);
	CHECK(page_addr((struct page *)&cookie) == NULL);

	p = page_alloc(3);
	CHECK(p != NULL);
	pg = page_of(p);
	CHECK(pg != NULL);
	CHECK_EQ(pg->owner, PAGE_ALLOCATED);
	CHECK_EQ(pg->order, 3);
	CHECK_EQ(pg->head, 0);
	CHECK(pg->priv == NULL);
	CHECK(page_addr(pg) == p);
	for (int i = 1; i < 8; i++) {
		char *q = p + i * PAGE_SIZE + 123;
		CHECK_EQ(page_of(q)->owner, PAGE_ALLOCATED);
		CHECK_EQ(page_of(q)->head, i);
		CHECK(page_head(q) == pg);
		CHECK(page_addr(page_of(q)) == p + i * PAGE_SIZE);
	}

	page_set_owner(p, 3, PAGE_SLAB, &cookie);
	CHECK(pg->priv == &cookie);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(page_of(p + i * PAGE_SIZE)->owner, PAGE_SLAB);
	CHECK(page_head(p + 7 * PAGE_SIZE + 4095) == pg);
	CHECK(page_head(p + 8 * PAGE_SIZE) != pg);
	page_free(p, 3);		/* slab blocks come back too */
	CHECK_EQ(pg->owner, PAGE_FREE);
	CHECK(page_head(p) == NULL);
	check_initial();

	p = page_alloc(0);
	page_set_owner(p, 0, PAGE_SLAB, &cookie);
	page_set_owner(p, 0, PAGE_ALLOCATED, NULL);
	CHECK_EQ(page_of(p)->owner, PAGE_ALLOCATED);
	page_free(p, 0);
	check_initial();

	/* The descriptors are managed memory, and reserved. */
	CHECK((pg = page_of(arena + 40 * MB + PAGE_SIZE)) != NULL);
	CHECK_EQ(pg != NULL ? page_of(pg)->owner : -1, PAGE_RESERVED);
	CHECK(page_head(pg) == NULL);
}

/*
 * The allocator never writes to free memory: page_init writes only the
 * descriptors of the descriptor pages, and handing out a block writes
 * only the descriptors of its chunk (page.c, "Lazy start"; the links of
 * free blocks live in descriptors).  So a boot costs the same whatever
 * the memory's size, and memory nobody used is never touched.
 */
/* Is every byte of [p, p + n) c? */
static int
all_bytes(const char *p, size_t n, char c)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

TEST(free_memory_untouched)
{
	size_t ndesc = (ARENA_PAGES * sizeof(struct page) + PAGE_SIZE - 1) / PAGE_SIZE;
	size_t chunk = ((size_t)1 << PAGE_MAX_ORDER) * sizeof(struct page);
	char *a = arena_get(), *p, *q;

	setup(1);			/* the whole arena, one zone */
	memset(a, 0x5a, ARENA);
	page_init_ranges(&(struct mem_range){ (uintptr_t)a, ARENA }, 1);
	CHECK(all_bytes(a + ndesc * sizeof(struct page),
	    ARENA - ndesc * sizeof(struct page), 0x5a) ||
	    !"page_init wrote beyond the descriptor pages' own descriptors");
	p = page_alloc(0);
	q = page_alloc(PAGE_MAX_ORDER);
	CHECK(p != NULL && q != NULL);
	page_free(p, 0);
	page_free(q, PAGE_MAX_ORDER);
	CHECK(page_of(a + ARENA - PAGE_SIZE) == NULL);	/* the last chunk: still wild */
	/* Two chunks described (48 KiB each), nothing else written. */
	CHECK(all_bytes(a + 2 * chunk, ARENA - 2 * chunk, 0x5a) ||
	    !"the allocator wrote to free memory");
	CHECK_EQ(page_count_free(), ARENA_PAGES - ndesc);
}

TEST(hosted_page_init)
{
	size_t total, sum = 0;

	page_init();			/* mem_ranges: HOSTED_MEM of mmap */
	total = HOSTED_MEM / PAGE_SIZE;
	total -= total * sizeof(struct page) / PAGE_SIZE;
	CHECK_EQ(page_count_total(), total);
	CHECK_EQ(page_count_free(), total);
	for (int k = 0; k < NORDERS; k++)
		sum += page_count_free_blocks(k) << k;
	CHECK_EQ(sum, total);
	char *p = page_alloc(PAGE_MAX_ORDER);
	CHECK(p != NULL && (uintptr_t)p % BLOCK_MAX == 0);
	memset(p, 1, BLOCK_MAX);
	page_free(p, PAGE_MAX_ORDER);
	CHECK_EQ(page_count_free(), total);
}

/* Several threads, each its own core, hammering one node. */
#define NTHREADS	4
#define THREAD_LIVE	64

static void *
hammer(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct block mine[THREAD_LIVE];
	uint64_t seed = 0x9E3779B97F4A7C15ULL * (id + 1);
	int n = 0, bad = 0;

	hosted_set_core(id);
	for (int i = 0; i < 20000 && !bad; i++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		if (n == THREAD_LIVE || (n > 0 && seed % 2)) {
			int j = seed % n;
			struct block b = mine[j];
			mine[j] = mine[--n];
			bad |= !intact(b.p, b.order);
			page_free(b.p, b.order);
		} else {
			int k = (seed >> 8) % 5;
			char *p = page_alloc(k);
			if (p != NULL) {
				fill(p, k);
				mine[n++] = (struct block){ p, k };
			}
		}
	}
	while (n > 0) {
		n--;
		bad |= !intact(mine[n].p, mine[n].order);
		page_free(mine[n].p, mine[n].order);
	}
	return (void *)(intptr_t)bad;
}

TEST(threads)
{
	pthread_t t[NTHREADS];
	void *bad;

	setup(0);
	hosted_set_core_count(NTHREADS + 1);
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, hammer, (void *)(intptr_t)(i + 1));
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], &bad);
		CHECK(bad == NULL);
	}
	hosted_set_core_count(1);
	check_initial();
}
