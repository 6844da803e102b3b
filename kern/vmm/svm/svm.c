/*
 * AMD SVM backend: VMCB setup, ASIDs, nested paging, the run op and the
 * context hooks. Exit decoding is in svm_exit.c; the world switch in
 * svm_run.asm.
 */
#include "svm.h"
#include "../../cpu.h"
#include "../../x86.h"
#include "../../pmem.h"
#include "../../kmem.h"
#include "../../panic.h"
#include "../../console.h"
#include "../../trace.h"
#include "../../fpu.h"

struct svm_cpu {
	paddr_t sc_hsave;		/* VM_HSAVE_PA page */
	paddr_t sc_host_save;		/* VMSAVE area for the host's state */
	u32 sc_asid_next;		/* next free ASID this generation */
	u64 sc_asid_gen;		/* bumped when the ASIDs run out */
	bool sc_has_tsc_aux;		/* the CPU has RDTSCP (TSC_AUX) */
	u64 sc_host_tsc_aux;		/* the host's TSC_AUX here */
};

struct svm_vm {
	paddr_t sm_iopm;		/* 12 KiB: every port intercepted */
	paddr_t sm_msrpm;		/* 8 KiB: every MSR intercepted */
};

bool svm_has_nrip;
static u32 svm_nasid;
static bool svm_has_clean;

void svm_run(struct svm_gregs *, paddr_t vmcb, paddr_t host_save);
static u64 *gpr(struct svm_vcpu *, enum vm_reg);

static bool
svm_probe(char *why, size_t len)
{
	u32 a, b, c, d;

	cpuid(0x80000000, 0, &a, &b, &c, &d);
	if (a < 0x8000000a) {
		ksnprintf(why, len, "no CPUID leaf 0x8000000a");
		return (false);
	}
	cpuid(0x80000001, 0, &a, &b, &c, &d);
	if ((c & (1U << 2)) == 0) {
		ksnprintf(why, len, "CPU has no SVM");
		return (false);
	}
	if ((rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) != 0) {
		ksnprintf(why, len, "SVM disabled by firmware (VM_CR.SVMDIS)");
		return (false);
	}
	cpuid(0x8000000a, 0, &a, &b, &c, &d);
	if ((d & 1) == 0) {
		ksnprintf(why, len, "SVM without nested paging");
		return (false);
	}
	return (true);
}

static void
svm_init(void)
{
	u32 a, b, c, d;

	cpuid(0x8000000a, 0, &a, &b, &c, &d);
	svm_nasid = b;
	svm_has_nrip = (d & (1U << 3)) != 0;
	svm_has_clean = (d & (1U << 5)) != 0;
	cmn_err(CE_NOTE, "svm: revision %u, %u ASIDs, nrip=%d, vmcb-clean=%d",
	    a & 0xff, b, svm_has_nrip, svm_has_clean);
}

static void
svm_cpu_init(void)
{
	cpu_t *cp = CPU;
	struct svm_cpu *sc = kmem_zalloc(sizeof (*sc), KM_SLEEP);

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	sc->sc_hsave = page_alloc(KM_PANIC);
	sc->sc_host_save = page_alloc(KM_PANIC);
	wrmsr(MSR_VM_HSAVE_PA, sc->sc_hsave);
	sc->sc_has_tsc_aux = vmm_host_has_tsc_aux();
	if (sc->sc_has_tsc_aux)
		sc->sc_host_tsc_aux = rdmsr(MSR_TSC_AUX);
	sc->sc_asid_next = 1;
	sc->sc_asid_gen = 1;
	cp->cpu_vmm = sc;
}

