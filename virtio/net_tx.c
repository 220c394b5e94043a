/*
 * net_tx.c: the virtio-net transmit path.  Portable.
 *
 *	netif_send -> vnet_transmit (core c)
 *	  c owns pair c:	tx_queue: harvest what the device finished,
 *				header, one descriptor per iobuf, kick
 *	  c >= pairs:		hand the frame to core c % pairs (an event),
 *				which runs tx_queue on its own pair
 *
 * Zero copy.  The frame's iobufs are offered to the device as they are,
 * one device-readable descriptor each, and stay with the device until
 * it puts the chain on the used ring; then (at the next transmit on that
 * core, or from the core's idle handler, net.c) the chain is freed.  The
 * token of a chain is its first iobuf.  A chain of more than
 * VNET_TX_SEGS - 1 buffers (or of more than the ring's size - 1, for a
 * device with a smaller queue) is copied into one (counted in
 * tx_copies): else it would never fit, and every try would say ENOBUFS.
 *
 * The header.  Every frame is preceded by a struct virtio_net_hdr
 * (5.1.6).  VERSION_1 lets the driver lay a buffer out as it likes
 * (5.1.6.2: no framing rule), so the header is pushed into the first
 * iobuf's headroom and shares its descriptor when that iobuf is not
 * shared (iobuf_shared: another viewer, a retransmission queue's clone,
 * must not see its bytes change) and has 12 bytes of headroom, which the
 * stack's buffers always have.  Otherwise the header gets an iobuf of its
 * own, chained in front, and so a descriptor of its own.
 *
 * Offloads.  The hints become the header's fields: csum ->
 * NEEDS_CSUM with csum_start and csum_offset (the stack has stored the
 * pseudo-header sum in the field, as the device expects); mss ->
 * GSO_TCPV4 with gso_size = mss and hdr_len = the bytes of Ethernet, IP
 * and TCP headers (read from the TCP header's data offset).  Hints for a
 * feature that was not negotiated (NETIF_F_* says which were) are a
 * caller's mistake: the frame is refused with EOPNOTSUPP and counted.
 *
 * Errors, each counted on the pair and returned, the frame freed: ring
 * full (ENOBUFS, tx_full: the device is behind, or stalled); no memory
 * for a copy, a header or a hand-over (ENOMEM); bad hints (EOPNOTSUPP,
 * EINVAL); a detached interface (ENODEV).
 */
#include <errno.h>
#include <string.h>

#include "kernel/malloc.h"
#include "tcp/proto.h"
#include "net_priv.h"

/* Fill *h from the hints; 0 or an error number (see the top of the file). */
static int
tx_header(struct virtio_dev *d, const struct iobuf *frame,
    const struct netif_tx_hints *hints, struct virtio_net_hdr *h)
{
	uint8_t off;

	memset(h, 0, sizeof *h);
	if (hints->csum) {
		if (!virtio_has(d, VIRTIO_NET_F_CSUM))
			return EOPNOTSUPP;
		if ((size_t)hints->csum_start + hints->csum_offset + 2 > iobuf_chain_len(frame))
			return EINVAL;		/* the field is not in the frame */
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = hints->csum_start;
		h->csum_offset = hints->csum_offset;
	}
	if (hints->mss) {
		/* TSO needs the checksum offload too (5.1.6.2). */
		if (!virtio_has(d, VIRTIO_NET_F_HOST_TSO4) || !hints->csum)
			return EOPNOTSUPP;
		/* The TCP header's data offset: its high nibble, in words. */
		if (iobuf_copy_out(frame, (size_t)hints->csum_start + 12, 1, &off) == NULL)
			return EINVAL;
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		h->gso_size = hints->mss;
		h->hdr_len = (uint16_t)(hints->csum_start + 4 * (off >> 4));
	}
	return 0;
}

/* Put the header in front of frame; the chain to offer, or NULL (no memory). */
static struct iobuf *
tx_prepend(struct iobuf *frame, const struct virtio_net_hdr *h)
{
	struct iobuf *hb;

	if (!iobuf_shared(frame) && iobuf_headroom(frame) >= VIRTIO_NET_HDR_LEN) {
		memcpy(iobuf_push(frame, VIRTIO_NET_HDR_LEN), h, VIRTIO_NET_HDR_LEN);
		return frame;
	}
	if ((hb = iobuf_alloc(0, VIRTIO_NET_HDR_LEN)) == NULL)
		return NULL;
	memcpy(iobuf_put(hb, VIRTIO_NET_HDR_LEN), h, VIRTIO_NET_HDR_LEN);
	hb->next = frame;
	return hb;
}

