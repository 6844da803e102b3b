/* SVM backend internals shared by svm.c and svm_exit.c. */
#ifndef _KERN_VMM_SVM_SVM_H
#define _KERN_VMM_SVM_SVM_H

#include "../vmm.h"
#include "vmcb.h"

/* The guest GPRs VMRUN does not switch (svm_run.asm knows the layout). */
struct svm_gregs {
	u64 rbx, rcx, rdx, rsi, rdi, rbp;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
};

/* svm_run.asm's G_* offsets: a field moved here must fail the build. */
#define	SVM_G_OFF(f, off) _Static_assert(offsetof(struct svm_gregs, f) == (off), \
    "svm_gregs." #f ": G_* in svm_run.asm")
SVM_G_OFF(rbx, 0);
SVM_G_OFF(rcx, 8);
SVM_G_OFF(rdx, 16);
SVM_G_OFF(rsi, 24);
SVM_G_OFF(rdi, 32);
SVM_G_OFF(rbp, 40);
SVM_G_OFF(r8, 48);
SVM_G_OFF(r9, 56);
SVM_G_OFF(r10, 64);
SVM_G_OFF(r11, 72);
SVM_G_OFF(r12, 80);
SVM_G_OFF(r13, 88);
SVM_G_OFF(r14, 96);
SVM_G_OFF(r15, 104);
#undef SVM_G_OFF

struct svm_vcpu {
	paddr_t sv_vmcb_pa;		/* [c] */
	u8 *sv_vmcb;			/* [c] direct-map view */
	struct svm_gregs sv_gregs;	/* [p] */
	u32 sv_asid;			/* [p] ASID on sv_asid_cpu ... */
	u64 sv_asid_gen;		/* [p] ... of this generation there */
	int sv_asid_cpu;		/* [p] -1: none yet */
	int sv_lastcpu;			/* [p] CPU of the last svm_savectx */
	bool sv_nmi_blocked;		/* [p] an injected NMI's handler runs
					   (SVM keeps no such bit: from the
					   injection to the guest's IRET) */
	u64 sv_tsc_aux_hw;		/* [p] the guest TSC_AUX in the CPU
					   (svm_vmrun to svm_savectx), or
					   SVM_TSC_AUX_HOST: the host's is */
	u64 sv_eventinj_tried;		/* [p] EVENTINJ of the last VMRUN */
	/* What the last VMRUN was given of the fields its checks look at
	 * (svm_check.c): QEMU overwrites the guest area with the host's
	 * state when VMRUN fails, so the VMCB no longer says. */
	struct svm_entry_state {
		u64 es_cr0, es_cr4, es_efer, es_dr6;
		u16 es_cs_attr;
	} sv_entry;
	u32 sv_invalid_streak;		/* [p] VMEXIT_INVALIDs answered with
					   #GP at sv_invalid_rip in a row */
	u64 sv_invalid_rip;
	bool sv_intr_window;		/* [p] V_IRQ and VINTR intercept on */
	bool sv_nmi_window;		/* [p] IRET intercept on */
	u32 sv_clean;			/* [p] VMCB clean bits for next VMRUN */
	u32 sv_clean_seen;		/* [p] AND of sv_clean over the VMRUNs
					   since a test set it to all ones:
					   the VMCB gets sv_clean only where
					   the CPU has VmcbClean, and a
					   vm_run may VMRUN several times
					   (tests/svm_test.c) */
};

static inline u64 *
vmcb64(struct svm_vcpu *sv, u32 off)
{
	return ((u64 *)(sv->sv_vmcb + off));
}

static inline u32 *
vmcb32(struct svm_vcpu *sv, u32 off)
{
	return ((u32 *)(sv->sv_vmcb + off));
}

void svm_decode_exit(struct vcpu *, struct vm_exit *);
/* The first of VMRUN's consistency checks the VMCB fails, or NULL. */
const char *svm_vmcb_check(struct svm_vcpu *, const struct svm_entry_state *);
#define	SVM_TSC_AUX_HOST	(~0UL)	/* no guest's TSC_AUX is 64 bits */
extern bool svm_has_nrip;

/* The world switch (svm_run.asm): the instruction after VMRUN, where a
 * #VMEXIT comes back, and the end of the routine. */
void svm_run(struct svm_gregs *, paddr_t vmcb, paddr_t host_save);
extern const char svm_run_vmexit[], svm_run_end[];

/*
 * Fault injection for the QEMU MTTCG detector (svm_exit.c), one-shot: the
 * next exit decoded is replaced by a nested page fault on the walk of the
 * host's PML4 entry 511, with the host's RIP after VMRUN in the VMCB
 * (SVM_PLANT_MTTCG_NPF: the symptom), with the host's CR3 and a host RIP
 * outside svm_run (SVM_PLANT_MTTCG_NPF_LATE: the race lost later, in C
 * code), or with the guest's RIP and CR3 left alone (SVM_PLANT_GUEST_GPT_NPF:
 * an ordinary guest page-table fault, which the detector must let through).
 * Set by tests/svm_mttcg_test.c.
 */
enum svm_plant {
	SVM_PLANT_NONE,
	SVM_PLANT_MTTCG_NPF,
	SVM_PLANT_MTTCG_NPF_LATE,
	SVM_PLANT_GUEST_GPT_NPF
};
extern int svm_plant_npf;

#endif
