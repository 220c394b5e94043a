/*
 * binary.c: memcached's binary protocol (the "Binary Protocol Revamped"
 * draft that memcached 1.6 and libmemcached's --binary mode speak), as
 * memcached 1.6.18 answers it, over the store.  Portable; no network.
 *
 * A connection is binary if its first byte is 0x80, the request magic
 * (text.c looks and hands it over for good).  Every request and
 * response is a 24-byte header and a body:
 *
 *	header:	magic (0x80 request, 0x81 response), opcode, key length (2),
 *		extras length (1), data type (1), vbucket (2) in a request or
 *		status (2) in a response, total body length (4), opaque (4,
 *		echoed), cas (8); all big-endian
 *	body:	extras, then key, then value
 *
 * The header and then extras and key are gathered into b->hdr and
 * b->head (they are small: a segment may cut them anywhere); a storage
 * request's value goes straight into its new item, as the text
 * protocol's data block does, and a GET's value goes out as a buffer
 * that references the item (zero copy).
 *
 *	kv_bin_input: HDR -> check -> HEAD (extras, key) -> run
 *	                                                  -> VALUE (into the item) -> store
 *	              an unknown opcode -> SWALLOW its body
 *
 * Quiet opcodes (GETQ, SETQ, ...) answer only what their loud forms
 * would answer on a miss (get family) or a failure (the rest): a
 * client pipelines them and ends with NOOP.  Errors, as memcached's:
 * a request whose lengths do not fit its opcode is answered "Invalid
 * arguments" and the connection closes (the stream cannot be trusted
 * after it); a header without the request magic closes it without a
 * word; an unknown opcode is answered and its body skipped; a value
 * over item_max is answered "Too large." and skipped.
 */
#include <string.h>

#include "kernel/malloc.h"
#include "binproto.h"
#include "proto.h"

/* A request's opcode: its loud form, whether it is quiet, and what it must carry. */
struct opinfo {
	uint8_t known;		/* an opcode we serve */
	uint8_t base;		/* the loud opcode */
	uint8_t quiet;
	int8_t ext;		/* extras bytes it must have (-1: 0 or 4, flush's) */
	uint8_t key;		/* 1: must have a key; 0: must not; 2: may */
	uint8_t value;		/* 1: may have a value */
};

#define OP(code, base, quiet, ext, key, value)	[code] = { 1, base, quiet, ext, key, value }
static const struct opinfo ops[256] = {
	OP(OP_GET, OP_GET, 0, 0, 1, 0),		OP(OP_GETQ, OP_GET, 1, 0, 1, 0),
	OP(OP_GETK, OP_GETK, 0, 0, 1, 0),	OP(OP_GETKQ, OP_GETK, 1, 0, 1, 0),
	OP(OP_SET, OP_SET, 0, 8, 1, 1),		OP(OP_SETQ, OP_SET, 1, 8, 1, 1),
	OP(OP_ADD, OP_ADD, 0, 8, 1, 1),		OP(OP_ADDQ, OP_ADD, 1, 8, 1, 1),
	OP(OP_REPLACE, OP_REPLACE, 0, 8, 1, 1),	OP(OP_REPLACEQ, OP_REPLACE, 1, 8, 1, 1),
	OP(OP_APPEND, OP_APPEND, 0, 0, 1, 1),	OP(OP_APPENDQ, OP_APPEND, 1, 0, 1, 1),
	OP(OP_PREPEND, OP_PREPEND, 0, 0, 1, 1),	OP(OP_PREPENDQ, OP_PREPEND, 1, 0, 1, 1),
	OP(OP_DELETE, OP_DELETE, 0, 0, 1, 0),	OP(OP_DELETEQ, OP_DELETE, 1, 0, 1, 0),
	OP(OP_INCR, OP_INCR, 0, 20, 1, 0),	OP(OP_INCRQ, OP_INCR, 1, 20, 1, 0),
	OP(OP_DECR, OP_DECR, 0, 20, 1, 0),	OP(OP_DECRQ, OP_DECR, 1, 20, 1, 0),
	OP(OP_QUIT, OP_QUIT, 0, 0, 0, 0),	OP(OP_QUITQ, OP_QUIT, 1, 0, 0, 0),
	OP(OP_FLUSH, OP_FLUSH, 0, -1, 0, 0),	OP(OP_FLUSHQ, OP_FLUSH, 1, -1, 0, 0),
	OP(OP_NOOP, OP_NOOP, 0, 0, 0, 0),	OP(OP_VERSION, OP_VERSION, 0, 0, 0, 0),
	OP(OP_STAT, OP_STAT, 0, 0, 2, 0),	OP(OP_TOUCH, OP_TOUCH, 0, 4, 1, 0),
	OP(OP_GAT, OP_GAT, 0, 4, 1, 0),		OP(OP_GATQ, OP_GAT, 1, 4, 1, 0),
	OP(OP_GATK, OP_GATK, 0, 4, 1, 0),	OP(OP_GATKQ, OP_GATK, 1, 4, 1, 0),
};

