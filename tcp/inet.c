/*
 * inet.c: the Internet checksum (see inet.h).  Portable.
 *
 * Called from every layer that checks or writes a checksum:
 *	ip_input, ip_output		the IPv4 header (inet_hdr_csum, the
 *					short way for a short fixed header)
 *	icmp_input, icmp_echo		the whole ICMP message (the echo's
 *					reply summed as it is copied)
 *	udp_input, udp_sendto		pseudo-header + UDP header + data
 *	tcp_input, tcp_out.c		pseudo-header + TCP header + data
 *	../hosted/memlink.c		a device's offload, summed in its copy
 *
 * A partial sum is the sum of the data's big-endian 16-bit words as
 * numbers, so a result is stored with hton16.  inet_sum computes it the
 * fast way (RFC 1071 section 2: "deferred carries", "byte order
 * independence"): eight bytes per load in the machine's own byte order
 * (sum_native), added in 64-bit ones'-complement arithmetic (the carry
 * out of each add wraps around into the next: add64), folded to 16 bits
 * once at the end, and byte-swapped once, since the ones'-complement
 * sum of byte-swapped words is the byte-swapped sum.  The 64-bit
 * ones'-complement sum folds to the same 16-bit one because 2^16 - 1
 * divides 2^64 - 1.  A round of 64 bytes is one chain of add-with-
 * carry on x86-64 (sum_acc: about 0.19 instructions a byte), eight
 * add64 elsewhere (an add and an add-with-carry each: about 0.3).  The
 * machine-order loads assume a little-endian machine, as the rest of
 * the tree does (x86-64 in both builds).
 *
 * Copy and sum.  Where bytes are copied anyway and their checksum is
 * needed too (a device's checksum filled in as the wire copies the
 * frame, an echo reply copied from its request), inet_copy_sum and
 * inet_copy_chain do both in one pass: each eight bytes loaded once,
 * stored and added.  By instruction count that is about what a copy
 * and a separate sum cost (a library memcpy moves 32 bytes an
 * instruction); the gain is that the bytes pass through the cache once.
 */
#include <string.h>

#include "inet.h"
#include "proto.h"

/*
 * Fold a 64-bit accumulator to a 32-bit partial sum with the same fold:
 * two fixed steps, no loop (the first leaves at most 33 bits, and then
 * the high half is at most 1, added to a low half that cannot then be
 * all ones).
 */
static uint32_t
fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

/* Fold a partial sum to 16 bits (inet.h): two fixed steps, as fold64. */
uint16_t
inet_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
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

/* a + b in 64-bit ones'-complement arithmetic: the carry out comes back in. */
static inline uint64_t
add64(uint64_t a, uint64_t b)
{
	uint64_t s;

	/* s + 1 cannot overflow: with a carry, s is at most 2^64 - 2. */
	return __builtin_add_overflow(a, b, &s) ? s + 1 : s;
}

/*
 * The tail of a run, under 8 bytes at p, added to the accumulator a as
 * 4-, 2- and 1-byte pieces.  Each lands at an even offset of the data,
 * so at its place in a little-endian word, and an odd last byte counts
 * as the low byte of a word padded with zero, as RFC 1071 asks.
 */
static inline uint64_t
sum_tail(uint64_t a, const uint8_t *p, size_t n)
{
	uint32_t t32;
	uint16_t t16;

	if (n >= 4) {
		memcpy(&t32, p, 4);
		a = add64(a, t32);
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		memcpy(&t16, p, 2);
		a = add64(a, t16);
		p += 2;
		n -= 2;
	}
	if (n == 1)
		a = add64(a, *p);
	return a;
}

