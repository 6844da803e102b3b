/*
 * Benchmarks of VM_RUN (docs/benchmarks.md): the round trip of an exit
 * handled in the kernel (CPUID) and of one handed to the vCPU thread's
 * device model (port I/O), exits per second with one and with every CPU
 * busy, and what attach+detach of the vCPU ctxop costs next to an exit.
 */
#include "kbench.h"
#include "../kern/vmm/vmm.h"
#include "../kern/vmm/vmm_dev.h"
#include "../kern/ctx/ctxop.h"
#include "../kern/thread.h"
#include "../kern/cpu.h"
#include "../kern/apic.h"
#include "../kern/x86.h"
#include "../kern/panic.h"

#define	BENCH_IO	0x80000000U

struct bench_run {
	u32 param;
	bool in_thread;		/* the report port to the thread's model */
	u64 cycles;
	u64 exits;
	bool ok;
};

/* One bench guest, start to verdict; cycles counted around the loop. */
static void
bench_guest(void *arg)
{
	struct bench_run *b = arg;
	const struct guest_image *g = guest_find("bench");
	char why[100];
	struct vcpu_result r;

	memset(&r, 0, sizeof (r));
	r.quiet = true;
	struct vm *vm = vm_create_guest("bench", g->start,
	    (size_t)(g->end - g->start), 1UL << 20, b->param, why, sizeof (why));
	VERIFY(vm != NULL, "bench: %s", why);
	vm->vm_abi_in_thread = b->in_thread;
	u64 t0 = rdtsc();
	b->ok = vcpu_run_loop(vm->vm_vcpu[0], &r);
	b->cycles = rdtsc() - t0;
	b->exits = vm->vm_vcpu[0]->vc_stats[VMM_STAT_VMEXIT_TOTAL];
	vm_destroy(vm);
}

static u64
per_exit_in(u32 param, u32 n, bool in_thread)
{
	struct bench_run b = { .param = param, .in_thread = in_thread };

	bench_guest(&b);
	VERIFY(b.ok, "bench guest failed");
	return (b.cycles / n);
}

static u64
per_exit(u32 param, u32 n)
{
	return (per_exit_in(param, n, false));
}

KBENCH(vmm_exit_cpuid)
{
	if (vmm_ops == NULL)
		return;
	for (int r = 0; r < 5; r++)
		kbench_report("vmm_exit_cpuid", per_exit(20000, 20000),
		    "cycles");
}

KBENCH(vmm_exit_portio)
{
	if (vmm_ops == NULL)
		return;
	for (int r = 0; r < 5; r++)
		kbench_report("vmm_exit_portio",
		    per_exit(BENCH_IO | 5000, 5000), "cycles");
}

/* The same port handed to the vCPU thread: vm_run returns and comes back. */
KBENCH(vmm_exit_portio_thread)
{
	if (vmm_ops == NULL)
		return;
	for (int r = 0; r < 5; r++)
		kbench_report("vmm_exit_portio_thread",
		    per_exit_in(BENCH_IO | 5000, 5000, true), "cycles");
}

/*
 * The floor under them: the same guest loops (guest/bench.asm) run by
 * vm_exit_floor, the backend's world switch and nothing else. make bench
 * prints each exit beside its floor (scripts/bench.py, docs/benchmarks.md).
 */
#define	BENCH_FLOOR_CPUID	0x7c10
#define	BENCH_FLOOR_IO		0x7c20
#define	BENCH_PORT_REPORT	0x4f4

static u64
floor_per_exit(u64 rip, u32 n)
{
	const struct guest_image *g = guest_find("bench");
	struct vm_exit vme;
	char why[100];

	struct vm *vm = vm_create_guest("floor", g->start,
	    (size_t)(g->end - g->start), 1UL << 20, 0, why, sizeof (why));
	VERIFY(vm != NULL, "floor: %s", why);
	struct vcpu *v = vm->vm_vcpu[0];
	vm_setreg(v, VM_REG_RIP, rip);
	vm_setreg(v, VM_REG_RSI, n);
	vm_setreg(v, VM_REG_RDX, BENCH_PORT_REPORT);
	u64 t0 = rdtsc();
	u64 exits = vm_exit_floor(v, &vme);
	u64 cycles = rdtsc() - t0;
	/* n loop exits and the verdict's OUT, then the HLT. */
	VERIFY(vme.exitcode == VM_EXIT_HLT && exits == n + 1, "floor: %lu "
	    "exits, then %s (%s), not %u and a HLT", exits,
	    vm_exitcode_name(vme.exitcode), vme.reason, n + 1);
	vcpu_release(v);
	vm_destroy(vm);
	return (cycles / exits);
}

