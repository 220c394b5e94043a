/*
 * net_priv.h: the virtio-net driver's own state, shared by net.c
 * (setup, the loop hook), net_rx.c and net_tx.c.  Portable.  Not for
 * anyone else: the interface is net.h.
 *
 * One struct vnet per device, one struct vnet_pair per queue pair in
 * use.  Pair i is core i's (i < pairs): only core i touches its queues,
 * its receive assembly state and the counters it owns, with no lock.
 * Cores at or beyond pairs hand their frames to core (c % pairs) as
 * events (net_tx.c); the hand-over record carries everything, so the
 * receiving core touches only its own pair.  (Received frames are
 * steered above the driver: with a single pair, netif_input hands each
 * to its flow's core.)
 *
 * Device-visible memory: the rings (virtq_init: pages), the receive
 * buffers (iobufs), transmitted iobufs, and the control buffer (in
 * struct vnet, kmalloc'd).  RAM is identity-mapped in both builds, so a
 * pointer is the device's address; the device reads or writes each
 * buffer only between the virtq_add that offers it and the virtq_get
 * that returns it, or until the device is reset.
 */
#ifndef VIRTIO_NET_PRIV_H
#define VIRTIO_NET_PRIV_H

#include "ebb/event.h"
#include "ebb/timer.h"
#include "kernel/platform.h"
#include "net.h"
#include "virtqueue.h"

/* Counters: the owner's add (a plain load, a relaxed store; no lock prefix). */
#define VNET_INC(f, n)	__atomic_store_n(&(f), (f) + (n), __ATOMIC_RELAXED)
/* Counters any core may add to (hand-overs into a pair). */
#define VNET_ADD(f, n)	__atomic_add_fetch(&(f), (n), __ATOMIC_RELAXED)

struct vnet;

/* What the watchdog saw of one queue at its last look (net_watch.c). */
struct vnet_watch {
	uint16_t used;			/* the device's used->idx */
	uint16_t taken;			/* our last_used */
	uint8_t kick;			/* a kick was owed */
	uint8_t irq;			/* an interrupt was owed, since ... */
	uint64_t sleeps;		/* ... the core had slept this many times */
};

/* One queue pair: receiveq (2i) and transmitq (2i + 1).  Core i's. */
struct vnet_pair {
	struct vnet *v;
	int index;			/* i */

	/* Receive. */
	struct virtq rx;
	int rx_irq;			/* 1: interrupts routed; 0: always polled */
	int polling;			/* callbacks masked, the idle handler polls */
	int ev_pending;			/* ev is queued (rx_interrupt) */
	struct event ev;		/* rx_interrupt's event: cannot fail */
	/* A frame being assembled from mergeable buffers (net_rx.c). */
	struct iobuf *frame, *tail;	/* buffers so far (NULL: none) */
	int need;			/* buffers still to come */
	int drop;			/* 1: drop it once complete */
	struct virtio_net_hdr hdr;	/* its header, from the first buffer */

	/* Transmit. */
	struct virtq tx;

	struct vnet_watch rx_watch, tx_watch;

	struct vnet_stats st;
} __attribute__((aligned(CACHE_LINE)));

/* A control command's buffers, device-visible (5.1.6.5). */
struct vnet_ctrl {
	uint8_t cls, cmd;		/* read by the device */
	uint16_t pairs;			/* VQ_PAIRS_SET's data, read */
	uint8_t ack;			/* written by the device */
};

struct vnet {
	struct virtio_dev *d;
	struct netif *nif;		/* vnet_nifs[slot] */
	int slot;			/* N of vnetN */
	int pairs;			/* pairs in use: 1 .. core_count() */
	int max_pairs;			/* N of the queue layout (5.1.2) */
	struct vnet_pair *pair;		/* pairs of them */
	int has_ctrl;			/* ctrl is set up */
	struct virtq ctrl;		/* controlq: queue 2 * max_pairs */
	struct vnet_ctrl cmd;		/* its one command buffer */
};

/*
 * A frame to transmit on its way to a core that owns a pair
 * (spawn_on_record with ev; net_tx.c).  kmalloc'd by the sender, freed
 * by the receiving event.
 */
struct vnet_handoff {
	struct event ev;
	struct netif *nif;
	struct iobuf *frame;
	struct netif_tx_hints hints;	/* the caller's */
};

/*
 * The attached devices, by slot (net.c).  Written only on core 0 while
 * the loops are stopped; the loops' start publishes them, and the idle
 * handlers and the watchdog read them without a lock.
 */
extern struct vnet *vnets[VNET_MAX];

/* Queue numbers (5.1.2). */
static inline int vnet_rxq(int i) { return 2 * i; }
static inline int vnet_txq(int i) { return 2 * i + 1; }

/* net_rx.c; all but vnet_rx_fill and vnet_rx_drain on pair p's core. */
int vnet_rx_fill(struct vnet_pair *p);		/* post buffers into every free slot; how many */
void vnet_rx_kick(struct vnet_pair *p);		/* notify the device if it wants it */
void vnet_rx_interrupt(void *arg);		/* the queue's handler (virtio.h): mask, poll */
void vnet_rx_wake(struct vnet_pair *p);		/* what an interrupt does: mask, poll from an event */
int vnet_rx_service(struct vnet_pair *p);	/* poll if in polling mode; nonzero: work done */
void vnet_rx_drain(struct vnet_pair *p);	/* after the reset: free every buffer */

/* net_tx.c */
int vnet_transmit(struct netif *nif, struct iobuf *frame,	/* netif_ops.transmit */
    const struct netif_tx_hints *hints);
int vnet_tx_harvest(struct vnet_pair *p);	/* free what the device sent; nonzero: some */
void vnet_tx_drain(struct vnet_pair *p);	/* after the reset: free every chain */

/* net_watch.c: lost notifications. */
struct vnet_watcher {				/* core c's watchdog; only core c touches it */
	struct timer t;
	int armed;				/* t is armed (vnet_watching reads it: relaxed) */
} __attribute__((aligned(CACHE_LINE)));
extern struct vnet_watcher vnet_watchers[NCPU];
void vnet_watch_start(int c);			/* arm core c's (this core's) watchdog */

/* Look at core c's pairs in VNET_WATCH_MS (c: this core); on the hot path: a load. */
static inline void
vnet_watch_arm(int c)
{
	if (__builtin_expect(!__atomic_load_n(&vnet_watchers[c].armed, __ATOMIC_RELAXED), 0))
		vnet_watch_start(c);
}

#endif
