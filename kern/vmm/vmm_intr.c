/*
 * Events for the guest: what vm_run injects at each entry, decided here
 * and only encoded by the backends (vmm_ops inject / set_windows).
 *
 * Sources, highest priority first, as a CPU takes them:
 *   1. the event an exit cut short (exitintinfo): delivered again, or
 *      combined with a new exception into #DF as SDM Table 6-5 says;
 *   2. an exception the core raised (vm_inject_exception: #UD, #GP, ...);
 *   3. an NMI (vm_inject_nmi), unless an NMI handler still runs;
 *   4. the local APIC's highest vector above its PPR (a timer, an IPI,
 *      the IOAPIC), then the PIC's vector (vCPU 0 only, while its APIC
 *      passes ExtINT: LINT0 in virtual-wire mode, or the APIC off), if
 *      RFLAGS.IF is set and no STI or MOV SS shadow holds; otherwise an
 *      interrupt-window exit is asked for, so the guest is entered again
 *      the moment it can take one.
 * The path from device to guest, in one page: docs/vmm.md, "Events".
 */
#include "vmm.h"
#include "vmm_exit.h"
#include "io/vatpic.h"
#include "io/vatpit.h"
#include "io/vlapic.h"
#include "../panic.h"
#include "../thread.h"
#include "../cpu.h"
#include "../x86.h"
#include "../tunable.h"
#include "../trace.h"
#include "../apic.h"
#include "../trap.h"
#include "../callout.h"
#include "../console.h"

KTUNABLE_TEST(vmm_inject_drop_reinject, "vm_run forgets the event an exit "
    "cut short instead of delivering it again (the reinject guest must "
    "catch it)");
KTUNABLE_TEST(vmm_inject_no_kick, "nothing kicks a vCPU in guest mode: "
    "no IPI from vm_notify_vcpu, no callout at the PIT's next edge (a "
    "spinning guest then sees its timer only at host clock ticks)");
KTUNABLE_TEST(vmm_inject_lost_notify, "vm_notify_vcpu does not mark the "
    "vCPU's devices as changed: its quiet entries then never ask them (the "
    "evirq guest must catch it)");
KTUNABLE_TEST(vmm_inject_ignore_shadow, "vm_run injects an interrupt "
    "inside an STI shadow (the stishadow guest must catch it)");

/* Exceptions that push an error code in protected mode (SDM 6.13). */
static bool
exc_has_errcode(u8 vector)
{
	return (vector == 8 || (vector >= 10 && vector <= 14) ||
	    vector == 17 || vector == 21);
}

void
vm_inject_exception(struct vcpu *vcpu, u8 vector, bool has_errcode,
    u32 errcode, u64 cr2)
{
	VERIFY(vector < 32 && vector != 2, "vm_inject_exception: %s: vector "
	    "%u is not an exception", vcpu->vc_name, vector);
	VERIFY(has_errcode == exc_has_errcode(vector), "vm_inject_exception: "
	    "%s: vector %u %s an error code", vcpu->vc_name, vector,
	    has_errcode ? "takes no" : "needs");
	vcpu->vc_exc = (struct vm_event){ .type = VM_EVENT_EXCEPTION,
	    .vector = vector, .has_errcode = has_errcode, .errcode = errcode };
	vcpu->vc_exc_cr2 = cr2;
}

void
vm_inject_nmi(struct vcpu *vcpu)
{
	vcpu->vc_nmi_pending = true;
	vm_notify_vcpu(vcpu);
}

/*
 * Whatever the vCPU waits for may have changed: let it look again. A vCPU
 * asleep in HLT is woken; one in guest mode is kicked out with an IPI to
 * its host CPU (an empty interrupt: the exit is what matters), so it
 * passes vm_entry_events again. The caller changed the state first; the
 * fence orders that store before the load of vc_guest_cpu, against
 * vm_run's store of vc_guest_cpu before its look at the state: either
 * the vCPU sees the change at this entry or this thread sees it inside.
 */
