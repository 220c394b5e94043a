/*
 * context.h: saving one flow of execution and resuming another, the
 * mechanism under blocking events and futures.  Portable: the same
 * assembly (ebb/switch.S) serves both builds.
 *
 * A context is just a saved stack pointer.  ctx_switch(&from, to) pushes
 * what the C calling convention says a called function must preserve —
 * rbx, rbp, r12..r15, and the SSE and x87 control words (MXCSR, FPU
 * control word) — onto the current stack, stores the stack pointer in
 * from, loads to, pops the same things, and returns on the other stack.
 * Everything else is caller-saved, so the compiler has already saved
 * what it needs around the call.
 *
 * ctx_make prepares a fresh stack so that the first switch to it calls
 * fn(arg) there.  fn must never return: a flow that ends switches away
 * for good (returning panics).
 *
 *	void *main_sp, *fn_sp = ctx_make(stack, sizeof stack, fn, arg);
 *	ctx_switch(&main_sp, fn_sp);	// runs fn until it switches back:
 *	...				// fn: ctx_switch(&fn_sp, main_sp);
 */
#ifndef CONTEXT_H
#define CONTEXT_H

#include <stddef.h>

/* Save the current flow's stack pointer in *save; resume the one at load. */
void ctx_switch(void **save, void *load);

/* A stack pointer that, switched to, runs fn(arg) on [stack, stack + size). */
void *ctx_make(void *stack, size_t size, void (*fn)(void *arg), void *arg);

#endif
