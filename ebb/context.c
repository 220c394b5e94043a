/*
 * context.c: ctx_make, which lays out a new stack the way ctx_switch
 * leaves a saved one (the frame is drawn in switch.S), so that the
 * first switch to it "returns" into ctx_start with fn and arg in
 * callee-saved registers.  Portable.
 */
#include <stdint.h>

#include "context.h"
#include "kernel/platform.h"

void ctx_start(void);
void ctx_returned(void) __attribute__((noreturn));

#define MXCSR_DEFAULT	0x1F80u		/* all SSE exceptions masked, round to nearest */
#define FPUCW_DEFAULT	0x037Fu		/* all x87 exceptions masked, 64-bit precision */

void *
ctx_make(void *stack, size_t size, void (*fn)(void *arg), void *arg)
{
	uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
	uint64_t *sp = (uint64_t *)top - 9;

	sp[0] = MXCSR_DEFAULT | ((uint64_t)FPUCW_DEFAULT << 32);
	sp[1] = 0;				/* r15 */
	sp[2] = 0;				/* r14 */
	sp[3] = (uintptr_t)fn;			/* r13 */
	sp[4] = (uintptr_t)arg;			/* r12 */
	sp[5] = 0;				/* rbx */
	sp[6] = 0;				/* rbp: the end of backtraces */
	sp[7] = (uintptr_t)ctx_start;		/* where ctx_switch returns */
	sp[8] = 0;				/* ctx_start's "return address" */
	return sp;
}

/* Called by ctx_start if fn returns, which it must not. */
void
ctx_returned(void)
{
	panic("ctx_start: a context's function returned");
}
