/*
 * test_kvstore.c: app/kvstore's store (store.c) alone, on four cores.
 *
 * Each test runs its body as an event on core 0 (the store needs the
 * loops: RCU frees what it unlinks), then waits out a grace period on
 * every core, so that the leak check at its end can count: slab objects
 * in use, free pages and iobufs back where they were once the store is
 * empty again (flush_all).  Expiry is tested by moving the store's clock
 * (kv_clock_shift), not by sleeping.
 *
 *	semantics: set add replace append prepend cas delete touch incr decr
 *	expiry: relative, absolute, negative, touch, flush_all now and later
 *	memory: the limit held by eviction, read items kept (CLOCK), baseline
 *	        after flush_all; a GET's buffer outlives the item's deletion
 *	cores: four cores setting and reading the same keys (no torn value),
 *	       and racing cas increments (none lost)
 */
#include <stdio.h>
#include <string.h>

#include "app/kvstore/store.h"
#include "ebb/event.h"
#include "ebb/rcu.h"
#include "kernel/page.h"
#include "kernel/platform.h"
#include "tcp/iobuf.h"
#include "test.h"

#define NCORES	4

#include "kvrun.h"		/* leaks, iobufs0, run(): a body, then a grace period */

/* Every core makes its rep; then the baseline. */
static void
touch_reps(void *arg)
{
	(void)arg;
	kv_count(KV_CMD_GET);
	if (__atomic_add_fetch(&drained, 1, __ATOMIC_ACQ_REL) == NCORES)
		event_stop(0);
}

static void
reps_first(void *arg)
{
	(void)arg;
	for (int c = 0; c < NCORES; c++)
		spawn_on(c, touch_reps, NULL);
}

static enum kv_status put(enum kv_op op, const char *key, const char *val, uint32_t flags,
    int64_t exp, uint64_t cas);

static void
warm(void)
{
	put(KV_SET, "warm", "up", 0, 0, 0);
	kv_delete("warm", 4);
}

static void
setup(void)
{
	if (kv_start(64UL << 20)) {
		drained = 0;
		CHECK_EQ(event_run(reps_first, NULL), 0);
		run(warm);	/* the iobuf caches are made at first use, and kept */
	}
	kv_baseline();
}

/* The end of a test: empty the store, then nothing may be left. */
static void
flush_now(void)
{
	kv_flush(0);
}

static void
teardown(void)
{
	struct kv_stats st;

	run(flush_now);
	kv_stats(&st);
	CHECK_EQ(st.curr_items, 0);
	CHECK_EQ(st.bytes, 0);
	CHECK_EQ(iobuf_live(), iobufs0);
	test_leak_check(leaks);
}

/* ---- helpers ------------------------------------------------------------ */

static enum kv_status
put(enum kv_op op, const char *key, const char *val, uint32_t flags, int64_t exp, uint64_t cas)
{
	enum kv_status why;
	size_t n = strlen(val);
	struct kv_item *it = kv_item_new(key, strlen(key), flags, exp, n, &why);

	if (it == NULL)
		return why;
	memcpy(kv_value(it), val, n);
	return kv_store(op, it, cas, NULL);
}

/* The value of key as a string (static), or NULL on a miss. */
static const char *
val(const char *key)
{
	static char b[4096];
	struct kv_item *it = kv_get(key, strlen(key), 1);

	if (it == NULL)
		return NULL;
	snprintf(b, sizeof b, "%.*s", (int)it->nbytes, kv_value(it));
	return b;
}

static int
is(const char *key, const char *want)
{
	const char *v = val(key);

	if (v == NULL || want == NULL)
		return v == want;
	return strcmp(v, want) == 0;
}

/* ---- semantics ---------------------------------------------------------- */

