/*
 * vm.c: the kernel's page tables (x86-64 4-level paging, Intel SDM vol. 3,
 * chapter 4.5).  Native only.
 *
 * There is one address space, and in it every physical address is its own
 * virtual address (the identity map), so a DMA address needs no
 * translation.  vm_init replaces boot.S's all-writable 4 GiB map with:
 *
 *	page 0			unmapped: a null pointer faults
 *	the rest of [0, 4 GiB)	uncached, no-execute: device memory
 *	usable RAM		write-back, writable, no-execute
 *	the image's .text	read-only, executable
 *	.rodata and .ksyms	read-only, no-execute
 *	.data and .bss		writable, no-execute
 *	stack guard pages	unmapped: an overflow faults there
 *
 * Mappings use 2 MiB pages wherever the range and its attributes allow,
 * and 4 KiB pages elsewhere; vm_map splits a 2 MiB page into 512 small
 * ones when a change falls inside it.  Page-table pages come first from a
 * pool in .bss (so that vm_init needs no allocator), then from the page
 * allocator; they are never freed.
 *
 * The guard pages are remembered with the name of their stack, so that a
 * page fault on one is reported as that stack's overflow (trap.c).
 *
 * Each core runs on its own PML4 (vm_core_init): a copy of the kernel's,
 * whose entries point at the same lower-level tables — so an edit made
 * through the kernel's PML4 shows on every core — except slot 255, the
 * home of the core's Ebb translation table (EBB_TABLE_VA, kernel/core.h).
 * That subtree is the core's own and starts empty: a touch of an unmapped
 * table page faults, and vm_fault maps a zero page there (EbbRT's trick:
 * the table's address is a constant, its pages are per core, and a zero
 * slot means "miss").  vm_map never adds a PML4 entry once cores have
 * their copies (the identity map stays inside slot 0's 512 GiB).
 *
 * Other cores start (kernel/smp.c) on the kernel's PML4 (vm_kernel_cr3)
 * and switch to their own copy at once.
 *
 * Edits flush only this core's TLB.  Today every edit made while other
 * cores run is core 0 unmapping the guard pages of a core it is about to
 * start, whose stacks no running core touches, or core 0 mapping a
 * device's BAR uncached in a driver's probe (kernel/pci.c's pci_map),
 * while the other cores are parked and have never touched it; so no
 * other core's stale translation matters.  An edit that removes or restricts a mapping some
 * running core uses will need a TLB shootdown.  Page-table pages are
 * taken with an atomic add on the pool index (or from the page
 * allocator, which locks), because any core may need one in vm_fault.
 */
#include <string.h>

#include "native.h"
#include "page.h"
#include "platform.h"
#include "print.h"
#include "spinlock.h"
#include "vm.h"
#include "x86.h"

/* Page-table entry bits (SDM vol. 3, 4.5, tables 4-14 to 4-20). */
#define PTE_P		(1ULL << 0)	/* present */
#define PTE_W		(1ULL << 1)	/* writable */
#define PTE_PWT		(1ULL << 3)	/* write-through */
#define PTE_PCD		(1ULL << 4)	/* cache disable */
#define PTE_PS		(1ULL << 7)	/* in a PD: a 2 MiB page */
#define PTE_NX		(1ULL << 63)	/* no execute (needs EFER.NXE) */
#define PTE_ADDR	0x000FFFFFFFFFF000ULL

#define MSR_EFER	0xC0000080
#define EFER_NXE	(1 << 11)

#define BIG		(2ULL << 20)		/* a 2 MiB page */
#define TABLE_POOL	(12 + VM_MAX_RAM_GB)	/* page tables vm_init may need */
#define MAX_GUARDS	(3 * NCPU + 64)	/* three stacks per core (cpu.c), and loop
					 * stacks (stack_guard); more are unnamed */

#define EBB_SLOT	((EBB_TABLE_VA >> 39) & 511)	/* the Ebb table's PML4 slot */
#define EBB_TABLE_END	(EBB_TABLE_VA + EBB_TABLE_SLOTS * sizeof(void *))

static uint64_t *pml4;			/* the kernel's: vm_map edits through it */
static uint64_t *core_pml4[NCPU];	/* each core's copy (vm_core_init) */
static int live;			/* are the tables in use (after vm_init)? */
static uint64_t pool[TABLE_POOL][512] __attribute__((aligned(PAGE_SIZE)));
static int pool_used;
static int have_nx;

static struct {
	uintptr_t addr;
	const char *name;
} guards[MAX_GUARDS];
static int nguards;

/*
 * Edits after boot (vm_guard, from any core) take vm_lock; before the
 * other cores start, core 0 edits alone.  Lock order: vm_lock, then the
 * page allocator's (a split takes a page for a table).
 */
static struct spinlock vm_lock = SPINLOCK_INIT("vm");

/*
 * Make the CPU forget old translations of [va, va + len) — if these are
 * the live tables; while vm_init builds new ones there is nothing to do.
 * A 2 MiB change may replace 512 small entries, so it flushes everything.
 */
