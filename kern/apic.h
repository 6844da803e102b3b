/*
 * The local APIC (xAPIC, memory-mapped): timer, IPIs, EOI. And the PIT,
 * used once to calibrate the APIC timer and the TSC.
 */
#ifndef _KERN_APIC_H
#define _KERN_APIC_H

#include "types.h"

void apic_init(void);			/* boot CPU: map, calibrate */
void apic_cpu_init(void);		/* every CPU: enable, start the timer */
u32 apic_id(void);
void apic_eoi(void);
void apic_send_ipi(u32 apicid, int vector);
void apic_send_init(u32 apicid);
void apic_send_sipi(u32 apicid, int page);
void apic_panic_others(void);		/* stop every other CPU (panic) */
void apic_timer_set_hz(u32 hz);
/* One interrupt (VEC_TIMER) on this CPU at gethrtime() >= when. */
void apic_timer_oneshot(hrtime_t when);
extern hrtime_t nsec_per_tick;		/* the clock tick, 1e9 / hz */

/* Time. The TSC is calibrated against the PIT at boot. */
extern u64 tsc_hz;
hrtime_t gethrtime(void);		/* ns since boot */
/* The MADT's IOAPIC and ISA overrides (acpi.c), and routing an ISA IRQ
 * through it to a vector on one CPU (ioapic.c; false: no IOAPIC). */
extern paddr_t acpi_ioapic_pa;
extern u32 acpi_ioapic_gsi_base;
extern u32 acpi_isa_gsi[16];
extern u16 acpi_isa_flags[16];
bool ioapic_route_isa(int irq, int vector, u32 apicid);
void udelay(u64 us);

#endif
