/*
 * vioapic: a VM's I/O APIC at 0xFEC00000 as QEMU 7.2 shows it: 24 pins,
 * version 0x20 (register 1 reads 0x00170020), IOREGSEL at offset 0x00,
 * IOWIN at 0x10 and the EOI register of version 0x20 at 0x40. Each pin
 * has a 64-bit redirection entry that turns its interrupt into a message
 * for the local APICs. A leaf device model: the caller drives the pins
 * and routes the messages (the deliver callback, normally into
 * vlapic_deliver), and reports the local APICs' EOIs of level-triggered
 * vectors with vioapic_eoi(). What is and is not modelled: vioapic.c's
 * opening comment.
 */
#ifndef _KERN_VMM_IO_VIOAPIC_H
#define _KERN_VMM_IO_VIOAPIC_H

#include "../../types.h"

#define	VIOAPIC_BASE		0xfec00000ULL
#define	VIOAPIC_SIZE		0x1000
#define	VIOAPIC_NPINS		24
#define	VIOAPIC_VERSION		0x00170020	/* max entry 23, version 0x20 */

/* MMIO offsets. */
#define	IOAPIC_REGSEL		0x00		/* index, 8 bits, any size */
#define	IOAPIC_WINDOW		0x10		/* data, 32-bit accesses */
#define	IOAPIC_EOIR		0x40		/* write a vector: its EOI */

/* Indirect registers (IOREGSEL). */
#define	IOAPIC_ID		0x00		/* bits 27-24 */
#define	IOAPIC_VER		0x01
#define	IOAPIC_ARB		0x02		/* reads the ID */
#define	IOAPIC_REDTBL		0x10		/* pin n: 0x10 + 2n low, +1 high */

/* Redirection entry, low dword (the high dword holds the destination). */
#define	IOART_VECTOR		0x000000ff
#define	IOART_DELMOD		0x00000700	/* as APIC_ICR_DM_* */
#define	IOART_DELFIXED		0x00000000
#define	IOART_DELLOPRI		0x00000100
#define	IOART_DELSMI		0x00000200
#define	IOART_DELNMI		0x00000400
#define	IOART_DELINIT		0x00000500
#define	IOART_DELEXINT		0x00000700
#define	IOART_DESTLOG		0x00000800	/* logical destination */
#define	IOART_DELIVS		0x00001000	/* delivery status: reads 0 */
#define	IOART_INTPOL		0x00002000	/* active low (kept only) */
#define	IOART_REM_IRR		0x00004000	/* level: delivered, no EOI yet */
#define	IOART_TRGRLVL		0x00008000	/* level-triggered */
#define	IOART_INTMASK		0x00010000
#define	IOART_WRITABLE_LO	0x0001afff
#define	IOART_DEST_SHIFT	56		/* bits 63-56 of the entry */

struct vioapic;

/*
 * deliver(arg, dest, dest_logical, mode, vector, level): a pin's message,
 * called with no vioapic lock held (it may call vioapic_eoi). mode is
 * IOART_DEL* (== APIC_ICR_DM_*); level says the pin is level-triggered.
 */
typedef void (*vioapic_deliver_t)(void *arg, u32 dest, bool dest_logical,
    u32 mode, int vector, bool level);

struct vioapic *vioapic_create(vioapic_deliver_t deliver, void *arg);
void vioapic_destroy(struct vioapic *);

/*
 * offset: in the 4 KiB window (0 .. 0xfff). 0 if handled (val read or
 * written), -1 past the window. IOREGSEL keeps the low byte of a write of
 * any size and reads it back (zero-extended), as QEMU; IOWIN and the EOI
 * register take 32-bit accesses only (others read 0, are dropped); any
 * other offset reads 0.
 */
int vioapic_mmio(struct vioapic *, u64 offset, bool write, int bytes, u32 *val);

/*
 * Pin levels, 0 .. VIOAPIC_NPINS-1 (another pin panics): assert is the
 * active level. An edge-triggered pin sends on a rising edge if unmasked
 * then (a masked edge is lost, as the 82093AA); a level-triggered pin
 * sends while asserted, unmasked and its remote IRR clear.
 */
void vioapic_assert_irq(struct vioapic *, int pin);
void vioapic_deassert_irq(struct vioapic *, int pin);
void vioapic_pulse_irq(struct vioapic *, int pin);
/*
 * A local APIC's EOI of a level-triggered vector: every level pin with
 * this vector and remote IRR set is cleared, and sends again if still
 * asserted.
 */
void vioapic_eoi(struct vioapic *, int vector);
/* The pin of ISA IRQ irq (0-15): QEMU's source override puts IRQ0 on 2. */
int vioapic_isa_pin(int irq);

#endif
