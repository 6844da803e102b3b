/*
 * VM_RUN and the vCPU's context operations (see docs/vmm.md).
 *
 * A vCPU thread calls vm_run(). On entry the vCPU's ctxop (allocated once,
 * when the vCPU was created) is attached to the thread; from then until the
 * final save the guest's FPU state and the backend's per-CPU state (VMCB
 * ASID, current VMCS) stay loaded whenever the thread runs: vmm_savectx
 * puts them away when the thread is switched out, vmm_restorectx brings
 * them back when it is switched in, on whatever CPU. On the way out the
 * ctxop is detached and the final save done in one non-preemptible
 * section. Exits the kernel can finish (CPUID, MSRs, HLT, hypercalls,
 * XSETBV, nested page faults on RAM, host interrupts) loop without
 * leaving; the rest (port I/O, shutdown, failures) return to the caller.
 */
#include "vmm.h"
#include "vmm_dev.h"
#include "../ctx/ctxop.h"
#include "../thread.h"
#include "../cpu.h"
#include "../kmem.h"
#include "../pmem.h"
#include "../panic.h"
#include "../console.h"
#include "../trace.h"
#include "../x86.h"
#include "../tunable.h"

const struct vmm_ops *vmm_ops;
u64 vmm_total_attach, vmm_total_detach;
u64 vmm_switch_in_window, vmm_migrate_in_window;

/* Switches (tunable.h); the exit handlers' are in vmm_exit.c. */
KTUNABLE_TEST(vmm_inject_critical_yield, "vm_run yields inside the "
    "critical section around every 64th entry, with the guest FPU loaded "
    "(vmm_restorectx must bring it back, after the host's: the legacy "
    "restore order must then be caught)");
KTUNABLE_TEST(vmm_inject_detach_gap, "vm_run lets a switch fall between "
    "detach and the final save (the check in swtch() must catch it)");

#define	VMM_STAT_EXIT_DESC(code, name, desc)	desc,
#define	VMM_STAT_EXIT_NAME(code, name, desc)	"VMEXIT_" #code,
#define	VMM_STAT_DESC(id, desc)			desc,
#define	VMM_STAT_NAME(id, desc)			#id,
const char *const vmm_stat_desc[VMM_NSTATS] = {
	"exits not decoded", VM_EXITS(VMM_STAT_EXIT_DESC)
	VMM_STATS(VMM_STAT_DESC)
};
const char *const vmm_stat_name[VMM_NSTATS] = {
	"VMEXIT_NONE", VM_EXITS(VMM_STAT_EXIT_NAME) VMM_STATS(VMM_STAT_NAME)
};

#define	VM_EXIT_NAME(code, name, desc)	name,
static const char *const exitcode_names[VM_EXIT_NCODES] = {
	"none", VM_EXITS(VM_EXIT_NAME)
};

const char *
vm_exitcode_name(enum vm_exitcode c)
{
	return (c < VM_EXIT_NCODES ? exitcode_names[c] : "?");
}

static kmutex_t vm_list_lock;
static struct vm *vm_list;		/* vm_list_lock */

void
vmm_init(void)
{
	static const struct vmm_ops *const backends[] = {
		&vmm_ops_svm, &vmm_ops_vmx
	};
	char why[120], all[260] = "";

	mutex_init(&vm_list_lock, "vm list");
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
		why[0] = '\0';
		if (backends[i]->probe(why, sizeof (why))) {
			vmm_ops = backends[i];
			vmm_ops->init();
			vmm_cpuid_init();
			vm_intr_init();
			cmn_err(CE_NOTE, "vmm: backend %s", vmm_ops->name);
			return;
		}
		size_t n = strlen(all);
		ksnprintf(all + n, sizeof (all) - n, "%s%s: %s",
		    n > 0 ? "; " : "", backends[i]->name, why);
	}
	cmn_err(CE_NOTE, "vmm: no backend (%s)", all);
}

/*
 * The host uses neither SYSCALL nor SWAPGS nor RDTSCP, so LSTAR, CSTAR,
 * KERNEL_GS_BASE and TSC_AUX hold nothing of its own. A host that did
 * would keep its entry points, per-CPU pointers and CPU numbers there:
 * the very values a guest must never read. Each CPU gets such values,
 * distinct per CPU, before the backend saves the host's MSRs, so the
 * fuzzer's isolation check (kern/vmm/fuzz/fuzz.c) has something to look
 * for.
 */
