/*
 * Suite "vio", the local APIC (kern/vmm/io/vlapic.c), programmed through
 * its MMIO page as a guest would, on a fake clock, with callbacks that
 * record what left the APIC: registers, priorities, IA32_APIC_BASE, CR8,
 * the timer. The IPIs: vio_lapic_ipi_test.c.
 */
#include "vio_lapic_test.h"

extern bool vlapic_inject_ppr_ignore_isr;

/* --- registers --- */

KTEST(vio, lapic_reset_registers)
{
	struct fake_clock fc = { 0 };
	struct rec r = { 0 };
	struct vlapic *vl = one(&fc, &r, true), *ap = one(&fc, &r, false);

	KT_EXPECT(lr(vl, APIC_OFFSET_ID) == 0, "BSP ID 0x%x", lr(vl, 0x20));
	KT_EXPECT(lr(ap, APIC_OFFSET_ID) == 0x01000000, "AP ID 0x%x",
	    lr(ap, 0x20));
	KT_EXPECT(lr(vl, APIC_OFFSET_VER) == 0x50014, "version 0x%x "
	    "(QEMU 7.2: 0x50014)", lr(vl, APIC_OFFSET_VER));
	KT_EXPECT(lr(vl, APIC_OFFSET_TPR) == 0 && lr(vl, APIC_OFFSET_APR) == 0 &&
	    lr(vl, APIC_OFFSET_PPR) == 0, "TPR/APR/PPR not 0");
	KT_EXPECT(lr(vl, APIC_OFFSET_LDR) == 0, "LDR 0x%x", lr(vl, 0xd0));
	KT_EXPECT(lr(vl, APIC_OFFSET_DFR) == 0xffffffff, "DFR 0x%x",
	    lr(vl, APIC_OFFSET_DFR));
	KT_EXPECT(lr(vl, APIC_OFFSET_SVR) == 0xff, "SVR 0x%x",
	    lr(vl, APIC_OFFSET_SVR));
	for (u32 off = APIC_OFFSET_TIMER_LVT; off <= APIC_OFFSET_ERROR_LVT;
	    off += 0x10)
		KT_EXPECT(lr(vl, off) == 0x10000, "LVT 0x%x reads 0x%x", off,
		    lr(vl, off));
	KT_EXPECT(lr(vl, APIC_OFFSET_ICR_LOW) == 0 &&
	    lr(vl, APIC_OFFSET_TIMER_ICR) == 0 &&
	    lr(vl, APIC_OFFSET_TIMER_CCR) == 0, "ICR or timer not 0");
	KT_EXPECT(vlapic_apicbase_read(vl) == 0xfee00900, "BSP APIC_BASE "
	    "0x%lx", vlapic_apicbase_read(vl));
	KT_EXPECT(vlapic_apicbase_read(ap) == 0xfee00800, "AP APIC_BASE "
	    "0x%lx", vlapic_apicbase_read(ap));
	KT_EXPECT(!vlapic_extint_allowed(vl), "reset: LINT0 masked, yet the "
	    "8259 may deliver");
	vlapic_destroy(ap);
	vlapic_destroy(vl);
}

