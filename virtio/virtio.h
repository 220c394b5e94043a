/*
 * virtio.h: a virtio device as a driver sees it, whatever carries it.
 * Portable.
 *
 * The virtio 1.x spec (section 4) puts the same device behind several
 * transports: PCI, MMIO, channel I/O.  A driver needs only a few things
 * from the transport -- status, features, the device's configuration
 * space, queues, notifications and interrupts -- so those are the ops of
 * struct virtio_transport, and the driver (virtio/net.c) calls nothing
 * else.  Natively the transport is virtio/pci.c; in the hosted tests it
 * is a device model that plays the device side of the rings in memory.
 *
 * Initialization, as the spec orders it (3.1.1), using virtio.c's helpers:
 *
 *	virtio_start(d, wanted, deps)	reset; ACKNOWLEDGE; DRIVER; read the
 *					offered features; write offered &
 *					wanted, less any whose prerequisite
 *					is missing; FEATURES_OK, read back
 *	d->ops->read_config(...)	device-specific setup: MAC, queue
 *	d->ops->queue_enable(...)	  counts, the queues themselves
 *	virtio_ready(d)			DRIVER_OK: the device may now use
 *					the queues and interrupt
 *	...
 *	virtio_fail(d)			on an error after virtio_start: FAILED
 *
 * Interrupts.  Each queue that wants them gets its own: the transport
 * arranges (MSI-X natively) that handler(arg) runs on the chosen core
 * as ordinary event-loop code, never at interrupt time.  A queue
 * enabled without a handler never interrupts; its driver polls it.
 */
#ifndef VIRTIO_VIRTIO_H
#define VIRTIO_VIRTIO_H

#include <stdint.h>

#include "virtqueue.h"

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	1	/* the guest saw the device */
#define VIRTIO_STATUS_DRIVER		2	/* and knows how to drive it */
#define VIRTIO_STATUS_DRIVER_OK		4	/* ready: queues may be used */
#define VIRTIO_STATUS_FEATURES_OK	8	/* feature negotiation done */
#define VIRTIO_STATUS_NEEDS_RESET	64	/* the device hit an error */
#define VIRTIO_STATUS_FAILED		128	/* the guest gave up on it */

/* Device-independent feature bits (6). */
#define VIRTIO_F_INDIRECT_DESC	28	/* descriptors may point at tables */
/* VIRTIO_F_EVENT_IDX (29) is in virtqueue.h. */
#define VIRTIO_F_VERSION_1	32	/* a virtio 1.x (non-legacy) device */

#define VIRTIO_BIT(n)	(1ull << (n))

struct virtio_dev;

/* What a transport does for a driver.  Called on one core at a time. */
struct virtio_transport {
	/* Write 0 to the status and wait until the device reads back 0. */
	void (*reset)(struct virtio_dev *d);
	uint8_t (*get_status)(struct virtio_dev *d);
	/* Write status (the whole byte: callers OR in the new bit). */
	void (*set_status)(struct virtio_dev *d, uint8_t status);
	/* The device's 64 feature bits, and the driver's choice. */
	uint64_t (*get_features)(struct virtio_dev *d);
	void (*set_features)(struct virtio_dev *d, uint64_t features);
	/*
	 * Copy len bytes at off of the device-specific configuration
	 * space to buf, consistently (the transport retries while the
	 * device's config generation changes, 2.4.1).
	 */
	void (*read_config)(struct virtio_dev *d, unsigned off, void *buf, unsigned len);
	/* The largest size queue q may have, or 0 if there is no queue q. */
	int (*queue_max)(struct virtio_dev *d, int q);
	/*
	 * Give the device vq (already virtq_init'ed) as queue q and enable
	 * it.  handler (may be NULL: no interrupts) will run with arg on
	 * core `core` after the device interrupts for this queue.  0, or
	 * -1 if the device refused the queue; with a handler, -2 if no
	 * interrupt could be routed (the queue is then enabled without
	 * one and must be polled).
	 */
	int (*queue_enable)(struct virtio_dev *d, int q, struct virtq *vq, int core,
	    void (*handler)(void *arg), void *arg);
	/* Tell the device there are new buffers in queue q (a "kick"). */
	void (*notify)(struct virtio_dev *d, int q);
};

struct virtio_dev {
	const struct virtio_transport *ops;
	void *priv;			/* the transport's own state */
	char name[24];			/* for messages: "virtio@00:03.0" */
	uint64_t features;		/* negotiated, once virtio_start succeeded */
};

/*
 * A feature bit that requires another (the device type's "feature bit
 * requirements", e.g. 5.1.3.1): the driver must not accept `bit`
 * unless it accepts `needs` too (6, "the driver MUST NOT accept a
 * feature which requires another feature which was not accepted").
 */
struct virtio_dep {
	int bit, needs;
};

/*
 * Reset the device and negotiate: the features both the device offers
 * and the driver wants (VIRTIO_F_VERSION_1 is always wanted), less every
 * one whose prerequisite in deps[0..ndeps-1] is not among them (a device
 * may offer a feature without its prerequisite), written, then
 * FEATURES_OK set and read back.  0, with d->features set; -1 if the
 * device refused (FAILED is then set and a reason printed).
 */
int virtio_start(struct virtio_dev *d, uint64_t wanted, const struct virtio_dep *deps,
    int ndeps);

/* Set DRIVER_OK: setup is done, the device may start. */
void virtio_ready(struct virtio_dev *d);

/* Set FAILED: the driver gives up on the device. */
void virtio_fail(struct virtio_dev *d);

/* Was feature bit `bit` negotiated? */
static inline int
virtio_has(const struct virtio_dev *d, int bit)
{
	return (d->features >> bit) & 1;
}

#endif
