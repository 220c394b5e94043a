/*
 * test_kvbin.c: app/kvstore's binary protocol (binary.c) through
 * kv_text_input (a first byte of 0x80 makes a connection binary) and the
 * real store, without a network.  Every exchange below was sent to
 * Debian's memcached 1.6.18 on loopback and its replies written down
 * here as they came, but for the uniques (a reply's cas is compared as
 * "0" or "some unique": ANY); each is fed whole, one byte at a time and
 * cut in two at every byte boundary (kvexchange.h).  Requests are built
 * with rq (a request), msg (one with odd fields) and raw (bytes);
 * replies with rs.  Then uniques, version, stat, a value too large, a
 * big value in pieces, zero copy, and no leaks.
 */
#include "kvexchange.h"

#include "app/kvstore/binproto.h"

#define S(s)	s, sizeof s - 1		/* a literal and its length (it may hold NULs) */
#define ANY	1			/* a reply's cas: some unique, not 0 */

/* Bytes being built: the requests of an exchange, or the replies it wants. */
struct bytes {
	char b[8192];
	size_t n;
};
static struct bytes in, want;
static char key251[252];

static void
put_be(struct bytes *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--)
		p->b[p->n++] = (char)(v >> (8 * i));
}

static void
raw(struct bytes *p, const char *s, size_t n)
{
	CHECK(p->n + n <= sizeof p->b);
	memcpy(p->b + p->n, s, n);
	p->n += n;
}

/*
 * A packet's header (magic, opcode, key and extras lengths, data type,
 * vbucket or status, body length, opaque, cas) and its extras and key;
 * nval value bytes are to follow.
 */
static void
head(struct bytes *p, int magic, int op, int dt, int vbst, const char *ext, size_t next,
    const char *key, size_t nkey, size_t nval, uint32_t opaque, uint64_t cas)
{
	CHECK(p->n + 24 + next + nkey <= sizeof p->b);
	put_be(p, (uint64_t)magic, 1);
	put_be(p, (uint64_t)op, 1);
	put_be(p, nkey, 2);
	put_be(p, next, 1);
	put_be(p, (uint64_t)dt, 1);
	put_be(p, (uint64_t)vbst, 2);
	put_be(p, next + nkey + nval, 4);
	put_be(p, opaque, 4);
	put_be(p, cas, 8);
	raw(p, ext, next);
	raw(p, key, nkey);
}

/* A whole packet. */
static void
packet(struct bytes *p, int magic, int op, int dt, int vbst, const char *ext, size_t next,
    const char *key, size_t nkey, const char *val, size_t nval, uint32_t opaque, uint64_t cas)
{
	head(p, magic, op, dt, vbst, ext, next, key, nkey, nval, opaque, cas);
	raw(p, val, nval);
}

/* A request. */
static void
rq(struct bytes *p, int op, const char *key, size_t nkey, const char *ext, size_t next,
    const char *val, size_t nval, uint32_t opaque, uint64_t cas)
{
	packet(p, MAGIC_REQ, op, 0, 0, ext, next, key, nkey, val, nval, opaque, cas);
}

/* A request with its magic, data type and vbucket given (its body length is its own). */
static void
msg(struct bytes *p, int magic, int op, const char *key, size_t nkey, const char *ext,
    size_t next, const char *val, size_t nval, uint32_t opaque, uint64_t cas, int dt, int vb,
    int bodylen)
{
	(void)bodylen;
	packet(p, magic, op, dt, vb, ext, next, key, nkey, val, nval, opaque, cas);
}

/* A reply. */
static void
rs(struct bytes *p, int op, int status, const char *ext, size_t next, const char *key,
    size_t nkey, const char *val, size_t nval, uint32_t opaque, uint64_t cas)
{
	packet(p, MAGIC_RES, op, 0, status, ext, next, key, nkey, val, nval, opaque, cas);
}

/* Replies' uniques: 0 stays 0, any other becomes ANY. */
static void
uniques(char *p, size_t n)
{
	for (size_t i = 0; i + 24 <= n;) {
		uint32_t body = 0;
		int any = 0;
		for (int k = 0; k < 4; k++)
			body = body << 8 | (uint8_t)p[i + 8 + k];
		for (int k = 16; k < 24; k++)
			any |= p[i + k] != 0;
		memset(p + i + 16, 0, 8);
		p[i + 23] = (char)any;
		i += 24 + body;
	}
}

