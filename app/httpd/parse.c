/*
 * parse.c: the HTTP/1.1 request parser (RFC 9112).  Portable and pure:
 * bytes in, one request's facts out; no allocation, no stack calls.
 *
 * It is a byte-at-a-time state machine (enum http_pstate), so a request
 * may arrive split at any byte across any number of segments and the
 * result is the same: the connection feeds each segment as it comes,
 * and nothing is copied but the few things a static server needs (the
 * path, and the values of Host, Connection, Content-Length,
 * Transfer-Encoding, If-None-Match, Range and If-Range).
 *
 *	HP_START -> HP_METHOD -> HP_TARGET -> HP_VERSION	request line
 *	  -> (HP_HNAME -> HP_HVALUE)* -> HP_HNAME, empty	header section
 *	  -> HP_BODY (Content-Length)				body, discarded
 *	   | (HP_CSIZE [HP_CEXT] -> HP_CDATA -> HP_CDATA_END)*	chunked
 *	     -> HP_TRAILER*
 *	  -> HP_DONE, or HP_ERROR with the status from any state
 *
 * Lines end in CRLF or a bare LF (RFC 9112 2.2 allows a recipient to
 * take LF alone); a CR not followed by LF is an error.  Limits, each
 * with its status: a request line over HTTP_LINE_MAX bytes, 414; a
 * header section over HTTP_HEAD_MAX bytes or HTTP_HEAD_LINES lines, or
 * one value we must read over HTTP_VALUE_MAX, 431; a version HTTP/2 and
 * up, 505; a transfer coding other than chunked, 501; anything
 * malformed, 400 (a space before a header's colon, obs-fold, control
 * bytes, a bad Content-Length, both Content-Length and
 * Transfer-Encoding, a missing or doubled Host in HTTP/1.1, ...).
 * Each is decided as soon as the offending byte arrives, so a client
 * cannot make the parser hold more than its fixed buffers.
 *
 * Methods are facts, not errors: the parser reads GET and PUT alike to
 * the end of their bodies, and serve.c decides 405 or 501, so that the
 * connection can go on after such an answer.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "http.h"

/* The headers whose values we read. */
enum { HH_NONE, HH_HOST, HH_LENGTH, HH_TE, HH_CONNECTION, HH_INM, HH_RANGE, HH_IFRANGE };

static const struct { const char *name; int id; } wanted[] = {
	{ "host", HH_HOST }, { "content-length", HH_LENGTH },
	{ "transfer-encoding", HH_TE }, { "connection", HH_CONNECTION },
	{ "if-none-match", HH_INM }, { "range", HH_RANGE }, { "if-range", HH_IFRANGE },
};

static const char *const methods[] = {
	[HTTP_GET] = "GET", [HTTP_HEAD] = "HEAD", [HTTP_POST] = "POST",
	[HTTP_PUT] = "PUT", [HTTP_DELETE] = "DELETE", [HTTP_CONNECT] = "CONNECT",
	[HTTP_OPTIONS] = "OPTIONS", [HTTP_TRACE] = "TRACE", [HTTP_PATCH] = "PATCH",
};

const char *
http_method_name(enum http_method m)
{
	return m > HTTP_M_NONE && m < HTTP_M_OTHER ? methods[m] : "OTHER";
}

void
http_req_init(struct http_req *r)
{
	/* The small fields; the buffers are written before they are read. */
	memset(r, 0, offsetof(struct http_req, val));
	r->path[0] = r->inm[0] = r->range[0] = r->ifrange[0] = '\0';
}

/* RFC 9110 5.6.2: tchar, the bytes of a token. */
static int
tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Stop with status. */
static void
fail(struct http_req *r, int status)
{
	r->state = HP_ERROR;
	r->status = status;
}

/* The method token in r->tok. */
static void
method_end(struct http_req *r)
{
	r->method = HTTP_M_OTHER;
	for (int m = HTTP_GET; m < HTTP_M_OTHER; m++)
		if (r->tlen < sizeof r->tok && strlen(methods[m]) == r->tlen &&
		    memcmp(methods[m], r->tok, r->tlen) == 0)
			r->method = m;
}

