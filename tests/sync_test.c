/*
 * Suite "sync": mutual exclusion under contention, and a control run
 * without the lock that shows the same test catches lost updates.
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

struct pingpong {
	kmutex_t m;
	kcondvar_t cv;
	int turn;
	u64 rounds;
	int me;
};

static void
pong(void *arg)
{
	struct pingpong *p = arg;

	mutex_enter(&p->m);
	for (u64 i = 0; i < p->rounds; i++) {
		while (p->turn != 1)
			cv_wait(&p->cv, &p->m);
		p->turn = 0;
		cv_broadcast(&p->cv);
	}
	mutex_exit(&p->m);
}

KTEST(sync, cv_pingpong)
{
	struct pingpong p;

	mutex_init(&p.m, "pingpong");
	cv_init(&p.cv, "pingpong");
	p.turn = 0;
	p.rounds = ktest_scale(5000);
	kthread_t *t = thread_create("pong", pong, &p, -1);
	mutex_enter(&p.m);
	for (u64 i = 0; i < p.rounds; i++) {
		while (p.turn != 0)
			cv_wait(&p.cv, &p.m);
		p.turn = 1;
		cv_broadcast(&p.cv);
	}
	while (p.turn != 0)
		cv_wait(&p.cv, &p.m);
	mutex_exit(&p.m);
	thread_join(t);
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
