/*
 * The CMOS RTC (vrtc.h). One struct, one spin lock; no timer: the time
 * registers, UIP and the status C flags are worked out from the clock when
 * read.
 *
 * The time is kept as seconds since 1970-01-01 (rtc_base_secs at clock
 * time rtc_base_ns), not as registers: the format bits of status B choose
 * how it is shown, and changing them shows the same time in the new format
 * (the chip would leave the registers as they were). Writing a time
 * register sets that field of the current time; with SET in status B the
 * clock stops and starts again, from a new second, when SET is cleared.
 * The day of the week is derived from the date (writes are ignored).
 *
 * Status C: UF is set when a second boundary passed since C was last read,
 * PF when a period of the rate in status A did; AF is never set (alarm
 * registers are storage only); IRQF as the chip. No interrupt is raised
 * (IRQ8 is not modelled). The divider bits of status A are stored but the
 * clock always runs, and daylight saving (DSE) is stored but not applied.
 */
#include "vrtc.h"
#include "../../kmem.h"
#include "../../sync.h"
#include "../../x86.h"

#define	NS_PER_SEC	1000000000LL
#define	UIP_NS		244000LL	/* UIP rises 244 us before an update */

/* Field tags: [c] set at create, constant after; [l] under rtc_lock. */
struct vrtc {
	spinlock_t rtc_lock;
	u8 rtc_index;			/* [l] port 0x70 bits 6-0 */
	bool rtc_nmi_masked;		/* [l] port 0x70 bit 7 */
	u8 rtc_ram[RTC_NREGS];		/* [l] A, B, alarms, CMOS RAM */
	i64 rtc_base_secs;		/* [l] the time at rtc_base_ns */
	hrtime_t rtc_base_ns;		/* [l] (the clock stands while SET) */
	u8 rtc_flags;			/* [l] status C flags not yet read */
	hrtime_t rtc_flags_ns;		/* [l] clock when flags were updated */
	i64 rtc_flags_secs;		/* [l] the time then */
	hrtime_t (*rtc_clock)(void *);	/* [c] */
	void *rtc_clock_arg;		/* [c] */
};

struct civil {
	i64 year;
	int month, day, hour, min, sec, dow;	/* dow: 1 = Sunday */
};

