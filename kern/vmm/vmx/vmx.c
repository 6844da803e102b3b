/*
 * Intel VMX backend: capabilities, VMXON on every CPU, the VMCS of each
 * vCPU (EPT through the shared walker, VPID, unrestricted guest for
 * real-mode guests), VPIDs, the run op and the context hooks. VMCS field
 * access and setup are in vmcs.c, the VMX instructions in vmx_cpufunc.h,
 * exit decoding in vmx_exit.c, the world switch in vmx_run.asm.
 *
 * A VMCS is current on at most one CPU: vmx_savectx VMCLEARs it on the CPU
 * being left (so the next entry is a VMLAUNCH), vmx_restorectx VMPTRLDs it
 * on the CPU the thread comes back on.
 */
#include "vmx.h"
#include "vmx_cpufunc.h"
#include "../../cpu.h"
#include "../../x86.h"
#include "../../pmem.h"
#include "../../kmem.h"
#include "../../panic.h"
#include "../../console.h"
#include "../../trace.h"
#include "../../thread.h"
#include "../../sync.h"
#include "../../tunable.h"

static u32 vmcs_revision;
static struct vmx_ctls ctls;
static u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
static bool invvpid_single_ok;	/* else all-context INVVPID */
static bool ept_2m_ok;		/* [probe] EPT PDEs may be leaves */
static const u32 switched_msr[VMX_NSWITCHED] = { MSR_STAR, MSR_LSTAR,
    MSR_CSTAR, MSR_SFMASK, MSR_KGS_BASE };
bool vmx_has_nmi_window;
u32 vmx_preempt_shift;		/* the timer ticks at TSC >> this */

/*
 * VPIDs 1..VPID_MAX (0 is the host's), recycled: vpid_inuse has a bit per
 * live vCPU's VPID, vpid_used one per VPID ever handed out (a reuse).
 * Allocation is next-fit from vpid_cursor, so a freed VPID is the last to
 * come back. All three under vpid_lock.
 */
#define	VPID_MAX	0xffff
#define	VPID_FEW	VMX_FEW_VPIDS
static spinlock_t vpid_lock = SPINLOCK_INIT("vpid");
static u64 vpid_inuse[(VPID_MAX + 1) / 64];
static u64 vpid_used[(VPID_MAX + 1) / 64];
static u32 vpid_cursor;		/* the last VPID handed out */
struct vmx_vpid_stats vmx_vpid_stats;

KTUNABLE_TEST(vmx_inject_few_vpids, "VMX hands out VPIDs 1..4 only, so "
    "tests reach reuse in a few vCPUs");
KTUNABLE_TEST(vmx_inject_invvpid_all, "VMX flushes VPIDs with all-context "
    "INVVPID, as on a CPU without single-context INVVPID");

int vmx_run(struct vmx_gregs *, int launched, const struct vmx_host_dt *);

/* Drop this CPU's translations tagged with vpid (all-context: with any
 * VPID but 0, when the CPU has no single-context INVVPID). */
static void
flush_vpid(u16 vpid)
{
	if (invvpid_single_ok && !vmx_inject_invvpid_all) {
		invvpid(INVVPID_SINGLE, vpid);
		atomic_inc_64(&vmx_vpid_stats.vs_invvpid_single);
	} else {
		invvpid(INVVPID_ALL, 0);
		atomic_inc_64(&vmx_vpid_stats.vs_invvpid_all);
	}
}

/*
 * A free VPID, or panic when every one is taken. A reused VPID may still
 * tag translations of its last vCPU on any CPU that vCPU ran on; the new
 * vCPU starts with vx_lastcpu -1, so vmx_load flushes it on each CPU it
 * enters before any VM entry there (the same INVVPID as a migration).
 */
static u16
vpid_alloc(void)
{
	u32 max = vmx_inject_few_vpids ? VPID_FEW : VPID_MAX;
	u32 v = 0;

	spin_lock(&vpid_lock);
	for (u32 i = 0; i < max; i++) {
		u32 c = vpid_cursor % max + 1;	/* 1..max, after the cursor */
		vpid_cursor = c;
		if ((vpid_inuse[c / 64] & (1UL << (c % 64))) == 0) {
			v = c;
			break;
		}
	}
	VERIFY(v != 0, "vmx: out of VPIDs (all %u in use)", max);
	vpid_inuse[v / 64] |= 1UL << (v % 64);
	vmx_vpid_stats.vs_allocs++;
	if ((vpid_used[v / 64] & (1UL << (v % 64))) != 0)
		vmx_vpid_stats.vs_reuses++;
	vpid_used[v / 64] |= 1UL << (v % 64);
	spin_unlock(&vpid_lock);
	return ((u16)v);
}

static void
vpid_free(u16 v)
{
	spin_lock(&vpid_lock);
	VERIFY(v != 0 && (vpid_inuse[v / 64] & (1UL << (v % 64))) != 0,
	    "vmx: free of VPID %u, which is not in use", v);
	vpid_inuse[v / 64] &= ~(1UL << (v % 64));
	vmx_vpid_stats.vs_frees++;
	spin_unlock(&vpid_lock);
}

/* ---- capabilities ---------------------------------------------------- */

/* The controls we want, adjusted by what the CPU allows; false if a
 * wanted bit cannot be set. */
