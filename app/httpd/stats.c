/*
 * stats.c: /stats.json, the instance's counters as one JSON object, for
 * the status page (www/status.html) and for any monitoring script.
 * Portable.  Its fields are documented in README.md.
 *
 * Most counters are per core and written only by their core with
 * relaxed atomic stores (the network stack's net_percore, the event
 * loops', httpd's own httpd_percore), so any core may add them up
 * without locks; a snapshot may be a moment stale on one core and
 * fresh on another, which a chart polled once a second does not mind.
 * The one exception is the TCP connections by state: a core's
 * connection table may be walked only by that core, so stats_start
 * arms a one-second timer on every core that counts its own table
 * into tcp_states[core] (tcp_count_states), and the JSON reads those
 * samples.
 *
 *	GET /stats.json -> serve.c -> stats_json -> a fresh iobuf chain
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebb/event.h"
#include "ebb/timer.h"
#include "kernel/page.h"
#include "kernel/platform.h"
#include "kernel/slab.h"
#include "tcp/stats.h"
#include "tcp/tcp.h"
#include "http.h"

#define JSON_MAX	(6 * 1024 + NCPU * 96)	/* the object's bytes, at most */
#define SLABS_MAX	64			/* slab caches looked at */

struct httpd_stats httpd_percore[NCPU];
long httpd_nconns;

/* Each core's last sample of its own connections by state. */
static struct {
	long n[TCP_TIME_WAIT + 1];
} __attribute__((aligned(CACHE_LINE))) tcp_states[NCPU];

static struct timer sampler[NCPU];	/* each core's own */

/* Count this core's connections by state into its slot. */
static void
sample(void *arg)
{
	long n[TCP_TIME_WAIT + 1] = { 0 };

	(void)arg;
	tcp_count_states(n);
	for (int s = 0; s <= TCP_TIME_WAIT; s++)	/* whole values for readers */
		__atomic_store_n(&tcp_states[core_id()].n[s], n[s], __ATOMIC_RELAXED);
}

/* On each core: sample now and every second. */
static void
sampler_start(void *arg)
{
	(void)arg;
	sample(NULL);
	timer_setup(&sampler[core_id()], sample, NULL);
	timer_start(&sampler[core_id()], 1000000000ULL, 1000000000ULL);
}

int
stats_start(void)
{
	for (int c = 0; c < core_count(); c++)
		if (spawn_on(c, sampler_start, NULL) != 0)
			return ENOMEM;
	return 0;
}

/* A JSON text being written. */
struct jb {
	char *p;
	size_t n;
	int over;
};

static void __attribute__((format(printf, 2, 3)))
j(struct jb *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->over)
		return;
	va_start(ap, fmt);
	k = vsnprintf(b->p + b->n, JSON_MAX - b->n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= JSON_MAX - b->n)
		b->over = 1;
	else
		b->n += (size_t)k;
}

/* Per core: events run, time asleep, TCP segments, requests. */
static void
json_cores(struct jb *b)
{
	j(b, "\"cores\":[");
	for (int c = 0; c < core_count(); c++) {
		struct event_stats es;
		const struct tcp_stats *t = &net_percore[c].tcp;
		event_stats(c, &es);
		j(b, "%s{\"events\":%llu,\"idle_ns\":%llu,\"sleeps\":%llu,\"segs_in\":%llu,"
		    "\"segs_out\":%llu,\"requests\":%llu}", c > 0 ? "," : "",
		    (unsigned long long)es.run, (unsigned long long)es.idle_ns,
		    (unsigned long long)es.sleeps,
		    (unsigned long long)__atomic_load_n(&t->rx, __ATOMIC_RELAXED),
		    (unsigned long long)__atomic_load_n(&t->tx, __ATOMIC_RELAXED),
		    (unsigned long long)__atomic_load_n(&httpd_percore[c].requests,
		    __ATOMIC_RELAXED));
	}
	j(b, "],");
}

