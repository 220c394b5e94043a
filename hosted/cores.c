/*
 * cores.c: the hosted runtime's cores — platform.h's cores_start,
 * core_sleep, core_wake, irq_alloc and irq_poll — and Ctrl-C.
 *
 * A core is a thread.  cores_start makes one thread for each of cores
 * 1 .. core_count()-1 (the main thread is core 0); each makes itself
 * that core (hosted_set_core), pins itself to one CPU, says it is in,
 * and calls the runtime's entry.  With more cores than CPUs the pinning
 * wraps around, two or more cores to a CPU; where pinning is not
 * allowed (a restricted container) the threads simply float.
 *
 * Sleeping is a wait on the core's eventfd: core_sleep polls it with the
 * time left until the deadline as a timeout, then drains it; core_wake
 * writes 1 to it.  An eventfd is a counter, so a wake that comes before
 * the sleep is kept and makes the next sleep return at once, as
 * platform.h asks.  Both are async-signal-safe, so the SIGINT handler
 * can wake cores too.  A driver whose queue is a file descriptor (the
 * TAP device, hosted/tap.c) asks with hosted_core_watch_fd that its fd
 * be polled too: then data arriving on it ends the core's sleep, as an
 * interrupt would, and the loop goes round to its idle handlers, which
 * read it.  Level-triggered, so a frame that arrives after the idle
 * handler looked and before the sleep is never missed.
 *
 * Interrupts: the hosted machine has none.  irq_alloc says so (-1), and
 * irq_poll, which every loop calls when idle, is where a core notices
 * Ctrl-C.
 *
 * Ctrl-C: the SIGINT handler only sets a flag and wakes every core; the
 * first core to notice (in irq_poll or after core_sleep) ends the
 * process with status 130 (128 + SIGINT, the shell's convention),
 * flushing stdio on the way out.  A core busy in a long event notices
 * only when it is next idle, so a second Ctrl-C ends the process from
 * the handler itself, without the flush.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "hosted.h"
#include "kernel/platform.h"

#define EXIT_SIGINT	(128 + SIGINT)	/* status after Ctrl-C */

static void (*core_entry)(void);	/* what each new core calls */
static int called_in;			/* cores that have started */
static cpu_set_t cpus;			/* the CPUs the process may use */
static int ncpus;			/* how many */
static int efd[NCPU];			/* eventfd + 1 per core; 0: none yet */
static int interrupted;			/* SIGINT seen (atomic accesses) */

/*
 * Per core: extra fds core_sleep polls (hosted_core_watch_fd).  Written
 * before the core starts (cores_start's pthread_create orders them) or
 * by the core itself, read only by that core.
 */
static int watch_fd[NCPU][HOSTED_WATCH_MAX];
static int nwatch[NCPU];

/*
 * Core c's eventfd, made on first use.  Lock-free and signal-safe: two
 * callers may both make one, and the loser of the CAS closes its own.
 * Acquire/release: whoever sees the stored fd sees it fully made.
 */
