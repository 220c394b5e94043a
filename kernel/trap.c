/*
 * trap.c: the interrupt descriptor table, and what happens when the CPU
 * raises an exception or the kernel panics.
 *
 * All 256 vectors go to kernel/vectors.S, which saves the registers in
 * a struct trapframe and calls trap().  An exception (vectors 0..31) in
 * this kernel is a bug (there is no user mode to blame) — except the
 * first touch of a page of a core's Ebb table, which vm_fault maps — so
 * trap() prints a report and ends the instance with EXIT_PANIC:
 *
 *	trap: page fault (vector 14) on core 0, error code 0x2
 *	  fault address 0xdead0000000: no page mapped for write
 *	  the address is unmapped
 *	  rip 0x103a8a fault_touch+0xa
 *	  rax 00000dead0000000  rbx ...		(every register, cr3)
 *	backtrace:
 *	  #0  0x103a8a fault_touch+0xa
 *	  #1  0x103bc1 app_main+0x101
 *	  ...
 *
 * panic() prints "panic: <message>" and then the same register dump and
 * backtrace, taken at the call to panic.  The backtrace follows the frame
 * pointer chain (everything is built with -fno-omit-frame-pointer) and
 * names functions from the table the image carries of its own symbols
 * (kernel/ksym.h).  A fault while reporting stops the report at once.
 *
 * Vectors 32..255 are interrupts, not errors: trap() hands them to
 * irq_trap (kernel/irq.c), which acknowledges them and returns.  They
 * can only arrive inside core_sleep, the one place interrupts are
 * enabled (kernel/smp.c).
 *
 * The gates: #DF, NMI and #MC run on IST stack 1, #PF on IST stack 2
 * (kernel/cpu.c explains why); the rest, interrupts included, on the
 * current stack.  The IDT is one table for all cores: core 0 fills it
 * (trap_init) and every core loads it (trap_load).
 */
#include <stdarg.h>

#include "ksym.h"
#include "native.h"
#include "platform.h"
#include "print.h"
#include "vm.h"
#include "x86.h"

#define SEG_KCODE	0x08
#define GATE_INTR	0x8E	/* present, DPL 0, 64-bit interrupt gate */

#define T_NMI		2
#define T_DF		8
#define T_PF		14
#define T_MC		18

/* Page-fault error code bits (SDM vol. 3, 4.7). */
#define PF_PRESENT	(1 << 0)	/* a protection violation, not a missing page */
#define PF_WRITE	(1 << 1)
#define PF_USER		(1 << 2)
#define PF_RSVD		(1 << 3)	/* a reserved bit set in a paging entry */
#define PF_FETCH	(1 << 4)	/* an instruction fetch */

struct gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;		/* IST slot, 0 = current stack */
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t reserved;
} __attribute__((packed));

static struct gate idt[256];	/* one table, shared by all cores */

static const char *const exc_name[32] = {
	"divide error", "debug", "NMI", "breakpoint",
	"overflow", "BOUND range exceeded", "invalid opcode", "device not available",
	"double fault", "coprocessor segment overrun", "invalid TSS", "segment not present",
	"stack-segment fault", "general protection fault", "page fault", "reserved vector 15",
	"x87 floating-point error", "alignment check", "machine check", "SIMD floating-point exception",
	"virtualization exception", "control protection exception", "reserved vector 22", "reserved vector 23",
	"reserved vector 24", "reserved vector 25", "reserved vector 26", "reserved vector 27",
	"hypervisor injection exception", "VMM communication exception", "security exception",
	"reserved vector 31",
};

/* The image's function table, from kernel/ksyms.awk via the Makefile. */
extern const uint64_t ksym_count;
extern const uint64_t ksym_addr[];
extern const uint32_t ksym_off[];
extern const char ksym_names[];

static void
set_gate(int v, uint64_t handler, int ist)
{
	idt[v] = (struct gate){
		.off_lo = handler & 0xFFFF, .sel = SEG_KCODE, .ist = ist,
		.type = GATE_INTR, .off_mid = (handler >> 16) & 0xFFFF,
		.off_hi = handler >> 32,
	};
}

