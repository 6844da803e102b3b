/*
 * Suite "vio", the I/O APIC (kern/vmm/io/vioapic.c), programmed through
 * IOREGSEL/IOWIN as a guest would, its messages recorded by the deliver
 * callback; the last test wires it to two local APICs (vlapic.c) the way
 * a VM does: deliver into vlapic_deliver, the APICs' level EOIs back into
 * vioapic_eoi.
 */
#include "ktest.h"
#include "vio_test.h"
#include "../kern/vmm/io/vioapic.h"
#include "../kern/vmm/io/vlapic.h"

extern bool vioapic_inject_no_remote_irr;

#define	NREC	16

struct drec {
	int n;
	u32 dest[NREC];
	bool logical[NREC];
	u32 mode[NREC];
	int vector[NREC];
	bool level[NREC];
	struct vioapic *eoi_to;		/* EOI from inside deliver */
	int eoi_left;
};

static void
rec_deliver(void *arg, u32 dest, bool logical, u32 mode, int vector,
    bool level)
{
	struct drec *r = arg;

	if (r->n < NREC) {
		r->dest[r->n] = dest;
		r->logical[r->n] = logical;
		r->mode[r->n] = mode;
		r->vector[r->n] = vector;
		r->level[r->n] = level;
	}
	r->n++;
	if (r->eoi_to != NULL && r->eoi_left > 0) {
		r->eoi_left--;
		vioapic_eoi(r->eoi_to, vector);
	}
}

static void
io_write(struct vioapic *vi, u32 reg, u32 v)
{
	KT_EXPECT(vioapic_mmio(vi, IOAPIC_REGSEL, true, 4, &reg) == 0,
	    "IOREGSEL refused");
	KT_EXPECT(vioapic_mmio(vi, IOAPIC_WINDOW, true, 4, &v) == 0,
	    "IOWIN refused");
}

static u32
io_read(struct vioapic *vi, u32 reg)
{
	u32 v = 0xdeadbeef;

	KT_EXPECT(vioapic_mmio(vi, IOAPIC_REGSEL, true, 4, &reg) == 0,
	    "IOREGSEL refused");
	KT_EXPECT(vioapic_mmio(vi, IOAPIC_WINDOW, false, 4, &v) == 0,
	    "IOWIN refused");
	return (v);
}

static void
route(struct vioapic *vi, int pin, u32 lo, u32 dest)
{
	io_write(vi, IOAPIC_REDTBL + 2 * (u32)pin + 1, dest << 24);
	io_write(vi, IOAPIC_REDTBL + 2 * (u32)pin, lo);
}

static u32
entry_lo(struct vioapic *vi, int pin)
{
	return (io_read(vi, IOAPIC_REDTBL + 2 * (u32)pin));
}