/* Where a binary connection is: what the next bytes are. */
enum { B_HDR, B_HEAD, B_VALUE, B_SWALLOW };

/* A binary connection's state (text.c's struct kv_text points to it). */
struct kv_bin {
	int state;
	uint8_t hdr[24];		/* the request header, as it came */
	size_t nhdr;
	uint8_t head[20 + KV_KEY_MAX];	/* extras and key */
	size_t nhead;
	/* from the header: */
	uint8_t op, next;
	uint16_t nkey;
	uint32_t body;
	uint64_t cas;
	/* a storage request's value: */
	struct kv_item *item;
	size_t need, got;
	enum kv_op sop;
	uint64_t scas;
	size_t swallow;			/* body bytes to skip */
};

/* ---- bytes in network order --------------------------------------------- */

static uint64_t
get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void
put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* ---- responses ------------------------------------------------------------ */

/* A response header for b's request; nval: value bytes that will follow the key. */
static void
header(struct kv_bin *b, struct kv_out *out, int status, size_t next, size_t nkey,
    size_t nval, uint64_t cas)
{
	uint8_t h[24];

	h[0] = MAGIC_RES;
	h[1] = b->op;
	put_be(h + 2, nkey, 2);
	h[4] = (uint8_t)next;
	h[5] = 0;			/* data type: raw bytes */
	put_be(h + 6, (uint64_t)status, 2);
	put_be(h + 8, next + nkey + nval, 4);
	memcpy(h + 12, b->hdr + 12, 4);	/* the opaque, as it came */
	put_be(h + 16, cas, 8);
	kv_out_str(out, (const char *)h, sizeof h);
}

/* A response whose body is copied: extras, key, value. */
static void
respond(struct kv_bin *b, struct kv_out *out, int status, const void *ext, size_t next,
    const char *key, size_t nkey, const void *val, size_t nval, uint64_t cas)
{
	header(b, out, status, next, nkey, nval, cas);
	kv_out_str(out, ext, next);
	kv_out_str(out, key, nkey);
	kv_out_str(out, val, nval);
}

/* An error response, with memcached's text as its value. */
static void
fail(struct kv_bin *b, struct kv_out *out, int status)
{
	const char *msg;

	switch (status) {
	case ST_NOT_FOUND:	msg = "Not found"; break;
	case ST_EXISTS:		msg = "Data exists for key."; break;
	case ST_TOO_LARGE:	msg = "Too large."; break;
	case ST_EINVAL:		msg = "Invalid arguments"; break;
	case ST_NOT_STORED:	msg = "Not stored."; break;
	case ST_NON_NUMERIC:	msg = "Non-numeric server-side value for incr or decr"; break;
	case ST_UNKNOWN:	msg = "Unknown command"; break;
	default:		msg = "Out of memory"; break;
	}
	respond(b, out, status, NULL, 0, NULL, 0, msg, strlen(msg), 0);
}

/* The status for a store outcome. */
static int
status_of(enum kv_status s)
{
	switch (s) {
	case KV_STORED:
	case KV_DELETED:	return ST_OK;
	case KV_NOT_STORED:	return ST_NOT_STORED;
	case KV_EXISTS:		return ST_EXISTS;
	case KV_NOT_FOUND:	return ST_NOT_FOUND;
	case KV_NON_NUMERIC:	return ST_NON_NUMERIC;
	case KV_TOO_LARGE:	return ST_TOO_LARGE;
	default:		return ST_NO_MEMORY;
	}
}

/* ---- the requests ---------------------------------------------------------- */

