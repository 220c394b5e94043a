/*
 * fault.c: breaks on purpose, so that the trap and panic reports can be
 * seen and tested.  The first argument says how:
 *
 *	(none), page	write to an unmapped address (a page fault)
 *	null		read through a null pointer
 *	wtext		write into the program's own code (read-only)
 *	xdata		jump into data (no-execute)
 *	stack		recurse until the stack overflows into its guard page
 *	loopstack	the same on an event loop stack: app_main blocks, so
 *			the next event runs on a loop instance's stack
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

#include "ebb/event.h"
#include "ebb/runtime.h"
#include "kernel/platform.h"

/* Canonical but never mapped: above the 4 GiB boot map, far above RAM. */
#define UNMAPPED ((volatile int *)0xdead0000000ULL)

__attribute__((noinline)) static void
fault_touch(void)
{
	*UNMAPPED = 1;
}

__attribute__((noinline)) static int
fault_null(int *volatile p)
{
	return *p;
}

__attribute__((noinline)) static void
fault_wtext(void)
{
	*(volatile unsigned char *)(void *)&fault_wtext = 0xC3;
}

static unsigned char data_ret[16] = { 0xC3 };	/* "ret", in writable data */

__attribute__((noinline)) static void
fault_xdata(void)
{
	((void (*)(void))(void *)data_ret)();
}

/* Each level keeps 1 KiB live, so the stack fills fast; never ends. */
__attribute__((noinline)) static int
fault_stack(int depth)
{
	volatile char pad[1024];

	pad[0] = (char)depth;
	if (depth < 0)		/* never true, but the compiler can't know */
		return 0;
	return fault_stack(depth + 1) + pad[0];
}

static void
overflow_event(void *unused)
{
	(void)unused;
	printf("%d\n", fault_stack(0));
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

/* ebb/runtime.h: how to break (the top of this file). */
const char app_usage[] = "[page | null | wtext | xdata | stack | loopstack | ud | div | panic | exit N]";

int
app_main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "page";

	printf("fault: %s\n", how);
	fflush(stdout);
	if (strcmp(how, "page") == 0)
		fault_touch();
	else if (strcmp(how, "null") == 0)
		printf("%d\n", fault_null(NULL));
	else if (strcmp(how, "wtext") == 0)
		fault_wtext();
	else if (strcmp(how, "xdata") == 0)
		fault_xdata();
	else if (strcmp(how, "stack") == 0)
		printf("%d\n", fault_stack(0));
	else if (strcmp(how, "loopstack") == 0) {
		struct event_ctx ctx;	/* never activated: the overflow ends it all */
		event_ctx_init(&ctx);
		spawn(overflow_event, NULL);
		event_block(&ctx);
	} else if (strcmp(how, "ud") == 0)
		fault_ud();
	else if (strcmp(how, "div") == 0)
		printf("%d\n", fault_div(0));
	else if (strcmp(how, "panic") == 0)
		panic("fault: panic on request (%d argument%s)", argc, argc == 1 ? "" : "s");
	else if (strcmp(how, "exit") == 0 && argc > 2)
		return atoi(argv[2]);
	printf("fault: unknown kind '%s'; try page, null, wtext, xdata, stack, loopstack,"
	    " ud, div, panic or exit N\n", how);
	return 2;
}
