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

/* Set one more status bit, keeping those set before. */
static void
add_status(struct virtio_dev *d, uint8_t bit)
{
	d->ops->set_status(d, d->ops->get_status(d) | bit);
}

/*
 * f less every feature whose prerequisite (deps) is not in it, again
 * until nothing changes: dropping one may orphan another.
 */
static uint64_t
drop_orphans(uint64_t f, const struct virtio_dep *deps, int ndeps)
{
	uint64_t before;

	do {
		before = f;
		for (int i = 0; i < ndeps; i++)
			if ((f & VIRTIO_BIT(deps[i].bit)) && !(f & VIRTIO_BIT(deps[i].needs)))
				f &= ~VIRTIO_BIT(deps[i].bit);
	} while (f != before);
	return f;
}

/* virtio.h: reset and negotiate (3.1.1, steps 1 to 6). */
int
virtio_start(struct virtio_dev *d, uint64_t wanted, const struct virtio_dep *deps, int ndeps)
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
	f = drop_orphans(offered & (wanted | VIRTIO_BIT(VIRTIO_F_VERSION_1)), deps, ndeps);
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

/* virtio.h: DRIVER_OK. */
void
virtio_ready(struct virtio_dev *d)
{
	add_status(d, VIRTIO_STATUS_DRIVER_OK);
}

/* virtio.h: FAILED. */
void
virtio_fail(struct virtio_dev *d)
{
	add_status(d, VIRTIO_STATUS_FAILED);
}