static int
svm_vm_init(struct vm *vm)
{
	struct svm_vm *sm = kmem_zalloc(sizeof (*sm), KM_SLEEP);

	sm->sm_iopm = page_alloc_contig(3, PAGESIZE, KM_SLEEP);
	sm->sm_msrpm = page_alloc_contig(2, PAGESIZE, KM_SLEEP);
	memset(phys_to_virt(sm->sm_iopm), 0xff, 3 * PAGESIZE);
	memset(phys_to_virt(sm->sm_msrpm), 0xff, 2 * PAGESIZE);
	/* The planted bug: TSC_AUX (0xc0000103) read without an exit, and
	 * (svm_vmrun) never switched. MSRs 0xc0000000.. start at byte
	 * 0x800, two bits each. */
	if (unlikely(vmm_inject_msr_passthrough))
		((u8 *)phys_to_virt(sm->sm_msrpm))[0x800 + 0x103 / 4] &=
		    (u8)~(1U << (0x103 % 4 * 2));
	vm->vm_backend = sm;
	return (0);
}

static void
svm_vm_cleanup(struct vm *vm)
{
	struct svm_vm *sm = vm->vm_backend;

	page_free_contig(sm->sm_iopm, 3);
	page_free_contig(sm->sm_msrpm, 2);
	kmem_free(sm, sizeof (*sm));
	vm->vm_backend = NULL;
}

static void
set_seg(struct svm_vcpu *sv, u32 off, u16 sel, u16 attr, u32 limit, u64 base)
{
	*(u16 *)(sv->sv_vmcb + off) = sel;
	*(u16 *)(sv->sv_vmcb + off + 2) = attr;
	*(u32 *)(sv->sv_vmcb + off + 4) = limit;
	*(u64 *)(sv->sv_vmcb + off + 8) = base;
}

/*
 * Intercepts and the guest's first state: a boot sector started by a BIOS
 * (real mode, CS:IP = 0000:7C00, SP = 7C00, interrupts off).
 */
