/*
 * Suite "vmm": VM_RUN with real guests (the guest folder) on the backend this
 * CPU has (SVM on QEMU TCG and Bochs ryzen, VMX on Bochs skylake_x). Skipped
 * without a backend.
 */
#include "ktest.h"
#include "fpu_pattern.h"
#include "../kern/vmm/vmm.h"
#include "../kern/vmm/vmm_dev.h"
#include "../kern/ctx/ctxop.h"
#include "../kern/thread.h"
#include "../kern/cpu.h"
#include "../kern/trace.h"
#include "../kern/panic.h"
#include "../kern/console.h"
#include "../kern/kmem.h"

extern bool vmm_inject_detach_gap, vmm_inject_critical_yield;
extern bool vmm_inject_gpr_flip;
extern enum vm_reg vmm_inject_gpr_flip_reg;


static bool
have_backend(void)
{
	if (vmm_ops == NULL) {
		ktest_skip("no virtualization backend on this CPU");
		return (false);
	}
	return (true);
}

/* One guest on one vCPU thread. */
struct job {
	const char *guest;
	u32 param;
	u32 migrate_every;
	bool corrupt;		/* break the VMCB/VMCS before the first entry */
	bool quiet;
	int cpu;		/* bind the vCPU thread (-1: any) */
	u64 host_seed;		/* 0: the vCPU thread uses no FPU itself */
	/* results */
	struct vm *vm;
	struct vcpu_result res;
	bool passed;
	u64 host_bad;		/* host FPU mismatches seen around vm_run */
	char host_why[100];
	u64 exits, switches_in_window, migrations_in_window;
	u64 exits_by_code;	/* the per-exit counters, summed */
	u64 preemptions;
	u64 xcr0_switches;
	bool xcr0_live;
};

static bool
check_host_fpu(struct vcpu *vcpu __unused, void *arg)
{
	struct job *j = arg;
	char why[100];

	if (fpu_pattern_check(j->host_seed, why, sizeof (why)) != 0) {
		if (j->host_bad++ == 0)
			strlcpy(j->host_why, why, sizeof (j->host_why));
	}
	return (true);
}

static void
job_thread(void *arg)
{
	struct job *j = arg;
	const struct guest_image *g = guest_find(j->guest);
	char why[120];

	VERIFY(g != NULL, "job: no guest %s", j->guest);
	if (j->cpu >= 0)
		thread_bind(j->cpu);
	j->vm = vm_create_guest(j->guest, g->start, (size_t)(g->end - g->start),
	    2 * MiB, j->param, why, sizeof (why));
	VERIFY(j->vm != NULL, "job: %s", why);
	j->vm->vm_migrate_every = j->migrate_every;
	if (j->corrupt) {
		/* CR4 bit 31 is reserved: VMRUN's checks (SVM) and the
		 * guest-state checks (VMX, CR4_FIXED1) refuse it. */
		struct vcpu *v = j->vm->vm_vcpu[0];
		vm_setreg(v, VM_REG_CR4, vm_getreg(v, VM_REG_CR4) | (1UL << 31));
	}
	j->res.quiet = j->quiet;
	if (j->host_seed != 0) {
		fpu_thread_enable();
		fpu_pattern_load(j->host_seed);
		j->res.after_run = check_host_fpu;
		j->res.after_arg = j;
	}
	u64 pre = curthread->t_npreempt;
	j->passed = vcpu_run_loop(j->vm->vm_vcpu[0], &j->res);
	if (j->host_seed != 0)
		check_host_fpu(NULL, j);
	struct vcpu *v = j->vm->vm_vcpu[0];
	j->exits = v->vc_stats[VMM_STAT_VMEXIT_TOTAL];
	for (int c = 0; c < VM_EXIT_NCODES; c++)
		j->exits_by_code += v->vc_stats[VMM_STAT_VMEXIT_NONE + c];
	j->switches_in_window = v->vc_stats[VMM_STAT_SWITCH_IN_WINDOW];
	j->migrations_in_window = v->vc_stats[VMM_STAT_MIGRATE_IN_WINDOW];
	j->preemptions = curthread->t_npreempt - pre;
	j->xcr0_switches = v->vc_stats[VMM_STAT_XCR0_SWITCHES];
	j->xcr0_live = v->vc_xcr0_live;
	vm_destroy(j->vm);
	j->vm = NULL;
	if (j->cpu >= 0)
		thread_bind(-1);
}

