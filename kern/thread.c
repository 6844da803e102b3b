/*
 * Threads and the scheduler.
 *
 * Each CPU has a FIFO run queue; a thread runs until it blocks, yields or
 * its one-tick slice ends (the clock sets cpu_runrun and trap() preempts on
 * the way out). A CPU with nothing to run steals unbound threads from the
 * others' queues: that and thread_bind() are how threads migrate.
 *
 * swtch() is the one path through which every switch goes. It runs with
 * interrupts off and no spin lock held; the caller has already put the old
 * thread where it belongs (a run queue, a wait queue, the zombie state).
 * A sleep with a deadline (delay, cv_timedwait_hires) is a callout
 * (kern/callout.c) that makes the thread runnable again.
 */
#include "thread.h"
#include "cpu.h"
#include "x86.h"
#include "apic.h"
#include "trap.h"
#include "kmem.h"
#include "pmem.h"
#include "panic.h"
#include "console.h"
#include "trace.h"
#include "ctx/ctxop.h"
#include "callout.h"

#define	STACK_MAGIC	0x57ac4ca9a57ac4caUL	/* bottom word of every stack */

u32 hz = 100;
bool sched_running;

static spinlock_t thread_list_lock = SPINLOCK_INIT("thread_list");
static kthread_t *thread_list;		/* thread_list_lock */
static size_t nthreads;			/* thread_list_lock */
static u64 next_tid;			/* thread_list_lock */
static u32 next_cpu;			/* placement of new unbound threads */

/*
 * Detached zombies go to the reaper thread, not the idle loop: freeing runs
 * the threads' ct_free hooks, which may block.
 */
static waitq_t reap_wq;			/* the reaper sleeps here */
static kthread_t *reap_list;		/* detached zombies; reap_wq's lock */

extern void resume(kthread_t *old, kthread_t *new);
extern void thread_start_asm(void);
extern char boot_stack[];

static void
list_insert(kthread_t *t)
{
	spin_lock(&thread_list_lock);
	t->t_id = ++next_tid;
	t->t_allprev = NULL;
	t->t_allnext = thread_list;
	if (thread_list != NULL)
		thread_list->t_allprev = t;
	thread_list = t;
	nthreads++;
	spin_unlock(&thread_list_lock);
}

static void
list_remove(kthread_t *t)
{
	spin_lock(&thread_list_lock);
	if (t->t_allprev != NULL)
		t->t_allprev->t_allnext = t->t_allnext;
	else
		thread_list = t->t_allnext;
	if (t->t_allnext != NULL)
		t->t_allnext->t_allprev = t->t_allprev;
	nthreads--;
	spin_unlock(&thread_list_lock);
}

/*
 * Calls fn for every thread, under thread_list_lock: no thread is freed
 * meanwhile, so its kthread_t and its stack stay valid during fn. fn runs
 * with interrupts off and must not block, nor create or end threads.
 */
void
thread_walk(void (*fn)(kthread_t *, void *), void *arg)
{
	spin_lock(&thread_list_lock);
	for (kthread_t *t = thread_list; t != NULL; t = t->t_allnext)
		fn(t, arg);
	spin_unlock(&thread_list_lock);
}

size_t
thread_count(void)
{
	return (READ_ONCE(nthreads));
}

