/*
 * test_vnet.c: the virtio-net driver (virtio/net*.c), hosted, against
 * the device model of test/vdev.h, with the real event loops on NCORES
 * threads.
 *
 * A test attaches a model device (vnet_attach, on core 0, before the
 * run), sets the interface's input to rx_input (which records and checks
 * each frame the stack would get), runs the loops with a body on core 0
 * that makes the device receive frames or the stack transmit them,
 * and ends the run once the expected frames arrived (finish: two rounds
 * of an event on every core, so that nothing of the device is still
 * queued anywhere).  Then it checks the counters, detaches (the device
 * is reset, every buffer freed) and checks that iobufs, pages and slab
 * objects are back at their start counts.
 *
 * The driver's per-core idle handlers are added on each core's first
 * pass through its loop and never removed: vstart's first call attaches
 * a device and runs the loops once, so they exist before any test's
 * leak baseline.  That first attach also registers the driver's loop
 * hook, which must happen before the loops' first run.
 */
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

static void settle_start(void *unused);
static void injector(void *unused);
static int inj_total, inj_next;

/* Each core: count in; the last one starts the next round. */
static void
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
static void
settle_start(void *unused)
{
	(void)unused;
	if (settle_round++ == 2) {
		event_stop(0);
		return;
	}
	settle_left = NCORES;
	for (int c = 0; c < NCORES; c++)
		spawn_on(c, settle_one, NULL);
}

static void
dog_bark(void *unused)
{
	(void)unused;
	timer_stop(&tick);
	CHECK(!"the run hung: watchdog fired");
	event_stop(1);
}

/* Every millisecond on core 0: is the test's goal reached? Then settle. */
static void
tick_fn(void *unused)
{
	(void)unused;
	if (inj_next < inj_total)
		injector(NULL);		/* stalled for want of buffers */
	if (!run_done())
		return;
	timer_stop(&tick);
	timer_stop(&dog);
	settle_round = 0;
	spawn(settle_start, NULL);
}

static void
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
static void
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

static void
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
static int
rx_done(void)
{
	return __atomic_load_n(&rx_total, __ATOMIC_ACQUIRE) == rx_expect;
}

/* ---- set-up, frames ------------------------------------------------------ */

static struct test_leaks leaks;
static long iobufs0;

/* Bring up what the tests need; the leak baseline. */
static void
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
static struct netif *
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

