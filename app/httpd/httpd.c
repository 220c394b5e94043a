/*
 * httpd.c: the HTTP/1.1 server's connections and its app_main.
 * Portable.
 *
 *	build/hosted/httpd --tap tap0 ip=10.77.0.2/24 [port=80] [conns=4096]
 *	make run APP=httpd			(the URL is printed first)
 *
 * Each connection lives on its TCP owner core, like everything of it
 * (tcp.h): its state (struct hconn), its timer, its callbacks; nothing
 * here takes a lock.  The life of one:
 *
 *	accept -> (receive -> parse -> serve -> out -> tcp_send)* ...
 *	       -> the peer's FIN, or Connection: close / an error
 *	       -> linger: our FIN sent, input read and dropped until the
 *	          peer's FIN (or LINGER_S after it has acknowledged our
 *	          answers) -> tcp_close
 *
 * Pipelining and backpressure.  Received bytes wait in `in` and are
 * parsed in order; each complete request's response is appended to
 * `out` at once, so responses leave in request order.  The connection
 * runs with TCP_OPT_MANUAL_RECVED: bytes count against the receive
 * window until the parser has taken them, and the parser stops while
 * `out` holds more than OUT_MAX bytes, so a client that pipelines and
 * never reads fills its window and waits, and we hold a bounded amount
 * for it (OUT_MAX plus one response; file bodies are views of the
 * image, not copies).
 *
 * Timers.  One per connection, armed at its deadline and moved lazily
 * (a later deadline is only noted; the early fire re-arms):
 *   - idle=SECONDS (15): no request in progress and nothing sent for
 *     that long: closed quietly (RFC 9112 9.6: a server may close an
 *     idle connection); a client that stopped reading our responses
 *     for that long is reset;
 *   - header=SECONDS (10): a request's headers must all have come
 *     within that long of its first byte, however they trickle in, or
 *     it gets 408 and the connection closes (slowloris);
 *   - LINGER_S after our FIN and the peer's acknowledgement of every
 *     answer (idle= while some is unacknowledged: a lost answer is
 *     waiting for its retransmission), the connection is given up.
 * Connections are bounded (conns=N, 4096): the one over the bound gets
 * 503 and a close at once, so thousands of slow clients cost a bounded
 * amount, and each is cut off by header= anyway.
 *
 * The counters (requests, statuses, refusals, timeouts) are per core
 * (struct httpd_stats, written only by their core), for /stats.json.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebb/runtime.h"
#include "ebb/timer.h"
#include "kernel/param.h"
#include "kernel/platform.h"
#include "tcp/dhcp.h"
#include "tcp/netcfg.h"
#include "tcp/netif.h"
#include "tcp/pkt.h"
#include "tcp/tcp.h"
#include "http.h"

#define OUT_MAX		(256 * 1024)	/* parse no further while more is unsent */
#define LINGER_S	2		/* after our FIN and answers acked, at most */
#define S		1000000000ULL	/* nanoseconds in a second */

static uint16_t port = 80;
static long conns_max = 4096;
static uint64_t idle_ns = 15 * S, header_ns = 10 * S;

/* One connection, on its owner core. */
struct hconn {
	struct tcp_conn *c;
	struct iobuf *in;	/* received, not parsed yet */
	struct iobuf *out;	/* answers not taken by tcp_send yet */
	int busy;		/* a request has begun (its first byte came) */
	int closing;		/* close once out has gone */
	int lingering;		/* our FIN sent: dropping input until theirs */
	int fin;		/* the peer's FIN came */
	uint64_t deadline;	/* when the timer's current rule runs out */
	uint64_t started;	/* the current request's first byte */
	struct timer timer;
	struct http_req req;
};

/* Count field on this core (only this core writes its struct). */
#define HSTAT(field) do {						\
	uint64_t *c_ = &httpd_percore[core_id()].field;			\
	__atomic_store_n(c_, *c_ + 1, __ATOMIC_RELAXED);		\
} while (0)

static void conn_process(struct hconn *h);

/*
 * The Date header's value now: each core formats it once a second, in
 * its own slot (only it writes there), not once a request.
 */
static struct date_slot {
	int64_t sec;		/* the wall clock's second it says (0: none yet) */
	char s[30];		/* http_date's */
} __attribute__((aligned(CACHE_LINE))) dates[NCPU];

