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
