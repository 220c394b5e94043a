/*
 * test_virtq.c: the split virtqueue (virtio/virtqueue.c), hosted.
 *
 * A device model plays the device's side of the rings in memory, as a
 * virtio device would by DMA: it reads avail->idx and the heads it
 * covers, walks each descriptor chain (readable segments first, then
 * writable ones), writes into the writable ones, puts {head, bytes
 * written} on the used ring, and decides, as the spec says a device
 * must, whether to interrupt (used_event or NO_INTERRUPT) and asks for
 * kicks (avail_event or NO_NOTIFY).  Every test ends with the free
 * count back at the queue size and the pages given back: no leaks.
 */
#include <string.h>

#include "kernel/page.h"
#include "test.h"
#include "virtio/virtqueue.h"

/* The device's side of one queue. */
struct dev {
	struct virtq *vq;	/* only for the ring addresses and size */
	uint16_t last_avail;	/* avail entries taken so far */
	uint16_t used_idx;	/* the device's copy of used->idx */
	long interrupts;	/* times it would have interrupted */
	long bad;		/* malformed chains seen */
};

/* Take the next available head, or -1: reads avail->idx, then the slot. */
static int
dev_pop(struct dev *d)
{
	struct virtq *vq = d->vq;
	uint16_t head;

	/* Acquire: the driver wrote the slot, then released idx. */
	if (__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) == d->last_avail)
		return -1;
	head = vq->avail->ring[d->last_avail & (vq->size - 1)];
	d->last_avail++;
	return head;
}

/*
 * Ask for a kick at the next add (the device has caught up), then a
 * full fence before re-reading avail->idx: the device's half of the
 * pairing with virtq_kick.  Returns 1 if more is available already.
 */
static int
dev_want_kick(struct dev *d)
{
	struct virtq *vq = d->vq;

	if (vq->event_idx)
		__atomic_store_n(virtq_avail_event(vq), d->last_avail, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&vq->used->flags, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&vq->avail->idx, __ATOMIC_RELAXED) != d->last_avail;
}

/* Walk head's chain: check its shape, fill writable bytes; bytes written. */
static uint32_t
dev_consume(struct dev *d, int head)
{
	struct virtq *vq = d->vq;
	uint16_t i = (uint16_t)head;
	int writing = 0, n = 0;
	uint32_t written = 0;

	for (;;) {
		struct virtq_desc *desc = &vq->desc[i];

		if (desc->flags & VIRTQ_DESC_F_WRITE) {
			writing = 1;
			memset((void *)(uintptr_t)desc->addr, head & 0xff, desc->len);
			written += desc->len;
		} else if (writing) {
			d->bad++;	/* readable after writable */
		}
		if (++n > vq->size) {
			d->bad++;	/* a loop */
			break;
		}
		if (!(desc->flags & VIRTQ_DESC_F_NEXT))
			break;
		i = desc->next;
	}
	return written;
}

