/*
 * tap.c: a network interface on a Linux TAP device (tap.h).  Hosted.
 *
 *	receive:  Linux -> the queue's fd -> tap_poll (an idle handler on
 *	          the queue's core) -> read -> netif_input
 *	transmit: netif_send -> tap_transmit -> writev on this core's fd
 *
 * The device.  /dev/net/tun, opened and bound to a name with TUNSETIFF
 * and IFF_TAP | IFF_NO_PI (Linux's Documentation/networking/tuntap.rst):
 * each read returns one whole Ethernet frame, each write sends one, with
 * no packet-information header in front.  With more than one queue the
 * device is opened once per queue with IFF_MULTI_QUEUE too; the first
 * open makes the device, the others attach to it, and Linux spreads the
 * frames it sends among the queues by flow.  The device lives as long as
 * its fds (it is not made persistent), so it goes when the process does.
 *
 * Queues and cores.  Queue c is core c's: only core c reads its fd (its
 * idle handler) and writes it (transmit runs on the sending core), and
 * the queue's spare buffer and counters are touched only there, with no
 * lock.  Each fd is non-blocking.  The loops are not running when
 * tap_create is called, so it hooks them (one boundary hook for every
 * TAP interface) and each core adds its own idle handlers on its first
 * pass through its loop.  While a core sleeps, its fd must still wake
 * it: hosted_core_watch_fd puts the fd in core_sleep's ppoll, the
 * hosted stand-in for a NIC's interrupt.
 *
 * Checksum offload (IFF_VNET_HDR).  Each frame read or written starts
 * with a 10-byte struct virtio_net_hdr (<linux/virtio_net.h>; the same
 * header virtio-net's devices use, ../virtio/), and TUNSETOFFLOAD with
 * TUN_F_CSUM tells Linux it may hand us frames whose checksum it left
 * to the NIC.  So features is NETIF_F_TX_CSUM | NETIF_F_RX_CSUM and,
 * for a Linux peer on the same host, nobody computes a TCP or UDP
 * checksum either way:
 *   - transmit: hints that ask for a checksum become NEEDS_CSUM with
 *     csum_start and csum_offset; Linux finishes the sum only if the
 *     frame leaves through a device that cannot (for its own sockets it
 *     takes the frame as verified, CHECKSUM_PARTIAL);
 *   - receive: DATA_VALID (Linux checked it) and NEEDS_CSUM (a local
 *     sender left it partial: the data never crossed a wire) go up as
 *     NETIF_RX_CSUM_OK, the field left as it came (netif.h); a header
 *     with GSO (never asked for: no TUN_F_TSO*) or a partial checksum
 *     outside the frame is counted in rx_errors and dropped.
 *
 * Segmentation offload, one way.  The interface has NETIF_F_TSO4, so
 * TCP hands it runs of full segments as one frame of up to 64 KiB with
 * hints->mss (tcp_out.c); the header then says GSO_TCPV4 with that
 * gso_size and hdr_len, as virtio-net's does (../virtio/net_tx.c), and
 * Linux cuts the frame into segments only if it leaves through a device
 * that cannot take it whole: for its own sockets it takes it as it is.
 * One writev instead of one a segment is what makes a bulk send fast.
 * The other way, Linux hands us segments as they came (TUNSETOFFLOAD
 * names only TUN_F_CSUM), which is what the stack expects.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ebb/event.h"
#include "hosted.h"
#include "kernel/platform.h"
#include "tap.h"

#define TAP_MTU		1500		/* bytes of IP per frame: Linux's default */
#define TAP_FRAME_MAX	(TAP_MTU + 14 + 4)	/* + Ethernet header, + a VLAN tag */
#define TAP_RX_BATCH	32		/* frames read per idle call, at most */
#define TAP_TX_IOV	64		/* iovecs per writev (the header and 63 buffers:
					 * a TSO frame's slices); longer chains are copied */