void
vm_notify_vcpu(struct vcpu *vcpu)
{
	/* The next entry asks the devices (vm_entry_events), the store
	 * ordered before the look at vc_guest_cpu by the fence below. */
	if (likely(!vmm_inject_lost_notify))
		__atomic_store_n(&vcpu->vc_ev_dirty, 1, __ATOMIC_SEQ_CST);
	/* Its own thread is awake (and may be at entry, interrupts off). */
	if (vcpu->vc_thread == curthread)
		return;
	mutex_enter(&vcpu->vc_wait_lock);
	cv_broadcast(&vcpu->vc_wait_cv);
	mutex_exit(&vcpu->vc_wait_lock);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	int c = __atomic_load_n(&vcpu->vc_guest_cpu, __ATOMIC_RELAXED);
	if (c >= 0 && !vmm_inject_no_kick) {
		apic_send_ipi(cpus[c].cpu_apicid, VEC_VMM_KICK);
		atomic_inc_64(&vcpu->vc_kicks_sent);
	}
}

/* The next time one of the vCPU's devices wants it (its APIC timer; the
 * PIT's next edge, for vCPU 0), or 0 for never. */
static hrtime_t
vcpu_next_deadline(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vc_vm;
	hrtime_t d = vcpu->vc_vlapic != NULL ?
	    vlapic_next_deadline(vcpu->vc_vlapic) : 0;

	if (vcpu->vc_id != 0 || vm->vm_atpit == NULL)
		return (d);
	hrtime_t p = vatpit_next_deadline(vm->vm_atpit);
	return (d == 0 || (p != 0 && p < d) ? p : d);
}

/* May the 8259's INTR reach this vCPU (vCPU 0, through LINT0)? */
static bool
pic_reaches(struct vcpu *vcpu)
{
	return (vcpu->vc_id == 0 && vcpu->vc_vm->vm_atpic != NULL &&
	    (vcpu->vc_vlapic == NULL ||
	    vlapic_extint_allowed(vcpu->vc_vlapic)));
}

/* A device's timer came due while the vCPU ran the guest: the interrupt
 * that runs this has already made the guest exit. */
static void
vcpu_kick_expire(void *arg __unused)
{
}

/*
 * At entry, interrupts off: make sure this CPU takes an interrupt at the
 * vCPU's next device deadline, so a guest that spins with no exits sees a
 * PIT edge when it happens instead of at the host's next clock tick. The
 * callout follows the deadline exactly: moved when the deadline or the
 * CPU changes, stopped when there is none. A stale one left at an edge
 * this entry already delivered would only interrupt the guest for
 * nothing, and on QEMU TCG, which reports no STI shadow at such an exit
 * (docs/platforms.md), an interrupt right after `sti` is then injected
 * inside the shadow. Kicks come at most every VM_KICK_MIN_NS: a guest
 * that programs a 1 MHz PIT gets coalesced ticks, not an exit storm that
 * starves the host.
 */
#define	VM_KICK_MIN_NS	20000
static void
vcpu_kick_arm(struct vcpu *vcpu, hrtime_t when)
{
	if (vmm_inject_no_kick)
		when = 0;

	if (when != 0) {
		hrtime_t soonest = gethrtime() + VM_KICK_MIN_NS;
		if (when < soonest)
			when = soonest;
	}
	if (callout_pending(&vcpu->vc_kick)) {
		/* A clamped deadline moves with now: keep one that is at
		 * most VM_KICK_MIN_NS early. */
		if (when != 0 && vcpu->vc_kick.co_cpu == CPU &&
		    vcpu->vc_kick_when <= when &&
		    when - vcpu->vc_kick_when <= VM_KICK_MIN_NS)
			return;
		(void) callout_stop(&vcpu->vc_kick);
	}
	if (when == 0)
		return;
	vcpu->vc_kick_when = when;
	callout_arm(&vcpu->vc_kick, when, vcpu_kick_expire, vcpu);
}

static void
vmm_kick_intr(struct regs *r __unused)
{
}

void
vm_intr_init(void)
{
	intr_register(VEC_VMM_KICK, vmm_kick_intr);
}

enum exc_class { EXC_BENIGN, EXC_CONTRIBUTORY, EXC_PAGE_FAULT };

static enum exc_class
exc_class(u8 vector)
{
	if (vector == 14)
		return (EXC_PAGE_FAULT);
	if (vector == 0 || (vector >= 10 && vector <= 13))
		return (EXC_CONTRIBUTORY);
	return (EXC_BENIGN);
}

/*
 * A second exception raised while the first was being delivered (SDM
 * Table 6-5): both contributory, or a page fault then a contributory
 * fault or another page fault, give #DF; a fault while delivering #DF is
 * a triple fault (false). Otherwise the second is delivered.
 */
