/*
 * ip.c: IPv4 (RFC 791) for a host: input validation and dispatch,
 * routing, output.  Portable.
 *
 *	receive:  eth_input -> ip_input -> icmp_input | udp_input | tcp_input
 *	                                -> other protocols: icmp_unreach
 *	transmit: udp_sendto, icmp_send, tcp_emit -> ip_output -> ip_next_hop
 *	                                -> eth_output
 *
 * ip_input checks, in order, and drops and counts by reason (struct
 * ip_stats): a whole fixed header; version 4; IHL >= 5 and within the
 * total length; the total length within what arrived; the header
 * checksum; not a fragment; a source that is not broadcast or
 * multicast; a destination that is ours or a broadcast.  It then trims
 * the Ethernet padding (the chain is cut to the total length), strips
 * the header with its options (which are ignored), and hands the
 * payload up with a struct ip_rx that says where it came from.
 *
 * Fragments are not reassembled: a datagram with MF set or a nonzero
 * offset is dropped and counted in ip.rx_frag.  We send with DF and
 * never fragment, so peers doing path MTU discovery never send us any;
 * a peer that does fragment gets no answer.
 *
 * TTL: a host forwards nothing, so it never decrements a TTL, and it
 * must not drop a datagram for a small TTL (RFC 1122 3.2.1.7); it sends
 * every datagram with TTL IP_TTL.
 *
 * Routing is one table row per interface: its subnet is on-link; any
 * other destination goes to the first configured interface that has a
 * gateway.  An interface whose address is 0 (not yet configured, as
 * during DHCP) takes every datagram and can send only broadcasts.
 */
#include <errno.h>
#include <string.h>

#include "ebb/percore.h"
#include "eth.h"
#include "inet.h"
#include "ip.h"
#include "pkt.h"
#include "proto.h"
#include "stats.h"
#include "tcp.h"
#include "udp.h"

/* Per core: the identification of the next datagram this core sends. */
static struct ip_core {
	uint16_t next_id;
} __attribute__((aligned(CACHE_LINE))) ip_cores[NCPU];

/* Is ip a multicast address (224.0.0.0/4)? */
static int
ip_is_multicast(uint32_t ip)
{
	return (ntoh32(ip) >> 28) == 0xe;
}

/* Validate the header at the front of pkt into rx; 0, or -1 (counted). */
static int
ip_check(struct netif *nif, struct iobuf *pkt, struct ip_rx *rx, size_t *total)
{
	const struct ip_hdr *ih;
	size_t have = iobuf_chain_len(pkt);

	if ((ih = pkt_peek(pkt, 0, IP_HLEN, rx->copy)) == NULL) {
		NSTAT(ip, rx_short);
		return -1;
	}
	if (ih->vhl >> 4 != IP_VERSION) {
		NSTAT(ip, rx_bad_version);
		return -1;
	}
	rx->hlen = (uint8_t)((ih->vhl & 0xf) * 4);
	*total = ntoh16(ih->len);
	if (rx->hlen < IP_HLEN || *total < rx->hlen) {
		NSTAT(ip, rx_bad_hlen);
		return -1;
	}
	if (*total > have) {
		NSTAT(ip, rx_bad_len);
		return -1;
	}
	if (rx->hlen > IP_HLEN)		/* options: cannot fail, hlen <= have */
		ih = pkt_peek(pkt, 0, rx->hlen, rx->copy);
	rx->hdr = (const uint8_t *)ih;
	if (inet_hdr_csum(ih, rx->hlen) != 0) {
		NSTAT(ip, rx_bad_csum);
		return -1;
	}
	if (ntoh16(ih->frag) & (IP_MF | IP_OFFMASK)) {
		NSTAT(ip, rx_frag);
		return -1;
	}
	if (ih->src == IP4_BROADCAST || ip_is_multicast(ih->src)) {
		NSTAT(ip, rx_bad_src);
		return -1;
	}
	rx->broadcast = ih->dst != nif->ip && ip_is_broadcast(nif, ih->dst);
	if (nif->ip != 0 && ih->dst != nif->ip && !rx->broadcast) {
		NSTAT(ip, rx_not_ours);
		return -1;
	}
	rx->nif = nif;
	rx->src = ih->src;
	rx->dst = ih->dst;
	rx->proto = ih->proto;
	return 0;
}