static void
vmm_host_canaries(void)
{
	u64 c = (u64)CPU->cpu_id;

	wrmsr(MSR_LSTAR, 0xffffffff81c0de00ULL + c);
	wrmsr(MSR_CSTAR, 0xffffffff81c0df00ULL + c);
	wrmsr(MSR_KGS_BASE, 0xffff88805ec7e700ULL + c);
	if (vmm_host_has_tsc_aux())
		wrmsr(MSR_TSC_AUX, 0x5ec7a000U + (u32)c);
}

void
vmm_cpu_init(void)
{
	if (vmm_ops == NULL)
		return;
	vmm_host_canaries();
	vmm_ops->cpu_init();
}

/* ---- guest FPU ----------------------------------------------------- */

/*
 * The host's registers go into vc_host_fpu and the guest's come out of
 * vc_guest_fpu. Both areas are saved and loaded under the host's XCR0
 * (every component), and the guest's XCR0 is live only while its state
 * is: a guest XCR0 of x87 alone must not make XSAVE drop its XMM
 * registers, which SSE code can use whatever XCR0 says. Called with
 * preemption disabled (at the top of the run loop, or from
 * vmm_restorectx) on a CPU that holds no guest's FPU; the save, on the
 * CPU that holds this vCPU's.
 */
void
restore_guest_fpustate(struct vcpu *vcpu)
{
	VERIFY(kpreempt_disabled(), "restore_guest_fpustate: %s with "
	    "preemption enabled", vcpu->vc_name);
	ASSERT3P(CPU->cpu_guest_fpu, ==, NULL);
	TRACE(TR_GUEST_FPU_RESTORE, vcpu, 0);
	/*
	 * Plain XSAVE for the host area: its first save may come right after
	 * fpu_area_init filled a recycled buffer, and XSAVEOPT would skip
	 * components if that address was this CPU's last XRSTOR source.
	 */
	if (vcpu->vc_host_fpu_owned)
		fpu_xsave_raw(vcpu->vc_host_fpu.fa_buf);
	fpu_restore(&vcpu->vc_guest_fpu);
	if (vcpu->vc_xcr0_live && vcpu->vc_guest_xcr0 != fpu_xcr0) {
		fpu_xsetbv(vcpu->vc_guest_xcr0);
		vmm_stat_incr(vcpu, XCR0_SWITCHES);
	}
	CPU->cpu_guest_fpu = vcpu;
}

/*
 * The mirror: host XCR0 back, guest registers saved, host's loaded. The
 * guest's XCR0 is read back rather than trusted: QEMU's TCG does not
 * intercept XSETBV, so a guest there sets XCR0 directly (as bhyve does,
 * we take whatever is live).
 */
void
save_guest_fpustate(struct vcpu *vcpu)
{
	VERIFY(kpreempt_disabled(), "save_guest_fpustate: %s with "
	    "preemption enabled", vcpu->vc_name);
	ASSERT3P(CPU->cpu_guest_fpu, ==, vcpu);
	TRACE(TR_GUEST_FPU_SAVE, vcpu, 0);
	if (vcpu->vc_xcr0_live) {
		vcpu->vc_guest_xcr0 = fpu_xgetbv(0);
		if (vcpu->vc_guest_xcr0 != fpu_xcr0) {
			fpu_xsetbv(fpu_xcr0);
			vmm_stat_incr(vcpu, XCR0_SWITCHES);
		}
	}
	fpu_save(&vcpu->vc_guest_fpu);
	if (vcpu->vc_host_fpu_owned)
		fpu_restore(&vcpu->vc_host_fpu);
	CPU->cpu_guest_fpu = NULL;
}

/*
 * The guest's XCR0 goes live with its FPU only once the guest can see it.
 * While the guest's CR4.OSXSAVE is clear, XGETBV, XSETBV and the XSAVE
 * family raise #UD, and AVX with them, so the host's XCR0 can stay under
 * it: a guest that never sets OSXSAVE (a boot sector, the bench guest)
 * pays no XSETBV in and out of each VM_RUN. vc_xcr0_live turns on when
 * the guest's OSXSAVE is seen set and stays on, which needs the backend
 * to see every guest write that sets it: VMX keeps OSXSAVE in the CR4
 * guest/host mask, so such a mov exits into vm_setreg; SVM intercepts no
 * CR4 write (it would have to emulate them all, with no decode assists
 * under QEMU's TCG) and so starts live. Called with the new CR4.
 */
