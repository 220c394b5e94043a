/*
 * ebb.c: Ebb ids, the local id map, the miss path, and the two kinds of
 * Ebb the runtime offers helpers for (see ebb.h).  Portable.
 *
 * The local id map is an RCU hash table (ebb/rhash.h) from id to root:
 * a miss reads it without a lock, binding an Ebb takes its writers'
 * lock.  It is touched only on a miss (once per core per Ebb) and when
 * an Ebb is bound.
 *
 * A miss, on core c for id:
 *	ebb_miss(id): root = the map's entry for id (panic if none: calling
 *	an unbound id is a bug); rep = root->type->miss(root, id); store
 *	rep in core c's table slot; return it.
 * The slot is written only by its own core, so a plain store does: the
 * table is core-local memory.
 *
 * Multicore Ebbs make a core's rep on its first miss and publish it in
 * root->reps[c] with a release store, so that a visitor on another core
 * that sees the pointer (acquire) also sees the initialized rep.  Each
 * core makes its own rep and no other, so concurrent first calls from
 * every core create exactly one rep per core without a lock.
 */
#include <string.h>

#include "ebb.h"
#include "kernel/malloc.h"
#include "rhash.h"

#define IDMAP_BUCKETS	1024	/* chains in the local id map */

static struct rhash *idmap;	/* id -> struct ebb_root; set once by ebb_init */

static uint32_t next_id = EBB_STATIC_MAX + 1;	/* ebb_id_alloc's counter */

/* Finds roots for global ids unbound here (set once, atomic). */
static struct ebb_root *(*global_miss)(uint32_t id);

void
ebb_global_miss(struct ebb_root *(*fn)(uint32_t id))
{
	/* Release: whatever fn needs is set up before a miss can call it. */
	__atomic_store_n(&global_miss, fn, __ATOMIC_RELEASE);
}

uint32_t
ebb_id_alloc(void)
{
	/* Relaxed: ids only need to be distinct, not ordered with anything. */
	uint32_t id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);

	return id <= EBB_LOCAL_MAX ? id : 0;
}


void
ebb_init(void)
{
	if (idmap != NULL)
		return;
	if ((idmap = rhash_new(IDMAP_BUCKETS)) == NULL)
		panic("ebb_init: no memory for the local id map");
}

int
ebb_bind(uint32_t id, struct ebb_root *root)
{
	if (id == 0 || id >= EBB_MAX || root == NULL || root->type == NULL)
		return -1;
	return rhash_put(idmap, id, root) == 0 ? 0 : -1;
}

struct ebb_root *
ebb_root_of(uint32_t id)
{
	return rhash_get(idmap, id);
}

void *
ebb_miss(uint32_t id)
{
	struct ebb_root *root;
	void *rep;

	if (id == 0 || id >= EBB_MAX)
		panic("ebb_miss: id %u out of range", id);
	if ((root = ebb_root_of(id)) == NULL && id > EBB_LOCAL_MAX) {
		/* Acquire: pairs with ebb_global_miss's release. */
		struct ebb_root *(*fn)(uint32_t) = __atomic_load_n(&global_miss, __ATOMIC_ACQUIRE);
		if (fn == NULL || (root = fn(id)) == NULL)
			return NULL;
	}
	if (root == NULL)
		panic("ebb_miss: Ebb %u is not bound on this instance", id);
	if ((rep = root->type->miss(root, id)) != NULL)
		ebb_table()[id] = rep;	/* this core's slot: core-local */
	return rep;
}

/* ---- multicore Ebbs --------------------------------------------------- */

static void *
multicore_miss(struct ebb_root *root, uint32_t id)
{
	struct ebb_multicore *m = (struct ebb_multicore *)root;
	int c = core_id();
	void *rep;

	(void)id;
	/* Acquire: pairs with the release below (a rep made before a reset
	 * of this core's table slot, which does not happen today). */
	if ((rep = __atomic_load_n(&m->reps[c], __ATOMIC_ACQUIRE)) != NULL)
		return rep;
	if ((rep = kmalloc(m->rep_size)) == NULL)
		return NULL;
	memset(rep, 0, m->rep_size);
	if (m->rep_init != NULL)
		m->rep_init(rep, c);
	/* Release: a visitor that sees the pointer sees the initialized rep. */
	__atomic_store_n(&m->reps[c], rep, __ATOMIC_RELEASE);
	return rep;
}

const struct ebb_type ebb_multicore_type = { "multicore", multicore_miss };

void
ebb_multicore_visit(struct ebb_multicore *m, void (*fn)(void *rep, void *arg), void *arg)
{
	for (int c = 0; c < NCPU; c++) {
		/* Acquire: pairs with multicore_miss's release. */
		void *rep = __atomic_load_n(&m->reps[c], __ATOMIC_ACQUIRE);
		if (rep != NULL)
			fn(rep, arg);
	}
}

/* ---- per-core Ebbs over existing state ------------------------------- */

static void *
percore_miss(struct ebb_root *root, uint32_t id)
{
	(void)id;
	return ((struct ebb_percore *)root)->rep_of(core_id());
}

const struct ebb_type ebb_percore_type = { "percore", percore_miss };

/* ---- shared Ebbs ------------------------------------------------------ */

static void *
shared_miss(struct ebb_root *root, uint32_t id)
{
	(void)id;
	return ((struct ebb_shared *)root)->rep;
}

const struct ebb_type ebb_shared_type = { "shared", shared_miss };
