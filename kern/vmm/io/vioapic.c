/*
 * The I/O APIC (vioapic.h). One struct, one spin lock (pins are driven
 * from any thread: device models, callouts; EOIs come from every vCPU).
 * No lock is held while a message goes out, so deliver may reach a local
 * APIC whose EOI comes straight back into vioapic_eoi.
 *
 * Modelled: the ID (4 bits, writable), version 0x20 and arbitration
 * (reads the ID) registers, 24 redirection entries (vector, delivery
 * mode, logical/physical destination, polarity kept, remote IRR and
 * delivery status read-only, trigger mode, mask, destination), edge and
 * level pins, remote IRR cleared by an EOI (the broadcast from a local
 * APIC or the version 0x20 EOI register), a level pin still asserted at
 * EOI or at unmasking sending again. A write that makes an entry edge-
 * triggered clears its remote IRR (QEMU). Not modelled: polarity (the
 * caller's assert is the active level), the delivery status (messages go
 * out at once), QEMU's delay of an interrupt storm of a level pin, and an
 * edge arriving while masked, which is lost (QEMU latches it; the 82093AA
 * datasheet says masked edges are ignored).
 */
#include "vioapic.h"
#include "../../kmem.h"
#include "../../sync.h"
#include "../../panic.h"
#include "../../tunable.h"

KTUNABLE_TEST(vioapic_inject_no_remote_irr, "the I/O APIC never sets a "
    "level pin's remote IRR: a pin still asserted sends again before the "
    "EOI (vio/ioapic_remote_irr_caught must catch it)");

#define	REDTBL_RESET	((u64)IOART_INTMASK)

/* Field tags: [c] set at create, constant after; [l] under vi_lock. */
struct vioapic {
	spinlock_t vi_lock;
	u32 vi_id;			/* [l] bits 27-24 as read */
	u32 vi_regsel;			/* [l] IOREGSEL, 8 bits */
	u32 vi_pins;			/* [l] asserted pins */
	u64 vi_rtbl[VIOAPIC_NPINS];	/* [l] redirection entries */
	vioapic_deliver_t vi_deliver;	/* [c] */
	void *vi_arg;			/* [c] */
};

/* Messages decided under the lock, sent after it is dropped. */
struct outbox {
	int n;
	u64 entry[VIOAPIC_NPINS];
};

static void
check_pin(int pin)
{
	if (pin < 0 || pin >= VIOAPIC_NPINS)
		panic("vioapic: pin %d out of range (0-%d)", pin,
		    VIOAPIC_NPINS - 1);
}

static bool
level_pin(u64 e)
{
	return ((e & IOART_TRGRLVL) != 0);
}

/*
 * Under vi_lock: send pin's message if it is due. edge: a rising edge
 * just happened (edge pins send only on one).
 */
static void
service(struct vioapic *vi, int pin, bool edge, struct outbox *out)
{
	u64 *e = &vi->vi_rtbl[pin];

	if ((*e & IOART_INTMASK) || !(vi->vi_pins & (1u << pin)))
		return;
	if (level_pin(*e)) {
		if (*e & IOART_REM_IRR)
			return;
		if (!vioapic_inject_no_remote_irr)
			*e |= IOART_REM_IRR;
	} else if (!edge) {
		return;
	}
	out->entry[out->n++] = *e;
}

static void
unlock_and_send(struct vioapic *vi, const struct outbox *out)
{
	spin_unlock(&vi->vi_lock);
	for (int i = 0; i < out->n; i++) {
		u64 e = out->entry[i];
		if (vi->vi_deliver == NULL)
			continue;
		vi->vi_deliver(vi->vi_arg, (u32)(e >> IOART_DEST_SHIFT),
		    (e & IOART_DESTLOG) != 0, (u32)e & IOART_DELMOD,
		    (int)(e & IOART_VECTOR), level_pin(e));
	}
}

struct vioapic *
vioapic_create(vioapic_deliver_t deliver, void *arg)
{
	struct vioapic *vi = kmem_zalloc(sizeof (*vi), KM_SLEEP);

	spin_init(&vi->vi_lock, "vioapic");
	vi->vi_deliver = deliver;
	vi->vi_arg = arg;
	for (int pin = 0; pin < VIOAPIC_NPINS; pin++)
		vi->vi_rtbl[pin] = REDTBL_RESET;
	return (vi);
}