/* Detach, and everything is back. */
static void
vend(void)
{
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
static size_t
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
static size_t
make_other(uint8_t *f, size_t len, uint64_t seed)
{
	test_fill(f, len, seed);
	memcpy(f, dev.mac, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	return len;
}

/* The pairs the driver uses on dev. */
static int
dev_pairs(void)
{
	return vnet_netif(&dev.d)->nqueues;
}

/* The header the device puts in front of a plain frame. */
static const struct virtio_net_hdr plain;

/* ---- negotiation ---------------------------------------------------------- */

TEST(attach_full)
{
	struct netif *nif;
	char names[256];

	vstart();
	vdev_init(&dev, SINGLE, 1, 64);
	nif = attach();
	CHECK_EQ(dev.d.features, SINGLE & ~F(VIRTIO_NET_F_GUEST_TSO4) &
	    ~F(VIRTIO_F_INDIRECT_DESC));
	CHECK_EQ(dev.driver_features, dev.d.features);
	CHECK(dev.status & VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(nif->features, NETIF_F_TX_CSUM | NETIF_F_RX_CSUM | NETIF_F_TSO4);
	CHECK_EQ(memcmp(nif->mac, dev.mac, 6), 0);
	CHECK_EQ(nif->nqueues, 1);
	CHECK_EQ(nif->mtu, 1500);
	CHECK_EQ(strncmp(nif->name, "vnet", 4), 0);
	CHECK(nif->ops->print_stats != NULL);
	vnet_feature_names(dev.d.features, names, sizeof names);
	CHECK(strcmp(names, "CSUM GUEST_CSUM MAC HOST_TSO4 MRG_RXBUF STATUS CTRL_VQ "
	    "EVENT_IDX VERSION_1") == 0);
	/* Every receive queue full, kicked once after DRIVER_OK; no MQ command. */
	CHECK_EQ(vdev_avail(&dev.q[0]), 64);
	CHECK_EQ(dev.q[0].kicks, 1);
	CHECK_EQ(dev.ctrl_count, 0);
	nif->ops->print_stats(nif);
	vend();
	CHECK_EQ(dev.status, 0);		/* reset by the detach */
}

/* VERSION_1 alone: one pair, no offloads, a random local MAC; it works. */
static uint8_t v1_frame[100];

static void
v1_body(void)
{
	uint8_t *f = v1_frame;
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, 100);

	make_other(f, 100, 7);
	CHECK_EQ(vdev_rx(&dev, 0, &plain, f, 100, 0), 0);
	memcpy(iobuf_put(b, 100), f, 100);
	CHECK_EQ(netif_send(vnet_netif(&dev.d), b, NULL), 0);
}

TEST(attach_version1_only)
{
	struct netif *nif;

	vstart();
	vdev_init(&dev, F(VIRTIO_F_VERSION_1), 1, 32);
	dev.link = 0;				/* ignored: no STATUS */
	nif = attach();
	CHECK_EQ(dev.d.features, F(VIRTIO_F_VERSION_1));
	CHECK_EQ(nif->features, 0);
	CHECK_EQ(nif->nqueues, 1);
	CHECK_EQ(nif->mac[0], 0x02);		/* locally administered, unicast */
	CHECK(memcmp(nif->mac, dev.mac, 6) != 0);
	CHECK_EQ(dev.nq, 2);
	rx_expect = 1;
	run(v1_body, rx_done);
	CHECK_EQ(rx_total, 1);
	CHECK_EQ(rec[0].len, 100);
	CHECK_EQ(rec[0].flags, 0);
	CHECK_EQ(memcmp(rec[0].bytes, v1_frame, 100), 0);
	CHECK_EQ(memcmp(dev.q[1].frame, v1_frame, 100), 0);
	CHECK_EQ(dev.q[1].frames, 1);
	CHECK_EQ(dev.q[1].flen, 100);
	CHECK_EQ(dev.q[0].interrupts, 1);
	vend();
}

TEST(attach_refused_features)
{
	vstart();
	vdev_init(&dev, FULL, 2, 16);
	dev.refuse = 1;
	CHECK_EQ(vnet_attach(&dev.d), -1);
	CHECK(dev.status & VIRTIO_STATUS_FAILED);
	CHECK(vnet_netif(&dev.d) == NULL);
	CHECK_EQ(iobuf_live(), iobufs0);
	test_leak_check(leaks);
}

TEST(attach_legacy)
{
	vstart();
	vdev_init(&dev, FULL & ~F(VIRTIO_F_VERSION_1), 2, 16);
	CHECK_EQ(vnet_attach(&dev.d), -1);
	CHECK(dev.status & VIRTIO_STATUS_FAILED);
	CHECK(!(dev.status & VIRTIO_STATUS_FEATURES_OK));
	CHECK(vnet_netif(&dev.d) == NULL);
	test_leak_check(leaks);
}

/* MQ: the control command refused, or never answered: attach fails clean. */
TEST(attach_ctrl_fails)
{
	vstart();
	vdev_init(&dev, FULL, 2, 16);
	dev.ctrl_mode = CTRL_ERR;
	CHECK_EQ(vnet_attach(&dev.d), -1);
	CHECK_EQ(dev.ctrl_count, 1);
	CHECK(dev.status & VIRTIO_STATUS_FAILED);
	CHECK(vnet_netif(&dev.d) == NULL);
	CHECK_EQ(iobuf_live(), iobufs0);

	vdev_init(&dev, FULL, 2, 16);
	dev.ctrl_mode = CTRL_SILENT;
	uint64_t t0 = clock_ns();
	CHECK_EQ(vnet_attach(&dev.d), -1);
	CHECK(clock_ns() - t0 >= VNET_CTRL_TIMEOUT_MS * TIMER_MS);
	CHECK(dev.status & VIRTIO_STATUS_FAILED);
	CHECK_EQ(iobuf_live(), iobufs0);
	test_leak_check(leaks);
}

/* ---- receive -------------------------------------------------------------- */

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

static void
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

static void
inject_body(void)
{
	injector(NULL);
}

/* Inject n frames made by make in a run; wait for expect of them to come up. */
static void
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

static size_t
make_small(int k, uint8_t *f, int *pair, struct virtio_net_hdr *h, uint32_t *chunk)
{
	(void)pair; (void)h; (void)chunk;
	return make_other(f, 60 + (size_t)(k % 7), (uint64_t)k);
}

/* One frame, zero copy: the iobuf views the posted buffer; the ring refilled. */
TEST(rx_zero_copy)
{
	struct vnet_stats st;
	uint8_t f[200];

	vstart();
	vdev_init(&dev, SINGLE, 1, 16);
	attach();
	inject(1, 1, make_small);
	CHECK_EQ(rx_total, 1);
	CHECK_EQ(rec[0].nbufs, 1);
	CHECK_EQ(dev.rx_nbufs, 1);
	CHECK(rec[0].data[0] == (uint8_t *)(uintptr_t)dev.rx_addr[0] + VIRTIO_NET_HDR_LEN);
	CHECK_EQ(rec[0].len, 60);
	make_other(f, 60, 0);
	CHECK_EQ(memcmp(rec[0].bytes, f, 60), 0);
	CHECK_EQ(vdev_avail(&dev.q[0]), 16);	/* a fresh buffer in its place */
	vnet_stats(vnet_netif(&dev.d), 0, &st);
	CHECK_EQ(st.rx_frames, 1);
	CHECK_EQ(st.rx_bytes, 60);
	CHECK_EQ(st.rx_malformed + st.rx_nomem + st.bad_used, 0);
	CHECK_EQ(vnet_netif(&dev.d)->stats.rx_frames, 1);
	vend();
}

static size_t
make_big(int k, uint8_t *f, int *pair, struct virtio_net_hdr *h, uint32_t *chunk)
{
	(void)pair; (void)h;
	*chunk = 1100;			/* 12 + 3000 bytes: three buffers */
	return make_other(f, 3000, (uint64_t)k + 100);
}

/* MRG_RXBUF: a frame over three buffers comes up as one chain of them. */
TEST(rx_mergeable)
{
	uint8_t f[3000];

	vstart();
	vdev_init(&dev, SINGLE, 1, 16);
	attach();
	inject(1, 1, make_big);
	CHECK_EQ(dev.rx_nbufs, 3);
	CHECK_EQ(rec[0].nbufs, 3);
	CHECK_EQ(rec[0].len, 3000);
	CHECK(rec[0].data[0] == (uint8_t *)(uintptr_t)dev.rx_addr[0] + VIRTIO_NET_HDR_LEN);
	CHECK(rec[0].data[1] == (uint8_t *)(uintptr_t)dev.rx_addr[1]);
	CHECK(rec[0].data[2] == (uint8_t *)(uintptr_t)dev.rx_addr[2]);
	CHECK_EQ(rec[0].blen[0], 1100 - VIRTIO_NET_HDR_LEN);
	CHECK_EQ(rec[0].blen[1], 1100);
	CHECK_EQ(rec[0].blen[2], 3000 - 1088 - 1100);
	make_other(f, 3000, 100);
	CHECK_EQ(memcmp(rec[0].bytes, f, 3000), 0);
	CHECK_EQ(vdev_avail(&dev.q[0]), 16);
	vend();
}

#define CS_SRC	IP4(10, 0, 0, 2)
#define CS_DST	IP4(10, 0, 0, 1)

/* Frame k: 0 DATA_VALID, 1 nothing, 2 NEEDS_CSUM, 3 NEEDS_CSUM and padding. */
static size_t
make_csum(int k, uint8_t *f, int *pair, struct virtio_net_hdr *h, uint32_t *chunk)
{
	(void)pair; (void)chunk;
	if (k == 0)
		h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
	if (k >= 2) {
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = ETH_HLEN + IP_HLEN;
		h->csum_offset = 6;
	}
	if (k == 3) {			/* 62 bytes of frame, 2 of padding */
		make_udp(f, 62, CS_SRC, CS_DST, 7, 9, 5);
		f[62] = 0xab;
		f[63] = 0xcd;
		return 64;
	}
	return make_udp(f, 300 + 10 * (size_t)k, CS_SRC, CS_DST, 7, 9, (uint64_t)k);
}

/* Is the UDP checksum of recorded frame k right? */
static int
udp_csum_ok(int k)
{
	const uint8_t *u = rec[k].bytes + ETH_HLEN + IP_HLEN;
	uint16_t ulen = (uint16_t)(u[4] << 8 | u[5]);

	return inet_csum(inet_sum(u, ulen, inet_pseudo(CS_SRC, CS_DST, IP_PROTO_UDP, ulen))) == 0;
}

/* GUEST_CSUM: DATA_VALID -> RX_CSUM_OK; NEEDS_CSUM completed, then OK. */
TEST(rx_checksums)
{
	vstart();
	vdev_init(&dev, SINGLE, 1, 16);
	attach();
	inject(4, 4, make_csum);	/* one flow: one core, in order */
	CHECK_EQ(rec[0].flags, NETIF_RX_CSUM_OK);
	CHECK_EQ(rec[1].flags, 0);
	CHECK(!udp_csum_ok(1));		/* the partial sum only, as sent */
	CHECK_EQ(rec[2].flags, NETIF_RX_CSUM_OK);
	CHECK(udp_csum_ok(2));
	CHECK_EQ(rec[3].flags, NETIF_RX_CSUM_OK);
	CHECK_EQ(rec[3].len, 64);
	CHECK(udp_csum_ok(3));		/* the padding was not summed */
	vend();

	/* Without GUEST_CSUM, DATA_VALID means nothing. */
	vstart();
	vdev_init(&dev, F(VIRTIO_F_VERSION_1), 1, 16);
	attach();
	inject(1, 1, make_csum);
	CHECK_EQ(rec[0].flags, 0);
	vend();
}

/* Over 65536 frames through a queue of 8: every index wraps; nothing lost. */
TEST(rx_wrap)
{
	struct vnet_stats st;

	vstart();
	vdev_init(&dev, SINGLE, 1, 8);
	attach();
	inject(70000, 70000, make_small);
	CHECK_EQ(rx_total, 70000);
	CHECK_EQ(rx_count[0], 70000);	/* not IPv4: core 0's */
	vnet_stats(vnet_netif(&dev.d), 0, &st);
	CHECK_EQ(st.rx_frames, 70000);
	CHECK_EQ(st.rx_malformed + st.rx_nomem + st.bad_used, 0);
	CHECK_EQ(dev.q[0].used_idx, (uint16_t)70000);
	CHECK_EQ(vdev_avail(&dev.q[0]), 8);
	vend();
}

/* EVENT_IDX (or the flags): one interrupt per batch, kicks only when asked. */
static void
phase2(void *unused)
{
	(void)unused;
	inj_total = 10;			/* the injector goes on with 5..9 */
	injector(NULL);
}

static void
rx_hook_phase2(void)
{
	if (__atomic_load_n(&rx_total, __ATOMIC_ACQUIRE) == 5)
		spawn(phase2, NULL);	/* after the poll that took frame 4 */
}

static void
suppression(uint64_t features, long interrupts, long kicks)
{
	vstart();
	vdev_init(&dev, features, 1, 16);
	attach();
	rx_hook = rx_hook_phase2;
	inj_total = 5;
	inj_next = 0;
	inj_make = make_small;
	rx_expect = 10;
	run(inject_body, rx_done);
	CHECK_EQ(rx_total, 10);
	CHECK_EQ(dev.q[0].interrupts, interrupts);
	CHECK_EQ(dev.q[0].kicks, kicks);
	vend();
}

TEST(rx_event_idx)
{
	/*
	 * EVENT_IDX: one interrupt per burst of 5 (used_event is not
	 * passed again until the driver has harvested and re-armed); the
	 * device never ran short of buffers, so only attach's kick.
	 */
	suppression(F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_EVENT_IDX), 2, 1);
	/*
	 * Flags: the device interrupts for every frame until the driver's
	 * handler has masked the queue (each burst is injected before it
	 * runs); NO_NOTIFY is never set, so a kick after each refill.
	 */
	suppression(F(VIRTIO_F_VERSION_1), 10, 3);
}

/* Single pair: frames go to their flow's core; not IPv4 stays on core 0. */
static size_t
make_flows(int k, uint8_t *f, int *pair, struct virtio_net_hdr *h, uint32_t *chunk)
{
	(void)pair; (void)h; (void)chunk;
	if (k % 6 == 5)
		return make_other(f, 80, (uint64_t)k);
	return make_udp(f, 100, IP4(10, 0, (k >> 4) & 7, 2), IP4(10, 0, 0, 1),
	    (uint16_t)(4000 + k), 53, (uint64_t)k);
}

TEST(rx_flow_hand_over)
{
	struct vnet_stats st;

	vstart();
	vdev_init(&dev, SINGLE, 1, 16);
	attach();
	check_core = 1;
	inject(600, 600, make_flows);
	CHECK_EQ(rx_bad, 0);
	for (int c = 0; c < NCORES; c++)
		CHECK(rx_count[c] > 60);	/* spread over every core */
	vnet_stats(vnet_netif(&dev.d), 0, &st);
	CHECK_EQ(st.rx_frames, 600);
	CHECK_EQ(st.rx_handed, 600 - rx_count[0]);
	CHECK_EQ(st.rx_handoff_drops, 0);
	CHECK_EQ(dev.q[0].core, 0);
	vend();
}

/* A queue without an interrupt is polled: frames still come up. */
TEST(rx_no_interrupt)
{
	vstart();
	vdev_init(&dev, SINGLE, 1, 16);
	dev.irq_result = -2;
	attach();
	inject(40, 40, make_small);
	CHECK_EQ(rx_total, 40);
	CHECK_EQ(dev.q[0].handler == NULL, 1);
	vend();
}

/* Malformed used entries: each dropped and counted; the ring stays full. */
static void
malformed_one(uint16_t nb, uint32_t len)
{
	struct vdev_q *q = &dev.q[0];
	int head = vdev_pop(q);
	struct virtio_net_hdr h = plain;

	CHECK(head >= 0);
	h.num_buffers = nb;
	memcpy((void *)(uintptr_t)q->vq->desc[head].addr, &h, sizeof h);
	vdev_rx_used(&dev, 0, (uint32_t)head, len);
}

static void
malformed_body(void)
{
	struct virtio_net_hdr h = plain;
	uint8_t f[100];

	vdev_rx_used(&dev, 0, 1000, 100);	/* no such descriptor */
	malformed_one(1, 5);			/* shorter than the header */
	malformed_one(1, 5000);			/* longer than the buffer */
	malformed_one(0, 100);			/* num_buffers 0 */
	malformed_one(1000, 100);		/* more buffers than posted */
	malformed_one(1, VIRTIO_NET_HDR_LEN + 5);	/* a runt frame */
	make_other(f, 100, 1);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;	/* a checksum past the end */
	h.csum_start = 90;
	h.csum_offset = 16;
	CHECK_EQ(vdev_rx(&dev, 0, &h, f, 100, 0), 0);
	h = plain;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;	/* GUEST_TSO4 was not negotiated */
	CHECK_EQ(vdev_rx(&dev, 0, &h, f, 100, 0), 0);
	CHECK_EQ(vdev_rx(&dev, 0, &plain, f, 100, 0), 0);	/* a good one */
}

TEST(rx_malformed)
{
	struct vnet_stats st;

	vstart();
	vdev_init(&dev, SINGLE, 1, 16);
	attach();
	rx_expect = 1;
	run(malformed_body, rx_done);
	CHECK_EQ(rx_total, 1);
	CHECK_EQ(rec[0].len, 100);
	vnet_stats(vnet_netif(&dev.d), 0, &st);
	CHECK_EQ(st.rx_malformed, 7);
	CHECK_EQ(st.rx_frames, 1);
	CHECK_EQ(vdev_avail(&dev.q[0]), 16);
	vnet_netif(&dev.d)->ops->print_stats(vnet_netif(&dev.d));
	vend();
	CHECK_EQ(st.bad_used, 1);
}

/* ---- transmit ------------------------------------------------------------- */

/* A buffer of n patterned bytes (seed) with headroom h. */
static struct iobuf *
buf_of(size_t h, size_t n, uint64_t seed)
{
	struct iobuf *b = iobuf_alloc(h, n);

	test_fill(iobuf_put(b, n), n, seed);
	return b;
}

/* The bytes of chain c, for comparing with what the device got. */
static size_t
bytes_of(const struct iobuf *c, uint8_t *out)
{
	size_t n = iobuf_chain_len(c);

	iobuf_copy_out(c, 0, n, out);
	return n;
}

static uint8_t want[VDEV_FRAME_MAX];

/* Chains: one descriptor per buffer, the header in the first's headroom. */
TEST(tx_chains)
{
	struct netif *nif;
	struct vdev_q *q = &dev.q[1];
	struct iobuf *a, *b, *c, *clone;
	struct vnet_stats st;
	uint8_t *pa, *pb, *pc;
	size_t n;

	vstart();
	vdev_init(&dev, SINGLE, 1, 64);
	nif = attach();

	/* Three buffers, the first with headroom and not shared. */
	a = buf_of(IOBUF_HEADROOM, 42, 1);
	b = buf_of(0, 1000, 2);
	c = buf_of(0, 300, 3);
	a->next = b;
	b->next = c;
	pa = a->data, pb = b->data, pc = c->data;
	n = bytes_of(a, want);
	CHECK_EQ(netif_send(nif, a, NULL), 0);
	CHECK_EQ(q->frames, 1);
	CHECK_EQ(q->ndesc, 3);
	CHECK(q->addr[0] == (uintptr_t)(pa - VIRTIO_NET_HDR_LEN));
	CHECK_EQ(q->len[0], VIRTIO_NET_HDR_LEN + 42);
	CHECK(q->addr[1] == (uintptr_t)pb && q->len[1] == 1000);
	CHECK(q->addr[2] == (uintptr_t)pc && q->len[2] == 300);
	CHECK_EQ(q->flen, n);
	CHECK_EQ(memcmp(q->frame, want, n), 0);
	CHECK_EQ(q->hdr.flags, 0);
	CHECK_EQ(q->hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);

	/* A shared first buffer: the header gets a descriptor of its own. */
	a = buf_of(IOBUF_HEADROOM, 42, 4);
	a->next = buf_of(0, 500, 5);
	clone = iobuf_clone(a);
	pa = a->data;
	n = bytes_of(a, want);
	CHECK_EQ(netif_send(nif, a, NULL), 0);
	CHECK_EQ(q->ndesc, 3);
	CHECK_EQ(q->len[0], VIRTIO_NET_HDR_LEN);
	CHECK(q->addr[1] == (uintptr_t)pa && q->len[1] == 42);
	CHECK_EQ(memcmp(q->frame, want, n), 0);
	CHECK(test_intact(clone->data, 42, 4));	/* the clone saw nothing */
	iobuf_free(clone);

	/* No headroom: likewise. */
	a = buf_of(0, 60, 6);
	CHECK_EQ(netif_send(nif, a, NULL), 0);
	CHECK_EQ(q->ndesc, 2);

	/* A chain too long for VNET_TX_SEGS: copied into one buffer. */
	a = buf_of(IOBUF_HEADROOM, 42, 7);
	for (int k = 0; k < 20; k++)
		iobuf_chain_append(a, buf_of(0, 10 + (size_t)k, 8 + (uint64_t)k));
	n = bytes_of(a, want);
	CHECK_EQ(netif_send(nif, a, NULL), 0);
	CHECK_EQ(q->ndesc, 1);
	CHECK_EQ(q->flen, n);
	CHECK_EQ(memcmp(q->frame, want, n), 0);

	vnet_stats(nif, 0, &st);
	CHECK_EQ(st.tx_frames, 4);
	CHECK_EQ(st.tx_copies, 1);
	CHECK_EQ(q->interrupts, 0);		/* TX queues never interrupt */
	vend();
}

/* An Ethernet + IPv4 + TCP frame (no options) with n bytes of payload. */
static struct iobuf *
tcp_frame(size_t n)
{
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, 54 + n);
	uint8_t *f = iobuf_put(b, 54 + n);

	memset(f, 0, 54);
	f[12] = 0x08;
	f[14] = 0x45;
	f[23] = IP_PROTO_TCP;
	f[34 + 12] = 5 << 4;		/* data offset: 5 words */
	test_fill(f + 54, n, 9);
	return b;
}