static kthread_t *
thread_alloc(const char *name, void (*func)(void *), void *arg, int cpu)
{
	VERIFY(cpu >= -1 && cpu < ncpus, "thread_create: no cpu %d", cpu);
	kthread_t *t = kmem_zalloc(sizeof (*t), KM_SLEEP);
	paddr_t stk = page_alloc_contig(THREAD_STACK_SIZE / PAGESIZE,
	    PAGESIZE, KM_SLEEP);

	strlcpy(t->t_name, name, sizeof (t->t_name));
	t->t_func = func;
	t->t_arg = arg;
	t->t_bound = cpu;
	t->t_stkbase = (uintptr_t)phys_to_virt(stk);
	t->t_stksize = THREAD_STACK_SIZE;
	*(u64 *)t->t_stkbase = STACK_MAGIC;
	waitq_init(&t->t_joinq, "thread_join");
	spin_init(&t->t_ctx_lock, "t_ctx_lock");

	/*
	 * The first resume() into this thread pops six callee-saved registers
	 * (r12 = the thread) and returns to thread_start_asm, with the stack
	 * aligned as if thread_start had been called.
	 */
	u64 *sp = (u64 *)(t->t_stkbase + t->t_stksize - 24);
	sp[0] = (u64)(uintptr_t)thread_start_asm;
	sp -= 6;
	sp[0] = 0;			/* r15 */
	sp[1] = 0;			/* r14 */
	sp[2] = 0;			/* r13 */
	sp[3] = (u64)(uintptr_t)t;	/* r12 */
	sp[4] = 0;			/* rbx */
	sp[5] = 0;			/* rbp */
	t->t_sp = (uintptr_t)sp;
	return (t);
}

static void
thread_free(kthread_t *t)
{
	freectx(t, 0);
	TRACE(TR_THREAD_FREE, t, 0);
	list_remove(t);
	page_free_contig(virt_to_phys((void *)t->t_stkbase),
	    t->t_stksize / PAGESIZE);
	kmem_free(t, sizeof (*t));
}

enum create_how { CREATE_RUN, CREATE_STOPPED, CREATE_FORK };

static kthread_t *
create(const char *name, void (*func)(void *), void *arg, int cpu,
    bool detached, enum create_how how)
{
	kthread_t *t = thread_alloc(name, func, arg, cpu);

	t->t_detached = detached;
	list_insert(t);
	TRACE(TR_THREAD_CREATE, t, 0);
	/* Spread new unbound threads over the CPUs. */
	t->t_cpu = &cpus[cpu >= 0 ? cpu :
	    (int)(atomic_inc_32(&next_cpu) % (u32)ncpus)];
	/* t cannot run yet: the creator's hooks may attach nodes to it. */
	if (how == CREATE_FORK)
		forkctx(curthread, t);
	else
		lwp_createctx(curthread, t);
	if (how != CREATE_STOPPED)
		thread_continue(t);
	return (t);
}

void
thread_continue(kthread_t *t)
{
	VERIFY(t->t_state == TS_FREE, "thread_continue: %s already started",
	    t->t_name);
	bool s = intr_save();
	setrunqueue(t);
	intr_restore(s);
}

kthread_t *
thread_create(const char *name, void (*func)(void *), void *arg, int cpu)
{
	return (create(name, func, arg, cpu, false, CREATE_RUN));
}

kthread_t *
thread_create_detached(const char *name, void (*func)(void *), void *arg,
    int cpu)
{
	return (create(name, func, arg, cpu, true, CREATE_RUN));
}

kthread_t *
thread_create_stopped(const char *name, void (*func)(void *), void *arg,
    int cpu)
{
	return (create(name, func, arg, cpu, false, CREATE_STOPPED));
}

kthread_t *
thread_fork(const char *name, void (*func)(void *), void *arg, int cpu)
{
	return (create(name, func, arg, cpu, false, CREATE_FORK));
}

/* The work swtch() leaves for the thread it switched to. */
static void
swtch_done(void)
{
	kthread_t *t = curthread;

	if (t->t_migrated_from != NULL) {
		TRACE(TR_MIGRATE, t->t_migrated_from->cpu_id, CPU->cpu_id);
		t->t_migrated_from = NULL;
	}
	restorectx(t);
	ctxop_fast_open(t);
}

void thread_start(kthread_t *t) __noreturn;
void
thread_start(kthread_t *t)
{
	swtch_done();
	intr_enable();
	t->t_func(t->t_arg);
	thread_exit();
}