static bool
adjust(u32 want, u32 msr, u32 *out)
{
	u64 cap = rdmsr(msr);
	u32 v = (want | (u32)cap) & (u32)(cap >> 32);

	*out = v;
	return ((v & want) == want);
}

static bool
vmx_probe(char *why, size_t len)
{
	u32 a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	if ((c & (1U << 5)) == 0) {
		ksnprintf(why, len, "CPU has no VMX");
		return (false);
	}
	u64 fc = rdmsr(MSR_FEATURE_CONTROL);
	if ((fc & FEATURE_CONTROL_LOCK) != 0 &&
	    (fc & FEATURE_CONTROL_VMXON) == 0) {
		ksnprintf(why, len, "VMX disabled by firmware "
		    "(IA32_FEATURE_CONTROL locked without VMXON)");
		return (false);
	}
	u64 basic = rdmsr(MSR_VMX_BASIC);
	bool tr = (basic & VMX_BASIC_TRUE_CTLS) != 0;
	u32 proc2_allowed = (u32)(rdmsr(MSR_VMX_PROCBASED2) >> 32);
	u64 ept = rdmsr(MSR_VMX_EPT_VPID_CAP);
	u32 want2 = PROC2_ENABLE_EPT | PROC2_ENABLE_VPID |
	    PROC2_UNRESTRICTED_GUEST;

	if (!adjust(PIN_EXTINT_EXITING | PIN_NMI_EXITING,
	    tr ? MSR_VMX_TRUE_PINBASED : MSR_VMX_PINBASED, &ctls.pin) ||
	    /* CR8 exits: without them (and no TPR shadow) a guest's MOV
	     * to CR8 would write the host APIC's TPR. MOV DR exits: DR7
	     * is virtual (vm_handle_dr), so no guest breakpoint fires. */
	    !adjust(PROC_HLT_EXITING | PROC_RDPMC_EXITING | PROC_USE_IO_BITMAPS |
	    PROC_USE_MSR_BITMAPS | PROC_SECONDARY_CTLS | PROC_CR8_LOAD_EXITING |
	    PROC_CR8_STORE_EXITING | PROC_MOV_DR_EXITING,
	    tr ? MSR_VMX_TRUE_PROCBASED : MSR_VMX_PROCBASED, &ctls.proc) ||
	    !adjust(EXIT_HOST_LMA | EXIT_SAVE_EFER | EXIT_LOAD_EFER,
	    tr ? MSR_VMX_TRUE_EXIT : MSR_VMX_EXIT, &ctls.exit) ||
	    !adjust(ENTRY_LOAD_EFER, tr ? MSR_VMX_TRUE_ENTRY : MSR_VMX_ENTRY,
	    &ctls.entry)) {
		ksnprintf(why, len, "VMX lacks a control we need");
		return (false);
	}
	if ((proc2_allowed & want2) != want2 || (ept & EPT_CAP_4LEVEL) == 0 ||
	    (ept & EPT_CAP_WB) == 0 || (ept & EPT_CAP_INVEPT) == 0 ||
	    (ept & EPT_CAP_INVEPT_SINGLE) == 0 ||
	    (ept & VPID_CAP_INVVPID) == 0 ||
	    (ept & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL)) == 0) {
		ksnprintf(why, len, "VMX without EPT (4-level, WB, single-"
		    "context INVEPT), VPID (single- or all-context INVVPID) "
		    "or unrestricted guest");
		return (false);
	}
	invvpid_single_ok = (ept & VPID_CAP_INVVPID_SINGLE) != 0;
	ept_2m_ok = (ept & EPT_CAP_2M) != 0;
	/* Optional: without them an NMI waits for any exit after the
	 * guest's IRET instead of an exit at that IRET. */
	u32 pin_ok = (u32)(rdmsr(tr ? MSR_VMX_TRUE_PINBASED :
	    MSR_VMX_PINBASED) >> 32);
	u32 proc_ok = (u32)(rdmsr(tr ? MSR_VMX_TRUE_PROCBASED :
	    MSR_VMX_PROCBASED) >> 32);
	if ((proc_ok & PROC_INTR_WINDOW_EXITING) == 0) {
		ksnprintf(why, len, "VMX without interrupt-window exiting");
		return (false);
	}
	if ((pin_ok & PIN_VIRTUAL_NMIS) != 0 &&
	    (proc_ok & PROC_NMI_WINDOW_EXITING) != 0) {
		ctls.pin |= PIN_VIRTUAL_NMIS;
		vmx_has_nmi_window = true;
	}
	/*
	 * A guest that spins with IF clear and no exits must still see the
	 * host's stop (a time limit, ::kill): the host's kick IPI should
	 * exit it, but Bochs never takes an external interrupt while the
	 * guest's IF is clear (docs/platforms.md). The preemption timer
	 * exits such a guest at most every VMX_PREEMPT_NS whatever its
	 * IF; the budget is reloaded at every entry (no exit control saves
	 * it), so a guest that exits anyway never sees it.
	 */
	if ((pin_ok & PIN_PREEMPTION_TIMER) != 0) {
		ctls.pin |= PIN_PREEMPTION_TIMER;
		vmx_preempt_shift = (u32)rdmsr(MSR_VMX_MISC) & 0x1f;
	}
	ctls.proc2 = want2 | (u32)rdmsr(MSR_VMX_PROCBASED2);
	/* A guest's WBINVD would flush the host's caches: a no-op exit. */
	if ((proc2_allowed & PROC2_WBINVD_EXITING) != 0)
		ctls.proc2 |= PROC2_WBINVD_EXITING;
	return (true);
}

