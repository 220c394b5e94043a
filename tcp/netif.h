/*
 * netif.h: network interfaces.  Portable.
 *
 * An interface is a driver's struct netif: its ops (how to transmit),
 * its MAC address, MTU and feature bits, its IPv4 configuration, and
 * counters.  Drivers live above the stack (hosted/ TAP and memlink,
 * virtio/ virtio-net, tcp/loopback.c): they fill in a struct netif, call
 * netif_add, and hand each received frame to netif_input on the core
 * whose queue received it.  The stack transmits with netif_send.
 *
 *	receive:  driver -> netif_input -> eth_input -> arp_input | ip_input -> ...
 *	transmit: udp_send -> ip_output -> eth_output -> netif_send -> ops->transmit
 *	          (a TSO frame for a device without TSO: -> gso_send, gso.c)
 *
 * Ownership: a frame chain passed to netif_input or netif_send belongs to
 * the callee from then on, whatever it returns.
 */
#ifndef TCP_NETIF_H
#define TCP_NETIF_H

#include <stdint.h>

#include "iobuf.h"

#define ETH_ALEN	6	/* bytes in a MAC address */
#define NETIF_NAME_MAX	16

/* Feature bits (struct netif.features): what the device does for us. */
#define NETIF_F_RX_CSUM	(1u << 0)	/* verifies L4 checksums on receive */
#define NETIF_F_TX_CSUM	(1u << 1)	/* fills in L4 checksums on transmit */
#define NETIF_F_TSO4	(1u << 2)	/* segments large TCP/IPv4 sends */

/*
 * netif_input flags: what the device checked for this frame.
 * NETIF_RX_CSUM_OK: the device vouches for its L4 data (TCP, UDP, ICMP):
 * it checked the checksum, or the sender left the checksum to the
 * device and the frame never crossed a wire (virtio's NEEDS_CSUM, a
 * memlink with both offloads), in which case the field holds only the
 * pseudo-header's partial sum.  The stack then checks nothing, and
 * nothing in it ever reads a received L4 checksum field.
 */
#define NETIF_RX_CSUM_OK (1u << 0)

/*
 * Offload hints for one transmitted frame.  csum: the device must write
 * the 16-bit ones'-complement sum of the bytes from csum_start to the
 * end, at csum_start + csum_offset (the stack has put the pseudo-header
 * sum there), as virtio-net's VIRTIO_NET_HDR_F_NEEDS_CSUM means.  mss:
 * nonzero asks for TSO into segments of that many payload bytes.
 */
struct netif_tx_hints {
	uint16_t csum;			/* 1: checksum needed, as above */
	uint16_t csum_start, csum_offset;
	uint16_t mss;
};

struct netif;

struct netif_ops {
	/*
	 * Transmit frame (a chain starting at its Ethernet header) on this
	 * core's queue.  Owns frame from the call on.  Returns 0, or an
	 * error number if the frame was dropped (counted by the driver).
	 */
	int (*transmit)(struct netif *nif, struct iobuf *frame,
	    const struct netif_tx_hints *hints);
	/*
	 * Optional (NULL: the driver keeps no counters of its own): print
	 * the driver's counters on the console, one line per queue, each
	 * starting with the interface's name and the queue ("vnet0 q1:
	 * rx 12 frames 3456 bytes, ...").  Any core, any time; the figures
	 * are a snapshot, read without stopping the queues.
	 */
	void (*print_stats)(struct netif *nif);
};

/* Per-interface counters (each layer keeps its own too). */
struct netif_stats {
	uint64_t rx_frames, rx_bytes;	/* given to netif_input */
	uint64_t rx_handed;		/* ... and handed to the flow's core */
	uint64_t rx_handoff_drops;	/* ... and lost: no memory for that */
	uint64_t tx_frames, tx_bytes;	/* accepted by transmit (returned 0) */
	uint64_t tx_errors;		/* transmit returned an error */
};

struct netif {
	const struct netif_ops *ops;
	void *driver;			/* the driver's own state */
	char name[NETIF_NAME_MAX];
	uint8_t mac[ETH_ALEN];
	uint16_t mtu;			/* bytes of IP datagram per frame */
	uint32_t features;		/* NETIF_F_* */
	int nqueues;			/* RX/TX queue pairs, one per core at most */
	int steer;			/* netif_add: one queue for several cores, so
					 * netif_input steers by flow */

