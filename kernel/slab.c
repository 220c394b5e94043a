/*
 * slab.c: caches of fixed-size objects (see slab.h).  Portable.
 *
 * Three layers, fastest first:
 *
 *   per-core array  each core's stack of free objects of the cache
 *                   (struct slab_core).  slab_alloc pops and slab_free
 *                   pushes, inline (slab.h), with no lock and no atomic
 *                   instruction: only its own core ever touches it.
 *   depot           the cache's shared part (one per node; one node for
 *                   now), under a spin lock: a stack of freed objects
 *                   (d.stack, up to dmax: SLAB_DEPOT_MAX objects or
 *                   about SLAB_DEPOT_BYTES), the slabs and the objects
 *                   free in them.  An empty array is refilled with a
 *                   batch of objects, from the stack first; a full one
 *                   gives its older half back in one batch, onto the
 *                   stack while it has room (pointers copied: a burst of
 *                   frees that overflows the array, such as a window of
 *                   packets acked at once, costs no bitmap work), else
 *                   into the slabs.
 *   page allocator  a slab comes from page_alloc when the depot has no
 *                   free object left, and an empty slab goes back when
 *                   the depot holds more than SLAB_EMPTY_MAX of them
 *                   (the high-water mark).
 *
 * Slabs.  A slab is a page block cut into objects from its first byte,
 * object i at base + i * size, with its header (struct slab) in its last
 * bytes.  Its order is the smallest that wastes at most 1/SLAB_WASTE of
 * the block.  Blocks are aligned to their size, so a slab's base is
 * obj & ~mask, and objects of a power-of-two size are aligned to it.
 * The block's descriptor is PAGE_SLAB with priv pointing at the cache:
 * slab_free finds cache, slab and index from the address alone
 * (page_of, back to the block's first page, then arithmetic).  A slab's bitmap says which objects are
 * free in the depot; an object in an array or in use has its bit clear.
 *
 * Homes.  An object's home is its node's depot.  A free on any core
 * pushes the object onto that core's array: the object is hot in that
 * core's cache, and the core will likely allocate again soon.  So an
 * object freed on a foreign core goes home in a batch, when that core's
 * array fills up.  (With several nodes, an array would take only its own
 * node's objects and keep a batch per home node for the others.)
 *
 * Double frees.  A free object (in an array or a slab) holds
 * SLAB_FREE_MARK in its first word and slab_alloc clears it (glibc's
 * tcache does the same with its key word): a free that finds the mark
 * panics.  Data that happens to equal the mark is the only false alarm.
 * A bad free that slips by (of an object never handed out) is caught
 * when its batch reaches the depot and finds the object's bit set.
 * Debug builds (-DDEBUG) also fill free objects with SLAB_POISON and
 * check it when they are handed out again (a write after free panics),
 * and fill what they hand out with SLAB_JUNK.
 *
 * Invariants, for a cache c, with its depot lock held and its cores quiet:
 *   objects in use + in arrays + on the stack + free in slabs ==
 *   d.nslabs * nobj, and d.nfree counts those on the stack and in slabs;
 *   a slab whose objects are all free is on d.empty, one with some free
 *   on d.partial, one with none on no list;
 *   after a drain, at most SLAB_EMPTY_MAX slabs are on d.empty;
 *   slab_cache_drain and slab_cache_destroy empty the stack into the
 *   slabs (objects on it keep their slabs from the page allocator).
 *
 * Locking.  A core's array is owned by its core; only slab_stats (which
 * reads its count for a snapshot) and slab_cache_destroy (whose caller
 * promises that no core uses the cache) look at another core's.  A
 * cache's depot lock guards its d fields and the headers of its slabs.
 * Lock order: slab_list_lock (the list of caches) before a depot lock
 * and before the page allocator's lock.  A depot lock is never held with
 * another depot's, nor across a call into the page allocator.
 * Interrupts need no care: native code runs handlers only at the event
 * loop's idle point, never inside an allocator call.
 *
 * Typical sequence, on core 1 then core 2:
 *   slab_alloc(c): core 1's array is empty (slab_alloc_slow): lock the
 *     depot, find no free object, unlock; page_alloc a slab; lock, add
 *     it, move a batch of its objects to the array, unlock; pop one.
 *   slab_alloc(c): pop one from the array.
 *   slab_free(x) on core 2: page_of(x), back to the block's first page
 *     -> c; check x starts an object and is not marked free; mark it;
 *     push it on core 2's array.  When
 *     that array is full (slab_free_slow), its older half goes to the
 *     depot: onto its stack while there is room; past that each object's
 *     bit is set, its slab moves to the partial or empty list, and empty
 *     slabs beyond SLAB_EMPTY_MAX go to page_free.
 */
