/*
 * vdebug.c: TEMPORARY stand-in for virtio/net.c's vnet_attach, to try
 * the PCI transport on its own before the driver lands.  Removed then.
 * It negotiates, prints the features and config, sets up RX queue 0 on
 * core 0 with an interrupt and TX queue 1, posts receive buffers, sends
 * one ARP request for 10.0.2.2 and prints what arrives.
 */
#include <string.h>

#include "kernel/native.h"
#include "kernel/page.h"
#include "kernel/print.h"
#include "virtio.h"

static struct virtq rx, tx;
static struct virtio_dev *dev;
static uint8_t *bufs;

static void
rx_intr(void *arg)
{
	uint32_t len;
	void *tok;

	(void)arg;
	virtq_disable_cb(&rx);
	do {
		while ((tok = virtq_get(&rx, &len)) != NULL) {
			uint8_t *f = (uint8_t *)tok + 12;
			kprintf("vdebug: rx %u bytes on core %d: ethertype %02x%02x from %02x:%02x:%02x:%02x:%02x:%02x\n",
			    len, core_id(), f[12], f[13], f[6], f[7], f[8], f[9], f[10], f[11]);
		}
	} while (virtq_enable_cb(&rx));
}

int
vnet_attach(struct virtio_dev *d)
{
	uint8_t mac[6];
	uint16_t status = 0, pairs = 0;

	dev = d;
	if (virtio_start(d, ~0ull & ~(1ull << 15) & ~(1ull << 22) & ~(1ull << 17)) < 0)
		return -1;
	kprintf("vdebug: features %#llx\n", (unsigned long long)d->features);
	d->ops->read_config(d, 0, mac, 6);
	d->ops->read_config(d, 6, &status, 2);
	d->ops->read_config(d, 8, &pairs, 2);
	kprintf("vdebug: mac %02x:%02x:%02x:%02x:%02x:%02x status %u pairs %u qmax %d %d %d\n",
	    mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], status, pairs,
	    d->ops->queue_max(d, 0), d->ops->queue_max(d, 1), d->ops->queue_max(d, 2));
	int ei = virtio_has(d, VIRTIO_F_EVENT_IDX);
	if (virtq_init(&rx, 64, ei) < 0 || virtq_init(&tx, 64, ei) < 0)
		return -1;
	kprintf("vdebug: rx enable %d\n", d->ops->queue_enable(d, 0, &rx, core_count() - 1, rx_intr, NULL));
	kprintf("vdebug: tx enable %d\n", d->ops->queue_enable(d, 1, &tx, 0, NULL, NULL));
	bufs = page_alloc(5);	/* 128 KiB: 32 x 2 KiB rx, one tx */
	for (int i = 0; i < 32; i++) {
		struct virtq_seg s = { bufs + i * 2048, 2048 };
		virtq_add(&rx, &s, 0, 1, s.buf);
	}
	virtio_ready(d);
	if (virtq_kick(&rx))
		d->ops->notify(d, 0);
	uint8_t *f = bufs + 32 * 2048;
	memset(f, 0, 12 + 42);
	uint8_t *e = f + 12;
	memset(e, 0xff, 6);
	memcpy(e + 6, mac, 6);
	e[12] = 8, e[13] = 6;				/* ARP */
	uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	memcpy(arp + 8, mac, 6);
	arp[14] = 10, arp[15] = 0, arp[16] = 2, arp[17] = 15;
	arp[24] = 10, arp[25] = 0, arp[26] = 2, arp[27] = 2;
	memcpy(e + 14, arp, 28);
	struct virtq_seg s = { f, 12 + 42 };
	virtq_add(&tx, &s, 1, 0, f);
	if (virtq_kick(&tx))
		d->ops->notify(d, 1);
	kprintf("vdebug: sent an ARP request\n");
	return 0;
}
