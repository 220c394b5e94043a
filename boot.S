/*
 * boot.S: from a multiboot loader's 32-bit protected mode to kmain in
 * 64-bit long mode.
 *
 * QEMU's -kernel (or GRUB) loads the image at 1 MiB, as its program
 * headers ask, and jumps to start32 with
 *	eax = 0x2BADB002 (the multiboot magic), ebx = the multiboot info,
 *	paging off, interrupts off, flat 4 GiB segments, no stack.
 * The steps, in order:
 *	1. check the magic and that the CPU has long mode; if not, say why
 *	   on COM1, ask QEMU to exit (isa-debug-exit) and halt;
 *	2. build the boot page tables: the first 4 GiB identity-mapped with
 *	   2 MiB pages (RAM, the low MMIO and the LAPIC/IOAPIC window), so
 *	   that every physical address below 4 GiB is its own virtual address;
 *	3. enable PAE and SSE (CR4), load CR3, set EFER.LME, enable paging
 *	   (CR0.PG), which activates long mode (Intel SDM vol. 3, 10.8.5);
 *	4. load a 64-bit GDT and jump through its code segment to 64-bit code;
 *	5. call kmain(multiboot info) on the boot stack, frame pointer 0 so
 *	   that backtraces end there.
 * kernel/vm.c later replaces these tables with the kernel's own map.
 *
 * The other cores come in through the second half of this file (the AP
 * path, at the end), which kernel/smp.c starts with INIT and STARTUP
 * IPIs (Intel SDM vol. 3, 8.4.4):
 *	1. ap_trampoline, copied to a page below 1 MiB (smp.c's
 *	   AP_TRAMPOLINE): the SIPI starts the core there in 16-bit real
 *	   mode; it loads the boot GDT and enables protected mode;
 *	2. ap_start32, in place in the image (protected mode without paging
 *	   reaches all of the first 4 GiB): PAE and SSE, the kernel's page
 *	   tables (ap_boot_cr3), EFER (ap_boot_efer), paging: long mode;
 *	3. ap_start64: segments, the call-in (ap_waiting: a processor
 *	   core 0 gave up on halts there), the core's stack
 *	   (ap_boot_stack), and ap_enter(ap_boot_core) in kernel/smp.c.
 * Only step 1 runs from the copy, and without paging; so the page it is
 * copied to never needs to be mapped executable.
 */
#include "kernel/param.h"

#define MB_MAGIC	0x1BADB002	/* multiboot 1 header magic */
#define MB_FLAGS	0x00000003	/* page-align modules, want memory info */
#define MB_BOOT_MAGIC	0x2BADB002	/* what the loader leaves in eax */

#define COM1		0x3F8		/* serial port: data register */
#define COM1_LSR	0x3FD		/* line status; bit 5 = transmitter empty */
#define DEBUG_EXIT	0xF4		/* QEMU isa-debug-exit port (test/qemu.sh) */
#define DEBUGCON	0xE9		/* QEMU debugcon port: the status, said */

#define CR0_PE		(1 << 0)	/* protected mode */
#define CR0_MP		(1 << 1)	/* monitor coprocessor (SSE) */
#define CR0_EM		(1 << 2)	/* x87 emulation: must be off for SSE */
#define CR0_ET		(1 << 4)	/* extension type: reads as 1 */
#define CR0_NE		(1 << 5)	/* native x87 error reporting */
#define CR0_WP		(1 << 16)	/* ring 0 honours read-only pages */
#define CR0_PG		(1 << 31)	/* paging */
#define CR4_PAE		(1 << 5)	/* physical address extension */
#define CR4_OSFXSR	(1 << 9)	/* fxsave/fxrstor and SSE enabled */
#define CR4_OSXMMEXCPT	(1 << 10)	/* SSE exceptions raise #XM */
#define MSR_EFER	0xC0000080	/* extended feature enable register */
#define EFER_LME	(1 << 8)	/* long mode enable */

#define PTE_P		0x001		/* present */
#define PTE_W		0x002		/* writable */
#define PTE_PS		0x080		/* in a page directory: a 2 MiB page */

#define SEG_KCODE	0x08		/* GDT selector of the 64-bit code segment */
#define SEG_KDATA	0x10		/* GDT selector of the data segment */
#define SEG_KCODE32	0x18		/* GDT selector of a 32-bit code segment (APs) */

