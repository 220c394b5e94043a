/*
 * fuzz_tcp.c: a libFuzzer target for TCP's input path with connections
 * already set up (make fuzz FUZZ=tcp).
 *
 * Every input runs against two fresh connections on a fake interface
 * (we are 10.0.0.1, the peer 10.0.0.2): P, a passive open (the harness
 * sends a SYN to our listener on port 80 and the ACK of our SYN-ACK),
 * and A, an active open (tcp_connect to port 8080, answered with a
 * SYN-ACK).  Both handshakes carry MSS, window scale, SACK-permitted and
 * timestamps, so every option path is live, and each side has 3000
 * bytes queued to send, so segments are in flight (the retransmission
 * queue, the scoreboard).  The harness reads our initial sequence
 * numbers from the frames the fake interface transmits.
 *
 * Then the input is read as segments from the peer, each aimed at P or
 * A with sequence and acknowledgement numbers relative to where that
 * connection is, so that the fuzzer reaches in-window paths (data, out
 * of order, SACK, FIN, RST, RFC 5961's challenges, PAWS) rather than
 * only the rejections:
 *
 *	byte 0		set-up choices: bit 0: the app shuts P down at once
 *			(FIN_WAIT_1/2, CLOSING, TIME_WAIT are reached);
 *			bit 1: the same for A; bit 2: Nagle off on both
 *	then records:	conn (bit 0: A, else P; bit 1: a wrong checksum;
 *			bit 2: the checksum vouched for by the device;
 *			bit 3: a fresh valid timestamp option first),
 *			flags (TCP_F*, raw), seq delta (int16, to the peer's
 *			next sequence number), ack delta (int16, to our ISN
 *			+ 1), window (16 bits), option bytes (count, then
 *			that many: any bytes), payload length (0-255; the
 *			bytes follow, zeros past the input's end)
 *
 * A record whose sequence delta is 0 advances the peer's next sequence
 * number by its payload, as a well-behaved peer would.  Each record is
 * its own event, so what the stack defers runs in between.  The app
 * frees what it receives, shuts its side down on the peer's FIN, and
 * at the end aborts every connection it still holds; a connection the
 * input killed (RST) takes no more records.  Then, after an RCU grace
 * period, no connection may be left (tcp_live) and iobuf_live() must
 * be back where it was, or the target aborts so that libFuzzer reports
 * the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ebb/ebb.h"
#include "ebb/event.h"
#include "ebb/rcu.h"
#include "ebb/timer.h"
#include "hosted/hosted.h"
#include "kernel/malloc.h"
#include "kernel/page.h"
#include "kernel/print.h"
#include "kernel/slab.h"
#include "tcp/eth.h"
#include "tcp/inet.h"
#include "tcp/netif.h"
#include "tcp/proto.h"
#include "tcp/tcp.h"
#include "frame.h"
#include "fuzzlib.h"

#define OUR_IP		FUZZ_OUR_IP
#define PEER_IP		IP4(10, 0, 0, 2)
#define LISTEN_PORT	80
#define PEER_PORT_P	40000		/* P's peer port */
#define PEER_PORT_A	8080		/* A's: where tcp_connect goes */
#define PEER_ISN_P	1000u
#define PEER_ISN_A	500000u
#define QUEUED		3000		/* bytes the app queues on each */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t peer_mac[ETH_ALEN] = { 2, 0, 0, 0, 0, 2 };

/* One of the two connections, as the harness sees it. */
struct side {
	struct tcp_conn *c;	/* the app's handle; NULL once given up */
	uint16_t our_port, peer_port;
	uint32_t our_isn;	/* from our SYN or SYN-ACK */
	uint32_t peer_nxt;	/* the peer's next sequence number */
	int syn_seen;		/* our SYN (-ACK) was captured */
};

static struct side sides[2];	/* P, A */
static uint32_t ts_clock = 1;	/* the peer's timestamp clock */

