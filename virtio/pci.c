/*
 * pci.c: the virtio 1.x PCI transport (spec 4.1, the "modern" one): what
 * struct virtio_transport (virtio.h) asks of it, on PCI.  Native only.
 *
 * A virtio PCI device describes itself with vendor capabilities in its
 * configuration space (4.1.4), each naming a BAR, an offset and a
 * length of one structure:
 *
 *	common	(type 1)  status, features, queue setup: virtio_pci_common_cfg
 *	notify	(type 2)  where the driver writes a queue's index to kick it:
 *			  queue q's doorbell is at its queue_notify_off *
 *			  notify_off_multiplier bytes into the structure
 *	ISR	(type 3)  the interrupt status byte, for INTx only
 *	device	(type 4)  the device's own configuration (virtio-net: MAC, ...)
 *
 * The first capability of each type that lies in a memory BAR is used
 * (4.1.4.1 lets a device offer alternatives; I/O-BAR ones are skipped),
 * and each is mapped uncached (kernel/pci.c's pci_map).
 *
 * Interrupts are MSI-X, one table entry per use (4.1.5.1.2): entry 0
 * for configuration changes, aimed at core 0, then one per queue that
 * has a handler, aimed at the core the driver names, each with its own
 * vector from irq_alloc, so that the handler runs on that core as an
 * event-loop step (kernel/irq.c).  The device is told an entry by
 * writing its number into msix_config or queue_msix_vector and must
 * read it back: VIRTIO_MSI_NO_VECTOR (0xffff) back means it refused.
 * The INTx pin is never used (pci_enable turns it off), so the ISR
 * structure is found, checked and left alone.
 *
 * When a queue cannot have an interrupt -- the device has no MSI-X, it
 * has fewer table entries than queues with handlers, or it refused the
 * entry -- queue_enable says so (-2), and the handler is made to run
 * every IRQ_POLL_US on its core anyway (kernel/irq.c's irq_tick): a core
 * whose device cannot wake it still looks at its queues, so frames never
 * wait for ever, only up to IRQ_POLL_US longer.
 *
 * Probe, once per device, on core 0 in pci_init (the other cores are
 * started but parked, so core_count() is final):
 *
 *	vpci_probe -> caps_find, pci_map (each structure)
 *	           -> pci_enable, pci_msix_enable, config vector (entry 0)
 *	           -> vnet_attach(&v->vd)   the driver: virtio_start (reset,
 *	              features), read_config, queue_max, queue_enable ...,
 *	              virtio_ready
 *
 * A legacy-only device (virtio 0.9.5: an I/O BAR and no capabilities)
 * is reported and not claimed.  A transitional one (device id 0x1000)
 * offers the modern capabilities too and is driven through them.
 *
 * Accesses: every register is read and written with its own width
 * (4.1.3.1), 64-bit ones as two 32-bit halves, low first (allowed by
 * 4.1.3.1).  x86 keeps uncached stores in order with each other and
 * after earlier stores to ordinary memory (Intel SDM vol. 3, 8.2.2 and
 * 11.3), so the only barrier needed is the compiler's, before a doorbell.
 * The transport's ops run on one core at a time (virtio.h), except
 * notify, which any core calls for its own queues: it only reads the
 * doorbell address set at queue_enable, before the loops ran.
 */
#include <string.h>

#include "kernel/malloc.h"
#include "kernel/native.h"
#include "kernel/pci.h"
#include "kernel/print.h"
#include "net.h"
#include "virtio.h"

#define VIRTIO_VENDOR		0x1af4
#define VIRTIO_NET_MODERN	0x1041	/* 0x1040 + device type 1 (4.1.2.1) */
#define VIRTIO_NET_TRANSITIONAL	0x1000	/* ids 0x1000..0x103f: transitional */

/* struct virtio_pci_cap (4.1.4): byte offsets in the capability. */
#define VCAP_LEN	2	/* 8 bits: the capability's length */
#define VCAP_TYPE	3	/* 8 bits: VIRTIO_PCI_CAP_* */
#define VCAP_BAR	4	/* 8 bits: which BAR */
#define VCAP_OFFSET	8	/* 32 bits: where in the BAR */
#define VCAP_LENGTH	12	/* 32 bits: how long the structure is */
#define VCAP_MULT	16	/* 32 bits, notify only: notify_off_multiplier */
#define VCAP_MIN	16	/* bytes of a virtio_pci_cap */
#define VCAP_NOTIFY_MIN	20	/* bytes of a virtio_pci_notify_cap */

