/*
 * net_rx.c: the virtio-net receive path.  Portable.
 *
 *	device writes a frame -> interrupt (core i) -> vnet_rx_interrupt:
 *	  mask the queue's interrupts, queue one event -> vnet_rx_service
 *	  (that event, then core i's idle handler, net.c) -> rx_poll:
 *	  virtq_get -> rx_buffer (assemble) -> rx_frame -> netif_input
 *	  (which, with one pair for several cores, steers the frame to its
 *	  flow's core: tcp/netif.c)
 *	  ... until the ring is empty: unmask (virtq_enable_cb) and check
 *	  again, so that a frame that came while masked is not forgotten
 *
 * A receive queue whose interrupt could not be routed (queue_enable
 * returned -2) stays in polling mode, its callbacks off for good (the
 * device need not even try to signal): the core's idle handler looks at
 * it whenever the core is idle, without keeping it awake.  Something
 * must wake the core now and then: natively virtio/pci.c runs the
 * queue's handler every millisecond on its core (kernel/irq.c's
 * irq_tick), and the handler is the same as for an interrupt.
 *
 * Buffers.  Every receive buffer is an iobuf of one 2 KiB block with
 * VNET_RX_HEADROOM bytes of room in front, offered whole (its tailroom)
 * as one device-writable descriptor; its token is the iobuf.  The device
 * writes the 12-byte struct virtio_net_hdr and then the frame.  Zero
 * copy: the frame goes up as that same iobuf, its window advanced past
 * the header (the header's bytes become headroom), and the ring gets a
 * fresh buffer in its place.  With MRG_RXBUF the header's num_buffers
 * says how many buffers the frame spans (5.1.6.4); the next ones hold
 * only frame bytes, and they are chained behind the first into one
 * iobuf chain.  A frame may be half harvested when a poll's batch ends:
 * its state (frame, tail, need, drop, hdr) waits in the pair.
 *
 * Memory.  The fresh buffer is allocated before the received one is
 * kept; if there is none, the frame is dropped (counted rx_nomem) and
 * its buffer offered again, so the ring never runs dry for want of
 * memory and every ring slot always holds a buffer.
 *
 * Checksums (GUEST_CSUM).  DATA_VALID: the device checked the frame's
 * checksums; it goes up with NETIF_RX_CSUM_OK.  NEEDS_CSUM (5.1.6.4.1):
 * the frame came from a sender that left the checksum to the NIC (a
 * local VM or the host), so it never crossed a wire that could damage
 * it: "the packet checksum ... and any preceding checksums have been
 * validated", and only the field at csum_start + csum_offset is
 * incomplete (the pseudo-header's partial sum).  It goes up with
 * NETIF_RX_CSUM_OK too, the field left as it came, as Linux takes such
 * a frame (CHECKSUM_PARTIAL): we are a host, not a bridge, and nothing
 * above reads a received checksum field (netif.h), so completing it
 * would be a sum over every byte for nobody.  The common native path,
 * a Linux host on the far side of the device, so computes no checksum
 * at all.  csum_start and csum_offset are still checked to lie within
 * the frame.
 *
 * Malformed input from the device never panics: a used length shorter
 * than the header or longer than the buffer, a num_buffers of 0 or more
 * than the ring holds, a partial checksum outside the frame, GSO or
 * NEEDS_CSUM that were not negotiated: the frame is dropped,
 * rx_malformed counted, the buffers offered again.  A used id that is
 * no buffer of ours names nothing to drop: virtq_get skips it, and it is
 * counted in bad_used.
 */
#include <stdio.h>
#include <string.h>

#include "kernel/malloc.h"
#include "tcp/proto.h"
#include "net_priv.h"

#define RX_BUF_MIN	(VIRTIO_NET_HDR_LEN + ETH_HLEN + VNET_MTU + 4)	/* 5.1.6.3.1: >= 1526 */

enum { KEEP, DROP_NOMEM, DROP_MALFORMED };	/* struct vnet_pair.drop */

/* A fresh receive buffer, or NULL. */
static struct iobuf *
rx_alloc(void)
{
	return iobuf_alloc(VNET_RX_HEADROOM, RX_BUF_MIN);
}

/* Offer b (a fresh or reset buffer: empty window) to the device. */
static int
rx_post(struct vnet_pair *p, struct iobuf *b)
{
	struct virtq_seg seg = { b->data, (uint32_t)iobuf_tailroom(b) };

	return virtq_add(&p->rx, &seg, 0, 1, b);
}

