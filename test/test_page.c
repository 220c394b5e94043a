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
 */
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
static char *
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

static size_t
arena_page(const void *p)
{
	return (size_t)((const char *)p - arena) / PAGE_SIZE;
}

/* Layout 0: fixed awkward ranges.  1: the whole arena.  Else: random. */
static int
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
static void
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
static void
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
static void
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
static void
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
static void
fill(char *p, int order)
{
	test_fill(p, BYTES(order), (uintptr_t)p);
}

/* Is the block still holding its pattern? */
static int
intact(char *p, int order)
{
	return test_intact(p, BYTES(order), (uintptr_t)p);
}

/* A new block: check it against the shadow map, claim it, fill it. */
static int
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
static int
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

static int
release_all(void)
{
	while (nlive > 0)
		if (!release(test_rnd() % nlive))
			return 0;
	return 1;
}

/* Mostly small orders, now and then anything. */
static int
random_order(void)
{
	if (test_rnd() % 64 == 0)
		return test_rnd() % NORDERS;
	int k = __builtin_ctzll(test_rnd() | (1ULL << PAGE_MAX_ORDER));
	return k;
}

/* One random alloc/free step; checks the model.  0 on a failure. */
static int
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
static int
lists_agree(void)
{
	size_t n = 0;

	for (int k = 0; k < NORDERS; k++)
		n += page_count_free_blocks(k) << k;
	return n == page_count_free();
}

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

/*
 * Death tests.  The parent sets the state up (victim is an allocated
 * block of order 2) and works out the exact message; the child, a fork,
 * does the bad thing and must panic with it.
 */
static char *victim;
static char expect[256];

static void
prepare(void)
{
	setup(0);
	victim = page_alloc(2);
	CHECK(victim != NULL);
}

static void
do_double_free(void)
{
	page_free(victim, 2);
	page_free(victim, 2);
}

static void
do_wrong_order(void)
{
	page_free(victim, 1);
}

static void
do_bad_order(void)
{
	page_free(victim, NORDERS);
}

static void
do_unmanaged(void)
{
	page_free(arena + 22 * MB, 0);
}

static void
do_stack(void)
{
	int x;

	page_free(&x, 0);
}

static void
do_null(void)
{
	page_free(NULL, 0);
}

static void
do_mid_block(void)
{
	page_free(victim + PAGE_SIZE, 0);
}

static void
do_unaligned(void)
{
	page_free(victim + 8, 2);
}

static void
do_reserved(void)
{
	page_free(arena + 40 * MB, 0);
}

static void
do_set_owner_free(void)
{
	page_set_owner(arena + 48 * MB, 11, PAGE_SLAB, NULL);
}

TEST(death_double_free)
{
	prepare();
	snprintf(expect, sizeof expect, "page_free: %p: double free", victim);
	CHECK_DEATH(do_double_free, expect);
}

TEST(death_wrong_order)
{
	prepare();
	snprintf(expect, sizeof expect,
	    "page_free: %p: wrong order 1 (block has order 2)", victim);
	CHECK_DEATH(do_wrong_order, expect);
	snprintf(expect, sizeof expect, "page_free: %p: bad order %d",
	    victim, NORDERS);
	CHECK_DEATH(do_bad_order, expect);
}

TEST(death_unmanaged)
{
	prepare();
	snprintf(expect, sizeof expect, "page_free: %p: not managed",
	    arena + 22 * MB);
	CHECK_DEATH(do_unmanaged, expect);
	CHECK_DEATH(do_stack, ": not managed");
	snprintf(expect, sizeof expect, "page_free: %p: not managed", NULL);
	CHECK_DEATH(do_null, expect);
}

TEST(death_mid_block)
{
	prepare();
	snprintf(expect, sizeof expect,
	    "page_free: %p: not the start of a block", victim + PAGE_SIZE);
	CHECK_DEATH(do_mid_block, expect);
	snprintf(expect, sizeof expect,
	    "page_free: %p: not the start of a block", victim + 8);
	CHECK_DEATH(do_unaligned, expect);
}

TEST(death_reserved)
{
	prepare();
	snprintf(expect, sizeof expect, "page_free: %p: reserved page",
	    arena + 40 * MB);
	CHECK_DEATH(do_reserved, expect);
}

TEST(death_set_owner)
{
	prepare();
	snprintf(expect, sizeof expect,
	    "page_set_owner: %p: not an allocated block of order 11",
	    arena + 48 * MB);
	CHECK_DEATH(do_set_owner_free, expect);
}

#ifdef DEBUG
/* Debug builds: a write into a freed page trips page_alloc's poison check. */
static char *freed;

static void
do_use_after_free(void)
{
	freed[100] = 1;
	while (page_alloc(0) != NULL)
		;
}

TEST(death_use_after_free)
{
	prepare();
	freed = page_alloc(0);
	page_free(freed, 0);
	snprintf(expect, sizeof expect, "free block written to at %p",
	    freed + 96);
	CHECK_DEATH(do_use_after_free, expect);
}
#endif
