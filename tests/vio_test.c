/*
 * Suite "vio": the PC device models of kern/vmm/io/ (8259A pair, 8254,
 * CMOS RTC), each programmed through its *_io function as a guest would.
 * The PIT and RTC run on a fake clock the tests move by hand. This file:
 * the PIC and PIT; vio_rtc_test.c: the RTC.
 */
#include "ktest.h"
#include "../kern/vmm/io/vatpic.h"
#include "../kern/vmm/io/vatpit.h"
#include "vio_test.h"

/* --- helpers --- */

static void
pic_out(struct vatpic *pic, u16 port, u32 v)
{
	KT_EXPECT(vatpic_io(pic, port, false, 1, &v) == 0,
	    "vatpic refused port 0x%x", port);
}

static u32
pic_in(struct vatpic *pic, u16 port)
{
	u32 v = 0xdead;

	KT_EXPECT(vatpic_io(pic, port, true, 1, &v) == 0,
	    "vatpic refused port 0x%x", port);
	return (v);
}

static void
count_notify(void *arg)
{
	(*(int *)arg)++;
}

/* What a BIOS does: master at 0x20 (IRQ2 cascade), slave at 0x28. */
static void
pic_init(struct vatpic *pic, u8 icw4)
{
	pic_out(pic, 0x20, 0x11);
	pic_out(pic, 0x21, 0x20);
	pic_out(pic, 0x21, 0x04);
	pic_out(pic, 0x21, icw4);
	pic_out(pic, 0xa0, 0x11);
	pic_out(pic, 0xa1, 0x28);
	pic_out(pic, 0xa1, 0x02);
	pic_out(pic, 0xa1, icw4);
}

static int
pending(struct vatpic *pic)
{
	int v = -1;

	return (vatpic_pending_intr(pic, &v) ? v : -1);
}

static u32
read_irr(struct vatpic *pic, u16 cmd)
{
	pic_out(pic, cmd, 0x0a);
	return (pic_in(pic, cmd));
}

static u32
read_isr(struct vatpic *pic, u16 cmd)
{
	pic_out(pic, cmd, 0x0b);
	return (pic_in(pic, cmd));
}

/* --- 8259A --- */

KTEST(vio, pic_init_and_mask)
{
	int notified = 0;
	struct vatpic *pic = vatpic_create(count_notify, &notified);
	u32 v = 0;

	KT_EXPECT(vatpic_io(pic, 0x60, true, 1, &v) == -1,
	    "vatpic claimed port 0x60");
	vatpic_assert_irq(pic, 1);
	KT_EXPECT(pending(pic) == -1, "pending 0x%x before the ICWs",
	    pending(pic));
	pic_init(pic, 0x01);
	/* ICW1 clears the masks: IRQ1 was already high (edge latch reset). */
	KT_EXPECT(pending(pic) == -1, "pending 0x%x: ICW1 must reset edges",
	    pending(pic));
	pic_out(pic, 0x21, 0xfd);		/* only IRQ1 open */
	pic_out(pic, 0xa1, 0xff);
	KT_EXPECT(pic_in(pic, 0x21) == 0xfd, "IMR reads 0x%x", pic_in(pic, 0x21));
	KT_EXPECT(pic_in(pic, 0xa1) == 0xff, "slave IMR reads 0x%x",
	    pic_in(pic, 0xa1));
	vatpic_deassert_irq(pic, 1);
	vatpic_assert_irq(pic, 3);		/* masked */
	KT_EXPECT(pending(pic) == -1, "masked IRQ3 pending as 0x%x",
	    pending(pic));
	int before = notified;
	vatpic_assert_irq(pic, 4);		/* masked too */
	KT_EXPECT(notified == before, "notify for a masked IRQ");
	vatpic_assert_irq(pic, 1);
	KT_EXPECT(pending(pic) == 0x21, "IRQ1 pending as 0x%x", pending(pic));
	KT_EXPECT(notified > before, "no notify for an unmasked IRQ");
	before = notified;
	pic_out(pic, 0x21, 0xf5);		/* open IRQ3 as well */
	KT_EXPECT(notified > before, "no notify on unmasking a request");
	KT_EXPECT(pending(pic) == 0x21, "IRQ1 must beat IRQ3: 0x%x",
	    pending(pic));
	KT_EXPECT(vatpic_intr_accepted(pic, 0x21) == 0x21, "IRQ1 accepted");
	pic_out(pic, 0x20, 0x20);
	KT_EXPECT(pending(pic) == 0x23, "IRQ3 next: 0x%x", pending(pic));
	vatpic_destroy(pic);
}