/* Run the exchange built in in and want; start the next. */
static void
bin_exchange(int close)
{
	ex_fix = uniques;
	exchange_n(in.b, in.n, want.b, want.n, close);
	ex_fix = NULL;
	in.n = want.n = 0;
}

TEST(get_set)
{
	setup();
	rq(&in, OP_GET, S("k"), S(""), S(""), 1, 0);
	rq(&in, OP_SET, S("k"), S("\x00\x00\x00\x05\x00\x00\x00\x00"), S("hi"), 2, 0);
	rq(&in, OP_GET, S("k"), S(""), S(""), 3, 0);
	rq(&in, OP_GETK, S("k"), S(""), S(""), 4, 0);
	rq(&in, OP_GETK, S("x"), S(""), S(""), 5, 0);
	rs(&want, OP_GET, ST_NOT_FOUND, S(""), S(""), S("Not found"), 1, 0);
	rs(&want, OP_SET, ST_OK, S(""), S(""), S(""), 2, ANY);
	rs(&want, OP_GET, ST_OK, S("\x00\x00\x00\x05"), S(""), S("hi"), 3, ANY);
	rs(&want, OP_GETK, ST_OK, S("\x00\x00\x00\x05"), S("k"), S("hi"), 4, ANY);
	rs(&want, OP_GETK, ST_NOT_FOUND, S(""), S("x"), S(""), 5, 0);
	bin_exchange(0);
	rq(&in, OP_SET, S("k"), S("\xde\xad\xbe\xef\x00\x00\x00\x00"), S(""), 7, 0);
	rq(&in, OP_GET, S("k"), S(""), S(""), 0, 0);
	rq(&in, OP_SET, S("k"), S("\x00\x00\x00\x01\x00\x00\x00\x00"), S("a\x0d\x0a\x62\x00\x63"), 0, 0);
	rq(&in, OP_GETK, S("k"), S(""), S(""), 0, 0);
	rs(&want, OP_SET, ST_OK, S(""), S(""), S(""), 7, ANY);
	rs(&want, OP_GET, ST_OK, S("\xde\xad\xbe\xef"), S(""), S(""), 0, ANY);
	rs(&want, OP_SET, ST_OK, S(""), S(""), S(""), 0, ANY);
	rs(&want, OP_GETK, ST_OK, S("\x00\x00\x00\x01"), S("k"), S("a\x0d\x0a\x62\x00\x63"), 0, ANY);
	bin_exchange(0);
	rq(&in, OP_ADD, S("k"), S("\x00\x00\x00\x00\x00\x00\x00\x00"), S("x"), 0, 0);
	rq(&in, OP_ADD, S("k"), S("\x00\x00\x00\x00\x00\x00\x00\x00"), S("y"), 0, 0);
	rq(&in, OP_REPLACE, S("z"), S("\x00\x00\x00\x00\x00\x00\x00\x00"), S("x"), 0, 0);
	rq(&in, OP_REPLACE, S("k"), S("\x00\x00\x00\x02\x00\x00\x00\x00"), S("z"), 0, 0);
	rq(&in, OP_GET, S("k"), S(""), S(""), 0, 0);
	rs(&want, OP_ADD, ST_OK, S(""), S(""), S(""), 0, ANY);
	rs(&want, OP_ADD, ST_EXISTS, S(""), S(""), S("Data exists for key."), 0, 0);
	rs(&want, OP_REPLACE, ST_NOT_FOUND, S(""), S(""), S("Not found"), 0, 0);
	rs(&want, OP_REPLACE, ST_OK, S(""), S(""), S(""), 0, ANY);
	rs(&want, OP_GET, ST_OK, S("\x00\x00\x00\x02"), S(""), S("z"), 0, ANY);
	bin_exchange(0);
	rq(&in, OP_APPEND, S("z"), S(""), S("a"), 0, 0);
	rq(&in, OP_APPEND, S("k"), S(""), S("a"), 0, 0);
	rq(&in, OP_SET, S("k"), S("\x00\x00\x00\x03\x00\x00\x00\x00"), S("mid"), 0, 0);
	rq(&in, OP_APPEND, S("k"), S(""), S(">"), 0, 0);
	rq(&in, OP_PREPEND, S("k"), S(""), S("<"), 0, 0);
	rq(&in, OP_GET, S("k"), S(""), S(""), 0, 0);
	rs(&want, OP_APPEND, ST_NOT_STORED, S(""), S(""), S("Not stored."), 0, 0);
	rs(&want, OP_APPEND, ST_NOT_STORED, S(""), S(""), S("Not stored."), 0, 0);
	rs(&want, OP_SET, ST_OK, S(""), S(""), S(""), 0, ANY);
	rs(&want, OP_APPEND, ST_OK, S(""), S(""), S(""), 0, ANY);
	rs(&want, OP_PREPEND, ST_OK, S(""), S(""), S(""), 0, ANY);
	rs(&want, OP_GET, ST_OK, S("\x00\x00\x00\x03"), S(""), S("<mid>"), 0, ANY);
	bin_exchange(0);
	rq(&in, OP_SET, S("k"), S("\x00\x00\x00\x00\xff\xff\xff\xff"), S("gone"), 0, 0);
	rq(&in, OP_GET, S("k"), S(""), S(""), 0, 0);
	rq(&in, OP_SET, S("k"), S("\x00\x00\x00\x00\x00\x00\x00\x64"), S("v"), 0, 0);
	rq(&in, OP_GET, S("k"), S(""), S(""), 0, 0);
	rs(&want, OP_SET, ST_OK, S(""), S(""), S(""), 0, ANY);
	rs(&want, OP_GET, ST_OK, S("\x00\x00\x00\x00"), S(""), S("gone"), 0, ANY);
	rs(&want, OP_SET, ST_OK, S(""), S(""), S(""), 0, ANY);
	rs(&want, OP_GET, ST_OK, S("\x00\x00\x00\x00"), S(""), S("v"), 0, ANY);
	bin_exchange(0);
	teardown();
}

