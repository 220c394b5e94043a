/*
 * lan.h: a virtual Ethernet LAN on loopback UDP, with this process as
 * its switch.  Hosted.
 *
 * The elastic runtime's LAN (../../shared/DESIGN.md, "The elastic
 * runtime") needs no root: each native node is a QEMU whose NIC is
 * `-netdev dgram`, which carries every Ethernet frame as one UDP
 * datagram between a local and a remote address, with nothing added.
 * Every node's remote address is this process's one UDP socket, so
 * the frontend is the hub of a star: it learns which node owns which
 * MAC from the frames they send (a learning switch), passes frames
 * between nodes, and is itself a port of the switch, an interface
 * (netif.h) on which the frontend's own stack runs like any node's.
 *
 *	node's frame -> recvfrom (lan_poll, core 0's idle handler)
 *	    -> learn src MAC -> to us: netif_input
 *	                     -> to another node: sendto that node
 *	                     -> broadcast: both (every other node)
 *	our frame -> lan_transmit -> sendto the node that owns dst
 *	                             (broadcast, or unknown: every node)
 *
 * QEMU's dgram netdev has no virtio-net header, so there is no
 * checksum offload either way: the interface's features are 0.
 */
#ifndef HOSTED_LAN_H
#define HOSTED_LAN_H

#include <stdint.h>

#include "tcp/netif.h"

#define LAN_PORTS_MAX	64	/* nodes (MACs) the switch learns, at most */

/* What the switch has done: lan_stats. */
struct lan_stats {
	uint64_t rx;			/* datagrams received from nodes */
	uint64_t to_us;			/* ... handed to our stack */
	uint64_t forwarded;		/* ... sent on to another node (each copy) */
	uint64_t tx;			/* frames our stack sent (each copy) */
	uint64_t dropped;		/* runts, our own MAC coming back, a full
					 * table, no memory, send errors */
};

/*
 * Make the LAN's interface, named name, on a UDP socket bound to
 * 127.0.0.1:port (0: any free port), and add it to the stack.  On
 * core 0, inside the loops (its reader is core 0's idle handler).
 * Returns the interface, or NULL with the reason in why.
 */
struct netif *lan_create(const char *name, uint16_t port, char *why, size_t whylen);

/* The UDP port of the LAN's socket: where nodes send their frames. */
uint16_t lan_port(struct netif *nif);

/*
 * A port of the host's 127.0.0.1 free now for UDP (udp) or TCP, as the
 * kernel picks one (node_boot's forwarded ports); 0 if none.  Another
 * process may take it before it is used.
 */
uint16_t lan_free_port(int udp);

/* The switch's counters (a snapshot). */
void lan_stats(struct netif *nif, struct lan_stats *st);

#endif
