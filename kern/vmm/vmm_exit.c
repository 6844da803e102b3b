/*
 * The exits vm_run's loop finishes in the kernel (docs/vmm.md): CPUID,
 * MSRs, HLT, hypercalls, XSETBV, nested page faults on RAM, the port I/O
 * of the in-kernel chips, and the instructions a guest must not run on
 * the real CPU. Each exit has a vm_handle_* function: true means go back
 * into the guest, false return to the caller (the handler may turn the
 * exit into another code, e.g. an NPF into OUTOFMAP).
 */
#include "vmm.h"
#include "vmm_decode.h"
#include "vmm_dev.h"
#include "../thread.h"
#include "../cpu.h"
#include "../panic.h"
#include "../console.h"
#include "../trace.h"
#include "../x86.h"
#include "../tunable.h"

/* Switches (tunable.h). Per VM, tests also set vm_migrate_every (move
 * the vCPU thread every N HLTs); they break guest state with vm_setreg. */
KTUNABLE_TEST(vmm_inject_gpr_flip, "the next HLT exit flips bit 0 of the "
    "guest GPR vmm_inject_gpr_flip_reg (the stress guest must catch it)");
enum vm_reg vmm_inject_gpr_flip_reg;	/* VM_REG_RAX .. VM_REG_R15 */

/*
 * The exiting instruction is done: RIP past it, and an STI or MOV SS
 * shadow it sat in is over (a `sti; hlt` HLT keeps none for what follows;
 * left set, the next instruction would be shadowed too).
 */
void
vm_skip_insn(struct vcpu *vcpu, u64 rip, u32 len)
{
	kthread_t *owner = vcpu->vc_owner;

	VERIFY(owner == NULL || owner == curthread, "vm_skip_insn: %s belongs "
	    "to thread %s, not %s", vcpu->vc_name, owner->t_name,
	    curthread->t_name);
	if (len != 0)
		vmm_ops->advance(vcpu, rip + len);
}

/* A prefixed CPUID or HLT is longer than its opcode: without NRIP only
 * the decoder knows where the next instruction starts. */
static __noinline u32
skip_length_decoded(struct vcpu *vcpu, const struct vm_exit *vme)
{
	u32 len = vme->inst_length;
	u32 real = vm_insn_length(vcpu, vme->rip);

	if (real != 0 && real != len) {
		vmm_stat_incr(vcpu, INSN_LENGTH_DECODED);
		len = real;
	}
	return (len);
}

/* vm_skip_insn for vm_run's own exits: the owner thread, which vm_run
 * checked at its start, so without vm_skip_insn's check at every exit. */
static inline void
skip(struct vcpu *vcpu, const struct vm_exit *vme)
{
	u32 len = vme->inst_length;

	if (unlikely(vme->inst_length_guessed) && len != 0)
		len = skip_length_decoded(vcpu, vme);
	if (len != 0)
		vmm_ops->advance(vcpu, vme->rip + len);
}

/*
 * A GPR of the vCPU whose exit vm_run (or vm_exit_floor) is finishing, on
 * its owner thread: in place where the backend keeps it in memory, as
 * vm_getreg/vm_setreg would, less their owner check at each access.
 */
static inline u64
exit_getreg(struct vcpu *vcpu, enum vm_reg r)
{
	u64 *p = vcpu->vc_gpr[r];

	return (likely(p != NULL) ? *p : vm_getreg_slow(vcpu, r));
}

static inline void
exit_setreg(struct vcpu *vcpu, enum vm_reg r, u64 v)
{
	u64 *p = vcpu->vc_gpr[r];

	if (likely(p != NULL))
		*p = v;
	else
		vm_setreg_slow(vcpu, r, v);
}

