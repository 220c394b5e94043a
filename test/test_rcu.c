/*
 * test_rcu.c: grace periods (ebb/rcu.c) and the RCU hash table
 * (ebb/rhash.c), with threads as cores running the real event loops.
 *
 * The checker: a shared pointer names the current version of a
 * structure.  Readers on every core take it with rcu_deref and keep
 * looking at it for a while within their event; a writer publishes new
 * versions and hands each old one to rcu_call, whose callback marks it
 * dead and frees it.  A reader that ever sees a dead version — or, under
 * AddressSanitizer, touches a freed one — proves a callback ran before
 * its grace period ended.
 */
#define _GNU_SOURCE

#include "ebb/event.h"
#include "ebb/rcu.h"
#include "ebb/rhash.h"
#include "ebb/timer.h"
#include "kernel/malloc.h"
#include "test.h"

#define NCORES	4
#define UPDATES	2000
#define HOLD_NS	20000		/* how long a reader holds a version */
#define MIN_READS	300		/* reads before the writer may stop */

/* The runtime, once per process: NCORES cores, the loops, timers and RCU. */
static void
setup(void)
{
	test_setup(NCORES, 0, TEST_RCU);
}

/* ---- the grace-period checker --------------------------------------- */

struct version {
	long seq;
	int dead;			/* set by the callback, just before kfree */
};

static struct version *cur;		/* rcu_assign / rcu_deref */
static int stopping;			/* readers stop re-spawning */
static long violations, reads, retired, updates;

static void
reader(void *unused)
{
	(void)unused;
	struct version *v = rcu_deref(cur);
	long seq = v->seq;

	uint64_t until = clock_ns() + HOLD_NS;
	while (clock_ns() < until)	/* hold it for a while */
		if (__atomic_load_n(&v->dead, __ATOMIC_RELAXED) || v->seq != seq) {
			__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
			break;
		}
	__atomic_fetch_add(&reads, 1, __ATOMIC_RELAXED);
	if (!__atomic_load_n(&stopping, __ATOMIC_RELAXED))
		spawn(reader, NULL);
}

static void
retire(void *p)
{
	struct version *v = p;

	__atomic_store_n(&v->dead, 1, __ATOMIC_RELAXED);
	kfree(v);
	retired++;			/* callbacks run on core 0 only */
}

/* Core 0: publish a new version, retire the old; at the end, wait for the callbacks. */
static void
writer(void *unused)
{
	(void)unused;
	if (updates < UPDATES) {
		struct version *v = kmalloc(sizeof *v), *old = cur;
		v->seq = ++updates;
		v->dead = 0;
		rcu_assign(cur, v);
		if (rcu_call(retire, old) != 0)
			test_fail(__FILE__, __LINE__, "rcu_call: no memory");
	} else {
		/* Let the readers run a while against the last version too. */
		if (__atomic_load_n(&reads, __ATOMIC_RELAXED) >= MIN_READS)
			__atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
		if (stopping && retired == UPDATES) {
			event_stop(0);
			return;
		}
	}
	spawn(writer, NULL);
}

static void
start_checker(void *unused)
{
	(void)unused;
	for (int c = 1; c < NCORES; c++)
		spawn_on(c, reader, NULL);
	spawn(writer, NULL);
}

TEST(callbacks_wait_for_readers)
{
	setup();
	cur = kmalloc(sizeof *cur);
	cur->seq = 0;
	cur->dead = 0;
	uint64_t gp0 = rcu_completed();
	CHECK_EQ(event_run(start_checker, NULL), 0);
	CHECK_EQ(violations, 0);
	CHECK_EQ(retired, UPDATES);
	CHECK(reads >= MIN_READS);
	CHECK(rcu_completed() > gp0);
	CHECK_EQ(test_in_use("rcu_cb"), 0);
	kfree(cur);
}

/* With every other core asleep, a grace period still ends. */
static int idle_done;

static void
idle_cb(void *unused)
{
	(void)unused;
	idle_done = 1;
	event_stop(0);
}

static void
idle_first(void *unused)
{
	(void)unused;
	rcu_call(idle_cb, NULL);
}

TEST(idle_cores_do_not_hold_grace_periods)
{
	setup();
	CHECK_EQ(event_run(idle_first, NULL), 0);
	CHECK_EQ(idle_done, 1);
}

/* ---- the hash table -------------------------------------------------- */

#define KEYS	512
static struct rhash *h;
static long bad_values, lookups, rounds;

static void
lookup(void *unused)
{
	(void)unused;
	for (uint64_t k = 0; k < KEYS; k++) {
		uintptr_t v = (uintptr_t)rhash_get(h, k);
		if (v != 0 && v != k * 8 + 8)
			__atomic_fetch_add(&bad_values, 1, __ATOMIC_RELAXED);
	}
	__atomic_fetch_add(&lookups, 1, __ATOMIC_RELAXED);
	if (!__atomic_load_n(&stopping, __ATOMIC_RELAXED))
		spawn(lookup, NULL);
}

/* Core 0: put every key, delete every key, again and again. */
static void
churn(void *unused)
{
	(void)unused;
	if (rounds++ < 40) {
		for (uint64_t k = 0; k < KEYS; k++)
			if (rhash_put(h, k, (void *)(uintptr_t)(k * 8 + 8)) != 0)
				test_fail(__FILE__, __LINE__, "rhash_put failed");
		if (rhash_put(h, 7, (void *)1) != -1)
			test_fail(__FILE__, __LINE__, "rhash_put took a duplicate key");
		for (uint64_t k = 0; k < KEYS; k += 2)
			if (rhash_del(h, k) != (void *)(uintptr_t)(k * 8 + 8))
				test_fail(__FILE__, __LINE__, "rhash_del returned the wrong value");
		for (uint64_t k = 1; k < KEYS; k += 2)
			rhash_del(h, k);
		spawn(churn, NULL);
		return;
	}
	__atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
	event_stop(0);
}

static void
rhash_first(void *unused)
{
	(void)unused;
	for (int c = 1; c < NCORES; c++)
		spawn_on(c, lookup, NULL);
	spawn(churn, NULL);
}

/* Wait a few grace periods so that deleted nodes are freed. */
static int settle_left;

static void
settle(void *unused)
{
	(void)unused;
	if (settle_left-- > 0)
		rcu_call(settle, NULL);
	else
		event_stop(0);
}

TEST(hash_readers_and_writers)
{
	size_t start;

	setup();
	h = rhash_new(64);
	CHECK(h != NULL);
	start = test_in_use("kmalloc-64");
	stopping = 0;
	CHECK_EQ(event_run(rhash_first, NULL), 0);
	CHECK_EQ(bad_values, 0);
	CHECK(lookups > 0);
	CHECK(rhash_get(h, 3) == NULL);
	settle_left = 3;
	CHECK_EQ(event_run(settle, NULL), 0);
	/* Every node came back. */
	CHECK_EQ(test_in_use("kmalloc-64"), start);
}
