/*
 * test_event.c: the event loops (ebb/event.c), hosted, on NCORES
 * pretend cores (threads that cores_start makes on the first event_run).
 *
 * Every test is one or more runs: event_run queues a first event on
 * core 0, the loops run until some event calls event_stop, and event_run
 * returns only when every core has left its loop, so the test can then
 * look at what the events recorded without racing them.  Every test
 * begins with test_leak_start and ends with test_leak_check (testlib.c):
 * no timer armed, no event record in use, and after every core has
 * given its slab arrays back (a reap run), the page allocator has the
 * free pages it had when the test began.
 *
 * A lost wake-up would hang a run, so the tests that depend on wake-ups
 * run a watchdog on core 0 (a periodic timer) that fails the test and
 * stops the run when no progress is made for a second.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ebb/event.h"
#include "ebb/timer.h"
#include "hosted/hosted.h"
#include "kernel/page.h"
#include "test.h"

#define NCORES		4
#define PER_PAIR	100000		/* all_to_all: events per (sender, receiver) */
#define CHUNK		1000		/* ... sent per producer event */

/* The runtime, once per process: NCORES cores, the loops and timers. */
static void
setup(void)
{
	test_setup(NCORES, 0, TEST_EVENTS);
}

/* ---- the watchdog ------------------------------------------------------ */

static long *progress;		/* a counter the test's events bump (atomic) */
static long seen;		/* the watchdog's last look at it */
static int stalls;		/* consecutive looks without progress */
static int stalled;		/* the watchdog gave up */
static struct timer dog;

static void
watchdog(void *unused)
{
	long now = __atomic_load_n(progress, __ATOMIC_RELAXED);

	(void)unused;
	if (now != seen) {
		seen = now;
		stalls = 0;
	} else if (++stalls == 10) {	/* a second without progress */
		stalled = 1;
		event_stop(1);
	}
}

/* Start the watchdog on counter (core 0, in an event). */
static void
watchdog_start(long *counter)
{
	progress = counter;
	seen = stalls = stalled = 0;
	timer_setup(&dog, watchdog, NULL);
	CHECK_EQ(timer_start(&dog, 100 * TIMER_MS, 100 * TIMER_MS), 0);
}

/* ---- FIFO on one core -------------------------------------------------- */

#define FIFO_N	10000
static long fifo_next;

static void
fifo_check(void *arg)
{
	CHECK_EQ((long)arg, fifo_next);
	fifo_next++;
	if (fifo_next == FIFO_N)
		event_stop(0);
}

/* Half the events queued before this one, the rest now. */
static void
fifo_first(void *unused)
{
	(void)unused;
	for (long i = FIFO_N / 2; i < FIFO_N; i++)
		CHECK_EQ(spawn(fifo_check, (void *)i), 0);
}

TEST(fifo_local)
{
	struct test_leaks start = test_leak_start(NCORES);

	fifo_next = 0;
	for (long i = 0; i < FIFO_N / 2; i++)	/* outside a run: queued */
		CHECK_EQ(spawn(fifo_check, (void *)i), 0);
	CHECK_EQ(event_run(fifo_first, NULL), 0);
	CHECK_EQ(fifo_next, FIFO_N);
	test_leak_check(start);
}

/* ---- every core to every core ------------------------------------------ */

static long sent[NCORES];		/* per sender, per receiver: sent so far */
static long expect[NCORES][NCORES];	/* [receiver][sender]: next sequence */
static long received;			/* over all (atomic) */

/* Receive sequence number seq from sender s, in order. */
static void
a2a_receive(void *arg)
{
	long v = (long)arg, s = v >> 32, seq = v & 0xffffffff;
	int me = core_id();

	if (seq != expect[me][s])
		CHECK_EQ(seq, expect[me][s]);
	expect[me][s] = seq + 1;
	if (__atomic_add_fetch(&received, 1, __ATOMIC_RELAXED) ==
	    (long)NCORES * NCORES * PER_PAIR)
		event_stop(0);
}

/* Send the next CHUNK to every core, then queue ourselves again. */
static void
a2a_produce(void *unused)
{
	int me = core_id();
	long n = sent[me];

	(void)unused;
	for (long k = 0; k < CHUNK && n < PER_PAIR; k++, n++)
		for (int c = 0; c < NCORES; c++)
			if (spawn_on(c, a2a_receive, (void *)(((long)me << 32) | n)) != 0)
				CHECK(!"spawn_on failed");
	sent[me] = n;
	if (n < PER_PAIR)
		CHECK_EQ(spawn(a2a_produce, NULL), 0);
}

