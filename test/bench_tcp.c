/*
 * bench_tcp.c: TCP between two stacks over the in-memory wire, hosted,
 * on one core (make bench).
 *
 * Interfaces A (10.0.0.1) and B (10.0.0.2) of a memlink without
 * impairments or delay; B listens on port 9 (a sink: data freed) and
 * port 7 (echo).  Everything runs on core 0, so the figures are one
 * core's work for both stacks and the wire's copy of every frame:
 *
 *	bulk	one connection from A sends BYTES to the sink (the same
 *		read-only 64 KiB chain queued again and again: tcp_send
 *		takes references, so the sender copies nothing) and shuts
 *		down; throughput until the sink's FIN comes back
 *	rr	64-byte request, 64-byte echo, one in flight, Nagle off:
 *		round trips per second and the mean round trip
 *	cps	connect, 64 bytes there and back, close, one after another:
 *		connections per second (TIME_WAIT is 10 ms here, so that
 *		ephemeral ports are not the limit)
 *
 *	build/hosted/bench_tcp			all three
 *	build/hosted/bench_tcp bulk BYTES	bulk alone (test/callgrind.sh runs
 *						it twice for instructions per segment)
 *	build/hosted/bench_tcp rr ROUNDS	rr alone (twice: per round trip)
 *	build/hosted/bench_tcp cps CONNS	cps alone (twice: per connection)
 *
 * The memlink offers no checksum offload, so both stacks compute and
 * check every TCP checksum in software; with --offload first (e.g.
 * `bench_tcp --offload bulk BYTES`) it offers NETIF_F_TX_CSUM and
 * NETIF_F_RX_CSUM, and, as between two virtual machines on one host,
 * nobody computes them.
 *
 * Prints figures and the segment counts (struct tcp_stats); asserts
 * nothing, but exits 1 if a connection fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchlib.h"
#include "tcp/iobuf.h"
#include "tcp/proto.h"
#include "tcp/stats.h"
#include "tcp/tcp.h"

#define SINK_PORT	9
#define ECHO_PORT	7
#define SRC_BUFS	8
#define SRC_BUF		8192
#define RR_LEN		64

static struct netif *a, *b;
static struct iobuf *src;		/* the bulk sender's chain */
static uint64_t bulk_bytes = 1ULL << 30, rr_rounds = 100000, cps_conns = 20000;
static int only_bulk, only_rr, only_cps;
static uint64_t t0, sent, rounds, conns;
static double bulk_s, rr_s, cps_s;
static struct tcp_info bulk_info;	/* the bulk sender's, at its end */

static const struct tcp_callbacks rr_cb, cps_cb;	/* below: each benchmark's */
static void done_all(void);

/* Say why and exit 1. */
static void
die(const char *why)
{
	fprintf(stderr, "bench_tcp: %s\n", why);
	exit(1);
}

/* No connection may fail in a benchmark. */
static void
aborted(void *arg, struct tcp_conn *c, int reason)
{
	(void)arg;
	(void)c;
	fprintf(stderr, "bench_tcp: a connection was aborted (reason %d)\n", reason);
	exit(1);
}

/* ---- B's servers ----------------------------------------------------------- */

/* Sink: free the data; close after the FIN. */
static void
sink_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	(void)arg;
	if (data == NULL)
		tcp_close(c);
	else
		iobuf_free_chain(data);
}

/* Echo: send the request back (it always fits); close after the FIN. */
static void
echo_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	(void)arg;
	if (data == NULL) {
		tcp_close(c);
		return;
	}
	if (tcp_send(c, data) != (long)iobuf_chain_len(data))
		die("the echo's send buffer was full");
	iobuf_free_chain(data);
}

static const struct tcp_callbacks sink_cb = { .receive = sink_receive, .aborted = aborted };
static const struct tcp_callbacks echo_cb = { .receive = echo_receive, .aborted = aborted };

/* Sink: a new connection. */
static int
sink_accept(void *arg, struct tcp_conn *c)
{
	(void)arg;
	tcp_attach(c, &sink_cb, NULL);
	return 0;
}

