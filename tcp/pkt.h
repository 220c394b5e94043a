/*
 * pkt.h: the chain operations every layer of the stack needs, on top of
 * iobuf.h.  Portable, all inline.
 *
 *	pkt_peek	read a header where it lies (a pointer into the
 *			first buffer), copying it out only if it spans buffers
 *	pkt_push	prepend a header: into the first buffer's headroom if
 *			it has room and is not shared with a clone, else into
 *			a new buffer put in front of the chain
 *	pkt_skip	consume a header that may span buffers
 *	pkt_trim	cut the chain to a length (Ethernet padding, IP's
 *			total length, UDP's length), freeing what is past it
 *	pkt_drop	drop bytes from the front, freeing the buffers they
 *			emptied (what an application does with the part of
 *			a received chain it has passed on)
 *
 * A chain may hold empty buffers after pkt_skip; every layer copes (a
 * chain is only ever walked, summed or copied out).
 */
#ifndef TCP_PKT_H
#define TCP_PKT_H

#include <stddef.h>

#include "iobuf.h"

/*
 * The n bytes at off bytes into chain b, to read: a pointer into the
 * first buffer when they lie within it (the usual case for a header:
 * no copy), else copied to out (n bytes of the caller's); NULL if the
 * chain is shorter.  Valid while the chain and out are.  Headers are
 * packed structs (proto.h), so the pointer needs no alignment.
 */
static inline const void *
pkt_peek(const struct iobuf *b, size_t off, size_t n, void *out)
{
	if (b != NULL && off <= b->len && n <= b->len - off)
		return b->data + off;
	return iobuf_copy_out(b, off, n, out);
}

/*
 * Prepend n bytes (n <= IOBUF_HEADROOM) to *pkt (which may be NULL: an
 * empty packet) and return their address; *pkt becomes the new head.
 * NULL if memory ran out (*pkt unchanged).
 */
static inline void *
pkt_push(struct iobuf **pkt, size_t n)
{
	struct iobuf *h;

	if (*pkt != NULL && !iobuf_shared(*pkt) && iobuf_headroom(*pkt) >= n)
		return iobuf_push(*pkt, n);
	if ((h = iobuf_alloc(IOBUF_HEADROOM, 0)) == NULL)
		return NULL;
	h->next = *pkt;
	*pkt = h;
	return iobuf_push(h, n);
}

/* Consume n bytes from the front of chain b; -1 (b unchanged) if shorter. */
static inline int
pkt_skip(struct iobuf *b, size_t n)
{
	if (b != NULL && n <= b->len) {		/* the usual case: the first buffer holds it */
		iobuf_advance(b, n);
		return 0;
	}
	if (iobuf_chain_len(b) < n)
		return -1;
	for (; n > 0; b = b->next) {
		size_t k = b->len < n ? b->len : n;
		iobuf_advance(b, k);
		n -= k;
	}
	return 0;
}

/* Keep the first len bytes of chain b (not NULL); free the buffers past them. */
static inline void
pkt_trim(struct iobuf *b, size_t len)
{
	for (; b->len < len && b->next != NULL; b = b->next)
		len -= b->len;
	iobuf_trim(b, len);
	iobuf_free_chain(b->next);
	b->next = NULL;
}

/*
 * Drop the first n bytes of chain b, freeing every buffer they empty;
 * returns what is left of the chain (NULL if nothing is).
 */
static inline struct iobuf *
pkt_drop(struct iobuf *b, size_t n)
{
	while (b != NULL && n >= b->len) {
		struct iobuf *next = b->next;

		n -= b->len;
		iobuf_free(b);
		b = next;
	}
	if (b != NULL && n > 0)
		iobuf_advance(b, n);
	return b;
}

#endif
