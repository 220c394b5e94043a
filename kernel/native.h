/*
 * native.h: what the native kernel's files offer each other (like xv6's
 * defs.h).  Portable code never includes it: it sees the machine only
 * through platform.h.
 */
#ifndef NATIVE_H
#define NATIVE_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h"

struct mb_info;

/*
 * The interrupt vectors: the IDT's 256 entries (Intel SDM vol. 3, 6.2).
 * A local APIC delivers vectors 16..255; its priority class is the
 * vector's upper four bits, so the LAPIC's own vectors sit at the top.
 *
 *	0 .. 31		exceptions: trap.c reports them
 *	32 .. 47	unused: where the legacy 8259 PICs would be (masked)
 *	48 .. 239	T_IRQ_FIRST .. T_IRQ_LAST: irq_alloc's device vectors
 *	240		T_TIMER: the LAPIC timer (core_sleep's deadline)
 *	241		T_WAKE: the wake-up IPI (core_wake)
 *	254		T_LAPIC_ERROR: the LAPIC reports an error
 *	255		T_SPURIOUS: the LAPIC's spurious vector (no EOI)
 */
#define T_IRQ_BASE	32	/* vectors from here on are interrupts (irq.c) */
#define T_IRQ_FIRST	48
#define T_IRQ_LAST	239
#define T_TIMER		240
#define T_WAKE		241
#define T_LAPIC_ERROR	254
#define T_SPURIOUS	255

/* The registers a trap saves, in the order kernel/vectors.S pushes them. */
struct trapframe {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector;	/* pushed by the vector stub */
	uint64_t error;		/* pushed by the CPU, or 0 by the stub */
	uint64_t rip, cs, rflags, rsp, ss;	/* pushed by the CPU */
};

/* serial.c */
void serial_init(void);

/* memmap.c */
void memmap_init(uint32_t mb_info_addr);
char *memmap_cmdline(void);
int memmap_ram_count(void);
int memmap_is_ram(uintptr_t addr);
struct mem_range memmap_ram(int i);
void memmap_print(void);
void memmap_check(int ncpu);

/* cpu.c */
void cpu_init(int core);
int cpu_stacks_alloc(int core);
uintptr_t cpu_stack_top(int core);
uintptr_t cpu_trap_stack_top(int core, int ist);
void *cpu_trap_stack_guard(int core, int ist);

/* trap.c */
void trap_init(void);
void trap_load(void);
void trap(struct trapframe *tf);

/* vectors.S */
extern uint64_t trap_vectors[256];
void regs_capture(struct trapframe *tf);

/* clock.c */
void clock_init(void);

/* rtc.c: read the CMOS clock once (wall_ns); after clock_init */
void rtc_init(void);

/* acpi.c */
void acpi_init(void);
int acpi_cpu_count(void);
uint32_t acpi_cpu_apic(int i);
uint64_t acpi_lapic_addr(void);

/* lapic.c */
void pic_disable(void);
void lapic_init(void);
void lapic_calibrate(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
void lapic_error(void);
void lapic_ipi(uint32_t apic, int vector);
void lapic_ipi_init(uint32_t apic);
void lapic_ipi_startup(uint32_t apic, uintptr_t addr);
void lapic_timer_start(uint64_t ns);
void lapic_timer_stop(void);

/* irq.c */
void irq_trap(int vector);
int irq_pending(void);
void irq_tick(int vector, int core);
void irq_disarm(int vector);
uint64_t irq_tick_check(void);

/* smp.c */
void smp_start(uint64_t wait_ms);
uint32_t core_apic(int core);
void ap_enter(int core) __attribute__((noreturn));

/* libc.c */
void libc_init(void);

/* boot.S and kernel/kernel.ld */
extern char __image_start[], __text_end[], __rodata_end[];
extern char __bss_start[], __bss_end[], __image_end[];
extern char boot_stack_guard[], boot_stack[], boot_stack_top[];
extern char ap_trampoline[], ap_trampoline_end[];

#endif
