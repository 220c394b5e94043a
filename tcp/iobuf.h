/*
 * iobuf.h: reference-counted packet buffers.  Portable.
 *
 * An iobuf describes a window [data, data + len) into a block of memory
 * that has room before it (headroom, for headers to be prepended without
 * copying) and after it (tailroom).  The memory is reference-counted and
 * may be shared by several iobufs (iobuf_clone: a view of the same bytes,
 * as a retransmission queue needs).  iobufs chain through next into
 * packets: a received frame is one chain, handed up the stack without a
 * copy; a header may span two buffers of a chain (iobuf_copy_out copies
 * it out).  Every iobuf and every block is counted, so tests can check that
 * the live counts return to zero.
 *
 *	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, 1500);	// or NULL
 *	memcpy(iobuf_put(b, n), payload, n);	// append n bytes
 *	struct udp_hdr *u = iobuf_push(b, sizeof *u);	// prepend a header
 *	netif_send(nif, b, ...);		// ownership passes with the chain
 *
 * Ownership: whoever holds a pointer to an iobuf owns one reference to
 * it and must either pass it on (ownership goes with it, as documented at
 * each call) or free it with iobuf_free_chain.  Buffers are per-event
 * objects: they may move between cores, but one iobuf is used by one
 * core at a time; only the block's reference count is atomic.
 */
#ifndef TCP_IOBUF_H
#define TCP_IOBUF_H

#include <stddef.h>
#include <stdint.h>

#define IOBUF_HEADROOM	128	/* room for Ethernet + IP + TCP/UDP headers and more */

/*
 * The shared memory: a reference count and the bytes.  Its fields are
 * iobuf.c's; they are in this header only so that the window's small
 * operations below can be inline (every layer calls them on every
 * packet), as kernel/slab.h does for its fast paths.
 */
struct iobuf_block {
	int refs;		/* iobufs viewing this block (atomic) */
	int kind;		/* where it came from (iobuf.c) */
	size_t size;		/* bytes in bytes[] */
	uint8_t bytes[];	/* headroom, window and tailroom */
};

struct iobuf {
	struct iobuf *next;		/* the next buffer of this chain, or NULL */
	struct iobuf_block *block;	/* the memory, shared by clones */
	uint8_t *data;			/* the first byte of the window */
	size_t len;			/* bytes in the window */
};

/*
 * A new buffer with headroom bytes of room before its (empty) window and
 * size bytes after (at least: a small buffer gets the rest of its 2 KiB
 * block as tailroom); NULL if memory ran out.  Any core.
 */
struct iobuf *iobuf_alloc(size_t headroom, size_t size);

/*
 * A new buffer for long-lived bytes, such as a key-value store's item
 * that GET replies reference: exactly size bytes of room (from kmalloc's
 * size classes, not a 2 KiB frame block), no headroom, window empty;
 * NULL if memory ran out.  Any core.
 */
struct iobuf *iobuf_alloc_exact(size_t size);

/* A new buffer viewing the same bytes as b's window (b's block is shared). */
struct iobuf *iobuf_clone(const struct iobuf *b);

/*
 * A clone of b made in c, memory of the caller's (a field of a longer-
 * lived struct: a send queue's segment), so that the view costs no
 * allocation; returns c, with c->next NULL.  It counts as a live iobuf
 * and may head a chain, but must be given up with iobuf_unview, never
 * iobuf_free (whose free of the struct panics: it is no slab object).
 */
struct iobuf *iobuf_clone_in(struct iobuf *c, const struct iobuf *b);

/* Give up iobuf_clone_in's view c (its block's reference; not c->next). */
void iobuf_unview(struct iobuf *c);

/*
 * Does b share its block with another iobuf (a clone)?  Then the bytes,
 * headroom included, are seen by both: write into them (iobuf_push a
 * header and fill it) only through a buffer that is not shared, or one
 * whose other viewers will never look at those bytes.  The acquire load
 * pairs with block_put's release: another viewer's last use of the
 * bytes comes before we see its reference gone and write them.
 */
static inline int
iobuf_shared(const struct iobuf *b)
{
	return __atomic_load_n(&b->block->refs, __ATOMIC_ACQUIRE) > 1;
}

/* Free one buffer (not the rest of its chain). */
void iobuf_free(struct iobuf *b);

/* Free a whole chain; NULL is ignored. */
void iobuf_free_chain(struct iobuf *b);

/* Room before the window. */
static inline size_t
iobuf_headroom(const struct iobuf *b)
{
	return (size_t)(b->data - b->block->bytes);
}

/* Room after the window. */
static inline size_t
iobuf_tailroom(const struct iobuf *b)
{
	return b->block->size - iobuf_headroom(b) - b->len;
}

/* Grow the window at the front by n bytes (a header); NULL if no room. */
static inline void *
iobuf_push(struct iobuf *b, size_t n)
{
	if (n > iobuf_headroom(b))
		return NULL;
	b->data -= n;
	b->len += n;
	return b->data;
}

/* Shrink the window at the front by n bytes (consume a header); NULL if short. */
static inline void *
iobuf_advance(struct iobuf *b, size_t n)
{
	if (n > b->len)
		return NULL;
	b->data += n;
	b->len -= n;
	return b->data;
}

/* Grow the window at the end by n bytes; the new bytes' address, or NULL. */
static inline void *
iobuf_put(struct iobuf *b, size_t n)
{
	uint8_t *end = b->data + b->len;

	if (n > iobuf_tailroom(b))
		return NULL;
	b->len += n;
	return end;
}

/* Shrink the window to its first len bytes (no-op if already shorter). */
static inline void
iobuf_trim(struct iobuf *b, size_t len)
{
	if (len < b->len)
		b->len = len;
}

/* Bytes in the whole chain. */
static inline size_t
iobuf_chain_len(const struct iobuf *b)
{
	size_t n = 0;

	for (; b != NULL; b = b->next)
		n += b->len;
	return n;
}

/* Append chain tail to chain head (head must not be NULL). */
void iobuf_chain_append(struct iobuf *head, struct iobuf *tail);

/*
 * Copy n bytes starting off bytes into the chain to out; returns out, or
 * NULL if the chain is shorter.  For a header that spans two buffers.
 */
void *iobuf_copy_out(const struct iobuf *b, size_t off, size_t n, void *out);

/*
 * A new single buffer holding a copy of the whole chain's bytes, with
 * headroom bytes of room before them (for a header to be pushed later);
 * NULL if memory ran out.  For a driver that cannot take a long chain.
 */
struct iobuf *iobuf_linearize(const struct iobuf *chain, size_t headroom);

/*
 * A block that is never freed: bytes in the image, with a block header
 * its maker wrote in front (refs 1, kind IOBUF_BLOCK_STATIC, size; e.g.
 * app/httpd/pack.sh's packed files).  iobuf_static makes a new buffer
 * viewing len bytes at off of it (zero copy; panics if k is not such a
 * block or the range is outside it), or NULL if memory ran out.  Such a
 * view is always iobuf_shared: no one writes into it.  Static blocks
 * are not in iobuf_blocks_live's count.
 */
#define IOBUF_BLOCK_STATIC 2
struct iobuf *iobuf_static(struct iobuf_block *k, size_t off, size_t len);

/* Live counts, for leak checks: iobufs, and blocks. */
long iobuf_live(void);
long iobuf_blocks_live(void);

#endif
