/*
 * test_timer.c: the per-core timers (ebb/timer.c), hosted, on NCORES
 * pretend cores, inside event runs as in test_event.c.
 *
 * Timers fire in order of (deadline, start), so every test records what
 * fired and checks the order, the count and the core; none asserts how
 * late a timer fired, only that it never fired early.  Every test ends
 * with test_leak_check (testlib.c): no timer is left armed on any core,
 * and the heaps that grew for many timers give their arrays back as the
 * timers go.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "ebb/event.h"
#include "ebb/timer.h"
#include "hosted/hosted.h"
#include "test.h"

#define NCORES		4
#define MANY		1000000		/* timers on one core */
#define SPREAD		(20 * TIMER_MS)	/* their deadlines: within this */

/* The runtime, once per process: NCORES cores, the loops and timers. */
static void
setup(void)
{
	test_setup(NCORES, 0, TEST_EVENTS);
}

/*
 * A test timer: the timer, its index, and where its firing is recorded.
 * Firings are checked against the one before on the same core: a timer
 * must fire after (deadline, index) of the last, never before its own
 * deadline, and on the core it was armed on.
 */
struct tt {
	struct timer t;
	long i;
	int core;
	int fired;
};

static struct {
	uint64_t deadline;	/* of the last timer fired on this core */
	long i;
	long n;			/* timers fired on this core */
} last[NCORES];
static long left;		/* timers still to fire, all cores (atomic) */

static void
tt_fired(void *arg)
{
	struct tt *x = arg;
	int c = core_id();
	uint64_t now = clock_ns();

	CHECK_EQ(c, x->core);
	if (now < x->t.deadline)
		CHECK(!"fired early");
	if (last[c].n > 0 && (x->t.deadline < last[c].deadline ||
	    (x->t.deadline == last[c].deadline && x->i < last[c].i)))
		CHECK(!"fired out of order");
	last[c].deadline = x->t.deadline;
	last[c].i = x->i;
	last[c].n++;
	x->fired++;
	if (__atomic_sub_fetch(&left, 1, __ATOMIC_ACQ_REL) == 0)
		event_stop(0);
}

static void
tt_reset(long n)
{
	memset(last, 0, sizeof last);
	left = n;
}

/* ---- a million timers --------------------------------------------------- */

static struct tt *many;

/* Arm MANY timers on core 0, at random deadlines, many of them equal. */
static void
many_first(void *unused)
{
	uint64_t base = clock_ns() + 5 * TIMER_MS;

	(void)unused;
	for (long i = 0; i < MANY; i++) {
		struct tt *x = &many[i];
		timer_setup(&x->t, tt_fired, x);
		x->i = i;
		x->core = 0;
		/* a coarse grid, so that ties (fired in start order) are common */
		if (timer_start_at(&x->t,
		    base + test_rnd() % SPREAD / 1000 * 1000, 0) != 0) {
			CHECK(!"timer_start failed");
			event_stop(1);
			return;
		}
	}
	CHECK_EQ(timer_count(), MANY);
}

TEST(million_in_deadline_order)
{
	struct test_leaks start = test_leak_start(NCORES);
	long once = 0;

	many = calloc(MANY, sizeof *many);
	tt_reset(MANY);
	CHECK_EQ(event_run(many_first, NULL), 0);
	CHECK_EQ(last[0].n, MANY);
	for (long i = 0; i < MANY; i++)
		once += many[i].fired == 1;
	CHECK_EQ(once, MANY);
	free(many);
	test_leak_check(start);
}

/* ---- stop and re-arm ---------------------------------------------------- */

#define SOME	1000
static struct tt some[SOME];

/*
 * Arm SOME; stop the odd ones; re-arm every fourth in reverse order and
 * later (re-keyed where it sits); stop one twice; stop a disarmed one.
 */
static void
rearm_first(void *unused)
{
	uint64_t base = clock_ns() + 2 * TIMER_MS;

	(void)unused;
	for (long i = 0; i < SOME; i++) {
		timer_setup(&some[i].t, tt_fired, &some[i]);
		some[i].i = i;
		some[i].core = 0;
		CHECK(!timer_armed(&some[i].t));
		CHECK_EQ(timer_start_at(&some[i].t,
		    base + test_rnd() % SPREAD, 0), 0);
		CHECK(timer_armed(&some[i].t));
	}
	for (long i = 1; i < SOME; i += 2)
		timer_stop(&some[i].t);
	timer_stop(&some[1].t);			/* again: nothing */
	for (long i = SOME - 4; i >= 0; i -= 4) {
		some[i].i = SOME + (SOME - i);	/* their new start order */
		CHECK_EQ(timer_start_at(&some[i].t, base + SPREAD + (SOME - i) % 7, 0), 0);
	}
	CHECK_EQ(timer_count(), SOME / 2);
	CHECK(!timer_armed(&some[1].t) && timer_armed(&some[0].t));
}

TEST(stop_and_rearm)
{
	struct test_leaks start = test_leak_start(NCORES);

	memset(some, 0, sizeof some);
	tt_reset(SOME / 2);
	CHECK_EQ(event_run(rearm_first, NULL), 0);
	CHECK_EQ(last[0].n, SOME / 2);
	for (long i = 0; i < SOME; i++) {
		CHECK_EQ(some[i].fired, i % 2 == 0);
		CHECK(!timer_armed(&some[i].t));
	}
	test_leak_check(start);
}

/* ---- periodic timers ---------------------------------------------------- */

