/*
 * counter.c: the distributed counter (see counter.h), a multicore Ebb
 * made with ebb.h's helpers: its root is a struct ebb_multicore, whose
 * reps are struct counter_rep, zeroed when a core first calls it.
 */
#include "counter.h"

int
counter_init(struct counter *c)
{
	*c = (struct counter){ .mc = EBB_MULTICORE(NULL, sizeof(struct counter_rep)) };
	if ((c->id = ebb_id_alloc()) == 0)
		return -1;
	return ebb_bind(c->id, &c->mc.root);
}

static void
add_rep(void *rep, void *sum)
{
	/* Relaxed: pairs with counter_add's store; no other data hangs on it. */
	*(long *)sum += __atomic_load_n(&((struct counter_rep *)rep)->n, __ATOMIC_RELAXED);
}

long
counter_sum(struct counter *c)
{
	long sum = 0;

	ebb_multicore_visit(&c->mc, add_rep, &sum);
	return sum;
}
