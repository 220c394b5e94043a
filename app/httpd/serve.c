/*
 * serve.c: a parsed request -> its response, as an iobuf chain.
 * Portable; no stack calls (test/test_http.c reads the bytes).
 *
 *	http_serve:  error from the parser  -> http_error (and close)
 *	             a method not GET/HEAD  -> 405 with Allow, or 501
 *	             the path               -> decoded, refused (400) or found
 *	             /stats.json            -> the caller's JSON, no-store
 *	             a file                 -> 304 | 416 | 206 | 200
 *
 * A file's response is two buffers: the headers (the file's 200 or 304
 * block, built once by files.c, or a 206 block made here, then Date,
 * whose value the caller makes once a second, and Connection) and, for
 * a GET, a view of the file's bytes in the image (iobuf_static: zero
 * copy; tcp_send takes clones of it).  Every other answer is one buffer
 * with a small HTML body.
 *
 * Persistence (RFC 9112 9.3): the answer closes the connection when the
 * request said so (keep_alive is 0: "Connection: close", or HTTP/1.0
 * without "keep-alive"), or the parser failed (its framing can no
 * longer be trusted).  An HTTP/1.0 client that asked to keep it gets
 * "Connection: keep-alive" back.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"

#define HEAD_MAX 1024		/* response header bytes, at most */
#define DATE_LEN 29		/* "Sun, 06 Nov 1994 08:49:37 GMT" (http_date) */

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* A header buffer being written: bytes, and whether they all fit. */
struct hb {
	char b[HEAD_MAX];
	size_t n;
	int over;
};

static void
put(struct hb *h, const char *s, size_t n)
{
	if (h->over || n > sizeof h->b - h->n) {
		h->over = 1;
		return;
	}
	memcpy(h->b + h->n, s, n);
	h->n += n;
}

static void
puts_(struct hb *h, const char *s)
{
	put(h, s, strlen(s));
}

/* Date, Connection and the blank line that ends the headers. */
static void
head_end(struct hb *h, const char *date, int close, int minor)
{
	put(h, "Date: ", 6);
	put(h, date, DATE_LEN);
	if (close)
		puts_(h, "\r\nConnection: close\r\n\r\n");
	else if (minor == 0)
		puts_(h, "\r\nConnection: keep-alive\r\n\r\n");
	else
		put(h, "\r\n\r\n", 4);
}

/* The headers (and any body in h) as one buffer into out. */
static void
finish(struct hb *h, struct http_resp *out)
{
	struct iobuf *b = NULL;

	if (!h->over && (b = iobuf_alloc(IOBUF_HEADROOM, h->n)) != NULL)
		memcpy(iobuf_put(b, h->n), h->b, h->n);
	out->chain = b;
}

/* A status with a small HTML body (none for HEAD); extra headers first. */
static void
simple(int status, const char *extra, const char *date, int close, int minor, int head,
    struct http_resp *out)
{
	struct hb h = { .n = 0 };
	char line[160], body[160];
	int bn = snprintf(body, sizeof body, "<!doctype html><title>%d %s</title><h1>%d %s</h1>\n",
	    status, reason(status), status, reason(status));

	snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\nServer: ebbrt-httpd\r\n"
	    "Content-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n",
	    status, reason(status), bn);
	puts_(&h, line);
	puts_(&h, extra);
	head_end(&h, date, close, minor);
	if (!head)
		put(&h, body, (size_t)bn);
	out->status = status;
	out->close = close;
	out->body = head ? 0 : (size_t)bn;
	finish(&h, out);
}

void
http_error(int status, const char *date, struct http_resp *out)
{
	simple(status, "", date, 1, 1, 0, out);
}