static void
vmx_init(void)
{
	u64 basic = rdmsr(MSR_VMX_BASIC);

	vmcs_revision = (u32)basic & 0x7fffffff;
	cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
	cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
	cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
	cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
	cmn_err(CE_NOTE, "vmx: revision 0x%x, true controls %d, pin 0x%x "
	    "proc 0x%x proc2 0x%x exit 0x%x entry 0x%x, INVVPID %s",
	    vmcs_revision, (basic & VMX_BASIC_TRUE_CTLS) != 0, ctls.pin,
	    ctls.proc, ctls.proc2, ctls.exit, ctls.entry,
	    invvpid_single_ok ? "single-context" : "all-context");
}

static void
vmx_cpu_init(void)
{
	cpu_t *cp = CPU;
	struct vmx_cpu *vxc = kmem_zalloc(sizeof (*vxc), KM_SLEEP);
	u64 fc = rdmsr(MSR_FEATURE_CONTROL);

	if ((fc & FEATURE_CONTROL_LOCK) == 0)
		wrmsr(MSR_FEATURE_CONTROL, fc | FEATURE_CONTROL_LOCK |
		    FEATURE_CONTROL_VMXON);
	/* The fixed bits (GRUB and QEMU leave CR0.NE clear: kmain set it). */
	set_cr0((get_cr0() | cr0_fixed0) & cr0_fixed1);
	set_cr4((get_cr4() | cr4_fixed0 | CR4_VMXE) & cr4_fixed1);
	__asm__ __volatile__("sgdt %0; sidt %1"
	    : "=m"(vxc->vxc_host_dt.hd_gdtr), "=m"(vxc->vxc_host_dt.hd_idtr));
	for (int i = 0; i < VMX_NSWITCHED; i++)
		vxc->vxc_host_msr[i] = rdmsr(switched_msr[i]);
	vxc->vxc_vmxon = page_alloc(KM_PANIC);
	*(u32 *)phys_to_virt(vxc->vxc_vmxon) = vmcs_revision;
	int rc = vmxon(vxc->vxc_vmxon);
	VERIFY(rc == 0, "vmx: VMXON failed on cpu%d (%s)", cp->cpu_id,
	    rc == 1 ? "VMfailInvalid" : "VMfailValid");
	cp->cpu_vmm = vxc;
}

/* ---- VMs and vCPUs ---------------------------------------------------- */

static int
vmx_vm_init(struct vm *vm)
{
	struct vmx_vm *vxm = kmem_zalloc(sizeof (*vxm), KM_SLEEP);

	vxm->vxm_iobitmaps = page_alloc_contig(2, PAGESIZE, KM_SLEEP);
	vxm->vxm_msrbitmap = page_alloc(KM_SLEEP);
	memset(phys_to_virt(vxm->vxm_iobitmaps), 0xff, 2 * PAGESIZE);
	memset(phys_to_virt(vxm->vxm_msrbitmap), 0xff, PAGESIZE);
	/* The planted bug: TSC_AUX (0xc0000103) read without an exit (the
	 * read bitmap of 0xc0000000.. starts at byte 1024). */
	if (unlikely(vmm_inject_msr_passthrough))
		((u8 *)phys_to_virt(vxm->vxm_msrbitmap))[1024 + 0x103 / 8] &=
		    (u8)~(1U << (0x103 % 8));
	vm->vm_backend = vxm;
	return (0);
}

static void
vmx_vm_cleanup(struct vm *vm)
{
	struct vmx_vm *vxm = vm->vm_backend;

	page_free_contig(vxm->vxm_iobitmaps, 2);
	page_free(vxm->vxm_msrbitmap);
	kmem_free(vxm, sizeof (*vxm));
	vm->vm_backend = NULL;
}

/* VMPTRLD here: the VMCS becomes current on this CPU (preemption off). */
static void
vmx_load(struct vcpu *vcpu)
{
	struct vmx_vcpu *vx = vcpu->vc_backend;
	int cpu = CPU->cpu_id;

	VERIFY(vx->vx_vmcs_cpu == -1, "vmx: VMPTRLD of %s on cpu%d while its "
	    "VMCS is current on cpu%d", vcpu->vc_name, cpu, vx->vx_vmcs_cpu);
	int rc = vmptrld(vx->vx_vmcs_pa);
	VERIFY(rc == 0, "vmx: VMPTRLD of %s failed: %s", vcpu->vc_name,
	    rc == 1 ? "VMfailInvalid" :
	    vmx_insn_error_name(vmcs_read(VMCS_INSTRUCTION_ERROR)));
	vx->vx_vmcs_cpu = cpu;
	TRACE(TR_VMCS_LOAD, vcpu, cpu);
	/* The syscall MSRs travel with the VMCS (the host uses neither
	 * SYSCALL nor SWAPGS: its code runs unharmed on the guest's). */
	struct vmx_cpu *vxc = CPU->cpu_vmm;
	for (int i = 0; i < VMX_NSWITCHED; i++)
		if (vx->vx_msr[i] != vxc->vxc_host_msr[i])
			wrmsr(switched_msr[i], vx->vx_msr[i]);
	/* The host state is per CPU and survives VMCLEAR: back on the CPU
	 * it was written for, it is still right. */
	if (vx->vx_lastcpu != cpu)
		vmcs_write_host_state();
	/*
	 * The EPT root page may have served a VM destroyed earlier, and
	 * translations are tagged by that address: drop them on each CPU
	 * before the VM's first use there.
	 */
	struct vmx_vm *vxm = vcpu->vc_vm->vm_backend;
	if ((vxm->vxm_ept_cpus & (1UL << cpu)) == 0) {
		invept(INVEPT_SINGLE, vcpu->vc_vm->vm_gpt.gpt_root |
		    EPTP_WB_4LEVEL);
		__atomic_or_fetch(&vxm->vxm_ept_cpus, 1UL << cpu,
		    __ATOMIC_SEQ_CST);
	}
	if (vx->vx_lastcpu != cpu) {
		/*
		 * Translations tagged with our VPID here may be stale: ours
		 * from before we left, or a previous owner's (vpid_alloc).
		 */
		flush_vpid(vx->vx_vpid);
		vmm_stat_incr(vcpu, ASID_NEW);
		vx->vx_lastcpu = cpu;
	}
}