KTUNABLE_TEST(vmm_inject_xcr0_unseen, "the guest's XCR0 never goes live: "
    "the host's stays under a guest that set CR4.OSXSAVE (the fpu guest "
    "must catch it)");

static void
vm_xcr0_follow_cr4(struct vcpu *vcpu, u64 cr4)
{
	if ((cr4 & CR4_OSXSAVE) == 0 || vcpu->vc_xcr0_live || !fpu_has_xsave ||
	    unlikely(vmm_inject_xcr0_unseen))
		return;
	kpreempt_disable();
	vcpu->vc_xcr0_live = true;
	if ((vcpu->vtc_status & VTCS_FPU_RESTORED) != 0 &&
	    vcpu->vc_guest_xcr0 != fpu_xcr0) {
		fpu_xsetbv(vcpu->vc_guest_xcr0);
		vmm_stat_incr(vcpu, XCR0_SWITCHES);
	}
	kpreempt_enable();
}

/*
 * DR0-DR3 and DR6, which neither VM entry nor exit switches, travel with
 * the guest FPU: loaded with it (loop top, vmm_restorectx) and saved with
 * it (vmm_savectx, the final save), not around every entry. In between,
 * host code runs with the guest's addresses in DR0-DR3, inert: the exit
 * leaves DR7 with every breakpoint disabled.
 */
static void
restore_guest_dbregs(struct vcpu *vcpu)
{
	dr_read(vcpu->vc_host_dr);
	dr_write(vcpu->vc_dr);
}

static void
save_guest_dbregs(struct vcpu *vcpu)
{
	dr_read(vcpu->vc_dr);
	dr_write(vcpu->vc_host_dr);
}

/* ---- the vCPU ctxop ------------------------------------------------- */

/* Switched out (or the final save): backend first, then the guest FPU. */
static void
vmm_savectx(void *arg)
{
	struct vcpu *vcpu = arg;

	vmm_ops->savectx(vcpu);
	if ((vcpu->vtc_status & VTCS_FPU_RESTORED) != 0) {
		save_guest_fpustate(vcpu);
		save_guest_dbregs(vcpu);
		vcpu->vtc_status &= ~VTCS_FPU_RESTORED;
		if ((vcpu->vtc_status & VTCS_RUN_WINDOW) != 0) {
			vmm_stat_incr(vcpu, SWITCH_IN_WINDOW);
			atomic_inc_64(&vmm_switch_in_window);
		}
	}
}

/*
 * Switched in: the backend restores last. The guest FPU comes back here
 * only inside the critical section around the entry (as illumos's
 * VTCS_FPU_CTX_CRITICAL), where nothing should ever switch; anywhere else
 * in vm_run the loop's top brings it back when the thread is about to
 * enter the guest, so a thread that was switched out and is on its way
 * out of vm_run never loads it for nothing (docs/ctxops.md).
 */
static void
vmm_restorectx(void *arg)
{
	struct vcpu *vcpu = arg;

	VERIFY((vcpu->vtc_status & VTCS_FPU_RESTORED) == 0,
	    "vmm_restorectx: %s: guest FPU already loaded", vcpu->vc_name);
	if ((vcpu->vtc_status & VTCS_FPU_CTX_CRITICAL) != 0) {
		restore_guest_fpustate(vcpu);
		restore_guest_dbregs(vcpu);
		vcpu->vtc_status |= VTCS_FPU_RESTORED;
	}
	if ((vcpu->vtc_status & VTCS_RUN_WINDOW) != 0 &&
	    vcpu->vc_lastcpu >= 0 && vcpu->vc_lastcpu != CPU->cpu_id) {
		vmm_stat_incr(vcpu, MIGRATE_IN_WINDOW);
		atomic_inc_64(&vmm_migrate_in_window);
	}
	vmm_ops->restorectx(vcpu);
}