static const char *
date_now(void)
{
	struct date_slot *d = &dates[core_id()];
	int64_t t = (int64_t)(wall_ns() / S);

	if (t != d->sec) {
		http_date(t, d->s);
		d->sec = t;
	}
	return d->s;
}

/* Move h's deadline to t; the timer is re-armed only if t is earlier. */
static void
deadline(struct hconn *h, uint64_t t)
{
	h->deadline = t;
	if (!timer_armed(&h->timer) || t < h->timer.deadline)
		timer_start_at(&h->timer, t, 0);	/* ENOMEM: the old one stands */
}

/* Free h (the TCP handle already given up or gone). */
static void
conn_free(struct hconn *h)
{
	timer_stop(&h->timer);
	iobuf_free_chain(h->in);
	iobuf_free_chain(h->out);
	free(h);
	__atomic_sub_fetch(&httpd_nconns, 1, __ATOMIC_RELAXED);
}

/* Give the handle up (FIN, or RST if input is left unread) and free h. */
static void
conn_close(struct hconn *h)
{
	tcp_close(h->c);
	conn_free(h);
}

/* Drop what waits in `in`, giving its window back. */
static void
drop_input(struct hconn *h)
{
	tcp_recved(h->c, iobuf_chain_len(h->in));
	iobuf_free_chain(h->in);
	h->in = NULL;
}

/* Has the peer acknowledged every byte of our answers? */
static int
answers_acked(struct hconn *h)
{
	struct tcp_info ti;

	tcp_conn_info(h->c, &ti);
	return ti.sndq == 0;
}

/*
 * Everything is answered and the answers have gone to TCP: send our FIN
 * and linger, reading and dropping, until the peer's FIN, or LINGER_S
 * after the peer has acknowledged our answers (so that input already
 * on its way does not reset an answer away before it has arrived; a
 * lost answer waits for TCP's retransmission, up to idle=).
 */
static void
conn_linger(struct hconn *h)
{
	drop_input(h);
	if (h->fin || tcp_shutdown(h->c) != 0) {
		conn_close(h);
		return;
	}
	h->lingering = 1;
	deadline(h, clock_ns() + (answers_acked(h) ? LINGER_S * S : idle_ns));
}

/* Hand out to TCP as far as it takes; close when all went and we are done. */
static void
conn_flush(struct hconn *h)
{
	if (h->out != NULL) {
		long n = tcp_send(h->c, h->out);
		if (n < 0) {			/* the connection is going */
			tcp_abort(h->c);
			conn_free(h);
			return;
		}
		h->out = pkt_drop(h->out, (size_t)n);
	}
	if (h->out == NULL && (h->closing || (h->fin && !h->busy && h->in == NULL)))
		conn_linger(h);
}

/* Append one answer to out and count it. */
static void
conn_answer(struct hconn *h, struct http_resp *resp)
{
	struct httpd_stats *st = &httpd_percore[core_id()];
	int cls = resp->status / 100;

	HSTAT(requests);
	if (cls >= 2 && cls <= 5)
		__atomic_store_n(&st->status[cls], st->status[cls] + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&st->body_bytes, st->body_bytes + resp->body, __ATOMIC_RELAXED);
	if (resp->chain == NULL) {	/* out of memory: nothing to say it with */
		h->closing = 1;
		return;
	}
	if (h->out == NULL)
		h->out = resp->chain;
	else
		iobuf_chain_append(h->out, resp->chain);
	if (resp->close)
		h->closing = 1;
}

/* Parse what waits in `in` while there is room for answers. */
static void
conn_process(struct hconn *h)
{
	struct http_resp resp;

	while (h->in != NULL && !h->closing && iobuf_chain_len(h->out) < OUT_MAX) {
		struct iobuf *b = h->in;
		if (!h->busy && b->len > 0) {
			h->busy = 1;		/* slowloris: the whole head by then */
			h->started = clock_ns();
			deadline(h, h->started + header_ns);
		}
		size_t used = http_parse(&h->req, b->data, b->len);
		h->in = pkt_drop(h->in, used);
		tcp_recved(h->c, used);
		if (h->req.state == HP_BODY || h->req.state == HP_CDATA)
			deadline(h, clock_ns() + idle_ns);	/* a body: progress */
		if (h->req.state != HP_DONE && h->req.state != HP_ERROR)
			continue;
		http_serve(&h->req, date_now(), &resp, stats_json);
		conn_answer(h, &resp);
		http_req_init(&h->req);
		h->busy = 0;
		deadline(h, clock_ns() + idle_ns);
	}
	if (h->closing && h->in != NULL)
		drop_input(h);
	conn_flush(h);
}

