/*
 * tcpstream.h: the checked byte streams of test_tcplink.c, by themselves:
 * what a sender makes and what a receiver checks.  Hosted tests only;
 * all static.
 *
 * Stream k starts with an 8-byte header naming k (HDR bytes, little-
 * endian), then k's pattern: byte i is byte i % 8 of a 64-bit mix
 * (splitmix64) of k and i / 8.  So a byte out of place, lost, doubled
 * or belonging to another stream cannot pass check_chain, which learns
 * k from the header and compares every later byte where it falls; it
 * also keeps an FNV-1a hash, which the sender keeps too, so the two
 * ends can be compared once more after the run.  The includer defines
 * MAXK, the number of streams (a header naming k >= MAXK is wrong).
 */
#ifndef TEST_TCPSTREAM_H
#define TEST_TCPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "tcp/iobuf.h"

#define HDR		8		/* the stream header: k */

/* The 64-bit word w of connection k's stream (splitmix64 of both). */
static uint64_t
mix(uint64_t k, uint64_t w)
{
	uint64_t z = w * 0x9e3779b97f4a7c15ULL + (k + 1) * 0xd1b54a32d192ed03ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Byte off of connection k's stream, header included. */
static uint8_t
stream_byte(uint64_t k, uint64_t off)
{
	if (off < HDR)
		return (uint8_t)(k >> (8 * off));
	off -= HDR;
	return (uint8_t)(mix(k, off >> 3) >> (8 * (off & 7)));
}

/* Fill p with n bytes of k's stream from off. */
static void
stream_fill(uint64_t k, uint64_t off, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = stream_byte(k, off + i);
}

/* FNV-1a over n bytes at p, continuing from h. */
static uint64_t
fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

#define FNV_INIT	0xcbf29ce484222325ULL

/*
 * A checker of one incoming stream: k is learned from the header, then
 * every byte is compared where it falls.  bad is the first wrong byte's
 * offset + 1 (0: none yet).
 */
struct checker {
	uint64_t got, k, bad, hash;
};

/* Check a delivered chain against the stream, byte by byte. */
static void
check_chain(struct checker *ck, const struct iobuf *data)
{
	for (const struct iobuf *b = data; b != NULL; b = b->next) {
		ck->hash = fnv(ck->hash, b->data, b->len);
		for (size_t i = 0; i < b->len; i++, ck->got++) {
			if (ck->got < HDR) {
				ck->k |= (uint64_t)b->data[i] << (8 * ck->got);
				continue;
			}
			if (ck->bad == 0 && (ck->k >= MAXK || b->data[i] != stream_byte(ck->k, ck->got)))
				ck->bad = ck->got + 1;
		}
	}
}

#endif
