/*
 * lapic.c: each core's local APIC (Intel SDM vol. 3, chapter 10,
 * "Advanced Programmable Interrupt Controller (APIC)"; chapter 11 in
 * editions from 2023 on).  Section numbers below are chapter 10's.
 *
 * Every core has its own local APIC.  This kernel uses it for four
 * things: acknowledging interrupts (EOI), sending inter-processor
 * interrupts (the INIT and STARTUP IPIs that start a core, and the
 * wake-up IPI of core_wake), the timer (core_sleep's deadline, one-shot),
 * and turning off what the firmware left on (the legacy PICs and LINT0).
 *
 * Two ways in (10.4 and 10.12):
 *	xAPIC	the registers are a 4 KiB MMIO page (usually 0xFEE00000,
 *		the IA32_APIC_BASE MSR says where), mapped uncached;
 *	x2APIC	the same registers as MSRs 0x800 + offset / 16, with 32-bit
 *		APIC ids and a single 64-bit ICR; used when CPUID.1:ECX.x2APIC
 *		says the CPU has it (KVM does; QEMU 7.2's TCG does not).
 * rd() and wr() hide the difference; the ICR (icr_send) is the one
 * register that differs in shape.  Core 0 picks the mode for all cores.
 *
 * The timer (10.5.4) counts down from an initial count at the bus clock
 * divided by 16, and in one-shot mode raises T_TIMER once when it reaches
 * zero; writing the initial count starts it, writing 0 stops it.  Its
 * rate is not told anywhere reliable, so lapic_calibrate measures it once
 * against clock_ns (the TSC), and lapic_timer_start converts nanoseconds
 * to ticks with a multiply: ticks = ns * timer_mult >> 32.  All cores'
 * timers run from the same clock, so core 0's measurement serves them all.
 *
 * Everything here runs with interrupts off, on the core whose APIC it
 * touches; only the IPIs reach another core.
 */
#include "native.h"
#include "platform.h"
#include "print.h"
#include "vm.h"
#include "x86.h"

#define MSR_APIC_BASE	0x1B		/* IA32_APIC_BASE (10.4.4) */
#define APIC_BASE_EXTD	(1 << 10)	/* x2APIC mode */
#define APIC_BASE_EN	(1 << 11)	/* the APIC is enabled */
#define APIC_BASE_ADDR	0x000FFFFFFFFFF000ULL
#define MSR_X2APIC	0x800		/* x2APIC register r is MSR 0x800 + r / 16 */

/* Register offsets in the xAPIC page (10.4.1, table 10-1). */
#define LAPIC_ID	0x020	/* bits 31:24 (xAPIC), all 32 bits (x2APIC) */
#define LAPIC_VER	0x030	/* bits 23:16: the number of LVT entries - 1 */
#define LAPIC_TPR	0x080	/* task priority: 0 accepts every vector */
#define LAPIC_EOI	0x0B0	/* write 0: end of interrupt */
#define LAPIC_SVR	0x0F0	/* spurious vector, and the software enable */
#define LAPIC_ESR	0x280	/* error status */
#define LAPIC_ICR	0x300	/* interrupt command (low half) */
#define LAPIC_ICR_HI	0x310	/* xAPIC: the destination, bits 31:24 */
#define LAPIC_LVT_TIMER	0x320	/* local vector table: the timer */
#define LAPIC_LVT_THERM	0x330	/* ... thermal sensor (if VER says so) */
#define LAPIC_LVT_PERF	0x340	/* ... performance counters (likewise) */
#define LAPIC_LVT_LINT0	0x350	/* ... the LINT0 pin (the 8259's INTR) */
#define LAPIC_LVT_LINT1	0x360	/* ... the LINT1 pin (NMI) */
#define LAPIC_LVT_ERROR	0x370	/* ... APIC errors */
#define LAPIC_TIMER_INIT 0x380	/* the timer's initial count */
#define LAPIC_TIMER_CUR	0x390	/* its current count */
#define LAPIC_TIMER_DIV	0x3E0	/* its divider */

#define SVR_ENABLE	(1 << 8)	/* APIC software enable */
#define LVT_MASKED	(1 << 16)
#define LVT_NMI		(4 << 8)	/* delivery mode NMI */
#define TIMER_DIV_16	0x3		/* divide the bus clock by 16 */
#define ICR_FIXED	(0 << 8)	/* delivery modes (10.6.1) */
#define ICR_INIT	(5 << 8)
#define ICR_STARTUP	(6 << 8)
#define ICR_BUSY	(1 << 12)	/* xAPIC: delivery status, send pending */
#define ICR_ASSERT	(1 << 14)	/* level: assert (INIT) */

