/*
 * Suite "vmm", SVM backend only: the detector for QEMU 7.2's multi-threaded
 * TCG defect (kern/vmm/svm/svm_exit.c, docs/platforms.md). The symptom is
 * planted (svm_plant_npf): the next exit becomes a nested page fault on the
 * walk of the host's PML4 entry 511 with the host's RIP after VMRUN in the
 * VMCB, and the VM must stop naming the defect, counted once. Without the
 * detector the fault is on guest RAM: it would be mapped and the guest
 * resumed at the host's address. The same with the host's CR3 and a host
 * RIP outside svm_run (the race lost later) stops it too; the same fault
 * with the guest's own RIP and CR3 is an ordinary page-table walk fault:
 * mapped, and the guest passes.
 */
#include "ktest.h"
#include "../kern/vmm/vmm.h"
#include "../kern/vmm/vmm_dev.h"
#include "../kern/vmm/vmm_stat.h"
#include "../kern/vmm/svm/svm.h"
#include "../kern/x86.h"
#include "../kern/panic.h"
#include "../kern/thread.h"
#include "../kern/cpu.h"
#include "../kern/tunable.h"
#include "../kern/apic.h"
#include "../kern/kmem.h"


struct plant_run {
	bool passed;
	struct vcpu_result r;
	u64 detected;		/* VMM_STAT_QEMU_MTTCG_NPF */
	u64 exits;
	bool planted;		/* the plant was used up */
};

/* Guest RAM that holds the host's PML4 address (the planted fault's gpa). */
static u64
mem_for_plant(void)
{
	u64 need = (get_cr3() & ~0xfffUL) + PAGESIZE;

	return (need <= 2 * MiB ? 2 * MiB : (need + 2 * MiB - 1) & ~(2 * MiB - 1));
}

static void
plant_run(enum svm_plant what, struct plant_run *pr)
{
	const struct guest_image *g = guest_find("stress");
	char why[120];

	VERIFY(g != NULL, "no stress guest");
	memset(pr, 0, sizeof (*pr));
	struct vm *vm = vm_create_guest("mttcg", g->start,
	    (size_t)(g->end - g->start), mem_for_plant(), 2000, why,
	    sizeof (why));
	VERIFY(vm != NULL, "svm_mttcg: %s", why);
	struct vcpu *vcpu = vm->vm_vcpu[0];

	pr->r.quiet = true;
	__atomic_store_n(&svm_plant_npf, (int)what, __ATOMIC_RELEASE);
	pr->passed = vcpu_run_loop(vcpu, &pr->r);
	pr->planted = __atomic_exchange_n(&svm_plant_npf, SVM_PLANT_NONE,
	    __ATOMIC_ACQ_REL) == SVM_PLANT_NONE;
	pr->detected = vcpu->vc_stats[VMM_STAT_QEMU_MTTCG_NPF];
	pr->exits = vcpu->vc_stats[VMM_STAT_VMEXIT_TOTAL];
	vm_destroy(vm);
}

static bool
svm_only(void)
{
	if (vmm_ops != &vmm_ops_svm) {
		ktest_skip(vmm_ops == NULL ? "no virtualization backend" :
		    "not the SVM backend");
		return (false);
	}
	return (true);
}

KTEST(vmm, svm_mttcg_npf_stops_vm)
{
	struct plant_run pr;

	if (!svm_only())
		return;
	plant_run(SVM_PLANT_MTTCG_NPF, &pr);
	ktest_note("planted: %s", pr.r.reason);
	KT_EXPECT(pr.planted, "the plant was never used");
	KT_EXPECT(!pr.passed && pr.r.killed, "the VM was not stopped (%s)",
	    pr.passed ? "the guest passed" : pr.r.reason);
	KT_EXPECT(strstr(pr.r.reason, "QEMU MTTCG defect") != NULL,
	    "stopped for another reason: %s", pr.r.reason);
	KT_EXPECT(pr.detected == 1, "counted %lu times, not once", pr.detected);
}

/* The race lost while the host ran C code: the host's CR3 and text RIP. */
KTEST(vmm, svm_mttcg_npf_late_stops_vm)
{
	struct plant_run pr;

	if (!svm_only())
		return;
	plant_run(SVM_PLANT_MTTCG_NPF_LATE, &pr);
	KT_EXPECT(pr.planted, "the plant was never used");
	KT_EXPECT(strstr(pr.r.reason, "QEMU MTTCG defect") != NULL,
	    "not stopped for the defect: %s", pr.passed ? "the guest passed" :
	    pr.r.reason);
	KT_EXPECT(pr.detected == 1, "counted %lu times, not once", pr.detected);
}

KTEST(vmm, svm_mttcg_npf_guest_walk_passes)
{
	struct plant_run pr;

	if (!svm_only())
		return;
	plant_run(SVM_PLANT_GUEST_GPT_NPF, &pr);
	KT_EXPECT(pr.planted, "the plant was never used");
	KT_EXPECT(pr.passed, "the guest failed: %s (0x%x)", pr.r.reason,
	    pr.r.verdict);
	KT_EXPECT(pr.detected == 0, "an ordinary page-table walk fault was "
	    "taken for the defect %lu times", pr.detected);
	KT_EXPECT(pr.exits > 100, "only %lu exits", pr.exits);
}

