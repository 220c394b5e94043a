/*
 * rcu.c: grace periods from event boundaries (see rcu.h).  Portable.
 *
 * Quiescent states.  Each core counts the event boundaries it passes
 * (rcu_core.qs, bumped by the loop's boundary hook), and says when it
 * sleeps (rcu_core.idle, set and cleared by the loop's sleep hooks, right
 * around core_sleep).  A core whose count has moved since some instant,
 * or that is asleep, has finished every event that was running then.
 *
 * Grace periods are numbered.  gp.started == gp.completed: none is in
 * progress; gp.started == gp.completed + 1: number `started` is, and
 * gp.snap holds every core's count at its start.  It completes once each
 * core's count differs from its snapshot or the core is asleep.  Nobody
 * drives grace periods but the cores that wait for one: a core with
 * callbacks pending tries to advance at each of its boundaries, and
 * before it sleeps asks to be woken again soon (RCU_POLL_NS).
 *
 * Callbacks.  rcu_call puts fn on this core's `next` list.  When the
 * core's `wait` list is empty, `next` becomes `wait`, tagged with the
 * first grace period that starts after now (gp_request): the one in
 * progress started too early, so then it is the one after.  When
 * gp.completed reaches the tag, the wait list runs.
 *
 * Ordering.  A writer unpublishes, then calls rcu_call; the grace
 * period's start reads the cores' counts and idle flags after a full
 * fence (gp_start), so a core seen idle or mid-event then cannot later
 * read the unpublished pointer: a waking core clears idle and fences
 * before it runs any event (rcu_wake).  Counts are stored with release
 * and read with acquire, so a core's reads in its finished events happen
 * before the callbacks that free what they read.
 *
 * Locking: gp.lock guards gp; each rcu_core's lists are its core's own.
 */
#include <errno.h>

#include "event.h"
#include "kernel/slab.h"
#include "kernel/spinlock.h"
#include "rcu.h"

#define RCU_POLL_NS	1000000		/* how soon a waiting core wakes to check */

/* What rcu_call allocates: a head, and the callback it stands for. */
struct rcu_cb {
	struct rcu_head head;
	void (*fn)(void *arg);
	void *arg;
};

/* Per core, owned by its core; qs and idle are read by the others. */
struct rcu_core {
	uint64_t qs;			/* boundaries passed (atomic) */
	int idle;			/* asleep in core_sleep (atomic) */
	struct rcu_head *next, **next_tail;	/* not yet tagged */
	struct rcu_head *wait, **wait_tail;	/* waiting for grace period wait_gp */
	uint64_t wait_gp;
} __attribute__((aligned(64)));

static struct rcu_core rc[NCPU];
static struct slab_cache *cb_cache;

static struct {
	struct spinlock lock;
	/* lock must be held when using these: */
	uint64_t started, completed;
	int again;			/* start another when this one completes */
	uint64_t snap[NCPU];		/* counts at the start of `started` */
} gp;