static const struct ctxop_template vmm_ctxop_tpl = {
	.ct_rev = CTXOP_TPL_REV,
	.ct_save = vmm_savectx,
	.ct_restore = vmm_restorectx,
};

/* ---- VMs ------------------------------------------------------------ */

void
vm_walk(bool (*fn)(struct vm *, void *), void *arg)
{
	mutex_enter(&vm_list_lock);
	for (struct vm *vm = vm_list; vm != NULL; vm = vm->vm_next)
		if (!fn(vm, arg))
			break;
	mutex_exit(&vm_list_lock);
}

struct vm *
vm_create(const char *name, u64 memsize, int nvcpus)
{
	VERIFY(vmm_ops != NULL, "vm_create: no virtualization backend");
	VERIFY(nvcpus >= 1 && nvcpus <= VM_MAXCPU, "vm_create: %d vCPUs",
	    nvcpus);
	memsize = P2ROUNDUP(memsize, PAGESIZE);
	VERIFY(memsize > 0 && memsize <= (1UL << 30),
	    "vm_create: memory size %lu", memsize);

	struct vm *vm = kmem_zalloc(sizeof (*vm), KM_SLEEP);
	strlcpy(vm->vm_name, name, sizeof (vm->vm_name));
	if (!vm_mem_create(vm, memsize)) {
		kmem_free(vm, sizeof (*vm));
		return (NULL);
	}
	vm->vm_nvcpus = nvcpus;
	VERIFY(vmm_ops->vm_init(vm) == 0, "vm_create: backend vm_init");
	for (int i = 0; i < nvcpus; i++) {
		struct vcpu *vcpu = kmem_zalloc(sizeof (*vcpu), KM_SLEEP);
		vcpu->vc_vm = vm;
		vcpu->vc_id = i;
		ksnprintf(vcpu->vc_name, sizeof (vcpu->vc_name), "%s/vcpu%d",
		    name, i);
		vcpu->vc_ctxop = ctxop_allocate(&vmm_ctxop_tpl, vcpu);
		fpu_area_init(&vcpu->vc_guest_fpu);
		fpu_area_init(&vcpu->vc_host_fpu);
		vcpu->vc_guest_xcr0 = XFEATURE_X87;	/* the reset value */
		vcpu->vc_lastcpu = -1;
		vcpu->vc_msr_pat = 0x0007040600070406UL;	/* reset */
		vcpu->vc_dr[4] = 0xffff0ff0;			/* DR6 reset */
		vcpu->vc_dr7 = 0x400;				/* DR7 reset */
		mutex_init(&vcpu->vc_wait_lock, "vcpu wait");
		vcpu->vc_guest_cpu = -1;
		callout_init(&vcpu->vc_kick);
		cv_init(&vcpu->vc_wait_cv, "vcpu wait");
		VERIFY(vmm_ops->vcpu_init(vcpu) == 0,
		    "vm_create: backend vcpu_init");
		vm->vm_vcpu[i] = vcpu;
	}
	vm_isa_create(vm);
	vm_lapic_create(vm);
	mutex_enter(&vm_list_lock);
	vm->vm_next = vm_list;
	vm_list = vm;
	mutex_exit(&vm_list_lock);
	return (vm);
}

void
vm_request_stop(struct vm *vm, const char *reason)
{
	if (!vm->vm_stop) {
		strlcpy(vm->vm_stop_reason, reason, sizeof (vm->vm_stop_reason));
		__atomic_store_n(&vm->vm_stop, true, __ATOMIC_RELEASE);
	}
	for (int i = 0; i < vm->vm_nvcpus; i++)
		vm_notify_vcpu(vm->vm_vcpu[i]);
}

/* A vCPU that runs no guest code now (paused, waiting for SIPI, dead, or
 * no thread in vm_run). */
static bool
vcpu_quiet(const struct vcpu *v)
{
	return (v->vc_snap_valid || v->vc_wait_sipi || v->vc_dead ||
	    v->vc_thread == NULL);
}