#define PIC1_DATA	0x21		/* the 8259 pair's mask registers */
#define PIC2_DATA	0xA1

/*
 * The xAPIC register page, NULL in x2APIC mode.  volatile: every access
 * is a device register access, which the compiler must neither merge,
 * drop nor move past another.
 */
static volatile uint32_t *mmio;
static int x2apic;		/* the mode; set by core 0 before others start */
static uint64_t timer_mult;	/* timer ticks per ns, times 2^32 */

static uint32_t
rd(uint32_t reg)
{
	if (x2apic)
		return (uint32_t)rdmsr(MSR_X2APIC + (reg >> 4));
	return mmio[reg / 4];
}

static void
wr(uint32_t reg, uint32_t v)
{
	if (x2apic)
		wrmsr(MSR_X2APIC + (reg >> 4), v);
	else
		mmio[reg / 4] = v;
}

/*
 * Mask both legacy 8259 PICs for good (core 0, once).  The firmware
 * leaves them delivering the PIT and the keyboard through the BSP's
 * LINT0; here interrupts come only through the local APIC.
 */
void
pic_disable(void)
{
	outb(PIC1_DATA, 0xFF);
	outb(PIC2_DATA, 0xFF);
}

/* Core 0: pick the mode, and map the xAPIC page uncached. */
static void
lapic_setup(uint64_t base)
{
	uint32_t r[4];
	uintptr_t pa = base & APIC_BASE_ADDR;

	cpuid(1, 0, r);
	if (!(r[3] & (1 << 9)))			/* CPUID.1:EDX.APIC */
		panic("lapic_init: this CPU has no local APIC");
	x2apic = (r[2] >> 21) & 1;		/* CPUID.1:ECX.x2APIC */
	if (acpi_lapic_addr() != 0 && acpi_lapic_addr() != pa)
		kprintf("lapic: the MADT says %#llx, the CPU %#lx; using the CPU's\n",
		    (unsigned long long)acpi_lapic_addr(), pa);
	if (x2apic)
		return;
	/*
	 * vm.c maps the device window below 4 GiB uncached already; mapping
	 * the page here says so, and covers an APIC moved above 4 GiB.
	 */
	if (vm_map(pa, pa, PAGE_SIZE, VM_W | VM_UC) < 0)
		panic("lapic_init: no memory to map the local APIC");
	mmio = (volatile uint32_t *)pa;
}

/*
 * Set up this core's local APIC: the mode, no PIC, NMIs on core 0's
 * LINT1, errors and the timer on their vectors, the spurious vector, and
 * enable it (10.4.7.1).  Every core calls it, core 0 first.
 */
void
lapic_init(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	if (core_id() == 0)
		lapic_setup(base);
	base |= APIC_BASE_EN;
	wrmsr(MSR_APIC_BASE, base);		/* enabled: xAPIC mode (or x2APIC already) */
	if (x2apic)				/* x2APIC is entered from xAPIC (10.12.5) */
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);

	int lvts = ((rd(LAPIC_VER) >> 16) & 0xFF) + 1;
	wr(LAPIC_TPR, 0);
	wr(LAPIC_LVT_LINT0, LVT_MASKED);
	wr(LAPIC_LVT_LINT1, core_id() == 0 ? LVT_NMI : LVT_MASKED);
	if (lvts >= 5)
		wr(LAPIC_LVT_PERF, LVT_MASKED);
	if (lvts >= 6)
		wr(LAPIC_LVT_THERM, LVT_MASKED);
	wr(LAPIC_LVT_ERROR, T_LAPIC_ERROR);
	wr(LAPIC_ESR, 0);			/* clear it: two writes (10.5.3) */
	wr(LAPIC_ESR, 0);
	wr(LAPIC_TIMER_DIV, TIMER_DIV_16);
	wr(LAPIC_TIMER_INIT, 0);		/* stopped */
	wr(LAPIC_LVT_TIMER, T_TIMER);		/* one-shot (bits 18:17 = 0), unmasked */
	wr(LAPIC_SVR, SVR_ENABLE | T_SPURIOUS);
	wr(LAPIC_EOI, 0);			/* anything the firmware left in service */
}

/*
 * The timer's current count and the clock at the middle of the
 * narrowest of a few reads: a read that the virtual CPU was descheduled
 * in the middle of (TCG on a busy host) is taken again.
 */
static uint32_t
lapic_sample(uint64_t *ns)
{
	uint64_t best = UINT64_MAX;
	uint32_t count = 0;

	for (int i = 0; i < 8; i++) {
		uint64_t a = clock_ns();
		uint32_t c = rd(LAPIC_TIMER_CUR);
		uint64_t b = clock_ns();
		if (b - a < best) {
			best = b - a;
			count = c;
			*ns = a + (b - a) / 2;
		}
	}
	return count;
}

