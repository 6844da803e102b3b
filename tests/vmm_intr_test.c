/*
 * Suite "vmm", events: the PIC, the PIT and event injection seen by real
 * guests (guest/evtick.asm), on whichever backend this CPU has. Skipped
 * without one.
 */
#include "ktest.h"
#include "../kern/vmm/vmm.h"
#include "../kern/vmm/vmm_dev.h"
#include "../kern/thread.h"
#include "../kern/panic.h"
#include "../kern/x86.h"
#include "../kern/console.h"
#include "../kern/tunable.h"


extern bool vmm_inject_ignore_shadow, vmm_inject_drop_reinject;
extern bool vmm_inject_no_kick, vmm_inject_lost_notify;
#include "../kern/vmm/io/vatpic.h"
#include "../kern/apic.h"

static bool
have_backend(void)
{
	if (vmm_ops == NULL) {
		ktest_skip("no virtualization backend on this CPU");
		return (false);
	}
	return (true);
}

/* Run a built-in guest to its end on this thread. */
static bool
run_guest(const char *name, u32 param, struct vcpu_result *r, u64 *stats)
{
	const struct guest_image *g = guest_find(name);
	char why[120];

	VERIFY(g != NULL, "no guest %s", name);
	struct vm *vm = vm_create_guest(name, g->start,
	    (size_t)(g->end - g->start), 2 * MiB, param, why, sizeof (why));
	VERIFY(vm != NULL, "%s: %s", name, why);
	memset(r, 0, sizeof (*r));
	r->quiet = true;
	bool ok = vcpu_run_loop(vm->vm_vcpu[0], r);
	memcpy(stats, vm->vm_vcpu[0]->vc_stats, sizeof (u64) * VMM_NSTATS);
	vm_destroy(vm);
	return (ok);
}

/*
 * The guests whose point is an exit on the first touch of a page (an
 * event's delivery, a shadowed instruction) need their RAM mapped from
 * the faults: premapped, those exits never come (vmm_mem.c).
 */
static bool
run_guest_ondemand(const char *name, u32 param, struct vcpu_result *r,
    u64 *stats)
{
	bool was = vmm_ondemand;

	vmm_ondemand = true;
	bool ok = run_guest(name, param, r, stats);
	vmm_ondemand = was;
	return (ok);
}

/*
 * PIT ticks through the PIC wake sti; hlt: ten of them at 1 kHz, each
 * injected (not polled), with the vCPU asleep in between; none while the
 * guest keeps IF clear.
 */
KTEST(vmm, pit_ticks_wake_hlt)
{
	struct vcpu_result r;
	u64 st[VMM_NSTATS];

	if (!have_backend())
		return;
	bool ok = run_guest("evtick", 0, &r, st);
	ktest_note("evtick: %lu ExtINTs, %lu HLT exits, %lu sleeps, %lu "
	    "window exits, %lu PIC/PIT port accesses", st[VMM_STAT_EVENT_EXTINT],
	    st[VMM_STAT_VMEXIT_HLT], st[VMM_STAT_HLT_SLEEPS],
	    st[VMM_STAT_VMEXIT_INTR_WINDOW], st[VMM_STAT_ISA_INOUT]);
	KT_EXPECT(ok, "evtick failed: %s (verdict 0x%x) %s", r.reason,
	    r.verdict, r.transcript);
	KT_EXPECT(st[VMM_STAT_EVENT_EXTINT] >= 10, "%lu interrupts injected",
	    st[VMM_STAT_EVENT_EXTINT]);
	KT_EXPECT(st[VMM_STAT_HLT_SLEEPS] > 0, "the vCPU never slept in HLT");
}

/*
 * A guest that spins with IF set and no exits takes each PIT edge when it
 * comes, not at the host's next clock tick: vm_run keeps a callout at the
 * PIT's next edge on the CPU that runs the guest (vmm_intr.c), whose
 * interrupt makes the guest exit. evbench's mode 3: 40 one-shots of 1 ms,
 * each waited for in a loop, the guest's TSC read when it programs the
 * PIT and in its IRQ0 handler; it reports the sum. Kicked, a round takes
 * about 1.1 ms; seen only at clock ticks, most of a tick (the round
 * starts just after the tick that delivered the last edge). The bound is
 * half a tick per round: it needs a tick of 4 ms or more.
 */