/* Fill the IDT, all 256 gates, and load it (core 0, once). */
void
trap_init(void)
{
	for (int v = 0; v < 256; v++) {
		int ist = 0;
		if (v == T_DF || v == T_NMI || v == T_MC)
			ist = 1;
		else if (v == T_PF)
			ist = 2;
		set_gate(v, trap_vectors[v], ist);
	}
	trap_load();
}

/* Load the shared IDT on this core (every other core, at its start). */
void
trap_load(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc = { sizeof idt - 1, (uintptr_t)idt };

	__asm__ volatile("lidt %0" : : "m"(desc));
}

/* Print addr as "0x... name+0xoff", or "(not in the code)". */
static void
print_addr(uint64_t addr, uint64_t lookup)
{
	struct ksym_table t = { ksym_count, ksym_addr, ksym_off, ksym_names };
	uintptr_t off;
	const char *name = NULL;

	if (lookup >= (uintptr_t)__image_start && lookup < (uintptr_t)__text_end)
		name = ksym_find(&t, lookup, &off);
	if (name)
		kprintf("%#llx %s+0x%lx\n", (unsigned long long)addr, name,
		    (unsigned long)(off + (addr - lookup)));
	else
		kprintf("%#llx (not in the code)\n", (unsigned long long)addr);
}

/*
 * Did the return address ret follow a direct call (E8 rel32) to func?
 * Used to spot a function that had not pushed a frame when it trapped.
 */
static int
called_from(uint64_t ret, uint64_t func)
{
	if (ret < (uintptr_t)__image_start + 5 || ret >= (uintptr_t)__text_end)
		return 0;
	const uint8_t *call = (const uint8_t *)(uintptr_t)(ret - 5);
	int32_t rel;
	__builtin_memcpy(&rel, call + 1, sizeof rel);
	return call[0] == 0xE8 && ret + (int64_t)rel == func;
}

/* Can two words at p (a frame, or the top of a stack) be read? */
static int
frame_ok(uint64_t p)
{
	return p != 0 && (p & 7) == 0 && vm_mapped(p) && vm_mapped(p + 8);
}

/*
 * Print the call chain of a trap at rip with registers rbp and rsp.
 * Each frame holds the caller's rbp at [rbp] and the return address at
 * [rbp + 8]; frames must move up the stack, stay 8-aligned and be
 * mapped (an overflowed stack's pointer is not), and the chain ends at
 * the 0 that boot.S put
 * in rbp before kmain.  One case needs help: a function that has no
 * frame of its own (a leaf GCC left frameless, or one trapped at its
 * first instruction) still has its return address at [rsp], and rbp is
 * its caller's; that address is printed when it follows a direct call
 * to the trapping function.
 */
static void
backtrace(uint64_t rip, uint64_t rbp, uint64_t rsp)
{
	struct ksym_table t = { ksym_count, ksym_addr, ksym_off, ksym_names };
	uintptr_t off;
	int i = 1;

	kprintf("backtrace:\n  #0  ");
	print_addr(rip, rip);
	if (ksym_find(&t, rip, &off) && frame_ok(rsp) &&
	    called_from(*(uint64_t *)rsp, rip - off)) {
		kprintf("  #1  ");
		print_addr(*(uint64_t *)rsp, *(uint64_t *)rsp - 1);
		i++;
	}
	for (; i < BACKTRACE_MAX; i++) {
		if (!frame_ok(rbp))
			return;
		uint64_t *frame = (uint64_t *)rbp;
		uint64_t ret = frame[1];
		if (ret == 0)
			return;
		kprintf("  #%-2d ", i);
		print_addr(ret, ret - 1);	/* ret - 1: inside the call */
		if (frame[0] <= rbp)
			return;
		rbp = frame[0];
	}
	kprintf("  ...\n");
}

