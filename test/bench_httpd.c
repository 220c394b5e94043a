/*
 * bench_httpd.c: the httpd app's request path over the in-memory wire,
 * hosted, on one core (make bench).
 *
 * Interfaces A (10.0.0.1) and B (10.0.0.2) of a memlink without
 * impairments or delay.  httpd's own code (app/httpd: httpd_start, then
 * its connections, parser and responses) listens on port 80 and is
 * reached at B; a client on A opens one connection and sends N
 * keep-alive GETs of /612.html one after another (one in flight), each
 * answer checked: status 200 and a 612-byte body.  With "304", each
 * GET carries If-None-Match with the page's ETag instead, and each
 * answer must be 304 with no body.  The site is test/bench_www (the
 * Makefile packs it into this program in place of WWW=), the same page
 * test/bench_httpd.sh serves.
 *
 *	build/hosted/bench_httpd [N [304]]	N requests (default 100000): ns each
 *
 * Everything runs on core 0: the figures are one core's work for the
 * client, both ends' TCP/IP (checksums in software), the wire's copy of
 * every frame, and httpd.
 * test/callgrind.sh runs it twice with different N and prints the
 * marginal instructions per request, start-up and tear-down cancelled.
 *
 * The client's response reader is the least it can be: the first
 * answer's header block is read up to its empty line (its status and
 * Content-Length checked); every later one must have the same length,
 * status and empty line (first_head says why), then 612 body bytes.
 */
#define _GNU_SOURCE		/* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/httpd/http.h"
#include "kernel/platform.h"
#include "benchlib.h"
#include "tcp/iobuf.h"
#include "tcp/tcp.h"

#define PORT		80
#define PAGE		"/612.html"
#define PAGE_LEN	612
#define HEAD_MAX	1024	/* our answers' header blocks are about 250 bytes */

static struct netif *a, *b;
static long nreq = 100000, done;
static uint64_t t0;
static int cond;		/* "304": conditional GETs, answered 304 */
static int status = 200;	/* what every answer must say */
static size_t body_len = PAGE_LEN;	/* ... and its body's length */

/* The answer being read. */
static char head[HEAD_MAX];
static size_t hlen;		/* header bytes so far */
static size_t hsize;		/* the first answer's header block length */
static int in_body;		/* the header block is complete */
static size_t body_left;	/* body bytes still to come */

static char req[256];
static size_t reqlen;

/* Say why and exit 1. */
static void
die(const char *why)
{
	fprintf(stderr, "bench_httpd: %s\n", why);
	exit(1);
}

/* The next request. */
static void
send_req(struct tcp_conn *c)
{
	if (tcp_write(c, req, reqlen) != (long)reqlen)
		die("the request did not fit");
}

/*
 * The first answer's header block is complete: check it (a 200 with a
 * Content-Length of the page's size, or a 304 without) and keep its
 * length.  httpd's
 * header blocks for one file are all the same length (the Date is fixed
 * width), so later answers are checked by their status line and the
 * empty line where this one's was: the client costs little beside what
 * it measures.
 */
static void
first_head(void)
{
	const char *cl;

	head[hlen] = '\0';
	cl = strstr(head, "\r\nContent-Length: ");
	if (status == 200 && (cl == NULL || strtoul(cl + 18, NULL, 10) != PAGE_LEN))
		die("the first answer's Content-Length was not the page's size");
	if (status == 304 && cl != NULL)
		die("the first 304 had a Content-Length");
	hsize = hlen;
}

/* The header block is complete: check it and expect its body. */
static void
head_done(void)
{
	if (hsize == 0)
		first_head();
	if (memcmp(head, status == 200 ? "HTTP/1.1 200 " : "HTTP/1.1 304 ", 13) != 0 ||
	    memcmp(head + hlen - 4, "\r\n\r\n", 4) != 0)
		die("an answer was not the status wanted with the first one's header length");
	body_left = body_len;
	in_body = 1;
}