void
vioapic_destroy(struct vioapic *vi)
{
	kmem_free(vi, sizeof (*vi));
}

static u32
reg_read(const struct vioapic *vi, u32 reg)
{
	switch (reg) {
	case IOAPIC_ID:
	case IOAPIC_ARB:
		return (vi->vi_id);
	case IOAPIC_VER:
		return (VIOAPIC_VERSION);
	default:
		break;
	}
	if (reg < IOAPIC_REDTBL || reg >= IOAPIC_REDTBL + 2 * VIOAPIC_NPINS)
		return (0);
	u64 e = vi->vi_rtbl[(reg - IOAPIC_REDTBL) / 2];
	return ((reg & 1) ? (u32)(e >> 32) : (u32)e);
}

static void
reg_write(struct vioapic *vi, u32 reg, u32 val, struct outbox *out)
{
	if (reg == IOAPIC_ID) {
		vi->vi_id = val & 0x0f000000;
		return;
	}
	if (reg < IOAPIC_REDTBL || reg >= IOAPIC_REDTBL + 2 * VIOAPIC_NPINS)
		return;			/* version, arbitration, reserved */
	int pin = (int)(reg - IOAPIC_REDTBL) / 2;
	u64 *e = &vi->vi_rtbl[pin];
	if (reg & 1) {
		*e = (*e & 0xffffffffULL) | ((u64)(val & 0xff000000) << 32);
		return;
	}
	*e = (*e & ~0xffffffffULL) | (*e & IOART_REM_IRR) |
	    (val & IOART_WRITABLE_LO);
	if (!level_pin(*e))
		*e &= ~(u64)IOART_REM_IRR;
	/* Unmasked (or made level) with the pin high: a level pin sends. */
	service(vi, pin, false, out);
}

int
vioapic_mmio(struct vioapic *vi, u64 offset, bool write, int bytes, u32 *val)
{
	struct outbox out = { 0 };

	if (offset >= VIOAPIC_SIZE)
		return (-1);
	if (offset == IOAPIC_EOIR && write && bytes == 4) {
		vioapic_eoi(vi, (int)(*val & 0xff));
		return (0);
	}
	spin_lock(&vi->vi_lock);
	if (offset == IOAPIC_REGSEL) {
		if (write)
			vi->vi_regsel = *val & 0xff;
		else
			*val = vi->vi_regsel;
	} else if (offset == IOAPIC_WINDOW && bytes == 4) {
		if (write)
			reg_write(vi, vi->vi_regsel, *val, &out);
		else
			*val = reg_read(vi, vi->vi_regsel);
	} else if (!write) {
		*val = 0;
	}
	unlock_and_send(vi, &out);
	return (0);
}

void
vioapic_assert_irq(struct vioapic *vi, int pin)
{
	struct outbox out = { 0 };

	check_pin(pin);
	spin_lock(&vi->vi_lock);
	bool rising = !(vi->vi_pins & (1u << pin));
	vi->vi_pins |= 1u << pin;
	service(vi, pin, rising, &out);
	unlock_and_send(vi, &out);
}

void
vioapic_deassert_irq(struct vioapic *vi, int pin)
{
	check_pin(pin);
	spin_lock(&vi->vi_lock);
	vi->vi_pins &= ~(1u << pin);
	spin_unlock(&vi->vi_lock);
}

void
vioapic_pulse_irq(struct vioapic *vi, int pin)
{
	vioapic_assert_irq(vi, pin);
	vioapic_deassert_irq(vi, pin);
}

void
vioapic_eoi(struct vioapic *vi, int vector)
{
	struct outbox out = { 0 };

	spin_lock(&vi->vi_lock);
	for (int pin = 0; pin < VIOAPIC_NPINS; pin++) {
		u64 *e = &vi->vi_rtbl[pin];
		if (!level_pin(*e) || !(*e & IOART_REM_IRR) ||
		    (int)(*e & IOART_VECTOR) != vector)
			continue;
		*e &= ~(u64)IOART_REM_IRR;
		service(vi, pin, false, &out);
	}
	unlock_and_send(vi, &out);
}

int
vioapic_isa_pin(int irq)
{
	return (irq == 0 ? 2 : irq);
}
