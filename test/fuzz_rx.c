/*
 * fuzz_rx.c: a libFuzzer target for the receive path (make fuzz).
 *
 * Every input becomes one received frame on a fake interface that is
 * configured as 10.0.0.1/24 (gateway 10.0.0.254), handed to netif_input
 * as a driver would, so that whatever the bytes are they travel
 * eth_input -> arp_input | ip_input -> icmp_input | udp_input as far as
 * they get.  A packet from the network can never crash the stack, and
 * it can never keep memory: after each input the ARP cache and its
 * pending queues are flushed, and iobuf_live() must be back where it
 * was, or the target aborts so that libFuzzer reports the input.
 *
 * The input's first byte says how the frame arrives:
 *	bit 0		rx_flags: NETIF_RX_CSUM_OK (the device vouched for it)
 *	bits 1-2	buffers in the chain: 1 + (bits % 3)
 *	bit 3		the first buffer has no headroom (else IOBUF_HEADROOM)
 *	bit 4		the IPv4 header checksum is made right, if the frame
 *			is IPv4 (a fuzzer cannot guess it; without this,
 *			few inputs get past ip_input's checks)
 * and the next two bytes where the chain is split (scaled to the
 * frame's length); the rest is the frame, from its Ethernet header.
 *
 * The stack needs the event loops (ARP's retries are timers, a flushed
 * pending queue frees itself in a later event, ARP entries go after an
 * RCU grace period), so the runtime comes up once, on one core, and each
 * input is one event_run: the first event injects the frame and flushes
 * ARP, and a second event, queued behind whatever the first spawned,
 * stops the run.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ebb/ebb.h"
#include "ebb/event.h"
#include "ebb/rcu.h"
#include "ebb/timer.h"
#include "hosted/hosted.h"
#include "kernel/malloc.h"
#include "kernel/page.h"
#include "kernel/print.h"
#include "kernel/slab.h"
#include "tcp/eth.h"
#include "tcp/inet.h"
#include "tcp/proto.h"
#include "tcp/netif.h"
#include "fuzzlib.h"

#define MAX_FRAME	9216	/* larger inputs are cut (a jumbo frame) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* The fake interface: everything the stack transmits is dropped. */
static int
fake_transmit(struct netif *nif, struct iobuf *frame, const struct netif_tx_hints *h)
{
	(void)nif;
	(void)h;
	iobuf_free_chain(frame);
	return 0;
}

static const struct netif_ops fake_ops = { .transmit = fake_transmit };
static struct netif fake;

/* One input, as the first event of a run sees it. */
struct input {
	const uint8_t *data;
	size_t size;
};

/* A buffer holding n bytes of p, or abort (memory is not the question here). */
static struct iobuf *
piece(const uint8_t *p, size_t n, size_t headroom)
{
	struct iobuf *b = iobuf_alloc(headroom, n);

	if (b == NULL)
		abort();
	memcpy(iobuf_put(b, n), p, n);
	return b;
}

/* Make the IPv4 header checksum of frame f (len bytes) right, if it has one. */
static void
fix_ip_csum(uint8_t *f, size_t len)
{
	struct eth_hdr *e = (struct eth_hdr *)f;
	struct ip_hdr *ih = (struct ip_hdr *)(f + ETH_HLEN);
	size_t hlen;

	if (len < ETH_HLEN + IP_HLEN || ntoh16(e->type) != ETHERTYPE_IPV4)
		return;
	hlen = (size_t)(ih->vhl & 0xf) * 4;
	if (hlen < IP_HLEN || ETH_HLEN + hlen > len)
		return;
	ih->csum = 0;
	ih->csum = hton16(inet_csum(inet_sum(ih, hlen, 0)));
}

/* The frame as a chain of 1-3 buffers, split where the input says. */
static struct iobuf *
chain(const struct input *in, uint32_t *rx_flags)
{
	static uint8_t f[MAX_FRAME];	/* the frame, to be fixed up */
	uint8_t how = in->data[0];
	size_t len = in->size - 3, cut[2], nbufs = 1 + (how >> 1 & 3) % 3;
	struct iobuf *head;

	if (len > MAX_FRAME)
		len = MAX_FRAME;
	memcpy(f, in->data + 3, len);
	if (how & 16)
		fix_ip_csum(f, len);
	*rx_flags = how & 1 ? NETIF_RX_CSUM_OK : 0;
	cut[0] = nbufs > 1 ? in->data[1] * len / 255 : len;
	cut[1] = nbufs > 2 ? cut[0] + in->data[2] * (len - cut[0]) / 255 : len;
	head = piece(f, cut[0], how & 8 ? 0 : IOBUF_HEADROOM);
	if (nbufs > 1)
		iobuf_chain_append(head, piece(f + cut[0], cut[1] - cut[0], 0));
	if (nbufs > 2)
		iobuf_chain_append(head, piece(f + cut[1], len - cut[1], 0));
	return head;
}

static void
stop(void *unused)
{
	(void)unused;
	event_stop(0);
}

/* The run's first event: the frame in, ARP forgotten, then stop. */
static void
inject(void *arg)
{
	uint32_t rx_flags;
	struct iobuf *frame = chain(arg, &rx_flags);

	netif_input(&fake, frame, rx_flags);
	arp_flush();		/* pending packets freed now, their records later */
	if (spawn(stop, NULL) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct input in = { data, size };
	long live;

	if (!ready) {
		fuzz_setup(&fake, &fake_ops);
		ready = 1;
	}
	if (size < 3)
		return 0;
	live = iobuf_live();
	if (event_run(inject, &in) != 0)
		abort();
	if (iobuf_live() != live) {
		kprintf("fuzz_rx: %ld iobufs leaked by this input\n", iobuf_live() - live);
		abort();
	}
	return 0;
}
