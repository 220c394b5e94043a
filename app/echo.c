/*
 * echo.c: the echo server: UDP and TCP echo (RFC 862) on port 7, TCP
 * discard (RFC 863) on port 9, and a TCP source on port 19 that sends
 * as fast as the peer takes (RFC 864's port, not its line format); and,
 * with connect=, a TCP client, so that a Linux server can be the peer.
 *
 *	build/hosted/echo [--tap NAME] ip=dhcp
 *	build/hosted/echo [--tap NAME] ip=10.0.2.15/24,gw=10.0.2.2 stats=5
 *	build/hosted/echo --tap tap0 ip=10.77.0.2/24 connect=10.77.0.1:7007,bytes=4194304
 *	make run APP=echo ARGS="ip=dhcp"
 *
 * It takes the first network interface there is, configures it
 * statically (netcfg_parse, netcfg_apply: the address is announced
 * with a gratuitous ARP) or by DHCP (dhcp_start; configured comes
 * from the client's notification), binds UDP port 7 and sends every
 * datagram back to where it came from, from the core that received
 * it.  Once configured it prints "echo: udp port 7 on A.B.C.D" and
 * "echo: tcp ports 7 (echo), 9 (discard), 19 (source) on A.B.C.D"
 * (again after each new address; "echo: lease lost" when DHCP takes it
 * away).  No ip= argument means ip=dhcp.
 *
 * stats=SECONDS (1..3600) prints the interface's counters every SECONDS
 * from core 0, one line "echo: stats rx F/B tx F/B errors E" (frames
 * and bytes), followed by the driver's own (netif_ops.print_stats,
 * when it has one: virtio-net's per-queue counters), then TCP's
 * handshake counters, "echo: tcp syn_rx N accepts N cookies sent N
 * validated N rejected N backlog_drops N" (tcp/stats.h: SYN cookies
 * under a flood), for tests and people watching a run.
 *
 *	app_main -> netcfg_apply | dhcp_start ... notify -> configured
 *	udp_input -> echo -> udp_sendto (the payload, unchanged)
 *	tcp: the second half of this file (its own comment)
 *
 * Natively, with no interface at all (no NIC, or no driver for it) it
 * says so and exits with EX_UNAVAILABLE (69).  A bad argument exits
 * with EXIT_USAGE (64).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebb/runtime.h"
#include "ebb/timer.h"
#include "kernel/param.h"
#include "kernel/platform.h"
#include "tcp/dhcp.h"
#include "tcp/netcfg.h"
#include "tcp/netif.h"
#include "tcp/pkt.h"
#include "tcp/stats.h"
#include "tcp/tcp.h"
#include "tcp/udp.h"

#define ECHO_PORT	7
#define DISCARD_PORT	9
#define SOURCE_PORT	19
#define SOURCE_BUFS	8		/* a source chain: 8 buffers ... */
#define SOURCE_BUF	8192		/* ... of 8 KiB */
#define CONNECT_CHUNK	16384		/* most bytes connect= makes per tcp_send */
#define EX_UNAVAILABLE	69	/* sysexits.h: a service is unavailable */
#define STATS_MAX	3600	/* longest stats= period, seconds */

static struct timer stats_timer;	/* core 0's, when stats= is given */
static int stats_period;		/* stats=SECONDS; 0: not asked for */

/* A datagram for port 7, on the core that received it: send it back. */
static void
echo(void *arg, const struct udp_rx *rx, struct iobuf *payload)
{
	(void)arg;
	udp_sendto(rx->nif, rx->dst_port, rx->src_ip, rx->src_port, payload);
}