/* The target in r->raw: origin-form, absolute-form or "*" into path. */
static void
target_end(struct http_req *r)
{
	size_t kept = r->rlen < sizeof r->raw ? r->rlen : sizeof r->raw;
	const char *s = r->raw, *end = r->raw + kept;
	size_t n;

	if (r->rlen == 1 && s[0] == '*') {
		r->asterisk = 1;
		strcpy(r->path, "*");
		return;
	}
	if (s[0] != '/') {		/* absolute-form: scheme "://" authority */
		size_t skip = kept >= 7 && strncasecmp(s, "http://", 7) == 0 ? 7 :
		    kept >= 8 && strncasecmp(s, "https://", 8) == 0 ? 8 : 0;
		if (skip == 0) {
			fail(r, 400);
			return;
		}
		s += skip;
		const char *a = s;
		while (s < end && *s != '/' && *s != '?')
			s++;
		if (s == a) {
			fail(r, 400);	/* no authority */
			return;
		}
		if (s == end || *s == '?') {
			strcpy(r->path, "/");
			return;
		}
	}
	for (n = 0; s + n < end && s[n] != '?' && s[n] != '#'; n++)
		;
	if ((s + n == end && r->rlen > kept) || n >= sizeof r->path) {
		r->path_long = 1;	/* longer than any packed name */
		n = 0;
	}
	memcpy(r->path, s, n);
	r->path[n] = '\0';
}

