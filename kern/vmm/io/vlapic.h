/*
 * vlapic: a vCPU's local APIC in xAPIC mode, its 4 KiB register page at
 * 0xFEE00000 (accessed by offset), the IA32_APIC_BASE MSR and CR8, as QEMU
 * 7.2's TCG APIC shows it to a guest: version 0x50014 (version 0x14, max
 * LVT entry 5: timer, thermal, perf, LINT0, LINT1, error; no CMCI), a
 * 1 GHz bus clock for the timer (QEMU counts the timer in ns shifted by the
 * divider), no x2APIC, no TSC-deadline timer.
 *
 * A leaf device model: it knows no VM and no backend. Time comes from the
 * clock function given at create; everything leaving the APIC (a wake-up,
 * an EOI for the IOAPIC, IPIs, NMI, INIT, SIPI) goes through the callbacks
 * of struct vlapic_ops, always called with no vlapic lock held.
 * vlapic_deliver() routes a message (an IPI, an IOAPIC interrupt) over a
 * VM's APICs. What is and is not modelled: vlapic.c's opening comment.
 */
#ifndef _KERN_VMM_IO_VLAPIC_H
#define _KERN_VMM_IO_VLAPIC_H

#include "../../types.h"

#define	VLAPIC_BASE		0xfee00000ULL	/* default page address */
#define	VLAPIC_PAGE_SIZE	0x1000
#define	VLAPIC_VERSION		0x00050014	/* max LVT 5, version 0x14 */
#define	VLAPIC_BUS_HZ		1000000000ULL	/* QEMU: timer ticks in ns */

/* Register offsets in the page (all 32 bits wide, 16-byte aligned). */
#define	APIC_OFFSET_ID		0x020
#define	APIC_OFFSET_VER		0x030
#define	APIC_OFFSET_TPR		0x080
#define	APIC_OFFSET_APR		0x090
#define	APIC_OFFSET_PPR		0x0a0
#define	APIC_OFFSET_EOI		0x0b0
#define	APIC_OFFSET_LDR		0x0d0
#define	APIC_OFFSET_DFR		0x0e0
#define	APIC_OFFSET_SVR		0x0f0
#define	APIC_OFFSET_ISR0	0x100		/* .. 0x170 */
#define	APIC_OFFSET_TMR0	0x180		/* .. 0x1f0 */
#define	APIC_OFFSET_IRR0	0x200		/* .. 0x270 */
#define	APIC_OFFSET_ESR		0x280
#define	APIC_OFFSET_CMCI_LVT	0x2f0		/* absent (max LVT 5) */
#define	APIC_OFFSET_ICR_LOW	0x300
#define	APIC_OFFSET_ICR_HI	0x310
#define	APIC_OFFSET_TIMER_LVT	0x320
#define	APIC_OFFSET_THERM_LVT	0x330
#define	APIC_OFFSET_PERF_LVT	0x340
#define	APIC_OFFSET_LINT0_LVT	0x350
#define	APIC_OFFSET_LINT1_LVT	0x360
#define	APIC_OFFSET_ERROR_LVT	0x370
#define	APIC_OFFSET_TIMER_ICR	0x380		/* initial count */
#define	APIC_OFFSET_TIMER_CCR	0x390		/* current count (r/o) */
#define	APIC_OFFSET_TIMER_DCR	0x3e0		/* divide configuration */

/* Spurious-interrupt vector register. */
#define	APIC_SVR_VECTOR		0x000000ff
#define	APIC_SVR_ENABLE		0x00000100	/* software enable */
#define	APIC_SVR_WRITABLE	0x000001ff
#define	APIC_SVR_RESET		0x000000ff

/* DFR models (bits 31-28). */
#define	APIC_DFR_FLAT		0xf
#define	APIC_DFR_CLUSTER	0x0
#define	APIC_DFR_RESERVED	0x0fffffff	/* bits 27-0 read as ones */

/* Error status register bits. */
#define	APIC_ESR_SEND_ILLEGAL	0x20		/* sent a vector < 16 */
#define	APIC_ESR_RECV_ILLEGAL	0x40		/* received a vector < 16 */
#define	APIC_ESR_ILLEGAL_REG	0x80		/* reserved register accessed */

