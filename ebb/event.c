/*
 * event.c: the event loops, one per core (see event.h).  Portable.
 *
 * Each core owns a struct event_core.  Its local queue is a plain FIFO
 * list that only its core touches: spawn appends, the loop takes from
 * the front, no lock and no atomics.  Other cores cannot touch that
 * list, so each core also has a remote queue, the one field other cores
 * write: a lock-free stack of event records (a Treiber stack).  Senders
 * push with compare-and-swap; the owner takes the whole stack at once
 * with an exchange and reverses it into sending order, then appends it
 * to the local queue.  Because the owner only ever takes everything,
 * never one record, the stack has no ABA problem: a sender's CAS can
 * only succeed on a top it has read, and the records below a top are
 * never changed while they are in the stack.
 *
 * Sleeping and waking.  A core with nothing to do calls core_sleep; a
 * sender must then wake it with core_wake, which costs a system call
 * (hosted) or an IPI (native), so senders wake only cores that sleep.
 * That is the Dekker pattern, on two variables:
 *
 *	sleeper (owner of c)			sender
 *	c->sleeping = 1				push e onto c->remote
 *	fence (seq_cst)				fence (seq_cst)
 *	if c->remote is empty: core_sleep	if c->sleeping: core_wake(c)
 *
 * Without the fences, each side's load could be satisfied before its own
 * store is visible to the other (x86 does exactly that through its store
 * buffer), and both could miss: the sleeper sleeps on a queue holding
 * e, and nobody wakes it.  With them, the two fences are ordered one
 * way or the other in the single total order of seq_cst operations,
 * and whichever comes second sees the first side's store: the sleeper
 * sees e and does not sleep, or the sender sees sleeping and wakes it.
 * A wake that arrives before the sleeper has actually called core_sleep
 * is not lost either: platform.h promises that core_wake makes the next
 * core_sleep return at once.
 *
 * Event records are 32 bytes from a slab cache of their own: a spawn is
 * a pop from this core's slab array, a dispatch a push back onto it.
 * A record is freed just before its function runs, so the function's own
 * spawns reuse it while it is still in the cache.  A record the caller
 * owns (spawn_on_record: inside an event_ctx, a future's waiter) is never
 * freed by the loop, so sending it cannot fail.
 *
 * The event manager is an Ebb with a static id, EBB_EVENTS, whose rep on
 * each core is that core's struct event_core: every function here and
 * in block.c finds its own core's loop through the Ebb translation
 * table (ebb_rep: one load, as cheap as indexing an array by core_id),
 * and another core's (spawn_on's target) through the Ebb's root,
 * event_rep_of.  The array behind them is this file's alone.
 *
 * Runs.  event_run starts the other cores once (cores_start), each in
 * event_ap_entry; event_stop sets run.stop and wakes every core; each
 * loop returns at its next event boundary; the other cores count
 * themselves out (run.left) and park until core 0 starts the next round
 * (run.round).  So when event_run returns, no core is running an event
 * (tests rely on that to check counts and leaks).
 */
#include <errno.h>
#include <stddef.h>
#include <sys/queue.h>

#include "kernel/malloc.h"
#include "kernel/page.h"
#include "kernel/platform.h"
#include "kernel/slab.h"
#include "ebb.h"
#include "event.h"
#include "loop.h"
#include "percore.h"

static struct event_core event_cores[NCPU];	/* the reps: each core's loop, owned by it */
static struct slab_cache *event_cache;

/* The hooks: written before the other cores start, read-only after. */
static int (*boundary_hooks[EVENT_HOOKS_MAX])(void);
static uint64_t (*idle_hooks[EVENT_HOOKS_MAX])(void);
static void (*sleep_hooks[EVENT_HOOKS_MAX])(void);
static void (*wake_hooks[EVENT_HOOKS_MAX])(void);
static int nboundary, nidle, nsleep;

/*
 * The state of the runs, shared by every core.  stop is read by every
 * loop at every event boundary, so it sits on a line of its own that is
 * written only when a run starts or stops.
 */
static struct {
	int stop;		/* a run is stopping: loops return */
	int status;		/* event_stop's status, for event_run */
	int left;		/* other cores that have left their loop */
	unsigned round;		/* core 0 increments it to start a new run */
	int started;		/* cores_start has been called (core 0 only) */
} run PERCORE;

/* EBB_EVENTS's rep on core c: its loop. */
static void *
event_rep_of(int c)
{
	return &event_cores[c];
}

