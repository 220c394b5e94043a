/*
 * percore.h: per-core data, and the check that only its owner uses it.
 * Portable.
 *
 * The runtime keeps most of its state per core: one struct per core in
 * an array indexed by core_id(), each struct on cache lines of its own
 * so that two cores never fight over a line.  Such a struct is owned by
 * its core: only that core reads or writes it, so it needs no lock and
 * no atomics.  Where another core must reach in (the queue other cores
 * push events onto, ebb/event.c), those fields are atomics on a line of
 * their own, and the struct says so.
 *
 * The rule for reaching it (ebb/README.md): a service other files call
 * (the event manager, the timers) is a per-core Ebb, and every caller,
 * its own file included, finds this core's struct with ebb_rep; state
 * private to one file (TCP's connection tables, IP's next id) is a
 * static array of that file, named for it and indexed by core_id():
 *
 *	static struct tcp_core tcp_cores[NCPU] PERCORE;
 *	struct tcp_core *tc = &tcp_cores[core_id()];   // always the owner
 *
 * Objects that remember which core they belong to (an armed timer, an
 * idle handler) are checked at every entry point that touches them:
 *
 *	percore_check(t->core, "timer_stop");	// panics on another core
 *
 * The check is one compare against core_id(); it stays on in every
 * build, because using another core's data is a race that would
 * otherwise show up only rarely, and far from its cause.
 */
#ifndef EBB_PERCORE_H
#define EBB_PERCORE_H

#include "kernel/platform.h"

/* Align a per-core struct (or array of them) to its own cache lines. */
#define PERCORE	__attribute__((aligned(CACHE_LINE)))

/* Panic unless the caller runs on core owner; who names the entry point. */
static inline void
percore_check(int owner, const char *who)
{
	if (__builtin_expect(owner != core_id(), 0))
		panic("%s: core %d's data used on core %d", who, owner, core_id());
}

#endif
