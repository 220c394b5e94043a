/*
 * test_context.c: ctx_make and ctx_switch (ebb/switch.S): flows that
 * pass control back and forth keep their own stacks, locals, callee-saved
 * registers and floating-point control state; a made context starts with
 * the stack aligned as the ABI wants.
 */
#include <fenv.h>
#include <stdint.h>
#include <stdlib.h>

#include "ebb/context.h"
#include "test.h"

#define STACK 65536

static void *main_sp, *a_sp, *b_sp;
static int trace[16], ntrace;

static void
flow_a(void *arg)
{
	int local = *(int *)arg;	/* lives on a's stack across switches */

	for (int i = 0; i < 3; i++) {
		trace[ntrace++] = local + i;
		ctx_switch(&a_sp, b_sp);
	}
	ctx_switch(&a_sp, main_sp);
	abort();			/* never resumed again */
}

static void
flow_b(void *arg)
{
	int local = *(int *)arg;

	for (int i = 0; i < 3; i++) {
		trace[ntrace++] = local + i;
		ctx_switch(&b_sp, a_sp);
	}
	abort();
}

TEST(ping_pong)
{
	char *sa = malloc(STACK), *sb = malloc(STACK);
	int la = 100, lb = 200;

	a_sp = ctx_make(sa, STACK, flow_a, &la);
	b_sp = ctx_make(sb, STACK, flow_b, &lb);
	ctx_switch(&main_sp, a_sp);
	int want[] = { 100, 200, 101, 201, 102, 202 };
	CHECK_EQ(ntrace, 6);
	for (int i = 0; i < 6; i++)
		CHECK_EQ(trace[i], want[i]);
	free(sa);
	free(sb);
}

static void *c_sp;
static uintptr_t c_align;
static int c_round;

static void
flow_round(void *arg)
{
	(void)arg;
	/* Rounding mode is part of MXCSR: this flow's own, not main's. */
	c_round = fegetround();
	fesetround(FE_UPWARD);
	char __attribute__((aligned(16))) probe[16];
	c_align = (uintptr_t)probe % 16;
	ctx_switch(&c_sp, main_sp);
	c_round = fegetround();
	ctx_switch(&c_sp, main_sp);
	abort();
}

TEST(alignment_and_fp_control)
{
	char *s = malloc(STACK);

	fesetround(FE_TOWARDZERO);
	c_sp = ctx_make(s, STACK, flow_round, NULL);
	ctx_switch(&main_sp, c_sp);
	CHECK_EQ(c_round, FE_TONEAREST);	/* a new context's default */
	CHECK_EQ(c_align, 0);
	CHECK_EQ(fegetround(), FE_TOWARDZERO);	/* main's, restored */
	ctx_switch(&main_sp, c_sp);
	CHECK_EQ(c_round, FE_UPWARD);		/* the flow's, restored */
	fesetround(FE_TONEAREST);
	free(s);
}

/* Many switches with callee-saved registers in use on both sides. */
static void *d_sp;
static volatile long d_sum;

static void
flow_sum(void *arg)
{
	long n = *(long *)arg, x = 0, y = 1, z = 2, w = 3;

	for (long i = 0; i < n; i++) {
		x += i;
		y ^= x;
		z += y;
		w -= z;
		ctx_switch(&d_sp, main_sp);
	}
	d_sum = x + y + z + w;
	ctx_switch(&d_sp, main_sp);
	abort();
}

TEST(registers_survive)
{
	char *s = malloc(STACK);
	long n = 100000, x = 0, y = 1, z = 2, w = 3;

	d_sp = ctx_make(s, STACK, flow_sum, &n);
	for (long i = 0; i <= n; i++) {
		ctx_switch(&main_sp, d_sp);
		if (i < n) {
			x += i;
			y ^= x;
			z += y;
			w -= z;
		}
	}
	CHECK_EQ(d_sum, x + y + z + w);
	free(s);
}
