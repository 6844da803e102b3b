/*
 * Suite "vio", the local APIC (kern/vmm/io/vlapic.c), programmed through
 * its MMIO page as a guest would, on a fake clock, with callbacks that
 * record what left the APIC. The routing tests build a small bus of four
 * APICs whose ipi callback is vlapic_deliver over all four.
 */
#include "ktest.h"
#include "vio_test.h"
#include "../kern/vmm/io/vlapic.h"

extern bool vlapic_inject_ppr_ignore_isr;

#define	NBUS	4

struct bus;

/* What one APIC's callbacks saw. */
struct rec {
	int notify;
	int neoi;
	int eoi[8];
	int nmi, init, sipi, ipi;
	u32 nmi_id, init_id, sipi_id;
	int sipi_vector;
	struct bus *bus;		/* NULL: the ipi callback only counts */
};

struct bus {
	struct fake_clock fc;
	struct vlapic *all[NBUS];
	struct rec rec[NBUS];
};

static void
rec_notify(void *arg)
{
	((struct rec *)arg)->notify++;
}

static void
rec_eoi(void *arg, int vector)
{
	struct rec *r = arg;

	if (r->neoi < (int)ARRAY_SIZE(r->eoi))
		r->eoi[r->neoi] = vector;
	r->neoi++;
}

static void
rec_ipi(void *arg, struct vlapic *src, const struct vlapic_msg *m)
{
	struct rec *r = arg;

	r->ipi++;
	if (r->bus != NULL)
		(void)vlapic_deliver(r->bus->all, NBUS, src, m);
}

static void
rec_nmi(void *arg, u32 id)
{
	struct rec *r = arg;

	r->nmi++;
	r->nmi_id = id;
}

static void
rec_init(void *arg, u32 id)
{
	struct rec *r = arg;

	r->init++;
	r->init_id = id;
}

static void
rec_sipi(void *arg, u32 id, int vector)
{
	struct rec *r = arg;

	r->sipi++;
	r->sipi_id = id;
	r->sipi_vector = vector;
}

static const struct vlapic_ops rec_ops = {
	rec_notify, rec_eoi, rec_ipi, rec_nmi, rec_init, rec_sipi
};

static void
lw(struct vlapic *vl, u32 off, u32 v)
{
	KT_EXPECT(vlapic_mmio(vl, off, true, 4, &v) == 0,
	    "write to 0x%x refused", off);
}

static u32
lr(struct vlapic *vl, u32 off)
{
	u32 v = 0xdeadbeef;

	KT_EXPECT(vlapic_mmio(vl, off, false, 4, &v) == 0,
	    "read of 0x%x refused", off);
	return (v);
}

static bool
vec_bit(struct vlapic *vl, u32 base, int vec)
{
	return ((lr(vl, base + (u32)(vec / 32) * 0x10) >> (vec % 32)) & 1);
}

static int
pending(struct vlapic *vl)
{
	int v = -1;

	return (vlapic_pending_intr(vl, &v) ? v : -1);
}

/* Take the pending vector as the CPU would; -1 if none. */
static int
take(struct vlapic *vl)
{
	int v = pending(vl);

	if (v >= 0)
		vlapic_intr_accepted(vl, v);
	return (v);
}

static struct vlapic *
one(struct fake_clock *fc, struct rec *r, bool bsp)
{
	return (vlapic_create(bsp ? 0 : 1, bsp, &rec_ops, r, fake_clock_read,
	    fc));
}

/* Four APICs, IDs 0, 1, 2, 5 (an ID is not an index), software-enabled. */
static void
bus_create(struct bus *b)
{
	static const u32 ids[NBUS] = { 0, 1, 2, 5 };

	for (int i = 0; i < NBUS; i++) {
		b->rec[i] = (struct rec){ .bus = b };
		b->all[i] = vlapic_create(ids[i], i == 0, &rec_ops, &b->rec[i],
		    fake_clock_read, &b->fc);
		lw(b->all[i], APIC_OFFSET_SVR, 0x1ff);
	}
}