/* Bytes from the peer (NULL: its FIN). */
static void
conn_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	struct hconn *h = arg;

	(void)c;
	if (data == NULL) {
		h->fin = 1;
		if (h->lingering) {
			conn_close(h);
			return;
		}
		if (h->busy)		/* a request cut short: never answered */
			h->closing = 1;
		conn_process(h);
		return;
	}
	if (h->lingering || h->closing) {
		tcp_recved(c, iobuf_chain_len(data));
		iobuf_free_chain(data);
		return;
	}
	if (h->in == NULL)
		h->in = data;
	else
		iobuf_chain_append(h->in, data);
	conn_process(h);
}

/* Send space came free: more of out, then maybe more parsing. */
static void
conn_sent(void *arg, struct tcp_conn *c, size_t acked)
{
	struct hconn *h = arg;

	(void)c;
	(void)acked;
	if (h->lingering) {
		if (answers_acked(h))	/* they arrived: LINGER_S from now */
			deadline(h, clock_ns() + LINGER_S * S);
		return;
	}
	if (!h->busy)
		deadline(h, clock_ns() + idle_ns);	/* the client is reading */
	if (h->in != NULL && !h->closing) {
		conn_process(h);		/* flushes too */
		return;
	}
	conn_flush(h);
}

/* Both FINs done. */
static void
conn_closed(void *arg, struct tcp_conn *c)
{
	(void)c;
	conn_close(arg);
}

/* Reset or timed out: only our state to free. */
static void
conn_aborted(void *arg, struct tcp_conn *c, int reason)
{
	(void)c;
	(void)reason;
	conn_free(arg);
}

static const struct tcp_callbacks conn_cb = {
	.receive = conn_receive, .sent = conn_sent, .closed = conn_closed,
	.aborted = conn_aborted,
};

/* The connection's timer: which rule ran out, if any. */
static void
conn_timer(void *arg)
{
	struct hconn *h = arg;
	struct http_resp resp;

	if (clock_ns() < h->deadline) {
		timer_start_at(&h->timer, h->deadline, 0);	/* moved later */
		return;
	}
	if (h->lingering) {
		conn_close(h);
	} else if (h->out != NULL) {		/* not reading our answers */
		HSTAT(idle_timeouts);
		tcp_abort(h->c);
		conn_free(h);
	} else if (h->busy) {			/* slowloris */
		HSTAT(header_timeouts);
		drop_input(h);
		http_error(408, date_now(), &resp);
		conn_answer(h, &resp);
		conn_flush(h);
	} else {
		HSTAT(idle_timeouts);
		conn_linger(h);
	}
}

/* Connections over conns=: 503 and close, nothing kept. */
static const struct tcp_callbacks refused_cb;

/* A new connection. */
static int
conn_accept(void *arg, struct tcp_conn *c)
{
	struct hconn *h;

	(void)arg;
	if (__atomic_add_fetch(&httpd_nconns, 1, __ATOMIC_RELAXED) > conns_max ||
	    (h = malloc(sizeof *h)) == NULL) {
		struct http_resp resp;
		__atomic_sub_fetch(&httpd_nconns, 1, __ATOMIC_RELAXED);
		HSTAT(refused);
		http_error(503, date_now(), &resp);
		tcp_attach(c, &refused_cb, NULL);
		if (resp.chain != NULL)
			tcp_send(c, resp.chain);
		iobuf_free_chain(resp.chain);
		tcp_close(c);
		return 0;
	}
	memset(h, 0, offsetof(struct hconn, req));
	http_req_init(&h->req);
	h->c = c;
	timer_setup(&h->timer, conn_timer, h);
	HSTAT(accepted);
	tcp_setopt(c, TCP_OPT_MANUAL_RECVED, 1);
	tcp_setopt(c, TCP_OPT_NODELAY, 1);	/* an answer's tail goes at once */
	tcp_attach(c, &conn_cb, h);
	deadline(h, clock_ns() + idle_ns);
	return 0;
}

