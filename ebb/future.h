/*
 * future.h: a one-shot value that arrives later.  Portable.
 *
 * A future starts pending and is resolved once, with a value, or failed
 * once, with an error number, by any code on any core.  Whoever needs
 * the result either registers a callback, which runs as an event on the
 * core that registered it once the future is done, or blocks the event
 * it is in until then (ebb/event.h's event_block).
 *
 *	struct future f;
 *	future_init(&f);
 *	spawn_on(3, compute, &f);		// core 3 calls future_resolve(&f, v)
 *	future_then(&f, print_it, NULL);	// later, as an event, here
 *	void *v; int err = future_block(&f, &v);	// or wait for it here
 *
 * The future must outlive its callbacks and waiters (typically it lives
 * in the object that owns the request).  Resolving twice panics.
 */
#ifndef EBB_FUTURE_H
#define EBB_FUTURE_H

#include "kernel/spinlock.h"

struct future_waiter;

struct future {
	struct spinlock lock;
	/* lock must be held when using these: */
	int done;			/* 0 pending, 1 resolved or failed */
	int err;			/* 0, or the error it failed with */
	void *value;
	struct future_waiter *waiters;	/* callbacks and blocked events */
};

void future_init(struct future *f);

/* Complete f with value (err 0) or with err (non-zero).  Once. */
void future_resolve(struct future *f, void *value);
void future_fail(struct future *f, int err);

/*
 * When f is done, run fn(f, arg) as an event on this core (at once, as
 * a spawn, if it is done already).  Returns 0, or ENOMEM.
 */
int future_then(struct future *f, void (*fn)(struct future *f, void *arg), void *arg);

/*
 * Block this event until f is done (event_block); then set *value (if
 * value is not NULL) and return f's error (0 if resolved).  Returns at
 * once if f is done.  ENOMEM if the event could not block.
 */
int future_block(struct future *f, void **value);

#endif