/*
 * The n bytes at p taken as 16-bit words of the machine's byte order
 * (little-endian) added to the accumulator a, unfolded: rounds of 64
 * bytes, then single words, each added with its carry wrapped around,
 * then the tail.  A round on x86-64 is one chain of add-with-carry, each
 * add taking the carry out of the one before, the round's last carry
 * counted apart and all of them added back once at the end (GCC's
 * __builtin_ia32_addcarryx_u64 is how C says adc: one add, seven adc and
 * the count's adc, 0.19 instructions a byte with the loop); elsewhere
 * eight add64 (an add and an add-with-carry each, 0.3).  Not inlined:
 * inside a caller that keeps its accumulators in memory (chain_sum) GCC
 * would store and reload the chain's sum at every step.
 */
static __attribute__((noinline)) uint64_t
sum_acc(uint64_t a, const uint8_t *p, size_t n)
{
#ifdef __x86_64__
	unsigned long long s = a, x, carries = 0;
	unsigned char c;

	for (; n >= 64; p += 64, n -= 64) {
		c = __builtin_ia32_addcarryx_u64(0, s, load8(p), &x);
		c = __builtin_ia32_addcarryx_u64(c, x, load8(p + 8), &x);
		c = __builtin_ia32_addcarryx_u64(c, x, load8(p + 16), &x);
		c = __builtin_ia32_addcarryx_u64(c, x, load8(p + 24), &x);
		c = __builtin_ia32_addcarryx_u64(c, x, load8(p + 32), &x);
		c = __builtin_ia32_addcarryx_u64(c, x, load8(p + 40), &x);
		c = __builtin_ia32_addcarryx_u64(c, x, load8(p + 48), &x);
		c = __builtin_ia32_addcarryx_u64(c, x, load8(p + 56), &x);
		s = x;
		carries += c;
	}
	a = add64(s, carries);
#else
	for (; n >= 64; p += 64, n -= 64)
		for (int i = 0; i < 64; i += 8)
			a = add64(a, load8(p + i));
#endif
	for (; n >= 8; p += 8, n -= 8)
		a = add64(a, load8(p));
	return sum_tail(a, p, n);
}

/* sum_acc of the n bytes at p from 0, folded to 16 bits. */
static uint16_t
sum_native(const uint8_t *p, size_t n)
{
	return inet_fold(fold64(sum_acc(0, p, n)));
}

/*
 * sum_acc of the n bytes at src, copied to dst on the way: each block
 * of 32 bytes, then each word, loaded once, stored and added; the tail
 * copied and added last.
 */
static inline uint64_t
copy_sum_acc(uint64_t a, uint8_t *dst, const uint8_t *src, size_t n)
{
	uint64_t w[4];

	for (; n >= 32; src += 32, dst += 32, n -= 32) {
		memcpy(w, src, 32);
		memcpy(dst, w, 32);
		a = add64(a, w[0]);
		a = add64(a, w[1]);
		a = add64(a, w[2]);
		a = add64(a, w[3]);
	}
	for (; n >= 8; src += 8, dst += 8, n -= 8) {
		memcpy(w, src, 8);
		memcpy(dst, w, 8);
		a = add64(a, w[0]);
	}
	memcpy(dst, src, n);
	return sum_tail(a, src, n);
}

/* copy_sum_acc from 0, folded to 16 bits. */
static uint16_t
copy_sum_native(uint8_t *dst, const uint8_t *src, size_t n)
{
	return inet_fold(fold64(copy_sum_acc(0, dst, src, n)));
}

/* A machine-order 16-bit sum as a partial sum of big-endian words, added to sum. */
static uint32_t
add_swapped(uint32_t sum, uint16_t le)
{
	/* Summed as little-endian words: swapped, the big-endian words' sum. */
	return fold64((uint64_t)sum + (uint16_t)(le << 8 | le >> 8));
}

/* The n bytes at p added to sum (inet.h). */
uint32_t
inet_sum(const void *p, size_t n, uint32_t sum)
{
	return add_swapped(sum, sum_native(p, n));
}

