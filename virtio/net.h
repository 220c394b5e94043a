/*
 * net.h: the virtio-net driver (virtio 1.x spec, section 5.1).  Portable:
 * it drives a struct virtio_dev through virtio.h's transport ops, so the
 * same code runs on the PCI transport natively (virtio/pci.c) and on the
 * device model of the hosted tests (test/test_vnet.c).
 *
 *	probe (core 0, before the loops):  vnet_attach(d)
 *	  negotiate -> read MAC, status, max pairs -> queues -> post receive
 *	  buffers -> DRIVER_OK -> (MQ) VQ_PAIRS_SET on the control queue
 *	  -> netif_add("vnetN") -> one line on the console
 *	receive (core i, pair i):  interrupt -> mask, poll from the idle
 *	  handler -> netif_input (which, with one pair, steers each frame to
 *	  its flow's core: tcp/netif.c)
 *	transmit (any core):  netif_send -> vnet_transmit -> TX queue of
 *	  this core (or handed to a core that owns one)
 *
 * virtio/README.md tells the story; net_priv.h holds the driver's state
 * and its invariants; net.c (setup), net_rx.c and net_tx.c the paths.
 */
#ifndef VIRTIO_NET_H
#define VIRTIO_NET_H

#include <stdint.h>

#include "tcp/netif.h"
#include "virtio.h"

/* Feature bits of the network device (5.1.3). */
#define VIRTIO_NET_F_CSUM	0	/* device checksums what we send */
#define VIRTIO_NET_F_GUEST_CSUM	1	/* device vouches for what we receive */
#define VIRTIO_NET_F_MTU	3	/* config has the MTU */
#define VIRTIO_NET_F_MAC	5	/* config has the MAC */
#define VIRTIO_NET_F_GUEST_TSO4	7	/* device may send us coalesced TCP/IPv4 */
#define VIRTIO_NET_F_HOST_TSO4	11	/* device segments TCP/IPv4 we send */
#define VIRTIO_NET_F_MRG_RXBUF	15	/* a frame may span receive buffers */
#define VIRTIO_NET_F_STATUS	16	/* config has the link status */
#define VIRTIO_NET_F_CTRL_VQ	17	/* there is a control queue */
#define VIRTIO_NET_F_MQ		22	/* several queue pairs (needs CTRL_VQ) */

/* The device-specific configuration space (5.1.4): byte offsets. */
#define VIRTIO_NET_CFG_MAC	0	/* u8[6], with F_MAC */
#define VIRTIO_NET_CFG_STATUS	6	/* le16, with F_STATUS */
#define VIRTIO_NET_CFG_MAX_PAIRS 8	/* le16, with F_MQ: 1..0x8000 */
#define VIRTIO_NET_S_LINK_UP	1	/* status: the link is up */

/*
 * The header in front of every frame, both ways (5.1.6).  With
 * VIRTIO_F_VERSION_1 it is always these 12 bytes (num_buffers included,
 * with or without MRG_RXBUF), little-endian.
 */
struct virtio_net_hdr {
	uint8_t flags;		/* VIRTIO_NET_HDR_F_* */
	uint8_t gso_type;	/* VIRTIO_NET_HDR_GSO_* */
	uint16_t hdr_len;	/* bytes of headers (Ethernet + IP + TCP) for GSO */
	uint16_t gso_size;	/* payload bytes per segment, for GSO */
	uint16_t csum_start;	/* the checksum covers bytes from here on */
	uint16_t csum_offset;	/* and is stored at csum_start + this */
	uint16_t num_buffers;	/* receive: buffers this frame spans */
} __attribute__((packed));
#define VIRTIO_NET_HDR_LEN	12

#define VIRTIO_NET_HDR_F_NEEDS_CSUM	1	/* checksum at csum_start is partial */
#define VIRTIO_NET_HDR_F_DATA_VALID	2	/* receive: checksums verified */
#define VIRTIO_NET_HDR_GSO_NONE		0
#define VIRTIO_NET_HDR_GSO_TCPV4	1