/* VMCLEAR: the VMCS goes back to memory; the next entry is a VMLAUNCH. */
static void
vmx_unload(struct vcpu *vcpu)
{
	struct vmx_vcpu *vx = vcpu->vc_backend;

	if (vx->vx_vmcs_cpu < 0)
		return;
	VERIFY(vx->vx_vmcs_cpu == CPU->cpu_id, "vmx: VMCLEAR of %s on cpu%d "
	    "but its VMCS is current on cpu%d", vcpu->vc_name, CPU->cpu_id,
	    vx->vx_vmcs_cpu);
	struct vmx_cpu *vxc = CPU->cpu_vmm;
	for (int i = 0; i < VMX_NSWITCHED; i++) {
		vx->vx_msr[i] = rdmsr(switched_msr[i]);
		if (vx->vx_msr[i] != vxc->vxc_host_msr[i])
			wrmsr(switched_msr[i], vxc->vxc_host_msr[i]);
	}
	int rc = vmclear(vx->vx_vmcs_pa);
	VERIFY(rc == 0, "vmx: VMCLEAR of %s failed (%d)", vcpu->vc_name, rc);
	TRACE(TR_VMCS_CLEAR, vcpu, CPU->cpu_id);
	vx->vx_vmcs_cpu = -1;
	vx->vx_launched = false;
}

static void
write_guest_reset(struct vcpu *vcpu)
{
	vmcs_write_guest_reset(vcpu, &ctls);
}

/*
 * VMCS access outside vm_run (vCPU setup, vm_getreg/vm_setreg between
 * runs): make it current here with preemption off, until vmcs_release.
 * Inside vm_run it is current already (the ctxop follows the thread) and
 * this does nothing.
 */
static bool
vmcs_hold(struct vcpu *vcpu)
{
	struct vmx_vcpu *vx = vcpu->vc_backend;

	kpreempt_disable();
	if (vx->vx_vmcs_cpu == CPU->cpu_id) {
		kpreempt_enable();
		return (false);
	}
	vmx_load(vcpu);
	return (true);
}

static void
vmcs_release(struct vcpu *vcpu, bool held)
{
	if (held) {
		vmx_unload(vcpu);
		kpreempt_enable();
	}
}

static u64 *gpr(struct vmx_vcpu *, enum vm_reg);

static int
vmx_vcpu_init(struct vcpu *vcpu)
{
	struct vmx_vcpu *vx = kmem_zalloc(sizeof (*vx), KM_SLEEP);

	vx->vx_vmcs_pa = page_alloc(KM_SLEEP);
	*(u32 *)phys_to_virt(vx->vx_vmcs_pa) = vmcs_revision;
	vx->vx_vpid = vpid_alloc();
	vx->vx_vmcs_cpu = -1;
	vx->vx_lastcpu = -1;
	vx->vx_proc = ctls.proc;
	vcpu->vc_backend = vx;
	for (int r = 0; r < VM_NGPR; r++)
		vcpu->vc_gpr[r] = gpr(vx, (enum vm_reg)r);
	VERIFY(vmclear(vx->vx_vmcs_pa) == 0, "vmx: VMCLEAR of a new VMCS");
	bool held = vmcs_hold(vcpu);
	write_guest_reset(vcpu);
	vmcs_release(vcpu, held);
	return (0);
}

static void
vmx_vcpu_cleanup(struct vcpu *vcpu)
{
	struct vmx_vcpu *vx = vcpu->vc_backend;

	VERIFY(vx->vx_vmcs_cpu == -1, "vmx: %s destroyed with its VMCS "
	    "current on cpu%d", vcpu->vc_name, vx->vx_vmcs_cpu);
	vpid_free(vx->vx_vpid);
	page_free(vx->vx_vmcs_pa);
	kmem_free(vx, sizeof (*vx));
	vcpu->vc_backend = NULL;
	memset(vcpu->vc_gpr, 0, sizeof (vcpu->vc_gpr));
}

/* Before an entry, VMCS current: what setreg changed in the copy. */
static inline void
flush_cached(struct vmx_vcpu *vx)
{
	if (unlikely(vx->vx_dirty != 0)) {
		if ((vx->vx_dirty & VXC_RIP) != 0)
			vmcs_write(VMCS_GUEST_RIP, vx->vx_rip);
		if ((vx->vx_dirty & VXC_INTR) != 0)
			vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, vx->vx_intr);
		vx->vx_dirty = 0;
	}
}