/* Quiet forms: silent on a miss (gets) or on success (the rest); NOOP ends the pipeline. */
TEST(quiet)
{
	setup();
	rq(&in, OP_GETQ, S("k"), S(""), S(""), 1, 0);
	rq(&in, OP_GETKQ, S("k"), S(""), S(""), 2, 0);
	rq(&in, OP_SETQ, S("k"), S("\x00\x00\x00\x01\x00\x00\x00\x00"), S("v"), 3, 0);
	rq(&in, OP_GETQ, S("k"), S(""), S(""), 4, 0);
	rq(&in, OP_GETKQ, S("k"), S(""), S(""), 5, 0);
	rq(&in, OP_ADDQ, S("k"), S("\x00\x00\x00\x01\x00\x00\x00\x00"), S("v"), 6, 0);
	rq(&in, OP_REPLACEQ, S("k"), S("\x00\x00\x00\x01\x00\x00\x00\x00"), S("w"), 0, 0);
	rq(&in, OP_REPLACEQ, S("z"), S("\x00\x00\x00\x01\x00\x00\x00\x00"), S("w"), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 9, 0);
	rs(&want, OP_GETQ, ST_OK, S("\x00\x00\x00\x01"), S(""), S("v"), 4, ANY);
	rs(&want, OP_GETKQ, ST_OK, S("\x00\x00\x00\x01"), S("k"), S("v"), 5, ANY);
	rs(&want, OP_ADDQ, ST_EXISTS, S(""), S(""), S("Data exists for key."), 6, 0);
	rs(&want, OP_REPLACEQ, ST_NOT_FOUND, S(""), S(""), S("Not found"), 0, 0);
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 9, 0);
	bin_exchange(0);
	rq(&in, OP_SETQ, S("k"), S("\x00\x00\x00\x03\x00\x00\x00\x00"), S("v"), 0, 0);
	rq(&in, OP_APPENDQ, S("k"), S(""), S("w"), 0, 0);
	rq(&in, OP_PREPENDQ, S("k"), S(""), S("u"), 0, 0);
	rq(&in, OP_APPENDQ, S("z"), S(""), S("w"), 0, 0);
	rq(&in, OP_GETK, S("k"), S(""), S(""), 0, 0);
	rq(&in, OP_DELETEQ, S("k"), S(""), S(""), 0, 0);
	rq(&in, OP_DELETEQ, S("k"), S(""), S(""), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_APPENDQ, ST_NOT_STORED, S(""), S(""), S("Not stored."), 0, 0);
	rs(&want, OP_GETK, ST_OK, S("\x00\x00\x00\x03"), S("k"), S("uvw"), 0, ANY);
	rs(&want, OP_DELETEQ, ST_NOT_FOUND, S(""), S(""), S("Not found"), 0, 0);
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 0, 0);
	bin_exchange(0);
	rq(&in, OP_INCRQ, S("n"), S("\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x00\x00"), S(""), 0, 0);
	rq(&in, OP_INCRQ, S("n"), S("\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x00\x00"), S(""), 0, 0);
	rq(&in, OP_DECRQ, S("n"), S("\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), S(""), 0, 0);
	rq(&in, OP_DECRQ, S("q"), S("\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff"), S(""), 0, 0);
	rq(&in, OP_GETK, S("n"), S(""), S(""), 0, 0);
	rq(&in, OP_FLUSHQ, S(""), S(""), S(""), 0, 0);
	rq(&in, OP_GETQ, S("n"), S(""), S(""), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_DECRQ, ST_NOT_FOUND, S(""), S(""), S("Not found"), 0, 0);
	rs(&want, OP_GETK, ST_OK, S("\x00\x00\x00\x00"), S("n"), S("10"), 0, ANY);
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 0, 0);
	bin_exchange(0);
	rq(&in, OP_SETQ, S("k"), S("\x00\x00\x00\x03\x00\x00\x00\x00"), S("v"), 0, 0);
	rq(&in, OP_GATQ, S("k"), S("\x00\x00\x00\x00"), S(""), 0, 0);
	rq(&in, OP_GATQ, S("z"), S("\x00\x00\x00\x00"), S(""), 0, 0);
	rq(&in, OP_GATKQ, S("k"), S("\x00\x00\x00\x00"), S(""), 0, 0);
	rq(&in, OP_GATKQ, S("z"), S("\x00\x00\x00\x00"), S(""), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_GATQ, ST_OK, S("\x00\x00\x00\x03"), S(""), S("v"), 0, ANY);
	rs(&want, OP_GATKQ, ST_OK, S("\x00\x00\x00\x03"), S("k"), S("v"), 0, ANY);
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 0, 0);
	bin_exchange(0);
	teardown();
}

