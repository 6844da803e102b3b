/*
 * VMCS field access and setup (FreeBSD's vmcs.c): reads and writes of the
 * current VMCS, the checked per-vCPU accessors, the host-state fields
 * written whenever a VMCS becomes current on a CPU, the guest's reset
 * state and the register -> field map. The instructions themselves are in
 * vmx_cpufunc.h; when a VMCS is current where is vmx.c's business.
 */
#include "vmx.h"
#include "../../apic.h"
#include "vmx_cpufunc.h"
#include "../../cpu.h"
#include "../../x86.h"
#include "../../panic.h"
#include "../../thread.h"

void vmx_exit_stub(void);

/* vmcs_write's failure (vmx.h). */
void
vmcs_write_failed(u32 field, int rc)
{
	panic("vmwrite of field 0x%x failed: %s", field,
	    rc == VMX_FAIL_INVALID ? "no current VMCS" : vmx_insn_error_name(
	    vmread(VMCS_INSTRUCTION_ERROR)));
}

/*
 * Access to a vCPU's VMCS: only while it is current on this CPU. The vCPU
 * thread is preemptible inside vm_run, so the check and the access run with
 * preemption off: otherwise a switch between reading vx_vmcs_cpu and
 * reading CPU (vmx_savectx on one CPU, vmx_restorectx on another) makes
 * the check compare two CPUs and fail although the VMCS followed the
 * thread (bochs-vmx cpus=2 hit it in vmm/reinject_dropped_caught).
 */
static void
check_current(struct vcpu *vcpu)
{
	struct vmx_vcpu *vx = vcpu->vc_backend;

	VERIFY(vx->vx_vmcs_cpu == CPU->cpu_id,
	    "vmx: the VMCS of %s is not current on cpu%d (it is on %d): VMCS "
	    "access outside vm_run", vcpu->vc_name, CPU->cpu_id,
	    vx->vx_vmcs_cpu);
}

u64
vmx_read(struct vcpu *vcpu, u32 field)
{
	kpreempt_disable();
	check_current(vcpu);
	u64 v = vmcs_read(field);
	kpreempt_enable();
	return (v);
}

void
vmx_write(struct vcpu *vcpu, u32 field, u64 v)
{
	kpreempt_disable();
	check_current(vcpu);
	vmcs_write(field, v);
	kpreempt_enable();
}

/* This CPU's host state: written whenever a VMCS becomes current here. */
void
vmcs_write_host_state(void)
{
	cpu_t *cp = CPU;
	struct { u16 limit; u64 base; } __packed idtr;

	__asm__ __volatile__("sidt %0" : "=m"(idtr));
	vmcs_write(VMCS_HOST_CR0, get_cr0());
	vmcs_write(VMCS_HOST_CR3, get_cr3());
	vmcs_write(VMCS_HOST_CR4, get_cr4());
	vmcs_write(VMCS_HOST_CS_SEL, SEL_KCODE);
	vmcs_write(VMCS_HOST_SS_SEL, SEL_KDATA);
	vmcs_write(VMCS_HOST_DS_SEL, SEL_KDATA);
	vmcs_write(VMCS_HOST_ES_SEL, SEL_KDATA);
	vmcs_write(VMCS_HOST_FS_SEL, 0);
	vmcs_write(VMCS_HOST_GS_SEL, 0);
	vmcs_write(VMCS_HOST_TR_SEL, SEL_TSS);
	vmcs_write(VMCS_HOST_FS_BASE, 0);
	vmcs_write(VMCS_HOST_GS_BASE, (u64)(uintptr_t)cp);
	vmcs_write(VMCS_HOST_TR_BASE, (u64)(uintptr_t)&cp->cpu_tss);
	vmcs_write(VMCS_HOST_GDTR_BASE, (u64)(uintptr_t)cp->cpu_gdt);
	vmcs_write(VMCS_HOST_IDTR_BASE, idtr.base);
	vmcs_write(VMCS_HOST_SYSENTER_CS, 0);
	vmcs_write(VMCS_HOST_SYSENTER_ESP, 0);
	vmcs_write(VMCS_HOST_SYSENTER_EIP, 0);
	vmcs_write(VMCS_HOST_IA32_EFER, rdmsr(MSR_EFER));
	vmcs_write(VMCS_HOST_RIP, (u64)(uintptr_t)vmx_exit_stub);
}


static void
guest_seg(u32 sel, u32 base, u32 limit, u32 ar, u16 s, u64 b, u32 l, u32 a)
{
	vmcs_write(sel, s);
	vmcs_write(base, b);
	vmcs_write(limit, l);
	vmcs_write(ar, a);
}