/* Is c a hex digit?  Its value, or -1. */
static int
hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int
http_path_decode(const char *in, char *out, size_t size)
{
	size_t n = 0;

	if (in[0] != '/')
		return -1;
	for (const char *s = in; *s != '\0'; s++) {
		int c = (unsigned char)*s;
		if (c == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);
			if (lo < 0)
				return -1;	/* a bad escape */
			c = hi * 16 + lo;
			s += 2;
			if (c == '/' || c == '\\')
				return -1;	/* an encoded separator */
		}
		if (c < 0x20 || c == 0x7f || n + 1 >= size)
			return -1;	/* NUL and controls; too long */
		out[n++] = (char)c;
	}
	out[n] = '\0';
	/* Dot segments ("/./", "/../", a final "/." or "/..") are refused. */
	for (const char *s = out; (s = strchr(s, '/')) != NULL; s++)
		if (s[1] == '.' && (s[2] == '/' || s[2] == '\0' ||
		    (s[2] == '.' && (s[3] == '/' || s[3] == '\0'))))
			return -1;
	if (out[n - 1] == '/') {	/* a directory: its index */
		if (n + sizeof "index.html" > size)
			return -1;
		memcpy(out + n, "index.html", sizeof "index.html");
	}
	return 0;
}

/* Digits at *s into *v (at least one; no overflow); 0, or -1. */
static int
number(const char **s, uint64_t *v)
{
	const char *p = *s;
	uint64_t n = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*s = p;
	*v = n;
	return 0;
}

int
http_range(const char *v, uint64_t size, uint64_t *first, uint64_t *last)
{
	uint64_t a, b;

	if (strncasecmp(v, "bytes", 5) != 0)
		return 0;		/* another unit: ignored */
	v += 5;
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v++ != '=' || strchr(v, ',') != NULL)
		return 0;		/* malformed, or several ranges: the whole */
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v == '-') {		/* the last b bytes */
		v++;
		if (number(&v, &b) < 0 || *v != '\0')
			return 0;
		if (b == 0 || size == 0)
			return -1;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 1;
	}
	if (number(&v, &a) < 0 || *v++ != '-')
		return 0;
	if (*v == '\0')
		b = UINT64_MAX;
	else if (number(&v, &b) < 0 || *v != '\0' || b < a)
		return 0;
	if (a >= size)
		return -1;
	*first = a;
	*last = b >= size ? size - 1 : b;
	return 1;
}

/*
 * RFC 9110 13.1.5: a Range is honoured only if there is no If-Range, or
 * its validator is this file's: the ETag compared strongly (a weak tag
 * never matches) or the exact Last-Modified date.  Otherwise the whole
 * file goes, as if there were no Range.
 */
static int
if_range_holds(const struct http_req *r, const struct www_entry *e)
{
	if (r->ifrange_long)
		return 0;
	if (r->ifrange[0] == '\0')
		return 1;
	return strcmp(r->ifrange, e->etag) == 0 || strcmp(r->ifrange, e->lastmod) == 0;
}

int
http_etag_match(const char *v, const char *etag)
{
	size_t n = strlen(etag);

	while (*v != '\0') {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		if (*v == '*')
			return 1;
		if (v[0] == 'W' && v[1] == '/')
			v += 2;		/* weak comparison (RFC 9110 13.1.2) */
		if (strncmp(v, etag, n) == 0 && (v[n] == '\0' || v[n] == ',' ||
		    v[n] == ' ' || v[n] == '\t'))
			return 1;
		while (*v != '\0' && *v != ',')
			v++;
	}
	return 0;
}

/* A file: 304, 416, 206 or 200, with its body for GET. */
static void
serve_file(const struct http_req *r, const struct www_entry *e, const char *date,
    struct http_resp *out)
{
	int head = r->method == HTTP_HEAD, close = !r->keep_alive;
	uint64_t first = 0, last = e->f->size - 1, size = e->f->size;
	struct hb h = { .n = 0 };
	char line[256];
	int rg = 0;

