/*
 * What CPUID tells a guest: the host's answer, less what the VM does not
 * have. A guest believes CPUID; a feature it sees it will use, so every
 * bit left on here must work in the guest (or raise what hardware would).
 */
#include "vmm.h"
#include "io/vlapic.h"
#include "../fpu.h"
#include "../x86.h"

#define	BIT(n)	(1U << (n))

/* Leaf 1. */
#define	C1_MONITOR	BIT(3)		/* intercepted: #UD */
#define	C1_VMX		BIT(5)		/* no nested virtualization */
#define	C1_PDCM		BIT(15)		/* no PERF_CAPABILITIES MSR */
#define	C1_X2APIC	BIT(21)		/* no APIC at all */
#define	C1_TSC_DEADLINE	BIT(24)
#define	C1_OSXSAVE	BIT(27)		/* the guest's CR4, not ours */
#define	C1_HYPERVISOR	BIT(31)
#define	D1_APIC		BIT(9)
/* Leaf 7.0. */
#define	B7_INVPCID	BIT(10)		/* VMX: not enabled in the guest */
#define	B7_MPX		BIT(14)		/* its XCR0 state is not switched */
#define	C7_PKU		BIT(3)		/* PKRU is not switched */
#define	C7_OSPKE	BIT(4)
/* Leaf 0xd.1. */
#define	A_D1_XSAVES	BIT(3)		/* VMX: not enabled; no IA32_XSS */
/* Leaf 0x80000001. */
#define	C81_SVM		BIT(2)
#define	C81_SKINIT	BIT(12)
#define	D81_RDTSCP	BIT(27)		/* VMX: not enabled in the guest */

/*
 * The host's answers, read once by vmm_cpuid_init (the boot CPU, before
 * any VM) and only read after: under nested virtualization every host
 * CPUID is itself an exit to the level below, which would double the
 * cost of the guest's. Kept are the leaves whose answer ignores the
 * subleaf and is the same on every CPU at any time; the others (cache
 * and topology enumeration with subleaves or per-CPU APIC IDs, leaf 0xd
 * whose EBX follows the live XCR0, leaves past the host's maximum) still
 * ask the CPU the exit runs on.
 */
#define	CPUID_NCACHE	32
u64 vmm_cpuid_host_asked;		/* host CPUIDs vm_cpuid still made */
static u32 host_basic[CPUID_NCACHE][4];	/* leaf i, subleaf 0 */
static u32 host_ext[CPUID_NCACHE][4];	/* leaf 0x80000000 + i */
static u32 host_basic_ok, host_ext_ok;	/* bit i: entry i filled */

/* Basic leaves that enumerate by subleaf, or differ by CPU or XCR0. 7 is
 * kept for subleaf 0 only (vm_cpuid checks it). */
#define	BASIC_UNCACHED	(BIT(4) | BIT(0xb) | BIT(0xd) | BIT(0xf) |	\
	BIT(0x10) | BIT(0x12) | BIT(0x14) | BIT(0x17) | BIT(0x18) |	\
	BIT(0x1a) | BIT(0x1b) | BIT(0x1d) | BIT(0x1e) | BIT(0x1f))
/* 0x8000001d: cache levels by subleaf; 0x8000001e: this CPU's APIC ID.
 * (0x80000020 on, some by subleaf, are past the table.) */
#define	EXT_UNCACHED	(BIT(0x1d) | BIT(0x1e))

static void
host_cache_init(void)
{
	u32 r[4];

	cpuid(0, 0, &r[0], &r[1], &r[2], &r[3]);
	for (u32 i = 0; i < CPUID_NCACHE && i <= r[0]; i++) {
		if ((BASIC_UNCACHED & BIT(i)) != 0)
			continue;
		u32 *e = host_basic[i];
		cpuid(i, 0, &e[0], &e[1], &e[2], &e[3]);
		host_basic_ok |= BIT(i);
	}
	cpuid(0x80000000, 0, &r[0], &r[1], &r[2], &r[3]);
	if (r[0] < 0x80000000)
		return;
	for (u32 i = 0; i < CPUID_NCACHE && i <= r[0] - 0x80000000; i++) {
		if ((EXT_UNCACHED & BIT(i)) != 0)
			continue;
		u32 *e = host_ext[i];
		cpuid(0x80000000 + i, 0, &e[0], &e[1], &e[2], &e[3]);
		host_ext_ok |= BIT(i);
	}
}

