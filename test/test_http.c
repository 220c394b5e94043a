/*
 * test_http.c: httpd's request parser (app/httpd/parse.c) and responses
 * (serve.c, files.c) over the default site packed into the test binary.
 *
 * The parser is driven the way a connection drives it: bytes in pieces.
 * Every request here is parsed whole, then split at every byte boundary
 * into two pieces, then fed byte by byte, and the facts must agree;
 * pipelines must come apart into the same requests.  Every limit and
 * every malformation is answered with its status.  The responses are
 * read back as bytes: status line, headers, body (a view of the packed
 * file's own bytes for a GET: zero copy), and iobufs back to where they
 * were.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/httpd/http.h"
#include "tcp/iobuf.h"
#include "test.h"

static void
setup(void)
{
	static int done;

	test_setup(1, 0, TEST_KMALLOC);
	if (!done) {
		CHECK_EQ(www_init(), 0);
		done = 1;
	}
}

/* Parse s (n bytes) in pieces of at most step bytes (0: at split, two pieces). */
static size_t
parse_pieces(struct http_req *r, const char *s, size_t n, size_t split, size_t step)
{
	size_t i = 0;

	http_req_init(r);
	while (i < n && r->state != HP_DONE && r->state != HP_ERROR) {
		size_t k = step != 0 ? step : (i < split ? split - i : n - i);
		if (k > n - i)
			k = n - i;
		i += http_parse(r, (const uint8_t *)s + i, k);
	}
	return i;
}

/* Do two parses agree on every fact? */
static int
same(const struct http_req *a, const struct http_req *b)
{
	return a->state == b->state && a->status == b->status && a->method == b->method &&
	    a->minor == b->minor && a->keep_alive == b->keep_alive && a->hosts == b->hosts &&
	    strcmp(a->path, b->path) == 0 && a->path_long == b->path_long &&
	    a->length == b->length && strcmp(a->inm, b->inm) == 0 &&
	    strcmp(a->range, b->range) == 0 && a->asterisk == b->asterisk;
}

/*
 * Parse s whole, at every split and byte by byte: the same facts each
 * time and the same bytes taken; returns the whole parse's in *r.
 */
static size_t
parse_all_ways(struct http_req *r, const char *s)
{
	static struct http_req t;
	size_t n = strlen(s), used = parse_pieces(r, s, n, n, 0), u;
	int bad = 0;

	for (size_t split = 1; split < n; split++) {
		u = parse_pieces(&t, s, n, split, 0);
		bad += u != used || !same(r, &t);
	}
	u = parse_pieces(&t, s, n, 0, 1);
	bad += u != used || !same(r, &t);
	CHECK_EQ(bad, 0);
	return used;
}

/* The status a request gets from the parser and serve.c. */
static int
status_of(const char *s, int *close)
{
	static struct http_req r;
	struct http_resp resp;

	parse_all_ways(&r, s);
	if (r.state != HP_DONE && r.state != HP_ERROR)
		return -1;		/* incomplete */
	http_serve(&r, "Thu, 01 Jan 1970 00:00:00 GMT", &resp, NULL);
	iobuf_free_chain(resp.chain);
	if (close != NULL)
		*close = resp.close;
	return resp.status;
}

