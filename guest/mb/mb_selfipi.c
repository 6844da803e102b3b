/*
 * mb_selfipi: fixed self-IPIs through the ICR (self shorthand) and what
 * holds them: a TPR class at or above the vector's keeps it in the IRR (PPR
 * shows the TPR), lowering the TPR delivers it; IF=0 holds it until STI, and
 * it is taken one instruction after the STI (the shadow); while a vector is
 * in service (ISR set, PPR its class) the same or a lower class waits and a
 * higher class nests; EOI clears the ISR bit and lets the waiting one in.
 * The TPR is the MMIO one (0xFEE00080): this is a 32-bit kernel.
 */

#include "mb.h"

#define VEC_LOW		0x40
#define VEC_MID		0x50
#define VEC_HIGH	0x70

static volatile int count;		/* interrupts taken */
static volatile int last_vec;
static volatile int isr_seen;		/* the ISR bit of the vector in the handler */
static volatile uint32_t ppr_seen;
static volatile uint32_t eax_seen;	/* EAX where the interrupt hit */
static volatile int hold_eoi;		/* 1: the handler leaves the EOI to the test */
static volatile int order[4];

static void
ipi_handler(struct trapframe *tf)
{
	if (count < (int)nitems(order))
		order[count] = (int)tf->vector;
	last_vec = (int)tf->vector;
	isr_seen = lapic_bit(LAPIC_ISR, (int)tf->vector);
	ppr_seen = lapic_read(LAPIC_PPR);
	eax_seen = tf->eax;
	count++;
	if (!hold_eoi)
		lapic_eoi();
}

static void
self_ipi(int vec)
{
	lapic_write(LAPIC_ICR_HI, 0);
	lapic_write(LAPIC_ICR_LO, ICR_SELF | ICR_LEVEL_ASSERT | (uint32_t)vec);
	lapic_icr_wait();
}

/* About 1 ms with IF set (busy, no HLT), for whatever can be taken. */
static void
window(void)
{
	sti();
	pit_delay_ticks(PIT_HZ / 1000);
	cli();
}

static void
tpr_masking(void)
{
	count = 0;
	lapic_write(LAPIC_TPR, 0x60);
	check_eq(lapic_read(LAPIC_TPR), 0x60, "TPR reads back 0x60");
	self_ipi(VEC_MID);
	window();
	check_eq((uint32_t)count, 0, "TPR 0x60 holds vector 0x50");
	check_eq(lapic_bit(LAPIC_IRR, VEC_MID), 1, "... in the IRR");
	check_eq(lapic_read(LAPIC_PPR), 0x60, "PPR = TPR 0x60 with nothing in service");
	lapic_write(LAPIC_TPR, 0x50);
	window();
	check_eq((uint32_t)count, 0, "TPR 0x50 (same class) still holds it");
	lapic_write(LAPIC_TPR, 0x4f);
	window();
	check_eq((uint32_t)count, 1, "TPR 0x4f delivers it");
	check_eq((uint32_t)last_vec, VEC_MID, "... at vector 0x50");
	check_eq((uint32_t)isr_seen, 1, "ISR bit set in the handler");
	check_eq(ppr_seen & 0xf0, 0x50, "PPR class 5 in the handler");
	check_eq(lapic_bit(LAPIC_IRR, VEC_MID), 0, "IRR bit clear once taken");
	check_eq(lapic_bit(LAPIC_ISR, VEC_MID), 0, "ISR bit clear after EOI");
	lapic_write(LAPIC_TPR, 0);
}

static void
if_and_shadow(void)
{
	count = 0;
	self_ipi(VEC_MID);
	pit_delay_ticks(PIT_HZ / 1000);
	check_eq((uint32_t)count, 0, "IF=0 holds a self-IPI");
	check_eq(lapic_bit(LAPIC_IRR, VEC_MID), 1, "... in the IRR");
	/* sti; inc: the interrupt comes after the inc, before the next inc. */
	__asm__ volatile("xorl %%eax, %%eax\n\t"
			 "sti\n\t"
			 "incl %%eax\n\t"
			 "incl %%eax\n\t"
			 "incl %%eax\n\t"
			 "cli"
	    : : : "eax", "memory");
	check_eq((uint32_t)count, 1, "STI delivers it");
	check_eq(eax_seen, 1, "taken one instruction after STI (the STI shadow)");
}

static void
in_service(void)
{
	count = 0;
	hold_eoi = 1;
	self_ipi(VEC_MID);
	window();
	check_eq((uint32_t)count, 1, "vector 0x50 taken, EOI held back");
	check_eq(lapic_bit(LAPIC_ISR, VEC_MID), 1, "ISR bit stays set without EOI");
	check_eq(lapic_read(LAPIC_PPR) & 0xf0, 0x50, "PPR class 5 while 0x50 is in service");
	self_ipi(VEC_LOW);
	self_ipi(VEC_MID);
	window();
	check_eq((uint32_t)count, 1, "0x40 and 0x50 wait while 0x50 is in service");
	check(lapic_bit(LAPIC_IRR, VEC_LOW) && lapic_bit(LAPIC_IRR, VEC_MID),
	    "... both in the IRR");
	self_ipi(VEC_HIGH);
	window();
	check_eq((uint32_t)count, 2, "0x70 nests");
	check_eq((uint32_t)order[1], VEC_HIGH, "... at vector 0x70");
	hold_eoi = 0;
	lapic_eoi();				/* 0x70, the highest in service */
	check_eq(lapic_bit(LAPIC_ISR, VEC_HIGH), 0, "EOI clears the highest ISR bit (0x70)");
	check_eq(lapic_bit(LAPIC_ISR, VEC_MID), 1, "... and leaves 0x50's");
	window();
	check_eq((uint32_t)count, 2, "0x50 still waits for its own EOI");
	lapic_eoi();				/* 0x50 */
	window();
	check_eq((uint32_t)count, 4, "after the EOI both waiting vectors are taken");
	check(order[2] == VEC_MID && order[3] == VEC_LOW, "... 0x50 before 0x40");
	check_eq(lapic_read(LAPIC_ISR + 0x20), 0, "ISR empty at the end (0x40-0x5f)");
	check_eq(lapic_read(LAPIC_ISR + 0x30), 0, "ISR empty at the end (0x60-0x7f)");
	check_eq(lapic_read(LAPIC_PPR), 0, "PPR 0 at the end");
}

int
kmain(void)
{
	kprintf("mb_selfipi: self-IPIs, TPR, IF, the STI shadow, ISR and EOI\n");
	trap_set_handler(VEC_LOW, ipi_handler);
	trap_set_handler(VEC_MID, ipi_handler);
	trap_set_handler(VEC_HIGH, ipi_handler);
	lapic_enable();
	lapic_write(LAPIC_TPR, 0);
	tpr_masking();
	if_and_shadow();
	in_service();
	return mb_finish();
}
