/*
 * Suite "vio": the PC device models of kern/vmm/io/ (8259A pair, 8254,
 * CMOS RTC), each programmed through its *_io function as a guest would.
 * The PIT and RTC run on a fake clock the tests move by hand.
 */
#include "ktest.h"
#include "../kern/vmm/io/vatpic.h"

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