/* Echo: a new connection, Nagle off. */
static int
echo_accept(void *arg, struct tcp_conn *c)
{
	(void)arg;
	tcp_setopt(c, TCP_OPT_NODELAY, 1);
	tcp_attach(c, &echo_cb, NULL);
	return 0;
}

/* Open a connection to B's echo port; a failure ends the run. */
static void
echo_connect(const struct tcp_callbacks *cb)
{
	struct tcp_conn *c;

	if (tcp_connect(b->ip, ECHO_PORT, cb, NULL, &c) != 0)
		die("tcp_connect to the echo failed");
}

/* ---- bulk ------------------------------------------------------------------ */

/* Bulk: queue the shared chain while there is room; shut down at the end. */
static void
bulk_pump(struct tcp_conn *c)
{
	while (sent < bulk_bytes && tcp_sndbuf_free(c) > 0) {
		long n = tcp_send(c, src);
		if (n <= 0)
			break;
		sent += (uint64_t)n;
	}
	if (sent >= bulk_bytes && tcp_shutdown(c) == 0)
		return;
}

/* Bulk: connected; the clock starts. */
static void
bulk_connected(void *arg, struct tcp_conn *c)
{
	(void)arg;
	t0 = clock_ns();
	bulk_pump(c);
}

/* Bulk: room again. */
static void
bulk_sent(void *arg, struct tcp_conn *c, size_t acked)
{
	(void)arg;
	(void)acked;
	if (sent < bulk_bytes)
		bulk_pump(c);
}

/* Bulk: both sides closed; the clock stops, the next benchmark starts. */
static void
bulk_closed(void *arg, struct tcp_conn *c)
{
	(void)arg;
	bulk_s = (double)(clock_ns() - t0) / 1e9;
	tcp_conn_info(c, &bulk_info);
	tcp_close(c);
	if (only_bulk)
		done_all();
	else
		echo_connect(&rr_cb);
}

static const struct tcp_callbacks bulk_cb = {
	.connected = bulk_connected, .sent = bulk_sent, .closed = bulk_closed,
	.aborted = aborted,
};

/* ---- rr ---------------------------------------------------------------------- */

static size_t rr_got;

/* One 64-byte request. */
static void
rr_send(struct tcp_conn *c)
{
	static const uint8_t req[RR_LEN] = "request";

	if (tcp_write(c, req, RR_LEN) != RR_LEN)
		die("rr: the request did not fit");
}

/* Count and free a piece of a response; 1 once all RR_LEN bytes came. */
static int
rr_response(struct iobuf *data)
{
	if (data == NULL)
		return 0;
	rr_got += iobuf_chain_len(data);
	iobuf_free_chain(data);
	return rr_got >= RR_LEN;
}

/* rr: connected, Nagle off; the first request. */
static void
rr_connected(void *arg, struct tcp_conn *c)
{
	(void)arg;
	tcp_setopt(c, TCP_OPT_NODELAY, 1);
	t0 = clock_ns();
	rr_send(c);
}

/* rr: the response; the next request, or the end. */
static void
rr_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	(void)arg;
	if (!rr_response(data))
		return;
	rr_got -= RR_LEN;
	if (++rounds < rr_rounds) {
		rr_send(c);
		return;
	}
	rr_s = (double)(clock_ns() - t0) / 1e9;
	tcp_close(c);
	if (only_rr) {
		done_all();
		return;
	}
	t0 = clock_ns();
	echo_connect(&cps_cb);
}

static const struct tcp_callbacks rr_cb = {
	.connected = rr_connected, .receive = rr_receive, .aborted = aborted,
};

/* ---- cps --------------------------------------------------------------------- */

/* cps: connected; the request. */
static void
cps_connected(void *arg, struct tcp_conn *c)
{
	(void)arg;
	tcp_setopt(c, TCP_OPT_NODELAY, 1);
	rr_got = 0;
	rr_send(c);
}

/* cps: the response; close and open the next, or the end. */
static void
cps_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	(void)arg;
	if (!rr_response(data))
		return;
	tcp_close(c);
	if (++conns < cps_conns) {
		echo_connect(&cps_cb);
		return;
	}
	cps_s = (double)(clock_ns() - t0) / 1e9;
	done_all();
}

