/*
 * cpu.c: each core's segment tables (a GDT and a 64-bit TSS), its stacks,
 * and its per-core block.
 *
 * Long mode ignores segment bases and limits, so the GDT only needs a
 * 64-bit code segment, a data segment and the TSS descriptor.  The TSS
 * no longer holds task state; what matters here is its Interrupt Stack
 * Table (Intel SDM vol. 3, 7.7 and 6.14.5): a trap whose IDT gate names
 * IST slot n switches to stack n whatever the current stack is.  The
 * faults that mean "this stack is unusable" use one:
 *
 *	IST_FAULT (1)	#DF, NMI, #MC
 *	IST_PF    (2)	#PF: a stack overflow faults on the guard page
 *			below the stack, and the fault could not be
 *			delivered onto that same stack.
 *
 * The tables are per core and written only by their core at start.
 * So is each core's struct cpu_local, which its GS base points at: the
 * home of per-core data the hardware must find (core_id, for now).
 *
 * Stacks.  Every core has three, each above an unmapped guard page
 * (kernel/vm.c), so that an overflow faults instead of corrupting what
 * lies below: its event stack (the one kmain or ap_enter runs on, and
 * the events of its first loop instance; an event that blocks moves the
 * loop onto a stack from the page allocator, with a guard page too, see
 * ebb/event.h) and its two IST stacks.  Core 0's are in .bss
 * (boot.S's boot stack, trap_stack below).  Every other core's come in
 * one page block, which core 0 allocates before it starts the core
 * (cpu_stacks_alloc, from kernel/smp.c):
 *
 *	block:	| guard | IST1 | guard | IST2 | guard | event stack        |
 *		^ base					  the rest ^ base + block
 *
 * the event stack taking what the power-of-two block leaves over (at
 * least KSTACK_SIZE).  The guard pages are unmapped by core 0 before the
 * core starts, and only the core itself uses its stacks, so no other
 * core can hold a stale translation that matters (no TLB shootdown).
 */
#include "native.h"
#include "page.h"
#include "platform.h"
#include "print.h"
#include "vm.h"
#include "x86.h"

#define SEG_KCODE	0x08
#define SEG_KDATA	0x10
#define SEG_TSS		0x18

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];	/* stacks for privilege changes: unused, ring 0 only */
	uint64_t reserved1;
	uint64_t ist[7];	/* IST1..IST7 */
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap;		/* offset of the I/O bitmap: none */
} __attribute__((packed));

struct cpu_tables {
	uint64_t gdt[5];	/* null, code, data, TSS (two slots) */
	struct tss tss;
};

static struct cpu_tables tables[NCPU];

/*
 * Each core's own block, found through its GS base: core_id() (core.h)
 * reads its first word.  Written once by its core in cpu_init.
 */
struct cpu_local {
	int id;			/* must stay first: core.h reads %gs:0 */
} __attribute__((aligned(64)));

static struct cpu_local local[NCPU];

#define MSR_GS_BASE	0xC0000101

/*
 * Core 0's IST stacks, each above a guard page that kernel/vm.c unmaps;
 * the other cores' are in their stack blocks.
 */
static char trap_stack[2][PAGE_SIZE + TRAP_STACK_SIZE] __attribute__((aligned(PAGE_SIZE)));

/* The pages a stack block spans: three guards, two IST stacks, the event stack. */
#define STACK_BLOCK_MIN	(3 * PAGE_SIZE + 2 * TRAP_STACK_SIZE + KSTACK_SIZE)

static char *stack_block[NCPU];		/* core >= 1: its block, or NULL */
static int stack_order;			/* the blocks' order */
static char guard_name[NCPU][3][40];	/* what vm_guard reports, per guard */

/*
 * Give core (>= 1) its stacks, unless it has them; called by core 0
 * before it starts the core.  Returns 0, or -1 if memory ran out.
 */
