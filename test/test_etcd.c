/*
 * test_etcd.c: the etcd gateway client (ebb/etcd.c).
 *
 *	base64		RFC 4648's vectors both ways; bad input refused
 *	parse		answers recorded from etcd 3.4's gateway: a value, an
 *			empty value (no "value" member), an absent key (no
 *			"kvs"), an error answer; malformed JSON is EPROTO
 *	requests	against a fake gateway over a memlink (as
 *			test_httpc.c): put sends the key and value in base64
 *			to /v3/kv/put; get decodes the answer; an absent key
 *			is ENOENT; a 503 is retried and the next try's answer
 *			taken; a 400 is final (EPROTO, one try)
 *	retry		nothing listening: ETCD_TRIES connections refused, the
 *			backoff between them, then ECONNREFUSED
 * After each run every connection is gone and the iobufs and slab
 * objects are back to their baseline.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ebb/etcd.h"
#include "ebb/future.h"
#include "kernel/malloc.h"
#include "kernel/platform.h"
#include "netwire.h"
#include "tcp/tcp.h"

#define SERVER_IP	IP4(10, 92, 0, 2)
#define PORT		2379

/* ---- base64 and parsing ------------------------------------------------------------ */

TEST(base64)
{
	static const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *coded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	char out[64];
	uint8_t back[64], all[256];

	for (int i = 0; i < 7; i++) {
		CHECK_EQ(etcd_b64_encode(plain[i], strlen(plain[i]), out), strlen(coded[i]));
		CHECK(strcmp(out, coded[i]) == 0);
		CHECK_EQ(etcd_b64_decode(coded[i], strlen(coded[i]), back), strlen(plain[i]));
		CHECK(memcmp(back, plain[i], strlen(plain[i])) == 0);
	}
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	char big[400];
	uint8_t big_back[300];
	size_t n = etcd_b64_encode(all, 256, big);
	CHECK_EQ(etcd_b64_decode(big, n, big_back), 256);
	CHECK(memcmp(all, big_back, 256) == 0);
	CHECK_EQ(etcd_b64_decode("Zm9", 3, back), -1);		/* not a multiple of 4 */
	CHECK_EQ(etcd_b64_decode("Zm!v", 4, back), -1);		/* not the alphabet */
	CHECK_EQ(etcd_b64_decode("Z=9v", 4, back), -1);		/* padding inside */
	CHECK_EQ(etcd_b64_decode("Zg==Zg==", 8, back), -1);	/* padding not at the end */
}

/* Recorded from etcd 3.4.23's gateway (curl -X POST .../v3/kv/range). */
static const char ans_value[] = "{\"header\":{\"cluster_id\":\"15118495548433857066\","
    "\"member_id\":\"13668033151171901709\",\"revision\":\"2\",\"raft_term\":\"2\"},"
    "\"kvs\":[{\"key\":\"ZWJiL2lkbWFwLzY1NTM3\",\"create_revision\":\"2\","
    "\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"aGVsbG8AAQ==\"}],\"count\":\"1\"}";
static const char ans_empty[] = "{\"header\":{\"cluster_id\":\"15118495548433857066\","
    "\"member_id\":\"13668033151171901709\",\"revision\":\"3\",\"raft_term\":\"2\"},"
    "\"kvs\":[{\"key\":\"eQ==\",\"create_revision\":\"3\",\"mod_revision\":\"3\","
    "\"version\":\"1\"}],\"count\":\"1\"}";
static const char ans_absent[] = "{\"header\":{\"cluster_id\":\"15118495548433857066\","
    "\"member_id\":\"13668033151171901709\",\"revision\":\"2\",\"raft_term\":\"2\"}}";
static const char ans_error[] = "{\"error\":\"unexpected EOF\",\"message\":\"unexpected EOF\",\"code\":3}";

static int
parse_one(const char *json, struct etcd_val **v)
{
	*v = NULL;
	return etcd_parse_range(json, strlen(json), v);
}

