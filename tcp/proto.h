/*
 * proto.h: the wire formats of Ethernet, ARP, IPv4, ICMP, UDP and TCP, the
 * byte-order helpers, and the stack's tunables.  Portable.
 *
 * Every header struct is packed and laid out exactly as on the wire,
 * commented field by field against its RFC.  Multi-byte fields are in
 * network byte order (big-endian) in memory: read them with ntoh16 and
 * ntoh32, write them with hton16 and hton32.  IPv4 addresses are kept
 * in network byte order everywhere in the stack (struct netif's ip,
 * netmask and gateway too), so they are compared and stored as they
 * come and only printed or built with IP4().
 *
 * Headers are never read in place through these structs from a
 * received chain: the layers copy them out (iobuf_copy_out), because a
 * header may span two buffers and a buffer's data need not be aligned.
 * When building a packet the stack writes them into fresh headroom
 * (iobuf_push), which is contiguous.
 */
#ifndef TCP_PROTO_H
#define TCP_PROTO_H

#include <stdint.h>

#include "netif.h"

/* ---- byte order: the stack runs on little-endian x86-64 ----------------- */

static inline uint16_t hton16(uint16_t x) { return __builtin_bswap16(x); }
static inline uint16_t ntoh16(uint16_t x) { return __builtin_bswap16(x); }
static inline uint32_t hton32(uint32_t x) { return __builtin_bswap32(x); }
static inline uint32_t ntoh32(uint32_t x) { return __builtin_bswap32(x); }