static int
svm_vcpu_init(struct vcpu *vcpu)
{
	struct svm_vcpu *sv = kmem_zalloc(sizeof (*sv), KM_SLEEP);
	struct svm_vm *sm = vcpu->vc_vm->vm_backend;

	sv->sv_vmcb_pa = page_alloc(KM_SLEEP);
	sv->sv_vmcb = phys_to_virt(sv->sv_vmcb_pa);
	sv->sv_asid_cpu = -1;
	sv->sv_lastcpu = -1;
	sv->sv_tsc_aux_hw = SVM_TSC_AUX_HOST;
	vcpu->vc_backend = sv;
	for (int r = 0; r < VM_NGPR; r++)
		vcpu->vc_gpr[r] = gpr(sv, (enum vm_reg)r);
	/* No CR4 write intercepted: the guest's OSXSAVE could be set unseen,
	 * so its XCR0 goes with its FPU from the start (vm_xcr0_follow_cr4). */
	vcpu->vc_xcr0_live = fpu_has_xsave && !vmm_inject_xcr0_unseen;

	/*
	 * A guest double fault ends the guest: Bochs's SVM turns the triple
	 * fault that would follow into an emulator panic instead of the
	 * SHUTDOWN intercept, so we stop one step earlier, everywhere.
	 */
	*vmcb32(sv, VMCB_INTERCEPT_EXC) = (1U << 8) | (1U << 18);
	/* CR8 is the vCPU's APIC TPR (the core's), not V_TPR alone. */
	*vmcb32(sv, VMCB_INTERCEPT_CR) = INTERCEPT_CR8_READ |
	    INTERCEPT_CR8_WRITE;
	/* DR7 (and DR5, its alias) is virtual (vm_handle_dr): QEMU 7.2
	 * dies of a guest's. */
	*vmcb32(sv, VMCB_INTERCEPT_DR) = (1U << 5) | (1U << 7) |
	    (1U << (16 + 5)) | (1U << (16 + 7));
	/*
	 * Writes to CR0 that change more than TS or MP are checked in the
	 * core (vm_handle_cr0) as the CPU checks them: QEMU 7.2 lets a guest
	 * clear PG in 64-bit mode or set NW without CD, and the first hangs
	 * the host CPU, the second fails the next VMRUN.
	 */
	*vmcb32(sv, VMCB_INTERCEPT_MISC1) = INTERCEPT_CR0_SEL_WRITE |
	    INTERCEPT_INTR | INTERCEPT_NMI |
	    INTERCEPT_SMI | INTERCEPT_INIT | INTERCEPT_CPUID | INTERCEPT_HLT |
	    INTERCEPT_RDPMC |
	    INTERCEPT_INVD | INTERCEPT_INVLPGA |
	    INTERCEPT_IOIO | INTERCEPT_MSR | INTERCEPT_SHUTDOWN;
	/* The SVM instructions are the host's: a guest's raise #UD (its
	 * INVLPGA would flush any ASID's TLB entries, the host's too). */
	*vmcb32(sv, VMCB_INTERCEPT_MISC2) = INTERCEPT_VMRUN |
	    INTERCEPT_VMMCALL | INTERCEPT_VMLOAD | INTERCEPT_VMSAVE |
	    INTERCEPT_STGI | INTERCEPT_CLGI | INTERCEPT_SKINIT |
	    INTERCEPT_WBINVD | INTERCEPT_MONITOR | INTERCEPT_MWAIT |
	    INTERCEPT_XSETBV;
	*vmcb64(sv, VMCB_IOPM_BASE) = sm->sm_iopm;
	*vmcb64(sv, VMCB_MSRPM_BASE) = sm->sm_msrpm;
	/* Host interrupts stay under the host's RFLAGS.IF: they exit. */
	*vmcb64(sv, VMCB_VINTR) = VINTR_MASKING;
	*vmcb64(sv, VMCB_NP_ENABLE) = 1;
	*vmcb64(sv, VMCB_N_CR3) = vcpu->vc_vm->vm_gpt.gpt_root;
	*vmcb64(sv, VMCB_G_PAT) = 0x0007040600070406UL;

	set_seg(sv, VMCB_CS, 0, 0x9b, 0xffff, 0);
	set_seg(sv, VMCB_DS, 0, 0x93, 0xffff, 0);
	set_seg(sv, VMCB_ES, 0, 0x93, 0xffff, 0);
	set_seg(sv, VMCB_SS, 0, 0x93, 0xffff, 0);
	set_seg(sv, VMCB_FS, 0, 0x93, 0xffff, 0);
	set_seg(sv, VMCB_GS, 0, 0x93, 0xffff, 0);
	set_seg(sv, VMCB_GDTR, 0, 0, 0xffff, 0);
	set_seg(sv, VMCB_IDTR, 0, 0, 0x3ff, 0);
	set_seg(sv, VMCB_LDTR, 0, 0x82, 0xffff, 0);
	/*
	 * TR as an available 32-bit TSS (type 9), not the busy one (11) of
	 * a CPU's reset: QEMU 7.2 keeps a loaded TR's type as it was before
	 * LTR set the busy bit, and aborts the whole emulator ("invalid tss
	 * type", get_ss_esp_from_tss) when a guest that never ran LTR takes
	 * an interrupt in virtual-8086 mode with a busy one. VMRUN checks no
	 * TR type, and a guest sees TR's type only through such a delivery.
	 */
	set_seg(sv, VMCB_TR, 0, 0x89, 0xffff, 0);
	*vmcb64(sv, VMCB_CR0) = CR0_NE | (1UL << 4);	/* NE, ET */
	*vmcb64(sv, VMCB_EFER) = EFER_SVME;		/* required by VMRUN */
	*vmcb64(sv, VMCB_DR6) = 0xffff0ff0;
	*vmcb64(sv, VMCB_DR7) = 0x400;
	*vmcb64(sv, VMCB_RFLAGS) = 0x2;
	*vmcb64(sv, VMCB_RIP) = 0x7c00;
	*vmcb64(sv, VMCB_RSP) = 0x7c00;
	return (0);
}