static kthread_t *
start_job(struct job *j)
{
	return (thread_create(j->guest, job_thread, j, -1));
}

/* Every exit is counted once, under the code vm_run acted on. */
static void
run_job(struct job *j)
{
	thread_join(start_job(j));
	KT_EXPECT(j->exits == j->exits_by_code, "%s: %lu exits but the "
	    "per-exit counters sum to %lu", j->guest, j->exits,
	    j->exits_by_code);
}

KTEST(vmm, hello_console)
{
	struct job j = { .guest = "hello", .cpu = -1 };

	if (!have_backend())
		return;
	run_job(&j);
	KT_EXPECT(j.passed, "hello: %s (verdict 0x%x)", j.res.reason,
	    j.res.verdict);
	KT_EXPECT((strstr(j.res.transcript, "Hello from a bhyvelet guest") != NULL),
	    "the guest's line did not come through the UART: '%s'",
	    j.res.transcript);
}

KTEST(vmm, real_to_long_mode)
{
	struct job j = { .guest = "longmode", .cpu = -1 };

	if (!have_backend())
		return;
	run_job(&j);
	KT_EXPECT(j.passed, "longmode: %s (verdict 0x%x)", j.res.reason,
	    j.res.verdict);
	KT_EXPECT((strstr(j.res.transcript, "reached long mode") != NULL),
	    "no 'reached long mode' in '%s'", j.res.transcript);
}

/*
 * The guest's XCR0 goes live only once the guest can see it (docs/vmm.md,
 * "Guest FPU"): the fpu guest reads XCR0's reset value right after it
 * sets CR4.OSXSAVE, and on VMX a guest that never sets OSXSAVE costs no
 * XSETBV around its VM_RUNs. With vmm_inject_xcr0_unseen the host's XCR0
 * stays under the fpu guest, which must see it (verdict 0x14).
 */
KTEST(vmm, xcr0_live_when_the_guest_sees_it)
{
	if (!have_backend())
		return;
	if (!fpu_has_xsave) {
		ktest_skip("no XSAVE: XCR0 does not exist");
		return;
	}
	struct job h = { .guest = "hello", .cpu = -1, .quiet = true };
	run_job(&h);
	KT_EXPECT(h.passed, "hello: %s", h.res.reason);
	ktest_note("hello (no OSXSAVE): %lu XCR0 switches, live %d",
	    h.xcr0_switches, h.xcr0_live);
	if (vmm_ops == &vmm_ops_vmx)
		KT_EXPECT(h.xcr0_switches == 0 && !h.xcr0_live, "hello never "
		    "sets OSXSAVE, yet %lu XSETBVs (live %d)", h.xcr0_switches,
		    h.xcr0_live);

	struct job f = { .guest = "fpu", .param = 40, .cpu = -1,
	    .quiet = true };
	run_job(&f);
	KT_EXPECT(f.passed, "fpu: %s (verdict 0x%x)", f.res.reason,
	    f.res.verdict);
	KT_EXPECT(f.xcr0_live, "the fpu guest set OSXSAVE unseen");

	vmm_inject_xcr0_unseen = true;
	struct job b = { .guest = "fpu", .param = 40, .cpu = -1,
	    .quiet = true };
	run_job(&b);
	vmm_inject_xcr0_unseen = false;
	if (strstr(f.res.transcript, "avx=1") == NULL) {
		ktest_note("the fpu guest found no AVX: XCR0 untested");
		return;
	}
	KT_EXPECT(!b.passed && b.res.verdict == 0x14, "the host's XCR0 under "
	    "the fpu guest went unnoticed: %s (verdict 0x%x)", b.res.reason,
	    b.res.verdict);
}

/* A host thread that keeps its own FPU pattern and checks it. */
struct hostfpu {
	u64 seed;
	volatile bool *stop;
	int cpu;
	u64 checks, bad;
	char why[100];
};

