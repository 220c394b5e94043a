/*
 * iobuf.c: reference-counted packet buffers (iobuf.h).  Portable.
 *
 * Two kinds of object:
 *
 *   struct iobuf        a window onto a block, one link of a chain; owned
 *                       by one holder.
 *   struct iobuf_block  a reference count, a size and the bytes; shared
 *                       by every iobuf that views it (iobuf_clone).
 *
 * A block whose header and bytes fit in IOBUF_BLOCK_SMALL bytes (a 1500-
 * byte frame and IOBUF_HEADROOM do) comes from the "iobuf_2k" slab cache
 * with the iobuf that iobuf_alloc returns in front of it, its home
 * buffer, so that a new buffer is one allocation, not two:
 *
 *	iobuf_2k object: | home iobuf | refs kind size | headroom | window | tailroom |
 *	                                               ^ bytes                         ^ bytes + size
 *
 * The home buffer lives as long as the block: freeing it drops its
 * reference (and marks it dead, data NULL, so that a second free of it
 * panics while clones still hold the block), and the object goes back
 * to the cache with the last reference.  Clones, and the buffers of
 * other blocks (kmalloc'd: exact or large; static), come from the
 * "iobuf" cache.  `kind` says where a block came from, so the free goes
 * back to the right place.  The two caches are made on first use
 * (iobuf_caches), so no one has to call an init: the floors below know
 * nothing of iobufs.
 *
 * Reference counting: iobuf_alloc makes a block with refs = 1; each
 * iobuf_clone adds one; each iobuf_free drops one, and the last frees the
 * block.  The increment is relaxed (the cloner already holds a reference,
 * so the block cannot go away under it); the decrement is acq_rel, so that
 * every core's use of the bytes happens before the free on the core that
 * drops the last reference.
 *
 * Live counts: iobufs and blocks allocated and not freed, global relaxed
 * atomics.  They are statistics for leak checks, read when the cores are
 * quiet, so they order nothing.
 *
 * Invariants: block->bytes <= b->data, b->data + b->len <= block->bytes +
 * block->size; refs >= 1 while any iobuf views the block.
 */
#include <stdint.h>
#include <string.h>

#include "kernel/malloc.h"
#include "kernel/platform.h"
#include "kernel/slab.h"
#include "kernel/spinlock.h"
#include "iobuf.h"

#define IOBUF_BLOCK_SMALL 2048	/* the slab class of blocks: header + bytes */

/* struct iobuf_block's kind (iobuf.h); a static block's is set by its maker. */
enum { BLOCK_SLAB, BLOCK_KMALLOC, BLOCK_STATIC = IOBUF_BLOCK_STATIC };

static struct slab_cache *bufs;		/* struct iobuf */
static struct slab_cache *blocks;	/* blocks of IOBUF_BLOCK_SMALL bytes */
static struct spinlock init_lock = SPINLOCK_INIT("iobuf_init");
static long nbufs, nblocks;		/* live counts (atomic, relaxed) */

/*
 * Make the caches (the first call; a later one if memory ran out): 0, or
 * -1 if memory ran out (a later call tries again).
 */
static __attribute__((noinline)) int
iobuf_caches_make(void)
{
	struct slab_cache *b, *k;

	spin_lock(&init_lock);
	if (blocks == NULL) {
		b = bufs != NULL ? bufs :
		    slab_cache_create("iobuf", sizeof(struct iobuf), 0);
		bufs = b;
		k = b == NULL ? NULL :
		    slab_cache_create("iobuf_2k", IOBUF_BLOCK_SMALL, 64);
		/* Release: the caches' set-up is seen before the pointer. */
		__atomic_store_n(&blocks, k, __ATOMIC_RELEASE);
	}
	spin_unlock(&init_lock);
	return blocks != NULL ? 0 : -1;
}

/*
 * Make the caches on first use (inline: every allocation asks).  The
 * acquire load pairs with the release store in iobuf_caches_make:
 * whoever sees blocks set sees both caches made.  0, or -1 if memory
 * ran out.
 */
