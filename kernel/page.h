/*
 * page.h: the page allocator, a binary buddy allocator over physical
 * memory (native) or one large mmap (hosted).  Portable.
 *
 * A block of order k is 2^k contiguous pages (PAGE_SIZE << k bytes),
 * aligned to its own size (its address is a multiple of PAGE_SIZE << k),
 * and never straddling the end of a managed range.  Orders run from 0
 * (4 KiB) to PAGE_MAX_ORDER (8 MiB).
 *
 * Every page has a descriptor (struct page) that records who owns it, so
 * that every free is checked: a double free, a free with the wrong order
 * or a free of memory the allocator does not manage panics, naming the
 * address and the reason.  Descriptors are written lazily, a chunk at a
 * time as memory is first handed out, so that starting costs the same
 * whatever the memory's size (page.c, "Lazy start").  Running out of memory returns NULL; it never
 * panics.
 *
 * Safe on every core: one spin lock per node (one node for now).
 */
#ifndef PAGE_H
#define PAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "platform.h"

#define PAGE_MAX_ORDER	11	/* largest block: 2^11 pages = 8 MiB */

/* Who owns a page (struct page.owner). */
enum page_owner {
	PAGE_RESERVED = 0,	/* not managed: descriptors, holes, the image */
	PAGE_FREE,		/* in a free list, as part of a free block */
	PAGE_ALLOCATED,		/* handed out by page_alloc */
	PAGE_SLAB,		/* handed out to the slab allocator */
};

/*
 * The descriptor of one page.  Only the first page of a block carries the
 * block's order; in an allocated block the others point back at it with
 * head (in a free block their order and head are stale: page_head).
 */
struct page {
	uint8_t owner;		/* enum page_owner */
	uint8_t order;		/* the block's order (first page only) */
	uint16_t reserved;
	uint32_t head;		/* pages back to the block's first page */
	union {
		void *priv;	/* allocated: the owner's own word (slab: its struct slab) */
		LIST_ENTRY(page) link;	/* free, first page: on its list (page.c) */
	};
};

/* Manage the ranges platform.h's mem_ranges() hands out (called once). */
void page_init(void);

/*
 * Manage exactly these ranges, forgetting any earlier state: for tests,
 * which run the allocator over memory of their own, again and again.
 */
void page_init_ranges(const struct mem_range *r, int n);

/*
 * A block of 2^order pages, or NULL if none is free or order is not in
 * 0..PAGE_MAX_ORDER.  Contents undefined.  The block is PAGE_ALLOCATED,
 * with priv NULL.
 */
void *page_alloc(int order);

/* Give back a block page_alloc returned, with the order it was asked for. */
void page_free(void *p, int order);

/*
 * The descriptor of the page containing addr, or NULL if the allocator
 * does not manage addr or has never handed out any block of its chunk
 * (the wilderness, whose descriptors are not written yet: page.c).
 * The slab allocator and malloc use it to find out
 * what an address belongs to; they set owner and priv on the first page
 * of blocks they hold (page_set_owner).  Every page of a block has the
 * block's owner; only the first page's order and priv mean anything
 * (page_head finds it).  The pages holding the descriptors themselves are
 * managed too, and PAGE_RESERVED.
 *
 * Inline, because every kfree asks it: the zones are one small array
 * (usually of one), written by page_init* and, each zone's ready count,
 * growing under the page lock, so the lookup needs no lock.
 */
struct page_zone {
	uintptr_t base;		/* pfn of the zone's first page */
	size_t npages;		/* pages in the zone, descriptors included */
	size_t ready;		/* pages[0 .. ready-1] are set; the pages above
				 * have never been used (page.c's wilderness) */
	struct page *pages;	/* pages[i] describes pfn base + i */
};
extern struct page_zone page_zones[MAX_MEM_RANGES];
extern int page_nzones;

static inline struct page *
page_of(const void *addr)
{
	uintptr_t pfn = (uintptr_t)addr >> PAGE_SHIFT;

	/* Zone 0 first, without the loop: most machines have one zone.
	 * Acquire: pairs with page_grow's release of a larger ready. */
	if (pfn - page_zones[0].base < __atomic_load_n(&page_zones[0].ready, __ATOMIC_ACQUIRE))
		return &page_zones[0].pages[pfn - page_zones[0].base];
	for (int i = 1; i < page_nzones; i++)
		if (pfn - page_zones[i].base < __atomic_load_n(&page_zones[i].ready,
		    __ATOMIC_ACQUIRE))
			return &page_zones[i].pages[pfn - page_zones[i].base];
	return NULL;
}

/*
 * The descriptor of the first page of the allocated block (PAGE_ALLOCATED
 * or PAGE_SLAB) that contains addr, wherever in the block addr points;
 * NULL if addr is not inside an allocated block.  Its order is the
 * block's order and its priv the owner's word.
 */
struct page *page_head(const void *addr);

/* The address of the page that pg (from page_of or page_head) describes. */
void *page_addr(const struct page *pg);

/*
 * Hand an allocated block (page_alloc's block and order, exactly) to a new
 * owner, PAGE_ALLOCATED or PAGE_SLAB, and set priv on its first page.
 * page_free takes the block back whichever of the two owns it.  Anything
 * else (a free block, a wrong order, another owner) panics.
 */
void page_set_owner(void *block, int order, enum page_owner owner, void *priv);

/* Counts, for statistics and for tests' leak checks. */
size_t page_count_free(void);	/* pages in free blocks */
size_t page_count_total(void);	/* pages managed (free or allocated) */
size_t page_count_free_blocks(int order);	/* free blocks of this order */

#endif
