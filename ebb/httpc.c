/*
 * httpc.c: the HTTP/1.1 client (see httpc.h).  Portable.
 *
 * A request is a struct hc on the core that made it: its connection
 * (owned by that core, tcp_connect's rule), a timer for the whole
 * request there too, and the request's bytes, written as send space
 * allows (connected, then sent).  Received bytes go through a small
 * state machine, byte runs at a time, so a response may be split
 * anywhere:
 *
 *	HEAD	the status line and headers, gathered into head[] up to
 *		the blank line, then parsed at once
 *	LEN	Content-Length bytes of body
 *	CLOSE	body until the server's FIN
 *	CSIZE	a chunk-size line (gathered into line[])
 *	CDATA	a chunk's bytes, then CEND, the CRLF after them
 *	TRAIL	trailer lines up to a blank one
 *
 * The body grows in one buffer (doubling, up to body_max) that becomes
 * the struct http_resp handed out.  Whatever ends the request first
 * (the response whole, an error, the timer, TCP's abort) calls finish
 * once: it gives the connection up, stops the timer, completes the
 * future and frees everything.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "httpc.h"
#include "kernel/malloc.h"
#include "percore.h"
#include "tcp/tcp.h"
#include "timer.h"

enum { HEAD, LEN, CLOSE, CSIZE, CDATA, CEND, TRAIL, DONE };

#define LINE_MAX	256	/* a chunk-size or trailer line, at most */

struct hc {
	struct tcp_conn *c;		/* NULL once given up */
	struct future *f;
	struct timer timer;
	int core;
	int state;
	int head_only;			/* HEAD: no body whatever the headers say */
	char *req;			/* the request's bytes */
	size_t req_len, req_off;
	size_t body_max;
	char head[HTTPC_HEAD_MAX];
	size_t head_len;
	char line[LINE_MAX];
	size_t line_len;
	int status;
	size_t left;			/* LEN, CDATA: body bytes still to come */
	struct http_resp *resp;		/* the body so far */
	size_t cap;			/* bytes resp->body can hold (NUL aside) */
};

static const struct tcp_callbacks hc_cb;

/* End the request with err (0: resolve with the response). */
static void
finish(struct hc *h, int err)
{
	if (h->c != NULL) {
		if (err == 0)
			tcp_close(h->c);
		else
			tcp_abort(h->c);
		h->c = NULL;
	}
	timer_stop(&h->timer);
	if (err == 0) {
		h->resp->status = h->status;
		h->resp->body[h->resp->len] = 0;
		future_resolve(h->f, h->resp);
	} else {
		kfree(h->resp);
		future_fail(h->f, err);
	}
	kfree(h->req);
	kfree(h);
}

/* Append n body bytes: 0, EMSGSIZE or ENOMEM. */
static int
body_add(struct hc *h, const char *p, size_t n)
{
	size_t len = h->resp->len, cap = h->cap;
	struct http_resp *r;

	if (n > h->body_max - len)
		return EMSGSIZE;
	if (len + n > cap) {
		while (cap < len + n)
			cap *= 2;
		if (cap > h->body_max)
			cap = h->body_max;
		if ((r = krealloc(h->resp, sizeof *r + cap + 1)) == NULL)
			return ENOMEM;
		h->resp = r;
		h->cap = cap;
	}
	memcpy(h->resp->body + len, p, n);
	h->resp->len = len + n;
	return 0;
}

/* The value of hex digit c, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Does header line p (n bytes, no CRLF) have name nm?  Then *val is its value. */
static int
header_is(const char *p, size_t n, const char *nm, const char **val, size_t *vlen)
{
	size_t k = strlen(nm);

	if (n <= k || p[k] != ':' || strncasecmp(p, nm, k) != 0)
		return 0;
	p += k + 1;
	n -= k + 1;
	while (n > 0 && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	*val = p;
	*vlen = n;
	return 1;
}

/* Parse the head in h->head (ending in a blank line): the next state, or -errno. */
static int
parse_head(struct hc *h)
{
	char *p = h->head, *end = h->head + h->head_len, *eol;
	int chunked = 0, has_len = 0;
	size_t clen = 0, vlen;
	const char *v;

	eol = memchr(p, '\n', (size_t)(end - p));
	/* "HTTP/1.x SSS" then a reason, or nothing. */
	if (eol - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' ||
	    p[8] != ' ' || p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
	    p[11] < '0' || p[11] > '9' || (eol - p > 13 && p[12] != ' '))
		return -EPROTO;
	h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	for (p = eol + 1; p < end; p = eol + 1) {
		size_t n;

		eol = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)(eol - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0)
			break;		/* the blank line */
		if (header_is(p, n, "content-length", &v, &vlen)) {
			size_t x = 0;
			if (vlen == 0 || vlen > 15)
				return -EPROTO;
			for (size_t i = 0; i < vlen; i++) {
				if (v[i] < '0' || v[i] > '9')
					return -EPROTO;
				x = x * 10 + (size_t)(v[i] - '0');
			}
			if (has_len && x != clen)
				return -EPROTO;
			has_len = 1;
			clen = x;
		} else if (header_is(p, n, "transfer-encoding", &v, &vlen)) {
			/* chunked must be the last coding; we know no other */
			if (vlen >= 7 && strncasecmp(v + vlen - 7, "chunked", 7) == 0 &&
			    vlen == 7)
				chunked = 1;
			else
				return -EPROTO;
		}
	}
	if (h->status < 200)
		return HEAD;		/* interim: the real one follows */
	if (h->head_only || h->status == 204 || h->status == 304)
		return DONE;
	if (chunked)
		return CSIZE;
	if (has_len) {
		if (clen > h->body_max)
			return -EMSGSIZE;
		h->left = clen;
		return clen == 0 ? DONE : LEN;
	}
	return CLOSE;
}