	/* IPv4 configuration, network byte order; 0 = not configured. */
	uint32_t ip, netmask, gateway;

	/*
	 * Who takes received frames: NULL (what drivers leave) means the
	 * stack, eth_input.  A test or a bridge may set its own before
	 * netif_add; it is called as netif_input's callee, owns the frame,
	 * runs in the receiving event and may do anything an event may.
	 */
	void (*input)(struct netif *nif, struct iobuf *frame, uint32_t rx_flags);

	struct netif_stats stats;	/* updated with relaxed atomics */
	struct netif *next;		/* on the list of interfaces */
};

/*
 * Register an interface (its fields filled in), at the end of the list.
 * Any core, any time; interfaces are never removed.  Returns 0, or -1 if
 * nif has no transmit op or is registered already.
 */
int netif_add(struct netif *nif);

/*
 * Set nif's number of receive queues, and so whether netif_input steers
 * (one queue on several cores).  netif_add takes nif->nqueues as it is;
 * a driver whose queues change later (virtio-net attached again) calls
 * this.  The interface's core, before its frames flow.
 */
void netif_set_queues(struct netif *nif, int nqueues);

/*
 * The interface list, in registration order, for lookups and apps:
 *	for (nif = netif_first(); nif != NULL; nif = netif_next(nif))
 * Read without a lock (rcu_deref; see ebb/rcu.h): safe on any core, at
 * any time, while netif_add runs elsewhere.
 */
struct netif *netif_first(void);
struct netif *netif_next(const struct netif *nif);

/*
 * A received frame, on the core that received it: the stack takes it.
 * This is the one place that steers: an interface with one receive
 * queue and an instance of several cores hands each frame to its flow's
 * core (netif_flow_core) before the stack sees it, so every driver
 * spreads flows the same way; with a queue per core (virtio-net's
 * multiqueue, TAP's, memlink's) the device or the wire has placed the
 * frame already and it goes up here.  The stack's own hand-over (TCP's,
 * to a connection's owner) is the only other crossing, and for a
 * connection made here the owner is the flow's core (tcp_connect picks
 * its port so), so a segment crosses cores at most once.
 */
void netif_input(struct netif *nif, struct iobuf *frame, uint32_t rx_flags);

/*
 * Send a frame: counts it and calls the driver.  Owns frame.  hints may
 * be NULL (no offload).  Returns the driver's 0 or error number.  A TSO
 * frame (hints->mss) for a device without NETIF_F_TSO4 is cut into
 * segments first (gso_send).
 */
int netif_send(struct netif *nif, struct iobuf *frame, const struct netif_tx_hints *hints);

/* netif_send's last step, one frame the driver can take: count it, transmit it. */
int netif_xmit(struct netif *nif, struct iobuf *frame, const struct netif_tx_hints *hints);

/*
 * Cut a TSO frame (Ethernet, IPv4, TCP; hints->mss nonzero, csum_start
 * at the TCP header) into segments of hints->mss payload bytes and
 * netif_xmit each (tcp/gso.c).  Owns frame.  0, or an error number.
 */
int gso_send(struct netif *nif, struct iobuf *frame, const struct netif_tx_hints *hints);

/* Add n to a relaxed atomic counter (an interface's, a layer's). */
#define STAT_ADD(field, n) __atomic_add_fetch(&(field), (n), __ATOMIC_RELAXED)

/*
 * The software flow hash: which of ncores cores owns the flow of this
 * frame (a chain starting at its Ethernet header), so that every frame
 * of one flow is handled on one core whichever queue received it.  The
 * rule, for TCP and anyone else who must agree with the drivers:
 *
 *	IPv4, TCP or UDP, not a fragment:
 *		netif_flow_hash(src, dst, sport, dport) % ncores
 *	IPv4, anything else (other protocols; every fragment, the first
 *	one too, so that all fragments of a datagram meet):
 *		netif_flow_hash(src, dst, 0, 0) % ncores
 *	not IPv4 (ARP, IPv6, VLAN tags, runts): core 0
 *
 * (so a datagram that is fragmented lands on its 2-tuple's core, which
 * may differ from its flow's).  The hash is symmetric: swapping the
 * (address, port) ends gives the same value, so a connection's two
 * directions agree and a local sender can compute its own flow's core.
 * Addresses and ports in network byte order, as in the headers.
 */
uint32_t netif_flow_hash(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport);
int netif_flow_core(const struct iobuf *frame, int ncores);

#endif
