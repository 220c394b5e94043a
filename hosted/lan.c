/*
 * lan.c: the virtual LAN's switch and the frontend's interface on it
 * (lan.h).  Hosted.
 *
 * One UDP socket, bound to 127.0.0.1, carries the whole LAN: QEMU's
 * dgram netdev sends each frame of a node's NIC to it as one datagram
 * and takes each datagram sent to the node's own address as one frame.
 * A datagram carries nothing but the frame.
 *
 * The switch.  A table of up to LAN_PORTS_MAX (MAC, address) pairs,
 * learned from the source MAC and source address of every datagram
 * received: a node is known once it has sent one frame (a node
 * announces its address with a gratuitous ARP as it configures it, so
 * that is at once).  A frame is then sent where its destination MAC
 * says: to our stack if it is ours, to the node that owns it, or, for
 * a broadcast or multicast or a MAC not learned yet, to every node but
 * the one it came from (and to our stack).  A frame from our own MAC
 * coming back (a loop) is dropped.  An entry whose MAC moves to
 * another address follows it (a node restarted on a new port).
 *
 * Cores.  The socket is non-blocking; core 0 reads it, from an idle
 * handler (as tap.c reads its device) added by lan_create, which runs
 * on core 0 inside the loops (the frontend makes its LAN when it boots
 * its first node), and its fd ends core 0's sleep (hosted_core_watch_fd).  Any core may transmit: sendto on one socket
 * from several threads is safe, each datagram whole.  The table is
 * written on core 0 and read on every core, under a spin lock (a few
 * entries; a copy of one address is all a reader takes).  The
 * interface has one receive queue, so netif_input hands each frame to
 * its flow's core.
 *
 * lan_free_port, at the end, lends node.c a port of 127.0.0.1 for a
 * node's forwarded ports (the sockets are here, not in node.c).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ebb/event.h"
#include "hosted.h"
#include "kernel/platform.h"
#include "kernel/spinlock.h"
#include "lan.h"

/*
 * An Ethernet header is the destination MAC, the source MAC and the
 * type; tcp/proto.h's struct is not included here, for its IP_TTL is
 * also <netinet/in.h>'s, and the switch needs only the two addresses.
 */
#define LAN_HLEN	14
#define LAN_DST(f)	((const uint8_t *)(f))
#define LAN_SRC(f)	((const uint8_t *)(f) + ETH_ALEN)
#define LAN_MTU		1500
#define LAN_FRAME_MAX	(LAN_MTU + LAN_HLEN + 4)	/* + a VLAN tag */
#define LAN_RX_BATCH	32		/* datagrams read per idle call, at most */

struct lan_port {
	uint8_t mac[ETH_ALEN];
	struct sockaddr_in addr;	/* where that MAC's node listens */
};

struct lan {
	struct netif nif;		/* nif.driver is this struct */
	int fd;
	uint16_t port;
	struct event_idle *idle;	/* lan_poll on core 0, once added */
	struct spinlock lock;
	/* lock must be held when using these: */
	int nports;
	struct lan_port ports[LAN_PORTS_MAX];
	/* counters, added to atomically */
	struct lan_stats st;
};

static void
count(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static int
mac_eq(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, ETH_ALEN) == 0;
}

/* ---- the table ----------------------------------------------------------- */

static int
same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
}

/* Learn that mac is at addr.  Core 0.  0, or -1 if the table is full. */
static int
learn(struct lan *l, const uint8_t *mac, const struct sockaddr_in *addr)
{
	int i, r = 0;

	spin_lock(&l->lock);
	for (i = 0; i < l->nports; i++)
		if (mac_eq(l->ports[i].mac, mac))
			break;
	if (i == l->nports) {
		if (l->nports == LAN_PORTS_MAX)
			r = -1;
		else
			memcpy(l->ports[l->nports++].mac, mac, ETH_ALEN);
	}
	if (r == 0)
		l->ports[i].addr = *addr;	/* new, or moved */
	spin_unlock(&l->lock);
	return r;
}

/*
 * The addresses a frame for dst goes to: the owner of dst if it is
 * known, else every address but skip (NULL: none), each once (two MACs
 * may share one: a node that moved).  At most LAN_PORTS_MAX into out;
 * how many.
 */