static void
svm_vcpu_cleanup(struct vcpu *vcpu)
{
	struct svm_vcpu *sv = vcpu->vc_backend;

	page_free(sv->sv_vmcb_pa);
	kmem_free(sv, sizeof (*sv));
	vcpu->vc_backend = NULL;
	memset(vcpu->vc_gpr, 0, sizeof (vcpu->vc_gpr));
}

/*
 * An ASID is good on one CPU for one generation. A vCPU that comes to a
 * CPU (first time, after a migration, or after the CPU ran out of ASIDs
 * and started a new generation) takes a fresh one; running out flushes
 * the whole TLB of that CPU.
 */
static u8
svm_pick_asid(struct vcpu *vcpu, struct svm_vcpu *sv)
{
	cpu_t *cp = CPU;
	struct svm_cpu *sc = cp->cpu_vmm;
	u8 flush = TLB_FLUSH_NOTHING;

	if (sv->sv_asid_cpu == cp->cpu_id && sv->sv_asid_gen == sc->sc_asid_gen)
		return (flush);
	if (sc->sc_asid_next >= svm_nasid) {
		sc->sc_asid_gen++;
		sc->sc_asid_next = 1;
		flush = TLB_FLUSH_ALL;
	}
	/*
	 * New to this CPU: whatever it cached of this VMCB (if anything)
	 * may be older than the VMCB, so every clean bit goes. A new
	 * generation on the same CPU changes the ASID only.
	 */
	if (sv->sv_asid_cpu != cp->cpu_id)
		sv->sv_clean = 0;
	else
		sv->sv_clean &= ~VMCB_CLEAN_ASID;
	sv->sv_asid = sc->sc_asid_next++;
	sv->sv_asid_gen = sc->sc_asid_gen;
	sv->sv_asid_cpu = cp->cpu_id;
	*vmcb32(sv, VMCB_ASID) = sv->sv_asid;
	vmm_stat_incr(vcpu, ASID_NEW);
	TRACE(TR_ASID_NEW, vcpu, sv->sv_asid);
	return (flush);
}

static void
svm_vmrun(struct vcpu *vcpu, struct vm_exit *vme)
{
	struct svm_vcpu *sv = vcpu->vc_backend;
	struct svm_cpu *sc = CPU->cpu_vmm;

	*(u8 *)(sv->sv_vmcb + VMCB_TLB_CONTROL) = svm_pick_asid(vcpu, sv);
	sv->sv_clean_seen &= sv->sv_clean;
	*vmcb32(sv, VMCB_CLEAN) = svm_has_clean ? sv->sv_clean : 0;
	/*
	 * A CR2 the host set (a #PF it injects) also goes into the CPU's
	 * CR2: VMRUN loads CR2 from the VMCB, but Bochs's SVM reads the
	 * field and never loads it (docs/platforms.md), so its guest would
	 * see the host's CR2. Harmless on hardware; interrupts are off.
	 */
	if ((sv->sv_clean & VMCB_CLEAN_CR2) == 0)
		__asm__ __volatile__("mov %0, %%cr2" ::
		    "r"(*vmcb64(sv, VMCB_CR2)) : "memory");
	/*
	 * TSC_AUX is the guest's while it runs: VMRUN switches nothing of
	 * it, and the guest reads it with RDTSCP and RDPID (RDPID has no
	 * intercept; QEMU 7.2 ignores RDTSCP's). Loaded here, the host's put
	 * back by svm_savectx (the host itself never reads it).
	 */
	if (unlikely(sv->sv_tsc_aux_hw != vcpu->vc_tsc_aux)) {
		if (sc->sc_has_tsc_aux && !unlikely(vmm_inject_msr_passthrough))
			wrmsr(MSR_TSC_AUX, vcpu->vc_tsc_aux);
		sv->sv_tsc_aux_hw = vcpu->vc_tsc_aux;
	}
	/* What VMRUN's checks look at (svm_check.c), but DR7 (virtual) and
	 * CR3 (a guest's bad one fails its own MOV). */
	sv->sv_entry = (struct svm_entry_state){ *vmcb64(sv, VMCB_CR0),
	    *vmcb64(sv, VMCB_CR4), *vmcb64(sv, VMCB_EFER),
	    *vmcb64(sv, VMCB_DR6), *(u16 *)(sv->sv_vmcb + VMCB_CS + 2) };
	TRACE(TR_VMENTRY, vcpu, TR_ENTRY_VMRUN);
	__asm__ __volatile__("clgi; sti" ::: "memory");
	svm_run(&sv->sv_gregs, sv->sv_vmcb_pa, sc->sc_host_save);
	__asm__ __volatile__("cli; stgi" ::: "memory");
	/*
	 * The CPU's cached copy now matches the VMCB, the fields #VMEXIT
	 * wrote included: every defined group is clean until the host
	 * changes one (svm_setreg, svm_pick_asid, svm_restorectx).
	 */
	sv->sv_clean = VMCB_CLEAN_ALL;
	/* An event not delivered is in EXITINTINFO now; vm_run reinjects.
	 * (The one tried is kept for a failed VMRUN's message.) */
	sv->sv_eventinj_tried = *vmcb64(sv, VMCB_EVENTINJ);
	*vmcb64(sv, VMCB_EVENTINJ) = 0;
	svm_decode_exit(vcpu, vme);
	if (vme->exitintinfo.type == VM_EVENT_NMI)
		sv->sv_nmi_blocked = false;	/* its handler never ran */
}