KBENCH(vmm_exit_floor_cpuid)
{
	if (vmm_ops == NULL)
		return;
	for (int r = 0; r < 5; r++)
		kbench_report("vmm_exit_floor_cpuid",
		    floor_per_exit(BENCH_FLOOR_CPUID, 20000), "cycles");
}

KBENCH(vmm_exit_floor_out)
{
	if (vmm_ops == NULL)
		return;
	for (int r = 0; r < 5; r++)
		kbench_report("vmm_exit_floor_out",
		    floor_per_exit(BENCH_FLOOR_IO, 5000), "cycles");
}

static void
exits_per_sec(int nthreads, const char *name)
{
	struct bench_run b[NCPU];
	kthread_t *t[NCPU];

	for (int r = 0; r < 3; r++) {
		hrtime_t t0 = gethrtime();
		u64 exits = 0;
		for (int i = 0; i < nthreads; i++) {
			b[i].param = 20000;
			t[i] = thread_create("bench", bench_guest, &b[i], i);
		}
		for (int i = 0; i < nthreads; i++) {
			thread_join(t[i]);
			exits += b[i].exits;
		}
		hrtime_t ns = gethrtime() - t0;
		kbench_report(name, exits * 1000000000ULL / (ns ? ns : 1),
		    "exits/s");
	}
}

KBENCH(vmm_exits_per_sec_1cpu)
{
	if (vmm_ops != NULL)
		exits_per_sec(1, "vmm_exits_per_sec_1cpu");
}

KBENCH(vmm_exits_per_sec_allcpus)
{
	if (vmm_ops != NULL)
		exits_per_sec(ncpus, "vmm_exits_per_sec_allcpus");
}

static void
nop_hook(void *a __unused)
{
}

static const struct ctxop_template nop_tpl = {
	.ct_rev = CTXOP_TPL_REV, .ct_save = nop_hook, .ct_restore = nop_hook,
};

/* attach+detach against the port I/O round trip through the vCPU thread
 * (one pair per vm_run). */
KBENCH(vmm_attach_detach_permille_of_portio)
{
	struct ctxop *op = ctxop_allocate(&nop_tpl, NULL);

	if (vmm_ops == NULL) {
		ctxop_free(op);
		return;
	}
	for (int r = 0; r < 5; r++) {
		u64 t0 = rdtsc();
		for (int i = 0; i < 2000; i++) {
			ctxop_attach(curthread, op);
			ctxop_detach(curthread, op);
		}
		u64 pair = (rdtsc() - t0) / 2000;
		u64 io = per_exit_in(BENCH_IO | 5000, 5000, true);
		kbench_report("vmm_attach_detach_permille_of_portio",
		    pair * 1000 / (io ? io : 1), "permille");
	}
	ctxop_free(op);
}

/*
 * A guest that touches every page of 64 MiB (guest/touchram.asm), from
 * vm_create to its verdict, with its RAM premapped (2 MiB leaves) and
 * mapped from the nested page faults (vmm_ondemand), in the same boot:
 * the time and the NPF exits each way (docs/benchmarks.md).
 */
static void
touch_ram(bool ondemand)
{
	const struct guest_image *g = guest_find("touchram");
	struct vcpu_result r;
	char why[100];

	memset(&r, 0, sizeof (r));
	r.quiet = true;
	bool was = vmm_ondemand;
	vmm_ondemand = ondemand;
	hrtime_t t0 = gethrtime();
	struct vm *vm = vm_create_guest("touchram", g->start,
	    (size_t)(g->end - g->start), 64UL << 20, 0, why, sizeof (why));
	vmm_ondemand = was;
	VERIFY(vm != NULL, "touchram: %s", why);
	bool ok = vcpu_run_loop(vm->vm_vcpu[0], &r);
	hrtime_t ns = gethrtime() - t0;
	VERIFY(ok, "touchram: %s (verdict 0x%x)", r.reason, r.verdict);
	u64 npf = vm->vm_vcpu[0]->vc_stats[VMM_STAT_VMEXIT_NPF];
	vm_destroy(vm);
	kbench_report(ondemand ? "vmm_touch_ram_64m_ondemand_us" :
	    "vmm_touch_ram_64m_premap_us", ns / 1000, "us");
	kbench_report(ondemand ? "vmm_touch_ram_64m_ondemand_npf" :
	    "vmm_touch_ram_64m_premap_npf", npf, "exits");
}

KBENCH(vmm_touch_ram_64m)
{
	if (vmm_ops == NULL)
		return;
	touch_ram(false);
	touch_ram(true);
}
