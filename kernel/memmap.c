/*
 * memmap.c: what the multiboot loader told us about the machine — the
 * command line and the physical memory map — copied out of the loader's
 * structures at the very start of kmain, before anything could reuse the
 * memory they live in.
 *
 * The usable memory handed to the page allocator (platform.h's
 * mem_ranges) is every range the map calls usable, less the first
 * LOW_KEEP bytes (the real-mode interrupt table and BIOS data, and the
 * AP trampoline at 0x8000), less the ROM hole the map leaves out below
 * 1 MiB anyway, and less the image itself (1 MiB .. __image_end), each
 * range shrunk inward to whole pages.  The low memory (64 KiB to about
 * 636 KiB on a PC) is a zone of its own: on a small machine it is half
 * of what there is.  The
 * loader's own structures sit just above the image, inside a usable
 * range: that is why they are copied first.  RAM above VM_MAX_RAM_GB is
 * ignored (kernel/vm.c sizes its boot page tables for that much).
 *
 * memmap_ram lists the usable RAM itself (whole pages, nothing taken
 * out), for kernel/vm.c to map.  Too little memory ends the instance
 * with a line that says so (EXIT_PANIC), not with a panic report: none
 * above the image (memmap_init), or less free than the runtime needs to
 * start on every core (memmap_check).
 */
#include <string.h>

#include "multiboot.h"
#include "native.h"
#include "page.h"
#include "platform.h"
#include "print.h"

static char cmdline[CMDLINE_MAX];
static struct mem_range usable[MAX_MEM_RANGES];	/* for allocation */
static int nusable;
static struct mem_range ram[MAX_MEM_RANGES];		/* all usable RAM */
static int nram;
static uint64_t ram_total;	/* bytes the map calls usable, in all */

#define RAM_END		((uint64_t)VM_MAX_RAM_GB << 30)
#define LOW_KEEP	0x10000		/* below this, never allocated */
#define LOW_END		0x100000	/* the first MiB: the image starts here */

/* Add [base, end), shrunk inward to whole pages, to a sorted list. */
static void
add_range(struct mem_range *list, int *n, uint64_t base, uint64_t end)
{
	base = (base + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
	if (end > RAM_END)
		end = RAM_END;
	end &= ~(uint64_t)(PAGE_SIZE - 1);
	if (end <= base)
		return;
	if (*n == MAX_MEM_RANGES) {
		kprintf("memmap: more than %d usable ranges; ignoring %#llx-%#llx\n",
		    MAX_MEM_RANGES, (unsigned long long)base, (unsigned long long)end);
		return;
	}
	/* The loader's map is sorted in practice; insert in order anyway. */
	int i = (*n)++;
	while (i > 0 && list[i - 1].base > base) {
		list[i] = list[i - 1];
		i--;
	}
	list[i].base = base;
	list[i].len = end - base;
}

void
memmap_init(uint32_t addr)
{
	struct mb_info *mb = (struct mb_info *)(uintptr_t)addr;

	if (mb->flags & MB_INFO_CMDLINE) {
		const char *s = (const char *)(uintptr_t)mb->cmdline;
		if (strlen(s) >= sizeof cmdline)
			panic("memmap: command line longer than %d bytes", CMDLINE_MAX - 1);
		strcpy(cmdline, s);
	}
	if (!(mb->flags & MB_INFO_MMAP))
		panic("memmap: the loader gave no memory map");
	uintptr_t p = mb->mmap_addr, end = p + mb->mmap_length;
	while (p < end) {
		struct mb_mmap *e = (struct mb_mmap *)p;
		if (e->type == MB_MEM_USABLE) {
			uint64_t lo = (uintptr_t)__image_end, base = e->base;
			ram_total += e->len;
			add_range(ram, &nram, base, base + e->len);
			if (base < LOW_END && e->base + e->len > LOW_KEEP)
				add_range(usable, &nusable, base < LOW_KEEP ? LOW_KEEP : base,
				    e->base + e->len < LOW_END ? e->base + e->len : LOW_END);
			if (base < lo)
				base = lo;	/* the first MiB and the image */
			add_range(usable, &nusable, base, e->base + e->len);
		}
		p += e->size + sizeof e->size;
	}
	if (nusable == 0) {
		kprintf("memory: none above the image, which ends at %llu KiB: give the machine"
		    " more memory (make run MEM=...)\n",
		    (unsigned long long)((uintptr_t)__image_end >> 10));
		machine_exit(EXIT_PANIC);
	}
	if (ram_total > RAM_END)
		kprintf("memmap: only the first %d GiB of RAM are used\n", VM_MAX_RAM_GB);
}

/*
 * Is there enough free memory for the runtime to start on ncpu cores
 * (MEM_BOOT_KIB, and MEM_CORE_KIB for each other core: param.h)?  If
 * not, say how much is missing and end the instance now, with a line
 * instead of a panic report later (an allocator's set-up, a core's
 * page tables, or its Ebb table running out).  Core 0, after page_init.
 */
void
memmap_check(int ncpu)
{
	uint64_t have = page_count_free() * (PAGE_SIZE >> 10);
	uint64_t need;

	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > NCPU)
		ncpu = NCPU;
	need = MEM_BOOT_KIB + (uint64_t)MEM_CORE_KIB * (ncpu - 1);
	if (have >= need)
		return;
	kprintf("memory: %llu KiB free, and the runtime needs %llu KiB to start on %d core%s:"
	    " give the machine at least %llu KiB more (make run MEM=...)\n",
	    (unsigned long long)have, (unsigned long long)need, ncpu, ncpu == 1 ? "" : "s",
	    (unsigned long long)(need - have));
	machine_exit(EXIT_PANIC);
}

/* The usable RAM ranges, whole pages, sorted: for kernel/vm.c. */
int
memmap_ram_count(void)
{
	return nram;
}

struct mem_range
memmap_ram(int i)
{
	return ram[i];
}

/* Is addr in usable RAM? */
int
memmap_is_ram(uintptr_t addr)
{
	for (int i = 0; i < nram; i++)
		if (addr - ram[i].base < ram[i].len)
			return 1;
	return 0;
}

/* The command line: the image's path, then QEMU's -append words. */
char *
memmap_cmdline(void)
{
	return cmdline;
}

void
memmap_print(void)
{
	uint64_t free = 0;

	for (int i = 0; i < nusable; i++)
		free += usable[i].len;
	kprintf("memory: %llu MiB usable, %llu MiB for allocation in %d range%s\n",
	    (unsigned long long)(ram_total >> 20), (unsigned long long)(free >> 20),
	    nusable, nusable == 1 ? "" : "s");
}

/* platform.h: the usable ranges, handed out once. */
int
mem_ranges(struct mem_range *out, int max)
{
	static int handed_out;
	int n = 0;

	if (handed_out++)
		panic("mem_ranges: called twice");
	for (; n < nusable && n < max; n++)
		out[n] = usable[n];
	return n;
}
