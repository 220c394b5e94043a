/*
 * httpc.h: a small HTTP/1.1 client on our own TCP stack.  Portable.
 *
 * One request per connection: httpc_request opens a connection to
 * ip:port from this core, sends the request (with Host, Connection:
 * close and, when there is a body, Content-Type and Content-Length),
 * reads the response and closes.  The response body is delimited by
 * Content-Length, by chunked transfer coding, or (with neither) by the
 * server's close; responses to HEAD and statuses 1xx, 204 and 304 have
 * none.  Interim 1xx responses are skipped.
 *
 *	struct http_req rq = { .method = "POST", .path = "/v3/kv/range",
 *	    .host = "10.0.0.1:2379", .ctype = "application/json",
 *	    .body = json, .len = strlen(json) };
 *	future_init(&f);
 *	httpc_request(IP4(10, 0, 0, 1), 2379, &rq, &f);
 *	err = future_block(&f, &v);		// v: struct http_resp *
 *	... ((struct http_resp *)v)->status, ->body, ->len ...; httpc_free(v);
 *
 * The future resolves with a struct http_resp (the caller's, freed with
 * httpc_free) or fails with an errno value:
 *	ECONNREFUSED	the server's port was closed (an RST to the SYN)
 *	ECONNRESET	the connection was reset, or closed before the
 *			response was whole
 *	ETIMEDOUT	the whole request took longer than timeout_ms (or
 *			TCP gave up)
 *	EMSGSIZE	the body is longer than body_max
 *	EPROTO		the response is not HTTP/1.x as we read it: a bad
 *			status line, a header line too long, a bad
 *			Content-Length or chunk size
 *	ENOMEM, EHOSTUNREACH, EMFILE, ...	as tcp_connect
 * Everything of the request (the connection, the timer, its buffers)
 * is gone when the future completes.
 */
#ifndef EBB_HTTPC_H
#define EBB_HTTPC_H

#include <stddef.h>
#include <stdint.h>

#include "future.h"

#define HTTPC_HEAD_MAX		8192		/* bytes of the response's head */
#define HTTPC_BODY_MAX		(1024 * 1024)	/* default body_max */
#define HTTPC_TIMEOUT_MS	5000		/* default timeout_ms */

/* A request: the strings and body are copied by httpc_request. */
struct http_req {
	const char *method;		/* "GET", "POST", ... */
	const char *path;		/* "/v3/kv/put" */
	const char *host;		/* the Host header's value */
	const char *ctype;		/* Content-Type, if len > 0 (NULL: none) */
	const void *body;
	size_t len;
	size_t body_max;		/* the response body's limit (0: HTTPC_BODY_MAX) */
	uint32_t timeout_ms;		/* for everything (0: HTTPC_TIMEOUT_MS) */
};

/* A response: one allocation; body has len bytes and a NUL after them. */
struct http_resp {
	int status;			/* 200, 404, ... */
	size_t len;
	char body[];
};

/*
 * Send rq to ip:port (network-order address, host-order port); f
 * completes as above, on this core (tcp_connect's own errors too).
 * Returns 0, or EINVAL (a field missing or holding a CR or LF) or
 * ENOMEM, and then f is untouched.
 */
int httpc_request(uint32_t ip, uint16_t port, const struct http_req *rq, struct future *f);

void httpc_free(struct http_resp *r);

#endif
