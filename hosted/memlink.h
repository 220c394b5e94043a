/*
 * memlink.h: two network interfaces joined by an in-memory wire, in one
 * process.  Hosted.
 *
 * memlink_create makes interfaces A (side 0) and B (side 1) and adds
 * them (netif_add): what one sends, the other receives, through
 * netif_input, as an event on the core that sent it (queue c of one side
 * is wired to queue c of the other).  The wire can be made bad, each
 * impairment drawn from a seeded random stream, so a run can be repeated:
 *
 *	struct memlink_config cfg = { .seed = 1, .loss_ppm = 200000 };	// 20% loss
 *	struct memlink *ml = memlink_create("a", "b", &cfg);
 *	struct netif *a = memlink_netif(ml, 0), *b = memlink_netif(ml, 1);
 *
 * hosted/memlink.c explains the wire; a frame whose first buffer is the
 * sender's alone crosses as it is (a chain's clones are seen shared by
 * the receiver, which by iobuf.h's rule only reads them; a chain only
 * to a receiver offering NETIF_F_RX_CSUM, and not a short one); any other, or
 * every frame where the wire must read or write it (a checksum to fill
 * in, an impairment, a capture), becomes one buffer that the receiver
 * owns alone (a copy, as a NIC's DMA would make).
 */
#ifndef HOSTED_MEMLINK_H
#define HOSTED_MEMLINK_H

#include <stdint.h>

#include "tcp/netif.h"

/* Probabilities are in parts per million of frames sent. */
struct memlink_config {
	uint64_t seed;		/* the random streams' seed */
	uint32_t loss_ppm;	/* frames lost */
	uint32_t dup_ppm;	/* frames delivered twice */
	uint32_t corrupt_ppm;	/* frames with one byte flipped (xor 0xff) */
	uint32_t reorder_ppm;	/* frames held back reorder_ns behind the rest */
	uint64_t reorder_ns;	/* how far back (0: 1 ms) */
	uint64_t delay_ns;	/* one-way latency of every frame */
	uint64_t rate_bps;	/* bits per second per queue and direction (0: no limit) */
	uint32_t queue_max;	/* most frames in flight per queue (0: 1024); more are dropped */
	uint32_t features;	/* NETIF_F_TX_CSUM and/or NETIF_F_RX_CSUM to offer (both
				 * sides): with both, a good frame crosses with its
				 * checksum as the sender left it, marked good */
	uint16_t mtu;		/* 0: 1500 */
	const char *pcap;	/* write every frame sent on either side here (or NULL) */
};

/* What one side sent, summed over its queues (a snapshot while running). */
struct memlink_stats {
	uint64_t sent;		/* frames given to the wire (transmit) */
	uint64_t delivered;	/* frames handed to the peer's netif_input */
	uint64_t lost, duplicated, corrupted, reordered;	/* impairments drawn */
	uint64_t overflow;	/* dropped: queue_max frames already in flight */
	uint64_t nomem;		/* dropped: no memory for the copy */
};

struct memlink;

/*
 * Make a link, its two interfaces named name_a and name_b (MACs
 * 02:00:00:00:NN:01 and :02, NN the link's number), and netif_add both.
 * Any core, before the frames flow; links are never destroyed.  NULL if
 * memory ran out or the pcap file could not be opened.
 */
struct memlink *memlink_create(const char *name_a, const char *name_b,
    const struct memlink_config *cfg);

/* Side 0 (A) or 1 (B) of the link. */
struct netif *memlink_netif(struct memlink *ml, int side);

/* What side sent toward the other. */
void memlink_stats(struct memlink *ml, int side, struct memlink_stats *st);

#endif