/* The stack: TCP by state, segments, retransmissions, drops by reason. */
static void
json_tcp(struct jb *b, const struct net_stats *s)
{
	const struct tcp_stats *t = &s->tcp;
	long st[TCP_TIME_WAIT + 1] = { 0 };

	for (int c = 0; c < core_count(); c++)
		for (int k = 0; k <= TCP_TIME_WAIT; k++)
			st[k] += __atomic_load_n(&tcp_states[c].n[k], __ATOMIC_RELAXED);
	j(b, "\"tcp\":{\"states\":{");
	for (int k = TCP_SYN_SENT; k <= TCP_TIME_WAIT; k++)
		j(b, "%s\"%s\":%ld", k > TCP_SYN_SENT ? "," : "", tcp_state_name(k), st[k]);
	j(b, "},\"live\":%ld,\"segs_in\":%llu,\"segs_out\":%llu,\"retransmits\":%llu,"
	    "\"fast_retransmits\":%llu,\"timeouts\":%llu,\"accepts\":%llu,\"resets_out\":%llu,",
	    tcp_live(), (unsigned long long)t->rx, (unsigned long long)t->tx,
	    (unsigned long long)t->retransmits, (unsigned long long)t->fast_retransmits,
	    (unsigned long long)t->timeouts, (unsigned long long)t->accepts,
	    (unsigned long long)t->rst_tx);
	j(b, "\"drops\":{\"short\":%llu,\"bad_offset\":%llu,\"bad_csum\":%llu,\"bad_addr\":%llu,"
	    "\"no_conn\":%llu,\"out_of_window\":%llu,\"ooo_drops\":%llu,\"paws\":%llu,"
	    "\"bad_ack\":%llu,\"after_close\":%llu,\"backlog\":%llu,\"conn_limit\":%llu,"
	    "\"nomem\":%llu}},",
	    (unsigned long long)t->rx_short, (unsigned long long)t->rx_bad_off,
	    (unsigned long long)t->rx_bad_csum, (unsigned long long)t->rx_bad_addr,
	    (unsigned long long)t->rx_no_conn, (unsigned long long)t->rx_out_of_window,
	    (unsigned long long)t->rx_ooo_drops, (unsigned long long)t->rx_paws,
	    (unsigned long long)t->rx_bad_ack, (unsigned long long)t->rx_after_close,
	    (unsigned long long)t->backlog_drops, (unsigned long long)t->conn_limit,
	    (unsigned long long)t->nomem);
	j(b, "\"ip\":{\"in\":%llu,\"out\":%llu,\"drops\":{\"short\":%llu,\"bad_header\":%llu,"
	    "\"bad_csum\":%llu,\"not_ours\":%llu,\"fragments\":%llu,\"bad_proto\":%llu,"
	    "\"no_route\":%llu,\"nomem\":%llu}},",
	    (unsigned long long)s->ip.rx, (unsigned long long)s->ip.tx,
	    (unsigned long long)s->ip.rx_short,
	    (unsigned long long)(s->ip.rx_bad_version + s->ip.rx_bad_hlen + s->ip.rx_bad_len),
	    (unsigned long long)s->ip.rx_bad_csum, (unsigned long long)s->ip.rx_not_ours,
	    (unsigned long long)s->ip.rx_frag, (unsigned long long)s->ip.rx_bad_proto,
	    (unsigned long long)s->ip.tx_no_route, (unsigned long long)s->ip.tx_nomem);
	j(b, "\"eth\":{\"in\":%llu,\"out\":%llu,\"drops\":{\"short\":%llu,\"not_ours\":%llu,"
	    "\"bad_type\":%llu}},", (unsigned long long)s->eth.rx, (unsigned long long)s->eth.tx,
	    (unsigned long long)s->eth.rx_short, (unsigned long long)s->eth.rx_not_ours,
	    (unsigned long long)s->eth.rx_bad_type);
}

/* Memory: pages, slab objects and pages, iobufs. */
static void
json_memory(struct jb *b)
{
	struct slab_stats *ss = malloc(SLABS_MAX * sizeof *ss);
	size_t objs = 0, spages = 0;
	int n = ss == NULL ? 0 : slab_stats_all(ss, SLABS_MAX);

	for (int i = 0; i < n; i++) {
		objs += ss[i].in_use;
		spages += ss[i].pages;
	}
	free(ss);
	j(b, "\"memory\":{\"pages_total\":%zu,\"pages_free\":%zu,\"slab_objects\":%zu,"
	    "\"slab_pages\":%zu,\"iobufs\":%ld,\"iobuf_blocks\":%ld},",
	    page_count_total(), page_count_free(), objs, spages, iobuf_live(),
	    iobuf_blocks_live());
}

/* httpd's own counters, all cores. */
static void
json_http(struct jb *b)
{
	uint64_t sum[sizeof(struct httpd_stats) / 8] = { 0 };
	struct httpd_stats *h = (struct httpd_stats *)sum;

	for (int c = 0; c < core_count(); c++) {
		const uint64_t *p = (const uint64_t *)&httpd_percore[c];
		for (size_t k = 0; k < sizeof sum / sizeof sum[0]; k++)
			sum[k] += __atomic_load_n(&p[k], __ATOMIC_RELAXED);
	}
	j(b, "\"http\":{\"requests\":%llu,\"connections\":%ld,\"accepted\":%llu,"
	    "\"refused\":%llu,\"idle_timeouts\":%llu,\"header_timeouts\":%llu,"
	    "\"body_bytes\":%llu,\"status\":{\"2xx\":%llu,\"3xx\":%llu,\"4xx\":%llu,"
	    "\"5xx\":%llu}}", (unsigned long long)h->requests,
	    __atomic_load_n(&httpd_nconns, __ATOMIC_RELAXED), (unsigned long long)h->accepted,
	    (unsigned long long)h->refused, (unsigned long long)h->idle_timeouts,
	    (unsigned long long)h->header_timeouts, (unsigned long long)h->body_bytes,
	    (unsigned long long)h->status[2], (unsigned long long)h->status[3],
	    (unsigned long long)h->status[4], (unsigned long long)h->status[5]);
}

struct iobuf *
stats_json(void)
{
	static struct net_stats ns[NCPU];	/* each core's own scratch */
	struct jb b = { .p = malloc(JSON_MAX) };
	struct iobuf *out = NULL;

	if (b.p == NULL)
		return NULL;
	net_stats_read(&ns[core_id()]);
	j(&b, "{\"time_ms\":%llu,\"uptime_ms\":%llu,\"ncores\":%d,",
	    (unsigned long long)(wall_ns() / 1000000), (unsigned long long)(clock_ns() / 1000000),
	    core_count());
	json_cores(&b);
	json_tcp(&b, &ns[core_id()]);
	json_memory(&b);
	json_http(&b);
	j(&b, "}\n");
	if (!b.over && (out = iobuf_alloc(0, b.n)) != NULL)
		memcpy(iobuf_put(out, b.n), b.p, b.n);
	free(b.p);
	return out;
}
