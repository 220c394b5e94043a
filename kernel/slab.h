/*
 * slab.h: caches of fixed-size objects on top of the page allocator.
 * Portable.
 *
 * A cache hands out objects of one size.  Each core keeps a small array
 * of free objects per cache and allocates from it and frees into it with
 * no lock; behind the arrays sits the cache's depot (one per node; one
 * node for now), which owns the slabs (page blocks cut into objects) and
 * refills and drains the arrays in batches under a spin lock.
 * kernel/slab.c explains the design.
 *
 * Every call may be made on any core after slab_init().  An object may
 * be freed on any core, whichever core allocated it.
 *
 *	struct slab_cache *c =
 *	    slab_cache_create("conn", sizeof(struct conn), 64);
 *	struct conn *x = slab_alloc(c);		// NULL when memory runs out
 *	...
 *	slab_free(x);				// the cache is found from x
 *	slab_cache_destroy(c);			// every object freed first
 *
 * slab_alloc and slab_free_in are inline: their fast path is a pop from
 * or a push onto this core's array, so that kmalloc and kfree can be
 * that fast too.  That is the only reason the structures below are in
 * this header; outside slab.c, treat them as opaque.
 */
#ifndef SLAB_H
#define SLAB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/queue.h>

#include "page.h"
#include "platform.h"
#include "spinlock.h"

/* Tunables of the slab allocator (see kernel/slab.c for their use). */
#define SLAB_MAX_SIZE	4096	/* largest object a cache holds, in bytes */
#define SLAB_MAX_ORDER	4	/* largest slab: 16 pages */
#define SLAB_WASTE	16	/* a slab wastes at most 1/16 of its bytes
				 * (if SLAB_MAX_ORDER allows) */
#define SLAB_CORE_MAX	31	/* most objects in a core's array of a cache */
#define SLAB_CORE_BYTES	(64 * 1024)	/* ...and about this many bytes */
#define SLAB_DEPOT_MAX	256	/* most objects in a depot's stack of a cache */
#define SLAB_DEPOT_BYTES (512 * 1024)	/* ...and about this many bytes */
#define SLAB_EMPTY_MAX	2	/* empty slabs a depot keeps (high-water mark);
				 * more go back to the page allocator */

#define SLAB_FREE_MARK	0x5ab0f4ee5ab0f4eeULL	/* a free object's first word */
#define SLAB_POISON	0x6b	/* debug: the other bytes of a free object */
#define SLAB_JUNK	0xa5	/* debug: every byte of an object handed out */
#define SLAB_LINE	64	/* a cache line: per-core data's alignment */

/*
 * A cache's statistics (slab_stats).  The counts of objects in the
 * per-core arrays are read without stopping their cores, so while other
 * cores allocate the figures are a snapshot; when they are quiet (tests)
 * they are exact and in_use + free == slabs * objs_per_slab.
 */
struct slab_stats {
	const char *name;
	size_t size;		/* bytes per object, as rounded by the cache */
	size_t align;		/* every object's address is a multiple */
	int order;		/* each slab is a page block of this order */
	size_t objs_per_slab;
	size_t in_use;		/* objects allocated and not yet freed */
	size_t free;		/* free objects: in slabs and in arrays */
	size_t cached;		/* of those, in the per-core arrays */
	size_t stacked;		/* of those, in the depot's stack */
	size_t slabs;		/* slabs the cache holds */
	size_t pages;		/* pages the slabs hold (slabs << order) */
	uint64_t refills;	/* batches moved from the depot to an array */
	uint64_t drains;	/* batches moved from an array to the depot */
	uint64_t grows;		/* slabs taken from the page allocator */
	uint64_t shrinks;	/* slabs given back to it */
};

/* Set up the slab allocator: once, after page_init(), before any cache. */
void slab_init(void);

/*
 * A new cache of objects of size bytes (rounded up to a multiple of 8 and
 * of align), each aligned to align, a power of two (0 means 8).  name
 * must outlive the cache (a string literal).  Returns NULL if memory runs
 * out; a size above SLAB_MAX_SIZE or a bad align panics.
 */
struct slab_cache *slab_cache_create(const char *name, size_t size,
    size_t align);

/*
 * Give the cache and all its memory back.  Every object must have been
 * freed (panics otherwise) and no core may use the cache any more: the
 * objects in every core's array are taken back.
 */
void slab_cache_destroy(struct slab_cache *c);

/* An object of c's size, or NULL if memory runs out.  Contents undefined. */
static inline void *slab_alloc(struct slab_cache *c);

/*
 * Free an object of any cache, on any core.  A pointer that is not the
 * start of a slab object panics ("slab_free: <addr>: not a slab object"),
 * and so does a double free that can be detected (nearly all).
 */
void slab_free(void *obj);

/* slab_free for callers that hold obj's block: head is page_head(obj). */
static inline void slab_free_in(struct page *head, void *obj);

/* The size of obj's cache (obj as for slab_free; panics likewise). */
size_t slab_obj_size(const void *obj);

/*
 * Give back to the page allocator what a cache does not need: this
 * core's array of c goes back to the depot, and every empty slab to the
 * page allocator.  Other cores' arrays are theirs; they drain their own.
 */
void slab_cache_drain(struct slab_cache *c);

/* slab_cache_drain for every cache, on this core. */
void slab_reap(void);