#define	SPIN_ROUNDS	40
static u64
spin_round_ns(struct vcpu_result *r, u64 *st)
{
	bool ok = run_guest("evbench", (3U << 28) | SPIN_ROUNDS, r, st);
	u64 ns = (u64)r->last_report * 1000000000UL / tsc_hz / SPIN_ROUNDS;

	KT_EXPECT(ok, "evbench: %s", r->reason);
	ktest_note("a spinning guest waited %lu us for each of %d PIT "
	    "one-shots of 1 ms (%lu ExtINTs)", ns / 1000, SPIN_ROUNDS,
	    st[VMM_STAT_EVENT_EXTINT]);
	return (ns);
}

KTEST(vmm, pit_edge_kicks_spinning_guest)
{
	struct vcpu_result r;
	u64 st[VMM_NSTATS];

	if (!have_backend())
		return;
	if (nsec_per_tick < 4000000) {
		ktest_skip("the clock tick is shorter than 4 ms");
		return;
	}
	u64 ns = spin_round_ns(&r, st);
	KT_EXPECT(ns < (u64)nsec_per_tick / 2, "a PIT round took %lu us with "
	    "a %lu us clock tick: the spinning guest saw its edges only at "
	    "clock ticks", ns / 1000, (u64)nsec_per_tick / 1000);
}

/* ... and with the kick off (vmm_inject_no_kick) the test sees it. */
KTEST(vmm, pit_edge_no_kick_caught)
{
	struct vcpu_result r;
	u64 st[VMM_NSTATS];

	if (!have_backend())
		return;
	if (nsec_per_tick < 4000000) {
		ktest_skip("the clock tick is shorter than 4 ms");
		return;
	}
	vmm_inject_no_kick = true;
	u64 ns = spin_round_ns(&r, st);
	vmm_inject_no_kick = false;
	KT_EXPECT(ns >= (u64)nsec_per_tick / 2, "without kicks a PIT round "
	    "took only %lu us: the kick test cannot fail", ns / 1000);
}

/*
 * Faults as on hardware: the SVM and VMX instructions raise #UD (this
 * backend's intercepted and injected, the other vendor's raised by the
 * CPU), unknown MSRs #GP(0), INVD/WBINVD do nothing; the guest's handlers
 * count them and it goes on.
 */
KTEST(vmm, faults_reach_guest)
{
	struct vcpu_result r;
	u64 st[VMM_NSTATS];

	if (!have_backend())
		return;
	bool ok = run_guest("evfault", 0, &r, st);
	bool svm = strcmp(vmm_ops->name, "svm") == 0;
	ktest_note("evfault on %s: %lu #UD exits, %lu skipped, %lu exceptions "
	    "injected", vmm_ops->name, st[VMM_STAT_VMEXIT_UD],
	    st[VMM_STAT_VMEXIT_SKIP], st[VMM_STAT_EVENT_EXCEPTION]);
	KT_EXPECT(ok, "evfault failed: %s (verdict 0x%x, last report %u) %s",
	    r.reason, r.verdict, r.last_report, r.transcript);
	/* 7 SVM instructions, 11 VMX ones; 3 MSRs; INVD, WBINVD. */
	KT_EXPECT(st[VMM_STAT_VMEXIT_UD] == (svm ? 7U : 11U), "%lu #UD exits, "
	    "not %u", st[VMM_STAT_VMEXIT_UD], svm ? 7 : 11);
	KT_EXPECT(st[VMM_STAT_EVENT_EXCEPTION] == st[VMM_STAT_VMEXIT_UD] + 3,
	    "%lu exceptions injected", st[VMM_STAT_EVENT_EXCEPTION]);
	KT_EXPECT(st[VMM_STAT_VMEXIT_SKIP] >= 1, "INVD did not exit");
}


