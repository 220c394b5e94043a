/*
 * http.h: httpd's pieces and what they share.  Portable.
 *
 *	parse.c   the request parser: bytes in, one request's facts out
 *	files.c   the files packed into the image: lookup, types, ETags,
 *	          header blocks built once (200, 304)
 *	serve.c   a parsed request -> a response chain (status, headers,
 *	          zero-copy body)
 *	stats.c   /stats.json: the instance's counters as JSON
 *	httpd.c   the connections: TCP glue, limits, timers, app_main
 *
 * The parser and serve.c are pure functions over bytes and iobufs (no
 * stack calls), so test/test_http.c drives them at every split point.
 */
#ifndef APP_HTTPD_HTTP_H
#define APP_HTTPD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/param.h"
#include "tcp/iobuf.h"

/* Limits (RFC 9112 leaves them to the server; these are the issue's). */
#define HTTP_LINE_MAX	  8192	/* request-line bytes, line end excluded: 414 */
#define HTTP_HEAD_MAX	  16384	/* header-section bytes, line ends included: 431 */
#define HTTP_HEAD_LINES	  100	/* header lines: 431 */
#define HTTP_PATH_MAX	  1024	/* path bytes kept; a longer one is no file: 404 */
#define HTTP_VALUE_MAX	  1024	/* a header value we read (Range, If-None-Match,
				 * Connection, ...); longer: 431 */
#define HTTP_EMPTY_LINES  8	/* empty lines tolerated before a request */
#define HTTP_CHUNK_LINE	  4096	/* a chunk-size line, extensions included */

/* Methods: those RFC 9110 defines, and the rest. */
enum http_method {
	HTTP_M_NONE, HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE,
	HTTP_CONNECT, HTTP_OPTIONS, HTTP_TRACE, HTTP_PATCH, HTTP_M_OTHER,
};

/* Where the parser is in a request (parse.c's state machine). */
enum http_pstate {
	HP_START,		/* before the method (empty lines skipped) */
	HP_METHOD, HP_TARGET, HP_VERSION,	/* the request line */
	HP_HNAME, HP_HVALUE,	/* a header line (or the empty one) */
	HP_BODY,		/* Content-Length bytes to discard */
	HP_CSIZE, HP_CEXT,	/* a chunk-size line */
	HP_CDATA, HP_CDATA_END,	/* chunk bytes to discard, then their CRLF */
	HP_TRAILER,		/* trailer lines after the last chunk */
	HP_DONE,		/* one request complete: http_req's facts hold */
	HP_ERROR,		/* malformed or over a limit: status says which */
};

/*
 * One request being parsed, and what it said.  Initialized by
 * http_req_init; http_parse fills it as bytes come; at HP_DONE the
 * fields below "facts" are the request's, and at HP_ERROR status is
 * the answer (the connection then closes).  About 3.3 KiB: one per
 * connection.
 */
struct http_req {
	/* The machine. */
	enum http_pstate state;
	int cr;			/* a CR came: the next byte must be LF */
	size_t line;		/* bytes of the current line so far */
	size_t head;		/* header-section bytes so far */
	int lines;		/* header lines so far */
	int empty;		/* empty lines before the request line */
	char name[24];		/* the header name being read (lowercased) */
	size_t nlen;		/* its length (may exceed sizeof name: not ours) */
	size_t vlen;		/* bytes in val */
	int want;		/* which header this line is, if one we read */
	char tok[16];		/* the method or the version being read */
	size_t tlen;
	size_t rlen;		/* the target's length (may exceed sizeof raw) */
	uint64_t left;		/* body or chunk bytes still to discard */
	int chunked;		/* Transfer-Encoding: chunked */
	int te_bad;		/* ... or another coding: 501 */
	int have_len;		/* a Content-Length came */
	int conn_close;		/* Connection: close */
	int conn_ka;		/* Connection: keep-alive */

	/* Facts, once HP_DONE (or what was known at HP_ERROR). */
	enum http_method method;
	int minor;		/* HTTP/1.minor: 0 or 1 */
	int keep_alive;		/* the connection persists after the answer */
	int hosts;		/* Host header lines */
	int path_long;		/* the path did not fit (no file has such a name) */
	int asterisk;		/* the target was "*" */
	uint64_t length;	/* Content-Length */
	int range_long;		/* several Ranges, or one too long: ignored */
	int ifrange_long;	/* several If-Ranges, or one too long: no match */
	int status;		/* at HP_ERROR: 400, 414, 431, 501 or 505 */

	/* Buffers (http_req_init leaves them be but for a '\0'). */
	char val[HTTP_VALUE_MAX];	/* the value being read */
	char raw[HTTP_PATH_MAX];	/* the target's first bytes */
	char path[HTTP_PATH_MAX];	/* the path, still percent-encoded */
	char inm[HTTP_VALUE_MAX];	/* If-None-Match; "" if none */
	char range[128];		/* Range; "" if none */
	char ifrange[128];		/* If-Range; "" if none */
};