KTEST(vio, pic_irr_isr_ocw3)
{
	struct vatpic *pic = vatpic_create(NULL, NULL);

	pic_init(pic, 0x01);
	vatpic_pulse_irq(pic, 3);
	vatpic_pulse_irq(pic, 5);
	vatpic_pulse_irq(pic, 12);
	KT_EXPECT(read_irr(pic, 0x20) == 0x2c, "master IRR 0x%x (IRQ2 is the "
	    "slave's INT)", read_irr(pic, 0x20));
	KT_EXPECT(read_irr(pic, 0xa0) == 0x10, "slave IRR 0x%x",
	    read_irr(pic, 0xa0));
	KT_EXPECT(read_isr(pic, 0x20) == 0, "ISR 0x%x before any INTA",
	    read_isr(pic, 0x20));
	/* The select sticks: a second read without OCW3 reads ISR again. */
	KT_EXPECT(pic_in(pic, 0x20) == 0, "sticky ISR select");
	int v = pending(pic);
	KT_EXPECT(v == 0x2c, "IRQ12 (via IRQ2) first, got 0x%x", v);
	KT_EXPECT(vatpic_intr_accepted(pic, v) == 0x2c, "accepted IRQ12");
	KT_EXPECT(read_isr(pic, 0x20) == 0x04, "master ISR 0x%x",
	    read_isr(pic, 0x20));
	KT_EXPECT(read_isr(pic, 0xa0) == 0x10, "slave ISR 0x%x",
	    read_isr(pic, 0xa0));
	KT_EXPECT(read_irr(pic, 0xa0) == 0, "slave IRR 0x%x after INTA",
	    read_irr(pic, 0xa0));
	KT_EXPECT(read_irr(pic, 0x20) == 0x28, "master IRR 0x%x",
	    read_irr(pic, 0x20));
	/* Poll mode: the read is the INTA. */
	pic_out(pic, 0xa0, 0x20);
	pic_out(pic, 0x20, 0x20);
	pic_out(pic, 0x20, 0x0c);
	KT_EXPECT(pic_in(pic, 0x20) == 0x83, "poll read 0x%x",
	    pic_in(pic, 0x20));
	KT_EXPECT(read_isr(pic, 0x20) == 0x08, "poll must ack: ISR 0x%x",
	    read_isr(pic, 0x20));
	vatpic_destroy(pic);
}