/* Local vector table entries. */
#define	APIC_LVT_VECTOR		0x000000ff
#define	APIC_LVT_DM		0x00000700	/* delivery mode */
#define	APIC_LVT_DM_FIXED	0x00000000
#define	APIC_LVT_DM_SMI		0x00000200
#define	APIC_LVT_DM_NMI		0x00000400
#define	APIC_LVT_DM_INIT	0x00000500
#define	APIC_LVT_DM_EXTINT	0x00000700
#define	APIC_LVT_DS		0x00001000	/* delivery status: reads 0 */
#define	APIC_LVT_POLARITY	0x00002000	/* LINT0/1: active low */
#define	APIC_LVT_REMOTE_IRR	0x00004000	/* LINT0/1 (not modelled) */
#define	APIC_LVT_TRIGGER	0x00008000	/* LINT0/1: level */
#define	APIC_LVT_MASKED		0x00010000
#define	APIC_LVT_PERIODIC	0x00020000	/* timer: 01 in bits 18-17 */
#define	APIC_LVT_RESET		APIC_LVT_MASKED

/* Interrupt command register, low dword. */
#define	APIC_ICR_VECTOR		0x000000ff
#define	APIC_ICR_DM		0x00000700
#define	APIC_ICR_DM_FIXED	0x00000000
#define	APIC_ICR_DM_LOWEST	0x00000100
#define	APIC_ICR_DM_SMI		0x00000200
#define	APIC_ICR_DM_NMI		0x00000400
#define	APIC_ICR_DM_INIT	0x00000500
#define	APIC_ICR_DM_SIPI	0x00000600
#define	APIC_ICR_DM_EXTINT	0x00000700	/* not valid in the ICR */
#define	APIC_ICR_LOGICAL	0x00000800	/* destination mode */
#define	APIC_ICR_PENDING	0x00001000	/* delivery status: reads 0 */
#define	APIC_ICR_ASSERT		0x00004000	/* level: assert */
#define	APIC_ICR_LEVEL		0x00008000	/* trigger mode: level */
#define	APIC_ICR_SH		0x000c0000	/* destination shorthand */
#define	APIC_ICR_SH_NONE	0x00000000
#define	APIC_ICR_SH_SELF	0x00040000
#define	APIC_ICR_SH_ALL		0x00080000	/* all including self */
#define	APIC_ICR_SH_OTHERS	0x000c0000	/* all excluding self */
#define	APIC_ICR_WRITABLE	0x000ccfff

/* IA32_APIC_BASE (MSR 0x1b). */
#define	APIC_BASE_BSP		0x100		/* read-only */
#define	APIC_BASE_EXTD		0x400		/* x2APIC: not offered */
#define	APIC_BASE_EN		0x800
#define	APIC_BASE_ADDR		0x0000000ffffff000ULL	/* 36-bit physical */

/*
 * A message on the APIC bus: an IPI from an ICR write or an interrupt from
 * the IOAPIC (vioapic's deliver callback builds one). mode is one of
 * APIC_ICR_DM_* (the IOAPIC's redirection entry uses the same encoding),
 * shorthand one of APIC_ICR_SH_* (IOAPIC: always NONE).
 */
struct vlapic_msg {
	u32 dest;		/* APIC ID or logical destination (8 bits) */
	bool logical;		/* dest is logical (LDR/DFR), else an ID */
	u32 mode;		/* APIC_ICR_DM_* */
	u32 shorthand;		/* APIC_ICR_SH_* */
	int vector;		/* fixed, lowest: vector; SIPI: page */
	bool level;		/* level-triggered (sets TMR; EOI reported) */
	bool assert;		/* INIT: false with level = level de-assert */
};

struct vlapic;

/*
 * The outside world of one APIC. Every callback gets the arg given at
 * create and runs with no vlapic lock held, so it may call back into any
 * APIC (vlapic_deliver, vlapic_set_intr). A NULL callback drops its event.
 */
struct vlapic_ops {
	/* An interrupt may have become deliverable: wake or kick the vCPU. */
	void (*notify)(void *arg);
	/* EOI of a vector whose TMR bit was set: tell the IOAPIC(s). */
	void (*eoi_level)(void *arg, int vector);
	/*
	 * The ICR was written with a message for other APICs (shorthand
	 * none, all or all-but-self; self-IPIs stay inside the APIC). The
	 * callee routes it, normally vlapic_deliver(all, n, src, msg);
	 * src is this APIC.
	 */
	void (*ipi)(void *arg, struct vlapic *src, const struct vlapic_msg *);
	/* This APIC (id) got an NMI: from an IPI or its LINT1 pin. */
	void (*nmi)(void *arg, u32 id);
	/* This APIC (id) got INIT (it is reset already) or SIPI (vector). */
	void (*init)(void *arg, u32 id);
	void (*sipi)(void *arg, u32 id, int vector);
};