static void
a2a_first(void *unused)
{
	(void)unused;
	watchdog_start(&received);
	for (int c = 0; c < NCORES; c++)
		CHECK_EQ(spawn_on(c, a2a_produce, NULL), 0);
}

TEST(all_to_all_exact_counts)
{
	struct test_leaks start = test_leak_start(NCORES);
	struct event_stats st;
	uint64_t run0 = 0, run1 = 0, nomem = 0;

	for (int c = 0; c < NCORES; c++) {
		event_stats(c, &st);
		run0 += st.run;
	}
	memset(sent, 0, sizeof sent);
	memset(expect, 0, sizeof expect);
	received = 0;
	CHECK_EQ(event_run(a2a_first, NULL), 0);
	timer_stop(&dog);
	CHECK(!stalled);
	CHECK_EQ(received, (long)NCORES * NCORES * PER_PAIR);
	for (int r = 0; r < NCORES; r++)
		for (int s = 0; s < NCORES; s++)
			CHECK_EQ(expect[r][s], PER_PAIR);
	for (int c = 0; c < NCORES; c++) {
		event_stats(c, &st);
		run1 += st.run;
		nomem += st.nomem;
	}
	/* the receives, the producers' turns, the first event */
	CHECK_EQ(run1 - run0, (long)NCORES * NCORES * PER_PAIR +
	    NCORES * (PER_PAIR / CHUNK) + 1);
	CHECK_EQ(nomem, 0);
	test_leak_check(start);
}

/* ---- wake-ups are never lost -------------------------------------------- */

#define HOPS	100000		/* per token */
#define TOKENS	3
static long hops[TOKENS];
static long hopped;		/* hops so far, all tokens (atomic) */

/*
 * A token goes round cores 1 -> 2 -> 3 -> 1 ...; the receiver of each
 * hop has usually gone to sleep since the last, so every hop is a race
 * between its sleep and the sender's wake.
 */
static void
hop(void *arg)
{
	long t = (long)arg;
	int next = core_id() % (NCORES - 1) + 1;

	__atomic_add_fetch(&hopped, 1, __ATOMIC_RELAXED);
	if (++hops[t] == HOPS) {
		if (__atomic_add_fetch(&received, 1, __ATOMIC_ACQ_REL) == TOKENS)
			event_stop(0);
		return;
	}
	if (spawn_on(next, hop, arg) != 0)
		CHECK(!"spawn_on failed");
}

static void
hop_first(void *unused)
{
	(void)unused;
	watchdog_start(&hopped);
	for (long t = 0; t < TOKENS; t++)
		CHECK_EQ(spawn_on(1 + t % (NCORES - 1), hop, (void *)t), 0);
}

TEST(wakeups_never_lost)
{
	struct test_leaks start = test_leak_start(NCORES);
	struct event_stats before[NCORES], after;
	uint64_t sleeps = 0, wakes = 0;

	for (int c = 0; c < NCORES; c++)
		event_stats(c, &before[c]);
	memset(hops, 0, sizeof hops);
	received = hopped = 0;
	CHECK_EQ(event_run(hop_first, NULL), 0);
	timer_stop(&dog);
	CHECK(!stalled);
	for (long t = 0; t < TOKENS; t++)
		CHECK_EQ(hops[t], HOPS);
	for (int c = 1; c < NCORES; c++) {
		event_stats(c, &after);
		sleeps += after.sleeps - before[c].sleeps;
		wakes += after.wakes - before[c].wakes;
	}
	/* The race really was run: the cores slept and were woken. */
	CHECK(sleeps > 0);
	CHECK(wakes > 0);
	test_leak_check(start);
}

/*
 * The same race, forced every time.  Core 1's idle handler runs after
 * its loop has taken its remote queue and before it publishes that it
 * sleeps; there it asks core 2 to send it an event and waits until core
 * 2 has.  Core 2 saw core 1 awake, so it sent no wake: core 1 must find
 * the event in its last check before sleeping, or sleep on it forever.
 */
#define WINDOWS	10000
static int window_ask, window_sent;	/* core 1 <-> core 2 (atomic) */
static long windows;			/* window_target runs (core 1) */
static struct event_idle *wh1, *wh2;

static void
window_finish(void *unused)		/* core 2 */
{
	(void)unused;
	event_idle_remove(wh2);
	event_stop(0);
}

static void
window_target(void *unused)		/* core 1 */
{
	(void)unused;
	if (++windows == WINDOWS) {
		event_idle_remove(wh1);
		CHECK_EQ(spawn_on(2, window_finish, NULL), 0);
	}
}