static u32 cached_intr(struct vcpu *);

/* vm_skip_insn: the copies change, vmx_vmrun writes them back. */
static void
vmx_advance(struct vcpu *vcpu, u64 rip)
{
	struct vmx_vcpu *vx = vcpu->vc_backend;
	const u32 shadows = INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS;

	vx->vx_rip = rip;
	vx->vx_cached |= VXC_RIP;
	vx->vx_dirty |= VXC_RIP;
	if ((cached_intr(vcpu) & shadows) != 0) {
		vx->vx_intr &= ~shadows;
		vx->vx_dirty |= VXC_INTR;
	}
}

/* VMLAUNCH or VMRESUME did not enter (vmx_run returned rc, 1 or 2). */
static void
vmx_entry_failed(struct vmx_vcpu *vx, int rc, struct vm_exit *vme)
{
	u64 err = rc == 2 ? vmcs_read(VMCS_INSTRUCTION_ERROR) : 0;

	vme->exitcode = VM_EXIT_VMFAIL;
	vme->hw_reason = err;
	ksnprintf(vme->reason, sizeof (vme->reason), "%s failed: %s "
	    "(VM-instruction error %lu: %s)",
	    vx->vx_launched ? "VMRESUME" : "VMLAUNCH",
	    rc == 1 ? "VMfailInvalid" : "VMfailValid", err,
	    rc == 1 ? "no current VMCS" : vmx_insn_error_name(err));
}

static void
vmx_vmrun(struct vcpu *vcpu, struct vm_exit *vme)
{
	struct vmx_vcpu *vx = vcpu->vc_backend;

	if (vx->vx_vmcs_cpu != CPU->cpu_id)
		vmx_load(vcpu);		/* the first entry of this vm_run */
	flush_cached(vx);
	TRACE(TR_VMENTRY, vcpu, vx->vx_launched ? TR_ENTRY_VMRESUME :
	    TR_ENTRY_VMLAUNCH);
	struct vmx_cpu *vxc = CPU->cpu_vmm;
	int rc = vmx_run(&vx->vx_gregs, vx->vx_launched, &vxc->vxc_host_dt);
	if (rc != 0) {
		vmx_entry_failed(vx, rc, vme);
		return;
	}
	vx->vx_launched = true;
	vmx_decode_exit(vcpu, vme);
}

/*
 * vm_exit_floor's loop: vmx_vmrun less the trace and the decode. RIP
 * steps over the CPUID or OUT by the exit's instruction length.
 */
#define	IOQ_IN_OR_STRING	((1U << 3) | (1U << 4))
static u32
vmx_floor(struct vcpu *vcpu, struct vm_exit *vme)
{
	struct vmx_vcpu *vx = vcpu->vc_backend;
	u32 n = 0;

	if (vx->vx_vmcs_cpu != CPU->cpu_id)
		vmx_load(vcpu);
	flush_cached(vx);
	struct vmx_cpu *vxc = CPU->cpu_vmm;
	for (;;) {
		int rc = vmx_run(&vx->vx_gregs, vx->vx_launched,
		    &vxc->vxc_host_dt);
		if (rc != 0) {
			vmx_entry_failed(vx, rc, vme);
			return (n);
		}
		vx->vx_launched = true;
		u32 reason = (u32)vmread(VMCS_EXIT_REASON) & 0xffff;
		if (reason != EXIT_REASON_CPUID && (reason != EXIT_REASON_IO ||
		    (vmread(VMCS_EXIT_QUALIFICATION) & IOQ_IN_OR_STRING) != 0))
			break;
		(void) vmwrite(VMCS_GUEST_RIP, vmread(VMCS_GUEST_RIP) +
		    vmread(VMCS_EXIT_INSTRUCTION_LEN));
		n++;
	}
	vmx_decode_exit(vcpu, vme);
	return (n);
}

/* The switched MSR's index, or -1. */
static int
switched_index(enum vm_reg r)
{
	switch (r) {
	case VM_REG_STAR: return (0);
	case VM_REG_LSTAR: return (1);
	case VM_REG_CSTAR: return (2);
	case VM_REG_SFMASK: return (3);
	case VM_REG_KGS_BASE: return (4);
	default: return (-1);
	}
}

/* A switched MSR: in the CPU while the VMCS is current there, else saved. */
static u64
switched_access(struct vcpu *vcpu, int i, bool write, u64 v)
{
	struct vmx_vcpu *vx = vcpu->vc_backend;

	kpreempt_disable();
	if (vx->vx_vmcs_cpu == CPU->cpu_id) {
		if (write)
			wrmsr(switched_msr[i], v);
		else
			v = rdmsr(switched_msr[i]);
	} else if (write) {
		vx->vx_msr[i] = v;
	} else {
		v = vx->vx_msr[i];
	}
	kpreempt_enable();
	return (v);
}

