/*
 * udp.c: UDP (RFC 768): the bindings table, input, sendto.  Portable.
 *
 *	receive:  ip_input -> udp_input -> checksum -> the binding's fn
 *	                                -> unbound: icmp_unreach (port)
 *	transmit: udp_sendto -> checksum (or offload hints) -> ip_output
 *
 * The bindings: an RCU hash table (ebb/rhash.h) from port to a struct
 * udp_pcb, made on the first udp_bind and kept for the instance's life.
 * udp_input, on every core at once, looks ports up without a lock;
 * udp_bind and udp_unbind go through the table's writer lock (a port
 * taken twice is refused by rhash_put itself), and an unbound pcb is
 * freed after a grace period, so an input that found it a moment before
 * can still call its function.
 *
 * Checksums: a received datagram's is verified (pseudo-header, header
 * and data) unless the device vouched for it (NETIF_RX_CSUM_OK) or the
 * sender sent none (0, allowed over IPv4).  On sending, the checksum is
 * computed here, unless the interface has NETIF_F_TX_CSUM: then the
 * field holds the pseudo-header's sum and the hints tell the device to
 * finish it (netif.h).  We never send a checksum of 0 (RFC 768: a
 * computed 0 goes as 0xffff).
 *
 * Datagrams are never fragmented: one larger than the interface's MTU
 * allows is refused with EMSGSIZE.
 */
#include <errno.h>
#include <stddef.h>

#include "ebb/rcu.h"
#include "ebb/rhash.h"
#include "kernel/malloc.h"
#include "kernel/spinlock.h"
#include "inet.h"
#include "ip.h"
#include "pkt.h"
#include "proto.h"
#include "stats.h"
#include "udp.h"

/* A binding.  Immutable once in the table. */
struct udp_pcb {
	udp_recv_fn fn;
	void *arg;
	struct rcu_head rcu;
};

static struct rhash *ports;		/* port -> pcb (rcu_assign once) */
static struct spinlock make_lock = SPINLOCK_INIT("udp_ports");	/* makes ports */

/* The table, made on first use; NULL if out of memory. */
static struct rhash *
udp_ports(void)
{
	struct rhash *h = rcu_deref(ports);

	if (h != NULL)
		return h;
	spin_lock(&make_lock);
	if (ports == NULL)
		rcu_assign(ports, rhash_new(UDP_BUCKETS));
	h = ports;
	spin_unlock(&make_lock);
	return h;
}

int
udp_bind(uint16_t port, udp_recv_fn fn, void *arg)
{
	struct rhash *h = udp_ports();
	struct udp_pcb *pcb;
	int err;

	if (port == 0 || fn == NULL)
		return EINVAL;
	if (h == NULL || (pcb = kmalloc(sizeof *pcb)) == NULL)
		return ENOMEM;
	pcb->fn = fn;
	pcb->arg = arg;
	if ((err = rhash_put(h, port, pcb)) != 0) {
		kfree(pcb);
		return err == -1 ? EADDRINUSE : err;
	}
	return 0;
}

static void
pcb_free(struct rcu_head *r)
{
	kfree((char *)r - offsetof(struct udp_pcb, rcu));
}

int
udp_unbind(uint16_t port)
{
	struct rhash *h = rcu_deref(ports);
	struct udp_pcb *pcb;

	if (h == NULL || (pcb = rhash_del(h, port)) == NULL)
		return ENOENT;
	rcu_call_head(&pcb->rcu, pcb_free);
	return 0;
}

/* Is the checksum of the len-byte datagram at pkt good (or absent)? */
static int
udp_csum_ok(const struct ip_rx *rx, const struct iobuf *pkt, uint16_t len,
    uint16_t field)
{
	uint32_t s;

	if (field == 0 || (rx->rx_flags & NETIF_RX_CSUM_OK))
		return 1;
	s = inet_pseudo(rx->src, rx->dst, IP_PROTO_UDP, len);
	return inet_csum(inet_sum_chain(pkt, 0, len, s)) == 0;
}

void
udp_input(const struct ip_rx *rx, struct iobuf *pkt)
{
	struct rhash *h = rcu_deref(ports);
	struct udp_hdr uh, copy;
	const struct udp_hdr *at;
	struct udp_pcb *pcb;
	struct udp_rx meta;
	uint16_t len;

	if ((at = pkt_peek(pkt, 0, UDP_HLEN, &copy)) == NULL) {
		NSTAT(udp, rx_short);
		goto drop;
	}
	uh = *at;			/* a copy: the header is skipped before the callback */
	len = ntoh16(uh.len);
	if (len < UDP_HLEN || len > iobuf_chain_len(pkt)) {
		NSTAT(udp, rx_bad_len);
		goto drop;
	}
	pkt_trim(pkt, len);
	if (!udp_csum_ok(rx, pkt, len, uh.csum)) {
		NSTAT(udp, rx_bad_csum);
		goto drop;
	}
	if (h == NULL || (pcb = rhash_get(h, ntoh16(uh.dport))) == NULL) {
		NSTAT(udp, rx_no_port);
		icmp_unreach(rx, pkt, ICMP_UNREACH_PORT);
		goto drop;
	}
	pkt_skip(pkt, UDP_HLEN);
	meta.nif = rx->nif;
	meta.src_ip = rx->src;
	meta.dst_ip = rx->dst;
	meta.src_port = ntoh16(uh.sport);
	meta.dst_port = ntoh16(uh.dport);
	NSTAT(udp, rx);
	pcb->fn(pcb->arg, &meta, pkt);
	return;
drop:
	iobuf_free_chain(pkt);
}

int
udp_sendto(struct netif *nif, uint16_t src_port, uint32_t dst_ip,
    uint16_t dst_port, struct iobuf *payload)
{
	struct netif_tx_hints hints = { .csum = 1, .csum_start = 0,
	    .csum_offset = offsetof(struct udp_hdr, csum), .mss = 0 };
	struct udp_hdr *uh;
	uint32_t next_hop, s;
	size_t len = iobuf_chain_len(payload) + UDP_HLEN;
	uint16_t c;
	int err;

	if (nif == NULL && (nif = ip_route(dst_ip, &next_hop)) == NULL) {
		NSTAT(udp, tx_err);
		iobuf_free_chain(payload);
		return EHOSTUNREACH;
	}
	if (len + IP_HLEN > nif->mtu) {
		NSTAT(udp, tx_too_big);
		iobuf_free_chain(payload);
		return EMSGSIZE;
	}
	if ((uh = pkt_push(&payload, UDP_HLEN)) == NULL) {
		NSTAT(udp, tx_nomem);
		iobuf_free_chain(payload);
		return ENOMEM;
	}
	uh->sport = hton16(src_port);
	uh->dport = hton16(dst_port);
	uh->len = hton16((uint16_t)len);
	s = inet_pseudo(nif->ip, dst_ip, IP_PROTO_UDP, (uint16_t)len);
	if (nif->features & NETIF_F_TX_CSUM) {
		uh->csum = hton16(inet_fold(s));	/* the device adds the rest */
		err = ip_output(nif, payload, dst_ip, IP_PROTO_UDP, &hints);
	} else {
		uh->csum = 0;
		c = inet_csum(inet_sum_chain(payload, 0, len, s));
		uh->csum = hton16(c == 0 ? 0xffff : c);
		err = ip_output(nif, payload, dst_ip, IP_PROTO_UDP, NULL);
	}
	if (err != 0)
		NSTAT(udp, tx_err);
	else
		NSTAT(udp, tx);
	return err;
}
