/*
 * Suite "vmm": guest time limits (kern/vmm/vmm_limit.c). A guest that
 * never ends is stopped with "time limit"; one that ends in time is not
 * touched; a VM destroyed with its limit armed is never touched after.
 */
#include "ktest.h"
#include "../kern/vmm/vmm.h"
#include "../kern/vmm/vmm_dev.h"
#include "../kern/apic.h"
#include "../kern/thread.h"
#include "../kern/pmem.h"
#include "../kern/tunable.h"
#include "../kern/panic.h"

#define	MS	1000000L

static bool
have_backend(void)
{
	if (vmm_ops == NULL)
		ktest_skip("no virtualization backend on this CPU");
	return (vmm_ops != NULL);
}

static struct vm *
limit_guest(const char *name)
{
	const struct guest_image *g = guest_find(name);
	char why[120];

	VERIFY(g != NULL, "no guest %s", name);
	struct vm *vm = vm_create_guest(name, g->start,
	    (size_t)(g->end - g->start), 2 * MiB, 0, why, sizeof (why));
	VERIFY(vm != NULL, "%s: %s", name, why);
	return (vm);
}

/* Stops the VM after 10 s if its limit did not: a failure, not a hang. */
struct backstop {
	struct vm *vm;
	volatile bool done;
};

static void
backstop_thread(void *arg)
{
	struct backstop *b = arg;
	hrtime_t end = gethrtime() + 10000 * MS;

	while (!b->done && gethrtime() < end)
		delay(1);
	if (!b->done)
		vm_request_stop(b->vm, "the test's backstop");
}

/* evspin computes forever (IF set: Bochs too takes the kick). */
KTEST(vmm, time_limit_stops_spinning_guest)
{
	struct vcpu_result r;

	if (!have_backend())
		return;
	struct vm *vm = limit_guest("evspin");
	u64 fired = vmm_time_limits_fired;
	hrtime_t t0 = gethrtime();
	struct backstop b = { .vm = vm };
	kthread_t *t = thread_create("backstop", backstop_thread, &b, -1);
	vm_time_limit(vm, 100 * MS);
	memset(&r, 0, sizeof (r));
	r.quiet = true;
	(void) vcpu_run_loop(vm->vm_vcpu[0], &r);
	hrtime_t took = gethrtime() - t0;
	b.done = true;
	thread_join(t);
	bool flag = vm->vm_limit_fired;
	vm_destroy(vm);
	ktest_note("evspin stopped %lu ms after its 100 ms limit was armed",
	    took / MS);
	KT_EXPECT(r.killed && strstr(r.reason, "time limit") != NULL,
	    "evspin: %s", r.killed ? r.reason : "not stopped");
	KT_EXPECT(flag && vmm_time_limits_fired == fired + 1, "the limit did "
	    "not fire once (flag %d, %lu times)", flag,
	    vmm_time_limits_fired - fired);
	KT_EXPECT(took >= 100 * MS, "stopped %lu ns after a 100 ms limit",
	    took);
}

/*
 * The same with `cli; jmp $`: no exit, IF clear, so only the stop's kick
 * IPI (hardware, QEMU) or the VMX-preemption timer (Bochs VMX, where
 * external interrupts never exit such a guest) gets it out of guest mode.
 * Bochs SVM has neither: skipped there as its defect (docs/platforms.md).
 */
KTEST(vmm, time_limit_stops_cli_spin)
{
	static const u8 cli_spin[] = { 0xfa, 0xeb, 0xfe };
	struct vcpu_result r;
	char why[120];

	if (!have_backend())
		return;
	if (strcmp(opt_platform, "bochs-svm") == 0) {
		ktest_skip("platform defect: Bochs SVM takes no host interrupt "
		    "while the guest's IF is clear");
		return;
	}
	struct vm *vm = vm_create_guest("clispin", cli_spin, sizeof (cli_spin),
	    2 * MiB, 0, why, sizeof (why));
	VERIFY(vm != NULL, "clispin: %s", why);
	vm_time_limit(vm, 100 * MS);
	memset(&r, 0, sizeof (r));
	r.quiet = true;
	(void) vcpu_run_loop(vm->vm_vcpu[0], &r);
	vm_destroy(vm);
	KT_EXPECT(r.killed && strstr(r.reason, "time limit") != NULL,
	    "cli; jmp $: %s", r.killed ? r.reason : "not stopped");
}

/* A guest that ends before its limit ends by itself. */
KTEST(vmm, time_limit_spares_a_guest_that_ends)
{
	struct vcpu_result r;

	if (!have_backend())
		return;
	struct vm *vm = limit_guest("hello");
	vm_time_limit(vm, 60000 * MS);
	memset(&r, 0, sizeof (r));
	r.quiet = true;
	bool ok = vcpu_run_loop(vm->vm_vcpu[0], &r);
	KT_EXPECT(ok && !vm->vm_limit_fired, "hello: %s", r.reason);
	vm_destroy(vm);
}

/*
 * vm_destroy takes an armed VM off the watchdog's list: past the deadline
 * the watchdog must not have stopped it (it would write into freed
 * memory: kmem_verify at the end also looks). Many VMs at once, with
 * deadlines in both orders, so the list's unlinking is exercised.
 */