/* The first state: a boot sector, as a BIOS starts one (see svm.c). */
void
vmcs_write_guest_reset(struct vcpu *vcpu, const struct vmx_ctls *ctls)
{
	struct vmx_vcpu *vx = vcpu->vc_backend;
	struct vmx_vm *vxm = vcpu->vc_vm->vm_backend;

	vmcs_write(VMCS_PIN_BASED_CTLS, ctls->pin);
	if ((ctls->pin & PIN_PREEMPTION_TIMER) != 0) {
		u64 t = (tsc_hz * VMX_PREEMPT_NS / 1000000000UL) >>
		    vmx_preempt_shift;
		vmcs_write(VMCS_PREEMPTION_TIMER, t > 0xffffffffUL ?
		    0xffffffffUL : (t == 0 ? 1 : t));
	}
	vmcs_write(VMCS_PROC_BASED_CTLS, ctls->proc);
	vmcs_write(VMCS_PROC_BASED_CTLS2, ctls->proc2);
	vmcs_write(VMCS_EXIT_CTLS, ctls->exit);
	vmcs_write(VMCS_ENTRY_CTLS, ctls->entry);
	/* #DF: see svm.c; #MC: the host's, never the guest's. */
	vmcs_write(VMCS_EXCEPTION_BITMAP, (1U << 8) | (1U << 18));
	vmcs_write(VMCS_CR3_TARGET_COUNT, 0);
	vmcs_write(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VMCS_ENTRY_INTR_INFO, 0);
	vmcs_write(VMCS_IO_BITMAP_A, vxm->vxm_iobitmaps);
	vmcs_write(VMCS_IO_BITMAP_B, vxm->vxm_iobitmaps + PAGESIZE);
	vmcs_write(VMCS_MSR_BITMAP, vxm->vxm_msrbitmap);
	vmcs_write(VMCS_EPTP, vcpu->vc_vm->vm_gpt.gpt_root | EPTP_WB_4LEVEL);
	vmcs_write(VMCS_VPID, vx->vx_vpid);
	vmcs_write(VMCS_LINK_POINTER, ~0UL);
	/* CR0.NE and CR4.VMXE are ours (fixed bits); PG changes exit so we
	 * can follow long mode, OSXSAVE changes so the guest's XCR0 goes
	 * live when it can first see it (vm_xcr0_follow_cr4). The guest
	 * reads its own values. */
	vmcs_write(VMCS_CR0_MASK, CR0_PG | CR0_NE);
	vmcs_write(VMCS_CR0_SHADOW, 0x10);
	vmcs_write(VMCS_CR4_MASK, CR4_VMXE | CR4_OSXSAVE);
	vmcs_write(VMCS_CR4_SHADOW, 0);

	guest_seg(VMCS_GUEST_CS_SEL, VMCS_GUEST_CS_BASE, VMCS_GUEST_CS_LIMIT,
	    VMCS_GUEST_CS_AR, 0, 0, 0xffff, 0x9b);
	guest_seg(VMCS_GUEST_DS_SEL, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT,
	    VMCS_GUEST_DS_AR, 0, 0, 0xffff, 0x93);
	guest_seg(VMCS_GUEST_ES_SEL, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT,
	    VMCS_GUEST_ES_AR, 0, 0, 0xffff, 0x93);
	guest_seg(VMCS_GUEST_SS_SEL, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT,
	    VMCS_GUEST_SS_AR, 0, 0, 0xffff, 0x93);
	guest_seg(VMCS_GUEST_FS_SEL, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT,
	    VMCS_GUEST_FS_AR, 0, 0, 0xffff, 0x93);
	guest_seg(VMCS_GUEST_GS_SEL, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT,
	    VMCS_GUEST_GS_AR, 0, 0, 0xffff, 0x93);
	guest_seg(VMCS_GUEST_LDTR_SEL, VMCS_GUEST_LDTR_BASE,
	    VMCS_GUEST_LDTR_LIMIT, VMCS_GUEST_LDTR_AR, 0, 0, 0xffff, 0x10082);
	guest_seg(VMCS_GUEST_TR_SEL, VMCS_GUEST_TR_BASE, VMCS_GUEST_TR_LIMIT,
	    VMCS_GUEST_TR_AR, 0, 0, 0xffff, 0x8b);
	vmcs_write(VMCS_GUEST_GDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	vmcs_write(VMCS_GUEST_IDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_IDTR_LIMIT, 0x3ff);
	vmcs_write(VMCS_GUEST_CR0, 0x30);		/* NE, ET */
	vmcs_write(VMCS_GUEST_CR3, 0);
	vmcs_write(VMCS_GUEST_CR4, CR4_VMXE);
	vmcs_write(VMCS_GUEST_DR7, 0x400);
	vmcs_write(VMCS_GUEST_RSP, 0x7c00);
	vmcs_write(VMCS_GUEST_RIP, 0x7c00);
	vmcs_write(VMCS_GUEST_RFLAGS, 0x2);
	vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_write(VMCS_GUEST_ACTIVITY, 0);
	vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_CS, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_ESP, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_EIP, 0);
	vmcs_write(VMCS_GUEST_IA32_EFER, 0);
	vmcs_write(VMCS_GUEST_IA32_PAT, 0x0007040600070406UL);
}

u32
vmcs_guest_field(enum vm_reg r)
{
	switch (r) {
	case VM_REG_RSP: return (VMCS_GUEST_RSP);
	case VM_REG_RIP: return (VMCS_GUEST_RIP);
	case VM_REG_RFLAGS: return (VMCS_GUEST_RFLAGS);
	case VM_REG_CR3: return (VMCS_GUEST_CR3);
	case VM_REG_EFER: return (VMCS_GUEST_IA32_EFER);
	case VM_REG_FS_BASE: return (VMCS_GUEST_FS_BASE);
	case VM_REG_GS_BASE: return (VMCS_GUEST_GS_BASE);
	default: panic("vmx: no register %d", r);
	}
}