static struct ebb_percore events_root = EBB_PERCORE(event_rep_of);

void
event_init(void)
{
	percore_check(0, "event_init");
	if (ebb_bind(EBB_EVENTS, &events_root.root) != 0)
		panic("event_init: cannot bind EBB_EVENTS (called twice?)");
	event_cache = slab_cache_create("event", sizeof(struct event), 8);
	if (event_cache == NULL)
		panic("event_init: no memory for the event cache");
	for (int c = 0; c < NCPU; c++) {
		STAILQ_INIT(&event_cores[c].queue);
		TAILQ_INIT(&event_cores[c].idle);
		event_cores[c].cur = &event_cores[c].base;
	}
}

/* An event record for fn(arg), or NULL (counted) if memory ran out. */
static struct event *
event_new(struct event_core *me, void (*fn)(void *), void *arg)
{
	struct event *e = slab_alloc(event_cache);

	if (__builtin_expect(e == NULL, 0)) {
		me->nnomem++;
		return NULL;
	}
	e->fn = fn;
	e->arg = arg;
	e->owned = 0;
	return e;
}

/* Free a record: slab_free's fast path, with the page found inline. */
static inline void
event_free(struct event *e)
{
	struct page *pg = page_of(e);

	slab_free_in(pg - pg->head, e);
}

int
spawn(void (*fn)(void *), void *arg)
{
	struct event_core *me = ebb_rep(EBB_EVENTS);	/* this core's loop */
	struct event *e = event_new(me, fn, arg);

	if (e == NULL)
		return ENOMEM;
	STAILQ_INSERT_TAIL(&me->queue, e, link);
	return 0;
}

/*
 * Push e onto core c's remote stack and wake c if it sleeps (c is not
 * this core).
 */
