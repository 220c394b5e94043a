/*
 * test_kvtext.c: app/kvstore's text protocol (text.c, reply.c) over the
 * real store, without a network: requests go in as bytes, replies come
 * out as a chain, compared byte for byte with what memcached 1.6 says.
 *
 * Each exchange (kvexchange.h) runs from an empty store (flush_all
 * first), so that it can be run again and again: all at once, one byte
 * at a time, and cut in two at every byte boundary, which must all give
 * the same replies.  Then pipelines (many requests in one segment), oversized and
 * malformed input, a GET reply that references the item (zero copy),
 * and leaks: slab objects, pages and iobufs back to their baseline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvexchange.h"

/* ---- the commands ------------------------------------------------------------ */

TEST(storage)
{
	setup();
	exchange("set k 5 0 3\r\nabc\r\nget k\r\n", "STORED\r\nVALUE k 5 3\r\nabc\r\nEND\r\n", 0);
	exchange("set k 0 0 0\r\n\r\nget k\r\n", "STORED\r\nVALUE k 0 0\r\n\r\nEND\r\n", 0);
	exchange("add k 0 0 1\r\na\r\nadd k 0 0 1\r\nb\r\nget k\r\n",
	    "STORED\r\nNOT_STORED\r\nVALUE k 0 1\r\na\r\nEND\r\n", 0);
	exchange("replace k 0 0 1\r\na\r\nset k 1 0 1\r\nb\r\nreplace k 2 0 1\r\nc\r\nget k\r\n",
	    "NOT_STORED\r\nSTORED\r\nSTORED\r\nVALUE k 2 1\r\nc\r\nEND\r\n", 0);
	exchange("append k 0 0 1\r\na\r\nset k 3 0 2\r\nbc\r\nappend k 0 0 2\r\nde\r\n"
	    "prepend k 0 0 1\r\na\r\nget k\r\n",
	    "NOT_STORED\r\nSTORED\r\nSTORED\r\nSTORED\r\nVALUE k 3 5\r\nabcde\r\nEND\r\n", 0);
	exchange("cas k 0 0 1 1\r\na\r\n", "NOT_FOUND\r\n", 0);
	exchange("set k 0 0 1 noreply\r\na\r\nadd k 0 0 1 noreply\r\nb\r\nget k\r\n",
	    "VALUE k 0 1\r\na\r\nEND\r\n", 0);
	exchange("set k 4294967295 0 1\r\na\r\nget k\r\n",
	    "STORED\r\nVALUE k 4294967295 1\r\na\r\nEND\r\n", 0);
	exchange("set k 0 -1 1\r\na\r\nget k\r\n", "STORED\r\nEND\r\n", 0);
	exchange("set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\nget a b c a\r\n",
	    "STORED\r\nSTORED\r\nVALUE a 0 1\r\n1\r\nVALUE b 0 1\r\n2\r\nVALUE a 0 1\r\n1\r\nEND\r\n", 0);
	exchange("set  k  0  0  1 \r\na\r\nget   k \r\n", "STORED\r\nVALUE k 0 1\r\na\r\nEND\r\n", 0);
	exchange("set k 0 0 1\na\r\nget k\n", "STORED\r\nVALUE k 0 1\r\na\r\nEND\r\n", 0);
	teardown();
}

