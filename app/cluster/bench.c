/*
 * bench.c: the cluster app's benchmark (its bench argument): message
 * round trips and messages per second over the messenger, frontend to
 * node 1 and node 1 to node 2, 64-byte and 64 KiB messages.
 *
 *	frontend: bench_pair(node 1) -> a line
 *	          BENCH(node 2) -> node 1: bench_pair(node 2) -> BENCHRES
 *	bench_pair: round trips (PING, the peer sends the same bytes back
 *	            as PONG; one in flight), then a checked stream
 *	            (cl_stream: as many in flight as the queue takes)
 *
 * Every message crosses the frontend's switch (hosted/lan.c) and, on a
 * node, QEMU's NIC; under TCG that is what these figures mostly are.
 * The times are the clock's at the sender, from the first send to the
 * last reply (round trips) or to the last delivery acknowledged by the
 * peer's TCP (streams).  Everything runs on core 0, in events that
 * block while they wait.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "ebb/event.h"
#include "kernel/platform.h"

#define RTT_SMALL	2000		/* 64-byte round trips */
#define RTT_BIG		100		/* 64 KiB round trips */
#define STREAM_SMALL	50000		/* 64-byte messages streamed */
#define STREAM_BIG	400		/* 64 KiB messages streamed (25 MiB) */
#define BIG		65536

static struct future *pong_wait;	/* core 0's: the round trip in flight */

void
cl_bench_pong(struct msg *m)
{
	struct future *f = pong_wait;

	msg_free(m);
	if (f != NULL) {
		pong_wait = NULL;
		future_resolve(f, NULL);
	}
}

void
cl_bench_ping(struct messenger *me, struct msg *m, uint32_t ebb)
{
	struct iobuf *data = m->data;	/* the same bytes go back */

	m->data = NULL;
	if (msg_send(me, m->from, ebb, K_PONG, data, NULL) != 0)
		iobuf_free_chain(data);
	msg_free(m);
}

void
cl_bench_gone(void)
{
	struct future *f = pong_wait;

	if (f != NULL) {
		pong_wait = NULL;
		future_fail(f, ECONNABORTED);
	}
}

/* n round trips of size bytes to Ebb ebb on node to: ns each, or 0 on failure. */
static uint64_t
rtt(struct messenger *m, uint32_t to, uint32_t ebb, uint32_t size, uint32_t n)
{
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, size);
	uint64_t t0 = clock_ns(), ns = 0;
	uint32_t i;

	if (b == NULL)
		return 0;
	memset(iobuf_put(b, size), 0x5a, size);
	for (i = 0; i < n; i++) {
		struct iobuf *c = iobuf_clone(b);	/* the bytes shared, not copied */
		struct future f;

		future_init(&f);
		pong_wait = &f;
		if (c == NULL || msg_send(m, to, ebb, K_PING, c, NULL) != 0) {
			pong_wait = NULL;
			iobuf_free_chain(c);
			break;
		}
		if (future_block(&f, NULL) != 0)
			break;
	}
	if (i == n)
		ns = (clock_ns() - t0) / n;
	iobuf_free(b);
	return ns;
}

/* A stream of n messages of size bytes: messages a second, or 0 on failure. */
static uint64_t
rate(struct messenger *m, uint32_t to, uint32_t ebb, uint32_t src, uint32_t size,
    uint32_t n, const int *stop)
{
	struct cl_out out;
	uint64_t t0 = clock_ns(), ns;

	cl_stream(m, to, ebb, src, n, size, stop, NULL, &out);
	ns = clock_ns() - t0;
	return out.failed == 0 && ns > 0 ? (uint64_t)n * 1000000000ull / ns : 0;
}

void
cl_bench_pair(struct messenger *m, uint32_t to, uint32_t ebb, uint32_t src, const int *stop,
    char *line, size_t len)
{
	uint64_t r64 = rtt(m, to, ebb, 64, RTT_SMALL);
	uint64_t rbig = rtt(m, to, ebb, BIG, RTT_BIG);
	uint64_t s64 = rate(m, to, ebb, src, 64, STREAM_SMALL, stop);
	uint64_t sbig = rate(m, to, ebb, src, BIG, STREAM_BIG, stop);

	snprintf(line, len, "round trip %llu us (64 B), %llu us (64 KiB); streamed %llu"
	    " messages/s (64 B), %llu messages/s (64 KiB: %llu MB/s)",
	    (unsigned long long)(r64 / 1000), (unsigned long long)(rbig / 1000),
	    (unsigned long long)s64, (unsigned long long)sbig,
	    (unsigned long long)(sbig * BIG / 1000000));
	if (r64 == 0 || rbig == 0 || s64 == 0 || sbig == 0)
		snprintf(line + strlen(line), len - strlen(line), " (failed: a 0 is a failure)");
}