/*
 * The smallest reproducer (docs/platforms.md): the bench guest's CPUID
 * loop (real mode, nothing but exits) on a vCPU thread bound to CPU 0,
 * while a host thread bound to CPU 1 does FXRSTOR after FXRSTOR of one
 * saved area (FSW.ES clear). On hardware, and under single-threaded TCG,
 * nothing happens: the guest passes. Under QEMU 7.2's multi-threaded TCG
 * each FXRSTOR read-modify-writes CPU 0's hflags2 from CPU 1's thread
 * (cpu_clear_ignne) and sooner or later undoes one of CPU 0's VMRUN or
 * #VMEXIT updates there: the detector's stop, or a guest run without
 * nested paging. The switches turn it into its controls: the loop does
 * FXSAVE instead (no cpu_clear_ignne), or the two CPUs trade places
 * (CPU 0's own FXRSTORs race with nothing).
 */
KTUNABLE_CMDLINE(mttcg_repro_swap, "vmm/mttcg_ignne_race: the guest on CPU 1, "
    "the FXRSTOR loop on CPU 0");
KTUNABLE_CMDLINE(mttcg_repro_nofpu, "vmm/mttcg_ignne_race: the loop on the "
    "other CPU does FXSAVE, not FXRSTOR");
KTUNABLE_CMDLINE(mttcg_repro_long, "vmm/mttcg_ignne_race: 2 million exits "
    "instead of 20000 (until the defect shows)");

/* The bench guest's parameter: this many CPUID exits (guest/bench.asm). */
#define	REPRO_EXITS		20000U
#define	REPRO_EXITS_LONG	2000000U

struct fxloop {
	volatile bool stop;
	volatile bool running;
	u64 iterations;
	u8 area[512] __attribute__((aligned(16)));
};

static void
fxloop_thread(void *arg)
{
	struct fxloop *f = arg;
	u64 n = 0;

	__asm__ __volatile__("fninit; fxsave64 (%0)" : : "r"(f->area) :
	    "memory");
	f->running = true;
	while (!f->stop) {
		if (mttcg_repro_nofpu)
			__asm__ __volatile__("fxsave64 (%0)" : : "r"(f->area) :
			    "memory");
		else
			__asm__ __volatile__("fxrstor64 (%0)" : : "r"(f->area) :
			    "memory");
		n++;
	}
	f->iterations = n;
}

KTEST_MIN(vmm, mttcg_ignne_race, 2)
{
	const struct guest_image *g = guest_find("bench");
	struct vcpu_result r;
	char why[120];
	int guest_cpu = mttcg_repro_swap ? 1 : 0;
	u32 exits = mttcg_repro_long ? REPRO_EXITS_LONG :
	    (u32)ktest_scale(REPRO_EXITS);

	if (!svm_only())
		return;
	VERIFY(g != NULL, "no bench guest");
	struct fxloop *f = kmem_zalloc(sizeof (*f), KM_SLEEP);
	kthread_t *t = thread_create("fxloop", fxloop_thread, f,
	    1 - guest_cpu);
	while (!f->running)
		delay(1);
	thread_bind(guest_cpu);
	struct vm *vm = vm_create_guest("mttcg", g->start,
	    (size_t)(g->end - g->start), 2 * MiB, exits, why, sizeof (why));
	VERIFY(vm != NULL, "mttcg_ignne_race: %s", why);
	struct vcpu *vcpu = vm->vm_vcpu[0];
	memset(&r, 0, sizeof (r));
	r.quiet = true;
	hrtime_t t0 = gethrtime();
	bool passed = vcpu_run_loop(vcpu, &r);
	u64 ns = (u64)(gethrtime() - t0);
	f->stop = true;
	thread_join(t);
	thread_bind(-1);
	u64 total = vcpu->vc_stats[VMM_STAT_VMEXIT_TOTAL];
	u64 detected = vcpu->vc_stats[VMM_STAT_QEMU_MTTCG_NPF];
	ktest_note("guest on CPU %d, %s loop on CPU %d (%lu of them): %s "
	    "after %lu exits in %lu ms", guest_cpu,
	    mttcg_repro_nofpu ? "FXSAVE" : "FXRSTOR", 1 - guest_cpu,
	    f->iterations, passed ? "passed" : r.reason, total,
	    ns / 1000000);
	vm_destroy(vm);
	kmem_free(f, sizeof (*f));
	KT_EXPECT(passed, "the guest failed after %lu exits: %s (0x%x)", total,
	    r.reason, r.verdict);
	KT_EXPECT(detected == 0, "the QEMU MTTCG defect, %lu times", detected);
	KT_EXPECT(total >= exits, "only %lu exits (want %u)", total, exits);
}
