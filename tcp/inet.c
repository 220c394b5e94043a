/*
 * inet.c: the Internet checksum (see inet.h).  Portable.
 *
 * Called from every layer that checks or writes a checksum:
 *	ip_input, ip_output		the IPv4 header
 *	icmp_input, icmp_send		the whole ICMP message
 *	udp_input, udp_sendto		pseudo-header + UDP header + data
 *	tcp_input, tcp_out.c		pseudo-header + TCP header + data
 *
 * A partial sum is the sum of the data's big-endian 16-bit words as
 * numbers, so a result is stored with hton16.  inet_sum computes it the
 * fast way (RFC 1071 section 2: "deferred carries", "byte order
 * independence"): eight bytes per load in the machine's own byte order
 * (sum_native), carries kept in wide accumulators and folded once at
 * the end, and the 16-bit result byte-swapped once, since the
 * ones'-complement sum of byte-swapped words is the byte-swapped sum.
 * About half an instruction a byte, against about ten for a byte pair
 * at a time.  The machine-order loads assume a little-endian machine,
 * as the rest of the tree does (x86-64 in both builds).
 */
#include <string.h>

#include "inet.h"
#include "proto.h"

/* Fold a 64-bit accumulator to a 32-bit partial sum with the same fold. */
static uint32_t
fold64(uint64_t s)
{
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t
inet_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* 8 bytes at p as a number, in the machine's byte order; any alignment. */
static inline uint64_t
load8(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* A 64-bit word's two 32-bit halves, added: below 2^33, no carry lost. */
static inline uint64_t
halves(uint64_t w)
{
	return (w & 0xffffffffu) + (w >> 32);
}

/*
 * The ones'-complement sum of the n bytes at p taken as 16-bit words of
 * the machine's byte order (little-endian), folded to 16 bits.
 *
 * Each 8-byte load is split into its two 32-bit halves, which are added
 * to 64-bit accumulators: the carries out of 32 bits pile up in the
 * high bits (2^32 additions, 32 GiB, before one could be lost) instead
 * of being wrapped around at every step, and the fold at the end adds
 * them back.  Four loads a round into two accumulators keep the adds
 * independent of each other.  The tail, under 8 bytes, is added as 4-,
 * 2- and 1-byte pieces; each lands at an even offset of the data, so at
 * its place in a little-endian word, and an odd last byte counts as the
 * low byte of a word padded with zero, as RFC 1071 asks.
 */
static uint16_t
sum_native(const uint8_t *p, size_t n)
{
	uint64_t a = 0, b = 0;
	uint32_t t32;
	uint16_t t16;

	for (; n >= 32; p += 32, n -= 32) {
		a += halves(load8(p)) + halves(load8(p + 8));
		b += halves(load8(p + 16)) + halves(load8(p + 24));
	}
	for (; n >= 8; p += 8, n -= 8)
		a += halves(load8(p));
	if (n >= 4) {
		memcpy(&t32, p, 4);
		b += t32;
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		memcpy(&t16, p, 2);
		a += t16;
		p += 2;
		n -= 2;
	}
	if (n == 1)
		b += *p;
	return inet_fold(fold64(a + b));
}

uint32_t
inet_sum(const void *p, size_t n, uint32_t sum)
{
	uint16_t le = sum_native(p, n);

	/* Summed as little-endian words: swapped, the big-endian words' sum. */
	return fold64((uint64_t)sum + (uint16_t)(le << 8 | le >> 8));
}

uint32_t
inet_sum_chain(const struct iobuf *b, size_t off, size_t n, uint32_t sum)
{
	uint64_t s = sum;
	size_t pos = 0;			/* bytes of the message summed so far */

	for (; b != NULL && n > 0; b = b->next) {
		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		size_t k = b->len - off < n ? b->len - off : n;
		uint16_t part = inet_fold(inet_sum(b->data + off, k, 0));
		if (pos & 1)		/* this piece starts on an odd byte */
			part = (uint16_t)(part << 8 | part >> 8);
		s += part;
		pos += k;
		n -= k;
		off = 0;
	}
	return fold64(s);
}

uint32_t
inet_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	uint32_t a = ntoh32(src), b = ntoh32(dst);

	return (a >> 16) + (a & 0xffff) + (b >> 16) + (b & 0xffff) + proto + len;
}