KTEST(vio, lapic_access_rules)
{
	struct fake_clock fc = { 0 };
	struct rec r = { 0 };
	struct vlapic *vl = one(&fc, &r, true);
	u32 v;

	/* Read-only registers keep their value. */
	lw(vl, APIC_OFFSET_VER, 0);
	lw(vl, APIC_OFFSET_PPR, 0x90);
	lw(vl, APIC_OFFSET_IRR0 + 0x20, 0xffffffff);
	lw(vl, APIC_OFFSET_ISR0 + 0x20, 0xffffffff);
	KT_EXPECT(lr(vl, APIC_OFFSET_VER) == 0x50014, "version written");
	KT_EXPECT(lr(vl, APIC_OFFSET_PPR) == 0, "PPR written");
	KT_EXPECT(lr(vl, APIC_OFFSET_IRR0 + 0x20) == 0 &&
	    lr(vl, APIC_OFFSET_ISR0 + 0x20) == 0, "IRR/ISR written");
	/* Only the defined bits stick. */
	lw(vl, APIC_OFFSET_TPR, 0xffffffff);
	KT_EXPECT(lr(vl, APIC_OFFSET_TPR) == 0xff, "TPR 0x%x",
	    lr(vl, APIC_OFFSET_TPR));
	lw(vl, APIC_OFFSET_TPR, 0);
	lw(vl, APIC_OFFSET_LDR, 0xffffffff);
	KT_EXPECT(lr(vl, APIC_OFFSET_LDR) == 0xff000000, "LDR 0x%x",
	    lr(vl, APIC_OFFSET_LDR));
	lw(vl, APIC_OFFSET_DFR, 0);
	KT_EXPECT(lr(vl, APIC_OFFSET_DFR) == 0x0fffffff, "DFR 0x%x (cluster)",
	    lr(vl, APIC_OFFSET_DFR));
	lw(vl, APIC_OFFSET_SVR, 0xffffffff);
	KT_EXPECT(lr(vl, APIC_OFFSET_SVR) == 0x1ff, "SVR 0x%x",
	    lr(vl, APIC_OFFSET_SVR));
	lw(vl, APIC_OFFSET_TIMER_LVT, 0xffffffff);
	KT_EXPECT(lr(vl, APIC_OFFSET_TIMER_LVT) == 0x300ff, "LVT timer 0x%x "
	    "(no TSC-deadline bit, no delivery status)",
	    lr(vl, APIC_OFFSET_TIMER_LVT));
	lw(vl, APIC_OFFSET_LINT0_LVT, 0xffffffff);
	KT_EXPECT(lr(vl, APIC_OFFSET_LINT0_LVT) == 0x1a7ff, "LINT0 0x%x",
	    lr(vl, APIC_OFFSET_LINT0_LVT));
	lw(vl, APIC_OFFSET_ICR_HI, 0xffffffff);
	KT_EXPECT(lr(vl, APIC_OFFSET_ICR_HI) == 0xff000000, "ICR high 0x%x",
	    lr(vl, APIC_OFFSET_ICR_HI));
	/* Narrow, wide and unaligned accesses read 0 and are dropped. */
	v = 0xdead;
	KT_EXPECT(vlapic_mmio(vl, APIC_OFFSET_SVR, false, 1, &v) == 0 && v == 0,
	    "byte read of SVR gave 0x%x", v);
	v = 0xdead;
	KT_EXPECT(vlapic_mmio(vl, APIC_OFFSET_SVR, false, 8, &v) == 0 && v == 0,
	    "qword read of SVR gave 0x%x", v);
	v = 0;
	KT_EXPECT(vlapic_mmio(vl, APIC_OFFSET_SVR, true, 2, &v) == 0,
	    "word write refused");
	KT_EXPECT(lr(vl, APIC_OFFSET_SVR) == 0x1ff, "a word write changed SVR");
	v = 0xdead;
	KT_EXPECT(vlapic_mmio(vl, APIC_OFFSET_SVR + 4, false, 4, &v) == 0 &&
	    v == 0, "read at SVR+4 gave 0x%x", v);
	KT_EXPECT(vlapic_mmio(vl, 0x1000, false, 4, &v) == -1,
	    "offset 0x1000 claimed");
	/* ESR: errors show after a write; CMCI (0x2f0) is reserved here. */
	KT_EXPECT(lr(vl, APIC_OFFSET_CMCI_LVT) == 0, "0x2f0 not 0");
	KT_EXPECT(lr(vl, APIC_OFFSET_ESR) == 0, "ESR before the write 0x%x",
	    lr(vl, APIC_OFFSET_ESR));
	lw(vl, APIC_OFFSET_ESR, 0);
	KT_EXPECT(lr(vl, APIC_OFFSET_ESR) == APIC_ESR_ILLEGAL_REG, "ESR 0x%x "
	    "after a reserved read", lr(vl, APIC_OFFSET_ESR));
	lw(vl, APIC_OFFSET_ESR, 0);
	KT_EXPECT(lr(vl, APIC_OFFSET_ESR) == 0, "ESR 0x%x: a second write "
	    "must clear it", lr(vl, APIC_OFFSET_ESR));
	vlapic_destroy(vl);
}

