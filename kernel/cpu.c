/*
 * cpu.c: each core's segment tables: a GDT and a 64-bit TSS.
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
 */
#include "native.h"
#include "platform.h"
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
 * later cores will get theirs from the page allocator.
 */
static char trap_stack[2][PAGE_SIZE + TRAP_STACK_SIZE] __attribute__((aligned(PAGE_SIZE)));

uintptr_t
cpu_trap_stack_top(int core, int ist)
{
	if (core != 0)
		panic("cpu_trap_stack_top: core %d has no trap stacks yet", core);
	return (uintptr_t)trap_stack[ist - 1] + PAGE_SIZE + TRAP_STACK_SIZE;
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
