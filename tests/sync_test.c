/*
 * Suite "sync": mutual exclusion under contention, and a control run
 * without the lock that shows the same test catches lost updates; cv
 * turn-taking under a watchdog, and a control run with one cv_signal
 * dropped that shows the watchdog catches a lost wakeup.
 */
#include "ktest.h"
#include "../kern/sync.h"
#include "../kern/thread.h"
#include "../kern/cpu.h"
#include "../kern/x86.h"
#include "../kern/apic.h"
#include "../kern/callout.h"
#include "../kern/tunable.h"

KTUNABLE_CMDLINE(sync_loose_timing, "skip the timed-wait tests that need "
    "each timer interrupt within 200 us of its deadline (a nested guest "
    "whose vCPUs share one host CPU cannot promise it)");

/* A test that needs tight interrupt timing, in a boot that cannot give it. */
static bool
loose_timing(void)
{
	if (sync_loose_timing)
		ktest_skip("sync_loose_timing=1: interrupt timing is not tight "
		    "here");
	return (sync_loose_timing);
}

enum lockkind { USE_MUTEX, USE_SPIN, USE_NONE };

struct counter {
	enum lockkind kind;
	kmutex_t m;
	spinlock_t s;
	volatile u64 value;
	u64 iters;
};

/* Read, wait a little, write: a wide window for a lost update. */
static void
count(void *arg)
{
	struct counter *c = arg;

	for (u64 i = 0; i < c->iters; i++) {
		if (c->kind == USE_MUTEX)
			mutex_enter(&c->m);
		else if (c->kind == USE_SPIN)
			spin_lock(&c->s);
		u64 v = c->value;
		for (int j = 0; j < 50; j++)
			cpu_pause();
		c->value = v + 1;
		if (c->kind == USE_MUTEX)
			mutex_exit(&c->m);
		else if (c->kind == USE_SPIN)
			spin_unlock(&c->s);
	}
}

static u64
run_counters(enum lockkind kind, int nthreads, u64 iters)
{
	struct counter c;
	kthread_t *t[4 * NCPU];

	c.kind = kind;
	mutex_init(&c.m, "test_mutex");
	spin_init(&c.s, "test_spin");
	c.value = 0;
	c.iters = iters;
	for (int i = 0; i < nthreads; i++)
		t[i] = thread_create("counter", count, &c, -1);
	for (int i = 0; i < nthreads; i++)
		thread_join(t[i]);
	return (c.value);
}

static int
nthreads(void)
{
	return (ncpus * 2 < 4 ? 4 : ncpus * 2);
}

KTEST(sync, mutex_excludes)
{
	u64 iters = ktest_scale(20000), want = iters * (u64)nthreads();
	u64 got = run_counters(USE_MUTEX, nthreads(), iters);

	KT_EXPECT(got == want, "counter %lu, want %lu", got, want);
}

KTEST(sync, spinlock_excludes)
{
	u64 iters = ktest_scale(20000), want = iters * (u64)nthreads();
	u64 got = run_counters(USE_SPIN, nthreads(), iters);

	KT_EXPECT(got == want, "counter %lu, want %lu", got, want);
}

/*
 * The control: the same counting with no lock loses updates (threads are
 * preempted, or run on other CPUs, inside the window). If this ever
 * passes without losses, the two tests above prove nothing.
 */
KTEST(sync, lost_updates_without_lock)
{
	u64 iters = ktest_scale(20000), want = iters * (u64)nthreads();
	u64 got = run_counters(USE_NONE, nthreads(), iters);

	ktest_note("without a lock: %lu of %lu updates lost", want - got, want);
	KT_EXPECT(got < want, "no update lost without a lock");
}

/*
 * Two threads take turns through one mutex and one cv (cv_signal: there
 * is never more than one waiter). A lost wakeup leaves both asleep, so
 * the test thread is a watchdog: no move for PINGPONG_WATCHDOG_S seconds
 * and it marks the run stuck and wakes both with cv_broadcast.
 */
#define	PINGPONG_WATCHDOG_S	2

struct pingpong {
	kmutex_t m;
	kcondvar_t cv;
	int turn;			/* m: whose move, 0 or 1 */
	u64 rounds;			/* moves per side */
	volatile u64 moves;		/* m (the watchdog reads it without) */
	bool stuck;			/* m: the watchdog gave up */
	volatile int finished;		/* atomic: players out of their loop */
};

