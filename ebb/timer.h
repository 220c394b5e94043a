/*
 * timer.h: per-core timers, one-shot and periodic.  Portable.
 *
 * A timer is a struct the user embeds in an object of its own, so arming
 * one allocates nothing for the timer itself.  It is armed on the core
 * that starts it and fires there: its function runs on that core, at an
 * event boundary (inside the loop's boundary hook, between two events),
 * once clock_ns() has reached its deadline.
 * Natively the loop's sleep ends at the earliest deadline (the LAPIC
 * timer, through core_sleep); hosted, the sleep's timeout does.
 *
 *	struct conn { ...; struct timer rto; };
 *
 *	timer_setup(&c->rto, conn_rto, c);	// once: what to call
 *	timer_start(&c->rto, 200 * MS, 0);	// one-shot, in 200 ms
 *	timer_start(&c->rto, 400 * MS, 0);	// re-armed: now in 400 ms
 *	timer_stop(&c->rto);			// disarmed: will not fire
 *	timer_start(&c->rto, MS, MS);		// every millisecond from now
 *
 * Rules:
 *   - A timer is armed on one core at a time: the core that started it.
 *     timer_start of an armed timer and timer_stop must run on that core
 *     (they panic elsewhere); send an event there with spawn_on.  A
 *     disarmed timer may be started on any core.
 *   - fn(arg) runs with the timer already disarmed (one-shot) or
 *     already re-armed for its next period (periodic), so fn may start
 *     it again, stop it, or free the object that holds it (after
 *     timer_stop, for a periodic one).
 *   - fn runs inside a hook, not as an event of its own: it must not
 *     block (event_block panics); it may spawn an event that does.
 *   - Timers due at the same time fire in the order they were started.
 *   - A periodic timer's deadlines are start + k * period, so it does
 *     not drift; if it falls more than a period behind (a long event),
 *     the missed periods are skipped, not fired in a burst.
 *   - Memory: timer_start allocates nothing unless this core has more
 *     than TIMER_HEAP_MIN - 1 timers armed, when the core's heap array
 *     doubles (and halves again as they go); at most TIMER_MAX per core.
 *
 * ebb/timer.c explains the heap.
 */
#ifndef EBB_TIMER_H
#define EBB_TIMER_H

#include <stdint.h>

#define TIMER_MS	1000000ULL	/* nanoseconds in a millisecond */
#define TIMER_MAX	((1 << 20) - 1)	/* most timers armed on one core (an
					 * 8 MiB heap array, the largest block) */

/*
 * A timer.  Set up with timer_setup (or zero it and set fn and arg); the
 * other fields belong to timer.c.  A zeroed timer is disarmed.
 */
struct timer {
	uint64_t deadline;	/* clock_ns() at which it fires */
	uint64_t period;	/* 0: one-shot; else the period, in ns */
	uint64_t seq;		/* start order: breaks ties in deadline */
	void (*fn)(void *arg);	/* what to call when it fires */
	void *arg;
	uint32_t pos;		/* index in its core's heap; 0: disarmed */
	int core;		/* the core it is armed on */
};

/* Hook the timers into the event loops: once, after event_init. */
void timer_init(void);

/* Set up t to call fn(arg), disarmed; t must not be armed. */
void timer_setup(struct timer *t, void (*fn)(void *arg), void *arg);

/*
 * Arm t on this core to fire in delay_ns nanoseconds and then, if
 * period_ns is not 0, every period_ns.  An armed t is re-armed (on its
 * own core only).  Returns 0, or ENOMEM if the core's heap could not
 * grow (t is then unchanged).
 */
int timer_start(struct timer *t, uint64_t delay_ns, uint64_t period_ns);

/* The same, with an absolute first deadline (a clock_ns() time). */
int timer_start_at(struct timer *t, uint64_t deadline, uint64_t period_ns);

/* Disarm t, on the core it is armed on; a disarmed t is left alone. */
void timer_stop(struct timer *t);

/* Is t armed? */
static inline int
timer_armed(const struct timer *t)
{
	return t->pos != 0;
}

/* How many timers this core has armed. */
int timer_count(void);

#endif
