/*
 * udp.h: UDP (RFC 768): bind a port to a callback, send datagrams.
 * Portable.
 *
 *	receive:  ip_input -> udp_input -> the port's udp_recv_fn
 *	                                -> nobody bound: icmp_unreach
 *	transmit: udp_sendto -> ip_output -> eth_output -> netif_send
 *
 * A minimal echo server (app/echo does this):
 *
 *	static void echo(void *arg, const struct udp_rx *rx, struct iobuf *p)
 *	{
 *		udp_sendto(rx->nif, rx->dst_port, rx->src_ip, rx->src_port, p);
 *	}
 *	udp_bind(7, echo, NULL);
 *
 * The bindings are one table for the whole instance, shared by every
 * core: udp_input looks ports up without a lock (an RCU hash table,
 * ebb/rhash.h), and udp_bind and udp_unbind take the table's writer
 * lock.  A datagram is delivered on the core that received it.
 */
#ifndef TCP_UDP_H
#define TCP_UDP_H

#include <stdint.h>

#include "iobuf.h"
#include "ip.h"
#include "netif.h"

/* Where a received datagram came from and went to (network-order IPs). */
struct udp_rx {
	struct netif *nif;		/* the interface it arrived on */
	uint32_t src_ip, dst_ip;	/* dst_ip may be a broadcast address */
	uint16_t src_port, dst_port;	/* host order */
};

/*
 * A datagram for a bound port.  payload is the data alone (the UDP
 * header stripped), possibly several buffers, possibly empty (length
 * 0): the callback owns it and must pass it on (to udp_sendto, say) or
 * free it with iobuf_free_chain.  rx lives only during the call.  The
 * callback runs as part of the receiving core's event: it must not
 * block, may call udp_sendto, udp_bind and udp_unbind (its own port too:
 * it is already running), and may keep arg's state per core as it
 * likes.  After udp_unbind returns, the callback may still run on
 * other cores until their current events end (an RCU grace period):
 * free arg with rcu_call, not at once.
 */
typedef void (*udp_recv_fn)(void *arg, const struct udp_rx *rx, struct iobuf *payload);

/*
 * Deliver datagrams for port (host order, 1..65535) to fn(arg, ...).
 * Returns 0, EADDRINUSE if the port is bound, EINVAL for port 0, or
 * ENOMEM.
 */
int udp_bind(uint16_t port, udp_recv_fn fn, void *arg);

/* Stop delivering port's datagrams.  Returns 0, or ENOENT if not bound. */
int udp_unbind(uint16_t port);

/*
 * Send payload (the data; a chain, which udp_sendto owns from the call
 * on, or NULL for an empty datagram) from src_port to dst_ip:dst_port
 * (network-order address, host-order ports), through nif or, if nif is
 * NULL, the interface ip_route chooses.  The checksum is computed here,
 * or left to the device (NETIF_F_TX_CSUM, with hints).  Returns 0 if the
 * datagram was sent or is waiting for ARP, else an error number:
 * EMSGSIZE (beyond the MTU: we never fragment), EHOSTUNREACH (no
 * route), ENOMEM.
 */
int udp_sendto(struct netif *nif, uint16_t src_port, uint32_t dst_ip,
    uint16_t dst_port, struct iobuf *payload);

/* A UDP datagram (the IP payload), on the receiving core: from ip_input. */
void udp_input(const struct ip_rx *rx, struct iobuf *pkt);

#endif