#define	NO_SHADOW_SKIP	"platform defect: QEMU TCG takes a pending " \
	"interrupt inside the STI shadow when the shadowed instruction exits " \
	"(docs/platforms.md)"

static bool
shadow_defect(void)
{
	return (strncmp(opt_platform, "qemu-tcg", 8) == 0);
}

/*
 * The STI shadow (evshadow 0) and the MOV SS shadow (evshadow 1): an
 * interrupt pending at the shadowing instruction waits for the next one,
 * even when that one exits (a nested page fault). With ignore set,
 * vmm_inject_ignore_shadow injects inside the shadow and the run must
 * fail (SVM: the guest sees the interrupt before the store; VMX: the CPU
 * refuses the entry).
 */
static void
shadow_test(u32 which, bool ignore)
{
	const char *name = which == 0 ? "STI" : "MOV SS";
	struct vcpu_result r;
	u64 st[VMM_NSTATS];

	if (!have_backend())
		return;
	vmm_inject_ignore_shadow = ignore;
	bool ok = run_guest_ondemand("evshadow", which, &r, st);
	vmm_inject_ignore_shadow = false;
	ktest_note("evshadow (%s): %lu nested page faults with the shadow "
	    "reported", name, st[VMM_STAT_NPF_IN_SHADOW]);
	if (shadow_defect()) {
		ktest_skip(NO_SHADOW_SKIP);
		return;
	}
	if (!ignore) {
		KT_EXPECT(ok, "evshadow (%s) failed: %s (verdict 0x%x, report "
		    "0x%x)", name, r.reason, r.verdict, r.last_report);
		return;
	}
	ktest_note("with the shadow ignored: %s (verdict 0x%x)", r.killed ?
	    r.reason : "ran", r.verdict);
	KT_EXPECT(!ok, "evshadow passed with the %s shadow ignored", name);
}

KTEST(vmm, sti_shadow_respected)
{
	shadow_test(0, false);
}

KTEST(vmm, sti_shadow_ignored_caught)
{
	shadow_test(0, true);
}

KTEST(vmm, movss_shadow_respected)
{
	shadow_test(1, false);
}

KTEST(vmm, movss_shadow_ignored_caught)
{
	shadow_test(1, true);
}

/* Events cut short by a nested page fault are delivered again... */
KTEST(vmm, events_reinjected)
{
	struct vcpu_result r;
	u64 st[VMM_NSTATS];

	if (!have_backend())
		return;
	bool ok = run_guest_ondemand("evreinject", 0, &r, st);
	ktest_note("evreinject: %lu events delivered again",
	    st[VMM_STAT_EVENT_REINJECTED]);
	KT_EXPECT(ok, "evreinject failed: %s (verdict 0x%x)", r.reason,
	    r.verdict);
	KT_EXPECT(st[VMM_STAT_EVENT_REINJECTED] >= 2, "%lu events reinjected",
	    st[VMM_STAT_EVENT_REINJECTED]);
}

/* ... and dropping them instead (vmm_inject_drop_reinject) loses the
 * timer interrupt, which the guest catches. */
KTEST(vmm, reinject_dropped_caught)
{
	struct vcpu_result r;
	u64 st[VMM_NSTATS];

	if (!have_backend())
		return;
	vmm_inject_drop_reinject = true;
	bool ok = run_guest_ondemand("evreinject", 0, &r, st);
	vmm_inject_drop_reinject = false;
	KT_EXPECT(!ok && r.done && r.verdict == 1, "evreinject with events "
	    "dropped: verdict 0x%x (%s), not the lost interrupt (1)",
	    r.verdict, r.killed ? r.reason : "ran");
	KT_EXPECT(st[VMM_STAT_EVENT_DROPPED] >= 1, "nothing was dropped");
}

/* cli; hlt: nothing can wake the vCPU, the VM is stopped as halted. */
KTEST(vmm, cli_hlt_stops)
{
	struct vcpu_result r;
	u64 st[VMM_NSTATS];

	if (!have_backend())
		return;
	(void) run_guest("halt", 0, &r, st);
	KT_EXPECT(r.killed && strstr(r.reason, "halted with interrupts "
	    "disabled") != NULL, "halt: %s", r.killed ? r.reason :
	    "not stopped");
}

