/*
 * stats.h: the network stack's counters, per layer and per core.
 * Portable.
 *
 * Every layer counts what it received, sent and dropped, each drop by
 * its reason.  The counters are kept per core (net_percore[core_id()],
 * one struct net_stats on cache lines of its own), so counting a packet
 * costs one store and no shared cache line: only the owning core writes
 * its struct (NSTAT), with relaxed atomic stores so that a reader on
 * another core sees whole values.  net_stats_read adds the cores up for
 * a snapshot (tests take one before and after and compare);
 * net_stats_print prints the nonzero ones.
 *
 *	NSTAT(ip, rx_bad_csum);			// in ip_input, on this core
 *	struct net_stats s; net_stats_read(&s);	// anywhere
 *	net_stats_print();			// an app's "netstat"
 */
#ifndef TCP_STATS_H
#define TCP_STATS_H

#include <stdint.h>

#include "ebb/percore.h"
#include "kernel/param.h"

struct eth_stats {
	uint64_t rx, tx;		/* frames taken in, handed to netif_send */
	uint64_t rx_short;		/* shorter than an Ethernet header */
	uint64_t rx_not_ours;		/* unicast to another MAC */
	uint64_t rx_multicast;		/* multicast (we join no group) */
	uint64_t rx_bad_type;		/* EtherType neither IPv4 nor ARP */
	uint64_t tx_nomem;		/* no room or memory for the header */
};

struct arp_stats {
	uint64_t rx, tx;		/* ARP packets in, out */
	uint64_t rx_bad;		/* short, or not IPv4 over Ethernet */
	uint64_t rx_requests, rx_replies;
	uint64_t tx_requests, tx_replies;
	uint64_t learned;		/* entries made or refreshed */
	uint64_t hits, misses;		/* eth_output lookups */
	uint64_t expired;		/* entries found stale on use */
	uint64_t evicted;		/* pushed out of a full cache */
	uint64_t queued;		/* packets held for an unresolved address */
	uint64_t queue_drops;		/* oldest held packet dropped: queue full */
	uint64_t pending_drops;		/* packet dropped: too many unresolved */
	uint64_t timeouts;		/* addresses given up after ARP_RETRIES */
	uint64_t timeout_drops;		/* packets dropped with them */
	uint64_t nomem;
};

struct ip_stats {
	uint64_t rx, tx;		/* datagrams delivered up, sent down */
	uint64_t rx_short;		/* shorter than its header */
	uint64_t rx_bad_version;	/* version is not 4 */
	uint64_t rx_bad_hlen;		/* IHL < 5, or beyond the total length */
	uint64_t rx_bad_len;		/* total length beyond the frame */
	uint64_t rx_bad_csum;		/* header checksum */
	uint64_t rx_bad_src;		/* source broadcast or multicast */
	uint64_t rx_not_ours;		/* to another address */
	uint64_t rx_frag;		/* fragments: dropped, never reassembled */
	uint64_t rx_bad_proto;		/* no such protocol here */
	uint64_t tx_no_route;		/* no interface, or no gateway */
	uint64_t tx_too_big;		/* beyond the MTU (we never fragment) */
	uint64_t tx_nomem;
};

struct icmp_stats {
	uint64_t rx, tx;		/* messages in, out */
	uint64_t rx_short, rx_bad_csum;
	uint64_t rx_echo;		/* echo requests answered */
	uint64_t rx_ignored;		/* other types, or echo to a broadcast */
	uint64_t tx_unreach;		/* port/protocol unreachables sent */
	uint64_t rate_limited;		/* unreachables not sent: over ICMP_RATE */
	uint64_t tx_nomem;
};

struct udp_stats {
	uint64_t rx, tx;		/* datagrams delivered to a binding, sent */
	uint64_t rx_short;		/* shorter than its header */
	uint64_t rx_bad_len;		/* length field beyond the datagram */
	uint64_t rx_bad_csum;
	uint64_t rx_no_port;		/* nobody bound: port unreachable */
	uint64_t tx_too_big;		/* beyond the MTU */
	uint64_t tx_nomem;
	uint64_t tx_err;		/* no route, or the lower layers refused */
};

struct dhcp_stats {
	uint64_t rx, tx;		/* replies taken in, messages sent */
	uint64_t tx_discover, tx_request;
	uint64_t rx_offer, rx_ack, rx_nak;
	uint64_t rx_bad;		/* malformed: short, not a reply, no cookie,
					 * bad options, no type or server id */
	uint64_t rx_ignored;		/* well formed, but not for us or not now
					 * (another xid or MAC, a state that wants
					 * no such message) */
	uint64_t retransmits;		/* a message sent again after a timeout */
	uint64_t bound;			/* leases bound (including renewed ones) */
	uint64_t renewing, rebinding;	/* T1 and T2 reached */
	uint64_t expired;		/* leases lost: the address removed */
	uint64_t nomem;
};

/* All the layers' counters: one per core, or a sum. */
struct net_stats {
	struct eth_stats eth;
	struct arp_stats arp;
	struct ip_stats ip;
	struct icmp_stats icmp;
	struct udp_stats udp;
	struct dhcp_stats dhcp;
} __attribute__((aligned(CACHE_LINE)));

/* Per core: net_percore[c] is written only by core c (NSTAT). */
extern struct net_stats net_percore[NCPU];

/* Count one event of layer.field on this core. */
#define NSTAT(layer, field) do {					\
	uint64_t *c_ = &net_percore[core_id()].layer.field;		\
	__atomic_store_n(c_, *c_ + 1, __ATOMIC_RELAXED);		\
} while (0)

/* Every core's counters added up into *out: a snapshot. */
void net_stats_read(struct net_stats *out);

/* Print the nonzero counters, "layer.field value", one per line. */
void net_stats_print(void);

#endif
