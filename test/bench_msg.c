/*
 * bench_msg.c: the messenger (ebb/msg.c) between two nodes over the
 * in-memory wire, hosted, on one core (make bench).
 *
 * Node A is 10.81.0.2 and node B 10.82.0.2, each the far side of its
 * own memlink (as test/msgnet.h explains), with no delay, loss or
 * checksum work (both offloads on).  Everything runs on core 0, so the
 * figures are one core's work for both nodes, both TCP stacks and the
 * wire:
 *
 *	rr SIZE		A sends SIZE bytes to B's echo Ebb, whose handler
 *			sends the same chain back (zero copy both ways); one
 *			in flight: round trips per second, the mean round trip
 *	stream SIZE	A sends messages of SIZE bytes to B's sink Ebb as fast
 *			as its queue takes them (msg_wait_room when full):
 *			messages and bytes per second
 *
 * for SIZE 64 and 65536.  Prints figures; asserts nothing, but exits 1
 * if the stage cannot be set up or a message fails.
 *
 *	build/hosted/bench_msg
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchlib.h"
#include "ebb/ebb.h"
#include "ebb/future.h"
#include "ebb/msg.h"
#include "tcp/tcp.h"

#define EBB_ECHO	(EBB_TEST_FIRST + 20)
#define EBB_SINK	(EBB_TEST_FIRST + 21)
#define EBB_BACK	(EBB_TEST_FIRST + 22)
#define NODE_A		IP4(10, 81, 0, 2)
#define NODE_B		IP4(10, 82, 0, 2)

static struct messenger *ma, *mb;
static size_t size;			/* this benchmark's message size */
static uint64_t want, done, t0;		/* messages to go, gone; start */
static uint64_t sent;			/* stream: messages queued */
static struct future room;
static int dummy;
static struct ebb_shared echo_ebb = EBB_SHARED(&dummy), sink_ebb = EBB_SHARED(&dummy),
    back_ebb = EBB_SHARED(&dummy);

static void
die(const char *why)
{
	fprintf(stderr, "bench_msg: %s\n", why);
	exit(1);
}

/* A message of size bytes (a chain of up to 2 KiB buffers). */
static struct iobuf *
make_msg(void)
{
	struct iobuf *head = NULL, *b;

	for (size_t off = 0; off < size; off += 1900) {
		size_t k = size - off < 1900 ? size - off : 1900;
		if ((b = iobuf_alloc(IOBUF_HEADROOM, k)) == NULL)
			die("no memory");
		memset(iobuf_put(b, k), 0x5a, k);
		if (head == NULL)
			head = b;
		else
			iobuf_chain_append(head, b);
	}
	return head;
}

/* ---- rr ------------------------------------------------------------------- */

static void
rr_send(void)
{
	if (msg_send(ma, NODE_B, EBB_ECHO, 1, make_msg(), NULL) != 0)
		die("msg_send failed");
}

/* B: send the payload straight back. */
static void
on_echo(void *rep, struct msg *m)
{
	struct iobuf *d = m->data;

	(void)rep;
	m->data = NULL;
	if (msg_send(m->to, m->from, EBB_BACK, 1, d, NULL) != 0)
		die("echo failed");
	msg_free(m);
}

/* A: a round trip done; the next, or the end. */
static void
on_back(void *rep, struct msg *m)
{
	(void)rep;
	msg_free(m);
	if (++done < want)
		rr_send();
	else
		event_stop(0);
}

/* ---- stream ------------------------------------------------------------------ */

static void stream_pump(void);

static void
stream_room(struct future *f, void *arg)
{
	(void)f;
	(void)arg;
	stream_pump();
}

static void
stream_pump(void)
{
	while (sent < want) {
		struct iobuf *b = make_msg();
		int err = msg_send(ma, NODE_B, EBB_SINK, 1, b, NULL);
		if (err == EAGAIN) {
			iobuf_free_chain(b);
			future_init(&room);
			if (msg_wait_room(ma, NODE_B, &room) != 0 ||
			    future_then(&room, stream_room, NULL) != 0)
				die("no memory");
			return;
		}
		if (err != 0)
			die("msg_send failed");
		sent++;
	}
}

static void
on_sink(void *rep, struct msg *m)
{
	(void)rep;
	msg_free(m);
	if (++done == want)
		event_stop(0);
}

/* ---- the runs ------------------------------------------------------------------ */

static void
first(void *arg)
{
	done = sent = 0;
	t0 = clock_ns();
	if (arg != NULL)
		stream_pump();
	else
		rr_send();
}

/* One benchmark: n messages of sz bytes; returns seconds. */
static double
bench(int stream, size_t sz, uint64_t n)
{
	size = sz;
	want = n;
	if (event_run(first, stream ? (void *)1 : NULL) != 0)
		die("the run failed");
	return (double)(clock_ns() - t0) / 1e9;
}

static void
stage(void)
{
	static const struct memlink_config cfg = { .seed = 1,
	    .features = NETIF_F_TX_CSUM | NETIF_F_RX_CSUM };
	char na[8], nb[8];

	for (int i = 0; i < 2; i++) {
		snprintf(na, sizeof na, "b%da", i);
		snprintf(nb, sizeof nb, "b%db", i);
		struct memlink *ml = memlink_create(na, nb, &cfg);
		if (ml == NULL)
			die("memlink_create failed");
		memlink_netif(ml, 0)->ip = IP4(10, 81 + i, 0, 1);
		memlink_netif(ml, 1)->ip = IP4(10, 81 + i, 0, 2);
		memlink_netif(ml, 0)->netmask = memlink_netif(ml, 1)->netmask =
		    IP4(255, 255, 255, 0);
	}
	if ((ma = msgr_start(NODE_A)) == NULL || (mb = msgr_start(NODE_B)) == NULL)
		die("msgr_start failed");
	if (ebb_bind(EBB_ECHO, &echo_ebb.root) != 0 || ebb_bind(EBB_SINK, &sink_ebb.root) != 0 ||
	    ebb_bind(EBB_BACK, &back_ebb.root) != 0 || msg_handle(EBB_ECHO, on_echo) != 0 ||
	    msg_handle(EBB_SINK, on_sink) != 0 || msg_handle(EBB_BACK, on_back) != 0)
		die("binding failed");
}

int
main(void)
{
	static const size_t sizes[] = { 64, 65536 };
	struct msgr_stats st;

	bench_runtime(1);
	stage();
	bench(0, 64, 100);		/* warm: connections, ARP, caches */
	printf("messenger over memlink (hosted, 1 core for both nodes, no loss or delay, "
	    "checksums offloaded)\n");
	for (int i = 0; i < 2; i++) {
		uint64_t n = sizes[i] == 64 ? 50000 : 5000;
		double s = bench(0, sizes[i], n);
		printf("  rr %zu B: %llu round trips: %.0f/s, %.2f us each\n", sizes[i],
		    (unsigned long long)n, n / s, s * 1e6 / n);
	}
	for (int i = 0; i < 2; i++) {
		uint64_t n = sizes[i] == 64 ? 500000 : 20000;
		double s = bench(1, sizes[i], n);
		printf("  stream %zu B: %llu messages: %.0f/s, %.0f MB/s of payload\n", sizes[i],
		    (unsigned long long)n, n / s, n * (double)sizes[i] / s / 1e6);
	}
	msgr_stats(ma, &st);
	if (st.failed != 0)
		die("messages failed");
	printf("  A: %llu sent, %llu acked, %llu connections opened\n",
	    (unsigned long long)st.sent, (unsigned long long)st.acked,
	    (unsigned long long)st.opened);
	return 0;
}
