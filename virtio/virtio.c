/*
 * virtio.c: the transport-independent steps of bringing a virtio device
 * up (virtio 1.x, 3.1.1), on top of virtio.h's transport ops.  Portable.
 *
 * The status byte only grows during setup: each step ORs in one more bit,
 * so a device that dies half-way leaves a record of how far it got.
 * Feature negotiation is the one step that can fail by design: the
 * device reads the driver's choice when FEATURES_OK is written, and
 * clears the bit again if it cannot live with it (6.1), so the bit is
 * read back.
 */
#include <stdio.h>

#include "virtio.h"

static void
add_status(struct virtio_dev *d, uint8_t bit)
{
	d->ops->set_status(d, d->ops->get_status(d) | bit);
}

int
virtio_start(struct virtio_dev *d, uint64_t wanted)
{
	uint64_t offered, f;

	d->ops->reset(d);
	add_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	add_status(d, VIRTIO_STATUS_DRIVER);

	offered = d->ops->get_features(d);
	if (!(offered & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		printf("%s: not a virtio 1.x device (no VERSION_1); "
		    "legacy devices are not supported\n", d->name);
		virtio_fail(d);
		return -1;
	}
	f = offered & (wanted | VIRTIO_BIT(VIRTIO_F_VERSION_1));
	d->ops->set_features(d, f);
	add_status(d, VIRTIO_STATUS_FEATURES_OK);
	if (!(d->ops->get_status(d) & VIRTIO_STATUS_FEATURES_OK)) {
		printf("%s: the device refused features %#llx\n", d->name,
		    (unsigned long long)f);
		virtio_fail(d);
		return -1;
	}
	d->features = f;
	return 0;
}

void
virtio_ready(struct virtio_dev *d)
{
	add_status(d, VIRTIO_STATUS_DRIVER_OK);
}

void
virtio_fail(struct virtio_dev *d)
{
	add_status(d, VIRTIO_STATUS_FAILED);
}
