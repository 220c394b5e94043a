/*
 * test_vnet_lost.c: the virtio-net driver when a notification is lost,
 * hosted, against the device model of test/vdev.h (vnettest.h says how
 * a test runs).
 *
 * Each test makes the model lose one handshake exactly as a device
 * whose fence is not honoured does (QEMU's TCG with one vCPU:
 * virtio/net_watch.c): the device holds back its store (of avail_event,
 * or of used->idx) while its load sees the driver's old value, and the
 * driver, deciding on the device's old value, sends nothing.  The held
 * store then lands (vdev_land, on the run's millisecond tick), and
 * from then on each side waits for the other:
 *
 *   lost_tx_kick   the device took frame 1 and waits for a kick at
 *                  frame 2, which the driver published without one
 *   lost_rx_kick   the device ran out of receive buffers and waits for
 *                  the kick that says there are more (QEMU stops reading
 *                  its TAP device until then); the driver refilled
 *                  without one
 *   lost_rx_irq    the device put frame 2 on the used ring with no
 *                  interrupt, while the driver turned interrupts back
 *                  on and saw nothing
 *
 * Before the watchdog each of these ran until the run's own watchdog
 * failed it (nothing ever moved again); now the driver's watchdog
 * finds the owed notification after two looks, sends it, and counts it
 * (lost_kicks, lost_irqs).  Every test also checks what a lost
 * notification must not cost: no frame dropped, doubled or reordered,
 * and buffers, pages and slab objects back where they started.
 */
#include "vnettest.h"

/* A buffer of n patterned bytes (seed), with headroom for the header. */
static struct iobuf *
frame_of(size_t n, uint64_t seed)
{
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, n);

	test_fill(iobuf_put(b, n), n, seed);
	return b;
}

/* ---- transmit -------------------------------------------------------------- */

static struct netif *lost_nif;

/* The run's body: frame 1 (kicked; the device holds its avail_event back), then frame 2. */
static void
tx_body(void)
{
	dev.q[1].lose_kick = 1;
	CHECK_EQ(netif_send(lost_nif, frame_of(60, 1), NULL), 0);
	CHECK_EQ(dev.q[1].frames, 1);
	CHECK(dev.q[1].late_event >= 0);	/* held back */
	CHECK_EQ(netif_send(lost_nif, frame_of(70, 2), NULL), 0);
	CHECK_EQ(dev.q[1].kicks, 1);		/* the driver saw no request */
}

/* Goal: the device has taken both frames. */
static int
tx_done(void)
{
	return dev.q[1].frames == 2;
}

/* TX: the device waits for a kick the driver decided it did not want. */
TEST(lost_tx_kick)
{
	struct vnet_stats st;
	uint8_t want[70];

	vstart();
	vdev_init(&dev, SINGLE, 1, 16);
	lost_nif = attach();
	run(tx_body, tx_done);
	CHECK_EQ(dev.q[1].frames, 2);
	CHECK_EQ(dev.q[1].flen, 70);		/* the second, whole */
	test_fill(want, 70, 2);
	CHECK_EQ(memcmp(dev.q[1].frame, want, 70), 0);
	vnet_stats(lost_nif, 0, &st);
	CHECK_EQ(st.lost_kicks, 1);
	CHECK_EQ(st.lost_irqs, 0);
	CHECK_EQ(st.tx_frames, 2);
	CHECK_EQ(st.tx_full + st.tx_errors, 0);
	CHECK_EQ(dev.q[1].kicks, 2);		/* the driver's, then the watchdog's */
	vend();
}

/* Without the lose mode the same two frames need no watchdog. */
TEST(tx_no_loss_no_watchdog_kick)
{
	struct vnet_stats st;

	vstart();
	vdev_init(&dev, SINGLE, 1, 16);
	lost_nif = attach();
	for (int k = 0; k < 50; k++)
		CHECK_EQ(netif_send(lost_nif, frame_of(60, (uint64_t)k), NULL), 0);
	CHECK_EQ(dev.q[1].frames, 50);
	vend();					/* the watchdog has had its looks */
	CHECK_EQ(dev.q[1].frames, 50);
	vnet_stats(lost_nif, 0, &st);		/* detached: zeros */
	CHECK_EQ(st.lost_kicks, 0);
}

/* ---- receive --------------------------------------------------------------- */

/* Frame k: ARP-typed (core 0's), its length and bytes from k. */
static size_t
make_seq(int k, uint8_t *f, int *pair, struct virtio_net_hdr *h, uint32_t *chunk)
{
	(void)pair; (void)h; (void)chunk;
	return make_other(f, 60 + (size_t)k, (uint64_t)k);
}

/* Every frame came up once, in order, intact (REC_MAX recorded). */
static void
check_in_order(int n)
{
	uint8_t f[200];

	CHECK_EQ(rx_total, n);
	for (int k = 0; k < n && k < REC_MAX; k++) {
		CHECK_EQ(rec[k].len, 60 + (size_t)k);
		make_other(f, 60 + (size_t)k, (uint64_t)k);
		CHECK_EQ(memcmp(rec[k].bytes, f, rec[k].len), 0);
	}
}

/*
 * n frames into 8 buffers from a device in rx_kick mode, which runs out
 * of buffers at once and waits for kicks; lose: it loses the first
 * kick's handshake.  Every frame comes up, in order; lost kicks counted.
 */
static void
rx_kick_run(int n, int lose)
{
	struct vnet_stats st;

	vstart();
	vdev_init(&dev, SINGLE, 1, 8);
	dev.rx_kick = 1;
	lost_nif = attach();
	dev.q[0].lose_kick = lose;
	inject(n, n, make_seq);
	check_in_order(n);
	CHECK(dev.rx_nobuf > 0);		/* it did wait for kicks */
	vnet_stats(lost_nif, 0, &st);
	CHECK_EQ(st.lost_kicks, lose);
	CHECK_EQ(st.rx_frames, n);
	CHECK_EQ(st.rx_nomem + st.rx_malformed, 0);
	vend();
}

/* RX: out of buffers, the device waits for a kick; the refill's decision missed it. */
TEST(lost_rx_kick)
{
	rx_kick_run(20, 1);
}

/* The same device without the lose mode: its kicks come from the refills. */
TEST(rx_kick_mode_no_loss)
{
	rx_kick_run(40, 0);
}

/* After frame 0 comes up (the driver polling): frame 1, its interrupt lost. */
static void
irq_hook(void)
{
	if (rx_total != 1)
		return;
	dev.q[0].lose_irq = 1;
	CHECK_EQ(vdev_rx(&dev, 0, &plain, inj_buf, (uint32_t)make_seq(1, inj_buf,
	    NULL, NULL, NULL), 0), 0);
	CHECK(dev.q[0].late_used >= 0);		/* held back, no interrupt */
}

/* RX: a frame on the used ring, interrupts on, and no interrupt. */
TEST(lost_rx_irq)
{
	struct vnet_stats st;
	long irqs;

	vstart();
	vdev_init(&dev, SINGLE, 1, 16);
	lost_nif = attach();
	rx_hook = irq_hook;
	inject(1, 2, make_seq);			/* frame 0; the hook sends frame 1 */
	check_in_order(2);
	irqs = dev.q[0].interrupts;
	CHECK_EQ(irqs, 1);			/* frame 0's only */
	vnet_stats(lost_nif, 0, &st);
	CHECK_EQ(st.lost_irqs, 1);
	CHECK_EQ(st.lost_kicks, 0);
	CHECK_EQ(st.interrupts, 1);		/* the watchdog's poll is not one */
	vend();
}