TEST(others)
{
	setup();
	exchange("delete k\r\nset k 0 0 1\r\na\r\ndelete k\r\ndelete k\r\n",
	    "NOT_FOUND\r\nSTORED\r\nDELETED\r\nNOT_FOUND\r\n", 0);
	exchange("set k 0 0 1\r\na\r\ndelete k 0\r\nset k 0 0 1\r\na\r\ndelete k noreply\r\n"
	    "delete k 0 noreply\r\ndelete k 5\r\n",
	    "STORED\r\nDELETED\r\nSTORED\r\n"
	    "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n", 0);
	exchange("incr n 1\r\nset n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\n"
	    "incr n 18446744073709551615\r\nincr n 1\r\nincr n x\r\nincr n -1\r\n"
	    "set s 0 0 2\r\nab\r\nincr s 1\r\nincr n 1 noreply\r\nget n\r\n",
	    "NOT_FOUND\r\nSTORED\r\n15\r\n0\r\n18446744073709551615\r\n0\r\n"
	    "CLIENT_ERROR invalid numeric delta argument\r\n"
	    "CLIENT_ERROR invalid numeric delta argument\r\nSTORED\r\n"
	    "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
	    "VALUE n 0 1\r\n1\r\nEND\r\n", 0);
	exchange("touch k 10\r\nset k 0 0 1\r\na\r\ntouch k 10\r\ntouch k -1\r\nget k\r\n"
	    "touch k x\r\n",
	    "NOT_FOUND\r\nSTORED\r\nTOUCHED\r\nTOUCHED\r\nEND\r\n"
	    "CLIENT_ERROR invalid exptime argument\r\n", 0);
	exchange("set k 0 0 1\r\na\r\ngat 100 k\r\ngat -1 k\r\nget k\r\ngat x k\r\ngat 1\r\n",
	    "STORED\r\nVALUE k 0 1\r\na\r\nEND\r\nVALUE k 0 1\r\na\r\nEND\r\nEND\r\n"
	    "CLIENT_ERROR invalid exptime argument\r\nEND\r\n", 0);
	exchange("set k 0 0 1\r\na\r\nflush_all\r\nget k\r\nflush_all 0 noreply\r\n"
	    "flush_all x\r\nflush_all 10\r\n",
	    "STORED\r\nOK\r\nEND\r\nCLIENT_ERROR invalid exptime argument\r\nOK\r\n", 0);
	exchange("version\r\nverbosity 1\r\nverbosity 1 noreply\r\nverbosity\r\n",
	    "VERSION " KV_VERSION "\r\nOK\r\nERROR\r\n", 0);
	exchange("version\r\nquit\r\nversion\r\n", "VERSION " KV_VERSION "\r\n", 1);
	teardown();
}

/* gets and cas: the unique that gets shows is the one cas takes. */
static void
cas_body(void)
{
	struct kv_text t;
	struct kv_out o;
	char req[128];
	unsigned long long cas;

	kv_text_init(&t);
	kv_out_init(&o);
	kv_text_input(&t, "set c 0 0 1\r\na\r\ngets c\r\n", 24, &o);
	ngot = iobuf_copy_out(o.head, 0, o.len, got) != NULL ? o.len : 0;
	got[ngot] = '\0';
	CHECK(sscanf(got, "STORED\r\nVALUE c 0 1 %llu\r\na\r\nEND\r\n", &cas) == 1);
	kv_out_free(&o);
	int n = snprintf(req, sizeof req, "cas c 0 0 1 %llu\r\nb\r\ncas c 0 0 1 %llu\r\nc\r\nget c\r\n",
	    cas, cas);
	kv_text_input(&t, req, (size_t)n, &o);
	ngot = iobuf_copy_out(o.head, 0, o.len, got) != NULL ? o.len : 0;
	got[ngot] = '\0';
	CHECK(strcmp(got, "STORED\r\nEXISTS\r\nVALUE c 0 1\r\nb\r\nEND\r\n") == 0);
	kv_out_free(&o);
	kv_text_free(&t);
	kv_flush(0);
}

TEST(gets_cas)
{
	kv_test(cas_body);
}