static void
flush(uintptr_t va, size_t len)
{
	if (!live)
		return;
	if (len > PAGE_SIZE)
		write_cr3(read_cr3());
	else
		__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* A zeroed page for a page table, or NULL. */
static uint64_t *
table_alloc(void)
{
	uint64_t *t;
	int i = __atomic_fetch_add(&pool_used, 1, __ATOMIC_RELAXED);	/* a slot of its own */

	if (i < TABLE_POOL)
		t = pool[i];
	else if ((t = page_alloc(0)) == NULL)
		return NULL;
	memset(t, 0, PAGE_SIZE);
	return t;
}

/* The PTE bits for VM_* flags. */
static uint64_t
pte_bits(int flags)
{
	uint64_t b = PTE_P;

	if (flags & VM_W)
		b |= PTE_W;
	if (!(flags & VM_X) && have_nx)
		b |= PTE_NX;
	if (flags & VM_UC)
		b |= PTE_PCD | PTE_PWT;
	return b;
}

/*
 * The entry for va in the table one level down from entry *e, creating
 * the table if absent and splitting a 2 MiB page into 4 KiB ones.
 * Intermediate entries are writable and executable: the leaf decides.
 */
static uint64_t *
descend(uint64_t *e, int level_shift, uintptr_t va)
{
	if (!(*e & PTE_P)) {
		uint64_t *t = table_alloc();
		if (t == NULL)
			return NULL;
		*e = (uintptr_t)t | PTE_P | PTE_W;
	} else if (*e & PTE_PS) {
		uint64_t *t = table_alloc();
		if (t == NULL)
			return NULL;
		uint64_t base = *e & PTE_ADDR & ~(BIG - 1), attr = *e & ~PTE_ADDR & ~PTE_PS;
		for (int i = 0; i < 512; i++)
			t[i] = (base + (uint64_t)i * PAGE_SIZE) | attr;
		*e = (uintptr_t)t | PTE_P | PTE_W;
	}
	uint64_t *table = (uint64_t *)(uintptr_t)(*e & PTE_ADDR);
	return &table[(va >> level_shift) & 511];
}

/* The PD entry for va (creating tables), or NULL if out of memory. */
static uint64_t *
pd_entry(uintptr_t va)
{
	uint64_t *e = &pml4[(va >> 39) & 511];

	if (!(*e & PTE_P) && core_pml4[0] != NULL)
		panic("vm_map: %#lx needs a new PML4 entry, which the cores' copies would miss", va);
	if ((e = descend(e, 30, va)) == NULL)
		return NULL;
	return descend(e, 21, va);
}

/*
 * Set the entries for [va, va + len) to map [pa, pa + len) with PTE bits
 * bits, or to 0 (unmapped) if bits is 0.  Uses 2 MiB entries where va,
 * pa and the remaining length allow.  Returns 0, or -1 if a page table
 * could not be allocated (the range may then be partly changed).
 */
static int
vm_set(uintptr_t va, uintptr_t pa, size_t len, uint64_t bits)
{
	/* Only the guard pages are changed after boot, by any core, under vm_lock. */
	uintptr_t end = va + len;

	while (va < end) {
		uint64_t *pde = pd_entry(va), *pte;
		if (pde == NULL)
			return -1;
		if (((va | pa) & (BIG - 1)) == 0 && end - va >= BIG) {
			*pde = bits ? pa | bits | PTE_PS : 0;	/* an old small table leaks */
			flush(va, BIG);
			va += BIG;
			pa += BIG;
			continue;
		}
		if ((pte = descend(pde, 12, va)) == NULL)
			return -1;
		*pte = bits ? pa | bits : 0;
		flush(va, PAGE_SIZE);
		va += PAGE_SIZE;
		pa += PAGE_SIZE;
	}
	return 0;
}

/* Map [va, va + len) to [pa, pa + len) with flags, replacing what was there. */
int
vm_map(uintptr_t va, uintptr_t pa, size_t len, int flags)
{
	if ((va | pa | len) & (PAGE_SIZE - 1))
		panic("vm_map: %#lx -> %#lx (%#zx bytes) not page-aligned", va, pa, len);
	return vm_set(va, pa, len, pte_bits(flags));
}

/* Unmap [va, va + len); returns 0, or -1 if a split ran out of memory. */
int
vm_unmap(uintptr_t va, size_t len)
{
	if ((va | len) & (PAGE_SIZE - 1))
		panic("vm_unmap: %#lx (%#zx bytes) not page-aligned", va, len);
	return vm_set(va, 0, len, 0);
}

/*
 * Unmap the page below a stack and remember whose it is (the first
 * MAX_GUARDS of them; later ones are reported without a name).  Any
 * core: the edit and the registry are under vm_lock.
 */
void
vm_guard(void *page, const char *stack_name)
{
	spin_lock(&vm_lock);
	if (vm_set((uintptr_t)page, 0, PAGE_SIZE, 0) < 0)
		panic("vm_guard: no memory for a page table");
	if (nguards < MAX_GUARDS) {
		guards[nguards].addr = (uintptr_t)page;
		guards[nguards].name = stack_name;
		/* Release: a report on another core that sees the count sees the entry. */
		__atomic_store_n(&nguards, nguards + 1, __ATOMIC_RELEASE);
	}
	spin_unlock(&vm_lock);
}

/* platform.h */
void
stack_guard(void *page, const char *stack_name)
{
	vm_guard(page, stack_name);
}

/* The stack whose guard page holds addr, or NULL. */
const char *
vm_guard_name(uintptr_t addr)
{
	int n = __atomic_load_n(&nguards, __ATOMIC_ACQUIRE);	/* pairs with vm_guard */

	for (int i = 0; i < n; i++)
		if (addr - guards[i].addr < PAGE_SIZE)
			return guards[i].name;
	return NULL;
}

/* Is va mapped (for reading) on this core?  For trap reports. */
int
vm_mapped(uintptr_t va)
{
	uint64_t *t = (uint64_t *)(uintptr_t)(read_cr3() & PTE_ADDR);

	if (!live)
		return va < (4ULL << 30);	/* boot.S's map */
	for (int shift = 39; shift >= 12; shift -= 9) {
		uint64_t e = t[(va >> shift) & 511];
		if (!(e & PTE_P))
			return 0;
		if (shift == 12 || (shift == 21 && (e & PTE_PS)))
			return 1;
		t = (uint64_t *)(uintptr_t)(e & PTE_ADDR);
	}
	return 0;	/* NOTREACHED */
}

static void
must(int r, const char *what)
{
	if (r < 0)
		panic("vm_init: out of page tables mapping %s", what);
}

/* Build the kernel's page tables (see the top of this file) and load them. */
void
vm_init(void)
{
	uint32_t r[4];
	uintptr_t text = (uintptr_t)__image_start, text_end = (uintptr_t)__text_end;
	uintptr_t ro_end = (uintptr_t)__rodata_end, end = (uintptr_t)__image_end;

	cpuid(0x80000001, 0, r);
	have_nx = (r[3] >> 20) & 1;		/* CPUID.80000001h:EDX.NX */
	if (have_nx)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);

	pml4 = table_alloc();
	must(vm_map(0, 0, 4ULL << 30, VM_W | VM_UC), "the low 4 GiB");
	for (int i = 0; i < memmap_ram_count(); i++) {
		struct mem_range m = memmap_ram(i);
		must(vm_map(m.base, m.base, m.len, VM_W), "RAM");
	}
	must(vm_map(0, 0, 1 << 20, VM_W), "the first MiB");
	must(vm_map(text, text, text_end - text, VM_X), "the image's text");
	must(vm_map(text_end, text_end, ro_end - text_end, 0), "the image's rodata");
	must(vm_map(ro_end, ro_end, end - ro_end, VM_W), "the image's data");
	must(vm_unmap(0, PAGE_SIZE), "page 0");
	write_cr3((uintptr_t)pml4);
	live = 1;

	vm_guard(boot_stack_guard, "core 0's boot stack");
	for (int ist = 1; ist <= 2; ist++)
		vm_guard(cpu_trap_stack_guard(0, ist), ist == 1 ?
		    "core 0's fault stack (IST1)" : "core 0's page-fault stack (IST2)");
	kprintf("vm: %d page-table pages, no-execute %s\n", pool_used,
	    have_nx ? "on" : "not supported by this CPU");
}