/* Two NMIs: the second waits for the first handler's IRET. */
struct nmi_feeder {
	int calls;
};

static bool
feed_nmi(struct vcpu *vcpu, void *arg)
{
	struct nmi_feeder *f = arg;

	/* Call 1: after "ready"; call 2: inside the first handler. */
	if (++f->calls <= 2)
		vm_inject_nmi(vcpu);
	return (true);
}

KTEST(vmm, nmi_delivered_unnested)
{
	const struct guest_image *g = guest_find("evnmi");
	struct vcpu_result r;
	struct nmi_feeder f = { 0 };
	char why[120];

	if (!have_backend())
		return;
	struct vm *vm = vm_create_guest("evnmi", g->start,
	    (size_t)(g->end - g->start), 2 * MiB, 0, why, sizeof (why));
	VERIFY(vm != NULL, "evnmi: %s", why);
	vm->vm_abi_in_thread = true;	/* its reports come back to feed_nmi */
	memset(&r, 0, sizeof (r));
	r.quiet = true;
	r.after_run = feed_nmi;
	r.after_arg = &f;
	bool ok = vcpu_run_loop(vm->vm_vcpu[0], &r);
	u64 nmis = vm->vm_vcpu[0]->vc_stats[VMM_STAT_EVENT_NMI];
	vm_destroy(vm);
	KT_EXPECT(ok, "evnmi failed: %s (verdict 0x%x)", r.reason, r.verdict);
	KT_EXPECT(nmis == 2, "%lu NMIs injected", nmis);
}

/* A guest computing forever is stopped from another thread. */
struct stopper {
	struct vm *volatile vm;
};

static void
stopper_thread(void *arg)
{
	struct stopper *s = arg;

	while (READ_ONCE(s->vm) == NULL)
		delay(1);
	delay(hz / 20 + 1);
	vm_request_stop(s->vm, "stopped by the test");
}

KTEST(vmm, spinning_guest_stopped)
{
	const struct guest_image *g = guest_find("evspin");
	struct vcpu_result r;
	struct stopper s = { NULL };
	char why[120];

	if (!have_backend())
		return;
	kthread_t *t = thread_create("stopper", stopper_thread, &s, -1);
	struct vm *vm = vm_create_guest("evspin", g->start,
	    (size_t)(g->end - g->start), 2 * MiB, 0, why, sizeof (why));
	VERIFY(vm != NULL, "evspin: %s", why);
	s.vm = vm;
	memset(&r, 0, sizeof (r));
	r.quiet = true;
	(void) vcpu_run_loop(vm->vm_vcpu[0], &r);
	thread_join(t);
	vm_destroy(vm);
	KT_EXPECT(r.killed && strstr(r.reason, "stopped by the test") != NULL,
	    "evspin: %s", r.killed ? r.reason : "not stopped");
}

/*
 * A line raised by a device while the vCPU computes in guest mode: the
 * quiet entry (vm_entry_events) must not keep the vCPU from asking the
 * PIC. A thread pulses IRQ1 every clock tick until the evirq guest has
 * taken five, or stops it after a second.
 */
struct pulser {
	struct vm *vm;
	volatile bool done;
	int pulses;
};

static void
pulser_thread(void *arg)
{
	struct pulser *p = arg;
	hrtime_t end = gethrtime() + 1000000000;

	while (!READ_ONCE(p->done) && gethrtime() < end) {
		vatpic_pulse_irq(p->vm->vm_atpic, 1);
		p->pulses++;
		delay(1);
	}
	if (!READ_ONCE(p->done))
		vm_request_stop(p->vm, "no IRQ1 reached the guest in 1 s");
}

