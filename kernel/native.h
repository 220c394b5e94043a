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
struct mem_range memmap_ram(int i);
void memmap_print(void);

/* cpu.c */
void cpu_init(int core);
uintptr_t cpu_trap_stack_top(int core, int ist);
void *cpu_trap_stack_guard(int core, int ist);

/* trap.c */
void trap_init(void);
void trap(struct trapframe *tf);

/* vectors.S */
extern uint64_t trap_vectors[32];
void regs_capture(struct trapframe *tf);

/* clock.c */
void clock_init(void);

/* libc.c */
void libc_init(void);

/* boot.S and kernel/kernel.ld */
extern char __image_start[], __text_end[], __rodata_end[];
extern char __bss_start[], __bss_end[], __image_end[];
extern char boot_stack_guard[], boot_stack[], boot_stack_top[];

#endif