KTEST(vio, lapic_bios_init)
{
	struct fake_clock fc = { 0 };
	struct rec r = { 0 };
	struct vlapic *vl = one(&fc, &r, true), *ap = one(&fc, &r, false);

	vlapic_bios_init(vl);
	vlapic_bios_init(ap);
	KT_EXPECT(lr(vl, APIC_OFFSET_SVR) == 0x1ff, "BSP SVR 0x%x",
	    lr(vl, APIC_OFFSET_SVR));
	KT_EXPECT(lr(vl, APIC_OFFSET_LINT0_LVT) == 0x8700, "BSP LINT0 0x%x",
	    lr(vl, APIC_OFFSET_LINT0_LVT));
	KT_EXPECT(lr(vl, APIC_OFFSET_LINT1_LVT) == 0x8400, "BSP LINT1 0x%x",
	    lr(vl, APIC_OFFSET_LINT1_LVT));
	KT_EXPECT(vlapic_extint_allowed(vl), "BSP after the BIOS: LINT0 is "
	    "ExtINT, the 8259 must get through");
	KT_EXPECT(lr(ap, APIC_OFFSET_SVR) == 0xff &&
	    lr(ap, APIC_OFFSET_LINT0_LVT) == 0x10000, "AP changed by BIOS init");
	KT_EXPECT(!vlapic_extint_allowed(ap), "AP: LINT0 masked");
	vlapic_lint(vl, 1);
	KT_EXPECT(r.nmi == 1 && r.nmi_id == 0, "LINT1 (NMI) gave %d NMIs",
	    r.nmi);
	vlapic_lint(ap, 1);
	KT_EXPECT(r.nmi == 1, "masked LINT1 delivered an NMI");
	/* A fixed LINT0 and a masked one. */
	lw(vl, APIC_OFFSET_LINT0_LVT, 0x31);
	vlapic_lint(vl, 0);
	KT_EXPECT(pending(vl) == 0x31, "fixed LINT0: pending 0x%x",
	    pending(vl));
	KT_EXPECT(!vlapic_extint_allowed(vl), "LINT0 fixed: ExtINT allowed");
	vlapic_destroy(ap);
	vlapic_destroy(vl);
}

KTEST(vio, lapic_svr_disable_masks)
{
	struct fake_clock fc = { 0 };
	struct rec r = { 0 };
	struct vlapic *vl = one(&fc, &r, true);

	lw(vl, APIC_OFFSET_SVR, 0x1ff);
	lw(vl, APIC_OFFSET_TIMER_LVT, 0x40);
	lw(vl, APIC_OFFSET_LINT0_LVT, 0x700);
	KT_EXPECT(lr(vl, APIC_OFFSET_TIMER_LVT) == 0x40, "LVT timer 0x%x",
	    lr(vl, APIC_OFFSET_TIMER_LVT));
	lw(vl, APIC_OFFSET_SVR, 0xff);
	KT_EXPECT(lr(vl, APIC_OFFSET_TIMER_LVT) == 0x10040 &&
	    lr(vl, APIC_OFFSET_LINT0_LVT) == 0x10700, "disabling left LVTs "
	    "open: 0x%x 0x%x", lr(vl, APIC_OFFSET_TIMER_LVT),
	    lr(vl, APIC_OFFSET_LINT0_LVT));
	lw(vl, APIC_OFFSET_TIMER_LVT, 0x41);
	KT_EXPECT(lr(vl, APIC_OFFSET_TIMER_LVT) == 0x10041, "disabled: an "
	    "unmasking write stuck: 0x%x", lr(vl, APIC_OFFSET_TIMER_LVT));
	vlapic_set_intr(vl, 0x50, false);
	KT_EXPECT(!vec_bit(vl, APIC_OFFSET_IRR0, 0x50) && r.notify == 0,
	    "software-disabled APIC took a fixed interrupt");
	lw(vl, APIC_OFFSET_SVR, 0x1ff);
	KT_EXPECT(lr(vl, APIC_OFFSET_TIMER_LVT) == 0x10041, "enabling "
	    "unmasked the LVT: 0x%x", lr(vl, APIC_OFFSET_TIMER_LVT));
	vlapic_set_intr(vl, 0x50, false);
	KT_EXPECT(pending(vl) == 0x50 && r.notify == 1, "enabled: pending "
	    "0x%x, %d notifies", pending(vl), r.notify);
	vlapic_destroy(vl);
}

/* --- priorities --- */

