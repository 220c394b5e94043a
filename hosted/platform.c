/*
 * platform.c: platform.h for the hosted runtime, on Linux.
 *
 * A core is a thread; its id lives in a thread-local variable that the
 * runtime (or a test) sets when it starts the thread.  The clock is
 * CLOCK_MONOTONIC (the wall clock CLOCK_REALTIME), the console is standard output written with write(2)
 * (no stdio buffer, so it is safe in a signal handler), and the memory
 * the page allocator manages is one anonymous mmap of HOSTED_MEM bytes.
 *
 * A fault (SIGSEGV and friends) prints a report in the native report's
 * shape — "trap: <what> ... fault address ..." and a backtrace — and
 * exits with EXIT_PANIC, as native does.  The backtrace's frames come
 * from glibc's backtrace() (the unwinder, which steps through the
 * signal frame), starting at the faulting instruction, or for a panic
 * at panic itself, as the native report's; their names from the
 * program's own symbol table (hosted/symbols.c), "#1  0x... app_main+0x2a".
 */
#define _GNU_SOURCE
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "hosted.h"
#include "kernel/platform.h"
#include "kernel/print.h"

__thread int hosted_core;	/* core.h: this thread's core id */
/*
 * Core 0's Ebb table is static (zero pages until touched), so that a
 * thread is core 0, with a table, before anyone calls hosted_set_core:
 * the main thread, and tests' threads until they pick a core.
 */
static void *core0_table[EBB_TABLE_SLOTS];
__thread void **hosted_ebb_table = core0_table;	/* core.h: this core's Ebb table */
static int ncores = 1;
static size_t mem_size = HOSTED_MEM;

void
hosted_set_core(int id)
{
	static void **tables[NCPU] = { core0_table };	/* each core's Ebb table */
	static pthread_mutex_t tables_lock = PTHREAD_MUTEX_INITIALIZER;

	if (id < 0 || id >= NCPU)
		panic("hosted_set_core: core %d out of range", id);
	pthread_mutex_lock(&tables_lock);
	if (tables[id] == NULL) {
		/* Zero pages on demand, like the native table's. */
		void *t = mmap(NULL, EBB_TABLE_SLOTS * sizeof(void *), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (t == MAP_FAILED)
			panic("hosted_set_core: cannot map core %d's Ebb table", id);
		tables[id] = t;
	}
	pthread_mutex_unlock(&tables_lock);
	hosted_core = id;
	hosted_ebb_table = tables[id];
}

void
hosted_set_core_count(int n)
{
	if (n < 1 || n > NCPU)
		panic("hosted_set_core_count: %d cores out of range", n);
	ncores = n;
}

void
hosted_set_mem(size_t bytes)
{
	mem_size = bytes;
}

int
core_count(void)
{
	return ncores;
}

uint64_t
clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
console_write(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(1, s, n);
		if (w <= 0)
			return;		/* nowhere left to complain to */
		s += w;
		n -= (size_t)w;
	}
}

void
machine_exit(int status)
{
	if (status < 0 || status > EXIT_MAX)
		status = EXIT_MAX;
	fflush(stdout);
	fflush(stderr);
	_exit(status);
}

/*
 * Print the call chain, as the native report does, from frame first of
 * glibc's backtrace, or, if fault is not NULL, from the frame at the
 * faulting instruction fault (the frames before it are the handler's).
 * Frame 0 is looked up at its address, the others at their return
 * address - 1: inside the call.  Never inlined: it is a frame itself.
 */
static __attribute__((noinline)) void
print_backtrace(int first, void *fault)
{
	void *pc[BACKTRACE_MAX + 8];
	int n = backtrace(pc, BACKTRACE_MAX + 8);

	for (int i = 0; fault != NULL && i < n; i++)
		if (pc[i] == fault)
			first = i;
	kprintf("backtrace:\n");
	for (int i = first; i < n && i - first < BACKTRACE_MAX; i++) {
		uintptr_t a = (uintptr_t)pc[i], off;
		const char *name = symbols_find(i == first ? a : a - 1, &off);
		kprintf("  #%-2d %#lx ", i - first, (unsigned long)a);
		if (name != NULL)
			kprintf("%s+0x%lx\n", name, (unsigned long)(off + (i == first ? 0 : 1)));
		else
			kprintf("(not in the program)\n");
	}
}

void
panic(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	kprintf("\npanic: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n  on core %d\n", core_id());
	print_backtrace(1, NULL);	/* frame 0 is print_backtrace's own */
	machine_exit(EXIT_PANIC);
}

static void
on_fault(int sig, siginfo_t *si, void *ctx)
{
	void *rip = (void *)((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RIP];
	const char *what = sig == SIGSEGV ? "segmentation fault" :
	    sig == SIGBUS ? "bus error" : sig == SIGILL ? "invalid opcode" :
	    "arithmetic exception";

	kprintf("\ntrap: %s (signal %d) on core %d\n  fault address %p\n",
	    what, sig, core_id(), si->si_addr);
	print_backtrace(0, rip);
	machine_exit(EXIT_PANIC);
}

void
hosted_init(void)
{
	static char altstack[64 * 1024];	/* so a stack overflow is reported too */
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };

	hosted_set_core(0);			/* the main thread is core 0 */
	struct sigaction sa;

	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
}

/* platform.h: the page can no longer be touched (mprotect). */
void
stack_guard(void *page, const char *stack_name)
{
	if (mprotect(page, PAGE_SIZE, PROT_NONE) != 0)
		panic("stack_guard: cannot protect the page below %s", stack_name);
}

/* One range: an anonymous mapping, made on the first (and only) call. */
int
mem_ranges(struct mem_range *out, int max)
{
	static int handed_out;

	if (handed_out++)
		panic("mem_ranges: called twice");
	if (max < 1)
		return 0;
	void *p = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		panic("mem_ranges: cannot map %zu bytes", mem_size);
	out[0].base = (uintptr_t)p;
	out[0].len = mem_size & ~(size_t)(PAGE_SIZE - 1);
	return 1;
}