void
ip_input(struct netif *nif, struct iobuf *pkt, uint32_t rx_flags)
{
	struct ip_rx rx;
	size_t total;

	if (ip_check(nif, pkt, &rx, &total) != 0) {
		iobuf_free_chain(pkt);
		return;
	}
	rx.rx_flags = rx_flags;
	pkt_trim(pkt, total);		/* the Ethernet padding goes */
	pkt_skip(pkt, rx.hlen);
	NSTAT(ip, rx);
	switch (rx.proto) {
	case IP_PROTO_ICMP:
		icmp_input(&rx, pkt);
		return;
	case IP_PROTO_UDP:
		udp_input(&rx, pkt);
		return;
	case IP_PROTO_TCP:
		tcp_input(&rx, pkt);
		return;
	default:
		NSTAT(ip, rx_bad_proto);
		icmp_unreach(&rx, pkt, ICMP_UNREACH_PROTO);
		iobuf_free_chain(pkt);
		return;
	}
}

/* ---- output -------------------------------------------------------------- */

/* Where a datagram for dst goes next through nif; 0, or -1 if nowhere. */
static int
ip_next_hop(const struct netif *nif, uint32_t dst, uint32_t *next_hop)
{
	if ((nif->ip != 0 && (dst & nif->netmask) == (nif->ip & nif->netmask)) ||
	    ip_is_broadcast(nif, dst)) {		/* on-link, or a broadcast */
		*next_hop = dst;
		return 0;
	}
	if (nif->ip != 0 && nif->gateway != 0) {
		*next_hop = nif->gateway;
		return 0;
	}
	return -1;
}

struct netif *
ip_route(uint32_t dst, uint32_t *next_hop)
{
	struct netif *nif;

	/* On-link first: an interface whose subnet holds dst. */
	for (nif = netif_first(); nif != NULL; nif = netif_next(nif))
		if (nif->ip != 0 && (dst & nif->netmask) == (nif->ip & nif->netmask)) {
			*next_hop = dst;
			return nif;
		}
	/* Then the first interface that can reach it at all. */
	for (nif = netif_first(); nif != NULL; nif = netif_next(nif))
		if (ip_next_hop(nif, dst, next_hop) == 0)
			return nif;
	return NULL;
}

int
ip_output(struct netif *nif, struct iobuf *pkt, uint32_t dst, uint8_t proto,
    const struct netif_tx_hints *h)
{
	struct netif_tx_hints moved;
	struct ip_hdr *ih;
	uint32_t next_hop;
	size_t len = iobuf_chain_len(pkt) + IP_HLEN;

	if (nif == NULL ? (nif = ip_route(dst, &next_hop)) == NULL :
	    ip_next_hop(nif, dst, &next_hop) != 0) {
		NSTAT(ip, tx_no_route);
		iobuf_free_chain(pkt);
		return EHOSTUNREACH;
	}
	if (len > 0xffff || (len > nif->mtu && (h == NULL || h->mss == 0))) {
		NSTAT(ip, tx_too_big);
		iobuf_free_chain(pkt);
		return EMSGSIZE;
	}
	if ((ih = pkt_push(&pkt, IP_HLEN)) == NULL) {
		NSTAT(ip, tx_nomem);
		iobuf_free_chain(pkt);
		return ENOMEM;
	}
	ih->vhl = IP_VERSION << 4 | IP_HLEN / 4;
	ih->tos = 0;
	ih->len = hton16((uint16_t)len);
	ih->id = hton16(ip_cores[core_id()].next_id);
	/* A TSO frame's segments take this id and those after it (as many
	 * as its bytes past our header could fill: at least its segments). */
	ip_cores[core_id()].next_id += h != NULL && h->mss != 0 ?
	    (uint16_t)((len - IP_HLEN + h->mss - 1) / h->mss) : 1;
	ih->frag = hton16(IP_DF);
	ih->ttl = IP_TTL;
	ih->proto = proto;
	ih->csum = 0;
	ih->src = nif->ip;
	ih->dst = dst;
	ih->csum = hton16(inet_hdr_csum(ih, IP_HLEN));
	if (h != NULL) {
		moved = *h;
		moved.csum_start += IP_HLEN;
		h = &moved;
	}
	NSTAT(ip, tx);
	return eth_output(nif, pkt, next_hop, ETHERTYPE_IPV4, h);
}
