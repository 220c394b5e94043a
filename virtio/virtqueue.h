/*
 * virtqueue.h: the driver side of a split virtqueue (virtio 1.x spec,
 * section 2.7 "Split Virtqueues").  Portable: no transport here.
 *
 * A split virtqueue is three areas in memory the device reads by DMA:
 *
 *   descriptor table  size entries of {addr, len, flags, next}; a buffer
 *                     is a chain of descriptors linked through next
 *   available ring    driver -> device: heads of chains the device may
 *                     use, and avail->idx, how many the driver ever added
 *   used ring         device -> driver: {head, bytes written} of chains
 *                     the device is done with, and used->idx
 *
 * Both idx fields are free-running 16-bit counters; ring slot = idx
 * modulo size (size is a power of two, so the wrap at 65536 falls on a
 * slot boundary and plain uint16_t arithmetic is right across it).
 *
 * Typical sequence (the caller is one core at a time; no lock inside):
 *
 *	virtq_init(&vq, 256, event_idx);	// the transport then tells
 *						// the device virtq_addr_*()
 *	virtq_add(&vq, segs, nout, nin, token);	// 0, or -1: no room
 *	if (virtq_kick(&vq))			// does the device want to
 *		write the notify register;	// hear about it?
 *	...interrupt, or polling...
 *	virtq_disable_cb(&vq);
 *	do {
 *		while ((token = virtq_get(&vq, &len)) != NULL)
 *			complete(token, len);
 *	} while (virtq_enable_cb(&vq));		// re-check: no lost wake-up
 *
 * Memory: one page_alloc block holds the three areas (physically
 * contiguous, 4 KiB aligned, which satisfies every alignment the spec
 * asks: 16 for the table, 2 for the available ring, 4 for the used
 * ring); addresses are DMA addresses because RAM is identity-mapped.
 * Fields are little-endian by the spec; both builds run on x86-64, so
 * they are stored natively.
 */
#ifndef VIRTIO_VIRTQUEUE_H
#define VIRTIO_VIRTQUEUE_H

#include <stddef.h>
#include <stdint.h>

#define VIRTQ_MAX_SIZE	32768	/* the spec's largest queue (2.7) */

/* A descriptor (2.7.5). */
struct virtq_desc {
	uint64_t addr;		/* buffer's DMA (here: physical = virtual) address */
	uint32_t len;		/* buffer's length in bytes */
	uint16_t flags;		/* VIRTQ_DESC_F_* */
	uint16_t next;		/* next descriptor of the chain, if F_NEXT */
};
#define VIRTQ_DESC_F_NEXT	1	/* the chain continues at next */
#define VIRTQ_DESC_F_WRITE	2	/* device writes (else: reads) */

/* The available ring (2.7.6); used_event follows ring[size]. */
struct virtq_avail {
	uint16_t flags;		/* VIRTQ_AVAIL_F_NO_INTERRUPT, without EVENT_IDX */
	uint16_t idx;		/* where the driver puts the next entry */
	uint16_t ring[];	/* heads of chains; then uint16_t used_event */
};
#define VIRTQ_AVAIL_F_NO_INTERRUPT	1	/* driver: don't interrupt me */

/* An entry of the used ring (2.7.8). */
struct virtq_used_elem {
	uint32_t id;		/* head of the chain the device is done with */
	uint32_t len;		/* bytes the device wrote into its buffers */
};

/* The used ring (2.7.8); avail_event follows ring[size]. */
struct virtq_used {
	uint16_t flags;		/* VIRTQ_USED_F_NO_NOTIFY, without EVENT_IDX */
	uint16_t idx;		/* where the device puts the next entry */
	struct virtq_used_elem ring[];	/* then uint16_t avail_event */
};
#define VIRTQ_USED_F_NO_NOTIFY	1	/* device: don't kick me */

/* Feature bit 29 (6, "Reserved Feature Bits"): the event index fields. */
#define VIRTIO_F_EVENT_IDX	29

/*
 * The spec's vring_need_event (2.7.10): has the counter gone from old to
 * new_idx past event, the index the other side asked to be told about?
 * All in 16-bit arithmetic, so it holds across the wrap.
 */
static inline int
vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* One segment of a buffer: the device reads or writes len bytes at buf. */
struct virtq_seg {
	void *buf;
	uint32_t len;
};

/*
 * The driver's state of one queue.  Owned by one core at a time; the
 * rings are shared with the device, and every access to what the device
 * writes (used ring, avail_event) goes through an acquire load or
 * follows a fence (virtqueue.c says which).
 */
