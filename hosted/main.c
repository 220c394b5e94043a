/*
 * main.c: the hosted runtime's entry, the Linux counterpart of kmain.
 *
 *	build/hosted/APP [--cpus N] [--tap NAME] [--] [args...]
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
 *	--tap NAME, --tap=NAME	make the TAP device NAME (hosted/tap.c), one
 *				queue per core, and add it as an interface
 *	--help, -h		print the usage, these options' and the
 *				app's (its app_usage), and exit with 0
 *
 * A bad option prints the usage and exits with EXIT_USAGE (64); a TAP
 * device that cannot be made (no /dev/net/tun, no permission) prints
 * why and exits with 1.  After "--", "--help" is the app's.
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
#include "tap.h"

/* Print the usage to f: the runtime's options, then the app's arguments. */
static void
print_usage(FILE *f, const char *prog)
{
	const char *app = strrchr(prog, '/') ? strrchr(prog, '/') + 1 : prog;

	fprintf(f, "usage: %s [--cpus N] [--tap NAME] [--help] [--] [%s's arguments]\n"
	    "  --cpus N   run on N cores (threads), 1 to %d; default 1\n"
	    "  --tap NAME make the TAP device NAME and use it as a network interface\n"
	    "             (needs root or CAP_NET_ADMIN)\n"
	    "  --help     print this and exit\n"
	    "  --         end of these options: what follows is the app's, even --help\n"
	    "%s's arguments: %s\n",
	    prog, app, NCPU, app, app_usage[0] != '\0' ? app_usage : "none");
}

/* Print the usage, with what was wrong, and exit with EXIT_USAGE. */
static void
usage(const char *prog, const char *why, const char *arg)
{
	fprintf(stderr, "%s: %s%s%s\n", prog, why, arg ? ": " : "", arg ? arg : "");
	print_usage(stderr, prog);
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

static const char *tap_name;		/* --tap NAME, or NULL */

/* --tap's argument, or usage. */
static const char *
parse_tap(const char *prog, const char *s)
{
	if (s == NULL || *s == '\0')
		usage(prog, "--tap needs an interface name", NULL);
	if (tap_name != NULL)
		usage(prog, "only one --tap", s);
	return s;
}

/*
 * Make the TAP interface --tap asked for (after --cpus is known: one
 * queue per core) and add it; on failure say why and exit with 1.
 */
static void
add_tap(const char *prog)
{
	char why[200];

	if (tap_name != NULL && tap_create(tap_name, core_count(), why, sizeof why) == NULL) {
		fprintf(stderr, "%s: --tap %s: %s\n", prog, tap_name, why);
		exit(1);
	}
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
		else if (strcmp(argv[i], "--tap") == 0)
			tap_name = parse_tap(argv[0], argv[++i]);
		else if (strncmp(argv[i], "--tap=", 6) == 0)
			tap_name = parse_tap(argv[0], argv[i] + 6);
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			print_usage(stdout, argv[0]);
			exit(0);
		}
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
	setvbuf(stdout, NULL, _IOLBF, 0);	/* a line at a time, as a serial
					 * console shows it, even into a file
					 * or a pipe that a test reads as it comes */
	hosted_init();		/* faults print a report, as native traps do */
	hosted_catch_sigint();	/* Ctrl-C ends the run with status 130 */
	argc = take_options(argc, argv);	/* --cpus: core_count(); --tap */
	page_init();		/* the runtime's allocators, over one mmap */
	slab_init();
	kmalloc_init();
	ebb_init_runtime();	/* the id map, loops, timers, RCU: drivers may use them */
	add_tap(argv[0]);	/* --tap: after the allocators (iobufs) and
				 * core_count; hooks the loops, so before ebb_start */
	ebb_start(argc, argv);	/* the portable runtime: cores, loops, the app */
}
