/*
 * smp.c: the platform's multicore primitives, exercised directly:
 * core_count, core_sleep, core_wake, irq_alloc and irq_poll
 * (kernel/platform.h); cores_start is the runtime's, before app_main.
 *
 *	make run APP=smp CPUS=4		test/boot_smp.sh boots it on 1..8 cores
 *	build/hosted/smp --cpus 4	the same on threads
 *
 * The event loop is only the way onto the other cores: app_main sends
 * each a worker (spawn_on), an event that never returns until told to,
 * and that calls core_sleep and core_wake itself, as the event loop
 * would.  (Only the event loop should; this is a test of what it stands
 * on.)  A worker counts itself in, then sleeps and serves its mailbox.
 * Meanwhile app_main, the first event on core 0, checks in order,
 * printing a line for each:
 *	- every core called in: core_count() - 1 workers are running;
 *	- wake round trips: core 0 posts a ping to core k and wakes it; k
 *	  answers and wakes core 0 back (ROUNDS times per core);
 *	- each other core sleeps SLEEP_MS with a deadline, and says how long
 *	  core_sleep took: at least SLEEP_MS, and not absurdly more;
 *	- on core 0: a wake of itself makes the next core_sleep return at
 *	  once; a deadline in the past returns at once; a 10 ms deadline
 *	  returns after 10 ms and not absurdly later;
 *	- irq_alloc hands out distinct vectors until it runs out (none on a
 *	  platform without interrupts), and irq_poll with nothing pending
 *	  runs nothing;
 * then tells the workers to return, and ends with "smp: N cores ok" and
 * status 0, or a "smp: FAIL" line and status 1.  Only core 0 prints, so
 * lines never interleave.
 *
 * A mailbox is written by core 0 (task) and by its core (done); each
 * handover is a release store read with an acquire load or swap, so what
 * one side wrote before it is visible to the other after.
 */
#include <stdio.h>

#include "ebb/event.h"
#include "ebb/runtime.h"
#include "kernel/platform.h"

#define ROUNDS		100		/* wake round trips per core */
#define SLEEP_MS	5		/* the other cores' timed sleep */
#define LATE_MS		100		/* "absurdly late": more than this past a deadline */
#define WAIT_MS		2000		/* longest core 0 waits for an answer */

#define MS		1000000ULL	/* nanoseconds in a millisecond */

enum { TASK_NONE, TASK_PING, TASK_SLEEP, TASK_QUIT };

static struct {
	int task;		/* core 0 -> core: what to do next */
	int done;		/* core -> core 0: done */
	uint64_t slept;		/* TASK_SLEEP's answer: ns core_sleep took */
} __attribute__((aligned(CACHE_LINE))) box[NCPU];

static int entered;		/* workers running */
static int failed;

static void
fail(const char *what, int core, unsigned long long v)
{
	printf("smp: FAIL %s (core %d, %llu)\n", what, core, v);
	failed = 1;
}

/* Sleep SLEEP_MS with a deadline; how long did core_sleep take? */
static uint64_t
timed_sleep(void)
{
	core_sleep(1);		/* deadline long past: takes any stale wake */
	uint64_t t0 = clock_ns();
	core_sleep(t0 + SLEEP_MS * MS);
	return clock_ns() - t0;
}

/* An event on every other core: call in, then serve the mailbox until told to quit. */
static void
worker(void *unused)
{
	int me = core_id(), t;

	(void)unused;
	__atomic_fetch_add(&entered, 1, __ATOMIC_RELEASE);
	do {
		core_sleep(0);
		t = __atomic_exchange_n(&box[me].task, TASK_NONE, __ATOMIC_ACQUIRE);
		if (t == TASK_NONE)
			continue;	/* an early return: nothing for us */
		if (t == TASK_SLEEP)
			box[me].slept = timed_sleep();
		__atomic_store_n(&box[me].done, 1, __ATOMIC_RELEASE);
		core_wake(0);
	} while (t != TASK_QUIT);
}

/* Give core c a task, wake it, and wait for its answer; returns ns, or 0 on timeout. */
static uint64_t
ask(int c, int task)
{
	uint64_t t0 = clock_ns(), limit = t0 + WAIT_MS * MS;

	__atomic_store_n(&box[c].task, task, __ATOMIC_RELEASE);
	core_wake(c);
	while (!__atomic_exchange_n(&box[c].done, 0, __ATOMIC_ACQUIRE)) {
		if (clock_ns() >= limit)
			return 0;
		core_sleep(limit);
	}
	return clock_ns() - t0;
}

