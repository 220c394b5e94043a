/*
 * bench_kvsrv.c: the kvstore's server side alone, per request, hosted,
 * on one core (make bench).
 *
 * The kvstore (the store, then kv_listen: its connection glue, parser
 * and replies) serves port 11211 on a fake interface, 10.0.0.2, that
 * offers checksum offload both ways (as native virtio-net does) and
 * whose transmit keeps a copy of what the server sends.  The client at
 * 10.0.0.1 has no stack: it writes each frame itself (Ethernet, IPv4,
 * TCP without options but the SYN's MSS) and hands it to netif_input
 * as a driver would, its checksum vouched for.  One connection: the
 * handshake, a SET of each of KEYS keys, then N requests one at a time,
 * each in one segment that also acknowledges the reply before it, each
 * reply checked byte for byte:
 *
 *	build/hosted/bench_kvsrv [get|set] [N]	(default: get, 100000)
 *
 * Everything the server does for a request happens inside that one
 * netif_input call (the stack up, the kvstore, the reply down to the
 * interface, whose copy and free stand in for a driver's transmit), so
 * test/callgrind.sh collects inside netif_input only: the instructions
 * a server executes per request, which is what EbbRT counted (5,557 per
 * memcached GET) and what issue 13's target is for.  bench_kvnet's
 * figure has the client's stack and the wire in it as well.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/kvstore/proto.h"
#include "app/kvstore/store.h"
#include "benchlib.h"
#include "kvbench.h"
#include "frame.h"
#include "tcp/inet.h"
#include "tcp/iobuf.h"
#include "tcp/netif.h"

#define PORT	11211
#define CPORT	40000		/* the client's */

static const uint8_t srv_mac[6] = { 0x02, 0, 0, 0, 0, 2 }, cli_mac[6] = { 0x02, 0, 0, 0, 0, 1 };
static struct netif srv;
static long nreq = 100000;
static int gets = 1;


/* The client's side of the connection, and what the server has sent. */
static uint32_t cli_seq = 1000, cli_ack;	/* our next seq; the server's next */
static int synack;				/* the SYN-ACK came */
static char got[MSG_MAX];
static size_t gotlen;

static void
die(const char *why)
{
	fprintf(stderr, "bench_kvsrv: %s\n", why);
	exit(1);
}

/* The interface's transmit: what the server sends, taken in by the client. */
static int
keep_transmit(struct netif *nif, struct iobuf *frame, const struct netif_tx_hints *h)
{
	uint8_t f[ETH_HLEN + 60 + 60 + MSG_MAX];
	size_t len = iobuf_chain_len(frame), hl, dl;
	const struct ip_hdr *ih = (const struct ip_hdr *)(f + ETH_HLEN);
	const struct tcp_hdr *th;

	(void)nif;
	(void)h;
	if (len > sizeof f || iobuf_copy_out(frame, 0, len, f) == NULL)
		die("the server sent a frame too long for a reply");
	iobuf_free_chain(frame);
	if (((const struct eth_hdr *)f)->type != hton16(ETHERTYPE_IPV4) || ih->proto != IP_PROTO_TCP)
		return 0;			/* the ARP reply */
	th = (const struct tcp_hdr *)(f + ETH_HLEN + 4 * (ih->vhl & 0xf));
	hl = 4u * (th->off >> 4);
	dl = len - (size_t)((const uint8_t *)th - f) - hl;
	if (th->flags & TCP_FSYN) {
		cli_ack = ntoh32(th->seq) + 1;
		synack = 1;
		return 0;
	}
	if (dl > 0) {
		if (ntoh32(th->seq) != cli_ack || gotlen + dl > sizeof got)
			die("a reply out of order or too long");
		memcpy(got + gotlen, (const uint8_t *)th + hl, dl);
		gotlen += dl;
		cli_ack += (uint32_t)dl;
	}
	return 0;
}

static const struct netif_ops keep_ops = { .transmit = keep_transmit };