/* ---- the app --------------------------------------------------------------- */

/*
 * The server without its network setup: the packed files' entries, the
 * listener on port p (on every interface), the stats sampler.  0, or -1
 * after saying why.  app_main calls it; so does test/bench_httpd.c,
 * which has its own interfaces.
 */
int
httpd_start(uint16_t p)
{
	int err;

	if ((err = www_init()) != 0) {
		printf("httpd: %s\n", strerror(err));
		return -1;
	}
	if ((err = tcp_listen(p, conn_accept, NULL)) != 0) {
		printf("httpd: cannot listen on tcp port %u: %s\n", p, strerror(err));
		return -1;
	}
	if ((err = stats_start()) != 0) {
		printf("httpd: cannot start the stats sampler: %s\n", strerror(err));
		return -1;
	}
	return 0;
}

/* The interface has (or has lost) its address: say where to look. */
static void
configured(void *arg, struct netif *nif)
{
	char b[16];

	(void)arg;
	if (nif->ip == 0)
		printf("httpd: lease lost on %s; asking again\n", nif->name);
	else
		printf("httpd: serving %d files on http://%s:%u/ (status page: /status)\n",
		    www_count(), netcfg_fmt(nif->ip, b), port);
	fflush(stdout);
}

static int
usage(const char *why, const char *arg)
{
	printf("httpd: %s: %s\nusage: httpd %s\n", arg, why, app_usage);
	return EXIT_USAGE;
}

/* "name=N" with lo <= N <= hi into *v; 0, or -1. */
static int
num_arg(const char *a, const char *name, long lo, long hi, long *v)
{
	size_t n = strlen(name);
	char *end;

	if (strncmp(a, name, n) != 0 || a[n] != '=' || a[n + 1] < '0' || a[n + 1] > '9')
		return -1;
	*v = strtol(a + n + 1, &end, 10);
	return *end == '\0' && *v >= lo && *v <= hi ? 0 : -1;
}

const char app_usage[] = "[ip=dhcp | ip=A.B.C.D/N[,gw=G]] [port=80] [conns=4096] [idle=15]"
    " [header=10] (seconds) [time_wait=60000] (ms)";

int
app_main(int argc, char **argv)
{
	const char *cfg = "ip=dhcp";
	uint32_t ip = 0, mask = 0, gw = 0;
	struct netif *nif;
	long v;
	int err;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "ip=", 3) == 0)
			cfg = a;
		else if (num_arg(a, "port", 1, 65535, &v) == 0)
			port = (uint16_t)v;
		else if (num_arg(a, "conns", 1, 1000000, &v) == 0)
			conns_max = v;
		else if (num_arg(a, "idle", 1, 86400, &v) == 0)
			idle_ns = (uint64_t)v * S;
		else if (num_arg(a, "header", 1, 86400, &v) == 0)
			header_ns = (uint64_t)v * S;
		else if (num_arg(a, "time_wait", 1, 240000, &v) == 0) {
			struct tcp_config tc;	/* TCP's 2MSL, in ms: tests shorten it */
			tcp_config_get(&tc);
			tc.time_wait_ms = (uint32_t)v;
			tcp_configure(&tc);
		}
		else
			return usage(strchr(a, '=') != NULL ? "not a number in its range" :
			    "unknown argument", a);
	}
	if (strcmp(cfg, "ip=dhcp") != 0 && (err = netcfg_parse(cfg, &ip, &mask, &gw)) != NETCFG_OK)
		return usage(netcfg_error(err), cfg);
	if ((nif = netif_first()) == NULL) {
		printf("httpd: no network interface: give it one with make run NET=user or"
		    " NET=tap (natively) or --tap NAME (hosted, as root)\n");
		return 69;	/* EX_UNAVAILABLE */
	}
	if (httpd_start(port) != 0)
		return 1;
	if (ip == 0) {
		printf("httpd: asking for an address on %s (DHCP)\n", nif->name);
		fflush(stdout);
		if ((err = dhcp_start(nif, configured, NULL)) != 0) {
			printf("httpd: cannot start DHCP: %s\n", strerror(err));
			return 1;
		}
	} else {
		netcfg_apply(nif, ip, mask, gw);
		configured(NULL, nif);
	}
	return EBB_RUN;
}
