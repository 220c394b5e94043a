/*
 * runtime.c: the portable start of the runtime (see runtime.h).
 *
 * For now the runtime is one core running the application to completion:
 * app_main's return ends the instance.  The event loops, the Ebb tables
 * and the other cores come up here as they are built.
 */
#include <stdio.h>

#include "kernel/platform.h"
#include "runtime.h"

void
ebb_start(int argc, char **argv)
{
	int status = app_main(argc, argv);

	fflush(stdout);		/* the app's last words, if unterminated */
	fflush(stderr);
	machine_exit(status);
}