#include <string.h>
#include <sys/queue.h>

#include "page.h"
#include "platform.h"
#include "print.h"
#include "slab.h"
#include "spinlock.h"

#define SLAB_MAP_WORDS	8	/* bitmap words: at most 512 objects a slab */

/* A slab's header, in its last bytes. */
struct slab {
	/* the cache's depot lock must be held when using these: */
	LIST_ENTRY(slab) link;		/* on d.partial or d.empty */
	unsigned nfree;			/* bits set in map */
	uint64_t map[SLAB_MAP_WORDS];	/* bit i: object i free in the depot */
};

static int slab_ready;		/* slab_init has run (written once, at boot) */
static struct spinlock slab_list_lock = SPINLOCK_INIT("slab list");
static TAILQ_HEAD(, slab_cache) slab_caches =	/* guarded by slab_list_lock */
    TAILQ_HEAD_INITIALIZER(slab_caches);

_Static_assert(SLAB_MAX_SIZE * (SLAB_WASTE - 1) + sizeof(struct slab) <=
    PAGE_SIZE << SLAB_MAX_ORDER, "SLAB_MAX_ORDER too small for SLAB_MAX_SIZE");

/* The first byte of obj's slab. */
static char *
slab_base(struct slab_cache *c, const void *obj)
{
	return (char *)((uintptr_t)obj & ~c->mask);
}

/* The header of the slab at base, and back. */
static struct slab *
slab_hdr(struct slab_cache *c, char *base)
{
	return (struct slab *)(base + c->mask + 1 - sizeof(struct slab));
}

static char *
slab_start(struct slab_cache *c, struct slab *s)
{
	return (char *)(s + 1) - (c->mask + 1);
}

void
slab_bad_free(struct slab_cache *c, const void *obj, const char *why)
{
	panic("slab_free: %p: %s (cache %s)", obj, why, c->name);
}

/* Debug builds: panic unless free obj still holds its mark and poison. */
void
slab_check_poison(struct slab_cache *c, void *obj)
{
	const unsigned char *b = obj;
	uint64_t w;

	memcpy(&w, obj, sizeof w);
	if (w != SLAB_FREE_MARK)
		panic("slab_alloc: %p: written after free (cache %s, byte 0)",
		    obj, c->name);
	for (size_t i = sizeof w; i < c->size; i++)
		if (b[i] != SLAB_POISON)
			panic("slab_alloc: %p: written after free "
			    "(cache %s, byte %zu)", obj, c->name, i);
}

/* The depot list for a slab with n free objects (NULL: none, it is full). */
static struct slab_list *
depot_list(struct slab_cache *c, unsigned n)
{
	if (n == 0)
		return NULL;
	return n == c->nobj ? &c->d.empty : &c->d.partial;
}

/* Depot lock held: s had old free objects; move it to its new list. */
static void
depot_relist(struct slab_cache *c, struct slab *s, unsigned old)
{
	struct slab_list *from = depot_list(c, old);
	struct slab_list *to = depot_list(c, s->nfree);

	if (from == to)
		return;
	if (from != NULL)
		LIST_REMOVE(s, link);
	if (to != NULL)
		LIST_INSERT_HEAD(to, s, link);
	c->d.nempty += (to == &c->d.empty) - (from == &c->d.empty);
}

/* Depot lock held: move up to max of s's free objects to out; how many. */
static unsigned
slab_take(struct slab_cache *c, struct slab *s, void **out, unsigned max)
{
	char *base = slab_start(c, s);
	unsigned n = 0, old = s->nfree;

	for (int w = 0; w < SLAB_MAP_WORDS && n < max; w++) {
		while (s->map[w] != 0 && n < max) {
			unsigned i = w * 64 + __builtin_ctzll(s->map[w]);
			s->map[w] &= s->map[w] - 1;	/* clear that bit */
			out[n++] = base + (size_t)i * c->size;
		}
	}
	s->nfree -= n;
	c->d.nfree -= n;
	depot_relist(c, s, old);
	return n;
}

