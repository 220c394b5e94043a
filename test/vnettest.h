/*
 * vnettest.h: what the virtio-net driver's suites share (test_vnet.c:
 * negotiation and receive; test_vnet_tx.c: transmit, multiqueue, the
 * flow hash, running out of memory).  Test code only.
 *
 * A test attaches the model device of vdev.h (vnet_attach, on core 0,
 * before the run), sets the interface's input to rx_input (which
 * records and checks each frame the stack would get), runs the loops
 * with a body on core 0 that makes the device receive frames or the
 * stack transmit them, until its goal (checked every millisecond on
 * core 0) is reached; then every core runs an event, twice, so that
 * nothing of the device is still queued anywhere, and the run stops.
 * The run also waits until the driver's lost-notification watchdog
 * (virtio/net_watch.c) has gone quiet, so that no timer is left armed.
 * Then the test checks the counters, detaches (the device is reset,
 * every buffer freed) and checks that iobufs, pages and slab objects
 * are back at their start counts (vend).
 *
 * The driver's per-core idle handlers are added on each core's first
 * pass through its loop and never removed: vstart's first call
 * attaches a device and runs the loops once, so they exist before any
 * test's leak baseline.  That first attach also registers the driver's
 * loop hook, which must happen before the loops' first run.
 */
#ifndef TEST_VNETTEST_H
#define TEST_VNETTEST_H

#include <errno.h>
#include <string.h>

#include "ebb/event.h"
#include "ebb/timer.h"
#include "kernel/page.h"
#include "tcp/inet.h"
#include "tcp/iobuf.h"
#include "tcp/proto.h"
#include "test.h"
#include "vdev.h"

#define NCORES	3
#define DOG_MS	10000		/* a run that takes longer has hung */

#define F(b)	VIRTIO_BIT(b)
/* Everything the driver wants, and two it must not take. */
#define FULL	(F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) | \
	F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_MAC) | \
	F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_MQ) | \
	F(VIRTIO_F_EVENT_IDX) | F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_F_INDIRECT_DESC))
/* The same without MQ: a single pair. */
#define SINGLE	(FULL & ~F(VIRTIO_NET_F_MQ))

static struct vdev dev;		/* big (recorded frames): not on a stack */

/* ---- runs ---------------------------------------------------------------- */

static struct timer dog, tick;
static int settle_left, settle_round;
static void (*run_body)(void);
static int (*run_done)(void);

static inline void settle_start(void *unused);
static inline void injector(void *unused);
static int inj_total, inj_next;

/* Each core: count in; the last one starts the next round. */
static inline void
settle_one(void *unused)
{
	(void)unused;
	/* Acq_rel: the last core to count sees every core's events done. */
	if (__atomic_sub_fetch(&settle_left, 1, __ATOMIC_ACQ_REL) == 0)
		spawn_on(0, settle_start, NULL);
}

/*
 * Core 0: an event on every core, twice, then stop the run: whatever
 * the device's interrupts queued (a handler, the event it queues) has
 * run by then, so nothing of the device is left queued for detach.
 */
static inline void
settle_start(void *unused)
{
	(void)unused;
	if (settle_round++ == 2) {
		if (vnet_watching() > 0) {	/* a watchdog timer: wait it out */
			timer_start(&dog, DOG_MS * TIMER_MS, 0);
			timer_start(&tick, TIMER_MS, TIMER_MS);
		} else {
			event_stop(0);
		}
		return;
	}
	settle_left = NCORES;
	for (int c = 0; c < NCORES; c++)
		spawn_on(c, settle_one, NULL);
}

/* The watchdog: the run hung. */
static inline void
dog_bark(void *unused)
{
	(void)unused;
	timer_stop(&tick);
	CHECK(!"the run hung: watchdog fired");
	event_stop(1);
}

/*
 * Every millisecond on core 0: the device's held stores land (vdev.h's
 * lose modes); is the test's goal reached, and the driver's watchdog
 * quiet?  Then settle.
 */
static inline void
tick_fn(void *unused)
{
	(void)unused;
	vdev_land(&dev);
	if (inj_next < inj_total)
		injector(NULL);		/* stalled for want of buffers */
	if (!run_done() || vnet_watching() > 0)
		return;
	timer_stop(&tick);
	timer_stop(&dog);
	settle_round = 0;
	spawn(settle_start, NULL);
}