/* Load the data segment registers after the jump to 64-bit code. */
.macro LOAD_SEGMENTS
	movw $SEG_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
.endm

/* ---- the multiboot header: within the image's first 8 KiB ------------- */

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

/* ---- 32-bit entry ------------------------------------------------------- */

	.code32
	.text
	.globl start32
start32:
	cli
	cld
	movl $boot_stack_top, %esp
	cmpl $MB_BOOT_MAGIC, %eax
	jne no_multiboot
	movl %ebx, mb_info

	/* Long mode is CPUID.80000001h:EDX bit 29; first check that leaf exists. */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	testl $(1 << 29), %edx
	jz no_long_mode

	/* Zero the six table pages: PML4, PDPT and four page directories. */
	movl $boot_pml4, %edi
	xorl %eax, %eax
	movl $(6 * 4096 / 4), %ecx
	rep stosl

	/* PML4[0] -> PDPT; PDPT[0..3] -> the four page directories. */
	movl $(boot_pdpt + PTE_P + PTE_W), boot_pml4
	movl $(boot_pd + PTE_P + PTE_W), boot_pdpt
	movl $(boot_pd + 0x1000 + PTE_P + PTE_W), boot_pdpt + 8
	movl $(boot_pd + 0x2000 + PTE_P + PTE_W), boot_pdpt + 16
	movl $(boot_pd + 0x3000 + PTE_P + PTE_W), boot_pdpt + 24

	/* 2048 directory entries, entry i maps [i * 2 MiB, (i + 1) * 2 MiB). */
	movl $boot_pd, %edi
	movl $(PTE_P + PTE_W + PTE_PS), %eax
	movl $2048, %ecx
1:	movl %eax, (%edi)
	movl $0, 4(%edi)
	addl $0x200000, %eax
	addl $8, %edi
	loop 1b

	movl %cr4, %eax
	orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	andl $~CR0_EM, %eax
	orl $(CR0_PG | CR0_WP | CR0_NE | CR0_MP), %eax
	movl %eax, %cr0			/* now in long mode, 32-bit compatibility */
	lgdt gdt64_desc
	ljmp $SEG_KCODE, $start64

/* Print the string at %esi on COM1, byte by byte, polling the LSR. */
puts32:
	movw $COM1_LSR, %dx
1:	inb %dx, %al
	testb $0x20, %al
	jz 1b
	lodsb
	testb %al, %al
	jz 2f
	movw $COM1, %dx
	outb %al, %dx
	jmp puts32
2:	ret

no_multiboot:
	movl $msg_no_multiboot, %esi
	jmp fail32
no_long_mode:
	movl $msg_no_long_mode, %esi
fail32:
	call puts32
	movl $msg_exit_panic, %esi	/* as kernel/main.c's machine_exit: the */
	movw $DEBUGCON, %dx		/* status said on debugcon, ... */
1:	lodsb
	testb %al, %al
	jz 2f
	outb %al, %dx
	jmp 1b
2:	movl $(EXIT_PANIC + 1), %eax	/* ... then written, encoded, to the */
	movw $DEBUG_EXIT, %dx		/* isa-debug-exit device */
	outl %eax, %dx			/* QEMU exits here ... */
3:	hlt				/* ... any other machine halts */
	jmp 3b

/* ---- 64-bit entry ------------------------------------------------------- */

	.code64
start64:
	LOAD_SEGMENTS
	movq $boot_stack_top, %rsp
	xorl %ebp, %ebp			/* the end of every backtrace */
	fninit
	movl mb_info, %edi		/* zero-extended: below 4 GiB */
	call kmain
4:	cli				/* kmain never returns */
	hlt
	jmp 4b

/* ---- the AP path ---------------------------------------------------------- */

/*
 * The trampoline: copied below 1 MiB by kernel/smp.c.  A SIPI with
 * vector v starts the core in real mode with cs = v << 8 and ip = 0, so
 * cs's base is the copy's address and everything here is addressed
 * relative to ap_trampoline through ds = cs.  Interrupts are off (the
 * core has no IDT), and CR0 holds its reset value: caches disabled (CD,
 * NW), which ap_start32 undoes.
 */
	.code16
	.globl ap_trampoline, ap_trampoline_end
ap_trampoline:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl ap_gdt_desc - ap_trampoline	/* ds:offset, the 32-bit base form */
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $SEG_KCODE32, $ap_start32		/* to the image, in 32-bit mode */
	.balign 4
