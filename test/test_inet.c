/*
 * test_inet.c: the Internet checksum (tcp/inet.c), hosted, against the
 * slowest correct one there is: RFC 1071's definition, a big-endian
 * byte pair at a time into a 64-bit sum, here in the test.
 *
 * inet_sum reads 8 bytes at a time in the machine's byte order and
 * swaps the result, so what can go wrong is at the edges: an address
 * that is not 8-aligned, a length that leaves a 4-, 2- or 1-byte tail,
 * a sum big enough to carry many times, a partial sum passed in, and,
 * in inet_sum_chain, a buffer that starts on an odd byte of the
 * message.  Each of these is taken at random, many times, from a fixed
 * random stream (test_rnd), and must give exactly the reference's
 * folded sum.
 *
 * inet_hdr_csum, the IPv4 header's short way, must agree with the
 * reference at every header length and alignment, all-ones data too.
 *
 * The copy-and-sum routines (inet_copy_sum, inet_copy_chain) are held
 * to the same reference and must also leave an exact copy, at every
 * source and destination alignment, every length and chain split, and
 * touch no byte outside the destination's n.
 */
#include <string.h>

#include "tcp/inet.h"
#include "tcp/iobuf.h"
#include "test.h"

#define MAXLEN	4200		/* longer than a jumbo-less frame, odd on purpose */

