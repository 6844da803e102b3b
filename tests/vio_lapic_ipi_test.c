/*
 * Suite "vio", the local APIC's IPIs (kern/vmm/io/vlapic.c): ICR writes
 * on a bus of four APICs routed by vlapic_deliver (destinations,
 * shorthands, INIT/SIPI/NMI) and IPIs sent from inside callbacks.
 */
#include "vio_lapic_test.h"

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