/* The address a.b.c.d, in network byte order. */
#define IP4(a, b, c, d) \
	hton32(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

#define IP4_BROADCAST	0xffffffffu	/* 255.255.255.255, the same in any byte order */

/* ---- Ethernet II (IEEE 802.3, the DIX framing RFC 894 uses) ------------- */

struct eth_hdr {
	uint8_t dst[ETH_ALEN];		/* destination MAC */
	uint8_t src[ETH_ALEN];		/* source MAC */
	uint16_t type;			/* EtherType of the payload */
} __attribute__((packed));

#define ETH_HLEN	14		/* sizeof(struct eth_hdr) */
#define ETH_MIN_FRAME	60		/* shortest frame without the FCS (padded) */
#define ETHERTYPE_IPV4	0x0800
#define ETHERTYPE_ARP	0x0806

/* ---- ARP for IPv4 over Ethernet (RFC 826) ------------------------------- */

struct arp_pkt {
	uint16_t htype;			/* ar$hrd: hardware space, 1 = Ethernet */
	uint16_t ptype;			/* ar$pro: protocol space, 0x0800 = IPv4 */
	uint8_t hlen;			/* ar$hln: bytes per hardware address, 6 */
	uint8_t plen;			/* ar$pln: bytes per protocol address, 4 */
	uint16_t op;			/* ar$op: ARP_REQUEST or ARP_REPLY */
	uint8_t sha[ETH_ALEN];		/* ar$sha: sender hardware address */
	uint32_t spa;			/* ar$spa: sender protocol address */
	uint8_t tha[ETH_ALEN];		/* ar$tha: target hardware address */
	uint32_t tpa;			/* ar$tpa: target protocol address */
} __attribute__((packed));

#define ARP_LEN		28		/* sizeof(struct arp_pkt) */
#define ARP_HTYPE_ETH	1
#define ARP_REQUEST	1
#define ARP_REPLY	2

/* ---- IPv4 (RFC 791 section 3.1) ----------------------------------------- */

struct ip_hdr {
	uint8_t vhl;			/* version (high nibble, 4) and IHL (low,
					 * header length in 32-bit words, >= 5) */
	uint8_t tos;			/* type of service (DSCP + ECN) */
	uint16_t len;			/* total length: header and data, bytes */
	uint16_t id;			/* identification, for reassembly */
	uint16_t frag;			/* flags (3 high bits) and fragment offset
					 * (13 bits, in 8-byte units) */
	uint8_t ttl;			/* time to live */
	uint8_t proto;			/* IP_PROTO_* of the payload */
	uint16_t csum;			/* header checksum (ones' complement) */
	uint32_t src;			/* source address */
	uint32_t dst;			/* destination address */
	/* options, up to 40 bytes, when IHL > 5 */
} __attribute__((packed));

#define IP_HLEN		20		/* sizeof(struct ip_hdr): no options */
#define IP_HLEN_MAX	60		/* IHL is 4 bits: 15 words */
#define IP_VERSION	4
#define IP_DF		0x4000		/* frag: don't fragment */
#define IP_MF		0x2000		/* frag: more fragments */
#define IP_OFFMASK	0x1fff		/* frag: the offset bits */
#define IP_PROTO_ICMP	1
#define IP_PROTO_TCP	6
#define IP_PROTO_UDP	17

/* ---- ICMP (RFC 792) ------------------------------------------------------ */

struct icmp_hdr {
	uint8_t type;			/* ICMP_* */
	uint8_t code;			/* for unreachables: ICMP_UNREACH_* */
	uint16_t csum;			/* ones' complement of the whole message */
	uint16_t id;			/* echo: identifier; errors: unused (0) */
	uint16_t seq;			/* echo: sequence number; errors: unused */
} __attribute__((packed));

#define ICMP_HLEN		8
#define ICMP_ECHO_REPLY		0
#define ICMP_UNREACH		3
#define ICMP_ECHO		8
#define ICMP_UNREACH_PROTO	2	/* code: protocol unreachable */
#define ICMP_UNREACH_PORT	3	/* code: port unreachable */
#define ICMP_ERR_DATA		8	/* bytes of the offending datagram's data
					 * quoted after its header (RFC 792) */

/* ---- UDP (RFC 768) ------------------------------------------------------- */

struct udp_hdr {
	uint16_t sport;			/* source port (0: none) */
	uint16_t dport;			/* destination port */
	uint16_t len;			/* header and data, bytes (>= 8) */
	uint16_t csum;			/* over pseudo-header, header and data;
					 * 0: none sent; a computed 0 goes as 0xffff */
} __attribute__((packed));

#define UDP_HLEN	8

/* ---- TCP (RFC 9293 section 3.1; options RFC 7323, RFC 2018) -------------- */

struct tcp_hdr {
	uint16_t sport;			/* source port */
	uint16_t dport;			/* destination port */
	uint32_t seq;			/* sequence number of the first data byte
					 * (of the SYN, if SYN is set) */
	uint32_t ack;			/* next sequence number expected (if ACK) */
	uint8_t off;			/* data offset: header length in 32-bit
					 * words (high nibble, >= 5); low bits reserved */
	uint8_t flags;			/* TCP_F* */
	uint16_t win;			/* receive window (scaled after the SYNs) */
	uint16_t csum;			/* over pseudo-header, header and data */
	uint16_t urg;			/* urgent pointer (ignored here) */
	/* options, up to 40 bytes, when the offset is over 5 */
} __attribute__((packed));

#define TCP_HLEN	20		/* sizeof(struct tcp_hdr): no options */
#define TCP_HLEN_MAX	60		/* the offset is 4 bits: 15 words */
#define TCP_FFIN	0x01		/* no more data from the sender */
#define TCP_FSYN	0x02		/* synchronize sequence numbers */
#define TCP_FRST	0x04		/* reset the connection */
#define TCP_FPSH	0x08		/* push (we set it; we ignore it) */
#define TCP_FACK	0x10		/* the ack field is significant */
#define TCP_FURG	0x20		/* the urgent field is significant (ignored) */

/* Option kinds (RFC 9293 3.2, RFC 7323 2.2 and 3.2, RFC 2018 2 and 3). */
#define TCPOPT_EOL	0		/* end of the option list */
#define TCPOPT_NOP	1		/* padding */
#define TCPOPT_MSS	2		/* length 4: the MSS, SYNs only */
#define TCPOPT_WSCALE	3		/* length 3: window shift count, SYNs only */
#define TCPOPT_SACK_OK	4		/* length 2: SACK permitted, SYNs only */
#define TCPOPT_SACK	5		/* length 2 + 8n: SACK blocks, left and right */
#define TCPOPT_TS	8		/* length 10: TSval, TSecr */
#define TCP_WSCALE_MAX	14		/* largest shift (RFC 7323 2.3) */
#define TCP_MSS_DEFAULT	536		/* without an MSS option (RFC 9293 3.7.1) */
#define TCP_SACK_MAX	4		/* blocks in one option (3 with timestamps) */

/* ---- DHCP (RFC 2131 section 2, options RFC 2132) ------------------------ */

struct dhcp_msg {
	uint8_t op;			/* DHCP_BOOTREQUEST or DHCP_BOOTREPLY */
	uint8_t htype;			/* hardware type: 1 = Ethernet */
	uint8_t hlen;			/* bytes of hardware address: 6 */
	uint8_t hops;			/* relays crossed; 0 from a client */
	uint32_t xid;			/* transaction id, the client's choice */
	uint16_t secs;			/* seconds since the client began */
	uint16_t flags;			/* DHCP_FLAG_BROADCAST, or 0 */
	uint32_t ciaddr;		/* client's address, when it has one */
	uint32_t yiaddr;		/* "your" address: what the server gives */
	uint32_t siaddr;		/* next server (boot); unused here */
	uint32_t giaddr;		/* relay agent's address */
	uint8_t chaddr[16];		/* client hardware address (6 used) */
	uint8_t sname[64];		/* server host name (or options) */
	uint8_t file[128];		/* boot file name (or options) */
	uint32_t magic;			/* DHCP_MAGIC: options follow */
	/* options: code, length, value; DHCP_OPT_END last */
} __attribute__((packed));

#define DHCP_HLEN		240	/* sizeof(struct dhcp_msg): up to the options */
#define DHCP_SERVER_PORT	67
#define DHCP_CLIENT_PORT	68
#define DHCP_BOOTREQUEST	1
#define DHCP_BOOTREPLY		2
#define DHCP_MAGIC		0x63825363	/* host order; RFC 2131 section 3 */
#define DHCP_FLAG_BROADCAST	0x8000

/* Option codes (RFC 2132). */
#define DHCP_OPT_PAD		0
#define DHCP_OPT_MASK		1	/* subnet mask, 4 bytes */
#define DHCP_OPT_ROUTER		3	/* routers, 4 bytes each: the first is ours */
#define DHCP_OPT_REQ_IP		50	/* requested address, 4 bytes */
#define DHCP_OPT_LEASE		51	/* lease time, seconds, 4 bytes */
#define DHCP_OPT_TYPE		53	/* message type, 1 byte: DHCP_* below */
#define DHCP_OPT_SERVER		54	/* server identifier, 4 bytes */
#define DHCP_OPT_PARAMS		55	/* parameter request list */
#define DHCP_OPT_T1		58	/* renewal time, seconds, 4 bytes */
#define DHCP_OPT_T2		59	/* rebinding time, seconds, 4 bytes */
#define DHCP_OPT_END		255

/* Message types (option 53). */
#define DHCP_DISCOVER		1
#define DHCP_OFFER		2
#define DHCP_REQUEST		3
#define DHCP_DECLINE		4
#define DHCP_ACK		5
#define DHCP_NAK		6
#define DHCP_RELEASE		7

/* ---- tunables ------------------------------------------------------------ */

#define IP_TTL		64		/* TTL of the datagrams we send (RFC 1700) */
#define ARP_CACHE_MAX	256		/* most resolved addresses kept; the oldest goes */
#define ARP_TTL_MS	60000		/* a resolved address is trusted this long */
#define ARP_PENDING_MAX	32		/* most addresses being resolved at once */
#define ARP_QUEUE_MAX	4		/* packets held per unresolved address */
#define ARP_RETRIES	3		/* requests sent before giving up */
#define ARP_RETRY_MS	1000		/* between two requests */
#define ICMP_RATE	10		/* errors per second sent, per core (token bucket) */
#define ICMP_BURST	10		/* ... of which at most this many back to back */
#define UDP_BUCKETS	256		/* chains in the UDP bindings table */
#define DHCP_RETRY_MS	4000		/* first retransmission (RFC 2131 4.1: 4 s) */
#define DHCP_RETRY_MAX_MS 64000		/* ... doubling up to this (4.1: 64 s) */
#define DHCP_REQUEST_TRIES 4		/* REQUESTs sent before discovering again */
#define DHCP_LEASE_MIN	10		/* shortest lease we accept, seconds
					 * (shorter ones are raised to this) */

#endif