/* Put head on the used ring; interrupt if the driver asked. */
static void
dev_push(struct dev *d, int head, uint32_t len)
{
	struct virtq *vq = d->vq;
	uint16_t old = d->used_idx;
	struct virtq_used_elem *e = &vq->used->ring[old & (vq->size - 1)];
	int want;

	e->id = (uint32_t)head;
	e->len = len;
	d->used_idx++;
	/* Release: the entry before the idx that hands it over. */
	__atomic_store_n(&vq->used->idx, d->used_idx, __ATOMIC_RELEASE);
	/* Full fence: our idx store before reading what the driver wants. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx)
		want = vring_need_event(*virtq_used_event(vq), d->used_idx, old);
	else
		want = !(vq->avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
	d->interrupts += want;
}

/* Take, consume and complete everything available, in order. */
static int
dev_run(struct dev *d)
{
	int head, n = 0;

	while ((head = dev_pop(d)) >= 0) {
		dev_push(d, head, dev_consume(d, head));
		n++;
	}
	return n;
}

static char bufs[64][64];	/* the buffers the tests hand out */

/* A chain of nout readable and nin writable 16-byte pieces of bufs[k]. */
static int
add_chain(struct virtq *vq, int k, int nout, int nin)
{
	struct virtq_seg seg[4];

	for (int s = 0; s < nout + nin; s++) {
		seg[s].buf = &bufs[k & 63][16 * s];
		seg[s].len = 16;
	}
	return virtq_add(vq, seg, nout, nin, &bufs[k & 63]);
}

static size_t free0;

static void
setup(struct virtq *vq, struct dev *d, int size, int event_idx)
{
	free0 = test_setup(1, 0, TEST_SLAB);
	CHECK_EQ(virtq_init(vq, size, event_idx), 0);
	memset(d, 0, sizeof *d);
	d->vq = vq;
}

static void
teardown(struct virtq *vq, struct dev *d)
{
	CHECK_EQ(virtq_free_count(vq), vq->size);
	CHECK_EQ(d->bad, 0);
	virtq_destroy(vq);
	CHECK_EQ(page_count_free(), free0);
}

TEST(virtq_init_sizes)
{
	struct virtq vq;

	test_setup(1, 0, TEST_SLAB);
	CHECK_EQ(virtq_init(&vq, 0, 0), -1);
	CHECK_EQ(virtq_init(&vq, 12, 0), -1);
	CHECK_EQ(virtq_init(&vq, 65536, 0), -1);
	for (int size = 1; size <= VIRTQ_MAX_SIZE; size <<= 1) {
		size_t f = page_count_free();

		CHECK_EQ(virtq_init(&vq, size, 1), 0);
		CHECK_EQ(virtq_free_count(&vq), size);
		CHECK_EQ(virtq_addr_desc(&vq) % PAGE_SIZE, 0);
		CHECK_EQ(virtq_addr_avail(&vq) % 2, 0);
		CHECK_EQ(virtq_addr_used(&vq) % 4, 0);
		virtq_destroy(&vq);
		CHECK_EQ(page_count_free(), f);
	}
}

TEST(virtq_in_order)
{
	struct virtq vq;
	struct dev d;
	uint32_t len;

	setup(&vq, &d, 16, 0);
	for (int k = 0; k < 5; k++)
		CHECK_EQ(add_chain(&vq, k, 1, k % 3), 0);
	CHECK_EQ(virtq_free_count(&vq), 16 - (1 + 2 + 3 + 1 + 2));
	CHECK_EQ(dev_run(&d), 5);
	for (int k = 0; k < 5; k++) {
		CHECK(virtq_get(&vq, &len) == &bufs[k]);
		CHECK_EQ(len, 16 * (k % 3));
	}
	CHECK(virtq_get(&vq, &len) == NULL);
	teardown(&vq, &d);
}

TEST(virtq_out_of_order)
{
	struct virtq vq;
	struct dev d;
	int heads[8];
	uint32_t len;

	setup(&vq, &d, 8, 1);
	for (int k = 0; k < 4; k++)
		CHECK_EQ(add_chain(&vq, k, 1, 1), 0);
	CHECK_EQ(virtq_free_count(&vq), 0);
	for (int k = 0; k < 4; k++)
		heads[k] = dev_pop(&d);
	CHECK_EQ(dev_pop(&d), -1);
	/* Complete 2, 0, 3, 1. */
	static const int order[4] = { 2, 0, 3, 1 };
	for (int j = 0; j < 4; j++) {
		int k = order[j];

		dev_push(&d, heads[k], dev_consume(&d, heads[k]));
		CHECK(virtq_get(&vq, &len) == &bufs[k]);
		CHECK_EQ(len, 16);
		CHECK_EQ(virtq_free_count(&vq), 2 * (j + 1));
	}
	teardown(&vq, &d);
}

/* Over 65536 buffers on a queue of 8: both indexes wrap, nothing leaks. */
TEST(virtq_wrap)
{
	struct virtq vq;
	struct dev d;
	int held[8], nheld = 0, added = 0, done = 0;
	void *tok;

	setup(&vq, &d, 8, 1);
	while (done < 200000) {
		int r = (int)(test_rnd() % 4);

		if (r < 2 && added - done < 8) {
			int nout = 1 + (int)(test_rnd() % 2), nin = (int)(test_rnd() % 2);

			if (add_chain(&vq, added, nout, nin) == 0)
				added++;
			else
				CHECK(virtq_free_count(&vq) < nout + nin);
		} else if (r == 2) {
			int h = dev_pop(&d);

			if (h >= 0)
				held[nheld++] = h;
		} else if (nheld > 0) {
			int j = (int)(test_rnd() % (unsigned)nheld);	/* any order */

			dev_push(&d, held[j], dev_consume(&d, held[j]));
			held[j] = held[--nheld];
			CHECK((tok = virtq_get(&vq, NULL)) != NULL);
			done++;
		}
	}
	/* Drain what is still outstanding. */
	while ((tok = virtq_get(&vq, NULL)) != NULL || added != done) {
		if (tok != NULL) {
			done++;
			continue;
		}
		for (int h; (h = dev_pop(&d)) >= 0;)
			held[nheld++] = h;
		while (nheld > 0) {
			nheld--;
			dev_push(&d, held[nheld], 0);
		}
	}
	CHECK(added > 65536);
	CHECK_EQ(vq.avail_idx, (uint16_t)added);
	CHECK_EQ(vq.last_used, (uint16_t)done);
	teardown(&vq, &d);
}

/* EVENT_IDX: kicks only when the device asked, interrupts likewise. */
TEST(virtq_event_idx)
{
	struct virtq vq;
	struct dev d;
	int kicks = 0;

	setup(&vq, &d, 16, 1);
	/* A fresh device asks for the first entry (avail_event 0). */
	for (int k = 0; k < 4; k++) {
		CHECK_EQ(add_chain(&vq, k, 1, 0), 0);
		kicks += virtq_kick(&vq);
	}
	CHECK_EQ(kicks, 1);		/* the device has not caught up since */
	CHECK_EQ(virtq_kick(&vq), 0);	/* nothing new */
	CHECK_EQ(virtq_enable_cb(&vq), 0);	/* used_event = 0 */
	CHECK_EQ(dev_run(&d), 4);
	CHECK_EQ(d.interrupts, 1);	/* only crossing used_event 0 */
	CHECK_EQ(dev_want_kick(&d), 0);	/* avail_event = 4 */

	/* Three batches of two, each kicked once. */
	kicks = 0;
	for (int b = 0; b < 3; b++) {
		for (int k = 0; k < 2; k++) {
			CHECK_EQ(add_chain(&vq, k, 1, 0), 0);
			kicks += virtq_kick(&vq);
		}
		dev_run(&d);
		dev_want_kick(&d);
	}
	CHECK_EQ(kicks, 3);

	/* Interrupts: disabled, none; enabled, one per harvest round. */
	while (virtq_get(&vq, NULL) != NULL)
		;
	d.interrupts = 0;
	virtq_disable_cb(&vq);
	CHECK_EQ(add_chain(&vq, 0, 1, 0), 0);
	CHECK_EQ(add_chain(&vq, 1, 1, 0), 0);
	dev_run(&d);
	CHECK_EQ(d.interrupts, 0);
	/* The lost wake-up: entries arrived while disabled; enable says so. */
	CHECK_EQ(virtq_enable_cb(&vq), 1);
	CHECK(virtq_get(&vq, NULL) != NULL);
	CHECK(virtq_get(&vq, NULL) != NULL);
	CHECK_EQ(virtq_enable_cb(&vq), 0);
	CHECK_EQ(add_chain(&vq, 2, 1, 0), 0);
	CHECK_EQ(add_chain(&vq, 3, 1, 0), 0);
	dev_run(&d);
	CHECK_EQ(d.interrupts, 1);	/* the first entry only */
	while (virtq_get(&vq, NULL) != NULL)
		;
	teardown(&vq, &d);
}

/* Without EVENT_IDX: NO_NOTIFY and NO_INTERRUPT flags. */
TEST(virtq_flags)
{
	struct virtq vq;
	struct dev d;

	setup(&vq, &d, 8, 0);
	CHECK_EQ(add_chain(&vq, 0, 1, 0), 0);
	CHECK_EQ(virtq_kick(&vq), 1);
	CHECK_EQ(virtq_kick(&vq), 0);		/* nothing new */
	vq.used->flags = VIRTQ_USED_F_NO_NOTIFY;	/* the device polls */
	CHECK_EQ(add_chain(&vq, 1, 1, 0), 0);
	CHECK_EQ(virtq_kick(&vq), 0);
	dev_run(&d);
	CHECK_EQ(d.interrupts, 2);
	CHECK_EQ(dev_want_kick(&d), 0);	/* flags back to 0 */
	CHECK_EQ(add_chain(&vq, 2, 1, 0), 0);
	CHECK_EQ(virtq_kick(&vq), 1);
	virtq_disable_cb(&vq);
	dev_run(&d);
	CHECK_EQ(d.interrupts, 2);
	CHECK_EQ(virtq_enable_cb(&vq), 1);
	for (int k = 0; k < 3; k++)
		CHECK(virtq_get(&vq, NULL) == &bufs[k]);
	CHECK_EQ(virtq_enable_cb(&vq), 0);
	teardown(&vq, &d);
}

/*
 * The lost kick, by hand: the device's request (avail_event) lands only
 * after virtq_kick has decided, as when neither side's fence holds.
 * virtq_kick_owed sees it; virtq_kicked records the kick sent for it.
 */
TEST(virtq_lost_kick)
{
	struct virtq vq;
	struct dev d;

	setup(&vq, &d, 16, 1);
	CHECK_EQ(virtq_kick_owed(&vq), 0);	/* nothing published */
	CHECK_EQ(add_chain(&vq, 0, 1, 0), 0);
	CHECK_EQ(virtq_kick(&vq), 1);		/* the first entry: asked for */
	CHECK_EQ(virtq_kick_owed(&vq), 0);
	CHECK_EQ(dev_run(&d), 1);		/* last_avail 1; avail_event still 0 */
	CHECK_EQ(add_chain(&vq, 1, 1, 0), 0);
	CHECK_EQ(virtq_kick(&vq), 0);		/* decided on the old request */
	CHECK_EQ(virtq_kick_owed(&vq), 0);	/* and it is still the old one */
	*virtq_avail_event(&vq) = d.last_avail;	/* the device's store lands */
	CHECK_EQ(virtq_kick_owed(&vq), 1);	/* it waits for entry 1 */
	CHECK_EQ(virtq_kick(&vq), 0);		/* nothing new to decide on */
	virtq_kicked(&vq);			/* the caller notified */
	CHECK_EQ(virtq_kick_owed(&vq), 0);
	CHECK_EQ(dev_run(&d), 1);
	CHECK_EQ(dev_want_kick(&d), 0);		/* avail_event 2: the next entry */
	CHECK_EQ(add_chain(&vq, 2, 1, 0), 0);
	CHECK_EQ(virtq_kick_owed(&vq), 1);	/* published, not yet decided */
	CHECK_EQ(virtq_kick(&vq), 1);
	CHECK_EQ(virtq_kick_owed(&vq), 0);
	CHECK_EQ(dev_run(&d), 1);
	while (virtq_get(&vq, NULL) != NULL)
		;
	teardown(&vq, &d);
}

/* Without EVENT_IDX: owed while the flag is clear and entries wait. */
TEST(virtq_lost_kick_flags)
{
	struct virtq vq;
	struct dev d;

	setup(&vq, &d, 8, 0);
	vq.used->flags = VIRTQ_USED_F_NO_NOTIFY;	/* busy */
	CHECK_EQ(add_chain(&vq, 0, 1, 0), 0);
	CHECK_EQ(virtq_kick(&vq), 0);
	CHECK_EQ(virtq_kick_owed(&vq), 0);	/* it said it would look */
	vq.used->flags = 0;			/* ... and went idle unseen */
	CHECK_EQ(virtq_kick_owed(&vq), 1);
	CHECK_EQ(dev_run(&d), 1);
	CHECK_EQ(virtq_kick_owed(&vq), 0);	/* it took everything anyway */
	while (virtq_get(&vq, NULL) != NULL)
		;
	teardown(&vq, &d);
}

/* An overdue interrupt: callbacks on, used entries not taken. */
TEST(virtq_lost_irq)
{
	struct virtq vq;
	struct dev d;

	setup(&vq, &d, 8, 1);
	CHECK_EQ(add_chain(&vq, 0, 0, 1), 0);
	virtq_disable_cb(&vq);
	dev_run(&d);
	CHECK_EQ(virtq_irq_owed(&vq), 0);	/* off: polled, nothing owed */
	CHECK_EQ(virtq_used_idx(&vq), 1);
	vq.cb_off = 0;				/* on, with the entry unseen */
	CHECK_EQ(virtq_irq_owed(&vq), 1);
	CHECK(virtq_get(&vq, NULL) == &bufs[0]);
	CHECK_EQ(virtq_irq_owed(&vq), 0);
	teardown(&vq, &d);
}

/* A full queue and bad chains are refused, changing nothing. */
TEST(virtq_full)
{
	struct virtq vq;
	struct dev d;
	struct virtq_seg seg[9];

	setup(&vq, &d, 8, 1);
	for (int s = 0; s < 9; s++) {
		seg[s].buf = bufs[s];
		seg[s].len = 1;
	}
	CHECK_EQ(virtq_add(&vq, seg, 0, 0, bufs[0]), -1);	/* empty */
	CHECK_EQ(virtq_add(&vq, seg, 5, 4, bufs[0]), -1);	/* > size */
	CHECK_EQ(virtq_free_count(&vq), 8);
	CHECK_EQ(virtq_add(&vq, seg, 3, 3, bufs[0]), 0);
	CHECK_EQ(virtq_add(&vq, seg, 2, 1, bufs[1]), -1);	/* 3 > 2 free */
	CHECK_EQ(virtq_free_count(&vq), 2);
	CHECK_EQ(vq.avail_idx, 1);
	CHECK_EQ(virtq_add(&vq, seg, 1, 1, bufs[1]), 0);
	CHECK_EQ(add_chain(&vq, 2, 1, 0), -1);
	CHECK_EQ(dev_run(&d), 2);
	CHECK(virtq_get(&vq, NULL) == bufs[0]);
	CHECK(virtq_get(&vq, NULL) == bufs[1]);
	teardown(&vq, &d);
}

/* A device that uses nothing: adds fail once full, then recover. */
TEST(virtq_stall)
{
	struct virtq vq;
	struct dev d;
	int added = 0, refused = 0;

	setup(&vq, &d, 16, 1);
	for (int k = 0; k < 40; k++) {
		if (add_chain(&vq, k, 1, 1) == 0)
			added++;
		else
			refused++;
		CHECK(virtq_get(&vq, NULL) == NULL);	/* the device stalls */
	}
	CHECK_EQ(added, 8);
	CHECK_EQ(refused, 32);
	CHECK_EQ(virtq_free_count(&vq), 0);
	/* The device wakes up: everything comes back, adds work again. */
	CHECK_EQ(dev_run(&d), 8);
	for (int k = 0; k < 8; k++)
		CHECK(virtq_get(&vq, NULL) == &bufs[k]);
	for (int k = 0; k < 8; k++)
		CHECK_EQ(add_chain(&vq, k, 1, 1), 0);
	CHECK_EQ(dev_run(&d), 8);
	while (virtq_get(&vq, NULL) != NULL)
		;
	teardown(&vq, &d);
}