TEST(parse_simple)
{
	static struct http_req r;
	const char *s = "GET /index.html?x=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\n\r\n";

	setup();
	CHECK_EQ(parse_all_ways(&r, s), strlen(s));
	CHECK_EQ(r.state, HP_DONE);
	CHECK_EQ(r.method, HTTP_GET);
	CHECK_EQ(r.minor, 1);
	CHECK_EQ(r.keep_alive, 1);
	CHECK(strcmp(r.path, "/index.html") == 0);
	/* Bare LFs end lines too; empty lines before a request are skipped. */
	CHECK_EQ(parse_all_ways(&r, "\r\n\nHEAD / HTTP/1.0\nHost: a\n\n"), 28);
	CHECK_EQ(r.state, HP_DONE);
	CHECK_EQ(r.method, HTTP_HEAD);
	CHECK_EQ(r.minor, 0);
	CHECK_EQ(r.keep_alive, 0);
	/* Absolute form, and "*". */
	parse_all_ways(&r, "GET http://example.com:80/a/b?q HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK(strcmp(r.path, "/a/b") == 0);
	parse_all_ways(&r, "GET HTTP://example.com HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK(strcmp(r.path, "/") == 0);
	parse_all_ways(&r, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_EQ(r.asterisk, 1);
	CHECK_EQ(r.method, HTTP_OPTIONS);
	/* Header names in any case, values trimmed, repeats joined. */
	parse_all_ways(&r, "GET / HTTP/1.1\r\nhOsT: x\r\nIF-NONE-MATCH:  \"a\" \t\r\n"
	    "If-None-Match: W/\"b\"\r\nrange: bytes=1-2\r\n\r\n");
	CHECK_EQ(r.state, HP_DONE);
	CHECK(strcmp(r.inm, "\"a\", W/\"b\"") == 0);
	CHECK(strcmp(r.range, "bytes=1-2") == 0);
}

TEST(parse_persistence)
{
	static struct http_req r;
	static const struct { const char *req; int keep; } t[] = {
		{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n", 0 },
		{ "GET / HTTP/1.0\r\n\r\n", 0 },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1 },
		{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1 },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", 0 },
		{ "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 1 },	/* read as 1.1 */
	};

	setup();
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		parse_all_ways(&r, t[i].req);
		CHECK_EQ(r.state, HP_DONE);
		if (r.keep_alive != t[i].keep)
			printf("  keep-alive wrong for %s", t[i].req);
		CHECK_EQ(r.keep_alive, t[i].keep);
	}
}

TEST(parse_bodies)
{
	static struct http_req r;
	const char *cl = "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world";
	const char *ch = "PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: t\r\n\r\n";
	const char *ch2 = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n";

	setup();
	CHECK_EQ(parse_all_ways(&r, cl), strlen(cl));
	CHECK_EQ(r.state, HP_DONE);
	CHECK_EQ(r.method, HTTP_POST);
	CHECK_EQ(r.length, 11);
	CHECK_EQ(parse_all_ways(&r, ch), strlen(ch));
	CHECK_EQ(r.state, HP_DONE);
	CHECK_EQ(r.method, HTTP_PUT);
	CHECK_EQ(status_of(cl, NULL), 405);
	CHECK_EQ(status_of(ch, NULL), 405);
	CHECK_EQ(status_of(ch2, NULL), 501);	/* a coding we cannot undo */
	/* A GET may carry a body; it is read and dropped. */
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", NULL), 200);
	/* Incomplete bodies wait for more. */
	CHECK_EQ(status_of("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\nhello world", NULL), -1);
	CHECK_EQ(status_of("PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", NULL), -1);
}

TEST(parse_pipeline)
{
	static struct http_req r;
	const char *p = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
	    "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nGET "
	    "PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nGET\r\n0\r\n\r\n"
	    "HEAD /d HTTP/1.0\r\n\r\n";
	static const struct { enum http_method m; const char *path; } want[] = {
		{ HTTP_GET, "/a" }, { HTTP_POST, "/b" }, { HTTP_PUT, "/c" }, { HTTP_HEAD, "/d" },
	};
	size_t n = strlen(p);

	setup();
	/* Whole, then in pieces of every size from 1 to 40. */
	for (size_t step = 0; step <= 40; step++) {
		size_t i = 0, got = 0, chunk = step == 0 ? n : step;
		int bad = 0;
		http_req_init(&r);
		while (i < n) {
			size_t k = chunk < n - i ? chunk : n - i;
			size_t used = http_parse(&r, (const uint8_t *)p + i, k);
			i += used;
			if (r.state == HP_DONE) {
				bad += got >= 4 || r.method != want[got].m ||
				    strcmp(r.path, want[got].path) != 0;
				got++;
				http_req_init(&r);
			} else if (r.state == HP_ERROR || used != k)
				bad++;
		}
		CHECK_EQ(got, 4);
		CHECK_EQ(bad, 0);
	}
}

/* A request line or header section of a given size. */
static char *
big(size_t target, int hlines, size_t hbytes)
{
	char *s = malloc(target + hlines * 16 + hbytes + 256), *p = s;

	p += sprintf(p, "GET /");
	memset(p, 'a', target);
	p += target;
	p += sprintf(p, " HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < hlines; i++)
		p += sprintf(p, "X-%d: v\r\n", i);
	if (hbytes > 0) {
		p += sprintf(p, "X-Big: ");
		memset(p, 'b', hbytes);
		p += hbytes;
		p += sprintf(p, "\r\n");
	}
	sprintf(p, "\r\n");
	return s;
}

TEST(parse_limits)
{
	char *s;
	int close;

	setup();
	/* The request line: "GET /" + target + " HTTP/1.1" is 14 + target bytes. */
	s = big(HTTP_LINE_MAX - 14, 0, 0);
	CHECK_EQ(status_of(s, NULL), 404);	/* at the limit: read, no such file */
	free(s);
	s = big(HTTP_LINE_MAX - 13, 0, 0);
	CHECK_EQ(status_of(s, &close), 414);
	CHECK_EQ(close, 1);
	free(s);
	/* Header lines: Host and 99 more is 100. */
	s = big(1, 99, 0);
	CHECK_EQ(status_of(s, NULL), 404);
	free(s);
	s = big(1, 100, 0);
	CHECK_EQ(status_of(s, &close), 431);
	CHECK_EQ(close, 1);
	free(s);
	/* Header bytes: "Host: a\r\n" (9) + "X-Big: " (7) + b + "\r\n" + "\r\n" (4). */
	s = big(1, 0, HTTP_HEAD_MAX - 20);
	CHECK_EQ(status_of(s, NULL), 404);
	free(s);
	s = big(1, 0, HTTP_HEAD_MAX - 19);
	CHECK_EQ(status_of(s, NULL), 431);
	free(s);
	/* A value we must read, longer than we keep. */
	s = malloc(HTTP_VALUE_MAX + 100);
	sprintf(s, "GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: %0*d\r\n\r\n", HTTP_VALUE_MAX, 0);
	CHECK_EQ(status_of(s, NULL), 431);
	free(s);
	/* Endless empty lines before a request. */
	CHECK_EQ(status_of("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n", NULL), 400);
}

TEST(parse_malformed)
{
	static const char *const bad400[] = {
		"GET / HTTP/1.1\r\n\r\n",				/* no Host */
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",		/* two */
		"GET /\r\n\r\n",					/* HTTP/0.9 */
		"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",			/* two spaces */
		"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
		"GET / http/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.10\r\nHost: a\r\n\r\n",
		"GET / HTTP/0.9\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",			/* space before ':' */
		"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",		/* obs-fold */
		"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n",
		"GET / HTTP/1.1\rHost: a\r\n\r\n",			/* bare CR */
		"GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n",		/* control byte */
		"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",		/* raw non-ASCII */
		"G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET x HTTP/1.1\r\nHost: a\r\n\r\n",			/* not a target */
		"GET ftp://h/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http:/// HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n\x01",
	};
	int close;

	setup();
	for (size_t i = 0; i < sizeof bad400 / sizeof bad400[0]; i++) {
		int st = status_of(bad400[i], &close);
		if (st != 400 && i != sizeof bad400 / sizeof bad400[0] - 1)
			printf("  got %d, not 400, for case %zu\n", st, i);
		if (i == sizeof bad400 / sizeof bad400[0] - 1)
			CHECK_EQ(st, 405);	/* the request before the junk is fine */
		else {
			CHECK_EQ(st, 400);
			CHECK_EQ(close, 1);
		}
	}
	CHECK_EQ(status_of("GET / HTTP/2.0\r\nHost: a\r\n\r\n", &close), 505);
	CHECK_EQ(close, 1);
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", &close), 501);
	CHECK_EQ(close, 1);
	/* Methods: known but not ours, 405 (the connection goes on); unknown, 501. */
	CHECK_EQ(status_of("DELETE / HTTP/1.1\r\nHost: a\r\n\r\n", &close), 405);
	CHECK_EQ(close, 0);
	CHECK_EQ(status_of("BREW / HTTP/1.1\r\nHost: a\r\n\r\n", &close), 501);
	CHECK_EQ(close, 0);
	CHECK_EQ(status_of("get / HTTP/1.1\r\nHost: a\r\n\r\n", NULL), 501);	/* case matters */
	CHECK_EQ(status_of("AVERYLONGMETHODNAMEINDEED / HTTP/1.1\r\nHost: a\r\n\r\n", NULL), 501);
	CHECK_EQ(status_of("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", NULL), 405);
	CHECK_EQ(status_of("GET * HTTP/1.1\r\nHost: a\r\n\r\n", NULL), 400);
}

/* ---- responses --------------------------------------------------------- */

/* The whole response to s as a string (malloc'd), and its chain's shape. */
static char *
respond(const char *s, struct http_resp *resp, const uint8_t **body_at)
{
	static struct http_req r;
	char *out;
	size_t n;

	parse_all_ways(&r, s);
	http_serve(&r, "Sun, 06 Nov 1994 08:49:37 GMT", resp, NULL);
	CHECK(resp->chain != NULL);
	n = iobuf_chain_len(resp->chain);
	out = malloc(n + 1);
	iobuf_copy_out(resp->chain, 0, n, out);
	out[n] = '\0';
	*body_at = resp->chain->next != NULL ? resp->chain->next->data : NULL;
	iobuf_free_chain(resp->chain);
	return out;
}

/* Does the response text have this header line? */
static int
has(const char *text, const char *line)
{
	const char *end = strstr(text, "\r\n\r\n");
	const char *p = strstr(text, line);

	return p != NULL && end != NULL && p < end && p[strlen(line)] == '\r';
}

TEST(serve_files)
{
	const struct www_entry *e;
	struct http_resp resp;
	const uint8_t *body;
	long live;
	char *t, line[200];

	setup();
	live = iobuf_live();
	e = www_find("/index.html");
	CHECK(e != NULL);
	CHECK(www_find("/status.html") != NULL);
	CHECK(www_find("/nope") == NULL);
	CHECK(strcmp(e->type, "text/html; charset=utf-8") == 0);

	t = respond("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &resp, &body);
	CHECK_EQ(resp.status, 200);
	CHECK_EQ(resp.close, 0);
	CHECK(strncmp(t, "HTTP/1.1 200 OK\r\n", 17) == 0);
	snprintf(line, sizeof line, "Content-Length: %llu", (unsigned long long)e->f->size);
	CHECK(has(t, line));
	snprintf(line, sizeof line, "ETag: %s", e->etag);
	CHECK(has(t, line));
	CHECK(has(t, "Date: Sun, 06 Nov 1994 08:49:37 GMT"));
	CHECK(has(t, "Content-Type: text/html; charset=utf-8"));
	CHECK(strstr(t, "Last-Modified: ") != NULL);
	CHECK(!has(t, "Connection: close"));
	CHECK(body == e->f->block->bytes);	/* zero copy: the image's bytes */
	CHECK_EQ(resp.body, e->f->size);
	CHECK(memcmp(strstr(t, "\r\n\r\n") + 4, e->f->block->bytes, e->f->size) == 0);
	free(t);

	/* HEAD: the same headers, no body. */
	t = respond("HEAD /index.html HTTP/1.1\r\nHost: a\r\n\r\n", &resp, &body);
	CHECK_EQ(resp.status, 200);
	CHECK(has(t, line));
	CHECK(body == NULL);
	CHECK(strlen(strstr(t, "\r\n\r\n")) == 4);
	free(t);

	/* HTTP/1.0: closes unless asked; keep-alive said back. */
	t = respond("GET / HTTP/1.0\r\n\r\n", &resp, &body);
	CHECK_EQ(resp.close, 1);
	CHECK(has(t, "Connection: close"));
	free(t);
	t = respond("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &resp, &body);
	CHECK_EQ(resp.close, 0);
	CHECK(has(t, "Connection: keep-alive"));
	free(t);

	/* /status is the status page. */
	t = respond("GET /status HTTP/1.1\r\nHost: a\r\n\r\n", &resp, &body);
	CHECK_EQ(resp.status, 200);
	CHECK(body == www_find("/status.html")->f->block->bytes);
	free(t);
	CHECK_EQ(iobuf_live(), live);
}

TEST(serve_conditional_and_ranges)
{
	const struct www_entry *e;
	struct http_resp resp;
	const uint8_t *body;
	char *t, req[300], line[300];
	long live;
	uint64_t size;

	setup();
	live = iobuf_live();
	e = www_find("/index.html");
	size = e->f->size;
	snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"x\", W/%s\r\n\r\n", e->etag);
	t = respond(req, &resp, &body);
	CHECK_EQ(resp.status, 304);
	CHECK(body == NULL);
	snprintf(line, sizeof line, "ETag: %s", e->etag);
	CHECK(has(t, line));
	free(t);
	/* The 304 whole, byte for byte (files.c's block, then Date). */
	snprintf(line, sizeof line, "HTTP/1.1 304 Not Modified\r\nServer: ebbrt-httpd\r\n"
	    "ETag: %s\r\nLast-Modified: %s\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
	    e->etag, e->lastmod);
	t = respond(req, &resp, &body);
	CHECK(strcmp(t, line) == 0);
	CHECK_EQ(resp.body, 0);
	free(t);
	/* HEAD and Connection: close: the same block, and the close said. */
	snprintf(req, sizeof req, "HEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
	    "If-None-Match: %s\r\n\r\n", e->etag);
	strcpy(line + strlen(line) - 2, "Connection: close\r\n\r\n");
	t = respond(req, &resp, &body);
	CHECK_EQ(resp.status, 304);
	CHECK_EQ(resp.close, 1);
	CHECK(strcmp(t, line) == 0);
	free(t);
	t = respond("GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: *\r\n\r\n", &resp, &body);
	CHECK_EQ(resp.status, 304);
	free(t);
	t = respond("GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"nope\"\r\n\r\n", &resp, &body);
	CHECK_EQ(resp.status, 200);
	free(t);

	t = respond("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=10-19\r\n\r\n", &resp, &body);
	CHECK_EQ(resp.status, 206);
	CHECK(body == e->f->block->bytes + 10);
	CHECK_EQ(resp.body, 10);
	snprintf(line, sizeof line, "Content-Range: bytes 10-19/%llu", (unsigned long long)size);
	CHECK(has(t, line));
	CHECK(has(t, "Content-Length: 10"));
	free(t);
	t = respond("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=-5\r\n\r\n", &resp, &body);
	CHECK_EQ(resp.status, 206);
	CHECK(body == e->f->block->bytes + size - 5);
	free(t);
	t = respond("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=5-\r\n\r\n", &resp, &body);
	CHECK_EQ(resp.status, 206);
	CHECK_EQ(resp.body, size - 5);
	free(t);
	snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=%llu-\r\n\r\n",
	    (unsigned long long)size);
	t = respond(req, &resp, &body);
	CHECK_EQ(resp.status, 416);
	snprintf(line, sizeof line, "Content-Range: bytes */%llu", (unsigned long long)size);
	CHECK(has(t, line));
	CHECK_EQ(resp.close, 0);
	free(t);
	/* Several ranges, another unit, nonsense: the whole file. */
	t = respond("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1,5-6\r\n\r\n", &resp, &body);
	CHECK_EQ(resp.status, 200);
	free(t);
	t = respond("GET / HTTP/1.1\r\nHost: a\r\nRange: lines=1-2\r\n\r\n", &resp, &body);
	CHECK_EQ(resp.status, 200);
	free(t);
	t = respond("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=9-3\r\n\r\n", &resp, &body);
	CHECK_EQ(resp.status, 200);
	free(t);
	/* If-Range: the file's ETag (strong) or date lets the Range be; a weak
	 * tag, another tag or another date gives the whole file. */
	snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nIf-Range: %s\r\n\r\n",
	    e->etag);
	t = respond(req, &resp, &body);
	CHECK_EQ(resp.status, 206);
	free(t);
	snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: a\r\nIf-Range: %s\r\nRange: bytes=0-1\r\n\r\n",
	    e->lastmod);
	t = respond(req, &resp, &body);
	CHECK_EQ(resp.status, 206);
	free(t);
	snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nIf-Range: W/%s\r\n\r\n",
	    e->etag);
	t = respond(req, &resp, &body);
	CHECK_EQ(resp.status, 200);
	CHECK_EQ(resp.body, size);
	free(t);
	t = respond("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nIf-Range: \"old\"\r\n\r\n",
	    &resp, &body);
	CHECK_EQ(resp.status, 200);
	free(t);
	t = respond("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\n"
	    "If-Range: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n", &resp, &body);
	CHECK_EQ(resp.status, 200);
	free(t);
	/* HEAD ignores Range. */
	t = respond("HEAD / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\n\r\n", &resp, &body);
	CHECK_EQ(resp.status, 200);
	free(t);
	CHECK_EQ(iobuf_live(), live);
}

TEST(serve_paths)
{
	static const struct { const char *path; int status; } t[] = {
		{ "/", 200 }, { "/index.html", 200 }, { "/%69ndex.html", 200 },
		{ "/nope.html", 404 }, { "/index.html/", 404 },
		{ "/../etc/passwd", 400 }, { "/a/../index.html", 400 }, { "/./index.html", 400 },
		{ "/..", 400 }, { "/%2e%2e/etc/passwd", 400 }, { "/%2E%2E%2Fetc", 400 },
		{ "/a%2fb", 400 }, { "/a%5cb", 400 }, { "/a%00b", 400 }, { "/a%zz", 400 },
		{ "/a%4", 400 }, { "/%0a", 400 }, { "/..%2f", 400 },
	};
	char req[200];
	int close;

	setup();
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", t[i].path);
		int st = status_of(req, &close);
		if (st != t[i].status)
			printf("  %s: %d, not %d\n", t[i].path, st, t[i].status);
		CHECK_EQ(st, t[i].status);
		CHECK_EQ(close, 0);
	}
}

