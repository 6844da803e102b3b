/*
 * Suite "vio", the CMOS RTC (kern/vmm/io/vrtc.c), programmed through
 * ports 0x70/0x71 as a guest would, on a fake clock.
 */
#include "ktest.h"
#include "vio_test.h"
#include "../kern/vmm/io/vrtc.h"

#define	SEC	1000000000ULL

static void
rtc_write(struct vrtc *rtc, u8 reg, u8 v)
{
	u32 x = reg;

	KT_EXPECT(vrtc_io(rtc, 0x70, false, 1, &x) == 0, "0x70 refused");
	x = v;
	KT_EXPECT(vrtc_io(rtc, 0x71, false, 1, &x) == 0, "0x71 refused");
}

static u32
rtc_read(struct vrtc *rtc, u8 reg)
{
	u32 x = reg;

	KT_EXPECT(vrtc_io(rtc, 0x70, false, 1, &x) == 0, "0x70 refused");
	x = 0xdead;
	KT_EXPECT(vrtc_io(rtc, 0x71, true, 1, &x) == 0, "0x71 refused");
	return (x);
}

/* Set the time as a guest does: SET, the fields (in B's format), go. */
static void
rtc_set(struct vrtc *rtc, u8 b, u8 cent, u8 year, u8 mon, u8 day, u8 hour,
    u8 min, u8 sec)
{
	rtc_write(rtc, RTC_STATUSB, b | RTCB_SET);
	rtc_write(rtc, RTC_CENTURY, cent);
	rtc_write(rtc, RTC_YEAR, year);
	rtc_write(rtc, RTC_MONTH, mon);
	rtc_write(rtc, RTC_DAY, day);
	rtc_write(rtc, RTC_HOUR, hour);
	rtc_write(rtc, RTC_MIN, min);
	rtc_write(rtc, RTC_SEC, sec);
	rtc_write(rtc, RTC_STATUSB, b);
}

KTEST(vio, rtc_bcd_rollover)
{
	struct fake_clock fc = { 5 * SEC };
	struct vrtc *rtc = vrtc_create(fake_clock_read, &fc);

	rtc_set(rtc, RTCB_24H, 0x20, 0x99, 0x12, 0x31, 0x23, 0x59, 0x58);
	KT_EXPECT(rtc_read(rtc, RTC_SEC) == 0x58, "sec 0x%x",
	    rtc_read(rtc, RTC_SEC));
	KT_EXPECT(rtc_read(rtc, RTC_DOW) == 0x05, "2099-12-31 is a Thursday "
	    "(5), read %u", rtc_read(rtc, RTC_DOW));
	fc.now += SEC + SEC / 2;
	KT_EXPECT(rtc_read(rtc, RTC_SEC) == 0x59, "sec 0x%x after 1.5 s",
	    rtc_read(rtc, RTC_SEC));
	fc.now += SEC + SEC / 2;		/* 3 s: 2100-01-01 00:00:01 */
	u32 got[7] = { rtc_read(rtc, RTC_CENTURY), rtc_read(rtc, RTC_YEAR),
	    rtc_read(rtc, RTC_MONTH), rtc_read(rtc, RTC_DAY),
	    rtc_read(rtc, RTC_HOUR), rtc_read(rtc, RTC_MIN),
	    rtc_read(rtc, RTC_SEC) };
	KT_EXPECT(got[0] == 0x21 && got[1] == 0x00 && got[2] == 0x01 &&
	    got[3] == 0x01 && got[4] == 0 && got[5] == 0 && got[6] == 0x01,
	    "after 3 s: %x%02x-%02x-%02x %02x:%02x:%02x", got[0], got[1],
	    got[2], got[3], got[4], got[5], got[6]);
	KT_EXPECT(rtc_read(rtc, RTC_DOW) == 0x06, "2100-01-01 is a Friday");
	/* SET stops the clock. */
	rtc_write(rtc, RTC_STATUSB, RTCB_24H | RTCB_SET);
	fc.now += 10 * SEC;
	KT_EXPECT(rtc_read(rtc, RTC_SEC) == 0x01, "sec 0x%x ran under SET",
	    rtc_read(rtc, RTC_SEC));
	rtc_write(rtc, RTC_STATUSB, RTCB_24H);
	fc.now += 2 * SEC;
	KT_EXPECT(rtc_read(rtc, RTC_SEC) == 0x03, "sec 0x%x after SET",
	    rtc_read(rtc, RTC_SEC));
	/* Leap day. */
	rtc_set(rtc, RTCB_24H, 0x20, 0x24, 0x02, 0x28, 0x23, 0x59, 0x59);
	fc.now += SEC;
	KT_EXPECT(rtc_read(rtc, RTC_DAY) == 0x29 &&
	    rtc_read(rtc, RTC_MONTH) == 0x02, "2024-02-28 + 1 s: %02x-%02x",
	    rtc_read(rtc, RTC_MONTH), rtc_read(rtc, RTC_DAY));
	vrtc_destroy(rtc);
}