/* Send every other core its worker, and wait until all are running. */
static void
check_entered(int n)
{
	uint64_t limit = clock_ns() + WAIT_MS * MS;

	for (int c = 1; c < n; c++)
		if (spawn_on(c, worker, NULL) != 0)
			fail("no memory to send a worker", c, 0);
	while (__atomic_load_n(&entered, __ATOMIC_ACQUIRE) < n - 1 && clock_ns() < limit)
		core_sleep(clock_ns() + MS);
	if (entered != n - 1)
		fail("not every other core runs a worker", 0, (unsigned long long)entered);
	else
		printf("smp: %d worker%s running\n", n - 1, n == 2 ? "" : "s");
}

static void
check_round_trips(int n)
{
	uint64_t min = ~0ULL, max = 0, total = 0;

	for (int c = 1; c < n; c++) {
		for (int i = 0; i < ROUNDS; i++) {
			uint64_t t = ask(c, TASK_PING);
			if (t == 0) {
				fail("no answer to a wake-up", c, i);
				return;
			}
			total += t;
			min = t < min ? t : min;
			max = t > max ? t : max;
		}
	}
	if (n > 1)
		printf("smp: wake round trip 0 -> k -> 0: min %llu ns, avg %llu ns, max %llu ns "
		    "(%d rounds)\n", (unsigned long long)min,
		    (unsigned long long)(total / (ROUNDS * (n - 1))), (unsigned long long)max,
		    ROUNDS * (n - 1));
}

/* Is a sleep that was meant to last want ns, and lasted got ns, right? */
static void
check_duration(const char *what, int core, uint64_t got, uint64_t want)
{
	if (got < want)
		fail(what, core, (unsigned long long)got);
	else if (got > want + LATE_MS * MS)
		fail(what, core, (unsigned long long)got);
}

static void
check_sleeps(int n)
{
	uint64_t worst = 0;

	for (int c = 1; c < n; c++) {
		if (ask(c, TASK_SLEEP) == 0) {
			fail("no answer to a sleep task", c, 0);
			return;
		}
		check_duration("timed sleep on another core", c, box[c].slept, SLEEP_MS * MS);
		worst = box[c].slept > worst ? box[c].slept : worst;
	}
	if (n > 1)
		printf("smp: %d ms sleeps on the other cores took at most %llu us\n", SLEEP_MS,
		    (unsigned long long)(worst / 1000));

	core_sleep(1);			/* take any stale wake-up */
	uint64_t t0 = clock_ns();
	core_wake(0);
	core_sleep(t0 + WAIT_MS * MS);	/* must return at once */
	uint64_t self = clock_ns() - t0;
	if (self > LATE_MS * MS)
		fail("core_sleep after core_wake of itself", 0, (unsigned long long)self);

	t0 = clock_ns();
	core_sleep(1);
	uint64_t past = clock_ns() - t0;
	if (past > LATE_MS * MS)
		fail("core_sleep with a deadline in the past", 0, (unsigned long long)past);

	t0 = clock_ns();
	core_sleep(t0 + 10 * MS);
	uint64_t ten = clock_ns() - t0;
	check_duration("10 ms core_sleep on core 0", 0, ten, 10 * MS);
	printf("smp: core 0: self-wake %llu us, past deadline %llu us, 10 ms sleep %llu us\n",
	    (unsigned long long)(self / 1000), (unsigned long long)(past / 1000),
	    (unsigned long long)(ten / 1000));
}

static int ran;

static void
never(void *arg)
{
	(void)arg;
	ran++;
}

static void
check_irq(void)
{
	int n = 0, last = -1, v;

	while ((v = irq_alloc(never, NULL)) >= 0) {
		if (v <= last)
			fail("irq_alloc gave a vector twice", 0, (unsigned long long)v);
		last = v;
		n++;
	}
	irq_poll();
	if (ran != 0)
		fail("irq_poll ran a handler with nothing pending", 0, (unsigned long long)ran);
	printf("smp: irq_alloc gave %d vectors\n", n);
}

/* ebb/runtime.h: no arguments. */
const char app_usage[] = "";

int
app_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int n = core_count();
	printf("smp: core_count %d\n", n);
	check_entered(n);
	if (!failed)
		check_round_trips(n);
	if (!failed)
		check_sleeps(n);
	check_irq();
	for (int c = 1; c < n && entered == n - 1; c++)
		if (ask(c, TASK_QUIT) == 0)
			fail("a worker did not quit", c, 0);
	if (failed)
		return 1;
	printf("smp: %d core%s ok\n", n, n == 1 ? "" : "s");
	return 0;
}