TEST(serve_errors)
{
	struct http_resp resp;
	const uint8_t *body;
	char *t;
	long live;

	setup();
	live = iobuf_live();
	t = respond("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx", &resp, &body);
	CHECK_EQ(resp.status, 405);
	CHECK(has(t, "Allow: GET, HEAD"));
	CHECK(strncmp(t, "HTTP/1.1 405 Method Not Allowed\r\n", 33) == 0);
	free(t);
	t = respond("GET / HTTP/1.1\r\nHost : a\r\n\r\n", &resp, &body);
	CHECK_EQ(resp.status, 400);
	CHECK(has(t, "Connection: close"));
	free(t);
	t = respond("GET /missing HTTP/1.1\r\nHost: a\r\n\r\n", &resp, &body);
	CHECK(strncmp(t, "HTTP/1.1 404 Not Found\r\n", 24) == 0);
	CHECK(strstr(t, "<h1>404 Not Found</h1>") != NULL);
	free(t);
	http_error(503, "Thu, 01 Jan 1970 00:00:00 GMT", &resp);
	CHECK_EQ(resp.close, 1);
	iobuf_free_chain(resp.chain);
	CHECK_EQ(iobuf_live(), live);
}

TEST(helpers)
{
	char d[30], out[64];
	uint64_t a, b;

	http_date(784111777, d);
	CHECK(strcmp(d, "Sun, 06 Nov 1994 08:49:37 GMT") == 0);
	http_date(0, d);
	CHECK(strcmp(d, "Thu, 01 Jan 1970 00:00:00 GMT") == 0);
	http_date(951782400, d);
	CHECK(strcmp(d, "Tue, 29 Feb 2000 00:00:00 GMT") == 0);
	CHECK(strcmp(www_type("/a/b.CSS"), "text/css; charset=utf-8") == 0);
	CHECK(strcmp(www_type("/a.d/b"), "application/octet-stream") == 0);
	CHECK(strcmp(www_type("/x.png"), "image/png") == 0);
	CHECK_EQ(http_path_decode("/a%20b/", out, sizeof out), 0);
	CHECK(strcmp(out, "/a b/index.html") == 0);
	CHECK_EQ(http_path_decode("/...", out, sizeof out), 0);	/* a name, not a dot segment */
	CHECK_EQ(http_path_decode("/a/..b", out, sizeof out), 0);
	CHECK_EQ(http_path_decode("/a/../", out, sizeof out), -1);
	CHECK_EQ(http_range("bytes=0-0", 10, &a, &b), 1);
	CHECK(a == 0 && b == 0);
	CHECK_EQ(http_range("bytes=3-100", 10, &a, &b), 1);
	CHECK(a == 3 && b == 9);
	CHECK_EQ(http_range("bytes=-100", 10, &a, &b), 1);
	CHECK(a == 0 && b == 9);
	CHECK_EQ(http_range("bytes=-0", 10, &a, &b), -1);
	CHECK_EQ(http_range("bytes=10-", 10, &a, &b), -1);
	CHECK_EQ(http_range("bytes=0-", 0, &a, &b), -1);
	CHECK_EQ(http_range("bytes=a-", 10, &a, &b), 0);
	CHECK_EQ(http_range("bytes=1-2x", 10, &a, &b), 0);
	CHECK_EQ(http_range("bytes = 1-2", 10, &a, &b), 1);
	CHECK_EQ(http_etag_match("\"a\"", "\"a\""), 1);
	CHECK_EQ(http_etag_match("\"ab\"", "\"a\""), 0);
	CHECK_EQ(http_etag_match("\"b\" , W/\"a\"", "\"a\""), 1);
	CHECK_EQ(http_etag_match("\"b\"", "\"a\""), 0);
}

