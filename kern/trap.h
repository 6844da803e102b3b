#ifndef _KERN_TRAP_H
#define _KERN_TRAP_H

#include "types.h"

/* The frame kern/intr.asm builds on every interrupt and exception. */
struct regs {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, err;
	u64 rip, cs, rflags, rsp, ss;
};

#define	T_DIVIDE	0
#define	T_NMI		2
#define	T_BPT		3
#define	T_UD		6
#define	T_DBLFLT	8
#define	T_GPFLT		13
#define	T_PGFLT		14

#define	VEC_TIMER	0x20
#define	VEC_RESCHED	0xf0	/* IPI: look at your run queue */
#define	VEC_PANIC	0xf1	/* IPI: another CPU panicked; stop */
#define	VEC_CALL	0xf2	/* IPI: run a cross call */
#define	VEC_SPURIOUS	0xff

void trap(struct regs *);
void dump_regs(const struct regs *);
typedef void (*intr_handler_t)(struct regs *);
void intr_register(int vector, intr_handler_t);

#endif
