/*
 * param.h: every tunable of the system, one per line, each commented.
 * Portable and native code both include it; nothing here depends on the
 * build.
 */
#ifndef PARAM_H
#define PARAM_H

#define NCPU		64		/* most cores an instance can run on */
#define PAGE_SIZE	4096		/* the machine's small page, in bytes */
#define PAGE_SHIFT	12		/* log2(PAGE_SIZE) */
#define MAX_ARGS	32		/* most words in the command line (argv) */
#define CMDLINE_MAX	1024		/* longest command line kept, in bytes */
#define MAX_MEM_RANGES	32		/* most usable ranges in a memory map */
#define KSTACK_SIZE	(64 * 1024)	/* each core's boot/event stack */
#define TRAP_STACK_SIZE	(16 * 1024)	/* each IST stack (#DF, #PF, NMI, #MC) */
#define VM_MAX_RAM_GB	64		/* RAM mapped natively; above is ignored */
#define MEM_BOOT_KIB	512		/* free memory the runtime needs to start on
					 * one core (kernel/memmap.c: measured, about
					 * 450 KiB: slab caches, malloc, events) */
#define MEM_CORE_KIB	128		/* and for each other core (stacks, PML4,
					 * Ebb table pages, slab arrays: about 130) */
#define AP_START_MS	10000		/* how long a starting core may take to call
					 * in after its SIPIs (kernel/smp.c): as
					 * Linux, 10 s; "smpwait=MS" overrides it */
#define CLOCK_CALIBRATE_MS 4		/* each of the TSC's two calibration windows
					 * against the PIT (kernel/clock.c) */
#define LAPIC_CALIBRATE_MS 3		/* the LAPIC timer's calibration window */
#define EBB_TABLE_SLOTS	(1u << 20)	/* Ebb ids per translation table (8 MiB of
					 * virtual space per core, touched lazily) */
#define CACHE_LINE	64		/* bytes in a cache line: per-core data's alignment */
#define EVENT_BATCH	64		/* most events a loop runs between two rounds of
					 * its boundary hooks (timers fire there) */
#define EVENT_HOOKS_MAX	4		/* most boundary, idle and sleep hooks (each) */
#define EVENT_STACK_ORDER 4		/* a loop instance's stack: 2^4 pages = 64 KiB */
#define TIMER_HEAP_MIN	64		/* armed timers a core holds without allocating */
#define HOSTED_MEM	(256UL << 20)	/* memory the hosted runtime mmaps */
#define PCI_MAX_DEVICES	64		/* most PCI functions kernel/pci.c records */
#define IRQ_POLL_US	1000		/* a device queue without an interrupt is
					 * polled this often (kernel/irq.c's ticks) */
#define BACKTRACE_MAX	32		/* most frames a trap report prints */
#define EXIT_MAX	255		/* largest exit status an instance reports,
					 * as a process's (larger ones become it) */
#define EXIT_USAGE	64		/* exit status for a bad command line
					 * (EX_USAGE in sysexits.h) */
#define EXIT_PANIC	70		/* exit status of a panic or a fatal trap
					 * (EX_SOFTWARE in sysexits.h) */

#endif