/*
 * vm_exit_floor's loop: svm_vmrun less the trace, the CR2 copy and the
 * decode. RIP steps over a CPUID (two bytes, architecturally) or an OUT
 * (EXITINFO2 has the next RIP: SVM gives it for IOIO without NRIP).
 */
static u32
svm_floor(struct vcpu *vcpu, struct vm_exit *vme)
{
	struct svm_vcpu *sv = vcpu->vc_backend;
	struct svm_cpu *sc = CPU->cpu_vmm;
	u32 n = 0;

	for (;;) {
		*(u8 *)(sv->sv_vmcb + VMCB_TLB_CONTROL) =
		    svm_pick_asid(vcpu, sv);
		*vmcb32(sv, VMCB_CLEAN) = svm_has_clean ? sv->sv_clean : 0;
		__asm__ __volatile__("clgi; sti" ::: "memory");
		svm_run(&sv->sv_gregs, sv->sv_vmcb_pa, sc->sc_host_save);
		__asm__ __volatile__("cli; stgi" ::: "memory");
		sv->sv_clean = VMCB_CLEAN_ALL;
		u64 code = *vmcb64(sv, VMCB_EXITCODE);
		if (code == VMEXIT_CPUID)
			*vmcb64(sv, VMCB_RIP) += 2;
		else if (code == VMEXIT_IOIO &&
		    (*vmcb64(sv, VMCB_EXITINFO1) & (IOIO_IN | IOIO_STR)) == 0)
			*vmcb64(sv, VMCB_RIP) = *vmcb64(sv, VMCB_EXITINFO2);
		else
			break;
		n++;
	}
	svm_decode_exit(vcpu, vme);
	return (n);
}

/* vm_skip_insn: RIP and the shadow are VMCB fields with no clean bit. */
static void
svm_advance(struct vcpu *vcpu, u64 rip)
{
	struct svm_vcpu *sv = vcpu->vc_backend;

	*vmcb64(sv, VMCB_RIP) = rip;
	*vmcb64(sv, VMCB_INTR_SHADOW) &= ~(u64)INTR_SHADOW_ACTIVE;
}

