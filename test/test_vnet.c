/*
 * test_vnet.c: the virtio-net driver (virtio/net*.c), hosted:
 * negotiation and the receive path, against the device model of
 * test/vdev.h, with the real event loops on NCORES threads (vnettest.h
 * says how a test runs).  Transmit, multiqueue, the flow hash and
 * running out of memory are in test_vnet_tx.c.
 */
#include "vnettest.h"

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
	CHECK_EQ(vnet_attach(&dev.d), -1);	/* attached already */
	CHECK(dev.status & VIRTIO_STATUS_DRIVER_OK);	/* and left alone */
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

/*
 * A device offering features without their prerequisites (5.1.3.1):
 * HOST_TSO4 without CSUM, MQ without CTRL_VQ.  The driver must accept
 * neither (6: no feature without the one it requires), and works.
 */
TEST(attach_orphan_features)
{
	struct netif *nif;

	vstart();
	vdev_init(&dev, F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_MQ) |
	    F(VIRTIO_NET_F_MAC), 2, 16);
	nif = attach();
	CHECK_EQ(dev.driver_features, F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC));
	CHECK_EQ(dev.d.features, dev.driver_features);
	CHECK_EQ(nif->features, 0);
	CHECK_EQ(nif->nqueues, 1);
	rx_expect = 1;
	run(v1_body, rx_done);
	CHECK_EQ(rx_total, 1);
	CHECK_EQ(dev.q[1].frames, 1);
	vend();
}

/* A max_virtqueue_pairs out of the spec's range (1..0x8000): refused. */
TEST(attach_bad_max_pairs)
{
	vstart();
	vdev_init(&dev, FULL, 0, 16);
	CHECK_EQ(vnet_attach(&dev.d), -1);
	CHECK(dev.status & VIRTIO_STATUS_FAILED);
	CHECK(vnet_netif(&dev.d) == NULL);
	CHECK_EQ(dev.q[0].vq == NULL, 1);	/* no queue was set up */
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

/* GUEST_CSUM: DATA_VALID -> RX_CSUM_OK; NEEDS_CSUM -> OK too, the field left partial. */
TEST(rx_checksums)
{
	vstart();
	vdev_init(&dev, SINGLE, 1, 16);
	attach();
	inject(4, 4, make_csum);	/* one flow: one core, in order */
	CHECK_EQ(rec[0].flags, NETIF_RX_CSUM_OK);
	CHECK_EQ(rec[1].flags, 0);
	CHECK(!udp_csum_ok(1));		/* the partial sum only, as sent */
	for (int k = 2; k < 4; k++) {	/* nobody summed them: as they came */
		uint8_t f[128 + 300 + 30];
		struct virtio_net_hdr h;
		size_t n = make_csum(k, f, NULL, &h, NULL);

		CHECK_EQ(rec[k].flags, NETIF_RX_CSUM_OK);
		CHECK_EQ(rec[k].len, n);
		CHECK(memcmp(rec[k].bytes, f, n) == 0);
		CHECK(!udp_csum_ok(k));
	}
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
	CHECK_EQ(vnet_netif(&dev.d)->stats.rx_handed, 600 - rx_count[0]);	/* netif steers */
	CHECK_EQ(vnet_netif(&dev.d)->stats.rx_handoff_drops, 0);
	CHECK_EQ(dev.q[0].core, 0);
	vend();
}

/*
 * A queue without an interrupt is polled by the idle handler: frames
 * still come up.  What wakes core 0 here is the run's 1 ms tick, as the
 * PCI transport's periodic poll of the handler does natively.
 */
TEST(rx_no_interrupt)
{
	vstart();
	vdev_init(&dev, SINGLE, 1, 16);
	dev.irq_result = -2;
	attach();
	inject(40, 40, make_small);
	CHECK_EQ(rx_total, 40);
	CHECK_EQ(dev.q[0].handler == NULL, 1);
	CHECK_EQ(dev.q[0].interrupts, 0);	/* the driver asked for none */
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

/*
 * Mergeable buffers from a device that lies: a later buffer longer than
 * it was (the frame dropped, counted once, every buffer offered again),
 * then a frame that announces 3 buffers and never sends the rest (held
 * half assembled, freed by the detach: no leak).
 */
static void
mrg_lie_body(void)
{
	struct vdev_q *q = &dev.q[0];
	struct virtio_net_hdr h = plain;
	uint8_t f[100];
	int a = vdev_pop(q), b = vdev_pop(q);

	CHECK(a >= 0 && b >= 0);
	h.num_buffers = 2;
	memcpy((void *)(uintptr_t)q->vq->desc[a].addr, &h, sizeof h);
	vdev_used_at(q, 0, (uint32_t)a, 100);
	vdev_used_at(q, 1, (uint32_t)b, 5000);		/* more than the buffer */
	vdev_publish(q, 2);
	make_other(f, 100, 3);
	CHECK_EQ(vdev_rx(&dev, 0, &plain, f, 100, 0), 0);	/* a good one */
}

static void
mrg_stall_body(void)
{
	struct vdev_q *q = &dev.q[0];
	struct virtio_net_hdr h = plain;
	int a = vdev_pop(q);

	CHECK(a >= 0);
	h.num_buffers = 3;
	memcpy((void *)(uintptr_t)q->vq->desc[a].addr, &h, sizeof h);
	vdev_rx_used(&dev, 0, (uint32_t)a, 100);	/* and nothing more */
}

/* The stalled frame's first buffer was harvested and replaced. */
static int
mrg_stall_done(void)
{
	return vdev_avail(&dev.q[0]) == 16;
}

TEST(rx_mergeable_lies)
{
	struct vnet_stats st;

	vstart();
	vdev_init(&dev, SINGLE, 1, 16);
	attach();
	rx_expect = 1;
	run(mrg_lie_body, rx_done);
	CHECK_EQ(rx_total, 1);
	CHECK_EQ(rec[0].len, 100);
	vnet_stats(vnet_netif(&dev.d), 0, &st);
	CHECK_EQ(st.rx_malformed, 1);
	CHECK_EQ(st.rx_frames, 1);
	CHECK_EQ(vdev_avail(&dev.q[0]), 16);

	run(mrg_stall_body, mrg_stall_done);
	vnet_stats(vnet_netif(&dev.d), 0, &st);
	CHECK_EQ(st.rx_malformed, 1);
	CHECK_EQ(st.rx_frames, 1);
	CHECK_EQ(rx_total, 1);
	vend();					/* frees the half frame */
}