KTEST(vio, ioapic_registers)
{
	struct drec r = { 0 };
	struct vioapic *vi = vioapic_create(rec_deliver, &r);
	u32 v;

	KT_EXPECT(io_read(vi, IOAPIC_VER) == 0x00170020, "version 0x%x "
	    "(QEMU 7.2: 0x00170020)", io_read(vi, IOAPIC_VER));
	io_write(vi, IOAPIC_VER, 0);
	KT_EXPECT(io_read(vi, IOAPIC_VER) == 0x00170020, "version written");
	KT_EXPECT(io_read(vi, IOAPIC_ID) == 0, "ID 0x%x at reset",
	    io_read(vi, IOAPIC_ID));
	io_write(vi, IOAPIC_ID, 0xffffffff);
	KT_EXPECT(io_read(vi, IOAPIC_ID) == 0x0f000000, "ID 0x%x",
	    io_read(vi, IOAPIC_ID));
	KT_EXPECT(io_read(vi, IOAPIC_ARB) == 0x0f000000, "arbitration 0x%x",
	    io_read(vi, IOAPIC_ARB));
	KT_EXPECT(io_read(vi, 0x03) == 0 && io_read(vi, 0x40) == 0,
	    "reserved registers not 0");
	for (int pin = 0; pin < VIOAPIC_NPINS; pin++)
		KT_EXPECT(entry_lo(vi, pin) == IOART_INTMASK &&
		    io_read(vi, IOAPIC_REDTBL + 2 * (u32)pin + 1) == 0,
		    "pin %d not masked at reset", pin);
	route(vi, 5, 0xffffffff, 0xff);
	KT_EXPECT(entry_lo(vi, 5) == 0x1afff, "entry low 0x%x: remote IRR and "
	    "delivery status must stay read-only", entry_lo(vi, 5));
	io_write(vi, IOAPIC_REDTBL + 11, 0xffffffff);
	KT_EXPECT(io_read(vi, IOAPIC_REDTBL + 11) == 0xff000000, "entry high "
	    "0x%x", io_read(vi, IOAPIC_REDTBL + 11));
	/* IOREGSEL keeps its low byte for any size; IOWIN wants 32 bits. */
	v = 0x1291;
	KT_EXPECT(vioapic_mmio(vi, IOAPIC_REGSEL, true, 2, &v) == 0, "word");
	v = 0;
	KT_EXPECT(vioapic_mmio(vi, IOAPIC_REGSEL, false, 4, &v) == 0 &&
	    v == 0x91, "IOREGSEL reads 0x%x after a word write", v);
	v = 1;
	(void)vioapic_mmio(vi, IOAPIC_REGSEL, true, 1, &v);
	v = 0xdead;
	KT_EXPECT(vioapic_mmio(vi, IOAPIC_WINDOW, false, 1, &v) == 0 && v == 0,
	    "byte read of IOWIN gave 0x%x", v);
	KT_EXPECT(vioapic_mmio(vi, 0x1000, false, 4, &v) == -1,
	    "offset 0x1000 claimed");
	KT_EXPECT(vioapic_isa_pin(0) == 2 && vioapic_isa_pin(4) == 4 &&
	    vioapic_isa_pin(1) == 1, "ISA IRQ0 not on pin 2");
	KT_EXPECT(r.n == 0, "%d messages from register writes", r.n);
	vioapic_destroy(vi);
}

KTEST(vio, ioapic_edge)
{
	struct drec r = { 0 };
	struct vioapic *vi = vioapic_create(rec_deliver, &r);

	route(vi, 4, 0x34, 1);
	vioapic_pulse_irq(vi, 4);
	KT_EXPECT(r.n == 1 && r.vector[0] == 0x34 && r.dest[0] == 1 &&
	    !r.logical[0] && r.mode[0] == IOART_DELFIXED && !r.level[0],
	    "pulse: %d messages, vector 0x%x dest %u", r.n, r.vector[0],
	    r.dest[0]);
	vioapic_assert_irq(vi, 4);
	vioapic_assert_irq(vi, 4);		/* still high: no edge */
	KT_EXPECT(r.n == 2, "held high: %d messages, want 2", r.n);
	vioapic_deassert_irq(vi, 4);
	vioapic_assert_irq(vi, 4);
	vioapic_deassert_irq(vi, 4);
	KT_EXPECT(r.n == 3, "a new edge: %d messages, want 3", r.n);
	/* A masked edge is lost, unmasking does not bring it back. */
	route(vi, 4, IOART_INTMASK | 0x34, 1);
	vioapic_pulse_irq(vi, 4);
	route(vi, 4, 0x34, 1);
	KT_EXPECT(r.n == 3, "masked edge: %d messages", r.n);
	/* Logical lowest-priority, the PIT's pin. */
	route(vi, vioapic_isa_pin(0), IOART_DESTLOG | IOART_DELLOPRI | 0x30,
	    0x0f);
	vioapic_pulse_irq(vi, 2);
	KT_EXPECT(r.n == 4 && r.logical[3] && r.mode[3] == IOART_DELLOPRI &&
	    r.dest[3] == 0x0f && r.vector[3] == 0x30, "pin 2: %d messages, "
	    "mode 0x%x dest 0x%x", r.n, r.mode[3], r.dest[3]);
	KT_EXPECT((entry_lo(vi, 2) & IOART_REM_IRR) == 0, "edge pin has "
	    "remote IRR");
	vioapic_pulse_irq(vi, 7);		/* reset state: masked */
	KT_EXPECT(r.n == 4, "a masked reset pin sent");
	vioapic_destroy(vi);
}

