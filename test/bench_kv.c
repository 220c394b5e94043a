/*
 * bench_kv.c: app/kvstore's request path without the network: the text
 * parser, the store and the reply batch, one request at a time on one
 * core, as conn.c drives them for each received segment.
 *
 *	build/hosted/bench_kv [N]	N GETs (hits) and N SETs of 32-byte
 *					keys and 64-byte values, then N GETs
 *					as meta commands ("mg KEY v") and N
 *					as binary GETs; ns per request
 *
 * callgrind.sh runs it twice with different N and prints the marginal
 * instructions per GET and per SET, text, and per mg and binary GET
 * (valgrind's count is repeatable;
 * the times are not, on a shared host).  The TCP and driver instructions
 * of a request are the TCP figures of callgrind.sh beside these.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/kvstore/proto.h"
#include "app/kvstore/store.h"
#include "kernel/platform.h"
#include "benchlib.h"

#define KEYS	1000

void kv_bench_gets(struct kv_text *t);
void kv_bench_sets(struct kv_text *t);
void kv_bench_mgets(struct kv_text *t);
void kv_bench_bgets(struct kv_text *t);

static long n;
static char sets[KEYS][160], gets[KEYS][64], mgets[KEYS][64], bgets[KEYS][64];
static size_t setlen[KEYS], getlen[KEYS], mgetlen[KEYS], bgetlen[KEYS];

/* Feed one request; the reply chain is freed as after tcp_send. */
static void
request(struct kv_text *t, const char *p, size_t len)
{
	struct kv_out o;

	kv_out_init(&o);
	kv_text_input(t, p, len, &o);
	kv_out_free(&o);
}

/* The measured loops, each a function of its own for callgrind's --toggle-collect. */
__attribute__((noinline)) void
kv_bench_gets(struct kv_text *t)
{
	for (long i = 0; i < n; i++)
		request(t, gets[i % KEYS], getlen[i % KEYS]);
}

__attribute__((noinline)) void
kv_bench_sets(struct kv_text *t)
{
	for (long i = 0; i < n; i++)
		request(t, sets[i % KEYS], setlen[i % KEYS]);
}

__attribute__((noinline)) void
kv_bench_mgets(struct kv_text *t)
{
	for (long i = 0; i < n; i++)
		request(t, mgets[i % KEYS], mgetlen[i % KEYS]);
}

__attribute__((noinline)) void
kv_bench_bgets(struct kv_text *t)
{
	for (long i = 0; i < n; i++)
		request(t, bgets[i % KEYS], bgetlen[i % KEYS]);
}

/* A binary GET of key (32 bytes): the 24-byte header, then the key. */
static size_t
binary_get(char *p, const char *key)
{
	memset(p, 0, 24);
	p[0] = (char)KV_BIN_MAGIC;	/* opcode 0: GET */
	p[3] = 32;			/* key length */
	p[11] = 32;			/* total body length */
	memcpy(p + 24, key, 32);
	return 24 + 32;
}

static void
bench(void *arg)
{
	struct kv_text t, tm, tb;

	(void)arg;
	kv_text_init(&t);
	kv_text_init(&tm);
	kv_text_init(&tb);
	for (int i = 0; i < KEYS; i++) {
		char key[40];
		snprintf(key, sizeof key, "key:%028d", i);	/* 32 bytes */
		setlen[i] = (size_t)snprintf(sets[i], sizeof sets[i],
		    "set %s 0 0 64\r\n%064d\r\n", key, i);
		getlen[i] = (size_t)snprintf(gets[i], sizeof gets[i], "get %s\r\n", key);
		mgetlen[i] = (size_t)snprintf(mgets[i], sizeof mgets[i], "mg %s v\r\n", key);
		bgetlen[i] = binary_get(bgets[i], key);
		request(&t, sets[i], setlen[i]);
	}
	uint64_t t0 = clock_ns();
	kv_bench_gets(&t);
	uint64_t t1 = clock_ns();
	kv_bench_sets(&t);
	uint64_t t2 = clock_ns();
	kv_bench_mgets(&tm);
	uint64_t t3 = clock_ns();
	kv_bench_bgets(&tb);
	uint64_t t4 = clock_ns();
	struct kv_stats st;
	kv_stats(&st);
	printf("bench_kv: %ld GETs %.0f ns each, %ld SETs %.0f ns each, mg %.0f ns, binary GET"
	    " %.0f ns (parser, store, replies; no network), %llu hits\n", n,
	    (double)(t1 - t0) / (double)n, n, (double)(t2 - t1) / (double)n,
	    (double)(t3 - t2) / (double)n, (double)(t4 - t3) / (double)n,
	    (unsigned long long)st.n[KV_GET_HITS]);
	kv_text_free(&t);
	kv_text_free(&tm);
	kv_text_free(&tb);
	event_stop(0);
}

int
main(int argc, char **argv)
{
	n = argc > 1 ? atol(argv[1]) : 1000000;
	bench_runtime(1);
	if (kv_init(64UL << 20, 0) != 0)
		return 1;
	return event_run(bench, NULL);
}
