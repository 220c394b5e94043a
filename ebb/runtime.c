/*
 * runtime.c: the portable start and exit of the runtime (see runtime.h).
 *
 * ebb_init_runtime is the table of contents of the runtime's start, as
 * kmain is of the machine's: each line brings up one piece, in
 * dependency order.  The platform calls it before its drivers probe,
 * since a driver may arm a timer as it attaches (virtio-net's
 * watchdog), and then ebb_start.  The app runs as the first event of the loops' first (and, in
 * an instance, only) run; event_run returns when some event has called
 * event_stop, which is what ebb_exit is, and then the instance ends.
 * Tests use event_run directly, many times, and never ebb_start.
 */
#include <stdio.h>

#include "kernel/platform.h"
#include "ebb.h"
#include "event.h"
#include "rcu.h"
#include "runtime.h"
#include "timer.h"

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
ebb_init_runtime(void)
{
	ebb_init();		/* the local id map */
	event_init();		/* the loops' queues and event records: EBB_EVENTS */
	timer_init();		/* timers, hooked into the loops: EBB_TIMERS */
	rcu_init();		/* grace periods: hooks into the loops too */
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