static void
hostfpu_thread(void *arg)
{
	struct hostfpu *h = arg;
	char why[100];

	if (h->cpu >= 0)
		thread_bind(h->cpu);
	fpu_thread_enable();
	fpu_pattern_load(h->seed);
	while (!READ_ONCE(*h->stop)) {
		h->checks++;
		if (fpu_pattern_check(h->seed, why, sizeof (why)) != 0 &&
		    h->bad++ == 0)
			strlcpy(h->why, why, sizeof (h->why));
		if ((h->checks & 7) == 0)
			thread_yield();
	}
	if (h->cpu >= 0)
		thread_bind(-1);
}

static bool
fpu_verdict(u32 v)
{
	return (v >= 0x10 && v <= 0x17);	/* guest/fpu.asm: x87 .. ZMM16-31 */
}

/*
 * FPU guests and FPU host threads crowded onto CPU 0, so switches land
 * while guest FPU state is live. Correct order: nobody's registers change.
 * ctx_legacy_restore=1: the guests (or the hosts) must notice. The guest
 * FPU is restored in a switch-in only inside the critical section around
 * the entry, where nothing switches unless a bug sleeps there: the test
 * plants that bug (vmm_inject_critical_yield), so that both orders meet
 * the switch-in that restores guest state.
 */
KTEST(vmm, fpu_guest_switches)
{
	enum { NG = 2, NH = 2 };
	struct job g[NG];
	struct hostfpu h[NH];
	kthread_t *gt[NG], *ht[NH];
	volatile bool stop = false;
	u64 sw0 = vmm_switch_in_window;

	if (!have_backend())
		return;
	memset(g, 0, sizeof (g));
	memset(h, 0, sizeof (h));
	vmm_inject_critical_yield = true;
	trace_reset();
	trace_on = true;
	for (int i = 0; i < NH; i++) {
		h[i].seed = 0xabc0000 + (u64)i;
		h[i].stop = &stop;
		h[i].cpu = 0;
		ht[i] = thread_create("hostfpu", hostfpu_thread, &h[i], -1);
	}
	for (int i = 0; i < NG; i++) {
		g[i].guest = "fpu";
		g[i].param = (u32)ktest_scale(20000);
		g[i].cpu = 0;
		g[i].quiet = ctx_legacy_restore;
		g[i].host_seed = 0x5150000 + (u64)i;
		gt[i] = start_job(&g[i]);
	}
	/* Trace the first switches with guest FPU live, not the whole run. */
	for (int i = 0; i < 3000 && vmm_switch_in_window - sw0 < 20; i++)
		delay(1);
	trace_on = false;
	for (int i = 0; i < NG; i++)
		thread_join(gt[i]);
	stop = true;
	for (int i = 0; i < NH; i++)
		thread_join(ht[i]);
	vmm_inject_critical_yield = false;
	trace_dump();

	u64 guest_bad = 0, host_bad = 0;
	for (int i = 0; i < NG; i++) {
		if (!g[i].passed) {
			guest_bad++;
			ktest_note("guest %d: verdict 0x%x %s", i,
			    g[i].res.verdict, g[i].res.reason);
		}
		host_bad += g[i].host_bad;
	}
	for (int i = 0; i < NH; i++)
		host_bad += h[i].bad;
	ktest_note("%d FPU guests + %d FPU host threads on cpu0: %lu switches "
	    "with guest FPU live; %lu guests failed, %lu host FPU mismatches "
	    "(restore order: %s)", NG, NH, vmm_switch_in_window - sw0,
	    guest_bad, host_bad,
	    ctx_legacy_restore ? "legacy newest-first" : "oldest-first");
	if (ctx_legacy_restore) {
		bool caught = host_bad > 0;
		for (int i = 0; i < NG; i++)
			caught |= g[i].res.done && fpu_verdict(g[i].res.verdict);
		KT_EXPECT(caught, "the legacy restore order went unnoticed");
	} else {
		KT_EXPECT(guest_bad == 0, "%lu FPU guests failed", guest_bad);
		KT_EXPECT(host_bad == 0, "host FPU corrupted: %s %s",
		    g[0].host_why, h[0].why);
		KT_EXPECT(vmm_switch_in_window > sw0,
		    "no switch happened with the guest FPU loaded");
	}
}

/*
 * The stress run: 4 vCPU threads per CPU (stress and FPU guests, every
 * vCPU thread with its own host FPU pattern checked around vm_run), FPU
 * host threads, the clock preempting, some vCPUs hopping CPUs inside the
 * run window. Rounds of fresh VMs until the exits reach the target.
 */