void
thread_exit(void)
{
	kthread_t *t = curthread;

	VERIFY(t->t_preempt == 0, "thread_exit: %s exits with preemption "
	    "disabled", t->t_name);
	exitctx(t);
	intr_disable();
	spin_lock(&t->t_joinq.wq_lock);
	t->t_state = TS_ZOMB;
	if (t->t_detached) {
		spin_lock(&reap_wq.wq_lock);
		t->t_reap_next = reap_list;
		reap_list = t;
		waitq_wakeone(&reap_wq);
		spin_unlock(&reap_wq.wq_lock);
	} else {
		waitq_wakeall(&t->t_joinq);
	}
	spin_unlock(&t->t_joinq.wq_lock);
	swtch();
	panic("thread_exit: zombie %s ran again", t->t_name);
}

void
thread_join(kthread_t *t)
{
	VERIFY(t != curthread, "thread_join: %s joins itself", t->t_name);
	VERIFY(!t->t_detached, "thread_join: %s is detached", t->t_name);
	spin_lock(&t->t_joinq.wq_lock);
	while (t->t_state != TS_ZOMB)
		waitq_block(&t->t_joinq);
	spin_unlock(&t->t_joinq.wq_lock);
	/* Its last swtch() may still be running on its stack. */
	while (READ_ONCE(t->t_live) != 0)
		cpu_pause();
	thread_free(t);
}

/* The reaper: frees detached threads once they have left their CPU. */
static void
reaper(void *arg __unused)
{
	for (;;) {
		spin_lock(&reap_wq.wq_lock);
		while (reap_list == NULL)
			waitq_block(&reap_wq);
		kthread_t *t = reap_list;
		reap_list = NULL;
		spin_unlock(&reap_wq.wq_lock);
		while (t != NULL) {
			kthread_t *next = t->t_reap_next;
			while (READ_ONCE(t->t_live) != 0)
				cpu_pause();	/* its last swtch() is ending */
			thread_free(t);
			t = next;
		}
	}
}

void
sched_start_reaper(void)
{
	(void) thread_create("reaper", reaper, NULL, -1);
}

/*
 * Make t runnable: on its bound CPU, else on the CPU it last belonged to.
 * An idle target CPU is woken with an IPI.
 */
void
setrunqueue(kthread_t *t)
{
	cpu_t *cp = t->t_bound >= 0 ? &cpus[t->t_bound] :
	    (t->t_cpu != NULL ? t->t_cpu : CPU);
	runq_t *rq = &cp->cpu_runq;

	spin_lock(&rq->rq_lock);
	VERIFY(t->t_state != TS_RUN, "setrunqueue: %s already runnable",
	    t->t_name);
	/* Only a sleeper, a new thread or the caller itself (preempt, yield,
	 * bind) can be put on a run queue: anything else was woken twice. */
	VERIFY(t->t_state == TS_SLEEP || t->t_state == TS_FREE ||
	    t == curthread, "setrunqueue: %s woken while %s (a double wakeup)",
	    t->t_name, t->t_state == TS_ONPROC ? "running" : "a zombie");
	t->t_state = TS_RUN;
	t->t_cpu = cp;
	t->t_link = NULL;
	if (rq->rq_tail == NULL)
		rq->rq_head = t;
	else
		rq->rq_tail->t_link = t;
	rq->rq_tail = t;
	rq->rq_count++;
	if (t->t_bound < 0)
		rq->rq_nunbound++;
	spin_unlock(&rq->rq_lock);
	membar();	/* the enqueue before the look at cpu_idling */
	if (cp != CPU && READ_ONCE(cp->cpu_idling))
		apic_send_ipi(cp->cpu_apicid, VEC_RESCHED);
}

