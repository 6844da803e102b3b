/*
 * SVM exits: turn the VMCB's exit code and info into a struct vm_exit.
 * The emulation itself is backend-neutral (vmm.c). No decode assists and
 * no NRIP on QEMU: instruction lengths are the architectural ones, or
 * next_rip - rip where the CPU reports it, or EXITINFO2 for IOIO.
 */
#include "svm.h"
#include "../vmm_decode.h"
#include "../../console.h"
#include "../../x86.h"

extern char __text_start[], __text_end[];	/* kern/linker.ld */

int svm_plant_npf;		/* enum svm_plant; tests only */

/* The instruction's length: NRIP's, else the bare opcode's, marked as a
 * guess for the core to check with the decoder (prefixes). */
static u32
length(struct svm_vcpu *sv, struct vm_exit *vme, u64 rip, u32 fixed)
{
	u64 nrip = *vmcb64(sv, VMCB_NRIP);

	if (svm_has_nrip && nrip > rip && nrip - rip <= 15)
		return ((u32)(nrip - rip));
	vme->inst_length_guessed = true;
	return (fixed);
}

/* IOIO's EXITINFO1 (APM vol. 2, 15.10.2); EXITINFO2 is the next RIP. */
static void
decode_ioio(struct svm_vcpu *sv, struct vm_exit *vme, u64 info1, u64 info2)
{
	u32 sz = (u32)(info1 >> IOIO_SZ_SHIFT) & 7;	/* SZ8, SZ16, SZ32 */

	vm_exit_inout(vme, (u16)(info1 >> 16), sz == 4 ? 4 : (sz == 2 ? 2 : 1),
	    (info1 & IOIO_IN) != 0, (info1 & (IOIO_STR | IOIO_REP)) != 0,
	    (info1 & IOIO_REP) != 0, *vmcb64(sv, VMCB_RAX));
	vme->inst_length = (u32)(info2 - vme->rip);
}

/* EXITINTINFO: an event the exit interrupted, in vm_event terms. */
static void
decode_intinfo(u64 info, struct vm_event *ev)
{
	if ((info & EVENT_VALID) == 0)
		return;
	ev->vector = (u8)info;
	ev->has_errcode = (info & EVENT_EV) != 0;
	ev->errcode = (u32)(info >> 32);
	switch ((info >> EVENT_TYPE_SHIFT) & 7) {
	case EVENT_TYPE_INTR:	ev->type = VM_EVENT_EXTINT; break;
	case EVENT_TYPE_NMI:	ev->type = VM_EVENT_NMI; break;
	case EVENT_TYPE_SOFTINT: ev->type = VM_EVENT_SOFTINT; break;
	default:		ev->type = VM_EVENT_EXCEPTION; break;
	}
}

/*
 * QEMU 7.2's multi-threaded TCG: every FXRSTOR/XRSTOR/FRSTOR/FLDENV on
 * any vCPU does a plain read-modify-write of the *first* vCPU's hflags2
 * (cpu_clear_ignne), racing with that vCPU's own VMRUN and #VMEXIT, which
 * keep nested paging's on/off bit there. A #VMEXIT whose clear is undone
 * leaves CPU 0 in the host with nested paging on: its next TLB miss walks
 * the host's page tables through the guest's NPT and, the host's PML4
 * not being mapped there, takes a nested page fault "during a guest
 * page-table walk" whose #VMEXIT saves the host's state (RIP in svm_run,
 * CR3) into the guest's VMCB (docs/platforms.md). Mapping the address and
 * resuming would run the guest at a host address: the guest's state is
 * gone, so the VM is stopped with the reason named.
 *
 * The sign: such an NPF with the VMCB's RIP inside svm_run (a guest never
 * runs there: the SVM instructions are intercepted), or at the host's
 * PML4 with the host's CR3 and a host text RIP in the VMCB.
 */
static bool
qemu_mttcg_npf(struct svm_vcpu *sv, u64 info1, u64 info2, u64 rip)
{
	u64 host_pml4 = get_cr3() & ~0xfffUL;

	if ((info1 & NPF_INFO_GPT) == 0)
		return (false);
	if (rip >= (u64)(uintptr_t)svm_run && rip < (u64)(uintptr_t)svm_run_end)
		return (true);
	return ((info2 & ~0xfffUL) == host_pml4 &&
	    (*vmcb64(sv, VMCB_CR3) & ~0xfffUL) == host_pml4 &&
	    rip >= (u64)(uintptr_t)__text_start &&
	    rip < (u64)(uintptr_t)__text_end);
}

/* SVM_PLANT_*: the exit just taken becomes the symptom (or its harmless
 * twin); the real exit, not acted on, happens again when the guest goes
 * on (SVM_PLANT_GUEST_GPT_NPF). */