static int
route(struct lan *l, const uint8_t *dst, const struct sockaddr_in *skip,
    struct sockaddr_in *out)
{
	int n = 0;

	spin_lock(&l->lock);
	if (!(dst[0] & 1)) {			/* unicast: its owner, if known */
		for (int i = 0; i < l->nports; i++)
			if (mac_eq(l->ports[i].mac, dst)) {
				out[n++] = l->ports[i].addr;
				break;
			}
	}
	if (n == 0)				/* flood: each address once */
		for (int i = 0; i < l->nports; i++) {
			const struct sockaddr_in *a = &l->ports[i].addr;
			int k = 0;

			while (k < n && !same_addr(&out[k], a))
				k++;
			if (k == n && (skip == NULL || !same_addr(a, skip)))
				out[n++] = *a;
		}
	spin_unlock(&l->lock);
	return n;
}

/* Send the frame in iov to each of the n addresses; errors counted. */
static void
send_to(struct lan *l, const struct iovec *iov, int niov,
    const struct sockaddr_in *to, int n, uint64_t *counter)
{
	for (int i = 0; i < n; i++) {
		struct msghdr m = {
			.msg_name = (void *)&to[i], .msg_namelen = sizeof to[i],
			.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)niov,
		};
		if (sendmsg(l->fd, &m, 0) < 0)
			count(&l->st.dropped);
		else
			count(counter);
	}
}

/* ---- receive ----------------------------------------------------------- */

/* One datagram from a node, n bytes in b, from addr: switch it. */
static void
lan_frame(struct lan *l, struct iobuf *b, const struct sockaddr_in *from)
{
	const uint8_t *dst = LAN_DST(b->data), *src = LAN_SRC(b->data);
	struct sockaddr_in to[LAN_PORTS_MAX];
	struct iovec iov = { b->data, b->len };
	int ours = mac_eq(dst, l->nif.mac), n;

	if (b->len < LAN_HLEN || mac_eq(src, l->nif.mac) || (src[0] & 1) ||
	    learn(l, src, from) != 0) {
		count(&l->st.dropped);
		iobuf_free(b);
		return;
	}
	if (!ours) {
		n = route(l, dst, from, to);
		send_to(l, &iov, 1, to, n, &l->st.forwarded);
	}
	if (ours || (dst[0] & 1)) {
		count(&l->st.to_us);
		netif_input(&l->nif, b, 0);
	} else {
		iobuf_free(b);
	}
}

/* Core 0's idle handler: up to LAN_RX_BATCH datagrams.  Nonzero if any came. */
static int
lan_poll(void *arg)
{
	struct lan *l = arg;
	int got = 0;

	while (got < LAN_RX_BATCH) {
		struct sockaddr_in from;
		socklen_t flen = sizeof from;
		struct iobuf *b;
		uint8_t peek;
		ssize_t n;

		/* Anything there?  (A buffer only for a datagram that is.) */
		if (recv(l->fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT) < 0)
			break;
		got++;
		count(&l->st.rx);
		if ((b = iobuf_alloc(IOBUF_HEADROOM, LAN_FRAME_MAX)) == NULL) {
			recv(l->fd, &peek, 1, MSG_DONTWAIT);	/* into nowhere */
			count(&l->st.dropped);
			continue;
		}
		n = recvfrom(l->fd, b->data, iobuf_tailroom(b), MSG_TRUNC | MSG_DONTWAIT,
		    (struct sockaddr *)&from, &flen);
		if (n < 0 || n > LAN_FRAME_MAX) {	/* over the MTU */
			count(&l->st.dropped);
			iobuf_free(b);
			continue;
		}
		iobuf_put(b, (size_t)n);
		lan_frame(l, b, &from);
	}
	return got;
}

/* ---- transmit ---------------------------------------------------------- */

