/*
 * test_netif.c: the interface list and its two doors (tcp/netif.c), and
 * the loopback interface (tcp/loopback.c), hosted.
 *
 * A fake driver records what netif_send hands it; a test's own input
 * function (struct netif.input) records what netif_input delivers.
 * Loopback frames are sent from an event on every core and must come
 * back later, as events on the sending core, in order, marked checksum
 * good.  Interfaces are never removed, so each test's are static.
 */
#include <errno.h>
#include <string.h>

#include "ebb/event.h"
#include "tcp/iobuf.h"
#include "tcp/loopback.h"
#include "tcp/netif.h"
#include "test.h"

#define NCORES	4

/* ---- a fake driver ----------------------------------------------------- */

static int fake_err;			/* what transmit returns */
static int fake_calls;
static size_t fake_len;
static struct netif_tx_hints fake_hints;

static int
fake_transmit(struct netif *nif, struct iobuf *frame,
    const struct netif_tx_hints *hints)
{
	(void)nif;
	fake_calls++;
	fake_len = iobuf_chain_len(frame);
	fake_hints = *hints;
	iobuf_free_chain(frame);	/* owns it, whatever it returns */
	return fake_err;
}

static const struct netif_ops fake_ops = { .transmit = fake_transmit };

static struct iobuf *
frame_of(size_t n, uint8_t fill)
{
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, n);

	memset(iobuf_put(b, n), fill, n);
	return b;
}

TEST(add_and_list)
{
	static struct netif a, b, none;
	static const struct netif_ops no_tx;
	struct netif *n;
	int seen_a = 0, seen_b = 0, order = 0;

	test_setup(NCORES, 0, TEST_EVENTS);
	CHECK_EQ(netif_add(&none), -1);		/* no ops */
	none.ops = &no_tx;
	CHECK_EQ(netif_add(&none), -1);		/* no transmit */
	a.ops = b.ops = &fake_ops;
	CHECK_EQ(netif_add(&a), 0);
	CHECK_EQ(netif_add(&b), 0);
	CHECK_EQ(netif_add(&a), -1);		/* twice */
	for (n = netif_first(); n != NULL; n = netif_next(n)) {
		CHECK(n != &none);
		if (n == &a)
			seen_a = ++order;
		if (n == &b)
			seen_b = ++order;
	}
	CHECK_EQ(seen_a, 1);			/* registration order */
	CHECK_EQ(seen_b, 2);
}

TEST(send_counts)
{
	static struct netif f;
	struct netif_tx_hints h = { 1, 34, 16, 0 };

	test_setup(NCORES, 0, TEST_EVENTS);
	f.ops = &fake_ops;
	CHECK_EQ(netif_add(&f), 0);
	fake_err = 0;
	fake_calls = 0;
	CHECK_EQ(netif_send(&f, frame_of(60, 1), NULL), 0);
	CHECK_EQ(fake_hints.csum, 0);		/* NULL: no offload */
	CHECK_EQ(fake_len, 60);
	struct iobuf *c = frame_of(14, 2);	/* a two-buffer chain */
	iobuf_chain_append(c, frame_of(100, 3));
	CHECK_EQ(netif_send(&f, c, &h), 0);
	CHECK_EQ(fake_len, 114);
	CHECK(fake_hints.csum == 1 && fake_hints.csum_start == 34 &&
	    fake_hints.csum_offset == 16);
	fake_err = EIO;
	CHECK_EQ(netif_send(&f, frame_of(70, 4), NULL), EIO);
	CHECK_EQ(fake_calls, 3);
	CHECK_EQ(f.stats.tx_frames, 2);
	CHECK_EQ(f.stats.tx_bytes, 174);
	CHECK_EQ(f.stats.tx_errors, 1);
	CHECK_EQ(iobuf_live(), 0);
	CHECK_EQ(iobuf_blocks_live(), 0);
}