/* Offer b again: a harvested buffer we do not keep (its window is untouched). */
static void
rx_repost(struct vnet_pair *p, struct iobuf *b)
{
	if (rx_post(p, b) < 0)		/* virtq_get just freed its descriptor */
		panic("vnet: no descriptor to re-offer a receive buffer");
}

/* Post a fresh buffer into every free slot (attach); how many were posted. */
int
vnet_rx_fill(struct vnet_pair *p)
{
	struct iobuf *b;
	int n = 0;

	while (virtq_free_count(&p->rx) > 0 && (b = rx_alloc()) != NULL) {
		if (rx_post(p, b) < 0) {
			iobuf_free(b);
			break;
		}
		n++;
	}
	return n;
}

/*
 * Notify the device of new buffers, if it asked to be (virtq_kick);
 * if not, the watchdog makes sure it did not ask unseen (net_watch.c).
 */
void
vnet_rx_kick(struct vnet_pair *p)
{
	struct virtio_dev *d = p->v->d;

	if (virtq_kick(&p->rx)) {
		d->ops->notify(d, vnet_rxq(p->index));
		VNET_INC(p->st.kicks, 1);
	} else {
		vnet_watch_arm(p->index);
	}
}

/* ---- a whole frame ----------------------------------------------------- */

/*
 * Does a partial checksum (NEEDS_CSUM) fit the frame: csum_start past
 * the Ethernet header, the field within the frame?  See the top of this
 * file: it is checked, never completed.
 */
static int
rx_csum_fits(const struct iobuf *frame, const struct virtio_net_hdr *h)
{
	return h->csum_start >= ETH_HLEN &&
	    (size_t)h->csum_start + h->csum_offset + 2 <= iobuf_chain_len(frame);
}

