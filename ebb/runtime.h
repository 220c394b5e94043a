/*
 * runtime.h: the portable runtime's start and exit, and the entry point
 * every application defines.
 *
 * Each platform's entry (kmain in kernel/main.c, main in hosted/main.c)
 * sets up its machine, calls ebb_init_runtime before its drivers probe
 * (a driver may arm a timer or hook the loops as it attaches), then
 * ebb_start: that is the one call up the floors.  ebb_init_runtime
 * brings up the id map, the event loops, the timers and RCU on core 0;
 * ebb_start starts the other cores (each enters its own loop) and runs
 * app_main as the first event on core 0.  The instance then lives as long as its
 * events do:
 *
 *	app_main returns s >= 0		the instance exits with status s
 *	app_main returns EBB_RUN	the loops keep running; some event
 *					later calls ebb_exit(s)
 *
 * Either way the exit is orderly: every core finishes the event it is
 * running and leaves its loop, then core 0 flushes stdio and calls
 * machine_exit(s).  (A panic or, hosted, Ctrl-C ends it at once.)
 */
#ifndef EBB_RUNTIME_H
#define EBB_RUNTIME_H

/* app_main's "keep running" status: not an exit status (those are >= 0). */
#define EBB_RUN	(-1)

/*
 * The id map, the loops, timers and RCU, on core 0, before anything
 * uses them (drivers included); the loops do not run yet.  Once.
 */
void ebb_init_runtime(void);

/* Start the cores and run the application; never returns. */
void ebb_start(int argc, char **argv) __attribute__((noreturn));

/*
 * End the instance with status (0..EXIT_MAX) once the calling event and
 * those running on other cores have returned.  Any core, any event; the
 * first call wins.  It returns, so the caller's event ends normally.
 */
void ebb_exit(int status);

/*
 * Defined by every application in app/: runs on core 0 as the first
 * event, once the runtime and every core are up (core_count() is final),
 * with the command line as argv (hosted: less the runtime's own options,
 * such as --cpus).  Returns an exit status, or EBB_RUN to go on running
 * events until one of them calls ebb_exit.
 */
int app_main(int argc, char **argv);

/*
 * Defined by every application in app/ beside app_main: its arguments,
 * one line in the usual notation ("[N]"; "" for none), which the hosted
 * runtime's --help prints after its own options, and which an app may
 * print with its own usage errors.
 */
extern const char app_usage[];

#endif