static void
svm_inject(struct vcpu *vcpu, const struct vm_event *ev)
{
	struct svm_vcpu *sv = vcpu->vc_backend;
	u64 type;

	switch (ev->type) {
	case VM_EVENT_EXTINT:	type = EVENT_TYPE_INTR; break;
	case VM_EVENT_NMI:	type = EVENT_TYPE_NMI; break;
	case VM_EVENT_SOFTINT:	type = EVENT_TYPE_SOFTINT; break;
	/* INT3/INTO count as exceptions here: the CPU restarts nothing. */
	default:		type = EVENT_TYPE_EXCEPTION; break;
	}
	u64 inj = ev->vector | (type << EVENT_TYPE_SHIFT) | EVENT_VALID;
	if (ev->has_errcode)
		inj |= EVENT_EV | ((u64)ev->errcode << 32);
	*vmcb64(sv, VMCB_EVENTINJ) = inj;
	if (ev->type == VM_EVENT_NMI)
		sv->sv_nmi_blocked = true;
}

/*
 * The interrupt window is a virtual interrupt the guest takes as soon as
 * its IF and shadow allow, intercepted (VINTR) before it is delivered;
 * the NMI window is the IRET that ends the running NMI handler.
 */
static void
svm_set_windows(struct vcpu *vcpu, bool intr, bool nmi)
{
	struct svm_vcpu *sv = vcpu->vc_backend;
	u32 *misc1 = vmcb32(sv, VMCB_INTERCEPT_MISC1);

	if (intr != sv->sv_intr_window) {
		u64 *vintr = vmcb64(sv, VMCB_VINTR);
		if (intr) {
			*vintr |= VINTR_V_IRQ | VINTR_PRIO_MAX | VINTR_IGN_TPR;
			*misc1 |= INTERCEPT_VINTR;
		} else {
			*vintr &= ~(VINTR_V_IRQ | VINTR_PRIO_MAX | VINTR_IGN_TPR);
			*misc1 &= ~INTERCEPT_VINTR;
		}
		sv->sv_intr_window = intr;
		sv->sv_clean &= ~(VMCB_CLEAN_TPR | VMCB_CLEAN_I);
	}
	if (nmi != sv->sv_nmi_window) {
		if (nmi)
			*misc1 |= INTERCEPT_IRET;
		else
			*misc1 &= ~INTERCEPT_IRET;
		sv->sv_nmi_window = nmi;
		sv->sv_clean &= ~VMCB_CLEAN_I;
	}
}

static u64 *
gpr(struct svm_vcpu *sv, enum vm_reg r)
{
	switch (r) {
	case VM_REG_RBX: return (&sv->sv_gregs.rbx);
	case VM_REG_RCX: return (&sv->sv_gregs.rcx);
	case VM_REG_RDX: return (&sv->sv_gregs.rdx);
	case VM_REG_RSI: return (&sv->sv_gregs.rsi);
	case VM_REG_RDI: return (&sv->sv_gregs.rdi);
	case VM_REG_RBP: return (&sv->sv_gregs.rbp);
	case VM_REG_R8: return (&sv->sv_gregs.r8);
	case VM_REG_R9: return (&sv->sv_gregs.r9);
	case VM_REG_R10: return (&sv->sv_gregs.r10);
	case VM_REG_R11: return (&sv->sv_gregs.r11);
	case VM_REG_R12: return (&sv->sv_gregs.r12);
	case VM_REG_R13: return (&sv->sv_gregs.r13);
	case VM_REG_R14: return (&sv->sv_gregs.r14);
	case VM_REG_R15: return (&sv->sv_gregs.r15);
	case VM_REG_RAX: return (vmcb64(sv, VMCB_RAX));
	case VM_REG_RSP: return (vmcb64(sv, VMCB_RSP));
	case VM_REG_RIP: return (vmcb64(sv, VMCB_RIP));
	case VM_REG_RFLAGS: return (vmcb64(sv, VMCB_RFLAGS));
	case VM_REG_CR0: return (vmcb64(sv, VMCB_CR0));
	case VM_REG_CR2: return (vmcb64(sv, VMCB_CR2));
	case VM_REG_CR3: return (vmcb64(sv, VMCB_CR3));
	case VM_REG_CR4: return (vmcb64(sv, VMCB_CR4));
	case VM_REG_EFER: return (vmcb64(sv, VMCB_EFER));
	case VM_REG_STAR: return (vmcb64(sv, VMCB_STAR));
	case VM_REG_LSTAR: return (vmcb64(sv, VMCB_LSTAR));
	case VM_REG_CSTAR: return (vmcb64(sv, VMCB_CSTAR));
	case VM_REG_SFMASK: return (vmcb64(sv, VMCB_SFMASK));
	case VM_REG_KGS_BASE: return (vmcb64(sv, VMCB_KGS_BASE));
	/* VMLOAD state, like KERNEL_GS_BASE: no clean bit. */
	case VM_REG_FS_BASE: return (vmcb64(sv, VMCB_FS + 8));
	case VM_REG_GS_BASE: return (vmcb64(sv, VMCB_GS + 8));
	default:
		panic("svm: no register %d", r);
	}
}

