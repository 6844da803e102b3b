/*
 * mb_apictimer: the local APIC timer (LVT 0x320, initial count 0x380,
 * current count 0x390, divide 0x3E0) in one-shot and periodic mode, waited
 * for with `sti; hlt`: the divide register reads back, the current count
 * goes down, a one-shot fires exactly once and stops at 0, a periodic timer
 * fires again and again and reloads, masking or a zero initial count stops
 * it, and a masked one-shot still counts down.  The one-shot expires in
 * 64-640 ms whether the timer runs at 1 GHz (QEMU) or 100 MHz, the periodic
 * one every 3.2-32 ms.
 */

#include "mb.h"

#define VEC_TIMER	0x40
#define DIV_1		0x0b
#define DIV_16		0x03
#define DIV_64		0x09

static volatile int fired;
static volatile int in_service;		/* the ISR bit was set in the handler */

static void
timer_irq(struct trapframe *tf)
{
	(void)tf;
	if (lapic_bit(LAPIC_ISR, VEC_TIMER))
		in_service++;
	fired++;
	lapic_eoi();
}

/*
 * A timer interrupt may be in the IRR when the LVT is masked or the count
 * zeroed: let it in before counting from there.
 */
static void
drain(void)
{
	sti();
	pit_delay_ticks(PIT_HZ / 500);
	cli();
}

static void
divide(void)
{
	static const uint8_t dcr[] = { 0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0a, 0x0b };

	for (unsigned i = 0; i < nitems(dcr); i++) {
		lapic_write(LAPIC_TIMER_DCR, dcr[i]);
		check_eq(lapic_read(LAPIC_TIMER_DCR) & 0x0b, dcr[i], "divide register reads back 0x%x",
		    dcr[i]);
	}
}

static void
one_shot(void)
{
	uint32_t c1, c2;

	fired = in_service = 0;
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER);
	check_eq(lapic_read(LAPIC_LVT_TIMER), VEC_TIMER, "LVT timer reads back (one-shot, vector 0x40)");
	lapic_write(LAPIC_TIMER_DCR, DIV_64);
	lapic_write(LAPIC_TIMER_ICR, 1000000);
	check_eq(lapic_read(LAPIC_TIMER_ICR), 1000000, "initial count reads back");
	c1 = lapic_read(LAPIC_TIMER_CCR);
	pit_delay_ticks(PIT_HZ / 1000);
	c2 = lapic_read(LAPIC_TIMER_CCR);
	check(c1 != 0 && c1 <= 1000000, "current count starts at or below the initial count");
	check(c2 < c1, "current count decreases");
	check(wait_for(&fired, 1, 2000), "one-shot: the interrupt wakes sti; hlt");
	wait_for(&fired, 2, 300);
	check_eq((uint32_t)fired, 1, "one-shot: fired exactly once");
	check_eq((uint32_t)in_service, (uint32_t)fired, "ISR bit set in the handler");
	check_eq(lapic_read(LAPIC_TIMER_CCR), 0, "one-shot: current count stays at 0");
	check_eq(lapic_bit(LAPIC_ISR, VEC_TIMER), 0, "ISR bit clear after EOI");
}

static void
periodic(void)
{
	int n;

	fired = 0;
	lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | VEC_TIMER);
	check_eq(lapic_read(LAPIC_LVT_TIMER), LVT_PERIODIC | VEC_TIMER, "LVT timer reads back (periodic)");
	lapic_write(LAPIC_TIMER_DCR, DIV_16);
	lapic_write(LAPIC_TIMER_ICR, 200000);
	check(wait_for(&fired, 5, 2000), "periodic: fires at least 5 times");
	check(lapic_read(LAPIC_TIMER_CCR) != 0, "periodic: the current count reloads");
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | LVT_PERIODIC | VEC_TIMER);
	drain();
	n = fired;
	wait_for(&fired, n + 1, 200);
	check_eq((uint32_t)fired, (uint32_t)n, "periodic, masked: no more interrupts");
	check(lapic_read(LAPIC_TIMER_CCR) != 0, "periodic, masked: still counting");
	lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | VEC_TIMER);
	lapic_write(LAPIC_TIMER_ICR, 0);
	drain();
	n = fired;
	wait_for(&fired, n + 1, 200);
	check_eq((uint32_t)fired, (uint32_t)n, "periodic, initial count 0: stopped");
	check_eq(lapic_read(LAPIC_TIMER_CCR), 0, "initial count 0: current count 0");
}

static void
masked_one_shot(void)
{
	fired = 0;
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_TIMER_DCR, DIV_1);
	lapic_write(LAPIC_TIMER_ICR, 100000);
	wait_for(&fired, 1, 100);
	check_eq((uint32_t)fired, 0, "masked one-shot: no interrupt");
	check_eq(lapic_read(LAPIC_TIMER_CCR), 0, "masked one-shot: counted down to 0");
	check_eq(lapic_bit(LAPIC_IRR, VEC_TIMER), 0, "masked one-shot: nothing in the IRR");
}

int
kmain(void)
{
	kprintf("mb_apictimer: the local APIC timer\n");
	trap_set_handler(VEC_TIMER, timer_irq);
	lapic_enable();
	lapic_write(LAPIC_TPR, 0);
	divide();
	one_shot();
	periodic();
	masked_one_shot();
	return mb_finish();
}
