/*
 * event.h: one event loop per core.  Portable.
 *
 * Everything the runtime does is an event: a function and its argument,
 * queued on one core and run there to completion.  There is no
 * preemption, so an event never shares its core with another event, and
 * per-core data needs no locks.  Each core's loop runs (ebb/event.c):
 *
 *	forever:
 *		move the events other cores sent (spawn_on) to the local queue
 *		run up to EVENT_BATCH events from the local queue, oldest first
 *		boundary hooks (timers fire here; RCU notes quiescence)
 *		if nothing ran: idle handlers; if none did work: irq_poll(),
 *		    then sleep until woken or the idle hooks' earliest deadline
 *		    (the sleep hooks just before and after)
 *
 * Ordering: the events one core spawns on one core run in the order it
 * spawned them (spawn, and spawn_on from the same sender); events from
 * different senders interleave in no promised order.
 *
 * Typical sequence (ebb/runtime.c does this for the app):
 *
 *	event_init();			// once, on core 0
 *	timer_init();			// subsystems register their hooks
 *	status = event_run(first, arg);	// first event on core 0; all loops
 *					// run until some event calls
 *					// event_stop(status)
 *
 * event_run may be called again (tests do): the other cores stay parked
 * between runs, and events still queued when a run stops run in the next.
 *
 * Callbacks given to spawn and spawn_on run on the target core as an
 * event: they may spawn, arm timers, and call everything else here
 * except event_run; they may block (below, and ebb/future.h).
 */
#ifndef EBB_EVENT_H
#define EBB_EVENT_H

#include <stdint.h>
#include <sys/queue.h>

#include "kernel/platform.h"

/*
 * Set up the loops: the event records' slab cache and every core's
 * queues.  Once, on core 0, after kmalloc_init and before anything else
 * here.
 */
void event_init(void);

/*
 * Queue fn(arg) on this core, after the events already queued here.
 * Returns 0, or ENOMEM if no event record could be allocated (counted in
 * event_stats; nothing is queued).  Any code on this core may call it,
 * in an event or not.
 */
int spawn(void (*fn)(void *arg), void *arg);

/*
 * Queue fn(arg) on core c (spawn if c is this core), waking c if it
 * sleeps.  Lock-free: c's queue of remote events takes any number of
 * senders.  Returns 0, or ENOMEM as spawn.  A c outside
 * 0..core_count()-1 panics.
 */
int spawn_on(int c, void (*fn)(void *arg), void *arg);

/*
 * An event record.  The loops make and free their own (spawn,
 * spawn_on); a structure that must be able to send an event without
 * allocating embeds one and uses spawn_on_record.
 */
struct event {
	STAILQ_ENTRY(event) link;	/* on a local queue, or a remote stack */
	void (*fn)(void *arg);
	void *arg;
	int owned;			/* the caller's storage: never freed here */
};

/*
 * spawn_on with the caller's record e, which cannot fail: e must stay
 * valid and unused until fn starts (fn may free or reuse it).  c may be
 * this core.
 */
void spawn_on_record(int c, struct event *e, void (*fn)(void *arg), void *arg);

/*
 * Idle handlers: fn(arg) runs on this core whenever its loop finds its
 * queues empty, before the core would sleep (a poller: a NIC ring, a
 * lock-free queue of its own).  It returns nonzero if it found work (then
 * the loop goes round again instead of sleeping), 0 if not.  Any number
 * per core; they run in the order they were added.  A handler may spawn
 * and may remove itself, but not another handler of its core.
 * Returns a handle for event_idle_remove, or NULL if memory ran out.
 */
struct event_idle;
struct event_idle *event_idle_add(int (*fn)(void *arg), void *arg);

/* Remove an idle handler, on the core that added it (panics elsewhere). */
void event_idle_remove(struct event_idle *h);

