/*
 * spinlock.h: a mutual-exclusion lock for the few structures that cores
 * share (the page allocator's free lists, the slab depots, the RCU
 * grace-period state, a hash table's writers, a future).
 *
 * Portable: built from GCC's __atomic builtins, so the same code serves
 * the native image and the hosted threads.  Interrupts need no masking:
 * native code enables them only at the event loop's idle point, where no
 * lock is held, so a handler can never spin on a lock its own core holds.
 *
 * Rules, enforced: a core never acquires a lock it already holds, and
 * only the holder releases (both panic otherwise).  Where two locks nest,
 * the order is written beside their definitions.
 */
#ifndef SPINLOCK_H
#define SPINLOCK_H

struct spinlock {
	int locked;		/* 0 free, 1 held */
	int holder;		/* core_id() of the holder, -1 when free */
	const char *name;	/* for panic messages */
};

#define SPINLOCK_INIT(n) { 0, -1, (n) }

void spin_init(struct spinlock *l, const char *name);
void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
int spin_held(struct spinlock *l);	/* held by this core? */

#endif
