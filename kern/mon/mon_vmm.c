/*
 * The monitor's dcmds for VMs: ::vms, ::vcpus, ::stats (mon.h). The VM
 * list's mutex is held while a dcmd looks at a VM, so none is destroyed
 * under it; a vCPU's own fields are read racily, as a counter is.
 */
#include "mon.h"
#include "../vmm/vmm.h"
#include "../vmm/vmm_exit.h"
#include "../thread.h"

struct vm_look {
	struct mon_cmd *vl_c;
	const char *vl_name;		/* NULL: every VM */
	int vl_n;
};

static bool
show_vm(struct vm *vm, void *arg)
{
	struct vm_look *l = arg;
	struct mon_cmd *c = l->vl_c;

	l->vl_n++;
	mon_printf(c, "0x%-16lx %-24s %5d %8lu %s\n", (u64)(uintptr_t)vm,
	    vm->vm_name, vm->vm_nvcpus, vm->vm_memsize >> 20,
	    vm->vm_stop ? vm->vm_stop_reason : "running");
	c->mc_emit(c, (u64)(uintptr_t)vm);
	return (true);
}

static int
dcmd_vms(struct mon_cmd *c)
{
	struct vm_look l = { c, NULL, 0 };

	mon_printf(c, "%-18s %-24s %5s %8s %s\n", "ADDR", "NAME", "VCPUS",
	    "MEM_MIB", "STATE");
	vm_walk(show_vm, &l);
	if (l.vl_n == 0)
		mon_printf(c, "(no VMs)\n");
	return (0);
}
MON_DCMD(vms, "", "every VM: address, name, vCPUs, RAM, state", dcmd_vms);

static const char *
vcpu_state(const struct vcpu *v)
{
	if (v->vc_dead)
		return ("dead");
	if (v->vc_wait_sipi)
		return ("wait-sipi");
	if (v->vc_thread != NULL)
		return (v->vc_guest_cpu >= 0 ? "guest" : "vm_run");
	return ("idle");
}

/* Is name this VM's (or is no name given)? */
static bool
wanted(const struct vm_look *l, const struct vm *vm)
{
	return (l->vl_name == NULL || strcmp(l->vl_name, vm->vm_name) == 0);
}

static bool
show_vcpus(struct vm *vm, void *arg)
{
	struct vm_look *l = arg;
	struct mon_cmd *c = l->vl_c;

	if (!wanted(l, vm))
		return (true);
	for (int i = 0; i < vm->vm_nvcpus; i++) {
		struct vcpu *v = vm->vm_vcpu[i];
		struct kthread *t = v->vc_owner;
		int cpu = v->vc_guest_cpu >= 0 ? v->vc_guest_cpu :
		    v->vc_lastcpu;
		l->vl_n++;
		mon_printf(c, "%-28s %-9s 0x%-16lx %-16s %3d %-12s %10lu\n",
		    v->vc_name, vcpu_state(v), (u64)(uintptr_t)t,
		    t != NULL ? t->t_name : "-", cpu,
		    vm_exitcode_name(v->vc_last_exit),
		    v->vc_stats[VMM_STAT_VMEXIT_TOTAL]);
		c->mc_emit(c, (u64)(uintptr_t)v);
	}
	return (true);
}

static int
dcmd_vcpus(struct mon_cmd *c)
{
	struct vm_look l = { c, c->mc_argc > 0 ? c->mc_argv[0] : NULL, 0 };

	mon_printf(c, "%-28s %-9s %-18s %-16s %3s %-12s %10s\n", "VCPU",
	    "STATE", "THREAD", "THREAD_NAME", "CPU", "LAST_EXIT", "EXITS");
	vm_walk(show_vcpus, &l);
	if (l.vl_n == 0)
		mon_printf(c, "(no vCPUs%s%s)\n", l.vl_name ? " in " : "",
		    l.vl_name ? l.vl_name : "");
	return (0);
}
MON_DCMD(vcpus, "[VM]", "each vCPU: state, thread, host CPU, last exit, "
    "exits", dcmd_vcpus);

/* bhyvectl --get-stats: one line per counter that is not 0. */
static bool
show_stats(struct vm *vm, void *arg)
{
	struct vm_look *l = arg;
	struct mon_cmd *c = l->vl_c;

	if (!wanted(l, vm))
		return (true);
	for (int i = 0; i < vm->vm_nvcpus; i++) {
		struct vcpu *v = vm->vm_vcpu[i];
		l->vl_n++;
		mon_printf(c, "%s\n", v->vc_name);
		for (int k = 1; k < VMM_NSTATS; k++) {
			if (v->vc_stats[k] != 0)
				mon_printf(c, "  %-36s %12lu\n",
				    vmm_stat_name[k], v->vc_stats[k]);
		}
	}
	return (true);
}

static int
dcmd_stats(struct mon_cmd *c)
{
	struct vm_look l = { c, c->mc_argc > 0 ? c->mc_argv[0] : NULL, 0 };

	vm_walk(show_stats, &l);
	if (l.vl_n == 0)
		return (mon_error(c, "no VM%s%s", l.vl_name ? " named " : "",
		    l.vl_name ? l.vl_name : "s"));
	return (0);
}
MON_DCMD(stats, "[VM]", "each vCPU's counters, as bhyvectl --get-stats",
    dcmd_stats);
