/*
 * store.h: the key-value store of app/kvstore, one Ebb for the whole
 * instance.  Portable; knows nothing of the network or of protocols.
 *
 * Items are immutable once published: a write makes a new item and
 * swaps it in, so a reader never sees a half-written value.  Lookups
 * take no lock (RCU: an item found stays valid until the reader's event
 * ends); writes take the lock of the key's stripe.  An item's memory is
 * an iobuf block (iobuf_alloc_exact), so a GET reply is a clone of the
 * item's buffer whose window is the value: the block's reference count
 * keeps the item alive while a send still holds it, after the store has
 * let it go.
 *
 *	struct kv_item *it = kv_get(key, nkey);		// NULL: a miss
 *	struct iobuf *v = kv_value_buf(it);		// value + "\r\n", no copy
 *
 *	struct kv_item *n = kv_item_new(key, nkey, flags, exptime, nbytes);
 *	memcpy(kv_value(n), bytes, nbytes);		// fill, then ...
 *	enum kv_status s = kv_store(KV_SET, n, 0);	// ... publish (n is taken)
 *
 * Times: exptime arguments are memcached's: 0 never expires, 1 ..
 * KV_RELATIVE_MAX seconds from now, larger values an absolute Unix
 * time, negative values already expired.  The store's clock is the wall
 * clock (platform.h's wall_ns), in whole seconds.
 */
#ifndef KVSTORE_STORE_H
#define KVSTORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "ebb/rcu.h"
#include "tcp/iobuf.h"

#define KV_KEY_MAX	250		/* longest key, bytes (memcached's) */
#define KV_RELATIVE_MAX	(60 * 60 * 24 * 30)	/* exptimes up to 30 days are relative */

/*
 * One item, at the start of its own iobuf block, and a GET's reply to
 * it, prebuilt: "VALUE " (the struct's last bytes), the key, " FLAGS
 * NBYTES\r\n", the value, "\r\n", "END\r\n".  A one-key GET is
 * answered by a reference to all of it, any other read by a reference
 * to the value and its "\r\n".  Fields under "stripe lock" are written only by the
 * holder of the key's stripe lock; the rest are fixed once the item is
 * published, except exptime (touch: an atomic store) and accessed.
 */
struct kv_item {
	struct kv_item *hnext;		/* hash chain: rcu_assign / rcu_deref */
	/* stripe lock: */
	struct kv_item *lru_prev, *lru_next;	/* the stripe's LRU, newest first */
	int linked;			/* in the table (1) or let go (0) */
	/* fixed: */
	struct iobuf *buf;		/* the store's reference to this block */
	struct rcu_head rcu;		/* freeing after a grace period */
	uint64_t cas;			/* unique per stored version */
	uint64_t stored_ns;		/* wall_ns at kv_store: flush_all's test */
	uint32_t size;			/* bytes charged against mem= */
	uint32_t flags;			/* the client's 32 opaque bits */
	uint32_t nbytes;		/* value bytes, not counting "\r\n" */
	uint32_t hash;
	int64_t exptime;		/* absolute Unix seconds, 0: never (atomic) */
	uint8_t nkey;
	uint8_t accessed;		/* read since the LRU last looked (relaxed) */
	uint8_t mflags;			/* KV_ITEM_*: the meta commands' marks (atomic) */
	uint8_t nhdr;			/* bytes of " FLAGS NBYTES\r\n" */
	char value_word[6];		/* "VALUE ", right before the key */
	char key[];			/* nkey bytes, the rest of the header, the value */
};

/*
 * The meta commands' marks on an item (meta.c).  STALE is set before
 * the item is published (md I, ms I) and never after; FETCHED and WON
 * are set once, after, with an atomic or, never cleared.
 */
#define KV_ITEM_FETCHED	0x01		/* read by a get since it was stored */
#define KV_ITEM_STALE	0x02		/* invalidated: readers are told to recache */
#define KV_ITEM_WON	0x04		/* one reader has been told it won the recache */

/* The outcome of a write, in memcached's terms. */
enum kv_status {
	KV_STORED,
	KV_NOT_STORED,		/* add: exists; replace/append/prepend: missing */
	KV_EXISTS,		/* cas: the item changed since the client's gets */
	KV_NOT_FOUND,		/* cas, delete, incr/decr, touch: no such key */
	KV_DELETED,
	KV_NON_NUMERIC,		/* incr/decr on a value that is not a number */
	KV_TOO_LARGE,		/* bigger than item_max */
	KV_NO_MEMORY,		/* the allocator said no */
};

/* How kv_store publishes an item. */
enum kv_op { KV_SET, KV_ADD, KV_REPLACE, KV_APPEND, KV_PREPEND, KV_CAS };

/*
 * The per-core counters, summed by kv_stats; kv_counter_names holds
 * their names in memcached's "stats" (in its order).
 */
enum kv_counter {
	KV_CMD_GET, KV_CMD_SET, KV_CMD_FLUSH, KV_CMD_TOUCH,
	KV_GET_HITS, KV_GET_MISSES, KV_GET_EXPIRED, KV_GET_FLUSHED,
	KV_DELETE_MISSES, KV_DELETE_HITS, KV_INCR_MISSES, KV_INCR_HITS,
	KV_DECR_MISSES, KV_DECR_HITS, KV_CAS_MISSES, KV_CAS_HITS, KV_CAS_BADVAL,
	KV_TOUCH_HITS, KV_TOUCH_MISSES, KV_TOTAL_ITEMS, KV_EXPIRED_UNFETCHED,
	KV_EVICTIONS, KV_RECLAIMED,
	KV_NCOUNTERS
};
extern const char *const kv_counter_names[KV_NCOUNTERS];

