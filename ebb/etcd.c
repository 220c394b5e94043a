/*
 * etcd.c: the etcd gateway client (see etcd.h).  Portable.
 *
 * A request is a struct op on the core that made it: the path and the
 * JSON body made once, then tries: httpc_request, its future's callback
 * (op_done) reads the answer, or, on a failure worth another try, arms
 * the backoff timer, whose expiry tries again.  The last try's error is
 * the request's.
 *
 * The JSON reader knows just what the gateway answers: an object whose
 * members are skipped unless named; strings taken raw (base64 and the
 * gateway's numbers-as-strings need no unescaping); nesting bounded.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "etcd.h"
#include "httpc.h"
#include "kernel/malloc.h"
#include "tcp/proto.h"
#include "timer.h"

enum { OP_PUT, OP_GET };

#define JSON_DEPTH	16

struct op {
	struct etcd e;
	int kind;
	const char *path;
	char *body;
	size_t len;
	int tries;
	uint32_t backoff_ms;
	struct future http;
	struct future *f;
	struct timer timer;
};

/* ---- base64 ----------------------------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
etcd_b64_encode(const void *in, size_t n, char *out)
{
	const uint8_t *p = in;
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = 0;
	return o;
}

static int
b64val(char c)
{
	const char *p = c != 0 ? strchr(b64, c) : NULL;

	return p != NULL ? (int)(p - b64) : -1;
}

long
etcd_b64_decode(const char *in, size_t n, uint8_t *out)
{
	size_t o = 0, pad = 0;

	if (n % 4 != 0)
		return -1;
	if (n > 0 && in[n - 1] == '=')
		pad = n > 1 && in[n - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		for (size_t k = 0; k < 4; k++) {
			int d = b64val(in[i + k]);
			if (d < 0 && !(in[i + k] == '=' && i + 4 == n && k >= 4 - pad))
				return -1;
			v = v << 6 | (uint32_t)(d < 0 ? 0 : d);
		}
		out[o++] = (uint8_t)(v >> 16);
		if (i + 4 < n || pad < 2)
			out[o++] = (uint8_t)(v >> 8);
		if (i + 4 < n || pad < 1)
			out[o++] = (uint8_t)v;
	}
	return (long)o;
}

/* ---- a minimal JSON reader ------------------------------------------------------ */

static const char *
ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* The string at p ('"'): its raw bytes [*s, *s + *n); after it, or NULL. */
static const char *
string(const char *p, const char *end, const char **s, size_t *n)
{
	const char *q;

	if (p >= end || *p != '"')
		return NULL;
	for (q = p + 1; q < end && *q != '"'; q++)
		if (*q == '\\' && ++q == end)
			return NULL;
	if (q >= end)
		return NULL;
	*s = p + 1;
	*n = (size_t)(q - p - 1);
	return q + 1;
}

/* Past the value at p, or NULL if it is not one. */
static const char *
skip(const char *p, const char *end, int depth)
{
	const char *s;
	size_t n;
	char close;

	p = ws(p, end);
	if (p >= end || depth > JSON_DEPTH)
		return NULL;
	if (*p == '"')
		return string(p, end, &s, &n);
	if (*p == '{' || *p == '[') {
		close = *p == '{' ? '}' : ']';
		p = ws(p + 1, end);
		if (p < end && *p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				if ((p = string(ws(p, end), end, &s, &n)) == NULL)
					return NULL;
				p = ws(p, end);
				if (p >= end || *p++ != ':')
					return NULL;
			}
			if ((p = skip(p, end, depth + 1)) == NULL)
				return NULL;
			p = ws(p, end);
			if (p < end && *p == ',') {
				p++;
				continue;
			}
			return p < end && *p == close ? p + 1 : NULL;
		}
	}
	s = p;
	while (p < end && strchr("-+.0123456789eEtruefalsn", *p) != NULL)
		p++;
	return p > s ? p : NULL;
}

/*
 * In the object at p, the value of member key: 1 and *v at it; 0 if it
 * has none; -1 if p is not a well-formed object.
 */
static int
member(const char *p, const char *end, const char *key, const char **v)
{
	const char *s = NULL, *q;
	size_t n = 0, k = strlen(key);
	int found = 0;

	if ((q = skip(p, end, 0)) == NULL || *(p = ws(p, end)) != '{')
		return -1;
	p = ws(p + 1, end);
	while (p < q && *p == '"') {
		p = ws(string(p, end, &s, &n), end) + 1;	/* past ':' (skip checked) */
		if (!found && n == k && memcmp(s, key, k) == 0) {
			*v = ws(p, end);
			found = 1;
		}
		p = ws(skip(p, end, 1), end);
		if (*p == ',')
			p = ws(p + 1, end);
	}
	return found;
}

int
etcd_parse_range(const char *json, size_t n, struct etcd_val **out)
{
	const char *end = json + n, *kvs, *v, *s = "";
	size_t len = 0;
	long got;
	const char *q = skip(json, end, 0);
	int r;

	if (q == NULL || ws(q, end) != end)
		return EPROTO;			/* not one object, or more after it */
	if ((r = member(json, end, "kvs", &kvs)) <= 0)
		return r == 0 ? ENOENT : EPROTO;
	if (*kvs != '[')
		return EPROTO;
	kvs = ws(kvs + 1, end);
	if (*kvs == ']')
		return ENOENT;
	if ((r = member(kvs, end, "value", &v)) < 0)
		return EPROTO;
	if (r == 1 && string(v, end, &s, &len) == NULL)
		return EPROTO;
	if (len / 4 * 3 > ETCD_VAL_MAX)
		return EPROTO;
	if ((*out = kmalloc(sizeof **out + len / 4 * 3 + 1)) == NULL)
		return ENOMEM;
	if ((got = etcd_b64_decode(s, len, (*out)->bytes)) < 0) {
		kfree(*out);
		*out = NULL;
		return EPROTO;
	}
	(*out)->len = (uint32_t)got;
	return 0;
}