struct player {
	struct pingpong *p;
	int me;
};

static void
play(void *arg)
{
	struct player *pl = arg;
	struct pingpong *p = pl->p;

	mutex_enter(&p->m);
	for (u64 i = 0; i < p->rounds && !p->stuck; i++) {
		while (p->turn != pl->me && !p->stuck)
			cv_wait(&p->cv, &p->m);
		if (p->stuck)
			break;
		p->turn = 1 - pl->me;
		p->moves++;
		cv_signal(&p->cv);
	}
	mutex_exit(&p->m);
	atomic_inc_32(&p->finished);
}

/* Plays the rounds; returns false if the watchdog had to stop them. */
static bool
pingpong(struct pingpong *p, u64 rounds)
{
	struct player pl[2] = { { p, 0 }, { p, 1 } };
	kthread_t *t[2];

	mutex_init(&p->m, "pingpong");
	cv_init(&p->cv, "pingpong");
	p->turn = 0;
	p->rounds = rounds;
	p->moves = 0;
	p->stuck = false;
	p->finished = 0;
	for (int i = 0; i < 2; i++)
		t[i] = thread_create(i == 0 ? "ping" : "pong", play, &pl[i], -1);
	u64 last = 0, idle = 0;
	while (atomic_load(&p->finished) < 2) {
		delay(1);
		u64 now = READ_ONCE(p->moves);
		idle = now == last ? idle + 1 : 0;
		last = now;
		if (idle >= PINGPONG_WATCHDOG_S * (u64)hz) {
			mutex_enter(&p->m);
			p->stuck = true;
			cv_broadcast(&p->cv);
			mutex_exit(&p->m);
			break;
		}
	}
	for (int i = 0; i < 2; i++)
		thread_join(t[i]);
	return (!p->stuck);
}

KTEST(sync, cv_pingpong)
{
	struct pingpong p;
	u64 rounds = ktest_scale(5000);

	memset(&p, 0, sizeof (p));
	bool ok = pingpong(&p, rounds);
	KT_EXPECT(ok, "no move for %d s after %lu of %lu: a lost wakeup",
	    PINGPONG_WATCHDOG_S, p.moves, 2 * rounds);
	KT_EXPECT(!ok || p.moves == 2 * rounds, "%lu moves, want %lu",
	    p.moves, 2 * rounds);
}

/*
 * The control: cv_inject_lost_wakeup drops one cv_signal that had a
 * waiter, and the watchdog must catch the hang (without it, the test
 * would hang the run).
 */
KTEST(sync, cv_lost_wakeup_caught)
{
	struct pingpong p;
	u64 rounds = ktest_scale(5000);

	memset(&p, 0, sizeof (p));
	cv_inject_lost_wakeup = true;
	bool ok = pingpong(&p, rounds);
	bool dropped = !cv_inject_lost_wakeup;
	cv_inject_lost_wakeup = false;
	KT_EXPECT(dropped, "no cv_signal was dropped");
	KT_EXPECT(!ok, "the watchdog missed the lost wakeup (%lu of %lu moves)",
	    p.moves, 2 * rounds);
	if (!ok)
		ktest_note("lost wakeup caught after %lu of %lu moves", p.moves,
		    2 * rounds);
}

struct gate {
	kmutex_t m;
	kcondvar_t cv;
	bool open;
	int waiting;
	int passed;
};

static void
wait_gate(void *arg)
{
	struct gate *g = arg;

	mutex_enter(&g->m);
	g->waiting++;
	while (!g->open)
		cv_wait(&g->cv, &g->m);
	g->passed++;
	mutex_exit(&g->m);
}

