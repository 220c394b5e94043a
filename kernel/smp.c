/*
 * smp.c: the other cores.  Starting them (smp_start, from kmain) and
 * letting them run the runtime (platform.h's cores_start), the first C
 * code each runs (ap_enter), and sleeping and waking any core
 * (core_sleep, core_wake); core_count.
 *
 * Starting happens in two steps.  kmain calls smp_start before the
 * PCI scan, so that core_count() and every core's APIC id are final
 * when drivers probe (a NIC sets up one queue per core and aims each
 * queue's MSI-X vector at its core's APIC).  The started cores park in
 * core_sleep until the runtime calls cores_start with their entry.
 *
 * Starting a core (Intel SDM vol. 3, 8.4, "Multiple-Processor (MP)
 * Initialization").  At reset only core 0, the bootstrap processor, runs
 * (it is the one QEMU hands to the loader); the others, the application
 * processors, wait for an INIT IPI and then a STARTUP IPI (SIPI), which
 * starts them in real mode at a page below 1 MiB named by the SIPI's
 * vector.  smp_start copies boot.S's real-mode trampoline to
 * AP_TRAMPOLINE, then, for each processor the ACPI MADT lists (kernel/
 * acpi.c), one at a time, following 8.4.4.1's sequence:
 *
 *	core 0					the starting core
 *	cpu_stacks_alloc(k), ap_boot_*,
 *	ap_waiting = X + 1
 *	INIT IPI, wait 10 ms			resets, waits for a SIPI
 *	SIPI, wait 200 us, SIPI			real mode at AP_TRAMPOLINE:
 *	(the second SIPI: a retry, ignored	  boot.S: ap_trampoline ->
 *	 if the first one took)			  ap_start32 -> ap_start64:
 *	wait up to wait_ms (AP_START_MS,	  reads ap_boot_*, then calls
 *	 10 s) for ap_waiting == 0 ...		  in: ap_waiting X + 1 -> 0
 *	"smp: core k up (apic id X)"		ap_enter(k): cpu_init, trap_load,
 *						  vm_core_init, lapic_init,
 *						  core_sleep until released
 *	... the next processor ...
 *	(kmain goes on: pci_init, ebb_start)
 *	cores_start: released = 1, wake all	entry()
 *
 * Core ids are dense: core 0 is the bootstrap processor and the others
 * are numbered in MADT order, skipping any that fail to start; apic_of
 * maps id to APIC id.
 *
 * How long to wait.  A real processor calls in within microseconds, but
 * under QEMU's TCG each core is a host thread, and on a loaded host a
 * thread may not run for a long while: so core 0 waits as long as Linux
 * does, 10 s (AP_START_MS; the command-line word "smpwait=MS" changes
 * it), before it gives a processor up: reports it, sends it INIT again
 * and leaves it out; its core id goes to the next one.
 *
 * A processor given up on may still come, late: QEMU keeps a SIPI that
 * is pending across the INIT that follows it, and on hardware the INIT
 * may lose the race with the SIPI.  It must then find nothing to take.
 * The call-in is one compare-and-swap on ap_waiting, which holds the
 * APIC id core 0 is waiting for, plus one (0: none):
 *	- the processor (boot.S's ap_start64, before it has a stack or has
 *	  written anything) reads ap_boot_stack and ap_boot_core, then
 *	  swaps its own APIC id + 1 (from CPUID) for 0; only if that
 *	  succeeds does it use what it read, which was then its own: core 0
 *	  changes ap_boot_* only while ap_waiting is 0;
 *	- core 0, giving up, swaps X + 1 for 0; if that fails, the
 *	  processor called in after all.
 * Exactly one of the two wins.  A late processor's swap finds 0 or the
 * next processor's id, and it halts where it is, with interrupts off,
 * having written nothing: not a stack, not a per-core structure, and
 * no core id is ever handed out twice.  The trampoline page stays
 * where it is (the first 64 KiB are never allocated: kernel/memmap.c),
 * so a late start still runs the same code.  Nothing waits forever.
 *
 * Entry conditions for entry(): on the core's own event stack (at least
 * KSTACK_SIZE, above a guard page), interrupts off, its GDT, TSS, IST
 * stacks, IDT, PML4, local APIC and timer set up, and core_count() final:
 * no core runs entry() before every core has called in or been left out.
 *
 * Sleeping and waking.  Each core has a sleep state, written by itself
 * and by the cores that wake it:
 *
 *	AWAKE	 -- core_sleep -->		SLEEPING
 *	SLEEPING -- core_wake (sends T_WAKE) -->	WOKEN
 *	AWAKE	 -- core_wake (no IPI needed) -->	WOKEN
 *	SLEEPING or WOKEN -- core_sleep returns -->	AWAKE
 *
 * core_wake swaps in WOKEN and sends the wake-up IPI only if it swapped
 * out SLEEPING: a core that is awake needs no interrupt, it will find
 * WOKEN at its next core_sleep and not sleep.  core_sleep moves AWAKE to
 * SLEEPING with a compare-and-swap (failing if a wake came first), then
 * halts until the state is WOKEN, an interrupt left a device vector
 * pending (irq_pending) or the deadline passed (brought forward to the
 * next tick of a polled vector, and a due tick counts as an interrupt:
 * kernel/irq.c); it sets AWAKE with a swap
 * on the way out.  The halt itself is "sti; hlt; cli": an IPI sent
 * between the compare-and-swap and the hlt is held pending while
 * interrupts are off, and sti's one-instruction shadow means it is taken
 * after hlt begins, so it ends the halt instead of being lost.
 */