KTEST(vio, pic_priority_master_slave)
{
	struct vatpic *pic = vatpic_create(NULL, NULL);

	pic_init(pic, 0x01);
	vatpic_pulse_irq(pic, 3);
	vatpic_pulse_irq(pic, 9);
	KT_EXPECT(pending(pic) == 0x29, "IRQ9 (master level 2) must beat "
	    "IRQ3: 0x%x", pending(pic));
	vatpic_pulse_irq(pic, 1);
	KT_EXPECT(pending(pic) == 0x21, "IRQ1 must beat IRQ9: 0x%x",
	    pending(pic));
	KT_EXPECT(vatpic_intr_accepted(pic, 0x21) == 0x21, "accept IRQ1");
	KT_EXPECT(pending(pic) == -1, "ISR bit 1 must block 0x%x",
	    pending(pic));
	vatpic_pulse_irq(pic, 0);
	KT_EXPECT(pending(pic) == 0x20, "IRQ0 must preempt IRQ1: 0x%x",
	    pending(pic));
	KT_EXPECT(vatpic_intr_accepted(pic, 0x20) == 0x20, "accept IRQ0");
	pic_out(pic, 0x20, 0x20);		/* ends IRQ0 */
	KT_EXPECT(read_isr(pic, 0x20) == 0x02, "non-specific EOI must end "
	    "IRQ0 first: ISR 0x%x", read_isr(pic, 0x20));
	pic_out(pic, 0x20, 0x20);		/* ends IRQ1 */
	KT_EXPECT(pending(pic) == 0x29, "IRQ9 after EOI: 0x%x", pending(pic));
	KT_EXPECT(vatpic_intr_accepted(pic, 0x29) == 0x29, "accept IRQ9");
	/* Master IRQ2 in service blocks IRQ8 too (no special nesting). */
	vatpic_pulse_irq(pic, 8);
	KT_EXPECT(pending(pic) == -1, "IRQ8 got through master ISR2: 0x%x",
	    pending(pic));
	pic_out(pic, 0xa0, 0x20);
	KT_EXPECT(pending(pic) == -1, "master ISR2 still set: 0x%x",
	    pending(pic));
	pic_out(pic, 0x20, 0x20);
	KT_EXPECT(pending(pic) == 0x28, "IRQ8 after both EOIs: 0x%x",
	    pending(pic));
	/* Rotation: set priority, IRQ3 lowest, so IRQ4 is highest. */
	vatpic_intr_accepted(pic, 0x28);
	pic_out(pic, 0xa0, 0x20);
	pic_out(pic, 0x20, 0x20);
	vatpic_pulse_irq(pic, 1);
	vatpic_pulse_irq(pic, 5);
	pic_out(pic, 0x20, 0xc3);
	KT_EXPECT(pending(pic) == 0x25, "rotated: IRQ5 before IRQ1: 0x%x",
	    pending(pic));
	vatpic_destroy(pic);
}

KTEST(vio, pic_specific_eoi)
{
	struct vatpic *pic = vatpic_create(NULL, NULL);

	pic_init(pic, 0x01);
	vatpic_pulse_irq(pic, 5);
	KT_EXPECT(vatpic_intr_accepted(pic, 0x25) == 0x25, "accept IRQ5");
	vatpic_pulse_irq(pic, 4);
	KT_EXPECT(vatpic_intr_accepted(pic, 0x24) == 0x24, "accept IRQ4");
	KT_EXPECT(read_isr(pic, 0x20) == 0x30, "ISR 0x%x", read_isr(pic, 0x20));
	pic_out(pic, 0x20, 0x65);		/* specific EOI, level 5 */
	KT_EXPECT(read_isr(pic, 0x20) == 0x10, "specific EOI 5 left ISR 0x%x",
	    read_isr(pic, 0x20));
	pic_out(pic, 0x20, 0x67);		/* not in service: no effect */
	KT_EXPECT(read_isr(pic, 0x20) == 0x10, "EOI 7 changed ISR to 0x%x",
	    read_isr(pic, 0x20));
	pic_out(pic, 0x20, 0x64);
	KT_EXPECT(read_isr(pic, 0x20) == 0, "ISR 0x%x", read_isr(pic, 0x20));
	vatpic_destroy(pic);
}

KTEST(vio, pic_auto_eoi)
{
	struct vatpic *pic = vatpic_create(NULL, NULL);

	pic_init(pic, 0x03);			/* uPM | AEOI */
	vatpic_pulse_irq(pic, 6);
	vatpic_pulse_irq(pic, 7);
	KT_EXPECT(vatpic_intr_accepted(pic, 0x26) == 0x26, "accept IRQ6");
	KT_EXPECT(read_isr(pic, 0x20) == 0, "auto-EOI left ISR 0x%x",
	    read_isr(pic, 0x20));
	KT_EXPECT(pending(pic) == 0x27, "IRQ7 at once after auto-EOI: 0x%x",
	    pending(pic));
	/* Same sequence without AEOI blocks IRQ7. */
	pic_init(pic, 0x01);
	vatpic_pulse_irq(pic, 6);
	vatpic_pulse_irq(pic, 7);
	vatpic_intr_accepted(pic, 0x26);
	KT_EXPECT(pending(pic) == -1, "IRQ7 through ISR6: 0x%x", pending(pic));
	vatpic_destroy(pic);
}

