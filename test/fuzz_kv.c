/*
 * fuzz_kv.c: a libFuzzer target for app/kvstore's protocols (make fuzz
 * FUZZ=kv): the text protocol, the meta commands and the binary
 * protocol, through kv_text_input as a connection would feed it.
 *
 *	byte 0:	how the rest is cut: 0, whole; n, in pieces of n bytes
 *	then:	a connection's bytes from its first (0x80 first: binary)
 *
 * Each input is one event_run on one core over a small store (4 MiB,
 * items up to 64 KiB): a fresh parser takes the bytes piece by piece
 * until it says close, its replies are dropped, the parser is freed and
 * the store flushed; after an RCU grace period the store must be empty
 * and iobuf_live() back where it was, or the target aborts so that
 * libFuzzer reports the input.  What it looks for: reads past a
 * buffer, a crash or a panic on any input, and memory kept.
 */
#include <stdint.h>
#include <stdlib.h>

#include "app/kvstore/proto.h"
#include "app/kvstore/store.h"
#include "kernel/print.h"
#include "tcp/eth.h"
#include "tcp/proto.h"
#include "fuzzlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *in;
static size_t nin;

static void
stop(void *unused)
{
	(void)unused;
	event_stop(0);
}

/* The run's one event: a connection's life, then a grace period. */
static void
connection(void *unused)
{
	struct kv_text t;
	struct kv_out o;
	size_t piece = in[0] != 0 ? in[0] : nin;

	(void)unused;
	if (kv_text_init(&t) != 0)
		abort();
	for (size_t at = 1; at < nin;) {
		size_t n = nin - at < piece ? nin - at : piece;
		kv_out_init(&o);
		int r = kv_text_input(&t, (const char *)in + at, n, &o);
		kv_out_free(&o);
		if (r == KV_CLOSE)
			break;
		at += n;
	}
	kv_text_free(&t);
	kv_flush(0);
	if (rcu_call(stop, NULL) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct kv_stats st;
	long live;

	if (!ready) {
		fuzz_runtime();
		if (kv_init(4UL << 20, 64UL << 10) != 0)
			abort();
		ready = 1;
	}
	if (size < 2)
		return 0;
	in = data;
	nin = size;
	live = iobuf_live();
	if (event_run(connection, NULL) != 0)
		abort();
	kv_stats(&st);
	if (iobuf_live() != live || st.curr_items != 0) {
		kprintf("fuzz_kv: %ld iobufs leaked, %llu items left by this input\n",
		    iobuf_live() - live, (unsigned long long)st.curr_items);
		abort();
	}
	return 0;
}
