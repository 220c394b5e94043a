/*
 * fault.c: breaks on purpose, so that the trap and panic reports can be
 * seen and tested.  The first argument says how:
 *
 *	(none), page	write to an unmapped address (a page fault)
 *	ud		execute an invalid instruction (ud2)
 *	div		divide by zero
 *	panic		call panic()
 *	exit N		exit with status N (checks the status path)
 *
 * Natively each ends in a report on the console and exit status
 * EXIT_PANIC (70); hosted, in the hosted runtime's signal report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebb/runtime.h"
#include "kernel/platform.h"

/* Canonical but never mapped: above the 4 GiB boot map, far above RAM. */
#define UNMAPPED ((volatile int *)0xdead0000000ULL)

__attribute__((noinline)) static void
fault_touch(void)
{
	*UNMAPPED = 1;
}

__attribute__((noinline)) static void
fault_ud(void)
{
	__asm__ volatile("ud2");
}

__attribute__((noinline)) static int
fault_div(volatile int d)
{
	return 100 / d;
}

int
app_main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "page";

	printf("fault: %s\n", how);
	fflush(stdout);
	if (strcmp(how, "page") == 0)
		fault_touch();
	else if (strcmp(how, "ud") == 0)
		fault_ud();
	else if (strcmp(how, "div") == 0)
		printf("%d\n", fault_div(0));
	else if (strcmp(how, "panic") == 0)
		panic("fault: panic on request (%d argument%s)", argc, argc == 1 ? "" : "s");
	else if (strcmp(how, "exit") == 0 && argc > 2)
		return atoi(argv[2]);
	printf("fault: unknown kind '%s'; try page, ud, div, panic or exit N\n", how);
	return 2;
}