static bool
irq_while_spinning(struct vcpu_result *r, int *pulses)
{
	const struct guest_image *g = guest_find("evirq");
	char why[120];

	struct vm *vm = vm_create_guest("evirq", g->start,
	    (size_t)(g->end - g->start), 2 * MiB, 0, why, sizeof (why));
	VERIFY(vm != NULL, "evirq: %s", why);
	struct pulser p = { .vm = vm };
	kthread_t *t = thread_create("pulser", pulser_thread, &p, -1);
	memset(r, 0, sizeof (*r));
	r->quiet = true;
	bool ok = vcpu_run_loop(vm->vm_vcpu[0], r);
	p.done = true;
	thread_join(t);
	vm_destroy(vm);
	*pulses = p.pulses;
	return (ok);
}

KTEST(vmm, irq_reaches_spinning_guest)
{
	struct vcpu_result r;
	int pulses;

	if (!have_backend())
		return;
	bool ok = irq_while_spinning(&r, &pulses);
	ktest_note("evirq: done after %d IRQ1 pulses", pulses);
	KT_EXPECT(ok, "evirq: %s (verdict 0x%x)", r.reason, r.verdict);
}

/* ... and with the notify lost (vmm_inject_lost_notify) it never gets one. */
KTEST(vmm, irq_lost_notify_caught)
{
	struct vcpu_result r;
	int pulses;

	if (!have_backend())
		return;
	vmm_inject_lost_notify = true;
	bool ok = irq_while_spinning(&r, &pulses);
	vmm_inject_lost_notify = false;
	KT_EXPECT(!ok && r.killed && strstr(r.reason, "no IRQ1") != NULL,
	    "with the notify lost the guest still took its IRQ1s (%s): the "
	    "test cannot fail", ok ? "it passed" : r.reason);
}

/*
 * The guests written to run under plain QEMU too (guest/README.md): each
 * must end with verdict 0 here as it does there, one after the other in
 * this boot.
 */
KTEST(vmm, qemu_reference_guests)
{
	static const char *const names[] = { "exc16", "exc32", "exc64",
	    "pitpic", "stishadow", "udvirt", "msrgp", "reinject" };
	struct vcpu_result r;
	u64 st[VMM_NSTATS];

	if (!have_backend())
		return;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		bool ok = strcmp(names[i], "reinject") == 0 ?
		    run_guest_ondemand(names[i], 0, &r, st) :
		    run_guest(names[i], 0, &r, st);
		ktest_note("%s: %s (verdict 0x%x, %lu events injected, %lu "
		    "delivered again)", names[i], ok ? "passed" : r.killed ?
		    r.reason : "failed", r.verdict, st[VMM_STAT_EVENT_EXTINT] +
		    st[VMM_STAT_EVENT_EXCEPTION] + st[VMM_STAT_EVENT_NMI],
		    st[VMM_STAT_EVENT_REINJECTED]);
		KT_EXPECT(ok, "%s failed: %s (verdict 0x%x) %s", names[i],
		    r.reason, r.verdict, r.transcript);
	}
}

/*
 * The SYSCALL/SWAPGS MSRs a guest writes are its own (VMLOAD/VMSAVE on
 * SVM, vmx_vmrun's switch on VMX): it reads them back, and the host's on
 * this CPU are what they were. A non-canonical LSTAR and RDPMC are #GP.
 */
KTEST(vmm, guest_msrs_stay_the_guests)
{
	static const u32 msrs[] = { MSR_STAR, MSR_LSTAR, MSR_CSTAR,
	    MSR_SFMASK, MSR_KGS_BASE };
	u64 before[ARRAY_SIZE(msrs)];
	struct vcpu_result r;
	u64 st[VMM_NSTATS];

	if (!have_backend())
		return;
	thread_bind(0);
	for (size_t i = 0; i < ARRAY_SIZE(msrs); i++)
		before[i] = rdmsr(msrs[i]);
	/* A host breakpoint address (DR7 leaves it disabled) the guest
	 * must not see, and must not overwrite. */
	u64 dr[5], marker = 0x100000;
	dr_read(dr);
	dr[0] = marker;
	dr_write(dr);
	bool ok = run_guest("evmsr", 0, &r, st);
	dr_read(dr);
	KT_EXPECT(dr[0] == marker, "host DR0 is 0x%lx after the guest",
	    dr[0]);
	dr[0] = 0;
	dr_write(dr);
	for (size_t i = 0; i < ARRAY_SIZE(msrs); i++) {
		u64 now = rdmsr(msrs[i]);
		KT_EXPECT(now == before[i], "host MSR 0x%x is 0x%lx after the "
		    "guest, 0x%lx before", msrs[i], now, before[i]);
	}
	thread_bind(-1);
	KT_EXPECT(ok, "evmsr failed: %s (verdict 0x%x, report 0x%x)",
	    r.reason, r.verdict, r.last_report);
	KT_EXPECT(st[VMM_STAT_VMEXIT_GP] == 1, "%lu RDPMC exits",
	    st[VMM_STAT_VMEXIT_GP]);
}