/* The version token in r->tok: "HTTP/1.1", "HTTP/1.0", ... */
static void
version_end(struct http_req *r)
{
	const char *v = r->tok;

	if (r->tlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
	    v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
		fail(r, 400);
	else if (v[5] != '1')
		fail(r, v[5] == '0' ? 400 : 505);
	else
		r->minor = v[7] == '0' ? 0 : 1;	/* 1.2 and up are read as 1.1 */
}

/* Is the comma-separated list v made only of the token t (any case)? */
static int
list_has(const char *v, const char *t)
{
	size_t n = strlen(t);

	while (*v != '\0') {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		const char *e = v;
		while (*e != '\0' && *e != ',' && *e != ' ' && *e != '\t')
			e++;
		if ((size_t)(e - v) == n && strncasecmp(v, t, n) == 0)
			return 1;
		v = e;
	}
	return 0;
}

/* Transfer-Encoding's value: "chunked" alone (after any earlier line). */
static void
te_value(struct http_req *r)
{
	const char *v = r->val;
	int codings = 0, chunked = 0;

	while (*v != '\0') {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		const char *e = v;
		while (*e != '\0' && *e != ',')
			e++;
		if (e > v) {
			codings++;
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;	/* before the comma */
			chunked += e - v == 7 && strncasecmp(v, "chunked", 7) == 0;
			while (*e != '\0' && *e != ',')
				e++;
		}
		v = e;
	}
	if (codings == 0 || r->chunked)
		fail(r, 400);		/* empty, or chunked twice */
	else if (codings != 1 || chunked != 1)
		r->te_bad = 1;		/* gzip, ...: 501 at the section's end */
	else
		r->chunked = 1;
}

/* Content-Length's value: digits; a second one must agree. */
static void
length_value(struct http_req *r)
{
	uint64_t n = 0;

	if (r->vlen == 0) {
		fail(r, 400);
		return;
	}
	for (size_t i = 0; i < r->vlen; i++) {
		if (r->val[i] < '0' || r->val[i] > '9' || n > (UINT64_MAX >> 4)) {
			fail(r, 400);
			return;
		}
		n = n * 10 + (uint64_t)(r->val[i] - '0');
	}
	if (r->have_len && n != r->length) {
		fail(r, 400);
		return;
	}
	r->have_len = 1;
	r->length = n;
}

/* Append the value to dst (size bytes), a second line after ", "; 0 or -1. */
static int
join(char *dst, size_t size, const char *v, size_t n)
{
	size_t have = strlen(dst), sep = have > 0 ? 2 : 0;

	if (have + sep + n >= size)
		return -1;
	memcpy(dst + have, ", ", sep);
	memcpy(dst + have + sep, v, n);
	dst[have + sep + n] = '\0';
	return 0;
}

/* A header line ended: take its value, if it is one we read. */
static void
header_end(struct http_req *r)
{
	while (r->vlen > 0 && (r->val[r->vlen - 1] == ' ' || r->val[r->vlen - 1] == '\t'))
		r->vlen--;
	r->val[r->vlen] = '\0';
	switch (r->want) {
	case HH_HOST:
		r->hosts++;
		break;
	case HH_LENGTH:
		length_value(r);
		break;
	case HH_TE:
		te_value(r);
		break;
	case HH_CONNECTION:
		r->conn_close |= list_has(r->val, "close");
		r->conn_ka |= list_has(r->val, "keep-alive");
		break;
	case HH_INM:
		if (join(r->inm, sizeof r->inm, r->val, r->vlen) < 0)
			fail(r, 431);
		break;
	case HH_RANGE:
		if (r->range[0] != '\0' || r->vlen >= sizeof r->range)
			r->range_long = 1;	/* several, or too long: ignored */
		else
			memcpy(r->range, r->val, r->vlen + 1);
		break;
	case HH_IFRANGE:
		if (r->ifrange[0] != '\0' || r->vlen >= sizeof r->ifrange)
			r->ifrange_long = 1;	/* several, or too long: no match */
		else
			memcpy(r->ifrange, r->val, r->vlen + 1);
		break;
	}
}

/* The empty line after the headers: check the whole, then the body. */
static void
section_end(struct http_req *r)
{
	if ((r->minor == 1 && r->hosts == 0) || r->hosts > 1 ||
	    ((r->chunked || r->te_bad) && (r->have_len || r->minor == 0)))
		fail(r, 400);
	else if (r->te_bad)
		fail(r, 501);
	if (r->state == HP_ERROR)
		return;
	r->keep_alive = !r->conn_close && (r->minor == 1 || r->conn_ka);
	r->line = 0;
	if (r->chunked) {
		r->state = HP_CSIZE;
		r->tlen = 0;
		r->left = 0;
	} else if (r->length > 0) {
		r->state = HP_BODY;
		r->left = r->length;
	} else
		r->state = HP_DONE;
}

/* The name before a colon: is it one we read? */
static void
name_end(struct http_req *r)
{
	r->want = HH_NONE;
	if (r->nlen >= sizeof r->name)
		return;
	r->name[r->nlen] = '\0';
	for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
		if (strcmp(r->name, wanted[i].name) == 0)
			r->want = wanted[i].id;
}

/* A chunk-size line ended. */
static void
chunk_line_end(struct http_req *r)
{
	if (r->tlen == 0) {
		fail(r, 400);		/* no digits */
		return;
	}
	r->line = 0;
	if (r->left == 0) {		/* the last chunk: trailers follow */
		r->state = HP_TRAILER;
		r->head = 0;
		r->lines = 0;
	} else
		r->state = HP_CDATA;
}

/* A line ended (its CRLF or LF taken) in r->state. */
static void
eol(struct http_req *r)
{
	switch (r->state) {
	case HP_START:
		if (++r->empty > HTTP_EMPTY_LINES)
			fail(r, 400);
		break;
	case HP_METHOD:
	case HP_TARGET:
		fail(r, 400);		/* no version: HTTP/0.9, or garbage */
		break;
	case HP_VERSION:
		version_end(r);
		if (r->state == HP_ERROR)
			break;
		target_end(r);
		if (r->state == HP_ERROR)
			break;
		r->state = HP_HNAME;
		r->nlen = 0;
		break;
	case HP_HNAME:
		if (r->nlen != 0)
			fail(r, 400);	/* a name with no colon */
		else
			section_end(r);
		break;
	case HP_HVALUE:
		header_end(r);
		if (r->state == HP_ERROR)
			break;
		if (++r->lines > HTTP_HEAD_LINES) {
			fail(r, 431);
			break;
		}
		r->state = HP_HNAME;
		r->nlen = 0;
		break;
	case HP_CSIZE:
	case HP_CEXT:
		chunk_line_end(r);
		break;
	case HP_CDATA_END:
		r->state = HP_CSIZE;
		r->tlen = 0;
		r->line = 0;
		break;
	case HP_TRAILER:
		if (r->line == 0)
			r->state = HP_DONE;
		else if (++r->lines > HTTP_HEAD_LINES)
			fail(r, 431);
		r->line = 0;
		break;
	default:
		break;
	}
}

/* One byte of a line (not its end) in r->state. */
static void
line_byte(struct http_req *r, int c)
{
	switch (r->state) {
	case HP_START:
		if (!tchar(c)) {
			fail(r, 400);
			break;
		}
		r->state = HP_METHOD;
		r->tlen = 0;
		r->line = 1;
		/* FALLTHROUGH */
	case HP_METHOD:
		if (c == ' ') {
			method_end(r);
			r->state = HP_TARGET;
			r->rlen = 0;
		} else if (!tchar(c))
			fail(r, 400);
		else if (r->tlen < sizeof r->tok)
			r->tok[r->tlen++] = (char)c;
		else
			r->tlen = sizeof r->tok + 1;	/* too long for any method */
		break;
	case HP_TARGET:
		if (c == ' ' && r->rlen > 0) {
			r->state = HP_VERSION;
			r->tlen = 0;
		} else if (c <= 0x20 || c >= 0x7f)
			fail(r, 400);
		else {
			if (r->rlen < sizeof r->raw)
				r->raw[r->rlen] = (char)c;
			r->rlen++;
		}
		break;
	case HP_VERSION:
		if (c <= 0x20 || c >= 0x7f || r->tlen >= sizeof r->tok)
			fail(r, 400);
		else
			r->tok[r->tlen++] = (char)c;
		break;
	case HP_HNAME:
		if (c == ':' && r->nlen > 0) {
			name_end(r);
			r->state = HP_HVALUE;
			r->vlen = 0;
		} else if (!tchar(c))
			fail(r, 400);	/* obs-fold, space before ':', ... */
		else {
			if (r->nlen < sizeof r->name)
				r->name[r->nlen] = (char)lower(c);
			r->nlen++;
		}
		break;
	case HP_HVALUE:
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			fail(r, 400);
		else if (r->vlen == 0 && (c == ' ' || c == '\t'))
			break;		/* leading OWS */
		else if (r->want == HH_NONE)
			break;
		else if (r->vlen >= sizeof r->val - 1)
			fail(r, 431);
		else
			r->val[r->vlen++] = (char)c;
		break;
	case HP_CSIZE: {
		int d = c >= '0' && c <= '9' ? c - '0' : lower(c) >= 'a' && lower(c) <= 'f' ?
		    lower(c) - 'a' + 10 : -1;
		if (d >= 0 && r->left < (1ULL << 56)) {
			r->left = r->left * 16 + (uint64_t)d;
			r->tlen++;
		} else if ((c == ';' || c == ' ' || c == '\t') && r->tlen > 0)
			r->state = HP_CEXT;
		else
			fail(r, 400);
		break;
	}
	case HP_CEXT:
	case HP_TRAILER:
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			fail(r, 400);
		break;
	case HP_CDATA_END:
		fail(r, 400);		/* chunk data longer than its size */
		break;
	default:
		break;
	}
}

/* Count one byte against the limit of the part it belongs to. */
static void
count(struct http_req *r)
{
	switch (r->state) {
	case HP_METHOD:
	case HP_TARGET:
	case HP_VERSION:
		if (++r->line > HTTP_LINE_MAX)
			fail(r, 414);
		break;
	case HP_HNAME:
	case HP_HVALUE:
	case HP_TRAILER:
		if (++r->head > HTTP_HEAD_MAX)
			fail(r, 431);
		if (r->state == HP_TRAILER)
			r->line++;
		break;
	case HP_CSIZE:
	case HP_CEXT:
		if (++r->line > HTTP_CHUNK_LINE)
			fail(r, 400);
		break;
	default:
		break;
	}
}

size_t
http_parse(struct http_req *r, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && r->state != HP_DONE && r->state != HP_ERROR) {
		if (r->state == HP_BODY || r->state == HP_CDATA) {
			uint64_t k = n - i < r->left ? n - i : r->left;
			i += k;		/* discarded */
			r->left -= k;
			if (r->left == 0)
				r->state = r->state == HP_BODY ? HP_DONE : HP_CDATA_END;
			continue;
		}
		int c = p[i++];
		if (r->state != HP_START && c != '\r' && c != '\n') {
			count(r);
			if (r->state == HP_ERROR)
				break;
		} else if (r->state >= HP_HNAME && r->state <= HP_HVALUE && ++r->head > HTTP_HEAD_MAX) {
			fail(r, 431);	/* line ends count in the section too */
			break;
		}
		if (r->cr) {
			r->cr = 0;
			if (c != '\n')
				fail(r, 400);	/* a bare CR */
			else
				eol(r);
		} else if (c == '\r')
			r->cr = 1;
		else if (c == '\n')
			eol(r);
		else
			line_byte(r, c);
	}
	return i;
}