/* get, getk, gat, gatk and their quiet forms; touch. */
static void
run_get(struct kv_bin *b, const struct opinfo *oi, const char *key, struct kv_out *out)
{
	int base = oi->base, withkey = base == OP_GETK || base == OP_GATK;
	struct kv_item *it;
	uint8_t flags[4];

	if (base == OP_GET || base == OP_GETK) {
		kv_count(KV_CMD_GET);
		it = kv_get(key, b->nkey, KV_COUNT);
	} else {
		it = kv_touch(key, b->nkey, (int64_t)get_be(b->head, 4));
	}
	if (it == NULL) {
		if (oi->quiet)
			return;
		if (withkey)	/* the key, and no text */
			respond(b, out, ST_NOT_FOUND, NULL, 0, key, b->nkey, NULL, 0, 0);
		else
			fail(b, out, ST_NOT_FOUND);
		return;
	}
	put_be(flags, it->flags, 4);
	if (base == OP_TOUCH) {
		respond(b, out, ST_OK, flags, 4, NULL, 0, NULL, 0, it->cas);
		return;
	}
	header(b, out, ST_OK, 4, withkey ? b->nkey : 0, it->nbytes, it->cas);
	kv_out_str(out, (const char *)flags, 4);
	if (withkey)
		kv_out_str(out, key, b->nkey);
	struct iobuf *v = kv_value_buf(it);	/* the item's bytes, not a copy ... */
	if (v != NULL)
		v->len -= 2;			/* ... without the text protocol's "\r\n" */
	kv_out_ref(out, v);
}

/* set, add, replace, append, prepend: make the item the value will fill. */
static void
start_store(struct kv_bin *b, const struct opinfo *oi, const char *key, struct kv_out *out)
{
	size_t nval = b->body - b->next - b->nkey;
	uint32_t flags = 0;
	int64_t exptime = 0;
	enum kv_status why;

	if (b->next == 8) {
		flags = (uint32_t)get_be(b->head, 4);
		exptime = (int64_t)get_be(b->head + 4, 4);
	}
	switch (oi->base) {
	case OP_SET:     b->sop = KV_SET; break;
	case OP_ADD:     b->sop = KV_ADD; break;
	case OP_REPLACE: b->sop = KV_REPLACE; break;
	case OP_APPEND:  b->sop = KV_APPEND; break;
	default:         b->sop = KV_PREPEND; break;
	}
	b->scas = b->cas;
	if (b->cas != 0 && b->next == 8)	/* set, add, replace with a cas: memcached's cas */
		b->sop = KV_CAS;
	b->item = kv_item_new(key, b->nkey, flags, exptime, nval, &why);
	if (b->item == NULL) {
		fail(b, out, status_of(why));
		if (b->sop == KV_SET)	/* no stale value may stay behind a failed set */
			kv_delete(key, b->nkey);
		b->swallow = nval;
		b->state = B_SWALLOW;
		return;
	}
	b->need = nval;
	b->got = 0;
	b->state = B_VALUE;
}

/* The value is whole: store the item and answer. */
static void
end_store(struct kv_bin *b, struct kv_out *out)
{
	const struct opinfo *oi = &ops[b->op];
	uint64_t cas = 0;
	enum kv_status s = kv_store(b->sop, b->item, b->scas, &cas);

	b->item = NULL;
	if (s == KV_NOT_STORED && b->sop == KV_ADD)		/* memcached's words for these */
		fail(b, out, ST_EXISTS);
	else if (s == KV_NOT_STORED && b->sop == KV_REPLACE)
		fail(b, out, ST_NOT_FOUND);
	else if (s != KV_STORED)
		fail(b, out, status_of(s));
	else if (!oi->quiet)
		respond(b, out, ST_OK, NULL, 0, NULL, 0, NULL, 0, cas);
}

