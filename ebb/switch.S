/*
 * switch.S: ctx_switch and the first frame of a new context (see
 * context.h).  x86-64 System V: callee-saved are rbx, rbp, r12-r15, and
 * the control bits of MXCSR and the x87 control word.  The saved frame,
 * from the saved stack pointer up:
 *
 *	sp + 0	MXCSR (low 4 bytes), x87 control word (next 2)
 *	sp + 8	r15
 *	sp + 16	r14
 *	sp + 24	r13
 *	sp + 32	r12
 *	sp + 40	rbx
 *	sp + 48	rbp
 *	sp + 56	return address
 */
	.text
	.globl ctx_switch
ctx_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	subq $8, %rsp
	stmxcsr (%rsp)
	fnstcw 4(%rsp)
	movq %rsp, (%rdi)	/* save this flow */
	movq %rsi, %rsp		/* and resume the other */
	ldmxcsr (%rsp)
	fldcw 4(%rsp)
	addq $8, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

/*
 * The first code a made context runs: ctx_make left fn in r13 and arg in
 * r12, and rbp 0.  Arrives as a function would (rsp = 8 mod 16, a zero
 * "return address" on top that ends backtraces); pushes rbp to make the
 * stack 16-aligned for the call, as the ABI wants.
 */
	.globl ctx_start
ctx_start:
	pushq %rbp
	movq %rsp, %rbp
	movq %r12, %rdi
	call *%r13
	call ctx_returned	/* fn must not return: this panics */
	ud2

/* This object needs no executable stack (for the hosted link). */
	.section .note.GNU-stack, "", @progbits