/* A complete frame (the pair's assembly state): check it and send it up. */
static void
rx_frame(struct vnet_pair *p)
{
	struct iobuf *frame = p->frame;
	struct virtio_net_hdr *h = &p->hdr;
	struct virtio_dev *d = p->v->d;
	uint32_t flags = 0;
	int drop = p->drop;

	p->frame = p->tail = NULL;
	if (drop == KEEP && (iobuf_chain_len(frame) < ETH_HLEN ||
	    h->gso_type != VIRTIO_NET_HDR_GSO_NONE))	/* GUEST_TSO4 is not negotiated */
		drop = DROP_MALFORMED;
	if (drop == KEEP && (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		if (!virtio_has(d, VIRTIO_NET_F_GUEST_CSUM) || !rx_csum_fits(frame, h))
			drop = DROP_MALFORMED;
		flags |= NETIF_RX_CSUM_OK;
	} else if ((h->flags & VIRTIO_NET_HDR_F_DATA_VALID) &&
	    virtio_has(d, VIRTIO_NET_F_GUEST_CSUM)) {
		flags |= NETIF_RX_CSUM_OK;
	}
	if (drop != KEEP) {
		if (drop == DROP_NOMEM)
			VNET_INC(p->st.rx_nomem, 1);
		else
			VNET_INC(p->st.rx_malformed, 1);
		iobuf_free_chain(frame);
		return;
	}
	VNET_INC(p->st.rx_frames, 1);
	VNET_INC(p->st.rx_bytes, iobuf_chain_len(frame));
	netif_input(p->v->nif, frame, flags);	/* one pair: netif steers */
}

/* ---- one buffer -------------------------------------------------------- */

/*
 * The first buffer of a frame: read its header and start the assembly.
 * 0, or -1 if it is malformed (then it was offered again).
 */
static int
rx_head(struct vnet_pair *p, struct iobuf *b, uint32_t len)
{
	/* Buffers the device holds besides b: the most a frame may still take. */
	int held = p->rx.size - virtq_free_count(&p->rx);
	int nb = 1;

	if (len < VIRTIO_NET_HDR_LEN) {
		VNET_INC(p->st.rx_malformed, 1);
		rx_repost(p, b);
		return -1;
	}
	memcpy(&p->hdr, b->data, VIRTIO_NET_HDR_LEN);
	if (virtio_has(p->v->d, VIRTIO_NET_F_MRG_RXBUF))
		nb = p->hdr.num_buffers;
	if (nb < 1 || nb - 1 > held) {
		VNET_INC(p->st.rx_malformed, 1);
		rx_repost(p, b);
		return -1;
	}
	p->need = nb;
	p->drop = KEEP;
	p->frame = p->tail = NULL;
	return 0;
}

/*
 * One harvested buffer b, len bytes written: the head of a frame or its
 * next part.  The ring gets a fresh buffer, or b back if b is not kept.
 */
static void
rx_buffer(struct vnet_pair *p, struct iobuf *b, uint32_t len)
{
	struct iobuf *fresh = NULL;
	int head = p->need == 0;

	if (len > iobuf_tailroom(b)) {	/* more than we offered */
		if (head) {
			VNET_INC(p->st.rx_malformed, 1);
			rx_repost(p, b);
			return;
		}
		p->drop = DROP_MALFORMED;
	}
	if (head && rx_head(p, b, len) < 0)
		return;
	p->need--;
	if (p->drop == KEEP && (fresh = rx_alloc()) == NULL)
		p->drop = DROP_NOMEM;
	if (p->drop != KEEP) {
		rx_repost(p, b);
	} else {
		rx_repost(p, fresh);	/* the fresh one takes b's place */
		iobuf_put(b, len);
		if (head)
			iobuf_advance(b, VIRTIO_NET_HDR_LEN);
		if (p->tail == NULL)
			p->frame = b;
		else
			p->tail->next = b;
		p->tail = b;
	}
	if (p->need == 0)
		rx_frame(p);
}

/* Harvest up to budget buffers; how many. */
static int
rx_poll(struct vnet_pair *p, int budget)
{
	uint32_t bad = p->rx.bad, len;
	struct iobuf *b;
	int n = 0;

	while (n < budget && (b = virtq_get(&p->rx, &len)) != NULL) {
		rx_buffer(p, b, len);
		n++;
	}
	if (p->rx.bad != bad)		/* used entries naming no buffer of ours */
		VNET_INC(p->st.bad_used, p->rx.bad - bad);
	if (n > 0)
		vnet_rx_kick(p);	/* the buffers offered in their place */
	return n;
}

/*
 * In polling mode, harvest a batch; once the ring is empty, unmask and
 * leave polling mode (unless new entries came meanwhile).  Nonzero if
 * it did any work.  The idle handler and rx_event call it.
 */
int
vnet_rx_service(struct vnet_pair *p)
{
	int n;

	if (!p->polling)
		return 0;
	n = rx_poll(p, VNET_RX_BATCH);
	if (n == VNET_RX_BATCH || !p->rx_irq)
		return n > 0;		/* more may wait; or never unmasked */
	/* Empty: unmask, then look again (virtqueue.c, barrier 4). */
	if (virtq_enable_cb(&p->rx)) {
		virtq_disable_cb(&p->rx);
		return 1;		/* it came meanwhile: keep polling */
	}
	p->polling = 0;
	vnet_watch_arm(p->index);	/* the next interrupt must not be lost unseen */
	return n > 0;
}

/* The event vnet_rx_interrupt queues: the first poll, promptly. */
static void
rx_event(void *arg)
{
	struct vnet_pair *p = arg;

	p->ev_pending = 0;
	vnet_rx_service(p);
}

/* The receive queue's handler (an interrupt, or a tick): mask, then poll from an event. */
void
vnet_rx_interrupt(void *arg)
{
	struct vnet_pair *p = arg;

	if (core_id() != p->index)	/* virtio.h: on the core queue_enable named */
		panic("vnet: pair %d's interrupt ran on core %d", p->index, core_id());
	VNET_INC(p->st.interrupts, 1);
	vnet_rx_wake(p);
}

/* Mask the queue's interrupts and poll it from an event (pair p's core). */
void
vnet_rx_wake(struct vnet_pair *p)
{
	if (!p->polling) {
		virtq_disable_cb(&p->rx);	/* polled until empty from now */
		p->polling = 1;
	}
	/*
	 * An event, so that the loop goes round instead of sleeping (an
	 * interrupt's handler may run just before the core would sleep).
	 */
	if (!p->ev_pending) {
		p->ev_pending = 1;
		spawn_on_record(core_id(), &p->ev, rx_event, p);
	}
}

/* After the device's reset: free a half-assembled frame and every posted buffer. */
void
vnet_rx_drain(struct vnet_pair *p)
{
	struct iobuf *b;

	iobuf_free_chain(p->frame);	/* a frame half assembled */
	p->frame = p->tail = NULL;
	p->need = 0;
	while ((b = virtq_detach_unused(&p->rx)) != NULL)
		iobuf_free(b);
}