/* What the guest sees is vmm_cpuid.c's. */
static bool
vm_handle_cpuid(struct vcpu *vcpu, struct vm_exit *vme)
{
	u32 r[4];

	vm_cpuid(vcpu, (u32)exit_getreg(vcpu, VM_REG_RAX),
	    (u32)exit_getreg(vcpu, VM_REG_RCX), r);
	exit_setreg(vcpu, VM_REG_RAX, r[0]);
	exit_setreg(vcpu, VM_REG_RBX, r[1]);
	exit_setreg(vcpu, VM_REG_RCX, r[2]);
	exit_setreg(vcpu, VM_REG_RDX, r[3]);
	skip(vcpu, vme);
	return (true);
}

/* The MSR table (vmm_msr.c); an MSR the guest lacks is #GP(0). */
static bool
vm_handle_rdmsr(struct vcpu *vcpu, struct vm_exit *vme)
{
	u64 v;

	if (!vm_msr_read(vcpu, vme->u.msr.msr, &v)) {
		vm_inject_exception(vcpu, 13, true, 0, 0);
		return (true);
	}
	exit_setreg(vcpu, VM_REG_RAX, (u32)v);
	exit_setreg(vcpu, VM_REG_RDX, v >> 32);
	skip(vcpu, vme);
	return (true);
}

static bool
vm_handle_wrmsr(struct vcpu *vcpu, struct vm_exit *vme)
{
	if (!vm_msr_write(vcpu, vme->u.msr.msr, vme->u.msr.value)) {
		vm_inject_exception(vcpu, 13, true, 0, 0);
		return (true);
	}
	skip(vcpu, vme);
	return (true);
}

/* An instruction this VM does not have (the other CPU vendor's, or
 * virtualization): #UD, RIP left on it, as the CPU would. */
static bool
vm_handle_ud(struct vcpu *vcpu, struct vm_exit *vme __unused)
{
	vm_inject_exception(vcpu, 6, false, 0, 0);
	return (true);
}

/* RDPMC: the host's performance counters are not the guest's to read;
 * the VM has none (CPUID leaf 0xa is empty), so any index is #GP(0). */
static bool
vm_handle_gp(struct vcpu *vcpu, struct vm_exit *vme __unused)
{
	vm_inject_exception(vcpu, 13, true, 0, 0);
	return (true);
}

/* INVD and WBINVD: nothing of the host's caches is the guest's to drop
 * (and INVD would lose the host's writes). */
static bool
vm_handle_skip(struct vcpu *vcpu, struct vm_exit *vme)
{
	skip(vcpu, vme);
	return (true);
}

/*
 * HLT: with interrupts enabled the vCPU sleeps until it has an event to
 * take (vm_hlt_wait). With them disabled only an NMI could wake it; none
 * pending, the guest is over: stopped as halted.
 */
static bool
vm_handle_hlt(struct vcpu *vcpu, struct vm_exit *vme)
{
	struct vm *vm = vcpu->vc_vm;

	skip(vcpu, vme);
	if ((vm_getreg(vcpu, VM_REG_RFLAGS) & RFLAGS_IF) != 0) {
		vcpu->vc_stats[VMM_STAT_HLT_SLEEPS] += vm_hlt_wait(vcpu);
	} else if (!vm->vm_hlt_exits && !vcpu->vc_nmi_pending &&
	    !vm_hlt_noint_wait(vcpu)) {
		vme->exitcode = VM_EXIT_HALTED;
		ksnprintf(vme->reason, sizeof (vme->reason), "halted with "
		    "interrupts disabled at rip 0x%lx", vme->rip);
		return (false);
	}
	/* Tests: a guest register the host breaks across this exit, once. */
	if (unlikely(vmm_inject_gpr_flip) &&
	    atomic_swap(&vmm_inject_gpr_flip, false)) {
		enum vm_reg r = vmm_inject_gpr_flip_reg;
		vm_setreg(vcpu, r, vm_getreg(vcpu, r) ^ 1);
	}
	/* Tests: a migration inside the run window every N HLTs (this one
	 * is counted after its handler, hence the + 1). */
	if (vm->vm_migrate_every != 0 && ncpus > 1 &&
	    (vcpu->vc_stats[VMM_STAT_VMEXIT_HLT] + 1) % vm->vm_migrate_every
	    == 0) {
		thread_bind((CPU->cpu_id + 1) % ncpus);
		thread_bind(-1);
	}
	return (true);
}