static void
plant_npf(struct svm_vcpu *sv)
{
	int what = __atomic_exchange_n(&svm_plant_npf, SVM_PLANT_NONE,
	    __ATOMIC_ACQ_REL);

	if (what == SVM_PLANT_NONE)
		return;
	*vmcb64(sv, VMCB_EXITCODE) = VMEXIT_NPF;
	/* As QEMU reports it: not present, user, on a walk's PTE write. */
	*vmcb64(sv, VMCB_EXITINFO1) = NPF_INFO_GPT | 0x6;
	*vmcb64(sv, VMCB_EXITINFO2) = (get_cr3() & ~0xfffUL) + 511 * 8;
	if (what == SVM_PLANT_MTTCG_NPF)
		*vmcb64(sv, VMCB_RIP) = (u64)(uintptr_t)svm_run_vmexit;
	if (what == SVM_PLANT_MTTCG_NPF_LATE) {
		*vmcb64(sv, VMCB_RIP) = (u64)(uintptr_t)svm_decode_exit;
		*vmcb64(sv, VMCB_CR3) = get_cr3();
	}
}

/*
 * VMEXIT_INVALID. A VMCB that failed a consistency check stops the VM with
 * the check's name (tested on what the VMRUN was given, sv_entry: QEMU
 * overwrites the guest area with the host's state when VMRUN refuses it,
 * its RIP then inside svm_run). A guest area with a guest RIP came back
 * from the middle of the guest: QEMU 7.2's answer to a MOV to CR3/CR4 with
 * reserved bits (svm_check.c). If the instruction there is such a MOV, the
 * guest gets the #GP(0) hardware raises; a guest that faults on it again
 * and again is its own business (the time limit ends it), but a streak at
 * one RIP far beyond any such loop means the checks here missed what
 * VMRUN saw.
 */
#define	SVM_INVALID_STREAK_MAX	1000000
static void
decode_invalid(struct vcpu *vcpu, struct svm_vcpu *sv, struct vm_exit *vme,
    u64 rip)
{
	struct vie vie;
	const char *why = svm_vmcb_check(sv, &sv->sv_entry);
	bool host_rip = rip >= (u64)(uintptr_t)__text_start &&
	    rip < (u64)(uintptr_t)__text_end;

	vme->exitcode = VM_EXIT_VMFAIL;
	if (why != NULL) {
		ksnprintf(vme->reason, sizeof (vme->reason), "VMRUN refused "
		    "the VMCB: %s", why);
		return;
	}
	bool known = vm_insn_decode(vcpu, rip, &vie);
	if (rip != sv->sv_invalid_rip) {
		sv->sv_invalid_rip = rip;
		sv->sv_invalid_streak = 0;
	}
	if (!host_rip && known && vie.vie_op == VIE_OP_MOV_TO_CR &&
	    ++sv->sv_invalid_streak < SVM_INVALID_STREAK_MAX) {
		vmm_stat_incr(vcpu, QEMU_INVALID_AS_GP);
		vme->exitcode = VM_EXIT_GP;
		return;
	}
	ksnprintf(vme->reason, sizeof (vme->reason), "VMEXIT_INVALID at rip "
	    "0x%lx (%s) with a VMCB that passes bhyvelet's checks", rip,
	    host_rip ? "the world switch" : known ? vie_op_name(vie.vie_op) :
	    "not decoded");
}

