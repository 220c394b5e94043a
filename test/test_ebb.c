/*
 * test_ebb.c: Ebb ids, the local id map, translation and the miss path,
 * multicore and shared Ebbs, and the distributed counter (ebb/ebb.c,
 * ebb/counter.c), with threads playing cores.
 *
 * Reps live as long as the instance, so these tests check counts of
 * reps made, not that memory comes back.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>

#include "ebb/counter.h"
#include "ebb/ebb.h"
#include "hosted/hosted.h"
#include "test.h"

#define NTHREADS 4

/* The allocators and the Ebb id map, once per process. */
static void
setup(void)
{
	test_setup(1, 0, TEST_EBB);
}

TEST(bind_and_errors)
{
	static struct ebb_shared s = EBB_SHARED((void *)0x1234);
	uint32_t id;

	setup();
	id = ebb_id_alloc();
	CHECK(id > EBB_STATIC_MAX && id <= EBB_LOCAL_MAX);
	CHECK(ebb_id_alloc() != id);
	CHECK_EQ(ebb_bind(id, &s.root), 0);
	CHECK_EQ(ebb_bind(id, &s.root), -1);		/* taken */
	CHECK_EQ(ebb_bind(0, &s.root), -1);		/* never an Ebb */
	CHECK_EQ(ebb_bind(EBB_MAX, &s.root), -1);	/* out of range */
	CHECK(ebb_root_of(id) == &s.root);
	CHECK(ebb_root_of(id + 1000) == NULL);
	CHECK(ebb_rep(id) == (void *)0x1234);
	CHECK(ebb_table()[id] == (void *)0x1234);	/* cached after the miss */
}

static void
call_unbound(void)
{
	setup();
	ebb_rep(EBB_TEST_FIRST + 7);
}

TEST(unbound_id_panics)
{
	CHECK_DEATH(call_unbound, "is not bound on this instance");
}

/* ---- concurrent first use ------------------------------------------- */

static int inits[NCPU];		/* rep_init calls per core */

struct probe_rep {
	int core;
};

static void
probe_init(void *rep, int core)
{
	((struct probe_rep *)rep)->core = core;
	__atomic_fetch_add(&inits[core], 1, __ATOMIC_RELAXED);
}

static struct ebb_multicore probe = EBB_MULTICORE(probe_init, sizeof(struct probe_rep));
static uint32_t probe_id;
static pthread_barrier_t start;
static int mismatches;

static void *
probe_thread(void *arg)
{
	int core = (int)(intptr_t)arg;

	hosted_set_core(core);
	pthread_barrier_wait(&start);	/* every core misses at once */
	struct probe_rep *first = ebb_rep(probe_id);
	for (int i = 0; i < 100000; i++) {
		struct probe_rep *r = ebb_rep(probe_id);
		if (r != first || r->core != core)
			__atomic_fetch_add(&mismatches, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void
count_rep(void *rep, void *n)
{
	(void)rep;
	++*(int *)n;
}

TEST(multicore_one_rep_per_core)
{
	pthread_t t[NTHREADS];
	int visited = 0;

	setup();
	probe_id = ebb_id_alloc();
	CHECK_EQ(ebb_bind(probe_id, &probe.root), 0);
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, probe_thread, (void *)(intptr_t)(i + 1));
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	for (int c = 1; c <= NTHREADS; c++)
		CHECK_EQ(inits[c], 1);
	CHECK_EQ(inits[0], 0);			/* core 0 never called it */
	CHECK_EQ(mismatches, 0);
	ebb_multicore_visit(&probe, count_rep, &visited);
	CHECK_EQ(visited, NTHREADS);
}

TEST(shared_one_rep)
{
	static int thing;
	static struct ebb_shared s = EBB_SHARED(&thing);
	uint32_t id;

	setup();
	id = ebb_id_alloc();
	CHECK_EQ(ebb_bind(id, &s.root), 0);
	for (int c = 0; c < 3; c++) {
		hosted_set_core(c);
		CHECK(ebb_rep(id) == &thing);
	}
	hosted_set_core(0);
}

/* ---- the counter ------------------------------------------------------ */

static struct counter hits;

static void *
add_thread(void *arg)
{
	hosted_set_core((int)(intptr_t)arg);
	for (int i = 0; i < 1000000; i++)
		counter_add(hits.id, 1);
	return NULL;
}

TEST(counter_sum_exact)
{
	pthread_t t[NTHREADS];

	setup();
	CHECK_EQ(counter_init(&hits), 0);
	CHECK_EQ(counter_sum(&hits), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, add_thread, (void *)(intptr_t)i);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(counter_sum(&hits), (long)NTHREADS * 1000000);
	counter_add(hits.id, -5);
	CHECK_EQ(counter_sum(&hits), (long)NTHREADS * 1000000 - 5);
}
