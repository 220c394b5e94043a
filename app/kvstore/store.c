/*
 * store.c: the key-value store (store.h): an RCU hash table of
 * immutable items, striped locks for writers, a memory bound kept by
 * CLOCK eviction, and expiry on the wall clock.  Portable.
 *
 * The table.  A fixed array of buckets (a power of two, about one per
 * KV_BYTES_PER_BUCKET bytes of mem=, never resized: the memory bound
 * also bounds the items, so chains stay short), each a singly linked
 * chain of items through hnext.  Readers walk a chain with rcu_deref
 * and take nothing.  Bucket b belongs to stripe b % KV_STRIPES, whose
 * spin lock a writer holds for any change to the bucket's chain and to
 * the stripe's LRU list.  A writer never changes a published item's
 * bytes: set makes a new item and swaps it into its predecessor's place
 * with one rcu_assign, so a reader sees the old item or the new one,
 * whole.  An unlinked item still points into its chain (a reader on it
 * walks on safely) and is freed by rcu_call_head after a grace period;
 * its memory, an iobuf block, goes only when the last GET reply that
 * references it has been sent too (the block's reference count).
 *
 *	kv_store -> lock stripe -> find -> (add/replace/cas checks)
 *	         -> replace or insert (rcu_assign) -> LRU head -> unlock
 *	         -> evict while over the limit
 *	kv_get   -> hash -> walk (rcu_deref) -> expired? lazy unlink
 *
 * Memory.  Each item is charged its block and buffer; the sum (used)
 * is one counter for the instance.  After a write, while used exceeds
 * the limit, the writer evicts from the stripes after its own, one
 * stripe lock at a time (never two at once, so there is no lock
 * order), its own stripe last.  Several writers at once may overshoot
 * the limit by an item each.  Eviction is CLOCK over each stripe's
 * list, an approximation of LRU that keeps readers off the locks: a
 * reader only sets the item's accessed bit (a relaxed store, when not
 * set already); the evictor, at the list's tail, moves an accessed
 * item to the head with its bit cleared (a second chance) and evicts
 * the first one not accessed since it was last looked at.  A second
 * chance given is not taken back in the same pass: the pass leaves a
 * stripe when the item it first spared comes round to the tail again
 * (the stripe held only items read since), and goes on to the next;
 * the writer goes round the stripes twice if it must, the second time
 * finding their bits cleared.
 *
 * Expiry.  Items hold an absolute Unix time (0: never).  A reader that
 * finds an expired or flushed item treats it as missing and unlinks it
 * (lazy reclaim); the periodic sweep (a timer on one core) walks
 * KV_SWEEP_BUCKETS buckets a tick and unlinks the rest.  flush_all
 * without a delay unlinks every item at once; with one, it records the
 * wall time after which items stored before it are dead.
 *
 * The Ebb.  The store is one multicore Ebb (ebb.h's EBB_MULTICORE)
 * whose reps are per-core counters: every operation counts on its own
 * core's rep (found through the translation table, no sharing) and
 * kv_stats sums them with ebb_multicore_visit.  The table is
 * the Ebb's root, shared by every core.
 *
 * Files.  This one holds the table, lookups and writes; reclaim.c the
 * LRU lists, unlinking, eviction, the sweep and flush_all; store_int.h
 * what they share.
 */
#include <errno.h>
#include <string.h>

#include "ebb/ebb.h"
#include "ebb/rcu.h"
#include "ebb/timer.h"
#include "kernel/malloc.h"
#include "kernel/platform.h"
#include "kernel/spinlock.h"
#include "store.h"
#include "store_int.h"

const char *const kv_counter_names[KV_NCOUNTERS] = {
	"cmd_get", "cmd_set", "cmd_flush", "cmd_touch",
	"get_hits", "get_misses", "get_expired", "get_flushed",
	"delete_misses", "delete_hits", "incr_misses", "incr_hits",
	"decr_misses", "decr_hits", "cas_misses", "cas_hits", "cas_badval",
	"touch_hits", "touch_misses", "total_items", "expired_unfetched",
	"evictions", "reclaimed",
};

struct kv_table kv;

void
kv_count(enum kv_counter c)
{
	struct kv_rep *r = ebb_rep(kv.id);

	if (r != NULL)		/* only if the rep's memory ran out: lose the count */
		__atomic_store_n(&r->n[c], r->n[c] + 1, __ATOMIC_RELAXED);
}