/* The counters, and the store's state and limits. */
struct kv_stats {
	uint64_t n[KV_NCOUNTERS];
	uint64_t curr_items, bytes;	/* items in the table, bytes they are charged */
	uint64_t limit_maxbytes, item_max;
};

/*
 * Make the store and bind its Ebb: once, on any core, before any other
 * call.  mem: bytes items may take (0: KV_MEM_DEFAULT); item_max: the
 * largest item (0: KV_ITEM_MAX_DEFAULT).  Returns 0 or ENOMEM.
 */
#define KV_MEM_DEFAULT		(64UL << 20)
#define KV_ITEM_MAX_DEFAULT	(1UL << 20)
int kv_init(size_t mem, size_t item_max);

/*
 * The live item for key, or NULL (missing, expired or flushed).  Counts
 * a get hit or miss when count has KV_COUNT, and marks the item read
 * (LRU, FETCHED) unless count has KV_PEEK.  Lock-free; the item stays valid
 * until this event ends: keep it longer only through kv_value_buf.
 */
#define KV_COUNT	1
#define KV_PEEK		2
struct kv_item *kv_get(const char *key, size_t nkey, int count);

/* Mark it read (the LRU's hint and FETCHED); returns its mflags before. */
uint8_t kv_mark(struct kv_item *it, uint8_t mflags);

/* The value and its "\r\n" as a new iobuf that references the item; NULL: no memory. */
struct iobuf *kv_value_buf(const struct kv_item *it);

/*
 * A GET's reply to it as a new iobuf that references the item: "VALUE
 * KEY FLAGS NBYTES\r\n", the value, "\r\n", and with end "END\r\n";
 * NULL: no memory.
 */
struct iobuf *kv_reply_buf(const struct kv_item *it, int end);

/* The item's value bytes (nbytes, then "\r\n"). */
static inline char *
kv_value(struct kv_item *it)
{
	return it->key + it->nkey + it->nhdr;
}

/*
 * A new unpublished item for a value of nbytes bytes; the caller fills
 * kv_value(it) and hands it to kv_store, or frees it with kv_item_drop.
 * NULL with *why = KV_TOO_LARGE or KV_NO_MEMORY.
 */
struct kv_item *kv_item_new(const char *key, size_t nkey, uint32_t flags, int64_t exptime,
    size_t nbytes, enum kv_status *why);
void kv_item_drop(struct kv_item *it);

/*
 * Publish it by op.  cas: the unique the client names, for KV_CAS; for
 * the other ops, 0 or a unique the present item must have (KV_EXISTS if
 * it has another, KV_NOT_FOUND if there is none).  The
 * store takes it in every case.  On KV_STORED, *cas_out (if not NULL) is
 * the new item's unique.
 */
enum kv_status kv_store(enum kv_op op, struct kv_item *it, uint64_t cas, uint64_t *cas_out);

/* Remove key: KV_DELETED or KV_NOT_FOUND. */
enum kv_status kv_delete(const char *key, size_t nkey);

/* kv_delete if the item's unique is cas (0: any), else KV_EXISTS. */
enum kv_status kv_delete_cas(const char *key, size_t nkey, uint64_t cas);

/*
 * incr (decr = 0) or decr the decimal value of key by delta: KV_STORED
 * with the new value in *result, KV_NOT_FOUND, KV_NON_NUMERIC or
 * KV_NO_MEMORY.  incr wraps at 2^64, decr stops at 0 (memcached's).
 */
enum kv_status kv_arith(const char *key, size_t nkey, int incr, uint64_t delta,
    uint64_t *result, uint64_t *cas_out);

/* kv_arith if the item's unique is cas (0: any), else KV_EXISTS. */
enum kv_status kv_arith_cas(const char *key, size_t nkey, int incr, uint64_t delta,
    uint64_t cas, uint64_t *result, uint64_t *cas_out);

/*
 * Set key's expiry; the item (valid until the event ends) or NULL if
 * there is none.  Counts a touch hit or miss.
 */
struct kv_item *kv_touch(const char *key, size_t nkey, int64_t exptime);

/* flush_all: every item stored before now + delay seconds goes then. */
void kv_flush(int64_t delay);

/* Reclaim expired and flushed items in the next n buckets (the periodic sweep). */
void kv_sweep(size_t n);

/* Start the periodic sweep on this core (every KV_SWEEP_MS). */
void kv_sweep_start(void);
void kv_sweep_stop(void);

/* The counters now (any core; a moment stale). */
void kv_stats(struct kv_stats *out);

/* Add one to counter c on this core. */
void kv_count(enum kv_counter c);

/* Change the memory limit (tests; items over it go at the next write). */
void kv_set_limit(size_t mem);

/* The store's clock, Unix seconds; tests move it instead of sleeping. */
int64_t kv_now(void);
void kv_clock_shift(int64_t seconds);

#endif
