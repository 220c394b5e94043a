/*
 * main.c: the hosted runtime's entry, the Linux counterpart of kmain.
 *
 *	build/hosted/APP [--cpus N] [--] [args...]
 *
 * Sets up the process as the machine (fault reporting, Ctrl-C, the
 * number of cores, the runtime's allocators over one mmap) and hands over
 * to the portable runtime, which starts the other cores (threads), runs
 * the app and exits with its status.  The app itself uses glibc's
 * malloc; kmalloc is the runtime's.
 *
 * The runtime's options come first and are taken out of argv before the
 * app sees it; the first argument that is not one of them (or a "--",
 * which is dropped) ends them:
 *
 *	--cpus N, --cpus=N	run on N cores, 1..NCPU (default 1)
 *
 * A bad option prints the usage and exits with EXIT_USAGE (64).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebb/runtime.h"
#include "kernel/malloc.h"
#include "kernel/page.h"
#include "kernel/platform.h"
#include "kernel/slab.h"
#include "hosted.h"

/* Print the usage, with what was wrong, and exit with EXIT_USAGE. */
static void
usage(const char *prog, const char *why, const char *arg)
{
	fprintf(stderr, "%s: %s%s%s\n", prog, why, arg ? ": " : "", arg ? arg : "");
	fprintf(stderr, "usage: %s [--cpus N] [--] [args...]\n"
	    "  --cpus N   run on N cores (threads), 1 to %d; default 1\n",
	    prog, NCPU);
	exit(EXIT_USAGE);
}

/* The number of cores in s, or usage. */
static int
parse_cpus(const char *prog, const char *s)
{
	char *end;
	long n;

	if (s == NULL)
		usage(prog, "--cpus needs a number", NULL);
	n = strtol(s, &end, 10);
	if (end == s || *end != '\0' || n < 1 || n > NCPU)
		usage(prog, "bad number of cpus", s);
	return (int)n;
}

/* Take the runtime's options out of argv; returns the new argc. */
static int
take_options(int argc, char **argv)
{
	int i = 1, out = 1;

	for (; i < argc; i++) {
		if (strcmp(argv[i], "--cpus") == 0)
			hosted_set_core_count(parse_cpus(argv[0], argv[++i]));
		else if (strncmp(argv[i], "--cpus=", 7) == 0)
			hosted_set_core_count(parse_cpus(argv[0], argv[i] + 7));
		else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else
			break;
	}
	while (i < argc)
		argv[out++] = argv[i++];
	argv[out] = NULL;
	return out;
}

int
main(int argc, char **argv)
{
	hosted_init();		/* faults print a report, as native traps do */
	hosted_catch_sigint();	/* Ctrl-C ends the run with status 130 */
	argc = take_options(argc, argv);	/* --cpus: core_count() */
	page_init();		/* the runtime's allocators, over one mmap */
	slab_init();
	kmalloc_init();
	ebb_start(argc, argv);	/* the portable runtime: cores, loops, the app */
}