static u64 *
gpr(struct vmx_vcpu *vx, enum vm_reg r)
{
	switch (r) {
	case VM_REG_RAX: return (&vx->vx_gregs.rax);
	case VM_REG_RBX: return (&vx->vx_gregs.rbx);
	case VM_REG_RCX: return (&vx->vx_gregs.rcx);
	case VM_REG_RDX: return (&vx->vx_gregs.rdx);
	case VM_REG_RSI: return (&vx->vx_gregs.rsi);
	case VM_REG_RDI: return (&vx->vx_gregs.rdi);
	case VM_REG_RBP: return (&vx->vx_gregs.rbp);
	case VM_REG_R8: return (&vx->vx_gregs.r8);
	case VM_REG_R9: return (&vx->vx_gregs.r9);
	case VM_REG_R10: return (&vx->vx_gregs.r10);
	case VM_REG_R11: return (&vx->vx_gregs.r11);
	case VM_REG_R12: return (&vx->vx_gregs.r12);
	case VM_REG_R13: return (&vx->vx_gregs.r13);
	case VM_REG_R14: return (&vx->vx_gregs.r14);
	case VM_REG_R15: return (&vx->vx_gregs.r15);
	case VM_REG_CR2: return (&vx->vx_gregs.cr2);
	default: return (NULL);
	}
}

/* The copies, filled from the VMCS the first time after an exit cleared
 * them (vmx_decode_exit fills both itself, so the exit path finds them
 * inline; the fill is for the other callers). */
static __noinline void
cache_fill(struct vcpu *vcpu, u8 which)
{
	struct vmx_vcpu *vx = vcpu->vc_backend;
	bool held = vmcs_hold(vcpu);

	if (which == VXC_RIP)
		vx->vx_rip = vmx_read(vcpu, VMCS_GUEST_RIP);
	else
		vx->vx_intr = (u32)vmx_read(vcpu, VMCS_GUEST_INTERRUPTIBILITY);
	vmcs_release(vcpu, held);
	vx->vx_cached |= which;
}

static inline u64
cached_rip(struct vcpu *vcpu)
{
	struct vmx_vcpu *vx = vcpu->vc_backend;

	if (unlikely((vx->vx_cached & VXC_RIP) == 0))
		cache_fill(vcpu, VXC_RIP);
	return (vx->vx_rip);
}

static inline u32
cached_intr(struct vcpu *vcpu)
{
	struct vmx_vcpu *vx = vcpu->vc_backend;

	if (unlikely((vx->vx_cached & VXC_INTR) == 0))
		cache_fill(vcpu, VXC_INTR);
	return (vx->vx_intr);
}

static u64 vmx_getreg_vmcs(struct vcpu *, enum vm_reg);
static void vmx_setreg_vmcs(struct vcpu *, enum vm_reg, u64);

/* The GPRs, which exits read and write most, without the VMCS's cost. */
static u64
vmx_getreg(struct vcpu *vcpu, enum vm_reg r)
{
	u64 *p = gpr(vcpu->vc_backend, r);

	if (likely(p != NULL))
		return (*p);
	return (vmx_getreg_vmcs(vcpu, r));
}

static void
vmx_setreg(struct vcpu *vcpu, enum vm_reg r, u64 v)
{
	u64 *p = gpr(vcpu->vc_backend, r);

	if (likely(p != NULL))
		*p = v;
	else
		vmx_setreg_vmcs(vcpu, r, v);
}

static __noinline u64
vmx_getreg_vmcs(struct vcpu *vcpu, enum vm_reg r)
{
	int m = switched_index(r);
	if (m >= 0)
		return (switched_access(vcpu, m, false, 0));
	if (r == VM_REG_RIP)
		return (cached_rip(vcpu));
	if (r == VM_REG_INTR_SHADOW)
		return ((cached_intr(vcpu) &
		    (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS)) != 0);
	if (r == VM_REG_NMI_BLOCKED)
		return ((cached_intr(vcpu) & INTERRUPTIBILITY_NMI) != 0);
	bool held = vmcs_hold(vcpu);
	u64 v;
	/* The guest sees its own CR0/CR4: the shadows for the bits we own. */
	if (r == VM_REG_CR0)
		v = (vmx_read(vcpu, VMCS_GUEST_CR0) & ~(CR0_PG | CR0_NE)) |
		    (vmx_read(vcpu, VMCS_CR0_SHADOW) & (CR0_PG | CR0_NE));
	else if (r == VM_REG_CR4)
		v = (vmx_read(vcpu, VMCS_GUEST_CR4) & ~CR4_VMXE) |
		    (vmx_read(vcpu, VMCS_CR4_SHADOW) & CR4_VMXE);
	else
		v = vmx_read(vcpu, vmcs_guest_field(r));
	vmcs_release(vcpu, held);
	return (v);
}

/*
 * A segment's VMCS fields; the access rights (SDM 24.4.1) packed as the
 * VMCB does (bits 12-15 down to 8-11), unusable as not present.
 */
/* Each segment's VMCS fields; GDTR and IDTR have no selector or rights. */
struct vmx_seg_fields {
	u32 sel, base, limit, ar;
};
#define	VMX_AR_UNUSABLE		(1U << 16)
static const struct vmx_seg_fields seg_fields[VM_SEG_LAST] = {
	[VM_SEG_ES] = { VMCS_GUEST_ES_SEL, VMCS_GUEST_ES_BASE,
	    VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR },
	[VM_SEG_CS] = { VMCS_GUEST_CS_SEL, VMCS_GUEST_CS_BASE,
	    VMCS_GUEST_CS_LIMIT, VMCS_GUEST_CS_AR },
	[VM_SEG_SS] = { VMCS_GUEST_SS_SEL, VMCS_GUEST_SS_BASE,
	    VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR },
	[VM_SEG_DS] = { VMCS_GUEST_DS_SEL, VMCS_GUEST_DS_BASE,
	    VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR },
	[VM_SEG_FS] = { VMCS_GUEST_FS_SEL, VMCS_GUEST_FS_BASE,
	    VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR },
	[VM_SEG_GS] = { VMCS_GUEST_GS_SEL, VMCS_GUEST_GS_BASE,
	    VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR },
	[VM_SEG_GDTR] = { 0, VMCS_GUEST_GDTR_BASE, VMCS_GUEST_GDTR_LIMIT, 0 },
	[VM_SEG_IDTR] = { 0, VMCS_GUEST_IDTR_BASE, VMCS_GUEST_IDTR_LIMIT, 0 },
};

