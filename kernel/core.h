/*
 * core.h (native): core_id() and ebb_table(), inline, because the
 * per-core fast paths (the slab arrays, Ebb calls) ask them on every call.
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

#include <stdint.h>

/*
 * The Ebb translation table (ebb/ebb.h) sits at one fixed virtual
 * address, in PML4 slot 255, which each core's own PML4 maps to that
 * core's own pages; untouched pages fault in as zero pages (kernel/vm.c).
 * So the table's address is a constant and a lookup is one load.
 */
#define EBB_TABLE_VA	0x7F8000000000ULL

static inline void **
ebb_table(void)
{
	return (void **)EBB_TABLE_VA;
}

static inline int
core_id(void)
{
	int id;

	__asm__("movl %%gs:0, %0" : "=r"(id));
	return id;
}

#endif