/* Gather a line into h->line: 1 when whole (CRLF stripped), 0 for more, -EPROTO. */
static int
line_add(struct hc *h, const char **pp, size_t *np)
{
	const char *p = *pp, *nl = memchr(p, '\n', *np);
	size_t n = nl != NULL ? (size_t)(nl - p) + 1 : *np;

	if (h->line_len + n > LINE_MAX)
		return -EPROTO;
	memcpy(h->line + h->line_len, p, n);
	h->line_len += n;
	*pp += n;
	*np -= n;
	if (nl == NULL)
		return 0;
	h->line_len--;				/* the LF */
	if (h->line_len > 0 && h->line[h->line_len - 1] == '\r')
		h->line_len--;
	return 1;
}

/* Feed n received bytes at p through the state machine: 0 or an errno. */
static int
feed(struct hc *h, const char *p, size_t n)
{
	int r, d;
	size_t k, x;

	while (n > 0 && h->state != DONE) {
		switch (h->state) {
		case HEAD:
			/* Byte by byte up to the blank line: heads are small. */
			if (h->head_len == sizeof h->head)
				return EPROTO;
			h->head[h->head_len++] = *p++;
			n--;
			k = h->head_len;
			if ((k >= 2 && memcmp(h->head + k - 2, "\n\n", 2) == 0) ||
			    (k >= 4 && memcmp(h->head + k - 4, "\r\n\r\n", 4) == 0)) {
				if ((r = parse_head(h)) < 0)
					return -r;
				h->head_len = 0;
				h->state = r;
			}
			break;
		case LEN:
		case CDATA:
		case CLOSE:
			k = h->state == CLOSE || n < h->left ? n : h->left;
			if ((r = body_add(h, p, k)) != 0)
				return r;
			p += k;
			n -= k;
			if (h->state != CLOSE && (h->left -= k) == 0)
				h->state = h->state == LEN ? DONE : CEND;
			break;
		case CSIZE:
			if ((r = line_add(h, &p, &n)) <= 0) {
				if (r < 0)
					return -r;
				break;
			}
			x = 0;
			for (k = 0; k < h->line_len && (d = hexval(h->line[k])) >= 0; k++) {
				if (x > (SIZE_MAX >> 4))
					return EPROTO;
				x = x << 4 | (size_t)d;
			}
			if (k == 0 || (k < h->line_len && h->line[k] != ';' &&
			    h->line[k] != ' ' && h->line[k] != '\t'))
				return EPROTO;
			h->line_len = 0;
			if (x > h->body_max - h->resp->len)
				return EMSGSIZE;
			h->left = x;
			h->state = x == 0 ? TRAIL : CDATA;
			break;
		case CEND:
		case TRAIL:
			if ((r = line_add(h, &p, &n)) <= 0) {
				if (r < 0)
					return -r;
				break;
			}
			k = h->line_len;
			h->line_len = 0;
			if (h->state == CEND) {
				if (k != 0)
					return EPROTO;
				h->state = CSIZE;
			} else if (k == 0) {
				h->state = DONE;
			}
			break;
		}
	}
	return 0;
}

/* Write what fits of the request. */
static int
push(struct hc *h)
{
	long n;

	if (h->req_off == h->req_len)
		return 0;
	n = tcp_write(h->c, h->req + h->req_off, h->req_len - h->req_off);
	if (n < 0)
		return (int)-n;
	h->req_off += (size_t)n;
	return 0;
}