bool
vm_pause(struct vm *vm, bool pause)
{
	__atomic_store_n(&vm->vm_paused, pause, __ATOMIC_SEQ_CST);
	for (int i = 0; i < vm->vm_nvcpus; i++)
		vm_notify_vcpu(vm->vm_vcpu[i]);	/* out of guest mode, or
						   awake to see it */
	/* Synchronous, as a user expects of ::pause and ::resume: a second
	 * at most for every vCPU to leave guest mode and copy its registers
	 * (or to leave its pause). */
	for (int tries = 0; tries < (int)hz; tries++) {
		bool all = true;
		for (int i = 0; i < vm->vm_nvcpus; i++) {
			const struct vcpu *v = vm->vm_vcpu[i];
			all &= pause ? vcpu_quiet(v) : !v->vc_snap_valid;
		}
		if (all)
			return (true);
		delay(1);
	}
	return (false);
}

/*
 * The owner thread, inside vm_run: wait while the VM is paused, with a
 * copy of the registers for the monitor (only this thread may read them:
 * on VMX the VMCS is current here).
 */
void
vm_pause_wait(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vc_vm;
	u64 regs[VM_REG_LAST];
	struct vm_seg_desc seg[VM_SEG_LAST];

	for (int r = 0; r < VM_REG_LAST; r++)
		regs[r] = vm_getreg(vcpu, (enum vm_reg)r);
	for (int i = 0; i < VM_SEG_LAST; i++)
		vm_getseg(vcpu, (enum vm_seg)i, &seg[i]);
	mutex_enter(&vcpu->vc_wait_lock);
	memcpy(vcpu->vc_snap, regs, sizeof (regs));
	memcpy(vcpu->vc_snap_seg, seg, sizeof (seg));
	vcpu->vc_snap_valid = true;
	while (vm->vm_paused && !vm->vm_stop)
		cv_wait(&vcpu->vc_wait_cv, &vcpu->vc_wait_lock);
	vcpu->vc_snap_valid = false;
	mutex_exit(&vcpu->vc_wait_lock);
}

void
vm_destroy(struct vm *vm)
{
	vm_time_limit_cancel(vm);
	mutex_enter(&vm_list_lock);
	for (struct vm **pp = &vm_list; *pp != NULL; pp = &(*pp)->vm_next) {
		if (*pp == vm) {
			*pp = vm->vm_next;
			break;
		}
	}
	mutex_exit(&vm_list_lock);
	for (int i = 0; i < vm->vm_nvcpus; i++) {
		struct vcpu *vcpu = vm->vm_vcpu[i];
		/* Claim the vCPU as vm_run does, so that a first vm_run
		 * racing with us finds it owned instead of freed. */
		kthread_t *owner = atomic_cas(&vcpu->vc_owner, NULL, curthread);
		VERIFY(owner == NULL && vcpu->vc_thread == NULL,
		    "vm_destroy: %s is inside vm_run (owned by %s)",
		    vcpu->vc_name, owner != NULL ? owner->t_name : "?");
		(void) callout_stop(&vcpu->vc_kick);
		vmm_ops->vcpu_cleanup(vcpu);
		ctxop_free(vcpu->vc_ctxop);
		fpu_area_fini(&vcpu->vc_guest_fpu);
		fpu_area_fini(&vcpu->vc_host_fpu);
		kmem_free(vcpu, sizeof (*vcpu));
	}
	vm_lapic_destroy(vm);
	vm_isa_destroy(vm);
	vmm_ops->vm_cleanup(vm);
	vm_mem_destroy(vm);
	kmem_free(vm, sizeof (*vm));
}

bool
vm_load(struct vm *vm, u64 gpa, const void *image, size_t len)
{
	if (gpa > vm->vm_memsize || len > vm->vm_memsize - gpa)
		return (false);
	memcpy((u8 *)phys_to_virt(vm->vm_mem) + gpa, image, len);
	return (true);
}

/* A vCPU's registers belong to the thread that runs it (or to nobody
 * yet, before its first vm_run). */
static void
check_reg_access(struct vcpu *vcpu, enum vm_reg r, const char *who)
{
	kthread_t *owner = vcpu->vc_owner;

	VERIFY(owner == NULL || owner == curthread, "%s: %s belongs to "
	    "thread %s, not %s", who, vcpu->vc_name, owner->t_name,
	    curthread->t_name);
	VERIFY((unsigned)r < VM_REG_LAST, "%s: no register %d", who, (int)r);
}

/* DRn of the guest: in the CPU while its FPU is (restore_guest_dbregs),
 * else in vc_dr. */