/* incr, decr: a miss makes the item with the initial value unless exptime is all ones. */
static void
run_arith(struct kv_bin *b, const struct opinfo *oi, const char *key, struct kv_out *out)
{
	uint64_t delta = get_be(b->head, 8), initial = get_be(b->head + 8, 8), v = 0, cas = 0;
	uint32_t exptime = (uint32_t)get_be(b->head + 16, 4);
	enum kv_status s;

	for (int tries = 0; tries < 3; tries++) {
		s = kv_arith_cas(key, b->nkey, oi->base == OP_INCR, delta, b->cas, &v, &cas);
		if (s != KV_NOT_FOUND || exptime == 0xffffffffu)
			break;
		char d[24];
		int n = 0;
		v = initial;
		do
			d[sizeof d - 1 - n++] = (char)('0' + v % 10);
		while ((v /= 10) != 0);
		v = initial;
		struct kv_item *it = kv_item_new(key, b->nkey, 0, exptime, (size_t)n, &s);
		if (it == NULL)
			break;
		memcpy(kv_value(it), d + sizeof d - n, (size_t)n);
		if ((s = kv_store(KV_ADD, it, 0, &cas)) != KV_NOT_STORED)
			break;		/* NOT_STORED: another made it first; go again */
	}
	if (s != KV_STORED) {
		fail(b, out, status_of(s));
	} else if (!oi->quiet) {
		uint8_t val[8];
		put_be(val, v, 8);
		respond(b, out, ST_OK, NULL, 0, NULL, 0, val, 8, cas);
	}
}

/*
 * stat [group]: one response per statistic (key: its name, value: its
 * value), then one with neither.  The statistics are text.c's, turned
 * from "STAT name value\r\n" lines into responses.
 */
static void
run_stat(struct kv_bin *b, const char *key, struct kv_out *out)
{
	struct kv_out o;
	char *buf = NULL;

	kv_out_init(&o);
	if (kv_stats_text(key, b->nkey, &o) != 0) {
		fail(b, out, ST_NOT_FOUND);
		goto done;
	}
	if (o.nomem || (buf = kmalloc(o.len)) == NULL) {
		fail(b, out, ST_NO_MEMORY);
		goto done;
	}
	iobuf_copy_out(o.head, 0, o.len, buf);
	for (char *p = buf, *end = buf + o.len; end - p > 5 && memcmp(p, "STAT ", 5) == 0;) {
		char *name = p + 5, *eol = memchr(name, '\r', (size_t)(end - name));
		char *sp = eol != NULL ? memchr(name, ' ', (size_t)(eol - name)) : NULL;
		if (sp == NULL)
			break;
		respond(b, out, ST_OK, NULL, 0, name, (size_t)(sp - name), sp + 1,
		    (size_t)(eol - sp - 1), 0);
		p = eol + 2;
	}
	respond(b, out, ST_OK, NULL, 0, NULL, 0, NULL, 0, 0);
done:
	kv_out_free(&o);
	kfree(buf);
}

/* A request whose extras and key have come (a storage one's value may follow). */
static void
run(struct kv_text *t, struct kv_bin *b, struct kv_out *out)
{
	const struct opinfo *oi = &ops[b->op];
	const char *key = (const char *)b->head + b->next;
	uint8_t ver[] = KV_VERSION;

	b->state = B_HDR;
	switch (oi->base) {
	case OP_GET: case OP_GETK: case OP_GAT: case OP_GATK: case OP_TOUCH:
		run_get(b, oi, key, out);
		break;
	case OP_SET: case OP_ADD: case OP_REPLACE: case OP_APPEND: case OP_PREPEND:
		start_store(b, oi, key, out);
		if (b->state == B_VALUE && b->need == 0) {	/* an empty value */
			end_store(b, out);
			b->state = B_HDR;
		}
		break;
	case OP_DELETE: {
		enum kv_status s = kv_delete_cas(key, b->nkey, b->cas);
		if (s != KV_DELETED)
			fail(b, out, status_of(s));
		else if (!oi->quiet)
			respond(b, out, ST_OK, NULL, 0, NULL, 0, NULL, 0, 0);
		break;
	}
	case OP_INCR: case OP_DECR:
		run_arith(b, oi, key, out);
		break;
	case OP_FLUSH:
		kv_count(KV_CMD_FLUSH);
		kv_flush(b->next == 4 ? (int64_t)get_be(b->head, 4) : 0);
		if (!oi->quiet)
			respond(b, out, ST_OK, NULL, 0, NULL, 0, NULL, 0, 0);
		break;
	case OP_NOOP:
		respond(b, out, ST_OK, NULL, 0, NULL, 0, NULL, 0, 0);
		break;
	case OP_VERSION:
		respond(b, out, ST_OK, NULL, 0, NULL, 0, ver, sizeof ver - 1, 0);
		break;
	case OP_STAT:
		run_stat(b, key, out);
		break;
	case OP_QUIT:
		if (!oi->quiet)
			respond(b, out, ST_OK, NULL, 0, NULL, 0, NULL, 0, 0);
		t->closing = 1;
		break;
	}
}