static int
window1(void *unused)			/* core 1, about to sleep */
{
	(void)unused;
	/* Release/acquire: a plain handshake between two spinning cores. */
	__atomic_store_n(&window_ask, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&window_sent, __ATOMIC_ACQUIRE))
		sched_yield();		/* core 2 may share our CPU */
	__atomic_store_n(&window_sent, 0, __ATOMIC_RELAXED);
	return 0;			/* "nothing to do": go and sleep */
}

static int
window2(void *unused)			/* core 2, polling */
{
	(void)unused;
	if (__atomic_exchange_n(&window_ask, 0, __ATOMIC_ACQUIRE)) {
		CHECK_EQ(spawn_on(1, window_target, NULL), 0);
		__atomic_store_n(&window_sent, 1, __ATOMIC_RELEASE);
	} else {
		sched_yield();		/* core 1 may share our CPU */
	}
	return 1;			/* busy: never sleep */
}

static void
window_add1(void *unused)
{
	(void)unused;
	CHECK((wh1 = event_idle_add(window1, NULL)) != NULL);
}

static void
window_add2(void *unused)
{
	(void)unused;
	CHECK((wh2 = event_idle_add(window2, NULL)) != NULL);
	CHECK_EQ(spawn_on(1, window_add1, NULL), 0);
}

static void
window_first(void *unused)
{
	(void)unused;
	watchdog_start(&windows);
	CHECK_EQ(spawn_on(2, window_add2, NULL), 0);
}

TEST(wakeup_in_the_window)
{
	struct test_leaks start = test_leak_start(NCORES);

	windows = window_ask = window_sent = 0;
	CHECK_EQ(event_run(window_first, NULL), 0);
	timer_stop(&dog);
	CHECK(!stalled);
	CHECK_EQ(windows, WINDOWS);
	test_leak_check(start);
}

/* ---- idle handlers ------------------------------------------------------ */

#define CHAIN	1000
static long chain;		/* links of the chain run so far */
static long chain_at_idle;	/* chain when core 0's idle handler first ran */
static int idle_calls[NCORES];
static char order[8];		/* core 2: the first calls of handlers a, b */
static int norder;
static struct event_idle *h0, *h1, *h2a, *h2b;

/* A chain of events, each queueing the next: the queue is never empty. */
static void
link_(void *unused)
{
	(void)unused;
	if (++chain < CHAIN)
		CHECK_EQ(spawn(link_, NULL), 0);
}

/*
 * Core 2: two handlers run in the order added; a says it found work
 * (so the core does not sleep) until its 100th call, when both go.
 */
static int
idle2a(void *unused)
{
	(void)unused;
	if (norder < (int)sizeof order)
		order[norder++] = 'a';
	if (++idle_calls[2] < 100)
		return 1;
	event_idle_remove(h2a);		/* a handler may remove itself */
	return 0;
}

static int
idle2b(void *unused)
{
	(void)unused;
	if (norder < (int)sizeof order)
		order[norder++] = 'b';
	if (idle_calls[2] == 100) {
		event_idle_remove(h2b);
		event_stop(0);
	}
	return 0;
}

static void
idle2_add(void *unused)
{
	(void)unused;
	h2a = event_idle_add(idle2a, NULL);
	h2b = event_idle_add(idle2b, NULL);
	CHECK(h2a != NULL && h2b != NULL);
}

/* Core 1: keeps its core awake (found work) 1000 times, then hands on. */
static int
idle1(void *unused)
{
	(void)unused;
	if (++idle_calls[1] < 1000)
		return 1;
	event_idle_remove(h1);
	CHECK_EQ(spawn_on(2, idle2_add, NULL), 0);
	return 0;
}

static void
idle1_add(void *unused)
{
	(void)unused;
	CHECK((h1 = event_idle_add(idle1, NULL)) != NULL);
}

/* Core 0: runs only once the chain is over. */
static int
idle0(void *unused)
{
	(void)unused;
	idle_calls[0]++;
	chain_at_idle = chain;
	event_idle_remove(h0);
	CHECK_EQ(spawn_on(1, idle1_add, NULL), 0);
	return 0;
}

static void
idle_first(void *unused)
{
	(void)unused;
	CHECK((h0 = event_idle_add(idle0, NULL)) != NULL);
	CHECK_EQ(spawn(link_, NULL), 0);
}

TEST(idle_handlers)
{
	struct test_leaks start = test_leak_start(NCORES);

	chain = chain_at_idle = norder = 0;
	memset(idle_calls, 0, sizeof idle_calls);
	CHECK_EQ(event_run(idle_first, NULL), 0);
	CHECK_EQ(idle_calls[0], 1);
	CHECK_EQ(chain_at_idle, CHAIN);		/* not before the queue emptied */
	CHECK_EQ(idle_calls[1], 1000);
	CHECK_EQ(idle_calls[2], 100);
	CHECK(norder >= 4 && memcmp(order, "abab", 4) == 0);
	test_leak_check(start);
}