KTEST(vio, ioapic_level_remote_irr)
{
	struct drec r = { 0 };
	struct vioapic *vi = vioapic_create(rec_deliver, &r);
	u32 v;

	route(vi, 9, IOART_TRGRLVL | 0x49, 0);
	vioapic_assert_irq(vi, 9);
	KT_EXPECT(r.n == 1 && r.level[0] && r.vector[0] == 0x49, "level "
	    "assert: %d messages", r.n);
	KT_EXPECT(entry_lo(vi, 9) & IOART_REM_IRR, "remote IRR clear after "
	    "delivery");
	vioapic_assert_irq(vi, 9);
	route(vi, 9, IOART_TRGRLVL | 0x49, 0);	/* a rewrite keeps it */
	KT_EXPECT(r.n == 1, "remote IRR set, yet %d messages", r.n);
	KT_EXPECT(entry_lo(vi, 9) & IOART_REM_IRR, "a write cleared remote "
	    "IRR");
	vioapic_eoi(vi, 0x48);
	KT_EXPECT(r.n == 1 && (entry_lo(vi, 9) & IOART_REM_IRR), "EOI of "
	    "another vector ended pin 9");
	vioapic_eoi(vi, 0x49);			/* still asserted: again */
	KT_EXPECT(r.n == 2 && (entry_lo(vi, 9) & IOART_REM_IRR), "EOI with "
	    "the pin high: %d messages, want 2", r.n);
	vioapic_deassert_irq(vi, 9);
	v = 0x49;				/* the version 0x20 EOI register */
	KT_EXPECT(vioapic_mmio(vi, IOAPIC_EOIR, true, 4, &v) == 0, "EOIR");
	KT_EXPECT(r.n == 2 && !(entry_lo(vi, 9) & IOART_REM_IRR), "EOI with "
	    "the pin low: %d messages, remote IRR %s", r.n,
	    entry_lo(vi, 9) & IOART_REM_IRR ? "set" : "clear");
	/* Masked while high, then unmasked: it sends. */
	route(vi, 9, IOART_INTMASK | IOART_TRGRLVL | 0x49, 0);
	vioapic_assert_irq(vi, 9);
	KT_EXPECT(r.n == 2, "masked level pin sent");
	route(vi, 9, IOART_TRGRLVL | 0x49, 0);
	KT_EXPECT(r.n == 3, "unmasked high level pin: %d messages", r.n);
	/* Made edge: remote IRR goes. */
	route(vi, 9, 0x49, 0);
	KT_EXPECT(!(entry_lo(vi, 9) & IOART_REM_IRR), "edge entry kept "
	    "remote IRR");
	vioapic_destroy(vi);
}

/* deliver runs without the lock: it may EOI at once (no deadlock). */
KTEST(vio, ioapic_eoi_from_deliver)
{
	struct drec r = { 0 };
	struct vioapic *vi = vioapic_create(rec_deliver, &r);

	r.eoi_to = vi;
	r.eoi_left = 3;
	route(vi, 10, IOART_TRGRLVL | 0x5a, 0);
	vioapic_assert_irq(vi, 10);
	KT_EXPECT(r.n == 4, "3 EOIs of a high level pin: %d messages, want 4",
	    r.n);
	vioapic_destroy(vi);
}

/* A level pin held high sends once until EOI; false if it sent again. */
static bool
level_sends_once(void)
{
	struct drec r = { 0 };
	struct vioapic *vi = vioapic_create(rec_deliver, &r);

	route(vi, 11, IOART_TRGRLVL | 0x5b, 0);
	vioapic_assert_irq(vi, 11);
	vioapic_assert_irq(vi, 11);
	route(vi, 11, IOART_TRGRLVL | 0x5b, 0);
	int n = r.n;
	vioapic_destroy(vi);
	return (n == 1);
}

KTEST(vio, ioapic_remote_irr_held)
{
	KT_EXPECT(level_sends_once(), "a level pin sent again before its EOI");
}