/* The host's answer: from the table where vmm_cpuid_init kept it. */
static void
host_cpuid(u32 leaf, u32 sub, u32 r[4])
{
	const u32 *e = NULL;

	if (leaf < CPUID_NCACHE) {
		if ((host_basic_ok & BIT(leaf)) != 0 && (leaf != 7 || sub == 0))
			e = host_basic[leaf];
	} else if (leaf - 0x80000000 < CPUID_NCACHE) {
		if ((host_ext_ok & BIT(leaf - 0x80000000)) != 0)
			e = host_ext[leaf - 0x80000000];
	}
	if (e == NULL) {
		atomic_inc_64(&vmm_cpuid_host_asked);
		cpuid(leaf, sub, &r[0], &r[1], &r[2], &r[3]);
		return;
	}
	r[0] = e[0];
	r[1] = e[1];
	r[2] = e[2];
	r[3] = e[3];
}

/* The guest's answer, computed: the host's less what the VM lacks. vcpu
 * is NULL for the leaves guest_fixed keeps (vmm_cpuid_init), which must
 * not look at it. */
static void
guest_cpuid(struct vcpu *vcpu, u32 leaf, u32 sub, u32 r[4])
{
	u32 *a = &r[0], *b = &r[1], *c = &r[2], *d = &r[3];

	if (leaf == 0x40000000) {
		*a = 0x40000001;
		memcpy(b, "bhyv", 4);
		memcpy(c, "elet", 4);
		memcpy(d, "vmm!", 4);
		return;
	}
	if (leaf == 0x40000001) {
		*a = *b = *c = *d = 0;
		return;
	}
	host_cpuid(leaf, sub, r);
	switch (leaf) {
	case 1:
		*c &= ~(C1_MONITOR | C1_VMX | C1_PDCM | C1_X2APIC |
		    C1_TSC_DEADLINE | C1_OSXSAVE);
		*c |= C1_HYPERVISOR;
		if (vm_getreg(vcpu, VM_REG_CR4) & CR4_OSXSAVE)
			*c |= C1_OSXSAVE;
		/* The vCPU's APIC: its ID, and there while enabled. */
		*b = (*b & 0x00ffffff) | ((u32)vcpu->vc_id << 24);
		*b = (*b & 0xff00ffff) | ((u32)vcpu->vc_vm->vm_nvcpus << 16);
		*d &= ~D1_APIC;
		if (vcpu->vc_vlapic != NULL &&
		    vlapic_hw_enabled(vcpu->vc_vlapic))
			*d |= D1_APIC;
		break;
	case 7:
		if (sub == 0) {
			*b &= ~(B7_INVPCID | B7_MPX);
			*c &= ~(C7_PKU | C7_OSPKE);
		}
		break;
	case 0xd:
		/* Only the state components the host saves and restores
		 * for the guest (vc_guest_fpu under fpu_xcr0). */
		if (sub == 0) {
			*a &= (u32)fpu_xcr0;
			*d &= (u32)(fpu_xcr0 >> 32);
		} else if (sub == 1) {
			*a &= ~A_D1_XSAVES;
			*c = *d = 0;		/* no supervisor states */
		} else if (sub >= 64 || (fpu_xcr0 & (1UL << sub)) == 0) {
			*a = *b = *c = *d = 0;
		}
		break;
	case 0xa:			/* no performance counters */
		*a = *b = *c = *d = 0;
		break;
	case 0x80000001:
		*c &= ~(C81_SVM | C81_SKINIT);
		*d &= ~D81_RDTSCP;
		break;
	default:
		break;
	}
}

/*
 * The guests' answers to the leaves that depend on nothing of the vCPU or
 * the subleaf, computed once by vmm_cpuid_init from the host's: basic
 * leaves 0-31 at index 0-31, 0x80000000-0x8000001f at 32-63,
 * 0x40000000-0x40000001 at 64-65 (FIXED_N: past the table). Not kept:
 * leaf 1 (the vCPU's APIC ID and state, its CR4.OSXSAVE), 7 (by
 * subleaf), and what host_cpuid does not keep.
 */