static int
core_efd(int c)
{
	int fd = __atomic_load_n(&efd[c], __ATOMIC_ACQUIRE);
	int mine, none = 0;

	if (fd != 0)
		return fd - 1;
	if ((mine = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		panic("core_efd: eventfd: %s", strerror(errno));
	if (__atomic_compare_exchange_n(&efd[c], &none, mine + 1, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return mine;
	close(mine);
	return none - 1;		/* the winner's */
}

/* Pin the calling thread to the (c mod ncpus)-th CPU it may use. */
static void
pin(int c)
{
	cpu_set_t one;
	int k = c % ncpus;

	CPU_ZERO(&one);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &cpus) && k-- == 0) {
			CPU_SET(cpu, &one);
			break;
		}
	}
	(void)pthread_setaffinity_np(pthread_self(), sizeof one, &one);
}

/* A new core's thread: become core c, pin, say so, run the entry. */
static void *
core_thread(void *arg)
{
	int c = (int)(intptr_t)arg;

	hosted_set_core(c);
	if (ncpus > 0)
		pin(c);
	/* Release: this core is set up before cores_start sees it in. */
	__atomic_add_fetch(&called_in, 1, __ATOMIC_RELEASE);
	core_entry();
	return NULL;		/* NOTREACHED: the entry never returns */
}

void
cores_start(void (*entry)(void))
{
	int n = core_count();
	pthread_attr_t attr;
	pthread_t t;

	if (core_entry != NULL)
		panic("cores_start: called twice");
	core_entry = entry;
	if (n > 1 && sched_getaffinity(0, sizeof cpus, &cpus) == 0) {
		ncpus = CPU_COUNT(&cpus);	/* read before pinning core 0 */
		pin(0);
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (int c = 1; c < n; c++) {
		int err = pthread_create(&t, &attr, core_thread, (void *)(intptr_t)c);
		if (err != 0) {
			fprintf(stderr, "cores_start: core %d: %s; running on %d\n",
			    c, strerror(err), c);
			hosted_set_core_count(n = c);
		}
	}
	pthread_attr_destroy(&attr);
	/* Acquire: pairs with each core's release of called_in. */
	while (__atomic_load_n(&called_in, __ATOMIC_ACQUIRE) < n - 1)
		sched_yield();
}

/*
 * If Ctrl-C was pressed, end the process (from any core).  Relaxed: the
 * flag orders nothing else, and the handler's eventfd writes make a
 * sleeping core look again.
 */
static void
check_interrupted(void)
{
	if (__atomic_load_n(&interrupted, __ATOMIC_RELAXED)) {
		fflush(stdout);
		fflush(stderr);
		_exit(EXIT_SIGINT);
	}
}

int
hosted_core_watch_fd(int c, int fd)
{
	if (c < 0 || c >= NCPU || nwatch[c] == HOSTED_WATCH_MAX)
		return -1;
	watch_fd[c][nwatch[c]++] = fd;
	return 0;
}

void
core_sleep(uint64_t deadline)
{
	int c = core_id(), n = nwatch[c];
	struct pollfd p[1 + HOSTED_WATCH_MAX];
	struct timespec ts, *timeout = NULL;
	uint64_t count;

	p[0] = (struct pollfd){ .fd = core_efd(c), .events = POLLIN };
	for (int i = 0; i < n; i++)	/* the drivers' fds: read by their idle handlers */
		p[1 + i] = (struct pollfd){ .fd = watch_fd[c][i], .events = POLLIN };

	if (deadline != 0) {
		uint64_t now = clock_ns(), left = deadline > now ? deadline - now : 0;
		ts.tv_sec = (time_t)(left / 1000000000u);
		ts.tv_nsec = (long)(left % 1000000000u);
		timeout = &ts;
	}
	(void)ppoll(p, (nfds_t)(1 + n), timeout, NULL);	/* EINTR: a signal; fine */
	(void)read(p[0].fd, &count, sizeof count);	/* drain; EAGAIN if none */
	check_interrupted();
}

void
core_wake(int c)
{
	uint64_t one = 1;

	(void)write(core_efd(c), &one, sizeof one);
}

int
irq_alloc(void (*handler)(void *arg), void *arg)
{
	(void)handler;
	(void)arg;
	return -1;		/* no interrupts on the hosted machine */
}

void
irq_poll(void)
{
	check_interrupted();
}

/* SIGINT: note it and wake every core; a second one exits at once. */
static void
on_sigint(int sig)
{
	/* Relaxed: the flag orders nothing; core_wake's eventfd write does. */
	if (__atomic_exchange_n(&interrupted, 1, __ATOMIC_RELAXED))
		_exit(128 + sig);
	for (int c = 0; c < core_count(); c++)
		core_wake(c);
}

void
hosted_catch_sigint(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
}