static void
bus_destroy(struct bus *b)
{
	for (int i = 0; i < NBUS; i++)
		vlapic_destroy(b->all[i]);
}

static void
bus_clear(struct bus *b)
{
	for (int i = 0; i < NBUS; i++) {
		while (take(b->all[i]) >= 0)
			lw(b->all[i], APIC_OFFSET_EOI, 0);
		b->rec[i] = (struct rec){ .bus = b };
	}
}

/* Which APICs have vec in IRR, as a bit mask of bus indices. */
static u32
bus_irr(struct bus *b, int vec)
{
	u32 mask = 0;

	for (int i = 0; i < NBUS; i++)
		if (vec_bit(b->all[i], APIC_OFFSET_IRR0, vec))
			mask |= 1u << i;
	return (mask);
}

static u32
bus_send(struct bus *b, int from, u32 dest, u32 icr_lo, int vec)
{
	bus_clear(b);
	lw(b->all[from], APIC_OFFSET_ICR_HI, dest << 24);
	lw(b->all[from], APIC_OFFSET_ICR_LOW, icr_lo | (u32)vec);
	return (bus_irr(b, vec));
}

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

/* --- IPIs --- */

KTEST(vio, lapic_ipi_destinations)
{
	struct bus b = { .fc = { 0 } };
	u32 m;

	bus_create(&b);
	/* Physical: the ID, not the index; 0xff is everyone. */
	m = bus_send(&b, 0, 5, APIC_ICR_DM_FIXED, 0x50);
	KT_EXPECT(m == 0x8, "physical ID 5: IRR at 0x%x, want index 3", m);
	KT_EXPECT(b.rec[0].ipi == 1, "the ipi callback ran %d times",
	    b.rec[0].ipi);
	KT_EXPECT((lr(b.all[0], APIC_OFFSET_ICR_LOW) & APIC_ICR_PENDING) == 0,
	    "delivery status reads 1");
	m = bus_send(&b, 1, 3, APIC_ICR_DM_FIXED, 0x50);
	KT_EXPECT(m == 0, "physical ID 3 (none) reached 0x%x", m);
	m = bus_send(&b, 1, 0xff, APIC_ICR_DM_FIXED, 0x51);
	KT_EXPECT(m == 0xf, "physical broadcast: 0x%x", m);
	/* Shorthands. */
	m = bus_send(&b, 2, 0, APIC_ICR_SH_SELF | APIC_ICR_PENDING, 0x52);
	KT_EXPECT(m == 0x4 && b.rec[2].ipi == 0, "self: 0x%x (%d ipi calls)",
	    m, b.rec[2].ipi);
	KT_EXPECT(b.rec[2].notify == 1, "self-IPI: no notify");
	m = bus_send(&b, 2, 0, APIC_ICR_SH_ALL, 0x53);
	KT_EXPECT(m == 0xf, "all including self: 0x%x", m);
	m = bus_send(&b, 2, 0, APIC_ICR_SH_OTHERS, 0x54);
	KT_EXPECT(m == 0xb, "all excluding self: 0x%x", m);
	for (int i = 0; i < NBUS; i++)
		KT_EXPECT(b.rec[i].notify == (i == 2 ? 0 : 1), "APIC %d: %d "
		    "notifies", i, b.rec[i].notify);
	/* Logical, flat: LDR bit i on APIC i. */
	for (int i = 0; i < NBUS; i++)
		lw(b.all[i], APIC_OFFSET_LDR, 1u << (24 + i));
	m = bus_send(&b, 0, 0x06, APIC_ICR_LOGICAL, 0x55);
	KT_EXPECT(m == 0x6, "flat 0x06: 0x%x", m);
	m = bus_send(&b, 0, 0xff, APIC_ICR_LOGICAL, 0x56);
	KT_EXPECT(m == 0xf, "flat 0xff: 0x%x", m);
	m = bus_send(&b, 3, 0x0f, APIC_ICR_LOGICAL | APIC_ICR_DM_LOWEST, 0x57);
	KT_EXPECT(m == 0x1, "lowest priority, flat 0x0f: 0x%x (the first "
	    "only)", m);
	/* Logical, cluster: cluster 1 members 1, 2, 4; cluster 2 member 1. */
	static const u32 ldr[NBUS] = { 0x11, 0x12, 0x21, 0x14 };
	for (int i = 0; i < NBUS; i++) {
		lw(b.all[i], APIC_OFFSET_DFR, 0x0fffffff);
		lw(b.all[i], APIC_OFFSET_LDR, ldr[i] << 24);
	}
	m = bus_send(&b, 0, 0x13, APIC_ICR_LOGICAL, 0x58);
	KT_EXPECT(m == 0x3, "cluster 1, members 1|2: 0x%x", m);
	m = bus_send(&b, 0, 0x21, APIC_ICR_LOGICAL, 0x59);
	KT_EXPECT(m == 0x4, "cluster 2, member 1: 0x%x", m);
	m = bus_send(&b, 0, 0xf1, APIC_ICR_LOGICAL, 0x5a);
	KT_EXPECT(m == 0x5, "every cluster, member 1: 0x%x", m);
	m = bus_send(&b, 0, 0x31, APIC_ICR_LOGICAL, 0x5b);
	KT_EXPECT(m == 0, "cluster 3: 0x%x", m);
	/* A vector below 16 is not sent; ESR says why. */
	m = bus_send(&b, 0, 0xff, APIC_ICR_DM_FIXED, 0x05);
	KT_EXPECT(m == 0 && b.rec[0].ipi == 0, "vector 5 was sent");
	lw(b.all[0], APIC_OFFSET_ESR, 0);
	KT_EXPECT(lr(b.all[0], APIC_OFFSET_ESR) == APIC_ESR_SEND_ILLEGAL,
	    "ESR 0x%x after sending vector 5", lr(b.all[0], APIC_OFFSET_ESR));
	vlapic_set_intr(b.all[1], 0x03, false);
	lw(b.all[1], APIC_OFFSET_ESR, 0);
	KT_EXPECT(lr(b.all[1], APIC_OFFSET_ESR) == APIC_ESR_RECV_ILLEGAL,
	    "ESR 0x%x after receiving vector 3", lr(b.all[1], APIC_OFFSET_ESR));
	bus_destroy(&b);
}