KTEST(sync, cv_broadcast_wakes_all)
{
	enum { N = 8 };
	struct gate g;
	kthread_t *t[N];

	mutex_init(&g.m, "gate");
	cv_init(&g.cv, "gate");
	g.open = false;
	g.waiting = g.passed = 0;
	for (int i = 0; i < N; i++)
		t[i] = thread_create("gate", wait_gate, &g, -1);
	for (int i = 0; i < 1000; i++) {
		mutex_enter(&g.m);
		int w = g.waiting;
		mutex_exit(&g.m);
		if (w == N)
			break;
		delay(1);
	}
	mutex_enter(&g.m);
	KT_EXPECT(g.passed == 0, "%d passed a closed gate", g.passed);
	g.open = true;
	cv_broadcast(&g.cv);
	mutex_exit(&g.m);
	for (int i = 0; i < N; i++)
		thread_join(t[i]);
	KT_EXPECT(g.passed == N, "%d of %d passed", g.passed, N);
}

/*
 * cv_timedwait_hires. A timed waiter (struct tw) waits once; the test
 * thread sees it asleep (it set tw_waiting under the mutex before the
 * wait dropped it), then signals or not.
 */
#define	MSEC	((u64)1000000)
#define	USEC	((u64)1000)
/* A timeout's median lateness must stay under this (tick-rounded waits at
 * hz <= 125 come to at least half a tick, 4 ms). */
#define	TIMEDWAIT_MEDIAN_LATE_MAX	(2 * MSEC)

struct tw {
	kmutex_t tw_m;
	kcondvar_t tw_cv;
	hrtime_t tw_timeout;		/* relative: set before it starts */
	hrtime_t tw_deadline;		/* tw_m: set by the waiter, then */
	volatile int tw_waiting;	/* set under tw_m before the wait */
	bool tw_flag;			/* tw_m: the signaller's change */
	bool tw_flag_seen;		/* tw_flag when the wait returned */
	bool tw_owned;			/* the mutex was held on return */
	int tw_rc;
	hrtime_t tw_woke;		/* gethrtime() after the wait */
	int tw_cpu_before, tw_cpu_after;
	u64 tw_nmig_before, tw_nmig_after;
	bool tw_unbind;			/* thread_bind(-1) first */
	volatile int tw_done;
};

/* The deadline counts from when the waiter runs (creating a thread takes
 * milliseconds of emulated time on Bochs). */
static void
tw_init(struct tw *w, hrtime_t timeout)
{
	memset(w, 0, sizeof (*w));
	mutex_init(&w->tw_m, "tw");
	cv_init(&w->tw_cv, "tw");
	w->tw_timeout = timeout;
}

static void
tw_wait(void *arg)
{
	struct tw *w = arg;

	if (w->tw_unbind)
		thread_bind(-1);	/* stays on this CPU until stolen */
	mutex_enter(&w->tw_m);
	w->tw_cpu_before = CPU->cpu_id;
	w->tw_nmig_before = curthread->t_nmigrate;
	w->tw_deadline = gethrtime() + w->tw_timeout;
	atomic_store(&w->tw_waiting, 1);
	w->tw_rc = cv_timedwait_hires(&w->tw_cv, &w->tw_m, w->tw_deadline);
	w->tw_woke = gethrtime();
	w->tw_cpu_after = CPU->cpu_id;
	w->tw_nmig_after = curthread->t_nmigrate;
	w->tw_owned = mutex_owned(&w->tw_m);
	w->tw_flag_seen = w->tw_flag;
	mutex_exit(&w->tw_m);
	atomic_store(&w->tw_done, 1);
}

/* Until w is on its cv's queue (yield: it may need this CPU). */
static void
tw_until_asleep(struct tw *w, bool spin)
{
	while (!atomic_load(&w->tw_waiting)) {
		if (spin)
			cpu_pause();
		else
			thread_yield();
	}
	mutex_enter(&w->tw_m);	/* it let go of it inside the wait */
	mutex_exit(&w->tw_m);
}

static void
tw_signal(struct tw *w)
{
	mutex_enter(&w->tw_m);
	w->tw_flag = true;
	cv_signal(&w->tw_cv);
	mutex_exit(&w->tw_m);
}

static u64
sum_ncallout_stop(void)
{
	u64 n = 0;

	for (int i = 0; i < ncpus; i++)
		n += READ_ONCE(cpus[i].cpu_ncallout_stop);
	return (n);
}

static void
sort_u64(u64 *v, int n)
{
	for (int i = 1; i < n; i++) {
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			u64 x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	}
}

/*
 * NWAITS timed waits of 0.1-3 ms that nobody signals: each must return -1
 * with the mutex held, not before its deadline; returns the median
 * lateness (deadline to running again), max in *maxp.
 */