/* Measure the timer's rate against clock_ns (core 0, once, after lapic_init). */
void
lapic_calibrate(void)
{
	uint64_t window = LAPIC_CALIBRATE_MS * 1000000ULL, t0, t1;

	wr(LAPIC_LVT_TIMER, T_TIMER | LVT_MASKED);	/* no interrupt when it ends */
	wr(LAPIC_TIMER_INIT, 0xFFFFFFFF);
	uint32_t c0 = lapic_sample(&t0);
	while (clock_ns() - t0 < window)
		__asm__ volatile("pause");
	uint32_t ticks = c0 - lapic_sample(&t1);
	wr(LAPIC_TIMER_INIT, 0);
	wr(LAPIC_LVT_TIMER, T_TIMER);
	if (ticks == 0)
		panic("lapic_calibrate: the local APIC timer does not count");
	timer_mult = (uint64_t)(((unsigned __int128)ticks << 32) / (t1 - t0));
	kprintf("lapic: %s, timer at %llu kHz\n", x2apic ? "x2APIC" : "xAPIC",
	    (unsigned long long)((unsigned __int128)ticks * 1000000 / (t1 - t0)));
}

/* This core's APIC id. */
uint32_t
lapic_id(void)
{
	return x2apic ? rd(LAPIC_ID) : rd(LAPIC_ID) >> 24;
}

/* End of interrupt: the in-service vector may be delivered again (10.8.5). */
void
lapic_eoi(void)
{
	wr(LAPIC_EOI, 0);
}

/* T_LAPIC_ERROR: say what the error status register holds (10.5.3). */
void
lapic_error(void)
{
	wr(LAPIC_ESR, 0);		/* a write latches the errors for reading */
	kprintf("lapic: error status %#x on core %d\n", rd(LAPIC_ESR), core_id());
}

/*
 * Send an IPI: write the interrupt command register (10.6.1), whose low
 * half names what to send, to the APIC with id apic.
 *
 * The IPI must not overtake the stores before it (a woken core's flag, a
 * starting core's boot data).  In xAPIC mode the ICR is an uncached
 * store, which x86 keeps in order after earlier stores (SDM vol. 3,
 * 8.2.2); the empty asm stops the compiler moving them.  In x2APIC mode
 * the ICR is an MSR, and WRMSR to x2APIC registers is not serializing
 * (10.12.3): mfence drains earlier stores and lfence keeps the wrmsr from
 * starting before it (Linux's weak_wrmsr_fence).
 */
static void
icr_send(uint32_t apic, uint32_t low)
{
	if (x2apic) {
		__asm__ volatile("mfence; lfence" : : : "memory");
		wrmsr(MSR_X2APIC + (LAPIC_ICR >> 4), (uint64_t)apic << 32 | low);
		return;
	}
	__asm__ volatile("" : : : "memory");
	while (mmio[LAPIC_ICR / 4] & ICR_BUSY)	/* the last IPI is still going out */
		__asm__ volatile("pause");
	mmio[LAPIC_ICR_HI / 4] = apic << 24;
	mmio[LAPIC_ICR / 4] = low;		/* this write sends it */
}

/* A fixed interrupt with this vector, to the core with APIC id apic. */
void
lapic_ipi(uint32_t apic, int vector)
{
	icr_send(apic, ICR_FIXED | (uint32_t)vector);
}

/* INIT (asserted, edge: SDM vol. 3, 8.4.4.1): reset apic's core to wait for a SIPI. */
void
lapic_ipi_init(uint32_t apic)
{
	icr_send(apic, ICR_INIT | ICR_ASSERT);
}

/* STARTUP: apic's core starts in real mode at addr (page-aligned, below 1 MiB). */
void
lapic_ipi_startup(uint32_t apic, uintptr_t addr)
{
	icr_send(apic, ICR_STARTUP | ICR_ASSERT | (uint32_t)(addr >> 12));
}

/*
 * Raise T_TIMER on this core ns nanoseconds from now (at the soonest:
 * the count is rounded up), or at the longest count if ns is beyond it.
 */
void
lapic_timer_start(uint64_t ns)
{
	uint64_t ticks = (uint64_t)(((unsigned __int128)ns * timer_mult) >> 32) + 1;

	if (timer_mult == 0)
		panic("lapic_timer_start: the timer is not calibrated");
	wr(LAPIC_TIMER_INIT, ticks > 0xFFFFFFFF ? 0xFFFFFFFF : (uint32_t)ticks);
}

/* Stop this core's timer. */
void
lapic_timer_stop(void)
{
	wr(LAPIC_TIMER_INIT, 0);
}
