/*
 * Local APIC and timekeeping.
 *
 * The APIC timer runs one-shot on every CPU: kern/callout.c sets it for
 * the CPU's next clock tick (every 1/hz s) or its earliest callout,
 * whichever comes first. Counts per second come from one calibration
 * against PIT channel 2 on the boot CPU (the APIC timer of every CPU in a
 * machine runs from the same clock). The TSC is calibrated in the same
 * window and used for gethrtime() and udelay(); deadlines are gethrtime()
 * values and the APIC count is only ever a delay to the next one.
 */
#include "apic.h"
#include "x86.h"
#include "cpu.h"
#include "panic.h"
#include "console.h"
#include "trap.h"
#include "callout.h"

#define	LAPIC_ID	0x020
#define	LAPIC_EOI	0x0b0
#define	LAPIC_SVR	0x0f0
#define	LAPIC_ICR_LO	0x300
#define	LAPIC_ICR_HI	0x310
#define	LAPIC_LVT_TIMER	0x320
#define	LAPIC_LVT_LINT0	0x350
#define	LAPIC_LVT_LINT1	0x360
#define	LAPIC_LVT_ERR	0x370
#define	LAPIC_TIMER_ICR	0x380
#define	LAPIC_TIMER_CCR	0x390
#define	LAPIC_TIMER_DCR	0x3e0
#define	LAPIC_TPR	0x080

#define	ICR_DELIVERY_PENDING	(1U << 12)
#define	ICR_LEVEL_ASSERT	(1U << 14)
#define	ICR_NMI			(4U << 8)
#define	ICR_INIT		(5U << 8)
#define	ICR_STARTUP		(6U << 8)
#define	ICR_ALL_BUT_SELF	(3U << 18)
#define	LVT_MASKED		(1U << 16)
#define	LVT_PERIODIC		(1U << 17)

static volatile u32 *lapic;
static u32 lapic_ticks_per_sec;
hrtime_t nsec_per_tick = 10000000;	/* 1e9 / hz */
u64 tsc_hz;
static u64 tsc_boot;

static inline u32
lapic_read(u32 reg)
{
	return (lapic[reg / 4]);
}

static inline void
lapic_write(u32 reg, u32 v)
{
	lapic[reg / 4] = v;
	(void) lapic[LAPIC_ID / 4];	/* wait for the write to land */
}

/*
 * Run PIT channel 2 once for 50 ms (gate on, speaker off) and measure the
 * APIC timer and the TSC against it.
 */
static void
calibrate(void)
{
	const u32 pit_hz = 1193182, ms = 50;
	u32 count = pit_hz * ms / 1000;

	outb(0x61, (inb(0x61) & ~0x02) | 0x01);	/* gate high, speaker off */
	outb(0x43, 0xb0);			/* ch2, lo/hi, mode 0 */
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	lapic_write(LAPIC_TIMER_DCR, 0x3);	/* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	/* Restart the count: toggle the gate. */
	outb(0x61, inb(0x61) & ~0x01);
	outb(0x61, inb(0x61) | 0x01);
	lapic_write(LAPIC_TIMER_ICR, 0xffffffff);
	u64 t0 = rdtsc();
	while ((inb(0x61) & 0x20) == 0)
		cpu_pause();
	u64 t1 = rdtsc();
	u32 left = lapic_read(LAPIC_TIMER_CCR);
	lapic_write(LAPIC_TIMER_ICR, 0);

	lapic_ticks_per_sec = (u32)((u64)(0xffffffffU - left) * 1000 / ms);
	tsc_hz = (t1 - t0) * 1000 / ms;
	VERIFY(lapic_ticks_per_sec > 0 && tsc_hz > 0,
	    "apic: timer calibration failed");
}

/*
 * The BIOS leaves the 8259s delivering IRQs at vectors 8-15, on top of the
 * CPU exceptions. Move them to 0x30-0x3f and mask every line: the local
 * APIC does all our interrupts.
 */