static const struct tcp_callbacks cps_cb = {
	.connected = cps_connected, .receive = cps_receive, .aborted = aborted,
};

/* ---- the run ------------------------------------------------------------------- */

/* Every benchmark ran: stop. */
static void
done_all(void)
{
	event_stop(0);
}

/* The run's first event: open the bulk connection. */
static void
first(void *unused)
{
	struct tcp_conn *c;

	(void)unused;
	if (only_cps) {
		t0 = clock_ns();
		echo_connect(&cps_cb);
		return;
	}
	if (only_rr) {
		echo_connect(&rr_cb);
		return;
	}
	if (tcp_connect(b->ip, SINK_PORT, &bulk_cb, NULL, &c) != 0)
		die("bulk: tcp_connect failed");
}

/* The runtime on one core, the link, the listeners; run and print. */
int
main(int argc, char **argv)
{
	struct memlink_config cfg = { .seed = 1 };
	struct tcp_config tc;
	struct net_stats st;

	if (argc > 1 && strcmp(argv[1], "--offload") == 0) {
		cfg.features = NETIF_F_TX_CSUM | NETIF_F_RX_CSUM;
		argc--;
		argv++;
	}
	if (argc > 2 && strcmp(argv[1], "bulk") == 0) {
		only_bulk = 1;
		bulk_bytes = strtoull(argv[2], NULL, 0);
	} else if (argc > 2 && strcmp(argv[1], "rr") == 0) {
		only_rr = 1;
		rr_rounds = strtoull(argv[2], NULL, 0);
	} else if (argc > 2 && strcmp(argv[1], "cps") == 0) {
		only_cps = 1;
		cps_conns = strtoull(argv[2], NULL, 0);
	}
	bench_runtime(1);
	bench_link(&cfg, &a, &b);
	tcp_config_get(&tc);
	tc.time_wait_ms = 10;
	if (tcp_configure(&tc) != 0)
		die("tcp_configure failed");
	if (tcp_listen(SINK_PORT, sink_accept, NULL) != 0 ||
	    tcp_listen(ECHO_PORT, echo_accept, NULL) != 0)
		die("tcp_listen failed");
	for (int i = 0; i < SRC_BUFS; i++) {
		struct iobuf *p = iobuf_alloc(0, SRC_BUF);
		if (p == NULL)
			die("out of memory");
		memset(iobuf_put(p, SRC_BUF), 'b', SRC_BUF);
		if (src == NULL)
			src = p;
		else
			iobuf_chain_append(src, p);
	}
	event_run(first, NULL);
	net_stats_read(&st);
	printf("TCP over memlink (hosted, 1 core for both stacks, no loss or delay, "
	    "checksums %s)\n", cfg.features != 0 ? "offloaded" : "in software");
	if (!only_cps && !only_rr)
		printf("  bulk: %llu bytes in %.3f s: %.0f MB/s (%.1f Gbit/s)\n",
		    (unsigned long long)bulk_bytes, bulk_s, (double)bulk_bytes / bulk_s / 1e6,
		    (double)bulk_bytes * 8 / bulk_s / 1e9);
	if (!only_bulk && !only_cps)
		printf("  rr: %llu round trips of %d bytes: %.0f/s, %.2f us each\n",
		    (unsigned long long)rr_rounds, RR_LEN, (double)rr_rounds / rr_s,
		    rr_s / (double)rr_rounds * 1e6);
	if (!only_bulk && !only_rr)
		printf("  cps: %llu connections (connect, 64 bytes echoed, close): %.0f/s\n",
		    (unsigned long long)cps_conns, (double)cps_conns / cps_s);
	if (!only_cps && !only_rr)
		printf("  bulk sender: %llu segments out (mss %u), %llu retransmitted\n",
		    (unsigned long long)bulk_info.segs_out, bulk_info.mss,
		    (unsigned long long)bulk_info.retransmits);
	printf("  segments, both stacks, everything: %llu sent, %llu received\n",
	    (unsigned long long)st.tcp.tx, (unsigned long long)st.tcp.rx);
	return 0;
}