/* guest/stringio.asm's LINE64: text padded with '.' to 62 bytes, CR LF. */
static size_t
stringio_line(char *p, const char *text)
{
	size_t n = strlen(text);

	memcpy(p, text, n);
	for (; n < 62; n++)
		p[n] = '.';
	p[n++] = '\r';
	p[n++] = '\n';
	return (n);
}

static size_t
stringio_str(char *p, const char *text)
{
	size_t n = strlen(text);

	memcpy(p, text, n);
	return (n);
}

/*
 * String and REP port I/O (vmm_strio.c): guest/stringio.asm's rep outsb
 * (DF=0, DF=1, fs override), rep outsw and rep insb in 16-, 32- and 64-bit
 * code pass, and the console shows what plain QEMU shows for it: the
 * guest's own fixed strings, in order, with nothing else.
 */
KTEST(vmm, string_port_io)
{
	static const char *const modes[] = { "16", "32", "64" };
	struct vcpu_result r;
	u64 st[VMM_NSTATS];
	char want[sizeof (r.transcript)];
	size_t n = 0;

	if (!have_backend())
		return;
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		char m[40];

		ksnprintf(m, sizeof (m), "stringio: %s-bit\r\n", modes[i]);
		n += stringio_str(want + n, m);
		n += stringio_line(want + n, "stringio: rep outsb, DF=0 ");
		n += stringio_line(want + n, "stringio: rep outsb, DF=1 ");
		n += stringio_line(want + n,
		    "stringio: rep outsb, fs override ");
		n += stringio_str(want + n, "stringio: rep outsw\r\n");
		ksnprintf(m, sizeof (m), "stringio: %s-bit ok\r\n", modes[i]);
		n += stringio_str(want + n, m);
	}
	VERIFY(n < sizeof (want), "string_port_io: %lu bytes expected", n);
	want[n] = '\0';
	bool ok = run_guest("stringio", 0, &r, st);
	ktest_note("stringio: %s (verdict 0x%x), %lu string exits, %lu "
	    "elements", ok ? "passed" : r.killed ? r.reason : "failed",
	    r.verdict, st[VMM_STAT_VMEXIT_INOUT_STR],
	    st[VMM_STAT_STRIO_ELEMENTS]);
	KT_EXPECT(ok, "stringio failed: %s (verdict 0x%x) %s", r.reason,
	    r.verdict, r.transcript);
	KT_EXPECT(strcmp(r.transcript, want) == 0, "stringio's console "
	    "differs from plain QEMU's: '%s'", r.transcript);
	/* 3 modes x (3 x 64 outsb + 21 outsw + 2 x 16 insb) */
	KT_EXPECT(st[VMM_STAT_STRIO_ELEMENTS] == 3 * (3 * 64 + 21 + 32),
	    "%lu string elements emulated", st[VMM_STAT_STRIO_ELEMENTS]);
	KT_EXPECT(st[VMM_STAT_VMEXIT_INOUT_STR] > 0, "no string I/O exits");
}

/*
 * guest/strfault.asm: a #PF in the middle of rep insb (CR2, error code,
 * the registers counting the bytes done), a #GP(0) for a non-canonical
 * rep outsb, and a rep outsb of 10000 bytes the host resumes in batches
 * of VIE_STRING_BATCH at the same RIP.
 */