static bool
combine(const struct vm_event *first, struct vm_event *second)
{
	if (first->type != VM_EVENT_EXCEPTION)
		return (true);
	enum exc_class a = exc_class(first->vector);
	enum exc_class b = exc_class(second->vector);
	if (first->vector == 8 && b != EXC_BENIGN)
		return (false);
	if ((a == EXC_CONTRIBUTORY && b == EXC_CONTRIBUTORY) ||
	    (a == EXC_PAGE_FAULT && b != EXC_BENIGN)) {
		*second = (struct vm_event){ .type = VM_EVENT_EXCEPTION,
		    .vector = 8, .has_errcode = true, .errcode = 0 };
	}
	return (true);
}

/* Something of the vCPU's events may have changed: ask at the next entry. */
void
vm_events_changed(struct vcpu *vcpu)
{
	__atomic_store_n(&vcpu->vc_ev_dirty, 1, __ATOMIC_RELAXED);
}

/*
 * The common entry has nothing to deliver: no event cut short, none
 * queued, and the devices said "nothing" when last asked, with nothing
 * changed since (vc_ev_dirty: a device that raises a line notifies the
 * vCPU; vm_run marks exits that touch a device) and no deadline passed.
 * vc_ev_dirty is read after vm_run published vc_guest_cpu: a notify that
 * this load misses sees the CPU and kicks, and the guest exits at once.
 */
static inline bool
entry_quiet(struct vcpu *vcpu)
{
	if (vcpu->vc_exitintinfo.type != VM_EVENT_NONE ||
	    vcpu->vc_exc.type != VM_EVENT_NONE || vcpu->vc_nmi_pending ||
	    vcpu->vc_ev_more)
		return (false);
	if (__atomic_load_n(&vcpu->vc_ev_dirty, __ATOMIC_SEQ_CST) != 0)
		return (false);
	hrtime_t d = vcpu->vc_ev_deadline;
	if (d == 0)
		return (true);
	if (gethrtime() >= d)
		return (false);
	/* The kick follows the vCPU to a new CPU. */
	if (!callout_pending(&vcpu->vc_kick) || vcpu->vc_kick.co_cpu != CPU)
		vcpu_kick_arm(vcpu, d);
	return (true);
}

/*
 * At each entry, preemption off and interrupts off, the guest's state
 * current: pick the one event to deliver and the windows to ask for.
 * false: the guest triple-faulted (a fault while delivering #DF). The
 * inline vm_entry_events (vmm.h) has already let the commonest quiet
 * entry through; entry_quiet here has the one with a deadline.
 */
