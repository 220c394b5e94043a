/*
 * counter.h: a distributed counter, the example Ebb.  Portable.
 *
 * Each core adds to its own rep, so counter_add touches only core-local
 * memory and never contends; counter_sum visits every core's rep.  The
 * sum is exact once the adding has stopped, and a snapshot while cores
 * still add.
 *
 *	static struct counter hits;
 *	counter_init(&hits);			// once, on any core
 *	counter_add(hits.id, 1);		// on any core, often
 *	long n = counter_sum(&hits);		// on any core, rarely
 */
#ifndef COUNTER_H
#define COUNTER_H

#include "ebb.h"

struct counter_rep {
	long n;			/* written only by its own core */
};

struct counter {
	struct ebb_multicore mc;
	uint32_t id;
};

/* Give c a fresh id and bind it; returns 0, or -1 if no id or memory. */
int counter_init(struct counter *c);

/* Add n on this core: one table load, one branch, one add. */
static inline void
counter_add(uint32_t id, long n)
{
	struct counter_rep *r = ebb_rep(id);

	/* Relaxed store: counter_sum may read it from another core. */
	__atomic_store_n(&r->n, r->n + n, __ATOMIC_RELAXED);
}

/* The sum over every core's rep. */
long counter_sum(struct counter *c);

#endif
