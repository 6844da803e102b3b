/*
 * Suite "vmm", events: the PIC, the PIT and event injection seen by real
 * guests (guest/evtick.asm), on whichever backend this CPU has. Skipped
 * without one.
 */
#include "ktest.h"
#include "../kern/vmm/vmm.h"
#include "../kern/vmm/vmm_dev.h"
#include "../kern/thread.h"
#include "../kern/panic.h"

#define	MiB	(1UL << 20)

/* Run a built-in guest to its end on this thread. */
static bool
run_guest(const char *name, u32 param, struct vcpu_result *r, u64 *stats)
{
	const struct guest_image *g = guest_find(name);
	char why[120];

	VERIFY(g != NULL, "no guest %s", name);
	struct vm *vm = vm_create_guest(name, g->start,
	    (size_t)(g->end - g->start), 2 * MiB, param, why, sizeof (why));
	VERIFY(vm != NULL, "%s: %s", name, why);
	memset(r, 0, sizeof (*r));
	r->quiet = true;
	bool ok = vcpu_run_loop(vm->vm_vcpu[0], r);
	memcpy(stats, vm->vm_vcpu[0]->vc_stats, sizeof (u64) * VMM_NSTATS);
	vm_destroy(vm);
	return (ok);
}

/*
 * PIT ticks through the PIC wake sti; hlt: ten of them at 1 kHz, each
 * injected (not polled), with the vCPU asleep in between; none while the
 * guest keeps IF clear.
 */
KTEST(vmm, pit_ticks_wake_hlt)
{
	struct vcpu_result r;
	u64 st[VMM_NSTATS];

	if (vmm_ops == NULL) {
		ktest_skip("no virtualization backend on this CPU");
		return;
	}
	bool ok = run_guest("evtick", 0, &r, st);
	ktest_note("evtick: %lu ExtINTs, %lu HLT exits, %lu sleeps, %lu "
	    "window exits, %lu PIC/PIT port accesses", st[VMM_STAT_EVENT_EXTINT],
	    st[VMM_STAT_VMEXIT_HLT], st[VMM_STAT_HLT_SLEEPS],
	    st[VMM_STAT_VMEXIT_INTR_WINDOW], st[VMM_STAT_ISA_INOUT]);
	KT_EXPECT(ok, "evtick failed: %s (verdict 0x%x) %s", r.reason,
	    r.verdict, r.transcript);
	KT_EXPECT(st[VMM_STAT_EVENT_EXTINT] >= 10, "%lu interrupts injected",
	    st[VMM_STAT_EVENT_EXTINT]);
	KT_EXPECT(st[VMM_STAT_HLT_SLEEPS] > 0, "the vCPU never slept in HLT");
}

/*
 * Faults as on hardware: the SVM and VMX instructions raise #UD (this
 * backend's intercepted and injected, the other vendor's raised by the
 * CPU), unknown MSRs #GP(0), INVD/WBINVD do nothing; the guest's handlers
 * count them and it goes on.
 */
KTEST(vmm, faults_reach_guest)
{
	struct vcpu_result r;
	u64 st[VMM_NSTATS];

	if (vmm_ops == NULL) {
		ktest_skip("no virtualization backend on this CPU");
		return;
	}
	bool ok = run_guest("evfault", 0, &r, st);
	bool svm = strcmp(vmm_ops->name, "svm") == 0;
	ktest_note("evfault on %s: %lu #UD exits, %lu skipped, %lu exceptions "
	    "injected", vmm_ops->name, st[VMM_STAT_VMEXIT_UD],
	    st[VMM_STAT_VMEXIT_SKIP], st[VMM_STAT_EVENT_EXCEPTION]);
	KT_EXPECT(ok, "evfault failed: %s (verdict 0x%x, last report %u) %s",
	    r.reason, r.verdict, r.last_report, r.transcript);
	/* 7 SVM instructions, 11 VMX ones; 3 MSRs; INVD, WBINVD. */
	KT_EXPECT(st[VMM_STAT_VMEXIT_UD] == (svm ? 7U : 11U), "%lu #UD exits, "
	    "not %u", st[VMM_STAT_VMEXIT_UD], svm ? 7 : 11);
	KT_EXPECT(st[VMM_STAT_EVENT_EXCEPTION] == st[VMM_STAT_VMEXIT_UD] + 3,
	    "%lu exceptions injected", st[VMM_STAT_EVENT_EXCEPTION]);
	KT_EXPECT(st[VMM_STAT_VMEXIT_SKIP] >= 1, "INVD did not exit");
}
