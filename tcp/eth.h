/*
 * eth.h: Ethernet framing and ARP.  Portable.
 *
 *	receive:  netif_input -> eth_input -> arp_input
 *	                                   -> ip_input (ip.h)
 *	transmit: ip_output -> eth_output -> arp_lookup hit -> netif_send
 *	                                  -> miss: arp_queue (held; sent by
 *	                                     arp_input when the reply comes)
 *
 * eth.c holds the framing, arp.c the cache, the pending queues and the
 * protocol; arp.c's opening comment explains the locking.
 *
 * Ownership: every function here that takes an iobuf chain owns it from
 * the call on, whatever it returns.
 */
#ifndef TCP_ETH_H
#define TCP_ETH_H

#include <stdint.h>

#include "iobuf.h"
#include "netif.h"

extern const uint8_t eth_broadcast[ETH_ALEN];	/* ff:ff:ff:ff:ff:ff */

/*
 * A received frame (a chain starting at its Ethernet header), on the
 * core that received it: validated, stripped of its header and handed
 * to ARP or IPv4; dropped and counted if malformed or not for us.
 */
void eth_input(struct netif *nif, struct iobuf *frame, uint32_t rx_flags);

/*
 * Send pkt (a chain starting at its network-layer header) to next_hop
 * (an IPv4 address on nif's link, network order; IP4_BROADCAST or the
 * subnet's broadcast address go to the broadcast MAC) as ethertype.
 * h, if not NULL, holds offload hints with csum_start relative to pkt;
 * eth_output moves it past the Ethernet header.  Returns 0 if the frame
 * was sent or queued for ARP, else an error number (dropped, counted).
 */
int eth_output(struct netif *nif, struct iobuf *pkt, uint32_t next_hop_ip,
    uint16_t ethertype, const struct netif_tx_hints *h);

/*
 * Prepend a complete Ethernet header to pkt and send it with netif_send.
 * The last step of eth_output, and arp.c's way to send its own packets
 * and the ones it held.
 */
int eth_send(struct netif *nif, struct iobuf *pkt, const uint8_t *dst_mac,
    uint16_t ethertype, const struct netif_tx_hints *h);

/* ---- ARP (arp.c) -------------------------------------------------------- */

/* An ARP packet (the frame's payload), on the receiving core. */
void arp_input(struct netif *nif, struct iobuf *pkt);

/*
 * Copy ip's MAC on nif into mac and return 1 if the cache knows it and
 * it has not expired; else 0.  Lock-free (RCU).
 */
int arp_lookup(struct netif *nif, uint32_t ip, uint8_t mac[ETH_ALEN]);

/*
 * Hold pkt until ip is resolved, sending an ARP request if none is
 * outstanding: the packet goes out (eth_send) when the reply arrives,
 * on the core that receives the reply, or is dropped after ARP_RETRIES
 * unanswered requests.  h is copied.  Returns 0, or an error number if
 * pkt was dropped at once.
 */
int arp_queue(struct netif *nif, struct iobuf *pkt, uint32_t ip,
    uint16_t ethertype, const struct netif_tx_hints *h);

/*
 * A gratuitous ARP (a request for our own address, RFC 5227 section
 * 3's announcement): tells the link our MAC once nif->ip is set.
 * Returns 0 or an error number.
 */
int arp_announce(struct netif *nif);

/*
 * Forget every resolved address and every pending one (dropping what
 * they held).  For tests and for an interface whose address changes;
 * the memory goes back after a grace period.
 */
void arp_flush(void);

/* Change the cache lifetime and the retry interval (tests shorten them). */
void arp_tune(uint64_t ttl_ns, uint64_t retry_ns);

#endif