struct stress_sum {
	u64 exits, preemptions, failed, host_bad, rounds;
};

static void
stress_round(struct job *g, int n, struct stress_sum *sum)
{
	kthread_t *gt[4 * NCPU];

	for (int i = 0; i < n; i++) {
		memset(&g[i], 0, sizeof (g[i]));
		g[i].guest = (i % 2 == 0) ? "stress" : "fpu";
		g[i].param = (u32)ktest_scale(i % 2 == 0 ? 20000 : 5000);
		g[i].cpu = -1;
		g[i].quiet = true;
		g[i].migrate_every = (i % 4 < 2) ? 64 : 0;
		g[i].host_seed = 0x57e55000 + (u64)i + (sum->rounds << 8);
		gt[i] = start_job(&g[i]);
	}
	for (int i = 0; i < n; i++) {
		thread_join(gt[i]);
		sum->exits += g[i].exits;
		sum->preemptions += g[i].preemptions;
		sum->host_bad += g[i].host_bad;
		if (!g[i].passed) {
			sum->failed++;
			ktest_note("%s guest %d: verdict 0x%x %s; host: %s",
			    g[i].guest, i, g[i].res.verdict, g[i].res.reason,
			    g[i].host_why);
		} else if (g[i].host_bad != 0) {
			ktest_note("vCPU thread %d host FPU: %s", i,
			    g[i].host_why);
		}
	}
	sum->rounds++;
}

KTEST(vmm, stress)
{
	int n = 4 * ncpus, nh = ncpus;
	struct job *g = kmem_zalloc(sizeof (*g) * (size_t)n, KM_SLEEP);
	struct hostfpu *h = kmem_zalloc(sizeof (*h) * (size_t)nh, KM_SLEEP);
	kthread_t *ht[NCPU];
	volatile bool stop = false;
	u64 target = ktest_scale(1000000);
	u64 att0 = vmm_total_attach, det0 = vmm_total_detach;
	u64 sw0 = vmm_switch_in_window, mig0 = vmm_migrate_in_window;
	struct stress_sum sum;

	memset(&sum, 0, sizeof (sum));
	if (!have_backend()) {
		kmem_free(g, sizeof (*g) * (size_t)n);
		kmem_free(h, sizeof (*h) * (size_t)nh);
		return;
	}
	for (int i = 0; i < nh; i++) {
		h[i].seed = 0x40570000 + (u64)i;
		h[i].stop = &stop;
		h[i].cpu = -1;
		ht[i] = thread_create("hostfpu", hostfpu_thread, &h[i], -1);
	}
	while (sum.exits < target && sum.rounds < 100 && sum.failed == 0)
		stress_round(g, n, &sum);
	stop = true;
	for (int i = 0; i < nh; i++) {
		thread_join(ht[i]);
		sum.host_bad += h[i].bad;
		if (h[i].bad != 0)
			ktest_note("host thread %d: %s", i, h[i].why);
	}

	u64 att = vmm_total_attach - att0, det = vmm_total_detach - det0;
	u64 sw = vmm_switch_in_window - sw0, mig = vmm_migrate_in_window - mig0;
	ktest_note("%d vCPU threads + %d FPU host threads on %d CPUs, hz=%u, "
	    "%lu rounds: %lu exits, %lu vCPU-thread preemptions, %lu switches "
	    "and %lu migrations inside the run window, %lu attach / %lu detach",
	    n, nh, ncpus, hz, sum.rounds, sum.exits, sum.preemptions, sw, mig,
	    att, det);
	KT_EXPECT(sum.failed == 0, "%lu guests failed", sum.failed);
	KT_EXPECT(sum.host_bad == 0, "%lu host FPU mismatches", sum.host_bad);
	KT_EXPECT(sum.exits >= target, "only %lu exits (want %lu)", sum.exits,
	    target);
	KT_EXPECT(att == det && att > 0, "attach %lu != detach %lu", att, det);
	KT_EXPECT(sw > 0, "no switch inside the run window");
	KT_EXPECT(sum.preemptions > 0, "no vCPU thread was preempted");
	if (ncpus > 1)
		KT_EXPECT(mig > 0, "no migration inside the run window");
	kmem_free(g, sizeof (*g) * (size_t)n);
	kmem_free(h, sizeof (*h) * (size_t)nh);
}

