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

/*
 * intr.asm builds this frame (the stubs' pushes, regs_capture's stores at
 * fixed offsets): a field moved here must fail the build.
 */
#define	REGS_OFF(f, off) _Static_assert(offsetof(struct regs, f) == (off), \
    "struct regs." #f " at " #off " in intr.asm")
REGS_OFF(r15, 0);
REGS_OFF(r14, 8);
REGS_OFF(r13, 16);
REGS_OFF(r12, 24);
REGS_OFF(r11, 32);
REGS_OFF(r10, 40);
REGS_OFF(r9, 48);
REGS_OFF(r8, 56);
REGS_OFF(rbp, 64);
REGS_OFF(rdi, 72);
REGS_OFF(rsi, 80);
REGS_OFF(rdx, 88);
REGS_OFF(rcx, 96);
REGS_OFF(rbx, 104);
REGS_OFF(rax, 112);
REGS_OFF(vector, 120);
REGS_OFF(err, 128);
REGS_OFF(rip, 136);
REGS_OFF(cs, 144);
REGS_OFF(rflags, 152);
REGS_OFF(rsp, 160);
REGS_OFF(ss, 168);
#undef REGS_OFF
_Static_assert(sizeof (struct regs) == 176, "struct regs: intr.asm frame");

#define	T_DIVIDE	0
#define	T_NMI		2
#define	T_BPT		3
#define	T_UD		6
#define	T_DBLFLT	8
#define	T_GPFLT		13
#define	T_PGFLT		14

#define	VEC_TIMER	0x20
#define	VEC_CONSOLE	0x24	/* COM1 receive (the IOAPIC's ISA IRQ4) */
#define	VEC_RESCHED	0xf0	/* IPI: look at your run queue */
#define	VEC_PANIC	0xf1	/* IPI: another CPU panicked; stop */
#define	VEC_CALL	0xf2	/* IPI: run a cross call */
#define	VEC_VMM_KICK	0xf3	/* IPI: leave guest mode (vmm_intr.c) */
#define	VEC_SPURIOUS	0xff

void trap(struct regs *);
void dump_regs(const struct regs *);
typedef void (*intr_handler_t)(struct regs *);
void intr_register(int vector, intr_handler_t);

#endif