KTEST(vio, pic_level_and_edge)
{
	struct vatpic *pic = vatpic_create(NULL, NULL);

	pic_init(pic, 0x01);
	pic_out(pic, 0x4d1, 0xff);
	KT_EXPECT(pic_in(pic, 0x4d1) == 0xde, "ELCR2 0x%x (IRQ8/13 are edge)",
	    pic_in(pic, 0x4d1));
	pic_out(pic, 0x4d0, 0xff);
	KT_EXPECT(pic_in(pic, 0x4d0) == 0xf8, "ELCR1 0x%x (IRQ0-2 are edge)",
	    pic_in(pic, 0x4d0));
	pic_out(pic, 0x4d0, 0x00);
	pic_out(pic, 0x4d1, 0x04);		/* IRQ10 level */
	/* Level: still requesting after EOI while the line is high. */
	vatpic_assert_irq(pic, 10);
	KT_EXPECT(vatpic_intr_accepted(pic, pending(pic)) == 0x2a, "IRQ10");
	pic_out(pic, 0xa0, 0x20);
	pic_out(pic, 0x20, 0x20);
	KT_EXPECT(pending(pic) == 0x2a, "level IRQ10 gone after EOI: 0x%x",
	    pending(pic));
	vatpic_deassert_irq(pic, 10);
	KT_EXPECT(pending(pic) == -1, "IRQ10 still there when low: 0x%x",
	    pending(pic));
	/* Edge: a held line requests once. */
	vatpic_assert_irq(pic, 4);
	KT_EXPECT(vatpic_intr_accepted(pic, pending(pic)) == 0x24, "IRQ4");
	pic_out(pic, 0x20, 0x20);
	KT_EXPECT(pending(pic) == -1, "edge IRQ4 requested twice: 0x%x",
	    pending(pic));
	vatpic_assert_irq(pic, 4);		/* no new edge */
	KT_EXPECT(pending(pic) == -1, "no edge, yet 0x%x", pending(pic));
	vatpic_deassert_irq(pic, 4);
	vatpic_assert_irq(pic, 4);
	KT_EXPECT(pending(pic) == 0x24, "new edge lost: 0x%x", pending(pic));
	/* ICW1 LTIM makes every input level-triggered. */
	vatpic_deassert_irq(pic, 4);
	pic_out(pic, 0x20, 0x19);
	pic_out(pic, 0x21, 0x20);
	pic_out(pic, 0x21, 0x04);
	pic_out(pic, 0x21, 0x01);
	vatpic_pulse_irq(pic, 5);
	KT_EXPECT(pending(pic) == -1, "LTIM: a pulse stayed as 0x%x",
	    pending(pic));
	vatpic_assert_irq(pic, 5);
	KT_EXPECT(pending(pic) == 0x25, "LTIM IRQ5 0x%x", pending(pic));
	vatpic_destroy(pic);
}

KTEST(vio, pic_spurious)
{
	struct vatpic *pic = vatpic_create(NULL, NULL);

	pic_init(pic, 0x01);
	pic_out(pic, 0x4d0, 0x20);		/* IRQ5 level */
	pic_out(pic, 0x4d1, 0x08);		/* IRQ11 level */
	vatpic_assert_irq(pic, 5);
	int v = pending(pic);
	KT_EXPECT(v == 0x25, "IRQ5 0x%x", v);
	vatpic_deassert_irq(pic, 5);
	KT_EXPECT(vatpic_intr_accepted(pic, v) == 0x27, "spurious IRQ7 "
	    "expected");
	KT_EXPECT(read_isr(pic, 0x20) == 0, "spurious IRQ7 set ISR 0x%x",
	    read_isr(pic, 0x20));
	/* The slave's request goes away: IRQ15, the master's IRQ2 is acked. */
	vatpic_assert_irq(pic, 11);
	v = pending(pic);
	KT_EXPECT(v == 0x2b, "IRQ11 0x%x", v);
	vatpic_deassert_irq(pic, 11);
	KT_EXPECT(vatpic_intr_accepted(pic, v) == 0x2f, "spurious IRQ15 "
	    "expected");
	KT_EXPECT(read_isr(pic, 0xa0) == 0, "IRQ15 set slave ISR 0x%x",
	    read_isr(pic, 0xa0));
	KT_EXPECT(read_isr(pic, 0x20) == 0x04, "master ISR 0x%x, want IRQ2",
	    read_isr(pic, 0x20));
	pic_out(pic, 0x20, 0x20);
	/* Masked between pending and INTA: spurious too. */
	vatpic_pulse_irq(pic, 6);
	v = pending(pic);
	pic_out(pic, 0x21, 0x40);
	KT_EXPECT(vatpic_intr_accepted(pic, v) == 0x27, "masked IRQ6 must "
	    "give IRQ7");
	pic_out(pic, 0x21, 0x00);
	KT_EXPECT(pending(pic) == 0x26, "IRQ6 lost its edge: 0x%x",
	    pending(pic));
	vatpic_destroy(pic);
}