/* ---- the fake interface: captures our SYNs ------------------------------- */

/* The fake interface: note our SYNs' sequence numbers and ports, drop the frame. */
static int
fake_transmit(struct netif *nif, struct iobuf *frame, const struct netif_tx_hints *h)
{
	uint8_t f[ETH_HLEN + IP_HLEN + TCP_HLEN];
	struct ip_hdr *ih = (struct ip_hdr *)(f + ETH_HLEN);
	struct tcp_hdr *th = (struct tcp_hdr *)(f + ETH_HLEN + IP_HLEN);

	(void)nif;
	(void)h;
	if (iobuf_copy_out(frame, 0, sizeof f, f) != NULL &&
	    ntoh16(((struct eth_hdr *)f)->type) == ETHERTYPE_IPV4 &&
	    ih->proto == IP_PROTO_TCP && (ih->vhl & 0xf) == 5 && (th->flags & TCP_FSYN)) {
		for (int i = 0; i < 2; i++)
			if (ntoh16(th->dport) == sides[i].peer_port) {
				sides[i].our_isn = ntoh32(th->seq);
				sides[i].our_port = ntoh16(th->sport);
				sides[i].syn_seen = 1;
			}
	}
	iobuf_free_chain(frame);
	return 0;
}

static const struct netif_ops fake_ops = { .transmit = fake_transmit };
static struct netif fake;

/* The runtime as far as RCU, on one core, the interface, the listener: once. */
static void
setup(void)
{
	struct tcp_config cfg;

	fuzz_setup(&fake, &fake_ops);
	tcp_config_get(&cfg);
	cfg.sndbuf = cfg.rcvbuf = 65536;
	if (tcp_configure(&cfg) != 0)
		abort();
}

/* ---- frames from the peer -------------------------------------------------- */

/* One segment from the peer, as the record (or the handshake) says. */
struct seg {
	struct side *s;
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	const uint8_t *opt;	/* option bytes (the count in optlen) */
	size_t optlen;
	int ts;			/* a valid timestamp option first */
	const uint8_t *pay;	/* payload (NULL: zeros) */
	size_t paylen;
	int bad_csum;
	uint32_t rx_flags;
};

/* Build seg as a frame and hand it to the stack. */
static void
send_seg(const struct seg *g)
{
	uint8_t f[ETH_HLEN + IP_HLEN + TCP_HLEN_MAX + 256];
	struct tcp_hdr *th = (struct tcp_hdr *)(f + ETH_HLEN + IP_HLEN);
	uint8_t *o = (uint8_t *)(th + 1);
	size_t olen = 0, tlen;
	struct iobuf *b;

	if (g->ts) {
		uint32_t v = hton32(ts_clock++), ecr = 0;
		o[0] = TCPOPT_NOP, o[1] = TCPOPT_NOP, o[2] = TCPOPT_TS, o[3] = 10;
		memcpy(o + 4, &v, 4);
		memcpy(o + 8, &ecr, 4);
		olen = 12;
	}
	for (size_t i = 0; i < g->optlen && olen < 40; i++)
		o[olen++] = g->opt[i];
	while (olen % 4 != 0)
		o[olen++] = TCPOPT_EOL;
	tlen = TCP_HLEN + olen + g->paylen;
	if (g->pay != NULL)
		memcpy(o + olen, g->pay, g->paylen);
	else
		memset(o + olen, 0, g->paylen);
	frame_ipv4(f, fuzz_our_mac, peer_mac, PEER_IP, OUR_IP, IP_PROTO_TCP, tlen);
	th->sport = hton16(g->s->peer_port);
	th->dport = hton16(g->s->our_port);
	th->seq = hton32(g->seq);
	th->ack = hton32(g->ack);
	th->off = (uint8_t)(((TCP_HLEN + olen) / 4) << 4);
	th->flags = g->flags;
	th->win = hton16(g->win);
	th->csum = 0;
	th->urg = 0;
	th->csum = hton16(inet_csum(inet_sum(th, tlen, inet_pseudo(PEER_IP, OUR_IP,
	    IP_PROTO_TCP, (uint16_t)tlen))));
	if (g->bad_csum)
		th->csum ^= 0x5a5a;
	if ((b = iobuf_alloc(IOBUF_HEADROOM, ETH_HLEN + IP_HLEN + tlen)) == NULL)
		abort();
	memcpy(iobuf_put(b, ETH_HLEN + IP_HLEN + tlen), f, ETH_HLEN + IP_HLEN + tlen);
	netif_input(&fake, b, g->rx_flags);
}