/* The run's first event, on core 0: the timers, then the test's body. */
static inline void
run_first(void *unused)
{
	(void)unused;
	timer_setup(&dog, dog_bark, NULL);
	timer_start(&dog, DOG_MS * TIMER_MS, 0);
	timer_setup(&tick, tick_fn, NULL);
	timer_start(&tick, TIMER_MS, TIMER_MS);
	run_body();
}

/* Run the loops: body on core 0, until done() (checked every ms). */
static inline void
run(void (*body)(void), int (*done)(void))
{
	run_body = body;
	run_done = done;
	CHECK_EQ(event_run(run_first, NULL), 0);
}

/* ---- frames the stack gets ---------------------------------------------- */

#define REC_MAX 64

static long rx_count[NCORES];		/* per core (each core its own) */
static long rx_total, rx_expect;	/* atomic; the goal */
static long rx_bad;			/* frames on the wrong core (atomic) */
static int check_core;			/* 1: flow hash; 2: pair = sport - 1000 */
static struct {				/* the first REC_MAX frames */
	int core;
	uint32_t flags;
	size_t len;
	int nbufs;
	uint8_t *data[4];		/* each buffer's data pointer */
	size_t blen[4];
	uint8_t bytes[4096];
} rec[REC_MAX];
static void (*rx_hook)(void);		/* called after each frame, on its core */

/* The interface's input: check and record a frame the stack would get. */
static inline void
rx_input(struct netif *nif, struct iobuf *frame, uint32_t flags)
{
	long k = __atomic_fetch_add(&rx_total, 1, __ATOMIC_ACQ_REL);
	int c = core_id();

	(void)nif;
	rx_count[c]++;
	if (check_core == 1 && netif_flow_core(frame, NCORES) != c)
		__atomic_add_fetch(&rx_bad, 1, __ATOMIC_RELAXED);
	if (check_core == 2) {
		struct udp_hdr u;

		if (iobuf_copy_out(frame, ETH_HLEN + IP_HLEN, UDP_HLEN, &u) == NULL ||
		    ntoh16(u.sport) - 1000 != c)
			__atomic_add_fetch(&rx_bad, 1, __ATOMIC_RELAXED);
	}
	if (k < REC_MAX) {
		rec[k].core = c;
		rec[k].flags = flags;
		rec[k].len = iobuf_chain_len(frame);
		rec[k].nbufs = 0;
		for (struct iobuf *b = frame; b != NULL; b = b->next, rec[k].nbufs++) {
			if (rec[k].nbufs < 4) {
				rec[k].data[rec[k].nbufs] = b->data;
				rec[k].blen[rec[k].nbufs] = b->len;
			}
		}
		iobuf_copy_out(frame, 0, rec[k].len < 4096 ? rec[k].len : 4096, rec[k].bytes);
	}
	iobuf_free_chain(frame);
	if (rx_hook != NULL)
		rx_hook();
}

/* A run's goal: rx_expect frames have come up. */
static inline int
rx_done(void)
{
	return __atomic_load_n(&rx_total, __ATOMIC_ACQUIRE) == rx_expect;
}

/* ---- set-up, frames ------------------------------------------------------ */

static struct test_leaks leaks;
static long iobufs0;

/* Bring up what the tests need; the leak baseline. */
static inline void
vstart(void)
{
	static int once;

	if (!once) {
		once = 1;
		test_setup(NCORES, 0, TEST_EVENTS);
		vdev_init(&dev, FULL, 2, 16);
		CHECK_EQ(vnet_attach(&dev.d), 0);	/* hooks the loops */
		test_leak_start(NCORES);	/* every core adds its idle handler */
		vnet_detach(&dev.d);
	}
	leaks = test_leak_start(NCORES);
	iobufs0 = iobuf_live();
	memset(rx_count, 0, sizeof rx_count);
	rx_total = rx_bad = 0;
	rx_expect = -1;
	rx_hook = NULL;
	check_core = 0;
}

/* Attach the model as it is; the interface, its input set to rx_input. */
static inline struct netif *
attach(void)
{
	struct netif *nif;

	CHECK_EQ(vnet_attach(&dev.d), 0);
	nif = vnet_netif(&dev.d);
	CHECK(nif != NULL);
	if (nif != NULL)
		nif->input = rx_input;
	return nif;
}

/* A run's body and goal for vend: nothing, at once. */
static inline void nothing(void) { }
static inline int at_once(void) { return 1; }

