/*
 * hello.c: the smallest application, and a tour of the event loop.
 *
 *	make run ARGS="a b" CPUS=4	native, in QEMU
 *	build/hosted/hello --cpus 4 a b	the same source, as a Linux program
 *
 * It prints which core it starts on and its arguments, one per line;
 * asks the last core for an answer and blocks on it (a future, which
 * that core resolves: app_main's event gives up core 0 meanwhile and
 * resumes where it was); then greets every other core with an event
 * sent there (spawn_on), so that "hello from core N" is printed on core
 * N itself; counts the greetings with an atomic, and the last one sends
 * an event back to core 0; there it arms a 10 ms timer, and when the
 * timer fires it says how long it took and ends the instance with status
 * 0.  app_main returns EBB_RUN so that the loops keep running until
 * ebb_exit.
 *
 *	core 0: app_main ---spawn_on---> core n-1: answer, future_resolve
 *	core 0: app_main blocked ... resumed with the answer
 *	core 0: app_main ---spawn_on---> core N: greet (N = 1 .. n-1)
 *	core 0: greeted  <--spawn_on---- the last greet
 *	core 0: greeted arms the timer ... 10 ms ... fired: ebb_exit(0)
 */
#include <stdio.h>

#include "ebb/event.h"
#include "ebb/future.h"
#include "ebb/runtime.h"
#include "ebb/timer.h"
#include "kernel/platform.h"
#include "kernel/spinlock.h"

#define HELLO_TIMER_MS	10	/* how long the timer waits */

static int greetings;		/* greets run so far, on any core (atomic) */
static struct timer timer;	/* armed on core 0 by greeted */
static uint64_t armed_at;	/* clock_ns() when it was armed */
static struct future answer;	/* resolved by the last core */

/*
 * The greetings print at the same time on different cores, and the
 * console takes no lock (so that a trap can always print), so without
 * this their bytes could interleave.  Held across one printf only.
 */
static struct spinlock print_lock = SPINLOCK_INIT("hello print");

/* Something could not be queued or armed: say so and end with status 1. */
static void
fail(const char *what)
{
	printf("hello: no memory to %s\n", what);
	ebb_exit(1);
}

/* The timer fired, on core 0: the end. */
static void
fired(void *unused)
{
	(void)unused;
	printf("timer fired after %llu ms\n",
	    (unsigned long long)((clock_ns() - armed_at) / TIMER_MS));
	ebb_exit(0);
}

/* Every other core has greeted; on core 0: arm the timer. */
static void
greeted(void *unused)
{
	(void)unused;
	timer_setup(&timer, fired, NULL);
	armed_at = clock_ns();
	if (timer_start(&timer, HELLO_TIMER_MS * TIMER_MS, 0) != 0)
		fail("arm a timer");
}

/* A greeting, on the core it was sent to; the last one reports back. */
static void
greet(void *unused)
{
	(void)unused;
	spin_lock(&print_lock);
	printf("hello from core %d\n", core_id());
	fflush(stdout);
	spin_unlock(&print_lock);
	/* Acq_rel: the last greeter sees every other greeting done. */
	if (__atomic_add_fetch(&greetings, 1, __ATOMIC_ACQ_REL) == core_count() - 1 &&
	    spawn_on(0, greeted, NULL) != 0)
		fail("send an event to core 0");
}

/* On the last core: work out the answer (here, just who we are). */
static void
compute(void *unused)
{
	(void)unused;
	future_resolve(&answer, (void *)(uintptr_t)(4200 + core_id()));
}

/* ebb/runtime.h: the words are printed back, one a line. */
const char app_usage[] = "[WORD...]";

int
app_main(int argc, char **argv)
{
	void *v;

	printf("hello from core %d\n", core_id());
	for (int i = 1; i < argc; i++)
		printf("arg %d: %s\n", i, argv[i]);
	fflush(stdout);
	future_init(&answer);
	if (spawn_on(core_count() - 1, compute, NULL) != 0 || future_block(&answer, &v) != 0) {
		fail("ask for the answer");
		return EBB_RUN;
	}
	printf("future resolved on core %d: %lu, back on core %d\n", (int)((uintptr_t)v - 4200),
	    (unsigned long)(uintptr_t)v, core_id());
	fflush(stdout);
	for (int c = 1; c < core_count(); c++)
		if (spawn_on(c, greet, NULL) != 0)
			fail("send a greeting");
	if (core_count() == 1)
		greeted(NULL);		/* no other core to greet */
	return EBB_RUN;
}