/*
 * The stress guest checks every GPR across every exit: for each of the 16
 * (rsp too), the host flips bit 0 of that one register on a HLT exit
 * (vmm_inject_gpr_flip) and the guest must stop with 0x36 naming it.
 */
KTEST(vmm, stress_catches_gpr_flip)
{
	static const char *const names[16] = { "rax", "rbx", "rcx", "rdx",
	    "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
	    "r14", "r15" };
	int caught = 0;

	if (!have_backend())
		return;
	for (int r = 0; r < 16; r++) {
		/* Iteration 3 is the first HLT; 5 iterations cover every kind. */
		struct job j = { .guest = "stress", .param = 5, .cpu = -1,
		    .quiet = true };
		char want[32];

		ksnprintf(want, sizeof (want), "GPR %s canary failed", names[r]);
		vmm_inject_gpr_flip_reg = (enum vm_reg)(VM_REG_RAX + r);
		vmm_inject_gpr_flip = true;
		run_job(&j);
		bool flipped = !vmm_inject_gpr_flip;
		vmm_inject_gpr_flip = false;
		KT_EXPECT(flipped, "%s: no HLT exit took the flip", names[r]);
		bool ok = j.res.done && j.res.verdict == 0x36 &&
		    strstr(j.res.transcript, want) != NULL;
		KT_EXPECT(ok, "%s flipped: verdict 0x%x (want 0x36 naming it), "
		    "%s: '%s'", names[r], j.res.verdict, j.res.reason,
		    j.res.transcript);
		caught += ok;
	}
	ktest_note("a flipped guest GPR was caught %d times of 16", caught);
}

/* Bad guests end their own VM only; a good one next to them goes on. */
KTEST(vmm, bad_guests_stopped)
{
	struct job j[4] = {
		{ .guest = "triplefault", .cpu = -1 },
		{ .guest = "outofmap", .cpu = -1 },
		{ .guest = "hello", .cpu = -1, .corrupt = true },
		{ .guest = "stress", .cpu = -1, .quiet = true },
	};
	kthread_t *t[4];

	if (!have_backend())
		return;
	j[3].param = (u32)ktest_scale(20000);
	for (int i = 0; i < 4; i++)
		t[i] = start_job(&j[i]);
	for (int i = 0; i < 4; i++)
		thread_join(t[i]);
	for (int i = 0; i < 3; i++)
		ktest_note("%s: %s", j[i].guest, j[i].res.reason);
	KT_EXPECT(j[0].res.killed && ((strstr(j[0].res.reason, "triple fault") != NULL)
	    || (strstr(j[0].res.reason, "double fault") != NULL)),
	    "triplefault: '%s'", j[0].res.reason);
	KT_EXPECT(j[1].res.killed && (strstr(j[1].res.reason, "outside its") != NULL),
	    "outofmap: '%s'", j[1].res.reason);
	KT_EXPECT(j[2].res.killed && (strstr(j[2].res.reason, "vmfail") != NULL),
	    "bad state: '%s'", j[2].res.reason);
	KT_EXPECT(j[3].passed, "the good guest next to them: %s (0x%x)",
	    j[3].res.reason, j[3].res.verdict);
}

/*
 * Invariant 8 of docs/ctxops.md: no switch between detach and the final
 * save. vmm_inject_detach_gap lets one in, and the check of invariant 5
 * in swtch() must catch the guest FPU left live.
 */
KTEST_PANIC(vmm, detach_gap_caught, "guest FPU state live")
{
	volatile bool stop = false;
	struct hostfpu h = { .seed = 1, .stop = &stop, .cpu = 0 };
	struct job j = { .guest = "hello", .cpu = 0, .quiet = true };

	thread_create("hostfpu", hostfpu_thread, &h, -1);
	vmm_inject_detach_gap = true;
	run_job(&j);
}

static void
destroyer(void *arg)
{
	struct job *j = arg;

	while (READ_ONCE(j->vm) == NULL)
		delay(1);
	delay(5);
	vm_destroy(j->vm);
}

KTEST_PANIC(vmm, destroy_while_running, "is inside vm_run")
{
	struct job j = { .guest = "stress", .param = 10000000, .cpu = -1,
	    .quiet = true };

	thread_create("destroyer", destroyer, &j, -1);
	run_job(&j);
}