/* netif_input with no input of the test's own: the stack takes it. */
TEST(input_to_stack)
{
	static struct netif f;

	test_setup(NCORES, 0, TEST_EVENTS);
	f.ops = &fake_ops;
	CHECK_EQ(netif_add(&f), 0);
	netif_input(&f, frame_of(3, 0), 0);	/* too short for Ethernet */
	CHECK_EQ(f.stats.rx_frames, 1);
	CHECK_EQ(f.stats.rx_bytes, 3);
	CHECK_EQ(iobuf_live(), 0);		/* dropped and freed */
	CHECK_EQ(iobuf_blocks_live(), 0);
}

/* ---- loopback ---------------------------------------------------------- */

#define LO_FRAMES 500			/* per core */

static struct netif lo;
static int lo_sending[NCORES];		/* core c is inside its sends */
static long lo_next[NCORES];		/* next frame number core c expects */
static int lo_bad, lo_done;

/* The test's input: frame k from core c, in order, on core c, later. */
static void
lo_input(struct netif *nif, struct iobuf *frame, uint32_t rx_flags)
{
	int c = core_id();
	uint8_t hdr[2];

	if (nif != &lo || lo_sending[c] || !(rx_flags & NETIF_RX_CSUM_OK) ||
	    iobuf_copy_out(frame, 0, 2, hdr) == NULL || hdr[0] != c ||
	    hdr[1] != (uint8_t)lo_next[c] || iobuf_chain_len(frame) != 60)
		__atomic_add_fetch(&lo_bad, 1, __ATOMIC_RELAXED);
	iobuf_free_chain(frame);
	/* Acq_rel: the last frame's core sees every core's counts. */
	if (++lo_next[c] == LO_FRAMES &&
	    __atomic_add_fetch(&lo_done, 1, __ATOMIC_ACQ_REL) == NCORES)
		event_stop(0);
}

static void
lo_send(void *unused)
{
	int c = core_id();

	(void)unused;
	lo_sending[c] = 1;
	for (long k = 0; k < LO_FRAMES; k++) {
		struct iobuf *b = frame_of(60, 0);
		b->data[0] = (uint8_t)c;
		b->data[1] = (uint8_t)k;
		if (netif_send(&lo, b, NULL) != 0)
			__atomic_add_fetch(&lo_bad, 1, __ATOMIC_RELAXED);
	}
	lo_sending[c] = 0;
}

static void
lo_first(void *unused)
{
	(void)unused;
	for (int c = 0; c < NCORES; c++)
		CHECK_EQ(spawn_on(c, lo_send, NULL), 0);
}

TEST(loopback)
{
	struct test_leaks start;

	test_setup(NCORES, 0, TEST_EVENTS);
	iobuf_free(iobuf_alloc(0, 0));		/* the caches, made once, kept */
	start = test_leak_start(NCORES);

	lo.input = lo_input;
	CHECK_EQ(loopback_add(&lo, "lo"), 0);
	CHECK_EQ(strcmp(lo.name, "lo"), 0);
	CHECK_EQ(lo.mtu, LOOPBACK_MTU);
	CHECK_EQ(lo.nqueues, NCORES);
	CHECK_EQ(event_run(lo_first, NULL), 0);
	CHECK_EQ(lo_bad, 0);
	for (int c = 0; c < NCORES; c++)
		CHECK_EQ(lo_next[c], LO_FRAMES);
	CHECK_EQ(lo.stats.tx_frames, NCORES * LO_FRAMES);
	CHECK_EQ(lo.stats.rx_frames, NCORES * LO_FRAMES);
	CHECK_EQ(lo.stats.rx_bytes, NCORES * LO_FRAMES * 60);
	CHECK_EQ(loopback_dropped(), 0);
	CHECK_EQ(iobuf_live(), 0);
	CHECK_EQ(iobuf_blocks_live(), 0);
	test_leak_check(start);
}