KTEST(vmm, time_limit_cancelled_by_destroy)
{
	struct vm *vms[6];

	if (!have_backend())
		return;
	u64 fired = vmm_time_limits_fired;
	for (int i = 0; i < 6; i++) {
		vms[i] = vm_create("limit", 64 * 1024, 1);
		VERIFY(vms[i] != NULL, "vm_create");
		vm_time_limit(vms[i], (hrtime_t)(10000 + (i % 3) * 1000) * MS);
	}
	vm_time_limit(vms[0], 5 * MS);		/* again: moved, not added */
	delay(hz / 10 + 1);			/* vms[0]'s deadline passes */
	KT_EXPECT(atomic_load(&vmm_time_limits_fired) == fired + 1 && vms[0]->vm_stop &&
	    strcmp(vms[0]->vm_stop_reason, "time limit") == 0, "the 5 ms "
	    "limit: %lu fired, stop %d '%s'", vmm_time_limits_fired - fired,
	    vms[0]->vm_stop, vms[0]->vm_stop_reason);
	for (int i = 0; i < 6; i++)
		vm_destroy(vms[i]);
	fired = vmm_time_limits_fired;
	for (int i = 0; i < 6; i++) {
		vms[i] = vm_create("limit", 64 * 1024, 1);
		VERIFY(vms[i] != NULL, "vm_create");
		vm_time_limit(vms[i], (hrtime_t)(200 + 10 * i) * MS);
	}
	for (int i = 5; i >= 0; i--)
		vm_destroy(vms[i]);
	delay(hz / 2 + 1);			/* past every deadline */
	KT_EXPECT(vmm_time_limits_fired == fired, "%lu limits fired on "
	    "destroyed VMs", vmm_time_limits_fired - fired);
}

/*
 * A VM whose RAM the host cannot give (1 GiB on a machine of 256 MiB, or
 * no run of free pages that long) is refused: vm_create returns NULL,
 * vm_create_guest says why, and nothing stays allocated (the runner's
 * leak checks). Before, page_alloc_contig panicked the host.
 */
KTEST(vmm, create_refuses_ram_it_cannot_get)
{
	char why[160] = "";
	static const u8 hlt[] = { 0xf4 };

	if (!have_backend())
		return;
	u64 big = 1UL << 30;
	if ((pmem_pages_total() - pmem_pages_used()) * PAGESIZE > big) {
		ktest_skip("the host has more than 1 GiB free");
		return;
	}
	KT_EXPECT(vm_create("huge", big, 1) == NULL, "a 1 GiB VM was created");
	KT_EXPECT(vm_create_guest("huge", hlt, sizeof (hlt), big, 0, why,
	    sizeof (why)) == NULL, "vm_create_guest took a 1 GiB guest");
	KT_EXPECT(strstr(why, "guest RAM") != NULL, "reason: '%s'", why);
	ktest_note("refused: %s", why);
	struct vm *vm = vm_create("small", 1UL << 20, 1);
	KT_EXPECT(vm != NULL, "a 1 MiB VM after the refusals");
	if (vm != NULL)
		vm_destroy(vm);
}

/*
 * A guest flooding its console cannot hold its vCPU thread: the lines go
 * into the VM's bounded buffer (vmm_cons.c) and a slow console (a sink
 * that sleeps a clock tick per line, as a real UART at 115,200 baud
 * takes ~5 ms for a 64-byte line) only makes lines drop. With
 * vmm_inject_cons_sync the vCPU thread prints them itself, waits for
 * every one, and none drops: the test fails.
 */
static u64 slow_lines;

static void
slow_sink(const char *vm __unused, const char *line __unused)
{
	slow_lines++;
	delay(1);
}

/* The flood of n lines through the slow sink; r says how it went. */
static bool
flood(u32 n, struct vcpu_result *r)
{
	const struct guest_image *g = guest_find("evbench");
	char why[100];

	memset(r, 0, sizeof (*r));
	slow_lines = 0;
	vm_cons_sink = slow_sink;
	struct vm *vm = vm_create_guest("flood", g->start,
	    (size_t)(g->end - g->start), 1UL << 20, (4U << 28) | n, why,
	    sizeof (why));
	VERIFY(vm != NULL, "flood: %s", why);
	vm_time_limit(vm, 60 * 1000000000L);	/* a backstop only */
	bool ok = vcpu_run_loop(vm->vm_vcpu[0], r);
	vm_cons_sink = NULL;
	vm_destroy(vm);
	return (ok);
}

KTEST(vmm, console_flood_drops_not_stalls)
{
	struct vcpu_result r;
	u32 n = 3000;

	if (!have_backend())
		return;
	bool ok = flood(n, &r);
	KT_EXPECT(ok, "the flooding guest did not end well: %s", r.reason);
	KT_EXPECT(r.cons_lines == n, "%lu lines put, the guest wrote %u",
	    r.cons_lines, n);
	KT_EXPECT(r.cons_dropped > 0, "no line of %u dropped: the vCPU "
	    "thread waited for the console", n);
	KT_EXPECT(slow_lines + r.cons_dropped == r.cons_lines, "%lu printed "
	    "+ %lu dropped != %lu lines", slow_lines, r.cons_dropped,
	    r.cons_lines);
	ktest_note("%u lines: %lu printed, %lu dropped", n, slow_lines,
	    r.cons_dropped);
}

/* The switch that prints from the vCPU thread: nothing drops, which is
 * what console_flood_drops_not_stalls fails on. */
KTEST(vmm, console_flood_sync_is_caught)
{
	struct vcpu_result r;

	if (!have_backend())
		return;
	vmm_inject_cons_sync = true;
	(void) flood(100, &r);
	vmm_inject_cons_sync = false;
	KT_EXPECT(r.cons_lines == 100 && r.cons_dropped == 0 &&
	    slow_lines == 100, "printed synchronously: %lu of %lu lines "
	    "printed, %lu dropped", slow_lines, r.cons_lines, r.cons_dropped);
}