int
cpu_stacks_alloc(int core)
{
	static const char *const what[3] = {
		"fault stack (IST1)", "page-fault stack (IST2)", "event stack",
	};

	if (core < 1 || core >= NCPU)
		panic("cpu_stacks_alloc: core %d", core);
	if (stack_block[core] != NULL)
		return 0;
	while ((size_t)PAGE_SIZE << stack_order < STACK_BLOCK_MIN)
		stack_order++;
	char *b = page_alloc(stack_order);
	if (b == NULL)
		return -1;
	for (int i = 0; i < 3; i++) {
		ksnprintf(guard_name[core][i], sizeof guard_name[core][i], "core %d's %s",
		    core, what[i]);
		vm_guard(b + i * (PAGE_SIZE + TRAP_STACK_SIZE), guard_name[core][i]);
	}
	stack_block[core] = b;
	return 0;
}

/* The top of core's event stack. */
uintptr_t
cpu_stack_top(int core)
{
	if (core == 0)
		return (uintptr_t)boot_stack_top;
	if (stack_block[core] == NULL)
		panic("cpu_stack_top: core %d has no stacks", core);
	return (uintptr_t)stack_block[core] + ((size_t)PAGE_SIZE << stack_order);
}

/* The top of core's IST stack ist (1 or 2). */
uintptr_t
cpu_trap_stack_top(int core, int ist)
{
	if (core == 0)
		return (uintptr_t)trap_stack[ist - 1] + PAGE_SIZE + TRAP_STACK_SIZE;
	if (stack_block[core] == NULL)
		panic("cpu_trap_stack_top: core %d has no stacks", core);
	return (uintptr_t)stack_block[core] + ist * (PAGE_SIZE + TRAP_STACK_SIZE);
}

/* The guard page below an IST stack. */
void *
cpu_trap_stack_guard(int core, int ist)
{
	return (char *)cpu_trap_stack_top(core, ist) - TRAP_STACK_SIZE - PAGE_SIZE;
}

/* A 16-byte system descriptor for an available 64-bit TSS. */
static void
set_tss_desc(uint64_t *d, struct tss *t)
{
	uint64_t base = (uintptr_t)t, limit = sizeof *t - 1;

	d[0] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) |
	    (0x89ULL << 40) |			/* present, type 9: 64-bit TSS */
	    (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
	d[1] = base >> 32;
}

/* Load this core's GDT, TSS and GS base; runs on the core itself. */
void
cpu_init(int core)
{
	local[core].id = core;
	wrmsr(MSR_GS_BASE, (uintptr_t)&local[core]);	/* after this, core_id() works */

	struct cpu_tables *c = &tables[core];
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc = { sizeof c->gdt - 1, (uintptr_t)c->gdt };

	c->gdt[0] = 0;
	c->gdt[1] = 0x00AF9A000000FFFFULL;	/* code: present, DPL 0, L=1 */
	c->gdt[2] = 0x00CF92000000FFFFULL;	/* data: present, DPL 0, writable */
	set_tss_desc(&c->gdt[3], &c->tss);
	c->tss.ist[0] = cpu_trap_stack_top(core, 1);
	c->tss.ist[1] = cpu_trap_stack_top(core, 2);
	c->tss.iomap = sizeof c->tss;

	/* Reload CS with a far return, then the data segments and TR. */
	__asm__ volatile(
	    "lgdt %0\n\t"
	    "pushq %1\n\t"
	    "leaq 1f(%%rip), %%rax\n\t"
	    "pushq %%rax\n\t"
	    "lretq\n"
	    "1:\tmovw %w2, %%ax\n\t"
	    "movw %%ax, %%ds\n\t"
	    "movw %%ax, %%es\n\t"
	    "movw %%ax, %%ss\n\t"
	    "ltr %w3"
	    : : "m"(desc), "i"(SEG_KCODE), "r"(SEG_KDATA), "r"(SEG_TSS)
	    : "rax", "memory");
}
