/*
 * eth.c: Ethernet II framing (see eth.h).  Portable.
 *
 *	receive:  netif_input -> eth_input -> arp_input | ip_input
 *	transmit: ip_output -> eth_output -> arp_lookup -> eth_send -> netif_send
 *	                                  -> arp_queue (miss)
 *
 * eth_input checks the frame is long enough for a header, that it is for
 * us (our MAC or broadcast; a NIC in promiscuous mode, a bridge or a TAP
 * device may hand us others' unicast, and we join no multicast group),
 * strips the header and dispatches on the EtherType.  Frames arrive
 * padded to 60 bytes; the layers above trim to their own lengths.  Every
 * drop is counted in struct eth_stats (stats.h), per core.
 *
 * eth_output finds the next hop's MAC (broadcast addresses need none)
 * and prepends the header; on an ARP miss it hands the packet to ARP,
 * which holds it until the reply.  Offload hints count from the start
 * of the frame (netif.h), so eth_send moves csum_start past the header.
 */
#include <errno.h>
#include <string.h>

#include "eth.h"
#include "ip.h"
#include "pkt.h"
#include "proto.h"
#include "stats.h"

const uint8_t eth_broadcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

void
eth_input(struct netif *nif, struct iobuf *frame, uint32_t rx_flags)
{
	struct eth_hdr copy;
	const struct eth_hdr *eh;
	uint16_t type;

	NSTAT(eth, rx);
	if ((eh = pkt_peek(frame, 0, ETH_HLEN, &copy)) == NULL) {
		NSTAT(eth, rx_short);
		goto drop;
	}
	if (memcmp(eh->dst, nif->mac, ETH_ALEN) != 0 &&
	    memcmp(eh->dst, eth_broadcast, ETH_ALEN) != 0) {
		if (eh->dst[0] & 1)		/* the group bit: multicast */
			NSTAT(eth, rx_multicast);
		else
			NSTAT(eth, rx_not_ours);
		goto drop;
	}
	type = ntoh16(eh->type);
	pkt_skip(frame, ETH_HLEN);
	switch (type) {
	case ETHERTYPE_ARP:
		arp_input(nif, frame);
		return;
	case ETHERTYPE_IPV4:
		ip_input(nif, frame, rx_flags);
		return;
	default:
		NSTAT(eth, rx_bad_type);
		goto drop;
	}
drop:
	iobuf_free_chain(frame);
}

int
eth_send(struct netif *nif, struct iobuf *pkt, const uint8_t *dst_mac,
    uint16_t ethertype, const struct netif_tx_hints *h)
{
	struct netif_tx_hints moved;
	struct eth_hdr *eh;

	if ((eh = pkt_push(&pkt, ETH_HLEN)) == NULL) {
		NSTAT(eth, tx_nomem);
		iobuf_free_chain(pkt);
		return ENOMEM;
	}
	memcpy(eh->dst, dst_mac, ETH_ALEN);
	memcpy(eh->src, nif->mac, ETH_ALEN);
	eh->type = hton16(ethertype);
	if (h != NULL) {
		moved = *h;
		moved.csum_start += ETH_HLEN;
		h = &moved;
	}
	NSTAT(eth, tx);
	return netif_send(nif, pkt, h);
}

int
eth_output(struct netif *nif, struct iobuf *pkt, uint32_t next_hop_ip,
    uint16_t ethertype, const struct netif_tx_hints *h)
{
	uint8_t mac[ETH_ALEN];

	if (ip_is_broadcast(nif, next_hop_ip))
		return eth_send(nif, pkt, eth_broadcast, ethertype, h);
	if (arp_lookup(nif, next_hop_ip, mac))
		return eth_send(nif, pkt, mac, ethertype, h);
	return arp_queue(nif, pkt, next_hop_ip, ethertype, h);
}
