/*
 * inet.h: the Internet checksum (RFC 1071), over bytes and over iobuf
 * chains.  Portable.
 *
 * The checksum of IPv4, ICMP and UDP is the ones' complement of the
 * ones'-complement sum of the data taken as 16-bit big-endian words (an
 * odd last byte is padded with a zero).  The sum is built in steps:
 *
 *	uint32_t s = inet_pseudo(src, dst, IP_PROTO_UDP, len);
 *	s = inet_sum_chain(pkt, 0, len, s);	// header and data
 *	hdr->csum = hton16(inet_csum(s));	// fold and complement
 *
 * and a received packet is good when the same computation over it,
 * checksum field included, gives 0 (inet_csum(...) == 0).
 *
 * Sums are plain integers in host order ("partial sums"): add them,
 * pass them along, and fold only at the end.  A chain's buffers may
 * have odd lengths: inet_sum_chain keeps track of whether each buffer
 * starts on an odd byte of the message and swaps that buffer's sum's
 * bytes (RFC 1071 section 2(B): the sum is byte-order independent up to
 * a swap).  Where the bytes are being copied anyway, inet_copy_sum and
 * inet_copy_chain copy and sum them in one pass.
 */
#ifndef TCP_INET_H
#define TCP_INET_H

#include <stddef.h>
#include <stdint.h>

#include "iobuf.h"

/* Add the n bytes at p (as if starting on an even byte) to the partial sum. */
uint32_t inet_sum(const void *p, size_t n, uint32_t sum);

/* Add n bytes of chain b, from off bytes in, to the partial sum. */
uint32_t inet_sum_chain(const struct iobuf *b, size_t off, size_t n, uint32_t sum);

/*
 * Copy and sum in one pass: inet_sum of the n bytes at src, which are
 * copied to dst on the way (the two must not overlap).
 */
uint32_t inet_copy_sum(void *dst, const void *src, size_t n, uint32_t sum);

/*
 * The same from a chain: n bytes of b from off bytes in (the chain must
 * hold them all), copied to dst and added to the partial sum.
 */
uint32_t inet_copy_chain(void *dst, const struct iobuf *b, size_t off, size_t n,
    uint32_t sum);

/*
 * Add part, the partial sum of a piece of a message summed on its own
 * (as if it started on an even byte), to sum, the piece starting pos
 * bytes into the message: an odd pos swaps its bytes (RFC 1071 2(B)).
 */
uint32_t inet_add(uint32_t sum, uint32_t part, size_t pos);

/*
 * The checksum of an IPv4 header of hlen bytes (a multiple of 4, 20 to
 * 60), as inet_csum(inet_sum(h, hlen, 0)) gives it, the short way: to
 * store (with the field 0), or 0 if the header (field included) is good.
 */
uint16_t inet_hdr_csum(const void *h, size_t hlen);

/* The IPv4 pseudo-header's partial sum (addresses in network order). */
uint32_t inet_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

/* Fold a partial sum to 16 bits (not complemented). */
uint16_t inet_fold(uint32_t sum);

/* The checksum to store: the folded sum, complemented (host order). */
static inline uint16_t
inet_csum(uint32_t sum)
{
	return (uint16_t)~inet_fold(sum);
}

#endif
