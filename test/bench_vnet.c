/*
 * bench_vnet.c: the virtio-net driver's cost per frame, hosted (make
 * bench), against the device model of test/vdev.h: what the native
 * image spends in virtio/net*.c for each frame it sends and receives,
 * counted where counting is exact (callgrind) instead of timed under
 * QEMU.
 *
 * One core, one queue pair of 256 entries, the features QEMU's default
 * device offers (EVENT_IDX, MRG_RXBUF, ...).  Each round is an event:
 * the stack sends one 64-byte frame (netif_send -> vnet_transmit) and
 * the device receives one (vdev_rx: a used entry, and an interrupt when
 * the driver asked for one, whose handler queues the driver's poll);
 * every 32 rounds the device takes what was sent, as its own thread
 * would (the model runs lazily, so that its work is not counted as the
 * driver's).  The interface's input frees each frame, as a stack that
 * drops it would.
 *
 *	build/hosted/bench_vnet [rounds]
 *
 * prints rounds per second; test/callgrind.sh runs it twice under
 * callgrind, collecting only inside the driver's entry points
 * (vnet_transmit, vnet_rx_interrupt, the poll event and the idle
 * handler, the watchdog), and divides the difference by the difference
 * in frames.
 */
#include <stdio.h>
#include <stdlib.h>

#include "benchlib.h"
#include "vdev.h"

#define FRAME	64		/* bytes per frame, each way */
#define BATCH	32		/* rounds between the device's transmit runs */

static struct vdev dev;
static struct netif *nif;
static long rounds, done;
static uint8_t rx_frame[FRAME];

/* The interface's input: the frame is dropped (freed). */
static void
sink(struct netif *n, struct iobuf *frame, uint32_t flags)
{
	(void)n;
	(void)flags;
	iobuf_free_chain(frame);
}

/* One round: a frame out, a frame in; the next round as a later event. */
static void
round_fn(void *unused)
{
	static const struct virtio_net_hdr plain;
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, FRAME);

	(void)unused;
	if (b == NULL) {
		fprintf(stderr, "bench_vnet: out of memory\n");
		exit(1);
	}
	memset(iobuf_put(b, FRAME), 0x5a, FRAME);
	if (netif_send(nif, b, NULL) != 0 ||
	    vdev_rx(&dev, 0, &plain, rx_frame, FRAME, 0) != 0) {
		fprintf(stderr, "bench_vnet: round %ld: a frame was refused\n", done);
		exit(1);
	}
	if (++done % BATCH == 0)
		vdev_tx_run(&dev, 1);
	if (done < rounds)
		spawn(round_fn, NULL);
	else
		event_stop(0);
}

int
main(int argc, char **argv)
{
	uint64_t t0;
	double s;

	rounds = argc > 1 ? atol(argv[1]) : 1000000;
	bench_runtime(1);
	vdev_init(&dev, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
	    VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
	    VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ), 1, 256);
	dev.tx_lazy = 1;
	memset(rx_frame, 0xff, 12);		/* broadcast: whoever receives it */
	rx_frame[12] = 0x08;			/* an ARP-typed frame: core 0's */
	rx_frame[13] = 0x06;
	if (vnet_attach(&dev.d) != 0)
		return 1;
	nif = vnet_netif(&dev.d);
	nif->input = sink;
	t0 = clock_ns();
	event_run(round_fn, NULL);
	s = (double)(clock_ns() - t0) / 1e9;
	printf("virtio-net driver against the device model (hosted, 1 core, %d-byte frames)\n",
	    FRAME);
	printf("  %.0f rounds/s (a frame sent and a frame received each), %ld kicks, "
	    "%ld interrupts in %ld rounds\n", (double)rounds / s, dev.q[1].kicks + dev.q[0].kicks,
	    dev.q[0].interrupts, rounds);
	return 0;
}