#define VIRTIO_PCI_CAP_COMMON	1
#define VIRTIO_PCI_CAP_NOTIFY	2
#define VIRTIO_PCI_CAP_ISR	3
#define VIRTIO_PCI_CAP_DEVICE	4
#define VCAP_TYPES		5	/* types 1..4 used, array index = type */

/* struct virtio_pci_common_cfg (4.1.4.3): register offsets. */
#define CC_DFSELECT	0x00	/* 32: device_feature_select */
#define CC_DF		0x04	/* 32: device_feature (the selected 32 bits) */
#define CC_GFSELECT	0x08	/* 32: driver_feature_select */
#define CC_GF		0x0C	/* 32: driver_feature */
#define CC_MSIX		0x10	/* 16: config_msix_vector */
#define CC_NUMQ		0x12	/* 16: num_queues */
#define CC_STATUS	0x14	/* 8: device_status */
#define CC_CFGGEN	0x15	/* 8: config_generation */
#define CC_Q_SELECT	0x16	/* 16: queue_select; the Q_ ones are its queue's */
#define CC_Q_SIZE	0x18	/* 16: queue_size (the maximum, until written) */
#define CC_Q_MSIX	0x1A	/* 16: queue_msix_vector */
#define CC_Q_ENABLE	0x1C	/* 16: queue_enable */
#define CC_Q_NOFF	0x1E	/* 16: queue_notify_off */
#define CC_Q_DESC	0x20	/* 64: descriptor table address */
#define CC_Q_DRIVER	0x28	/* 64: available ring address */
#define CC_Q_DEVICE	0x30	/* 64: used ring address */
#define CC_LEN		0x38	/* bytes of the registers above */

#define VIRTIO_MSI_NO_VECTOR	0xffff	/* no MSI-X entry (4.1.4.3) */
#define RESET_WAIT_NS		1000000000ULL	/* how long a reset may take */
#define CONFIG_TRIES		100	/* reads of the config while its generation changes */
#define CONFIG_ENTRY		0	/* the MSI-X entry for configuration changes */

/* The interrupt of one queue: its vector, MSI-X entry (or none) and core. */
struct vpci_irq {
	int vector;		/* -1: none */
	int entry;		/* -1: no MSI-X entry (the vector ticks) */
};

/* One structure found through a capability: where it is mapped, how long. */
struct vpci_region {
	volatile uint8_t *base;	/* NULL: not found; volatile: device memory,
				 * each access reaches the device, in order */
	uint32_t len;
};

/* The transport's state for one device (struct virtio_dev's priv). */
struct vpci {
	struct virtio_dev vd;
	struct pci_dev *pci;
	struct vpci_region common, notify, isr, device;
	uint32_t notify_mult;		/* notify_off_multiplier */
	int msix;			/* MSI-X table entries usable, 0: none */
	int next_entry;			/* the next unused MSI-X entry */
	int broken;			/* it did not reset: bus mastering off, no queues */
	uint64_t config_changes;	/* configuration-change interrupts seen */
	int nq;				/* entries of the two arrays below */
	volatile uint16_t **doorbell;	/* [nq]: each enabled queue's, else NULL */
	struct vpci_irq *irq;		/* [nq]: each enabled queue's interrupt */
};

/* ---- registers ----------------------------------------------------------- */

/* Read the 8-bit common-configuration register at off. */
static uint8_t
r8(struct vpci *v, int off)
{
	return *(volatile uint8_t *)(v->common.base + off);
}

/* Read the 16-bit common-configuration register at off. */
static uint16_t
r16(struct vpci *v, int off)
{
	return *(volatile uint16_t *)(v->common.base + off);
}

/* Read the 32-bit common-configuration register at off. */
static uint32_t
r32(struct vpci *v, int off)
{
	return *(volatile uint32_t *)(v->common.base + off);
}

/* Write the 8-bit common-configuration register at off. */
static void
w8(struct vpci *v, int off, uint8_t x)
{
	*(volatile uint8_t *)(v->common.base + off) = x;
}

/* Write the 16-bit common-configuration register at off. */
static void
w16(struct vpci *v, int off, uint16_t x)
{
	*(volatile uint16_t *)(v->common.base + off) = x;
}

