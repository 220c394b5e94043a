/*
 * frame.h: the Ethernet and IPv4 headers of a crafted frame, and a
 * whole ARP request, for the test code that pushes frames into a stack
 * or onto a wire (netfake.h's mk_ip, netwire.h, fuzz_tcp.c,
 * test_tcp_wire.c's SYN flood).  Test
 * code only; static inline, so that any suite or fuzz target may
 * include it.
 */
#ifndef TEST_FRAME_H
#define TEST_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tcp/eth.h"
#include "tcp/inet.h"
#include "tcp/proto.h"

/*
 * Write at f an Ethernet header (smac to dmac, IPv4) and an IPv4
 * header (src to dst, proto, TTL 64, no options, checksummed) for the
 * l4len bytes that follow them at f + 34; the frame's whole length.
 */
static inline size_t
frame_ipv4(uint8_t *f, const uint8_t *dmac, const uint8_t *smac, uint32_t src,
    uint32_t dst, uint8_t proto, size_t l4len)
{
	struct eth_hdr *e = (struct eth_hdr *)f;
	struct ip_hdr *ih = (struct ip_hdr *)(f + ETH_HLEN);

	memcpy(e->dst, dmac, ETH_ALEN);
	memcpy(e->src, smac, ETH_ALEN);
	e->type = hton16(ETHERTYPE_IPV4);
	memset(ih, 0, IP_HLEN);
	ih->vhl = 0x45;
	ih->len = hton16((uint16_t)(IP_HLEN + l4len));
	ih->ttl = 64;
	ih->proto = proto;
	ih->src = src;
	ih->dst = dst;
	ih->csum = hton16(inet_csum(inet_sum(ih, IP_HLEN, 0)));
	return ETH_HLEN + IP_HLEN + l4len;
}

/*
 * Write at f a broadcast ARP request from smac/sip asking for tip,
 * ETH_MIN_FRAME bytes (the padding zeroed): what a peer sends first.
 */
static inline void
frame_arp_request(uint8_t *f, const uint8_t *smac, uint32_t sip, uint32_t tip)
{
	struct eth_hdr *e = (struct eth_hdr *)f;
	struct arp_pkt *a = (struct arp_pkt *)(f + ETH_HLEN);

	memset(f, 0, ETH_MIN_FRAME);
	memcpy(e->dst, eth_broadcast, ETH_ALEN);
	memcpy(e->src, smac, ETH_ALEN);
	e->type = hton16(ETHERTYPE_ARP);
	a->htype = hton16(ARP_HTYPE_ETH);
	a->ptype = hton16(ETHERTYPE_IPV4);
	a->hlen = ETH_ALEN;
	a->plen = 4;
	a->op = hton16(ARP_REQUEST);
	memcpy(a->sha, smac, ETH_ALEN);
	a->spa = sip;
	a->tpa = tip;
}

#endif
