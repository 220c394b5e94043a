/*
 * kvexchange.h: the kvstore protocol suites' harness (test_kvtext.c,
 * test_kvmeta.c, test_kvbin.c): requests go in as bytes through
 * kv_text_input (which hands a binary connection to binary.c), replies
 * come out as a chain, compared byte for byte with what memcached 1.6
 * says.
 *
 * exchange(in, want, close) runs on core 0 from an empty store
 * (flush_all first), fed whole, one byte at a time and cut in two at
 * every ex_stride-th byte boundary: every way must give want, and close
 * the connection or not as close says.  setup() makes the store (8 MiB)
 * once and notes the leak baseline; teardown() checks that the store is
 * empty and that slab objects, pages and iobufs are back to it.
 */
#ifndef TEST_KVEXCHANGE_H
#define TEST_KVEXCHANGE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/kvstore/proto.h"
#include "app/kvstore/store.h"
#include "ebb/event.h"
#include "ebb/rcu.h"
#include "tcp/iobuf.h"
#include "test.h"

#define NCORES	2

#include "kvrun.h"		/* leaks, iobufs0, run(): a body, then a grace period */

/* ---- an exchange ----------------------------------------------------------- */

static char got[1 << 20];
static size_t ngot;
static int closed;

/* If set, applied to the replies before they are compared (test_kvbin: uniques). */
static void (*ex_fix)(char *p, size_t n);

/* Feed in as pieces cut at the offsets in cuts (ascending, ncuts of them). */
static void
feed(const char *in, size_t n, const size_t *cuts, int ncuts)
{
	struct kv_text t;
	struct kv_out o;
	size_t at = 0;

	kv_flush(0);
	CHECK_EQ(kv_text_init(&t), 0);
	kv_out_init(&o);
	closed = 0;
	for (int i = 0; i <= ncuts && !closed; i++) {
		size_t end = i < ncuts ? cuts[i] : n;
		closed = kv_text_input(&t, in + at, end - at, &o) == KV_CLOSE;
		at = end;
	}
	ngot = 0;
	for (struct iobuf *b = o.head; b != NULL; b = b->next) {
		if (ngot + b->len <= sizeof got)
			memcpy(got + ngot, b->data, b->len);
		ngot += b->len;
	}
	CHECK(ngot <= sizeof got);
	if (ex_fix != NULL && ngot <= sizeof got)
		ex_fix(got, ngot);
	kv_out_free(&o);
	kv_text_free(&t);
}

static const char *ex_in, *ex_want;
static size_t ex_nin, ex_nwant;
static int ex_close;
static size_t ex_stride = 1;		/* cut at every ex_stride-th boundary */
static long ex_bad;

/* Bytes as C would write them: printable ones as they are, the rest escaped. */
static void
ex_print(const char *p, size_t n)
{
	for (size_t i = 0; i < n && i < 512; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\n')
			printf("\\n\n");
		else if (c == '\r')
			printf("\\r");
		else if (c >= 32 && c < 127 && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	printf("%s\n", n > 512 ? "..." : "");
}

/* Record a mismatch of replies against ex_want. */
static void
compare(const char *how, size_t cut)
{
	if (ngot != ex_nwant || memcmp(got, ex_want, ngot) != 0 || closed != ex_close) {
		if (ex_bad++ < 3) {
			printf("# %s %zu: sent\n", how, cut);
			ex_print(ex_in, ex_nin);
			printf("# got (closed %d)\n", closed);
			ex_print(got, ngot);
			printf("# wanted (close %d)\n", ex_close);
			ex_print(ex_want, ex_nwant);
		}
	}
}

/* The exchange whole, byte by byte, and cut at every boundary. */
static void
exchange_body(void)
{
	size_t n = ex_nin;
	size_t *cuts = calloc(n + 1, sizeof *cuts);

	feed(ex_in, n, NULL, 0);
	compare("whole", 0);
	for (size_t i = 0; i < n; i++)
		cuts[i] = i + 1;
	feed(ex_in, n, cuts, (int)n - 1);
	compare("byte by byte", 0);
	for (size_t c = 1; c < n; c += ex_stride) {
		feed(ex_in, n, &c, 1);
		compare("cut at", c);
	}
	free(cuts);
	kv_flush(0);
}

/* Check that in, however it is cut, is answered want (and closes or not). */
static void
exchange_n(const char *in, size_t nin, const char *want, size_t nwant, int close)
{
	ex_in = in;
	ex_nin = nin;
	ex_want = want;
	ex_nwant = nwant;
	ex_close = close;
	ex_bad = 0;
	run(exchange_body);
	CHECK_EQ(ex_bad, 0);
}

static void
exchange(const char *in, const char *want, int close)
{
	exchange_n(in, strlen(in), want, strlen(want), close);
}

/*
 * Every core runs a request or two, so that what is made at a core's
 * first use and kept (its counter rep, its iobuf caches) is there
 * before the leak baseline.
 */
static void
warm(void *arg)
{
	struct kv_text t;
	struct kv_out o;
	char key[8];
	char req[64];

	(void)arg;
	snprintf(key, sizeof key, "warm%d", core_id());
	int n = snprintf(req, sizeof req, "ms %s 1\r\na\r\nmg %s v\r\nmd %s\r\n", key, key, key);
	CHECK_EQ(kv_text_init(&t), 0);
	kv_out_init(&o);
	kv_text_input(&t, req, (size_t)n, &o);
	kv_out_free(&o);
	kv_text_free(&t);
	rcu_call(drain_cb, NULL);
}

static void
warm_first(void *arg)
{
	(void)arg;
	drained = 0;
	for (int c = 0; c < NCORES; c++)
		spawn_on(c, warm, NULL);
}

static void
setup(void)
{
	if (kv_start(8UL << 20)) {
		CHECK_EQ(event_run(warm_first, NULL), 0);
		exchange("set w 0 0 1\r\nx\r\nget w\r\n", "STORED\r\nVALUE w 0 1\r\nx\r\nEND\r\n", 0);
	}
	kv_baseline();
}

static void
teardown(void)
{
	struct kv_stats st;

	run(NULL);
	kv_stats(&st);
	CHECK_EQ(st.curr_items, 0);
	CHECK_EQ(iobuf_live(), iobufs0);
	test_leak_check(leaks);
}

/* A whole test: setup, fn run on the loops, teardown's checks. */
static void
kv_test(void (*fn)(void))
{
	setup();
	run(fn);
	teardown();
}

/*
 * Feed in (n bytes: key "z" set to "hello", then read) to a fresh
 * connection: some reply buffer must hold the item's own value bytes, len
 * of them (the value, and its CRLF where the protocol keeps them in one
 * buffer), perhaps among the reply's other bytes the item keeps (a text
 * GET's whole prebuilt reply): zero copy.  The store is flushed after.
 */
static void
zero_copy_check(const char *in, size_t n, size_t len)
{
	struct kv_text t;
	struct kv_out o;
	struct kv_item *it;
	int found = 0;

	CHECK_EQ(kv_text_init(&t), 0);
	kv_out_init(&o);
	kv_text_input(&t, in, n, &o);
	it = kv_get("z", 1, 0);
	CHECK(it != NULL);
	for (struct iobuf *b = o.head; b != NULL && it != NULL; b = b->next)
		if (b->data <= (uint8_t *)kv_value(it) &&
		    (uint8_t *)kv_value(it) + len <= b->data + b->len)
			found = 1;
	CHECK(found);
	kv_out_free(&o);
	kv_text_free(&t);
	kv_flush(0);
}

#endif