ap_gdt_desc:
	.word gdt64_end - gdt64 - 1
	.long gdt64
ap_trampoline_end:

/*
 * 32-bit protected mode, paging off, running in the image itself.  The
 * same steps as start32, with the kernel's page tables instead of the
 * boot ones (the identity map covers this code, executable) and CR0 set
 * whole: its reset value has the caches disabled.
 */
	.code32
ap_start32:
	movw $SEG_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax	/* as start32 */
	movl %eax, %cr4
	movl ap_boot_cr3, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl ap_boot_efer, %eax		/* LME, and NXE: the tables use NX bits */
	wrmsr
	movl $(CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_MP | CR0_PE), %eax
	movl %eax, %cr0			/* long mode, 32-bit compatibility */
	ljmp $SEG_KCODE, $ap_start64

/*
 * Long mode, still without a stack.  Call in (kernel/smp.c explains the
 * handshake): read the stack and core id core 0 set, then swap our APIC
 * id + 1 in ap_waiting for 0.  Only if the swap succeeds were they set
 * for us; a processor that core 0 gave up on, coming late, fails it and
 * halts here, having written nothing.  Our APIC id comes from CPUID:
 * leaf 0xB's x2APIC id where the leaf exists, else leaf 1's 8-bit
 * initial APIC id (SDM vol. 3, 10.4.6 and 10.12.8.1).
 */
	.code64
ap_start64:
	LOAD_SEGMENTS
	xorl %eax, %eax
	cpuid				/* eax: the highest basic leaf */
	cmpl $0xB, %eax
	jb 1f
	movl $0xB, %eax
	xorl %ecx, %ecx
	cpuid				/* edx: the x2APIC id */
	testw %bx, %bx			/* no processors at level 0: no leaf 0xB */
	jz 1f
	movl %edx, %esi
	jmp 2f
1:	movl $1, %eax
	cpuid
	shrl $24, %ebx			/* ebx[31:24]: the initial APIC id */
	movl %ebx, %esi
2:	movq ap_boot_stack(%rip), %r8	/* read before the swap: see above */
	movl ap_boot_core(%rip), %r9d
	leaq 1(%rsi), %rax		/* what ap_waiting holds if it is us */
	xorl %ecx, %ecx
	lock cmpxchgq %rcx, ap_waiting(%rip)	/* a full barrier: the reads come first */
	jne 5f				/* not waited for (any more): halt */
	movq %r8, %rsp
	xorl %ebp, %ebp			/* the end of every backtrace */
	fninit
	movl %r9d, %edi
	call ap_enter
5:	cli				/* too late, or ap_enter returned: never */
	hlt
	jmp 5b

/* ---- data ----------------------------------------------------------------- */

	.section .rodata
msg_no_multiboot:
	.asciz "boot: not started by a multiboot loader (bad magic in eax); halting\r\n"
msg_no_long_mode:
	.asciz "boot: this CPU has no long mode (x86-64); halting\r\n"
msg_exit_panic:				/* "exit 70\n" (EXIT_PANIC has two digits) */
	.ascii "exit "
	.byte '0' + EXIT_PANIC / 10, '0' + EXIT_PANIC % 10, '\n', 0

/* The boot GDT: null, 64-bit ring-0 code, ring-0 data (SDM vol. 3, 3.4.5). */
	.balign 8
gdt64:
	.quad 0
	.quad 0x00AF9A000000FFFF	/* code: present, DPL 0, execute/read, L=1 */
	.quad 0x00CF92000000FFFF	/* data: present, DPL 0, read/write */
	.quad 0x00CF9A000000FFFF	/* code: present, DPL 0, execute/read, D=1 (32-bit) */
gdt64_end:
gdt64_desc:
	.word gdt64_end - gdt64 - 1
	.long gdt64

	.data
	.globl mb_info
mb_info:
	.long 0				/* the multiboot info address from ebx */

/*
 * Boot page tables and core 0's stack.  Below the stack is one page that
 * kernel/vm.c unmaps: an overflow faults there instead of corrupting bss.
 */
	.bss
	.balign 4096
boot_pml4:
	.skip 4096
boot_pdpt:
	.skip 4096
boot_pd:
	.skip 4 * 4096
	.globl boot_stack_guard, boot_stack, boot_stack_top
boot_stack_guard:
	.skip 4096
boot_stack:
	.skip KSTACK_SIZE
boot_stack_top:
