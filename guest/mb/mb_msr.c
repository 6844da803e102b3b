/*
 * mb_msr: RDMSR/WRMSR and the #GP handler.  Known MSRs are read without a
 * fault: TSC (advancing, between two RDTSCs), IA32_APIC_BASE (BSP, enabled,
 * base 0xFEE00000), EFER (LME/LMA clear in this 32-bit kernel).  A write
 * that no PC accepts, IA32_PKRS (0x6E1) with its reserved upper half set,
 * must raise #GP(0), caught by the kernel's handler with EDX:EAX kept.
 *
 * MSRs that do not exist (0x12345678, 0xC0010999, 0x40000099): a CPU raises
 * #GP(0) (model=cpu, the default), but QEMU 7.2's TCG reads them as 0 and
 * drops writes (model=tcg); it also has no RDMSR of the TSC (reads 0), so
 * model=tcg does not compare that one with RDTSC.
 */

#include "mb.h"

#define MSR_PKRS	0x6e1
#define EFER_LME	(1u << 8)
#define EFER_LMA	(1u << 10)
#define CANARY		0x0123456789abcdefull

static void
known(int cpu)
{
	uint64_t v = 0, t0, t1;
	uint32_t err;
	int vec;

	t0 = rdtsc();
	vec = rdmsr_safe(MSR_TSC, &v, &err);
	t1 = rdtsc();
	check(vec < 0, "rdmsr TSC (0x10): no fault");
	if (cpu)
		check(v >= t0 && v <= t1, "rdmsr TSC lies between two rdtsc");

	vec = rdmsr_safe(MSR_APIC_BASE, &v, &err);
	check(vec < 0, "rdmsr IA32_APIC_BASE (0x1b): no fault");
	check_eq((uint32_t)v & 0xfffff000, LAPIC_BASE, "APIC base 0xFEE00000");
	check(v & (1u << 8), "APIC_BASE.BSP set on the boot CPU");
	check(v & (1u << 11), "APIC_BASE.EN set");
	check_eq((uint32_t)(v >> 32), 0, "APIC_BASE upper half 0");

	vec = rdmsr_safe(MSR_EFER, &v, &err);
	check(vec < 0, "rdmsr EFER: no fault");
	check(((uint32_t)v & (EFER_LME | EFER_LMA)) == 0, "EFER.LME and LMA clear");
}

static void
reserved_write(void)
{
	uint32_t err = ~0u;
	int vec = wrmsr_safe(MSR_PKRS, 0x100000000ull, &err);

	check(vec == VEC_GP && err == 0, "wrmsr IA32_PKRS with bit 32 set: #GP(0) caught");
}

static void
unknown(uint32_t msr, int want_gp)
{
	uint64_t v = CANARY;
	uint32_t err = ~0u;
	int vec = rdmsr_safe(msr, &v, &err);

	if (want_gp) {
		check(vec == VEC_GP && err == 0, "rdmsr 0x%x: #GP(0)", msr);
		check(v == CANARY, "rdmsr 0x%x: EDX:EAX unchanged by the fault", msr);
		err = ~0u;
		vec = wrmsr_safe(msr, 0x1234, &err);
		check(vec == VEC_GP && err == 0, "wrmsr 0x%x: #GP(0)", msr);
	} else {
		check(vec < 0 && v == 0, "rdmsr 0x%x: reads 0, no fault", msr);
		vec = wrmsr_safe(msr, 0x1234, &err);
		check(vec < 0, "wrmsr 0x%x: no fault", msr);
		v = CANARY;
		vec = rdmsr_safe(msr, &v, &err);
		check(vec < 0 && v == 0, "rdmsr 0x%x: the write was dropped", msr);
	}
}

int
kmain(void)
{
	char mode[16] = "cpu";
	int cpu;

	kprintf("mb_msr: RDMSR/WRMSR, known and unknown MSRs, #GP\n");
	mb_arg("model", mode, sizeof(mode));
	cpu = strcmp(mode, "tcg") != 0;
	check(strcmp(mode, "cpu") == 0 || !cpu, "model=%s is cpu or tcg", mode);
	known(cpu);
	reserved_write();
	unknown(0x12345678, cpu);
	unknown(0xc0010999, cpu);
	unknown(0x40000099, cpu);
	return mb_finish();
}