/* The n bytes at src copied to dst and added to sum (inet.h). */
uint32_t
inet_copy_sum(void *dst, const void *src, size_t n, uint32_t sum)
{
	return add_swapped(sum, copy_sum_native(dst, src, n));
}

/*
 * n bytes of chain b from off bytes in, added to sum; copied to dst on
 * the way unless dst is NULL.  Each buffer's piece is summed as if it
 * started on an even byte, into one of two accumulators: even, for the
 * pieces that start on an even byte of the message, odd for the others,
 * whose words are swapped (RFC 1071 2(B)).  Swapping commutes with the
 * sum, so the odd accumulator is swapped once, at the end, and nothing
 * is folded per piece.
 */
static uint32_t
chain_sum(const struct iobuf *b, size_t off, size_t n, uint8_t *dst, uint32_t sum)
{
	uint64_t acc[2] = { 0, 0 };	/* even, odd */
	size_t pos = 0;			/* bytes of the message summed so far */
	uint16_t even, odd;

	for (; b != NULL && n > 0; b = b->next) {
		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		size_t k = b->len - off < n ? b->len - off : n;
		uint64_t *a = &acc[pos & 1];

		*a = dst == NULL ? sum_acc(*a, b->data + off, k) :
		    copy_sum_acc(*a, dst + pos, b->data + off, k);
		pos += k;
		n -= k;
		off = 0;
	}
	even = inet_fold(fold64(acc[0]));
	odd = inet_fold(fold64(acc[1]));
	return add_swapped(sum, inet_fold((uint32_t)even + (uint16_t)(odd << 8 | odd >> 8)));
}

/* A piece's partial sum added to sum, the piece pos bytes into the message (inet.h). */
uint32_t
inet_add(uint32_t sum, uint32_t part, size_t pos)
{
	uint16_t p = inet_fold(part);

	if (pos & 1)		/* the piece starts on an odd byte: its words are swapped */
		p = (uint16_t)(p << 8 | p >> 8);
	return fold64((uint64_t)sum + p);
}

/* n bytes of chain b from off added to sum (inet.h). */
uint32_t
inet_sum_chain(const struct iobuf *b, size_t off, size_t n, uint32_t sum)
{
	if (b != NULL && off <= b->len && n <= b->len - off)	/* in one buffer */
		return inet_sum(b->data + off, n, sum);
	return chain_sum(b, off, n, NULL, sum);
}

/* n bytes of chain b from off copied to dst and added to sum (inet.h). */
uint32_t
inet_copy_chain(void *dst, const struct iobuf *b, size_t off, size_t n, uint32_t sum)
{
	return chain_sum(b, off, n, dst, sum);
}

/*
 * The checksum of an IPv4 header (inet.h): its 8-byte words added with
 * their carries wrapped around, a last 4-byte word if there is one,
 * folded, and swapped from the machine's order: no loop over the tail,
 * no partial sum to merge, for the one checksum every packet has (and
 * no loop at all for the usual 20 bytes).
 */
uint16_t
inet_hdr_csum(const void *h, size_t hlen)
{
	const uint8_t *p = h;
	uint64_t s = 0;
	uint32_t w;
	uint16_t le;
	size_t i;

	if (hlen == 20) {			/* no options: unrolled */
		memcpy(&w, p + 16, 4);
		s = add64(add64(load8(p), load8(p + 8)), w);
	} else {
		for (i = 0; i + 8 <= hlen; i += 8)
			s = add64(s, load8(p + i));
		if (i < hlen) {
			memcpy(&w, p + i, 4);
			s = add64(s, w);
		}
	}
	le = inet_fold(fold64(s));
	return (uint16_t)~(le << 8 | le >> 8);
}

/* The pseudo-header's partial sum (inet.h). */
uint32_t
inet_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	uint32_t a = ntoh32(src), b = ntoh32(dst);

	return (a >> 16) + (a & 0xffff) + (b >> 16) + (b & 0xffff) + proto + len;
}