/* --- 8254 --- */

/* The first ns of input clock k (for a clock that started at 0). */
static hrtime_t
tick_ns(u64 k)
{
	return ((k * 1000000000ULL + VATPIT_HZ - 1) / VATPIT_HZ);
}

static void
pit_out(struct vatpit *pit, u16 port, u32 v)
{
	KT_EXPECT(vatpit_io(pit, port, false, 1, &v) == 0,
	    "vatpit refused port 0x%x", port);
}

static u32
pit_in(struct vatpit *pit, u16 port)
{
	u32 v = 0xdead;

	KT_EXPECT(vatpit_io(pit, port, true, 1, &v) == 0,
	    "vatpit refused port 0x%x", port);
	return (v);
}

/* Latch and read a lo/hi channel, as a guest's delay loop does. */
static u32
pit_latched_count(struct vatpit *pit, int c)
{
	pit_out(pit, 0x43, PIT_SC(c) | PIT_RW_LATCH);
	u32 lo = pit_in(pit, 0x40 + c);
	return (lo | pit_in(pit, 0x40 + c) << 8);
}

static u32
pit_status(struct vatpit *pit, int c)
{
	pit_out(pit, 0x43, PIT_SC(3) | PIT_RB_NOCOUNT | PIT_RB_CH(c));
	return (pit_in(pit, 0x40 + c));
}

static void
pit_program(struct vatpit *pit, int c, int mode, u32 count)
{
	pit_out(pit, 0x43, PIT_SC(c) | PIT_RW_LOHI | PIT_MODE(mode));
	pit_out(pit, 0x40 + c, count & 0xff);
	pit_out(pit, 0x40 + c, (count >> 8) & 0xff);
}

static bool
out2(struct vatpit *pit)
{
	return ((pit_in(pit, 0x61) & PORTB_OUT2) != 0);
}

/* Take IRQ0 if it is there: accept and EOI. */
static bool
take_irq0(struct vatpic *pic)
{
	if (pending(pic) != 0x20)
		return (false);
	vatpic_intr_accepted(pic, 0x20);
	pic_out(pic, 0x20, 0x20);
	return (true);
}

