/*
 * main.c: the hosted runtime's entry, the Linux counterpart of kmain.
 *
 *	build/hosted/APP [args...]
 *
 * Sets up the process as the machine (fault reporting; one core for now)
 * and hands over to the portable runtime, which runs the app and exits
 * with its status.
 */
#include "ebb/runtime.h"
#include "hosted.h"

int
main(int argc, char **argv)
{
	hosted_init();		/* faults print a report, as native traps do */
	ebb_start(argc, argv);	/* the portable runtime: runs the app */
}