/* Depot lock held: fill pc up to a batch, the stack first, then partial slabs. */
static void
depot_get(struct slab_cache *c, struct slab_core *pc)
{
	struct slab *s;
	unsigned k = c->batch - pc->n;

	if (k > c->d.nstack)
		k = (unsigned)c->d.nstack;
	c->d.nstack -= k;
	c->d.nfree -= k;
	memcpy(pc->obj + pc->n, c->d.stack + c->d.nstack, k * sizeof pc->obj[0]);
	pc->n += k;
	while (pc->n < c->batch) {
		if ((s = LIST_FIRST(&c->d.partial)) == NULL &&
		    (s = LIST_FIRST(&c->d.empty)) == NULL)
			break;
		pc->n += slab_take(c, s, pc->obj + pc->n, c->batch - pc->n);
	}
	c->d.refills++;
}

/* Depot lock held: obj (checked by slab_free_in) goes back into its slab. */
static void
depot_put(struct slab_cache *c, void *obj)
{
	char *base = slab_base(c, obj);
	struct slab *s = slab_hdr(c, base);
	unsigned i = (unsigned)(((char *)obj - base) / c->size), old = s->nfree;
	uint64_t bit = 1ULL << (i % 64);

	if (s->map[i / 64] & bit)
		slab_bad_free(c, obj, "double free");
	s->map[i / 64] |= bit;
	s->nfree++;
	c->d.nfree++;
	if (old == 0 || s->nfree == c->nobj)	/* else partial it was and is */
		depot_relist(c, s, old);
}

/* Depot lock held: a new slab s joins the depot, all free. */
static void
depot_add(struct slab_cache *c, struct slab *s)
{
	LIST_INSERT_HEAD(&c->d.empty, s, link);
	c->d.nempty++;
	c->d.nslabs++;
	c->d.nfree += c->nobj;
	c->d.grows++;
}

/* Depot lock held: move the empty slabs beyond keep to out. */
static void
depot_trim(struct slab_cache *c, size_t keep, struct slab_list *out)
{
	while (c->d.nempty > keep) {
		struct slab *s = LIST_FIRST(&c->d.empty);
		LIST_REMOVE(s, link);
		LIST_INSERT_HEAD(out, s, link);
		c->d.nempty--;
		c->d.nslabs--;
		c->d.nfree -= c->nobj;
		c->d.shrinks++;
	}
}

/* A new slab for c with every object free, or NULL.  No lock held. */
static struct slab *
slab_new(struct slab_cache *c)
{
	char *base = page_alloc(c->order);
	struct slab *s;

	if (base == NULL)
		return NULL;
	s = slab_hdr(c, base);
	s->nfree = c->nobj;
	memset(s->map, 0, sizeof s->map);
	for (unsigned i = 0; i < c->nobj; i++) {
		s->map[i / 64] |= 1ULL << (i % 64);
#ifdef DEBUG
		slab_mark_free(c, base + (size_t)i * c->size);
#endif
	}
	page_set_owner(base, c->order, PAGE_SLAB, c);
	return s;
}

/* Give back the empty slabs on list, which no depot knows any more. */
static void
slabs_release(struct slab_cache *c, struct slab_list *list)
{
	struct slab *s;

	while ((s = LIST_FIRST(list)) != NULL) {
		LIST_REMOVE(s, link);
		page_free(slab_start(c, s), c->order);
	}
}

/* Core pc's array is empty: refill it, growing the cache if need be. */
void *
slab_alloc_slow(struct slab_cache *c, struct slab_core *pc)
{
	struct slab *s;
	void *obj;

	spin_lock(&c->d.lock);
	depot_get(c, pc);
	spin_unlock(&c->d.lock);
	if (pc->n == 0) {
		if ((s = slab_new(c)) == NULL)
			return NULL;		/* out of memory */
		spin_lock(&c->d.lock);
		depot_add(c, s);
		depot_get(c, pc);
		spin_unlock(&c->d.lock);
	}
	obj = pc->obj[--pc->n];
	slab_mark_used(c, obj);
	return obj;
}

/*
 * Move the n oldest objects of array pc to the depot: onto its stack as
 * far as it has room (stack set), the rest (and, with stack clear, the
 * whole stack too) into their slabs; then give the empty slabs beyond
 * keep back to the page allocator.
 */
