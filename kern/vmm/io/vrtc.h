/*
 * vrtc: the PC's CMOS RTC (MC146818) at ports 0x70 (index; bit 7 masks
 * NMI) and 0x71 (data): the time and date in BCD or binary, 24 or 12
 * hours, the century at 0x32, status registers A-D, and CMOS RAM
 * 0x0e-0x7f. A leaf device model: its time is the host's RTC, read once at
 * create, plus the time the clock function says has gone by since. What is
 * and is not modelled: docs/vmm.md, "Device models".
 */
#ifndef _KERN_VMM_IO_VRTC_H
#define _KERN_VMM_IO_VRTC_H

#include "../../types.h"

#define	VRTC_PORT_INDEX		0x70
#define	VRTC_PORT_DATA		0x71
#define	VRTC_NMI_MASK		0x80		/* port 0x70 bit 7 */

#define	RTC_SEC			0x00
#define	RTC_SEC_ALARM		0x01
#define	RTC_MIN			0x02
#define	RTC_MIN_ALARM		0x03
#define	RTC_HOUR		0x04
#define	RTC_HOUR_ALARM		0x05
#define	RTC_DOW			0x06		/* 1 = Sunday */
#define	RTC_DAY			0x07
#define	RTC_MONTH		0x08
#define	RTC_YEAR		0x09
#define	RTC_STATUSA		0x0a
#define	RTC_STATUSB		0x0b
#define	RTC_STATUSC		0x0c
#define	RTC_STATUSD		0x0d
#define	RTC_NVRAM_START		0x0e
#define	RTC_CENTURY		0x32
#define	RTC_NREGS		0x80

#define	RTCA_UIP		0x80		/* update in progress (r/o) */
#define	RTCA_DV_NORMAL		0x20		/* divider bits 6-4: 32.768 kHz */
#define	RTCA_RS_MASK		0x0f		/* periodic rate select */
#define	RTCB_SET		0x80		/* updates halted, time settable */
#define	RTCB_PIE		0x40
#define	RTCB_AIE		0x20
#define	RTCB_UIE		0x10
#define	RTCB_SQWE		0x08
#define	RTCB_BINARY		0x04		/* DM: binary, else BCD */
#define	RTCB_24H		0x02
#define	RTCB_DSE		0x01
#define	RTCC_IRQF		0x80
#define	RTCC_PF			0x40
#define	RTCC_AF			0x20
#define	RTCC_UF			0x10
#define	RTCD_VRT		0x80		/* valid RAM and time */
#define	RTC_HOUR_PM		0x80		/* 12-hour mode */

struct vrtc;

/* Reads the host's RTC (waits for an update to finish). */
struct vrtc *vrtc_create(hrtime_t (*clock)(void *), void *clock_arg);
void vrtc_destroy(struct vrtc *);
/* 0 if port is 0x70 or 0x71 (val read or written), -1 if not. */
int vrtc_io(struct vrtc *, u16 port, bool in, int bytes, u32 *val);
/* The guest's NMI mask, bit 7 of its last write to port 0x70. */
bool vrtc_nmi_masked(struct vrtc *);

#endif