/* Take the first thread (or the first unbound one, when stealing). */
static kthread_t *
runq_take(runq_t *rq, bool unbound_only)
{
	kthread_t *prev = NULL, *t;

	spin_lock(&rq->rq_lock);
	for (t = rq->rq_head; t != NULL; prev = t, t = t->t_link) {
		if (!unbound_only || t->t_bound < 0)
			break;
	}
	if (t != NULL) {
		if (prev == NULL)
			rq->rq_head = t->t_link;
		else
			prev->t_link = t->t_link;
		if (rq->rq_tail == t)
			rq->rq_tail = prev;
		t->t_link = NULL;
		rq->rq_count--;
		if (t->t_bound < 0)
			rq->rq_nunbound--;
	}
	spin_unlock(&rq->rq_lock);
	return (t);
}

static kthread_t *
runq_pick(cpu_t *cp)
{
	kthread_t *t = NULL;

	if (READ_ONCE(cp->cpu_runq.rq_count) > 0)
		t = runq_take(&cp->cpu_runq, false);
	for (int i = 1; t == NULL && i < ncpus; i++) {
		cpu_t *other = &cpus[(cp->cpu_id + i) % ncpus];
		if (READ_ONCE(other->cpu_runq.rq_nunbound) > 0)
			t = runq_take(&other->cpu_runq, true);
	}
	return (t);
}

/*
 * GCC treats any function named savectx as returning twice (like setjmp:
 * see special_function_p in its sources), which is harmless here but makes
 * -Wclobbered warn about the locals below.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wclobbered"
static void
swtch_common(bool involuntary)
{
	cpu_t *cp = CPU;
	kthread_t *old = cp->cpu_thread;

	VERIFY(!intr_enabled(), "swtch: interrupts enabled");
	VERIFY(cp->cpu_nspin == 0, "swtch: spin lock held");
	VERIFY(*(u64 *)old->t_stkbase == STACK_MAGIC,
	    "swtch: stack overflow in thread %s", old->t_name);

	kthread_t *new = runq_pick(cp);
	if (new == NULL)
		new = cp->cpu_idle_thread;
	cp->cpu_runrun = 0;
	if (new == old) {
		old->t_state = TS_ONPROC;
		return;
	}
	if (involuntary) {
		old->t_npreempt++;
		cp->cpu_npreempt++;
	}
	TRACE(TR_SWTCH, old, new);
	ctxop_fast_close();		/* until swtch_done: hooks run */
	savectx(old);
	/* Invariant 5 of docs/ctxops.md: after savectx no guest FPU is live
	 * (vmm_savectx puts it away; only a missing vCPU ctxop leaves it). */
	VERIFY(cp->cpu_guest_fpu == NULL, "swtch: guest FPU state live on "
	    "cpu%d after savectx(%s): its vCPU ctxop is not attached",
	    cp->cpu_id, old->t_name);
	if (new->t_lastcpu != cp && new->t_lastcpu != NULL) {
		new->t_nmigrate++;
		cp->cpu_nmigrate++;
		new->t_migrated_from = new->t_lastcpu;
	}
	new->t_lastcpu = cp;
	new->t_cpu = cp;
	if (new != cp->cpu_idle_thread)
		cp->cpu_idling = false;	/* the timer may have woken hlt */
	new->t_state = TS_ONPROC;
	new->t_nswitch++;
	cp->cpu_nswitch++;
	cp->cpu_thread = new;
	resume(old, new);
	swtch_done();
}
#pragma GCC diagnostic pop

void
swtch(void)
{
	swtch_common(false);
}

/* Give up the CPU involuntarily (the slice ended or the thread was poked). */
void
preempt(void)
{
	bool s = intr_save();
	cpu_t *cp = CPU;
	kthread_t *t = cp->cpu_thread;

	if (t != cp->cpu_idle_thread)
		setrunqueue(t);
	swtch_common(true);
	intr_restore(s);
}

void
thread_yield(void)
{
	bool s = intr_save();
	cpu_t *cp = CPU;

	if (cp->cpu_thread != cp->cpu_idle_thread)
		setrunqueue(cp->cpu_thread);
	swtch();
	intr_restore(s);
}

