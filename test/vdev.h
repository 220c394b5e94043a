/*
 * vdev.h: a virtio-net device model for the hosted tests of the driver
 * (test/test_vnet.c).  Test code only.
 *
 * It implements struct virtio_transport in memory and plays the
 * device's side of the rings, as a virtio-net device would by DMA (the
 * approach of test/test_virtq.c):
 *
 *   status and features  the status byte; FEATURES_OK cleared again if
 *                        told to refuse; the 64 feature bits offered
 *   config               MAC, link status, max_virtqueue_pairs (5.1.4)
 *   queues               queue_max, queue_enable (remembers the virtq,
 *                        the core and the handler; may claim no
 *                        interrupt could be routed: -2)
 *   receive (vdev_rx)    pops available buffers (moving avail_event as
 *                        QEMU does), writes a struct virtio_net_hdr and
 *                        the frame across one or (MRG_RXBUF) several,
 *                        puts them on the used ring with one index
 *                        update, and interrupts if the driver asked:
 *                        the queue's handler runs as an event on the
 *                        queue's core (spawn_on_record, one pending
 *                        at a time)
 *   transmit (notify)    walks each chain (readable only), records the
 *                        last frame (header, bytes, each descriptor's
 *                        address and length) and counts them all; a
 *                        stalled device takes nothing, a lazy one only
 *                        when the test says (vdev_tx_run)
 *   control (notify)     VIRTIO_NET_CTRL_MQ / VQ_PAIRS_SET recorded and
 *                        answered OK, ERR, or never
 *   rx_kick mode         as QEMU: a receive queue that found no buffer
 *                        takes no frame until the driver kicks it
 *   lose modes           (per queue, set after attach) the device
 *                        loses one handshake as a device
 *                        whose fence is not honoured does (virtio/
 *                        net_watch.c): its store of avail_event (or of
 *                        used->idx) is held back, as in a store buffer,
 *                        while its load of avail->idx (of used_event)
 *                        goes ahead and sees the driver's old value; the
 *                        test lands the held store (vdev_land) once the
 *                        driver has made the decision that misses it
 *
 * Per-queue state is touched by one agent at a time: a TX queue by the
 * core that owns it (notify runs there), RX queues by whoever injects
 * (a test's event on core 0), everything else while the loops are
 * stopped.  Mistakes of the driver that the model can see are counted
 * in `errors` (a kick before DRIVER_OK, a writable TX descriptor, ...).
 */
#ifndef TEST_VDEV_H
#define TEST_VDEV_H

#include <string.h>

#include "ebb/event.h"
#include "test.h"
#include "virtio/net.h"

#define VDEV_QMAX	17		/* 8 pairs and a control queue */
#define VDEV_SEGS	40		/* descriptors recorded per TX frame */
#define VDEV_FRAME_MAX	70000		/* bytes recorded per TX frame */

enum { CTRL_OK, CTRL_ERR, CTRL_SILENT };	/* how the model answers */

/* One queue, the device's side. */
struct vdev_q {
	struct virtq *vq;		/* NULL: not enabled */
	int core;
	void (*handler)(void *);
	void *arg;
	uint16_t last_avail;		/* avail entries taken */
	uint16_t used_idx;		/* the device's copy of used->idx */
	long kicks, interrupts;
	int rx_wait;			/* rx_kick mode: no buffer found; waits for a kick */
	int lose_kick;			/* lose the next kick handshake (TX, or RX out of buffers) */
	int lose_irq;			/* lose the next interrupt handshake */
	int late_event;			/* a held store of avail_event; -1: none */
	int late_used;			/* a held store of used->idx; -1: none */
	struct event irq_ev;		/* the interrupt's event: allocates nothing */
	int irq_pending;		/* irq_ev is queued (atomic) */
	/* TX: what the device took. */
	long frames;
	uint64_t bytes;
	int ndesc;			/* of the last frame */
	uint64_t addr[VDEV_SEGS];
	uint32_t len[VDEV_SEGS];
	struct virtio_net_hdr hdr;	/* the last frame's header */
	uint32_t flen;			/* and its bytes after the header */
	uint8_t frame[VDEV_FRAME_MAX];
};