/* Write the 32-bit common-configuration register at off. */
static void
w32(struct vpci *v, int off, uint32_t x)
{
	*(volatile uint32_t *)(v->common.base + off) = x;
}

/* A 64-bit register as two halves, low first (4.1.3.1). */
static void
w64(struct vpci *v, int off, uint64_t x)
{
	w32(v, off, (uint32_t)x);
	w32(v, off + 4, (uint32_t)(x >> 32));
}

/* The transport's state of d. */
static struct vpci *
vpci(struct virtio_dev *d)
{
	return d->priv;
}

/* ---- the transport ops (virtio.h) ----------------------------------------- */

/*
 * Queue q is gone (the device was reset): no doorbell, its MSI-X entry
 * masked, its vector disarmed, so that the driver may free what the
 * handler's argument points to even if an interrupt is still pending.
 */
static void
queue_forget(struct vpci *v, int q)
{
	struct vpci_irq *qi = &v->irq[q];

	v->doorbell[q] = NULL;
	if (qi->entry >= 0)
		pci_msix_mask(v->pci, qi->entry);
	if (qi->vector >= 0)
		irq_disarm(qi->vector);
	qi->vector = qi->entry = -1;
}

/*
 * Write 0 to the status, wait for the device to read back 0 (4.1.4.3.2);
 * forget the queues (queue_forget).  A device still not reset after
 * RESET_WAIT_NS may go on using its queues, which the driver is about
 * to free: its bus mastering is turned off (it reaches no memory any
 * more) and it is marked broken (queue_enable refuses).  Only while the
 * loops are stopped or not yet running, as irq_disarm requires.
 */
static void
vpci_reset(struct virtio_dev *d)
{
	struct vpci *v = vpci(d);
	uint64_t deadline = clock_ns() + RESET_WAIT_NS;

	w8(v, CC_STATUS, 0);
	while (r8(v, CC_STATUS) != 0) {
		if (clock_ns() > deadline) {
			kprintf("%s: the device did not finish its reset in 1 s: "
			    "its DMA is stopped and it is not used\n", d->name);
			pci_master_off(v->pci);
			v->broken = 1;
			break;
		}
		__asm__ volatile("pause");
	}
	for (int q = 0; q < v->nq; q++)
		queue_forget(v, q);
	v->next_entry = CONFIG_ENTRY + 1;	/* the entries are free again */
	/* Reset forgot msix_config: entry 0 again, if the device takes it. */
	if (v->msix > 0) {
		w16(v, CC_MSIX, CONFIG_ENTRY);
		if (r16(v, CC_MSIX) != CONFIG_ENTRY)
			kprintf("%s: the device refused an interrupt for configuration changes\n",
			    d->name);
	}
}

/* The device status byte. */
static uint8_t
vpci_get_status(struct virtio_dev *d)
{
	return r8(vpci(d), CC_STATUS);
}

/* Write the device status byte (the whole of it). */
static void
vpci_set_status(struct virtio_dev *d, uint8_t status)
{
	w8(vpci(d), CC_STATUS, status);
}

/* The device's 64 feature bits, 32 at a time through the select register. */
static uint64_t
vpci_get_features(struct virtio_dev *d)
{
	struct vpci *v = vpci(d);
	uint32_t lo, hi;

	w32(v, CC_DFSELECT, 0);
	lo = r32(v, CC_DF);
	w32(v, CC_DFSELECT, 1);
	hi = r32(v, CC_DF);
	return (uint64_t)hi << 32 | lo;
}

/* Write the driver's 64 feature bits, 32 at a time. */
static void
vpci_set_features(struct virtio_dev *d, uint64_t f)
{
	struct vpci *v = vpci(d);

	w32(v, CC_GFSELECT, 0);
	w32(v, CC_GF, (uint32_t)f);
	w32(v, CC_GFSELECT, 1);
	w32(v, CC_GF, (uint32_t)(f >> 32));
}

/*
 * Copy device configuration [off, off + len) into buf, each field with
 * its natural width where the request is one field (1, 2, 4 or 8 bytes,
 * aligned), byte by byte otherwise (a MAC is 6 single bytes); again
 * while config_generation changes underneath (2.4.1), at most
 * CONFIG_TRIES times (a device that never settles gets the last read,
 * reported, rather than hanging the boot).  Bytes beyond the structure
 * read as zero, reported.
 */