/* MOV CRn, r64 or back without the backend's decode: the shared decoder
 * says which register (false: not a MOV of CRn). */
static bool
decode_mov_cr(struct vcpu *vcpu, u64 rip, struct vm_exit *vme, u8 n,
    bool *write, int *gpr)
{
	struct vie vie;

	if (!vm_insn_decode(vcpu, rip, &vie) || vie.vie_reg != n ||
	    (vie.vie_op != VIE_OP_MOV_TO_CR && vie.vie_op != VIE_OP_MOV_FROM_CR))
		return (false);
	*write = vie.vie_op == VIE_OP_MOV_TO_CR;
	*gpr = vie.vie_rm;
	vme->inst_length = vie.vie_len;
	vme->inst_length_guessed = false;
	return (true);
}

/* CR8 is the local APIC's TPR[7:4]; a value above 15 is #GP(0). */
static bool
vm_handle_cr8(struct vcpu *vcpu, struct vm_exit *vme)
{
	if (vme->u.cr8.gpr < 0 && !decode_mov_cr(vcpu, vme->rip, vme, 8,
	    &vme->u.cr8.write, &vme->u.cr8.gpr)) {
		vme->exitcode = VM_EXIT_UNHANDLED;
		ksnprintf(vme->reason, sizeof (vme->reason), "a CR8 access "
		    "at rip 0x%lx that is no MOV the decoder knows", vme->rip);
		return (false);
	}
	enum vm_reg r = vm_gpr_reg(vme->u.cr8.gpr);
	if (!vme->u.cr8.write) {
		vm_setreg(vcpu, r, vm_lapic_get_cr8(vcpu));
	} else if (!vm_lapic_set_cr8(vcpu, vm_getreg(vcpu, r))) {
		vm_inject_exception(vcpu, 13, true, 0, 0);
		return (true);
	}
	skip(vcpu, vme);
	return (true);
}

/*
 * MOV to or from a debug register, where the backend makes them exit
 * (SVM: DR7 and DR5; VMX: all, MOV-DR exiting). DR7 is virtual: the guest
 * reads back what it wrote, and the hardware's DR7 stays 0x400 in both
 * worlds, so none of the guest's breakpoints fire. QEMU 7.2's VMRUN and
 * #VMEXIT assign DR7 without updating TCG's breakpoint list
 * (target/i386/tcg/sysemu/svm_helper.c: `env->dr[7] = x86_ldq_phys(...)`),
 * and the guest's next MOV DR7 then frees breakpoints by the wrong DR7's
 * types: QEMU itself segfaults (cpu_breakpoint_remove_by_ref). And Bochs
 * takes no interrupt, nor its VMX-preemption timer, in a guest whose
 * instruction breakpoint sits on its own #DB handler: it loops there for
 * good (fuzz seed 9714). A guest must not be able to kill or wedge its
 * host's emulator. DR0-DR3 and DR6 are the guest's, as vm_getreg keeps
 * them; DR4/DR5 are DR6/DR7 while CR4.DE is clear, #UD while it is set.
 */