/* H. Hinnant's days_from_civil / civil_from_days (proleptic Gregorian). */
static i64
days_from_civil(i64 y, int m, int d)
{
	y -= m <= 2;
	i64 era = (y >= 0 ? y : y - 399) / 400;
	i64 yoe = y - era * 400;
	i64 doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	i64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

static void
secs_to_civil(i64 t, struct civil *c)
{
	i64 z = (t >= 0 ? t : t - 86399) / 86400, s = t - z * 86400;

	c->hour = (int)(s / 3600);
	c->min = (int)(s / 60 % 60);
	c->sec = (int)(s % 60);
	c->dow = (int)(((z + 4) % 7 + 7) % 7) + 1;	/* 1970-01-01: Thu */
	z += 719468;
	i64 era = (z >= 0 ? z : z - 146096) / 146097;
	i64 doe = z - era * 146097;
	i64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	i64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	i64 mp = (5 * doy + 2) / 153;
	c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->year = yoe + era * 400 + (c->month <= 2);
}

static int
clamp(int v, int lo, int hi)
{
	return (v < lo ? lo : v > hi ? hi : v);
}

static i64
civil_to_secs(const struct civil *c)
{
	int m = clamp(c->month, 1, 12);
	return (days_from_civil(c->year, m, clamp(c->day, 1, 31)) * 86400 +
	    clamp(c->hour, 0, 23) * 3600 + clamp(c->min, 0, 59) * 60 +
	    clamp(c->sec, 0, 59));
}

static u8
bin2bcd(int v)
{
	return ((u8)((v / 10) << 4 | v % 10));
}

static int
bcd2bin(u8 v)
{
	return ((v >> 4) * 10 + (v & 0xf));
}

/* A time field as shown, in status B's format; decode_field undoes it. */
static u8
encode_field(u8 b, int v)
{
	return ((b & RTCB_BINARY) ? (u8)v : bin2bcd(v));
}

static int
decode_field(u8 b, u8 v)
{
	return ((b & RTCB_BINARY) ? v : bcd2bin(v));
}

static u8
encode_hour(u8 b, int h)
{
	if (b & RTCB_24H)
		return (encode_field(b, h));
	int h12 = h % 12 == 0 ? 12 : h % 12;
	return (encode_field(b, h12) | (h >= 12 ? RTC_HOUR_PM : 0));
}

static int
decode_hour(u8 b, u8 v)
{
	if (b & RTCB_24H)
		return (decode_field(b, v));
	return (decode_field(b, v & ~RTC_HOUR_PM) % 12 +
	    ((v & RTC_HOUR_PM) ? 12 : 0));
}

/* The host's RTC, once per create: the host CMOS index is a shared port. */
static spinlock_t host_cmos_lock = SPINLOCK_INIT("host cmos");

static u8
host_cmos(u8 reg)
{
	outb(VRTC_PORT_INDEX, reg);	/* bit 7 clear: host NMIs stay on */
	return (inb(VRTC_PORT_DATA));
}

static void
host_wait_uip(void)
{
	for (int i = 0; i < 100000 && (host_cmos(RTC_STATUSA) & RTCA_UIP);
	    i++)
		cpu_pause();
}

static i64
host_time(void)
{
	u8 r[RTC_NREGS] = { 0 }, again;
	static const u8 regs[] = { RTC_SEC, RTC_MIN, RTC_HOUR, RTC_DAY,
	    RTC_MONTH, RTC_YEAR, RTC_CENTURY, RTC_STATUSB };

	spin_lock(&host_cmos_lock);
	for (int tries = 0; tries < 5; tries++) {
		host_wait_uip();
		for (size_t i = 0; i < ARRAY_SIZE(regs); i++)
			r[regs[i]] = host_cmos(regs[i]);
		host_wait_uip();
		again = host_cmos(RTC_SEC);
		if (again == r[RTC_SEC])
			break;		/* no update in between */
	}
	spin_unlock(&host_cmos_lock);

	u8 b = r[RTC_STATUSB];
	struct civil c = {
		.year = decode_field(b, r[RTC_YEAR]),
		.month = decode_field(b, r[RTC_MONTH]),
		.day = decode_field(b, r[RTC_DAY]),
		.hour = decode_hour(b, r[RTC_HOUR]),
		.min = decode_field(b, r[RTC_MIN]),
		.sec = decode_field(b, r[RTC_SEC]),
	};
	int century = decode_field(b, r[RTC_CENTURY]);
	c.year += (century >= 19 && century <= 99 ? century : 20) * 100;
	return (civil_to_secs(&c));
}

/* Under rtc_lock: the guest's time now, and ns into the second. */
static i64
now_secs(const struct vrtc *rtc, hrtime_t now, i64 *subsec)
{
	if (rtc->rtc_ram[RTC_STATUSB] & RTCB_SET) {
		*subsec = 0;
		return (rtc->rtc_base_secs);
	}
	i64 d = (i64)(now - rtc->rtc_base_ns);
	*subsec = d % NS_PER_SEC;
	return (rtc->rtc_base_secs + d / NS_PER_SEC);
}

/* The periodic rate as a shift of 32,768 Hz clocks, or -1 for none. */
static int
rate_shift(u8 a)
{
	int rs = a & RTCA_RS_MASK;

	if (rs == 0)
		return (-1);
	return (rs < 3 ? rs + 6 : rs - 1);
}

static u64
ticks_32k(hrtime_t ns)
{
	return ((ns / NS_PER_SEC) * 32768 + (ns % NS_PER_SEC) * 32768 /
	    NS_PER_SEC);
}

/* Under rtc_lock: the UF and PF flags for the time since the last look. */
static void
update_flags(struct vrtc *rtc, hrtime_t now)
{
	i64 subsec, secs = now_secs(rtc, now, &subsec);
	int shift = rate_shift(rtc->rtc_ram[RTC_STATUSA]);

	if (secs != rtc->rtc_flags_secs &&
	    !(rtc->rtc_ram[RTC_STATUSB] & RTCB_SET))
		rtc->rtc_flags |= RTCC_UF;
	if (shift >= 0 && ticks_32k(now) >> shift !=
	    ticks_32k(rtc->rtc_flags_ns) >> shift)
		rtc->rtc_flags |= RTCC_PF;
	rtc->rtc_flags_secs = secs;
	rtc->rtc_flags_ns = now;
}

/* Under rtc_lock: the time becomes secs, a new second starting now. */
static void
set_time(struct vrtc *rtc, i64 secs, hrtime_t now)
{
	rtc->rtc_base_secs = secs;
	rtc->rtc_base_ns = now;
	rtc->rtc_flags_secs = secs;
}

static u8
time_read(struct vrtc *rtc, u8 reg, hrtime_t now)
{
	u8 b = rtc->rtc_ram[RTC_STATUSB];
	i64 subsec;
	struct civil c;

	secs_to_civil(now_secs(rtc, now, &subsec), &c);
	switch (reg) {
	case RTC_SEC:
		return (encode_field(b, c.sec));
	case RTC_MIN:
		return (encode_field(b, c.min));
	case RTC_HOUR:
		return (encode_hour(b, c.hour));
	case RTC_DOW:
		return (encode_field(b, c.dow));
	case RTC_DAY:
		return (encode_field(b, c.day));
	case RTC_MONTH:
		return (encode_field(b, c.month));
	case RTC_YEAR:
		return (encode_field(b, (int)(c.year % 100)));
	default:				/* RTC_CENTURY */
		return (encode_field(b, (int)(c.year / 100)));
	}
}

static void
time_write(struct vrtc *rtc, u8 reg, u8 v, hrtime_t now)
{
	u8 b = rtc->rtc_ram[RTC_STATUSB];
	i64 subsec;
	struct civil c;

	secs_to_civil(now_secs(rtc, now, &subsec), &c);
	switch (reg) {
	case RTC_SEC:
		c.sec = decode_field(b, v);
		break;
	case RTC_MIN:
		c.min = decode_field(b, v);
		break;
	case RTC_HOUR:
		c.hour = decode_hour(b, v);
		break;
	case RTC_DAY:
		c.day = decode_field(b, v);
		break;
	case RTC_MONTH:
		c.month = decode_field(b, v);
		break;
	case RTC_YEAR:
		c.year = c.year / 100 * 100 + decode_field(b, v) % 100;
		break;
	case RTC_CENTURY:
		c.year = decode_field(b, v) * 100 + c.year % 100;
		break;
	default:				/* RTC_DOW: derived */
		return;
	}
	set_time(rtc, civil_to_secs(&c), now);
}

static bool
is_time_reg(u8 reg)
{
	return (reg == RTC_SEC || reg == RTC_MIN || reg == RTC_HOUR ||
	    (reg >= RTC_DOW && reg <= RTC_YEAR) || reg == RTC_CENTURY);
}

static u8
data_read(struct vrtc *rtc, u8 reg, hrtime_t now)
{
	i64 subsec;
	u8 v;

	if (is_time_reg(reg))
		return (time_read(rtc, reg, now));
	switch (reg) {
	case RTC_STATUSA:
		(void)now_secs(rtc, now, &subsec);
		v = rtc->rtc_ram[RTC_STATUSA];
		if (!(rtc->rtc_ram[RTC_STATUSB] & RTCB_SET) &&
		    subsec >= NS_PER_SEC - UIP_NS)
			v |= RTCA_UIP;
		return (v);
	case RTC_STATUSC: {
		u8 b = rtc->rtc_ram[RTC_STATUSB];
		update_flags(rtc, now);
		v = rtc->rtc_flags;
		if ((v & RTCC_PF && b & RTCB_PIE) ||
		    (v & RTCC_AF && b & RTCB_AIE) ||
		    (v & RTCC_UF && b & RTCB_UIE))
			v |= RTCC_IRQF;
		rtc->rtc_flags = 0;
		return (v);
	}
	case RTC_STATUSD:
		return (RTCD_VRT);
	default:		/* B, alarms, CMOS RAM */
		return (rtc->rtc_ram[reg]);
	}
}

static void
data_write(struct vrtc *rtc, u8 reg, u8 v, hrtime_t now)
{
	i64 subsec;

	if (is_time_reg(reg)) {
		time_write(rtc, reg, v, now);
		return;
	}
	switch (reg) {
	case RTC_STATUSA:
		update_flags(rtc, now);		/* PF up to now at the old rate */
		rtc->rtc_ram[reg] = v & ~RTCA_UIP;
		break;
	case RTC_STATUSB: {
		bool was_set = rtc->rtc_ram[reg] & RTCB_SET;
		update_flags(rtc, now);
		i64 secs = now_secs(rtc, now, &subsec);
		if (v & RTCB_SET)
			v &= ~RTCB_UIE;		/* as the chip */
		rtc->rtc_ram[reg] = v;
		if (was_set != ((v & RTCB_SET) != 0))
			set_time(rtc, secs, now);	/* stop or restart */
		break;
	}
	case RTC_STATUSC: case RTC_STATUSD:
		break;				/* read-only */
	default:
		rtc->rtc_ram[reg] = v;
		break;
	}
}

struct vrtc *
vrtc_create(hrtime_t (*clock)(void *), void *clock_arg)
{
	struct vrtc *rtc = kmem_zalloc(sizeof (*rtc), KM_SLEEP);

	spin_init(&rtc->rtc_lock, "vrtc");
	rtc->rtc_clock = clock;
	rtc->rtc_clock_arg = clock_arg;
	rtc->rtc_ram[RTC_STATUSA] = RTCA_DV_NORMAL | 0x06;	/* 1024 Hz */
	rtc->rtc_ram[RTC_STATUSB] = RTCB_24H;			/* BCD */
	i64 secs = host_time();
	hrtime_t now = clock(clock_arg);
	set_time(rtc, secs, now);
	rtc->rtc_flags_ns = now;
	return (rtc);
}

void
vrtc_destroy(struct vrtc *rtc)
{
	kmem_free(rtc, sizeof (*rtc));
}

int
vrtc_io(struct vrtc *rtc, u16 port, bool in, int bytes, u32 *val)
{
	if (port != VRTC_PORT_INDEX && port != VRTC_PORT_DATA)
		return (-1);
	if (bytes != 1) {		/* only byte access is modelled */
		if (in)
			*val = 0xffffffff;
		return (0);
	}
	spin_lock(&rtc->rtc_lock);
	if (port == VRTC_PORT_INDEX) {
		if (in) {
			*val = rtc->rtc_index |
			    (rtc->rtc_nmi_masked ? VRTC_NMI_MASK : 0);
		} else {
			rtc->rtc_index = *val & 0x7f;
			rtc->rtc_nmi_masked = (*val & VRTC_NMI_MASK) != 0;
		}
	} else {
		hrtime_t now = rtc->rtc_clock(rtc->rtc_clock_arg);
		if (in)
			*val = data_read(rtc, rtc->rtc_index, now);
		else
			data_write(rtc, rtc->rtc_index, (u8)*val, now);
	}
	spin_unlock(&rtc->rtc_lock);
	return (0);
}

bool
vrtc_nmi_masked(struct vrtc *rtc)
{
	spin_lock(&rtc->rtc_lock);
	bool masked = rtc->rtc_nmi_masked;
	spin_unlock(&rtc->rtc_lock);
	return (masked);
}
