/*
 * core.h (hosted): core_id(), inline; the hosted build's counterpart of
 * kernel/core.h (which explains the seam).  A core is a thread, and its
 * id lives in a thread-local variable set when the thread starts
 * (hosted_set_core).
 */
#ifndef CORE_H
#define CORE_H

extern __thread int hosted_core;

static inline int
core_id(void)
{
	return hosted_core;
}

#endif