/* The control queue (5.1.6.5): a class and command, data, an ack. */
#define VIRTIO_NET_CTRL_MQ		4	/* class: multiqueue */
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET	0	/* command: le16 pairs to use */
#define VIRTIO_NET_OK			0	/* ack: done */
#define VIRTIO_NET_ERR			1	/* ack: refused */

/* Tunables. */
#define VNET_MAX		8	/* virtio-net devices at once: vnet0..vnet7 */
#define VNET_QUEUE_SIZE		256	/* entries per queue, at most (less if the device says) */
#define VNET_RX_BATCH		64	/* receive buffers harvested per poll, at most */
#define VNET_TX_SEGS		16	/* descriptors per frame; longer chains are copied */
#define VNET_RX_HEADROOM	64	/* room before a receive buffer's header */
#define VNET_CTRL_TIMEOUT_MS	1000	/* how long attach waits for a control command */
#define VNET_MTU		1500	/* bytes of IP per frame */
#define VNET_WATCH_MS		10	/* the lost-notification watchdog's period (net_watch.c) */

/*
 * Attach a virtio-net device: negotiate, read MAC/status/max pairs, set
 * up queues, register a struct netif named "vnet0", "vnet1", ...; print
 * one line with the MAC, link status, queue pairs and the negotiated
 * features by name.  Called on core 0 before the event loops start (from
 * the PCI probe, or a test), so it may allocate and print but not spawn;
 * per-core idle handlers are added on each core's first pass through its
 * loop (a boundary hook, registered by the first call).  Returns 0, or
 * -1 with a reason printed and the device set FAILED.
 */
int vnet_attach(struct virtio_dev *d);

/*
 * Undo vnet_attach: reset the device (it stops using the queues), then
 * free the queues and every buffer posted or in flight.  The interface
 * stays on the netif list (interfaces are never removed) but transmits
 * nothing (ENODEV) until a later vnet_attach reuses its name.  Only while
 * the loops are stopped, with no event of the device's still queued (no
 * frame being handed over between cores).  Core 0.
 */
void vnet_detach(struct virtio_dev *d);

/* The interface d is attached as, or NULL. */
struct netif *vnet_netif(struct virtio_dev *d);

/*
 * One queue pair's counters.  rx_* and tx_* (but tx_handed and
 * tx_handoff_drops) are written only by the pair's core; frames that
 * other cores hand to this pair for transmission are counted by them,
 * with relaxed atomics.  A snapshot for tests and print_stats.
 */
struct vnet_stats {
	uint64_t rx_frames, rx_bytes;	/* frames given to netif_input */
	uint64_t rx_nomem;		/* dropped: no fresh buffer for the ring */
	uint64_t rx_malformed;		/* dropped: bad length, id, num_buffers, csum */
	uint64_t tx_frames, tx_bytes;	/* frames put on the ring */
	uint64_t tx_full;		/* dropped: the ring was full */
	uint64_t tx_errors;		/* dropped: no memory to copy, bad hints */
	uint64_t tx_copies;		/* chains longer than VNET_TX_SEGS, copied */
	uint64_t tx_handed;		/* frames other cores handed to this pair */
	uint64_t tx_handoff_drops;	/* ... and lost: no memory for the hand-over */
	uint64_t bad_used;		/* used entries naming no buffer of ours (RX and TX) */
	uint64_t kicks;			/* notifications to the device (RX and TX) */
	uint64_t interrupts;		/* RX interrupts taken */
	uint64_t lost_kicks;		/* kicks the device waited for in vain (net_watch.c) */
	uint64_t lost_irqs;		/* RX interrupts that never came (net_watch.c) */
};

/*
 * The watchdog timers armed now, over all cores (net_watch.c): 0 once
 * every device has been quiet for a period.  For a test that wants no
 * timer left when its run ends.
 */
int vnet_watching(void);

/* Copy pair q's counters of nif (a vnet interface) into *st. */
void vnet_stats(struct netif *nif, int q, struct vnet_stats *st);

/*
 * The names of the virtio-net features set in f, space-separated, into
 * buf (always terminated); what vnet_attach prints.
 */
void vnet_feature_names(uint64_t f, char *buf, unsigned len);

#endif