#define	NWAITS	15

static u64
timeouts_median_late(u64 *maxp)
{
	kmutex_t m;
	kcondvar_t cv;
	u64 late[NWAITS], seed = gethrtime() | 1;

	mutex_init(&m, "tw_late");
	cv_init(&cv, "tw_late");
	mutex_enter(&m);
	for (int i = 0; i < NWAITS; i++) {
		hrtime_t deadline = gethrtime() + 100 * USEC +
		    ktest_rand(&seed) % (3 * MSEC);
		int rc = cv_timedwait_hires(&cv, &m, deadline);
		hrtime_t now = gethrtime();
		KT_EXPECT(rc == -1, "wait %d: rc %d, want -1 (nobody signals)",
		    i, rc);
		KT_EXPECT(mutex_owned(&m), "wait %d: mutex not held", i);
		KT_EXPECT(now >= deadline, "wait %d: woke %lu ns before the "
		    "deadline", i, deadline - now);
		late[i] = now >= deadline ? now - deadline : 0;
		KT_EXPECT(late[i] < 1000 * MSEC, "wait %d: %lu ms late", i,
		    late[i] / MSEC);
	}
	mutex_exit(&m);
	sort_u64(late, NWAITS);
	*maxp = late[NWAITS - 1];
	return (late[NWAITS / 2]);
}

KTEST(sync, timedwait_times_out)
{
	u64 max, med = timeouts_median_late(&max);

	ktest_note("timeout lateness: median %lu us, max %lu us (tick %lu us)",
	    med / USEC, max / USEC, nsec_per_tick / USEC);
	KT_EXPECT(med < TIMEDWAIT_MEDIAN_LATE_MAX, "median lateness %lu us: "
	    "rounded to clock ticks?", med / USEC);
}

/*
 * The control: with callout_inject_tick_only the timer ignores callouts
 * and they fire at the next tick, and the same measurement must see it.
 */
KTEST(sync, timedwait_tick_rounding_caught)
{
	if (nsec_per_tick < 4 * TIMEDWAIT_MEDIAN_LATE_MAX) {
		ktest_skip("hz too high for half a tick to exceed the bound");
		return;
	}
	callout_inject_tick_only = true;
	u64 max, med = timeouts_median_late(&max);
	callout_inject_tick_only = false;
	ktest_note("tick-only timeouts: median %lu us, max %lu us", med / USEC,
	    max / USEC);
	KT_EXPECT(med >= TIMEDWAIT_MEDIAN_LATE_MAX, "tick rounding not seen: "
	    "median lateness %lu us", med / USEC);
}

KTEST(sync, timedwait_signalled)
{
	struct tw w;

	tw_init(&w, 10000 * MSEC);
	u64 stops = sum_ncallout_stop();
	kthread_t *t = thread_create("tw", tw_wait, &w, -1);
	tw_until_asleep(&w, false);
	tw_signal(&w);
	thread_join(t);
	KT_EXPECT(w.tw_rc == 1, "rc %d, want 1 (signalled)", w.tw_rc);
	KT_EXPECT(w.tw_flag_seen && w.tw_owned, "flag %d, mutex held %d",
	    w.tw_flag_seen, w.tw_owned);
	KT_EXPECT(w.tw_woke < w.tw_deadline, "woke after the deadline");
	u64 d = sum_ncallout_stop() - stops;
	KT_EXPECT(d == 1, "%lu callouts cancelled, want 1 (the 10 s timeout)",
	    d);
}

KTEST(sync, timedwait_past_deadline)
{
	kmutex_t m;
	kcondvar_t cv;
	kthread_t *self = curthread;

	mutex_init(&m, "tw_past");
	cv_init(&cv, "tw_past");
	mutex_enter(&m);
	/* It must not sleep: with preemption off a sleep would panic. */
	kpreempt_disable();
	u64 sw = self->t_nswitch, stops = sum_ncallout_stop();
	hrtime_t now = gethrtime();
	int r1 = cv_timedwait_hires(&cv, &m, 0);
	int r2 = cv_timedwait_hires(&cv, &m, now - 1);
	int r3 = cv_timedwait_hires(&cv, &m, now);
	bool same = self->t_nswitch == sw && sum_ncallout_stop() == stops;
	kpreempt_enable();
	KT_EXPECT(r1 == -1 && r2 == -1 && r3 == -1, "rc %d %d %d, want -1",
	    r1, r2, r3);
	KT_EXPECT(same, "it switched or armed a callout");
	KT_EXPECT(mutex_owned(&m), "mutex not held");
	mutex_exit(&m);
}