struct vdev {
	struct virtio_dev d;
	uint64_t offered, driver_features;
	uint8_t status;
	int refuse;			/* clear FEATURES_OK when set */
	int irq_result;			/* what queue_enable says with a handler */
	int qsize;			/* every queue's maximum */
	int nq;				/* queues the device has */
	uint8_t mac[6];
	uint16_t link, max_pairs;
	int tx_stall, tx_lazy;
	int ctrl_mode;
	int ctrl_q;			/* the queue the control command came on */
	uint8_t ctrl_cls, ctrl_cmd;
	uint16_t ctrl_data;
	long ctrl_count, resets, errors;
	long rx_nobuf;			/* frames the device had no buffers for */
	int rx_kick;			/* rx_kick mode (see the top) */
	uint64_t rx_addr[VDEV_SEGS];	/* buffers the last received frame used */
	int rx_nbufs;
	struct vdev_q q[VDEV_QMAX];
};

static inline struct vdev *
vdev_of(struct virtio_dev *d)
{
	return d->priv;
}

/* ---- the rings ----------------------------------------------------------- */

/* Take the next available head, or -1; asks for a kick at the next one. */
static inline int
vdev_pop(struct vdev_q *q)
{
	struct virtq *vq = q->vq;
	int head;

	/* Acquire: the driver wrote the slot, then released idx. */
	if (__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) == q->last_avail)
		return -1;
	head = vq->avail->ring[q->last_avail & (vq->size - 1)];
	q->last_avail++;
	/* As QEMU: the next add is worth a kick (not while losing: its notification is off). */
	if (vq->event_idx && q->late_event < 0 && !q->lose_kick)
		__atomic_store_n(virtq_avail_event(vq), q->last_avail, __ATOMIC_RELAXED);
	return head;
}

/* Buffers available and not taken. */
static inline int
vdev_avail(struct vdev_q *q)
{
	return (uint16_t)(__atomic_load_n(&q->vq->avail->idx, __ATOMIC_ACQUIRE) -
	    q->last_avail);
}

/*
 * Caught up: ask for a kick at the next add; full fence before re-reading.
 * In a lose mode (q->lose_kick, EVENT_IDX) the store is held back instead:
 * vdev_land makes it visible after the driver has decided not to kick.
 */