	out->close = close;
	if (r->inm[0] != '\0' && http_etag_match(r->inm, e->etag)) {
		put(&h, e->head304, e->head304_len);	/* built once (files.c) */
		head_end(&h, date, close, r->minor);
		out->status = 304;
		out->body = 0;
		finish(&h, out);
		return;
	}
	if (!head && r->range[0] != '\0' && !r->range_long && if_range_holds(r, e))
		rg = http_range(r->range, size, &first, &last);
	if (rg < 0) {
		snprintf(line, sizeof line, "Content-Range: bytes */%llu\r\n",
		    (unsigned long long)size);
		simple(416, line, date, close, r->minor, 0, out);
		return;
	}
	if (rg > 0) {
		snprintf(line, sizeof line, "HTTP/1.1 206 Partial Content\r\nServer: ebbrt-httpd\r\n"
		    "Content-Type: %s\r\nContent-Length: %llu\r\nContent-Range: bytes %llu-%llu/%llu\r\n",
		    e->type, (unsigned long long)(last - first + 1), (unsigned long long)first,
		    (unsigned long long)last, (unsigned long long)size);
		puts_(&h, line);
		snprintf(line, sizeof line, "ETag: %s\r\nLast-Modified: %s\r\nAccept-Ranges: bytes\r\n",
		    e->etag, e->lastmod);
		puts_(&h, line);
		out->status = 206;
	} else {
		put(&h, e->head200, e->head200_len);	/* built once (files.c) */
		out->status = 200;
	}
	head_end(&h, date, close, r->minor);
	finish(&h, out);
	out->body = 0;
	if (out->chain == NULL || head || size == 0)
		return;
	struct iobuf *body = iobuf_static(e->f->block, first, last - first + 1);
	if (body == NULL) {
		iobuf_free_chain(out->chain);
		out->chain = NULL;
		return;
	}
	out->chain->next = body;
	out->body = body->len;
}

/* /stats.json: the caller's JSON, never cached. */
static void
serve_json(const struct http_req *r, const char *date, struct http_resp *out,
    struct iobuf *(*stats_json)(void))
{
	struct iobuf *body = stats_json();
	struct hb h = { .n = 0 };
	char line[200];
	size_t len = iobuf_chain_len(body);

	out->status = 200;
	out->close = !r->keep_alive;
	out->body = 0;
	out->chain = NULL;
	if (body == NULL)
		return;
	snprintf(line, sizeof line, "HTTP/1.1 200 OK\r\nServer: ebbrt-httpd\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n",
	    len);
	puts_(&h, line);
	head_end(&h, date, out->close, r->minor);
	finish(&h, out);
	if (out->chain == NULL || r->method == HTTP_HEAD) {
		iobuf_free_chain(body);
		return;
	}
	out->chain->next = body;
	out->body = len;
}

void
http_serve(const struct http_req *r, const char *date, struct http_resp *out,
    struct iobuf *(*stats_json)(void))
{
	int close = !r->keep_alive, head = r->method == HTTP_HEAD;
	char path[HTTP_PATH_MAX + 16];
	const struct www_entry *e;

	if (r->state != HP_DONE) {
		http_error(r->status != 0 ? r->status : 400, date, out);
		return;
	}
	if (r->method == HTTP_M_OTHER) {
		simple(501, "", date, close, r->minor, 0, out);
		return;
	}
	if (r->method != HTTP_GET && r->method != HTTP_HEAD) {
		simple(405, "Allow: GET, HEAD\r\n", date, close, r->minor, 0, out);
		return;
	}
	if (r->asterisk || (!r->path_long && http_path_decode(r->path, path, sizeof path) < 0)) {
		simple(400, "", date, close, r->minor, head, out);
		return;
	}
	if (r->path_long) {
		simple(404, "", date, close, r->minor, head, out);
		return;
	}
	if (strcmp(path, "/stats.json") == 0 && stats_json != NULL) {
		serve_json(r, date, out, stats_json);
		return;
	}
	if (strcmp(path, "/status") == 0)
		strcpy(path, "/status.html");
	if ((e = www_find(path)) != NULL) {
		serve_file(r, e, date, out);
		return;
	}
	/* A directory named without its '/': send the client there. */
	size_t n = strlen(path);
	if (n + sizeof "/index.html" <= sizeof path) {
		memcpy(path + n, "/index.html", sizeof "/index.html");
		if (www_find(path) != NULL && strlen(r->path) < 512) {
			char loc[HTTP_PATH_MAX + 16];
			snprintf(loc, sizeof loc, "Location: %s/\r\n", r->path);
			simple(301, loc, date, close, r->minor, head, out);
			return;
		}
	}
	simple(404, "", date, close, r->minor, head, out);
}