KTEST(vio, ioapic_remote_irr_caught)
{
	vioapic_inject_no_remote_irr = true;
	bool once = level_sends_once();
	vioapic_inject_no_remote_irr = false;
	KT_EXPECT(!once, "vioapic_inject_no_remote_irr broke remote IRR, yet "
	    "the level pin sent only once");
}

KTEST_PANIC(vio, ioapic_bad_pin, "vioapic: pin 24 out of range")
{
	struct vioapic *vi = vioapic_create(NULL, NULL);

	vioapic_assert_irq(vi, VIOAPIC_NPINS);
	vioapic_destroy(vi);
}

/* --- wired to local APICs --- */

struct machine {
	struct fake_clock fc;
	struct vlapic *cpu[2];
	struct vioapic *io;
	int notify[2];
};

static void
m_deliver(void *arg, u32 dest, bool logical, u32 mode, int vector,
    bool level)
{
	struct machine *m = arg;
	struct vlapic_msg msg = { .dest = dest, .logical = logical,
	    .mode = mode, .vector = vector, .level = level, .assert = true };

	(void)vlapic_deliver(m->cpu, 2, NULL, &msg);
}

static struct machine *the_machine;

static void
m_notify(void *arg)
{
	(*(int *)arg)++;
}

static void
m_eoi(void *arg, int vector)
{
	(void)arg;
	vioapic_eoi(the_machine->io, vector);
}

KTEST(vio, ioapic_to_lapic)
{
	static const struct vlapic_ops ops = { .notify = m_notify,
	    .eoi_level = m_eoi };
	struct machine m = { .fc = { 0 } };
	int v = -1;

	the_machine = &m;
	m.io = vioapic_create(m_deliver, &m);
	for (int i = 0; i < 2; i++) {
		m.cpu[i] = vlapic_create((u32)i, i == 0, &ops, &m.notify[i],
		    fake_clock_read, &m.fc);
		u32 svr = 0x1ff;
		(void)vlapic_mmio(m.cpu[i], APIC_OFFSET_SVR, true, 4, &svr);
	}
	/* The UART's IRQ4, level, to CPU 1. */
	route(m.io, vioapic_isa_pin(4), IOART_TRGRLVL | 0x64, 1);
	vioapic_assert_irq(m.io, 4);
	KT_EXPECT(m.notify[1] == 1 && m.notify[0] == 0, "notifies %d %d",
	    m.notify[0], m.notify[1]);
	KT_ASSERT(vlapic_pending_intr(m.cpu[1], &v) && v == 0x64, "CPU 1: "
	    "0x64 not pending");
	vlapic_intr_accepted(m.cpu[1], v);
	/* The device is still asserting at EOI: the interrupt comes back. */
	u32 zero = 0;
	(void)vlapic_mmio(m.cpu[1], APIC_OFFSET_EOI, true, 4, &zero);
	KT_EXPECT(vlapic_pending_intr(m.cpu[1], &v) && v == 0x64 &&
	    m.notify[1] == 2, "still asserted at EOI: not delivered again");
	vlapic_intr_accepted(m.cpu[1], v);
	vioapic_deassert_irq(m.io, 4);
	(void)vlapic_mmio(m.cpu[1], APIC_OFFSET_EOI, true, 4, &zero);
	KT_EXPECT(!vlapic_pending_intr(m.cpu[1], &v) &&
	    !(entry_lo(m.io, 4) & IOART_REM_IRR), "deasserted at EOI: pending "
	    "or remote IRR left");
	/* The PIT's IRQ0 on pin 2, edge, physical broadcast. */
	route(m.io, vioapic_isa_pin(0), 0x30, 0xff);
	vioapic_pulse_irq(m.io, 2);
	for (int i = 0; i < 2; i++)
		KT_EXPECT(vlapic_pending_intr(m.cpu[i], &v) && v == 0x30,
		    "CPU %d: broadcast IRQ0 missing", i);
	for (int i = 0; i < 2; i++)
		vlapic_destroy(m.cpu[i]);
	vioapic_destroy(m.io);
	the_machine = NULL;
}