/* Count err against pair p, free the chain, return err. */
static int
tx_drop(struct vnet_pair *p, struct iobuf *chain, int err)
{
	if (err == ENOBUFS)
		VNET_INC(p->st.tx_full, 1);
	else
		VNET_INC(p->st.tx_errors, 1);
	iobuf_free_chain(chain);
	return err;
}

/* Transmit frame on pair p (this core's).  0 or an error number. */
static int
tx_queue(struct vnet_pair *p, struct iobuf *frame, const struct netif_tx_hints *hints)
{
	struct virtio_dev *d = p->v->d;
	struct virtq_seg seg[VNET_TX_SEGS];
	struct virtio_net_hdr h;
	struct iobuf *b, *chain, *flat;
	size_t len = iobuf_chain_len(frame);
	int n = 0, err;

	vnet_tx_harvest(p);		/* room, and memory back, first */
	if (len == 0)
		return tx_drop(p, frame, EINVAL);
	if ((err = tx_header(d, frame, hints, &h)) != 0)
		return tx_drop(p, frame, err);
	for (b = frame; b != NULL; b = b->next)
		n += b->len > 0;
	/* One descriptor may go to the header; a small ring holds fewer. */
	if (n > (p->tx.size < VNET_TX_SEGS ? p->tx.size : VNET_TX_SEGS) - 1) {
		if ((flat = iobuf_linearize(frame, IOBUF_HEADROOM)) == NULL)
			return tx_drop(p, frame, ENOMEM);
		iobuf_free_chain(frame);
		frame = flat;
		VNET_INC(p->st.tx_copies, 1);
	}
	if ((chain = tx_prepend(frame, &h)) == NULL)
		return tx_drop(p, frame, ENOMEM);
	n = 0;
	for (b = chain; b != NULL; b = b->next)
		if (b->len > 0)		/* an empty buffer needs no descriptor */
			seg[n++] = (struct virtq_seg){ b->data, (uint32_t)b->len };
	if (virtq_add(&p->tx, seg, n, 0, chain) < 0) {
		vnet_watch_arm(p->index);	/* full: was the device told what it holds? */
		return tx_drop(p, chain, ENOBUFS);
	}
	VNET_INC(p->st.tx_frames, 1);
	VNET_INC(p->st.tx_bytes, len);
	if (virtq_kick(&p->tx)) {
		d->ops->notify(d, vnet_txq(p->index));
		VNET_INC(p->st.kicks, 1);
	} else {
		vnet_watch_arm(p->index);	/* did it ask unseen? (net_watch.c) */
	}
	return 0;
}

/* On a core that owns a pair: a frame another core handed over. */
static void
tx_handed(void *arg)
{
	struct vnet_handoff *h = arg;
	struct vnet *v = h->nif->driver;

	if (v == NULL)
		iobuf_free_chain(h->frame);	/* detached meanwhile */
	else
		tx_queue(&v->pair[core_id()], h->frame, &h->hints);	/* counts errors */
	kfree(h);
}

/* netif_ops.transmit: on this core's pair, or handed to a core that owns one. */
int
vnet_transmit(struct netif *nif, struct iobuf *frame, const struct netif_tx_hints *hints)
{
	struct vnet *v = nif->driver;
	struct vnet_handoff *h;
	struct vnet_pair *p;
	int c = core_id();

	if (v == NULL) {
		iobuf_free_chain(frame);
		return ENODEV;
	}
	if (c < v->pairs)
		return tx_queue(&v->pair[c], frame, hints);
	/* No pair of our own: the owner of pair c % pairs sends it. */
	p = &v->pair[c % v->pairs];
	if ((h = kmalloc(sizeof *h)) == NULL) {
		VNET_ADD(p->st.tx_handoff_drops, 1);
		iobuf_free_chain(frame);
		return ENOMEM;
	}
	h->nif = nif;
	h->frame = frame;
	h->hints = *hints;
	VNET_ADD(p->st.tx_handed, 1);
	spawn_on_record(p->index, &h->ev, tx_handed, h);
	return 0;
}

/* Free every chain the device has sent; nonzero if there was one. */
int
vnet_tx_harvest(struct vnet_pair *p)
{
	uint32_t bad = p->tx.bad;
	struct iobuf *chain;
	int n = 0;

	while ((chain = virtq_get(&p->tx, NULL)) != NULL) {
		iobuf_free_chain(chain);
		n++;
	}
	if (p->tx.bad != bad)		/* used entries naming no chain of ours */
		VNET_INC(p->st.bad_used, p->tx.bad - bad);
	return n > 0;
}

/* After the device's reset: free every chain still on the ring. */
void
vnet_tx_drain(struct vnet_pair *p)
{
	struct iobuf *chain;

	while ((chain = virtq_detach_unused(&p->tx)) != NULL)
		iobuf_free_chain(chain);
}