static u64
svm_getreg(struct vcpu *vcpu, enum vm_reg r)
{
	struct svm_vcpu *sv = vcpu->vc_backend;

	if (r == VM_REG_INTR_SHADOW)
		return ((*vmcb64(sv, VMCB_INTR_SHADOW) & INTR_SHADOW_ACTIVE) != 0);
	if (r == VM_REG_NMI_BLOCKED)
		return (sv->sv_nmi_blocked);
	u64 v = *gpr(sv, r);

	/* SVME is ours (VMRUN requires it); the guest never sees it. */
	return (r == VM_REG_EFER ? v & ~EFER_SVME : v);
}

/* The VMCB's segment fields: selector, attrib, limit, base (16 bytes). */
/* Each segment's 16-byte VMCB slot: selector, attributes, limit, base. */
static const u32 seg_off[VM_SEG_LAST] = { VMCB_ES, VMCB_CS, VMCB_SS,
    VMCB_DS, VMCB_FS, VMCB_GS, VMCB_GDTR, VMCB_IDTR };

static void
svm_getseg(struct vcpu *vcpu, enum vm_seg seg, struct vm_seg_desc *d)
{
	struct svm_vcpu *sv = vcpu->vc_backend;
	const u8 *p = sv->sv_vmcb + seg_off[seg];

	d->vsd_sel = *(const u16 *)p;
	d->vsd_attr = *(const u16 *)(p + 2);
	d->vsd_limit = *(const u32 *)(p + 4);
	d->vsd_base = *(const u64 *)(p + 8);
}

/* The VMCB holds the attributes packed as vm_seg_desc does: a copy. */
static void
svm_setseg(struct vcpu *vcpu, enum vm_seg seg, const struct vm_seg_desc *d)
{
	struct svm_vcpu *sv = vcpu->vc_backend;
	u8 *p = sv->sv_vmcb + seg_off[seg];

	if (seg != VM_SEG_GDTR && seg != VM_SEG_IDTR) {
		*(u16 *)p = d->vsd_sel;
		*(u16 *)(p + 2) = d->vsd_attr;
	}
	*(u32 *)(p + 4) = d->vsd_limit;
	*(u64 *)(p + 8) = d->vsd_base;
	sv->sv_clean &= (seg == VM_SEG_GDTR || seg == VM_SEG_IDTR) ?
	    ~VMCB_CLEAN_DT : ~VMCB_CLEAN_SEG;
}

static void
svm_setreg(struct vcpu *vcpu, enum vm_reg r, u64 v)
{
	struct svm_vcpu *sv = vcpu->vc_backend;

	if (r == VM_REG_INTR_SHADOW) {
		*vmcb64(sv, VMCB_INTR_SHADOW) = v != 0 ? INTR_SHADOW_ACTIVE : 0;
		return;
	}
	if (r == VM_REG_NMI_BLOCKED) {
		sv->sv_nmi_blocked = v != 0;
		return;
	}
	if (r == VM_REG_EFER)
		v |= EFER_SVME;
	*gpr(sv, r) = v;
	/* RAX, RSP, RIP and RFLAGS are loaded on every VMRUN: no bit. */
	if (r == VM_REG_CR2)
		sv->sv_clean &= ~VMCB_CLEAN_CR2;
	else if (r == VM_REG_CR0 || r == VM_REG_CR3 || r == VM_REG_CR4 ||
	    r == VM_REG_EFER)
		sv->sv_clean &= ~VMCB_CLEAN_CRX;
}

