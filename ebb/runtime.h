/*
 * runtime.h: the portable runtime's start, and the entry point every
 * application defines.
 *
 * Each platform's entry (kmain in kernel/main.c, main in hosted/main.c)
 * sets up its machine and calls ebb_start: that is the one call up the
 * floors.  ebb_start brings up the runtime and runs the app on core 0.
 */
#ifndef EBB_RUNTIME_H
#define EBB_RUNTIME_H

/* Start the runtime and run the application; never returns. */
void ebb_start(int argc, char **argv) __attribute__((noreturn));

/*
 * Defined by every application in app/: runs on core 0 once the runtime
 * is up, with the command line as argv.  Its return value becomes the
 * instance's exit status (0..EXIT_MAX; see machine_exit).
 */
int app_main(int argc, char **argv);

#endif