static void
do_semantics(void)
{
	uint64_t r, cas;

	CHECK_EQ(put(KV_SET, "a", "one", 7, 0, 0), KV_STORED);
	CHECK(is("a", "one"));
	CHECK_EQ(kv_get("a", 1, 0)->flags, 7);
	CHECK(memcmp(kv_value(kv_get("a", 1, 0)) + 3, "\r\n", 2) == 0);
	CHECK_EQ(put(KV_ADD, "a", "two", 0, 0, 0), KV_NOT_STORED);
	CHECK_EQ(put(KV_ADD, "b", "two", 0, 0, 0), KV_STORED);
	CHECK_EQ(put(KV_REPLACE, "c", "x", 0, 0, 0), KV_NOT_STORED);
	CHECK_EQ(put(KV_REPLACE, "b", "deux", 0, 0, 0), KV_STORED);
	CHECK(is("b", "deux"));
	CHECK_EQ(put(KV_APPEND, "b", "-end", 9, 0, 0), KV_STORED);
	CHECK_EQ(put(KV_PREPEND, "b", "start-", 9, 0, 0), KV_STORED);
	CHECK(is("b", "start-deux-end"));
	CHECK_EQ(kv_get("b", 1, 0)->flags, 0);		/* append keeps the flags */
	CHECK_EQ(put(KV_APPEND, "nope", "x", 0, 0, 0), KV_NOT_STORED);
	CHECK_EQ(put(KV_PREPEND, "nope", "x", 0, 0, 0), KV_NOT_STORED);
	CHECK(is("nope", NULL));

	cas = kv_get("a", 1, 0)->cas;
	CHECK_EQ(put(KV_CAS, "a", "new", 0, 0, cas + 1), KV_EXISTS);
	CHECK_EQ(put(KV_CAS, "a", "new", 0, 0, cas), KV_STORED);
	CHECK_EQ(put(KV_CAS, "a", "newer", 0, 0, cas), KV_EXISTS);
	CHECK_EQ(put(KV_CAS, "zz", "x", 0, 0, 1), KV_NOT_FOUND);
	CHECK(kv_get("a", 1, 0)->cas != cas);
	CHECK(is("a", "new"));

	CHECK_EQ(kv_delete("a", 1), KV_DELETED);
	CHECK_EQ(kv_delete("a", 1), KV_NOT_FOUND);
	CHECK(is("a", NULL));

	/* incr and decr: 64-bit, incr wraps, decr stops at 0, digits only. */
	CHECK_EQ(kv_arith("n", 1, 1, 1, &r, NULL), KV_NOT_FOUND);
	CHECK_EQ(put(KV_SET, "n", "18446744073709551614", 0, 0, 0), KV_STORED);
	CHECK_EQ(kv_arith("n", 1, 1, 1, &r, NULL), KV_STORED);
	CHECK(r == UINT64_MAX);
	CHECK(is("n", "18446744073709551615"));
	CHECK_EQ(kv_arith("n", 1, 1, 2, &r, NULL), KV_STORED);
	CHECK_EQ(r, 1);
	CHECK(is("n", "1"));
	CHECK_EQ(kv_arith("n", 1, 0, 5, &r, NULL), KV_STORED);
	CHECK_EQ(r, 0);
	CHECK_EQ(put(KV_SET, "n", "100", 3, 0, 0), KV_STORED);
	CHECK_EQ(kv_arith("n", 1, 0, 1, &r, &cas), KV_STORED);
	CHECK(is("n", "99"));
	CHECK_EQ(kv_get("n", 1, 0)->flags, 3);
	CHECK(kv_get("n", 1, 0)->cas == cas);
	CHECK_EQ(put(KV_SET, "n", "12a", 0, 0, 0), KV_STORED);
	CHECK_EQ(kv_arith("n", 1, 1, 1, &r, NULL), KV_NON_NUMERIC);
	CHECK_EQ(put(KV_SET, "n", "18446744073709551616", 0, 0, 0), KV_STORED);
	CHECK_EQ(kv_arith("n", 1, 1, 1, &r, NULL), KV_NON_NUMERIC);
	CHECK_EQ(put(KV_SET, "n", "", 0, 0, 0), KV_STORED);
	CHECK_EQ(kv_arith("n", 1, 1, 1, &r, NULL), KV_NON_NUMERIC);
	CHECK_EQ(put(KV_SET, "n", "-1", 0, 0, 0), KV_STORED);
	CHECK_EQ(kv_arith("n", 1, 0, 1, &r, NULL), KV_NON_NUMERIC);

	/* Keys and sizes. */
	char key[KV_KEY_MAX + 2];
	memset(key, 'k', sizeof key);
	key[KV_KEY_MAX] = '\0';
	CHECK_EQ(put(KV_SET, key, "long", 0, 0, 0), KV_STORED);
	CHECK(is(key, "long"));
	key[KV_KEY_MAX] = 'k';
	key[KV_KEY_MAX + 1] = '\0';
	CHECK_EQ(put(KV_SET, key, "x", 0, 0, 0), KV_TOO_LARGE);
	enum kv_status why;
	CHECK(kv_item_new("big", 3, 0, 0, KV_ITEM_MAX_DEFAULT, &why) == NULL);
	CHECK_EQ(why, KV_TOO_LARGE);
	struct kv_item *it = kv_item_new("big", 3, 0, 0, KV_ITEM_MAX_DEFAULT - 512, &why);
	CHECK(it != NULL);
	if (it != NULL) {
		memset(kv_value(it), 'v', it->nbytes);
		CHECK_EQ(kv_store(KV_SET, it, 0, NULL), KV_STORED);
		CHECK_EQ(kv_get("big", 3, 0)->nbytes, KV_ITEM_MAX_DEFAULT - 512);
	}
}

