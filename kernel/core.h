/*
 * core.h (native): core_id(), inline, because the per-core fast paths
 * (the slab arrays, later the Ebb tables) ask it on every call.
 *
 * kernel/platform.h includes <core.h>, and the Makefile puts kernel/ on
 * the native build's include path and hosted/ on the hosted build's, so
 * each build gets its own definition without an #ifdef (musl's way of
 * swapping an architecture file by path).
 *
 * Natively, each core's GS base points at its struct cpu_local
 * (kernel/cpu.c), whose first word is the core's id: one load.  The value
 * never changes under a running event, so the asm need not be volatile.
 */
#ifndef CORE_H
#define CORE_H

static inline int
core_id(void)
{
	int id;

	__asm__("movl %%gs:0, %0" : "=r"(id));
	return id;
}

#endif