/*
 * ---- TCP ------------------------------------------------------------------
 *
 * Every connection lives on its own core (tcp.h), and so does all the
 * state below that belongs to it; nothing here takes a lock.
 *
 * Echo, with backpressure: a connection's receive window is held shut
 * (TCP_OPT_MANUAL_RECVED) over the bytes it has delivered until the
 * send queue takes them back, so a peer that sends and does not read
 * fills our send buffer, then our receive window, and then waits: the
 * bytes held here never exceed the receive buffer.
 *
 *	receive -> pending -> flush -> tcp_send (clones) -> tcp_recved
 *	sent    -> flush (room again); the peer's FIN and nothing pending
 *	        -> tcp_close
 *
 * Discard frees what comes and closes after the peer's FIN.  Source
 * queues one per-core chain of SOURCE_BUFS buffers, made once and never
 * written again, as often as there is room (tcp_send takes references,
 * so the bytes are never copied), until the peer closes or resets.
 *
 * connect= is a client: it sends N bytes of a pattern (byte i is byte
 * i % 8 of splitmix64(i / 8), so any stretch can be checked where it
 * falls), shuts its side down, checks every byte that comes back
 * against the same pattern, and when both sides have closed prints the
 * verdict and exits: 0 if every byte that came back was right and
 * either all came back (an echo server) or none did (a discard server).
 */

/* One echo connection's state. */
struct echo_conn {
	struct iobuf *pending;	/* delivered, not yet taken by tcp_send */
	int fin;		/* the peer has closed its side */
};

/* Queue what fits of e's pending bytes; close once all went after a FIN. */
static void
echo_flush(struct tcp_conn *c, struct echo_conn *e)
{
	if (e->pending != NULL) {
		long n = tcp_send(c, e->pending);
		if (n < 0) {		/* the connection is going: give it up */
			iobuf_free_chain(e->pending);
			free(e);
			tcp_abort(c);
			return;
		}
		e->pending = pkt_drop(e->pending, (size_t)n);
		tcp_recved(c, (size_t)n);
	}
	if (e->fin && e->pending == NULL) {
		free(e);
		tcp_close(c);
	}
}

/* Echo: bytes join the pending chain (NULL: the peer's FIN); flush. */
static void
echo_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	struct echo_conn *e = arg;

	if (data == NULL)
		e->fin = 1;
	else if (e->pending == NULL)
		e->pending = data;
	else
		iobuf_chain_append(e->pending, data);
	echo_flush(c, e);
}

/* Echo: send space came free; flush what is pending. */
static void
echo_sent(void *arg, struct tcp_conn *c, size_t acked)
{
	(void)acked;
	echo_flush(c, arg);
}

/* Echo: the connection is gone; free its state. */
static void
echo_aborted(void *arg, struct tcp_conn *c, int reason)
{
	struct echo_conn *e = arg;

	(void)c;
	(void)reason;
	iobuf_free_chain(e->pending);
	free(e);
}

static const struct tcp_callbacks echo_cb = {
	.receive = echo_receive, .sent = echo_sent, .aborted = echo_aborted,
};

/* Echo: a new connection, its window held over what is not yet sent back. */
static int
echo_accept(void *arg, struct tcp_conn *c)
{
	struct echo_conn *e = calloc(1, sizeof *e);

	(void)arg;
	if (e == NULL)
		return 1;	/* refused: reset */
	tcp_setopt(c, TCP_OPT_MANUAL_RECVED, 1);
	tcp_attach(c, &echo_cb, e);
	return 0;
}

/* Discard: the data is freed; after the peer's FIN, close. */
static void
discard_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	(void)arg;
	if (data == NULL)
		tcp_close(c);
	else
		iobuf_free_chain(data);
}

static const struct tcp_callbacks discard_cb = { .receive = discard_receive };

/* Discard: a new connection. */
static int
discard_accept(void *arg, struct tcp_conn *c)
{
	(void)arg;
	tcp_attach(c, &discard_cb, NULL);
	return 0;
}

/* This core's source chain, made at its first use and kept. */
static struct iobuf *source_chain[NCPU];

/* The read-only chain the source sends, made once per core. */
static struct iobuf *
source_bytes(void)
{
	struct iobuf **head = &source_chain[core_id()];

	for (int i = *head == NULL ? 0 : SOURCE_BUFS; i < SOURCE_BUFS; i++) {
		struct iobuf *b = iobuf_alloc(0, SOURCE_BUF);
		if (b == NULL)
			break;		/* a shorter chain will do */
		uint8_t *p = iobuf_put(b, SOURCE_BUF);
		for (int k = 0; k < SOURCE_BUF; k++)	/* printable, 72 a line */
			p[k] = k % 73 == 72 ? '\n' : (uint8_t)(' ' + (i + k) % 95);
		if (*head == NULL)
			*head = b;
		else
			iobuf_chain_append(*head, b);
	}
	return *head;
}