static void
event_send(struct event_core *me, int c, struct event *e)
{
	struct event_core *to = event_rep_of(c);
	struct event *top;

	/*
	 * Push e.  Release on success: the writes to e (fn, arg, and the
	 * link to the old top) happen before e is visible on the stack, so
	 * the owner, whose exchange is an acquire, sees them complete.  A
	 * failed CAS loads the new top into top (relaxed: we only retry).
	 */
	top = __atomic_load_n(&to->remote, __ATOMIC_RELAXED);
	do {
		STAILQ_NEXT(e, link) = top;
	} while (!__atomic_compare_exchange_n(&to->remote, &top, e, 1,
	    __ATOMIC_RELEASE, __ATOMIC_RELAXED));

	/*
	 * Dekker, the sender's half (see the top of this file): the push
	 * above is ordered before the load of sleeping below, so either
	 * this load sees the owner's sleeping = 1, or the owner's check of
	 * remote, after its own fence, sees e.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&to->sleeping, __ATOMIC_RELAXED)) {
		me->nwakes++;
		core_wake(c);
	}
}

int
spawn_on(int c, void (*fn)(void *), void *arg)
{
	struct event_core *me;
	struct event *e;

	if (c == core_id())
		return spawn(fn, arg);
	if (c < 0 || c >= core_count())
		panic("spawn_on: no core %d (%d cores)", c, core_count());
	me = ebb_rep(EBB_EVENTS);
	if ((e = event_new(me, fn, arg)) == NULL)
		return ENOMEM;
	event_send(me, c, e);
	return 0;
}

void
spawn_on_record(int c, struct event *e, void (*fn)(void *), void *arg)
{
	struct event_core *me = ebb_rep(EBB_EVENTS);

	if (c < 0 || c >= core_count())
		panic("spawn_on_record: no core %d (%d cores)", c, core_count());
	e->fn = fn;
	e->arg = arg;
	e->owned = 1;
	if (c == core_id())
		STAILQ_INSERT_TAIL(&me->queue, e, link);
	else
		event_send(me, c, e);
}

/* Move what other cores sent to the end of the local queue, in order. */
static void
event_take_remote(struct event_core *me)
{
	struct event_list sent = STAILQ_HEAD_INITIALIZER(sent);
	struct event *e, *next;

	/* A plain load first: while nothing is sent, no atomic write. */
	if (__atomic_load_n(&me->remote, __ATOMIC_RELAXED) == NULL)
		return;
	/*
	 * Take the whole stack.  Acquire: pairs with the senders' release
	 * CAS, so every record's fields are visible before we read them.
	 */
	e = __atomic_exchange_n(&me->remote, NULL, __ATOMIC_ACQUIRE);
	for (; e != NULL; e = next) {	/* newest first: reverse it */
		next = STAILQ_NEXT(e, link);
		STAILQ_INSERT_HEAD(&sent, e, link);
		me->nremote++;
	}
	STAILQ_CONCAT(&me->queue, &sent);
}

/* Has a run been asked to stop?  Relaxed: event_stop also wakes us. */
static inline int
event_stopping(void)
{
	return __atomic_load_n(&run.stop, __ATOMIC_RELAXED);
}

/* Run up to EVENT_BATCH local events; how many ran. */
static int
event_run_batch(struct event_core *me)
{
	struct event *e;
	int n = 0;

	while (n < EVENT_BATCH && (e = STAILQ_FIRST(&me->queue)) != NULL) {
		void (*fn)(void *) = e->fn;
		void *arg = e->arg;

		STAILQ_REMOVE_HEAD(&me->queue, link);
		if (!e->owned)
			event_free(e);	/* before fn: its spawns reuse e */
		me->nrun++;		/* before fn too: fn may block, and this
					 * frame may never run again */
		fn(arg);
		n++;
		if (event_stopping())
			break;
	}
	return n;
}

/* The boundary hooks; nonzero if any did work. */
static int
event_boundary(struct event_core *me)
{
	int work = 0;

	me->in_hook = 1;
	for (int i = 0; i < nboundary; i++)
		work |= boundary_hooks[i]();
	me->in_hook = 0;
	return work;
}

/* The idle handlers of this core; nonzero if any found work. */
static int
event_idle(struct event_core *me)
{
	struct event_idle *h, *next;
	int work = 0;

	me->in_hook = 1;
	for (h = TAILQ_FIRST(&me->idle); h != NULL; h = next) {
		next = TAILQ_NEXT(h, link);	/* h may remove itself */
		work |= h->fn(h->arg);
	}
	me->in_hook = 0;
	return work;
}

/* The earliest deadline the idle hooks ask for; 0 if none. */
static uint64_t
event_deadline(struct event_core *me)
{
	uint64_t deadline = 0;

	me->in_hook = 1;
	for (int i = 0; i < nidle; i++) {
		uint64_t d = idle_hooks[i]();
		if (d != 0 && (deadline == 0 || d < deadline))
			deadline = d;
	}
	me->in_hook = 0;
	return deadline;
}

/* Sleep until woken or the idle hooks' deadline, unless work arrived. */
static void
event_sleep(struct event_core *me)
{
	uint64_t deadline = event_deadline(me);

	if (deadline != 0 && deadline <= clock_ns())
		return;			/* a deadline passed: go round */
	for (int i = 0; i < nsleep; i++)
		sleep_hooks[i]();
	__atomic_store_n(&me->sleeping, 1, __ATOMIC_RELAXED);
	/*
	 * Dekker, the sleeper's half (see the top of this file): the store
	 * of sleeping above is ordered before the load of remote below.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&me->remote, __ATOMIC_RELAXED) == NULL &&
	    STAILQ_EMPTY(&me->queue) && !event_stopping()) {
		uint64_t t0 = clock_ns();
		me->nsleeps++;
		core_sleep(deadline);
		/* Relaxed: a statistic; event_stats reads it from any core whole. */
		__atomic_store_n(&me->idle_ns, me->idle_ns + (clock_ns() - t0), __ATOMIC_RELAXED);
	}
	/* Relaxed: a sender that still sees 1 only wakes us needlessly. */
	__atomic_store_n(&me->sleeping, 0, __ATOMIC_RELAXED);
	for (int i = 0; i < nsleep; i++)
		wake_hooks[i]();
}

/* This core's loop, until a run stops. */
void
event_loop(void)
{
	struct event_core *me = ebb_rep(EBB_EVENTS);

	for (;;) {
		event_take_remote(me);
		int work = event_run_batch(me);
		work |= event_boundary(me);
		if (event_stopping())
			return;
		if (work || event_idle(me))
			continue;
		irq_poll();		/* interrupts' handlers may spawn */
		if (STAILQ_EMPTY(&me->queue))
			event_sleep(me);
	}
}

/*
 * Cores 1 .. core_count()-1: a loop per run, parked between runs.  Any
 * loop instance of the core may be the one that goes on here.
 */
