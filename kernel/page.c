/*
 * page.c: the page allocator, a binary buddy allocator (see page.h).
 * Portable: it reaches the machine only through platform.h.
 *
 * Zones.  Every range mem_ranges() hands out (or a test passes to
 * page_init_ranges) becomes a zone.  A zone starts with its own page
 * descriptor array, one struct page per page of the zone, carved from the
 * zone itself and marked PAGE_RESERVED; the rest of the zone is free.
 * A range too small to hold its own descriptors and a page more is left
 * alone.
 *
 * Lazy start.  Boot must not cost time in proportion to memory, and
 * under a hypervisor the first write to a page of guest RAM is what
 * costs (the host allocates and zeroes it).  So page_init writes
 * nothing but the descriptors of the descriptor pages, and a zone is
 * split in two at its frontier, base + ready:
 *   - below it, the described part: every descriptor is set and free
 *     blocks are on the lists, as in any buddy allocator;
 *   - above it, the wilderness: free memory that nothing has used, whose
 *     descriptors have never been written (their memory is untouched).
 * page_take, when no list holds a large enough block, moves the frontier
 * up by one chunk (page_grow): it writes that chunk's descriptors and
 * lists its blocks.  The frontier only ever stops at a multiple of
 * 2^PAGE_MAX_ORDER pages (or the zone's end), so a chunk is the very
 * blocks an eager carve would have made there, and a block's buddy is on
 * the same side of the frontier as the block.  node.wild[k] counts the
 * order-k blocks the wilderness will yield, so the counts (free pages,
 * free blocks per order) are those of the whole zone from the start.
 * page_of says NULL for the wilderness: no block there was ever handed
 * out, so no caller can own an address in it.
 *
 * Blocks.  A block of order k is 2^k pages whose first page frame number
 * (pfn = address >> PAGE_SHIFT) is a multiple of 2^k: blocks are aligned
 * to their own size in the address space, so a 2 MiB block is 2 MiB
 * aligned.  Its buddy is the block at pfn ^ (1 << k); the two together
 * make the block of order k + 1 at pfn & ~(1 << k).  Each chunk is cut
 * into the largest aligned blocks that fit (page_carve), so a block
 * never straddles the end of its zone whatever the zone's size and
 * alignment, and a buddy outside the zone is never merged with.
 *
 * Free lists.  The node keeps one list of free blocks per order.  The
 * links live in the descriptor of each free block's first page (struct
 * page's link), not in the block, so the allocator never writes to free
 * memory; they are doubly linked (sys/queue.h's LIST) so that a buddy
 * leaves the middle of its list in O(1).
 *
 * Descriptors.  The invariants, for every block with first page h in
 * the described part of a zone:
 *   - pages[h].order is the block's order and pages[h].head is 0;
 *   - every page of the block has the block's owner;
 *   - in an allocated block (PAGE_ALLOCATED or PAGE_SLAB) each page i
 *     has head = i - h, so page_head() finds the block from inside it.
 * Splitting and merging touch only first pages, so the order and head of
 * the other pages of a free block are stale.  That is safe: the buddy of
 * a block being freed is aligned to the block's size, so it is always
 * the first page of some block (or reserved, or outside the zone), and
 * its descriptor is never stale.
 *
 * Typical sequence:
 *   page_init: zone 0 = [descriptors | wilderness]; wild[11] = n, ...
 *   page_alloc(0) -> page_take: every list is empty, so page_grow moves
 *     the frontier of zone 0 up by a chunk: its descriptors say
 *     PAGE_FREE, its blocks go on the lists (wild[] down by as many).
 *     Take the first block of the smallest non-empty list of order >= 0,
 *     say order 2; split it: keep the lower half, put the upper half on
 *     the order-1 list, again: put the upper half on the order-0 list;
 *     mark the remaining page PAGE_ALLOCATED.
 *   page_free(p, 0) -> page_free_check, page_merge: check that p is the
 *     first page of an allocated block of order 0 (else panic); mark it
 *     PAGE_FREE; while its buddy is a free block of the same order, take
 *     the buddy off its list and merge; put the result on its list.
 *
 * Locking: node.lock guards the free lists, the counts, each zone's
 * frontier and every descriptor while a block changes hands.  The rest
 * of a zone is written only by page_init*, before any other call.
 * page_of and page_head read without the lock: their callers ask about
 * blocks they hold, which lie below a frontier they have seen (ready is
 * stored with release after the descriptors below it are written).
 *
 * Debug builds (-DDEBUG) fill free blocks with PAGE_POISON (each chunk
 * as page_grow describes it), and page_alloc checks that the block it
 * hands out still holds it: a write to freed memory panics there,
 * naming the address.
 */