/* Source: fill the send queue while it has room. */
static void
source_fill(struct tcp_conn *c)
{
	struct iobuf *src = source_bytes();

	while (src != NULL && tcp_sndbuf_free(c) > 0)
		if (tcp_send(c, src) <= 0)
			break;
}

/* Source: room again; fill it. */
static void
source_sent(void *arg, struct tcp_conn *c, size_t acked)
{
	(void)arg;
	(void)acked;
	source_fill(c);
}

/* Source: the peer's data is ignored; its FIN closes ours too. */
static void
source_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	(void)arg;
	if (data == NULL)
		tcp_close(c);
	else
		iobuf_free_chain(data);
}

static const struct tcp_callbacks source_cb = {
	.receive = source_receive, .sent = source_sent,
};

/* Source: a new connection; start sending at once. */
static int
source_accept(void *arg, struct tcp_conn *c)
{
	(void)arg;
	tcp_attach(c, &source_cb, NULL);
	source_fill(c);
	return 0;
}

/* ---- connect= -------------------------------------------------------------- */

static struct {
	uint32_t ip;
	uint16_t port;
	uint64_t bytes;		/* to send */
	uint64_t sent, got;	/* queued; came back */
	uint64_t bad;		/* the first wrong byte's offset + 1, or 0 */
	int shut, started;
	uint64_t t0;
	struct tcp_conn *c;
} cl;

/* The connect= pattern's byte at offset i. */
static uint8_t
pattern_byte(uint64_t i)
{
	uint64_t z = (i >> 3) + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (uint8_t)(z >> (8 * (i & 7)));
}

/* Print the client's verdict and exit with it. */
static void
client_end(const char *why)
{
	char a[16];
	double s = (double)(clock_ns() - cl.t0) / 1e9;
	int ok = why == NULL && cl.bad == 0 && (cl.got == 0 || cl.got == cl.bytes);

	printf("echo: connect %s:%u: sent %llu bytes, got %llu back %s in %.2f s (%.1f MB/s)%s%s\n",
	    netcfg_fmt(cl.ip, a), cl.port, (unsigned long long)cl.sent,
	    (unsigned long long)cl.got, cl.bad ? "WRONG" : "intact", s,
	    s > 0 ? (double)cl.sent / s / 1e6 : 0.0, why ? ": " : "", why ? why : "");
	if (cl.bad)
		printf("echo: connect: byte %llu differs\n", (unsigned long long)cl.bad - 1);
	fflush(stdout);
	ebb_exit(ok ? 0 : 1);
}

/* Queue pattern bytes while there is room; shut down after the last. */
static void
client_pump(struct tcp_conn *c)
{
	size_t room;

	while (cl.sent < cl.bytes && (room = tcp_sndbuf_free(c)) > 0) {
		size_t n = cl.bytes - cl.sent;
		if (n > room)
			n = room;
		if (n > CONNECT_CHUNK)
			n = CONNECT_CHUNK;
		struct iobuf *b = iobuf_alloc(0, n);
		if (b == NULL)
			return;		/* the next sent callback tries again */
		uint8_t *p = iobuf_put(b, n);
		for (size_t k = 0; k < n; k++)
			p[k] = pattern_byte(cl.sent + k);
		long r = tcp_send(c, b);
		iobuf_free_chain(b);
		if (r <= 0)
			return;
		cl.sent += (uint64_t)r;
	}
	if (cl.sent == cl.bytes && !cl.shut) {
		cl.shut = 1;
		tcp_shutdown(c);
	}
}

/* connect=: the handshake is done; start sending. */
static void
client_connected(void *arg, struct tcp_conn *c)
{
	(void)arg;
	cl.t0 = clock_ns();
	client_pump(c);
}

/* connect=: room again; send more. */
static void
client_sent(void *arg, struct tcp_conn *c, size_t acked)
{
	(void)arg;
	(void)acked;
	client_pump(c);
}

/* Check what came back against the pattern, buffer by buffer. */
static void
client_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	(void)arg;
	(void)c;
	for (struct iobuf *b = data; b != NULL; b = b->next)
		for (size_t k = 0; k < b->len; k++, cl.got++)
			if (cl.bad == 0 && (cl.got >= cl.bytes || b->data[k] != pattern_byte(cl.got)))
				cl.bad = cl.got + 1;
	iobuf_free_chain(data);		/* NULL (the FIN) too: nothing to do */
}

