/*
 * The monitor's dcmds for VMs: ::vms, ::vcpus, ::stats (mon.h). The VM
 * list's mutex is held while a dcmd looks at a VM, so none is destroyed
 * under it; a vCPU's own fields are read racily, as a counter is.
 */
#include "mon.h"
#include "../vmm/vmm.h"
#include "../vmm/vmm_exit.h"
#include "../thread.h"
#include "../console.h"
#include "../sync.h"

struct vm_look {
	struct mon_cmd *vl_c;
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
	struct vm_look l = { c, 0 };

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
	if (v->vc_snap_valid)
		return ("paused");
	if (v->vc_wait_sipi)
		return ("wait-sipi");
	if (v->vc_thread != NULL)
		return (v->vc_guest_cpu >= 0 ? "guest" : "vm_run");
	return ("idle");
}

/* Each vCPU of the VM named vl_name (or of every VM): vl_fn on it. */
struct vcpu_look {
	struct mon_cmd *vl_c;
	const char *vl_name;		/* NULL: every VM */
	int vl_n;			/* vCPUs seen */
	void (*vl_fn)(struct mon_cmd *, struct vcpu *);
};

static bool
each_vcpu(struct vm *vm, void *arg)
{
	struct vcpu_look *l = arg;

	if (l->vl_name != NULL && strcmp(l->vl_name, vm->vm_name) != 0)
		return (true);
	for (int i = 0; i < vm->vm_nvcpus; i++, l->vl_n++)
		l->vl_fn(l->vl_c, vm->vm_vcpu[i]);
	return (true);
}

/* The vCPUs named by the dcmd's argument [VM]; how many. */
static int
walk_vcpus(struct mon_cmd *c, void (*fn)(struct mon_cmd *, struct vcpu *))
{
	struct vcpu_look l = { c, c->mc_argc > 0 ? c->mc_argv[0] : NULL, 0,
	    fn };

	vm_walk(each_vcpu, &l);
	return (l.vl_n);
}

static void
show_vcpu(struct mon_cmd *c, struct vcpu *v)
{
	struct kthread *t = v->vc_owner;
	int cpu = v->vc_guest_cpu >= 0 ? v->vc_guest_cpu : v->vc_lastcpu;

	mon_printf(c, "%-28s %-9s 0x%-16lx %-16s %3d %-12s %10lu\n",
	    v->vc_name, vcpu_state(v), (u64)(uintptr_t)t,
	    t != NULL ? t->t_name : "-", cpu,
	    vm_exitcode_name(v->vc_last_exit),
	    v->vc_stats[VMM_STAT_VMEXIT_TOTAL]);
	c->mc_emit(c, (u64)(uintptr_t)v);
}

static int
dcmd_vcpus(struct mon_cmd *c)
{
	mon_printf(c, "%-28s %-9s %-18s %-16s %3s %-12s %10s\n", "VCPU",
	    "STATE", "THREAD", "THREAD_NAME", "CPU", "LAST_EXIT", "EXITS");
	if (walk_vcpus(c, show_vcpu) == 0)
		mon_printf(c, "(no vCPUs%s%s)\n", c->mc_argc > 0 ? " in " : "",
		    c->mc_argc > 0 ? c->mc_argv[0] : "");
	return (0);
}
MON_DCMD(vcpus, "[VM]", "each vCPU: state, thread, host CPU, last exit, "
    "exits", dcmd_vcpus);

/* bhyvectl --get-stats: one line per counter that is not 0. */
static void
show_stats(struct mon_cmd *c, struct vcpu *v)
{
	mon_printf(c, "%s\n", v->vc_name);
	for (int k = 1; k < VMM_NSTATS; k++) {
		if (v->vc_stats[k] != 0)
			mon_printf(c, "  %-36s %12lu\n", vmm_stat_name[k],
			    v->vc_stats[k]);
	}
}