#define	FIXED_N		66
#define	FIXED_NOT_KEPT	(BIT(1) | BIT(7) | BASIC_UNCACHED)
static u32 guest_fixed[FIXED_N][4];
static bool guest_fixed_ok[FIXED_N];	/* guest_fixed[i] filled */

static inline u32
fixed_index(u32 leaf)
{
	if (leaf < CPUID_NCACHE)
		return (leaf);
	if (leaf - 0x80000000 < CPUID_NCACHE)
		return (leaf - 0x80000000 + CPUID_NCACHE);
	if (leaf - 0x40000000 < 2)
		return (leaf - 0x40000000 + 2 * CPUID_NCACHE);
	return (FIXED_N);
}

static void
guest_fixed_init(void)
{
	for (u32 i = 0; i < CPUID_NCACHE; i++) {
		if ((host_basic_ok & BIT(i)) != 0 &&
		    (FIXED_NOT_KEPT & BIT(i)) == 0) {
			guest_cpuid(NULL, i, 0, guest_fixed[i]);
			guest_fixed_ok[i] = true;
		}
		if ((host_ext_ok & BIT(i)) != 0) {
			guest_cpuid(NULL, 0x80000000 + i, 0,
			    guest_fixed[CPUID_NCACHE + i]);
			guest_fixed_ok[CPUID_NCACHE + i] = true;
		}
	}
	for (u32 i = 0; i < 2; i++) {
		guest_cpuid(NULL, 0x40000000 + i, 0,
		    guest_fixed[2 * CPUID_NCACHE + i]);
		guest_fixed_ok[2 * CPUID_NCACHE + i] = true;
	}
}

void
vmm_cpuid_init(void)
{
	host_cache_init();
	guest_fixed_init();
}

/*
 * A CPUID exit: the answer from guest_fixed when the leaf has one there
 * (an index and a flag), computed otherwise. Most guests' CPUIDs are
 * of such leaves (0, the vendor and brand strings, 0x80000000 on).
 */
void
vm_cpuid(struct vcpu *vcpu, u32 leaf, u32 sub, u32 r[4])
{
	u32 i = fixed_index(leaf);

	if (i < FIXED_N && guest_fixed_ok[i]) {
		const u32 *e = guest_fixed[i];
		r[0] = e[0];
		r[1] = e[1];
		r[2] = e[2];
		r[3] = e[3];
		return;
	}
	guest_cpuid(vcpu, leaf, sub, r);
}

/* Has the host RDTSCP, and so TSC_AUX (which a guest must not see)? */
bool
vmm_host_has_tsc_aux(void)
{
	u32 r[4];

	host_cpuid(0x80000000, 0, r);
	if (r[0] < 0x80000001)
		return (false);
	host_cpuid(0x80000001, 0, r);
	return ((r[3] & D81_RDTSCP) != 0);
}

/* CR4 bits this CPU has, the rest reserved: VMXE and SMXE too, the
 * host's (no guest sees VMX or SMX in CPUID). */
u64
vm_cr4_valid_bits(void)
{
	static const struct { u32 leaf; int reg; u32 bit; u64 cr4; } has[] = {
		{ 1, 2, BIT(17), 1UL << 17 },	/* PCID: PCIDE */
		{ 1, 2, BIT(26), 1UL << 18 },	/* XSAVE: OSXSAVE */
		{ 7, 1, BIT(0), 1UL << 16 },	/* FSGSBASE */
		{ 7, 1, BIT(7), 1UL << 20 },	/* SMEP */
		{ 7, 1, BIT(20), 1UL << 21 },	/* SMAP */
		{ 7, 2, BIT(2), 1UL << 11 },	/* UMIP */
		{ 7, 2, BIT(3), 1UL << 22 },	/* PKU: PKE */
		{ 7, 2, BIT(16), 1UL << 12 },	/* LA57 */
	};
	u32 r[4], max;
	u64 v = 0x7ff;				/* VME .. OSXMMEXCPT */

	host_cpuid(0, 0, r);
	max = r[0];
	for (size_t i = 0; i < ARRAY_SIZE(has); i++) {
		if (has[i].leaf > max)
			continue;
		host_cpuid(has[i].leaf, 0, r);
		if ((r[has[i].reg] & has[i].bit) != 0)
			v |= has[i].cr4;
	}
	return (v);
}