KTEST(vio, pit_mode2_period_irq0)
{
	struct fake_clock fc = { 0 };
	struct vatpic *pic = vatpic_create(NULL, NULL);
	struct vatpit *pit = vatpit_create(pic, fake_clock_read, &fc);
	u32 v;

	KT_EXPECT(vatpit_io(pit, 0x44, true, 1, &v) == -1, "claimed 0x44");
	pic_init(pic, 0x01);
	pit_program(pit, 0, 2, 1193);
	KT_EXPECT(pit_latched_count(pit, 0) == 1193, "count %u at 0",
	    pit_latched_count(pit, 0));
	fc.now = tick_ns(1);
	KT_EXPECT(pit_latched_count(pit, 0) == 1192, "count %u at 1",
	    pit_latched_count(pit, 0));
	fc.now = tick_ns(1192);
	KT_EXPECT(pit_latched_count(pit, 0) == 1, "count %u at 1192",
	    pit_latched_count(pit, 0));
	KT_EXPECT(!(pit_status(pit, 0) & PIT_ST_OUT), "OUT high at count 1");
	vatpit_update(pit);
	KT_EXPECT(pending(pic) == -1, "IRQ0 before the period ended");
	fc.now = tick_ns(1193);
	KT_EXPECT(pit_latched_count(pit, 0) == 1193, "no reload: %u",
	    pit_latched_count(pit, 0));
	KT_EXPECT(pit_status(pit, 0) & PIT_ST_OUT, "OUT low after reload");
	vatpit_update(pit);
	KT_EXPECT(take_irq0(pic), "no IRQ0 after one period");
	/* Five periods without an update: one IRQ0 (they coalesce). */
	fc.now = tick_ns(6 * 1193 + 5);
	vatpit_update(pit);
	KT_EXPECT(take_irq0(pic), "no IRQ0 after six periods");
	vatpit_update(pit);
	KT_EXPECT(!take_irq0(pic), "a second IRQ0 for the same edges");
	/* The next edge is period 7, exactly. */
	hrtime_t d = vatpit_next_deadline(pit);
	KT_EXPECT(d == tick_ns(7 * 1193), "deadline %lu, want %lu", d,
	    tick_ns(7 * 1193));
	fc.now = d - 1;
	vatpit_update(pit);
	KT_EXPECT(!take_irq0(pic), "IRQ0 1 ns before the deadline");
	fc.now = d;
	KT_EXPECT(vatpit_next_deadline(pit) == d, "deadline moved");
	vatpit_update(pit);
	KT_EXPECT(take_irq0(pic), "no IRQ0 at the deadline");
	KT_EXPECT(vatpit_next_deadline(pit) > d, "deadline did not advance");
	vatpit_destroy(pit);
	vatpic_destroy(pic);
}

KTEST(vio, pit_mode3_square_port61)
{
	struct fake_clock fc = { 0 };
	struct vatpit *pit = vatpit_create(NULL, fake_clock_read, &fc);

	pit_out(pit, 0x61, PORTB_GATE2 | PORTB_SPEAKER);
	KT_EXPECT((pit_in(pit, 0x61) & 0x03) == 0x03, "port 0x61 bits 0-1 "
	    "read 0x%x", pit_in(pit, 0x61));
	pit_program(pit, 2, 3, 100);
	KT_EXPECT(out2(pit), "OUT2 low at the start");
	fc.now = tick_ns(10);
	KT_EXPECT(pit_latched_count(pit, 2) == 80, "mode 3 counts by 2: %u",
	    pit_latched_count(pit, 2));
	fc.now = tick_ns(49);
	KT_EXPECT(out2(pit), "OUT2 low at 49");
	fc.now = tick_ns(50);
	KT_EXPECT(!out2(pit), "OUT2 high at 50");
	fc.now = tick_ns(99);
	KT_EXPECT(!out2(pit), "OUT2 high at 99");
	fc.now = tick_ns(100);
	KT_EXPECT(out2(pit), "OUT2 low at 100");
	fc.now = tick_ns(160);
	KT_EXPECT(!out2(pit), "OUT2 high at 160");
	/* Gate low forces OUT high; the rising gate restarts the period. */
	pit_out(pit, 0x61, 0);
	KT_EXPECT(out2(pit), "OUT2 low with the gate low");
	fc.now = tick_ns(170);
	pit_out(pit, 0x61, PORTB_GATE2);
	fc.now = tick_ns(219);
	KT_EXPECT(out2(pit), "OUT2 low 49 clocks after the gate rose");
	fc.now = tick_ns(220);
	KT_EXPECT(!out2(pit), "OUT2 high 50 clocks after the gate rose");
	vatpit_destroy(pit);
}

KTEST(vio, pit_mode0_port61_gate)
{
	struct fake_clock fc = { 0 };
	struct vatpit *pit = vatpit_create(NULL, fake_clock_read, &fc);

	pit_out(pit, 0x61, PORTB_GATE2);
	pit_program(pit, 2, 0, 1000);
	KT_EXPECT(!out2(pit), "mode 0 OUT2 high at once");
	fc.now = tick_ns(500);
	pit_out(pit, 0x61, 0);			/* pause */
	fc.now = tick_ns(5000);
	KT_EXPECT(!out2(pit), "OUT2 high with the count paused");
	KT_EXPECT(pit_latched_count(pit, 2) == 500, "paused count %u",
	    pit_latched_count(pit, 2));
	pit_out(pit, 0x61, PORTB_GATE2);
	fc.now = tick_ns(5499);
	KT_EXPECT(!out2(pit), "OUT2 high before terminal count");
	fc.now = tick_ns(5500);
	KT_EXPECT(out2(pit), "OUT2 low at terminal count");
	fc.now = tick_ns(5510);
	KT_EXPECT(pit_latched_count(pit, 2) == 65526, "count after terminal "
	    "count %u", pit_latched_count(pit, 2));
	KT_EXPECT(out2(pit), "mode 0 OUT2 fell again");
	vatpit_destroy(pit);
}