TEST(malformed)
{
	char line[KV_LINE_MAX + 16], req[KV_LINE_MAX + 64], key[KV_KEY_MAX + 2];

	setup();
	exchange("\r\nbogus\r\nGET k\r\nget\r\nset k 0 0\r\nset k 0 0 1 2 3 4\r\n",
	    "ERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\n", 0);
	/* A bad line leaves the data block to be read as a command, as memcached. */
	exchange("set k x 0 1\r\na\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n", 0);
	exchange("set k 0 0 -1\r\nset k 4294967296 0 1\r\nset k 0 0 2147483648\r\n",
	    "CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\n"
	    "CLIENT_ERROR bad command line format\r\n", 0);
	exchange("set k 0 0 1\r\nab\r\nget k\r\n",
	    "CLIENT_ERROR bad data chunk\r\nERROR\r\nEND\r\n", 0);
	/* Too large: answered, its data skipped, a set's old value gone. */
	exchange("set k 0 0 1\r\na\r\nset k 0 0 2000000\r\n", "STORED\r\n"
	    "SERVER_ERROR object too large for cache\r\n", 0);
	memset(key, 'k', sizeof key);
	key[KV_KEY_MAX] = '\0';
	snprintf(req, sizeof req, "set %s 0 0 1\r\na\r\nget %s\r\n", key, key);
	snprintf(line, sizeof line, "STORED\r\nVALUE %s 0 1\r\na\r\nEND\r\n", key);
	exchange(req, line, 0);
	key[KV_KEY_MAX] = 'k';
	key[KV_KEY_MAX + 1] = '\0';
	snprintf(req, sizeof req, "set %s 0 0 1\r\na\r\nget %s\r\nget a %s\r\n", key, key, key);
	exchange(req, "CLIENT_ERROR bad command line format\r\nERROR\r\n"
	    "CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\n", 0);
	exchange("get a\tb\r\nset \x01 0 0 1\r\na\r\nget \x01\r\ngat\r\n",
	    "END\r\nSTORED\r\nVALUE \x01 0 1\r\na\r\nEND\r\nERROR\r\n", 0);
	exchange("version x\r\nquit x\r\n", "VERSION " KV_VERSION "\r\n", 1);
	/* A line longer than memcached's limit: answered, then closed. */
	memset(line, 'x', KV_LINE_MAX + 1);
	line[KV_LINE_MAX + 1] = '\0';
	exchange(line, "CLIENT_ERROR line too long\r\n", 1);
	snprintf(req, sizeof req, "version\r\n%s\r\nversion\r\n", line);
	exchange(req, "VERSION " KV_VERSION "\r\nCLIENT_ERROR line too long\r\n", 1);
	teardown();
}

/* A big value in pieces, and the data stream of a swallowed one, at every cut. */
TEST(big_values)
{
	static char req[300000], want[300000];
	size_t n = 250000;

	setup();
	int k = snprintf(req, sizeof req, "set big 0 0 %zu\r\n", n);
	for (size_t i = 0; i < n; i++)
		req[k + i] = (char)('a' + i % 26);
	memcpy(req + k + n, "\r\nget big\r\n", 12);
	int w = snprintf(want, sizeof want, "STORED\r\nVALUE big 0 %zu\r\n", n);
	memcpy(want + w, req + k, n);
	memcpy(want + w + n, "\r\nEND\r\n", 8);
	ex_stride = 997;	/* not all 250,000 cuts: every 997th */
	exchange(req, want, 0);
	ex_stride = 1;
	teardown();
}

/* A GET reply's value bytes are the item's own. */
static void
zero_copy_body(void)
{
	zero_copy_check("set z 0 0 5\r\nhello\r\nget z\r\n", 27, 7);
}

TEST(zero_copy_get)
{
	kv_test(zero_copy_body);
}

/* stats: the counters move as the commands say. */
TEST(stats)
{
	setup();
	exchange("stats settings\r\nstats bogus\r\n", "STAT maxbytes 8388608\r\nSTAT maxconns 65536\r\n"
	    "STAT tcpport 0\r\nSTAT evictions on\r\nSTAT cas_enabled yes\r\nSTAT num_threads 2\r\n"
	    "STAT item_size_max 1048576\r\nSTAT flush_enabled yes\r\n"
	    "STAT binding_protocol ascii\r\nEND\r\nERROR\r\n", 0);
	teardown();
}
