/*
 * test.h: the tiny in-repo unit-test harness for hosted tests.
 *
 * A test file defines tests with TEST(name) { ... } and checks results
 * with CHECK(cond) or CHECK_EQ(a, b); test/test.c supplies main(), which
 * runs every registered test (or only those named on its command line)
 * and prints one line per test:
 *
 *	PASS suite.name
 *	FAIL suite.name: file:line: what failed
 *
 * test/run.sh counts those lines over every suite and prints the final
 * "N passed, N failed".  A failed CHECK records the failure and lets the
 * test go on, so one run shows every broken expectation.
 *
 * TEST_DEATH runs a function in a child process and checks that it dies
 * (non-zero exit or a signal) printing a given message: that is how the
 * allocators' double-free and bad-free diagnostics are tested.
 *
 * test/testlib.c, linked into every suite too, holds what the suites
 * share: the runtime's setup, a random stream, a memory pattern and the
 * leak checks (declared at the end of this file).
 */
#ifndef TEST_H
#define TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

void test_register(const char *name, void (*fn)(void));
void test_fail(const char *file, int line, const char *what);
int test_death(void (*fn)(void), const char *expect, char *out, int outlen);

#define TEST(name)							\
	static void name(void);						\
	__attribute__((constructor)) static void name##_register(void)	\
	{ test_register(#name, name); }					\
	static void name(void)

#define CHECK(cond) do {						\
	if (!(cond))							\
		test_fail(__FILE__, __LINE__, "CHECK(" #cond ")");	\
} while (0)

/* Compares as signed 64-bit integers and prints both values. */
#define CHECK_EQ(a, b) do {						\
	long long a_ = (long long)(a), b_ = (long long)(b);		\
	if (a_ != b_) {							\
		char m_[256];						\
		snprintf(m_, sizeof m_, "CHECK_EQ(%s, %s): %lld != %lld", \
		    #a, #b, a_, b_);					\
		test_fail(__FILE__, __LINE__, m_);			\
	}								\
} while (0)

/* Runs fn in a child that must die printing a line containing expect. */
#define CHECK_DEATH(fn, expect) do {					\
	char o_[2048];							\
	if (!test_death((fn), (expect), o_, sizeof o_)) {		\
		char m_[2400];						\
		snprintf(m_, sizeof m_, "CHECK_DEATH(%s, \"%s\"); output: %s", \
		    #fn, (expect), o_);					\
		test_fail(__FILE__, __LINE__, m_);			\
	}								\
} while (0)

/* ---- test/testlib.c ---------------------------------------------------- */

/* How far test_setup brings the runtime up: each adds to the one above. */
enum test_layer {
	TEST_SLAB,		/* page_init, slab_init */
	TEST_KMALLOC,		/* and kmalloc_init */
	TEST_EBB,		/* and ebb_init: the Ebb id map */
	TEST_EVENTS,		/* and event_init, timer_init: the loops */
	TEST_RCU,		/* and rcu_init, whose hooks join every loop */
};

/* What test_leak_check compares with. */
struct test_leaks {
	size_t pages;		/* free pages once every core has reaped */
	size_t objs;		/* slab objects in use, all caches */
};

/* Once: ncores cores, mem bytes (0: HOSTED_MEM), up to upto; the free pages. */
size_t test_setup(int ncores, size_t mem, enum test_layer upto);
/* The next number of one fixed xorshift64* stream (one thread at a time). */
uint64_t test_rnd(void);
/* Fill n bytes at p with the pattern of seed. */
void test_fill(void *p, size_t n, uint64_t seed);
/* Do the n bytes at p still hold the pattern of seed? */
int test_intact(const void *p, size_t n, uint64_t seed);
/* Objects in use in the slab cache called name, or in all caches (NULL). */
size_t test_in_use(const char *name);
/* Inside an event that may block: sleep ms milliseconds (a timer resolves a future). */
void test_sleep_ms(uint64_t ms);
/* A loop test's start: test_setup(ncores, 0, TEST_EVENTS); every core reaps. */
struct test_leaks test_leak_start(int ncores);
/* A loop test's end: nothing leaked since start (testlib.c says what). */
void test_leak_check(struct test_leaks start);
/*
 * Threads as cores 0..nthreads-1 free each other's blocks: each makes
 * per_thread blocks with alloc(core, i, &size), patterned, and passes
 * them through a shared queue to whichever core takes them next, which
 * checks and frees them with release; then each frees the next core's
 * box of 1000 (a cross phase that needs no luck).  Returns how many
 * blocks were freed on a core other than their maker's.
 */
long test_cross_free(int nthreads, long per_thread,
    void *(*alloc)(int core, long i, size_t *size), void (*release)(void *p));

#endif