static void
vpci_read_config(struct virtio_dev *d, unsigned off, void *buf, unsigned len)
{
	struct vpci *v = vpci(d);
	volatile uint8_t *p = v->device.base + off;
	uint8_t *out = buf;
	uint8_t gen;
	int tries = 0;

	if (v->device.base == NULL || off > v->device.len || len > v->device.len - off) {
		kprintf("%s: config bytes %u..%u are outside the device's %u\n", d->name, off,
		    off + len, v->device.len);
		memset(buf, 0, len);
		return;
	}
	do {
		gen = r8(v, CC_CFGGEN);
		if (len == 2 && off % 2 == 0) {
			uint16_t x = *(volatile uint16_t *)p;
			memcpy(out, &x, 2);
		} else if ((len == 4 || len == 8) && off % 4 == 0) {
			for (unsigned i = 0; i < len; i += 4) {
				uint32_t x = *(volatile uint32_t *)(p + i);
				memcpy(out + i, &x, 4);
			}
		} else {
			for (unsigned i = 0; i < len; i++)
				out[i] = p[i];
		}
		if (++tries == CONFIG_TRIES) {
			kprintf("%s: the configuration changed under each of %d reads\n",
			    d->name, CONFIG_TRIES);
			break;
		}
	} while (r8(v, CC_CFGGEN) != gen);
}

/* The largest size queue q may have; 0 if there is no queue q. */
static int
vpci_queue_max(struct virtio_dev *d, int q)
{
	struct vpci *v = vpci(d);

	if (q < 0 || q >= r16(v, CC_NUMQ))	/* which may change with the features */
		return 0;
	w16(v, CC_Q_SELECT, (uint16_t)q);
	return r16(v, CC_Q_SIZE);
}

/*
 * Make room for queue q in the per-queue arrays, which grow to the
 * highest queue enabled (with MQ the control queue is 2 *
 * max_virtqueue_pairs, however many pairs the driver uses).  0, or -1
 * if there is no memory.  Core 0, the loops stopped: notify, on other
 * cores, reads the arrays only once the loops run.
 */
static int
queues_grow(struct vpci *v, int q)
{
	volatile uint16_t **bell;
	struct vpci_irq *irq;
	int n = q + 1;

	if (q < v->nq)
		return 0;
	bell = kcalloc((size_t)n, sizeof *bell);
	irq = kcalloc((size_t)n, sizeof *irq);
	if (bell == NULL || irq == NULL) {
		kfree(bell);
		kfree(irq);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (i < v->nq) {
			bell[i] = v->doorbell[i];
			irq[i] = v->irq[i];
		} else {
			irq[i].vector = irq[i].entry = -1;
		}
	}
	kfree(v->doorbell);
	kfree(v->irq);
	v->doorbell = bell;
	v->irq = irq;
	v->nq = n;
	return 0;
}

/*
 * Give handler(arg) a vector and the selected queue an MSI-X entry
 * routed to core; returns the entry, or VIRTIO_MSI_NO_VECTOR with
 * *vector the vector to tick instead (-1 if none could be had: then
 * nothing could run the handler, and the caller refuses the queue).
 */
static uint16_t
queue_route(struct vpci *v, int core, void (*handler)(void *), void *arg, int *vector)
{
	int entry = v->next_entry;

	if ((*vector = irq_alloc(handler, arg)) < 0) {
		kprintf("%s: no interrupt vector left\n", v->vd.name);
		return VIRTIO_MSI_NO_VECTOR;
	}
	if (v->msix == 0 || entry >= v->msix)
		return VIRTIO_MSI_NO_VECTOR;
	if (pci_msix_route(v->pci, entry, core, *vector) < 0) {
		kprintf("%s: MSI-X entry %d cannot reach core %d\n", v->vd.name, entry, core);
		return VIRTIO_MSI_NO_VECTOR;
	}
	v->next_entry++;
	return (uint16_t)entry;
}

/*
 * Set up queue q on vq and enable it (4.1.5.1.3): size, the three ring
 * addresses, its MSI-X entry (read back), then queue_enable.  See the
 * top of this file for a queue whose interrupt cannot be routed (-2).
 * With a handler: core 0, in a probe (irq_tick's rule).
 */
