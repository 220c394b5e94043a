/*
 * platform.h: the platform interface, the only door from portable code to
 * the machine.
 *
 * Portable code (ebb/, tcp/, the allocators in kernel/, app/) is compiled
 * into both builds and never asks which one it is in.  Whatever it needs
 * from the machine it asks for here, and each build answers in its own
 * files:
 *
 *   native  kernel/core.h      core_id, ebb_table (inline)
 *           kernel/smp.c       core_count, cores_start, core_sleep,
 *                              core_wake (on kernel/lapic.c's IPIs and
 *                              one-shot timer)
 *           kernel/irq.c       irq_alloc, irq_poll
 *           kernel/clock.c     clock_ns
 *           kernel/rtc.c       wall_ns
 *           kernel/serial.c    console_write
 *           kernel/main.c      machine_exit
 *           kernel/trap.c      panic
 *           kernel/memmap.c    mem_ranges
 *   hosted  hosted/core.h      core_id, ebb_table (inline)
 *           hosted/cores.c     cores_start, core_sleep, core_wake,
 *                              irq_alloc, irq_poll
 *           hosted/platform.c  core_count, clock_ns, wall_ns, console_write,
 *                              machine_exit, panic, mem_ranges
 *
 * If portable code ever wants an #ifdef on the build, a primitive is
 * missing from this header: add it here and implement it twice.
 *
 * Every function here may be called on any core at any time after the
 * platform's entry has finished its own set-up, except where noted.
 */
#ifndef PLATFORM_H
#define PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "param.h"

/*
 * Which core am I?  0 .. core_count()-1.  Never changes during an event.
 * And where is this core's Ebb translation table (ebb/ebb.h)?  Both are
 * inline: <core.h> is kernel/core.h natively and hosted/core.h hosted.
 */
static inline int core_id(void);
static inline void **ebb_table(void);
#include <core.h>

/*
 * How many cores this instance runs on: natively final from kmain's
 * smp_start on (before any driver's probe), hosted the --cpus count
 * from the start.
 */
int core_count(void);

/*
 * Start the other cores.  Each of cores 1 .. core_count()-1 sets up its
 * own machine (stacks, traps, timer) and then calls entry() on its own
 * stack, never to return.  cores_start returns on core 0 once every core
 * has called in, or has been reported (on the console) as missing and
 * left out of core_count().  Native: the ACPI MADT and INIT-SIPI-SIPI,
 * as many cores as QEMU's -smp, done already by kmain (smp_start), so
 * that here the parked cores are only let go; hosted: one thread per core, as many as
 * --cpus says.  Called once, by the runtime, on core 0.
 */
void cores_start(void (*entry)(void));

/*
 * Sleep this core until core_wake() names it, an interrupt arrives, or
 * clock_ns() reaches deadline (0: no deadline).  It may return early, so
 * callers re-check what they wait for.  Only the event loop calls it,
 * when it has nothing to do; natively this is the one place interrupts
 * are enabled (kernel/README.md).  Native: the LAPIC timer in one-shot
 * mode, then sti; hlt.  Hosted: a wait on the core's eventfd.
 */
void core_sleep(uint64_t deadline);

/*
 * Make core c return from core_sleep, or not sleep at its next call.
 * Any core may call it, for any core (itself included).  Native: an IPI;
 * hosted: a write to the core's eventfd.
 */
void core_wake(int c);

/*
 * Make the page at `page` (page-aligned, owned by the caller, never
 * given back) inaccessible, so that a stack growing down into it faults
 * and the fault is reported as that stack's overflow.  Any core.
 * Native: unmapped (kernel/vm.c); hosted: mprotect(PROT_NONE).
 */
void stack_guard(void *page, const char *stack_name);

/*
 * Interrupts as events.  irq_alloc gives handler a vector of its own
 * (native; hosted has no interrupts and returns -1) and returns it, or -1
 * if none is left.  An interrupt only marks its vector pending on the
 * core that took it; the event loop calls irq_poll() at every idle
 * point, which runs the handlers of that core's pending vectors, one
 * after the other, as ordinary code with interrupts off.
 */
int irq_alloc(void (*handler)(void *arg), void *arg);
void irq_poll(void);

/* A monotonic clock in nanoseconds since some fixed point at start. */
uint64_t clock_ns(void);

/*
 * The wall-clock time: nanoseconds since 1970-01-01 00:00:00 UTC (Unix
 * time), for what must agree with the world outside (memcached's
 * absolute expiry times, say); measure intervals with clock_ns, which
 * never steps.  Native: the CMOS RTC read once at boot (kernel/rtc.c),
 * advanced by clock_ns since; hosted: CLOCK_REALTIME, which may step
 * when the host's time is set.
 */
uint64_t wall_ns(void);

/*
 * Write n bytes to the console (native: COM1; hosted: standard output).
 * Safe from trap handlers and panic: it takes no lock and allocates
 * nothing, so lines from different cores may interleave.
 */
void console_write(const char *s, size_t n);

/*
 * End this instance with an exit status (0 = success), 0..EXIT_MAX (255)
 * as a process's; others are reported as EXIT_MAX.  Native: said on
 * QEMU's debugcon port and written to its isa-debug-exit device, which
 * test/qemu.sh (and so make run) turns back into its own exit status
 * (kernel/main.c).  Hosted: stdio flushed, then _exit(2).
 */
void machine_exit(int status) __attribute__((noreturn));

/*
 * A broken invariant: print "panic: " and the message, the registers and
 * a backtrace where the platform can, then machine_exit(EXIT_PANIC).
 * Errors that can happen (bad input, no memory) are returned, not
 * panicked on.
 */
void panic(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

/*
 * The physical memory the page allocator may manage: usable RAM less the
 * image, the boot structures and anything else the platform keeps.
 * Fills at most max ranges, sorted by base, page-aligned and disjoint,
 * and returns how many it filled.  Each range is handed out once: the
 * page allocator calls this exactly once, at start.
 */
struct mem_range {
	uintptr_t base;		/* first byte, a multiple of PAGE_SIZE */
	size_t len;		/* a multiple of PAGE_SIZE, never 0 */
};
int mem_ranges(struct mem_range *out, int max);

#endif
