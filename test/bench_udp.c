/*
 * bench_udp.c: UDP echo over the in-memory wire, hosted (make bench).
 *
 * Two stacks' interfaces, A (10.0.0.1) and B (10.0.0.2), joined by a
 * memlink without impairments.  On every core a client on A keeps
 * WINDOW datagrams of PAYLOAD bytes in flight to B's echo port; each
 * echo that comes back sends the next one, until ROUNDS have returned.
 * One datagram goes first, alone, so that ARP has resolved both ways
 * before the windows open (ARP holds only a few packets per address).
 * A frame sent on core c arrives on core c (memlink's queue c), so each
 * core runs its own pipeline: client send, A's stack down, the wire, B's
 * stack up, the echo, B's stack down, the wire, A's stack up.  Prints
 * round trips and packets (each round trip is two datagrams through two
 * stacks) per second per core; asserts nothing.
 *
 *	build/hosted/bench_udp [rounds]
 *
 * For instructions per packet, make bench runs it under callgrind twice
 * with different round counts (test/callgrind.sh): the difference, over
 * the difference in packets, is the marginal cost of one packet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchlib.h"
#include "tcp/iobuf.h"
#include "tcp/proto.h"
#include "tcp/udp.h"

#define NCORES		2
#define WINDOW		16		/* datagrams in flight per core */
#define PAYLOAD		64		/* bytes per datagram */
#define ECHO_PORT	7
#define CLIENT_PORT	5000		/* + core */

static struct netif *a, *b;
static long rounds;			/* round trips per core */
static long done[NCORES];		/* per core, written by that core only */
static int finished;			/* cores done (atomic) */
static int primed;			/* the first echo came back: ARP resolved */
static uint64_t t_start;

static void start_core(void *unused);

/* Send one datagram from core c's client to B's echo port. */
static void
send_one(int c)
{
	struct iobuf *p = iobuf_alloc(IOBUF_HEADROOM, PAYLOAD);

	if (p == NULL) {
		fprintf(stderr, "bench_udp: out of memory\n");
		exit(1);
	}
	memset(iobuf_put(p, PAYLOAD), c, PAYLOAD);
	if (udp_sendto(a, (uint16_t)(CLIENT_PORT + c), b->ip, ECHO_PORT, p) != 0) {
		fprintf(stderr, "bench_udp: udp_sendto failed\n");
		exit(1);
	}
}

/* B: send it back. */
static void
echo(void *arg, const struct udp_rx *rx, struct iobuf *payload)
{
	(void)arg;
	udp_sendto(rx->nif, rx->dst_port, rx->src_ip, rx->src_port, payload);
}

/* A: an echo came back on this core; keep the window full. */
static void
reply(void *arg, const struct udp_rx *rx, struct iobuf *payload)
{
	int c = core_id();

	(void)arg;
	(void)rx;
	iobuf_free_chain(payload);
	if (!primed) {			/* both sides know each other's MAC now */
		primed = 1;
		t_start = clock_ns();
		for (int k = 0; k < NCORES; k++)
			spawn_on(k, start_core, NULL);
		return;
	}
	if (++done[c] + WINDOW <= rounds)
		send_one(c);
	else if (done[c] == rounds && __atomic_add_fetch(&finished, 1, __ATOMIC_ACQ_REL) == NCORES)
		event_stop(0);
}

static void
start_core(void *unused)
{
	(void)unused;
	for (int i = 0; i < WINDOW; i++)
		send_one(core_id());
}

/* One datagram first, so that ARP resolves before the windows open. */
static void
first(void *unused)
{
	(void)unused;
	send_one(0);
}

int
main(int argc, char **argv)
{
	struct memlink_config cfg = { .seed = 1 };

	rounds = argc > 1 ? atol(argv[1]) : 200000;
	bench_runtime(NCORES);
	bench_link(&cfg, &a, &b);
	if (udp_bind(ECHO_PORT, echo, NULL) != 0)
		return 1;
	for (int c = 0; c < NCORES; c++)
		if (udp_bind((uint16_t)(CLIENT_PORT + c), reply, NULL) != 0)
			return 1;
	event_run(first, NULL);
	double s = (double)(clock_ns() - t_start) / 1e9;
	printf("UDP echo over memlink (hosted, %d cores, %d-byte payloads, window %d)\n",
	    NCORES, PAYLOAD, WINDOW);
	printf("  %.0f round trips/s per core, %.0f datagrams/s per core through a stack\n",
	    (double)rounds / s, 2.0 * (double)rounds / s);
	return 0;
}