static int
vpci_queue_enable(struct virtio_dev *d, int q, struct virtq *vq, int core,
    void (*handler)(void *arg), void *arg)
{
	struct vpci *v = vpci(d);
	int max = vpci_queue_max(d, q), vector = -1, rc = 0;
	uint16_t entry = VIRTIO_MSI_NO_VECTOR;

	if (v->broken) {
		kprintf("%s: queue %d refused: the device did not reset\n", d->name, q);
		return -1;
	}
	if (max == 0 || vq->size > max || core < 0 || core >= core_count()) {
		kprintf("%s: no queue %d of %u entries (largest %d) on core %d\n", d->name, q,
		    vq->size, max, core);
		return -1;
	}
	if (r16(v, CC_Q_ENABLE) != 0) {
		kprintf("%s: queue %d is enabled already\n", d->name, q);
		return -1;
	}
	uint64_t noff = (uint64_t)r16(v, CC_Q_NOFF) * v->notify_mult;
	if (noff + 2 > v->notify.len) {
		kprintf("%s: queue %d's doorbell (%#llx) is outside the notify structure\n",
		    d->name, q, (unsigned long long)noff);
		return -1;
	}
	if (queues_grow(v, q) < 0) {
		kprintf("%s: no memory for queue %d's state\n", d->name, q);
		return -1;
	}
	w16(v, CC_Q_SIZE, vq->size);
	w64(v, CC_Q_DESC, virtq_addr_desc(vq));
	w64(v, CC_Q_DRIVER, virtq_addr_avail(vq));
	w64(v, CC_Q_DEVICE, virtq_addr_used(vq));
	if (handler != NULL) {
		entry = queue_route(v, core, handler, arg, &vector);
		if (vector < 0)
			return -1;	/* not even a tick could wake core for it */
		w16(v, CC_Q_MSIX, entry);
		if (entry != VIRTIO_MSI_NO_VECTOR && r16(v, CC_Q_MSIX) != entry) {
			kprintf("%s: the device refused MSI-X entry %u for queue %d\n", d->name,
			    entry, q);
			entry = VIRTIO_MSI_NO_VECTOR;	/* routed but masked: unused */
		}
		if (entry == VIRTIO_MSI_NO_VECTOR) {
			rc = -2;
			irq_tick(vector, core);	/* polled every IRQ_POLL_US instead */
		} else {
			pci_msix_unmask(v->pci, entry);
		}
		v->irq[q].vector = vector;
		v->irq[q].entry = entry == VIRTIO_MSI_NO_VECTOR ? -1 : entry;
	} else {
		w16(v, CC_Q_MSIX, VIRTIO_MSI_NO_VECTOR);
	}
	v->doorbell[q] = (volatile uint16_t *)(v->notify.base + noff);
	w16(v, CC_Q_ENABLE, 1);
	return rc;
}

/* Kick queue q: write its index to its doorbell (4.1.5.2). */
static void
vpci_notify(struct virtio_dev *d, int q)
{
	volatile uint16_t *bell = q >= 0 && q < vpci(d)->nq ? vpci(d)->doorbell[q] : NULL;

	if (bell == NULL)
		panic("%s: notify of queue %d, which is not enabled", d->name, q);

	/*
	 * Compiler barrier: the ring stores virtq_add and virtq_kick made
	 * are emitted before the doorbell store; the CPU keeps them in
	 * order (the top of this file).
	 */
	__asm__ volatile("" : : : "memory");
	*bell = (uint16_t)q;
}

static const struct virtio_transport vpci_ops = {
	.reset = vpci_reset,
	.get_status = vpci_get_status,
	.set_status = vpci_set_status,
	.get_features = vpci_get_features,
	.set_features = vpci_set_features,
	.read_config = vpci_read_config,
	.queue_max = vpci_queue_max,
	.queue_enable = vpci_queue_enable,
	.notify = vpci_notify,
};

/* ---- probe ---------------------------------------------------------------- */

/* The configuration-change interrupt, on core 0: count it and say so. */
static void
config_changed(void *arg)
{
	struct vpci *v = arg;

	v->config_changes++;
	kprintf("%s: configuration changed (generation %u)\n", v->vd.name, r8(v, CC_CFGGEN));
}

/*
 * Find the first capability of each type in a memory BAR and map its
 * structure.  0, or -1 (said why) if common or notify is missing.
 */