static bool
vm_handle_dr(struct vcpu *vcpu, struct vm_exit *vme)
{
	int n = vme->u.dr.dr;

	if (vme->u.dr.gpr < 0) {
		struct vie vie;
		if (!vm_insn_decode(vcpu, vme->rip, &vie) ||
		    (vie.vie_op != VIE_OP_MOV_TO_DR &&
		    vie.vie_op != VIE_OP_MOV_FROM_DR)) {
			vme->exitcode = VM_EXIT_UNHANDLED;
			ksnprintf(vme->reason, sizeof (vme->reason), "a DR%d "
			    "access at rip 0x%lx that is no MOV the decoder "
			    "knows", n, vme->rip);
			return (false);
		}
		n = vie.vie_reg;
		vme->u.dr.write = vie.vie_op == VIE_OP_MOV_TO_DR;
		vme->u.dr.gpr = vie.vie_rm;
		vme->inst_length = vie.vie_len;
		vme->inst_length_guessed = false;
	}
	if (n == 4 || n == 5) {
		if ((vm_getreg(vcpu, VM_REG_CR4) & CR4_DE) != 0) {
			vm_inject_exception(vcpu, 6, false, 0, 0);
			return (true);
		}
		n += 2;
	}
	if (n > 7) {				/* DR8-DR15 */
		vm_inject_exception(vcpu, 6, false, 0, 0);
		return (true);
	}
	enum vm_reg r = vm_gpr_reg(vme->u.dr.gpr);
	if (!vme->u.dr.write) {
		u64 v = n == 7 ? vcpu->vc_dr7 : n == 6 ?
		    vm_dr6_access(vcpu, false, 0) :
		    vm_getreg(vcpu, (enum vm_reg)(VM_REG_DR0 + n));
		vm_setreg(vcpu, r, v);
	} else {
		u64 v = vm_getreg(vcpu, r);
		/* Outside 64-bit mode the operand is 32 bits. */
		if ((vm_getreg(vcpu, VM_REG_EFER) & EFER_LMA) == 0)
			v = (u32)v;
		if (n >= 6 && (v >> 32) != 0) {
			vm_inject_exception(vcpu, 13, true, 0, 0);
			return (true);
		}
		if (n == 7)	/* bit 10 reads as 1; 11, 12, 14, 15 as 0 */
			vcpu->vc_dr7 = (v & ~0xd800UL) | 0x400;
		else if (n == 6)
			(void) vm_dr6_access(vcpu, true, v | 0xffff0ff0UL);
		else
			vm_setreg(vcpu, (enum vm_reg)(VM_REG_DR0 + n), v);
	}
	skip(vcpu, vme);
	return (true);
}

/*
 * A new CR0 the CPU would take from MOV CR0 (SDM vol. 2, MOV—Move
 * to/from Control Registers, its #GP(0) list), given the old one.
 */
bool
vm_cr0_write_ok(struct vcpu *vcpu, u64 old, u64 v)
{
	u64 efer = vm_getreg(vcpu, VM_REG_EFER);
	struct vm_seg_desc cs;

	if ((v >> 32) != 0)
		return (false);
	if ((v & CR0_PG) != 0 && (v & CR0_PE) == 0)
		return (false);
	if ((v & (1UL << 29)) != 0 && (v & (1UL << 30)) == 0)
		return (false);			/* NW without CD */
	if ((v & CR0_PG) != 0 && (old & CR0_PG) == 0 &&
	    (efer & EFER_LME) != 0 &&
	    (vm_getreg(vcpu, VM_REG_CR4) & CR4_PAE) == 0)
		return (false);			/* long mode without PAE */
	if ((v & CR0_PG) == 0 && (efer & EFER_LMA) != 0) {
		vm_getseg(vcpu, VM_SEG_CS, &cs);
		if ((cs.vsd_attr & VM_SEG_ATTR_L) != 0)
			return (false);		/* paging off in 64-bit code */
	}
	return (true);
}

/* MOV CR4's #GP(0) checks: reserved bits, PAE cleared or LA57 changed in
 * long mode, PCIDE set outside it. */
bool
vm_cr4_write_ok(struct vcpu *vcpu, u64 old, u64 v)
{
	bool lma = (vm_getreg(vcpu, VM_REG_EFER) & EFER_LMA) != 0;

	if ((v & ~vm_cr4_valid_bits()) != 0)
		return (false);
	if (lma && ((v & CR4_PAE) == 0 || ((v ^ old) & (1UL << 12)) != 0))
		return (false);
	if (!lma && (v & (1UL << 17)) != 0 && (old & (1UL << 17)) == 0)
		return (false);
	return (true);
}