struct virtq {
	uint16_t size;		/* entries: a power of two, 1..VIRTQ_MAX_SIZE */
	uint16_t nfree;		/* descriptors on the free list */
	uint16_t free_head;	/* first free descriptor (chained by next) */
	uint16_t avail_idx;	/* the driver's copy of avail->idx */
	uint16_t kicked_idx;	/* avail_idx at the last virtq_kick */
	uint16_t notified_idx;	/* avail_idx at the last notification sent */
	uint16_t last_used;	/* used entries harvested so far */
	int event_idx;		/* VIRTIO_F_EVENT_IDX negotiated? */
	int cb_off;		/* virtq_disable_cb in force (until virtq_enable_cb) */
	int order;		/* page_alloc order of the block */
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	void **token;		/* token[head]: the caller's, NULL if free */
	uint32_t bad;		/* used entries skipped: not a chain the device holds */
};

/* The used_event and avail_event words, after each ring (2.7.6, 2.7.8). */
static inline uint16_t *
virtq_used_event(struct virtq *vq)
{
	return &vq->avail->ring[vq->size];
}
static inline uint16_t *
virtq_avail_event(struct virtq *vq)
{
	return (uint16_t *)&vq->used->ring[vq->size];
}

/*
 * Set up vq with size entries (a power of two up to VIRTQ_MAX_SIZE) and
 * event_idx saying whether VIRTIO_F_EVENT_IDX was negotiated.  0, or -1
 * if size is bad or there is no memory.  The rings are zeroed: the
 * device may be told their addresses (virtq_addr_*) at once.
 */
int virtq_init(struct virtq *vq, int size, int event_idx);

/* Give the memory back; the device must be reset (not using it) first. */
void virtq_destroy(struct virtq *vq);

/* The three DMA addresses the transport writes into the device. */
uint64_t virtq_addr_desc(const struct virtq *vq);
uint64_t virtq_addr_avail(const struct virtq *vq);
uint64_t virtq_addr_used(const struct virtq *vq);

/*
 * Offer the device one buffer: the nout segments it reads, then the nin
 * it writes (seg[0..nout-1], seg[nout..nout+nin-1]).  token (not NULL)
 * comes back from virtq_get when the device is done.  Returns 0, or -1
 * (nothing changed) if nout + nin is 0 or more descriptors than are free:
 * a full queue is an error the caller handles, not a panic.  The buffer
 * belongs to the device until virtq_get returns its token.  The device is
 * not told: see virtq_kick.
 */
int virtq_add(struct virtq *vq, const struct virtq_seg *seg, int nout, int nin,
    void *token);

/*
 * Must the device be notified of what was added since the last kick?
 * 1: the caller writes the transport's notify register; 0: the device
 * said it does not need it (it is still polling, or has not caught up
 * with the index it asked about).
 */
int virtq_kick(struct virtq *vq);

/*
 * Is the device waiting for a notification it was never sent?  1 if it
 * asked to hear about an entry published since the last notification
 * (with EVENT_IDX: avail_event lies in [notified_idx, avail_idx);
 * without: something was published since, NO_NOTIFY is clear, and the
 * device has not used every entry).
 * virtq_kick normally sees such a request in time; when its load of
 * avail_event and the device's load of avail->idx both miss the other's
 * store (barrier 3 not honoured: virtqueue.c), only a later look finds
 * it.  A device in the middle of its work may also say 1 for a moment;
 * a caller that wants a lost notification, not a busy device, looks
 * twice with no progress (virtq_used_idx) in between.
 */
int virtq_kick_owed(struct virtq *vq);

/* Record a notification sent outside virtq_kick (virtq_kick_owed's answer). */
void virtq_kicked(struct virtq *vq);

/*
 * Is an interrupt overdue?  1 if callbacks are on (virtq_enable_cb) and
 * the device has used entries virtq_get has not taken: the device
 * should have interrupted (or is about to).  The twin of
 * virtq_kick_owed, for barrier 4.
 */
int virtq_irq_owed(struct virtq *vq);

/* The device's used->idx now: its progress (acquire load). */
uint16_t virtq_used_idx(struct virtq *vq);

/*
 * The next buffer the device is done with: its token, and in *len the
 * bytes the device wrote; NULL if there is none.  Its descriptors go back
 * on the free list.  A used entry that names no chain the device holds
 * (a broken or malicious device) is skipped and counted in vq->bad.
 */
void *virtq_get(struct virtq *vq, uint32_t *len);

/*
 * After the device is reset (it holds nothing any more): take back one
 * buffer still offered to it, returning its token, or NULL when none is
 * left.  For freeing a queue's buffers before virtq_destroy.
 */
void *virtq_detach_unused(struct virtq *vq);

/* Ask the device not to interrupt when it uses buffers (a hint). */
void virtq_disable_cb(struct virtq *vq);

/*
 * Ask for an interrupt at the next used buffer again.  Returns 1 if used
 * buffers arrived meanwhile (their interrupt may never come): the caller
 * must call virtq_get again, and then virtq_enable_cb again.
 */
int virtq_enable_cb(struct virtq *vq);

/* Free descriptors: size when no buffer is with the device. */
static inline int
virtq_free_count(const struct virtq *vq)
{
	return vq->nfree;
}

#endif
