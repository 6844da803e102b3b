/*
 * Suite "vmm", VMX backend only: the host state a VM exit leaves behind.
 * Skipped on SVM and without a backend.
 */
#include "ktest.h"
#include "../kern/vmm/vmm.h"
#include "../kern/vmm/vmm_dev.h"
#include "../kern/vmm/vmx/vmx.h"
#include "../kern/thread.h"
#include "../kern/cpu.h"
#include "../kern/panic.h"

/* The bench guest's parameter: this many OUTs to the report port. */
#define	BENCH_PORT_EXITS	(0x80000000U | 1000000)

static bool
have_vmx(void)
{
	if (vmm_ops != &vmm_ops_vmx) {
		ktest_skip(vmm_ops == NULL ? "no virtualization backend" :
		    "not the VMX backend");
		return (false);
	}
	return (true);
}

/* One exit of the bench guest: an OUT to the report port (COM1 is the
 * kernel's and would not come back). */
static void
run_once(struct vcpu *vcpu, struct vm_exit *vme)
{
	VERIFY0(vm_run(vcpu, vme));
}

static void
read_dt(struct vmx_host_dt *dt)
{
	__asm__ __volatile__("sgdt %0; sidt %1" : "=m"(dt->hd_gdtr),
	    "=m"(dt->hd_idtr));
}

/*
 * A VM exit loads the GDTR and IDTR bases from the VMCS but sets both
 * limits to 0xFFFF (SDM vol. 3, 28.5.2): after vm_run returns they must
 * be this CPU's real ones again (GDT: 6 descriptors, IDT: 256 gates).
 */
KTEST(vmm, vmx_host_dt_limits)
{
	const struct guest_image *g = guest_find("bench");
	struct vm_exit vme = { .exitcode = VM_EXIT_NONE };
	char why[120];

	if (!have_vmx())
		return;
	VERIFY(g != NULL, "no bench guest");
	struct vm *vm = vm_create_guest("hostdt", g->start,
	    (size_t)(g->end - g->start), 2 * MiB, BENCH_PORT_EXITS, why,
	    sizeof (why));
	VERIFY(vm != NULL, "vmx_host_dt_limits: %s", why);
	/* Each port write comes back to this thread. */
	vm->vm_abi_in_thread = true;
	struct vcpu *vcpu = vm->vm_vcpu[0];

	for (int cpu = 0; cpu < ncpus; cpu++) {
		thread_bind(cpu);
		cpu_t *cp = CPU;
		const struct vmx_cpu *vxc = cp->cpu_vmm;
		const struct vmx_host_dt *host = &vxc->vxc_host_dt;
		u64 exits = vcpu->vc_stats[VMM_STAT_VMEXIT_TOTAL];
		struct vmx_host_dt dt;

		/* What vmx_cpu_init took must be the tables cpu.c built. */
		KT_EXPECT(host->hd_gdtr.base == (u64)cp->cpu_gdt &&
		    host->hd_gdtr.limit == 6 * 8 - 1, "cpu%d: host "
		    "GDTR taken as %lx limit 0x%x, not %p limit 0x%x", cpu,
		    host->hd_gdtr.base, host->hd_gdtr.limit,
		    (void *)cp->cpu_gdt, 6 * 8 - 1);
		KT_EXPECT(host->hd_idtr.limit == 256 * 16 - 1,
		    "cpu%d: host IDTR limit taken as 0x%x", cpu,
		    host->hd_idtr.limit);

		for (int i = 0; i < 4; i++)
			run_once(vcpu, &vme);
		/* Still bound here, so these are this CPU's registers. */
		read_dt(&dt);
		KT_EXPECT(vcpu->vc_stats[VMM_STAT_VMEXIT_TOTAL] > exits,
		    "cpu%d: no VM exit", cpu);
		KT_EXPECT(dt.hd_gdtr.limit == host->hd_gdtr.limit &&
		    dt.hd_gdtr.base == host->hd_gdtr.base, "cpu%d: "
		    "after VM exits GDTR is %lx limit 0x%x, not %lx limit 0x%x",
		    cpu, dt.hd_gdtr.base, dt.hd_gdtr.limit,
		    host->hd_gdtr.base, host->hd_gdtr.limit);
		KT_EXPECT(dt.hd_idtr.limit == host->hd_idtr.limit &&
		    dt.hd_idtr.base == host->hd_idtr.base, "cpu%d: "
		    "after VM exits IDTR is %lx limit 0x%x, not %lx limit 0x%x",
		    cpu, dt.hd_idtr.base, dt.hd_idtr.limit,
		    host->hd_idtr.base, host->hd_idtr.limit);
	}
	KT_EXPECT(!vcpu->vc_dead, "the guest was stopped: %s",
	    vcpu->vc_dead_reason);
	vcpu_release(vcpu);
	vm_destroy(vm);
	thread_bind(-1);
}