void
thread_bind(int cpu)
{
	kthread_t *t = curthread;

	VERIFY(cpu >= -1 && cpu < ncpus, "thread_bind: no cpu %d", cpu);
	VERIFY(t->t_preempt == 0, "thread_bind: %s has preemption disabled",
	    t->t_name);
	bool s = intr_save();
	t->t_bound = cpu;
	if (cpu >= 0 && CPU->cpu_id != cpu) {
		setrunqueue(t);		/* onto the target CPU's queue */
		swtch();
	}
	intr_restore(s);
}

/*
 * The preemption asked for (cpu_runrun) while preemption was disabled,
 * taken at the outermost kpreempt_enable (thread.h), or at the end of an
 * inline ctxop edit (ctxop.h) if nothing else holds preemption off, and
 * if interrupts are on; with interrupts off it waits for the next
 * interrupt's return path.
 */
void
kpreempt(void)
{
	if (READ_ONCE(CPU->cpu_runrun) && intr_enabled() &&
	    thread_preemptible(curthread))
		preempt();
}

void
kpreempt_underflow(kthread_t *t)
{
	panic("kpreempt_enable: %s: not disabled", t->t_name);
}

u64
lbolt_get(void)
{
	return (gethrtime() / nsec_per_tick);
}

static void
delay_wake(void *arg)
{
	setrunqueue(arg);
}

/*
 * Sleep until gethrtime() >= until: a callout on this CPU wakes us.
 * Interrupts stay off from arming to the switch, so it cannot fire before
 * we are asleep (it is on this CPU's list).
 */
static void
sleep_until(hrtime_t until)
{
	kthread_t *t = curthread;
	callout_t co;

	VERIFY(t->t_preempt == 0, "delay: %s blocks with preemption disabled",
	    t->t_name);
	VERIFY(t != CPU->cpu_idle_thread, "delay: the idle thread must not "
	    "sleep");
	callout_init(&co);
	while (gethrtime() < until) {
		bool s = intr_save();
		callout_arm(&co, until, delay_wake, t);
		t->t_state = TS_SLEEP;
		swtch();
		intr_restore(s);
		/* It fired; wait until its CPU is done with co. */
		(void) callout_stop(&co);
	}
}

/*
 * Sleep until lbolt has advanced by ticks: to the ticks'th tick boundary
 * from now (so delay(1) sleeps up to one tick, as before).
 */
void
delay(u64 ticks)
{
	hrtime_t until = (lbolt_get() + ticks) * nsec_per_tick;

	if (ticks == 0) {
		thread_yield();
		return;
	}
	sleep_until(until);
}

/* The clock tick on every CPU (clock_intr): the slice is one tick. */
void
clock_tick(void)
{
	cpu_t *cp = CPU;

	cp->cpu_ticks++;
	cp->cpu_runrun = 1;
}

static void
timer_intr(struct regs *r __unused)
{
	clock_intr();
}

static void
resched_intr(struct regs *r __unused)
{
	CPU->cpu_runrun = 1;
}

static bool
work_available(cpu_t *cp)
{
	if (READ_ONCE(cp->cpu_runq.rq_count) > 0)
		return (true);
	for (int i = 0; i < ncpus; i++) {
		if (READ_ONCE(cpus[i].cpu_runq.rq_nunbound) > 0)
			return (true);
	}
	return (false);
}

static __noreturn void
idle_loop(cpu_t *cp)
{
	for (;;) {
		intr_disable();
		if (!work_available(cp)) {
			cp->cpu_idling = true;
			membar();	/* cpu_idling before the second look */
			if (!work_available(cp)) {
				__asm__ __volatile__("sti; hlt; cli" ::: "memory");
			}
			cp->cpu_idling = false;
		}
		swtch();
		intr_enable();
	}
}

/* The idle thread of a CPU other than the boot CPU (its stack is new). */
kthread_t *
sched_make_idle(cpu_t *cp)
{
	char name[16];

	ksnprintf(name, sizeof (name), "idle/%d", cp->cpu_id);
	kthread_t *t = thread_alloc(name, NULL, NULL, -1);
	t->t_bound = cp->cpu_id;
	list_insert(t);
	cp->cpu_idle_thread = t;
	return (t);
}