/* Detach, and everything is back. */
static inline void
vend(void)
{
	if (vnet_watching() > 0)	/* armed by a send outside a run */
		run(nothing, at_once);	/* which ends once it is quiet */
	vnet_detach(&dev.d);
	CHECK(vnet_netif(&dev.d) == NULL);
	CHECK_EQ(dev.errors, 0);
	CHECK_EQ(iobuf_live(), iobufs0);
	test_leak_check(leaks);
}

/*
 * An Ethernet + IPv4 + UDP frame of len bytes (>= 42) from src:sport to
 * dst:dport, the rest a pattern of seed; the UDP checksum left as the
 * pseudo-header's partial sum (what NEEDS_CSUM means).
 */
static inline size_t
make_udp(uint8_t *f, size_t len, uint32_t src, uint32_t dst, uint16_t sport,
    uint16_t dport, uint64_t seed)
{
	struct eth_hdr *e = (struct eth_hdr *)f;
	struct ip_hdr *ip = (struct ip_hdr *)(f + ETH_HLEN);
	struct udp_hdr *u = (struct udp_hdr *)(f + ETH_HLEN + IP_HLEN);
	uint16_t ulen = (uint16_t)(len - ETH_HLEN - IP_HLEN);

	memset(f, 0, 42);
	memcpy(e->dst, dev.mac, 6);
	memcpy(e->src, "\x02\x00\x00\x00\x00\x01", 6);
	e->type = hton16(ETHERTYPE_IPV4);
	ip->vhl = 0x45;
	ip->len = hton16((uint16_t)(len - ETH_HLEN));
	ip->ttl = 64;
	ip->proto = IP_PROTO_UDP;
	ip->src = src;
	ip->dst = dst;
	ip->csum = hton16(inet_csum(inet_sum(ip, IP_HLEN, 0)));
	u->sport = hton16(sport);
	u->dport = hton16(dport);
	u->len = hton16(ulen);
	test_fill(f + 42, len - 42, seed);
	u->csum = hton16(inet_fold(inet_pseudo(src, dst, IP_PROTO_UDP, ulen)));
	return len;
}

/* An ARP-typed frame (not IPv4: core 0's) of len bytes, patterned. */
static inline size_t
make_other(uint8_t *f, size_t len, uint64_t seed)
{
	test_fill(f, len, seed);
	memcpy(f, dev.mac, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	return len;
}

/* The pairs the driver uses on dev. */
static inline int
dev_pairs(void)
{
	return vnet_netif(&dev.d)->nqueues;
}

/* The header the device puts in front of a plain frame. */
static const struct virtio_net_hdr plain;

/* ---- the injector ------------------------------------------------------- */

/*
 * The injector: frames 0..inj_total-1, made by inj_make, given to the
 * device as buffers allow.  It comes back as a later event on core 0
 * (the driver's events run in between) while it makes progress or has
 * just stopped making it, and otherwise from the next tick (so that
 * core 0 can go idle and its idle handler poll).
 */
static int inj_dry;		/* rounds in a row that injected nothing */
static size_t (*inj_make)(int k, uint8_t *f, int *pair, struct virtio_net_hdr *h,
    uint32_t *chunk);
static uint8_t inj_buf[VDEV_FRAME_MAX];

/* Give the device the next frames (see above); come back if worth it. */
static inline void
injector(void *unused)
{
	int first = inj_next;

	(void)unused;
	while (inj_next < inj_total) {
		struct virtio_net_hdr h = plain;
		uint32_t chunk = 0;
		int pair = 0;
		size_t len = inj_make(inj_next, inj_buf, &pair, &h, &chunk);

		if (vdev_rx(&dev, pair, &h, inj_buf, (uint32_t)len, chunk) < 0)
			break;		/* no buffers: later */
		inj_next++;
	}
	/* Progress, or the first round without: the driver's events are queued. */
	inj_dry = inj_next > first ? 0 : inj_dry + 1;
	if (inj_next < inj_total && inj_dry < 2)
		spawn(injector, NULL);
}

/* A run's body: start the injector. */
static inline void
inject_body(void)
{
	injector(NULL);
}

/* Inject n frames made by make in a run; wait for expect of them to come up. */
static inline void
inject(int n, long expect, size_t (*make)(int, uint8_t *, int *, struct virtio_net_hdr *,
    uint32_t *))
{
	inj_total = n;
	inj_next = 0;
	inj_make = make;
	rx_expect = expect;
	run(inject_body, rx_done);
	CHECK_EQ(inj_next, n);
}

#endif