#include <string.h>
#include <sys/queue.h>

#include "page.h"
#include "platform.h"
#include "spinlock.h"

#define PAGE_POISON	0x6b		/* the byte debug builds fill free blocks with */
#define ORDER_PAGES(k)	((uintptr_t)1 << (k))	/* pages in a block of order k */
#define PFN(p)		((uintptr_t)(p) >> PAGE_SHIFT)	/* page frame of an address */
#define PFN_ADDR(pfn)	((void *)((pfn) << PAGE_SHIFT))	/* address of a page frame */
#define CHUNK		ORDER_PAGES(PAGE_MAX_ORDER)	/* page_grow's step, in pages */

LIST_HEAD(page_list, page);

/* A NUMA node: its zones and its free lists.  One for now. */
struct page_node {
	struct spinlock lock;
	/* lock must be held when using these: */
	struct page_list free[PAGE_MAX_ORDER + 1];	/* free blocks, by order */
	size_t nfree[PAGE_MAX_ORDER + 1];	/* blocks on each list */
	size_t wild[PAGE_MAX_ORDER + 1];	/* blocks the wilderness holds */
	size_t free_pages;		/* pages in free blocks, listed or wild */
	/* written by page_init*, read-only after: */
	size_t total_pages;		/* pages in blocks, free or allocated */
};

static struct page_node node;

/* The zones (page.h), written by page_init* and, their frontiers, page_grow. */
struct page_zone page_zones[MAX_MEM_RANGES];
int page_nzones;

/* The zone holding page frame pfn (described or wild), or NULL. */
static struct page_zone *
page_zone(uintptr_t pfn)
{
	for (int i = 0; i < page_nzones; i++)
		if (pfn - page_zones[i].base < page_zones[i].npages)
			return &page_zones[i];
	return NULL;
}

/* The page frame a descriptor of zone z describes. */
static uintptr_t
page_pfn(struct page_zone *z, struct page *pg)
{
	return z->base + (uintptr_t)(pg - z->pages);
}

#ifdef DEBUG
/* Fill n bytes at p with the poison. */
static void
page_poison(void *p, size_t n)
{
	memset(p, PAGE_POISON, n);
}

/* Panic unless the block at p (order k) is all poison. */
static void
page_poison_check(void *p, int k)
{
	const uint64_t *w = p;
	uint64_t pat = PAGE_POISON * 0x0101010101010101ULL;

	for (size_t i = 0; i < ((size_t)PAGE_SIZE << k) / sizeof *w; i++)
		if (w[i] != pat)
			panic("page_alloc: %p: free block written to at %p",
			    p, (void *)&w[i]);
}
#else
/* Without DEBUG: no poison. */
static void page_poison(void *p, size_t n) { (void)p; (void)n; }
static void page_poison_check(void *p, int k) { (void)p; (void)k; }
#endif