/*
 * id: the APIC ID (8 bits); bsp: IA32_APIC_BASE.BSP. The APIC starts in
 * its power-on state (enabled in IA32_APIC_BASE, software-disabled in SVR,
 * every LVT masked). clock(clock_arg): ns, never going back.
 */
struct vlapic *vlapic_create(u32 id, bool bsp, const struct vlapic_ops *ops,
    void *arg, hrtime_t (*clock)(void *), void *clock_arg);
void vlapic_destroy(struct vlapic *);
/* The power-on state again, ID and IA32_APIC_BASE kept (INIT, SDM 10.4.7.3). */
void vlapic_reset(struct vlapic *);
/*
 * The state SeaBIOS leaves before it jumps to a -kernel image (src/fw/
 * smp.c, smp_scan(), on the BSP only): SVR |= enable (0x1ff), LINT0 0x8700
 * (ExtINT, level), LINT1 0x8400 (NMI, level). An AP keeps its reset state
 * (SeaBIOS's INIT/SIPI left it halted in reset); nothing is done for one.
 */
void vlapic_bios_init(struct vlapic *);

/*
 * offset: in the page (0 .. 0xfff). 0 if handled (val read or written),
 * -1 if the page is not the APIC's: the offset is past the page, or the
 * APIC is disabled in IA32_APIC_BASE (the CPU then does not decode the
 * page, the access goes to the bus: the caller treats it as unbacked
 * memory). Only a 32-bit access at a register's 16-byte aligned offset
 * reaches a register; any other (narrow, 64-bit, or inside a register's
 * 16 bytes) reads 0 and is dropped, as QEMU does for narrow ones.
 */
int vlapic_mmio(struct vlapic *, u64 offset, bool write, int bytes, u32 *val);

/* IA32_APIC_BASE. A write returns false for #GP: EXTD, reserved bits. */
u64 vlapic_apicbase_read(struct vlapic *);
bool vlapic_apicbase_write(struct vlapic *, u64 val);
bool vlapic_hw_enabled(struct vlapic *);	/* EN: CPUID.1:EDX.APIC */
u32 vlapic_id(struct vlapic *);

/* CR8 <-> TPR[7:4]. set returns false for #GP (v > 15). */
bool vlapic_set_cr8(struct vlapic *, u64 v);
u64 vlapic_get_cr8(struct vlapic *);

/*
 * The run loop's side. vlapic_pending_intr: the highest vector in IRR
 * whose priority class is above PPR's (evaluating the timer first).
 * vlapic_intr_accepted: the CPU took vector (IRR -> ISR).
 */
bool vlapic_pending_intr(struct vlapic *, int *vector);
void vlapic_intr_accepted(struct vlapic *, int vector);
/*
 * Accept a fixed interrupt (IOAPIC, IPI, LVT): IRR, and TMR set if level
 * (cleared if edge), then notify. Ignored while the APIC is disabled
 * (either way); a vector below 16 is refused with ESR's receive error.
 */
void vlapic_set_intr(struct vlapic *, int vector, bool level);
/* An edge on LINT0 (0) or LINT1 (1), delivered as its LVT says. */
void vlapic_lint(struct vlapic *, int pin);
/*
 * May the 8259 deliver through this CPU's INTR? True when the APIC is
 * disabled in IA32_APIC_BASE, or LINT0 is unmasked with ExtINT delivery.
 */
bool vlapic_extint_allowed(struct vlapic *);

/*
 * The timer is worked out from the clock whenever the APIC is looked at;
 * vlapic_update() delivers an expiry that happened since (one interrupt
 * however many periods went by) and notifies. vlapic_next_deadline: the
 * clock time of the next expiry not yet delivered (already past if one is
 * overdue), or 0 if none will interrupt (count 0, one-shot done, masked,
 * APIC disabled). Ask again after every vlapic_mmio.
 */
void vlapic_update(struct vlapic *);
hrtime_t vlapic_next_deadline(struct vlapic *);

/*
 * Route msg over a VM's APICs all[0 .. n-1] (NULL entries skipped); src
 * is the sender (for the shorthands; NULL for the IOAPIC). Fixed: every
 * destination gets vlapic_set_intr; lowest priority: the first destination
 * only (as QEMU and bhyve: no arbitration); NMI, INIT (the target is reset
 * first; a level de-assert INIT does nothing), SIPI: the target's
 * callback; SMI and ExtINT: nothing (the caller's). An APIC disabled in
 * IA32_APIC_BASE takes no message. Takes each target's lock alone, in
 * turn, never two at once. Returns the number of APICs that took it.
 */
int vlapic_deliver(struct vlapic *const *all, int n, struct vlapic *src,
    const struct vlapic_msg *msg);

#endif