/*
 * The kernel's PML4, which a starting core loads first (kernel/smp.c):
 * below 4 GiB, since the core loads it in 32-bit mode.
 */
uintptr_t
vm_kernel_cr3(void)
{
	return (uintptr_t)pml4;
}

/*
 * Give this core its own PML4, a copy of the kernel's with an empty Ebb
 * table subtree, and switch to it.  Runs on the core, once.
 */
void
vm_core_init(int core)
{
	uint64_t *p = table_alloc();

	if (p == NULL)
		panic("vm_core_init: no memory for core %d's PML4", core);
	memcpy(p, pml4, PAGE_SIZE);
	p[EBB_SLOT] = 0;
	core_pml4[core] = p;
	write_cr3((uintptr_t)p);
}

/*
 * A page fault at addr, not present: if addr lies in this core's Ebb
 * table, map a zero page there and return 1, so that the access is
 * retried and reads a zero (a miss); otherwise return 0 (a real fault).
 */
int
vm_fault(uintptr_t addr)
{
	uint64_t *p = core_pml4[core_id()], *e;
	void *page;

	if (addr < EBB_TABLE_VA || addr >= EBB_TABLE_END || p == NULL)
		return 0;
	if ((page = page_alloc(0)) == NULL)
		panic("vm_fault: no memory for a page of core %d's Ebb table", core_id());
	memset(page, 0, PAGE_SIZE);
	e = &p[EBB_SLOT];
	if ((e = descend(e, 30, addr)) == NULL || (e = descend(e, 21, addr)) == NULL ||
	    (e = descend(e, 12, addr)) == NULL)
		panic("vm_fault: no memory for core %d's Ebb table's page tables", core_id());
	*e = (uintptr_t)page | pte_bits(VM_W);
	return 1;
}