TEST(semantics)
{
	struct kv_stats a, b;

	setup();
	kv_stats(&a);
	run(do_semantics);
	kv_stats(&b);
	CHECK_EQ(b.curr_items, 4);	/* b, n, the long key, big */
	CHECK_EQ(b.n[KV_CAS_HITS] - a.n[KV_CAS_HITS], 1);
	CHECK_EQ(b.n[KV_CAS_BADVAL] - a.n[KV_CAS_BADVAL], 2);
	CHECK_EQ(b.n[KV_CAS_MISSES] - a.n[KV_CAS_MISSES], 1);
	CHECK_EQ(b.n[KV_DELETE_HITS] - a.n[KV_DELETE_HITS], 1);
	CHECK_EQ(b.n[KV_INCR_MISSES] - a.n[KV_INCR_MISSES], 1);
	CHECK_EQ(b.n[KV_GET_MISSES] - a.n[KV_GET_MISSES], 2);
	teardown();
}

/* ---- expiry -------------------------------------------------------------- */

static void
do_expiry(void)
{
	int64_t now = kv_now();
	struct kv_stats a, b;

	CHECK_EQ(put(KV_SET, "rel", "x", 0, 10, 0), KV_STORED);
	CHECK_EQ(put(KV_SET, "abs", "x", 0, now + 100, 0), KV_STORED);
	CHECK_EQ(put(KV_SET, "past", "x", 0, now - 100, 0), KV_STORED);
	CHECK_EQ(put(KV_SET, "neg", "x", 0, -1, 0), KV_STORED);
	CHECK_EQ(put(KV_SET, "never", "x", 0, 0, 0), KV_STORED);
	CHECK_EQ(put(KV_SET, "t", "x", 0, 5, 0), KV_STORED);
	CHECK_EQ(put(KV_SET, "month", "x", 0, KV_RELATIVE_MAX, 0), KV_STORED);
	CHECK(is("past", NULL));
	CHECK(is("neg", NULL));
	CHECK_EQ(put(KV_ADD, "neg", "y", 0, 0, 0), KV_STORED);	/* gone: add works */
	CHECK(is("neg", "y"));
	CHECK(is("rel", "x"));
	CHECK(kv_touch("t", 1, 1000) != NULL);
	CHECK(kv_touch("nothere", 7, 1000) == NULL);
	kv_clock_shift(11);
	CHECK(is("rel", NULL));
	CHECK(is("abs", "x"));
	CHECK(is("t", "x"));		/* touched to 1000 s */
	kv_clock_shift(100);
	CHECK(is("abs", NULL));
	CHECK(is("month", "x"));
	kv_clock_shift(KV_RELATIVE_MAX);
	CHECK(is("month", NULL));
	CHECK(is("never", "x"));
	CHECK(is("t", NULL));
	kv_clock_shift(-(11 + 100 + KV_RELATIVE_MAX));

	/* Expired items nobody reads go by the sweep. */
	CHECK_EQ(put(KV_SET, "s1", "x", 0, 5, 0), KV_STORED);
	CHECK_EQ(put(KV_SET, "s2", "x", 0, 5, 0), KV_STORED);
	kv_stats(&a);
	kv_clock_shift(6);
	kv_sweep((size_t)-1 >> 1);
	kv_stats(&b);
	kv_clock_shift(-6);
	CHECK_EQ(a.curr_items - b.curr_items, 2);
	CHECK_EQ(b.n[KV_RECLAIMED] - a.n[KV_RECLAIMED], 2);

	/* flush_all 2: items now go in two seconds, items set after stay. */
	kv_flush(2);
	CHECK(is("never", "x"));
	kv_clock_shift(3);
	CHECK(is("never", NULL));
	CHECK_EQ(put(KV_SET, "after", "x", 0, 0, 0), KV_STORED);
	CHECK(is("after", "x"));
	kv_clock_shift(-3);
}