/* Both sides closed: the verdict. */
static void
client_closed(void *arg, struct tcp_conn *c)
{
	(void)arg;
	tcp_close(c);
	client_end(NULL);
}

/* connect=: the connection failed; the verdict says why. */
static void
client_aborted(void *arg, struct tcp_conn *c, int reason)
{
	static const char *why[] = {
		[TCP_ERR_RESET] = "reset by the peer", [TCP_ERR_REFUSED] = "refused",
		[TCP_ERR_TIMEOUT] = "timed out", [TCP_ERR_KEEPALIVE] = "keepalive timed out",
		[TCP_ERR_NOMEM] = "out of memory", [TCP_ERR_UNREACH] = "no route",
	};

	(void)arg;
	(void)c;
	client_end(reason > 0 && reason <= TCP_ERR_UNREACH ? why[reason] : "aborted");
}

static const struct tcp_callbacks client_cb = {
	.connected = client_connected, .receive = client_receive, .sent = client_sent,
	.closed = client_closed, .aborted = client_aborted,
};

/* Open connect='s connection (once the interface has an address). */
static void
client_start(void)
{
	int err;

	cl.started = 1;
	cl.t0 = clock_ns();
	if ((err = tcp_connect(cl.ip, cl.port, &client_cb, NULL, &cl.c)) != 0) {
		printf("echo: connect: %s\n", strerror(err));
		fflush(stdout);
		ebb_exit(1);
	}
}

/* Parse "connect=A.B.C.D:PORT,bytes=N" into cl; 0, or -1 if malformed. */
static int
parse_connect(const char *s)
{
	char *end;
	unsigned long port;

	if (strncmp(s, "connect=", 8) != 0 || (s = netcfg_parse_addr(s + 8, &cl.ip)) == NULL ||
	    *s++ != ':')
		return -1;
	port = strtoul(s, &end, 10);
	if (end == s || port == 0 || port > 65535 || strncmp(end, ",bytes=", 7) != 0)
		return -1;
	s = end + 7;
	cl.bytes = strtoull(s, &end, 0);
	if (end == s || *end != '\0' || *s == '-')
		return -1;
	cl.port = (uint16_t)port;
	return 0;
}

/* Listen on the three TCP ports; 0, or the error number. */
static int
tcp_services(void)
{
	static const struct { uint16_t port; tcp_accept_fn fn; } svc[] = {
		{ ECHO_PORT, echo_accept }, { DISCARD_PORT, discard_accept },
		{ SOURCE_PORT, source_accept },
	};
	int err;

	for (size_t i = 0; i < sizeof svc / sizeof svc[0]; i++)
		if ((err = tcp_listen(svc[i].port, svc[i].fn, NULL)) != 0) {
			printf("echo: cannot listen on tcp port %d: %s\n", svc[i].port,
			    strerror(err));
			return err;
		}
	return 0;
}

/* ---- the app --------------------------------------------------------------- */

/* The interface has (or has lost) its address: say so; connect= starts. */
static void
configured(void *arg, struct netif *nif)
{
	char b[16];

	(void)arg;
	if (nif->ip == 0) {
		printf("echo: lease lost on %s; asking again\n", nif->name);
	} else {
		printf("echo: udp port %d on %s\n", ECHO_PORT, netcfg_fmt(nif->ip, b));
		printf("echo: tcp ports %d (echo), %d (discard), %d (source) on %s\n",
		    ECHO_PORT, DISCARD_PORT, SOURCE_PORT, b);
	}
	fflush(stdout);
	if (nif->ip != 0 && cl.ip != 0 && !cl.started)
		client_start();
}