#define PERIOD	(2 * TIMER_MS)
#define TICKS	20
static struct timer tick, stopper, reloader;
static uint64_t tick_start, tick_at[TICKS + 1];
static int ticks, ticks_at_stop, reloads;

/* A periodic timer: never early on its grid (start + k * period). */
static void
ticked(void *unused)
{
	(void)unused;
	tick_at[ticks] = clock_ns();
	ticks++;
	CHECK(tick_at[ticks - 1] >= tick_start + (uint64_t)ticks * PERIOD);
	CHECK(timer_armed(&tick));	/* re-armed before it was called */
}

/* A one-shot that stops the periodic one after TICKS periods and a half. */
static void
stop_tick(void *unused)
{
	(void)unused;
	timer_stop(&tick);
	ticks_at_stop = ticks;
	CHECK(!timer_armed(&tick));
}

/* A periodic timer that turns itself into a one-shot, and ends the run. */
static void
reload(void *unused)
{
	(void)unused;
	if (++reloads < 5)
		return;
	if (reloads == 5) {
		CHECK_EQ(timer_start(&reloader, PERIOD, 0), 0);	/* once more */
		return;
	}
	CHECK(!timer_armed(&reloader));
	event_stop(0);
}

static void
periodic_first(void *unused)
{
	(void)unused;
	timer_setup(&tick, ticked, NULL);
	timer_setup(&stopper, stop_tick, NULL);
	timer_setup(&reloader, reload, NULL);
	tick_start = clock_ns();
	CHECK_EQ(timer_start_at(&tick, tick_start + PERIOD, PERIOD), 0);
	CHECK_EQ(timer_start_at(&stopper, tick_start + TICKS * PERIOD + PERIOD / 2, 0), 0);
	CHECK_EQ(timer_start(&reloader, (TICKS + 2) * PERIOD, PERIOD), 0);
}

TEST(periodic)
{
	struct test_leaks start = test_leak_start(NCORES);

	ticks = ticks_at_stop = reloads = 0;
	CHECK_EQ(event_run(periodic_first, NULL), 0);
	/* A late tick is skipped, not repeated; none comes after the stop. */
	CHECK(ticks >= 1 && ticks <= TICKS);
	CHECK_EQ(ticks, ticks_at_stop);
	CHECK_EQ(reloads, 6);
	CHECK(!timer_armed(&tick) && !timer_armed(&stopper));
	test_leak_check(start);
}

/* ---- every core its own timers ------------------------------------------ */

#define PER_CORE	20000
static struct tt *mine[NCORES];

static void
core_arm(void *unused)
{
	int c = core_id();
	uint64_t base = clock_ns() + TIMER_MS;

	(void)unused;
	for (long i = 0; i < PER_CORE; i++) {
		struct tt *x = &mine[c][i];
		timer_setup(&x->t, tt_fired, x);
		x->i = i;
		x->core = c;
		CHECK_EQ(timer_start_at(&x->t, base + (uint64_t)(i * 7919 % PER_CORE) * 500, 0), 0);
	}
}

static void
cores_first(void *unused)
{
	(void)unused;
	for (int c = 0; c < NCORES; c++)
		CHECK_EQ(spawn_on(c, core_arm, NULL), 0);
}

TEST(per_core_timers)
{
	struct test_leaks start = test_leak_start(NCORES);

	for (int c = 0; c < NCORES; c++)
		mine[c] = calloc(PER_CORE, sizeof **mine);
	tt_reset((long)NCORES * PER_CORE);
	CHECK_EQ(event_run(cores_first, NULL), 0);
	for (int c = 0; c < NCORES; c++) {
		CHECK_EQ(last[c].n, PER_CORE);
		free(mine[c]);
	}
	test_leak_check(start);
}

/* ---- the loop sleeps until the next deadline ---------------------------- */

static struct timer nap;
static uint64_t nap_from, nap_took;

static void
napped(void *unused)
{
	(void)unused;
	nap_took = clock_ns() - nap_from;
	event_stop(0);
}

static void
nap_first(void *unused)
{
	(void)unused;
	timer_setup(&nap, napped, NULL);
	nap_from = clock_ns();
	CHECK_EQ(timer_start(&nap, 30 * TIMER_MS, 0), 0);
}

TEST(sleep_until_deadline)
{
	struct test_leaks start = test_leak_start(NCORES);
	struct event_stats before, after;

	event_stats(0, &before);
	CHECK_EQ(event_run(nap_first, NULL), 0);
	event_stats(0, &after);
	CHECK(nap_took >= 30 * TIMER_MS);
	/* It slept (a few times at most), rather than spinning. */
	CHECK(after.sleeps > before.sleeps);
	CHECK(after.sleeps - before.sleeps < 100);
	test_leak_check(start);
}

/* ---- misuse ------------------------------------------------------------- */

static void
stop_elsewhere(void)
{
	static struct timer t;

	setup();
	timer_setup(&t, NULL, NULL);
	timer_start(&t, TIMER_MS, 0);		/* armed on core 0 */
	hosted_set_core(1);
	timer_stop(&t);
}

static void
rearm_elsewhere(void)
{
	static struct timer t;

	setup();
	timer_setup(&t, NULL, NULL);
	timer_start(&t, TIMER_MS, 0);
	hosted_set_core(2);
	timer_start(&t, TIMER_MS, 0);
}

TEST(death_other_core)
{
	CHECK_DEATH(stop_elsewhere, "panic: timer_stop: core 0's data used on core 1");
	CHECK_DEATH(rearm_elsewhere, "panic: timer_start: core 0's data used on core 2");
}