KTEST(vio, lapic_tpr_ppr)
{
	struct fake_clock fc = { 0 };
	struct rec r = { 0 };
	struct vlapic *vl = one(&fc, &r, true);

	lw(vl, APIC_OFFSET_SVR, 0x1ff);
	lw(vl, APIC_OFFSET_TPR, 0x50);
	vlapic_set_intr(vl, 0x45, false);
	vlapic_set_intr(vl, 0x5f, false);
	KT_EXPECT(pending(vl) == -1, "TPR 0x50 let 0x%x through", pending(vl));
	KT_EXPECT(r.notify == 0, "notify while nothing is deliverable");
	KT_EXPECT(lr(vl, APIC_OFFSET_PPR) == 0x50, "PPR 0x%x",
	    lr(vl, APIC_OFFSET_PPR));
	vlapic_set_intr(vl, 0x61, false);
	KT_EXPECT(r.notify == 1, "no notify for a deliverable vector");
	KT_EXPECT(take(vl) == 0x61, "0x61 must beat TPR 0x50");
	KT_EXPECT(vec_bit(vl, APIC_OFFSET_ISR0, 0x61) &&
	    !vec_bit(vl, APIC_OFFSET_IRR0, 0x61), "accept: IRR -> ISR");
	KT_EXPECT(lr(vl, APIC_OFFSET_PPR) == 0x60, "PPR 0x%x with 0x61 in "
	    "service", lr(vl, APIC_OFFSET_PPR));
	lw(vl, APIC_OFFSET_TPR, 0x65);
	KT_EXPECT(lr(vl, APIC_OFFSET_PPR) == 0x65, "PPR 0x%x: TPR class = "
	    "ISR class gives TPR", lr(vl, APIC_OFFSET_PPR));
	KT_EXPECT(vlapic_set_cr8(vl, 0), "CR8 0 refused");
	KT_EXPECT(lr(vl, APIC_OFFSET_PPR) == 0x60, "PPR 0x%x after CR8 0",
	    lr(vl, APIC_OFFSET_PPR));
	KT_EXPECT(pending(vl) == -1, "0x%x got past 0x61 in service",
	    pending(vl));
	lw(vl, APIC_OFFSET_EOI, 0);
	KT_EXPECT(lr(vl, APIC_OFFSET_PPR) == 0, "PPR 0x%x after EOI",
	    lr(vl, APIC_OFFSET_PPR));
	KT_EXPECT(take(vl) == 0x5f, "highest waiting after EOI: want 0x5f");
	vlapic_destroy(vl);
}

KTEST(vio, lapic_eoi_nested)
{
	struct fake_clock fc = { 0 };
	struct rec r = { 0 };
	struct vlapic *vl = one(&fc, &r, true);

	lw(vl, APIC_OFFSET_SVR, 0x1ff);
	lw(vl, APIC_OFFSET_EOI, 0);		/* nothing in service */
	KT_EXPECT(r.neoi == 0, "EOI with an empty ISR reported");
	vlapic_set_intr(vl, 0x40, false);
	KT_EXPECT(take(vl) == 0x40, "0x40 first");
	vlapic_set_intr(vl, 0x41, false);
	KT_EXPECT(pending(vl) == -1, "same class 0x41 nested over 0x40");
	vlapic_set_intr(vl, 0x70, false);
	KT_EXPECT(take(vl) == 0x70, "higher class 0x70 must nest");
	vlapic_set_intr(vl, 0x50, false);
	KT_EXPECT(pending(vl) == -1, "0x50 got past 0x70 in service");
	lw(vl, APIC_OFFSET_EOI, 0);
	KT_EXPECT(!vec_bit(vl, APIC_OFFSET_ISR0, 0x70) &&
	    vec_bit(vl, APIC_OFFSET_ISR0, 0x40), "EOI must end 0x70, the "
	    "highest in service");
	KT_EXPECT(take(vl) == 0x50, "0x50 nests over 0x40 after 0x70's EOI");
	lw(vl, APIC_OFFSET_EOI, 0);
	KT_EXPECT(pending(vl) == -1, "0x41 in before 0x40's EOI");
	lw(vl, APIC_OFFSET_EOI, 0);
	KT_EXPECT(take(vl) == 0x41, "0x41 after the last EOI");
	lw(vl, APIC_OFFSET_EOI, 0);
	KT_EXPECT(lr(vl, APIC_OFFSET_ISR0 + 0x20) == 0 &&
	    lr(vl, APIC_OFFSET_ISR0 + 0x30) == 0, "ISR not empty at the end");
	KT_EXPECT(r.neoi == 0, "edge vectors reported %d EOIs", r.neoi);
	vlapic_destroy(vl);
}