/* With gp.lock: start grace period started + 1. */
static void
gp_start(void)
{
	/* Seq_cst fence: the callers' unpublishing before the reads below. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	gp.started++;
	for (int c = 0; c < core_count(); c++)
		gp.snap[c] = __atomic_load_n(&rc[c].qs, __ATOMIC_ACQUIRE);
}

/* With gp.lock: the number of a grace period that starts after now. */
static uint64_t
gp_request(void)
{
	if (gp.started == gp.completed) {
		gp_start();
		return gp.started;
	}
	gp.again = 1;
	return gp.started + 1;
}

/* With gp.lock: complete the grace period in progress if every core is past it. */
static void
gp_advance(void)
{
	if (gp.started == gp.completed)
		return;
	for (int c = 0; c < core_count(); c++) {
		if (__atomic_load_n(&rc[c].qs, __ATOMIC_ACQUIRE) != gp.snap[c])
			continue;
		if (!__atomic_load_n(&rc[c].idle, __ATOMIC_SEQ_CST))
			return;		/* core c may still be in an old event */
	}
	gp.completed = gp.started;
	if (gp.again) {
		gp.again = 0;
		gp_start();
	}
}

/* Move grace periods along for this core; run its callbacks if their time has come. */
static int
rcu_work(struct rcu_core *r)
{
	struct rcu_head *cb;
	uint64_t done;

	if (r->next == NULL && r->wait == NULL)
		return 0;		/* the common case: nothing to wait for */
	spin_lock(&gp.lock);
	gp_advance();
	if (r->wait == NULL && r->next != NULL) {
		r->wait = r->next;
		r->wait_tail = r->next_tail;
		r->next = NULL;
		r->next_tail = &r->next;
		r->wait_gp = gp_request();
	}
	done = gp.completed;
	spin_unlock(&gp.lock);
	if (r->wait == NULL || done < r->wait_gp)
		return 0;
	cb = r->wait;
	r->wait = NULL;
	r->wait_tail = &r->wait;
	while (cb != NULL) {
		struct rcu_head *next = cb->next;
		cb->fn(cb);
		cb = next;
	}
	return 1;
}

/* Boundary hook: this core has finished its events so far. */
static int
rcu_boundary(void)
{
	struct rcu_core *r = &rc[core_id()];

	/* Release: this core's reads so far happen before what waits on qs. */
	__atomic_store_n(&r->qs, r->qs + 1, __ATOMIC_RELEASE);
	return rcu_work(r);
}

/* Idle hook: with callbacks waiting, come back soon to check. */
static uint64_t
rcu_idle(void)
{
	struct rcu_core *r = &rc[core_id()];

	if (rcu_work(r))
		return 1;		/* callbacks ran (and may have spawned): go round */
	return r->next != NULL || r->wait != NULL ? clock_ns() + RCU_POLL_NS : 0;
}

/* Sleep hooks: an idle core is quiescent for as long as it sleeps. */
static void
rcu_sleep(void)
{
	__atomic_store_n(&rc[core_id()].idle, 1, __ATOMIC_SEQ_CST);
}

static void
rcu_wake(void)
{
	__atomic_store_n(&rc[core_id()].idle, 0, __ATOMIC_SEQ_CST);
	/* Seq_cst fence: idle is clear before this core reads any pointer. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void
rcu_init(void)
{
	spin_init(&gp.lock, "rcu");
	for (int c = 0; c < NCPU; c++) {
		rc[c].next_tail = &rc[c].next;
		rc[c].wait_tail = &rc[c].wait;
	}
	if ((cb_cache = slab_cache_create("rcu_cb", sizeof(struct rcu_cb), 0)) == NULL)
		panic("rcu_init: no memory for the callback cache");
	event_hook_boundary(rcu_boundary);
	event_hook_idle(rcu_idle);
	event_hook_sleep(rcu_sleep, rcu_wake);
}

void
rcu_call_head(struct rcu_head *head, void (*fn)(struct rcu_head *head))
{
	struct rcu_core *r = &rc[core_id()];

	head->next = NULL;
	head->fn = fn;
	*r->next_tail = head;
	r->next_tail = &head->next;
}

/* rcu_call's callbacks: run the function, free the record. */
static void
cb_run(struct rcu_head *head)
{
	struct rcu_cb *cb = (struct rcu_cb *)head;

	cb->fn(cb->arg);
	slab_free(cb);
}

int
rcu_call(void (*fn)(void *arg), void *arg)
{
	struct rcu_cb *cb = slab_alloc(cb_cache);

	if (cb == NULL)
		return ENOMEM;
	cb->fn = fn;
	cb->arg = arg;
	rcu_call_head(&cb->head, cb_run);
	return 0;
}

uint64_t
rcu_completed(void)
{
	spin_lock(&gp.lock);
	uint64_t n = gp.completed;
	spin_unlock(&gp.lock);
	return n;
}
