/*
 * timer.c: per-core timers on a binary min-heap (see timer.h).  Portable.
 *
 * Each core keeps its armed timers in a binary min-heap of pointers,
 * ordered by (deadline, seq): heap[1] is the earliest, and the children
 * of heap[i] are heap[2i] and heap[2i+1] (slot 0 is unused, so that a
 * timer's pos, its index, is never 0 while armed and a zeroed timer is
 * disarmed).  Every move in the heap writes the timer's new pos, so a
 * timer can be stopped or re-armed where it sits:
 *
 *	start	append at heap[n+1], sift up		O(log n)
 *	stop	move heap[n] into its place, sift	O(log n)
 *	re-arm	change its key in place, sift		O(log n)
 *	fire	heap[1]; remove it, or re-key it	O(log n)
 *	next	heap[1]->deadline			O(1)
 *
 * Why a heap and not a timer wheel: a wheel makes start and stop O(1)
 * and allocates nothing ever, but fires in ticks, not in deadline order,
 * needs cascading (hierarchical) or a scan to find the next deadline
 * for the sleep, and has its granularity as a tunable.  The heap is
 * exact (timers fire in (deadline, start) order), gives the sleep's
 * deadline in one load, stays within a few cache misses at a million
 * timers (20 levels, the top ones always cached), and is short enough to
 * read in one sitting.  Its price is the array: it lives in the core's
 * struct while it fits (TIMER_HEAP_MIN slots), so most cores never
 * allocate, and beyond that doubles with kmalloc (and halves as timers
 * go), which is the only way timer_start can fail.
 *
 * The loop knows nothing of timers: timer_init registers two hooks.
 * timer_boundary runs at every event boundary and fires what is due, at
 * most EVENT_BATCH timers at a time so that events still get their
 * turn; each fired timer's function is called right there, between two
 * events, which makes it an event of its own (no record to allocate, so
 * firing cannot fail).  timer_deadline, the idle hook, gives the loop
 * the earliest deadline to sleep until.
 */
#include <errno.h>
#include <string.h>

#include "kernel/malloc.h"
#include "kernel/platform.h"
#include "ebb.h"
#include "event.h"
#include "percore.h"
#include "timer.h"

/* One core's armed timers.  Per-core data: owned by its core. */
struct timer_core {
	struct timer **heap;	/* heap[1..n]; small or kmalloc'd */
	uint32_t n;		/* timers armed */
	uint32_t len;		/* slots in heap: a power of two */
	uint64_t seq;		/* next start's sequence number */
	struct timer *small[TIMER_HEAP_MIN];	/* the heap while it fits */
} PERCORE;

static struct timer_core timer_cores[NCPU];

/* Does a fire before b? */
static inline int
timer_before(const struct timer *a, const struct timer *b)
{
	return a->deadline < b->deadline ||
	    (a->deadline == b->deadline && a->seq < b->seq);
}

/* Put t at heap[i]. */
static inline void
heap_set(struct timer_core *tc, uint32_t i, struct timer *t)
{
	tc->heap[i] = t;
	t->pos = i;
}

/* Move heap[i] up while it fires before its parent. */
static void
heap_up(struct timer_core *tc, uint32_t i)
{
	struct timer *t = tc->heap[i];

	while (i > 1 && timer_before(t, tc->heap[i / 2])) {
		heap_set(tc, i, tc->heap[i / 2]);
		i /= 2;
	}
	heap_set(tc, i, t);
}

/* Move heap[i] down while a child fires before it. */
static void
heap_down(struct timer_core *tc, uint32_t i)
{
	struct timer *t = tc->heap[i];

	for (;;) {
		uint32_t c = 2 * i;
		if (c > tc->n)
			break;
		if (c < tc->n && timer_before(tc->heap[c + 1], tc->heap[c]))
			c++;			/* the earlier child */
		if (!timer_before(tc->heap[c], t))
			break;
		heap_set(tc, i, tc->heap[c]);
		i = c;
	}
	heap_set(tc, i, t);
}

/* heap[i]'s key changed: restore the heap order. */
static void
heap_fix(struct timer_core *tc, uint32_t i)
{
	if (i > 1 && timer_before(tc->heap[i], tc->heap[i / 2]))
		heap_up(tc, i);
	else
		heap_down(tc, i);
}

/* Move the heap to an array of len slots; 0, or ENOMEM (nothing moved). */
static int
heap_resize(struct timer_core *tc, uint32_t len)
{
	struct timer **h = tc->small;

	if (len > TIMER_HEAP_MIN &&
	    (h = kmalloc((size_t)len * sizeof *h)) == NULL)
		return ENOMEM;
	memcpy(h, tc->heap, ((size_t)tc->n + 1) * sizeof *h);
	if (tc->heap != tc->small)
		kfree(tc->heap);
	tc->heap = h;
	tc->len = len;
	return 0;
}

