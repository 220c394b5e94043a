/*
 * runtime.c: the portable start and exit of the runtime (see runtime.h).
 *
 * ebb_start is what the platform calls last, after ebb_init_runtime
 * (init.c) and its drivers.  The app runs as the first event of the
 * loops' first (and, in an instance, only) run; event_run returns when
 * some event has called event_stop, which is what ebb_exit is, and then
 * the instance ends.
 * Tests use event_run directly, many times, and never ebb_start.
 */
#include <stdio.h>

#include "kernel/platform.h"
#include "event.h"
#include "runtime.h"

static int app_argc;
static char **app_argv;

/* The first event on core 0: the app. */
static void
app_event(void *unused)
{
	int status;

	(void)unused;
	status = app_main(app_argc, app_argv);
	if (status != EBB_RUN)
		ebb_exit(status);
}

void
ebb_start(int argc, char **argv)
{
	int status;

	app_argc = argc;
	app_argv = argv;
	status = event_run(app_event, NULL);	/* other cores start; app_main
						 * first on core 0; until ebb_exit */
	fflush(stdout);		/* the app's last words, if unterminated */
	fflush(stderr);
	machine_exit(status);
}

void
ebb_exit(int status)
{
	event_stop(status);
}
