/*
 * test_httpc.c: the HTTP/1.1 client (ebb/httpc.c) against a fake
 * server written here, over a memlink (test/netwire.h): the client
 * connects from the link's A side, 10.91.0.1, to the server on its B
 * side, 10.91.0.2.  The server reads the request head (and its body,
 * by Content-Length), checks it, then answers with a scenario's pieces,
 * each written on its own (Nagle off, so each is a segment of its
 * own); then it closes, or waits for the client's FIN.
 *
 *	length		Content-Length bodies: 200 with a body, 404, 204 with
 *			none, a 201 after an interim 100, a head with bare LFs
 *			and no reason phrase; the request's line, Host,
 *			Content-Type and body arrive as sent
 *	chunked		a chunked body split at odd places (inside the status
 *			line, between CR and LF, in a chunk size, with an
 *			extension and a trailer); a 200 KiB chunked body
 *	close		a body delimited by the server's close (HTTP/1.0)
 *	malformed	a bad status line, a bad chunk size, a chunk longer
 *			than its size, a bad
 *			Content-Length, a head that never ends: EPROTO
 *	limit		bodies over body_max (by length, chunked, until
 *			close): EMSGSIZE
 *	truncated	the server closes inside a body: ECONNRESET
 *	timeout		the server never answers: ETIMEDOUT after timeout_ms
 *	refused		no server on the port: ECONNREFUSED
 * After each run every connection is gone (tcp_live() 0), and the
 * iobufs and slab objects are back to their baseline (wire_end).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ebb/future.h"
#include "ebb/httpc.h"
#include "kernel/malloc.h"
#include "kernel/platform.h"
#include "netwire.h"
#include "tcp/tcp.h"

#define CLIENT_IP	IP4(10, 91, 0, 1)
#define SERVER_IP	IP4(10, 91, 0, 2)
#define PORT		8080
#define BIG		(200 * 1024)

static struct memlink *link;

/* ---- the fake server ------------------------------------------------------------ */

struct scenario {
	const char *pieces[8];		/* written in order, NULL-ended */
	size_t big;			/* then a chunk of this many 'x's, if any */
	const char *after_big;
	int close;			/* 1: close after the pieces */
	int silent;			/* 1: never answer */
};

static struct {
	const struct scenario *sc;
	struct tcp_conn *c;
	char req[4096];
	size_t len;
	int answered;
	int requests;			/* whole requests seen */
} srv;

static void
srv_answer(struct tcp_conn *c)
{
	const struct scenario *sc = srv.sc;

	srv.answered = 1;
	srv.requests++;
	if (sc->silent)
		return;
	for (int i = 0; sc->pieces[i] != NULL; i++)
		CHECK_EQ(tcp_write(c, sc->pieces[i], strlen(sc->pieces[i])), (long)strlen(sc->pieces[i]));
	if (sc->big > 0) {
		char *x = malloc(sc->big);
		memset(x, 'x', sc->big);
		CHECK_EQ(tcp_write(c, x, sc->big), (long)sc->big);
		free(x);
		CHECK_EQ(tcp_write(c, sc->after_big, strlen(sc->after_big)), (long)strlen(sc->after_big));
	}
	if (sc->close) {
		tcp_close(c);
		srv.c = NULL;
	}
}

/* Is the request in srv.req whole (head and Content-Length body)? */
static int
srv_whole(void)
{
	char *end, *cl;
	size_t head;

	srv.req[srv.len] = 0;
	if ((end = strstr(srv.req, "\r\n\r\n")) == NULL)
		return 0;
	head = (size_t)(end - srv.req) + 4;
	cl = strstr(srv.req, "Content-Length: ");
	return cl == NULL || cl > end || srv.len >= head + strtoul(cl + 16, NULL, 10);
}