/* Tell our ARP who the peer is (it asks for us). */
static void
arp_in(void)
{
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, ETH_MIN_FRAME);

	if (b == NULL)
		abort();
	frame_arp_request(iobuf_put(b, ETH_MIN_FRAME), peer_mac, PEER_IP, OUR_IP);
	netif_input(&fake, b, 0);
}

/* ---- the app ------------------------------------------------------------------ */

/* The app frees what it receives; after the peer's FIN it shuts its side. */
static void
app_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	(void)arg;
	if (data == NULL)
		tcp_shutdown(c);	/* ENOTCONN if done already: fine */
	else
		iobuf_free_chain(data);
}

/* The app's connection is gone (an RST from the input, say). */
static void
app_aborted(void *arg, struct tcp_conn *c, int reason)
{
	(void)c;
	(void)reason;
	((struct side *)arg)->c = NULL;		/* gone: no more records for it */
}

static const struct tcp_callbacks app_cb = { .receive = app_receive, .aborted = app_aborted };

/* The listener: take the harness's own passive open, refuse any other. */
static int
app_accept(void *arg, struct tcp_conn *c)
{
	(void)arg;
	if (sides[0].c != NULL)
		return 1;		/* only the harness's own handshake */
	sides[0].c = c;
	tcp_attach(c, &app_cb, &sides[0]);
	return 0;
}

/* ---- one input ------------------------------------------------------------------ */

/* The handshake options: MSS 1460, SACK-permitted, window scale 7. */
static const uint8_t syn_opts[] = {
	TCPOPT_MSS, 4, 0x05, 0xb4, TCPOPT_SACK_OK, 2, TCPOPT_NOP,
	TCPOPT_WSCALE, 3, 7,
};

static struct {
	const uint8_t *p, *end;		/* the records left */
	uint8_t choices;
} in;

/* Take n bytes of the input (fewer at its end); the count taken. */
static size_t
take(const uint8_t **p, size_t n)
{
	size_t left = (size_t)(in.end - in.p);

	if (n > left)
		n = left;
	*p = in.p;
	in.p += n;
	return n;
}

/* The next byte of the input, or 0 at its end. */
static uint8_t
take1(void)
{
	return in.p < in.end ? *in.p++ : 0;
}

