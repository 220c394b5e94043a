/*
 * hosted.h: what the hosted runtime offers beyond platform.h, for its own
 * main and for the hosted tests (which play several cores with threads).
 */
#ifndef HOSTED_H
#define HOSTED_H

#include <stddef.h>

/* Install the fault reporter (SIGSEGV, SIGBUS, SIGILL, SIGFPE). */
void hosted_init(void);

/* Make the calling thread core id (tests: one thread per pretend core). */
void hosted_set_core(int id);

/* Pretend to have n cores (1 <= n <= NCPU). */
void hosted_set_core_count(int n);

/* The size of the region mem_ranges mmaps; call before it is used. */
void hosted_set_mem(size_t bytes);

#endif