/* Hints: checksum and TSO into the header; refused where not negotiated. */
TEST(tx_hints)
{
	struct netif *nif;
	struct vdev_q *q = &dev.q[1];
	struct netif_tx_hints csum = { .csum = 1, .csum_start = 34, .csum_offset = 6 };
	struct netif_tx_hints tso = { .csum = 1, .csum_start = 34, .csum_offset = 16,
	    .mss = 1448 };
	struct netif_tx_hints tso_only = { .mss = 1448 };
	struct vnet_stats st;

	vstart();
	vdev_init(&dev, SINGLE, 1, 64);
	nif = attach();
	CHECK_EQ(netif_send(nif, buf_of(IOBUF_HEADROOM, 100, 1), &csum), 0);
	CHECK_EQ(q->hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(q->hdr.csum_start, 34);
	CHECK_EQ(q->hdr.csum_offset, 6);
	CHECK_EQ(q->hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	CHECK_EQ(netif_send(nif, tcp_frame(5000), &tso), 0);
	CHECK_EQ(q->hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(q->hdr.csum_offset, 16);
	CHECK_EQ(q->hdr.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	CHECK_EQ(q->hdr.gso_size, 1448);
	CHECK_EQ(q->hdr.hdr_len, 54);
	CHECK_EQ(q->flen, 5054);
	CHECK_EQ(netif_send(nif, tcp_frame(5000), &tso_only), EOPNOTSUPP);
	CHECK_EQ(netif_send(nif, tcp_frame(0), NULL), 0);
	CHECK_EQ(q->hdr.flags, 0);
	CHECK_EQ(q->hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	vnet_stats(nif, 0, &st);
	CHECK_EQ(st.tx_frames, 3);
	CHECK_EQ(st.tx_errors, 1);
	vend();

	/* Without CSUM and HOST_TSO4: both refused, counted. */
	vstart();
	vdev_init(&dev, F(VIRTIO_F_VERSION_1), 1, 64);
	nif = attach();
	CHECK_EQ(nif->features, 0);
	CHECK_EQ(netif_send(nif, buf_of(IOBUF_HEADROOM, 100, 1), &csum), EOPNOTSUPP);
	CHECK_EQ(netif_send(nif, tcp_frame(5000), &tso), EOPNOTSUPP);
	CHECK_EQ(netif_send(nif, buf_of(IOBUF_HEADROOM, 100, 1), NULL), 0);
	vnet_stats(nif, 0, &st);
	CHECK_EQ(st.tx_errors, 2);
	CHECK_EQ(nif->stats.tx_errors, 2);
	CHECK_EQ(q->frames, 1);
	vend();
}

/* A stalled device: transmit fails cleanly once the ring is full; no leak. */
TEST(tx_stall)
{
	struct netif *nif;
	struct vnet_stats st;
	int ok = 0, full = 0;

	vstart();
	vdev_init(&dev, SINGLE, 1, 16);
	dev.tx_stall = 1;
	nif = attach();
	for (int k = 0; k < 40; k++) {
		struct iobuf *a = buf_of(IOBUF_HEADROOM, 60, (uint64_t)k);

		a->next = buf_of(0, 100, (uint64_t)k);	/* two descriptors each */
		int r = netif_send(nif, a, NULL);
		if (r == 0)
			ok++;
		else if (r == ENOBUFS)
			full++;
	}
	CHECK_EQ(ok, 8);
	CHECK_EQ(full, 32);
	vnet_stats(nif, 0, &st);
	CHECK_EQ(st.tx_frames, 8);
	CHECK_EQ(st.tx_full, 32);
	CHECK_EQ(nif->stats.tx_errors, 32);
	CHECK_EQ(dev.q[1].frames, 0);
	CHECK(iobuf_live() > iobufs0);		/* 8 frames still with the device */
	vend();					/* freed after the reset */
}

/* Over 65536 frames through a TX queue of 8; EVENT_IDX kicks. */
TEST(tx_wrap)
{
	struct netif *nif;
	struct vnet_stats st;

	vstart();
	vdev_init(&dev, SINGLE, 1, 8);
	nif = attach();
	for (int k = 0; k < 70000; k++)
		CHECK_EQ(netif_send(nif, buf_of(IOBUF_HEADROOM, 60, 0), NULL), 0);
	vnet_stats(nif, 0, &st);
	CHECK_EQ(st.tx_frames, 70000);
	CHECK_EQ(st.tx_full, 0);
	CHECK_EQ(dev.q[1].frames, 70000);
	CHECK_EQ(dev.q[1].used_idx, (uint16_t)70000);
	/* The device consumes at each kick and asks for the next: one each. */
	CHECK_EQ(dev.q[1].kicks, 70000);
	vend();
}

/* EVENT_IDX: a device behind on its queue is not kicked again. */
TEST(tx_event_idx)
{
	struct netif *nif;

	vstart();
	vdev_init(&dev, SINGLE, 1, 16);
	dev.tx_lazy = 1;
	nif = attach();
	for (int k = 0; k < 4; k++)
		CHECK_EQ(netif_send(nif, buf_of(IOBUF_HEADROOM, 60, 0), NULL), 0);
	CHECK_EQ(dev.q[1].kicks, 1);	/* it has not caught up since */
	CHECK_EQ(vdev_tx_run(&dev, 1), 4);
	for (int k = 0; k < 3; k++)
		CHECK_EQ(netif_send(nif, buf_of(IOBUF_HEADROOM, 60, 0), NULL), 0);
	CHECK_EQ(dev.q[1].kicks, 2);
	CHECK_EQ(vdev_tx_run(&dev, 1), 3);
	CHECK_EQ(dev.q[1].interrupts, 0);
	vend();
}

/* ---- multiqueue ------------------------------------------------------------ */

static size_t
make_mq(int k, uint8_t *f, int *pair, struct virtio_net_hdr *h, uint32_t *chunk)
{
	(void)h; (void)chunk;
	*pair = k % dev_pairs();
	return make_udp(f, 120, IP4(10, 0, 0, 2), IP4(10, 0, 0, 1),
	    (uint16_t)(1000 + *pair), (uint16_t)k, (uint64_t)k);
}

static long mq_sent[NCORES];

/* On each core: 10 frames out, through its pair or a pair's owner. */
static void
mq_send(void *unused)
{
	(void)unused;
	for (int k = 0; k < 10; k++)
		if (netif_send(vnet_netif(&dev.d), buf_of(IOBUF_HEADROOM, 60, 0), NULL) == 0)
			mq_sent[core_id()]++;
}

static void
mq_body(void)
{
	for (int c = 0; c < NCORES; c++)
		spawn_on(c, mq_send, NULL);
	injector(NULL);
}

static int
mq_done(void)
{
	long tx = 0;

	for (int q = 1; q < dev.nq - 1; q += 2)
		tx += __atomic_load_n(&dev.q[q].frames, __ATOMIC_RELAXED);
	return rx_done() && tx == 10 * NCORES;
}

static void
mq(int max_pairs, int pairs)
{
	struct netif *nif;
	struct vnet_stats st;

	vstart();
	vdev_init(&dev, FULL, max_pairs, 16);
	nif = attach();
	CHECK_EQ(nif->nqueues, pairs);
	CHECK_EQ(dev.ctrl_count, 1);
	CHECK_EQ(dev.ctrl_q, 2 * max_pairs);
	CHECK_EQ(dev.ctrl_cls, VIRTIO_NET_CTRL_MQ);
	CHECK_EQ(dev.ctrl_cmd, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET);
	CHECK_EQ(dev.ctrl_data, pairs);
	for (int i = 0; i < pairs; i++) {
		CHECK_EQ(dev.q[2 * i].core, i);	/* RX interrupt on core i */
		CHECK(dev.q[2 * i].handler != NULL);
		CHECK(dev.q[2 * i + 1].handler == NULL);
	}
	for (int i = pairs; i < max_pairs; i++)
		CHECK(dev.q[2 * i].vq == NULL);	/* pairs not used stay off */
	check_core = 2;
	memset(mq_sent, 0, sizeof mq_sent);
	inj_total = 300;
	inj_next = 0;
	inj_make = make_mq;
	rx_expect = 300;
	run(mq_body, mq_done);
	CHECK_EQ(rx_bad, 0);
	for (int c = 0; c < NCORES; c++) {
		CHECK_EQ(rx_count[c], c < pairs ? 300 / pairs : 0);
		CHECK_EQ(mq_sent[c], 10);
	}
	for (int i = 0; i < pairs; i++) {
		long from = 0;

		for (int c = i; c < NCORES; c += pairs)
			from += 10;
		CHECK_EQ(dev.q[2 * i + 1].frames, from);	/* core c -> pair c % pairs */
		vnet_stats(nif, i, &st);
		CHECK_EQ(st.tx_frames, from);
		CHECK_EQ(st.tx_handed, from - 10);
		CHECK_EQ(st.rx_frames, 300 / pairs);
		CHECK_EQ(st.rx_handed, 0);		/* MQ: no software hand-over */
	}
	nif->ops->print_stats(nif);
	vend();
}

TEST(mq_pairs)
{
	mq(2, 2);		/* 3 cores, 2 pairs: core 2 sends through core 0 */
	mq(8, NCORES);		/* 8 offered, one per core taken; control queue 16 */
}

/* ---- the flow hash (tcp/netif.c) ------------------------------------------ */

TEST(flow_hash_rule)
{
	uint8_t f[100];
	struct iobuf *b;
	int per[NCORES] = { 0 };

	test_setup(NCORES, 0, TEST_EVENTS);
	for (int k = 0; k < 3000; k++) {
		uint32_t s = (uint32_t)test_rnd(), d = (uint32_t)test_rnd();
		uint16_t sp = (uint16_t)test_rnd(), dp = (uint16_t)test_rnd();

		CHECK_EQ(netif_flow_hash(s, d, sp, dp), netif_flow_hash(d, s, dp, sp));
		per[netif_flow_hash(s, d, sp, dp) % NCORES]++;
	}
	for (int c = 0; c < NCORES; c++)
		CHECK(per[c] > 800 && per[c] < 1200);
	/* A frame: ports count; a fragment uses the addresses alone. */
	b = iobuf_alloc(0, 100);
	make_udp(iobuf_put(b, 100), 100, IP4(1, 2, 3, 4), IP4(5, 6, 7, 8), 1111, 2222, 0);
	CHECK_EQ(netif_flow_core(b, NCORES), (int)(netif_flow_hash(IP4(1, 2, 3, 4),
	    IP4(5, 6, 7, 8), hton16(1111), hton16(2222)) % NCORES));
	b->data[ETH_HLEN + 6] = 0x20;		/* MF: a first fragment */
	CHECK_EQ(netif_flow_core(b, NCORES), (int)(netif_flow_hash(IP4(1, 2, 3, 4),
	    IP4(5, 6, 7, 8), 0, 0) % NCORES));
	CHECK_EQ(netif_flow_core(b, 1), 0);
	iobuf_free(b);
	/* Not IPv4, or too short: core 0. */
	make_other(f, 100, 1);
	b = iobuf_alloc(0, 100);
	memcpy(iobuf_put(b, 100), f, 100);
	CHECK_EQ(netif_flow_core(b, NCORES), 0);
	iobuf_trim(b, 20);
	b->data[12] = 0x08, b->data[13] = 0x00;
	CHECK_EQ(netif_flow_core(b, NCORES), 0);
	iobuf_free(b);
}

/* ---- out of memory --------------------------------------------------------- */

static struct iobuf *hoard;		/* every 2 KiB block there was */
static struct iobuf *nm_shared, *nm_clone, *nm_long;
static int nm_tx[2];

static void
nomem_body(void)
{
	struct netif *nif = vnet_netif(&dev.d);
	uint8_t f[80];
	struct iobuf *b;

	while ((b = iobuf_alloc(0, 1500)) != NULL) {
		b->next = hoard;
		hoard = b;
	}
	/* Transmit: no header buffer for a shared frame, no copy of a long chain. */
	nm_tx[0] = netif_send(nif, nm_shared, NULL);
	nm_tx[1] = netif_send(nif, nm_long, NULL);
	while ((b = iobuf_alloc(0, 1500)) != NULL) {	/* what those freed */
		b->next = hoard;
		hoard = b;
	}
	/* Receive: no fresh buffers, so the frames are dropped, buffers re-offered. */
	for (int k = 0; k < 3; k++)
		CHECK_EQ(vdev_rx(&dev, 0, &plain, f, (uint32_t)make_other(f, 80, 1), 0), 0);
}

static int
nomem_done(void)
{
	struct vnet_stats st;
	uint8_t f[80];

	vnet_stats(vnet_netif(&dev.d), 0, &st);
	if (hoard != NULL && st.rx_nomem == 3) {
		iobuf_free_chain(hoard);	/* memory is back: a frame comes up */
		hoard = NULL;
		CHECK_EQ(vdev_rx(&dev, 0, &plain, f, (uint32_t)make_other(f, 80, 2), 0), 0);
	}
	return rx_done();
}

TEST(no_memory)
{
	struct vnet_stats st;

	vstart();
	vdev_init(&dev, SINGLE, 1, 16);
	attach();
	nm_shared = buf_of(IOBUF_HEADROOM, 60, 1);
	nm_clone = iobuf_clone(nm_shared);
	nm_long = buf_of(IOBUF_HEADROOM, 42, 2);
	for (int k = 0; k < 20; k++)
		iobuf_chain_append(nm_long, buf_of(0, 10, 3));
	rx_expect = 1;
	run(nomem_body, nomem_done);
	iobuf_free(nm_clone);
	CHECK_EQ(nm_tx[0], ENOMEM);
	CHECK_EQ(nm_tx[1], ENOMEM);
	CHECK_EQ(rx_total, 1);
	vnet_stats(vnet_netif(&dev.d), 0, &st);
	CHECK_EQ(st.rx_nomem, 3);
	CHECK_EQ(st.tx_errors, 2);
	CHECK_EQ(st.rx_frames, 1);
	CHECK_EQ(vdev_avail(&dev.q[0]), 16);	/* the ring never ran dry */
	vend();
}