KTEST(vio, pit_access_modes)
{
	struct fake_clock fc = { 0 };
	struct vatpit *pit = vatpit_create(NULL, fake_clock_read, &fc);

	/* Channel 2 with its gate low holds its count: reads are stable. */
	pit_out(pit, 0x43, PIT_SC(2) | PIT_RW_LO);
	pit_out(pit, 0x42, 0x50);
	KT_EXPECT(pit_in(pit, 0x42) == 0x50, "lo-only read 0x%x",
	    pit_in(pit, 0x42));
	KT_EXPECT(pit_in(pit, 0x42) == 0x50, "lo-only second read 0x%x",
	    pit_in(pit, 0x42));
	pit_out(pit, 0x43, PIT_SC(2) | PIT_RW_HI);
	pit_out(pit, 0x42, 0x12);
	KT_EXPECT(pit_in(pit, 0x42) == 0x12, "hi-only read 0x%x",
	    pit_in(pit, 0x42));
	pit_out(pit, 0x43, PIT_SC(2) | PIT_RW_LO);	/* same count, lo */
	pit_out(pit, 0x42, 0x00);
	pit_out(pit, 0x43, PIT_SC(2) | PIT_RW_HI);
	pit_out(pit, 0x42, 0x12);
	pit_out(pit, 0x43, PIT_SC(2) | PIT_RW_LO);
	KT_EXPECT(pit_in(pit, 0x42) == 0x00, "0x1200 read lo 0x%x",
	    pit_in(pit, 0x42));
	pit_out(pit, 0x43, PIT_SC(2) | PIT_RW_LOHI);
	pit_out(pit, 0x42, 0x34);
	pit_out(pit, 0x42, 0x12);
	u32 lo = pit_in(pit, 0x42), hi = pit_in(pit, 0x42);
	KT_EXPECT(lo == 0x34 && hi == 0x12, "lo/hi read 0x%x 0x%x", lo, hi);
	lo = pit_in(pit, 0x42);
	KT_EXPECT(lo == 0x34, "the flip-flop went wrong: 0x%x", lo);
	/* A control word resets the flip-flop after half a read. */
	pit_out(pit, 0x43, PIT_SC(2) | PIT_RW_LOHI);
	pit_out(pit, 0x42, 0x78);
	pit_out(pit, 0x42, 0x56);
	lo = pit_in(pit, 0x42);
	KT_EXPECT(lo == 0x78, "flip-flop not reset: 0x%x", lo);
	vatpit_destroy(pit);
}

