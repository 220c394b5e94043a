/*
 * main.c: kmain, the table of contents of the native boot, and the
 * trivial platform primitive machine_exit.
 *
 * boot.S arrives here in long mode on core 0's boot stack, with the
 * first 4 GiB identity-mapped and interrupts off.  Each line of kmain
 * brings up one piece, in dependency order; then the portable runtime
 * (ebb/runtime.c) takes over and never returns.  The other cores are
 * started before the PCI scan (smp_start), enter through their own
 * short path, kernel/smp.c's ap_enter, and wait there until the
 * runtime lets them run its loops (cores_start).
 */
#include <string.h>

#include "cmdline.h"
#include "ebb/runtime.h"
#include "malloc.h"
#include "native.h"
#include "page.h"
#include "pci.h"
#include "platform.h"
#include "print.h"
#include "slab.h"
#include "vm.h"
#include "x86.h"

#define DEBUG_EXIT_PORT	0xF4	/* QEMU's isa-debug-exit (test/qemu.sh) */
#define DEBUGCON_PORT	0xE9	/* QEMU's debugcon, where qemu.sh reads the status */

static char *argv[MAX_ARGS + 1];

/* Whether one of the command line's words is word (the app sees it too). */
static int
has_word(int argc, char **words, const char *word)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(words[i], word) == 0)
			return 1;
	return 0;
}

/*
 * The number in the last word "name=N" of the command line (the app sees
 * it too), or dflt if there is none or N is not a decimal number.
 */
static uint64_t
word_number(int argc, char **words, const char *name, uint64_t dflt)
{
	size_t len = strlen(name);
	uint64_t v = dflt;

	for (int i = 0; i < argc; i++) {
		const char *s = words[i] + len;
		uint64_t n = 0;
		if (strncmp(words[i], name, len) != 0 || *s == '\0')
			continue;
		while (*s >= '0' && *s <= '9' && n < UINT64_MAX / 10)
			n = n * 10 + (uint64_t)(*s++ - '0');
		if (*s == '\0')
			v = n;
	}
	return v;
}

void
kmain(uint32_t mb_info)
{
	cpu_init(0);		/* this core's GDT, TSS and per-core block: core_id() */
	serial_init();		/* the console, so that panics can speak */
	kprintf("\n");		/* end the firmware's last line */
	memmap_init(mb_info);	/* copy the loader's data before anything reuses it */
	trap_init();		/* the IDT: exceptions now print a report */
	acpi_init();		/* the MADT's processors; before vm_init unmaps page 0 */
	vm_init();		/* the kernel's page tables: W^X, guard pages */
	page_init();		/* the buddy allocator takes all free RAM */
	memmap_check(acpi_cpu_count());	/* enough to start on every core, or say so and stop */
	slab_init();		/* object caches on top of it ... */
	kmalloc_init();		/* ... and malloc on those: newlib may now allocate */
	vm_core_init(0);	/* core 0's own PML4: its Ebb table faults in */
	clock_init();		/* calibrate the TSC: clock_ns() works */
	rtc_init();		/* read the CMOS clock: wall_ns() works; after clock_init */
	pic_disable();		/* mask the legacy 8259 PICs: the LAPIC takes over */
	lapic_init();		/* core 0's local APIC: EOI, IPIs, its timer */
	lapic_calibrate();	/* the timer's rate, against clock_ns: core_sleep */
	libc_init();		/* newlib's per-core state */
	memmap_print();

	int argc = cmdline_split(memmap_cmdline(), argv, MAX_ARGS);
	if (argc == CMDLINE_TOO_MANY || argc == CMDLINE_UNTERMINATED) {
		if (argc == CMDLINE_TOO_MANY)
			kprintf("kmain: more than %d words in the command line\n", MAX_ARGS);
		else
			kprintf("kmain: unterminated quote in the command line\n");
		machine_exit(EXIT_USAGE);
	}
	smp_start(word_number(argc, argv, "smpwait=", AP_START_MS));
				/* the other cores, parked: core_count() is final;
				 * "smpwait=MS": how long to wait for each */
	pci_init(has_word(argc, argv, "pci"));	/* scan, match drivers; after the cores
						 * (MSI-X aims at their APICs); "pci" lists devices */
	ebb_start(argc, argv);	/* the portable runtime: runs the app */
}

/*
 * platform.h: say the status on QEMU's debugcon port, "exit N\n", which
 * test/qemu.sh reads from a file; then write to QEMU's isa-debug-exit
 * device, which makes QEMU exit with status (v << 1) | 1 for a write of
 * v.  Only the low 8 bits of that reach the host, so the device cannot
 * carry every status: we write status + 1 for 0..125 (QEMU's exit is
 * then 3..253, and never 1, QEMU's own "could not start"), and 127 for
 * 126 and above (QEMU exits with 255): the debugcon line says which.
 * Elsewhere (no such devices) the writes do nothing and the core halts.
 */
void
machine_exit(int status)
{
	char line[16];
	int n;

	if (status < 0 || status > EXIT_MAX)
		status = EXIT_MAX;
	n = ksnprintf(line, sizeof line, "exit %d\n", status);
	for (int i = 0; i < n; i++)
		outb(DEBUGCON_PORT, (uint8_t)line[i]);
	outl(DEBUG_EXIT_PORT, (uint32_t)(status < 126 ? status : 126) + 1);
	halt_forever();
}