KTEST(vio, lapic_ipi_init_sipi_nmi)
{
	struct bus b = { .fc = { 0 } };

	bus_create(&b);
	bus_clear(&b);
	/* The -kernel guests' sequence: INIT, then SIPI 0, all-but-self. */
	lw(b.all[0], APIC_OFFSET_ICR_HI, 0);
	lw(b.all[0], APIC_OFFSET_ICR_LOW, 0xc4500);
	lw(b.all[0], APIC_OFFSET_ICR_LOW, 0xc0600);
	KT_EXPECT(b.rec[0].init == 0 && b.rec[0].sipi == 0, "the sender "
	    "got its own all-but-self INIT/SIPI");
	for (int i = 1; i < NBUS; i++) {
		KT_EXPECT(b.rec[i].init == 1 && b.rec[i].sipi == 1 &&
		    b.rec[i].sipi_vector == 0, "APIC %d: %d INIT, %d SIPI "
		    "(vector %d)", i, b.rec[i].init, b.rec[i].sipi,
		    b.rec[i].sipi_vector);
		KT_EXPECT(lr(b.all[i], APIC_OFFSET_SVR) == 0xff, "APIC %d not "
		    "reset by INIT", i);
	}
	KT_EXPECT(b.rec[3].init_id == 5 && b.rec[3].sipi_id == 5, "APIC ID 5 "
	    "reported as %u/%u", b.rec[3].init_id, b.rec[3].sipi_id);
	/* INIT level de-assert does nothing; a SIPI by ID. */
	bus_clear(&b);
	lw(b.all[0], APIC_OFFSET_ICR_LOW, APIC_ICR_SH_ALL | APIC_ICR_LEVEL |
	    APIC_ICR_DM_INIT);
	for (int i = 0; i < NBUS; i++)
		KT_EXPECT(b.rec[i].init == 0, "INIT de-assert reset APIC %d", i);
	lw(b.all[0], APIC_OFFSET_ICR_HI, 2u << 24);
	lw(b.all[0], APIC_OFFSET_ICR_LOW, APIC_ICR_ASSERT | APIC_ICR_DM_SIPI |
	    0x9f);
	KT_EXPECT(b.rec[2].sipi == 1 && b.rec[2].sipi_vector == 0x9f &&
	    b.rec[1].sipi == 0, "SIPI to ID 2: %d (vector 0x%x), ID 1: %d",
	    b.rec[2].sipi, b.rec[2].sipi_vector, b.rec[1].sipi);
	/* NMI by ID and to self; a disabled APIC takes nothing. */
	lw(b.all[0], APIC_OFFSET_ICR_HI, 5u << 24);
	lw(b.all[0], APIC_OFFSET_ICR_LOW, APIC_ICR_DM_NMI);
	KT_EXPECT(b.rec[3].nmi == 1 && b.rec[3].nmi_id == 5, "NMI to ID 5: "
	    "%d", b.rec[3].nmi);
	lw(b.all[1], APIC_OFFSET_ICR_LOW, APIC_ICR_SH_SELF | APIC_ICR_DM_NMI);
	KT_EXPECT(b.rec[1].nmi == 1 && b.rec[1].ipi == 0, "self NMI: %d",
	    b.rec[1].nmi);
	KT_EXPECT(vlapic_apicbase_write(b.all[2], 0xfee00000), "disable");
	lw(b.all[0], APIC_OFFSET_ICR_LOW, APIC_ICR_SH_OTHERS | APIC_ICR_DM_NMI);
	KT_EXPECT(b.rec[2].nmi == 0 && b.rec[1].nmi == 2 && b.rec[3].nmi == 2,
	    "NMI to others: %d %d %d", b.rec[1].nmi, b.rec[2].nmi,
	    b.rec[3].nmi);
	struct vlapic_msg msg = { .dest = 2, .mode = APIC_ICR_DM_FIXED,
	    .vector = 0x60 };
	KT_EXPECT(vlapic_deliver(b.all, NBUS, NULL, &msg) == 0, "disabled "
	    "APIC took a fixed interrupt");
	bus_destroy(&b);
}