TEST(parse)
{
	static const char *bad[] = { "", "{", "[]", "{\"kvs\":", "{\"kvs\":[{\"value\":\"aGVsbG8\"}]}",
	    "{\"kvs\":{}}", "{\"kvs\":[{\"value\":12}]}", "{\"kvs\":[{\"value\":\"aGVs\"]}",
	    "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]],\"kvs\":[]}", "{\"kvs\":[]} x" };
	struct test_leaks l;
	struct etcd_val *v;

	test_setup(NCORES, 0, TEST_RCU);
	l = test_leak_start(NCORES);
	CHECK_EQ(parse_one(ans_value, &v), 0);
	if (v != NULL) {
		CHECK_EQ(v->len, 7);
		CHECK(memcmp(v->bytes, "hello\0\1", 7) == 0);
		kfree(v);
	}
	CHECK_EQ(parse_one(ans_empty, &v), 0);
	if (v != NULL) {
		CHECK_EQ(v->len, 0);
		kfree(v);
	}
	CHECK_EQ(parse_one(ans_absent, &v), ENOENT);
	CHECK_EQ(parse_one(ans_error, &v), ENOENT);		/* no kvs; the status says 400 */
	CHECK_EQ(parse_one("{\"kvs\":[]}", &v), ENOENT);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int r = parse_one(bad[i], &v);
		if (r != EPROTO)
			printf("bad[%zu] = %d\n", i, r);
		CHECK_EQ(r, EPROTO);
		CHECK(v == NULL);
	}
	test_leak_check(l);
}

/* ---- a fake gateway ------------------------------------------------------------------- */

static struct {
	const char *answers[4];		/* the next connection gets the next one */
	int next;
	struct tcp_conn *c;
	char req[4096];
	size_t len;
	int answered;
} gw;

static int
gw_whole(void)
{
	char *end, *cl;

	gw.req[gw.len] = 0;
	if ((end = strstr(gw.req, "\r\n\r\n")) == NULL || (cl = strstr(gw.req, "Content-Length: ")) == NULL)
		return 0;
	return gw.len >= (size_t)(end - gw.req) + 4 + strtoul(cl + 16, NULL, 10);
}

static void
gw_rx(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	(void)arg;
	if (data == NULL) {
		tcp_close(c);
		gw.c = NULL;
		return;
	}
	for (struct iobuf *b = data; b != NULL; b = b->next) {
		size_t n = b->len < sizeof gw.req - 1 - gw.len ? b->len : sizeof gw.req - 1 - gw.len;
		memcpy(gw.req + gw.len, b->data, n);
		gw.len += n;
	}
	iobuf_free_chain(data);
	if (!gw.answered && gw_whole()) {
		const char *a = gw.answers[gw.next++];
		gw.answered = 1;
		CHECK(a != NULL);
		if (a != NULL)
			CHECK_EQ(tcp_write(c, a, strlen(a)), (long)strlen(a));
	}
}

static void
gw_aborted(void *arg, struct tcp_conn *c, int reason)
{
	(void)arg;
	(void)c;
	(void)reason;
	gw.c = NULL;
}

static const struct tcp_callbacks gw_cb = { .receive = gw_rx, .aborted = gw_aborted };

static int
gw_accept(void *arg, struct tcp_conn *c)
{
	(void)arg;
	gw.c = c;
	gw.len = 0;
	gw.answered = 0;
	tcp_attach(c, &gw_cb, NULL);
	return 0;
}

/* An HTTP answer with body. */
static char *
http(int status, const char *body)
{
	static char bufs[4][2048];
	static int k;
	char *b = bufs[k++ % 4];

	snprintf(b, sizeof bufs[0], "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s", status, strlen(body), body);
	return b;
}

/* ---- runs ---------------------------------------------------------------------------- */

static struct etcd e;

static void
body_first(void *body)
{
	timer_setup(&dog, wire_dog, NULL);
	timer_start(&dog, 60000 * TIMER_MS, 0);
	CHECK_EQ(tcp_listen(PORT, gw_accept, NULL), 0);
	((void (*)(void))body)();
	for (int i = 0; i < 5000 && (tcp_live() != 0 || gw.c != NULL); i++)
		test_sleep_ms(1);
	CHECK_EQ(tcp_live(), 0);
	CHECK_EQ(tcp_unlisten(PORT), 0);
	wire_finish();
}

static void
run(void (*body)(void))
{
	CHECK_EQ(event_run(body_first, (void *)body), 0);
}

static struct netif *
make(void)
{
	static const struct memlink_config cfg = { .seed = 92, .delay_ns = 20000,
	    .features = NETIF_F_TX_CSUM | NETIF_F_RX_CSUM };
	struct memlink *ml = memlink_create("e0", "e1", &cfg);
	struct tcp_config tc;

	CHECK(ml != NULL);
	struct netif *a = memlink_netif(ml, 0), *b = memlink_netif(ml, 1);
	a->ip = IP4(10, 92, 0, 1);
	b->ip = SERVER_IP;
	a->netmask = b->netmask = IP4(255, 255, 255, 0);
	tcp_config_get(&tc);
	tc.rto_min_ms = 10;
	tc.rto_init_ms = 100;
	tc.time_wait_ms = 20;
	CHECK_EQ(tcp_configure(&tc), 0);
	CHECK_EQ(etcd_addr(&e, "10.92.0.2:2379"), 0);
	return a;
}

