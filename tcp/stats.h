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

struct tcp_stats {
	uint64_t rx, tx;		/* segments taken in (checked), sent */
	uint64_t rx_short;		/* shorter than its header */
	uint64_t rx_bad_off;		/* data offset below 5 or past the segment */
	uint64_t rx_bad_csum;
	uint64_t rx_bad_addr;		/* to or from a broadcast address, port 0 */
	uint64_t rx_handover;		/* handed to the owner core (spawn_on) */
	uint64_t rx_coalesced;		/* appended to a held segment (tcp_rx.c) */
	uint64_t rx_no_conn;		/* no connection, no listener: RST sent */
	uint64_t rx_out_of_window;	/* unacceptable segments (answered by an ACK) */
	uint64_t rx_ooo;		/* segments queued out of order */
	uint64_t rx_ooo_drops;		/* ... or dropped: past the window, no memory */
	uint64_t rx_dup;		/* segments with nothing new */
	uint64_t rx_paws;		/* dropped by PAWS (an old timestamp) */
	uint64_t rx_bad_ack;		/* ACKs of data never sent */
	uint64_t rx_after_close;	/* data after tcp_close: answered by RST */
	uint64_t rst_rx;		/* acceptable RSTs taken */
	uint64_t rst_tx;		/* RSTs sent */
	uint64_t rst_ignored;		/* RSTs outside the window, dropped */
	uint64_t challenge_acks;	/* RFC 5961 challenge ACKs sent */
	uint64_t challenge_limited;	/* ... not sent: over the rate limit */
	uint64_t syn_rx;		/* SYNs to a listener */
	uint64_t backlog_drops;		/* SYNs dropped: syn_backlog full, no cookies */
	uint64_t cookies_sent;		/* SYN cookies sent: syn_backlog full */
	uint64_t cookies_validated;	/* connections made from a cookie's ACK */
	uint64_t cookies_rejected;	/* ACKs for a listener whose cookie failed */
	uint64_t conn_limit;		/* SYNs and connects refused: conn_max */
	uint64_t accepts;		/* passive opens completed */
	uint64_t refused_by_app;	/* ... that on_accept refused */
	uint64_t connects;		/* active opens started */
	uint64_t established;		/* connections that reached ESTABLISHED */
	uint64_t closed;		/* connections freed (any way) */
	uint64_t aborts;		/* aborted callbacks and tcp_abort calls */
	uint64_t retransmits;		/* segments sent again */
	uint64_t fast_retransmits;	/* ... on three duplicate ACKs */
	uint64_t sack_retransmits;	/* ... holes found by the SACK scoreboard */
	uint64_t timeouts;		/* retransmission timer expiries */
	uint64_t tlp_probes;		/* tail loss probes sent (RFC 8985 7) */
	uint64_t dupacks;		/* duplicate ACKs received */
	uint64_t delayed_acks;		/* ACKs sent by the delayed-ACK timer */
	uint64_t zero_window_probes;	/* persist probes sent */
	uint64_t keepalive_probes;	/* keepalive probes sent */
	uint64_t keepalive_drops;	/* connections aborted by keepalive */
	uint64_t time_wait;		/* connections that entered TIME_WAIT */
	uint64_t nomem;			/* a segment dropped for want of memory */
};

/* All the layers' counters: one per core, or a sum. */
struct net_stats {
	struct eth_stats eth;
	struct arp_stats arp;
	struct ip_stats ip;
	struct icmp_stats icmp;
	struct udp_stats udp;
	struct dhcp_stats dhcp;
	struct tcp_stats tcp;
} __attribute__((aligned(CACHE_LINE)));

/* Per core: net_percore[c] is written only by core c (NSTAT). */
extern struct net_stats net_percore[NCPU];

/* Count one event of layer.field on this core. */
#define NSTAT(layer, field) NSTAT_ADD(layer, field, 1)

/* Count n events of layer.field on this core. */
#define NSTAT_ADD(layer, field, n) do {					\
	uint64_t *c_ = &net_percore[core_id()].layer.field;		\
	__atomic_store_n(c_, *c_ + (n), __ATOMIC_RELAXED);		\
} while (0)

/* Every core's counters added up into *out: a snapshot. */
void net_stats_read(struct net_stats *out);

/* Print the nonzero counters, "layer.field value", one per line. */
void net_stats_print(void);

#endif