/* Put the free block at pfn (order k, in zone z) on its list. */
static void
page_list_add(struct page_zone *z, uintptr_t pfn, int k)
{
	struct page *pg = &z->pages[pfn - z->base];

	pg->owner = PAGE_FREE;
	pg->order = k;
	pg->head = 0;
	LIST_INSERT_HEAD(&node.free[k], pg, link);
	node.nfree[k]++;
	node.free_pages += ORDER_PAGES(k);
}

/* Take the free block whose first descriptor is pg (order k) off its list. */
static void
page_list_del(struct page *pg, int k)
{
	LIST_REMOVE(pg, link);
	pg->priv = NULL;
	node.nfree[k]--;
	node.free_pages -= ORDER_PAGES(k);
}

/* Give each page of the block at pg (order k) this owner and its head. */
static void
page_mark(struct page *pg, int k, enum page_owner owner)
{
	for (uint32_t i = 0; i < ORDER_PAGES(k); i++) {
		pg[i].owner = owner;
		pg[i].head = i;
	}
}

/* The order of the largest aligned block at pfn that ends by end. */
static int
page_fit(uintptr_t pfn, uintptr_t end)
{
	int k = PAGE_MAX_ORDER;

	while (pfn % ORDER_PAGES(k) != 0 || pfn + ORDER_PAGES(k) > end)
		k--;
	return k;
}

/* Add n to the wilderness's count of each block [pfn, end) will be cut into. */
static void
page_wild_count(uintptr_t pfn, uintptr_t end, size_t n)
{
	while (pfn < end) {
		int k = page_fit(pfn, end);
		node.wild[k] += n;
		pfn += ORDER_PAGES(k);
	}
}

/* Cut pfns [pfn, end) of zone z into the largest aligned blocks; list them. */
static void
page_carve(struct page_zone *z, uintptr_t pfn, uintptr_t end)
{
	while (pfn < end) {
		int k = page_fit(pfn, end);
		page_poison(PFN_ADDR(pfn), PAGE_SIZE << k);
		page_list_add(z, pfn, k);
		pfn += ORDER_PAGES(k);
	}
}

/*
 * With the lock held: move zone z's frontier up by one chunk, to the next
 * multiple of CHUNK pages or the zone's end: describe its pages as free
 * and list its blocks, which leave the wilderness.  0, or -1 if z has
 * no wilderness left.
 */
static int
page_grow(struct page_zone *z)
{
	uintptr_t pfn = z->base + z->ready;
	uintptr_t end = (pfn + CHUNK) & ~(CHUNK - 1);

	if (z->ready == z->npages)
		return -1;
	if (end > z->base + z->npages)
		end = z->base + z->npages;
	for (uintptr_t p = pfn; p < end; p++)
		z->pages[p - z->base] = (struct page){ .owner = PAGE_FREE };
	page_wild_count(pfn, end, (size_t)-1);	/* minus one each */
	node.free_pages -= end - pfn;		/* page_carve adds them back */
	page_carve(z, pfn, end);
	/* Release: page_of, without the lock, sees the descriptors below ready. */
	__atomic_store_n(&z->ready, end - z->base, __ATOMIC_RELEASE);
	return 0;
}

/* Manage [base, base + len), shrunk to whole pages: descriptors first. */
static void
page_zone_add(uintptr_t base, size_t len)
{
	uintptr_t lo = (base + PAGE_SIZE - 1) >> PAGE_SHIFT;
	uintptr_t hi = (base + len) >> PAGE_SHIFT;
	size_t n, ndesc;
	struct page_zone *z;

	if (hi <= lo)
		return;
	n = hi - lo;
	ndesc = (n * sizeof(struct page) + PAGE_SIZE - 1) / PAGE_SIZE;
	if (ndesc >= n)
		return;			/* no room for a page besides */
	for (int i = 0; i < page_nzones; i++)
		if (lo < page_zones[i].base + page_zones[i].npages &&
		    page_zones[i].base < hi)
			panic("page_init: range %p+%#zx overlaps another",
			    (void *)base, len);
	z = &page_zones[page_nzones++];
	z->base = lo;
	z->npages = n;
	z->pages = PFN_ADDR(lo);
	for (size_t i = 0; i < ndesc; i++)
		z->pages[i] = (struct page){ .owner = PAGE_RESERVED };
	z->ready = ndesc;		/* the rest is wilderness */
	page_wild_count(lo + ndesc, hi, 1);
	node.free_pages += n - ndesc;
	node.total_pages += n - ndesc;
}