TEST(others)
{
	setup();
	rq(&in, OP_DELETE, S("z"), S(""), S(""), 0, 0);
	rq(&in, OP_SET, S("k"), S("\x00\x00\x00\x03\x00\x00\x00\x00"), S("v"), 0, 0);
	rq(&in, OP_DELETE, S("k"), S(""), S(""), 0, 0);
	rq(&in, OP_GET, S("k"), S(""), S(""), 0, 0);
	rq(&in, OP_DELETE, S("k"), S(""), S(""), 0, 0);
	rs(&want, OP_DELETE, ST_NOT_FOUND, S(""), S(""), S("Not found"), 0, 0);
	rs(&want, OP_SET, ST_OK, S(""), S(""), S(""), 0, ANY);
	rs(&want, OP_DELETE, ST_OK, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_GET, ST_NOT_FOUND, S(""), S(""), S("Not found"), 0, 0);
	rs(&want, OP_DELETE, ST_NOT_FOUND, S(""), S(""), S("Not found"), 0, 0);
	bin_exchange(0);
	rq(&in, OP_INCR, S("n"), S("\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x00\x00"), S(""), 0, 0);
	rq(&in, OP_INCR, S("n"), S("\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x00\x00"), S(""), 0, 0);
	rq(&in, OP_DECR, S("n"), S("\x00\x00\x00\x00\x00\x00\x00\x64\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x00\x00"), S(""), 0, 0);
	rq(&in, OP_DECR, S("q"), S("\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x0a\xff\xff\xff\xff"), S(""), 0, 0);
	rq(&in, OP_INCR, S("n"), S("\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), S(""), 0, 0);
	rq(&in, OP_SET, S("s"), S("\x00\x00\x00\x00\x00\x00\x00\x00"), S("ab"), 0, 0);
	rq(&in, OP_INCR, S("s"), S("\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), S(""), 0, 0);
	rq(&in, OP_GETK, S("n"), S(""), S(""), 0, 0);
	rs(&want, OP_INCR, ST_OK, S(""), S(""), S("\x00\x00\x00\x00\x00\x00\x00\x0a"), 0, ANY);
	rs(&want, OP_INCR, ST_OK, S(""), S(""), S("\x00\x00\x00\x00\x00\x00\x00\x0b"), 0, ANY);
	rs(&want, OP_DECR, ST_OK, S(""), S(""), S("\x00\x00\x00\x00\x00\x00\x00\x00"), 0, ANY);
	rs(&want, OP_DECR, ST_NOT_FOUND, S(""), S(""), S("Not found"), 0, 0);
	rs(&want, OP_INCR, ST_OK, S(""), S(""), S("\xff\xff\xff\xff\xff\xff\xff\xff"), 0, ANY);
	rs(&want, OP_SET, ST_OK, S(""), S(""), S(""), 0, ANY);
	rs(&want, OP_INCR, ST_NON_NUMERIC, S(""), S(""), S("Non-numeric server-side value for incr or decr"), 0, 0);
	rs(&want, OP_GETK, ST_OK, S("\x00\x00\x00\x00"), S("n"), S("18446744073709551615"), 0, ANY);
	bin_exchange(0);
	rq(&in, OP_SET, S("k"), S("\x00\x00\x00\x07\x00\x00\x00\x00"), S("v"), 0, 0);
	rq(&in, OP_TOUCH, S("k"), S("\x00\x00\x00\x64"), S(""), 0, 0);
	rq(&in, OP_GAT, S("k"), S("\x00\x00\x00\x64"), S(""), 0, 0);
	rq(&in, OP_GATK, S("k"), S("\x00\x00\x00\x64"), S(""), 0, 0);
	rq(&in, OP_TOUCH, S("z"), S("\x00\x00\x00\x64"), S(""), 0, 0);
	rq(&in, OP_GAT, S("z"), S("\x00\x00\x00\x64"), S(""), 0, 0);
	rq(&in, OP_GATK, S("z"), S("\x00\x00\x00\x64"), S(""), 0, 0);
	rq(&in, OP_TOUCH, S("k"), S("\xff\xff\xff\xff"), S(""), 0, 0);
	rq(&in, OP_GET, S("k"), S(""), S(""), 0, 0);
	rs(&want, OP_SET, ST_OK, S(""), S(""), S(""), 0, ANY);
	rs(&want, OP_TOUCH, ST_OK, S("\x00\x00\x00\x07"), S(""), S(""), 0, ANY);
	rs(&want, OP_GAT, ST_OK, S("\x00\x00\x00\x07"), S(""), S("v"), 0, ANY);
	rs(&want, OP_GATK, ST_OK, S("\x00\x00\x00\x07"), S("k"), S("v"), 0, ANY);
	rs(&want, OP_TOUCH, ST_NOT_FOUND, S(""), S(""), S("Not found"), 0, 0);
	rs(&want, OP_GAT, ST_NOT_FOUND, S(""), S(""), S("Not found"), 0, 0);
	rs(&want, OP_GATK, ST_NOT_FOUND, S(""), S("z"), S(""), 0, 0);
	rs(&want, OP_TOUCH, ST_OK, S("\x00\x00\x00\x07"), S(""), S(""), 0, ANY);
	rs(&want, OP_GET, ST_OK, S("\x00\x00\x00\x07"), S(""), S("v"), 0, ANY);
	bin_exchange(0);
	rq(&in, OP_SET, S("k"), S("\x00\x00\x00\x07\x00\x00\x00\x00"), S("v"), 0, 0);
	rq(&in, OP_FLUSH, S(""), S(""), S(""), 0, 0);
	rq(&in, OP_GET, S("k"), S(""), S(""), 0, 0);
	rq(&in, OP_SET, S("k"), S("\x00\x00\x00\x07\x00\x00\x00\x00"), S("v"), 0, 0);
	rq(&in, OP_FLUSH, S(""), S("\x00\x00\x00\x00"), S(""), 0, 0);
	rq(&in, OP_GET, S("k"), S(""), S(""), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 305419896, 0);
	rs(&want, OP_SET, ST_OK, S(""), S(""), S(""), 0, ANY);
	rs(&want, OP_FLUSH, ST_OK, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_GET, ST_NOT_FOUND, S(""), S(""), S("Not found"), 0, 0);
	rs(&want, OP_SET, ST_OK, S(""), S(""), S(""), 0, ANY);
	rs(&want, OP_FLUSH, ST_OK, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_GET, ST_NOT_FOUND, S(""), S(""), S("Not found"), 0, 0);
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 305419896, 0);
	bin_exchange(0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rq(&in, OP_QUIT, S(""), S(""), S(""), 3, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_QUIT, ST_OK, S(""), S(""), S(""), 3, 0);
	bin_exchange(1);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rq(&in, OP_QUITQ, S(""), S(""), S(""), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 0, 0);
	bin_exchange(1);
	rq(&in, OP_STAT, S("bogus"), S(""), S(""), 9, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_STAT, ST_NOT_FOUND, S(""), S(""), S("Not found"), 9, 0);
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 0, 0);
	bin_exchange(0);
	teardown();
}

/*
 * Lengths that do not fit the opcode: "Invalid arguments", closed.  An
 * unknown opcode: answered; closed if it had a key or extras.  A
 * header without the request magic: closed without a word.
 */
TEST(errors)
{
	setup();
	memset(key251, 'k', 251);
	rq(&in, 0x42, S(""), S(""), S(""), 1, 0);
	rq(&in, 0x42, S(""), S(""), S("val"), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, 0x42, ST_UNKNOWN, S(""), S(""), S("Unknown command"), 1, 0);
	rs(&want, 0x42, ST_UNKNOWN, S(""), S(""), S("Unknown command"), 0, 0);
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 0, 0);
	bin_exchange(0);
	rq(&in, 0x42, S("key"), S(""), S(""), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, 0x42, ST_UNKNOWN, S(""), S(""), S("Unknown command"), 0, 0);
	bin_exchange(1);
	rq(&in, OP_GET, S("k"), S("abcd"), S(""), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_GET, ST_EINVAL, S(""), S(""), S("Invalid arguments"), 0, 0);
	bin_exchange(1);
	rq(&in, OP_SET, S("k"), S("\x00\x00\x00\x01"), S("v"), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_SET, ST_EINVAL, S(""), S(""), S("Invalid arguments"), 0, 0);
	bin_exchange(1);
	rq(&in, OP_GET, key251, 251, S(""), S(""), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_GET, ST_EINVAL, S(""), S(""), S("Invalid arguments"), 0, 0);
	bin_exchange(1);
	rq(&in, OP_GET, S(""), S(""), S(""), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_GET, ST_EINVAL, S(""), S(""), S("Invalid arguments"), 0, 0);
	bin_exchange(1);
	rq(&in, OP_DELETE, S("k"), S(""), S("x"), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_DELETE, ST_EINVAL, S(""), S(""), S("Invalid arguments"), 0, 0);
	bin_exchange(1);
	rq(&in, OP_INCR, S("n"), S("\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x00"), S(""), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_INCR, ST_EINVAL, S(""), S(""), S("Invalid arguments"), 0, 0);
	bin_exchange(1);
	rq(&in, OP_APPEND, S("k"), S("ab"), S("v"), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_APPEND, ST_EINVAL, S(""), S(""), S("Invalid arguments"), 0, 0);
	bin_exchange(1);
	rq(&in, OP_NOOP, S("k"), S(""), S(""), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_NOOP, ST_EINVAL, S(""), S(""), S("Invalid arguments"), 0, 0);
	bin_exchange(1);
	rq(&in, OP_NOOP, S(""), S(""), S("abcde"), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_NOOP, ST_EINVAL, S(""), S(""), S("Invalid arguments"), 0, 0);
	bin_exchange(1);
	rq(&in, OP_VERSION, S(""), S(""), S("zz"), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_VERSION, ST_EINVAL, S(""), S(""), S("Invalid arguments"), 0, 0);
	bin_exchange(1);
	rq(&in, OP_TOUCH, S("k"), S("ab"), S(""), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_TOUCH, ST_EINVAL, S(""), S(""), S("Invalid arguments"), 0, 0);
	bin_exchange(1);
	rq(&in, OP_FLUSH, S(""), S("ab"), S(""), 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_FLUSH, ST_EINVAL, S(""), S(""), S("Invalid arguments"), 0, 0);
	bin_exchange(1);
	raw(&in, S("\x80\x0a\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"));	/* a header whose lengths do not add up */
	raw(&in, S("kk\x80\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"));
	rs(&want, OP_NOOP, ST_UNKNOWN, S(""), S(""), S("Unknown command"), 0, 0);
	bin_exchange(1);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	raw(&in, S("get k\x0d\x0axxxxxxxxxxxxxxxxx\x80\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"));
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 0, 0);
	bin_exchange(1);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	msg(&in, 0x81, OP_NOOP, S(""), S(""), S(""), 0, 0, 0, 0, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 0, 0);
	bin_exchange(1);
	msg(&in, 0x80, OP_NOOP, S(""), S(""), S(""), 0, 0, 1, 7, 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 0, 0);
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 0, 0);
	bin_exchange(0);
	teardown();
}