static inline int
iobuf_caches(void)
{
	if (__builtin_expect(__atomic_load_n(&blocks, __ATOMIC_ACQUIRE) != NULL, 1))
		return 0;
	return iobuf_caches_make();
}

/* The home buffer of slab block k (in front of it). */
static struct iobuf *
block_home(struct iobuf_block *k)
{
	return (struct iobuf *)k - 1;
}

/* A kmalloc'd block of exactly size bytes, refs = 1; NULL if memory ran out. */
static struct iobuf_block *
block_kmalloc(size_t size)
{
	struct iobuf_block *k;

	if (size > SIZE_MAX - sizeof *k || (k = kmalloc(sizeof *k + size)) == NULL)
		return NULL;
	k->kind = BLOCK_KMALLOC;
	k->size = size;
	k->refs = 1;
	__atomic_add_fetch(&nblocks, 1, __ATOMIC_RELAXED);
	return k;
}

/* Drop one reference to k; the last frees it (and its home buffer). */
static void
block_put(struct iobuf_block *k)
{
	int left;

	/*
	 * Release: this core's reads and writes of the bytes come before the
	 * drop.  Acquire: the core that drops the last reference sees every
	 * other core's, so the free cannot overtake them.
	 */
	left = __atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL);
	if (left > 0)
		return;
	if (left < 0)
		panic("iobuf: block %p freed twice", (void *)k);
	if (k->kind == BLOCK_STATIC)
		panic("iobuf: static block %p lost its own reference", (void *)k);
	__atomic_sub_fetch(&nblocks, 1, __ATOMIC_RELAXED);
	if (k->kind == BLOCK_SLAB)
		slab_free(block_home(k));
	else
		kfree(k);
}

/* A new iobuf struct viewing nothing yet; NULL if memory ran out. */
static struct iobuf *
buf_alloc(void)
{
	struct iobuf *b;

	if (iobuf_caches() < 0 || (b = slab_alloc(bufs)) == NULL)
		return NULL;
	__atomic_add_fetch(&nbufs, 1, __ATOMIC_RELAXED);
	b->next = NULL;
	return b;
}

static void
buf_free(struct iobuf *b)
{
	__atomic_sub_fetch(&nbufs, 1, __ATOMIC_RELAXED);
	slab_free(b);
}

/* A small block with its home buffer, viewing nothing yet; NULL if out of memory. */
static struct iobuf *
small_alloc(void)
{
	struct iobuf *b;
	struct iobuf_block *k;

	if (iobuf_caches() < 0 || (b = slab_alloc(blocks)) == NULL)
		return NULL;
	k = (struct iobuf_block *)(b + 1);
	k->kind = BLOCK_SLAB;
	k->size = IOBUF_BLOCK_SMALL - sizeof *b - sizeof *k;
	k->refs = 1;
	__atomic_add_fetch(&nblocks, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&nbufs, 1, __ATOMIC_RELAXED);
	b->next = NULL;
	b->block = k;
	return b;
}

/* iobuf_alloc, and iobuf_alloc_exact when exact is set. */
static struct iobuf *
alloc(size_t headroom, size_t size, int exact)
{
	struct iobuf *b;

	if (headroom > SIZE_MAX - size)
		return NULL;
	if (!exact && headroom + size <= IOBUF_BLOCK_SMALL - sizeof *b -
	    sizeof(struct iobuf_block)) {
		if ((b = small_alloc()) == NULL)
			return NULL;
	} else {
		if ((b = buf_alloc()) == NULL)
			return NULL;
		if ((b->block = block_kmalloc(headroom + size)) == NULL) {
			buf_free(b);
			return NULL;
		}
	}
	b->data = b->block->bytes + headroom;
	b->len = 0;
	return b;
}

struct iobuf *
iobuf_alloc(size_t headroom, size_t size)
{
	return alloc(headroom, size, 0);
}

struct iobuf *
iobuf_alloc_exact(size_t size)
{
	return alloc(0, size, 1);
}

