/*
 * ksym.c: address-to-name lookup by binary search (see ksym.h).
 *
 * The function containing an address is the last symbol that starts at
 * or below it.  There are no sizes in the table, so an address past the
 * end of the last function is still attributed to it; callers print the
 * offset, which makes such a case easy to spot.
 */
#include "ksym.h"

const char *
ksym_find(const struct ksym_table *t, uintptr_t addr, uintptr_t *offset)
{
	size_t lo = 0, hi = t->n;

	/* Invariant: addr[i] <= addr for i < lo, addr[i] > addr for i >= hi. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->addr[mid] <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	*offset = addr - t->addr[lo - 1];
	return t->names + t->off[lo - 1];
}