/* Mutated requests: never a crash (ASan watches), always an answer or a wait. */
TEST(parse_mutations)
{
	static const char *const seeds[] = {
		"GET /index.html HTTP/1.1\r\nHost: a\r\nRange: bytes=1-5\r\nIf-None-Match: \"x\"\r\n\r\n",
		"PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"POST / HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc",
	};
	static const char alphabet[] = "\r\n :%/.-,;\"*0123456789aAzZ\t\x01\x7f\xff";
	static struct http_req r;
	char buf[256];
	long live, bad = 0;

	setup();
	live = iobuf_live();
	for (int i = 0; i < 30000; i++) {
		const char *s = seeds[i % 3];
		size_t n = strlen(s);
		memcpy(buf, s, n);
		for (int k = 1 + (int)(test_rnd() % 4); k > 0; k--) {
			size_t at = test_rnd() % n;
			switch (test_rnd() % 3) {
			case 0:		/* replace a byte */
				buf[at] = alphabet[test_rnd() % (sizeof alphabet - 1)];
				break;
			case 1:		/* drop one */
				memmove(buf + at, buf + at + 1, n - at - 1);
				n--;
				break;
			default:	/* double one */
				if (n + 1 < sizeof buf) {
					memmove(buf + at + 1, buf + at, n - at);
					n++;
				}
			}
		}
		http_req_init(&r);
		size_t used = 0, step = 1 + test_rnd() % 7;
		while (used < n && r.state != HP_DONE && r.state != HP_ERROR)
			used += http_parse(&r, (uint8_t *)buf + used,
			    step < n - used ? step : n - used);
		if (r.state == HP_DONE || r.state == HP_ERROR) {
			struct http_resp resp;
			http_serve(&r, "Thu, 01 Jan 1970 00:00:00 GMT", &resp, NULL);
			bad += resp.chain == NULL || resp.status < 200 || resp.status > 505;
			bad += r.state == HP_ERROR && !resp.close;
			iobuf_free_chain(resp.chain);
		}
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(iobuf_live(), live);
}
