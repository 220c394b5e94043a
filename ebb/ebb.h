/*
 * ebb.h: Elastic Building Blocks — objects with one id for the whole
 * system and one representative (rep) per core.  Portable.
 *
 * An Ebb is named by a 32-bit id.  Each core has a translation table
 * from id to that core's rep; calling an Ebb is
 *
 *	struct counter_rep *r = ebb_rep(id);	// one load, one branch on a hit
 *
 * and a hit touches only core-local memory.  A zero slot is a miss:
 * ebb_miss looks the id up in the local id map (an RCU hash table, ebb/ebb.c) to find
 * the Ebb's root, asks the root's type for this core's rep — the type
 * finds or creates it — and caches it in the slot.  Reps are never
 * evicted: an Ebb lives as long as the instance.
 *
 * Where the table is, is the platform's business (<core.h>'s ebb_table):
 * natively a fixed virtual address that each core's page tables map to
 * that core's own pages, which fault in as zero pages on first touch
 * (EbbRT's trick, kernel/vm.c); hosted, a thread-local pointer to a
 * per-core mapping of zero pages.
 *
 * Ids:
 *	0				never an Ebb (a zero id is a bug)
 *	1 .. EBB_STATIC_MAX		the runtime's own Ebbs, fixed at compile
 *					time (enum ebb_static below)
 *	EBB_STATIC_MAX+1 .. EBB_LOCAL_MAX	handed out by ebb_id_alloc
 *	EBB_LOCAL_MAX+1 .. EBB_MAX-1	global ids, a range per node
 *					(ebb/idmap.h); a miss on one with no
 *					root here asks the global id map
 */
#ifndef EBB_H
#define EBB_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/platform.h"

#define EBB_STATIC_MAX	255		/* ids fixed at compile time */
#define EBB_LOCAL_MAX	(1u << 16)	/* ids this instance hands out */
#define EBB_MAX		EBB_TABLE_SLOTS	/* slots in a translation table */

/* The runtime's own Ebbs. */
enum ebb_static {
	EBB_NONE = 0,
	EBB_EVENTS = 1,			/* the event manager: each core's loop (ebb/event.c) */
	EBB_TIMERS = 2,			/* each core's timers (ebb/timer.c) */
	EBB_IDMAP = 3,			/* the global id map's messages (ebb/idmap.c) */
	EBB_FILE = 4,			/* the file Ebb: host files, offloaded (ebb/file.c) */
	EBB_TEST_FIRST = 200,		/* ids tests may use: 200 .. 255 */
};

struct ebb_root;

/*
 * An Ebb's type: what to do when a core misses.  miss runs on the core
 * that missed, with the root the id map holds; it returns this core's
 * rep (creating it if need be), or NULL if memory ran out.  It must not
 * call ebb_rep on the same id.  The runtime caches what it returns.
 */
struct ebb_type {
	const char *name;
	void *(*miss)(struct ebb_root *root, uint32_t id);
};

/*
 * What the local id map holds for an Ebb: its type.  Kinds of Ebb embed
 * it first in their own root (struct ebb_multicore, struct ebb_shared).
 */
struct ebb_root {
	const struct ebb_type *type;
};

/*
 * Set up the local id map and bind the allocators' static ids: after
 * kmalloc_init, before any bind.  Calls after the first do nothing
 * (event_init makes one, so that tests need not).
 */
void ebb_init(void);

/* A fresh id, or 0 if the local range is used up. */
uint32_t ebb_id_alloc(void);

/*
 * Make id name root on this instance (the local id map).  Returns 0, or
 * -1 if the id is taken or out of range, or memory ran out.  After this
 * any core may call ebb_rep(id).
 */
int ebb_bind(uint32_t id, struct ebb_root *root);

/* The root bound to id, or NULL. */
struct ebb_root *ebb_root_of(uint32_t id);

/*
 * The slow path of ebb_rep: find this core's rep and cache it.  A
 * global id with no root here is asked of the hook ebb_global_miss set
 * (the global id map, which blocks the event while it asks): NULL if
 * it finds none.  An unbound local id panics.
 */
void *ebb_miss(uint32_t id);

/*
 * Set the hook that finds a root for a global id unbound here (it binds
 * the root and returns it, or returns NULL).  ebb/idmap.c's.
 */
void ebb_global_miss(struct ebb_root *(*fn)(uint32_t id));

/*
 * This core's rep of Ebb id (NULL only if a miss ran out of memory, or
 * a global id is not in the global id map).
 * Natively the first touch of a page of the core's table takes a free
 * page; if there is none, that is a panic (kernel/vm.c's vm_fault).
 */
static inline void *
ebb_rep(uint32_t id)
{
	void *rep = ebb_table()[id];

	if (__builtin_expect(rep != NULL, 1))
		return rep;
	return ebb_miss(id);
}

/*
 * Multicore Ebbs: one rep per core, made lazily on a core's first call
 * by rep_init (which gets zeroed memory of rep_size bytes), and
 * remembered in the root so that it can visit every rep.
 *
 *	static struct ebb_multicore counter = EBB_MULTICORE(counter_init,
 *	    sizeof(struct counter_rep));
 *	ebb_bind(id, &counter.root);
 */
struct ebb_multicore {
	struct ebb_root root;
	size_t rep_size;
	void (*rep_init)(void *rep, int core);
	void *reps[NCPU];	/* reps[c]: core c's rep, written once by core c */
};

extern const struct ebb_type ebb_multicore_type;

#define EBB_MULTICORE(init, size) \
	{ { &ebb_multicore_type }, (size), (init), { NULL } }

/* Call fn on every rep made so far (from any core; reps may be in use). */
void ebb_multicore_visit(struct ebb_multicore *m, void (*fn)(void *rep, void *arg),
    void *arg);

/*
 * Per-core Ebbs over state that already exists, one object per core
 * (the runtime's own managers): rep_of(c) names core c's.
 */
struct ebb_percore {
	struct ebb_root root;
	void *(*rep_of)(int core);
};

extern const struct ebb_type ebb_percore_type;

#define EBB_PERCORE(rep_of) { { &ebb_percore_type }, (rep_of) }

/* Shared Ebbs: one rep for all cores, given at binding time. */
struct ebb_shared {
	struct ebb_root root;
	void *rep;
};

extern const struct ebb_type ebb_shared_type;

#define EBB_SHARED(rep) { { &ebb_shared_type }, (rep) }

#endif
