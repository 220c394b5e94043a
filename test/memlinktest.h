/*
 * memlinktest.h: what the memlink suites share (test_memlink.c: the
 * clean wire, the impairments, pcap; test_memlink_csum.c: checksum
 * offload): crafted frames (an Ethernet header, then the sending core,
 * a sequence number, the send time and a byte pattern keyed by both),
 * the recording input (struct netif.input) that checks every byte and
 * notes what came, on which core, when; the watchdog, the link and the
 * leak checks.  A header of static functions, one copy per suite.
 */
#ifndef MEMLINKTEST_H
#define MEMLINKTEST_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ebb/event.h"
#include "ebb/timer.h"
#include "hosted/memlink.h"
#include "tcp/inet.h"
#include "tcp/iobuf.h"
#include "tcp/netif.h"
#include "test.h"

#define NCORES	4
#define MAXN	2000		/* most frames a test sends per core */
#define HDR	40		/* ethernet 14, core 2, seq 4, pad 4, time 8, ~time 8 */

struct rec {
	int seq;		/* -1: not even the header survived */
	int intact;
	int core;		/* where it arrived */
	uint64_t sent, arrived;
};

static struct rec recs[NCORES][MAXN * 2];	/* per sending core */
static int nrecs[NCORES];
static long expect;		/* frames to receive in all (atomic) */
static long got;		/* frames received (atomic) */
static struct timer dog;
static int dog_fired;

static inline size_t
frame_len(int seq)
{
	return 60 + (size_t)(seq % 50) * 29;	/* 60 .. 1481 */
}

static inline struct iobuf *
make_frame(struct netif *from, int core, int seq)
{
	size_t len = frame_len(seq);
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, len);
	uint8_t *p = iobuf_put(b, len);
	uint64_t now = clock_ns();
	uint16_t c16 = (uint16_t)core;
	uint32_t s32 = (uint32_t)seq;

	memset(p, 0xff, 6);
	memcpy(p + 6, from->mac, 6);
	p[12] = 0x88;		/* a local experimental EtherType */
	p[13] = 0xb5;
	memcpy(p + 14, &c16, 2);
	memcpy(p + 16, &s32, 4);
	memset(p + 20, 0, 4);
	memcpy(p + 24, &now, 8);
	now = ~now;
	memcpy(p + 32, &now, 8);
	test_fill(p + HDR, len - HDR, (uint64_t)core << 32 | (uint64_t)seq);
	return b;
}

static inline void finish(void *unused);

/* The test's input: record the frame. */
static inline void
rec_input(struct netif *nif, struct iobuf *frame, uint32_t rx_flags)
{
	uint8_t buf[2048];
	size_t len = iobuf_chain_len(frame);
	uint16_t c16 = 0;
	uint32_t s32 = 0, pad = 1;
	uint64_t notsent = 0;
	struct rec r = { -1, 0, core_id(), 0, clock_ns() };
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	(void)rx_flags;
	if (len <= sizeof buf && len >= HDR && iobuf_copy_out(frame, 0, len, buf)) {
		memcpy(&c16, buf + 14, 2);
		memcpy(&s32, buf + 16, 4);
		memcpy(&pad, buf + 20, 4);
		memcpy(&r.sent, buf + 24, 8);
		memcpy(&notsent, buf + 32, 8);
		if (c16 < NCORES && s32 < MAXN) {
			/* Every byte checked: the sender's MAC is the peer's. */
			r.seq = (int)s32;
			r.intact = len == frame_len(r.seq) &&
			    memcmp(buf, bcast, 6) == 0 &&
			    memcmp(buf + 6, nif->mac, 5) == 0 &&
			    buf[11] == 3 - nif->mac[5] &&
			    buf[12] == 0x88 && buf[13] == 0xb5 && pad == 0 &&
			    notsent == ~r.sent &&
			    test_intact(buf + HDR, len - HDR, (uint64_t)c16 << 32 | s32);
		}
	}
	iobuf_free_chain(frame);
	if (r.seq >= 0 && nrecs[c16] < MAXN * 2 && c16 == r.core)
		recs[c16][nrecs[c16]++] = r;	/* only core c16 writes here */
	else
		recs[r.core][nrecs[r.core]++] = (struct rec){ -1, 0, r.core, 0, 0 };
	/* Acq_rel: whoever counts the last frame sees every record. */
	long n = __atomic_add_fetch(&got, 1, __ATOMIC_ACQ_REL);
	if (n == __atomic_load_n(&expect, __ATOMIC_ACQUIRE))
		spawn_on(0, finish, NULL);
}

static inline void
finish(void *unused)
{
	(void)unused;
	timer_stop(&dog);
	event_stop(0);
}

static inline void
dog_bark(void *unused)
{
	(void)unused;
	dog_fired = 1;
	event_stop(1);
}

/* Reset the records; the watchdog on core 0 (called in an event there). */
static inline void
start_dog(void)
{
	timer_setup(&dog, dog_bark, NULL);
	CHECK_EQ(timer_start(&dog, 10000 * TIMER_MS, 0), 0);
}

static inline void
reset(long n)
{
	memset(nrecs, 0, sizeof nrecs);
	got = 0;
	expect = n;
	dog_fired = 0;
}

/*
 * The leak check's start: the runtime up, and the iobuf caches made
 * (once per process, never given back) before the free pages are counted.
 */
static inline struct test_leaks
leak_start(void)
{
	test_setup(NCORES, 0, TEST_EVENTS);
	iobuf_free(iobuf_alloc(0, 0));
	return test_leak_start(NCORES);
}

static inline struct memlink *
link_with(const struct memlink_config *cfg)
{
	struct memlink *ml = memlink_create("ml-a", "ml-b", cfg);

	CHECK(ml != NULL);
	memlink_netif(ml, 0)->input = rec_input;
	memlink_netif(ml, 1)->input = rec_input;
	return ml;
}

static inline void
check_no_iobufs(void)
{
	CHECK_EQ(iobuf_live(), 0);
	CHECK_EQ(iobuf_blocks_live(), 0);
}

#endif