/*
 * CR0 written (SVM's selective CR0 intercept: MOV CR0 or LMSW changing
 * more than TS/MP): the CPU's checks, then the write, with EFER.LMA
 * following PG as the CPU sets it.
 */
static bool
vm_handle_cr0(struct vcpu *vcpu, struct vm_exit *vme)
{
	struct vie vie;
	u64 old = vm_getreg(vcpu, VM_REG_CR0), v;

	bool known = vm_insn_decode(vcpu, vme->rip, &vie);
	if (known && vie.vie_op == VIE_OP_MOV_TO_CR && vie.vie_reg == 0) {
		v = vm_getreg(vcpu, vm_gpr_reg(vie.vie_rm));
		if ((vm_getreg(vcpu, VM_REG_EFER) & EFER_LMA) == 0)
			v = (u32)v;
		vme->inst_length = vie.vie_len;
	} else if (known && vie.vie_op == VIE_OP_LMSW) {
		/* LMSW r16: PE, MP, EM, TS; PE is never cleared by it. */
		u64 src = vm_getreg(vcpu, vm_gpr_reg(vie.vie_rm)) & 0xf;
		v = (old & ~0xeUL) | src | (old & CR0_PE);
		vme->inst_length = vie.vie_len;
	} else {
		vme->exitcode = VM_EXIT_UNHANDLED;
		ksnprintf(vme->reason, sizeof (vme->reason), "a CR0 write at "
		    "rip 0x%lx that is no MOV or register LMSW the decoder "
		    "knows", vme->rip);
		return (false);
	}
	vme->inst_length_guessed = false;
	if (!vm_cr0_write_ok(vcpu, old, v)) {
		vm_inject_exception(vcpu, 13, true, 0, 0);
		return (true);
	}
	vm_setreg(vcpu, VM_REG_CR0, v);
	u64 efer = vm_getreg(vcpu, VM_REG_EFER);
	bool lma = (efer & EFER_LME) != 0 && (v & CR0_PG) != 0;
	if (lma != ((efer & EFER_LMA) != 0))
		vm_setreg(vcpu, VM_REG_EFER, lma ? efer | EFER_LMA :
		    efer & ~EFER_LMA);
	skip(vcpu, vme);
	return (true);
}

/* HC_ECHO returns RBX + 1 (the guests' round-trip check). */
static bool
vm_handle_hypercall(struct vcpu *vcpu, struct vm_exit *vme)
{
	u64 fn = exit_getreg(vcpu, VM_REG_RAX) & 0xffffffff;
	u64 rbx = exit_getreg(vcpu, VM_REG_RBX);

	exit_setreg(vcpu, VM_REG_RAX, fn == HC_ECHO ? (u32)(rbx + 1) :
	    0xffffffffUL);
	skip(vcpu, vme);
	return (true);
}

/* XCR0 rules (SDM 13.3): x87 always, AVX needs SSE, AVX-512 needs AVX. */
static bool
xcr0_valid(u64 v)
{
	if ((v & XFEATURE_X87) == 0 || (v & ~fpu_xcr0) != 0)
		return (false);
	if ((v & XFEATURE_AVX) != 0 && (v & XFEATURE_SSE) == 0)
		return (false);
	if ((v & XFEATURE_AVX512) != 0 &&
	    ((v & XFEATURE_AVX512) != XFEATURE_AVX512 ||
	    (v & XFEATURE_AVX) == 0))
		return (false);
	return (true);
}