KTEST(vio, pit_latch_and_readback)
{
	struct fake_clock fc = { 0 };
	struct vatpit *pit = vatpit_create(NULL, fake_clock_read, &fc);

	pit_out(pit, 0x43, PIT_SC(0) | PIT_RW_LOHI | PIT_MODE(2));
	KT_EXPECT(pit_status(pit, 0) & PIT_ST_NULL, "no count yet, null "
	    "count clear");
	pit_out(pit, 0x40, 0);
	pit_out(pit, 0x40, 0);			/* 65536 */
	fc.now = tick_ns(100);
	pit_out(pit, 0x43, PIT_SC(0) | PIT_RW_LATCH);
	fc.now = tick_ns(300);
	u32 lo = pit_in(pit, 0x40), hi = pit_in(pit, 0x40);
	KT_EXPECT((lo | hi << 8) == 65436, "latched %u, want 65436",
	    lo | hi << 8);
	lo = pit_in(pit, 0x40);
	hi = pit_in(pit, 0x40);
	KT_EXPECT((lo | hi << 8) == 65236, "live %u after the latch was "
	    "read, want 65236", lo | hi << 8);
	/* A second latch before the read does not replace the first. */
	pit_out(pit, 0x43, PIT_SC(0) | PIT_RW_LATCH);
	fc.now = tick_ns(400);
	pit_out(pit, 0x43, PIT_SC(0) | PIT_RW_LATCH);
	lo = pit_in(pit, 0x40);
	hi = pit_in(pit, 0x40);
	KT_EXPECT((lo | hi << 8) == 65236, "relatched %u", lo | hi << 8);
	/* Read-back of status and count: status first. */
	fc.now = tick_ns(500);
	pit_out(pit, 0x43, PIT_SC(3) | PIT_RB_CH(0) | PIT_RB_CH(2));
	u32 st = pit_in(pit, 0x40);
	KT_EXPECT(st == (PIT_ST_OUT | PIT_RW_LOHI | PIT_MODE(2)),
	    "status 0x%x", st);
	lo = pit_in(pit, 0x40);
	hi = pit_in(pit, 0x40);
	KT_EXPECT((lo | hi << 8) == 65036, "read-back count %u", lo | hi << 8);
	/* Channel 2 was latched by the same command. */
	st = pit_in(pit, 0x42);
	KT_EXPECT((st & 0x0e) == 0 && (st & PIT_ST_NULL),
	    "channel 2 status 0x%x (never programmed)", st);
	/* Channel 1 exists too. */
	pit_program(pit, 1, 2, 18);
	fc.now = tick_ns(505);
	KT_EXPECT(pit_latched_count(pit, 1) == 13, "channel 1 count %u",
	    pit_latched_count(pit, 1));
	vatpit_destroy(pit);
}

KTEST(vio, pit_next_deadline)
{
	struct fake_clock fc = { 0 };
	struct vatpic *pic = vatpic_create(NULL, NULL);
	struct vatpit *pit = vatpit_create(pic, fake_clock_read, &fc);

	pic_init(pic, 0x01);
	KT_EXPECT(vatpit_next_deadline(pit) == 0, "deadline %lu unprogrammed",
	    vatpit_next_deadline(pit));
	pit_program(pit, 0, 0, 500);		/* one-shot */
	KT_EXPECT(vatpit_next_deadline(pit) == tick_ns(500), "one-shot "
	    "deadline %lu", vatpit_next_deadline(pit));
	fc.now = tick_ns(2000);
	KT_EXPECT(vatpit_next_deadline(pit) == tick_ns(500), "overdue edge "
	    "must keep its deadline");
	vatpit_update(pit);
	KT_EXPECT(take_irq0(pic), "mode 0 terminal count gave no IRQ0");
	KT_EXPECT(vatpit_next_deadline(pit) == 0, "one-shot fired, deadline "
	    "%lu", vatpit_next_deadline(pit));
	fc.now = tick_ns(90000);
	vatpit_update(pit);
	KT_EXPECT(!take_irq0(pic), "mode 0 fired twice");
	/* 20000 s after boot ns * 1193182 overflows u64: periods stay right. */
	fc.now = 20000ULL * 1000000000ULL + 123;
	pit_program(pit, 0, 2, 1193);
	hrtime_t first = vatpit_next_deadline(pit), d = first;
	KT_EXPECT(first - fc.now >= 999000 && first - fc.now <= 1001000,
	    "first period %lu ns", first - fc.now);
	int irqs = 0;
	for (int i = 0; i < 1000; i++) {
		fc.now = d;
		vatpit_update(pit);
		irqs += take_irq0(pic);
		hrtime_t next = vatpit_next_deadline(pit);
		KT_EXPECT(next > d, "deadline went from %lu to %lu", d, next);
		d = next;
	}
	KT_EXPECT(irqs == 1000, "%d IRQ0s in 1000 periods", irqs);
	/* 1000 periods of 1193 clocks: 999,847,468 ns. */
	hrtime_t span = d - first;
	KT_EXPECT(span >= 999847468 - 1 && span <= 999847468 + 1,
	    "1000 periods took %lu ns", span);
	vatpit_destroy(pit);
	vatpic_destroy(pic);
}