/* Forget everything; manage exactly the ranges r[0..n-1]. */
void
page_init_ranges(const struct mem_range *r, int n)
{
	if (n < 0 || n > MAX_MEM_RANGES)
		panic("page_init: %d ranges, at most %d", n, MAX_MEM_RANGES);
	memset(&node, 0, sizeof node);
	memset(page_zones, 0, sizeof page_zones);	/* page_of reads zone 0 unguarded */
	page_nzones = 0;
	spin_init(&node.lock, "page");
	for (int k = 0; k <= PAGE_MAX_ORDER; k++)
		LIST_INIT(&node.free[k]);
	for (int i = 0; i < n; i++)
		page_zone_add(r[i].base, r[i].len);
}

/* Manage what the platform hands out. */
void
page_init(void)
{
	struct mem_range r[MAX_MEM_RANGES];

	page_init_ranges(r, mem_ranges(r, MAX_MEM_RANGES));
}

/* With the lock held: the smallest order >= k with a listed block, or -1. */
static int
page_listed(int k)
{
	for (int j = k; j <= PAGE_MAX_ORDER; j++)
		if (!LIST_EMPTY(&node.free[j]))
			return j;
	return -1;
}

/*
 * With the lock held: the smallest order >= k with a listed block,
 * growing the zones' described parts, lowest zone first, until there is
 * one; or -1 if there is none even with all the wilderness described.
 */
static int
page_find(int k)
{
	int j;

	for (int i = 0; (j = page_listed(k)) < 0 && i < page_nzones; )
		if (page_grow(&page_zones[i]) < 0)
			i++;
	return j;
}

/* With the lock held: a free block of order k, split down from the
 * smallest larger one if need be, marked allocated; or NULL. */
static void *
page_take(int k)
{
	struct page_zone *z;
	struct page *pg;
	uintptr_t pfn;
	int j = page_find(k);

	if (j < 0)
		return NULL;
	pg = LIST_FIRST(&node.free[j]);
	page_list_del(pg, j);
	z = page_zone(PFN(page_addr(pg)));
	pfn = page_pfn(z, pg);
	while (j > k) {
		j--;
		page_list_add(z, pfn + ORDER_PAGES(j), j);	/* the upper half */
	}
	page_mark(pg, k, PAGE_ALLOCATED);
	pg->order = k;
	pg->priv = NULL;
	return PFN_ADDR(pfn);
}
/* A block of 2^order pages, or NULL. */
void *
page_alloc(int order)
{
	void *p;

	if (order < 0 || order > PAGE_MAX_ORDER)
		return NULL;
	spin_lock(&node.lock);
	p = page_take(order);
	spin_unlock(&node.lock);
	if (p != NULL)
		page_poison_check(p, order);
	return p;
}

/* Panic unless p is the first page of an allocated block of order k. */
static struct page *
page_free_check(void *p, int k)
{
	struct page *pg = page_of(p);

	if (k < 0 || k > PAGE_MAX_ORDER)
		panic("page_free: %p: bad order %d", p, k);
	if (pg == NULL)
		panic("page_free: %p: not managed", p);
	switch (pg->owner) {
	case PAGE_RESERVED:
		panic("page_free: %p: reserved page", p);
	case PAGE_FREE:
		panic("page_free: %p: double free", p);
	case PAGE_ALLOCATED:
	case PAGE_SLAB:
		break;
	default:
		panic("page_free: %p: bad descriptor (owner %d)", p, pg->owner);
	}
	if ((uintptr_t)p % PAGE_SIZE != 0 || pg->head != 0)
		panic("page_free: %p: not the start of a block", p);
	if (pg->order != k)
		panic("page_free: %p: wrong order %d (block has order %d)",
		    p, k, pg->order);
	return pg;
}

