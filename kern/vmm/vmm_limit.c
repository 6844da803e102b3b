/*
 * Guest time limits: a VM still running at its deadline is stopped with
 * the reason "time limit" (vm_request_stop), whatever its guest does. A
 * guest that spins forever with interrupts off and no exits is kicked
 * out of guest mode by vm_request_stop's IPI, so the limit also tells a
 * spinning guest from a dead host: the host shuts down on time.
 *
 * One watchdog thread serves every VM. Stopping needs vm_notify_vcpu,
 * which takes the vCPUs' wait locks, so it cannot run in a callout
 * (interrupt context); the thread sleeps until the earliest deadline.
 * Armed VMs sit on limit_list; vm_destroy takes its VM off
 * (vm_time_limit_cancel) before freeing it, and the watchdog touches a
 * VM only under limit_lock, so it never sees a freed one.
 */
#include "vmm.h"
#include "../sync.h"
#include "../thread.h"
#include "../apic.h"
#include "../panic.h"
#include "../console.h"

static kmutex_t limit_lock;
static kcondvar_t limit_cv;		/* the list or a deadline changed */
static struct vm *limit_list;		/* limit_lock: armed VMs */
static bool limit_started;		/* vm_limit_start ran */
u64 vmm_time_limits_fired;		/* limit_lock */

static void
limit_unlink(struct vm *vm)
{
	for (struct vm **pp = &limit_list; *pp != NULL;
	    pp = &(*pp)->vm_limit_next) {
		if (*pp == vm) {
			*pp = vm->vm_limit_next;
			vm->vm_limit_next = NULL;
			vm->vm_limit_deadline = 0;
			return;
		}
	}
}

/* What each vCPU waited for: a guest that spins shows nothing pending,
 * one that waits for an interrupt that never comes shows why. */
static void
limit_report(struct vm *vm)
{
	char line[400];

	if (vm->vm_quiet)
		return;
	for (int i = 0; i < vm->vm_nvcpus; i++) {
		vm_events_describe(vm->vm_vcpu[i], line, sizeof (line));
		kprintf("vmm: time limit: %s\n", line);
	}
}

static __noreturn void
limit_thread(void *arg __unused)
{
	mutex_enter(&limit_lock);
	for (;;) {
		hrtime_t now = gethrtime(), next = 0;
		struct vm *vm = limit_list;
		while (vm != NULL) {
			struct vm *nx = vm->vm_limit_next;
			if (vm->vm_limit_deadline <= now) {
				limit_unlink(vm);
				vm->vm_limit_fired = true;
				vmm_time_limits_fired++;
				limit_report(vm);
				vm_request_stop(vm, "time limit");
			} else if (next == 0 || vm->vm_limit_deadline < next) {
				next = vm->vm_limit_deadline;
			}
			vm = nx;
		}
		if (next == 0)
			cv_wait(&limit_cv, &limit_lock);
		else
			(void) cv_timedwait_hires(&limit_cv, &limit_lock, next);
	}
}

/* At boot, once the scheduler can take threads (main.c). */
void
vm_limit_start(void)
{
	mutex_init(&limit_lock, "vm time limits");
	cv_init(&limit_cv, "vm time limits");
	(void) thread_create_detached("vmm watchdog", limit_thread, NULL, -1);
	limit_started = true;
}

/* Stop vm after ns more nanoseconds of wall time (again: a new limit). */
void
vm_time_limit(struct vm *vm, hrtime_t ns)
{
	VERIFY(limit_started, "vm_time_limit: %s: before vm_limit_start",
	    vm->vm_name);
	VERIFY(ns > 0, "vm_time_limit: %s: a limit of %ld ns", vm->vm_name,
	    (long)ns);
	mutex_enter(&limit_lock);
	limit_unlink(vm);
	vm->vm_limit_deadline = gethrtime() + ns;
	vm->vm_limit_fired = false;
	vm->vm_limit_next = limit_list;
	limit_list = vm;
	cv_signal(&limit_cv);
	mutex_exit(&limit_lock);
}

/* No limit on vm any more; vm_destroy calls it for every VM. */
void
vm_time_limit_cancel(struct vm *vm)
{
	if (!limit_started)
		return;
	mutex_enter(&limit_lock);
	limit_unlink(vm);
	mutex_exit(&limit_lock);
}