bool
vm_entry_events_ask(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vc_vm;
	bool want_intr = false, want_nmi = false;
	int vec;

	if (likely(entry_quiet(vcpu)))
		return (true);
	__atomic_store_n(&vcpu->vc_ev_dirty, 0, __ATOMIC_SEQ_CST);
	vmm_stat_incr(vcpu, ENTRY_EVENTS_ASKED);
	struct vm_event ev = vcpu->vc_exitintinfo;
	vcpu->vc_exitintinfo.type = VM_EVENT_NONE;
	if (unlikely(vmm_inject_drop_reinject) && ev.type != VM_EVENT_NONE) {
		ev.type = VM_EVENT_NONE;	/* the bug being tested for */
		vmm_stat_incr(vcpu, EVENT_DROPPED);
	}
	bool reinjected = ev.type != VM_EVENT_NONE;
	if (reinjected)
		vmm_stat_incr(vcpu, EVENT_REINJECTED);
	if (vcpu->vc_exc.type != VM_EVENT_NONE) {
		struct vm_event exc = vcpu->vc_exc;
		vcpu->vc_exc.type = VM_EVENT_NONE;
		if (ev.type != VM_EVENT_NONE && !combine(&ev, &exc))
			return (false);
		if (exc.vector == 14)
			vm_setreg(vcpu, VM_REG_CR2, vcpu->vc_exc_cr2);
		ev = exc;
	}
	u64 rflags = vm_getreg(vcpu, VM_REG_RFLAGS);
	bool shadow = vm_getreg(vcpu, VM_REG_INTR_SHADOW) != 0;
	if (unlikely(vmm_inject_ignore_shadow))
		shadow = false;			/* the bug being tested for */

	if (vcpu->vc_nmi_pending) {
		if (ev.type == VM_EVENT_NONE && !shadow &&
		    vm_getreg(vcpu, VM_REG_NMI_BLOCKED) == 0) {
			vcpu->vc_nmi_pending = false;
			ev = (struct vm_event){ .type = VM_EVENT_NMI,
			    .vector = 2 };
			vmm_stat_incr(vcpu, EVENT_NMI);
		} else {
			want_nmi = true;
		}
	}
	struct vlapic *vl = vcpu->vc_vlapic;
	if (vl != NULL) {
		vlapic_update(vl);	/* a timer expiry since the last look */
		if (vlapic_pending_intr(vl, &vec)) {
			if (ev.type == VM_EVENT_NONE &&
			    (rflags & RFLAGS_IF) != 0 && !shadow) {
				vlapic_intr_accepted(vl, vec);
				ev = (struct vm_event){
				    .type = VM_EVENT_EXTINT,
				    .vector = (u8)vec };
				vmm_stat_incr(vcpu, EVENT_LAPIC);
			} else {
				want_intr = true;
			}
		}
	}
	if (vcpu->vc_id == 0 && vm->vm_atpit != NULL)
		vatpit_update(vm->vm_atpit);
	if (pic_reaches(vcpu)) {
		if (vatpic_pending_intr(vm->vm_atpic, &vec)) {
			if (ev.type == VM_EVENT_NONE &&
			    (rflags & RFLAGS_IF) != 0 && !shadow) {
				vec = vatpic_intr_accepted(vm->vm_atpic, vec);
				ev = (struct vm_event){
				    .type = VM_EVENT_EXTINT,
				    .vector = (u8)vec };
				vmm_stat_incr(vcpu, EVENT_EXTINT);
			} else {
				want_intr = true;
			}
		}
	}
	if (ev.type != VM_EVENT_NONE) {
		/* event= vector | type << 8 | rflags.IF << 12 | reinjected << 16 */
		TRACE(TR_INJECT, vcpu, ev.vector | ((u32)ev.type << 8) |
		    ((rflags & RFLAGS_IF) != 0 ? 1U << 12 : 0) |
		    (reinjected ? 1U << 16 : 0));
		/* Real mode pushes no error code (the IVT has no room). */
		if ((vm_getreg(vcpu, VM_REG_CR0) & CR0_PE) == 0)
			ev.has_errcode = false;
		if (ev.type == VM_EVENT_EXCEPTION)
			vmm_stat_incr(vcpu, EVENT_EXCEPTION);
		vmm_ops->inject(vcpu, &ev);
	}
	vmm_ops->set_windows(vcpu, want_intr, want_nmi);
	/* Anything delivered may have more behind it (the APIC's next
	 * vector, the PIC's): ask again at the next entry. */
	vcpu->vc_ev_more = want_intr || want_nmi || ev.type != VM_EVENT_NONE;
	vcpu->vc_ev_deadline = vcpu_next_deadline(vcpu);
	vcpu_kick_arm(vcpu, vcpu->vc_ev_deadline);
	return (true);
}

/* Could the guest take something now (or soon: the PIT's next edge)? */
static bool
vcpu_wakeable(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vc_vm;
	int vec;

	if (vcpu->vc_nmi_pending || vcpu->vc_exc.type != VM_EVENT_NONE)
		return (true);
	if (vcpu->vc_vlapic != NULL) {
		vlapic_update(vcpu->vc_vlapic);
		if (vlapic_pending_intr(vcpu->vc_vlapic, &vec))
			return (true);
	}
	if (vcpu->vc_id == 0 && vm->vm_atpit != NULL)
		vatpit_update(vm->vm_atpit);
	return (pic_reaches(vcpu) && vatpic_pending_intr(vm->vm_atpic, &vec));
}

