/*
 * gso.c: segmentation in software (what Linux calls GSO), for a device
 * that cannot cut a TSO frame itself.  Portable.
 *
 *	tcp_output -> tcp_xmit_tso -> ip_output -> eth_output -> netif_send
 *	    device with NETIF_F_TSO4: netif_xmit, the frame as it is
 *	    any other: gso_send -> one frame per MSS -> netif_xmit each
 *
 * TCP sends a run of full segments as one frame of up to 64 KiB whose
 * hints carry the MSS (tcp_out.c), whatever the device, so that the
 * work of one header (options, window, checksum setup, the route, the
 * ARP lookup, the layers' counters) is done once for the run.  Cutting
 * it is what is left to do per segment, here, as late as it can be:
 *
 *   - the headers (Ethernet, IPv4, TCP with its options) are copied
 *     from the frame's into a new buffer: they are the same in every
 *     segment but for the IP total length, id and header checksum and
 *     the TCP sequence number (the IP header's sum is taken once
 *     without the fields that change, and each segment adds its own);
 *   - the payload's buffers move to the segment that holds their bytes;
 *     only a buffer that straddles a cut is cloned (the clone takes the
 *     bytes before the cut);
 *   - the TCP checksum: for a device that adds it (NETIF_F_TX_CSUM) the
 *     pseudo-header's sum with this segment's length and hints saying
 *     where, else summed here over the header and the payload.
 *
 * Every segment keeps the frame's flags (ACK, PSH, as a segment sent
 * alone has them), but a FIN goes on the last one only (TCP never puts
 * one in a TSO frame; the rule holds for anyone).  The IP ids are the
 * frame's and those after it, which ip_output reserved for the frame.
 * A frame that is not Ethernet, IPv4 and TCP as its hints say, or whose
 * headers do not fit GSO_HDR_MAX bytes, is dropped and counted as a
 * transmit error; nothing in the stack builds one.  The segments go
 * one by one, each counted by netif_xmit; a segment the driver refuses
 * is counted there and the rest still go (TCP resends what was lost);
 * memory running out drops the segments not yet made.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "inet.h"
#include "netif.h"
#include "pkt.h"
#include "proto.h"

#define GSO_HDR_MAX	(ETH_HLEN + 60 + 60)	/* Ethernet, IPv4 and TCP at their longest */

/*
 * Detach the first n bytes of *chain (which holds at least n) as a chain
 * of their own: whole buffers moved, a straddling one cloned.  NULL if
 * memory ran out (*chain then holds what was not taken).
 */
static struct iobuf *
take(struct iobuf **chain, size_t n)
{
	struct iobuf *head = NULL, **tail = &head, *b, *c;

	while (n > 0 && (b = *chain) != NULL) {
		if (b->len <= n) {		/* the whole buffer moves */
			*chain = b->next;
			b->next = NULL;
			n -= b->len;
		} else {			/* cut inside it: a clone before */
			if ((c = iobuf_clone(b)) == NULL) {
				iobuf_free_chain(head);
				return NULL;
			}
			iobuf_trim(c, n);
			iobuf_advance(b, n);
			n = 0;
			b = c;
		}
		*tail = b;
		tail = &b->next;
	}
	return head;
}

/* Count frame as a transmit error of nif, free it, return err. */
static int
gso_drop(struct netif *nif, struct iobuf *frame, int err)
{
	STAT_ADD(nif->stats.tx_errors, 1);
	iobuf_free_chain(frame);
	return err;
}

int
gso_send(struct netif *nif, struct iobuf *frame, const struct netif_tx_hints *h)
{
	static const struct netif_tx_hints none;
	uint8_t hdr[GSO_HDR_MAX];
	const struct eth_hdr *eh = (const struct eth_hdr *)hdr;
	const struct ip_hdr *ih0 = (const struct ip_hdr *)(hdr + ETH_HLEN);
	const struct tcp_hdr *th0;
	struct netif_tx_hints sh;
	size_t th_off = h->csum_start, hlen, ihl, left, n;
	struct ip_hdr *ih;
	struct tcp_hdr *th;
	struct iobuf *b, *data;
	uint32_t seq, sum, ip_base, ps_base;
	uint16_t id, iplen;
	int err = 0;

	/* The headers, checked against what the hints say. */
	if (th_off + TCP_HLEN > sizeof hdr ||
	    iobuf_copy_out(frame, 0, th_off + TCP_HLEN, hdr) == NULL)
		return gso_drop(nif, frame, EINVAL);
	th0 = (const struct tcp_hdr *)(hdr + th_off);
	hlen = th_off + 4u * (th0->off >> 4);
	ihl = 4u * (ih0->vhl & 0xf);
	if (h->mss == 0 || hlen < th_off + TCP_HLEN || eh->type != hton16(ETHERTYPE_IPV4) ||
	    ih0->vhl >> 4 != IP_VERSION || ih0->proto != IP_PROTO_TCP ||
	    ETH_HLEN + ihl != th_off || hlen > sizeof hdr ||
	    iobuf_copy_out(frame, 0, hlen, hdr) == NULL)
		return gso_drop(nif, frame, EINVAL);
	seq = ntoh32(th0->seq);
	id = ntoh16(ih0->id);
	/* The sums that do not change: the IP header's without its length,
	 * id and checksum, the pseudo-header's without the length; each
	 * segment adds its own (16-bit fields at even offsets: as numbers). */
	ih = (struct ip_hdr *)(hdr + ETH_HLEN);
	ih->len = ih->id = ih->csum = 0;
	ip_base = inet_sum(ih, ihl, 0);
	ps_base = inet_pseudo(ih->src, ih->dst, IP_PROTO_TCP, 0);
	data = pkt_drop(frame, hlen);		/* the payload, headers freed */
	left = iobuf_chain_len(data);

	while (left > 0) {
		n = left < h->mss ? left : h->mss;
		if ((b = iobuf_alloc(IOBUF_HEADROOM, hlen)) == NULL) {
			err = ENOMEM;
			break;
		}
		if ((b->next = take(&data, n)) == NULL) {
			iobuf_free(b);
			err = ENOMEM;
			break;
		}
		memcpy(iobuf_put(b, hlen), hdr, hlen);
		left -= n;
		ih = (struct ip_hdr *)(b->data + ETH_HLEN);
		iplen = (uint16_t)(hlen - ETH_HLEN + n);
		ih->len = hton16(iplen);
		ih->id = hton16(id);
		ih->csum = hton16(inet_csum(ip_base + iplen + id));
		id++;
		th = (struct tcp_hdr *)(b->data + th_off);
		th->seq = hton32(seq);
		seq += (uint32_t)n;
		if (left > 0)
			th->flags &= (uint8_t)~TCP_FFIN;
		sum = ps_base + (uint32_t)(hlen - th_off + n);
		if (nif->features & NETIF_F_TX_CSUM) {
			th->csum = hton16(inet_fold(sum));	/* the device adds the rest */
			sh = (struct netif_tx_hints){ .csum = 1, .csum_start = (uint16_t)th_off,
			    .csum_offset = h->csum_offset };
			netif_xmit(nif, b, &sh);
		} else {
			th->csum = 0;
			th->csum = hton16(inet_csum(inet_sum_chain(b, th_off, hlen - th_off + n, sum)));
			netif_xmit(nif, b, &none);
		}
	}
	if (data != NULL)			/* memory ran out: the rest is lost */
		gso_drop(nif, data, err);
	return err;
}
