/*
 * loop.h: the event loop's per-core state, the rep of the event manager
 * (EBB_EVENTS, found with ebb_rep), shared by the two files that make
 * the loop: ebb/event.c (queues, the loop, runs) and ebb/block.c (loop
 * instances, blocking).  Nothing outside ebb/event.c and ebb/block.c
 * includes it.
 */
#ifndef EBB_LOOP_H
#define EBB_LOOP_H

#include <sys/queue.h>

#include "event.h"
#include "percore.h"

STAILQ_HEAD(event_list, event);

struct event_idle {
	TAILQ_ENTRY(event_idle) link;	/* on its core's list of handlers */
	int (*fn)(void *arg);
	void *arg;
	int core;			/* the core whose list it is on */
};

TAILQ_HEAD(event_idle_list, event_idle);

/*
 * A loop instance: a stack on which this core's loop runs.  The core's
 * own stack is the first (struct event_core.base); event_block starts
 * another when an event gives up the core, and instances that are not
 * running wait, parked at an event boundary, to be reused.
 */
struct loop {
	void *sp;		/* saved stack pointer while not running */
	struct loop *next;	/* on the core's parked list */
	int blocked;		/* an event on this stack is blocked */
};

/*
 * One core's loop state.  Per-core data: the first part is owned by its
 * core and used without locks; the second part, on a cache line of its
 * own, is the only part other cores touch, and only through atomics.
 */
struct event_core {
	/* Owned by the core: */
	struct event_list queue;	/* local events, oldest first */
	struct event_idle_list idle;	/* idle handlers, in order added */
	uint64_t nrun, nremote, nsleeps, nwakes, nnomem;	/* event_stats */
	uint64_t idle_ns;	/* asleep in event_sleep (relaxed atomic) */
	uint64_t nblocks, nloops;	/* event_block calls, instances made */
	struct loop base;		/* the instance on the core's own stack */
	struct loop *cur;		/* the instance running now */
	struct loop *parked;		/* instances waiting to be reused */
	unsigned round;			/* cores 1..: the run they are in */
	int in_hook;			/* running hooks or idle handlers: no blocking */

	/* Shared: written by other cores, on a line of their own. */
	struct event *remote PERCORE;	/* senders' stack, newest on top */
	int sleeping;			/* 1 from before the last check of
					 * remote until core_sleep returns */
} PERCORE;

/* ebb/event.c */
void event_loop(void);			/* this core's loop, until a run stops */
void event_ap_loop(struct event_core *me);	/* cores 1..: loops and parking, forever */
int event_run_status(void);		/* the stopping run's status */

#endif