KTEST(vio, rtc_binary_and_12h)
{
	struct fake_clock fc = { 0 };
	struct vrtc *rtc = vrtc_create(fake_clock_read, &fc);

	rtc_set(rtc, RTCB_24H | RTCB_BINARY, 20, 26, 7, 4, 13, 5, 9);
	KT_EXPECT(rtc_read(rtc, RTC_HOUR) == 13 && rtc_read(rtc, RTC_MIN) == 5
	    && rtc_read(rtc, RTC_YEAR) == 26 && rtc_read(rtc, RTC_CENTURY) == 20,
	    "binary 24h: %u:%u year %u%u", rtc_read(rtc, RTC_HOUR),
	    rtc_read(rtc, RTC_MIN), rtc_read(rtc, RTC_CENTURY),
	    rtc_read(rtc, RTC_YEAR));
	rtc_write(rtc, RTC_STATUSB, RTCB_BINARY);	/* 12 h */
	KT_EXPECT(rtc_read(rtc, RTC_HOUR) == (RTC_HOUR_PM | 1), "13:05 in "
	    "12 h binary: 0x%x", rtc_read(rtc, RTC_HOUR));
	rtc_write(rtc, RTC_HOUR, 12);			/* 12 AM: midnight */
	rtc_write(rtc, RTC_STATUSB, RTCB_24H | RTCB_BINARY);
	KT_EXPECT(rtc_read(rtc, RTC_HOUR) == 0, "12 AM is hour %u",
	    rtc_read(rtc, RTC_HOUR));
	rtc_write(rtc, RTC_STATUSB, 0);			/* 12 h BCD */
	KT_EXPECT(rtc_read(rtc, RTC_HOUR) == 0x12, "midnight 12 h BCD 0x%x",
	    rtc_read(rtc, RTC_HOUR));
	rtc_write(rtc, RTC_HOUR, RTC_HOUR_PM | 0x11);	/* 11 PM */
	rtc_write(rtc, RTC_STATUSB, RTCB_24H);
	KT_EXPECT(rtc_read(rtc, RTC_HOUR) == 0x23, "11 PM is 0x%x in 24 h BCD",
	    rtc_read(rtc, RTC_HOUR));
	KT_EXPECT(rtc_read(rtc, RTC_MONTH) == 0x07 &&
	    rtc_read(rtc, RTC_DAY) == 0x04, "date 0x%x-0x%x in BCD",
	    rtc_read(rtc, RTC_MONTH), rtc_read(rtc, RTC_DAY));
	vrtc_destroy(rtc);
}

KTEST(vio, rtc_status_registers)
{
	struct fake_clock fc = { 7 * SEC };
	struct vrtc *rtc = vrtc_create(fake_clock_read, &fc);

	KT_EXPECT(rtc_read(rtc, RTC_STATUSD) == RTCD_VRT, "D 0x%x",
	    rtc_read(rtc, RTC_STATUSD));
	rtc_write(rtc, RTC_STATUSA, RTCA_DV_NORMAL);	/* no periodic rate */
	rtc_set(rtc, RTCB_24H, 0x20, 0x26, 0x01, 0x01, 0x00, 0x00, 0x00);
	(void)rtc_read(rtc, RTC_STATUSC);
	fc.now += SEC / 2;
	KT_EXPECT(rtc_read(rtc, RTC_STATUSC) == 0, "C 0x%x within a second",
	    rtc_read(rtc, RTC_STATUSC));
	KT_EXPECT(!(rtc_read(rtc, RTC_STATUSA) & RTCA_UIP), "UIP mid-second");
	fc.now += SEC / 2 - 100000;		/* 100 us before the update */
	KT_EXPECT(rtc_read(rtc, RTC_STATUSA) & RTCA_UIP, "no UIP 100 us "
	    "before the update");
	fc.now += 200000;
	u32 c = rtc_read(rtc, RTC_STATUSC);
	KT_EXPECT(c == RTCC_UF, "C 0x%x after an update, want UF only", c);
	c = rtc_read(rtc, RTC_STATUSC);
	KT_EXPECT(c == 0, "C 0x%x: the read did not clear it", c);
	rtc_write(rtc, RTC_STATUSB, RTCB_24H | RTCB_UIE);
	KT_EXPECT(rtc_read(rtc, RTC_STATUSB) == (RTCB_24H | RTCB_UIE),
	    "B 0x%x", rtc_read(rtc, RTC_STATUSB));
	fc.now += SEC;
	c = rtc_read(rtc, RTC_STATUSC);
	KT_EXPECT(c == (RTCC_IRQF | RTCC_UF), "C 0x%x with UIE", c);
	/* 2 Hz periodic rate: PF after half a second, not IRQF (no PIE). */
	rtc_write(rtc, RTC_STATUSB, RTCB_24H);
	rtc_write(rtc, RTC_STATUSA, RTCA_DV_NORMAL | 0x0f);
	KT_EXPECT(rtc_read(rtc, RTC_STATUSA) == (RTCA_DV_NORMAL | 0x0f),
	    "A 0x%x", rtc_read(rtc, RTC_STATUSA));
	(void)rtc_read(rtc, RTC_STATUSC);
	fc.now += SEC / 2;
	c = rtc_read(rtc, RTC_STATUSC);
	KT_EXPECT(c & RTCC_PF, "C 0x%x: no PF after a 2 Hz period", c);
	KT_EXPECT(!(c & RTCC_IRQF), "C 0x%x: IRQF without PIE", c);
	/* SET clears UIE, as the chip. */
	rtc_write(rtc, RTC_STATUSB, RTCB_24H | RTCB_UIE | RTCB_SET);
	KT_EXPECT(rtc_read(rtc, RTC_STATUSB) == (RTCB_24H | RTCB_SET),
	    "B 0x%x: SET must clear UIE", rtc_read(rtc, RTC_STATUSB));
	vrtc_destroy(rtc);
}

