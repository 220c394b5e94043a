/*
 * vectors.S: the entry stubs of all 256 vectors, the common trap path,
 * and regs_capture for panic.
 *
 * On a trap the CPU pushes ss, rsp, rflags, cs, rip and, for some
 * exceptions, an error code (Intel SDM vol. 3, 6.14).  Each stub makes
 * the frame uniform by pushing a 0 where the CPU pushed no error code,
 * then pushes its vector number and jumps to alltraps, which saves every
 * general register so that the stack holds a struct trapframe
 * (kernel/native.h), and calls trap(frame).  The CPU aligns rsp to 16
 * before pushing its frame; 22 quadwords later it is still 16-aligned,
 * as the C calling convention wants at a call (and fxsave, below).
 *
 * Two kinds of trap return to the code they interrupted: interrupts
 * (vectors 32..255, taken only inside core_sleep) and the first touch of
 * a page of a core's Ebb table (vm_fault).  The C code under trap() may
 * use the SSE registers (GCC uses them for copies and zeroing), which
 * the interrupted code may have live, so alltraps also saves the x87/SSE
 * state around the call (fxsave64, 512 bytes, SDM vol. 1, 10.5).
 */

/* Vectors for which the CPU pushes an error code. */
#define HAS_ERROR(n) ((n) == 8 || ((n) >= 10 && (n) <= 14) || (n) == 17 || \
	(n) == 21 || (n) == 29 || (n) == 30)

	.text
	.altmacro
.macro VECTOR n
	.globl vector\n
vector\n:
	.if HAS_ERROR(\n) == 0
	pushq $0
	.endif
	pushq $\n
	jmp alltraps
.endm

	.set i, 0
	.rept 256
	VECTOR %i
	.set i, i + 1
	.endr

alltraps:
	pushq %r15
	pushq %r14
	pushq %r13
	pushq %r12
	pushq %r11
	pushq %r10
	pushq %r9
	pushq %r8
	pushq %rbp
	pushq %rdi
	pushq %rsi
	pushq %rdx
	pushq %rcx
	pushq %rbx
	pushq %rax
	cld
	movq %rsp, %rdi			/* the struct trapframe */
	subq $512, %rsp			/* still 16-aligned */
	fxsave64 (%rsp)
	call trap
	/* trap returns only for traps that are handled: interrupts, vm_fault. */
	fxrstor64 (%rsp)
	addq $512, %rsp
	popq %rax
	popq %rbx
	popq %rcx
	popq %rdx
	popq %rsi
	popq %rdi
	popq %rbp
	popq %r8
	popq %r9
	popq %r10
	popq %r11
	popq %r12
	popq %r13
	popq %r14
	popq %r15
	addq $16, %rsp		/* vector and error code */
	iretq

/* The addresses of the stubs, for the IDT. */
	.section .rodata
	.balign 8
	.globl trap_vectors
trap_vectors:
.macro VECADDR n
	.quad vector\n
.endm
	.set i, 0
	.rept 256
	VECADDR %i
	.set i, i + 1
	.endr

/*
 * regs_capture(struct trapframe *tf): store the caller's registers as
 * they are at the call, with rip = the return address and rsp = the
 * caller's stack pointer after the return, so that panic can report the
 * same way a trap does.  vector and error are set to ~0 (no trap).
 */
	.text
	.globl regs_capture
regs_capture:
	movq %rax, 0(%rdi)
	movq %rbx, 8(%rdi)
	movq %rcx, 16(%rdi)
	movq %rdx, 24(%rdi)
	movq %rsi, 32(%rdi)
	movq %rdi, 40(%rdi)
	movq %rbp, 48(%rdi)
	movq %r8, 56(%rdi)
	movq %r9, 64(%rdi)
	movq %r10, 72(%rdi)
	movq %r11, 80(%rdi)
	movq %r12, 88(%rdi)
	movq %r13, 96(%rdi)
	movq %r14, 104(%rdi)
	movq %r15, 112(%rdi)
	movq $-1, 120(%rdi)
	movq $-1, 128(%rdi)
	movq (%rsp), %rax
	movq %rax, 136(%rdi)	/* rip: where the caller resumes */
	movq %cs, %rax
	movq %rax, 144(%rdi)
	pushfq
	popq %rax
	movq %rax, 152(%rdi)
	leaq 8(%rsp), %rax
	movq %rax, 160(%rdi)	/* rsp: the caller's, after the return */
	movq %ss, %rax
	movq %rax, 168(%rdi)
	movq 0(%rdi), %rax	/* rax as it was */
	ret