int
kv_init(size_t mem, size_t item_max)
{
	size_t n = KV_STRIPES;

	kv.limit = mem != 0 ? mem : KV_MEM_DEFAULT;
	kv.item_max = item_max != 0 ? item_max : KV_ITEM_MAX_DEFAULT;
	while (n < kv.limit / KV_BYTES_PER_BUCKET)
		n <<= 1;
	kv.bucket = kcalloc(n, sizeof kv.bucket[0]);
	kv.stripe = kaligned_alloc(CACHE_LINE, KV_STRIPES * sizeof kv.stripe[0]);
	kv.id = ebb_id_alloc();
	if (kv.bucket == NULL || kv.stripe == NULL || kv.id == 0) {
		kfree(kv.bucket);
		kfree(kv.stripe);
		return ENOMEM;
	}
	kv.mask = n - 1;
	memset(kv.stripe, 0, KV_STRIPES * sizeof kv.stripe[0]);
	for (int i = 0; i < KV_STRIPES; i++)
		spin_init(&kv.stripe[i].lock, "kv_stripe");
	kv.ebb = (struct ebb_multicore)EBB_MULTICORE(NULL, sizeof(struct kv_rep));
	return ebb_bind(kv.id, &kv.ebb.root) == 0 ? 0 : ENOMEM;
}

int64_t
kv_now(void)
{
	return (int64_t)(wall_ns() / 1000000000u) + __atomic_load_n(&kv.shift, __ATOMIC_RELAXED);
}

void
kv_clock_shift(int64_t seconds)
{
	__atomic_add_fetch(&kv.shift, seconds, __ATOMIC_RELAXED);
}

/* wall_ns on the store's (shiftable) clock. */
uint64_t
kv_now_ns(void)
{
	return wall_ns() + (uint64_t)__atomic_load_n(&kv.shift, __ATOMIC_RELAXED) * 1000000000u;
}

/* memcached's exptime to an absolute Unix time (0: never; 1: long gone). */
static int64_t
abs_exptime(int64_t e)
{
	if (e < 0)
		return 1;
	if (e == 0)
		return 0;
	if (e <= KV_RELATIVE_MAX)
		return kv_now() + e;
	return e;
}

/*
 * The key's hash, eight bytes a step: each word mixed in by a multiply
 * and a shift, the last few bytes as one more word, then MurmurHash3's
 * 64-bit finalizer, so that every bit of the key moves the low bits,
 * which pick the bucket and its stripe.  (FNV-1a, a multiply a byte,
 * cost about 150 instructions more for a 32-byte key.)
 */
static uint32_t
kv_hash(const char *key, size_t n)
{
	const uint64_t k = 0xff51afd7ed558ccdull;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, key + i, 8);
		h = (h ^ w) * k;
		h ^= h >> 29;
	}
	for (w = 0; i < n; i++)
		w = w << 8 | (uint8_t)key[i];
	h ^= w;
	h ^= h >> 33;
	h *= k;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

/* Is it gone by its expiry or by flush_all?  *why: the counter, if so. */
int
kv_dead(const struct kv_item *it, int64_t now, enum kv_counter *why)
{
	int64_t e = __atomic_load_n(&it->exptime, __ATOMIC_RELAXED);
	uint64_t f = __atomic_load_n(&kv.flush_at, __ATOMIC_RELAXED);

	if (e != 0 && e <= now) {
		*why = KV_GET_EXPIRED;
		return 1;
	}
	if (f != 0 && it->stored_ns < f && kv_now_ns() >= f) {
		*why = KV_GET_FLUSHED;
		return 1;
	}
	return 0;
}

/*
 * The link that points at key's item in its chain (or at the chain's
 * NULL end).  With the stripe lock held: plain loads.
 */
struct kv_item **
kv_find_locked(const char *key, size_t nkey, uint32_t hash)
{
	struct kv_item **p = &kv.bucket[hash & kv.mask];

	for (; *p != NULL; p = &(*p)->hnext)
		if ((*p)->hash == hash && (*p)->nkey == nkey && memcmp((*p)->key, key, nkey) == 0)
			break;
	return p;
}

/* Unlink it if it is still in the table (lazy reclaim by a reader). */
static void
reclaim(struct kv_item *it)
{
	struct kv_stripe *st = kv_stripe_of(it->hash);

	spin_lock(&st->lock);
	struct kv_item **link = kv_find_locked(it->key, it->nkey, it->hash);
	if (*link == it) {
		if (!it->accessed)
			kv_count(KV_EXPIRED_UNFETCHED);
		kv_count(KV_RECLAIMED);
		kv_unlink_locked(st, link, it);
	}
	spin_unlock(&st->lock);
}