/* Two APICs IPI each other from inside their callbacks: no lock held. */
static int ping_depth;

static void
ping_notify(void *arg)
{
	struct rec *r = arg;
	struct bus *b = r->bus;

	r->notify++;
	if (ping_depth++ < 4) {
		int me = r == &b->rec[0] ? 0 : 1;
		lw(b->all[me], APIC_OFFSET_ICR_HI, (u32)(1 - me) << 24);
		lw(b->all[me], APIC_OFFSET_ICR_LOW, 0x60 + (u32)ping_depth);
	}
}

KTEST(vio, lapic_ipi_from_callback)
{
	static const struct vlapic_ops ops = {
		ping_notify, rec_eoi, rec_ipi, rec_nmi, rec_init, rec_sipi
	};
	struct bus b = { .fc = { 0 } };

	bus_create(&b);
	vlapic_destroy(b.all[0]);
	vlapic_destroy(b.all[1]);
	for (int i = 0; i < 2; i++) {
		b.all[i] = vlapic_create((u32)i, i == 0, &ops, &b.rec[i],
		    fake_clock_read, &b.fc);
		lw(b.all[i], APIC_OFFSET_SVR, 0x1ff);
	}
	ping_depth = 0;
	vlapic_set_intr(b.all[0], 0x60, false);	/* 0 -> 1 -> 0 -> ... */
	KT_EXPECT(b.rec[0].notify == 3 && b.rec[1].notify == 2, "ping-pong: "
	    "%d and %d notifies", b.rec[0].notify, b.rec[1].notify);
	KT_EXPECT(vec_bit(b.all[1], APIC_OFFSET_IRR0, 0x61) &&
	    vec_bit(b.all[0], APIC_OFFSET_IRR0, 0x62), "ping-pong vectors "
	    "missing");
	bus_destroy(&b);
}
