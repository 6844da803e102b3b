/*
 * Suite "vmm": CPUID as a guest sees it (kern/vmm/vmm_cpuid.c) tells it
 * only what the VM has. The host's own bits are noted, so the log shows
 * which of the checks had something to hide on this CPU.
 */
#include "ktest.h"
#include "../kern/vmm/vmm.h"
#include "../kern/panic.h"
#include "../kern/fpu.h"
#include "../kern/x86.h"

KTEST(vmm, cpuid_hides_what_the_vm_lacks)
{
	u32 h[4], g[4];

	if (vmm_ops == NULL) {
		ktest_skip("no virtualization backend on this CPU");
		return;
	}
	struct vm *vm = vm_create("cpuid", 1UL << 20, 1);
	VERIFY(vm != NULL, "vm_create");
	struct vcpu *v = vm->vm_vcpu[0];

	cpuid(1, 0, &h[0], &h[1], &h[2], &h[3]);
	vm_cpuid(v, 1, 0, g);
	ktest_note("host leaf 1: ecx 0x%x edx 0x%x; guest: ecx 0x%x edx 0x%x",
	    h[2], h[3], g[2], g[3]);
	/* MONITOR, VMX, PDCM, x2APIC, TSC-deadline */
	KT_EXPECT((g[2] & 0x01208028U) == 0, "leaf 1 ecx 0x%x", g[2]);
	/* The APIC bit is the vCPU's APIC (IA32_APIC_BASE.EN), the ID its. */
	KT_EXPECT((g[3] & (1U << 9)) != 0, "leaf 1 edx 0x%x: no APIC", g[3]);
	KT_EXPECT((g[1] >> 24) == 0, "leaf 1 ebx 0x%x: APIC ID not 0", g[1]);
	u64 base;
	KT_ASSERT(vm_msr_read(v, 0x1b, &base), "no IA32_APIC_BASE");
	KT_EXPECT(base == 0xfee00900UL, "IA32_APIC_BASE 0x%lx", base);
	KT_EXPECT(vm_msr_write(v, 0x1b, base & ~0x800UL), "APIC disable");
	vm_cpuid(v, 1, 0, g);
	KT_EXPECT((g[3] & (1U << 9)) == 0, "leaf 1 edx 0x%x: APIC while "
	    "disabled", g[3]);
	KT_EXPECT(!vm_msr_write(v, 0x1b, base | 0x400UL), "x2APIC (EXTD) "
	    "accepted");
	KT_EXPECT((g[2] & (1U << 31)) != 0, "no hypervisor bit");
	KT_EXPECT((g[2] & (1U << 27)) == 0, "OSXSAVE with the guest's CR4 "
	    "clear");
	vm_setreg(v, VM_REG_CR4, vm_getreg(v, VM_REG_CR4) | CR4_OSXSAVE);
	vm_cpuid(v, 1, 0, g);
	KT_EXPECT((g[2] & (1U << 27)) != 0 || (h[2] & (1U << 26)) == 0,
	    "no OSXSAVE with the guest's CR4.OSXSAVE set");

	vm_cpuid(v, 0xd, 0, g);
	u64 comp = g[0] | ((u64)g[3] << 32);
	ktest_note("leaf 0xd.0: guest components 0x%lx, host saves 0x%lx",
	    comp, fpu_xcr0);
	KT_EXPECT((comp & ~fpu_xcr0) == 0, "leaf 0xd offers 0x%lx beyond "
	    "what the host saves (0x%lx)", comp, fpu_xcr0);
	vm_cpuid(v, 0xd, 9, g);		/* PKRU: never the host's */
	KT_EXPECT(g[0] == 0 && g[1] == 0, "leaf 0xd.9 (PKRU) not empty");

	cpuid(7, 0, &h[0], &h[1], &h[2], &h[3]);
	vm_cpuid(v, 7, 0, g);
	ktest_note("host leaf 7: ebx 0x%x ecx 0x%x", h[1], h[2]);
	KT_EXPECT((g[1] & ((1U << 10) | (1U << 14))) == 0, "leaf 7 ebx 0x%x: "
	    "INVPCID or MPX", g[1]);
	KT_EXPECT((g[2] & 0x18) == 0, "leaf 7 ecx 0x%x: PKU/OSPKE", g[2]);

	vm_cpuid(v, 0x80000001, 0, g);
	KT_EXPECT((g[2] & ((1U << 2) | (1U << 12))) == 0 &&
	    (g[3] & (1U << 27)) == 0, "leaf 0x80000001 ecx 0x%x edx 0x%x: "
	    "SVM, SKINIT or RDTSCP", g[2], g[3]);
	vm_destroy(vm);
}

/*
 * The host's leaves come from the table vmm_cpuid_init filled (no host
 * CPUID per guest CPUID, which nested would pay as an exit), and give
 * what the CPU gives; the leaves it must not keep still ask the CPU.
 */
KTEST(vmm, cpuid_host_leaves_cached)
{
	u32 h[4], g[4];

	if (vmm_ops == NULL) {
		ktest_skip("no virtualization backend on this CPU");
		return;
	}
	struct vm *vm = vm_create("cpuidc", 1UL << 20, 1);
	VERIFY(vm != NULL, "vm_create");
	struct vcpu *v = vm->vm_vcpu[0];
	static const u32 kept[][2] = {
		{ 0, 0 }, { 1, 0 }, { 7, 0 }, { 0x80000000, 0 },
		{ 0x80000001, 0 }, { 0x80000008, 0 },
	};
	u32 maxb, maxe, x;
	cpuid(0, 0, &maxb, &x, &x, &x);
	cpuid(0x80000000, 0, &maxe, &x, &x, &x);
	for (size_t i = 0; i < ARRAY_SIZE(kept); i++) {
		u32 leaf = kept[i][0];
		if (leaf > (leaf >= 0x80000000 ? maxe : maxb))
			continue;	/* past the CPU's maximum: not kept */
		u64 asked = atomic_load(&vmm_cpuid_host_asked);
		vm_cpuid(v, leaf, kept[i][1], g);
		KT_EXPECT(atomic_load(&vmm_cpuid_host_asked) == asked,
		    "leaf 0x%x.%u: a host CPUID (the table should keep it)",
		    leaf, kept[i][1]);
	}

	/* What the table gives is what the CPU says (the vendor leaves and
	 * the ones vm_cpuid leaves alone). */
	cpuid(0, 0, &h[0], &h[1], &h[2], &h[3]);
	vm_cpuid(v, 0, 0, g);
	KT_EXPECT(memcmp(h, g, sizeof (h)) == 0, "leaf 0: 0x%x %x %x %x, the "
	    "CPU 0x%x %x %x %x", g[0], g[1], g[2], g[3], h[0], h[1], h[2],
	    h[3]);
	cpuid(0x80000000, 0, &h[0], &h[1], &h[2], &h[3]);
	vm_cpuid(v, 0x80000000, 0, g);
	KT_EXPECT(memcmp(h, g, sizeof (h)) == 0, "leaf 0x80000000 differs");

	/* Subleaf 1 of leaf 7 and leaf 0xd (EBX follows the live XCR0) are
	 * the CPU's own answers. */
	u64 asked = atomic_load(&vmm_cpuid_host_asked);
	vm_cpuid(v, 7, 1, g);
	vm_cpuid(v, 0xd, 0, g);
	u64 more = atomic_load(&vmm_cpuid_host_asked) - asked;
	KT_EXPECT(more == 2, "%lu host CPUIDs for leaves 7.1 and 0xd.0, not 2",
	    more);
	vm_destroy(vm);
}