TEST(expiry)
{
	setup();
	run(do_expiry);
	teardown();
}

/* ---- memory --------------------------------------------------------------- */

#define LIMIT	(1UL << 20)

static void
do_eviction(void)
{
	char key[32], v[1000];
	struct kv_stats st;

	memset(v, 'e', sizeof v);
	v[sizeof v - 1] = '\0';
	kv_set_limit(LIMIT);
	CHECK_EQ(put(KV_SET, "hot", v, 0, 0, 0), KV_STORED);
	for (int i = 0; i < 5000; i++) {	/* about 5 MiB through 1 MiB */
		snprintf(key, sizeof key, "key%d", i);
		CHECK_EQ(put(KV_SET, key, v, 0, 0, 0), KV_STORED);
		if (i % 64 == 0)
			CHECK(is("hot", v));	/* read often: a second chance each time */
		kv_stats(&st);
		if (st.bytes > LIMIT + 1200) {
			CHECK(st.bytes <= LIMIT + 1200);
			break;
		}
	}
	kv_stats(&st);
	CHECK(st.n[KV_EVICTIONS] > 3000);
	CHECK(st.curr_items < 1100 && st.curr_items > 800);
	CHECK(is("hot", v));
	CHECK(is("key0", NULL));
	CHECK(is("key4999", v));
	kv_set_limit(64UL << 20);
}

TEST(eviction)
{
	setup();
	run(do_eviction);
	teardown();
}

/* A GET's buffer keeps the item's bytes after delete and a grace period. */
static struct iobuf *held;
static long blocks_with;

static void
hold(void)
{
	CHECK_EQ(put(KV_SET, "held", "zero copy", 0, 0, 0), KV_STORED);
	struct kv_item *it = kv_get("held", 4, 1);
	held = kv_value_buf(it);
	CHECK(held != NULL && held->len == 11 && memcmp(held->data, "zero copy\r\n", 11) == 0);
	CHECK(held->data == (uint8_t *)kv_value(it));		/* not a copy */
	CHECK_EQ(kv_delete("held", 4), KV_DELETED);
	blocks_with = iobuf_blocks_live();
}

TEST(zero_copy_outlives_delete)
{
	setup();
	long blocks0 = iobuf_blocks_live();
	run(hold);			/* ... and the grace period after it */
	CHECK_EQ(iobuf_blocks_live(), blocks0 + 1);	/* the item's block, still held */
	CHECK(memcmp(held->data, "zero copy\r\n", 11) == 0);
	iobuf_free(held);
	CHECK_EQ(iobuf_blocks_live(), blocks0);
	teardown();
}

