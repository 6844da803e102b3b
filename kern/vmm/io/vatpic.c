/*
 * The 8259A master/slave pair (vatpic.h). One struct, one spin lock.
 *
 * Requests: a pin's level is kept in pins. An edge-triggered input
 * latches its IRR bit on a rising edge and keeps it until the INTA cycle
 * clears it (so a pulse is seen); a level-triggered input (ICW1 LTIM or
 * its ELCR bit) has its IRR bit follow the pin. The master's IRQ2 input is
 * not stored: it is the slave's INT output, worked out when needed.
 *
 * Priority: fixed unless rotated, IRQ0 highest; a bit in ISR blocks its
 * own and every lower level (no special fully nested mode), except in
 * special mask mode, where ISR blocks nothing. Masked requests stay in IRR.
 */
#include "vatpic.h"
#include "../../kmem.h"
#include "../../sync.h"
#include "../../panic.h"
#include "../../console.h"

/*
 * Field tags: [c] set at create, constant after; [l] under va_lock.
 * Everything in struct atpic is [l].
 */
struct atpic {
	bool ready;		/* ICW1-4 done: OCWs now */
	int icw_next;		/* 2, 3 or 4: the ICW the data port expects */
	bool single;		/* ICW1 SNGL: no ICW3 */
	bool need_icw4;		/* ICW1 IC4 */
	bool ltim;		/* ICW1 LTIM: every input level-triggered */
	bool aeoi;		/* ICW4 AEOI */
	bool rotate_aeoi;	/* OCW2 rotate in auto-EOI mode */
	bool smm;		/* OCW3 special mask mode */
	bool read_isr;		/* OCW3 RR/RIS: command port reads ISR */
	bool poll;		/* OCW3 poll: next command port read polls */
	u8 base;		/* ICW2: vector of IR0 (bits 7-3) */
	u8 icw3;		/* ICW3, kept for nothing but reading back */
	u8 irr;			/* requests (the master's bit 2 excluded) */
	u8 isr;			/* in service */
	u8 imr;			/* OCW1 masks */
	u8 elcr;		/* ELCR: level-triggered pins */
	u8 pins;		/* input levels */
	u8 lowest;		/* the lowest-priority level (7 unless rotated) */
};

struct vatpic {
	spinlock_t va_lock;
	struct atpic va_chip[2];	/* [l] 0 master, 1 slave */
	void (*va_notify)(void *);	/* [c] */
	void *va_arg;			/* [c] */
};

/* PIIX: IRQ0, 1, 2 (master) and 8, 13 (slave) are always edge. */
static const u8 elcr_writable[2] = { 0xf8, 0xde };

static bool
level_triggered(const struct atpic *a, int pin)
{
	return (a->ltim || (a->elcr & (1u << pin)) != 0);
}

/* The highest-priority pin that may interrupt, or -1. */
static int
highest_pin(const struct atpic *a, u8 irr)
{
	if (!a->ready)
		return (-1);
	for (int i = 1; i <= 8; i++) {
		int pin = (a->lowest + i) & 7;
		u8 bit = 1u << pin;
		if ((a->isr & bit) && !a->smm)
			return (-1);
		if ((irr & bit) && !(a->imr & bit))
			return (pin);
	}
	return (-1);
}

/* The highest-priority level in service, or -1. */
static int
highest_isr(const struct atpic *a)
{
	for (int i = 1; i <= 8; i++) {
		int pin = (a->lowest + i) & 7;
		if (a->isr & (1u << pin))
			return (pin);
	}
	return (-1);
}

/* The slave's INT output: the master's IRQ2 input. */
static bool
slave_int(const struct vatpic *va)
{
	return (highest_pin(&va->va_chip[1], va->va_chip[1].irr) >= 0);
}

/* IRR as read and as resolved: the master's bit 2 is the slave's INT. */
static u8
effective_irr(const struct vatpic *va, int c)
{
	const struct atpic *a = &va->va_chip[c];
	if (c == 0)
		return ((a->irr & ~(1u << VATPIC_CASCADE_IRQ)) |
		    (slave_int(va) ? 1u << VATPIC_CASCADE_IRQ : 0));
	return (a->irr);
}

/* Under va_lock: the deliverable vector, or -1. */
static int
pending_locked(const struct vatpic *va)
{
	const struct atpic *m = &va->va_chip[0], *s = &va->va_chip[1];
	int pin = highest_pin(m, effective_irr(va, 0));

	if (pin < 0)
		return (-1);
	if (pin == VATPIC_CASCADE_IRQ)
		return (s->base + highest_pin(s, s->irr));
	return (m->base + pin);
}

/* Drop the lock, then tell the vCPU if something is deliverable. */
static void
unlock_and_notify(struct vatpic *va)
{
	bool pending = pending_locked(va) >= 0;

	spin_unlock(&va->va_lock);
	if (pending && va->va_notify != NULL)
		va->va_notify(va->va_arg);
}