/* CPU 0's idle thread is the boot context, on the boot stack. */
void
sched_init(void)
{
	static kthread_t idle0;
	cpu_t *cp = &cpus[0];

	strlcpy(idle0.t_name, "idle/0", sizeof (idle0.t_name));
	idle0.t_bound = 0;
	idle0.t_stkbase = (uintptr_t)boot_stack;
	idle0.t_stksize = 16384;
	*(u64 *)idle0.t_stkbase = STACK_MAGIC;
	waitq_init(&idle0.t_joinq, "thread_join");
	waitq_init(&reap_wq, "reaper");
	list_insert(&idle0);
	cp->cpu_idle_thread = &idle0;
	cp->cpu_thread = &idle0;
	idle0.t_live = 1;
	intr_register(VEC_TIMER, timer_intr);
	intr_register(VEC_RESCHED, resched_intr);
}

/* Every CPU ends its bring-up here, as its idle thread. */
void
sched_cpu_start(cpu_t *cp)
{
	kthread_t *idle = cp->cpu_idle_thread;

	cp->cpu_thread = idle;
	idle->t_live = 1;
	idle->t_state = TS_ONPROC;
	idle->t_cpu = idle->t_lastcpu = cp;
	membar();
	cp->cpu_ready = true;
	intr_enable();
	idle_loop(cp);
}

/* ---- the monitor's view (thread.h) --------------------------------- */

int
thread_snapshot(struct thread_info *ti, int max)
{
	int n = 0;

	spin_lock(&thread_list_lock);
	for (kthread_t *t = thread_list; t != NULL; t = t->t_allnext, n++) {
		if (n >= max)
			continue;
		struct thread_info *i = &ti[n];
		i->ti_addr = (uintptr_t)t;
		i->ti_id = t->t_id;
		strlcpy(i->ti_name, t->t_name, sizeof (i->ti_name));
		i->ti_state = t->t_state;
		struct cpu *c = t->t_cpu != NULL ? t->t_cpu : t->t_lastcpu;
		i->ti_cpu = c != NULL ? c->cpu_id : -1;
		i->ti_nctx = ctxop_snapshot(t, NULL, NULL, 0);
		i->ti_bound = t->t_bound;
		i->ti_nswitch = t->t_nswitch;
	}
	spin_unlock(&thread_list_lock);
	return (n);
}

bool
thread_locked_call(uintptr_t addr, void (*fn)(kthread_t *, void *), void *arg)
{
	bool found = false;

	spin_lock(&thread_list_lock);
	for (kthread_t *t = thread_list; t != NULL; t = t->t_allnext) {
		if ((uintptr_t)t == addr) {
			fn(t, arg);
			found = true;
			break;
		}
	}
	spin_unlock(&thread_list_lock);
	return (found);
}

/* resume() leaves r15, r14, r13, r12, rbx, rbp and the return address at
 * t_sp (kern/intr.asm): the walk starts there, inside the stack. */
int
thread_stack_pcs(kthread_t *t, uintptr_t *pcs, int max)
{
	uintptr_t lo = t->t_stkbase, hi = t->t_stkbase + t->t_stksize;
	uintptr_t sp = t->t_sp;
	int n = 0;

	if (t->t_state == TS_ONPROC || t == curthread || sp < lo ||
	    sp + 7 * 8 > hi)
		return (0);
	uintptr_t fp = ((uintptr_t *)sp)[5];
	pcs[n++] = ((uintptr_t *)sp)[6];
	while (n < max && fp >= lo && fp + 16 <= hi && (fp & 7) == 0) {
		uintptr_t pc = ((uintptr_t *)fp)[1];
		if (pc == 0)
			break;
		pcs[n++] = pc;
		uintptr_t next = ((uintptr_t *)fp)[0];
		if (next <= fp)
			break;
		fp = next;
	}
	return (n);
}