static int
put(const char *key, const void *val, size_t n)
{
	struct future f;
	int err;

	future_init(&f);
	if ((err = etcd_put(&e, key, val, n, &f)) != 0)
		return err;
	return future_block(&f, NULL);
}

static struct etcd_val *
get(const char *key, int *err)
{
	struct future f;
	void *v = NULL;

	future_init(&f);
	if ((*err = etcd_get(&e, key, &f)) != 0)
		return NULL;
	*err = future_block(&f, &v);
	return v;
}

static void
requests_body(void)
{
	struct etcd_val *v;
	int err;

	gw.next = 0;
	gw.answers[0] = http(200, ans_absent);		/* a put's answer is just a header */
	CHECK_EQ(put("ebb/idmap/65537", "hello\0\1", 7), 0);
	CHECK(strncmp(gw.req, "POST /v3/kv/put HTTP/1.1\r\n", 26) == 0);
	CHECK(strstr(gw.req, "\r\nHost: 10.92.0.2:2379\r\n") != NULL);
	CHECK(strstr(gw.req, "\r\n\r\n{\"key\":\"ZWJiL2lkbWFwLzY1NTM3\",\"value\":\"aGVsbG8AAQ==\"}") != NULL);

	gw.next = 0;
	gw.answers[0] = http(200, ans_value);
	v = get("ebb/idmap/65537", &err);
	CHECK_EQ(err, 0);
	CHECK(strncmp(gw.req, "POST /v3/kv/range HTTP/1.1\r\n", 28) == 0);
	CHECK(strstr(gw.req, "\r\n\r\n{\"key\":\"ZWJiL2lkbWFwLzY1NTM3\"}") != NULL);
	if (v != NULL) {
		CHECK_EQ(v->len, 7);
		CHECK(memcmp(v->bytes, "hello\0\1", 7) == 0);
		kfree(v);
	}

	gw.next = 0;
	gw.answers[0] = http(200, ans_absent);
	CHECK(get("x", &err) == NULL);
	CHECK_EQ(err, ENOENT);

	gw.next = 0;					/* no leader, then one */
	gw.answers[0] = http(503, "{\"error\":\"etcdserver: no leader\"}");
	gw.answers[1] = http(200, ans_value);
	v = get("ebb/idmap/65537", &err);
	CHECK_EQ(err, 0);
	CHECK_EQ(gw.next, 2);
	kfree(v);

	gw.next = 0;					/* final: one try */
	gw.answers[0] = http(400, ans_error);
	gw.answers[1] = NULL;
	CHECK(get("y", &err) == NULL);
	CHECK_EQ(err, EPROTO);
	CHECK_EQ(gw.next, 1);

	CHECK_EQ(etcd_put(&e, "", "a", 1, NULL), EINVAL);
	CHECK_EQ(etcd_get(&e, NULL, NULL), EINVAL);
}

static struct test_leaks
begin(void)
{
	return wire_begin_primed(make, run, requests_body);
}

TEST(requests)
{
	struct test_leaks l = begin();

	run(requests_body);
	wire_end(l);
}

static void
retry_body(void)
{
	struct etcd dead = e;
	struct future f;
	uint64_t t0 = clock_ns();
	long rsts = DELTA(tcp, rst_tx);

	dead.port = PORT + 1;
	future_init(&f);
	CHECK_EQ(etcd_get(&dead, "k", &f), 0);
	CHECK_EQ(future_block(&f, NULL), ECONNREFUSED);
	/* 100 + 200 + 400 ms between the four tries */
	CHECK(clock_ns() - t0 >= (uint64_t)ETCD_BACKOFF_MS * 7 * TIMER_MS);
	CHECK_EQ(DELTA(tcp, rst_tx) - rsts, ETCD_TRIES);	/* each SYN refused */
}

TEST(retry)
{
	struct test_leaks l = begin();

	run(retry_body);
	wire_end(l);
}

TEST(addr)
{
	struct etcd x;

	CHECK_EQ(etcd_addr(&x, "10.0.0.1:2379"), 0);
	CHECK_EQ(x.ip, IP4(10, 0, 0, 1));
	CHECK_EQ(x.port, 2379);
	CHECK(strcmp(x.host, "10.0.0.1:2379") == 0);
	CHECK_EQ(etcd_addr(&x, "10.0.0.1"), EINVAL);
	CHECK_EQ(etcd_addr(&x, "10.0.0.256:1"), EINVAL);
	CHECK_EQ(etcd_addr(&x, "10.0.0.1:0"), EINVAL);
	CHECK_EQ(etcd_addr(&x, "10.0.0.1:2379x"), EINVAL);
}
