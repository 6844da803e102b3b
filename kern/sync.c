/*
 * Spin locks, wait queues, mutexes and condition variables.
 *
 * A spin lock disables interrupts on its CPU for as long as it is held
 * (xv6's pushcli/popcli): the CPU counts the spin locks it holds and
 * restores the interrupt flag it found when the outermost one is dropped.
 * So no interrupt, and thus no preemption, can happen while one is held.
 */
#include "sync.h"
#include "cpu.h"
#include "x86.h"
#include "panic.h"
#include "tunable.h"
#include "thread.h"
#include "apic.h"
#include "callout.h"

KTUNABLE_TEST(cv_inject_lost_wakeup, "the next cv_signal that has a waiter "
    "wakes nobody (the pingpong watchdog must catch the lost wakeup)");
KTUNABLE_TEST(cv_inject_timeout_double_wakeup, "the next cv_timedwait_hires "
    "timeout that finds its thread already signalled wakes it again "
    "(setrunqueue must panic)");

void
spin_init(spinlock_t *l, const char *name)
{
	l->sl_locked = 0;
	l->sl_cpu = NULL;
	l->sl_name = name;
}

static void
spl_push(void)
{
	bool on = intr_save();
	cpu_t *cp = CPU;

	if (cp->cpu_nspin++ == 0)
		cp->cpu_spin_intr = on;
}

static void
spl_pop(void)
{
	cpu_t *cp = CPU;

	VERIFY(!intr_enabled(), "spin_unlock: interrupts enabled inside a spin lock");
	VERIFY(cp->cpu_nspin > 0, "spin_unlock: no spin lock held");
	if (--cp->cpu_nspin == 0 && cp->cpu_spin_intr)
		intr_enable();
}

bool
spin_held(const spinlock_t *l)
{
	return (l->sl_locked != 0 && l->sl_cpu == CPU);
}

void
spin_lock(spinlock_t *l)
{
	spl_push();
	VERIFY(!spin_held(l), "spin_lock: recursive acquire of %s", l->sl_name);
	while (__atomic_exchange_n(&l->sl_locked, 1, __ATOMIC_ACQUIRE) != 0) {
		while (READ_ONCE(l->sl_locked) != 0)
			cpu_pause();
	}
	l->sl_cpu = CPU;
}

void
spin_unlock(spinlock_t *l)
{
	VERIFY(spin_held(l), "spin_unlock: %s not held by this CPU", l->sl_name);
	l->sl_cpu = NULL;
	__atomic_store_n(&l->sl_locked, 0, __ATOMIC_RELEASE);
	spl_pop();
}

void
waitq_init(waitq_t *wq, const char *name)
{
	spin_init(&wq->wq_lock, name);
	wq->wq_head = wq->wq_tail = NULL;
}

/*
 * Sleep on wq. The caller holds wq_lock and no other spin lock. Interrupts
 * stay off from here until the switch, so a wakeup that comes between the
 * unlock and swtch() only puts us back on a run queue (resume() makes
 * whoever picks us wait until we are off this CPU).
 */
void
waitq_block(waitq_t *wq)
{
	cpu_t *cp = CPU;
	kthread_t *t = cp->cpu_thread;

	VERIFY(spin_held(&wq->wq_lock), "waitq_block: %s not held",
	    wq->wq_lock.sl_name);
	VERIFY(cp->cpu_nspin == 1, "waitq_block: other spin locks held");
	VERIFY(t->t_preempt == 0,
	    "waitq_block: blocking with preemption disabled (%s)",
	    wq->wq_lock.sl_name);
	VERIFY(t != cp->cpu_idle_thread, "waitq_block: idle thread blocks");

	bool intr_was_on = cp->cpu_spin_intr;
	cp->cpu_spin_intr = false;	/* the unlock must leave IF clear */
	t->t_link = NULL;
	if (wq->wq_tail == NULL)
		wq->wq_head = t;
	else
		wq->wq_tail->t_link = t;
	wq->wq_tail = t;
	t->t_state = TS_SLEEP;
	spin_unlock(&wq->wq_lock);
	swtch();
	spin_lock(&wq->wq_lock);
	CPU->cpu_spin_intr = intr_was_on;	/* maybe another CPU now */
}

/* Take t off wq if it is on it (wq_lock held); true if it was. */
bool
waitq_remove(waitq_t *wq, kthread_t *t)
{
	kthread_t *prev = NULL;

	VERIFY(spin_held(&wq->wq_lock), "waitq_remove: %s not held",
	    wq->wq_lock.sl_name);
	for (kthread_t *p = wq->wq_head; p != NULL; prev = p, p = p->t_link) {
		if (p != t)
			continue;
		if (prev == NULL)
			wq->wq_head = t->t_link;
		else
			prev->t_link = t->t_link;
		if (wq->wq_tail == t)
			wq->wq_tail = prev;
		t->t_link = NULL;
		return (true);
	}
	return (false);
}

bool
waitq_wakeone(waitq_t *wq)
{
	kthread_t *t = wq->wq_head;

	VERIFY(spin_held(&wq->wq_lock), "waitq_wakeone: %s not held",
	    wq->wq_lock.sl_name);
	if (t == NULL)
		return (false);
	wq->wq_head = t->t_link;
	if (wq->wq_head == NULL)
		wq->wq_tail = NULL;
	t->t_link = NULL;
	setrunqueue(t);
	return (true);
}

void
waitq_wakeall(waitq_t *wq)
{
	while (waitq_wakeone(wq))
		;
}

void
mutex_init(kmutex_t *m, const char *name)
{
	waitq_init(&m->m_wq, name);
	m->m_owner = NULL;
}