/*
 * Waiters on one cv, bound to one CPU (one callout list, one run queue),
 * with deadlines 2 ms apart given in a shuffled order: they must time out
 * in deadline order, none early. A gate starts them together.
 */
#define	NORDER	8

struct order {
	kmutex_t m;
	kcondvar_t cv;			/* the timed waits */
	kcondvar_t gate_cv;
	bool gate;			/* m */
	int ready;			/* m */
	int next;			/* m: wake sequence */
	hrtime_t deadline[NORDER];
	int seq[NORDER], rc[NORDER];
	hrtime_t woke[NORDER];
};

struct order_arg {
	struct order *o;
	int i;
};

static void
order_wait(void *arg)
{
	struct order_arg *a = arg;
	struct order *o = a->o;

	mutex_enter(&o->m);
	o->ready++;
	cv_broadcast(&o->gate_cv);
	while (!o->gate)
		cv_wait(&o->gate_cv, &o->m);
	o->rc[a->i] = cv_timedwait_hires(&o->cv, &o->m, o->deadline[a->i]);
	o->woke[a->i] = gethrtime();
	o->seq[a->i] = o->next++;
	mutex_exit(&o->m);
}

KTEST(sync, timedwait_many_in_order)
{
	static const int rank[NORDER] = { 5, 2, 7, 0, 3, 6, 1, 4 };
	struct order o;
	struct order_arg a[NORDER];
	kthread_t *t[NORDER];
	int cpu = ncpus - 1;

	if (loose_timing())
		return;
	memset(&o, 0, sizeof (o));
	mutex_init(&o.m, "tw_order");
	cv_init(&o.cv, "tw_order");
	cv_init(&o.gate_cv, "tw_gate");
	for (int i = 0; i < NORDER; i++) {
		a[i].o = &o;
		a[i].i = i;
		t[i] = thread_create("tw_order", order_wait, &a[i], cpu);
	}
	mutex_enter(&o.m);
	while (o.ready < NORDER)
		cv_wait(&o.gate_cv, &o.m);
	hrtime_t base = gethrtime() + 20 * MSEC;
	for (int i = 0; i < NORDER; i++)
		o.deadline[i] = base + (u64)rank[i] * 2 * MSEC;
	o.gate = true;
	cv_broadcast(&o.gate_cv);
	mutex_exit(&o.m);
	for (int i = 0; i < NORDER; i++)
		thread_join(t[i]);
	for (int i = 0; i < NORDER; i++) {
		KT_EXPECT(o.rc[i] == -1, "waiter %d: rc %d", i, o.rc[i]);
		KT_EXPECT(o.woke[i] >= o.deadline[i], "waiter %d woke early",
		    i);
		KT_EXPECT(o.seq[i] == rank[i], "waiter with deadline %d woke "
		    "%dth", rank[i], o.seq[i]);
	}
}

/*
 * Signal against timeout, many rounds, each with a new waiter: rounds of
 * three kinds. Signalled long before a 1 s deadline: must return 1.
 * Nobody signals until it is done: must return -1. Signalled at a random
 * moment within 100 us of a 1 ms deadline: either, but a 1 must have
 * seen the signal's flag (no stray wakeup) and a -1 must not be early.
 * Every waiter must come back (a lost one is caught after 2 s); a double
 * wakeup panics in setrunqueue. Run on every CPU count.
 */
