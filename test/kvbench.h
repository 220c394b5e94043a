/*
 * kvbench.h: the kvstore benchmarks' messages (bench_kvnet.c, and
 * bench_kvsrv.c, which talks to the server with no stack of its own):
 * KEYS keys of KEYLEN bytes, each with a VALLEN-byte value, and for each
 * its SET request, GET request and GET reply, made once by
 * kvbench_messages.  Test code only, included once per benchmark.
 */
#ifndef TEST_KVBENCH_H
#define TEST_KVBENCH_H

#include <stdio.h>

#define KEYS	100
#define KEYLEN	32
#define VALLEN	64
#define MSG_MAX	160		/* the longest request or reply */

static char setreq[KEYS][MSG_MAX], getreq[KEYS][MSG_MAX], getrep[KEYS][MSG_MAX];
static size_t setlen[KEYS], getlen[KEYS], replen[KEYS];
static const char stored[] = "STORED\r\n";

/* Every key's requests and reply. */
static void
kvbench_messages(void)
{
	for (int i = 0; i < KEYS; i++) {
		char key[KEYLEN + 1], val[VALLEN + 1];
		snprintf(key, sizeof key, "bench:key:%022d", i);
		for (int j = 0; j < VALLEN; j++)
			val[j] = (char)('a' + (i + j) % 26);
		val[VALLEN] = '\0';
		setlen[i] = (size_t)snprintf(setreq[i], MSG_MAX, "set %s 0 0 %d\r\n%s\r\n", key,
		    VALLEN, val);
		getlen[i] = (size_t)snprintf(getreq[i], MSG_MAX, "get %s\r\n", key);
		replen[i] = (size_t)snprintf(getrep[i], MSG_MAX, "VALUE %s 0 %d\r\n%s\r\nEND\r\n",
		    key, VALLEN, val);
	}
}

#endif