static bool
vm_handle_xsetbv(struct vcpu *vcpu, struct vm_exit *vme)
{
	u64 v = vme->u.xsetbv.xcr0;

	/* As the CPU: #UD without the guest's CR4.OSXSAVE, #GP(0) for
	 * another XCR or an XCR0 the rules or the host do not allow. */
	if ((vm_getreg(vcpu, VM_REG_CR4) & CR4_OSXSAVE) == 0) {
		vm_inject_exception(vcpu, 6, false, 0, 0);
		return (true);
	}
	if ((u32)vm_getreg(vcpu, VM_REG_RCX) != 0 || !xcr0_valid(v)) {
		vm_inject_exception(vcpu, 13, true, 0, 0);
		return (true);
	}
	kpreempt_disable();
	ASSERT(vcpu->vc_xcr0_live);	/* OSXSAVE is set: seen by now */
	vcpu->vc_guest_xcr0 = v;
	if ((vcpu->vtc_status & VTCS_FPU_RESTORED) != 0)
		fpu_xsetbv(v);
	kpreempt_enable();
	skip(vcpu, vme);
	return (true);
}

/*
 * A nested page fault: RAM not premapped (vmm_ondemand=1, vmm_mem.c) is
 * mapped on demand, an APIC's page is emulated (vmm_lapic.c), anything
 * else stops.
 */
static bool
vm_handle_npf(struct vcpu *vcpu, struct vm_exit *vme)
{
	struct vm *vm = vcpu->vc_vm;
	u64 gpa = vme->u.npf.gpa;

	if (gpa >= vm->vm_memsize && vm_lapic_npf(vcpu, vme)) {
		if (!vcpu->vc_dead)
			return (true);
		vme->exitcode = VM_EXIT_UNHANDLED;
		strlcpy(vme->reason, vcpu->vc_dead_reason,
		    sizeof (vme->reason));
		return (false);
	}
	if (gpa >= vm->vm_memsize) {
		vme->exitcode = VM_EXIT_OUTOFMAP;
		ksnprintf(vme->reason, sizeof (vme->reason),
		    "guest touched gpa 0x%lx outside its %lu KiB of RAM "
		    "(rip 0x%lx)", gpa, vm->vm_memsize >> 10, vme->rip);
		return (false);
	}
	/* Whether CPUs report the shadow here differs (tests/vmm_intr_test.c). */
	if (vm_getreg(vcpu, VM_REG_INTR_SHADOW) != 0)
		vmm_stat_incr(vcpu, NPF_IN_SHADOW);
	u64 page = P2ALIGN(gpa, PAGESIZE);
	mutex_enter(&vm->vm_gpt.gpt_lock);
	bool ok = vmm_gpt_map(&vm->vm_gpt, page, vm->vm_mem + page);
	mutex_exit(&vm->vm_gpt.gpt_lock);
	if (ok)
		return (true);
	vme->exitcode = VM_EXIT_UNHANDLED;
	ksnprintf(vme->reason, sizeof (vme->reason),
	    "out of host memory for nested page tables (gpa 0x%lx)", gpa);
	return (false);
}

/* An IN the caller has answered: merge its bytes into the guest's RAX
 * (the owner thread: vm_run, at its start or in the loop). */
void
vm_complete_in(struct vcpu *vcpu, u32 value)
{
	u64 rax = exit_getreg(vcpu, VM_REG_RAX);
	u8 n = vcpu->vc_pending_in_bytes;

	if (n == 4)
		rax = value;		/* a 32-bit write zero-extends */
	else if (n == 2)
		rax = (rax & ~0xffffUL) | (value & 0xffff);
	else
		rax = (rax & ~0xffUL) | (value & 0xff);
	exit_setreg(vcpu, VM_REG_RAX, rax);
	vcpu->vc_pending_in = false;
}

/*
 * Port I/O: the PC's chips are the kernel's (vmm_isa.c); anything else
 * goes to the caller's device model, and an IN completes at next entry.
 */
