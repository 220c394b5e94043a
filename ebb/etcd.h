/*
 * etcd.h: a client of etcd's v3 JSON gateway (etcd 3.4's /v3/kv/put
 * and /v3/kv/range: POST, keys and values in base64), on ebb/httpc.h.
 * Portable.
 *
 *	struct etcd e;
 *	etcd_addr(&e, "10.0.0.1:2379");
 *	etcd_put(&e, "ebb/idmap/65537", "abc", 3, &done);	// done resolves
 *	etcd_get(&e, "ebb/idmap/65537", &f);	// f: a struct etcd_val *, kfree
 *
 * Transport failures (refused, reset, timed out, no route, no memory)
 * and 5xx answers (a cluster with no leader) are retried ETCD_TRIES
 * times in all, ETCD_BACKOFF_MS after the first and doubling, each try
 * bounded by ETCD_TRY_MS: a dead etcd fails a request with the last
 * error (ECONNREFUSED, ETIMEDOUT, ...) within about
 * ETCD_TRIES * ETCD_TRY_MS + 700 ms, well inside the id map's own
 * timeout (a 5xx every time: EIO).  Other answers are final: a 4xx or a body we cannot read
 * fails with EPROTO, a key that is absent with ENOENT.
 */
#ifndef EBB_ETCD_H
#define EBB_ETCD_H

#include <stddef.h>
#include <stdint.h>

#include "future.h"

#define ETCD_TRIES		4		/* attempts of one request */
#define ETCD_BACKOFF_MS		100		/* before the second; doubles */
#define ETCD_TRY_MS		1000		/* one attempt's time limit */
#define ETCD_KEY_MAX		256		/* bytes of a key */
#define ETCD_VAL_MAX		(64 * 1024)	/* bytes of a value */

/* Where etcd is. */
struct etcd {
	uint32_t ip;			/* network order */
	uint16_t port;			/* host order */
	char host[24];			/* "A.B.C.D:PORT", the Host header */
};

/* A value as etcd_get returns it: the caller's, freed with kfree. */
struct etcd_val {
	uint32_t len;
	uint8_t bytes[];
};

/* Fill e from "A.B.C.D:PORT".  0 or EINVAL. */
int etcd_addr(struct etcd *e, const char *s);

/*
 * Set key (a C string, 1..ETCD_KEY_MAX bytes) to n bytes of val
 * (0..ETCD_VAL_MAX); done, if not NULL, resolves (NULL) once etcd has
 * it, or fails.  From an event on the core that will run the request.
 * Returns 0, EINVAL or ENOMEM (then done is untouched).
 */
int etcd_put(const struct etcd *e, const char *key, const void *val, size_t n,
    struct future *done);

/* Get key's value: f resolves with a struct etcd_val * or fails (ENOENT, ...). */
int etcd_get(const struct etcd *e, const char *key, struct future *f);

/* ---- the pieces, for tests ------------------------------------------------ */

/* Base64 (RFC 4648, padded) of n bytes into out (room for 4 * ((n + 2) / 3) + 1). */
size_t etcd_b64_encode(const void *in, size_t n, char *out);

/* Decode n characters of base64 into out (room for 3 * n / 4): the bytes, or -1. */
long etcd_b64_decode(const char *in, size_t n, uint8_t *out);

/*
 * Read a range answer (n bytes of JSON): the first kv's value into a
 * new struct etcd_val (*out), 0; ENOENT if it has no kvs; EPROTO if it
 * is not an answer we can read; ENOMEM.
 */
int etcd_parse_range(const char *json, size_t n, struct etcd_val **out);

#endif
