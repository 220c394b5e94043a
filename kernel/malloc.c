/*
 * malloc.c: kmalloc and its family (see malloc.h), on the slab caches
 * and the page allocator.  Portable.
 *
 * Small blocks.  A request of up to KMALLOC_MAX_SLAB bytes is rounded up
 * to its size class and served by that class's slab cache (kmalloc-8,
 * kmalloc-16, ...).  The class is a table lookup (kmalloc_class, indexed
 * by the size in 8-byte steps), so kmalloc is a lookup and slab_alloc's
 * pop from this core's array, and kfree is page_of and slab_free_in's
 * push, both inlined from slab.h: no lock, no atomic instruction.  The
 * classes double from 8 to 64, then step by 1.5 and 1.33 (96 128 192
 * 256) where most requests fall, so that no more than a third is wasted
 * there, then double again.
 *
 * The largest class is 4096 bytes, one page.  Up to a page, every
 * request is served from the per-core arrays; above it, a request is a
 * page block of the smallest order that holds it, and the page lock is
 * taken for it.  A larger class would not save memory (a 5000-byte
 * request wastes as much in an 8 KiB object as in a 2-page block) and
 * blocks that large are rare and live long enough that the lock's cost
 * is small next to their use.  The 4096 class wastes 1/16: its slabs are
 * 16 pages holding 15 objects and the slab's header.
 *
 * Large blocks are marked PAGE_ALLOCATED with priv = &kmalloc_tag, so
 * that kfree knows its own blocks from other page_alloc blocks.  kfree
 * reads the block's descriptor: PAGE_SLAB goes to slab_free_in; a
 * tagged block whose first byte is p goes to page_free with the order in
 * the descriptor; anything else panics.
 *
 * Alignment.  Object i of a slab is at base + i * size and a slab's base
 * is aligned to its block's size (at least a page), so a class's objects
 * are aligned to the largest power of two dividing its size: 8 for 8, 32
 * for 96, 64 for 192, the size itself for the others.  kaligned_alloc
 * takes the smallest class that is big enough and aligned enough; page
 * blocks are aligned to their size, so large alignments ask for a block
 * of at least that size.
 *
 * Initialization is explicit: kmalloc_init() makes the caches, after
 * page_init() and slab_init(); kmalloc before it panics.  Locking: none
 * of its own.  kmalloc_init writes the tables once, before any core
 * allocates; they are read-only after.
 *
 * Typical sequence, on some core:
 *   kmalloc(100): kmalloc_class[13] is class 5 (128 bytes);
 *     slab_alloc(kmalloc-128) pops an object from this core's array.
 *   kmalloc(10000): page_alloc(2), a 16 KiB block, tagged as kmalloc's.
 *   kfree(the 100): page_of -> PAGE_SLAB -> slab_free_in pushes it
 *     on this core's array of kmalloc-128.
 *   kfree(the 10000): page_head -> PAGE_ALLOCATED, kmalloc's tag, at the
 *     block's start -> page_free(p, 2).
 */
#include <errno.h>
#include <string.h>

#include "malloc.h"
#include "page.h"
#include "platform.h"
#include "slab.h"

/* The size classes, smallest first; the last is KMALLOC_MAX_SLAB. */
static const struct {
	size_t size;
	const char *name;		/* its cache's name */
} kmalloc_classes[] = {
	{ 8, "kmalloc-8" }, { 16, "kmalloc-16" }, { 32, "kmalloc-32" },
	{ 64, "kmalloc-64" }, { 96, "kmalloc-96" }, { 128, "kmalloc-128" },
	{ 192, "kmalloc-192" }, { 256, "kmalloc-256" }, { 512, "kmalloc-512" },
	{ 1024, "kmalloc-1024" }, { 2048, "kmalloc-2048" },
	{ 4096, "kmalloc-4096" },
};
#define KMALLOC_NCLASS	\
	(int)(sizeof kmalloc_classes / sizeof kmalloc_classes[0])

/* Written by kmalloc_init, read-only after: */
static struct slab_cache *kmalloc_caches[KMALLOC_NCLASS];
static uint8_t kmalloc_class[KMALLOC_MAX_SLAB / 8 + 1]; /* (size+7)/8: class */

static const char kmalloc_tag;	/* priv of kmalloc's page blocks: its address */

_Static_assert(KMALLOC_MAX_SLAB <= SLAB_MAX_SIZE, "a class too big for a slab");

/* The class of a request of at most KMALLOC_MAX_SLAB bytes. */
static inline int
class_of(size_t size)
{
	return kmalloc_class[(size + 7) >> 3];
}

/* The alignment of class i's objects: the lowest set bit of its size. */
static size_t
class_align(int i)
{
	return kmalloc_classes[i].size & -kmalloc_classes[i].size;
}

/* An object of class i. */
static inline void *
class_alloc(int i)
{
	struct slab_cache *c = kmalloc_caches[i];

	if (c == NULL)
		panic("kmalloc: called before kmalloc_init");
	return slab_alloc(c);
}