static void
core_drain(struct slab_cache *c, struct slab_core *pc, unsigned n, size_t keep,
    int stack)
{
	struct slab_list out = LIST_HEAD_INITIALIZER(out);
	unsigned k = 0;

	spin_lock(&c->d.lock);
	if (stack) {
		k = c->dmax - (unsigned)c->d.nstack;
		if (k > n)
			k = n;
		memcpy(c->d.stack + c->d.nstack, pc->obj, k * sizeof pc->obj[0]);
		c->d.nstack += k;
		c->d.nfree += k;
	} else {
		while (c->d.nstack > 0) {
			c->d.nfree--;		/* depot_put counts it again */
			depot_put(c, c->d.stack[--c->d.nstack]);
		}
	}
	for (unsigned i = k; i < n; i++)
		depot_put(c, pc->obj[i]);
	if (n > 0)
		c->d.drains++;
	depot_trim(c, keep, &out);
	spin_unlock(&c->d.lock);
	pc->n -= n;
	memmove(pc->obj, pc->obj + n, pc->n * sizeof pc->obj[0]);
	slabs_release(c, &out);
}

/* Core pc's array is full: send a batch home, then push obj (checked). */
void
slab_free_slow(struct slab_cache *c, struct slab_core *pc, void *obj)
{
	core_drain(c, pc, c->batch, SLAB_EMPTY_MAX, 1);
	slab_mark_free(c, obj);
	pc->obj[pc->n++] = obj;
}

/*
 * Every page of a slab is PAGE_SLAB and knows how far back its block's
 * first page is (as kfree uses them): the inline page_of and a
 * subtraction, not page_head's call and its second look at the owner.
 */
void
slab_free(void *obj)
{
	struct page *pg = page_of(obj);

	if (pg == NULL || pg->owner != PAGE_SLAB)
		panic("slab_free: %p: not a slab object", obj);
	slab_free_in(pg - pg->head, obj);
}

size_t
slab_obj_size(const void *obj)
{
	struct page *h = page_head(obj);
	struct slab_cache *c;

	if (h == NULL || h->owner != PAGE_SLAB)
		panic("slab_obj_size: %p: not a slab object", obj);
	c = h->priv;
	if (((uintptr_t)obj & c->mask) >= c->end ||
	    ((uintptr_t)obj & c->mask) % c->size != 0)
		panic("slab_obj_size: %p: not a slab object (cache %s)",
		    obj, c->name);
	return c->size;
}

/* This core's array of c to the depot; every empty slab back. */
void
slab_cache_drain(struct slab_cache *c)
{
	struct slab_core *pc = &c->core[core_id()];

	core_drain(c, pc, pc->n, 0, 0);
}

void
slab_reap(void)
{
	struct slab_cache *c;

	spin_lock(&slab_list_lock);
	TAILQ_FOREACH(c, &slab_caches, link)
		slab_cache_drain(c);
	spin_unlock(&slab_list_lock);
}

/* The smallest order whose block holds n bytes. */
static int
order_for(size_t n)
{
	int k = 0;

	while (((size_t)PAGE_SIZE << k) < n)
		k++;
	return k;
}

/* Choose c's slab order and what follows from it. */
static void
cache_layout(struct slab_cache *c)
{
	size_t bytes;

	for (c->order = 0; c->order < SLAB_MAX_ORDER; c->order++) {
		bytes = (size_t)PAGE_SIZE << c->order;
		if (bytes - (bytes - sizeof(struct slab)) / c->size * c->size <=
		    bytes / SLAB_WASTE)
			break;
	}
	bytes = (size_t)PAGE_SIZE << c->order;
	c->mask = bytes - 1;
	c->nobj = (bytes - sizeof(struct slab)) / c->size;
	if (c->nobj > SLAB_MAP_WORDS * 64)
		c->nobj = SLAB_MAP_WORDS * 64;
	c->end = c->nobj * c->size;
	c->divm = UINT64_MAX / c->size + 1;
	c->limit = SLAB_CORE_BYTES / c->size;
	if (c->limit > SLAB_CORE_MAX)
		c->limit = SLAB_CORE_MAX;
	if (c->limit < 2)
		c->limit = 2;
	c->batch = (c->limit + 1) / 2;
	c->dmax = SLAB_DEPOT_BYTES / c->size;
	if (c->dmax > SLAB_DEPOT_MAX)
		c->dmax = SLAB_DEPOT_MAX;
}