/* Run in on one connection t; the replies, uniques kept, in got. */
static void
ask(struct kv_text *t)
{
	struct kv_out o;

	kv_out_init(&o);
	kv_text_input(t, in.b, in.n, &o);
	ngot = o.len < sizeof got ? o.len : sizeof got;
	iobuf_copy_out(o.head, 0, ngot, got);
	kv_out_free(&o);
	in.n = 0;
}

/* Reply i's cas (and its status in *st), reading got. */
static uint64_t
cas_of(int i, int *st)
{
	size_t at = 0;
	uint64_t cas = 0;

	for (; i > 0 && at + 24 <= ngot; i--) {
		uint32_t body = 0;
		for (int k = 0; k < 4; k++)
			body = body << 8 | (uint8_t)got[at + 8 + k];
		at += 24 + body;
	}
	CHECK(at + 24 <= ngot);
	*st = (uint8_t)got[at + 6] << 8 | (uint8_t)got[at + 7];
	for (int k = 16; k < 24; k++)
		cas = cas << 8 | (uint8_t)got[at + k];
	return cas;
}

/* A set's unique is the one get shows and the one set, delete and incr compare. */
static void
cas_body(void)
{
	struct kv_text t;
	int st[4];
	char e[8] = { 0 };

	CHECK_EQ(kv_text_init(&t), 0);
	rq(&in, OP_SET, S("c"), S("\0\0\0\0\0\0\0\0"), S("1"), 0, 0);
	rq(&in, OP_GET, S("c"), S(""), S(""), 0, 0);
	ask(&t);
	uint64_t c1 = cas_of(0, &st[0]);
	CHECK(c1 != 0 && cas_of(1, &st[1]) == c1 && st[0] == ST_OK && st[1] == ST_OK);
	rq(&in, OP_SET, S("c"), e, 8, S("2"), 0, c1);
	rq(&in, OP_SET, S("c"), e, 8, S("3"), 0, c1);
	rq(&in, OP_DELETE, S("c"), S(""), S(""), 0, c1);
	ask(&t);
	uint64_t c2 = cas_of(0, &st[0]);
	cas_of(1, &st[1]);
	cas_of(2, &st[2]);
	CHECK(st[0] == ST_OK && c2 != c1 && st[1] == ST_EXISTS && st[2] == ST_EXISTS);
	rq(&in, OP_INCR, S("c"), S("\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0\0\0\0\0\0"), S(""), 0, c1);
	rq(&in, OP_INCR, S("c"), S("\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0\0\0\0\0\0"), S(""), 0, c2);
	ask(&t);
	uint64_t c3 = cas_of(1, &st[1]);
	cas_of(0, &st[0]);
	CHECK(st[0] == ST_EXISTS && st[1] == ST_OK && c3 != c2);
	CHECK(ngot == 24 + 20 + 24 + 8 && got[ngot - 1] == 3);	/* "2" + 1 */
	rq(&in, OP_DELETE, S("c"), S(""), S(""), 0, c3);
	rq(&in, OP_GET, S("c"), S(""), S(""), 0, 0);
	ask(&t);
	cas_of(0, &st[0]);
	cas_of(1, &st[1]);
	CHECK(st[0] == ST_OK && st[1] == ST_NOT_FOUND);
	kv_text_free(&t);
	kv_flush(0);
}