struct kv_item *
kv_get(const char *key, size_t nkey, int count)
{
	uint32_t hash = kv_hash(key, nkey);
	struct kv_item *it = rcu_deref(kv.bucket[hash & kv.mask]);
	enum kv_counter why;

	for (; it != NULL; it = rcu_deref(it->hnext))
		if (it->hash == hash && it->nkey == nkey && memcmp(it->key, key, nkey) == 0)
			break;
	/*
	 * The clock is read only for an item that can expire (should touch
	 * give it an exptime meanwhile, it is not dead yet: now is 0).
	 */
	if (it != NULL && kv_dead(it, __atomic_load_n(&it->exptime, __ATOMIC_RELAXED) != 0 ?
	    kv_now() : 0, &why)) {
		if (count)
			kv_count(why);
		reclaim(it);
		it = NULL;
	}
	if (count & KV_COUNT)
		kv_count(it != NULL ? KV_GET_HITS : KV_GET_MISSES);
	if (it != NULL && !(count & KV_PEEK))
		kv_mark(it, 0);
	return it;
}

uint8_t
kv_mark(struct kv_item *it, uint8_t mflags)
{
	/* Relaxed: only the CLOCK hint; written only when it changes. */
	if (!__atomic_load_n(&it->accessed, __ATOMIC_RELAXED))
		__atomic_store_n(&it->accessed, 1, __ATOMIC_RELAXED);
	mflags |= KV_ITEM_FETCHED;
	uint8_t m = __atomic_load_n(&it->mflags, __ATOMIC_RELAXED);
	if ((m & mflags) != mflags)	/* relaxed: marks order nothing else */
		m = __atomic_fetch_or(&it->mflags, mflags, __ATOMIC_RELAXED);
	return m;
}

struct iobuf *
kv_value_buf(const struct kv_item *it)
{
	struct iobuf *b = iobuf_clone(it->buf);	/* the store's reference keeps refs >= 1 */

	if (b != NULL) {
		b->data = (uint8_t *)(it->key + it->nkey + it->nhdr);
		b->len = it->nbytes + 2;
	}
	return b;
}

struct iobuf *
kv_reply_buf(const struct kv_item *it, int end)
{
	struct iobuf *b = iobuf_clone(it->buf);

	if (b != NULL) {
		b->data = (uint8_t *)it->value_word;
		b->len = sizeof it->value_word + it->nkey + it->nhdr + it->nbytes + 2 + (end ? 5 : 0);
	}
	return b;
}

/* " FLAGS NBYTES\r\n" into p (room for 24 bytes); its length. */
static size_t
reply_header(char *p, uint32_t flags, uint32_t nbytes)
{
	char num[10], *q = p;
	uint32_t v[2] = { flags, nbytes };

	for (int i = 0; i < 2; i++) {
		int n = 0;
		do
			num[n++] = (char)('0' + v[i] % 10);
		while ((v[i] /= 10) != 0);
		*q++ = ' ';
		while (n > 0)
			*q++ = num[--n];
	}
	memcpy(q, "\r\n", 2);
	return (size_t)(q + 2 - p);
}

/* A new item with an absolute expiry; NULL with *why. */
static struct kv_item *
item_alloc(const char *key, size_t nkey, uint32_t flags, int64_t exptime, size_t nbytes,
    enum kv_status *why)
{
	char hdr[24];
	size_t nhdr = reply_header(hdr, flags, (uint32_t)nbytes);
	size_t size = sizeof(struct kv_item) + nkey + nhdr + nbytes + 2 + 5;
	struct iobuf *b;
	struct kv_item *it;

	if (nkey > KV_KEY_MAX || nbytes > kv.item_max || size > kv.item_max) {
		*why = KV_TOO_LARGE;
		return NULL;
	}
	if ((b = iobuf_alloc_exact(size)) == NULL) {
		*why = KV_NO_MEMORY;
		return NULL;
	}
	it = iobuf_put(b, size);
	memset(it, 0, sizeof *it);
	it->buf = b;
	it->size = (uint32_t)(size + KV_BUF_OVERHEAD);
	it->flags = flags;
	it->nbytes = (uint32_t)nbytes;
	it->hash = kv_hash(key, nkey);
	it->exptime = exptime;
	it->nkey = (uint8_t)nkey;
	it->nhdr = (uint8_t)nhdr;
	memcpy(it->value_word, "VALUE ", sizeof it->value_word);
	memcpy(it->key, key, nkey);
	memcpy(it->key + nkey, hdr, nhdr);
	memcpy(kv_value(it) + nbytes, "\r\nEND\r\n", 7);
	return it;
}

struct kv_item *
kv_item_new(const char *key, size_t nkey, uint32_t flags, int64_t exptime, size_t nbytes,
    enum kv_status *why)
{
	return item_alloc(key, nkey, flags, abs_exptime(exptime), nbytes, why);
}

