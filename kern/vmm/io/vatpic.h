/*
 * vatpic: the PC's pair of 8259A programmable interrupt controllers, the
 * master at ports 0x20/0x21 and the slave at 0xa0/0xa1 cascaded on the
 * master's IRQ2, with the PIIX edge/level control registers (ELCR) at
 * 0x4d0/0x4d1. A leaf device model: it knows no VM and no backend. The
 * caller routes port I/O to vatpic_io(), drives the IRQ lines, and asks
 * vatpic_pending_intr() / vatpic_intr_accepted() when it can inject.
 * What is and is not modelled: docs/vmm.md, "Device models".
 */
#ifndef _KERN_VMM_IO_VATPIC_H
#define _KERN_VMM_IO_VATPIC_H

#include "../../types.h"

#define	VATPIC_MASTER_CMD	0x20
#define	VATPIC_MASTER_DATA	0x21
#define	VATPIC_SLAVE_CMD	0xa0
#define	VATPIC_SLAVE_DATA	0xa1
#define	VATPIC_ELCR_MASTER	0x4d0
#define	VATPIC_ELCR_SLAVE	0x4d1
#define	VATPIC_NIRQ		16	/* 0-7 master, 8-15 slave */
#define	VATPIC_CASCADE_IRQ	2	/* the slave's INT on the master */

/* Command port bits (ICW1 / OCW2 / OCW3). */
#define	ICW1_INIT		0x10	/* with bit 3 clear: ICW1 */
#define	ICW1_LTIM		0x08	/* level-triggered inputs */
#define	ICW1_SNGL		0x02	/* single chip: no ICW3 */
#define	ICW1_IC4		0x01	/* ICW4 follows */
#define	ICW4_AEOI		0x02	/* automatic EOI */
#define	ICW4_UPM		0x01	/* 8086 mode (x86 always sets it) */
#define	OCW3_SEL		0x08	/* with bit 4 clear: OCW3, else OCW2 */
#define	OCW3_ESMM		0x40	/* bit 5 (SMM) is valid */
#define	OCW3_SMM		0x20	/* special mask mode on */
#define	OCW3_POLL		0x04
#define	OCW3_RR			0x02	/* bit 0 (RIS) is valid */
#define	OCW3_RIS		0x01	/* read ISR (else IRR) */
#define	OCW2_R			0x80	/* rotate */
#define	OCW2_SL			0x40	/* specific: level in bits 2-0 */
#define	OCW2_EOI		0x20
#define	OCW2_NSEOI		(OCW2_EOI)		/* 0x20 */
#define	OCW2_SEOI		(OCW2_SL | OCW2_EOI)	/* 0x60 | level */

struct vatpic;

/*
 * notify(arg) is called without the chip lock held whenever an unmasked
 * interrupt may have become pending (the vCPU should look again); it may
 * be called when nothing new is pending.
 */
struct vatpic *vatpic_create(void (*notify)(void *), void *arg);
void vatpic_destroy(struct vatpic *);

/* 0 if port is one of the chip's (val read or written), -1 if not. */
int vatpic_io(struct vatpic *, u16 port, bool in, int bytes, u32 *val);

/* IRQ lines 0-15 (the cascade line 2 has no device and is ignored). */
void vatpic_assert_irq(struct vatpic *, int irq);
void vatpic_deassert_irq(struct vatpic *, int irq);
void vatpic_pulse_irq(struct vatpic *, int irq);

/* The highest-priority deliverable vector, not yet acknowledged. */
bool vatpic_pending_intr(struct vatpic *, int *vector);
/* Both chips' IRR/ISR/IMR in a line (diagnosis, the monitor). */
void vatpic_describe(struct vatpic *, char *buf, size_t len);
/*
 * The CPU acknowledged vector, the one vatpic_pending_intr gave (an INTA
 * cycle): IRR -> ISR (nothing with auto-EOI), an edge-triggered request is
 * cleared. Priority is resolved again, as the INTA does, so the return
 * value is the vector the CPU really gets, to be delivered instead of
 * vector: the same, a higher one that arrived since, or the spurious IRQ7
 * (master) / IRQ15 (vector was the slave's; the master's IRQ2 goes into
 * service) when the request went away (deasserted or masked) meanwhile.
 */
int vatpic_intr_accepted(struct vatpic *, int vector);

#endif