KTEST(sync, timedwait_signal_vs_timeout_race)
{
	u64 rounds = ktest_scale(300), seed = gethrtime() | 1;
	u64 raced_signal = 0, raced_timeout = 0, lost = 0;

	for (u64 r = 0; r < rounds && lost == 0; r++) {
		int kind = (int)(r % 3);	/* 0 signal, 1 race, 2 timeout */
		struct tw w;
		hrtime_t now = gethrtime();

		tw_init(&w, kind == 0 ? 1000 * MSEC : 1 * MSEC);
		kthread_t *t = thread_create("tw_race", tw_wait, &w, -1);
		tw_until_asleep(&w, false);
		if (kind == 1) {
			hrtime_t at = w.tw_deadline - 100 * USEC +
			    ktest_rand(&seed) % (200 * USEC);
			while (gethrtime() < at)
				cpu_pause();
		}
		if (kind == 2) {
			while (!atomic_load(&w.tw_done) &&
			    gethrtime() < now + 2000 * MSEC)
				thread_yield();
		}
		tw_signal(&w);
		while (!atomic_load(&w.tw_done) &&
		    gethrtime() < now + 2000 * MSEC)
			thread_yield();
		if (!atomic_load(&w.tw_done)) {
			lost++;
			mutex_enter(&w.tw_m);
			cv_broadcast(&w.tw_cv);	/* unstick it for the join */
			mutex_exit(&w.tw_m);
		}
		thread_join(t);
		KT_EXPECT(w.tw_owned, "round %lu: mutex not held on return", r);
		KT_EXPECT(w.tw_rc == 1 || w.tw_rc == -1, "round %lu: rc %d", r,
		    w.tw_rc);
		KT_EXPECT(w.tw_rc != 1 || w.tw_flag_seen, "round %lu: woken "
		    "with 1 before the signal (a stray wakeup)", r);
		KT_EXPECT(w.tw_rc != -1 || w.tw_woke >= w.tw_deadline,
		    "round %lu: timed out early", r);
		if (kind == 0)
			KT_EXPECT(w.tw_rc == 1, "round %lu: signalled 1 s "
			    "early, rc %d", r, w.tw_rc);
		if (kind == 2)
			KT_EXPECT(w.tw_rc == -1, "round %lu: not signalled, "
			    "rc %d", r, w.tw_rc);
		if (kind == 1 && w.tw_rc == 1)
			raced_signal++;
		if (kind == 1 && w.tw_rc == -1)
			raced_timeout++;
	}
	KT_EXPECT(lost == 0, "a waiter never came back (lost wakeup)");
	ktest_note("%lu rounds; races won by the signal %lu, by the timeout "
	    "%lu", rounds, raced_signal, raced_timeout);
}

/*
 * The two orders made exact on one CPU. Signal first: the test thread,
 * bound with the waiter to cpu0, signals with interrupts off after the
 * deadline, so the timeout's callout runs as soon as they are on again
 * and must find the waiter gone (return 1; with
 * cv_inject_timeout_double_wakeup it wakes it again and setrunqueue
 * panics). Timeout first: the callout fires while the test thread keeps
 * the CPU with preemption off, and the signal after it wakes nobody
 * (return -1). Either way the callout fired (none was cancelled).
 */
static void
same_cpu_race(bool signal_first, const char *name, struct tw *w)
{
	thread_bind(0);
	tw_init(w, 5 * MSEC);
	kthread_t *t = thread_create(name, tw_wait, w, 0);
	tw_until_asleep(w, false);
	u64 stops = READ_ONCE(cpus[0].cpu_ncallout_stop);
	u64 fired = READ_ONCE(cpus[0].cpu_ncallout);
	if (signal_first) {
		mutex_enter(&w->tw_m);
		w->tw_flag = true;
		mutex_exit(&w->tw_m);
		bool s = intr_save();
		while (gethrtime() < w->tw_deadline + 200 * USEC)
			cpu_pause();
		cv_signal(&w->tw_cv);
		intr_restore(s);	/* the timer interrupt comes now */
	} else {
		kpreempt_disable();
		while ((gethrtime() < w->tw_deadline + 200 * USEC ||
		    READ_ONCE(cpus[0].cpu_ncallout) == fired) &&
		    gethrtime() < w->tw_deadline + 2000 * MSEC)
			cpu_pause();
		cv_signal(&w->tw_cv);
		kpreempt_enable();
	}
	thread_join(t);
	thread_bind(-1);
	KT_EXPECT(READ_ONCE(cpus[0].cpu_ncallout_stop) == stops,
	    "the timeout was cancelled, not fired");
	KT_EXPECT(READ_ONCE(cpus[0].cpu_ncallout) > fired, "no callout fired");
	KT_EXPECT(w->tw_owned && w->tw_cpu_before == 0, "mutex %d, cpu %d",
	    w->tw_owned, w->tw_cpu_before);
}