/* Fill st with c's statistics. */
void slab_stats(struct slab_cache *c, struct slab_stats *st);

/* Statistics of every cache, at most max; returns how many it filled. */
int slab_stats_all(struct slab_stats *st, int max);

/* Print a table of every cache's statistics on the console. */
void slab_print(void);

/* ---- the insides, for the inline fast paths only ---------------------- */

LIST_HEAD(slab_list, slab);

/*
 * One core's array of free objects of a cache.  Per-core data: owned by
 * its core, used without a lock.  Aligned to a cache line, so that no two
 * cores' arrays share one.
 */
struct slab_core {
	unsigned n;			/* objects in obj[], newest on top */
	void *obj[SLAB_CORE_MAX];
} __attribute__((aligned(SLAB_LINE)));

struct slab_cache {
	/* read-only after slab_cache_create (the fast paths read these): */
	uint32_t size;			/* a multiple of 8 and of align */
	uint32_t end;			/* nobj * size: the objects' bytes */
	uint32_t limit;			/* most objects in a core's array */
	uintptr_t mask;			/* slab bytes - 1: obj & ~mask: slab */
	uint64_t divm;			/* 2^64 / size, rounded up */
	const char *name;
	uint32_t align;
	uint32_t nobj;			/* objects per slab */
	uint32_t batch;			/* objects moved to/from the depot */
	uint32_t dmax;			/* most objects in the depot's stack */
	int order;			/* a slab is a block of this order */
	int corder;			/* order of this struct's block */
	TAILQ_ENTRY(slab_cache) link;	/* on slab.c's list of caches */

	/* The depot: shared by all cores, on cache lines of its own. */
	struct {
		struct spinlock lock;
		/* lock must be held when using these: */
		struct slab_list partial;	/* some objects free */
		struct slab_list empty;		/* all objects free */
		size_t nslabs;		/* slabs held, on a list or not */
		size_t nempty;		/* slabs on the empty list */
		size_t nfree;		/* objects free in the slabs and the stack */
		size_t nstack;		/* objects in stack[], newest on top */
		void *stack[SLAB_DEPOT_MAX];	/* freed, not yet back in their slabs */
		uint64_t refills, drains, grows, shrinks;	/* slab_stats */
	} __attribute__((aligned(SLAB_LINE))) d;

	struct slab_core core[NCPU];	/* per-core: core[i] owned by core i */
};

/* The slow paths, in slab.c. */
void *slab_alloc_slow(struct slab_cache *c, struct slab_core *pc);
void slab_free_slow(struct slab_cache *c, struct slab_core *pc, void *obj);
void slab_bad_free(struct slab_cache *c, const void *obj, const char *why)
    __attribute__((noreturn, cold));
void slab_check_poison(struct slab_cache *c, void *obj);

/* Mark obj handed out: clear the mark; debug: check the poison, junk it. */
static inline void
slab_mark_used(struct slab_cache *c, void *obj)
{
#ifdef DEBUG
	slab_check_poison(c, obj);
	memset(obj, SLAB_JUNK, c->size);
#else
	uint64_t zero = 0;

	(void)c;
	memcpy(obj, &zero, sizeof zero);	/* whatever type is there */
#endif
}

/* Mark obj free: the mark in its first word; debug: poison the rest. */
static inline void
slab_mark_free(struct slab_cache *c, void *obj)
{
	uint64_t mark = SLAB_FREE_MARK;

#ifdef DEBUG
	memset((char *)obj + sizeof mark, SLAB_POISON, c->size - sizeof mark);
#else
	(void)c;
#endif
	memcpy(obj, &mark, sizeof mark);
}

/* The fast path: pop from this core's array. */
static inline void *
slab_alloc(struct slab_cache *c)
{
	struct slab_core *pc = &c->core[core_id()];
	unsigned n = pc->n;
	void *obj;

	if (__builtin_expect(n == 0, 0))
		return slab_alloc_slow(c, pc);
	obj = pc->obj[n - 1];
	pc->n = n - 1;
	slab_mark_used(c, obj);
	return obj;
}

/*
 * The fast path: check that obj starts an object of its slab and is not
 * marked free, then push it on this core's array.  The slab is obj &
 * ~mask (blocks are aligned to their size), and off is a multiple of the
 * size exactly when off * divm, modulo 2^64, is below divm (Lemire, "Faster
 * Remainder by Direct Computation", 2019): one multiply, no division.
 */
static inline void
slab_free_in(struct page *head, void *obj)
{
	int core = core_id();		/* first: fewer values live across it */
	struct slab_cache *c = head->priv;
	uint64_t off = (uintptr_t)obj & c->mask;
	struct slab_core *pc;
	unsigned n;
	uint64_t w;

	if (off >= c->end || off * c->divm >= c->divm)
		slab_bad_free(c, obj, "not a slab object");
	memcpy(&w, obj, sizeof w);
	if (w == SLAB_FREE_MARK)
		slab_bad_free(c, obj, "double free");
	pc = &c->core[core];
	n = pc->n;
	if (__builtin_expect(n == c->limit, 0)) {
		slab_free_slow(c, pc, obj);
		return;
	}
	pc->obj[n] = obj;
	pc->n = n + 1;
	slab_mark_free(c, obj);
}

#endif
