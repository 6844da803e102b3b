/*
 * VMX exits: turn the exit reason and qualification into a struct
 * vm_exit; the emulation itself is backend-neutral (vmm.c). Shaped like
 * svm_exit.c. Moves to CR0 are the one thing handled here: they are how
 * VMX hands us the guest's long-mode switch.
 */
#include "vmx.h"
#include "../../x86.h"
#include "../../console.h"

/* SDM vol. 3, 31.4 "VM Instruction Error Numbers". */
const char *
vmx_insn_error_name(u64 err)
{
	static const char *const names[] = {
		[1] = "VMCALL in VMX root operation",
		[2] = "VMCLEAR with an invalid physical address",
		[3] = "VMCLEAR with the VMXON pointer",
		[4] = "VMLAUNCH with a non-clear VMCS",
		[5] = "VMRESUME with a non-launched VMCS",
		[6] = "VMRESUME after VMXOFF",
		[7] = "VM entry with invalid control field(s)",
		[8] = "VM entry with invalid host-state field(s)",
		[9] = "VMPTRLD with an invalid physical address",
		[10] = "VMPTRLD with the VMXON pointer",
		[11] = "VMPTRLD with an incorrect VMCS revision identifier",
		[12] = "VMREAD/VMWRITE of an unsupported VMCS component",
		[13] = "VMWRITE to a read-only VMCS component",
		[15] = "VMXON in VMX root operation",
		[16] = "VM entry with an invalid executive-VMCS pointer",
		[17] = "VM entry with a non-launched executive VMCS",
		[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
		[19] = "VMCALL with a non-clear VMCS",
		[20] = "VMCALL with invalid VM-exit control fields",
		[22] = "VMCALL with an incorrect MSEG revision identifier",
		[23] = "VMXOFF under the dual-monitor treatment",
		[24] = "VMCALL with invalid SMM-monitor features",
		[25] = "VM entry with invalid VM-execution control fields in "
		    "the executive VMCS",
		[26] = "VM entry with events blocked by MOV SS",
		[28] = "invalid operand to INVEPT/INVVPID",
	};

	if (err < ARRAY_SIZE(names) && names[err] != NULL)
		return (names[err]);
	return ("unknown VM-instruction error");
}

/* A GPR by its number in an exit qualification (0 = RAX ... 15 = R15). */
static u64
gpr_by_index(struct vcpu *vcpu, u32 i)
{
	struct vmx_vcpu *vx = vcpu->vc_backend;
	const u64 *regs[16] = {
		&vx->vx_gregs.rax, &vx->vx_gregs.rcx, &vx->vx_gregs.rdx,
		&vx->vx_gregs.rbx, NULL, &vx->vx_gregs.rbp, &vx->vx_gregs.rsi,
		&vx->vx_gregs.rdi, &vx->vx_gregs.r8, &vx->vx_gregs.r9,
		&vx->vx_gregs.r10, &vx->vx_gregs.r11, &vx->vx_gregs.r12,
		&vx->vx_gregs.r13, &vx->vx_gregs.r14, &vx->vx_gregs.r15,
	};
	/* Number 4, RSP, lives in the VMCS. */
	return (regs[i & 15] != NULL ? *regs[i & 15] :
	    vmx_read(vcpu, VMCS_GUEST_RSP));
}

/* A CR access exit: true if handled (mov to CR0/CR4, LMSW). */
static bool
cr_access(struct vcpu *vcpu, struct vm_exit *vme, u64 qual)
{
	u32 cr = qual & 15, type = (qual >> 4) & 3;
	u64 v = gpr_by_index(vcpu, (u32)(qual >> 8) & 15);

	/* The CPU exits before its own checks: MOV's #GP(0) is ours. */
	if (type == 0 && cr == 0) {
		if ((vm_getreg(vcpu, VM_REG_EFER) & EFER_LMA) == 0)
			v = (u32)v;
		if (!vm_cr0_write_ok(vcpu, vm_getreg(vcpu, VM_REG_CR0), v))
			goto gp;
		vm_setreg(vcpu, VM_REG_CR0, v);
	} else if (type == 0 && cr == 4) {
		if ((vm_getreg(vcpu, VM_REG_EFER) & EFER_LMA) == 0)
			v = (u32)v;
		if (!vm_cr4_write_ok(vcpu, vm_getreg(vcpu, VM_REG_CR4), v))
			goto gp;
		vm_setreg(vcpu, VM_REG_CR4, v);
	} else if (type == 3) {			/* LMSW: PE MP EM TS; PE sticks */
		u64 cr0 = vm_getreg(vcpu, VM_REG_CR0);
		u64 src = (qual >> 16) & 0xf;
		vm_setreg(vcpu, VM_REG_CR0, (cr0 & ~0xeUL) | src | (cr0 & 1));
	} else {
		return (false);
	}
	vm_setreg(vcpu, VM_REG_RIP, vme->rip + vme->inst_length);
	return (true);
gp:
	vm_inject_exception(vcpu, 13, true, 0, 0);
	return (true);
}

/* The I/O exit qualification (SDM vol. 3, table 28-5). */
static void
decode_io(struct vcpu *vcpu, struct vm_exit *vme, u64 qual)
{
	struct vmx_vcpu *vx = vcpu->vc_backend;

	vm_exit_inout(vme, (u16)(qual >> 16), (u8)((qual & 7) + 1),
	    (qual & (1U << 3)) != 0, (qual & ((1U << 4) | (1U << 5))) != 0,
	    (qual & (1U << 5)) != 0, vx->vx_gregs.rax);
}

static const char *
entry_failure_name(u32 basic)
{
	switch (basic) {
	case EXIT_REASON_INVALID_STATE:
		return ("invalid guest state");
	case EXIT_REASON_MSR_LOADING:
		return ("MSR loading");
	case EXIT_REASON_MCE_DURING_ENTRY:
		return ("machine-check event");
	default:
		return ("unknown reason");
	}
}

/* IDT-vectoring information: an event the exit interrupted. */
static void
decode_idt_vectoring(struct vm_event *ev)
{
	u32 info = (u32)vmcs_read(VMCS_IDT_VECTORING_INFO);

	if ((info & INTR_INFO_VALID) == 0)
		return;
	ev->vector = (u8)info;
	ev->has_errcode = (info & INTR_INFO_EV) != 0;
	if (ev->has_errcode)
		ev->errcode = (u32)vmcs_read(VMCS_IDT_VECTORING_ERRCODE);
	switch ((info >> INTR_INFO_TYPE_SHIFT) & 7) {
	case INTR_TYPE_EXTINT:	ev->type = VM_EVENT_EXTINT; break;
	case INTR_TYPE_NMI:	ev->type = VM_EVENT_NMI; break;
	case INTR_TYPE_SOFTINT:	ev->type = VM_EVENT_SOFTINT; break;
	case INTR_TYPE_SOFT_EXCEPTION:
	case INTR_TYPE_PRIV_SOFT_EXC:
		ev->type = VM_EVENT_SOFT_EXCEPTION;
		break;
	default:		ev->type = VM_EVENT_EXCEPTION; break;
	}
	if (ev->type == VM_EVENT_SOFTINT || ev->type == VM_EVENT_SOFT_EXCEPTION)
		ev->inst_length = (u32)vmcs_read(VMCS_EXIT_INSTRUCTION_LEN);
}

/*
 * Right after the exit, interrupts off, on the CPU where the VMCS is
 * current (vmx_vmrun checked it): plain VMREADs, not vmx_read's guarded
 * ones, on this path that every exit takes.
 */
void
vmx_decode_exit(struct vcpu *vcpu, struct vm_exit *vme)
{
	struct vmx_vcpu *vx = vcpu->vc_backend;
	u32 reason = (u32)vmcs_read(VMCS_EXIT_REASON);
	u32 basic = reason & 0xffff;
	u64 qual = vmcs_read(VMCS_EXIT_QUALIFICATION);

	vme->hw_reason = reason;
	vme->rip = vmcs_read(VMCS_GUEST_RIP);
	/* The guest ran: the copies of its RIP and interruptibility are
	 * stale (vmx_vmrun wrote back what was newer before entering). */
	vx->vx_rip = vme->rip;
	vx->vx_intr = (u32)vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
	vx->vx_cached = VXC_RIP | VXC_INTR;
	if ((reason & EXIT_REASON_ENTRY_FAILED) != 0) {
		/* The guest state failed the entry checks (Bochs's log names
		 * the exact check: grep it for "VMENTER FAIL"). */
		vme->exitcode = VM_EXIT_VMFAIL;
		ksnprintf(vme->reason, sizeof (vme->reason),
		    "VM entry failed: %s (exit reason %u, qualification "
		    "0x%lx); guest CR0 0x%lx", entry_failure_name(basic), basic,
		    qual, vmcs_read(VMCS_GUEST_CR0));
		vx->vx_launched = false;
		return;
	}
	decode_idt_vectoring(&vme->exitintinfo);
	switch (basic) {
	case EXIT_REASON_EXTINT:
	case EXIT_REASON_PREEMPTION_TIMER:	/* a look at the host's stop */
		vme->exitcode = VM_EXIT_INTR;
		return;
	case EXIT_REASON_INTR_WINDOW:
		vme->exitcode = VM_EXIT_INTR_WINDOW;
		return;
	case EXIT_REASON_NMI_WINDOW:
		vme->exitcode = VM_EXIT_NMI_WINDOW;
		return;
	case EXIT_REASON_EXCEPTION: {
		u32 vec = (u32)vmcs_read(VMCS_EXIT_INTR_INFO) & 0xff;
		if (vec == 2) {
			/* The exit consumed a host NMI: deliver it (a panicking
			 * CPU's stop signal), interrupts are still off. */
			vme->exitcode = VM_EXIT_INTR;
			__asm__ __volatile__("int $2");
		} else if (vec == 18) {
			vme->exitcode = VM_EXIT_UNHANDLED;
			ksnprintf(vme->reason, sizeof (vme->reason), "machine "
			    "check while the guest ran (rip 0x%lx): the VM is "
			    "stopped", vme->rip);
		} else if (vec == 8) {
			vme->exitcode = VM_EXIT_SHUTDOWN;
			ksnprintf(vme->reason, sizeof (vme->reason),
			    "double fault at rip 0x%lx: the guest cannot "
			    "deliver exceptions (a triple fault would follow)",
			    vme->rip);
		} else {
			vme->exitcode = VM_EXIT_UNHANDLED;
			ksnprintf(vme->reason, sizeof (vme->reason),
			    "exception %u at rip 0x%lx", vec, vme->rip);
		}
		return;
	}
	case EXIT_REASON_TRIPLE_FAULT:
		vme->exitcode = VM_EXIT_SHUTDOWN;
		ksnprintf(vme->reason, sizeof (vme->reason),
		    "triple fault at rip 0x%lx", vme->rip);
		return;
	case EXIT_REASON_EPT_VIOLATION:
		vme->exitcode = VM_EXIT_NPF;
		vme->u.npf.gpa = vmcs_read(VMCS_GUEST_PHYSICAL_ADDRESS);
		vme->u.npf.info = qual;
		return;
	default:
		break;
	}

	vme->inst_length = (u32)vmcs_read(VMCS_EXIT_INSTRUCTION_LEN);
	switch (basic) {
	case EXIT_REASON_CPUID:
		vme->exitcode = VM_EXIT_CPUID;
		break;
	case EXIT_REASON_HLT:
		vme->exitcode = VM_EXIT_HLT;
		break;
	case EXIT_REASON_VMCALL:
		vme->exitcode = VM_EXIT_HYPERCALL;
		break;
	case EXIT_REASON_RDMSR:
	case EXIT_REASON_WRMSR:
		vme->exitcode = basic == EXIT_REASON_RDMSR ? VM_EXIT_RDMSR :
		    VM_EXIT_WRMSR;
		vme->u.msr.msr = (u32)vx->vx_gregs.rcx;
		vme->u.msr.value = (vx->vx_gregs.rdx << 32) |
		    (u32)vx->vx_gregs.rax;
		break;
	case EXIT_REASON_VMCLEAR ... EXIT_REASON_VMXON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
		/* CPUID says no VMX: these are the host's. */
		vme->exitcode = VM_EXIT_UD;
		break;
	case EXIT_REASON_RDPMC:
		vme->exitcode = VM_EXIT_GP;
		break;
	case EXIT_REASON_INVD:
	case EXIT_REASON_WBINVD:
		vme->exitcode = VM_EXIT_SKIP;
		break;
	case EXIT_REASON_XSETBV:
		vme->exitcode = VM_EXIT_XSETBV;
		vme->u.xsetbv.xcr0 = (vx->vx_gregs.rdx << 32) |
		    (u32)vx->vx_gregs.rax;
		break;
	case EXIT_REASON_IO:
		decode_io(vcpu, vme, qual);
		break;
	case EXIT_REASON_DR_ACCESS:
		/* The qualification names DR, direction and GPR (SDM
		 * table 28-4): no decode. */
		vme->exitcode = VM_EXIT_DR;
		vme->u.dr.dr = (u8)(qual & 7);
		vme->u.dr.write = ((qual >> 4) & 1) == 0;
		vme->u.dr.gpr = (int)((qual >> 8) & 15);
		break;
	case EXIT_REASON_CR_ACCESS:
		if ((qual & 15) == 8 && ((qual >> 4) & 3) <= 1) {
			/* MOV to (0) or from (1) CR8: the core's TPR */
			vme->exitcode = VM_EXIT_CR8;
			vme->u.cr8.write = ((qual >> 4) & 3) == 0;
			vme->u.cr8.gpr = (int)((qual >> 8) & 15);
			break;
		}
		if (cr_access(vcpu, vme, qual)) {
			vme->exitcode = VM_EXIT_HANDLED;
			break;
		}
		/* FALLTHROUGH */
	default:
		vme->exitcode = VM_EXIT_UNHANDLED;
		ksnprintf(vme->reason, sizeof (vme->reason),
		    "VMX exit reason %u (qualification 0x%lx) at rip 0x%lx "
		    "is not emulated", basic, qual, vme->rip);
		break;
	}
}