/* ---- four cores ------------------------------------------------------------ */

#define SHARED_KEYS	16
#define ROUNDS		40000
#define CAS_EVERY	16

static long torn, hits, casfail;
static int finished;

/* One cas increment of "ctr", retried until it lands. */
static void
cas_increment(void)
{
	for (;;) {
		struct kv_item *it = kv_get("ctr", 3, 0);
		char num[24];
		uint64_t v = 0;
		for (uint32_t i = 0; i < it->nbytes; i++)
			v = v * 10 + (uint64_t)(kv_value(it)[i] - '0');
		int len = snprintf(num, sizeof num, "%llu", (unsigned long long)v + 1);
		enum kv_status why;
		struct kv_item *n = kv_item_new("ctr", 3, 0, 0, (size_t)len, &why);
		memcpy(kv_value(n), num, (size_t)len);
		if (kv_store(KV_CAS, n, it->cas, NULL) == KV_STORED)
			return;
		__atomic_fetch_add(&casfail, 1, __ATOMIC_RELAXED);
	}
}

/*
 * One core's share: random sets and gets of the shared keys, and a cas
 * increment every CAS_EVERY rounds.  A value proves itself whole: its
 * length and seed first, a pattern of the seed after.
 */
static void
writer_reader(void *arg)
{
	int me = (int)(uintptr_t)arg;
	uint64_t x = 0x1234567ULL * (uint64_t)(me + 1);

	for (int r = 0; r < ROUNDS; r++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		char key[8];
		snprintf(key, sizeof key, "s%d", (int)(x >> 40) % SHARED_KEYS);
		if (r % CAS_EVERY == 0)
			cas_increment();
		if ((x >> 33) % 3 == 0) {
			size_t n = 16 + (size_t)(x >> 50) % 3000;
			enum kv_status why;
			struct kv_item *it = kv_item_new(key, strlen(key), 0, 0, n, &why);
			if (it == NULL) {
				__atomic_fetch_add(&torn, 1, __ATOMIC_RELAXED);
				continue;
			}
			uint64_t seed = x;
			memcpy(kv_value(it), &n, 8);
			memcpy(kv_value(it) + 8, &seed, 8);
			test_fill(kv_value(it) + 16, n - 16, seed);
			kv_store(KV_SET, it, 0, NULL);
		} else {
			struct kv_item *it = kv_get(key, strlen(key), 1);
			if (it == NULL)
				continue;
			size_t n;
			uint64_t seed;
			memcpy(&n, kv_value(it), 8);
			memcpy(&seed, kv_value(it) + 8, 8);
			if (n != it->nbytes || !test_intact(kv_value(it) + 16, n - 16, seed))
				__atomic_fetch_add(&torn, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&hits, 1, __ATOMIC_RELAXED);
		}
	}
	if (__atomic_add_fetch(&finished, 1, __ATOMIC_ACQ_REL) == NCORES) {
		drained = 0;
		for (int c = 0; c < NCORES; c++)
			spawn_on(c, drain, NULL);
	}
}

static void
cores_first(void *arg)
{
	(void)arg;
	CHECK_EQ(put(KV_SET, "ctr", "0", 0, 0, 0), KV_STORED);
	for (int c = 0; c < NCORES; c++)
		spawn_on(c, writer_reader, (void *)(uintptr_t)c);
}

/* The counter: every cas increment landed exactly once. */
static void
check_ctr(void)
{
	uint64_t r;

	CHECK_EQ(kv_arith("ctr", 3, 1, 0, &r, NULL), KV_STORED);
	CHECK_EQ(r, NCORES * ROUNDS / CAS_EVERY);
}

TEST(four_cores_same_keys)
{
	setup();
	CHECK_EQ(event_run(cores_first, NULL), 0);
	CHECK_EQ(torn, 0);
	CHECK(hits > 1000);
	run(check_ctr);
	printf("# %ld reads checked, %ld cas retries\n", hits, casfail);
	teardown();
}