static void
vmx_getseg(struct vcpu *vcpu, enum vm_seg seg, struct vm_seg_desc *d)
{
	const struct vmx_seg_fields *f = &seg_fields[seg];
	bool held = vmcs_hold(vcpu);

	d->vsd_base = vmx_read(vcpu, f->base);
	d->vsd_limit = (u32)vmx_read(vcpu, f->limit);
	if (f->sel == 0) {			/* GDTR, IDTR */
		d->vsd_sel = 0;
		d->vsd_attr = 0;
		vmcs_release(vcpu, held);
		return;
	}
	u32 a = (u32)vmx_read(vcpu, f->ar);
	d->vsd_sel = (u16)vmx_read(vcpu, f->sel);
	vmcs_release(vcpu, held);
	d->vsd_attr = (u16)((a & 0xff) | ((a >> 4) & 0xf00));
	if ((a & VMX_AR_UNUSABLE) != 0)
		d->vsd_attr &= ~VM_SEG_ATTR_P;
}

/* The access rights are the VMCB packing with bits 8-11 moved to 12-15; a
 * segment that is not present is "unusable" to VM entry. */
static void
vmx_setseg(struct vcpu *vcpu, enum vm_seg seg, const struct vm_seg_desc *d)
{
	const struct vmx_seg_fields *f = &seg_fields[seg];
	bool held = vmcs_hold(vcpu);

	vmx_write(vcpu, f->base, d->vsd_base);
	vmx_write(vcpu, f->limit, d->vsd_limit);
	if (f->sel != 0) {
		u32 a = (d->vsd_attr & 0xffU) | ((d->vsd_attr & 0xf00U) << 4);
		if ((d->vsd_attr & VM_SEG_ATTR_P) == 0)
			a = VMX_AR_UNUSABLE;
		vmx_write(vcpu, f->sel, d->vsd_sel);
		vmx_write(vcpu, f->ar, a);
	}
	vmcs_release(vcpu, held);
}

/*
 * EFER.LMA and the "IA-32e mode guest" entry control follow LME and
 * CR0.PG, as the CPU would do it on the guest's own mov to CR0.
 */
static void
update_long_mode(struct vcpu *vcpu)
{
	u64 efer = vmx_read(vcpu, VMCS_GUEST_IA32_EFER);
	bool pg = (vmx_read(vcpu, VMCS_GUEST_CR0) & CR0_PG) != 0;
	bool lma = (efer & EFER_LME) != 0 && pg;
	u64 entry = vmx_read(vcpu, VMCS_ENTRY_CTLS);

	efer = lma ? (efer | EFER_LMA) : (efer & ~EFER_LMA);
	vmx_write(vcpu, VMCS_GUEST_IA32_EFER, efer);
	vmx_write(vcpu, VMCS_ENTRY_CTLS, lma ? (entry | ENTRY_IA32E_GUEST) :
	    (entry & ~ENTRY_IA32E_GUEST));
}

void
vmx_set_cr0(struct vcpu *vcpu, u64 cr0)
{
	vmx_write(vcpu, VMCS_CR0_SHADOW, cr0);
	vmx_write(vcpu, VMCS_GUEST_CR0, (cr0 | CR0_NE) & 0xffffffffUL);
	update_long_mode(vcpu);
}

static __noinline void
vmx_setreg_vmcs(struct vcpu *vcpu, enum vm_reg r, u64 v)
{
	int m = switched_index(r);
	if (m >= 0) {
		(void) switched_access(vcpu, m, true, v);
		return;
	}
	struct vmx_vcpu *vx = vcpu->vc_backend;
	if (r == VM_REG_RIP) {
		vx->vx_rip = v;
		vx->vx_cached |= VXC_RIP;
		vx->vx_dirty |= VXC_RIP;
		return;
	}
	if (r == VM_REG_INTR_SHADOW || r == VM_REG_NMI_BLOCKED) {
		u32 bits = r == VM_REG_NMI_BLOCKED ? INTERRUPTIBILITY_NMI :
		    INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS;
		u32 old = cached_intr(vcpu);
		u32 st = old & ~bits;
		if (v != 0)
			st |= r == VM_REG_NMI_BLOCKED ? INTERRUPTIBILITY_NMI :
			    INTERRUPTIBILITY_STI;
		if (st != old) {
			vx->vx_intr = st;
			vx->vx_dirty |= VXC_INTR;
		}
		return;
	}
	bool held = vmcs_hold(vcpu);
	if (r == VM_REG_CR0) {
		vmx_set_cr0(vcpu, v);
	} else if (r == VM_REG_CR4) {
		vmx_write(vcpu, VMCS_CR4_SHADOW, v);
		vmx_write(vcpu, VMCS_GUEST_CR4, v | CR4_VMXE);
	} else if (r == VM_REG_EFER) {
		/* LMA is the CPU's to set: keep ours. */
		u64 old = vmx_read(vcpu, VMCS_GUEST_IA32_EFER);
		vmx_write(vcpu, VMCS_GUEST_IA32_EFER,
		    (v & ~EFER_LMA) | (old & EFER_LMA));
		update_long_mode(vcpu);
	} else {
		vmx_write(vcpu, vmcs_guest_field(r), v);
	}
	vmcs_release(vcpu, held);
}