static void
print_regs(struct trapframe *tf)
{
	kprintf("  rip ");
	print_addr(tf->rip, tf->rip);
	kprintf("  rax %016llx  rbx %016llx  rcx %016llx  rdx %016llx\n"
	    "  rsi %016llx  rdi %016llx  rbp %016llx  rsp %016llx\n"
	    "  r8  %016llx  r9  %016llx  r10 %016llx  r11 %016llx\n"
	    "  r12 %016llx  r13 %016llx  r14 %016llx  r15 %016llx\n"
	    "  rflags %08llx  cs %04llx  ss %04llx  cr3 %016llx\n",
	    (unsigned long long)tf->rax, (unsigned long long)tf->rbx,
	    (unsigned long long)tf->rcx, (unsigned long long)tf->rdx,
	    (unsigned long long)tf->rsi, (unsigned long long)tf->rdi,
	    (unsigned long long)tf->rbp, (unsigned long long)tf->rsp,
	    (unsigned long long)tf->r8, (unsigned long long)tf->r9,
	    (unsigned long long)tf->r10, (unsigned long long)tf->r11,
	    (unsigned long long)tf->r12, (unsigned long long)tf->r13,
	    (unsigned long long)tf->r14, (unsigned long long)tf->r15,
	    (unsigned long long)tf->rflags, (unsigned long long)tf->cs,
	    (unsigned long long)tf->ss, (unsigned long long)read_cr3());
}

/* Set while a report is being printed: a second trap ends it at once. */
static int reporting;

static void
report_begin(void)
{
	if (__atomic_exchange_n(&reporting, 1, __ATOMIC_ACQ_REL)) {
		kprintf("\n(trap while reporting a trap: stopping)\n");
		machine_exit(EXIT_PANIC);
	}
}

/* Say what a page fault hit: a stack's guard page, page 0, or else. */
static void
page_fault_detail(struct trapframe *tf)
{
	uint64_t e = tf->error, addr = read_cr2();
	const char *stack = vm_guard_name(addr);

	kprintf("  fault address %#llx: %s %s%s%s\n", (unsigned long long)addr,
	    e & PF_PRESENT ? "protection violation on" : "no page mapped for",
	    e & PF_FETCH ? "instruction fetch" : e & PF_WRITE ? "write" : "read",
	    e & PF_RSVD ? ", reserved bit set" : "",
	    e & PF_USER ? ", user mode" : "");
	if (stack != NULL)
		kprintf("  stack overflow: the address is the guard page below %s\n", stack);
	else if (addr < PAGE_SIZE)
		kprintf("  null pointer: page 0 is never mapped\n");
	else if (!(e & PF_PRESENT) && memmap_is_ram(addr))
		kprintf("  stack overflow, most likely: an unmapped page of RAM is a guard page\n");
	else if (e & PF_PRESENT)
		kprintf("  the page is mapped %s\n", e & PF_FETCH ? "no-execute" : "read-only");
	else
		kprintf("  the address is unmapped\n");
}

/*
 * Called by alltraps for every trap; returns only if the trap is handled:
 * an interrupt (irq_trap), or the first touch of a page of this core's
 * Ebb table (vm_fault).
 */
void
trap(struct trapframe *tf)
{
	if (tf->vector >= T_IRQ_BASE) {
		irq_trap((int)tf->vector);
		return;
	}
	if (tf->vector == T_PF && !(tf->error & PF_PRESENT) && vm_fault(read_cr2()))
		return;		/* a page of this core's Ebb table, now mapped */
	report_begin();
	kprintf("\ntrap: %s (vector %llu) on core %d, error code %#llx\n",
	    exc_name[tf->vector], (unsigned long long)tf->vector, core_id(),
	    (unsigned long long)tf->error);
	if (tf->vector == T_PF)
		page_fault_detail(tf);
	print_regs(tf);
	backtrace(tf->rip, tf->rbp, tf->rsp);
	machine_exit(EXIT_PANIC);
}

/* platform.h */
void
panic(const char *fmt, ...)
{
	struct trapframe tf;
	va_list ap;

	regs_capture(&tf);
	report_begin();
	kprintf("\npanic: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n  on core %d\n", core_id());
	print_regs(&tf);
	backtrace(tf.rip, tf.rbp, 0);
	machine_exit(EXIT_PANIC);
}