void
svm_decode_exit(struct vcpu *vcpu, struct vm_exit *vme)
{
	struct svm_vcpu *sv = vcpu->vc_backend;

	if (__atomic_load_n(&svm_plant_npf, __ATOMIC_RELAXED) != SVM_PLANT_NONE)
		plant_npf(sv);
	u64 code = *vmcb64(sv, VMCB_EXITCODE);
	u64 info1 = *vmcb64(sv, VMCB_EXITINFO1);
	u64 info2 = *vmcb64(sv, VMCB_EXITINFO2);
	u64 rip = *vmcb64(sv, VMCB_RIP);

	vme->hw_reason = code;
	vme->rip = rip;
	if ((u32)code == VMEXIT_INVALID) {
		decode_invalid(vcpu, sv, vme, rip);
		return;
	}
	decode_intinfo(*vmcb64(sv, VMCB_EXITINTINFO), &vme->exitintinfo);
	switch (code) {
	case VMEXIT_VINTR:
		vme->exitcode = VM_EXIT_INTR_WINDOW;
		break;
	case VMEXIT_IRET:
		/* Before the IRET itself: the handler is done but for it. */
		sv->sv_nmi_blocked = false;
		vme->exitcode = VM_EXIT_NMI_WINDOW;
		break;
	case VMEXIT_INTR:
	case VMEXIT_NMI:
	case VMEXIT_SMI:
	case VMEXIT_INIT:
		/* Host events: they are taken after STGI (SMIs by firmware). */
		vme->exitcode = VM_EXIT_INTR;
		break;
	case VMEXIT_CPUID:
		vme->exitcode = VM_EXIT_CPUID;
		vme->inst_length = length(sv, vme, rip, 2);
		break;
	case VMEXIT_HLT:
		vme->exitcode = VM_EXIT_HLT;
		vme->inst_length = length(sv, vme, rip, 1);
		break;
	case VMEXIT_IOIO:
		decode_ioio(sv, vme, info1, info2);
		break;
	case VMEXIT_MSR:
		vme->exitcode = info1 == 0 ? VM_EXIT_RDMSR : VM_EXIT_WRMSR;
		vme->u.msr.msr = (u32)sv->sv_gregs.rcx;
		vme->u.msr.value = (sv->sv_gregs.rdx << 32) |
		    (u32)*vmcb64(sv, VMCB_RAX);
		vme->inst_length = length(sv, vme, rip, 2);
		break;
	case VMEXIT_VMMCALL:
		vme->exitcode = VM_EXIT_HYPERCALL;
		vme->inst_length = length(sv, vme, rip, 3);
		break;
	case VMEXIT_XSETBV:
		vme->exitcode = VM_EXIT_XSETBV;
		vme->u.xsetbv.xcr0 = (sv->sv_gregs.rdx << 32) |
		    (u32)*vmcb64(sv, VMCB_RAX);
		vme->inst_length = length(sv, vme, rip, 3);
		break;
	case VMEXIT_CR8_READ:
	case VMEXIT_CR8_WRITE:
		/* Decode assists name the register; else vm_run decodes. */
		vme->exitcode = VM_EXIT_CR8;
		vme->u.cr8.write = code == VMEXIT_CR8_WRITE;
		vme->u.cr8.gpr = (info1 & EXITINFO1_MOV_CR) != 0 ?
		    (int)(info1 & 15) : -1;
		vme->inst_length = length(sv, vme, rip, 3);
		break;
	case VMEXIT_CR0_SEL_WRITE:
		vme->exitcode = VM_EXIT_CR0;
		break;
	case VMEXIT_DR5_READ:
	case VMEXIT_DR5_WRITE:
	case VMEXIT_DR7_READ:
	case VMEXIT_DR7_WRITE:
		vme->exitcode = VM_EXIT_DR;
		vme->u.dr.write = code == VMEXIT_DR7_WRITE ||
		    code == VMEXIT_DR5_WRITE;
		vme->u.dr.dr = code == VMEXIT_DR5_READ ||
		    code == VMEXIT_DR5_WRITE ? 5 : 7;
		vme->u.dr.gpr = (info1 & EXITINFO1_MOV_CR) != 0 ?
		    (int)(info1 & 15) : -1;
		vme->inst_length = length(sv, vme, rip, 3);
		break;
	case VMEXIT_NPF:
		if (qemu_mttcg_npf(sv, info1, info2, rip)) {
			vmm_stat_incr(vcpu, QEMU_MTTCG_NPF);
			vme->exitcode = VM_EXIT_UNHANDLED;
			ksnprintf(vme->reason, sizeof (vme->reason), "QEMU MTTCG "
			    "defect: host page-table walk NPF, gpa 0x%lx info1 "
			    "0x%lx rip 0x%lx", info2, info1, rip);
			break;
		}
		vme->exitcode = VM_EXIT_NPF;
		vme->u.npf.gpa = info2;
		vme->u.npf.info = info1;
		break;
	case VMEXIT_VMRUN:
	case VMEXIT_VMLOAD:
	case VMEXIT_VMSAVE:
	case VMEXIT_STGI:
	case VMEXIT_CLGI:
	case VMEXIT_SKINIT:
	case VMEXIT_INVLPGA:
	case VMEXIT_MONITOR:		/* CPUID hides them */
	case VMEXIT_MWAIT:
		vme->exitcode = VM_EXIT_UD;
		break;
	case VMEXIT_RDPMC:
		vme->exitcode = VM_EXIT_GP;
		break;
	case VMEXIT_EXCP_MC:
		/* The host's machine check: the guest must not see it. */
		vme->exitcode = VM_EXIT_UNHANDLED;
		ksnprintf(vme->reason, sizeof (vme->reason), "machine check "
		    "while the guest ran (rip 0x%lx): the VM is stopped", rip);
		break;
	case VMEXIT_INVD:
	case VMEXIT_WBINVD:
		vme->exitcode = VM_EXIT_SKIP;
		vme->inst_length = length(sv, vme, rip, 2);
		break;
	case VMEXIT_SHUTDOWN:
		vme->exitcode = VM_EXIT_SHUTDOWN;
		ksnprintf(vme->reason, sizeof (vme->reason),
		    "triple fault (shutdown) at rip 0x%lx", rip);
		break;
	case VMEXIT_EXCP_DF:
		vme->exitcode = VM_EXIT_SHUTDOWN;
		ksnprintf(vme->reason, sizeof (vme->reason),
		    "double fault at rip 0x%lx: the guest cannot deliver "
		    "exceptions (a triple fault would follow)", rip);
		break;
	default:
		vme->exitcode = VM_EXIT_UNHANDLED;
		ksnprintf(vme->reason, sizeof (vme->reason),
		    "SVM exit code 0x%lx (info1 0x%lx info2 0x%lx) at rip "
		    "0x%lx is not emulated", code, info1, info2, rip);
		break;
	}
}
