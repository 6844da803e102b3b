/*
 * Benchmarks of event delivery (docs/benchmarks.md): an injected
 * exception's round trip (a #GP from an RDMSR of an MSR the VM lacks, to
 * the guest's handler and back), and the latency from a PIT edge to the
 * guest's IRQ0 handler, with the vCPU asleep in HLT and with it spinning
 * (no exits: the edge is seen at the host's next interrupt).
 */
#include "kbench.h"
#include "../kern/vmm/vmm.h"
#include "../kern/vmm/vmm_dev.h"
#include "../kern/apic.h"
#include "../kern/x86.h"
#include "../kern/panic.h"

#define	ROUNDS_PIT	20
#define	PIT_HZ		1193182UL

/* One evbench run; cycles around it, and the guest's last report. */
static bool
evbench(u32 param, u64 *cycles, u32 *report)
{
	const struct guest_image *g = guest_find("evbench");
	struct vcpu_result r;
	char why[100];

	memset(&r, 0, sizeof (r));
	r.quiet = true;
	struct vm *vm = vm_create_guest("evbench", g->start,
	    (size_t)(g->end - g->start), 1UL << 20, param, why, sizeof (why));
	VERIFY(vm != NULL, "evbench: %s", why);
	/* A stuck guest stops the benchmark with its state printed
	 * (vmm_limit.c), not the boot with nothing said. */
	vm_time_limit(vm, 60 * 1000000000L);
	u64 t0 = rdtsc();
	bool ok = vcpu_run_loop(vm->vm_vcpu[0], &r);
	*cycles = rdtsc() - t0;
	*report = r.last_report;
	vm_destroy(vm);
	return (ok);
}

KBENCH(vmm_inject_gp)
{
	u64 cycles;
	u32 rep;

	if (vmm_ops == NULL)
		return;
	for (int i = 0; i < 5; i++) {
		VERIFY(evbench((1U << 28) | 5000, &cycles, &rep), "evbench");
		kbench_report("vmm_inject_gp", cycles / 5000, "cycles");
	}
}

/* ns from the PIT's programmed edge (1193 counts) to the handler. */
static void
pit_latency(u32 what, const char *name)
{
	u64 cycles;
	u32 sum;
	u64 period_ns = 1193UL * 1000000000UL / PIT_HZ;

	for (int i = 0; i < 5; i++) {
		VERIFY(evbench((what << 28) | ROUNDS_PIT, &cycles, &sum),
		    "evbench: %s", name);
		u64 ns = (u64)sum * 1000000000UL / tsc_hz / ROUNDS_PIT;
		kbench_report(name, ns > period_ns ? ns - period_ns : 0, "ns");
	}
}

KBENCH(vmm_pit_to_handler_hlt)
{
	if (vmm_ops != NULL)
		pit_latency(2, "vmm_pit_to_handler_hlt");
}

KBENCH(vmm_pit_to_handler_spin)
{
	if (vmm_ops != NULL)
		pit_latency(3, "vmm_pit_to_handler_spin");
}

/* One `rep outsb` of 64 bytes to the UART: the exit, the decode of the
 * instruction from guest memory and 64 accesses to the device model. */
KBENCH(vmm_rep_outsb_64)
{
	u64 cycles;
	u32 rep;

	if (vmm_ops == NULL)
		return;
	for (int i = 0; i < 5; i++) {
		VERIFY(evbench((4U << 28) | 200, &cycles, &rep), "evbench");
		kbench_report("vmm_rep_outsb_64", cycles / 200, "cycles");
	}
}
