/*
 * hosted.h: what the hosted runtime offers beyond platform.h, for its own
 * main and for the hosted tests (which play several cores with threads).
 */
#ifndef HOSTED_H
#define HOSTED_H

#include <stddef.h>
#include <stdint.h>

/* Install the fault reporter (SIGSEGV, SIGBUS, SIGILL, SIGFPE). */
void hosted_init(void);

/*
 * Make the calling thread core id, with that core's Ebb translation table
 * (tests: one thread per pretend core).  hosted_init makes the main
 * thread core 0.
 */
void hosted_set_core(int id);

/*
 * Run on n cores (1 <= n <= NCPU): core_count() says n from now on, and
 * cores_start starts n - 1 threads.  main sets it from --cpus; tests
 * call it to pretend, before their first event_run (or before starting
 * threads of their own, one per pretend core).
 */
void hosted_set_core_count(int n);

/*
 * Make Ctrl-C (SIGINT) end the process with status 130 (hosted/cores.c):
 * main's, not the tests'.
 */
void hosted_catch_sigint(void);

/*
 * Make core c's core_sleep also return when fd is readable (a driver's
 * queue: hosted/tap.c), as an interrupt would wake a native core; the
 * loop then runs its idle handlers, which must read it.  Call before
 * cores_start, or on core c itself.  At most HOSTED_WATCH_MAX per core;
 * returns 0, or -1 if c is out of range or its table is full.
 */
#define HOSTED_WATCH_MAX	4
int hosted_core_watch_fd(int c, int fd);

/* The size of the region mem_ranges mmaps; call before it is used. */
void hosted_set_mem(size_t bytes);

/*
 * The name of this program's function that holds addr, *offset its
 * distance from the function's start; NULL if none (hosted/symbols.c).
 * Safe in a signal handler.
 */
const char *symbols_find(uintptr_t addr, uintptr_t *offset);

#endif
