/*
 * Suite "vio", the local APIC tests (vio_lapic_test.c, vio_lapic_ipi_test.c):
 * callbacks that record what left an APIC, register helpers, and a bus of
 * four APICs whose ipi callback is vlapic_deliver over all four.
 */
#ifndef _TESTS_VIO_LAPIC_TEST_H
#define _TESTS_VIO_LAPIC_TEST_H

#include "ktest.h"
#include "vio_test.h"
#include "../kern/vmm/io/vlapic.h"

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

static inline void
rec_notify(void *arg)
{
	((struct rec *)arg)->notify++;
}

static inline void
rec_eoi(void *arg, int vector)
{
	struct rec *r = arg;

	if (r->neoi < (int)ARRAY_SIZE(r->eoi))
		r->eoi[r->neoi] = vector;
	r->neoi++;
}

static inline void
rec_ipi(void *arg, struct vlapic *src, const struct vlapic_msg *m)
{
	struct rec *r = arg;

	r->ipi++;
	if (r->bus != NULL)
		(void)vlapic_deliver(r->bus->all, NBUS, src, m);
}

static inline void
rec_nmi(void *arg, u32 id)
{
	struct rec *r = arg;

	r->nmi++;
	r->nmi_id = id;
}

static inline void
rec_init(void *arg, u32 id)
{
	struct rec *r = arg;

	r->init++;
	r->init_id = id;
}

static inline void
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

static inline void
lw(struct vlapic *vl, u32 off, u32 v)
{
	KT_EXPECT(vlapic_mmio(vl, off, true, 4, &v) == 0,
	    "write to 0x%x refused", off);
}

static inline u32
lr(struct vlapic *vl, u32 off)
{
	u32 v = 0xdeadbeef;

	KT_EXPECT(vlapic_mmio(vl, off, false, 4, &v) == 0,
	    "read of 0x%x refused", off);
	return (v);
}

static inline bool
vec_bit(struct vlapic *vl, u32 base, int vec)
{
	return ((lr(vl, base + (u32)(vec / 32) * 0x10) >> (vec % 32)) & 1);
}

static inline int
pending(struct vlapic *vl)
{
	int v = -1;

	return (vlapic_pending_intr(vl, &v) ? v : -1);
}

/* Take the pending vector as the CPU would; -1 if none. */
static inline int
take(struct vlapic *vl)
{
	int v = pending(vl);

	if (v >= 0)
		vlapic_intr_accepted(vl, v);
	return (v);
}

static inline struct vlapic *
one(struct fake_clock *fc, struct rec *r, bool bsp)
{
	return (vlapic_create(bsp ? 0 : 1, bsp, &rec_ops, r, fake_clock_read,
	    fc));
}

/* Four APICs, IDs 0, 1, 2, 5 (an ID is not an index), software-enabled. */
static inline void
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

static inline void
bus_destroy(struct bus *b)
{
	for (int i = 0; i < NBUS; i++)
		vlapic_destroy(b->all[i]);
}

static inline void
bus_clear(struct bus *b)
{
	for (int i = 0; i < NBUS; i++) {
		while (take(b->all[i]) >= 0)
			lw(b->all[i], APIC_OFFSET_EOI, 0);
		b->rec[i] = (struct rec){ .bus = b };
	}
}

/* Which APICs have vec in IRR, as a bit mask of bus indices. */
static inline u32
bus_irr(struct bus *b, int vec)
{
	u32 mask = 0;

	for (int i = 0; i < NBUS; i++)
		if (vec_bit(b->all[i], APIC_OFFSET_IRR0, vec))
			mask |= 1u << i;
	return (mask);
}

static inline u32
bus_send(struct bus *b, int from, u32 dest, u32 icr_lo, int vec)
{
	bus_clear(b);
	lw(b->all[from], APIC_OFFSET_ICR_HI, dest << 24);
	lw(b->all[from], APIC_OFFSET_ICR_LOW, icr_lo | (u32)vec);
	return (bus_irr(b, vec));
}

#endif
