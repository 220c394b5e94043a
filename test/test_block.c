/*
 * test_block.c: events that block and are activated (ebb/event.c's
 * event_block and event_activate) and futures built on them
 * (ebb/future.c), on threads as cores running the real loops.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "ebb/event.h"
#include "ebb/future.h"
#include "test.h"

#define NCORES	4

/* The runtime, once per process: NCORES cores, the loops and timers. */
static void
setup(void)
{
	test_setup(NCORES, 0, TEST_EVENTS);
}

static uint64_t
loops_made(int c)
{
	struct event_stats st;

	event_stats(c, &st);
	return st.loops;
}

/* ---- one core: block, let others run, be activated -------------------- */

static char trace[32];
static int ntrace;
static struct event_ctx *parked_ctx;

static void
note(char c)
{
	trace[ntrace++] = c;
}

static void
waker(void *unused)
{
	(void)unused;
	note('W');
	event_activate(parked_ctx);
}

static void
blocker(void *unused)
{
	struct event_ctx ctx;
	int local = 1234;

	(void)unused;
	note('A');
	event_ctx_init(&ctx);
	parked_ctx = &ctx;
	spawn(waker, NULL);
	CHECK_EQ(event_block(&ctx), 0);
	note('B');
	CHECK_EQ(local, 1234);		/* the stack came back as it was */
	CHECK_EQ(core_id(), 0);
	event_stop(0);
}

TEST(block_and_activate_on_one_core)
{
	setup();
	ntrace = 0;
	CHECK_EQ(event_run(blocker, NULL), 0);
	trace[ntrace] = '\0';
	CHECK(strcmp(trace, "AWB") == 0);
}

/* ---- across cores: block on core 1, activated from core 2 --------------- */

static struct event_ctx *ctx1;
static int resumed_on = -1;

static void
activate_from_2(void *unused)
{
	(void)unused;
	event_activate(ctx1);
}

static void
block_on_1(void *unused)
{
	struct event_ctx ctx;

	(void)unused;
	event_ctx_init(&ctx);
	ctx1 = &ctx;			/* core 2 may activate before we block */
	spawn_on(2, activate_from_2, NULL);
	event_block(&ctx);
	resumed_on = core_id();
	event_stop(0);
}

static void
cross_first(void *unused)
{
	(void)unused;
	spawn_on(1, block_on_1, NULL);
}

TEST(activate_from_another_core)
{
	setup();
	CHECK_EQ(event_run(cross_first, NULL), 0);
	CHECK_EQ(resumed_on, 1);		/* resumed on its own core */
}

/* ---- many blocked at once; stacks reused ----------------------------------- */

#define MANY 100
static struct event_ctx *many[MANY];
static int nblocked, nresumed;

static void
many_blocker(void *arg)
{
	struct event_ctx ctx;
	int i = (int)(intptr_t)arg;

	event_ctx_init(&ctx);
	many[i] = &ctx;
	nblocked++;
	event_block(&ctx);
	if (many[i] != &ctx)
		test_fail(__FILE__, __LINE__, "a blocked event's stack moved");
	if (++nresumed == MANY)
		event_stop(0);
}

static void
many_waker(void *unused)
{
	(void)unused;
	CHECK_EQ(nblocked, MANY);
	for (int i = 0; i < MANY; i++)
		event_activate(many[i]);
}

static void
many_first(void *unused)
{
	(void)unused;
	for (int i = 0; i < MANY; i++)
		spawn(many_blocker, (void *)(intptr_t)i);
	spawn(many_waker, NULL);
}

TEST(many_blocked_and_stacks_reused)
{
	setup();
	nblocked = nresumed = 0;
	CHECK_EQ(event_run(many_first, NULL), 0);
	CHECK_EQ(nresumed, MANY);
	uint64_t made = loops_made(0);
	CHECK(made >= MANY && made <= MANY + 1);
	nblocked = nresumed = 0;
	CHECK_EQ(event_run(many_first, NULL), 0);	/* again: no new stacks */
	CHECK_EQ(nresumed, MANY);
	CHECK_EQ(loops_made(0), made);
}

/* ---- futures --------------------------------------------------------------- */

static struct future fut;
static int then_core = -1, then_err = -1, block_err = -1;
static void *then_value, *block_value;
static int pending;		/* the callback and the blocked event: both on core 0 */

static void
one_done(void)
{
	if (--pending == 0)
		event_stop(0);
}

static void
resolve_it(void *unused)
{
	(void)unused;
	future_resolve(&fut, (void *)(uintptr_t)(100 + core_id()));
}

static void
on_done(struct future *f, void *arg)
{
	then_core = core_id();
	then_err = f->err;
	then_value = f->value;
	(void)arg;
	one_done();
}

static void
future_first(void *unused)
{
	(void)unused;
	future_init(&fut);
	pending = 2;
	CHECK_EQ(future_then(&fut, on_done, NULL), 0);	/* runs here, on core 0 */
	spawn_on(3, resolve_it, NULL);
	block_err = future_block(&fut, &block_value);	/* core 3 resolves it */
	one_done();
}

TEST(future_resolved_on_another_core)
{
	setup();
	CHECK_EQ(event_run(future_first, NULL), 0);
	CHECK_EQ(block_err, 0);
	CHECK_EQ((uintptr_t)block_value, 103);
	CHECK_EQ(then_core, 0);
	CHECK_EQ(then_err, 0);
	CHECK_EQ((uintptr_t)then_value, 103);
}

static int late_then_ran;

static void
late_then(struct future *f, void *arg)
{
	(void)f;
	(void)arg;
	late_then_ran = 1;
	event_stop(0);
}

static void
failed_first(void *unused)
{
	void *v = (void *)1;

	(void)unused;
	future_init(&fut);
	future_fail(&fut, ETIMEDOUT);
	CHECK_EQ(future_block(&fut, &v), ETIMEDOUT);	/* done: no block */
	CHECK(v == NULL);
	CHECK_EQ(future_then(&fut, late_then, NULL), 0);	/* done: spawned */
}

TEST(future_failed_and_late_then)
{
	setup();
	CHECK_EQ(event_run(failed_first, NULL), 0);
	CHECK_EQ(late_then_ran, 1);
}

static void
resolve_twice(void)
{
	struct future f;

	future_init(&f);
	future_resolve(&f, NULL);
	future_resolve(&f, NULL);
}

TEST(resolving_twice_panics)
{
	CHECK_DEATH(resolve_twice, "completed twice");
}

/* Everything the runs above allocated per event is back. */
TEST(no_records_left)
{
	setup();
	CHECK_EQ(test_in_use("event"), 0);
}