void http_req_init(struct http_req *r);

/*
 * Parse up to n bytes at p into r; returns how many were taken.  It
 * stops after the byte that completes a request (r->state HP_DONE: the
 * rest, a pipelined request, is for the next call after
 * http_req_init) or that breaks one (HP_ERROR); otherwise it takes
 * them all.  Any split of a request's bytes into calls gives the same
 * result.
 */
size_t http_parse(struct http_req *r, const uint8_t *p, size_t n);

/* The method's name, for logs and tests. */
const char *http_method_name(enum http_method m);

/* ---- files.c --------------------------------------------------------------- */

/*
 * One packed file as the packer (pack.sh) lays it out in the image: the
 * bytes sit in a never-freed iobuf block, so a response's body is an
 * iobuf viewing them (iobuf_static).
 */
struct www_file {
	const char *path;		/* "/index.html" */
	struct iobuf_block *block;	/* header + the file's bytes */
	uint64_t size;
	int64_t mtime;			/* Unix time */
};

/* What files.c works out once per file at start. */
struct www_entry {
	const struct www_file *f;
	const char *type;		/* Content-Type */
	char etag[24];			/* "\"<16 hex digits>\"" */
	char lastmod[40];		/* the IMF-fixdate of mtime */
	char *head200;			/* status line + fixed headers of a 200 (GET, HEAD) */
	size_t head200_len;
	char *head304;			/* ... of a 304 */
	size_t head304_len;
};

/* Work out every packed file's entry; 0, or ENOMEM. */
int www_init(void);
/* The entry for a decoded path ("/a/b.html"), or NULL. */
const struct www_entry *www_find(const char *path);
/* Files packed; the i-th (0 <= i < www_count()). */
int www_count(void);
const struct www_entry *www_entry(int i);
/* Content-Type for a name, by its extension. */
const char *www_type(const char *name);
/* "Sun, 06 Nov 1994 08:49:37 GMT" for Unix time t into out (30 bytes: 29 and a NUL). */
void http_date(int64_t t, char out[30]);

/* ---- serve.c --------------------------------------------------------------- */

/* A response: the chain to send, and what happens after it. */
struct http_resp {
	struct iobuf *chain;	/* headers (+ body view); NULL if out of memory */
	int status;
	int close;		/* close the connection after sending it */
	size_t body;		/* body bytes in chain */
};

/*
 * Answer r (HP_DONE or HP_ERROR) into *out.  stats_json, if not NULL,
 * makes the body of /stats.json (a fresh chain) for a GET or HEAD of it.
 * date is the Date header's value, http_date's 29 characters (the
 * caller makes it once a second, not once a request).
 */
void http_serve(const struct http_req *r, const char *date, struct http_resp *out,
    struct iobuf *(*stats_json)(void));

/* An error answer by status (503, 408, ...), with Connection: close. */
void http_error(int status, const char *date, struct http_resp *out);

/*
 * Decode a percent-encoded path into out (size bytes): 0, or -1 if it is
 * refused (a bad escape, an encoded NUL or '/', a "." or ".." segment,
 * too long).  A path ending in '/' gets "index.html" appended.
 */
int http_path_decode(const char *in, char *out, size_t size);

/*
 * Parse a Range value against a file of size bytes: 1 and *first, *last
 * for one satisfiable range; 0 if the header is to be ignored (not
 * bytes=, several ranges, malformed); -1 if unsatisfiable (416).
 */
int http_range(const char *v, uint64_t size, uint64_t *first, uint64_t *last);

/* Does an If-None-Match value match etag (weak comparison, or "*")? */
int http_etag_match(const char *v, const char *etag);

/* ---- stats.c (and httpd.c's counters) ---------------------------------------- */

/* httpd's counters on one core: written only there (relaxed stores). */
struct httpd_stats {
	uint64_t requests;		/* answers queued, any status */
	uint64_t accepted;		/* connections taken */
	uint64_t refused;		/* ... refused with 503: over conns= */
	uint64_t idle_timeouts;		/* closed idle, or reset not reading */
	uint64_t header_timeouts;	/* 408: headers too slow (slowloris) */
	uint64_t body_bytes;		/* response body bytes queued */
	uint64_t status[6];		/* answers by class: [2] 2xx ... [5] 5xx */
} __attribute__((aligned(CACHE_LINE)));

extern struct httpd_stats httpd_percore[NCPU];
extern long httpd_nconns;		/* connections held now (atomic) */

/* Start sampling each core's TCP connections by state; 0, or ENOMEM. */
int stats_start(void);
/* /stats.json's body, a fresh chain; NULL if memory ran out. */
struct iobuf *stats_json(void);

/* ---- httpd.c ---------------------------------------------------------------- */

/* Serve on port p: files, listener, sampler; 0, or -1 (said why). */
int httpd_start(uint16_t p);

#endif