TEST(cas)
{
	kv_test(cas_body);
}

/* version, and stat: one reply per statistic, then an empty one. */
static void
stat_body(void)
{
	struct kv_text t;

	CHECK_EQ(kv_text_init(&t), 0);
	rq(&in, OP_VERSION, S(""), S(""), S(""), 5, 0);
	ask(&t);
	rs(&want, OP_VERSION, ST_OK, S(""), S(""), S(KV_VERSION), 5, 0);
	CHECK(ngot == want.n && memcmp(got, want.b, ngot) == 0);
	want.n = 0;
	rq(&in, OP_STAT, S(""), S(""), S(""), 6, 0);
	ask(&t);
	int n = 0, items = 0;
	size_t at = 0;
	for (; at + 24 <= ngot; n++) {
		uint16_t nkey = (uint16_t)((uint8_t)got[at + 2] << 8 | (uint8_t)got[at + 3]);
		uint32_t body = 0;
		for (int k = 0; k < 4; k++)
			body = body << 8 | (uint8_t)got[at + 8 + k];
		CHECK((uint8_t)got[at] == 0x81 && got[at + 1] == OP_STAT && got[at + 15] == 6);
		if (nkey == 10 && memcmp(got + at + 24, "curr_items", 10) == 0 &&
		    body == 11 && got[at + 34] == '0')
			items = 1;
		at += 24 + body;
		if (body == 0)
			break;
	}
	CHECK(items);
	CHECK(n > 20 && at == ngot);
	rq(&in, OP_STAT, S("settings"), S(""), S(""), 0, 0);
	ask(&t);
	CHECK(ngot > 24 && memcmp(got + 24, "maxbytes8388608", 15) == 0);
	kv_text_free(&t);
}