static inline void
vdev_want_kick(struct vdev_q *q)
{
	struct virtq *vq = q->vq;

	if (vq->event_idx && q->lose_kick) {
		q->lose_kick = 0;
		q->late_event = q->last_avail;
		return;
	}
	if (vq->event_idx)
		__atomic_store_n(virtq_avail_event(vq), q->last_avail, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&vq->used->flags, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Write a used entry at used_idx + k (not yet published). */
static inline void
vdev_used_at(struct vdev_q *q, int k, uint32_t id, uint32_t len)
{
	struct virtq_used_elem *e =
	    &q->vq->used->ring[(uint16_t)(q->used_idx + k) & (q->vq->size - 1)];

	e->id = id;
	e->len = len;
}

/*
 * The interrupt, on the queue's core.  Clearing irq_pending first: a
 * device that publishes after this still sees 0 and queues another.
 */
static inline void
vdev_irq(void *arg)
{
	struct vdev_q *q = arg;

	/* Release: pairs with vdev_publish's exchange. */
	__atomic_store_n(&q->irq_pending, 0, __ATOMIC_RELEASE);
	if (q->handler != NULL)
		q->handler(q->arg);
}

/*
 * Publish n used entries; interrupt if asked: an event on the queue's
 * core, on a record of the queue's own (a pending interrupt is not
 * queued twice, like an MSI-X pending bit), so it works when memory
 * has run out.
 */
static inline void
vdev_publish(struct vdev_q *q, int n)
{
	struct virtq *vq = q->vq;
	uint16_t old = q->used_idx;
	int want;

	q->used_idx = (uint16_t)(q->used_idx + n);
	if (q->lose_irq && q->late_used < 0) {
		/* Held back (vdev_land); used_event read stale: no interrupt. */
		q->lose_irq = 0;
		q->late_used = q->used_idx;
		return;
	}
	/* Release: the entries before the idx that hands them over. */
	__atomic_store_n(&vq->used->idx, q->used_idx, __ATOMIC_RELEASE);
	q->late_used = -1;		/* a held store is overtaken */
	/* Full fence: our idx store before reading what the driver wants. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx)
		want = vring_need_event(__atomic_load_n(virtq_used_event(vq),
		    __ATOMIC_RELAXED), q->used_idx, old);
	else
		want = !(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) &
		    VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (want) {
		q->interrupts++;
		if (q->handler != NULL &&
		    !__atomic_exchange_n(&q->irq_pending, 1, __ATOMIC_ACQ_REL))
			spawn_on_record(q->core, &q->irq_ev, vdev_irq, q);
	}
}

/*
 * The held stores land, once the driver has made the decision that
 * misses them: avail_event once avail->idx has moved past it (the
 * driver published and decided not to kick), used->idx once callbacks
 * are on (the driver re-enabled them and saw nothing).  The device does
 * not look again: its stale load came first.  On the queue's core.
 */
static inline void
vdev_land(struct vdev *m)
{
	for (int i = 0; i < m->nq; i++) {
		struct vdev_q *q = &m->q[i];
		struct virtq *vq = q->vq;

		if (vq == NULL)
			continue;
		if (q->late_event >= 0 &&
		    __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) != q->late_event) {
			__atomic_store_n(virtq_avail_event(vq), (uint16_t)q->late_event,
			    __ATOMIC_RELAXED);
			q->late_event = -1;
		}
		if (q->late_used >= 0 && !vq->cb_off) {
			__atomic_store_n(&vq->used->idx, (uint16_t)q->late_used,
			    __ATOMIC_RELEASE);
			q->late_used = -1;
		}
	}
}

/* ---- receive ------------------------------------------------------------- */

/*
 * The device receives frame (len bytes) on pair's receive queue with
 * header h (num_buffers is filled in), at most chunk bytes per buffer
 * (0: as many as fit).  0, or -1 if there were not enough buffers (the
 * frame is dropped, as a device does, and nothing is taken).
 */
static inline int
vdev_rx(struct vdev *m, int pair, const struct virtio_net_hdr *h,
    const void *frame, uint32_t len, uint32_t chunk)
{
	struct vdev_q *q = &m->q[2 * pair];
	int mrg = (m->driver_features >> VIRTIO_NET_F_MRG_RXBUF) & 1;
	uint16_t start = q->last_avail;
	uint32_t take[VDEV_SEGS], left = VIRTIO_NET_HDR_LEN + len, off = 0;
	int heads[VDEV_SEGS], n = 0;
	struct virtio_net_hdr hdr = *h;

	if (q->rx_wait) {		/* rx_kick mode: until the driver kicks */
		m->rx_nobuf++;
		return -1;
	}
	while (left > 0) {
		int head = n < VDEV_SEGS ? vdev_pop(q) : -1;
		uint32_t cap;

		if (head < 0 || (!mrg && n == 1)) {
			q->last_avail = start;	/* put them back: dropped */
			m->rx_nobuf++;
			if (m->rx_kick && head < 0) {
				q->rx_wait = 1;
				vdev_want_kick(q);
			}
			return -1;
		}
		cap = q->vq->desc[head].len;
		if (!(q->vq->desc[head].flags & VIRTQ_DESC_F_WRITE))
			m->errors++;
		if (chunk != 0 && cap > chunk)
			cap = chunk;
		heads[n] = head;
		take[n] = cap < left ? cap : left;
		left -= take[n++];
	}
	hdr.num_buffers = (uint16_t)n;
	m->rx_nbufs = n;
	for (int k = 0; k < n; k++) {
		uint8_t *buf = (uint8_t *)(uintptr_t)q->vq->desc[heads[k]].addr;
		uint32_t t = take[k], h0 = 0;

		m->rx_addr[k] = (uintptr_t)buf;
		if (k == 0) {
			memcpy(buf, &hdr, VIRTIO_NET_HDR_LEN);
			h0 = VIRTIO_NET_HDR_LEN;
		}
		memcpy(buf + h0, (const uint8_t *)frame + off, t - h0);
		off += t - h0;
		vdev_used_at(q, k, (uint32_t)heads[k], t);
	}
	vdev_publish(q, n);
	return 0;
}

/* A raw used entry on pair's receive queue (malformed-input tests). */
static inline void
vdev_rx_used(struct vdev *m, int pair, uint32_t id, uint32_t len)
{
	vdev_used_at(&m->q[2 * pair], 0, id, len);
	vdev_publish(&m->q[2 * pair], 1);
}

/* ---- transmit and control ------------------------------------------------ */

/* Take every frame on transmit queue qi; how many. */
static inline int
vdev_tx_run(struct vdev *m, int qi)
{
	struct vdev_q *q = &m->q[qi];
	int head, n = 0;

	while ((head = vdev_pop(q)) >= 0) {
		uint16_t i = (uint16_t)head;
		uint32_t got = 0;

		q->ndesc = 0;
		for (;;) {
			struct virtq_desc *dd = &q->vq->desc[i];

			if (dd->flags & VIRTQ_DESC_F_WRITE)
				m->errors++;	/* TX buffers are read-only */
			if (q->ndesc < VDEV_SEGS) {
				q->addr[q->ndesc] = dd->addr;
				q->len[q->ndesc] = dd->len;
			}
			q->ndesc++;
			for (uint32_t b = 0; b < dd->len; b++, got++) {
				uint8_t c = ((uint8_t *)(uintptr_t)dd->addr)[b];

				if (got < VIRTIO_NET_HDR_LEN)
					((uint8_t *)&q->hdr)[got] = c;
				else if (got - VIRTIO_NET_HDR_LEN < VDEV_FRAME_MAX)
					q->frame[got - VIRTIO_NET_HDR_LEN] = c;
			}
			if (!(dd->flags & VIRTQ_DESC_F_NEXT) || q->ndesc > q->vq->size)
				break;
			i = dd->next;
		}
		if (got < VIRTIO_NET_HDR_LEN)
			m->errors++;	/* no room for the header */
		q->flen = got - VIRTIO_NET_HDR_LEN;
		q->frames++;
		q->bytes += q->flen;
		vdev_used_at(q, 0, (uint32_t)head, 0);
		vdev_publish(q, 1);
		n++;
	}
	vdev_want_kick(q);
	return n;
}

/* The control queue: one command, answered as ctrl_mode says. */
static inline void
vdev_ctrl_run(struct vdev *m, int qi)
{
	struct vdev_q *q = &m->q[qi];
	struct virtq_desc *d0, *d1, *d2;
	int head;

	if (m->ctrl_mode == CTRL_SILENT || (head = vdev_pop(q)) < 0)
		return;
	d0 = &q->vq->desc[head];
	d1 = &q->vq->desc[d0->next];
	d2 = &q->vq->desc[d1->next];
	if (!(d0->flags & VIRTQ_DESC_F_NEXT) || !(d1->flags & VIRTQ_DESC_F_NEXT) ||
	    d0->len != 2 || d1->len != 2 || !(d2->flags & VIRTQ_DESC_F_WRITE) ||
	    d2->len != 1) {
		m->errors++;
		return;
	}
	m->ctrl_q = qi;
	m->ctrl_cls = ((uint8_t *)(uintptr_t)d0->addr)[0];
	m->ctrl_cmd = ((uint8_t *)(uintptr_t)d0->addr)[1];
	memcpy(&m->ctrl_data, (void *)(uintptr_t)d1->addr, 2);
	m->ctrl_count++;
	*(uint8_t *)(uintptr_t)d2->addr = m->ctrl_mode == CTRL_OK ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
	vdev_used_at(q, 0, (uint32_t)head, 1);
	vdev_publish(q, 1);
}

/* ---- the transport ops --------------------------------------------------- */

static void
vdev_reset(struct virtio_dev *d)
{
	struct vdev *m = vdev_of(d);

	m->status = 0;
	m->driver_features = 0;
	m->resets++;
	for (int i = 0; i < VDEV_QMAX; i++) {
		m->q[i].vq = NULL;
		m->q[i].handler = NULL;
		m->q[i].last_avail = m->q[i].used_idx = 0;
		m->q[i].rx_wait = 0;
		m->q[i].late_event = m->q[i].late_used = -1;
	}
}

static uint8_t
vdev_get_status(struct virtio_dev *d)
{
	return vdev_of(d)->status;
}

static void
vdev_set_status(struct virtio_dev *d, uint8_t s)
{
	struct vdev *m = vdev_of(d);

	if ((s & VIRTIO_STATUS_FEATURES_OK) && m->refuse)
		s &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	m->status = s;
}

static uint64_t
vdev_get_features(struct virtio_dev *d)
{
	return vdev_of(d)->offered;
}

static void
vdev_set_features(struct virtio_dev *d, uint64_t f)
{
	struct vdev *m = vdev_of(d);

	if (f & ~m->offered)
		m->errors++;	/* accepted what was not offered */
	m->driver_features = f;
}

static void
vdev_read_config(struct virtio_dev *d, unsigned off, void *buf, unsigned len)
{
	struct vdev *m = vdev_of(d);
	uint8_t cfg[12];

	memcpy(cfg, m->mac, 6);
	memcpy(cfg + 6, &m->link, 2);
	memcpy(cfg + 8, &m->max_pairs, 2);
	memset(cfg + 10, 0, 2);
	if (off + len > sizeof cfg) {
		m->errors++;
		memset(buf, 0, len);
		return;
	}
	memcpy(buf, cfg + off, len);
}

static int
vdev_queue_max(struct virtio_dev *d, int q)
{
	struct vdev *m = vdev_of(d);

	return q >= 0 && q < m->nq ? m->qsize : 0;
}

static int
vdev_queue_enable(struct virtio_dev *d, int qi, struct virtq *vq, int core,
    void (*handler)(void *), void *arg)
{
	struct vdev *m = vdev_of(d);
	struct vdev_q *q = &m->q[qi];

	if (qi < 0 || qi >= m->nq || vq->size > m->qsize) {
		m->errors++;
		return -1;
	}
	memset(q, 0, offsetof(struct vdev_q, frame));
	q->late_event = q->late_used = -1;
	q->vq = vq;
	q->core = core;
	if (handler != NULL && m->irq_result == 0) {
		q->handler = handler;
		q->arg = arg;
	}
	return handler != NULL ? m->irq_result : 0;
}

static void
vdev_notify(struct virtio_dev *d, int qi)
{
	struct vdev *m = vdev_of(d);
	struct vdev_q *q = &m->q[qi];

	q->kicks++;
	if (!(m->status & VIRTIO_STATUS_DRIVER_OK) || q->vq == NULL)
		m->errors++;	/* a kick before DRIVER_OK (3.1.1), or to no queue */
	else if (qi == m->nq - 1 && (m->offered >> VIRTIO_NET_F_CTRL_VQ) & 1)
		vdev_ctrl_run(m, qi);
	else if (!(qi & 1))
		q->rx_wait = 0;		/* buffers: the device looks again */
	else if ((qi & 1) && !m->tx_stall && !m->tx_lazy)
		vdev_tx_run(m, qi);
}

static const struct virtio_transport vdev_ops = {
	.reset = vdev_reset,
	.get_status = vdev_get_status,
	.set_status = vdev_set_status,
	.get_features = vdev_get_features,
	.set_features = vdev_set_features,
	.read_config = vdev_read_config,
	.queue_max = vdev_queue_max,
	.queue_enable = vdev_queue_enable,
	.notify = vdev_notify,
};

/*
 * A device offering `offered`, with max_pairs pairs (used with MQ) and
 * queues of qsize entries; MAC 52:54:00:12:34:56, link up.
 */
static inline void
vdev_init(struct vdev *m, uint64_t offered, int max_pairs, int qsize)
{
	memset(m, 0, sizeof *m);
	m->d.ops = &vdev_ops;
	m->d.priv = m;
	strcpy(m->d.name, "vdev");
	m->offered = offered;
	m->qsize = qsize;
	m->max_pairs = (uint16_t)max_pairs;
	m->nq = 2 * ((offered >> VIRTIO_NET_F_MQ) & 1 ? max_pairs : 1) +
	    (int)((offered >> VIRTIO_NET_F_CTRL_VQ) & 1);
	memcpy(m->mac, "\x52\x54\x00\x12\x34\x56", 6);
	m->link = VIRTIO_NET_S_LINK_UP;
}

#endif
