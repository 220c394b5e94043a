/*
 * ip.h: IPv4 and ICMP.  Portable.
 *
 *	receive:  eth_input -> ip_input -> icmp_input -> (echo) icmp_send
 *	                                -> udp_input (udp.h)
 *	transmit: udp_sendto, icmp_send -> ip_output -> eth_output (eth.h)
 *	errors:   udp_input (closed port) -> icmp_unreach -> ip_output
 *
 * ip.c validates and routes; icmp.c answers echoes and sends rate-
 * limited unreachables.  Fragments are not reassembled: ip_input drops
 * and counts them (ip.rx_frag), and ip_output never fragments (it sets
 * DF and refuses datagrams beyond the MTU).
 *
 * Ownership: every function here that takes an iobuf chain owns it from
 * the call on.
 */
#ifndef TCP_IP_H
#define TCP_IP_H

#include <stdint.h>

#include "iobuf.h"
#include "netif.h"
#include "proto.h"

/*
 * What ip_input learned about a datagram, handed up with its payload:
 * the addresses (network order), and the header as received, which an
 * ICMP error must quote.  Lives on ip_input's stack: valid only during
 * the call up.
 */
struct ip_rx {
	struct netif *nif;		/* the interface it came in on */
	uint32_t rx_flags;		/* netif_input's NETIF_RX_* */
	uint32_t src, dst;
	uint8_t proto;
	uint8_t hlen;			/* bytes of hdr: 20..60 */
	int broadcast;			/* dst was a broadcast address */
	const uint8_t *hdr;		/* the header, options included: where it
					 * lies in the datagram's first buffer
					 * (its headroom once skipped), or copy */
	uint8_t copy[IP_HLEN_MAX];	/* the header, if it spanned buffers */
};

/* A frame's payload that claims to be IPv4, on the receiving core. */
void ip_input(struct netif *nif, struct iobuf *pkt, uint32_t rx_flags);

/*
 * Is ip a broadcast address on nif's link (all ones, or its subnet's)?
 * Inline: every datagram sent and received asks.
 */
static inline int
ip_is_broadcast(const struct netif *nif, uint32_t ip)
{
	if (ip == IP4_BROADCAST)
		return 1;
	if (nif->netmask == 0 || nif->netmask == IP4_BROADCAST)
		return 0;
	return (ip & nif->netmask) == (nif->ip & nif->netmask) &&
	    (ip & ~nif->netmask) == ~nif->netmask;
}

/*
 * The interface to reach dst through, and the next hop there (dst on
 * the interface's subnet or a broadcast, else its gateway); NULL if no
 * configured interface can reach dst.
 */
struct netif *ip_route(uint32_t dst, uint32_t *next_hop);

/*
 * Prepend an IPv4 header (src = nif's address, TTL IP_TTL, DF, a fresh
 * ID, the checksum) to pkt, a transport segment, and send it to dst via
 * nif (NULL: ip_route chooses).  h, if not NULL, holds offload hints
 * with csum_start relative to pkt.  Returns 0 or an error number
 * (dropped, counted).
 */
int ip_output(struct netif *nif, struct iobuf *pkt, uint32_t dst, uint8_t proto,
    const struct netif_tx_hints *h);

/* ---- ICMP (icmp.c) ------------------------------------------------------ */

/* An ICMP message (the datagram's payload), on the receiving core. */
void icmp_input(const struct ip_rx *rx, struct iobuf *pkt);

/*
 * Tell rx->src that the datagram in rx (its payload starting at pkt,
 * which the caller keeps) could not be delivered: destination
 * unreachable with code (ICMP_UNREACH_PORT, ICMP_UNREACH_PROTO).  Not
 * for broadcasts, and at most ICMP_RATE a second per core (a token
 * bucket); the rest are counted in icmp.rate_limited.
 */
void icmp_unreach(const struct ip_rx *rx, const struct iobuf *pkt, uint8_t code);

#endif