#define TAP_VNET_HDR	((int)sizeof(struct virtio_net_hdr))	/* 10 bytes before each frame */

/* One queue: core `core`'s fd.  Per-core data: owned by that core. */
struct tap_queue {
	int fd;
	int core;
	struct tap *tap;
	struct iobuf *spare;		/* allocated, read into nothing yet */
	struct event_idle *idle;	/* tap_poll, once the core has added it */
	struct tap_stats st;
} __attribute__((aligned(CACHE_LINE)));

struct tap {
	struct netif nif;		/* nif.driver is this struct */
	struct tap *next;		/* on the list the boundary hook walks */
	struct tap_queue q[NCPU];	/* nif.nqueues of them used */
};

static struct tap *taps;		/* every TAP interface; set before the loops run */
static int hooked;			/* the boundary hook is registered */
static int started[NCPU];		/* core c has added its idle handlers */

/* ---- receive ----------------------------------------------------------- */

/* A buffer big enough for one frame: the queue's spare, or a new one. */
static struct iobuf *
rx_buffer(struct tap_queue *q)
{
	struct iobuf *b = q->spare;

	q->spare = NULL;
	if (b == NULL)
		b = iobuf_alloc(IOBUF_HEADROOM, TAP_VNET_HDR + TAP_FRAME_MAX);
	return b;
}

/*
 * The header Linux put before a received frame: the frame's rx_flags
 * (NETIF_RX_CSUM_OK if Linux checked the checksum or left it partial),
 * or -1 if the header is malformed (GSO, or a partial checksum that
 * does not fit the frame's len bytes).
 */
static int
rx_header(const struct virtio_net_hdr *h, size_t len)
{
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		return -1;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (h->csum_start < ETH_HLEN || (size_t)h->csum_start + h->csum_offset + 2 > len)
			return -1;
		return NETIF_RX_CSUM_OK;
	}
	return h->flags & VIRTIO_NET_HDR_F_DATA_VALID ? NETIF_RX_CSUM_OK : 0;
}

/* Read a frame into nowhere: no buffer for it.  1 if there was one. */
static int
rx_drop(struct tap_queue *q)
{
	uint8_t scratch[TAP_VNET_HDR + TAP_FRAME_MAX];

	if (read(q->fd, scratch, sizeof scratch) < 0)
		return 0;
	q->st.rx_nomem++;
	return 1;
}

/*
 * The idle handler: up to TAP_RX_BATCH frames from the queue's fd into
 * the stack, on this core.  Nonzero if any frame came.
 */
static int
tap_poll(void *arg)
{
	struct tap_queue *q = arg;
	int got = 0;

	while (got < TAP_RX_BATCH) {
		struct iobuf *b = rx_buffer(q);
		struct virtio_net_hdr h;
		ssize_t n;
		int flags;

		if (b == NULL) {
			if (!rx_drop(q))
				break;
			got++;
			continue;
		}
		n = read(q->fd, b->data, iobuf_tailroom(b));
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				q->st.rx_errors++;
			q->spare = b;		/* for next time: no alloc per poll */
			break;
		}
		got++;
		memcpy(&h, b->data, sizeof h);
		flags = n < TAP_VNET_HDR ? -1 : rx_header(&h, (size_t)n - TAP_VNET_HDR);
		if (flags < 0) {
			q->st.rx_errors++;
			q->spare = b;		/* its window is still empty */
			continue;
		}
		iobuf_put(b, (size_t)n);	/* the window is what was read, */
		iobuf_advance(b, TAP_VNET_HDR);	/* less the header */
		netif_input(&q->tap->nif, b, (uint32_t)flags);
	}
	return got;
}

/*
 * The boundary hook: the first time each core passes it, add that
 * core's idle handlers (an idle handler is added on its own core).
 * Retried on the next pass if memory ran out.
 */