KTEST(vmm, string_port_io_faults)
{
	static const char *const lines[] = {
		"strfault: #PF(2) in rep insb (8 of 16 bytes in) ok\r\n",
		"strfault: #GP(0) in rep outsb (non-canonical rsi) ok\r\n",
		"strfault: rep outsb of 10000 bytes ok\r\n",
		"strfault: all string I/O faults ok\r\n",
	};
	struct vcpu_result r;
	u64 st[VMM_NSTATS];

	if (!have_backend())
		return;
	bool ok = run_guest("strfault", 0, &r, st);
	ktest_note("strfault: %s (verdict 0x%x), %lu string exits, %lu "
	    "elements, %lu exceptions", ok ? "passed" : r.killed ? r.reason :
	    "failed", r.verdict, st[VMM_STAT_VMEXIT_INOUT_STR],
	    st[VMM_STAT_STRIO_ELEMENTS], st[VMM_STAT_EVENT_EXCEPTION]);
	KT_EXPECT(ok, "strfault failed: %s (verdict 0x%x) %s", r.reason,
	    r.verdict, r.transcript);
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		KT_EXPECT(strstr(r.transcript, lines[i]) != NULL, "no '%s' in "
		    "'%s'", lines[i], r.transcript);
	/* 8 bytes in before the #PF, none before the #GP, 10000 out */
	KT_EXPECT(st[VMM_STAT_STRIO_ELEMENTS] == 8 + 10000,
	    "%lu string elements emulated", st[VMM_STAT_STRIO_ELEMENTS]);
	/* the #PF, the #GP, and 10000 / 4096 -> 3 exits for the long rep */
	KT_EXPECT(st[VMM_STAT_VMEXIT_INOUT_STR] >= 2 + 3 &&
	    st[VMM_STAT_EVENT_EXCEPTION] >= 2, "%lu string exits, %lu "
	    "exceptions", st[VMM_STAT_VMEXIT_INOUT_STR],
	    st[VMM_STAT_EVENT_EXCEPTION]);
}

/*
 * Exits on prefixed instructions (o32 cpuid, cs hlt, ds rdmsr, cs
 * vmmcall/vmcall) resume after the whole instruction: without NRIP the
 * core takes the length from the decoder (INSN_LENGTH_DECODED counts it).
 */
KTEST(vmm, prefixed_exits_resume_after)
{
	struct vcpu_result r;
	u64 st[VMM_NSTATS];

	if (!have_backend())
		return;
	bool ok = run_guest("evprefix", 0, &r, st);
	ktest_note("evprefix: %lu lengths from the decoder",
	    st[VMM_STAT_INSN_LENGTH_DECODED]);
	KT_EXPECT(ok, "evprefix failed: %s (verdict 0x%x)", r.reason,
	    r.verdict);
}

/*
 * guest/drcr.asm: DR7 is virtual (reads back as written, DR5 is its alias,
 * an armed breakpoint never fires: vm_handle_dr) and a MOV CR0 setting
 * NW without CD is #GP(0) (vm_cr0_write_ok on SVM, the CPU or cr_access on
 * VMX). The DR exits must have happened: the guest's DR7 went through the
 * core, not the hardware.
 */
KTEST(vmm, dr7_virtual_cr0_checked)
{
	struct vcpu_result r;
	u64 st[VMM_NSTATS];

	if (!have_backend())
		return;
	bool ok = run_guest("drcr", 0, &r, st);
	KT_EXPECT(ok, "drcr: %s (verdict 0x%x)", r.reason, r.verdict);
	KT_EXPECT(st[VMM_STAT_VMEXIT_DR] >= 4, "%lu DR exits, want the 4 DR7 "
	    "and DR5 accesses at least", st[VMM_STAT_VMEXIT_DR]);
	ktest_note("drcr: %lu DR exits, %lu CR0 exits (SVM)",
	    st[VMM_STAT_VMEXIT_DR], st[VMM_STAT_VMEXIT_CR0]);
}
