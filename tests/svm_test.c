/*
 * Suite "vmm", SVM backend only: the VMCB clean bits. Neither QEMU nor
 * Bochs implements VmcbClean, so a wrong bit changes nothing there; the
 * bits the backend would give the CPU are checked instead: sv_clean, and
 * sv_clean_seen for what the VMRUNs had. Skipped on VMX and without a
 * backend.
 */
#include "ktest.h"
#include "../kern/vmm/vmm.h"
#include "../kern/vmm/vmm_dev.h"
#include "../kern/vmm/svm/svm.h"
#include "../kern/thread.h"
#include "../kern/cpu.h"
#include "../kern/panic.h"

/* The bench guest's parameter: this many OUTs to the report port. */
#define	BENCH_PORT_EXITS	(0x80000000U | 1000000)

/*
 * One exit of the bench guest (an OUT to the report port: COM1 is the
 * kernel's and would not come back). sv_clean_seen then holds the clean
 * bits every VMRUN of this vm_run had (a host interrupt's exit is
 * re-entered inside vm_run, all clean).
 */
static void
run_once(struct vcpu *vcpu, struct vm_exit *vme)
{
	struct svm_vcpu *sv = vcpu->vc_backend;

	sv->sv_clean_seen = ~0u;
	VERIFY0(vm_run(vcpu, vme));
}

KTEST(vmm, svm_clean_bits)
{
	const struct guest_image *g = guest_find("bench");
	struct vm_exit vme = { .exitcode = VM_EXIT_NONE };
	char why[120];

	if (vmm_ops != &vmm_ops_svm) {
		ktest_skip(vmm_ops == NULL ? "no virtualization backend" :
		    "not the SVM backend");
		return;
	}
	VERIFY(g != NULL, "no bench guest");
	thread_bind(0);
	struct vm *vm = vm_create_guest("clean", g->start,
	    (size_t)(g->end - g->start), 2 * MiB, BENCH_PORT_EXITS, why,
	    sizeof (why));
	VERIFY(vm != NULL, "svm_clean_bits: %s", why);
	/* Each port write comes back to this thread. */
	vm->vm_abi_in_thread = true;
	struct vcpu *vcpu = vm->vm_vcpu[0];
	struct svm_vcpu *sv = vcpu->vc_backend;

	/* (The first vm_run loops over nested page faults: its last VMRUN
	 * is not the VMCB's first.) */
	run_once(vcpu, &vme);
	KT_EXPECT((sv->sv_clean & ~VMCB_CLEAN_ALL) == 0, "after an exit the "
	    "clean bits 0x%x mark reserved bits 31:12", sv->sv_clean);
	KT_EXPECT((*vmcb32(sv, VMCB_CLEAN) & ~VMCB_CLEAN_ALL) == 0,
	    "the VMCB's clean field 0x%x has reserved bits",
	    *vmcb32(sv, VMCB_CLEAN));

	/* Nothing changed by the host: the next VMRUN is all clean. */
	run_once(vcpu, &vme);
	KT_EXPECT(sv->sv_clean_seen == VMCB_CLEAN_ALL, "second VMRUN on "
	    "the same CPU with clean bits 0x%x, not 0x%x", sv->sv_clean_seen,
	    VMCB_CLEAN_ALL);

	/* Each setter clears its own group, and only that one. */
	static const struct {
		enum vm_reg reg;
		u32 bit;
	} cases[] = {
		{ VM_REG_CR2, VMCB_CLEAN_CR2 },
		{ VM_REG_CR0, VMCB_CLEAN_CRX },
		{ VM_REG_CR3, VMCB_CLEAN_CRX },
		{ VM_REG_CR4, VMCB_CLEAN_CRX },
		{ VM_REG_EFER, VMCB_CLEAN_CRX },
		{ VM_REG_RBX, 0 },		/* loaded on every VMRUN */
		{ VM_REG_RAX, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum vm_reg r = cases[i].reg;
		vm_setreg(vcpu, r, vm_getreg(vcpu, r));
		KT_EXPECT(sv->sv_clean == (VMCB_CLEAN_ALL & ~cases[i].bit),
		    "after setting register %d the clean bits are 0x%x, not "
		    "0x%x", r, sv->sv_clean, VMCB_CLEAN_ALL & ~cases[i].bit);
		run_once(vcpu, &vme);
		KT_EXPECT(sv->sv_clean_seen == (VMCB_CLEAN_ALL &
		    ~cases[i].bit), "VMRUN after setting register %d had "
		    "clean bits 0x%x", r, sv->sv_clean_seen);
	}

	/* Another CPU has nothing of this VMCB cached: all dirty. */
	if (ncpus > 1) {
		thread_bind(1);
		run_once(vcpu, &vme);
		KT_EXPECT(sv->sv_clean_seen == 0, "first VMRUN on cpu1 with "
		    "clean bits 0x%x", sv->sv_clean_seen);
		thread_bind(0);
		run_once(vcpu, &vme);
		KT_EXPECT(sv->sv_clean_seen == 0, "VMRUN back on cpu0 with "
		    "clean bits 0x%x", sv->sv_clean_seen);
	}
	KT_EXPECT(!vcpu->vc_dead, "the guest was stopped: %s",
	    vcpu->vc_dead_reason);
	vcpu_release(vcpu);
	vm_destroy(vm);
	thread_bind(-1);
}
