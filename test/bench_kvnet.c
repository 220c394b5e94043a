/*
 * bench_kvnet.c: the kvstore app's request path over the in-memory wire,
 * hosted, on one core (make bench).
 *
 * Interfaces A (10.0.0.1) and B (10.0.0.2) of a memlink without
 * impairments or delay.  The kvstore's own code (app/kvstore: the store,
 * then kv_listen, its connection glue, the text parser and the reply
 * batch) serves port 11211, reached at B; a client on A opens one
 * connection, sets KEYS keys (32 bytes each, 64-byte values), and then
 * sends N requests one after another (one in flight), each reply checked
 * byte for byte:
 *
 *	build/hosted/bench_kvnet [--offload] [get|set] [N]	(default: get, 100000)
 *
 *	get	"get KEY": "VALUE KEY 0 64\r\n" the value "\r\nEND\r\n" (a hit)
 *	set	"set KEY 0 0 64\r\n" the value "\r\n": "STORED\r\n"
 *
 * The keys go round KEYS of them.  Everything runs on core 0: the figure
 * is one core's work for the client, both ends' TCP/IP (checksums in
 * software; with --offload the link offers checksum offload both ways,
 * as the native virtio-net path has it, and nobody sums a byte), the
 * wire's copy of every frame, and the kvstore.
 * test/callgrind.sh runs it twice with different N and prints the
 * marginal instructions per GET and per SET, the preloading, start-up
 * and tear-down cancelled, and the share of them in app/kvstore's files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/kvstore/proto.h"
#include "app/kvstore/store.h"
#include "kernel/platform.h"
#include "benchlib.h"
#include "kvbench.h"
#include "tcp/iobuf.h"
#include "tcp/tcp.h"

#define PORT	11211

static struct netif *a, *b;
static long nreq = 100000;	/* requests to measure */
static long sent;		/* requests sent, the preloading SETs first */
static int gets = 1;		/* the measured requests are GETs */
static uint64_t t0;


/* The reply in flight: what it must be, and what has come. */
static const char *want;
static size_t wantlen, gotlen;
static char got[MSG_MAX];

/* Say why and exit 1. */
static void
die(const char *why)
{
	fprintf(stderr, "bench_kvnet: %s\n", why);
	exit(1);
}

/* The next request: first every key's SET, then nreq of the measured kind. */
static void
send_req(struct tcp_conn *c)
{
	const char *p;
	size_t n;
	int k = (int)(sent % KEYS);

	if (sent == KEYS)
		t0 = clock_ns();	/* the preloading is done */
	if (sent < KEYS || !gets) {
		p = setreq[k], n = setlen[k];
		want = stored, wantlen = sizeof stored - 1;
	} else {
		p = getreq[k], n = getlen[k];
		want = getrep[k], wantlen = replen[k];
	}
	gotlen = 0;
	sent++;
	if (tcp_write(c, p, n) != (long)n)
		die("the request did not fit");
}

/* Connected: the preloading starts. */
static void
client_connected(void *arg, struct tcp_conn *c)
{
	(void)arg;
	tcp_setopt(c, TCP_OPT_NODELAY, 1);
	send_req(c);
}

/* Reply bytes: checked as they come; the next request once one is whole, or the end. */
static void
client_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	(void)arg;
	if (data == NULL)
		die("the kvstore closed the connection");
	for (struct iobuf *p = data; p != NULL; p = p->next) {
		if (gotlen + p->len > wantlen)
			die("a reply was longer than it should be");
		memcpy(got + gotlen, p->data, p->len);
		gotlen += p->len;
	}
	iobuf_free_chain(data);
	if (gotlen < wantlen)
		return;
	if (memcmp(got, want, wantlen) != 0)
		die("a reply was not what it should be");
	if (sent < KEYS + nreq) {
		send_req(c);
		return;
	}
	uint64_t ns = clock_ns() - t0;
	printf("kvstore over memlink (hosted, 1 core for the client, both stacks and the kvstore): "
	    "%ld %ss of a %d-byte key, %d-byte value, one at a time: %.0f/s, %.2f us each\n",
	    nreq, gets ? "GET" : "SET", KEYLEN, VALLEN, (double)nreq * 1e9 / (double)ns,
	    (double)ns / 1e3 / (double)nreq);
	tcp_close(c);
	event_stop(0);
}

static const struct tcp_callbacks client_cb = {
	.connected = client_connected, .receive = client_receive,
	.aborted = bench_aborted,
};

/* The first event: the store and its listener, the client connecting to B. */
static void
first(void *unused)
{
	struct tcp_conn *c;

	(void)unused;
	if (kv_init(KV_MEM_DEFAULT, KV_ITEM_MAX_DEFAULT) != 0 || kv_listen(PORT) != 0)
		die("the kvstore did not start");
	if (tcp_connect(b->ip, PORT, &client_cb, NULL, &c) != 0)
		die("tcp_connect failed");
}

/* The runtime on one core, the link; run, and the figure from client_receive. */
int
main(int argc, char **argv)
{
	struct memlink_config cfg = { .seed = 1 };
	int i = 1;

	if (i < argc && strcmp(argv[i], "--offload") == 0) {
		cfg.features = NETIF_F_TX_CSUM | NETIF_F_RX_CSUM;
		i++;
	}
	if (i < argc && (strcmp(argv[i], "get") == 0 || strcmp(argv[i], "set") == 0))
		gets = strcmp(argv[i++], "get") == 0;
	if (i < argc && (nreq = atol(argv[i++])) <= 0)
		die("usage: bench_kvnet [--offload] [get|set] [requests]");
	if (i < argc)
		die("usage: bench_kvnet [--offload] [get|set] [requests]");
	kvbench_messages();
	bench_runtime(1);
	bench_link(&cfg, &a, &b);
	return event_run(first, NULL);
}