/* The entry's interruption information: the CPU clears it at every exit,
 * and an event not delivered comes back as IDT-vectoring information. */
static void
vmx_inject(struct vcpu *vcpu, const struct vm_event *ev)
{
	u32 type;

	switch (ev->type) {
	case VM_EVENT_EXTINT:		type = INTR_TYPE_EXTINT; break;
	case VM_EVENT_NMI:		type = INTR_TYPE_NMI; break;
	case VM_EVENT_SOFTINT:		type = INTR_TYPE_SOFTINT; break;
	case VM_EVENT_SOFT_EXCEPTION:	type = INTR_TYPE_SOFT_EXCEPTION; break;
	default:			type = INTR_TYPE_HW_EXCEPTION; break;
	}
	u32 info = ev->vector | (type << INTR_INFO_TYPE_SHIFT) |
	    INTR_INFO_VALID;
	bool held = vmcs_hold(vcpu);
	if (ev->has_errcode) {
		info |= INTR_INFO_EV;
		vmx_write(vcpu, VMCS_ENTRY_EXCEPTION_ERRCODE, ev->errcode);
	}
	if (type == INTR_TYPE_SOFTINT || type == INTR_TYPE_SOFT_EXCEPTION)
		vmx_write(vcpu, VMCS_ENTRY_INST_LEN, ev->inst_length);
	vmx_write(vcpu, VMCS_ENTRY_INTR_INFO, info);
	vmcs_release(vcpu, held);
}

static void
vmx_set_windows(struct vcpu *vcpu, bool intr, bool nmi)
{
	struct vmx_vcpu *vx = vcpu->vc_backend;
	u32 proc = vx->vx_proc & ~(PROC_INTR_WINDOW_EXITING |
	    PROC_NMI_WINDOW_EXITING);

	if (intr)
		proc |= PROC_INTR_WINDOW_EXITING;
	if (nmi && vmx_has_nmi_window)
		proc |= PROC_NMI_WINDOW_EXITING;
	if (proc != vx->vx_proc) {
		bool held = vmcs_hold(vcpu);
		vmx_write(vcpu, VMCS_PROC_BASED_CTLS, proc);
		vmcs_release(vcpu, held);
		vx->vx_proc = proc;
	}
}

/* Leaving this CPU (switch-out or the final save): VMCLEAR here. */
static void
vmx_savectx(struct vcpu *vcpu)
{
	TRACE(TR_VMX_SAVECTX, vcpu, CPU->cpu_id);
	vmx_unload(vcpu);
}

/* Back on a CPU inside vm_run: VMPTRLD here. */
static void
vmx_restorectx(struct vcpu *vcpu)
{
	TRACE(TR_VMX_RESTORECTX, vcpu, CPU->cpu_id);
	vmx_load(vcpu);
}

static u64
ept_table(paddr_t next)
{
	return (next | EPT_R | EPT_W | EPT_X);
}

static u64
ept_leaf(paddr_t page)
{
	return (page | EPT_R | EPT_W | EPT_X | EPT_MT_WB);
}

/* The memory type and PAT handling of the 4 KiB leaves (WB, PAT
 * honoured); 0 tells the walker this CPU has no 2 MiB EPT leaves. */
static u64
ept_leaf_2m(paddr_t page)
{
	if (!ept_2m_ok)
		return (0);
	return (page | EPT_R | EPT_W | EPT_X | EPT_MT_WB | EPT_LARGE);
}

static bool
ept_large(u64 pde)
{
	return ((pde & EPT_LARGE) != 0);
}

static bool
ept_present(u64 pte)
{
	return ((pte & (EPT_R | EPT_W | EPT_X)) != 0);
}

static paddr_t
ept_addr(u64 pte)
{
	return (pte & 0x000ffffffffff000UL);
}

static const struct vmm_pte_ops ept_pte_ops = {
	.pte_table = ept_table,
	.pte_leaf = ept_leaf,
	.pte_leaf_2m = ept_leaf_2m,
	.pte_present = ept_present,
	.pte_large = ept_large,
	.pte_addr = ept_addr,
};

const struct vmm_ops vmm_ops_vmx = {
	.name = "vmx",
	.probe = vmx_probe,
	.init = vmx_init,
	.cpu_init = vmx_cpu_init,
	.vm_init = vmx_vm_init,
	.vm_cleanup = vmx_vm_cleanup,
	.vcpu_init = vmx_vcpu_init,
	.vcpu_cleanup = vmx_vcpu_cleanup,
	.vmrun = vmx_vmrun,
	.getreg = vmx_getreg,
	.setreg = vmx_setreg,
	.getseg = vmx_getseg,
	.setseg = vmx_setseg,
	.inject = vmx_inject,
	.set_windows = vmx_set_windows,
	.savectx = vmx_savectx,
	.restorectx = vmx_restorectx,
	.advance = vmx_advance,
	.floor = vmx_floor,
	.pte_ops = &ept_pte_ops,
};