KTEST(vio, lapic_tmr_level_eoi)
{
	struct fake_clock fc = { 0 };
	struct rec r = { 0 };
	struct vlapic *vl = one(&fc, &r, true);

	lw(vl, APIC_OFFSET_SVR, 0x1ff);
	vlapic_set_intr(vl, 0x60, true);
	KT_EXPECT(vec_bit(vl, APIC_OFFSET_TMR0, 0x60), "level: TMR clear");
	vlapic_set_intr(vl, 0x38, false);
	KT_EXPECT(!vec_bit(vl, APIC_OFFSET_TMR0, 0x38), "edge: TMR set");
	KT_EXPECT(take(vl) == 0x60, "0x60 first");
	lw(vl, APIC_OFFSET_EOI, 0);
	KT_EXPECT(r.neoi == 1 && r.eoi[0] == 0x60, "level EOI: %d reports, "
	    "first 0x%x", r.neoi, r.eoi[0]);
	KT_EXPECT(take(vl) == 0x38, "0x38 next");
	lw(vl, APIC_OFFSET_EOI, 0);
	KT_EXPECT(r.neoi == 1, "an edge EOI was reported");
	/* The next edge delivery of the vector clears its TMR bit. */
	vlapic_set_intr(vl, 0x60, false);
	KT_EXPECT(!vec_bit(vl, APIC_OFFSET_TMR0, 0x60), "edge after level: "
	    "TMR still set");
	vlapic_destroy(vl);
}

/*
 * Does a vector in service hold back a lower class? With
 * vlapic_inject_ppr_ignore_isr set it must not (the broken PPR).
 */
static bool
isr_holds_lower_class(void)
{
	struct fake_clock fc = { 0 };
	struct rec r = { 0 };
	struct vlapic *vl = one(&fc, &r, true);

	lw(vl, APIC_OFFSET_SVR, 0x1ff);
	vlapic_set_intr(vl, 0x50, false);
	bool ok = take(vl) == 0x50;
	vlapic_set_intr(vl, 0x40, false);
	ok = ok && pending(vl) == -1;
	vlapic_destroy(vl);
	return (ok);
}

KTEST(vio, lapic_ppr_isr_held)
{
	KT_EXPECT(isr_holds_lower_class(), "0x40 delivered while 0x50 is in "
	    "service");
}

KTEST(vio, lapic_ppr_isr_caught)
{
	vlapic_inject_ppr_ignore_isr = true;
	bool held = isr_holds_lower_class();
	vlapic_inject_ppr_ignore_isr = false;
	KT_EXPECT(!held, "vlapic_inject_ppr_ignore_isr broke PPR, yet the "
	    "check saw 0x40 held back");
}

KTEST(vio, lapic_cr8)
{
	struct fake_clock fc = { 0 };
	struct rec r = { 0 };
	struct vlapic *vl = one(&fc, &r, true);

	KT_EXPECT(vlapic_set_cr8(vl, 5), "CR8 5 refused");
	KT_EXPECT(lr(vl, APIC_OFFSET_TPR) == 0x50, "CR8 5: TPR 0x%x",
	    lr(vl, APIC_OFFSET_TPR));
	lw(vl, APIC_OFFSET_TPR, 0x7f);
	KT_EXPECT(vlapic_get_cr8(vl) == 7, "TPR 0x7f: CR8 %lu",
	    vlapic_get_cr8(vl));
	KT_EXPECT(!vlapic_set_cr8(vl, 16), "CR8 16 must be #GP");
	KT_EXPECT(!vlapic_set_cr8(vl, 1ULL << 32), "CR8 2^32 must be #GP");
	KT_EXPECT(lr(vl, APIC_OFFSET_TPR) == 0x7f, "a refused CR8 changed "
	    "TPR: 0x%x", lr(vl, APIC_OFFSET_TPR));
	KT_EXPECT(vlapic_set_cr8(vl, 15) && vlapic_get_cr8(vl) == 15,
	    "CR8 15");
	vlapic_destroy(vl);
}