void
kv_item_drop(struct kv_item *it)
{
	if (it != NULL)
		iobuf_free(it->buf);
}

/* Put it where *link is (replacing old, or at the chain's end), newest in the LRU. */
static void
link_locked(struct kv_stripe *st, struct kv_item **link, struct kv_item *old, struct kv_item *it)
{
	it->cas = __atomic_add_fetch(&kv.next_cas, 1, __ATOMIC_RELAXED);
	it->stored_ns = kv_now_ns();
	it->linked = 1;
	if (old != NULL) {
		it->hnext = old->hnext;
		kv_lru_remove(st, old);
		old->linked = 0;
		st->items--;
		__atomic_sub_fetch(&kv.used, (int64_t)old->size, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&kv.items, 1, __ATOMIC_RELAXED);
	}
	/* Release: the item's bytes are written before a reader can find it. */
	rcu_assign(*link, it);
	if (old != NULL)
		rcu_call_head(&old->rcu, kv_item_free);
	kv_lru_push(st, it);
	st->items++;
	__atomic_add_fetch(&kv.used, (int64_t)it->size, __ATOMIC_RELAXED);
	__atomic_add_fetch(&kv.items, 1, __ATOMIC_RELAXED);
	kv_count(KV_TOTAL_ITEMS);
}

/* The live item at *link, or NULL; a dead one there is unlinked. */
static struct kv_item *
live_locked(struct kv_stripe *st, struct kv_item **link)
{
	struct kv_item *it = *link;
	enum kv_counter why;

	if (it != NULL && kv_dead(it, kv_now(), &why)) {
		kv_count(KV_RECLAIMED);
		kv_unlink_locked(st, link, it);
		return NULL;
	}
	return it;
}

/* append/prepend: a new item of old's and it's values; it is dropped. */
static struct kv_item *
concat(struct kv_item *old, struct kv_item *it, int append, enum kv_status *why)
{
	struct kv_item *n = item_alloc(old->key, old->nkey, old->flags, old->exptime,
	    (size_t)old->nbytes + it->nbytes, why);

	if (n != NULL) {
		struct kv_item *first = append ? old : it, *second = append ? it : old;
		memcpy(kv_value(n), kv_value(first), first->nbytes);
		memcpy(kv_value(n) + first->nbytes, kv_value(second), second->nbytes);
	}
	kv_item_drop(it);
	return n;
}

enum kv_status
kv_store(enum kv_op op, struct kv_item *it, uint64_t cas, uint64_t *cas_out)
{
	struct kv_stripe *st = kv_stripe_of(it->hash);
	enum kv_status s = KV_STORED;

	kv_count(KV_CMD_SET);
	spin_lock(&st->lock);
	struct kv_item **link = kv_find_locked(it->key, it->nkey, it->hash);
	struct kv_item *old = live_locked(st, link);
	link = kv_find_locked(it->key, it->nkey, it->hash);	/* it may have gone */
	if (op != KV_CAS && cas != 0 && (old == NULL || old->cas != cas)) {
		s = old == NULL ? KV_NOT_FOUND : KV_EXISTS;
		kv_item_drop(it);
		goto out;
	}
	switch (op) {
	case KV_SET:
		break;
	case KV_ADD:
		if (old != NULL) {
			__atomic_store_n(&old->accessed, 1, __ATOMIC_RELAXED);
			s = KV_NOT_STORED;
		}
		break;
	case KV_REPLACE:
		if (old == NULL)
			s = KV_NOT_STORED;
		break;
	case KV_APPEND:
	case KV_PREPEND:
		if (old == NULL)
			s = KV_NOT_STORED;
		else if ((it = concat(old, it, op == KV_APPEND, &s)) == NULL)
			goto out;	/* concat dropped it; s says why */
		break;
	case KV_CAS:
		if (old == NULL)
			s = KV_NOT_FOUND;
		else if (old->cas != cas)
			s = KV_EXISTS;
		kv_count(s == KV_STORED ? KV_CAS_HITS : s == KV_EXISTS ? KV_CAS_BADVAL :
		    KV_CAS_MISSES);
		break;
	}
	if (s != KV_STORED) {
		kv_item_drop(it);
		goto out;
	}
	link_locked(st, link, old, it);
	if (cas_out != NULL)
		*cas_out = it->cas;
out:
	spin_unlock(&st->lock);
	if (s == KV_STORED)
		kv_evict(st);
	return s;
}

enum kv_status
kv_delete(const char *key, size_t nkey)
{
	return kv_delete_cas(key, nkey, 0);
}

