/*
 * rhash.h: a hash table whose readers take no lock (RCU) and whose
 * writers share one spin lock.  Portable.  Keys are 64-bit integers,
 * values pointers; the bucket count is fixed when the table is made.
 *
 * Readers (rhash_get) may run on any core at any time in an event and
 * see either the old or the new state of a concurrent change.  A removed
 * node is freed by rcu_call once no reader can hold it, so rhash_del
 * needs the event loops running (ebb/rcu.h) to give memory back.
 *
 *	struct rhash *h = rhash_new(1024);
 *	rhash_put(h, 42, thing);		// -1 if 42 is taken
 *	void *v = rhash_get(h, 42);		// thing, lock-free
 *	rhash_del(h, 42);			// the node goes after a grace period
 */
#ifndef EBB_RHASH_H
#define EBB_RHASH_H

#include <stddef.h>
#include <stdint.h>

struct rhash;

/* A table with nbuckets chains (rounded up to a power of two), or NULL. */
struct rhash *rhash_new(size_t nbuckets);

/* The value for key, or NULL.  Lock-free. */
void *rhash_get(struct rhash *h, uint64_t key);

/* Add key -> value (value not NULL).  Returns 0, -1 if key is there, ENOMEM. */
int rhash_put(struct rhash *h, uint64_t key, void *value);

/* Remove key; returns its value, or NULL if it was not there. */
void *rhash_del(struct rhash *h, uint64_t key);

#endif