/* --- IA32_APIC_BASE --- */

KTEST(vio, lapic_apicbase_disable_reset)
{
	struct fake_clock fc = { 0 };
	struct rec r = { 0 };
	struct vlapic *vl = vlapic_create(3, true, &rec_ops, &r,
	    fake_clock_read, &fc);
	u32 v;

	KT_EXPECT(!vlapic_apicbase_write(vl, 0xfee00900 | APIC_BASE_EXTD),
	    "EXTD (x2APIC) accepted");
	KT_EXPECT(!vlapic_apicbase_write(vl, 0xfee00901), "reserved bit 0 "
	    "accepted");
	KT_EXPECT(vlapic_apicbase_read(vl) == 0xfee00900, "a refused write "
	    "changed APIC_BASE: 0x%lx", vlapic_apicbase_read(vl));
	vlapic_bios_init(vl);
	lw(vl, APIC_OFFSET_TPR, 0x20);
	lw(vl, APIC_OFFSET_TIMER_LVT, 0x40);
	lw(vl, APIC_OFFSET_LDR, 0x01000000);
	lw(vl, APIC_OFFSET_TIMER_ICR, 0x40000000);
	vlapic_set_intr(vl, 0x80, false);
	KT_EXPECT(vlapic_apicbase_write(vl, 0xfee00000), "clearing EN "
	    "refused");
	KT_EXPECT(vlapic_apicbase_read(vl) == 0xfee00100, "disabled: "
	    "APIC_BASE 0x%lx (BSP and base kept)", vlapic_apicbase_read(vl));
	KT_EXPECT(!vlapic_hw_enabled(vl), "still enabled");
	KT_EXPECT(vlapic_mmio(vl, APIC_OFFSET_ID, false, 4, &v) == -1,
	    "disabled APIC still decodes its page");
	KT_EXPECT(pending(vl) == -1, "disabled APIC has 0x%x pending",
	    pending(vl));
	KT_EXPECT(vlapic_extint_allowed(vl), "disabled: the 8259 must reach "
	    "INTR directly");
	KT_EXPECT(vlapic_next_deadline(vl) == 0, "disabled: timer armed");
	vlapic_lint(vl, 1);
	KT_EXPECT(r.nmi == 1, "disabled: LINT1 is NMI (%d)", r.nmi);
	KT_EXPECT(vlapic_apicbase_write(vl, 0xfee00800), "setting EN refused");
	KT_EXPECT(vlapic_apicbase_read(vl) == 0xfee00900, "BSP bit lost: 0x%lx",
	    vlapic_apicbase_read(vl));
	KT_EXPECT(lr(vl, APIC_OFFSET_SVR) == 0xff, "re-enabled: SVR 0x%x",
	    lr(vl, APIC_OFFSET_SVR));
	for (u32 off = APIC_OFFSET_TIMER_LVT; off <= APIC_OFFSET_ERROR_LVT;
	    off += 0x10)
		KT_EXPECT(lr(vl, off) & APIC_LVT_MASKED, "re-enabled: LVT 0x%x "
		    "open", off);
	KT_EXPECT(lr(vl, APIC_OFFSET_TPR) == 0 && lr(vl, APIC_OFFSET_LDR) == 0 &&
	    lr(vl, APIC_OFFSET_DFR) == 0xffffffff &&
	    lr(vl, APIC_OFFSET_TIMER_ICR) == 0, "re-enabled: TPR 0x%x LDR "
	    "0x%x DFR 0x%x count 0x%x", lr(vl, APIC_OFFSET_TPR),
	    lr(vl, APIC_OFFSET_LDR), lr(vl, APIC_OFFSET_DFR),
	    lr(vl, APIC_OFFSET_TIMER_ICR));
	KT_EXPECT(lr(vl, APIC_OFFSET_ID) == 0x03000000, "ID lost: 0x%x",
	    lr(vl, APIC_OFFSET_ID));
	KT_EXPECT(!vec_bit(vl, APIC_OFFSET_IRR0, 0x80), "IRR survived");
	vlapic_destroy(vl);
}

/* --- the timer --- */