enum kv_status
kv_delete_cas(const char *key, size_t nkey, uint64_t cas)
{
	uint32_t hash = kv_hash(key, nkey);
	struct kv_stripe *st = kv_stripe_of(hash);
	struct kv_item **link, *it;
	enum kv_status s = KV_NOT_FOUND;

	spin_lock(&st->lock);
	link = kv_find_locked(key, nkey, hash);
	if ((it = live_locked(st, link)) != NULL) {
		if (cas != 0 && it->cas != cas) {
			s = KV_EXISTS;
		} else {
			kv_unlink_locked(st, link, it);
			s = KV_DELETED;
		}
	}
	spin_unlock(&st->lock);
	if (s != KV_EXISTS)
		kv_count(s == KV_DELETED ? KV_DELETE_HITS : KV_DELETE_MISSES);
	return s;
}

/* The value as an unsigned decimal (memcached's: digits only, <= 2^64-1); -1 if not. */
static int
parse_u64(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

enum kv_status
kv_arith(const char *key, size_t nkey, int incr, uint64_t delta, uint64_t *result,
    uint64_t *cas_out)
{
	return kv_arith_cas(key, nkey, incr, delta, 0, result, cas_out);
}

enum kv_status
kv_arith_cas(const char *key, size_t nkey, int incr, uint64_t delta, uint64_t cas,
    uint64_t *result, uint64_t *cas_out)
{
	uint32_t hash = kv_hash(key, nkey);
	struct kv_stripe *st = kv_stripe_of(hash);
	struct kv_item *old, *n = NULL, **link;
	enum kv_status s = KV_STORED;
	uint64_t v;
	char digits[24];

	spin_lock(&st->lock);
	link = kv_find_locked(key, nkey, hash);
	if ((old = live_locked(st, link)) == NULL) {
		s = KV_NOT_FOUND;
	} else if (cas != 0 && old->cas != cas) {
		s = KV_EXISTS;
	} else if (parse_u64(kv_value(old), old->nbytes, &v) < 0) {
		s = KV_NON_NUMERIC;
	} else {
		v = incr ? v + delta : v < delta ? 0 : v - delta;	/* incr wraps */
		int len = 0;
		uint64_t t = v;
		do
			digits[sizeof digits - 1 - len++] = (char)('0' + t % 10);
		while ((t /= 10) != 0);
		n = item_alloc(key, nkey, old->flags, old->exptime, (size_t)len, &s);
		if (n != NULL) {
			memcpy(kv_value(n), digits + sizeof digits - len, (size_t)len);
			link_locked(st, kv_find_locked(key, nkey, hash), old, n);
			*result = v;
			if (cas_out != NULL)
				*cas_out = n->cas;
			s = KV_STORED;
		}
	}
	spin_unlock(&st->lock);
	if (s == KV_STORED || s == KV_NOT_FOUND)
		kv_count(incr ? (s == KV_STORED ? KV_INCR_HITS : KV_INCR_MISSES) :
		    (s == KV_STORED ? KV_DECR_HITS : KV_DECR_MISSES));
	if (n != NULL)
		kv_evict(st);
	return s;
}

struct kv_item *
kv_touch(const char *key, size_t nkey, int64_t exptime)
{
	struct kv_item *it = kv_get(key, nkey, 0);

	kv_count(KV_CMD_TOUCH);
	kv_count(it != NULL ? KV_TOUCH_HITS : KV_TOUCH_MISSES);
	/* Relaxed: a reader sees the old expiry or the new one, whole. */
	if (it != NULL)
		__atomic_store_n(&it->exptime, abs_exptime(exptime), __ATOMIC_RELAXED);
	return it;
}

/* ebb_multicore_visit's: add one core's counters into the sums. */
static void
add_rep(void *rep, void *arg)
{
	struct kv_rep *r = rep;
	struct kv_stats *out = arg;

	for (int i = 0; i < KV_NCOUNTERS; i++)
		out->n[i] += __atomic_load_n(&r->n[i], __ATOMIC_RELAXED);
}

void
kv_stats(struct kv_stats *out)
{
	memset(out, 0, sizeof *out);
	ebb_multicore_visit(&kv.ebb, add_rep, out);
	out->curr_items = (uint64_t)__atomic_load_n(&kv.items, __ATOMIC_RELAXED);
	out->bytes = (uint64_t)__atomic_load_n(&kv.used, __ATOMIC_RELAXED);
	out->limit_maxbytes = kv.limit;
	out->item_max = kv.item_max;
}

void
kv_set_limit(size_t mem)
{
	kv.limit = mem;
}
