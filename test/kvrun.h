/*
 * kvrun.h: how the kvstore suites (test_kvstore.c, and through
 * kvexchange.h test_kvtext.c, test_kvmeta.c, test_kvbin.c) run a test
 * body: on core 0 of the loops (the store needs them for RCU), then an
 * RCU callback queued on every core, and the run ends when all have run,
 * that is once every item a core let go has been freed, so that the
 * leak checks that follow see the memory back.  The includer defines
 * NCORES (the loops' cores) first.  Test code only; all static.
 */
#ifndef TEST_KVRUN_H
#define TEST_KVRUN_H

#include "app/kvstore/store.h"
#include "ebb/event.h"
#include "ebb/rcu.h"
#include "tcp/iobuf.h"
#include "test.h"

static struct test_leaks leaks;		/* the baseline setup() notes */
static long iobufs0;

static void (*body)(void);
static int drained;

static void
drain_cb(void *arg)
{
	(void)arg;
	if (__atomic_add_fetch(&drained, 1, __ATOMIC_ACQ_REL) == NCORES)
		event_stop(0);
}

/* Queued behind every item this core let go: runs once they are freed. */
static void
drain(void *arg)
{
	(void)arg;
	if (rcu_call(drain_cb, NULL) != 0)
		test_fail(__FILE__, __LINE__, "rcu_call: no memory");
}

static void
run_body(void *arg)
{
	(void)arg;
	if (body != NULL)
		body();
	drained = 0;
	for (int c = 0; c < NCORES; c++)
		spawn_on(c, drain, NULL);
}

/* Run fn on core 0; back once every core's freed items are gone. */
static void
run(void (*fn)(void))
{
	body = fn;
	CHECK_EQ(event_run(run_body, NULL), 0);
}

/*
 * A suite's setup: the first call brings up the runtime on NCORES cores
 * and a store of mem bytes and returns 1 (the caller's own once-only
 * steps follow); every call then notes the leak baseline.
 */
static int
kv_start(unsigned long mem)
{
	static int done;
	int first = !done;

	if (first) {
		done = 1;
		test_setup(NCORES, 0, TEST_RCU);
		CHECK_EQ(kv_init(mem, 0), 0);
	}
	return first;
}

/* The leak baseline, after a setup's once-only steps. */
static void
kv_baseline(void)
{
	leaks = test_leak_start(NCORES);
	iobufs0 = iobuf_live();
}

#endif