KTEST(vio, lapic_timer_oneshot)
{
	static const u32 dcr[] = { 0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa, 0xb };
	struct fake_clock fc = { 1000000 };
	struct rec r = { 0 };
	struct vlapic *vl = one(&fc, &r, true);

	lw(vl, APIC_OFFSET_SVR, 0x1ff);
	for (unsigned i = 0; i < ARRAY_SIZE(dcr); i++) {
		lw(vl, APIC_OFFSET_TIMER_DCR, dcr[i] | 0xf0);
		KT_EXPECT(lr(vl, APIC_OFFSET_TIMER_DCR) == dcr[i], "DCR 0x%x "
		    "reads 0x%x", dcr[i], lr(vl, APIC_OFFSET_TIMER_DCR));
	}
	KT_EXPECT(vlapic_next_deadline(vl) == 0, "deadline with no count");
	lw(vl, APIC_OFFSET_TIMER_LVT, 0x40);
	lw(vl, APIC_OFFSET_TIMER_DCR, 0x9);		/* divide by 64 */
	lw(vl, APIC_OFFSET_TIMER_ICR, 1000);
	hrtime_t t0 = fc.now;
	KT_EXPECT(vlapic_next_deadline(vl) == t0 + 64000, "deadline %lu, "
	    "want t0 + 64000 (1 GHz / 64)", vlapic_next_deadline(vl) - t0);
	fc.now = t0 + 640;
	KT_EXPECT(lr(vl, APIC_OFFSET_TIMER_CCR) == 990, "CCR %u after 640 ns",
	    lr(vl, APIC_OFFSET_TIMER_CCR));
	fc.now = t0 + 64000 - 1;
	vlapic_update(vl);
	KT_EXPECT(pending(vl) == -1 && r.notify == 0, "fired early");
	fc.now = t0 + 64000;
	vlapic_update(vl);
	KT_EXPECT(r.notify == 1, "expiry: %d notifies", r.notify);
	KT_EXPECT(take(vl) == 0x40, "expiry: vector 0x40 not pending");
	lw(vl, APIC_OFFSET_EOI, 0);
	KT_EXPECT(lr(vl, APIC_OFFSET_TIMER_CCR) == 0, "one-shot: CCR %u after "
	    "expiry", lr(vl, APIC_OFFSET_TIMER_CCR));
	KT_EXPECT(vlapic_next_deadline(vl) == 0, "one-shot: armed again");
	fc.now += 10000000;
	vlapic_update(vl);
	KT_EXPECT(pending(vl) == -1 && r.notify == 1, "one-shot fired twice");
	/* Divide by 1: one count per ns. */
	lw(vl, APIC_OFFSET_TIMER_DCR, 0xb);
	lw(vl, APIC_OFFSET_TIMER_ICR, 500);
	fc.now += 499;
	KT_EXPECT(lr(vl, APIC_OFFSET_TIMER_CCR) == 1, "divide 1: CCR %u",
	    lr(vl, APIC_OFFSET_TIMER_CCR));
	fc.now += 1;
	KT_EXPECT(pending(vl) == 0x40, "divide 1: no expiry at 500 ns "
	    "(pending_intr must look at the clock)");
	vlapic_destroy(vl);
}

