/*
 * rcu.h: read-copy-update for an event-driven runtime.  Portable.
 *
 * Readers of a shared structure take no lock and write nothing: they
 * load pointers with rcu_deref and use what they find until their event
 * ends.  A writer (under whatever lock writers share) publishes a new
 * version with rcu_assign and hands the old one to rcu_call, which runs
 * the callback (to free it, say) only after every core has finished the
 * events that were running when rcu_call was made — a grace period — so
 * no reader can still hold the old version.
 *
 * Because events run to completion and never share their core, the end
 * of an event is a quiescent state, and so is a core that sleeps idle:
 * the loop's hooks tell ebb/rcu.c about both, and no reader marks
 * anything.  A reader must not keep an rcu_deref'd pointer past its
 * event, nor across event_block: while an event is blocked its core
 * passes event boundaries.  Callbacks run inside the loop's hooks, not as
 * events: they must not block (they may spawn an event that does).
 *
 *	writer:	spin_lock(&l); old = t->p; rcu_assign(t->p, new);
 *		spin_unlock(&l); rcu_call(free_old, old);
 *	reader:	struct thing *p = rcu_deref(t->p); ... use p ...
 */
#ifndef EBB_RCU_H
#define EBB_RCU_H

#include <stdint.h>

/* Publish p at *where: everything written to *p before is seen first. */
#define rcu_assign(where, p) __atomic_store_n(&(where), (p), __ATOMIC_RELEASE)

/* Read a pointer that writers publish with rcu_assign. */
#define rcu_deref(where) __atomic_load_n(&(where), __ATOMIC_ACQUIRE)

/* Register RCU's hooks with the event loop: once, after event_init. */
void rcu_init(void);

/*
 * Run fn(arg) on this core after a grace period.  Returns 0, or ENOMEM
 * (nothing queued).  Callbacks run as ordinary code at an event
 * boundary on the core that called rcu_call, in the order they were
 * queued; they may call rcu_call again.
 */
int rcu_call(void (*fn)(void *arg), void *arg);

/*
 * The same without allocating, for a structure that embeds a struct
 * rcu_head (as a node to be freed does): fn(head) runs after a grace
 * period.  Cannot fail.
 */
struct rcu_head {
	struct rcu_head *next;
	void (*fn)(struct rcu_head *head);
};
void rcu_call_head(struct rcu_head *head, void (*fn)(struct rcu_head *head));

/* Grace periods completed so far (for tests and statistics). */
uint64_t rcu_completed(void);

#endif