/* stats=: the interface's counters, then the driver's; every period on core 0. */
static void
stats_print(void *arg)
{
	static struct net_stats ns;		/* core 0's timer only: off the stack */
	struct netif *nif = arg;
	struct netif_stats *st = &nif->stats;

	/* Relaxed loads: counters other cores add to; a line may be a moment stale. */
	printf("echo: stats rx %llu/%llu tx %llu/%llu errors %llu\n",
	    (unsigned long long)__atomic_load_n(&st->rx_frames, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&st->rx_bytes, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&st->tx_frames, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&st->tx_bytes, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&st->tx_errors, __ATOMIC_RELAXED));
	if (nif->ops->print_stats != NULL)
		nif->ops->print_stats(nif);
	net_stats_read(&ns);
	printf("echo: tcp syn_rx %llu accepts %llu cookies sent %llu validated %llu"
	    " rejected %llu backlog_drops %llu\n", (unsigned long long)ns.tcp.syn_rx,
	    (unsigned long long)ns.tcp.accepts, (unsigned long long)ns.tcp.cookies_sent,
	    (unsigned long long)ns.tcp.cookies_validated,
	    (unsigned long long)ns.tcp.cookies_rejected,
	    (unsigned long long)ns.tcp.backlog_drops);
	fflush(stdout);
}

/* Say what is wrong with arg and how echo is called; EXIT_USAGE. */
static int
usage(const char *why, const char *arg)
{
	printf("echo: %s: %s\nusage: echo %s\n", arg, why, app_usage);
	return EXIT_USAGE;
}

/* Parse stats=SECONDS (1..STATS_MAX) into stats_period; 0, or -1 if malformed. */
static int
parse_stats(const char *s)
{
	int n = 0;

	s += strlen("stats=");
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || (n = n * 10 + (*s - '0')) > STATS_MAX)
			return -1;
	}
	stats_period = n;
	return n >= 1 ? 0 : -1;
}

/* stats=: print nif's counters every stats_period seconds; 0, or -1 (said why). */
static int
stats_start(struct netif *nif)
{
	uint64_t ns = stats_period * 1000000000ULL;

	if (stats_period == 0)
		return 0;
	timer_setup(&stats_timer, stats_print, nif);
	if (timer_start(&stats_timer, ns, ns) != 0) {
		printf("echo: cannot start the stats timer: %s\n", strerror(ENOMEM));
		return -1;
	}
	return 0;
}

/* ebb/runtime.h; also printed with a usage error. */
const char app_usage[] = "[ip=dhcp | ip=A.B.C.D/N[,gw=G]] [stats=SECONDS] [connect=A.B.C.D:PORT,bytes=N]";

int
app_main(int argc, char **argv)
{
	const char *cfg = "ip=dhcp";
	uint32_t ip = 0, mask = 0, gw = 0;
	struct netif *nif;
	int dhcp, err;

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "ip=", 3) == 0)
			cfg = argv[i];
		else if (strncmp(argv[i], "stats=", 6) == 0) {
			if (parse_stats(argv[i]) != 0)
				return usage("not stats=SECONDS, 1 to 3600", argv[i]);
		} else if (strncmp(argv[i], "connect=", 8) == 0) {
			if (parse_connect(argv[i]) != 0)
				return usage("not connect=A.B.C.D:PORT,bytes=N", argv[i]);
		} else
			return usage("unknown argument", argv[i]);
	}
	dhcp = strcmp(cfg, "ip=dhcp") == 0;
	if (!dhcp && (err = netcfg_parse(cfg, &ip, &mask, &gw)) != NETCFG_OK)
		return usage(netcfg_error(err), cfg);
	if ((nif = netif_first()) == NULL) {
		printf("echo: no network interface: give it one with make run NET=user or"
		    " NET=tap (natively) or --tap NAME (hosted, as root)\n");
		return EX_UNAVAILABLE;
	}
	if ((err = udp_bind(ECHO_PORT, echo, NULL)) != 0) {
		printf("echo: cannot bind udp port %d: %s\n", ECHO_PORT, strerror(err));
		return 1;
	}
	if (stats_start(nif) != 0 || tcp_services() != 0)
		return 1;
	if (dhcp) {
		printf("echo: asking for an address on %s (DHCP)\n", nif->name);
		fflush(stdout);
		if ((err = dhcp_start(nif, configured, NULL)) != 0) {
			printf("echo: cannot start DHCP: %s\n", strerror(err));
			return 1;
		}
	} else {
		netcfg_apply(nif, ip, mask, gw);	/* a lost announcement is harmless */
		configured(NULL, nif);
	}
	return EBB_RUN;
}
