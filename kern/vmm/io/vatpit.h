/*
 * vatpit: the PC's 8254 programmable interval timer (1,193,182 Hz input)
 * at ports 0x40-0x43, with system control port B (0x61: channel 2's gate,
 * the speaker enable, channel 2's OUT and the refresh toggle). Channel 0's
 * OUT drives IRQ0 of a vatpic. A leaf device model: time comes from the
 * clock function given at create (gethrtime in production, a fake clock
 * in the tests). What is and is not modelled: docs/vmm.md, "Device models".
 */
#ifndef _KERN_VMM_IO_VATPIT_H
#define _KERN_VMM_IO_VATPIT_H

#include "../../types.h"

#define	VATPIT_HZ		1193182ULL
#define	VATPIT_PORT_CH0		0x40
#define	VATPIT_PORT_CH2		0x42
#define	VATPIT_PORT_CTRL	0x43
#define	VATPIT_PORT_B		0x61

/* Control word (port 0x43). */
#define	PIT_SC(c)		((c) << 6)	/* 3: read-back */
#define	PIT_RW_LATCH		0x00		/* counter latch command */
#define	PIT_RW_LO		0x10
#define	PIT_RW_HI		0x20
#define	PIT_RW_LOHI		0x30
#define	PIT_MODE(m)		((m) << 1)
#define	PIT_BCD			0x01
#define	PIT_RB_NOCOUNT		0x20		/* read-back: don't latch count */
#define	PIT_RB_NOSTATUS		0x10		/* read-back: don't latch status */
#define	PIT_RB_CH(c)		(2 << (c))
/* Status byte (read-back). */
#define	PIT_ST_OUT		0x80
#define	PIT_ST_NULL		0x40		/* count not loaded yet */
/* Port 0x61. */
#define	PORTB_GATE2		0x01
#define	PORTB_SPEAKER		0x02
#define	PORTB_REFRESH		0x10		/* toggles every 15 us */
#define	PORTB_OUT2		0x20

struct vatpit;
struct vatpic;

/* pic may be NULL (no IRQ0). clock(clock_arg): ns, never going back. */
struct vatpit *vatpit_create(struct vatpic *pic,
    hrtime_t (*clock)(void *), void *clock_arg);
void vatpit_destroy(struct vatpit *);
/* 0 if port is one of the timer's (val read or written), -1 if not. */
int vatpit_io(struct vatpit *, u16 port, bool in, int bytes, u32 *val);
/*
 * Pulse IRQ0 if channel 0's OUT rose since the last update: however many
 * periods went by, one edge (the PIC latches one request; missed ticks
 * coalesce). Port accesses do the same first.
 */
void vatpit_update(struct vatpit *);
/*
 * When channel 0's OUT rises next (clock time), for bounding a HLT sleep:
 * the first edge vatpit_update has not delivered yet (so a time already
 * past if one is overdue), or 0 if it never will (not programmed, or a
 * one-shot mode that already fired).
 */
hrtime_t vatpit_next_deadline(struct vatpit *);
/* Channel 0 in a line, for a stopped VM's diagnosis and the monitor. */
void vatpit_describe(struct vatpit *, char *buf, size_t len);

#endif
