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

#define	MiB	(1UL << 20)

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

/* One exit of the hello guest; an IN (the UART's LSR) says THR empty. */
static void
run_once(struct vcpu *vcpu, struct vm_exit *vme)
{
	if (vme->exitcode == VM_EXIT_INOUT && vme->u.inout.in)
		vme->u.inout.eax = 0x20;
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
	const struct guest_image *g = guest_find("hello");
	struct vm_exit vme = { .exitcode = VM_EXIT_NONE };
	char why[120];

	if (!have_vmx())
		return;
	VERIFY(g != NULL, "no hello guest");
	struct vm *vm = vm_create_guest("hostdt", g->start,
	    (size_t)(g->end - g->start), 2 * MiB, 0, why, sizeof (why));
	VERIFY(vm != NULL, "vmx_host_dt_limits: %s", why);
	struct vcpu *vcpu = vm->vm_vcpu[0];

	for (int cpu = 0; cpu < ncpus; cpu++) {
		thread_bind(cpu);
		cpu_t *cp = CPU;
		const struct vmx_cpu *vc = cp->cpu_vmm;
		u64 exits = vcpu->vc_stats[VMM_STAT_VMEXIT_TOTAL];
		struct vmx_host_dt dt;

		/* What vmx_cpu_init took must be the tables cpu.c built. */
		KT_EXPECT(vc->vc_host_dt.hd_gdtr.base == (u64)cp->cpu_gdt &&
		    vc->vc_host_dt.hd_gdtr.limit == 6 * 8 - 1, "cpu%d: host "
		    "GDTR taken as %lx limit 0x%x, not %p limit 0x%x", cpu,
		    vc->vc_host_dt.hd_gdtr.base, vc->vc_host_dt.hd_gdtr.limit,
		    (void *)cp->cpu_gdt, 6 * 8 - 1);
		KT_EXPECT(vc->vc_host_dt.hd_idtr.limit == 256 * 16 - 1,
		    "cpu%d: host IDTR limit taken as 0x%x", cpu,
		    vc->vc_host_dt.hd_idtr.limit);

		for (int i = 0; i < 4; i++)
			run_once(vcpu, &vme);
		/* Still bound here, so these are this CPU's registers. */
		read_dt(&dt);
		KT_EXPECT(vcpu->vc_stats[VMM_STAT_VMEXIT_TOTAL] > exits, "cpu%d: no "
		    "VM exit", cpu);
		KT_EXPECT(dt.hd_gdtr.limit == vc->vc_host_dt.hd_gdtr.limit &&
		    dt.hd_gdtr.base == vc->vc_host_dt.hd_gdtr.base, "cpu%d: "
		    "after VM exits GDTR is %lx limit 0x%x, not %lx limit 0x%x",
		    cpu, dt.hd_gdtr.base, dt.hd_gdtr.limit,
		    vc->vc_host_dt.hd_gdtr.base, vc->vc_host_dt.hd_gdtr.limit);
		KT_EXPECT(dt.hd_idtr.limit == vc->vc_host_dt.hd_idtr.limit &&
		    dt.hd_idtr.base == vc->vc_host_dt.hd_idtr.base, "cpu%d: "
		    "after VM exits IDTR is %lx limit 0x%x, not %lx limit 0x%x",
		    cpu, dt.hd_idtr.base, dt.hd_idtr.limit,
		    vc->vc_host_dt.hd_idtr.base, vc->vc_host_dt.hd_idtr.limit);
	}
	KT_EXPECT(!vcpu->vc_dead, "the guest was stopped: %s",
	    vcpu->vc_dead_reason);
	vcpu_release(vcpu);
	vm_destroy(vm);
	thread_bind(-1);
}