TEST(version_stat)
{
	kv_test(stat_body);
}

/* Append in (then empty it) and n bytes of v to the big buffer at *len. */
static void
join(char *big, size_t *len, const char *v, size_t n)
{
	memcpy(big + *len, in.b, in.n);
	*len += in.n;
	in.n = 0;
	memcpy(big + *len, v, n);
	*len += n;
}

/* A value over item_max: "Too large.", its bytes skipped; a big value in pieces. */
TEST(big_values)
{
	static char req[1100000], val[1100000], w[300000];
	size_t len = 0, n = 1048577;

	setup();
	memset(val, 'v', n);
	rq(&in, OP_SET, S("k"), S("\0\0\0\0\0\0\0\0"), S("old"), 0, 0);
	head(&in, 0x80, OP_SET, 0, 0, S("\0\0\0\0\0\0\0\0"), S("k"), n, 0, 0);
	join(req, &len, val, n);
	rq(&in, OP_GET, S("k"), S(""), S(""), 0, 0);	/* a failed set leaves no old value */
	rq(&in, OP_NOOP, S(""), S(""), S(""), 0, 0);
	join(req, &len, "", 0);
	rs(&want, OP_SET, ST_OK, S(""), S(""), S(""), 0, ANY);
	rs(&want, OP_SET, ST_TOO_LARGE, S(""), S(""), S("Too large."), 0, 0);
	rs(&want, OP_GET, ST_NOT_FOUND, S(""), S(""), S("Not found"), 0, 0);
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 0, 0);
	ex_fix = uniques;
	ex_stride = 99991;
	exchange_n(req, len, want.b, want.n, 0);
	want.n = 0;

	/* 250,000 bytes set and read back, cut every 997th boundary. */
	n = 250000;
	len = 0;
	for (size_t i = 0; i < n; i++)
		val[i] = (char)i;
	head(&in, 0x80, OP_SET, 0, 0, S("\0\0\0\1\0\0\0\0"), S("b"), n, 0, 0);
	join(req, &len, val, n);
	rq(&in, OP_GET, S("b"), S(""), S(""), 0, 0);
	join(req, &len, "", 0);
	rs(&want, OP_SET, ST_OK, S(""), S(""), S(""), 0, ANY);
	head(&want, 0x81, OP_GET, 0, ST_OK, S("\0\0\0\1"), S(""), n, 0, ANY);
	memcpy(w, want.b, want.n);
	memcpy(w + want.n, val, n);
	ex_stride = 997;
	ex_fix = uniques;
	exchange_n(req, len, w, want.n + n, 0);
	ex_fix = NULL;
	ex_stride = 1;
	want.n = 0;
	teardown();
}