/* RFC 1071 by the book: big-endian byte pairs, the odd byte padded. */
static uint16_t
ref_sum(const uint8_t *p, size_t n, uint32_t sum)
{
	uint64_t s = sum;

	for (size_t i = 0; i < n; i += 2)
		s += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint8_t data[MAXLEN + 16];

/* Fill data with random bytes, or (one time in eight) all 0xff: the most carries. */
static void
fill_random(void)
{
	int ones = test_rnd() % 8 == 0;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = ones ? 0xff : (uint8_t)test_rnd();
}

/* Every length 0..80 at every offset 0..15: each tail, each misalignment. */
TEST(sum_every_small_length_and_offset)
{
	fill_random();
	for (size_t off = 0; off < 16; off++)
		for (size_t n = 0; n <= 80; n++)
			if (inet_fold(inet_sum(data + off, n, 0)) != ref_sum(data + off, n, 0)) {
				CHECK_EQ(inet_fold(inet_sum(data + off, n, 0)),
				    ref_sum(data + off, n, 0));
				return;		/* one report is enough */
			}
}

/* Random lengths, offsets and incoming partial sums. */
TEST(sum_random)
{
	for (int k = 0; k < 20000; k++) {
		size_t off = test_rnd() % 16, n = test_rnd() % (MAXLEN + 1);
		uint32_t in = k % 3 == 0 ? 0 : (uint32_t)test_rnd();

		if (k % 64 == 0)
			fill_random();
		if (inet_fold(inet_sum(data + off, n, in)) != ref_sum(data + off, n, in)) {
			CHECK_EQ(inet_fold(inet_sum(data + off, n, in)), ref_sum(data + off, n, in));
			return;		/* one report is enough */
		}
	}
}

/* Big all-ones data: the accumulators carry on every add. */
TEST(sum_all_ones_carries)
{
	static uint8_t big[1 << 20];

	memset(big, 0xff, sizeof big);
	for (size_t n = sizeof big - 3; n <= sizeof big; n++)
		CHECK_EQ(inet_fold(inet_sum(big, n, 0xffffffffu)), ref_sum(big, n, 0xffffffffu));
	/* The checksum of a message with its own checksum in it is 0. */
	uint8_t m[10] = { 0x45, 0, 0, 0x1c, 0x12, 0x34, 0, 0, 0, 0 };
	uint16_t c = inet_csum(inet_sum(m, sizeof m, 0));
	m[8] = (uint8_t)(c >> 8);
	m[9] = (uint8_t)c;
	CHECK_EQ(inet_csum(inet_sum(m, sizeof m, 0)), 0);
}

/* The IPv4 header's short way: every header length, at every alignment, many times. */
TEST(hdr_csum_every_length)
{
	for (int k = 0; k < 2000; k++) {
		size_t off = test_rnd() % 16;

		if (k % 16 == 0)
			fill_random();
		for (size_t hlen = 20; hlen <= 60; hlen += 4)
			if (inet_hdr_csum(data + off, hlen) != inet_csum(ref_sum(data + off, hlen, 0))) {
				CHECK_EQ(inet_hdr_csum(data + off, hlen),
				    inet_csum(ref_sum(data + off, hlen, 0)));
				return;
			}
	}
}

/* Cut data[0..n) into a chain of random pieces (odd sizes, empty ones too). */
static struct iobuf *
random_chain(size_t n)
{
	struct iobuf *head = NULL, **tail = &head;

	for (size_t at = 0; at < n || head == NULL; ) {
		size_t k = test_rnd() % 4 == 0 ? 0 : 1 + test_rnd() % 301;
		struct iobuf *b;

		if (k > n - at)
			k = n - at;
		b = iobuf_alloc(test_rnd() % 9, k);	/* headroom: any alignment */
		CHECK(b != NULL);
		if (b == NULL)
			break;
		memcpy(iobuf_put(b, k), data + at, k);
		at += k;
		*tail = b;
		tail = &b->next;
	}
	return head;
}

/* Chains: random splits, offsets and lengths against the flat reference. */
TEST(sum_chain_random_splits)
{
	long live;

	test_setup(1, 0, TEST_SLAB);
	live = iobuf_live();
	for (int k = 0; k < 2000; k++) {
		size_t n = test_rnd() % 3000, off, len;
		struct iobuf *c;
		uint32_t in = (uint32_t)test_rnd();

		if (k % 32 == 0)
			fill_random();
		c = random_chain(n);
		off = n == 0 ? 0 : test_rnd() % n;
		len = n - off == 0 ? 0 : test_rnd() % (n - off + 1);
		if (inet_fold(inet_sum_chain(c, off, len, in)) != ref_sum(data + off, len, in)) {
			CHECK_EQ(inet_fold(inet_sum_chain(c, off, len, in)),
			    ref_sum(data + off, len, in));
			iobuf_free_chain(c);
			break;
		}
		iobuf_free_chain(c);
	}
	CHECK_EQ(iobuf_live(), live);
}

/* ---- copy and sum --------------------------------------------------------------- */

static uint8_t out[MAXLEN + 48];

/* Is out[doff .. doff + n) data[soff ..], with the guard bytes around it untouched? */
static int
copied(size_t doff, size_t soff, size_t n)
{
	for (size_t i = 0; i < sizeof out; i++) {
		int inside = i >= doff && i < doff + n;

		if (out[i] != (inside ? data[soff + i - doff] : 0xa5))
			return 0;
	}
	return 1;
}

/* Every length 0..100 at every source and destination offset 0..15. */
TEST(copy_sum_every_small_length_and_alignment)
{
	fill_random();
	for (size_t soff = 0; soff < 16; soff++)
		for (size_t doff = 0; doff < 16; doff++)
			for (size_t n = 0; n <= 100; n++) {
				memset(out, 0xa5, sizeof out);
				uint32_t in = (uint32_t)(soff * 131 + n);
				uint32_t s = inet_copy_sum(out + doff, data + soff, n, in);
				if (inet_fold(s) != ref_sum(data + soff, n, in) ||
				    !copied(doff, soff, n)) {
					CHECK_EQ(inet_fold(s), ref_sum(data + soff, n, in));
					CHECK(copied(doff, soff, n));
					return;		/* one report is enough */
				}
			}
}

/* Random lengths up to MAXLEN, random alignments and partial sums; all ones too. */
TEST(copy_sum_random)
{
	for (int k = 0; k < 5000; k++) {
		size_t soff = test_rnd() % 16, doff = test_rnd() % 16;
		size_t n = test_rnd() % (MAXLEN + 1);
		uint32_t in = k % 3 == 0 ? 0xffffffffu : (uint32_t)test_rnd();

		if (k % 64 == 0)
			fill_random();
		memset(out, 0xa5, sizeof out);
		uint32_t s = inet_copy_sum(out + doff, data + soff, n, in);
		if (inet_fold(s) != ref_sum(data + soff, n, in) || !copied(doff, soff, n)) {
			CHECK_EQ(inet_fold(s), ref_sum(data + soff, n, in));
			CHECK(copied(doff, soff, n));
			return;
		}
	}
}

/* Chains: random splits, offsets, lengths and destination alignments. */
TEST(copy_chain_random_splits)
{
	long live;

	test_setup(1, 0, TEST_SLAB);
	live = iobuf_live();
	for (int k = 0; k < 2000; k++) {
		size_t n = test_rnd() % 3000, off, len, doff = test_rnd() % 16;
		struct iobuf *c;
		uint32_t in = (uint32_t)test_rnd(), s;

		if (k % 32 == 0)
			fill_random();
		c = random_chain(n);
		off = n == 0 ? 0 : test_rnd() % n;
		len = n - off == 0 ? 0 : test_rnd() % (n - off + 1);
		memset(out, 0xa5, sizeof out);
		s = inet_copy_chain(out + doff, c, off, len, in);
		iobuf_free_chain(c);
		if (inet_fold(s) != ref_sum(data + off, len, in) || !copied(doff, off, len)) {
			CHECK_EQ(inet_fold(s), ref_sum(data + off, len, in));
			CHECK(copied(doff, off, len));
			break;
		}
	}
	CHECK_EQ(iobuf_live(), live);
}