void
vm_events_describe(struct vcpu *vcpu, char *buf, size_t len)
{
	struct vm *vm = vcpu->vc_vm;
	hrtime_t now = gethrtime(), d = vcpu->vc_ev_deadline;
	char dev[160] = "", pic[80] = "";
	int vec = -1;

	if (vcpu->vc_id == 0 && vm->vm_atpit != NULL)
		vatpit_describe(vm->vm_atpit, dev, sizeof (dev));
	if (vcpu->vc_id == 0 && vm->vm_atpic != NULL) {
		vatpic_describe(vm->vm_atpic, pic, sizeof (pic));
		if (!vatpic_pending_intr(vm->vm_atpic, &vec))
			vec = -1;
	}
	bool lapic = vcpu->vc_vlapic != NULL &&
	    vlapic_pending_intr(vcpu->vc_vlapic, &vec);
	ksnprintf(buf, len, "%s: last exit %s, dirty=%u more=%d deadline=%s%ld "
	    "us kick=%d exitintinfo=%d exc=%d nmi=%d pending=%d%s "
	    "reaches=%d %s %s", vcpu->vc_name,
	    vm_exitcode_name(vcpu->vc_last_exit),
	    __atomic_load_n(&vcpu->vc_ev_dirty, __ATOMIC_RELAXED),
	    vcpu->vc_ev_more, d == 0 ? "none " : "",
	    d == 0 ? 0L : (long)(d - now) / 1000,
	    callout_pending(&vcpu->vc_kick), vcpu->vc_exitintinfo.type,
	    vcpu->vc_exc.type, vcpu->vc_nmi_pending, vec,
	    lapic ? " (lapic)" : "", pic_reaches(vcpu), dev, pic);
}

/*
 * HLT with interrupts enabled: block the vCPU thread until an event it
 * can take is pending. The sleep ends at the PIT's next edge (the one
 * wake-up a timer gives without a notify), at vm_notify_vcpu (an NMI, a
 * device raising a line, a stop request), or after a clock tick at most
 * (a bound, so nothing is waited on forever). The check and the sleep are
 * under vc_wait_lock, which vm_notify_vcpu takes: no wake-up is lost.
 * Returns the sleeps taken.
 */
u64
vm_hlt_wait(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vc_vm;
	u64 sleeps = 0;

	mutex_enter(&vcpu->vc_wait_lock);
	while (!vcpu_wakeable(vcpu) && !vm->vm_stop) {
		if (vm->vm_paused) {	/* ::pause: halted, registers shown */
			mutex_exit(&vcpu->vc_wait_lock);
			vm_pause_wait(vcpu);
			mutex_enter(&vcpu->vc_wait_lock);
			continue;
		}
		hrtime_t deadline = gethrtime() + nsec_per_tick;
		hrtime_t d = vcpu_next_deadline(vcpu);
		if (d != 0 && d < deadline)
			deadline = d;
		/* A deadline already past returns at once: the loop's
		 * vatpit_update delivers the edge. */
		(void) cv_timedwait_hires(&vcpu->vc_wait_cv,
		    &vcpu->vc_wait_lock, deadline);
		sleeps++;
	}
	mutex_exit(&vcpu->vc_wait_lock);
	return (sleeps);
}

/*
 * Another vCPU that cannot wake by itself: HLT with interrupts disabled,
 * or waiting for a SIPI. When every vCPU of the VM is so, nothing ever
 * will wake one: the VM is over, as bhyve suspends a VM whose vCPUs all
 * halt with interrupts off. Returns false (and asks every vCPU to stop)
 * for the one that makes it all of them; the caller undoes its count
 * with vm_halted_leave either way.
 */
bool
vm_halted_enter(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vc_vm;

	if (__atomic_add_fetch(&vm->vm_nhalted, 1, __ATOMIC_SEQ_CST) <
	    (u32)vm->vm_nvcpus)
		return (true);
	/* The others sleep: wake them to stop (one vCPU just returns). */
	if (vm->vm_nvcpus > 1)
		vm_request_stop(vm, "halted with interrupts disabled (every "
		    "vCPU)");
	return (false);
}

void
vm_halted_leave(struct vcpu *vcpu)
{
	__atomic_sub_fetch(&vcpu->vc_vm->vm_nhalted, 1, __ATOMIC_SEQ_CST);
}

/*
 * HLT with interrupts disabled, in a VM where other vCPUs still run:
 * sleep until an NMI, an INIT or a stop. false: this was the last vCPU
 * that could wake the others (the VM is stopping).
 */
bool
vm_hlt_noint_wait(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vc_vm;
	bool ok = vm_halted_enter(vcpu);

	mutex_enter(&vcpu->vc_wait_lock);
	while (ok && !vcpu->vc_nmi_pending && !vcpu->vc_wait_sipi &&
	    !vm->vm_stop)
		cv_wait(&vcpu->vc_wait_cv, &vcpu->vc_wait_lock);
	mutex_exit(&vcpu->vc_wait_lock);
	vm_halted_leave(vcpu);
	return (ok);
}