static int
tap_boundary(void)
{
	int c = core_id(), done = 1;

	if (__builtin_expect(started[c], 1))
		return 0;
	for (struct tap *t = taps; t != NULL; t = t->next) {
		struct tap_queue *q = &t->q[c];

		if (c >= t->nif.nqueues || q->idle != NULL)
			continue;
		if ((q->idle = event_idle_add(tap_poll, q)) == NULL)
			done = 0;
	}
	started[c] = done;
	return 0;
}

/* ---- transmit ---------------------------------------------------------- */

/*
 * Write one frame on this core's queue: one writev of the virtio-net
 * header (the checksum hints) and the frame's buffers.
 */
static int
tap_transmit(struct netif *nif, struct iobuf *frame,
    const struct netif_tx_hints *hints)
{
	struct tap *t = nif->driver;
	struct tap_queue *q = &t->q[core_id() % nif->nqueues];
	struct virtio_net_hdr h = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
	struct iovec iov[TAP_TX_IOV];
	struct iobuf *b, *flat = NULL;
	int n = 1, err = 0;

	if (hints->csum) {		/* Linux finishes it, if anyone needs it */
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.csum_start = hints->csum_start;
		h.csum_offset = hints->csum_offset;
	}
	if (hints->mss) {		/* Linux segments it, if anyone needs it */
		uint8_t off;		/* the TCP header's data offset, in words */

		if (!hints->csum || iobuf_copy_out(frame, (size_t)hints->csum_start + 12, 1,
		    &off) == NULL) {
			q->st.tx_errors++;
			iobuf_free_chain(frame);
			return EINVAL;
		}
		h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		h.gso_size = hints->mss;
		h.hdr_len = (uint16_t)(hints->csum_start + 4 * (off >> 4));
	}
	iov[0] = (struct iovec){ .iov_base = &h, .iov_len = sizeof h };
	for (b = frame; b != NULL && n < TAP_TX_IOV; b = b->next)
		iov[n++] = (struct iovec){ .iov_base = b->data, .iov_len = b->len };
	if (b != NULL) {		/* too many buffers for one writev */
		if ((flat = iobuf_linearize(frame, 0)) == NULL) {
			q->st.tx_errors++;
			iobuf_free_chain(frame);
			return ENOMEM;
		}
		q->st.tx_copies++;
		iov[1] = (struct iovec){ .iov_base = flat->data, .iov_len = flat->len };
		n = 2;
	}
	if (writev(q->fd, iov, n) < 0) {	/* one frame per write: never short */
		err = errno;
		q->st.tx_errors++;
	}
	iobuf_free_chain(flat);		/* NULL if there was no copy */
	iobuf_free_chain(frame);
	return err;
}

/* netif_ops.print_stats: each queue's counters, one line per queue. */
static void
tap_print_stats(struct netif *nif)
{
	struct tap *t = nif->driver;

	for (int c = 0; c < nif->nqueues; c++) {
		const struct tap_stats *q = &t->q[c].st;

		printf("%s q%d: rx %llu errors %llu nomem, tx %llu errors %llu copies\n",
		    nif->name, c, (unsigned long long)q->rx_errors,
		    (unsigned long long)q->rx_nomem, (unsigned long long)q->tx_errors,
		    (unsigned long long)q->tx_copies);
	}
}

static const struct netif_ops tap_ops = {
	.transmit = tap_transmit,
	.print_stats = tap_print_stats,
};

/* ---- making one -------------------------------------------------------- */