struct iobuf *
iobuf_clone_in(struct iobuf *c, const struct iobuf *b)
{
	/* Relaxed: we hold a reference through b, so refs is >= 1 already. */
	__atomic_add_fetch(&b->block->refs, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&nbufs, 1, __ATOMIC_RELAXED);
	c->next = NULL;
	c->block = b->block;
	c->data = b->data;
	c->len = b->len;
	return c;
}

void
iobuf_unview(struct iobuf *c)
{
	if (c->block == NULL)
		panic("iobuf_unview: %p given up twice", (void *)c);
	__atomic_sub_fetch(&nbufs, 1, __ATOMIC_RELAXED);
	block_put(c->block);
	c->block = NULL;
}

struct iobuf *
iobuf_clone(const struct iobuf *b)
{
	struct iobuf *c;

	if (iobuf_caches() < 0 || (c = slab_alloc(bufs)) == NULL)
		return NULL;
	return iobuf_clone_in(c, b);		/* counts it */
}

/*
 * A home buffer (its block is a slab block and it sits in front) goes
 * with the block's last reference; until then it is marked dead.
 */
void
iobuf_free(struct iobuf *b)
{
	struct iobuf_block *k = b->block;

	if (k->kind == BLOCK_SLAB && b == block_home(k)) {
		if (b->data == NULL)
			panic("iobuf_free: %p freed twice", (void *)b);
		b->data = NULL;
		__atomic_sub_fetch(&nbufs, 1, __ATOMIC_RELAXED);
		block_put(k);
		return;
	}
	block_put(k);
	buf_free(b);
}

void
iobuf_free_chain(struct iobuf *b)
{
	struct iobuf *next;

	for (; b != NULL; b = next) {
		next = b->next;
		iobuf_free(b);
	}
}

void
iobuf_chain_append(struct iobuf *head, struct iobuf *tail)
{
	while (head->next != NULL)
		head = head->next;
	head->next = tail;
}

void *
iobuf_copy_out(const struct iobuf *b, size_t off, size_t n, void *out)
{
	uint8_t *o = out;
	size_t k;

	for (; b != NULL && off >= b->len; b = b->next)	/* the first buffer */
		off -= b->len;
	if (b == NULL && off > 0)
		return NULL;
	for (; b != NULL && n > 0; b = b->next, off = 0) {
		k = b->len - off < n ? b->len - off : n;
		memcpy(o, b->data + off, k);
		o += k;
		n -= k;
	}
	return n == 0 ? out : NULL;
}

struct iobuf *
iobuf_linearize(const struct iobuf *chain, size_t headroom)
{
	size_t len = iobuf_chain_len(chain);
	struct iobuf *b = iobuf_alloc(headroom, len);

	if (b != NULL)
		iobuf_copy_out(chain, 0, len, iobuf_put(b, len));
	return b;
}

long
iobuf_live(void)
{
	return __atomic_load_n(&nbufs, __ATOMIC_RELAXED);
}

long
iobuf_blocks_live(void)
{
	return __atomic_load_n(&nblocks, __ATOMIC_RELAXED);
}

/*
 * ---- views of static bytes --------------------------------------------------
 *
 * A block that is never freed, laid out by whoever made it (app/httpd's
 * pack.sh writes one per packed file into the image: refs 1, the
 * image's own reference, which nobody drops).  A view takes a reference
 * like a clone, so the block always counts as shared and nobody writes
 * into it; dropping the view's reference never reaches zero.
 */
struct iobuf *
iobuf_static(struct iobuf_block *k, size_t off, size_t len)
{
	struct iobuf *b;

	if (k->kind != BLOCK_STATIC || off > k->size || len > k->size - off)
		panic("iobuf_static: %p is not a static block of %zu + %zu bytes",
		    (void *)k, off, len);
	if ((b = buf_alloc()) == NULL)
		return NULL;
	/* Relaxed: the block's own reference keeps it; nothing to order. */
	__atomic_add_fetch(&k->refs, 1, __ATOMIC_RELAXED);
	b->block = k;
	b->data = k->bytes + off;
	b->len = len;
	return b;
}