static bool
vm_handle_inout(struct vcpu *vcpu, struct vm_exit *vme)
{
	skip(vcpu, vme);
	u32 val = vme->u.inout.eax;
	bool isa = vm_isa_inout(vcpu->vc_vm, vme->u.inout.port,
	    vme->u.inout.in, vme->u.inout.bytes, &val);
	if (isa || (!vcpu->vc_vm->vm_abi_in_thread &&
	    vm_abi_inout(vcpu, vme->u.inout.port, vme->u.inout.in, &val))) {
		if (vme->u.inout.in) {
			vcpu->vc_pending_in_bytes = vme->u.inout.bytes;
			vm_complete_in(vcpu, val);
		}
		if (isa)
			vmm_stat_incr(vcpu, ISA_INOUT);
		else
			vmm_stat_incr(vcpu, ABI_INOUT);
		return (true);
	}
	if (vme->u.inout.in) {
		vcpu->vc_pending_in = true;
		vcpu->vc_pending_in_bytes = vme->u.inout.bytes;
	}
	return (false);
}

/*
 * The backends' shared port I/O decode: the port, size and direction
 * they read out of their exit information, and the guest's RAX for an
 * OUT. String and REP forms become VM_EXIT_INOUT_STR: vm_run returns it
 * and its caller emulates it with vm_strio_emulate (vmm_strio.c).
 */
void
vm_exit_inout(struct vm_exit *vme, u16 port, u8 bytes, bool in, bool string,
    bool rep, u64 rax)
{
	VERIFY3U(bytes, <=, 4);
	if (string) {
		vme->exitcode = VM_EXIT_INOUT_STR;
		vme->u.inout_str.port = port;
		vme->u.inout_str.bytes = bytes;
		vme->u.inout_str.in = in;
		vme->u.inout_str.rep = rep;
		return;
	}
	vme->exitcode = VM_EXIT_INOUT;
	vme->u.inout.port = port;
	vme->u.inout.bytes = bytes;
	vme->u.inout.in = in;
	if (!in)
		vme->u.inout.eax = (u32)(rax & (~0UL >> (64 - 8 * bytes)));
}

bool
vm_handle_exit(struct vcpu *vcpu, struct vm_exit *vme)
{
	switch (vme->exitcode) {
	case VM_EXIT_CPUID:	return (vm_handle_cpuid(vcpu, vme));
	case VM_EXIT_RDMSR:	return (vm_handle_rdmsr(vcpu, vme));
	case VM_EXIT_WRMSR:	return (vm_handle_wrmsr(vcpu, vme));
	case VM_EXIT_HLT:	return (vm_handle_hlt(vcpu, vme));
	case VM_EXIT_HYPERCALL:	return (vm_handle_hypercall(vcpu, vme));
	case VM_EXIT_XSETBV:	return (vm_handle_xsetbv(vcpu, vme));
	case VM_EXIT_CR8:	return (vm_handle_cr8(vcpu, vme));
	case VM_EXIT_DR:	return (vm_handle_dr(vcpu, vme));
	case VM_EXIT_CR0:	return (vm_handle_cr0(vcpu, vme));
	case VM_EXIT_NPF:	return (vm_handle_npf(vcpu, vme));
	case VM_EXIT_INOUT:	return (vm_handle_inout(vcpu, vme));
	case VM_EXIT_INTR:	return (true);	/* the host took it */
	case VM_EXIT_UD:	return (vm_handle_ud(vcpu, vme));
	case VM_EXIT_SKIP:	return (vm_handle_skip(vcpu, vme));
	case VM_EXIT_GP:	return (vm_handle_gp(vcpu, vme));
	case VM_EXIT_INTR_WINDOW: return (true); /* entry injects now */
	case VM_EXIT_NMI_WINDOW: return (true);
	case VM_EXIT_HANDLED:	return (true);	/* the backend finished it */
	case VM_EXIT_INOUT_STR:	return (false);	/* the caller emulates it */
	case VM_EXIT_NONE:
		vme->exitcode = VM_EXIT_UNHANDLED;
		ksnprintf(vme->reason, sizeof (vme->reason),
		    "the %s backend decoded no exit code (hardware reason "
		    "0x%lx)", vmm_ops->name, vme->hw_reason);
		return (false);
	default:		return (false);	/* stops the vCPU */
	}
}