static u64
dbreg_access(struct vcpu *vcpu, int n, bool write, u64 v)
{
	u64 dr[5];

	kpreempt_disable();
	bool live = (vcpu->vtc_status & VTCS_FPU_RESTORED) != 0;
	if (live)
		dr_read(dr);
	else
		memcpy(dr, vcpu->vc_dr, sizeof (dr));
	if (write) {
		dr[n] = v;
		if (live)
			dr_write(dr);
		else
			vcpu->vc_dr[n] = v;
	}
	kpreempt_enable();
	return (dr[n]);
}

u64
vm_dr6_access(struct vcpu *vcpu, bool write, u64 v)
{
	return (dbreg_access(vcpu, 4, write, v));
}

u64
vm_getreg_slow(struct vcpu *vcpu, enum vm_reg r)
{
	check_reg_access(vcpu, r, "vm_getreg");
	if (r >= VM_REG_DR0 && r <= VM_REG_DR3)
		return (dbreg_access(vcpu, r - VM_REG_DR0, false, 0));
	return (vmm_ops->getreg(vcpu, r));
}

/* The value goes in as given: a bad one fails the next entry (VMFAIL). */
void
vm_setreg_slow(struct vcpu *vcpu, enum vm_reg r, u64 v)
{
	check_reg_access(vcpu, r, "vm_setreg");
	if (r >= VM_REG_DR0 && r <= VM_REG_DR3) {
		(void) dbreg_access(vcpu, r - VM_REG_DR0, true, v);
		return;
	}
	vmm_ops->setreg(vcpu, r, v);
	if (r == VM_REG_CR4)
		vm_xcr0_follow_cr4(vcpu, v);
}

void
vm_getseg(struct vcpu *vcpu, enum vm_seg seg, struct vm_seg_desc *desc)
{
	check_reg_access(vcpu, VM_REG_RIP, "vm_getseg");
	VERIFY((unsigned)seg < VM_SEG_LAST, "vm_getseg: no segment %d",
	    (int)seg);
	vmm_ops->getseg(vcpu, seg, desc);
}

void
vm_setseg(struct vcpu *vcpu, enum vm_seg seg, const struct vm_seg_desc *desc)
{
	check_reg_access(vcpu, VM_REG_RIP, "vm_setseg");
	VERIFY((unsigned)seg < VM_SEG_LAST, "vm_setseg: no segment %d",
	    (int)seg);
	vmm_ops->setseg(vcpu, seg, desc);
}

/* The owning thread is done with the vCPU (vm_destroy may follow). */
void
vcpu_release(struct vcpu *vcpu)
{
	VERIFY(vcpu->vc_owner == curthread && vcpu->vc_thread == NULL,
	    "vcpu_release: %s not owned by %s outside vm_run", vcpu->vc_name,
	    curthread->t_name);
	atomic_store(&vcpu->vc_owner, NULL);
}

void
vcpu_kill(struct vcpu *vcpu, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(vcpu->vc_dead_reason, sizeof (vcpu->vc_dead_reason), fmt,
	    ap);
	va_end(ap);
	vcpu->vc_dead = true;
}

/*
 * The floor under the exit benchmarks (tests/vmm_bench.c): the backend's
 * world switch and its re-entry, with none of vm_run's work in between
 * (no events, statistics, traces, pause/stop checks, guest FPU or debug
 * registers), for a guest that does nothing but CPUID or OUT and then
 * HLT. Its FPU and DRs are the host's, which a guest that never touches
 * them cannot tell. The vCPU's ctxop is attached as in vm_run, so the
 * VMCS or the VMCB's ASID follow the thread between the chunks; each
 * chunk runs with preemption and interrupts off until the backend sees
 * an exit other than CPUID/OUT: a host interrupt (taken here), the first
 * touch of a guest page (mapped here) or the HLT.
 * Returns the exits resumed; vme holds the one that ended the run.
 */