/* Open /dev/net/tun as one queue of device name; the fd, or -1 and why. */
static int
tap_open(const char *name, int multi, char *why, size_t whylen)
{
	struct ifreq ifr;
	int fd, e;

	if ((fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
		e = errno;
		snprintf(why, whylen, "/dev/net/tun: %s%s", strerror(e),
		    e == ENOENT ? " (no TUN/TAP support: modprobe tun, or pass the device into the container)" :
		    e == EACCES || e == EPERM ? " (needs root or CAP_NET_ADMIN)" : "");
		return -1;
	}
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multi ? IFF_MULTI_QUEUE : 0);
	memcpy(ifr.ifr_name, name, strlen(name));	/* checked: < IFNAMSIZ */
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		snprintf(why, whylen, "TUNSETIFF %s: %s%s", name, strerror(e),
		    e == EPERM || e == EACCES ? " (making a TAP device needs root or CAP_NET_ADMIN)" :
		    e == EINVAL || e == EBUSY ? " (does it exist already, as another kind of device or with other queue flags?)" : "");
		close(fd);
		return -1;
	}
	/* The header's size (10: no num_buffers), and partial checksums welcome. */
	if (ioctl(fd, TUNSETVNETHDRSZ, &(int){ TAP_VNET_HDR }) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM) < 0) {
		snprintf(why, whylen, "%s: checksum offload: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* A locally administered unicast MAC (02:eb:...), different per process and device. */
static void
tap_mac(uint8_t *mac, int num)
{
	uint32_t id = (uint32_t)getpid() * 2654435761u + (uint32_t)num;

	mac[0] = 0x02;			/* bit 1: locally administered; bit 0: unicast */
	mac[1] = 0xeb;
	mac[2] = (uint8_t)(id >> 24);
	mac[3] = (uint8_t)(id >> 16);
	mac[4] = (uint8_t)(id >> 8);
	mac[5] = (uint8_t)id;
}

struct netif *
tap_create(const char *name, int nqueues, char *why, size_t whylen)
{
	static int ntaps;
	struct tap *t;

	if (strlen(name) == 0 || strlen(name) >= IFNAMSIZ) {
		snprintf(why, whylen, "bad interface name \"%s\" (1 to %d characters)",
		    name, IFNAMSIZ - 1);
		return NULL;
	}
	if (nqueues < 1 || nqueues > NCPU) {
		snprintf(why, whylen, "bad number of queues: %d", nqueues);
		return NULL;
	}
	if (posix_memalign((void **)&t, CACHE_LINE, sizeof *t) != 0) {
		snprintf(why, whylen, "no memory");
		return NULL;
	}
	memset(t, 0, sizeof *t);
	for (int i = 0; i < nqueues; i++) {
		struct tap_queue *q = &t->q[i];

		q->fd = tap_open(name, nqueues > 1, why, whylen);
		if (q->fd < 0 || hosted_core_watch_fd(i, q->fd) < 0) {
			if (q->fd >= 0)
				snprintf(why, whylen, "core %d watches too many fds", i);
			while (i-- > 0)
				close(t->q[i].fd);
			free(t);
			return NULL;
		}
		q->core = i;
		q->tap = t;
	}
	t->nif.ops = &tap_ops;
	t->nif.driver = t;
	snprintf(t->nif.name, NETIF_NAME_MAX, "%s", name);
	tap_mac(t->nif.mac, ntaps++);
	t->nif.mtu = TAP_MTU;
	t->nif.features = NETIF_F_TX_CSUM | NETIF_F_RX_CSUM | NETIF_F_TSO4;	/* the vnet header's */
	t->nif.nqueues = nqueues;
	t->next = taps;
	taps = t;
	if (!hooked) {
		event_hook_boundary(tap_boundary);	/* panics once the loops run */
		hooked = 1;
	}
	if (netif_add(&t->nif) != 0)		/* a fresh struct: cannot fail */
		panic("tap_create: netif_add refused a new interface");
	return &t->nif;
}

void
tap_stats(struct netif *nif, struct tap_stats *st)
{
	struct tap *t = nif->driver;

	memset(st, 0, sizeof *st);
	for (int c = 0; c < nif->nqueues; c++) {
		const struct tap_stats *q = &t->q[c].st;

		st->rx_errors += q->rx_errors;
		st->rx_nomem += q->rx_nomem;
		st->tx_errors += q->tx_errors;
		st->tx_copies += q->tx_copies;
	}
}
