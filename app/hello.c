/*
 * hello.c: the smallest application.  Prints which core it runs on and
 * its arguments, one per line, and exits with status 0.
 *
 *	make run ARGS="a b"		native, in QEMU
 *	build/hosted/hello a b		the same source, as a Linux program
 */
#include <stdio.h>

#include "ebb/runtime.h"
#include "kernel/platform.h"

int
app_main(int argc, char **argv)
{
	printf("hello from core %d\n", core_id());
	for (int i = 1; i < argc; i++)
		printf("arg %d: %s\n", i, argv[i]);
	return 0;
}