/* Check the order of the boot; there is nothing else to set up. */
void
slab_init(void)
{
	if (slab_ready)
		panic("slab_init: called twice");
	if (page_count_total() == 0)
		panic("slab_init: before page_init (or no memory)");
	slab_ready = 1;
}

struct slab_cache *
slab_cache_create(const char *name, size_t size, size_t align)
{
	int corder = order_for(sizeof(struct slab_cache));
	struct slab_cache *c;

	if (!slab_ready)
		panic("slab_cache_create: %s: before slab_init", name);
	if (align == 0)
		align = 8;
	if ((align & (align - 1)) != 0 || align > PAGE_SIZE)
		panic("slab_cache_create: %s: bad align %zu", name, align);
	if (size > SLAB_MAX_SIZE)
		panic("slab_cache_create: %s: size %zu above %d", name, size,
		    SLAB_MAX_SIZE);
	if ((c = page_alloc(corder)) == NULL)
		return NULL;
	memset(c, 0, sizeof *c);
	c->name = name;
	c->corder = corder;
	c->align = align < 8 ? 8 : align;
	c->size = ((size < 8 ? 8 : size) + c->align - 1) & ~(c->align - 1);
	cache_layout(c);
	spin_init(&c->d.lock, name);
	LIST_INIT(&c->d.partial);
	LIST_INIT(&c->d.empty);
	spin_lock(&slab_list_lock);
	TAILQ_INSERT_TAIL(&slab_caches, c, link);
	spin_unlock(&slab_list_lock);
	return c;
}

/* Take back every core's array, check nothing is in use, free it all. */
void
slab_cache_destroy(struct slab_cache *c)
{
	size_t in_use;

	for (int i = 0; i < NCPU; i++)
		core_drain(c, &c->core[i], c->core[i].n, 0, 0);
	spin_lock(&c->d.lock);
	in_use = c->d.nslabs * c->nobj - c->d.nfree;
	spin_unlock(&c->d.lock);
	if (in_use != 0)
		panic("slab_cache_destroy: %s: %zu object(s) still in use",
		    c->name, in_use);
	spin_lock(&slab_list_lock);
	TAILQ_REMOVE(&slab_caches, c, link);
	spin_unlock(&slab_list_lock);
	page_free(c, c->corder);
}

void
slab_stats(struct slab_cache *c, struct slab_stats *st)
{
	size_t cached = 0, total;

	for (int i = 0; i < NCPU; i++)
		/* Relaxed: a snapshot of a count its core keeps without locks;
		 * it orders nothing. */
		cached += __atomic_load_n(&c->core[i].n, __ATOMIC_RELAXED);
	memset(st, 0, sizeof *st);
	st->name = c->name;
	st->size = c->size;
	st->align = c->align;
	st->order = c->order;
	st->objs_per_slab = c->nobj;
	spin_lock(&c->d.lock);
	st->slabs = c->d.nslabs;
	st->free = c->d.nfree + cached;
	st->stacked = c->d.nstack;
	st->refills = c->d.refills;
	st->drains = c->d.drains;
	st->grows = c->d.grows;
	st->shrinks = c->d.shrinks;
	spin_unlock(&c->d.lock);
	st->cached = cached;
	st->pages = st->slabs << c->order;
	total = st->slabs * c->nobj;
	st->in_use = total > st->free ? total - st->free : 0;
}

int
slab_stats_all(struct slab_stats *st, int max)
{
	struct slab_cache *c;
	int n = 0;

	spin_lock(&slab_list_lock);
	TAILQ_FOREACH(c, &slab_caches, link)
		if (n < max)
			slab_stats(c, &st[n++]);
	spin_unlock(&slab_list_lock);
	return n;
}

void
slab_print(void)
{
	struct slab_cache *c;
	struct slab_stats st;

	kprintf("%-16s %6s %5s %5s %9s %9s %7s %7s\n", "cache", "size", "order",
	    "objs", "in use", "free", "slabs", "pages");
	spin_lock(&slab_list_lock);
	TAILQ_FOREACH(c, &slab_caches, link) {
		slab_stats(c, &st);
		kprintf("%-16s %6zu %5d %5zu %9zu %9zu %7zu %7zu\n", st.name,
		    st.size, st.order, st.objs_per_slab, st.in_use, st.free,
		    st.slabs, st.pages);
	}
	spin_unlock(&slab_list_lock);
}