u64
vm_exit_floor(struct vcpu *vcpu, struct vm_exit *vme)
{
	kthread_t *t = curthread;
	u64 n = 0;

	kthread_t *owner = atomic_cas(&vcpu->vc_owner, NULL, t);
	VERIFY(owner == NULL || owner == t, "vm_exit_floor: %s is owned by "
	    "%s", vcpu->vc_name, owner != NULL ? owner->t_name : "?");
	VERIFY(vcpu->vc_thread == NULL, "vm_exit_floor: %s is in vm_run",
	    vcpu->vc_name);
	vcpu->vc_thread = t;
	ctxop_attach(t, vcpu->vc_ctxop);
	do {
		kpreempt_disable();
		bool s = intr_save();
		vm_exit_clear(vme);
		n += vmm_ops->floor(vcpu, vme);
		intr_restore(s);
		kpreempt_enable();
	} while (vme->exitcode == VM_EXIT_INTR ||
	    (vme->exitcode == VM_EXIT_NPF && vm_handle_exit(vcpu, vme)));
	kpreempt_disable();
	ctxop_detach(t, vcpu->vc_ctxop);
	vmm_ops->savectx(vcpu);
	kpreempt_enable();
	vcpu->vc_thread = NULL;
	return (n);
}

/*
 * Run the guest until an exit the kernel cannot finish. If the last exit
 * was an IN, vme->u.inout.eax holds the caller's answer.
 */