/*
 * Hooks for the subsystems built on the loop, so that the loop knows
 * none of them.  Registered before the first event_run (they then hold
 * for every core and every run; registering later panics), at most
 * EVENT_HOOKS_MAX of each, run in registration order, on each core:
 *
 *   boundary: at an event boundary, after each batch of up to
 *	EVENT_BATCH events and on every pass of an idle loop.  Returns
 *	nonzero if it did work (ran timers, say), which keeps the loop
 *	from sleeping.  Never inside an event.
 *   idle: when the core has nothing to do, before it decides to sleep.
 *	Returns the clock_ns() time by which the core must be awake again
 *	(a timer's deadline), or 0 for no deadline.  If any deadline has
 *	passed (1 will always do), the core goes round instead of sleeping.
 *   sleep: sleep() just before the core's last check for work and its
 *	core_sleep, wake() just after (whether it slept or found work at
 *	the last moment), before it runs anything else: the core is
 *	outside every event in between (RCU: quiescent while asleep).
 */
void event_hook_boundary(int (*fn)(void));
void event_hook_idle(uint64_t (*fn)(void));
void event_hook_sleep(void (*sleep)(void), void (*wake)(void));

/*
 * Run the loops: queue first(arg) on this core, which must be core 0;
 * start the other cores on the first call (cores_start) or release them
 * from their parking on later calls; run core 0's loop.  Returns, on core
 * 0, once some event called event_stop(status) and every core has left
 * its loop (they park, sleeping, until the next event_run); returns that
 * status.  Not from inside an event.
 */
int event_run(void (*first)(void *arg), void *arg);

/*
 * Ask every loop to stop after the event that is running, and event_run
 * to return status.  Any core, any event (the first call in a run wins;
 * later ones are ignored).  The caller's event goes on to its end.
 */
void event_stop(int status);

/*
 * Blocking.  An event may give up its core in the middle and be resumed
 * later, on the same core, with its stack as it was:
 *
 *	struct event_ctx ctx;		// on the blocking event's own stack
 *	event_ctx_init(&ctx);		// before anyone else can see it
 *	publish &ctx where the waker will find it (a future does this)
 *	event_block(&ctx);		// returns once someone calls
 *					// event_activate(&ctx), on any core
 *
 * While it is blocked, this core's loop goes on, on another stack: the
 * loop instances (ebb/event.c) are stacks of 2^EVENT_STACK_ORDER pages
 * from the page allocator, made when needed and then kept, per core, for
 * the next event that blocks, so there are at most as many as the most
 * events ever blocked at once on the core, plus one (event_block_reserve
 * may make one ahead).  Each stack's lowest page is a guard (stack_guard).  event_block returns 0 when
 * resumed, or ENOMEM at once if no stack could be had (nothing blocked).
 * event_activate may be called once per block, from any core: it queues
 * the resumption on the blocked event's core with the record inside ctx,
 * so it cannot fail.  Only an event may block: not a hook, an idle
 * handler, a timer's or RCU's callback (those run inside the loop's
 * boundary hooks; they may spawn an event that blocks), or code outside
 * the loops.  event_block panics if asked to from a hook.
 */
struct loop;
struct event_ctx {
	int core;		/* the core the event blocked on */
	struct loop *loop;	/* the loop instance (stack) it blocked on */
	struct event resume;	/* event_activate's record: it cannot fail */
};
/*
 * Prepare ctx on the core that will block: a waker may call
 * event_activate as soon as it sees ctx, even before event_block, and
 * that is safe (the resumption queues on this core, behind the event
 * that is about to block) provided ctx names its core already.
 */
void event_ctx_init(struct event_ctx *ctx);
int event_block(struct event_ctx *ctx);
void event_activate(struct event_ctx *ctx);

/*
 * Make sure this core's next event_block cannot fail: a caller that
 * must publish its event_ctx before blocking (future_block) calls this
 * first.  Returns 0, or ENOMEM.
 */
int event_block_reserve(void);

/* Counts of one core's loop, for tests and benchmarks (a snapshot). */
struct event_stats {
	uint64_t run;		/* events run */
	uint64_t remote;	/* of those, sent by other cores */
	uint64_t sleeps;	/* times the core slept (core_sleep) */
	uint64_t idle_ns;	/* time it spent asleep there, in ns */
	uint64_t wakes;		/* core_wake calls it made for spawn_on */
	uint64_t nomem;		/* spawns that failed for want of memory */
	uint64_t blocks;	/* event_block calls */
	uint64_t loops;		/* loop instances made (stacks taken) */
};
void event_stats(int c, struct event_stats *st);

#endif
