/*
 * idmap.h: the global id map: what a global Ebb id means across nodes.
 * Portable.
 *
 * Global Ebb ids (EBB_LOCAL_MAX+1 .. EBB_MAX-1, ebb.h) are handed out
 * in ranges of IDMAP_RANGE, one range per node at a time, so nodes
 * allocate without asking each other.  The map holds, for a global id,
 * bytes that its type understands (where the Ebb's data lives, say).
 * One node serves the map (the frontend); the others ask it over the
 * messenger (ebb/msg.h), with messages to the static Ebb EBB_IDMAP.
 *
 *	struct idmap *im = idmap_start(me, frontend_ip);	// on every node
 *	idmap_range(im, &f);  future_block(&f, NULL);		// this node's ids
 *	uint32_t id = idmap_id_alloc(im);
 *	idmap_set(im, id, "abc", 3, &done);			// any node
 *	idmap_get(im, id, &g);  future_block(&g, &v);		// any node: v is a
 *	... ((struct idmap_val *)v)->len, ->bytes ...; kfree(v);	// copy, ours
 *
 * A miss on a global id with no root on this node (ebb_rep, ebb.c)
 * asks the map: the value's first two bytes (big-endian) name a global
 * type registered with idmap_type, whose make builds a root from the
 * rest; the root is bound and the miss goes on.  Such a miss blocks
 * the calling event while the map answers, so it must be made from an
 * event that may block (not a TCP callback, a timer or an idle hook).
 *
 * Failures: a request whose message fails (msg.h: its connection
 * broke before the server's TCP had it) fails with the same error; one
 * the server does not answer within IDMAP_TIMEOUT_MS (the connection
 * broke later, the server died) fails with ETIMEDOUT; an id never set
 * fails with ENOENT.  Errors are errno values.
 */
#ifndef EBB_IDMAP_H
#define EBB_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "ebb.h"
#include "future.h"
#include "msg.h"

#define IDMAP_RANGE		4096		/* global ids per range */
#define IDMAP_VAL_MAX		(64 * 1024)	/* bytes of one value, at most */
#define IDMAP_TIMEOUT_MS	10000		/* an unanswered request fails then */
/*
 * Sites: frontends that share one store (etcd) must not hand out the
 * same ranges, so each is given a site number, and site s hands out
 * only ranges s * IDMAP_SITE_RANGES .. (s + 1) * IDMAP_SITE_RANGES - 1
 * (ebb/node.h's node ranges included).  The global ids hold 239 whole
 * ranges: 3 sites of 79, each enough for a frontend's NODE_MAX + 1
 * call-in ranges and 16 more.
 */
#define IDMAP_SITES		3
#define IDMAP_SITE_RANGES	79

/* A value as idmap_get returns it: the caller's, freed with kfree. */
struct idmap_val {
	uint32_t len;
	uint8_t bytes[];
};

struct idmap;

/*
 * This node's id map over messenger m, served here if server is m's
 * own address, else asked of node server.  The first one started in a
 * process answers its global misses (idmap_default changes that) and
 * binds EBB_IDMAP.  Any core.  NULL if memory ran out or m has one.
 */
struct idmap *idmap_start(struct messenger *m, uint32_t server);

/* Let im answer this process's global misses. */
void idmap_default(struct idmap *im);

/*
 * Get this node a fresh range of global ids (from the server): f
 * resolves (value: the first id, as a uintptr_t) once idmap_id_alloc
 * can hand them out.  Returns 0 or an error (as msg_send, ENOMEM).
 */
int idmap_range(struct idmap *im, struct future *f);

/*
 * Make [first, first + count) this node's range: one handed out some
 * other way (at call-in).  The caller keeps ranges from overlapping.
 */
void idmap_range_set(struct idmap *im, uint32_t first, uint32_t count);

/*
 * At the server: ranges 0 .. n-1 (from EBB_LOCAL_MAX + 1, IDMAP_RANGE
 * each) are handed out another way (ebb/node.h: by node number at
 * call-in), so idmap_range hands out only ranges from n on.
 */
void idmap_reserve(struct idmap *im, uint32_t n);

/*
 * At the server: hand out only site's ranges (see IDMAP_SITES), and
 * take this node's own range from them (the site's first).  Before any
 * range is handed out.  0 or EINVAL.
 */
int idmap_site(struct idmap *im, int site);

/*
 * A store other than the server's memory: get fails (ENOENT, ...) or
 * resolves f with a struct idmap_val * (kmalloc'd, the caller's); set
 * resolves done (if not NULL) once the value is kept.  Each returns 0
 * or an error (then its future is untouched), may be called on any
 * core from an event that may block, and completes its future on that
 * core.  Given to the server before requests come; arg is theirs.
 */
struct idmap_store {
	int (*get)(void *arg, uint32_t id, struct future *f);
	int (*set)(void *arg, uint32_t id, const void *bytes, size_t n, struct future *done);
	void *arg;
};

/* Make im's server keep its values in st (a struct that outlives im). */
void idmap_use_store(struct idmap *im, const struct idmap_store *st);

/*
 * The etcd store (ebb/idmap_etcd.c): addr is "A.B.C.D:PORT" of etcd's
 * client URL; id's value is the key "ebb/idmap/<id, decimal>".  0,
 * EINVAL (a bad address) or ENOMEM.
 */
int idmap_etcd(struct idmap *im, const char *addr);

/* The next id of this node's range, or 0 if it has none left (or none yet). */
uint32_t idmap_id_alloc(struct idmap *im);

/*
 * Set global id's value to n bytes (1..IDMAP_VAL_MAX, copied) at the
 * server; done, if not NULL, resolves once the server has it.  Returns
 * 0 or an error (EINVAL: not a global id, n out of range).
 */
int idmap_set(struct idmap *im, uint32_t id, const void *bytes, size_t n, struct future *done);

/*
 * Ask the server for id's value: f resolves with a struct idmap_val *
 * (a copy, the caller's to kfree) or fails (ENOENT, ETIMEDOUT, ...).
 * Returns 0 or an error (EINVAL: not a global id).
 */
int idmap_get(struct idmap *im, uint32_t id, struct future *f);

/*
 * A global type: number num (in the first two bytes of its values),
 * make builds this node's root for id from the rest of the value (NULL
 * if it cannot), drop frees a root make built that lost a race to be
 * bound.  Any core, before misses come.  Returns 0, EEXIST or EINVAL.
 */
int idmap_type(uint16_t num, struct ebb_root *(*make)(uint32_t id, const void *bytes,
    size_t n), void (*drop)(struct ebb_root *root));

#endif