struct vatpic *
vatpic_create(void (*notify)(void *), void *arg)
{
	struct vatpic *va = kmem_zalloc(sizeof (*va), KM_SLEEP);

	spin_init(&va->va_lock, "vatpic");
	va->va_notify = notify;
	va->va_arg = arg;
	for (int c = 0; c < 2; c++) {
		va->va_chip[c].imr = 0xff;
		va->va_chip[c].lowest = 7;
	}
	return (va);
}

void
vatpic_destroy(struct vatpic *va)
{
	kmem_free(va, sizeof (*va));
}

static void
icw1(struct atpic *a, u8 v)
{
	a->ready = false;
	a->icw_next = 2;
	a->ltim = (v & ICW1_LTIM) != 0;
	a->single = (v & ICW1_SNGL) != 0;
	a->need_icw4 = (v & ICW1_IC4) != 0;
	/* 8259A: IMR cleared, IR7 lowest, SMM off, IRR selected, no AEOI. */
	a->imr = 0;
	a->isr = 0;
	a->lowest = 7;
	a->smm = false;
	a->read_isr = false;
	a->poll = false;
	a->aeoi = false;
	a->rotate_aeoi = false;
	/* The edge-sense latches are reset; level inputs still request. */
	a->irr = 0;
	for (int pin = 0; pin < 8; pin++)
		if ((a->pins & (1u << pin)) && level_triggered(a, pin))
			a->irr |= 1u << pin;
}

static void
data_write(struct atpic *a, u8 v)
{
	if (a->ready) {
		a->imr = v;			/* OCW1 */
		return;
	}
	switch (a->icw_next) {
	case 2:
		a->base = v & 0xf8;
		a->icw_next = a->single ? 4 : 3;
		if (a->icw_next == 4 && !a->need_icw4)
			a->ready = true;
		break;
	case 3:
		a->icw3 = v;
		a->icw_next = 4;
		if (!a->need_icw4)
			a->ready = true;
		break;
	case 4:
		a->aeoi = (v & ICW4_AEOI) != 0;	/* SFNM, BUF, uPM ignored */
		a->ready = true;
		break;
	default:
		break;		/* data write before any ICW1: ignored */
	}
}

static void
ocw2(struct atpic *a, u8 v)
{
	int level = v & 7;

	switch (v & (OCW2_R | OCW2_SL | OCW2_EOI)) {
	case OCW2_EOI:				/* non-specific EOI */
	case OCW2_R | OCW2_EOI:			/* rotate on it */
		level = highest_isr(a);
		if (level < 0)
			break;
		a->isr &= ~(1u << level);
		if (v & OCW2_R)
			a->lowest = level;
		break;
	case OCW2_SL | OCW2_EOI:		/* specific EOI */
		a->isr &= ~(1u << level);
		break;
	case OCW2_R | OCW2_SL | OCW2_EOI:	/* rotate on specific EOI */
		a->isr &= ~(1u << level);
		a->lowest = level;
		break;
	case OCW2_R | OCW2_SL:			/* set priority */
		a->lowest = level;
		break;
	case OCW2_R:
		a->rotate_aeoi = true;
		break;
	case 0:
		a->rotate_aeoi = false;
		break;
	default:				/* 010: no operation */
		break;
	}
}

static void
cmd_write(struct atpic *a, u8 v)
{
	if (v & ICW1_INIT) {
		icw1(a, v);
	} else if (v & OCW3_SEL) {
		if (v & OCW3_ESMM)
			a->smm = (v & OCW3_SMM) != 0;
		if (v & OCW3_RR)
			a->read_isr = (v & OCW3_RIS) != 0;
		a->poll = (v & OCW3_POLL) != 0;
	} else {
		ocw2(a, v);
	}
}

/* The INTA work on one chip for pin: ISR and edge IRR. */
static void
ack_pin(struct atpic *a, int pin)
{
	u8 bit = 1u << pin;

	if (!level_triggered(a, pin))
		a->irr &= ~bit;
	if (!a->aeoi)
		a->isr |= bit;
	else if (a->rotate_aeoi)
		a->lowest = pin;
}

/*
 * Poll command: the read is the INTA. 0x80 | level if a request was
 * there (acknowledged as if the CPU had taken it), 0 otherwise.
 */
static u8
poll_read(struct vatpic *va, int c)
{
	struct atpic *a = &va->va_chip[c];
	int pin = highest_pin(a, effective_irr(va, c));

	a->poll = false;
	if (pin < 0)
		return (0);
	ack_pin(a, pin);
	return (0x80 | pin);
}

