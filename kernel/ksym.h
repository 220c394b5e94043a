/*
 * ksym.h: looking up function names by address, for backtraces.
 *
 * A table is three parallel views of one sorted list of functions: their
 * start addresses (ascending), the offsets of their names in one string
 * blob, and the blob.  The native image carries its own table, made at
 * link time by kernel/ksyms.awk from the image's symbols (see the
 * Makefile); the lookup itself is portable and tested on the host.
 */
#ifndef KSYM_H
#define KSYM_H

#include <stddef.h>
#include <stdint.h>

struct ksym_table {
	size_t n;		/* number of symbols */
	const uint64_t *addr;	/* n start addresses, ascending */
	const uint32_t *off;	/* n offsets into names */
	const char *names;	/* NUL-terminated names, back to back */
};

/*
 * The name of the function containing addr, with *offset set to addr's
 * distance from its start; NULL if addr lies below the first symbol.
 */
const char *ksym_find(const struct ksym_table *t, uintptr_t addr, uintptr_t *offset);

#endif
