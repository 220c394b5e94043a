/*
 * main.c: the hosted runtime's entry, the Linux counterpart of kmain.
 *
 *	build/hosted/APP [args...]
 *
 * Sets up the process as the machine (fault reporting, the runtime's
 * allocators over one mmap; one core for now) and hands over to the
 * portable runtime, which runs the app and exits with its status.  The
 * app itself uses glibc's malloc; kmalloc is the runtime's.
 */
#include "ebb/runtime.h"
#include "kernel/malloc.h"
#include "kernel/page.h"
#include "kernel/slab.h"
#include "hosted.h"

int
main(int argc, char **argv)
{
	hosted_init();		/* faults print a report, as native traps do */
	page_init();		/* the runtime's allocators, over one mmap */
	slab_init();
	kmalloc_init();
	ebb_start(argc, argv);	/* the portable runtime: runs the app */
}