static void
on_connected(void *arg, struct tcp_conn *c)
{
	struct hc *h = arg;
	int err;

	(void)c;
	if ((err = push(h)) != 0)
		finish(h, err);
}

static void
on_sent(void *arg, struct tcp_conn *c, size_t acked)
{
	struct hc *h = arg;
	int err;

	(void)c;
	(void)acked;
	if ((err = push(h)) != 0)
		finish(h, err);
}

static void
on_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	struct hc *h = arg;
	int err = 0;

	(void)c;
	if (data == NULL) {		/* the server's FIN */
		if (h->state == CLOSE)
			h->state = DONE;
		finish(h, h->state == DONE ? 0 : ECONNRESET);
		return;
	}
	for (struct iobuf *b = data; b != NULL && err == 0; b = b->next)
		err = feed(h, (const char *)b->data, b->len);
	iobuf_free_chain(data);
	if (err != 0 || h->state == DONE)
		finish(h, err);
}

static void
on_closed(void *arg, struct tcp_conn *c)
{
	(void)c;
	finish(arg, ECONNRESET);	/* both FINs, and receive said nothing */
}

static void
on_aborted(void *arg, struct tcp_conn *c, int reason)
{
	struct hc *h = arg;

	(void)c;
	h->c = NULL;			/* gone already */
	finish(h, reason == TCP_ERR_REFUSED ? ECONNREFUSED :
	    reason == TCP_ERR_RESET ? ECONNRESET : ETIMEDOUT);
}

static void
on_timeout(void *arg)
{
	finish(arg, ETIMEDOUT);
}

static const struct tcp_callbacks hc_cb = {
	.connected = on_connected,
	.receive = on_receive,
	.sent = on_sent,
	.closed = on_closed,
	.aborted = on_aborted,
};

/* Is s a non-empty string with no CR, LF (header injection)? */
static int
clean(const char *s)
{
	return s != NULL && *s != 0 && strpbrk(s, "\r\n") == NULL;
}

int
httpc_request(uint32_t ip, uint16_t port, const struct http_req *rq, struct future *f)
{
	struct hc *h;
	size_t n;
	int err;

	if (!clean(rq->method) || !clean(rq->path) || !clean(rq->host) ||
	    (rq->len > 0 && (rq->body == NULL || (rq->ctype != NULL && !clean(rq->ctype)))))
		return EINVAL;
	if ((h = kcalloc(1, sizeof *h)) == NULL)
		return ENOMEM;
	h->core = core_id();
	h->f = f;
	h->head_only = strcmp(rq->method, "HEAD") == 0;
	h->body_max = rq->body_max != 0 ? rq->body_max : HTTPC_BODY_MAX;
	h->cap = h->body_max < 256 ? h->body_max : 256;
	n = strlen(rq->method) + strlen(rq->path) + strlen(rq->host) +
	    (rq->ctype != NULL ? strlen(rq->ctype) : 0) + 128;
	h->req = kmalloc(n + rq->len);
	h->resp = kmalloc(sizeof *h->resp + h->cap + 1);
	if (h->req == NULL || h->resp == NULL) {
		kfree(h->req);
		kfree(h->resp);
		kfree(h);
		return ENOMEM;
	}
	h->resp->len = 0;
	h->req_len = (size_t)snprintf(h->req, n, "%s %s HTTP/1.1\r\nHost: %s\r\n"
	    "Connection: close\r\n", rq->method, rq->path, rq->host);
	if (rq->len > 0 || strcmp(rq->method, "POST") == 0 || strcmp(rq->method, "PUT") == 0) {
		if (rq->len > 0 && rq->ctype != NULL)
			h->req_len += (size_t)snprintf(h->req + h->req_len, n - h->req_len,
			    "Content-Type: %s\r\n", rq->ctype);
		h->req_len += (size_t)snprintf(h->req + h->req_len, n - h->req_len,
		    "Content-Length: %zu\r\n", rq->len);
	}
	h->req_len += (size_t)snprintf(h->req + h->req_len, n - h->req_len, "\r\n");
	if (rq->len > 0)
		memcpy(h->req + h->req_len, rq->body, rq->len);
	h->req_len += rq->len;
	timer_setup(&h->timer, on_timeout, h);
	if ((err = tcp_connect(ip, port, &hc_cb, h, &h->c)) != 0) {
		h->c = NULL;
		finish(h, err);
		return 0;
	}
	if (timer_start(&h->timer, (uint64_t)(rq->timeout_ms != 0 ? rq->timeout_ms :
	    HTTPC_TIMEOUT_MS) * TIMER_MS, 0) != 0)
		finish(h, ENOMEM);
	return 0;
}

void
httpc_free(struct http_resp *r)
{
	kfree(r);
}
