/*
 * test_page_death.c: the page allocator's bad frees (kernel/page.c),
 * each of which must panic with its own message: a double free, a
 * wrong or bad order, memory it does not manage (an unmanaged gap, the
 * stack, NULL), the middle of a block or an unaligned pointer, a
 * reserved page, page_set_owner on a free block; debug builds also
 * catch a write into a freed page.  Over pagetest.h's arena and layout.
 */
#include "pagetest.h"

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
