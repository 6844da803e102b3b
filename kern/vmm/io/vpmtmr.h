/*
 * vpmtmr: the ACPI power management timer of QEMU's PC (PIIX4 PM, I/O
 * block at 0x600, the timer at 0x608, as the FADT vacpi builds says): a
 * 24-bit counter at 3.579545 MHz (the FADT's TMR_VAL_EXT is clear), read
 * with IN. A leaf device model: time comes from the clock function given
 * at create (gethrtime in production, a fake clock in the tests).
 */
#ifndef _KERN_VMM_IO_VPMTMR_H
#define _KERN_VMM_IO_VPMTMR_H

#include "../../types.h"

#define	VPMTMR_HZ		3579545ULL
#define	VPMTMR_PM_BASE		0x600		/* PM1a_EVT_BLK */
#define	VPMTMR_PORT		0x608		/* PM_TMR_BLK, 4 ports */
#define	VPMTMR_LEN		4
#define	VPMTMR_MASK		0xffffffU	/* 24 bits */

struct vpmtmr;

/* The counter is 0 at create and runs with clock(arg) (ns). */
struct vpmtmr *vpmtmr_create(hrtime_t (*clock)(void *), void *arg);
void vpmtmr_destroy(struct vpmtmr *);
/*
 * 0 for ports 0x608-0x60b, -1 for others. An IN of any width at 0x608 + i
 * reads the counter's bytes from i up (as QEMU's 4-byte register); bits
 * 31-24 read 0. OUTs are ignored (the register is read-only).
 */
int vpmtmr_io(struct vpmtmr *, u16 port, bool in, int bytes, u32 *val);
/* The counter, clock ticks since create mod 2^24 (for tests). */
u32 vpmtmr_count(struct vpmtmr *);

#endif