KTEST(sync, timedwait_signal_then_timeout_same_cpu)
{
	struct tw w;

	if (loose_timing())
		return;
	same_cpu_race(true, "tw_sigfirst", &w);
	KT_EXPECT(w.tw_rc == 1 && w.tw_flag_seen, "rc %d flag %d, want 1 "
	    "(the signal came first)", w.tw_rc, w.tw_flag_seen);
}

KTEST(sync, timedwait_timeout_then_signal_same_cpu)
{
	struct tw w;

	if (loose_timing())
		return;
	same_cpu_race(false, "tw_tmofirst", &w);
	KT_EXPECT(w.tw_rc == -1, "rc %d, want -1 (the timeout came first)",
	    w.tw_rc);
	KT_EXPECT(w.tw_woke >= w.tw_deadline, "woke early");
}

KTEST_PANIC(sync, timedwait_double_wakeup_caught,
    "setrunqueue: tw_double already runnable")
{
	struct tw w;

	cv_inject_timeout_double_wakeup = true;
	same_cpu_race(true, "tw_double", &w);
	cv_inject_timeout_double_wakeup = false;
}

/*
 * A waiter that sleeps on cpu0 (its callout is on cpu0's list) and runs
 * again on another CPU: a hog keeps cpu0 with preemption off, so the woken
 * waiter waits on cpu0's run queue until an idle CPU steals it (cpu1, or
 * with more than two CPUs whichever idle one looks first). Signalled: cpu1
 * cancels the callout on cpu0's list. Timed out: the callout fired on
 * cpu0, the thread returns -1 on cpu1.
 */
struct hog {
	volatile int running, release;
};

static void
hog(void *arg)
{
	struct hog *h = arg;
	hrtime_t limit = gethrtime() + 5000 * MSEC;

	kpreempt_disable();
	atomic_store(&h->running, 1);
	while (!atomic_load(&h->release) && gethrtime() < limit)
		cpu_pause();
	kpreempt_enable();
}

static void
migrated_wait(bool signal, struct tw *w)
{
	struct hog h = { 0, 0 };

	thread_bind(1);
	tw_init(w, (signal ? 10000 : 50) * MSEC);
	w->tw_unbind = true;
	kthread_t *t = thread_create("tw_migrate", tw_wait, w, 0);
	tw_until_asleep(w, true);
	kthread_t *ht = thread_create("tw_hog", hog, &h, 0);
	while (!atomic_load(&h.running))
		cpu_pause();
	u64 stops = READ_ONCE(cpus[0].cpu_ncallout_stop);
	if (signal)
		tw_signal(w);
	thread_join(t);			/* an idle CPU steals it */
	atomic_store(&h.release, 1);
	thread_join(ht);
	thread_bind(-1);
	KT_EXPECT(w->tw_cpu_before == 0 && w->tw_cpu_after != 0, "slept on "
	    "cpu%d, woke on cpu%d, want 0 and another", w->tw_cpu_before,
	    w->tw_cpu_after);
	KT_EXPECT(w->tw_nmig_after > w->tw_nmig_before, "not migrated");
	u64 d = READ_ONCE(cpus[0].cpu_ncallout_stop) - stops;
	KT_EXPECT(d == (signal ? 1 : 0), "%lu callouts cancelled on cpu0, "
	    "want %d", d, signal ? 1 : 0);
	KT_EXPECT(w->tw_owned, "mutex not held");
}

KTEST_MIN(sync, timedwait_migrated_signalled, 2)
{
	struct tw w;

	migrated_wait(true, &w);
	KT_EXPECT(w.tw_rc == 1 && w.tw_flag_seen, "rc %d, want 1", w.tw_rc);
}

KTEST_MIN(sync, timedwait_migrated_timeout, 2)
{
	struct tw w;

	migrated_wait(false, &w);
	KT_EXPECT(w.tw_rc == -1, "rc %d, want -1", w.tw_rc);
	KT_EXPECT(w.tw_woke >= w.tw_deadline, "woke early");
}