/* A GET reply's value is the item's own bytes (zero copy). */
static void
zero_copy_body(void)
{
	rq(&in, OP_SET, S("z"), S("\0\0\0\0\0\0\0\0"), S("hello"), 0, 0);
	rq(&in, OP_GET, S("z"), S(""), S(""), 0, 0);
	zero_copy_check(in.b, in.n, 5);
	in.n = 0;
}

TEST(zero_copy)
{
	kv_test(zero_copy_body);
}

/* Only a connection's first byte picks the protocol: later, 0x80 is text. */
TEST(detect)
{
	setup();
	exchange("version\r\n\x80\r\nmn\r\n", "VERSION " KV_VERSION "\r\nERROR\r\nMN\r\n", 0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 7, 0);
	raw(&in, S("version\r\nversion\r\nversion\r\n"));	/* a header whose magic is 'v' */
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 7, 0);
	bin_exchange(1);	/* closed without a word */
	teardown();
}

/* A connection that ends inside a request: the whole ones answered, the cut one dropped. */
TEST(truncated)
{
	setup();
	rq(&in, OP_NOOP, S(""), S(""), S(""), 1, 0);
	rq(&in, OP_SET, S("k"), S("\0\0\0\0\0\0\0\0"), S("value"), 2, 0);
	in.n -= 3;			/* ... its value cut short */
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 1, 0);
	bin_exchange(0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 1, 0);
	rq(&in, OP_GETK, S("key"), S(""), S(""), 2, 0);
	in.n -= 2;			/* ... its key cut short */
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 1, 0);
	bin_exchange(0);
	rq(&in, OP_NOOP, S(""), S(""), S(""), 1, 0);
	rq(&in, OP_INCR, S("n"), S("\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0\0\0\0\0\0"), S(""), 2, 0);
	in.n -= 30;			/* ... in its header */
	rs(&want, OP_NOOP, ST_OK, S(""), S(""), S(""), 1, 0);
	bin_exchange(0);
	teardown();
}