static int
caps_find(struct vpci *v)
{
	struct pci_dev *p = v->pci;
	struct vpci_region *r[VCAP_TYPES] = { NULL, &v->common, &v->notify, &v->isr, &v->device };

	for (int c = pci_cap_next(p, 0, PCI_CAP_VENDOR); c != 0;
	    c = pci_cap_next(p, c, PCI_CAP_VENDOR)) {
		int len = pci_read8(p, c + VCAP_LEN), type = pci_read8(p, c + VCAP_TYPE);
		int bar = pci_read8(p, c + VCAP_BAR);
		if (len < VCAP_MIN || type <= 0 || type >= VCAP_TYPES || r[type]->base != NULL)
			continue;	/* not one we use, or we have one */
		if (bar >= PCI_NBAR || (p->bar[bar].kind != PCI_BAR_KIND_MEM32 &&
		    p->bar[bar].kind != PCI_BAR_KIND_MEM64))
			continue;	/* an I/O BAR: a later capability may do */
		if (type == VIRTIO_PCI_CAP_NOTIFY && len < VCAP_NOTIFY_MIN)
			continue;
		uint32_t off = pci_read32(p, c + VCAP_OFFSET), n = pci_read32(p, c + VCAP_LENGTH);
		if (n == 0)
			continue;
		if ((r[type]->base = pci_map(p, bar, off, n)) == NULL)
			continue;
		r[type]->len = n;
		if (type == VIRTIO_PCI_CAP_NOTIFY)
			v->notify_mult = pci_read32(p, c + VCAP_MULT);
	}
	if (v->common.base == NULL || v->notify.base == NULL) {
		kprintf("%s: no usable %s capability\n", v->vd.name,
		    v->common.base == NULL ? "common configuration" : "notification");
		return -1;
	}
	if (v->common.len < CC_LEN) {
		kprintf("%s: the common configuration is %u bytes, less than %d\n", v->vd.name,
		    v->common.len, CC_LEN);
		return -1;
	}
	return 0;
}

/* Set up MSI-X, with entry 0 for configuration changes on core 0. */
static void
msix_setup(struct vpci *v)
{
	int n = pci_msix_enable(v->pci), vector;

	if (n <= 0) {
		kprintf("%s: no MSI-X; its queues will be polled every %d us\n", v->vd.name,
		    IRQ_POLL_US);
		return;
	}
	if ((vector = irq_alloc(config_changed, v)) < 0 ||
	    pci_msix_route(v->pci, CONFIG_ENTRY, 0, vector) < 0) {
		kprintf("%s: no vector for MSI-X; its queues will be polled\n", v->vd.name);
		return;
	}
	pci_msix_unmask(v->pci, CONFIG_ENTRY);
	pci_msix_start(v->pci);
	v->msix = n;
	v->next_entry = CONFIG_ENTRY + 1;
}

/*
 * pci.h's probe for a virtio-net function: the transport's state, then
 * the driver (virtio/net.c).  0 if the driver took the device.
 */
static int
vpci_probe(struct pci_dev *p)
{
	struct vpci *v = kcalloc(1, sizeof *v);

	if (v == NULL) {
		kprintf("virtio@%02x:%02x.%x: no memory\n", p->bus, p->dev, p->fn);
		return -1;
	}
	v->pci = p;
	v->vd.ops = &vpci_ops;
	v->vd.priv = v;
	ksnprintf(v->vd.name, sizeof v->vd.name, "virtio@%02x:%02x.%x", p->bus, p->dev, p->fn);
	if (p->cap_vendor == 0) {
		kprintf("%s: a legacy-only virtio device (no virtio 1.x capabilities); not "
		    "supported (QEMU: leave disable-modern off)\n", v->vd.name);
		kfree(v);
		return -1;
	}
	if (caps_find(v) < 0) {
		kfree(v);
		return -1;
	}
	pci_enable(p);
	msix_setup(v);
	vpci_reset(&v->vd);	/* and msix_config */
	if (vnet_attach(&v->vd) != 0) {
		vpci_reset(&v->vd);	/* the driver gave up: the device stops */
		return -1;		/* v stays: vectors may name it */
	}
	return 0;
}

PCI_DRIVER(virtio_net, VIRTIO_VENDOR, VIRTIO_NET_MODERN, vpci_probe);
PCI_DRIVER(virtio_net_transitional, VIRTIO_VENDOR, VIRTIO_NET_TRANSITIONAL, vpci_probe);
