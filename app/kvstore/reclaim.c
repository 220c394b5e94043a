/*
 * reclaim.c: how the store gives memory back (store.h, store_int.h):
 * the stripes' LRU lists, unlinking an item, CLOCK eviction under the
 * memory limit, the periodic sweep of expired items and flush_all.
 * Portable.  store.c's top comment tells the design; this file is its
 * "Memory" and "Expiry" paragraphs.
 *
 *	kv_store -> kv_evict -> evict_stripe (each stripe's lock in turn)
 *	                     -> kv_unlink_locked -> kv_item_free (after RCU)
 *	sweep_tick (a timer) -> kv_sweep -> sweep_bucket
 *	kv_flush -> sweep_bucket (every bucket), or a time for kv_dead
 */
#include <string.h>

#include "ebb/rcu.h"
#include "ebb/timer.h"
#include "kernel/spinlock.h"
#include "store.h"
#include "store_int.h"

void
kv_lru_remove(struct kv_stripe *st, struct kv_item *it)
{
	if (it->lru_prev != NULL)
		it->lru_prev->lru_next = it->lru_next;
	else
		st->head = it->lru_next;
	if (it->lru_next != NULL)
		it->lru_next->lru_prev = it->lru_prev;
	else
		st->tail = it->lru_prev;
}

void
kv_lru_push(struct kv_stripe *st, struct kv_item *it)
{
	it->lru_prev = NULL;
	it->lru_next = st->head;
	if (st->head != NULL)
		st->head->lru_prev = it;
	else
		st->tail = it;
	st->head = it;
}

/* After a grace period: drop the store's reference to the item's block. */
void
kv_item_free(struct rcu_head *h)
{
	struct kv_item *it = (struct kv_item *)((char *)h - offsetof(struct kv_item, rcu));

	iobuf_free(it->buf);
}

/* Unlink it (found at *link) from its chain and LRU; it goes after a grace period. */
void
kv_unlink_locked(struct kv_stripe *st, struct kv_item **link, struct kv_item *it)
{
	rcu_assign(*link, it->hnext);
	kv_lru_remove(st, it);
	st->items--;
	it->linked = 0;
	__atomic_sub_fetch(&kv.used, (int64_t)it->size, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&kv.items, 1, __ATOMIC_RELAXED);
	rcu_call_head(&it->rcu, kv_item_free);
}

/*
 * Evict from one stripe until used is within the limit or the stripe
 * has nothing more to give; returns 1 once within the limit.
 */
static int
evict_stripe(struct kv_stripe *st, int64_t now)
{
	enum kv_counter why;
	int within = 0;

	spin_lock(&st->lock);
	for (struct kv_item *first = NULL;;) {
		if ((within = __atomic_load_n(&kv.used, __ATOMIC_RELAXED) <= (int64_t)kv.limit))
			break;
		struct kv_item *it = st->tail;
		if (it == NULL || it == first)	/* empty, or round to a second chance given */
			break;
		int dead = kv_dead(it, now, &why);
		if (!dead && it->accessed) {	/* second chance */
			__atomic_store_n(&it->accessed, 0, __ATOMIC_RELAXED);
			kv_lru_remove(st, it);
			kv_lru_push(st, it);
			if (first == NULL)
				first = it;
			continue;
		}
		kv_count(dead ? KV_RECLAIMED : KV_EVICTIONS);
		kv_unlink_locked(st, kv_find_locked(it->key, it->nkey, it->hash), it);
	}
	spin_unlock(&st->lock);
	return within;
}

/* Bring used within the limit, from the stripes after mine, mine last. */
void
kv_evict(struct kv_stripe *mine)
{
	int64_t now = kv_now();
	size_t s = (size_t)(mine - kv.stripe);

	/* Twice round: the first may only have taken second chances away. */
	for (size_t i = 1; i <= 2 * KV_STRIPES; i++) {
		if (__atomic_load_n(&kv.used, __ATOMIC_RELAXED) <= (int64_t)kv.limit)
			return;
		if (evict_stripe(&kv.stripe[(s + i) % KV_STRIPES], now))
			return;
	}
}

/* Unlink every item of bucket b that is dead (all: every item). */
static void
sweep_bucket(size_t b, int all, int64_t now)
{
	struct kv_stripe *st = &kv.stripe[b % KV_STRIPES];
	struct kv_item **link = &kv.bucket[b], *it;
	enum kv_counter why;

	spin_lock(&st->lock);
	while ((it = *link) != NULL) {
		if (all || kv_dead(it, now, &why)) {
			if (!all) {
				kv_count(KV_RECLAIMED);
				if (!it->accessed)
					kv_count(KV_EXPIRED_UNFETCHED);
			}
			kv_unlink_locked(st, link, it);
		} else {
			link = &it->hnext;
		}
	}
	spin_unlock(&st->lock);
}

void
kv_flush(int64_t delay)
{
	kv_count(KV_CMD_FLUSH);
	if (delay > 0) {
		__atomic_store_n(&kv.flush_at, kv_now_ns() + (uint64_t)delay * 1000000000u,
		    __ATOMIC_RELAXED);
		return;
	}
	__atomic_store_n(&kv.flush_at, 0, __ATOMIC_RELAXED);
	for (size_t b = 0; b <= kv.mask; b++)
		sweep_bucket(b, 1, 0);
}

void
kv_sweep(size_t n)
{
	size_t b = __atomic_fetch_add(&kv.sweep_pos, n, __ATOMIC_RELAXED);
	int64_t now = kv_now();

	for (size_t i = 0; i < n && i <= kv.mask; i++)
		sweep_bucket((b + i) & kv.mask, 0, now);
}

static void
sweep_tick(void *arg)
{
	(void)arg;
	kv_sweep(KV_SWEEP_BUCKETS);
}

void
kv_sweep_start(void)
{
	timer_setup(&kv.sweep, sweep_tick, NULL);
	timer_start(&kv.sweep, KV_SWEEP_MS * TIMER_MS, KV_SWEEP_MS * TIMER_MS);
}

void
kv_sweep_stop(void)
{
	timer_stop(&kv.sweep);
}
