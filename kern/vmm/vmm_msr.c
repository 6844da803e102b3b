/*
 * The MSRs a guest has, as one table (bhyve's vmm_msr.c, KVM's lists):
 * every RDMSR and WRMSR exits (both backends' MSR bitmaps are all ones),
 * and vm_run looks the MSR up here. An MSR not in the table does not
 * exist for the guest: #GP(0), as on a CPU without it, so a guest that
 * probes MSRs with a #GP handler goes on.
 */
#include "vmm.h"
#include "vmm_dev.h"
#include "../x86.h"

#include "../tunable.h"

KTUNABLE_TEST(vmm_inject_msr_passthrough, "the backend's MSR bitmap lets "
    "the guest read TSC_AUX, which holds host state, without an exit (and "
    "SVM stops switching it); the fuzzer's isolation check must catch it");

#define	MSR_TSC		0x010
#define	MSR_PAT		0x277

/* What a guest sees of each MSR it has. */
enum msr_kind {
	MSR_REG,	/* a guest register the backend switches (vm_reg) */
	MSR_VCPU_U64,	/* a per-vCPU value, nothing else sees it */
	MSR_HOST_TSC,	/* reads the host's TSC (RDTSC is not intercepted
			   either); writes ignored */
	MSR_LAPIC_BASE,	/* IA32_APIC_BASE: the vCPU's local APIC (a write
			   may disable or reset it; EXTD is #GP) */
};

struct vmm_msr {
	u32 msr;
	const char *name;
	enum msr_kind kind;
	enum vm_reg reg;	/* MSR_REG */
	bool writable;		/* else a write raises #GP(0) */
	u64 reserved;		/* bits a write must leave clear (#GP) */
};

static const struct vmm_msr vmm_msrs[] = {
	{ MSR_TSC,	"TSC",		MSR_HOST_TSC,	0, true, 0 },
	{ MSR_APIC_BASE, "APIC_BASE",	MSR_LAPIC_BASE,	0, true, 0 },
	{ MSR_PAT,	"PAT",		MSR_VCPU_U64,	0, true, 0 },
	/* SCE, LME, LMA (read-only, the CPU's), NXE; no SVME: the guest
	 * has no SVM (CPUID says so too). */
	{ MSR_EFER,	"EFER",		MSR_REG,	VM_REG_EFER, true,
	    ~0xd01UL },
	{ MSR_SCRATCH,	"bhyvelet scratch", MSR_VCPU_U64, 0, true, 0 },
	/* RDTSCP's ECX: the guest's, kept here (never the host CPU's). */
	{ MSR_TSC_AUX,	"TSC_AUX",	MSR_VCPU_U64,	0, true,
	    ~0xffffffffUL },
	/* SYSCALL and SWAPGS: switched by VMLOAD/VMSAVE (SVM) or by
	 * vmx_vmrun (VMX); the guest's own. */
	{ MSR_STAR,	"STAR",		MSR_REG,	VM_REG_STAR, true, 0 },
	{ MSR_LSTAR,	"LSTAR",	MSR_REG,	VM_REG_LSTAR, true, 0 },
	{ MSR_CSTAR,	"CSTAR",	MSR_REG,	VM_REG_CSTAR, true, 0 },
	{ MSR_SFMASK,	"SFMASK",	MSR_REG,	VM_REG_SFMASK, true,
	    ~0xffffffffUL },
	{ MSR_KGS_BASE,	"KERNEL_GS_BASE", MSR_REG, VM_REG_KGS_BASE, true, 0 },
	/* The hidden bases of FS and GS (the segment registers' own). */
	{ MSR_FS_BASE,	"FS_BASE",	MSR_REG,	VM_REG_FS_BASE, true, 0 },
	{ MSR_GS_BASE,	"GS_BASE",	MSR_REG,	VM_REG_GS_BASE, true, 0 },
};

static const struct vmm_msr *
msr_find(u32 msr)
{
	for (size_t i = 0; i < ARRAY_SIZE(vmm_msrs); i++) {
		if (vmm_msrs[i].msr == msr)
			return (&vmm_msrs[i]);
	}
	return (NULL);
}

/* The per-vCPU copy of an MSR_VCPU_U64 MSR. */
static u64 *
msr_slot(struct vcpu *vcpu, u32 msr)
{
	if (msr == MSR_PAT)
		return (&vcpu->vc_msr_pat);
	if (msr == MSR_TSC_AUX)
		return (&vcpu->vc_tsc_aux);
	return (&vcpu->vc_scratch_msr);
}

/* false: the MSR does not exist (the caller raises #GP(0)). */
bool
vm_msr_read(struct vcpu *vcpu, u32 msr, u64 *val)
{
	const struct vmm_msr *m = msr_find(msr);

	if (m == NULL)
		return (false);
	switch (m->kind) {
	case MSR_REG:		*val = vm_getreg(vcpu, m->reg); break;
	case MSR_VCPU_U64:	*val = *msr_slot(vcpu, msr); break;
	case MSR_HOST_TSC:	*val = rdtsc(); break;
	case MSR_LAPIC_BASE:	*val = vm_lapic_apicbase_read(vcpu); break;
	}
	return (true);
}

/* false: no such MSR, or not writable (the caller raises #GP(0)). */
bool
vm_msr_write(struct vcpu *vcpu, u32 msr, u64 val)
{
	const struct vmm_msr *m = msr_find(msr);

	if (m == NULL || !m->writable || (val & m->reserved) != 0)
		return (false);
	/* An address MSR takes canonical values only (vmx_vmrun loads it
	 * into the CPU's own). */
	if ((msr == MSR_LSTAR || msr == MSR_CSTAR || msr == MSR_KGS_BASE ||
	    msr == MSR_FS_BASE || msr == MSR_GS_BASE) &&
	    (u64)((i64)(val << 16) >> 16) != val)
		return (false);
	switch (m->kind) {
	case MSR_REG:		vm_setreg(vcpu, m->reg, val); break;
	case MSR_VCPU_U64:	*msr_slot(vcpu, msr) = val; break;
	case MSR_HOST_TSC:	break;
	case MSR_LAPIC_BASE:	return (vm_lapic_apicbase_write(vcpu, val));
	}
	return (true);
}