static int
lan_transmit(struct netif *nif, struct iobuf *frame, const struct netif_tx_hints *hints)
{
	struct lan *l = nif->driver;
	struct sockaddr_in to[LAN_PORTS_MAX];
	struct iovec iov[16];
	struct iobuf *b, *flat = NULL;
	int niov = 0, n;

	(void)hints;			/* no offloads: features are 0 */
	for (b = frame; b != NULL && niov < 16; b = b->next)
		iov[niov++] = (struct iovec){ b->data, b->len };
	if (b != NULL) {
		if ((flat = iobuf_linearize(frame, 0)) == NULL) {
			count(&l->st.dropped);
			iobuf_free_chain(frame);
			return ENOMEM;
		}
		iov[0] = (struct iovec){ flat->data, flat->len };
		niov = 1;
	}
	if (frame->len < LAN_HLEN) {
		count(&l->st.dropped);
		iobuf_free_chain(frame);
		return EINVAL;
	}
	n = route(l, LAN_DST(frame->data), NULL, to);
	send_to(l, iov, niov, to, n, &l->st.tx);
	iobuf_free_chain(flat);
	iobuf_free_chain(frame);
	return 0;
}

static void
lan_print_stats(struct netif *nif)
{
	struct lan_stats s;

	lan_stats(nif, &s);
	printf("%s: port %u, %d nodes: rx %llu (to us %llu, forwarded %llu), tx %llu, dropped %llu\n",
	    nif->name, lan_port(nif), ((struct lan *)nif->driver)->nports,
	    (unsigned long long)s.rx, (unsigned long long)s.to_us,
	    (unsigned long long)s.forwarded, (unsigned long long)s.tx,
	    (unsigned long long)s.dropped);
}

static const struct netif_ops lan_ops = {
	.transmit = lan_transmit,
	.print_stats = lan_print_stats,
};

/* ---- making one -------------------------------------------------------- */

struct netif *
lan_create(const char *name, uint16_t port, char *why, size_t whylen)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	struct lan *l;

	static int nlans;

	if (core_id() != 0) {
		snprintf(why, whylen, "lan_create runs on core 0");
		return NULL;
	}
	if ((l = calloc(1, sizeof *l)) == NULL) {
		snprintf(why, whylen, "no memory");
		return NULL;
	}
	l->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(l->fd, (struct sockaddr *)&a, &alen) != 0) {
		snprintf(why, whylen, "UDP socket on 127.0.0.1:%u: %s", port, strerror(errno));
		if (l->fd >= 0)
			close(l->fd);
		free(l);
		return NULL;
	}
	if (hosted_core_watch_fd(0, l->fd) < 0 ||
	    (l->idle = event_idle_add(lan_poll, l)) == NULL) {
		snprintf(why, whylen, "core 0 watches too many fds, or no memory");
		close(l->fd);		/* (a watched fd closed: ppoll ignores it) */
		free(l);
		return NULL;
	}
	l->port = ntohs(a.sin_port);
	spin_init(&l->lock, "lan");
	l->nif.ops = &lan_ops;
	l->nif.driver = l;
	snprintf(l->nif.name, NETIF_NAME_MAX, "%s", name);
	l->nif.mac[0] = 0x02;			/* locally administered, unicast */
	l->nif.mac[1] = 0xeb;
	l->nif.mac[2] = 0x1a;
	l->nif.mac[3] = 0x7e;
	l->nif.mac[4] = (uint8_t)(getpid() >> 8);
	l->nif.mac[5] = (uint8_t)(getpid() + nlans);
	l->nif.mtu = LAN_MTU;
	l->nif.nqueues = 1;
	nlans++;
	if (netif_add(&l->nif) != 0)
		panic("lan_create: netif_add refused a new interface");
	return &l->nif;
}

uint16_t
lan_port(struct netif *nif)
{
	return ((struct lan *)nif->driver)->port;
}

void
lan_stats(struct netif *nif, struct lan_stats *st)
{
	struct lan *l = nif->driver;

	st->rx = __atomic_load_n(&l->st.rx, __ATOMIC_RELAXED);
	st->to_us = __atomic_load_n(&l->st.to_us, __ATOMIC_RELAXED);
	st->forwarded = __atomic_load_n(&l->st.forwarded, __ATOMIC_RELAXED);
	st->tx = __atomic_load_n(&l->st.tx, __ATOMIC_RELAXED);
	st->dropped = __atomic_load_n(&l->st.dropped, __ATOMIC_RELAXED);
}

uint16_t
lan_free_port(int udp)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	uint16_t port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}
