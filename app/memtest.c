/*
 * memtest.c: takes most of memory and gives it all back, checking every
 * byte and every count on the way.  A boot test runs it natively (the
 * page allocator over the machine's RAM); hosted, it runs over the
 * hosted runtime's mmap.
 *
 *	1. page blocks of every order, largest first, until none is left:
 *	   each filled with a pattern from its address, checked, freed;
 *	2. kmalloc objects of a mix of sizes until memory runs out (or a
 *	   cap), each patterned, checked and freed, then the slab caches
 *	   drained: the free page count must be back where it started;
 *	3. newlib's (native) or glibc's (hosted) malloc, through stdio.
 *
 * Prints what it took and "memtest: ok", or what went wrong, and exits 0
 * only if every check held.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebb/runtime.h"
#include "kernel/malloc.h"
#include "kernel/page.h"
#include "kernel/slab.h"

#define MAX_BLOCKS	(1 << 16)
#define MAX_OBJS	(1 << 18)

static void *blocks[MAX_BLOCKS];
static int block_order[MAX_BLOCKS];
static void *objs[MAX_OBJS];
static size_t obj_size[MAX_OBJS];
static int errors;

static void
fill(void *p, size_t n)
{
	uint64_t *w = p, v = (uintptr_t)p * 0x9E3779B97F4A7C15ULL;

	for (size_t i = 0; i < n / 8; i++)
		w[i] = v + i;
}

static void
check(void *p, size_t n, const char *what)
{
	uint64_t *w = p, v = (uintptr_t)p * 0x9E3779B97F4A7C15ULL;

	for (size_t i = 0; i < n / 8; i++)
		if (w[i] != v + i) {
			printf("memtest: %s %p: word %zu changed\n", what, p, i);
			errors++;
			return;
		}
}

/* Step 1: every page, in blocks as large as possible. */
static void
pages(void)
{
	size_t start = page_count_free(), taken = 0;
	int n = 0;

	for (int order = PAGE_MAX_ORDER; order >= 0; order--) {
		void *b;
		while (n < MAX_BLOCKS && (b = page_alloc(order)) != NULL) {
			fill(b, (size_t)PAGE_SIZE << order);
			blocks[n] = b;
			block_order[n++] = order;
			taken += (size_t)1 << order;
		}
	}
	printf("memtest: took %zu of %zu free pages (%zu MiB) in %d blocks\n",
	    taken, start, taken >> (20 - PAGE_SHIFT), n);
	if (page_count_free() != 0 && n < MAX_BLOCKS) {
		printf("memtest: %zu pages still free after exhaustion\n", page_count_free());
		errors++;
	}
	for (int i = 0; i < n; i++) {
		check(blocks[i], (size_t)PAGE_SIZE << block_order[i], "page block");
		page_free(blocks[i], block_order[i]);
	}
	if (page_count_free() != start) {
		printf("memtest: %zu pages free after freeing, %zu before\n",
		    page_count_free(), start);
		errors++;
	}
}

/* Step 2: kmalloc until NULL (or MAX_OBJS), then everything back. */
static void
objects(void)
{
	static const size_t sizes[] = { 8, 24, 64, 100, 256, 700, 2048, 4000, 9000, 70000 };
	size_t start, bytes = 0;
	int n = 0;

	slab_reap();		/* empty slabs the runtime held go back first */
	start = page_count_free();
	while (n < MAX_OBJS) {
		size_t sz = sizes[n % (sizeof sizes / sizeof *sizes)];
		void *p = kmalloc(sz);
		if (p == NULL)
			break;
		fill(p, sz);
		objs[n] = p;
		obj_size[n++] = sz;
		bytes += sz;
	}
	printf("memtest: kmalloc gave %d objects, %zu MiB, before %s\n", n, bytes >> 20,
	    n == MAX_OBJS ? "the test's cap" : "memory ran out");
	for (int i = 0; i < n; i++) {
		check(objs[i], obj_size[i], "kmalloc object");
		kfree(objs[i]);
	}
	slab_reap();
	if (page_count_free() != start) {
		printf("memtest: %zu pages free after kfree and reap, %zu before\n",
		    page_count_free(), start);
		errors++;
	}
}

/* ebb/runtime.h: no arguments. */
const char app_usage[] = "";

int
app_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	pages();
	objects();

	char *s = malloc(100);		/* the C library's malloc */
	snprintf(s, 100, "%s", "malloc from the C library works");
	printf("memtest: %s\n", s);
	free(s);

	if (errors) {
		printf("memtest: %d errors\n", errors);
		return 1;
	}
	printf("memtest: ok\n");
	return 0;
}
