/*
 * core.h (hosted): core_id() and ebb_table(), inline; the hosted build's
 * counterpart of kernel/core.h (which explains the seam).  A core is a
 * thread, and its id and table live in thread-local variables set when
 * the thread starts (hosted_set_core).
 */
#ifndef CORE_H
#define CORE_H

extern __thread int hosted_core;
extern __thread void **hosted_ebb_table;	/* this core's Ebb table */

static inline int
core_id(void)
{
	return hosted_core;
}

/*
 * This core's Ebb translation table (ebb/ebb.h): zero pages until
 * touched; core 0's is a static array (so every thread has a table
 * before it picks a core), the others' mmaps made by hosted_set_core.
 */
static inline void **
ebb_table(void)
{
	return hosted_ebb_table;
}

#endif