static void
srv_rx(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	(void)arg;
	if (data == NULL) {
		tcp_close(c);
		srv.c = NULL;
		return;
	}
	for (struct iobuf *b = data; b != NULL; b = b->next) {
		size_t n = b->len < sizeof srv.req - 1 - srv.len ? b->len : sizeof srv.req - 1 - srv.len;
		memcpy(srv.req + srv.len, b->data, n);
		srv.len += n;
	}
	iobuf_free_chain(data);
	if (!srv.answered && srv_whole())
		srv_answer(c);
}

static void
srv_aborted(void *arg, struct tcp_conn *c, int reason)
{
	(void)arg;
	(void)c;
	(void)reason;
	srv.c = NULL;
}

static const struct tcp_callbacks srv_cb = { .receive = srv_rx, .aborted = srv_aborted };

static int
srv_accept(void *arg, struct tcp_conn *c)
{
	(void)arg;
	srv.c = c;
	srv.len = 0;
	srv.answered = 0;
	tcp_setopt(c, TCP_OPT_NODELAY, 1);
	tcp_attach(c, &srv_cb, NULL);
	return 0;
}

/* ---- runs ------------------------------------------------------------------------- */

/* One request for scenario sc: the response (httpc_free it) or NULL with *err. */
static struct http_resp *
ask(const struct scenario *sc, uint16_t port, size_t body_max, uint32_t timeout_ms, int *err)
{
	static const char body[] = "{\"key\":\"a2V5\"}";
	struct http_req rq = { .method = "POST", .path = "/v3/kv/range", .host = "10.91.0.2:8080",
	    .ctype = "application/json", .body = body, .len = sizeof body - 1,
	    .body_max = body_max, .timeout_ms = timeout_ms };
	struct future f;
	void *v = NULL;

	srv.sc = sc;
	future_init(&f);
	CHECK_EQ(httpc_request(SERVER_IP, port, &rq, &f), 0);
	*err = future_block(&f, &v);
	return v;
}

/* ask, expecting status and body. */
static void
expect_ok(const struct scenario *sc, int status, const char *body)
{
	int err;
	struct http_resp *r = ask(sc, PORT, 0, 0, &err);

	CHECK_EQ(err, 0);
	if (r == NULL)
		return;
	CHECK_EQ(r->status, status);
	CHECK_EQ(r->len, strlen(body));
	CHECK(strcmp(r->body, body) == 0);
	httpc_free(r);
}

/* ask, expecting it to fail with want. */
static void
expect_err(const struct scenario *sc, size_t body_max, uint32_t timeout_ms, int want)
{
	int err;
	struct http_resp *r = ask(sc, PORT, body_max, timeout_ms, &err);

	CHECK(r == NULL);
	CHECK_EQ(err, want);
}

/* Wait until every connection is gone, then end the run. */
static void
settle(void)
{
	for (int i = 0; i < 5000 && (tcp_live() != 0 || srv.c != NULL); i++)
		test_sleep_ms(1);
	CHECK_EQ(tcp_live(), 0);
	CHECK(srv.c == NULL);
	CHECK_EQ(tcp_unlisten(PORT), 0);
	wire_finish();
}

static void
body_first(void *body)
{
	timer_setup(&dog, wire_dog, NULL);
	timer_start(&dog, 60000 * TIMER_MS, 0);
	CHECK_EQ(tcp_listen(PORT, srv_accept, NULL), 0);
	((void (*)(void))body)();
	settle();
}

static void
run(void (*body)(void))
{
	CHECK_EQ(event_run(body_first, (void *)body), 0);
}

/* ---- scenarios -------------------------------------------------------------------- */