static void
intruder(void *arg)
{
	struct job *j = arg;

	while (READ_ONCE(j->vm) == NULL ||
	    READ_ONCE(j->vm->vm_vcpu[0]->vc_owner) == NULL)
		delay(1);
	vm_setreg(j->vm->vm_vcpu[0], VM_REG_RAX, 0);
}

/* A vCPU's registers are its owner thread's: another writer panics. */
KTEST_PANIC(vmm, setreg_by_other_thread, "belongs to thread")
{
	struct job j = { .guest = "stress", .param = 10000000, .cpu = -1,
	    .quiet = true };

	thread_create("intruder", intruder, &j, -1);
	run_job(&j);
}

/*
 * A vCPU thread moved between CPUs inside the run window (on guest HLTs)
 * and outside it (between vm_run calls), with tracing on: the dump shows
 * the backend following it (VMX: VMCLEAR on the CPU left, VMPTRLD on the
 * new one, then VMLAUNCH; SVM: a new ASID). The kernel checks the VMX
 * sequence itself (vmx_load/vmx_unload panics; the CPU refuses a wrong
 * VMLAUNCH/VMRESUME); scripts/tracecheck.py's asid rule checks the SVM one.
 */
struct hopper {
	struct job job;
	u64 outside;		/* moves between vm_run calls */
	u64 calls;
};

static bool
hop_outside(struct vcpu *vcpu __unused, void *arg)
{
	struct hopper *h = arg;

	if (++h->calls % 16 == 0) {
		thread_bind((CPU->cpu_id + 1) % ncpus);
		thread_bind(-1);
		h->outside++;
	}
	return (true);
}

static void
hopper_thread(void *arg)
{
	struct hopper *h = arg;
	const struct guest_image *g = guest_find("stress");
	char why[120];

	struct vm *vm = vm_create_guest("hopper", g->start,
	    (size_t)(g->end - g->start), 2 * MiB, h->job.param, why,
	    sizeof (why));
	VERIFY(vm != NULL, "hopper: %s", why);
	vm->vm_migrate_every = 4;
	/* vm_run must come back for the moves outside the window: the
	 * stress guest's parameter reads go to this thread's model. */
	vm->vm_abi_in_thread = true;
	h->job.res.quiet = true;
	h->job.res.after_run = hop_outside;
	h->job.res.after_arg = h;
	h->job.passed = vcpu_run_loop(vm->vm_vcpu[0], &h->job.res);
	h->job.migrations_in_window =
	    vm->vm_vcpu[0]->vc_stats[VMM_STAT_MIGRATE_IN_WINDOW];
	vm_destroy(vm);
}

KTEST_MIN(vmm, migration_traced, 2)
{
	struct hopper h;

	if (!have_backend())
		return;
	memset(&h, 0, sizeof (h));
	h.job.param = (u32)ktest_scale(3000);
	trace_reset();
	trace_on = true;
	kthread_t *t = thread_create("hopper", hopper_thread, &h, -1);
	thread_join(t);
	trace_on = false;
	u64 loads = trace_count(TR_VMCS_LOAD), clears = trace_count(TR_VMCS_CLEAR);
	u64 asids = trace_count(TR_ASID_NEW), drops = trace_dropped();
	ktest_note("hopper on %s: %lu moves inside the run window, %lu outside; "
	    "trace: %lu VMPTRLD, %lu VMCLEAR, %lu new ASIDs, %lu dropped",
	    vmm_ops->name, h.job.migrations_in_window, h.outside, loads,
	    clears, asids, drops);
	trace_dump();
	KT_EXPECT(h.job.passed, "the guest failed: %s (0x%x)", h.job.res.reason,
	    h.job.res.verdict);
	KT_EXPECT(h.job.migrations_in_window > 0, "no move inside the window");
	KT_EXPECT(h.outside > 0, "no move outside the window");
	if (strcmp(vmm_ops->name, "vmx") == 0)
		KT_EXPECT(loads > h.job.migrations_in_window && clears > 0,
		    "VMPTRLD/VMCLEAR not seen in the trace");
	else
		KT_EXPECT(asids > h.job.migrations_in_window,
		    "new ASIDs not seen in the trace");
}