int
vatpic_io(struct vatpic *va, u16 port, bool in, int bytes, u32 *val)
{
	int c;

	switch (port) {
	case VATPIC_MASTER_CMD: case VATPIC_MASTER_DATA:
		c = 0;
		break;
	case VATPIC_SLAVE_CMD: case VATPIC_SLAVE_DATA:
		c = 1;
		break;
	case VATPIC_ELCR_MASTER: case VATPIC_ELCR_SLAVE:
		c = port - VATPIC_ELCR_MASTER;
		break;
	default:
		return (-1);
	}
	spin_lock(&va->va_lock);
	struct atpic *a = &va->va_chip[c];
	if (port == VATPIC_ELCR_MASTER || port == VATPIC_ELCR_SLAVE) {
		/* A word at 0x4d0 is both registers. */
		if (in) {
			*val = a->elcr;
			if (bytes > 1 && c == 0)
				*val |= (u32)va->va_chip[1].elcr << 8;
		} else {
			for (int i = c; i < 2 && i < c + bytes; i++) {
				u8 v = (u8)(*val >> (8 * (i - c)));
				struct atpic *b = &va->va_chip[i];
				b->elcr = v & elcr_writable[i];
				for (int pin = 0; pin < 8; pin++) {
					u8 bit = 1u << pin;
					if (level_triggered(b, pin))
						b->irr = (b->irr & ~bit) |
						    (b->pins & bit);
				}
			}
		}
	} else if (bytes != 1) {
		/* Only byte access is modelled. */
		if (in)
			*val = 0xffffffff;
	} else if (in) {
		if ((port & 1) != 0)
			*val = a->imr;
		else if (a->poll)
			*val = poll_read(va, c);
		else
			*val = a->read_isr ? a->isr : effective_irr(va, c);
	} else if ((port & 1) != 0) {
		data_write(a, (u8)*val);
	} else {
		cmd_write(a, (u8)*val);
	}
	unlock_and_notify(va);
	return (0);
}

static void
set_pin(struct vatpic *va, int irq, bool high)
{
	if (irq < 0 || irq >= VATPIC_NIRQ || irq == VATPIC_CASCADE_IRQ)
		return;
	struct atpic *a = &va->va_chip[irq >> 3];
	int pin = irq & 7;
	u8 bit = 1u << pin;
	bool was = (a->pins & bit) != 0;

	if (high) {
		a->pins |= bit;
		if (!was || level_triggered(a, pin))
			a->irr |= bit;
	} else {
		a->pins &= ~bit;
		if (level_triggered(a, pin))
			a->irr &= ~bit;
	}
}

void
vatpic_assert_irq(struct vatpic *va, int irq)
{
	spin_lock(&va->va_lock);
	set_pin(va, irq, true);
	unlock_and_notify(va);
}

void
vatpic_deassert_irq(struct vatpic *va, int irq)
{
	spin_lock(&va->va_lock);
	set_pin(va, irq, false);
	spin_unlock(&va->va_lock);
}

void
vatpic_pulse_irq(struct vatpic *va, int irq)
{
	spin_lock(&va->va_lock);
	set_pin(va, irq, true);
	set_pin(va, irq, false);
	unlock_and_notify(va);
}

bool
vatpic_pending_intr(struct vatpic *va, int *vector)
{
	spin_lock(&va->va_lock);
	int v = pending_locked(va);
	spin_unlock(&va->va_lock);
	if (v < 0)
		return (false);
	*vector = v;
	return (true);
}

/*
 * The INTA cycle resolves priority again, as the hardware does: it takes
 * the highest request present now. When none is left, the master answers
 * with its IRQ7; when vector was the slave's (the master had committed to
 * the cascade), the master's IRQ2 goes into service and the slave answers
 * with its IRQ7, i.e. IRQ15. Neither spurious IRQ7 sets its ISR bit.
 */
int
vatpic_intr_accepted(struct vatpic *va, int vector)
{
	struct atpic *m = &va->va_chip[0], *s = &va->va_chip[1];
	int got;

	spin_lock(&va->va_lock);
	int mpin = highest_pin(m, effective_irr(va, 0));
	if (mpin == VATPIC_CASCADE_IRQ) {
		int spin = highest_pin(s, s->irr);
		ack_pin(m, mpin);
		ack_pin(s, spin);
		got = s->base + spin;
	} else if (mpin >= 0) {
		ack_pin(m, mpin);
		got = m->base + mpin;
	} else if (m->ready && s->ready && (vector & ~7) == s->base &&
	    s->base != m->base) {
		ack_pin(m, VATPIC_CASCADE_IRQ);
		got = s->base + 7;
	} else {
		got = m->base + 7;
	}
	spin_unlock(&va->va_lock);
	return (got);
}

void
vatpic_describe(struct vatpic *va, char *buf, size_t len)
{
	spin_lock(&va->va_lock);
	const struct atpic *m = &va->va_chip[0], *sl = &va->va_chip[1];
	ksnprintf(buf, len, "pic irr=%02x/%02x isr=%02x/%02x imr=%02x/%02x "
	    "base=%02x/%02x", m->irr, sl->irr, m->isr, sl->isr, m->imr,
	    sl->imr, m->base, sl->base);
	spin_unlock(&va->va_lock);
}