/* ---- requests ------------------------------------------------------------------------ */

int
etcd_addr(struct etcd *e, const char *s)
{
	unsigned a, b, c, d, port;
	char tail;

	if (sscanf(s, "%u.%u.%u.%u:%u%c", &a, &b, &c, &d, &port, &tail) != 5 ||
	    a > 255 || b > 255 || c > 255 || d > 255 || port == 0 || port > 65535)
		return EINVAL;
	e->ip = IP4(a, b, c, d);
	e->port = (uint16_t)port;
	snprintf(e->host, sizeof e->host, "%u.%u.%u.%u:%u", a, b, c, d, port);
	return 0;
}

static void op_done(struct future *hf, void *arg);

static void
op_free(struct op *o)
{
	kfree(o->body);
	kfree(o);
}

/* One try: its end comes to op_done. */
static void
op_try(void *arg)
{
	struct op *o = arg;
	struct http_req rq = { .method = "POST", .path = o->path, .host = o->e.host,
	    .ctype = "application/json", .body = o->body, .len = o->len,
	    .body_max = 2 * ETCD_VAL_MAX + 4096, .timeout_ms = ETCD_TRY_MS };
	int err;

	o->tries++;
	future_init(&o->http);
	if (future_then(&o->http, op_done, o) != 0) {
		/* No memory even to wait: a try lost, unless it was the last. */
		if (o->tries < ETCD_TRIES) {
			timer_start(&o->timer, (uint64_t)o->backoff_ms * TIMER_MS, 0);
			o->backoff_ms *= 2;
			return;
		}
		if (o->f != NULL)
			future_fail(o->f, ENOMEM);
		op_free(o);
		return;
	}
	if ((err = httpc_request(o->e.ip, o->e.port, &rq, &o->http)) != 0)
		future_fail(&o->http, err);	/* op_done takes it from there */
}

static int
retryable(int err)
{
	return err == EIO || err == ECONNREFUSED || err == ECONNRESET || err == ETIMEDOUT ||
	    err == EHOSTUNREACH || err == ENOMEM || err == EADDRNOTAVAIL || err == EMFILE;
}

/* A try ended: read its answer, or try again. */
static void
op_done(struct future *hf, void *arg)
{
	struct op *o = arg;
	struct http_resp *r = hf->err == 0 ? hf->value : NULL;
	struct etcd_val *v = NULL;
	int err = hf->err;
	const char *h;

	if (err == 0 && r->status >= 500)
		err = EIO;			/* no leader yet, say: worth another try */
	if (err != 0 && retryable(err) && o->tries < ETCD_TRIES) {
		httpc_free(r);
		timer_start(&o->timer, (uint64_t)o->backoff_ms * TIMER_MS, 0);
		o->backoff_ms *= 2;
		return;
	}
	if (err == 0 && r->status != 200)
		err = EPROTO;
	if (err == 0 && o->kind == OP_GET)
		err = etcd_parse_range(r->body, r->len, &v);
	else if (err == 0 && member(r->body, r->body + r->len, "header", &h) != 1)
		err = EPROTO;
	httpc_free(r);
	if (o->f != NULL) {
		if (err != 0)
			future_fail(o->f, err);
		else
			future_resolve(o->f, v);
	}
	op_free(o);
}

/* A request with key (and a value for a put). */
static int
op_start(const struct etcd *e, int kind, const char *key, const void *val, size_t n,
    struct future *f)
{
	size_t kl = key != NULL ? strlen(key) : 0, len;
	struct op *o;

	if (kl == 0 || kl > ETCD_KEY_MAX || n > ETCD_VAL_MAX || (n > 0 && val == NULL))
		return EINVAL;
	if ((o = kcalloc(1, sizeof *o)) == NULL)
		return ENOMEM;
	if ((o->body = kmalloc(64 + (kl + 2) / 3 * 4 + (n + 2) / 3 * 4)) == NULL) {
		kfree(o);
		return ENOMEM;
	}
	o->e = *e;
	o->kind = kind;
	o->f = f;
	o->path = kind == OP_PUT ? "/v3/kv/put" : "/v3/kv/range";
	o->backoff_ms = ETCD_BACKOFF_MS;
	len = (size_t)sprintf(o->body, "{\"key\":\"");
	len += etcd_b64_encode(key, kl, o->body + len);
	if (kind == OP_PUT) {
		len += (size_t)sprintf(o->body + len, "\",\"value\":\"");
		len += etcd_b64_encode(val, n, o->body + len);
	}
	len += (size_t)sprintf(o->body + len, "\"}");
	o->len = len;
	timer_setup(&o->timer, op_try, o);
	op_try(o);
	return 0;
}

int
etcd_put(const struct etcd *e, const char *key, const void *val, size_t n, struct future *done)
{
	return op_start(e, OP_PUT, key, val, n, done);
}

int
etcd_get(const struct etcd *e, const char *key, struct future *f)
{
	return op_start(e, OP_GET, key, NULL, 0, f);
}