static const struct scenario s_len = { .pieces = {
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Other: y\r\n\r\nhello" } };
static const struct scenario s_404 = { .pieces = {
	"HTTP/1.1 404 Not Found\r\ncontent-length:  9 \r\n\r\nnot found" } };
static const struct scenario s_204 = { .pieces = { "HTTP/1.1 204 No Content\r\n\r\n" } };
static const struct scenario s_interim = { .pieces = {
	"HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok" } };
static const struct scenario s_bare_lf = { .pieces = {
	"HTTP/1.1 200\nContent-Length: 3\n\nabc" } };
static const struct scenario s_chunked = { .pieces = {
	"HTTP/1.1 20", "0 OK\r\nTransfer-Encoding: chunked\r\n\r", "\n4\r\nWi",
	"ki\r\n5;ext=1\r", "\npedia\r\n", "0\r\nX-Trailer: t\r\n", "\r\n" } };
static const struct scenario s_chunked_big = { .pieces = {
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "32000\r\n" },
	.big = BIG, .after_big = "\r\n0\r\n\r\n" };
static const struct scenario s_close = { .pieces = {
	"HTTP/1.0 200 OK\r\nServer: fake\r\n\r\nuntil ", "close" }, .close = 1 };
static const struct scenario s_bad_status = { .pieces = { "HTTX/1.1 200 OK\r\n\r\n" } };
static const struct scenario s_bad_code = { .pieces = { "HTTP/1.1 2x0 OK\r\n\r\n" } };
static const struct scenario s_bad_chunk = { .pieces = {
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" } };
static const struct scenario s_long_chunk = { .pieces = {
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWikiX\r\n0\r\n\r\n" } };
static const struct scenario s_bad_len = { .pieces = {
	"HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello" } };
static const struct scenario s_endless_head = { .pieces = {
	"HTTP/1.1 200 OK\r\nX: " }, .big = HTTPC_HEAD_MAX, .after_big = "\r\n\r\n" };
static const struct scenario s_over_len = { .pieces = {
	"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" } };
static const struct scenario s_over_chunked = { .pieces = {
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n",
	"0123456789abcdef0123456789abcdef\r\n", "20\r\n",
	"0123456789abcdef0123456789abcdef\r\n0\r\n\r\n" } };
static const struct scenario s_over_close = { .pieces = {
	"HTTP/1.0 200 OK\r\n\r\n0123456789abcdef0123456789abcdef",
	"0123456789abcdef0123456789abcdef" }, .close = 1 };
static const struct scenario s_truncated = { .pieces = {
	"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc" }, .close = 1 };
static const struct scenario s_silent = { .silent = 1 };

/* ---- set-up ----------------------------------------------------------------------- */

static struct netif *
make(void)
{
	static const struct memlink_config cfg = { .seed = 91, .delay_ns = 20000,
	    .features = NETIF_F_TX_CSUM | NETIF_F_RX_CSUM };
	struct tcp_config tc;

	link = memlink_create("h0", "h1", &cfg);
	CHECK(link != NULL);
	struct netif *a = memlink_netif(link, 0), *b = memlink_netif(link, 1);
	a->ip = CLIENT_IP;
	b->ip = SERVER_IP;
	a->netmask = b->netmask = IP4(255, 255, 255, 0);
	tcp_config_get(&tc);
	tc.rto_min_ms = 10;
	tc.rto_init_ms = 100;
	tc.time_wait_ms = 20;
	CHECK_EQ(tcp_configure(&tc), 0);
	return a;
}

static void
prime_body(void)
{
	expect_ok(&s_len, 200, "hello");
}

static struct test_leaks
begin(void)
{
	return wire_begin_primed(make, run, prime_body);	/* ARP, the connection tables */
}

/* ---- the tests ------------------------------------------------------------------------ */

static void
length_body(void)
{
	char *p;

	expect_ok(&s_len, 200, "hello");
	p = srv.req;
	CHECK(strncmp(p, "POST /v3/kv/range HTTP/1.1\r\n", 28) == 0);
	CHECK(strstr(p, "\r\nHost: 10.91.0.2:8080\r\n") != NULL);
	CHECK(strstr(p, "\r\nContent-Type: application/json\r\n") != NULL);
	CHECK(strstr(p, "\r\nContent-Length: 14\r\n") != NULL);
	CHECK(strstr(p, "\r\nConnection: close\r\n") != NULL);
	CHECK((p = strstr(p, "\r\n\r\n")) != NULL && strcmp(p + 4, "{\"key\":\"a2V5\"}") == 0);
	expect_ok(&s_404, 404, "not found");
	expect_ok(&s_204, 204, "");
	expect_ok(&s_interim, 201, "ok");	/* the 100 skipped */
	expect_ok(&s_bare_lf, 200, "abc");	/* no reason, LF alone */
	CHECK_EQ(srv.requests, 6);	/* the prime's and these five */
}

TEST(length)
{
	struct test_leaks l = begin();

	run(length_body);
	wire_end(l);
}

static void
chunked_body(void)
{
	int err;
	struct http_resp *r;

	expect_ok(&s_chunked, 200, "Wikipedia");
	r = ask(&s_chunked_big, PORT, 0, 0, &err);
	CHECK_EQ(err, 0);
	if (r != NULL) {
		CHECK_EQ(r->len, BIG);
		CHECK(r->body[0] == 'x' && r->body[BIG - 1] == 'x' && r->body[BIG] == 0);
		httpc_free(r);
	}
}

TEST(chunked)
{
	struct test_leaks l = begin();

	run(chunked_body);
	wire_end(l);
}

static void
close_body(void)
{
	expect_ok(&s_close, 200, "until close");
}

TEST(close)
{
	struct test_leaks l = begin();

	run(close_body);
	wire_end(l);
}

static void
malformed_body(void)
{
	expect_err(&s_bad_status, 0, 0, EPROTO);
	expect_err(&s_bad_code, 0, 0, EPROTO);
	expect_err(&s_bad_chunk, 0, 0, EPROTO);
	expect_err(&s_long_chunk, 0, 0, EPROTO);	/* more than its size */
	expect_err(&s_bad_len, 0, 0, EPROTO);
	expect_err(&s_endless_head, 0, 0, EPROTO);
}

TEST(malformed)
{
	struct test_leaks l = begin();

	run(malformed_body);
	wire_end(l);
}

static void
limit_body(void)
{
	int err;
	struct http_resp *r;

	expect_err(&s_over_len, 50, 0, EMSGSIZE);
	expect_err(&s_over_chunked, 50, 0, EMSGSIZE);
	expect_err(&s_over_close, 50, 0, EMSGSIZE);
	r = ask(&s_over_chunked, PORT, 64, 0, &err);	/* exactly the limit */
	CHECK_EQ(err, 0);
	if (r != NULL)
		CHECK_EQ(r->len, 64);
	httpc_free(r);
}

TEST(limit)
{
	struct test_leaks l = begin();

	run(limit_body);
	wire_end(l);
}

static void
truncated_body(void)
{
	expect_err(&s_truncated, 0, 0, ECONNRESET);
}

TEST(truncated)
{
	struct test_leaks l = begin();

	run(truncated_body);
	wire_end(l);
}

static void
timeout_body(void)
{
	int err;
	uint64_t t0 = clock_ns();
	struct http_resp *r = ask(&s_silent, PORT, 0, 200, &err);

	CHECK(r == NULL);
	CHECK_EQ(err, ETIMEDOUT);
	CHECK(clock_ns() - t0 >= 200 * TIMER_MS);
	CHECK(srv.answered);		/* the request arrived; no answer came */
}

TEST(timeout)
{
	struct test_leaks l = begin();

	run(timeout_body);
	wire_end(l);
}

static void
refused_body(void)
{
	int err;
	struct http_resp *r = ask(&s_len, PORT + 1, 0, 0, &err);

	CHECK(r == NULL);
	CHECK_EQ(err, ECONNREFUSED);
}

TEST(refused)
{
	struct test_leaks l = begin();

	run(refused_body);
	wire_end(l);
}

static void
einval_body(void)
{
	struct http_req rq = { .method = "GET", .path = "/x\r\nEvil: 1", .host = "h" };
	struct future f;

	future_init(&f);
	CHECK_EQ(httpc_request(SERVER_IP, PORT, &rq, &f), EINVAL);
	rq.path = "/";
	rq.host = NULL;
	CHECK_EQ(httpc_request(SERVER_IP, PORT, &rq, &f), EINVAL);
}

TEST(einval)
{
	struct test_leaks l = begin();

	run(einval_body);
	wire_end(l);
}