/* A whole header: check it against its opcode; what comes next. */
static void
check(struct kv_text *t, struct kv_bin *b, struct kv_out *out)
{
	const uint8_t *h = b->hdr;

	b->op = h[1];
	b->nkey = (uint16_t)get_be(h + 2, 2);
	b->next = h[4];
	b->body = (uint32_t)get_be(h + 8, 4);
	b->cas = get_be(h + 16, 8);
	b->nhead = 0;
	if (h[0] != MAGIC_REQ) {	/* not a request: close, as memcached, without a word */
		t->closing = 1;
		return;
	}
	const struct opinfo *oi = &ops[b->op];
	if (!oi->known || b->body < (uint32_t)b->next + b->nkey) {
		/*
		 * memcached 1.6.18 answers both "Unknown command"; it skips an
		 * unknown request's value, but closes if it had a key or
		 * extras, or if the lengths do not add up.
		 */
		fail(b, out, ST_UNKNOWN);
		if (!oi->known && b->next + b->nkey == 0) {
			b->swallow = b->body;
			b->state = b->body > 0 ? B_SWALLOW : B_HDR;
		} else {
			t->closing = 1;
		}
		return;
	}
	size_t nval = b->body - b->next - b->nkey;
	int ext_ok = oi->ext >= 0 ? b->next == oi->ext : b->next == 0 || b->next == 4;
	int key_ok = oi->key == 2 ? b->nkey <= KV_KEY_MAX :
	    oi->key == 1 ? b->nkey > 0 && b->nkey <= KV_KEY_MAX : b->nkey == 0;
	if (!ext_ok || !key_ok || (nval > 0 && !oi->value)) {
		fail(b, out, ST_EINVAL);
		t->closing = 1;		/* the stream cannot be trusted after it */
		return;
	}
	b->state = B_HEAD;
	if (b->next + b->nkey == 0)
		run(t, b, out);
}

/* Take up to want - *have bytes of p into dst; returns how many. */
static size_t
gather(uint8_t *dst, size_t *have, size_t want, const char *p, size_t n)
{
	size_t k = want - *have < n ? want - *have : n;

	memcpy(dst + *have, p, k);
	*have += k;
	return k;
}

/* Some bytes, in the state b is in; returns how many were used. */
static size_t
step(struct kv_text *t, struct kv_bin *b, const char *p, size_t n, struct kv_out *out)
{
	size_t k;

	switch (b->state) {
	case B_HDR:
		k = gather(b->hdr, &b->nhdr, sizeof b->hdr, p, n);
		if (b->nhdr == sizeof b->hdr) {
			b->nhdr = 0;
			check(t, b, out);
		}
		return k;
	case B_HEAD:
		k = gather(b->head, &b->nhead, (size_t)b->next + b->nkey, p, n);
		if (b->nhead == (size_t)b->next + b->nkey)
			run(t, b, out);
		return k;
	case B_VALUE:
		k = b->need < n ? b->need : n;
		memcpy(kv_value(b->item) + b->got, p, k);
		b->got += k;
		b->need -= k;
		if (b->need == 0) {
			end_store(b, out);
			b->state = B_HDR;
		}
		return k;
	default:	/* B_SWALLOW */
		k = b->swallow < n ? b->swallow : n;
		b->swallow -= k;
		if (b->swallow == 0)
			b->state = B_HDR;
		return k;
	}
}

int
kv_bin_input(struct kv_text *t, const char *p, size_t n, struct kv_out *out)
{
	if (t->bin == NULL) {	/* the connection's first bytes */
		if ((t->bin = kmalloc(sizeof *t->bin)) == NULL)
			return KV_CLOSE;
		memset(t->bin, 0, sizeof *t->bin);
	}
	while (n > 0 && !t->closing && !out->nomem) {
		size_t k = step(t, t->bin, p, n, out);
		p += k;
		n -= k;
	}
	return t->closing || out->nomem ? KV_CLOSE : KV_OK;
}

void
kv_bin_free(struct kv_bin *b)
{
	if (b != NULL) {
		kv_item_drop(b->item);
		kfree(b);
	}
}