void
mutex_enter(kmutex_t *m)
{
	kthread_t *t = curthread;

	spin_lock(&m->m_wq.wq_lock);
	VERIFY(m->m_owner != t, "mutex_enter: recursive enter of %s",
	    m->m_wq.wq_lock.sl_name);
	while (m->m_owner != NULL)
		waitq_block(&m->m_wq);
	m->m_owner = t;
	spin_unlock(&m->m_wq.wq_lock);
}

void
mutex_exit(kmutex_t *m)
{
	spin_lock(&m->m_wq.wq_lock);
	VERIFY(m->m_owner == curthread, "mutex_exit: %s not owned by %s",
	    m->m_wq.wq_lock.sl_name, curthread->t_name);
	m->m_owner = NULL;
	waitq_wakeone(&m->m_wq);
	spin_unlock(&m->m_wq.wq_lock);
}

bool
mutex_owned(const kmutex_t *m)
{
	return (m->m_owner == curthread);
}

void
cv_init(kcondvar_t *cv, const char *name)
{
	waitq_init(&cv->cv_wq, name);
}

/*
 * Queue ourselves on the cv before letting go of the mutex, so a signal
 * sent by the next owner of the mutex cannot be missed.
 */
void
cv_wait(kcondvar_t *cv, kmutex_t *m)
{
	VERIFY(mutex_owned(m), "cv_wait: mutex %s not held",
	    m->m_wq.wq_lock.sl_name);
	bool s = intr_save();
	spin_lock(&cv->cv_wq.wq_lock);
	/* Drop the mutex inside the cv lock: no wakeup can slip between. */
	spin_lock(&m->m_wq.wq_lock);
	m->m_owner = NULL;
	waitq_wakeone(&m->m_wq);
	spin_unlock(&m->m_wq.wq_lock);
	waitq_block(&cv->cv_wq);
	spin_unlock(&cv->cv_wq.wq_lock);
	intr_restore(s);
	mutex_enter(m);
}

/* One cv_timedwait_hires: its callout's argument, on the waiter's stack. */
struct cv_tmo {
	kcondvar_t *ct_cv;
	kthread_t *ct_thread;
	bool ct_timedout;		/* cv_wq's lock */
};

/*
 * The deadline passed (a callout, in the timer interrupt of the CPU the
 * waiter slept on). Whoever takes the waiter off the cv's queue wakes it:
 * this, or a cv_signal/cv_broadcast that got the cv lock first, in which
 * case there is nothing to do. The waiter cannot be back on the queue for
 * another wait yet: it stops this callout before cv_timedwait_hires ends.
 */
static void
cv_timeout(void *arg)
{
	struct cv_tmo *ct = arg;
	waitq_t *wq = &ct->ct_cv->cv_wq;

	spin_lock(&wq->wq_lock);
	if (waitq_remove(wq, ct->ct_thread)) {
		ct->ct_timedout = true;
		setrunqueue(ct->ct_thread);
	} else if (unlikely(cv_inject_timeout_double_wakeup) &&
	    atomic_swap(&cv_inject_timeout_double_wakeup, false)) {
		setrunqueue(ct->ct_thread);	/* the bug the switch plants */
	}
	spin_unlock(&wq->wq_lock);
}

/*
 * cv_wait with an absolute deadline in gethrtime() ns: -1 if the deadline
 * passed without a wakeup (at once, mutex kept, if it has passed already),
 * 1 if woken by cv_signal or cv_broadcast. The mutex is held again on
 * return either way. The timeout is a callout on this CPU (kern/callout.c),
 * so the wakeup comes within the timer interrupt's latency of the deadline,
 * not at the next clock tick.
 */
int
cv_timedwait_hires(kcondvar_t *cv, kmutex_t *m, hrtime_t deadline)
{
	struct cv_tmo ct = { cv, curthread, false };
	callout_t co;

	VERIFY(mutex_owned(m), "cv_timedwait_hires: mutex %s not held",
	    m->m_wq.wq_lock.sl_name);
	if (deadline <= gethrtime())
		return (-1);
	callout_init(&co);
	bool s = intr_save();
	spin_lock(&cv->cv_wq.wq_lock);
	/*
	 * Armed under the cv lock with interrupts off: the callout is on
	 * this CPU, so it cannot fire before we are on the queue and off
	 * the CPU; if it fires later it finds us on the queue or not.
	 */
	callout_arm(&co, deadline, cv_timeout, &ct);
	spin_lock(&m->m_wq.wq_lock);
	m->m_owner = NULL;
	waitq_wakeone(&m->m_wq);
	spin_unlock(&m->m_wq.wq_lock);
	waitq_block(&cv->cv_wq);
	bool timedout = ct.ct_timedout;
	spin_unlock(&cv->cv_wq.wq_lock);
	intr_restore(s);
	/*
	 * Signalled: take the callout off its CPU's list (we may be on
	 * another CPU now), or, if it is running there, wait for it to find
	 * us gone. Timed out: wait until its CPU has let go of co and ct.
	 */
	(void) callout_stop(&co);
	mutex_enter(m);
	return (timedout ? -1 : 1);
}

void
cv_signal(kcondvar_t *cv)
{
	spin_lock(&cv->cv_wq.wq_lock);
	/* cv_inject_lost_wakeup: drop this one, once, if it would wake. */
	if (!(unlikely(cv_inject_lost_wakeup) && cv->cv_wq.wq_head != NULL &&
	    atomic_swap(&cv_inject_lost_wakeup, false)))
		waitq_wakeone(&cv->cv_wq);
	spin_unlock(&cv->cv_wq.wq_lock);
}

void
cv_broadcast(kcondvar_t *cv)
{
	spin_lock(&cv->cv_wq.wq_lock);
	waitq_wakeall(&cv->cv_wq);
	spin_unlock(&cv->cv_wq.wq_lock);
}