KTEST(vio, rtc_nmi_index_ram)
{
	struct fake_clock fc = { 0 };
	struct vrtc *rtc = vrtc_create(fake_clock_read, &fc);
	u32 x = 0;

	KT_EXPECT(vrtc_io(rtc, 0x72, true, 1, &x) == -1, "claimed 0x72");
	KT_EXPECT(!vrtc_nmi_masked(rtc), "NMI masked at create");
	x = VRTC_NMI_MASK | 0x0e;
	vrtc_io(rtc, 0x70, false, 1, &x);
	KT_EXPECT(vrtc_nmi_masked(rtc), "0x70 bit 7 did not mask NMI");
	x = 0x5a;
	vrtc_io(rtc, 0x71, false, 1, &x);
	vrtc_io(rtc, 0x70, true, 1, &x);
	KT_EXPECT(x == (VRTC_NMI_MASK | 0x0e), "0x70 reads 0x%x", x);
	KT_EXPECT(rtc_read(rtc, 0x0e) == 0x5a, "RAM 0x0e 0x%x",
	    rtc_read(rtc, 0x0e));
	KT_EXPECT(!vrtc_nmi_masked(rtc), "NMI still masked");
	rtc_write(rtc, 0x7f, 0xa5);
	rtc_write(rtc, 0x40, 0x3c);
	KT_EXPECT(rtc_read(rtc, 0x7f) == 0xa5 && rtc_read(rtc, 0x40) == 0x3c,
	    "RAM 0x7f 0x%x, 0x40 0x%x", rtc_read(rtc, 0x7f),
	    rtc_read(rtc, 0x40));
	rtc_write(rtc, RTC_STATUSD, 0);
	KT_EXPECT(rtc_read(rtc, RTC_STATUSD) == RTCD_VRT, "D is writable");
	vrtc_destroy(rtc);
}

static bool
is_bcd(u32 v, u32 max)
{
	return ((v & 0xf) <= 9 && (v >> 4) <= 9 && (v >> 4) * 10 + (v & 0xf)
	    <= max);
}

static u32
bcd(u32 v)
{
	return ((v >> 4) * 10 + (v & 0xf));
}

/* The host's time comes through, and runs with the clock function. */
KTEST(vio, rtc_host_time_advances)
{
	struct fake_clock fc = { 3 * SEC };
	struct vrtc *rtc = vrtc_create(fake_clock_read, &fc);

	u32 cent = rtc_read(rtc, RTC_CENTURY), year = rtc_read(rtc, RTC_YEAR);
	u32 mon = rtc_read(rtc, RTC_MONTH), day = rtc_read(rtc, RTC_DAY);
	ktest_note("host RTC: %x%02x-%02x-%02x %02x:%02x:%02x", cent, year,
	    mon, day, rtc_read(rtc, RTC_HOUR), rtc_read(rtc, RTC_MIN),
	    rtc_read(rtc, RTC_SEC));
	KT_EXPECT(cent == 0x20 && is_bcd(year, 99) && bcd(year) >= 20,
	    "host year %x%02x", cent, year);
	KT_EXPECT(is_bcd(mon, 12) && mon != 0 && is_bcd(day, 31) && day != 0,
	    "host date %02x-%02x", mon, day);
	u32 h = rtc_read(rtc, RTC_HOUR), m = rtc_read(rtc, RTC_MIN);
	u32 s = rtc_read(rtc, RTC_SEC);
	KT_EXPECT(is_bcd(h, 23) && is_bcd(m, 59) && is_bcd(s, 59),
	    "host time %02x:%02x:%02x", h, m, s);
	u32 t0 = bcd(h) * 3600 + bcd(m) * 60 + bcd(s);
	fc.now += 3661 * SEC;
	h = rtc_read(rtc, RTC_HOUR);
	m = rtc_read(rtc, RTC_MIN);
	s = rtc_read(rtc, RTC_SEC);
	u32 t1 = bcd(h) * 3600 + bcd(m) * 60 + bcd(s);
	KT_EXPECT((t1 + 86400 - t0) % 86400 == 3661, "3661 s moved the time "
	    "by %u s", (t1 + 86400 - t0) % 86400);
	vrtc_destroy(rtc);
}
