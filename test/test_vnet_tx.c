/*
 * test_vnet_tx.c: the virtio-net driver (virtio/net*.c), hosted: the
 * transmit path, multiqueue, the flow hash, and running out of memory,
 * against the device model of test/vdev.h (vnettest.h says how a test
 * runs).  Negotiation and the receive path are in test_vnet.c.
 */
#include <errno.h>

#include "vnettest.h"

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

/*
 * Send chain a through nif: the device must get it as the first frame
 * on q, copied into one descriptor, byte for byte.
 */
static void
send_copied(struct netif *nif, struct vdev_q *q, struct iobuf *a)
{
	size_t n = bytes_of(a, want);

	CHECK_EQ(netif_send(nif, a, NULL), 0);
	CHECK_EQ(q->frames, 1);
	CHECK_EQ(q->ndesc, 1);
	CHECK_EQ(q->flen, n);
	CHECK_EQ(memcmp(q->frame, want, n), 0);
}

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
	csum.csum_start = 96;			/* the field past the end */
	CHECK_EQ(netif_send(nif, buf_of(IOBUF_HEADROOM, 100, 1), &csum), EINVAL);
	csum.csum_start = 34;
	CHECK_EQ(netif_send(nif, tcp_frame(0), NULL), 0);
	CHECK_EQ(q->hdr.flags, 0);
	CHECK_EQ(q->hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	vnet_stats(nif, 0, &st);
	CHECK_EQ(st.tx_frames, 3);
	CHECK_EQ(st.tx_errors, 2);
	vend();

	/* Without CSUM and HOST_TSO4: the checksum hint refused, counted; a
	 * TSO frame cut in software first (tcp/gso.c), four frames that
	 * need no hint. */
	vstart();
	vdev_init(&dev, F(VIRTIO_F_VERSION_1), 1, 64);
	nif = attach();
	CHECK_EQ(nif->features, 0);
	CHECK_EQ(netif_send(nif, buf_of(IOBUF_HEADROOM, 100, 1), &csum), EOPNOTSUPP);
	CHECK_EQ(netif_send(nif, tcp_frame(5000), &tso), 0);
	CHECK_EQ(q->frames, 4);
	CHECK_EQ(q->flen, 54 + 5000 - 3 * 1448);	/* the last, short */
	CHECK_EQ(q->hdr.flags, 0);
	CHECK_EQ(q->hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	CHECK_EQ(netif_send(nif, buf_of(IOBUF_HEADROOM, 100, 1), NULL), 0);
	vnet_stats(nif, 0, &st);
	CHECK_EQ(st.tx_errors, 1);
	CHECK_EQ(nif->stats.tx_errors, 1);
	CHECK_EQ(q->frames, 5);
	vend();
}

/*
 * A device whose queues are smaller than VNET_TX_SEGS: a chain longer
 * than the ring is copied into one buffer (it could never fit as it
 * is), and with a ring of one entry so is a frame whose header needs a
 * descriptor of its own.
 */
TEST(tx_small_ring)
{
	struct netif *nif;
	struct vdev_q *q = &dev.q[1];
	struct vnet_stats st;
	struct iobuf *a;

	vstart();
	vdev_init(&dev, SINGLE, 1, 4);
	nif = attach();
	a = buf_of(IOBUF_HEADROOM, 42, 1);
	for (int k = 0; k < 5; k++)
		iobuf_chain_append(a, buf_of(0, 100, 2 + (uint64_t)k));
	send_copied(nif, q, a);
	a = buf_of(IOBUF_HEADROOM, 42, 3);	/* 3 descriptors fit: as it is */
	a->next = buf_of(0, 100, 4);
	a->next->next = buf_of(0, 100, 5);
	CHECK_EQ(netif_send(nif, a, NULL), 0);
	CHECK_EQ(q->ndesc, 3);
	vnet_stats(nif, 0, &st);
	CHECK_EQ(st.tx_frames, 2);
	CHECK_EQ(st.tx_copies, 1);
	CHECK_EQ(st.tx_full, 0);
	vend();

	vstart();
	vdev_init(&dev, SINGLE, 1, 1);
	nif = attach();
	a = buf_of(0, 60, 6);			/* no headroom for the header */
	send_copied(nif, q, a);
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
	/* Callbacks off for good: not even when used->idx wraps past used_event. */
	CHECK_EQ(dev.q[1].interrupts, 0);
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
		CHECK_EQ(nif->stats.rx_handed, 0);	/* MQ: no software hand-over */
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

	vstart();
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
	CHECK_EQ(iobuf_live(), iobufs0);
	test_leak_check(leaks);
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