static int
dcmd_stats(struct mon_cmd *c)
{
	if (walk_vcpus(c, show_stats) == 0)
		return (mon_error(c, "no VM%s%s", c->mc_argc > 0 ? " named " :
		    "", c->mc_argc > 0 ? c->mc_argv[0] : "s"));
	return (0);
}
MON_DCMD(stats, "[VM]", "each vCPU's counters, as bhyvectl --get-stats",
    dcmd_stats);

/* ---- acting on a VM: ::pause, ::resume, ::kill; ::regs, ::dump ----- */

struct vm_act {
	struct mon_cmd *va_c;
	const char *va_name;
	int va_what;			/* 0 pause, 1 resume, 2 kill */
	bool va_found;
};

static bool
act_vm(struct vm *vm, void *arg)
{
	struct vm_act *a = arg;

	if (strcmp(vm->vm_name, a->va_name) != 0)
		return (true);
	a->va_found = true;
	if (a->va_what == 2) {
		vm_request_stop(vm, "killed from the monitor");
		mon_printf(a->va_c, "%s: killed\n", vm->vm_name);
	} else if (!vm_pause(vm, a->va_what == 0)) {
		mon_printf(a->va_c, "%s: %s (a vCPU did not within a "
		    "second)\n", vm->vm_name, a->va_what == 0 ? "pausing" :
		    "resuming");
	} else {
		mon_printf(a->va_c, "%s: %s\n", vm->vm_name, a->va_what == 0 ?
		    "paused (::regs shows its vCPUs)" : "running");
	}
	return (false);
}

static int
vm_act(struct mon_cmd *c, int what, const char *usage)
{
	if (c->mc_argc != 1)
		return (mon_error(c, "%s", usage));
	struct vm_act a = { c, c->mc_argv[0], what, false };
	vm_walk(act_vm, &a);
	if (!a.va_found)
		return (mon_error(c, "no VM named '%s' (::vms lists them)",
		    c->mc_argv[0]));
	return (0);
}

static int
dcmd_pause(struct mon_cmd *c)
{
	return (vm_act(c, 0, "::pause VM"));
}
MON_DCMD(pause, "VM", "stop the VM's vCPUs (out of guest mode, no more "
    "exits) until ::resume", dcmd_pause);

static int
dcmd_resume(struct mon_cmd *c)
{
	return (vm_act(c, 1, "::resume VM"));
}
MON_DCMD(resume, "VM", "let a paused VM run again", dcmd_resume);

static int
dcmd_kill(struct mon_cmd *c)
{
	return (vm_act(c, 2, "::kill VM"));
}
MON_DCMD(kill, "VM", "stop the VM for good: 'killed from the monitor'; the "
    "host goes on", dcmd_kill);

static const char *const reg_names[VM_REG_LAST] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9",
	"r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags", "cr0",
	"cr2", "cr3", "cr4", "efer", "star", "lstar", "cstar", "sfmask",
	"kgs_base", "fs_base", "gs_base", "dr0", "dr1", "dr2", "dr3",
	"intr_shadow", "nmi_blocked",
};
static const char *const seg_names[VM_SEG_LAST] = { "es", "cs", "ss", "ds",
    "fs", "gs", "gdtr", "idtr" };

struct regs_look {
	struct mon_cmd *rl_c;
	const char *rl_name;		/* "vm/vcpuN" */
	bool rl_found;
};