/*
 * bhyvelet VMLOADs the host's FS/GS/TR/syscall MSRs right after every
 * exit (svm_run.asm), so there is nothing to put back here: the hook
 * notes the CPU, which svm_restorectx compares against.
 */
static void
svm_savectx(struct vcpu *vcpu)
{
	struct svm_vcpu *sv = vcpu->vc_backend;

	TRACE(TR_SVM_SAVECTX, vcpu, CPU->cpu_id);
	sv->sv_lastcpu = CPU->cpu_id;
	if (sv->sv_tsc_aux_hw != SVM_TSC_AUX_HOST) {
		struct svm_cpu *sc = CPU->cpu_vmm;
		if (sc->sc_has_tsc_aux)
			wrmsr(MSR_TSC_AUX, sc->sc_host_tsc_aux);
		sv->sv_tsc_aux_hw = SVM_TSC_AUX_HOST;
	}
}

/* On another CPU: a new ASID there, and every VMCB clean bit dirty. */
static void
svm_restorectx(struct vcpu *vcpu)
{
	struct svm_vcpu *sv = vcpu->vc_backend;

	TRACE(TR_SVM_RESTORECTX, vcpu, CPU->cpu_id);
	if (sv->sv_lastcpu != CPU->cpu_id) {
		sv->sv_asid_cpu = -1;
		sv->sv_clean = 0;
	}
}

static u64
npt_table(paddr_t next)
{
	return (next | NPT_PTE_P | NPT_PTE_RW | NPT_PTE_US);
}

static u64
npt_leaf(paddr_t page)
{
	return (page | NPT_PTE_P | NPT_PTE_RW | NPT_PTE_US);
}

/* PAT index 0 (WB) as the 4 KiB leaves; every NPT CPU has 2 MiB leaves. */
static u64
npt_leaf_2m(paddr_t page)
{
	return (page | NPT_PTE_P | NPT_PTE_RW | NPT_PTE_US | NPT_PTE_PS);
}

static bool
npt_large(u64 pde)
{
	return ((pde & NPT_PTE_PS) != 0);
}

static bool
npt_present(u64 pte)
{
	return ((pte & NPT_PTE_P) != 0);
}

static paddr_t
npt_addr(u64 pte)
{
	return (pte & 0x000ffffffffff000UL);
}

static const struct vmm_pte_ops npt_pte_ops = {
	.pte_table = npt_table,
	.pte_leaf = npt_leaf,
	.pte_leaf_2m = npt_leaf_2m,
	.pte_present = npt_present,
	.pte_large = npt_large,
	.pte_addr = npt_addr,
};

const struct vmm_ops vmm_ops_svm = {
	.name = "svm",
	.probe = svm_probe,
	.init = svm_init,
	.cpu_init = svm_cpu_init,
	.vm_init = svm_vm_init,
	.vm_cleanup = svm_vm_cleanup,
	.vcpu_init = svm_vcpu_init,
	.vcpu_cleanup = svm_vcpu_cleanup,
	.vmrun = svm_vmrun,
	.getreg = svm_getreg,
	.setreg = svm_setreg,
	.getseg = svm_getseg,
	.setseg = svm_setseg,
	.inject = svm_inject,
	.set_windows = svm_set_windows,
	.savectx = svm_savectx,
	.restorectx = svm_restorectx,
	.advance = svm_advance,
	.floor = svm_floor,
	.pte_ops = &npt_pte_ops,
};