KTEST(vio, lapic_timer_periodic)
{
	struct fake_clock fc = { 0 };
	struct rec r = { 0 };
	struct vlapic *vl = one(&fc, &r, true);

	lw(vl, APIC_OFFSET_SVR, 0x1ff);
	lw(vl, APIC_OFFSET_TIMER_LVT, APIC_LVT_PERIODIC | 0x41);
	lw(vl, APIC_OFFSET_TIMER_DCR, 0x3);		/* divide by 16 */
	lw(vl, APIC_OFFSET_TIMER_ICR, 100);		/* 1600 ns period */
	for (int k = 1; k <= 3; k++) {
		KT_EXPECT(vlapic_next_deadline(vl) == (hrtime_t)k * 1600,
		    "period %d: deadline %lu", k, vlapic_next_deadline(vl));
		fc.now = (hrtime_t)k * 1600;
		vlapic_update(vl);
		KT_EXPECT(take(vl) == 0x41, "period %d did not fire", k);
		lw(vl, APIC_OFFSET_EOI, 0);
	}
	fc.now = 3 * 1600 + 160;
	KT_EXPECT(lr(vl, APIC_OFFSET_TIMER_CCR) == 90, "reloaded CCR %u",
	    lr(vl, APIC_OFFSET_TIMER_CCR));
	/* Ten periods unseen: one interrupt, not ten. */
	fc.now = 13 * 1600 + 5;
	vlapic_update(vl);
	KT_EXPECT(take(vl) == 0x41, "missed periods: nothing pending");
	lw(vl, APIC_OFFSET_EOI, 0);
	KT_EXPECT(pending(vl) == -1, "missed periods did not coalesce");
	KT_EXPECT(vlapic_next_deadline(vl) == 14 * 1600, "deadline %lu after "
	    "the coalesced ones", vlapic_next_deadline(vl));
	/* Masked: counts on, does not interrupt, no deadline. */
	lw(vl, APIC_OFFSET_TIMER_LVT, APIC_LVT_MASKED | APIC_LVT_PERIODIC |
	    0x41);
	KT_EXPECT(vlapic_next_deadline(vl) == 0, "masked: deadline %lu",
	    vlapic_next_deadline(vl));
	fc.now = 20 * 1600 + 800;
	vlapic_update(vl);
	KT_EXPECT(pending(vl) == -1, "masked periodic timer interrupted");
	KT_EXPECT(lr(vl, APIC_OFFSET_TIMER_CCR) == 50, "masked: CCR %u",
	    lr(vl, APIC_OFFSET_TIMER_CCR));
	/* Unmasked: the expiries while masked are gone, the next one comes. */
	lw(vl, APIC_OFFSET_TIMER_LVT, APIC_LVT_PERIODIC | 0x41);
	KT_EXPECT(pending(vl) == -1, "unmasking delivered a masked expiry");
	KT_EXPECT(vlapic_next_deadline(vl) == 21 * 1600, "unmasked: deadline "
	    "%lu", vlapic_next_deadline(vl));
	/* A zero count stops it. */
	lw(vl, APIC_OFFSET_TIMER_ICR, 0);
	fc.now = 100 * 1600;
	vlapic_update(vl);
	KT_EXPECT(pending(vl) == -1 && vlapic_next_deadline(vl) == 0 &&
	    lr(vl, APIC_OFFSET_TIMER_CCR) == 0, "count 0 did not stop it");
	vlapic_destroy(vl);
}

KTEST(vio, lapic_timer_masked_oneshot)
{
	struct fake_clock fc = { 0 };
	struct rec r = { 0 };
	struct vlapic *vl = one(&fc, &r, true);

	lw(vl, APIC_OFFSET_SVR, 0x1ff);
	lw(vl, APIC_OFFSET_TIMER_LVT, APIC_LVT_MASKED | 0x40);
	lw(vl, APIC_OFFSET_TIMER_DCR, 0xb);
	lw(vl, APIC_OFFSET_TIMER_ICR, 100000);
	fc.now = 40000;
	KT_EXPECT(lr(vl, APIC_OFFSET_TIMER_CCR) == 60000, "masked: CCR %u",
	    lr(vl, APIC_OFFSET_TIMER_CCR));
	fc.now = 200000;
	vlapic_update(vl);
	KT_EXPECT(lr(vl, APIC_OFFSET_TIMER_CCR) == 0, "masked: CCR %u, not 0",
	    lr(vl, APIC_OFFSET_TIMER_CCR));
	KT_EXPECT(!vec_bit(vl, APIC_OFFSET_IRR0, 0x40) && r.notify == 0,
	    "masked one-shot reached the IRR");
	/* Changing the divider keeps the count where it is. */
	lw(vl, APIC_OFFSET_TIMER_ICR, 1000);
	fc.now += 100;
	lw(vl, APIC_OFFSET_TIMER_DCR, 0x0);		/* divide by 2 */
	KT_EXPECT(lr(vl, APIC_OFFSET_TIMER_CCR) == 900, "CCR %u after the "
	    "divider change", lr(vl, APIC_OFFSET_TIMER_CCR));
	fc.now += 100;
	KT_EXPECT(lr(vl, APIC_OFFSET_TIMER_CCR) == 850, "CCR %u 100 ns later "
	    "at divide 2", lr(vl, APIC_OFFSET_TIMER_CCR));
	vlapic_destroy(vl);
}