/*
 * VPIDs are recycled: with the space shrunk to VMX_FEW_VPIDS
 * (vmx_inject_few_vpids), many more vCPUs than that are created, run and
 * destroyed one after another while one more stays alive. Every VPID
 * stays in range and is never one in use, reuses are counted, and each
 * vCPU flushed its VPID (INVVPID) on its first VMPTRLD; the last rounds
 * take the all-context INVVPID path a CPU without single-context has.
 */
KTEST(vmm, vmx_vpid_reuse)
{
	const struct guest_image *g = guest_find("bench");
	const int rounds = 4 * VMX_FEW_VPIDS, all_rounds = VMX_FEW_VPIDS;
	char why[120];

	if (!have_vmx())
		return;
	VERIFY(g != NULL, "no bench guest");
	struct vmx_vpid_stats s0 = vmx_vpid_stats;
	vmx_inject_few_vpids = true;
	struct vm *held = vm_create_guest("vpidheld", g->start,
	    (size_t)(g->end - g->start), 2 * MiB, BENCH_PORT_EXITS, why,
	    sizeof (why));
	VERIFY(held != NULL, "vmx_vpid_reuse: %s", why);
	/* Each port write comes back to this thread. */
	held->vm_abi_in_thread = true;
	u16 held_vpid = ((struct vmx_vcpu *)held->vm_vcpu[0]->vc_backend)->
	    vx_vpid;
	u64 seen = 0;		/* bit per VPID handed out */

	for (int i = 0; i < rounds + all_rounds; i++) {
		struct vm_exit vme = { .exitcode = VM_EXIT_NONE };

		vmx_inject_invvpid_all = i >= rounds;
		thread_bind(i % ncpus);
		struct vm *vm = vm_create_guest("vpid", g->start,
		    (size_t)(g->end - g->start), 2 * MiB, BENCH_PORT_EXITS, why,
		    sizeof (why));
		VERIFY(vm != NULL, "vmx_vpid_reuse: %s", why);
		/* Each port write comes back to this thread. */
		vm->vm_abi_in_thread = true;
		struct vcpu *vcpu = vm->vm_vcpu[0];
		u16 vpid = ((struct vmx_vcpu *)vcpu->vc_backend)->vx_vpid;

		KT_EXPECT(vpid >= 1 && vpid <= VMX_FEW_VPIDS && vpid !=
		    held_vpid, "round %d: VPID %u (the held vCPU has %u)", i,
		    vpid, held_vpid);
		seen |= 1UL << (vpid % 64);
		KT_EXPECT(vcpu->vc_stats[VMM_STAT_ASID_NEW] >= 1, "round %d: "
		    "VPID %u was not flushed before its first use", i, vpid);
		for (int k = 0; k < 3; k++)
			VERIFY0(vm_run(vcpu, &vme));
		KT_EXPECT(!vcpu->vc_dead, "round %d, VPID %u: the guest was "
		    "stopped: %s", i, vpid, vcpu->vc_dead_reason);
		vcpu_release(vcpu);
		vm_destroy(vm);
	}
	vmx_inject_invvpid_all = false;
	vm_destroy(held);
	vmx_inject_few_vpids = false;
	thread_bind(-1);

	const struct vmx_vpid_stats *s = &vmx_vpid_stats;
	u64 allocs = s->vs_allocs - s0.vs_allocs;
	u64 reuses = s->vs_reuses - s0.vs_reuses;
	u64 single = s->vs_invvpid_single - s0.vs_invvpid_single;
	u64 all = s->vs_invvpid_all - s0.vs_invvpid_all;
	ktest_note("vpid: %lu vCPUs over %d VPIDs: %lu reuses, %lu single-"
	    "context and %lu all-context INVVPIDs", allocs, VMX_FEW_VPIDS,
	    reuses, single, all);
	KT_EXPECT(allocs == (u64)rounds + all_rounds + 1 && s->vs_frees -
	    s0.vs_frees == allocs, "%lu VPIDs handed out, %lu freed", allocs,
	    s->vs_frees - s0.vs_frees);
	/* Only VMX_FEW_VPIDS - 1 are free while one is held. */
	int nseen = 0;
	for (u64 m = seen; m != 0; m &= m - 1)
		nseen++;
	KT_EXPECT(nseen == VMX_FEW_VPIDS - 1, "the rounds used VPIDs 0x%lx",
	    seen);
	KT_EXPECT(reuses >= allocs - VMX_FEW_VPIDS, "only %lu reuses in %lu "
	    "allocations", reuses, allocs);
	KT_EXPECT(single + all >= allocs, "%lu INVVPIDs for %lu vCPUs",
	    single + all, allocs);
	KT_EXPECT(all >= (u64)all_rounds, "%lu all-context INVVPIDs in %d "
	    "rounds", all, all_rounds);
}