int
vm_run(struct vcpu *vcpu, struct vm_exit *vme)
{
	kthread_t *t = curthread;

	if (vcpu->vc_dead)
		return (-1);
	VERIFY(intr_enabled() && !kpreempt_disabled(), "vm_run: called with "
	    "interrupts or preemption disabled (%s)", t->t_name);
	/* A vCPU belongs to one thread from its first vm_run until released. */
	kthread_t *owner = atomic_cas(&vcpu->vc_owner, NULL, t);
	VERIFY(owner == NULL || owner == t, "vm_run: %s is owned by %s",
	    vcpu->vc_name, owner != NULL ? owner->t_name : "?");
	VERIFY(vcpu->vc_thread == NULL, "vm_run: %s already in vm_run on %s",
	    vcpu->vc_name, vcpu->vc_thread->t_name);
	vcpu->vc_thread = t;
	if (vcpu->vc_pending_in)
		vm_complete_in(vcpu, vme->u.inout.eax);
	vmm_stat_incr(vcpu, VM_RUN_CALLS);

	/*
	 * A thread without an FPU context of its own (fpu_thread_enable)
	 * has no host registers to keep: whatever they hold is nobody's
	 * (every FPU user loads its own or the default state when it
	 * starts), so the guest's are loaded over them and left there.
	 */
	vcpu->vc_host_fpu_owned = fpu_thread_enabled(t);
	/* Attach before any guest state is loaded. */
	ctxop_attach(t, vcpu->vc_ctxop);
	atomic_inc_64(&vmm_total_attach);
	TRACE(TR_VM_RUN_ENTRY, vcpu, 0);
	kpreempt_disable();
	vcpu->vtc_status |= VTCS_RUN_WINDOW;
	kpreempt_enable();

	for (;;) {
		/* An AP before its SIPI, or a vCPU after INIT, waits. */
		if (READ_ONCE(vcpu->vc_wait_sipi)) {
			(void) vm_sipi_wait(vcpu);
			vm_events_changed(vcpu);
		}
		if (READ_ONCE(vcpu->vc_vm->vm_paused)) {
			vm_pause_wait(vcpu);	/* the monitor's ::pause */
			vm_events_changed(vcpu);
		}
		/* A stop request ends the loop whatever the guest does. */
		if (__atomic_load_n(&vcpu->vc_vm->vm_stop, __ATOMIC_ACQUIRE)) {
			memset(vme, 0, sizeof (*vme));
			vme->exitcode = VM_EXIT_STOPPED;
			strlcpy(vme->reason, vcpu->vc_vm->vm_stop_reason,
			    sizeof (vme->reason));
			vmm_stat_exit(vcpu, vme->exitcode);
			break;
		}
		kpreempt_disable();
		if ((vcpu->vtc_status & VTCS_FPU_RESTORED) == 0) {
			restore_guest_fpustate(vcpu);
			restore_guest_dbregs(vcpu);
			vcpu->vtc_status |= VTCS_FPU_RESTORED;
		}
		vcpu->vtc_status |= VTCS_FPU_CTX_CRITICAL;
		if (unlikely(vmm_inject_critical_yield) &&
		    (++vcpu->vc_entries_seen & 63) == 0) {
			kpreempt_enable();
			thread_yield();		/* the bug being tested for */
			kpreempt_disable();
		}
		bool s = intr_save();
		vm_exit_clear(vme);
		/* From here to the exit a notify kicks (vmm_intr.c). */
		__atomic_store_n(&vcpu->vc_guest_cpu, CPU->cpu_id,
		    __ATOMIC_SEQ_CST);
		/* A pause or stop asked for since the loop's top: its
		 * notify saw vc_guest_cpu -1 and sent no kick, so look
		 * again now (or it waits for the guest's next exit). */
		if (__atomic_load_n(&vcpu->vc_vm->vm_paused, __ATOMIC_SEQ_CST) ||
		    __atomic_load_n(&vcpu->vc_vm->vm_stop, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&vcpu->vc_guest_cpu, -1,
			    __ATOMIC_RELEASE);
			vcpu->vtc_status &= ~VTCS_FPU_CTX_CRITICAL;
			intr_restore(s);
			kpreempt_enable();
			continue;
		}
		if (!vm_entry_events(vcpu)) {
			__atomic_store_n(&vcpu->vc_guest_cpu, -1,
			    __ATOMIC_RELEASE);
			vcpu->vtc_status &= ~VTCS_FPU_CTX_CRITICAL;
			intr_restore(s);
			kpreempt_enable();
			vme->exitcode = VM_EXIT_SHUTDOWN;
			ksnprintf(vme->reason, sizeof (vme->reason), "triple "
			    "fault: an exception while delivering #DF");
			vmm_stat_exit(vcpu, vme->exitcode);
			break;
		}
		vmm_stat_incr(vcpu, VMRUN_ENTRIES);
		vmm_ops->vmrun(vcpu, vme);
		__atomic_store_n(&vcpu->vc_guest_cpu, -1, __ATOMIC_RELEASE);
		vcpu->vc_lastcpu = CPU->cpu_id;
		vcpu->vc_exitintinfo = vme->exitintinfo;
		TRACE(TR_VMEXIT, vcpu, vme->exitcode);
		vcpu->vtc_status &= ~VTCS_FPU_CTX_CRITICAL;
		intr_restore(s);
		/* A preemption pending from the guest's time is taken here,
		 * with the guest FPU still loaded: vmm_savectx saves it. */
		kpreempt_enable();
		vcpu->vc_last_exit = vme->exitcode;
		bool resume = vm_handle_exit(vcpu, vme);
		/* Exits that may change what is pending without a notify:
		 * the APIC's page and base MSR, the TPR, a HLT woken by a
		 * deadline (vm_entry_events' quiet entry). Port I/O to the
		 * PIC and PIT notifies (vmm_isa.c); other ports raise lines
		 * through them. */
		if (vme->exitcode == VM_EXIT_HLT ||
		    vme->exitcode == VM_EXIT_NPF ||
		    vme->exitcode == VM_EXIT_WRMSR ||
		    vme->exitcode == VM_EXIT_CR8)
			vm_events_changed(vcpu);
		vmm_stat_incr(vcpu, VMEXIT_TOTAL);
		vmm_stat_exit(vcpu, vme->exitcode);
		if (!resume)
			break;
	}

	/* Detach and the final save: one non-preemptible section. */
	kpreempt_disable();
	ctxop_detach(t, vcpu->vc_ctxop);
	if (vmm_inject_detach_gap) {
		kpreempt_enable();
		thread_yield();		/* the bug being tested for */
		kpreempt_disable();
	}
	vcpu->vtc_status &= ~VTCS_RUN_WINDOW;
	vmm_savectx(vcpu);
	kpreempt_enable();
	atomic_inc_64(&vmm_total_detach);
	TRACE(TR_VM_RUN_EXIT, vcpu, vme->exitcode);
	vcpu->vc_thread = NULL;

	switch (vme->exitcode) {
	case VM_EXIT_SHUTDOWN:
	case VM_EXIT_OUTOFMAP:
	case VM_EXIT_VMFAIL:
	case VM_EXIT_HALTED:
	case VM_EXIT_STOPPED:
	case VM_EXIT_UNHANDLED:
		vcpu_kill(vcpu, "%s: %s", vm_exitcode_name(vme->exitcode),
		    vme->reason);
		break;
	default:
		break;
	}
	return (0);
}