/* The end of the first header block in head, searched from from: its length, or 0. */
static size_t
head_end(size_t from, size_t len)
{
	char *end = memmem(head + from, len - from, "\r\n\r\n", 4);

	return end == NULL ? 0 : (size_t)(end + 4 - head);
}

/*
 * Take n bytes of the answers at p; 1 when they completed one (with one
 * request in flight, nothing follows it).
 */
static int
take(const uint8_t *p, size_t n)
{
	while (n > 0 || (in_body && body_left == 0)) {	/* a body of 0 ends here */
		if (in_body) {
			size_t k = n < body_left ? n : body_left;
			body_left -= k;
			p += k;
			n -= k;
			if (body_left == 0) {
				in_body = 0;
				hlen = 0;
				if (n != 0)
					die("bytes after an answer");
				return 1;
			}
			continue;
		}
		size_t want = hsize != 0 ? hsize : HEAD_MAX - 1;
		size_t k = n < want - hlen ? n : want - hlen, whole;
		if (k == 0)
			die("an answer's header block was too long");
		memcpy(head + hlen, p, k);
		if (hsize != 0)
			whole = hlen + k == hsize ? hsize : 0;
		else		/* the end may straddle pieces */
			whole = head_end(hlen < 3 ? 0 : hlen - 3, hlen + k);
		size_t used = whole != 0 ? whole - hlen : k;
		hlen += used;
		p += used;
		n -= used;
		if (whole != 0)
			head_done();
	}
	return 0;
}

/* Connected: the clock starts with the first request. */
static void
client_connected(void *arg, struct tcp_conn *c)
{
	(void)arg;
	tcp_setopt(c, TCP_OPT_NODELAY, 1);
	t0 = clock_ns();
	send_req(c);
}

/* Answer bytes: the next request once one is complete, or the end. */
static void
client_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	int complete = 0;

	(void)arg;
	if (data == NULL)
		die("httpd closed the connection");
	for (struct iobuf *p = data; p != NULL; p = p->next)
		complete |= take(p->data, p->len);
	iobuf_free_chain(data);
	if (!complete)
		return;
	if (++done < nreq) {
		send_req(c);
		return;
	}
	uint64_t ns = clock_ns() - t0;
	printf("httpd over memlink (hosted, 1 core for the client, both stacks and httpd): "
	    "%ld keep-alive %sGETs of a %d-byte page: %.0f/s, %.2f us each\n", nreq,
	    cond ? "conditional (304) " : "", PAGE_LEN, (double)nreq * 1e9 / (double)ns,
	    (double)ns / 1e3 / (double)nreq);
	tcp_close(c);
	event_stop(0);
}

static const struct tcp_callbacks client_cb = {
	.connected = client_connected, .receive = client_receive,
	.aborted = bench_aborted,
};

/* The first event: httpd listening (any interface), the client connecting to B. */
static void
first(void *unused)
{
	struct tcp_conn *c;

	(void)unused;
	if (httpd_start(PORT) != 0)
		die("httpd did not start");
	const struct www_entry *e = www_find(PAGE);
	if (e == NULL)
		die(PAGE " is not packed");
	reqlen = (size_t)snprintf(req, sizeof req, "GET " PAGE " HTTP/1.1\r\nHost: 10.0.0.2\r\n"
	    "%s%s%s\r\n", cond ? "If-None-Match: " : "", cond ? e->etag : "", cond ? "\r\n" : "");
	if (tcp_connect(b->ip, PORT, &client_cb, NULL, &c) != 0)
		die("tcp_connect failed");
}

/* The runtime on one core, the link; run, and the figure from client_receive. */
int
main(int argc, char **argv)
{
	struct memlink_config cfg = { .seed = 1 };

	if ((argc > 1 && (nreq = atol(argv[1])) <= 0) || argc > 3 ||
	    (argc == 3 && strcmp(argv[2], "304") != 0))
		die("usage: bench_httpd [requests [304]]");
	if (argc == 3) {
		cond = 1;
		status = 304;
		body_len = 0;
	}
	bench_runtime(1);
	bench_link(&cfg, &a, &b);
	return event_run(first, NULL);
}