#include <string.h>

#include "native.h"
#include "platform.h"
#include "print.h"
#include "vm.h"
#include "x86.h"

#define AP_TRAMPOLINE	0x8000		/* where the trampoline is copied: page 8 */
#define INIT_DELAY_NS	10000000	/* after INIT (SDM vol. 3, 8.4.4.1) */
#define SIPI_DELAY_NS	200000		/* after each SIPI (ibid.) */
#define MSR_EFER	0xC0000080
#define EFER_LME	(1 << 8)	/* long mode enable */
#define EFER_NXE	(1 << 11)	/* no-execute enable */

/*
 * What boot.S's AP path reads (ap_start32, ap_start64), set by core 0
 * before each INIT-SIPI-SIPI.  The SIPI is sent after these stores and
 * cannot overtake them (lapic.c's icr_send explains why).  ap_boot_stack
 * and ap_boot_core change only while ap_waiting is 0.
 */
uint32_t ap_boot_cr3;		/* the kernel's PML4, below 4 GiB */
uint32_t ap_boot_efer;		/* EFER bits to set: LME, and NXE if in use */
uint64_t ap_boot_stack;		/* the top of the starting core's event stack */
uint32_t ap_boot_core;		/* the id it will have */

/*
 * The call-in (the top of this file): the APIC id of the processor core
 * 0 is waiting for, plus one, or 0.  Core 0 sets it before the INIT;
 * then exactly one of that processor (boot.S, lock cmpxchg) and core 0
 * giving up swaps it back to 0.
 */
uint64_t ap_waiting;

static void (*ap_entry)(void);	/* cores_start's entry; set once, by core 0 */
static int smp_started;		/* smp_start has run (core 0 only) */
static int released;		/* set by core 0 in cores_start, after ap_entry */
static int ncores = 1;		/* core_count; final before released is set */
static uint32_t apic_of[NCPU];	/* each core's APIC id; final before released */

/* Each core's sleep state (the top of this file); one cache line each. */
enum { AWAKE, SLEEPING, WOKEN };
static struct {
	int state;
} __attribute__((aligned(CACHE_LINE))) sleeper[NCPU];

/* platform.h */
int
core_count(void)
{
	return ncores;
}