/* The smallest order whose block holds n bytes; PAGE_MAX_ORDER + 1 if none. */
static int
order_for(size_t n)
{
	int k = 0;

	while (k <= PAGE_MAX_ORDER && ((size_t)PAGE_SIZE << k) < n)
		k++;
	return k;
}

/* A page block of at least size bytes, aligned to align, or NULL. */
static void *
large_alloc(size_t size, size_t align)
{
	int k = order_for(size > align ? size : align);
	void *p;

	if (k > PAGE_MAX_ORDER || (p = page_alloc(k)) == NULL)
		return NULL;
	page_set_owner(p, k, PAGE_ALLOCATED, (void *)&kmalloc_tag);
	return p;
}

/*
 * Panic, naming fn, unless h (page_head(p), maybe NULL) is a page block
 * of kmalloc's and p its first byte.
 */
static void
large_check(const struct page *h, const void *p, const char *fn)
{
	if (h == NULL) {
		const struct page *pg = page_of(p);
		if (pg != NULL && pg->owner == PAGE_FREE)
			panic("%s: %p: double free (the block is free)", fn, p);
		panic("%s: %p: not allocated by kmalloc", fn, p);
	}
	if (h->priv != &kmalloc_tag ||
	    ((uintptr_t)p & (((uintptr_t)PAGE_SIZE << h->order) - 1)) != 0)
		panic("%s: %p: not allocated by kmalloc", fn, p);
}

void *
kmalloc(size_t size)
{
	if (size <= KMALLOC_MAX_SLAB)
		return class_alloc(class_of(size));
	return large_alloc(size, PAGE_SIZE);
}

/* kfree of what is not a slab object: NULL, a page block, or a bad free. */
static __attribute__((noinline)) void
large_free(void *p)
{
	struct page *h;

	if (p == NULL)
		return;
	h = page_head(p);
	large_check(h, p, "kfree");
	page_free(p, h->order);
}

void
kfree(void *p)
{
	struct page *pg = page_of(p);	/* NULL for NULL: page 0 is not ours */

	if (pg != NULL && pg->owner == PAGE_SLAB)
		slab_free_in(pg - pg->head, p);	/* the block's first page */
	else
		large_free(p);
}

void *
kcalloc(size_t n, size_t size)
{
	size_t total;
	void *p;

	if (__builtin_mul_overflow(n, size, &total))
		return NULL;
	if ((p = kmalloc(total)) != NULL)
		memset(p, 0, total);
	return p;
}

size_t
kmalloc_usable_size(const void *p)
{
	struct page *h;

	if (p == NULL)
		return 0;
	h = page_head(p);
	if (h != NULL && h->owner == PAGE_SLAB)
		return slab_obj_size(p);
	large_check(h, p, "kmalloc_usable_size");
	return (size_t)PAGE_SIZE << h->order;
}

/* The usable size kmalloc(size) would give; 0 if it would fail. */
static size_t
good_size(size_t size)
{
	int k;

	if (size <= KMALLOC_MAX_SLAB)
		return kmalloc_classes[class_of(size)].size;
	k = order_for(size);
	return k > PAGE_MAX_ORDER ? 0 : (size_t)PAGE_SIZE << k;
}

void *
krealloc(void *p, size_t size)
{
	size_t old;
	void *q;

	if (p == NULL)
		return kmalloc(size);
	if (size == 0) {
		kfree(p);
		return NULL;
	}
	old = kmalloc_usable_size(p);
	if (good_size(size) == old)
		return p;		/* the same class: nothing to move */
	if ((q = kmalloc(size)) == NULL)
		return NULL;
	memcpy(q, p, old < size ? old : size);
	kfree(p);
	return q;
}

void *
kaligned_alloc(size_t align, size_t size)
{
	if (align == 0 || (align & (align - 1)) != 0)
		return NULL;
	if (size <= KMALLOC_MAX_SLAB && align <= KMALLOC_MAX_SLAB)
		for (int i = class_of(size); i < KMALLOC_NCLASS; i++)
			if (class_align(i) >= align)
				return class_alloc(i);
	return large_alloc(size, align);
}

int
kposix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	if ((p = kaligned_alloc(align, size)) == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

/* Make the classes' caches and the size-to-class table. */
void
kmalloc_init(void)
{
	int c = 0;

	if (kmalloc_caches[0] != NULL)
		panic("kmalloc_init: called twice");
	for (size_t i = 0; i < sizeof kmalloc_class; i++) {
		while (kmalloc_classes[c].size < i * 8)
			c++;
		kmalloc_class[i] = (uint8_t)c;
	}
	for (int i = 0; i < KMALLOC_NCLASS; i++) {
		kmalloc_caches[i] = slab_cache_create(kmalloc_classes[i].name,
		    kmalloc_classes[i].size, class_align(i));
		if (kmalloc_caches[i] == NULL)
			panic("kmalloc_init: no memory for %s",
			    kmalloc_classes[i].name);
	}
}
