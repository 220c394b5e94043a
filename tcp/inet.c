/*
 * inet.c: the Internet checksum (see inet.h).  Portable.
 *
 * Called from every layer that checks or writes a checksum:
 *	ip_input, ip_output		the IPv4 header
 *	icmp_input, icmp_send		the whole ICMP message
 *	udp_input, udp_sendto		pseudo-header + UDP header + data
 *
 * Words are read as big-endian byte pairs, so the partial sum is the
 * sum of the words' numeric values and the result is stored with
 * hton16.  The accumulator is 64 bits wide and folded only at the end
 * (and whenever it is handed back as 32 bits), so no carry is lost.
 */
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

uint32_t
inet_sum(const void *p, size_t n, uint32_t sum)
{
	const uint8_t *b = p;
	uint64_t s = sum;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (i < n)
		s += (uint32_t)b[i] << 8;	/* an odd last byte, padded */
	return fold64(s);
}

uint16_t
inet_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
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