/* Spin for ns nanoseconds. */
static void
delay(uint64_t ns)
{
	uint64_t end = clock_ns() + ns;

	while (clock_ns() < end)
		__asm__ volatile("pause");
}

/*
 * Start the processor with APIC id apic as core, waiting up to wait_ms
 * for it; returns 0 once it has called in, or -1 (reported) if it could
 * not be started.
 */
static int
core_start(int core, uint32_t apic, uint64_t wait_ms)
{
	uint64_t me = (uint64_t)apic + 1, t0;

	if (cpu_stacks_alloc(core) < 0) {
		kprintf("smp: no memory for core %d's stacks (apic id %u)\n", core, apic);
		return -1;
	}
	/* ap_waiting is 0 here: no processor can take what is written now. */
	ap_boot_stack = cpu_stack_top(core);
	ap_boot_core = core;
	/* Release: a processor whose swap sees me sees ap_boot_* (so does the SIPI). */
	__atomic_store_n(&ap_waiting, me, __ATOMIC_RELEASE);
	lapic_ipi_init(apic);
	delay(INIT_DELAY_NS);
	lapic_ipi_startup(apic, AP_TRAMPOLINE);
	delay(SIPI_DELAY_NS);
	lapic_ipi_startup(apic, AP_TRAMPOLINE);	/* the retry: ignored if the first one took */

	t0 = clock_ns();
	while (__atomic_load_n(&ap_waiting, __ATOMIC_ACQUIRE) == me &&
	    clock_ns() - t0 < wait_ms * 1000000ULL)
		__asm__ volatile("pause");
	if (!__atomic_compare_exchange_n(&ap_waiting, &me, 0, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return 0;			/* it called in (and set 0) */
	/* Given up: from here its swap fails, whenever it comes. */
	lapic_ipi_init(apic);			/* back to waiting for a SIPI */
	delay(INIT_DELAY_NS);
	kprintf("smp: core %d (apic id %u) did not start within %llu ms; left out\n", core,
	    apic, (unsigned long long)wait_ms);
	return -1;
}

/*
 * Start every other processor the MADT lists, one at a time, waiting up
 * to wait_ms for each (see the top of this file); they park until
 * cores_start.  Core 0, once, from kmain: afterwards core_count() and
 * core_apic() are final.
 */
void
smp_start(uint64_t wait_ms)
{
	uint32_t me = lapic_id(), efer = (uint32_t)rdmsr(MSR_EFER);
	uint64_t t0 = clock_ns();
	int found = 0;

	if (core_id() != 0 || smp_started)
		panic("smp_start: called twice, or not on core 0");
	if (ap_trampoline_end - ap_trampoline > PAGE_SIZE || vm_kernel_cr3() >> 32 != 0)
		panic("smp_start: the trampoline or the kernel's PML4 is out of place");
	smp_started = 1;
	apic_of[0] = me;
	memcpy((void *)AP_TRAMPOLINE, ap_trampoline, ap_trampoline_end - ap_trampoline);
	ap_boot_cr3 = (uint32_t)vm_kernel_cr3();
	ap_boot_efer = efer & (EFER_LME | EFER_NXE);

	for (int i = 0; i < acpi_cpu_count(); i++) {
		uint32_t apic = acpi_cpu_apic(i);
		if (apic == me) {
			found = 1;
			continue;
		}
		if (ncores == NCPU) {
			kprintf("smp: more than %d cores; apic id %u left out\n", NCPU, apic);
			continue;
		}
		if (core_start(ncores, apic, wait_ms) == 0) {
			apic_of[ncores] = apic;
			kprintf("smp: core %d up (apic id %u)\n", ncores, apic);
			ncores++;
		}
	}
	if (acpi_cpu_count() > 0 && !found)
		kprintf("smp: core 0's apic id %u is not in the MADT\n", me);
	kprintf("smp: %d core%s running, %llu ms to start\n", ncores, ncores == 1 ? "" : "s",
	    (unsigned long long)((clock_ns() - t0) / 1000000));
}

/* The APIC id of core c (0 .. core_count()-1): where its interrupts go. */
uint32_t
core_apic(int c)
{
	if (c < 0 || c >= ncores)
		panic("core_apic: no core %d", c);
	return apic_of[c];
}

/*
 * platform.h: let the cores smp_start parked run entry.  Starts them
 * first if kmain did not.
 */
void
cores_start(void (*entry)(void))
{
	if (core_id() != 0 || ap_entry != NULL)
		panic("cores_start: called twice, or not on core 0");
	if (!smp_started)
		smp_start(AP_START_MS);
	ap_entry = entry;
	/* Release: a core that sees released sees ap_entry (and ncores, apic_of). */
	__atomic_store_n(&released, 1, __ATOMIC_RELEASE);
	for (int c = 1; c < ncores; c++)
		core_wake(c);
}

/*
 * The first C code of every other core, called by boot.S's ap_start64 on
 * the core's event stack (xv6's mpenter), once it has called in: the
 * stack and the id are its own.  Interrupts are off throughout.
 */
void
ap_enter(int core)
{
	cpu_init(core);		/* its GDT, TSS and GS base: core_id() works */
	trap_load();		/* the shared IDT: faults are reported */
	vm_core_init(core);	/* its own PML4: its Ebb table faults in */
	lapic_init();		/* its local APIC: timer, wake-ups, EOI */
	while (!__atomic_load_n(&released, __ATOMIC_ACQUIRE))
		core_sleep(0);	/* until every core has called in */
	ap_entry();
	panic("ap_enter: entry returned on core %d", core);
}

/*
 * Halt until an interrupt: the only place interrupts are enabled.  sti
 * takes effect after the next instruction (SDM vol. 2, STI), so an
 * interrupt already pending is taken once hlt has begun, and ends it.
 * The handler (irq_trap) runs between hlt and cli; "memory" makes the
 * compiler reload what it may have written.
 */
static void
halt(void)
{
	__asm__ volatile("sti; hlt; cli" : : : "memory");
}

/* platform.h: see the top of this file for the states. */
void
core_sleep(uint64_t deadline)
{
	int *state = &sleeper[core_id()].state, expect = AWAKE, armed = 0;
	uint64_t tick = irq_tick_check();	/* a polled device's next look */

	if (tick != 0 && (deadline == 0 || tick < deadline))
		deadline = tick;

	/* Seq-cst, against core_wake's swap: a wake is either seen here or sees SLEEPING. */
	if (__atomic_compare_exchange_n(state, &expect, SLEEPING, 0,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		for (;;) {
			if (__atomic_load_n(state, __ATOMIC_ACQUIRE) == WOKEN || irq_pending())
				break;
			if (deadline != 0) {
				uint64_t now = clock_ns();
				if (now >= deadline)
					break;
				lapic_timer_start(deadline - now);
				armed = 1;
			}
			halt();		/* woken, an interrupt, or the timer */
		}
		if (armed)
			lapic_timer_stop();	/* it may not have fired */
	}
	/*
	 * A swap, not a store: if a wake came since the check above, it is
	 * read here (acquire), so the caller's next look at its queues sees
	 * whatever the waker published before waking it.
	 */
	__atomic_exchange_n(state, AWAKE, __ATOMIC_SEQ_CST);
}

/* platform.h: see the top of this file for the states. */
void
core_wake(int c)
{
	if (c < 0 || c >= ncores)
		panic("core_wake: no core %d", c);
	/*
	 * Seq-cst swap: the caller's earlier stores (the work it queued) are
	 * visible to c before c can see WOKEN.  Only a sleeping core needs
	 * the IPI; a core is never SLEEPING while it runs this, so c is
	 * another core here.
	 */
	if (__atomic_exchange_n(&sleeper[c].state, WOKEN, __ATOMIC_SEQ_CST) == SLEEPING)
		lapic_ipi(apic_of[c], T_WAKE);
}