/* Open P and A and queue data on both. */
static void
open_both(void)
{
	static uint8_t bytes[QUEUED];
	struct seg g = { .win = 65535, .opt = syn_opts, .optlen = sizeof syn_opts, .ts = 1 };

	memset(sides, 0, sizeof sides);
	sides[0].peer_port = PEER_PORT_P;
	sides[0].our_port = LISTEN_PORT;
	sides[1].peer_port = PEER_PORT_A;
	arp_in();

	/* P: SYN, (our SYN-ACK), ACK. */
	g.s = &sides[0];
	g.flags = TCP_FSYN;
	g.seq = PEER_ISN_P;
	send_seg(&g);
	sides[0].peer_nxt = PEER_ISN_P + 1;
	if (sides[0].syn_seen) {
		g.flags = TCP_FACK;
		g.seq = sides[0].peer_nxt;
		g.ack = sides[0].our_isn + 1;
		g.opt = NULL;
		g.optlen = 0;
		send_seg(&g);
	}

	/* A: (our SYN), SYN-ACK. */
	if (tcp_connect(PEER_IP, PEER_PORT_A, &app_cb, &sides[1], &sides[1].c) != 0)
		sides[1].c = NULL;
	else if (sides[1].syn_seen) {
		g.s = &sides[1];
		g.flags = TCP_FSYN | TCP_FACK;
		g.seq = PEER_ISN_A;
		g.ack = sides[1].our_isn + 1;
		g.opt = syn_opts;
		g.optlen = sizeof syn_opts;
		send_seg(&g);
		sides[1].peer_nxt = PEER_ISN_A + 1;
	}

	memset(bytes, 'q', sizeof bytes);
	for (int i = 0; i < 2; i++) {
		struct tcp_conn *c = sides[i].c;
		if (c == NULL)
			continue;
		if (in.choices & 4)
			tcp_setopt(c, TCP_OPT_NODELAY, 1);
		tcp_write(c, bytes, sizeof bytes);
		if (in.choices & (1 << i))
			tcp_shutdown(c);
	}
}

static void finish(void *unused);

/* One record from the input, then the next as a later event. */
static void
step(void *unused)
{
	struct seg g = { 0 };
	const uint8_t *p;
	uint8_t sel, d[8];

	(void)unused;
	if (in.p >= in.end) {
		if (spawn(finish, NULL) != 0)
			abort();
		return;
	}
	sel = take1();
	g.flags = take1();
	for (int i = 0; i < 6; i++)
		d[i] = take1();
	g.optlen = take(&g.opt, take1() % 41);
	g.paylen = take1();
	g.s = &sides[sel & 1];
	if (take(&p, g.paylen) == g.paylen)
		g.pay = p;		/* else zeros: a short input still sends */
	g.seq = g.s->peer_nxt + (uint32_t)(int32_t)(int16_t)(d[0] | d[1] << 8);
	g.ack = g.s->our_isn + 1 + (uint32_t)(int32_t)(int16_t)(d[2] | d[3] << 8);
	g.win = (uint16_t)(d[4] | d[5] << 8);
	g.bad_csum = sel & 2;
	g.rx_flags = sel & 4 ? NETIF_RX_CSUM_OK : 0;
	g.ts = sel & 8;
	if (g.s->c != NULL && g.s->syn_seen) {
		send_seg(&g);
		if (g.seq == g.s->peer_nxt)
			g.s->peer_nxt += (uint32_t)g.paylen;
	}
	if (spawn(step, NULL) != 0)
		abort();
}

/* The run's last event. */
static void
stop(void *unused)
{
	(void)unused;
	event_stop(0);
}

/* Give every connection up, forget ARP, stop after a grace period. */
static void
finish(void *unused)
{
	(void)unused;
	for (int i = 0; i < 2; i++)
		if (sides[i].c != NULL) {
			tcp_abort(sides[i].c);
			sides[i].c = NULL;
		}
	arp_flush();
	if (rcu_call(stop, NULL) != 0)
		abort();
}

/* The run's first event: set up, then the first record. */
static void
first(void *unused)
{
	(void)unused;
	open_both();
	step(NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	long live;

	if (!ready) {
		setup();
		if (tcp_listen(LISTEN_PORT, app_accept, NULL) != 0)
			abort();
		ready = 1;
	}
	if (size < 1)
		return 0;
	in.choices = data[0];
	in.p = data + 1;
	in.end = data + size;
	live = iobuf_live();
	if (event_run(first, NULL) != 0)
		abort();
	if (tcp_live() != 0) {
		kprintf("fuzz_tcp: %ld connections left after this input\n", tcp_live());
		abort();
	}
	if (iobuf_live() != live) {
		kprintf("fuzz_tcp: %ld iobufs leaked by this input\n", iobuf_live() - live);
		abort();
	}
	return 0;
}