static void
pic_disable(void)
{
	outb(0x20, 0x11);		/* ICW1: init, ICW4 follows */
	outb(0xa0, 0x11);
	outb(0x21, 0x30);		/* ICW2: vector bases */
	outb(0xa1, 0x38);
	outb(0x21, 0x04);		/* ICW3: slave on IRQ2 */
	outb(0xa1, 0x02);
	outb(0x21, 0x01);		/* ICW4: 8086 mode */
	outb(0xa1, 0x01);
	outb(0x21, 0xff);		/* mask everything */
	outb(0xa1, 0xff);
}

void
apic_init(void)
{
	u64 base = rdmsr(MSR_APIC_BASE);

	pic_disable();
	wrmsr(MSR_APIC_BASE, base | (1UL << 11));	/* global enable */
	lapic = phys_to_virt(base & ~0xfffUL);
	tsc_boot = rdtsc();
	calibrate();
	cmn_err(CE_NOTE, "apic: lapic at 0x%lx, timer %u Hz (/16), tsc %lu kHz",
	    base & ~0xfffUL, lapic_ticks_per_sec, tsc_hz / 1000);
}

void
apic_timer_set_hz(u32 h)
{
	nsec_per_tick = 1000000000ULL / h;
}

void
apic_cpu_init(void)
{
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1UL << 11));
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERR, LVT_MASKED);
	lapic_write(LAPIC_TIMER_DCR, 0x3);
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER);	/* one-shot */
	clock_cpu_start();
}

/*
 * Interrupt at gethrtime() == when (or at once, if that has passed). With
 * interrupts off, on the CPU whose timer it is. The APIC counts at
 * lapic_ticks_per_sec (62.5 MHz on QEMU: 16 ns), and deadlines are at most
 * one tick away, so the count fits in 32 bits.
 */
void
apic_timer_oneshot(hrtime_t when)
{
	hrtime_t now = gethrtime();
	u64 ns = when > now ? when - now : 0;
	/* Rounded up: an interrupt just before the deadline would only be
	 * followed by another one. */
	u64 count = (ns * lapic_ticks_per_sec + 999999999ULL) / 1000000000ULL;

	if (count == 0)
		count = 1;
	if (count > 0xffffffffULL)
		count = 0xffffffffULL;
	lapic_write(LAPIC_TIMER_ICR, (u32)count);
}

u32
apic_id(void)
{
	return (lapic_read(LAPIC_ID) >> 24);
}

void
apic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

static void
icr_wait(void)
{
	for (u64 i = 0; (lapic_read(LAPIC_ICR_LO) & ICR_DELIVERY_PENDING) != 0;
	    i++) {
		if (i > 100000000)
			panic("apic: IPI delivery stuck");
		cpu_pause();
	}
}

static void
icr_send(u32 apicid, u32 lo)
{
	bool s = intr_save();

	icr_wait();
	lapic_write(LAPIC_ICR_HI, apicid << 24);
	lapic_write(LAPIC_ICR_LO, lo);
	icr_wait();
	intr_restore(s);
}

void
apic_send_ipi(u32 apicid, int vector)
{
	icr_send(apicid, (u32)vector);
}

void
apic_send_init(u32 apicid)
{
	icr_send(apicid, ICR_INIT | ICR_LEVEL_ASSERT);
}

void
apic_send_sipi(u32 apicid, int page)
{
	icr_send(apicid, ICR_STARTUP | (u32)page);
}

void
apic_panic_others(void)
{
	if (lapic == NULL || ncpus < 2)
		return;
	/*
	 * An NMI, so CPUs spinning with interrupts off stop too (trap()
	 * halts on NMI). Don't wait for delivery: a target may be stuck.
	 */
	lapic_write(LAPIC_ICR_HI, 0);
	lapic_write(LAPIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_NMI);
}

hrtime_t
gethrtime(void)
{
	u64 d = rdtsc() - tsc_boot;

	if (tsc_hz == 0)
		return (0);
	return ((d / tsc_hz) * 1000000000ULL +
	    (d % tsc_hz) * 1000000000ULL / tsc_hz);
}

void
udelay(u64 us)
{
	u64 end = rdtsc() + tsc_hz / 1000000 * us;

	while (rdtsc() < end)
		cpu_pause();
}
