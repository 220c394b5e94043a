/*
 * store_int.h: what the store's two files share (store.c: the table,
 * lookups and writes; reclaim.c: eviction, the sweep and flush_all).
 * Not for the protocols: they use store.h.  Portable.
 */
#ifndef KV_STORE_INT_H
#define KV_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ebb/ebb.h"
#include "ebb/rcu.h"
#include "ebb/timer.h"
#include "kernel/spinlock.h"
#include "store.h"

#define KV_STRIPES		256	/* writer locks, one per this many buckets' share */
#define KV_BYTES_PER_BUCKET	256	/* buckets: mem / this, a power of two */
#define KV_SWEEP_MS		1000	/* the periodic sweep's period */
#define KV_SWEEP_BUCKETS	8192	/* buckets it walks a tick */
#define KV_BUF_OVERHEAD		48	/* an iobuf and its block's header, charged per item */

/* One stripe: the lock of its buckets and their items' LRU list. */
struct kv_stripe {
	struct spinlock lock;
	/* lock: */
	struct kv_item *head, *tail;	/* newest first */
	uint64_t items;
} __attribute__((aligned(CACHE_LINE)));

/* A core's rep: its counters, written by that core only (relaxed). */
struct kv_rep {
	uint64_t n[KV_NCOUNTERS];
} __attribute__((aligned(CACHE_LINE)));

/* The store: one for the instance (store.c defines it). */
struct kv_table {
	struct ebb_multicore ebb;	/* the Ebb: its root and per-core reps */
	uint32_t id;			/* the Ebb's id */
	struct kv_item **bucket;	/* rcu_assign / rcu_deref */
	size_t mask;			/* buckets - 1 */
	struct kv_stripe *stripe;	/* KV_STRIPES of them */
	size_t limit, item_max;
	int64_t used;			/* bytes charged (atomic) */
	int64_t items;			/* items linked (atomic) */
	uint64_t next_cas;		/* the last unique handed out (atomic) */
	uint64_t flush_at;		/* wall_ns after which flush_all's victims die; 0 (atomic) */
	int64_t shift;			/* kv_clock_shift's seconds (atomic) */
	size_t sweep_pos;		/* the next bucket the sweep walks (atomic) */
	struct timer sweep;		/* the periodic sweep, on one core */
};
extern struct kv_table kv;

/* The stripe whose lock guards the bucket of hash. */
static inline struct kv_stripe *
kv_stripe_of(uint32_t hash)
{
	return &kv.stripe[(hash & kv.mask) % KV_STRIPES];
}

/* store.c */
uint64_t kv_now_ns(void);		/* wall_ns on the store's (shiftable) clock */
/* Is it gone by its expiry or by flush_all?  *why: the counter, if so. */
int kv_dead(const struct kv_item *it, int64_t now, enum kv_counter *why);
/* The link to key's item in its chain (or the chain's NULL end); stripe lock held. */
struct kv_item **kv_find_locked(const char *key, size_t nkey, uint32_t hash);

/* reclaim.c */
void kv_lru_remove(struct kv_stripe *st, struct kv_item *it);	/* stripe lock held */
void kv_lru_push(struct kv_stripe *st, struct kv_item *it);	/* ... newest first */
void kv_item_free(struct rcu_head *h);	/* an item's end, after a grace period */
/* Unlink it (found at *link) from its chain and LRU; it goes after a grace period. */
void kv_unlink_locked(struct kv_stripe *st, struct kv_item **link, struct kv_item *it);
/* Bring used within the limit, from the stripes after mine, mine last. */
void kv_evict(struct kv_stripe *mine);

#endif