/* Take heap[i] out; shrink the array when it is mostly empty. */
static void
heap_remove(struct timer_core *tc, uint32_t i)
{
	struct timer *last = tc->heap[tc->n--];

	tc->heap[i]->pos = 0;
	if (i <= tc->n) {
		heap_set(tc, i, last);
		heap_fix(tc, i);
	}
	if (tc->len > TIMER_HEAP_MIN && tc->n < tc->len / 4)
		(void)heap_resize(tc, tc->len / 2);	/* may fail: keep it */
}

void
timer_setup(struct timer *t, void (*fn)(void *), void *arg)
{
	memset(t, 0, sizeof *t);
	t->fn = fn;
	t->arg = arg;
	t->core = -1;
}

int
timer_start_at(struct timer *t, uint64_t deadline, uint64_t period_ns)
{
	struct timer_core *tc;

	if (t->pos != 0) {			/* armed: re-key it in place */
		percore_check(t->core, "timer_start");
		tc = ebb_rep(EBB_TIMERS);		/* t's core is this one */
		t->deadline = deadline;
		t->period = period_ns;
		t->seq = tc->seq++;
		heap_fix(tc, t->pos);
		return 0;
	}
	tc = ebb_rep(EBB_TIMERS);		/* this core's timers */
	if (tc->n + 1 == tc->len &&		/* full: double it */
	    (tc->len == TIMER_MAX + 1 || heap_resize(tc, 2 * tc->len) != 0))
		return ENOMEM;
	t->deadline = deadline;
	t->period = period_ns;
	t->seq = tc->seq++;
	t->core = core_id();
	heap_set(tc, ++tc->n, t);
	heap_up(tc, tc->n);
	return 0;
}

int
timer_start(struct timer *t, uint64_t delay_ns, uint64_t period_ns)
{
	return timer_start_at(t, clock_ns() + delay_ns, period_ns);
}

void
timer_stop(struct timer *t)
{
	if (t->pos == 0)
		return;
	percore_check(t->core, "timer_stop");
	heap_remove(ebb_rep(EBB_TIMERS), t->pos);
}

int
timer_count(void)
{
	return (int)((struct timer_core *)ebb_rep(EBB_TIMERS))->n;
}

/* Fire heap[1], which is due at now: take it out or re-arm it; call it. */
static void
timer_fire(struct timer_core *tc, uint64_t now)
{
	struct timer *t = tc->heap[1];

	if (t->period == 0) {
		heap_remove(tc, 1);
	} else {
		t->deadline += t->period;
		if (t->deadline <= now)		/* fell behind: skip ahead */
			t->deadline += ((now - t->deadline) / t->period + 1) *
			    t->period;
		t->seq = tc->seq++;
		heap_down(tc, 1);
	}
	t->fn(t->arg);
}

/* The boundary hook: fire up to EVENT_BATCH due timers; did any fire? */
static int
timer_boundary(void)
{
	struct timer_core *tc = ebb_rep(EBB_TIMERS);
	uint64_t now;
	int k;

	if (tc->n == 0)
		return 0;		/* the common case: no clock read */
	now = clock_ns();
	for (k = 0; k < EVENT_BATCH && tc->n > 0; k++) {
		if (tc->heap[1]->deadline > now)
			break;
		timer_fire(tc, now);
	}
	return k > 0;
}

/* The idle hook: the earliest deadline (never 0, which means none). */
static uint64_t
timer_deadline(void)
{
	struct timer_core *tc = ebb_rep(EBB_TIMERS);

	if (tc->n == 0)
		return 0;
	return tc->heap[1]->deadline ? tc->heap[1]->deadline : 1;
}

/* EBB_TIMERS's rep on core c: its timers. */
static void *
timer_rep_of(int c)
{
	return &timer_cores[c];
}

static struct ebb_percore timers_root = EBB_PERCORE(timer_rep_of);

void
timer_init(void)
{
	if (ebb_bind(EBB_TIMERS, &timers_root.root) != 0)
		panic("timer_init: cannot bind EBB_TIMERS (called twice?)");
	for (int c = 0; c < NCPU; c++) {
		timer_cores[c].heap = timer_cores[c].small;
		timer_cores[c].len = TIMER_HEAP_MIN;
	}
	event_hook_boundary(timer_boundary);
	event_hook_idle(timer_deadline);
}
