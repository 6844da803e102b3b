/*
 * mb_apicbase: IA32_APIC_BASE (MSR 0x1B).  Read: BSP, EN, base 0xFEE00000,
 * CPUID.1:EDX.APIC set.  Then some APIC state is set (SVR, TPR, LVT timer,
 * LDR, the timer count) and EN cleared: the MSR shows it, CPUID.1:EDX.APIC
 * follows.  Then EN is set again.
 *
 * model=cpu (the default), as on a CPU: the APIC comes back in its reset
 * state (SVR 0xFF, every LVT masked, TPR 0, LDR 0, DFR all ones, timer
 * count 0) with its ID kept, and CPUID.1:EDX.APIC set again.  While it is
 * disabled its MMIO page is not the APIC's, so nothing is read there.
 *
 * model=tcg, as QEMU 7.2's TCG does it: the MMIO page stays the APIC's with
 * only SVR's enable bit cleared (TPR kept), and EN cannot be set again: the
 * WRMSR is dropped without a fault and the APIC stays disabled.
 */

#include "mb.h"

#define BASE_BSP	(1u << 8)
#define BASE_EN		(1u << 11)
#define CPUID_APIC	(1u << 9)

static int
cpuid_apic(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	return (r[3] & CPUID_APIC) != 0;
}

static void
reset_state(uint32_t id)
{
	static const uint32_t lvts[] = { LAPIC_LVT_TIMER, LAPIC_LVT_LINT0, LAPIC_LVT_LINT1,
		LAPIC_LVT_ERR };
	int masked = 1;

	check_eq(lapic_read(LAPIC_SVR), 0xff, "re-enabled: SVR 0xFF (software-disabled)");
	for (unsigned i = 0; i < nitems(lvts); i++) {
		if ((lapic_read(lvts[i]) & LVT_MASKED) == 0)
			masked = 0;
	}
	check(masked, "re-enabled: LVT timer, LINT0, LINT1, error masked");
	check_eq(lapic_read(LAPIC_TPR), 0, "re-enabled: TPR 0");
	check_eq(lapic_read(LAPIC_LDR), 0, "re-enabled: LDR 0");
	check_eq(lapic_read(LAPIC_DFR), 0xffffffff, "re-enabled: DFR all ones");
	check_eq(lapic_read(LAPIC_TIMER_ICR), 0, "re-enabled: timer initial count 0");
	check_eq(lapic_read(LAPIC_ID), id, "re-enabled: ID kept");
}

int
kmain(void)
{
	char mode[16] = "cpu";
	uint64_t base, v;
	uint32_t id, err;
	int cpu;

	kprintf("mb_apicbase: IA32_APIC_BASE, disabling and re-enabling the APIC\n");
	mb_arg("model", mode, sizeof(mode));
	cpu = strcmp(mode, "tcg") != 0;
	check(strcmp(mode, "cpu") == 0 || !cpu, "model=%s is cpu or tcg", mode);

	base = rdmsr(MSR_APIC_BASE);
	check_eq((uint32_t)base & 0xfffff000, LAPIC_BASE, "APIC base 0xFEE00000");
	check((base & BASE_BSP) != 0, "BSP bit set");
	check((base & BASE_EN) != 0, "EN set");
	check(cpuid_apic(), "CPUID.1:EDX.APIC set while enabled");

	lapic_enable();
	lapic_write(LAPIC_TPR, 0x20);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | 0x40);
	lapic_write(LAPIC_LVT_TIMER, 0x40);
	lapic_write(LAPIC_LDR, 0x01000000);
	lapic_write(LAPIC_TIMER_ICR, 0x40000000);
	id = lapic_read(LAPIC_ID);
	check_eq(lapic_read(LAPIC_TPR), 0x20, "TPR set to 0x20 before disabling");

	check(wrmsr_safe(MSR_APIC_BASE, base & ~(uint64_t)BASE_EN, &err) < 0,
	    "wrmsr APIC_BASE without EN: no fault");
	v = rdmsr(MSR_APIC_BASE);
	check((v & BASE_EN) == 0, "APIC_BASE.EN reads clear");
	check((v & BASE_BSP) != 0 && ((uint32_t)v & 0xfffff000) == LAPIC_BASE,
	    "APIC_BASE keeps BSP and the base");
	check(!cpuid_apic(), "CPUID.1:EDX.APIC clear while disabled");
	if (!cpu) {
		check_eq(lapic_read(LAPIC_SVR), 0xff, "tcg: disabled, SVR's enable bit clear");
		check_eq(lapic_read(LAPIC_TPR), 0x20, "tcg: disabled, TPR kept");
	}

	check(wrmsr_safe(MSR_APIC_BASE, base, &err) < 0, "wrmsr APIC_BASE with EN: no fault");
	v = rdmsr(MSR_APIC_BASE);
	if (cpu) {
		check((v & BASE_EN) != 0, "APIC_BASE.EN set again");
		check(cpuid_apic(), "CPUID.1:EDX.APIC set again");
		reset_state(id);
		lapic_enable();
		check_eq(lapic_read(LAPIC_SVR), 0x1ff, "software-enabled again through SVR");
	} else {
		check((v & BASE_EN) == 0, "tcg: EN stays clear (QEMU 7.2 cannot re-enable)");
		check(!cpuid_apic(), "tcg: CPUID.1:EDX.APIC stays clear");
	}
	return mb_finish();
}
