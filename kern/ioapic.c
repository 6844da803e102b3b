/*
 * The host's IOAPIC, as far as the kernel needs it: one ISA interrupt (the
 * console's receive interrupt, IRQ4) routed to a vector on one CPU. The
 * kernel's own timers and IPIs are the local APICs'; everything else stays
 * masked as the firmware left it.
 */
#include "apic.h"
#include "panic.h"
#include "sync.h"

#define	IOREGSEL	0x00
#define	IOWIN		0x10
#define	IOAPIC_REDTBL(n) (0x10 + 2 * (n))
#define	RTE_LEVEL	(1U << 15)
#define	RTE_ACTIVE_LOW	(1U << 13)

static spinlock_t ioapic_lock = SPINLOCK_INIT("ioapic");

static void
ioapic_write(u32 reg, u32 v)
{
	volatile u32 *io = phys_to_virt(acpi_ioapic_pa);

	io[IOREGSEL / 4] = reg;
	io[IOWIN / 4] = v;
}

bool
ioapic_route_isa(int irq, int vector, u32 apicid)
{
	VERIFY(irq >= 0 && irq < 16, "ioapic_route_isa: IRQ %d", irq);
	if (acpi_ioapic_pa == 0)
		return (false);
	u32 pin = acpi_isa_gsi[irq] - acpi_ioapic_gsi_base;
	u16 f = acpi_isa_flags[irq];
	u32 lo = (u32)vector;

	/* MPS INTI flags: polarity bits 1:0 (3 = low), trigger 3:2 (3 =
	 * level); 0 is ISA's default, edge and active high. */
	if ((f & 3) == 3)
		lo |= RTE_ACTIVE_LOW;
	if (((f >> 2) & 3) == 3)
		lo |= RTE_LEVEL;
	spin_lock(&ioapic_lock);
	ioapic_write(IOAPIC_REDTBL(pin) + 1, apicid << 24);
	ioapic_write(IOAPIC_REDTBL(pin), lo);
	spin_unlock(&ioapic_lock);
	return (true);
}