static bool
show_regs(struct vm *vm, void *arg)
{
	struct regs_look *l = arg;
	struct mon_cmd *c = l->rl_c;

	for (int i = 0; i < vm->vm_nvcpus; i++) {
		struct vcpu *v = vm->vm_vcpu[i];
		if (strcmp(v->vc_name, l->rl_name) != 0)
			continue;
		l->rl_found = true;
		mutex_enter(&v->vc_wait_lock);
		if (!v->vc_snap_valid) {
			mutex_exit(&v->vc_wait_lock);
			(void) mon_error(c, "%s is not paused (::pause %s "
			    "first; a vCPU waiting for SIPI has no state)",
			    v->vc_name, vm->vm_name);
			return (false);
		}
		mon_printf(c, "%s (paused)\n", v->vc_name);
		for (int r = 0; r < VM_REG_LAST; r++)
			mon_printf(c, "  %-12s 0x%016lx%s", reg_names[r],
			    v->vc_snap[r], r % 3 == 2 || r == VM_REG_LAST - 1 ?
			    "\n" : "");
		for (int s = 0; s < VM_SEG_LAST; s++) {
			const struct vm_seg_desc *d = &v->vc_snap_seg[s];
			mon_printf(c, "  %-5s sel 0x%04x base 0x%016lx limit "
			    "0x%08x attr 0x%03x\n", seg_names[s], d->vsd_sel,
			    d->vsd_base, d->vsd_limit, d->vsd_attr);
		}
		mutex_exit(&v->vc_wait_lock);
		return (false);
	}
	return (true);
}

static int
dcmd_regs(struct mon_cmd *c)
{
	if (c->mc_argc != 1)
		return (mon_error(c, "::regs VM/vcpuN (of a paused VM)"));
	struct regs_look l = { c, c->mc_argv[0], false };
	vm_walk(show_regs, &l);
	if (!l.rl_found)
		return (mon_error(c, "no vCPU named '%s' (::vcpus lists them)",
		    c->mc_argv[0]));
	return (0);
}
MON_DCMD(regs, "VM/vcpuN", "a paused vCPU's registers, segments and "
    "control state", dcmd_regs);

struct dump_look {
	struct mon_cmd *dl_c;
	const char *dl_name;
	u64 dl_gpa, dl_len;
	bool dl_found;
};

static bool
dump_vm(struct vm *vm, void *arg)
{
	struct dump_look *l = arg;
	struct mon_cmd *c = l->dl_c;

	if (strcmp(vm->vm_name, l->dl_name) != 0)
		return (true);
	l->dl_found = true;
	if (l->dl_gpa >= vm->vm_memsize || l->dl_len > vm->vm_memsize -
	    l->dl_gpa) {
		(void) mon_error(c, "0x%lx+0x%lx is outside %s's %lu MiB",
		    l->dl_gpa, l->dl_len, vm->vm_name, vm->vm_memsize >> 20);
		return (false);
	}
	const u8 *ram = (const u8 *)phys_to_virt(vm->vm_mem);
	for (u64 off = 0; off < l->dl_len; off += 16) {
		char hex[16 * 3 + 1], asc[17];
		size_t n = 0;
		for (u64 i = 0; i < 16; i++) {
			if (off + i < l->dl_len) {
				u8 b = ram[l->dl_gpa + off + i];
				n += (size_t)ksnprintf(hex + n, sizeof (hex) - n,
				    "%02x ", b);
				asc[i] = b >= 0x20 && b < 0x7f ? (char)b : '.';
			} else {
				n += (size_t)ksnprintf(hex + n, sizeof (hex) - n,
				    "   ");
				asc[i] = ' ';
			}
		}
		asc[16] = '\0';
		mon_printf(c, "%08lx  %s |%s|\n", l->dl_gpa + off, hex, asc);
	}
	return (false);
}

static int
dcmd_dump(struct mon_cmd *c)
{
	u64 gpa, len;

	if (c->mc_argc != 3 || !mon_parse_addr(c->mc_argv[1], &gpa) ||
	    !mon_parse_addr(c->mc_argv[2], &len) || len == 0 || len > 4096)
		return (mon_error(c, "::dump VM GPA LEN (LEN 1..4096)"));
	struct dump_look l = { c, c->mc_argv[0], gpa, len, false };
	vm_walk(dump_vm, &l);
	if (!l.dl_found)
		return (mon_error(c, "no VM named '%s'", c->mc_argv[0]));
	return (0);
}
MON_DCMD(dump, "VM GPA LEN", "a hex dump of guest memory", dcmd_dump);