/* One segment from the client: flags, n bytes of p; into the server's netif_input. */
static void
client_send(uint8_t flags, const void *p, size_t n)
{
	uint8_t f[ETH_HLEN + IP_HLEN + TCP_HLEN + 4 + MSG_MAX];
	struct tcp_hdr *th = (struct tcp_hdr *)(f + ETH_HLEN + IP_HLEN);
	size_t hl = TCP_HLEN + ((flags & TCP_FSYN) ? 4 : 0);
	struct iobuf *b;

	memset(th, 0, hl);
	th->sport = hton16(CPORT);
	th->dport = hton16(PORT);
	th->seq = hton32(cli_seq);
	th->ack = (flags & TCP_FACK) ? hton32(cli_ack) : 0;
	th->off = (uint8_t)((hl / 4) << 4);
	th->flags = flags;
	th->win = hton16(65535);
	if (flags & TCP_FSYN) {
		uint8_t *o = (uint8_t *)(th + 1);
		o[0] = TCPOPT_MSS;
		o[1] = 4;
		o[2] = 1460 >> 8;
		o[3] = 1460 & 0xff;
	}
	memcpy((uint8_t *)th + hl, p, n);
	n = frame_ipv4(f, srv_mac, cli_mac, IP4(10, 0, 0, 1), srv.ip, IP_PROTO_TCP, hl + n);
	if ((b = iobuf_alloc(IOBUF_HEADROOM, n)) == NULL)
		die("out of memory");
	memcpy(iobuf_put(b, n), f, n);
	cli_seq += (uint32_t)(n - ETH_HLEN - IP_HLEN - hl) + ((flags & TCP_FSYN) != 0);
	netif_input(&srv, b, NETIF_RX_CSUM_OK);
}

/* A request, and its whole reply checked. */
static void
request(const char *req, size_t n, const char *rep, size_t replen)
{
	gotlen = 0;
	client_send(TCP_FACK | TCP_FPSH, req, n);
	if (gotlen != replen || memcmp(got, rep, replen) != 0)
		die("a reply was not what it should be (or not all in one go)");
}

/* The first event: the store, the listener, the connection, the requests. */
static void
first(void *unused)
{
	uint8_t arp[ETH_MIN_FRAME];
	uint64_t t0, ns;

	(void)unused;
	if (kv_init(KV_MEM_DEFAULT, KV_ITEM_MAX_DEFAULT) != 0 || kv_listen(PORT) != 0)
		die("the kvstore did not start");
	/* The server learns our MAC from our question (its answer is dropped). */
	frame_arp_request(arp, cli_mac, IP4(10, 0, 0, 1), srv.ip);
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, sizeof arp);
	if (b == NULL)
		die("out of memory");
	memcpy(iobuf_put(b, sizeof arp), arp, sizeof arp);
	netif_input(&srv, b, 0);
	client_send(TCP_FSYN, NULL, 0);
	if (!synack)
		die("no SYN-ACK");
	client_send(TCP_FACK, NULL, 0);
	for (int k = 0; k < KEYS; k++)
		request(setreq[k], setlen[k], stored, sizeof stored - 1);
	t0 = clock_ns();
	for (long i = 0; i < nreq; i++) {
		int k = (int)(i % KEYS);
		if (gets)
			request(getreq[k], getlen[k], getrep[k], replen[k]);
		else
			request(setreq[k], setlen[k], stored, sizeof stored - 1);
	}
	ns = clock_ns() - t0;
	printf("kvstore server alone (hosted, a scripted client, checksums offloaded): %ld %ss "
	    "of a %d-byte key, %d-byte value, one at a time: %.0f/s, %.2f us each\n", nreq,
	    gets ? "GET" : "SET", KEYLEN, VALLEN, (double)nreq * 1e9 / (double)ns,
	    (double)ns / 1e3 / (double)nreq);
	event_stop(0);
}

int
main(int argc, char **argv)
{
	int i = 1;

	if (i < argc && (strcmp(argv[i], "get") == 0 || strcmp(argv[i], "set") == 0))
		gets = strcmp(argv[i++], "get") == 0;
	if (i < argc && (nreq = atol(argv[i++])) <= 0)
		die("usage: bench_kvsrv [get|set] [requests]");
	if (i < argc)
		die("usage: bench_kvsrv [get|set] [requests]");
	kvbench_messages();
	bench_runtime(1);
	srv.ops = &keep_ops;
	strcpy(srv.name, "kvsrv0");
	memcpy(srv.mac, srv_mac, 6);
	srv.mtu = 1500;
	srv.features = NETIF_F_TX_CSUM | NETIF_F_RX_CSUM;
	srv.ip = IP4(10, 0, 0, 2);
	srv.netmask = IP4(255, 255, 255, 0);
	if (netif_add(&srv) != 0)
		die("netif_add failed");
	return event_run(first, NULL);
}
