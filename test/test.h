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
 */
#ifndef TEST_H
#define TEST_H

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

#endif