/* With the lock held: merge the free block at pfn (order k, in zone z)
 * with its free buddies, then list the result. */
static void
page_merge(struct page_zone *z, uintptr_t pfn, int k)
{
	for (; k < PAGE_MAX_ORDER; k++) {
		uintptr_t buddy = pfn ^ ORDER_PAGES(k);
		struct page *bp;

		if (buddy - z->base >= z->ready)
			break;			/* outside the zone, or wild */
		bp = &z->pages[buddy - z->base];
		if (bp->owner != PAGE_FREE || bp->order != k)
			break;			/* in use, or split */
		page_list_del(bp, k);
		pfn &= ~ORDER_PAGES(k);
	}
	page_list_add(z, pfn, k);
}

/* Give back the block p of this order, after checking it. */
void
page_free(void *p, int order)
{
	struct page *pg;

	spin_lock(&node.lock);
	pg = page_free_check(p, order);
	page_mark(pg, order, PAGE_FREE);
	page_poison(p, PAGE_SIZE << order);
	page_merge(page_zone(PFN(p)), PFN(p), order);
	spin_unlock(&node.lock);
}

/* The descriptor of the allocated block containing addr, or NULL. */
struct page *
page_head(const void *addr)
{
	struct page *pg = page_of(addr);

	if (pg == NULL || (pg->owner != PAGE_ALLOCATED && pg->owner != PAGE_SLAB))
		return NULL;
	return pg - pg->head;
}

/* The address of the page a descriptor describes, or NULL. */
void *
page_addr(const struct page *pg)
{
	uintptr_t a = (uintptr_t)pg;

	for (int i = 0; i < page_nzones; i++) {
		struct page_zone *z = &page_zones[i];
		uintptr_t idx = (a - (uintptr_t)z->pages) / sizeof *pg;

		if (a >= (uintptr_t)z->pages && idx < z->npages)
			return PFN_ADDR(z->base + idx);
	}
	return NULL;
}

/* Hand the allocated block to another owner (PAGE_ALLOCATED or PAGE_SLAB). */
void
page_set_owner(void *block, int order, enum page_owner owner, void *priv)
{
	struct page *pg;

	if (owner != PAGE_ALLOCATED && owner != PAGE_SLAB)
		panic("page_set_owner: %p: bad owner %d", block, owner);
	spin_lock(&node.lock);
	pg = page_head(block);
	if (pg == NULL || pg != page_of(block) ||
	    (uintptr_t)block % PAGE_SIZE != 0 || pg->order != order)
		panic("page_set_owner: %p: not an allocated block of order %d",
		    block, order);
	for (uintptr_t i = 0; i < ORDER_PAGES(order); i++)
		pg[i].owner = owner;
	pg->priv = priv;
	spin_unlock(&node.lock);
}

/* Read a count under the lock. */
static size_t
page_locked_count(const size_t *n)
{
	size_t v;

	spin_lock(&node.lock);
	v = *n;
	spin_unlock(&node.lock);
	return v;
}

/* Pages in free blocks. */
size_t
page_count_free(void)
{
	return page_locked_count(&node.free_pages);
}

/* Pages managed, free or allocated. */
size_t
page_count_total(void)
{
	return node.total_pages;	/* read-only after page_init */
}

/* Free blocks of this order, listed or still in the wilderness. */
size_t
page_count_free_blocks(int order)
{
	size_t n;

	if (order < 0 || order > PAGE_MAX_ORDER)
		return 0;
	spin_lock(&node.lock);
	n = node.nfree[order] + node.wild[order];
	spin_unlock(&node.lock);
	return n;
}
