/*
 * spinlock.c: test-and-test-and-set spin locks (see spinlock.h).
 *
 * Acquire spins on a plain load until the lock looks free and only then
 * tries the atomic exchange, so that waiting cores share the cache line
 * instead of bouncing it.  The exchange has acquire ordering and the
 * release store has release ordering: everything written inside the
 * critical section is visible to the next holder before it enters.
 */
#include "platform.h"
#include "spinlock.h"

void
spin_init(struct spinlock *l, const char *name)
{
	l->locked = 0;
	l->holder = -1;
	l->name = name;
}

/* Is the lock held by this core?  Only meaningful to the holder. */
int
spin_held(struct spinlock *l)
{
	return __atomic_load_n(&l->locked, __ATOMIC_RELAXED) &&
	    __atomic_load_n(&l->holder, __ATOMIC_RELAXED) == core_id();
}

void
spin_lock(struct spinlock *l)
{
	if (spin_held(l))
		panic("spin_lock: %s already held by core %d", l->name, core_id());
	for (;;) {
		/* Acquire: orders the section's loads and stores after this. */
		if (!__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
			break;
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
	}
	/* Relaxed: only the holder reads its own id back (spin_held). */
	__atomic_store_n(&l->holder, core_id(), __ATOMIC_RELAXED);
}

void
spin_unlock(struct spinlock *l)
{
	if (!spin_held(l))
		panic("spin_unlock: %s not held by core %d", l->name, core_id());
	__atomic_store_n(&l->holder, -1, __ATOMIC_RELAXED);
	/* Release: the section's stores become visible before the lock is free. */
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}