void
event_ap_loop(struct event_core *me)
{
	for (;;) {
		event_loop();
		/*
		 * Count ourselves out.  Release: everything this core did in
		 * the run (its events' writes, its frees) happens before core
		 * 0's acquire of left, and so before event_run returns.
		 */
		__atomic_add_fetch(&run.left, 1, __ATOMIC_RELEASE);
		core_wake(0);
		/* Park.  Acquire: pairs with core 0's release of round. */
		while (__atomic_load_n(&run.round, __ATOMIC_ACQUIRE) == me->round)
			core_sleep(0);
		me->round++;
	}
}

/* Cores 1 .. core_count()-1 start here. */
static void
event_ap_entry(void)
{
	struct event_core *me = ebb_rep(EBB_EVENTS);

	/* Acquire: what core 0 set up before this run is visible. */
	me->round = __atomic_load_n(&run.round, __ATOMIC_ACQUIRE);
	event_ap_loop(me);
}

/* Core 0, after its loop returned: wait for the others to leave theirs. */
static void
event_gather(void)
{
	int others = core_count() - 1;

	/* Acquire: pairs with each core's release of left. */
	while (__atomic_load_n(&run.left, __ATOMIC_ACQUIRE) != others)
		core_sleep(0);
	/* The next run's release of round publishes both (event_release). */
	run.left = 0;
	__atomic_store_n(&run.stop, 0, __ATOMIC_RELAXED);
}

/* Core 0, before a run other than the first: unpark the other cores. */
static void
event_release(void)
{
	/* Release: left = 0 and stop = 0 (event_gather) are seen first. */
	__atomic_add_fetch(&run.round, 1, __ATOMIC_RELEASE);
	for (int c = 1; c < core_count(); c++)
		core_wake(c);
}

/* The status of the run that is stopping (block.c's loop_entry). */
int
event_run_status(void)
{
	return run.status;
}

int
event_run(void (*first)(void *), void *arg)
{
	percore_check(0, "event_run");
	if (spawn(first, arg) != 0)
		panic("event_run: no memory for the first event");
	if (!run.started) {
		run.started = 1;
		cores_start(event_ap_entry);	/* returns once all are in */
	} else {
		event_release();
	}
	event_loop();
	event_gather();
	return run.status;
}

void
event_stop(int status)
{
	int zero = 0;

	/*
	 * The first stop wins.  Its status is written after the CAS but is
	 * read by core 0 only after this core has left its loop (run.left,
	 * release/acquire), or later in program order if this is core 0.
	 */
	if (!__atomic_compare_exchange_n(&run.stop, &zero, 1, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	run.status = status;
	for (int c = 0; c < core_count(); c++)
		core_wake(c);		/* sleeping loops must see stop */
}

struct event_idle *
event_idle_add(int (*fn)(void *), void *arg)
{
	struct event_core *me = ebb_rep(EBB_EVENTS);
	struct event_idle *h = kmalloc(sizeof *h);

	if (h == NULL)
		return NULL;
	h->fn = fn;
	h->arg = arg;
	h->core = core_id();
	TAILQ_INSERT_TAIL(&me->idle, h, link);
	return h;
}

void
event_idle_remove(struct event_idle *h)
{
	struct event_core *me = ebb_rep(EBB_EVENTS);

	percore_check(h->core, "event_idle_remove");
	TAILQ_REMOVE(&me->idle, h, link);
	kfree(h);
}

void
event_hook_boundary(int (*fn)(void))
{
	if (run.started || nboundary == EVENT_HOOKS_MAX)
		panic("event_hook_boundary: too late or too many");
	boundary_hooks[nboundary++] = fn;
}

void
event_hook_idle(uint64_t (*fn)(void))
{
	if (run.started || nidle == EVENT_HOOKS_MAX)
		panic("event_hook_idle: too late or too many");
	idle_hooks[nidle++] = fn;
}

void
event_hook_sleep(void (*sleep)(void), void (*wake)(void))
{
	if (run.started || nsleep == EVENT_HOOKS_MAX)
		panic("event_hook_sleep: too late or too many");
	sleep_hooks[nsleep] = sleep;
	wake_hooks[nsleep++] = wake;
}

void
event_stats(int c, struct event_stats *st)
{
	struct event_core *ec = event_rep_of(c);

	st->run = ec->nrun;
	st->remote = ec->nremote;
	st->sleeps = ec->nsleeps;
	st->idle_ns = __atomic_load_n(&ec->idle_ns, __ATOMIC_RELAXED);
	st->wakes = ec->nwakes;
	st->nomem = ec->nnomem;
	st->blocks = ec->nblocks;
	st->loops = ec->nloops;
}