/* ---- runs: stopping, restarting, statuses ------------------------------- */

static int parked_ran;

static void
parked(void *unused)
{
	(void)unused;
	CHECK_EQ(core_id(), 3);
	parked_ran++;
	event_stop(7);
}

static void
stop_twice(void *unused)
{
	(void)unused;
	event_stop(5);
	event_stop(6);		/* ignored: the first stop wins */
}

static void
nothing(void *unused)
{
	(void)unused;
}

TEST(runs_stop_and_restart)
{
	struct test_leaks start = test_leak_start(NCORES);

	CHECK_EQ(event_run(stop_twice, NULL), 5);
	/* Queued on a parked core between runs: runs in the next run. */
	parked_ran = 0;
	CHECK_EQ(spawn_on(3, parked, NULL), 0);
	CHECK_EQ(parked_ran, 0);
	CHECK_EQ(event_run(nothing, NULL), 7);
	CHECK_EQ(parked_ran, 1);
	test_leak_check(start);
}

/* ---- running out of memory ---------------------------------------------- */

static long nomem_ran;

static void
nomem_count(void *unused)
{
	(void)unused;
	nomem_ran++;
}

static void
stop0(void *unused)
{
	(void)unused;
	event_stop(0);
}

TEST(spawn_without_memory)
{
	struct test_leaks start = test_leak_start(NCORES);
	struct event_stats before, after;
	void *pages = NULL, *p;
	long queued = 0;
	int err;

	event_stats(0, &before);
	while ((p = page_alloc(0)) != NULL) {	/* take every page */
		*(void **)p = pages;
		pages = p;
	}
	while ((err = spawn(nomem_count, NULL)) == 0)
		queued++;
	CHECK_EQ(err, ENOMEM);
	CHECK_EQ(spawn_on(1, nomem_count, NULL), ENOMEM);
	event_stats(0, &after);
	CHECK_EQ(after.nomem - before.nomem, 2);
	while (pages != NULL) {			/* give them back */
		p = pages;
		pages = *(void **)p;
		page_free(p, 0);
	}
	nomem_ran = 0;
	CHECK_EQ(event_run(stop0, NULL), 0);	/* the queued ones run first */
	CHECK_EQ(nomem_ran, queued);
	test_leak_check(start);
}

/* ---- what must panic, and Ctrl-C ---------------------------------------- */

static void
spawn_on_bad_core(void)
{
	setup();
	spawn_on(NCORES, nothing, NULL);
}

static int
idle_nop(void *unused)
{
	(void)unused;
	return 0;
}

static void
idle_remove_elsewhere(void)
{
	struct event_idle *h;

	setup();
	h = event_idle_add(idle_nop, NULL);	/* core 0's */
	hosted_set_core(1);
	event_idle_remove(h);
}

TEST(death_misuse)
{
	CHECK_DEATH(spawn_on_bad_core, "panic: spawn_on: no core 4 (4 cores)");
	CHECK_DEATH(idle_remove_elsewhere,
	    "panic: event_idle_remove: core 0's data used on core 1");
}

/* An event that never ends: only a second Ctrl-C can stop it. */
static void
spin(void *unused)
{
	(void)unused;
	for (;;)
		__asm__ volatile("pause");
}

/*
 * In a child (one core, so that it needs no threads of its own): catch
 * SIGINT, run first, and send itself SIGINT `signals` times, 50 ms
 * apart, from a helper child.  The exit status of the child.
 */
static int
interrupted_status(void (*first)(void *), int signals)
{
	int status;
	pid_t pid;

	setup();
	fflush(stdout);
	if ((pid = fork()) == 0) {
		pid_t me = getpid();

		if (fork() == 0) {
			for (int i = 0; i < signals; i++) {
				usleep(50 * 1000);
				if (getppid() != me)
					break;		/* it is gone: signal nobody else */
				kill(me, SIGINT);
			}
			_exit(0);
		}
		hosted_set_core_count(1);
		hosted_catch_sigint();
		event_run(first, NULL);
		_exit(99);		/* NOTREACHED: nothing stops the run */
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ctrl_c_exits_130)
{
	CHECK_EQ(interrupted_status(nothing, 1), 130);	/* idle: the first */
	CHECK_EQ(interrupted_status(spin, 2), 130);	/* busy: the second */
}
