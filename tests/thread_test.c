/*
 * Suite "thread": creation and join, preemption by the clock, migration
 * between CPUs, kpreempt_disable, detached threads.
 */
#include "ktest.h"
#include "../kern/thread.h"
#include "../kern/cpu.h"
#include "../kern/x86.h"
#include "../kern/kmem.h"

static void
bump(void *arg)
{
	atomic_inc_64((u64 *)arg);
}

KTEST(thread, create_join)
{
	enum { N = 64 };
	kthread_t *t[N];
	u64 count = 0;

	for (int i = 0; i < N; i++)
		t[i] = thread_create("bump", bump, &count, -1);
	for (int i = 0; i < N; i++)
		thread_join(t[i]);
	KT_EXPECT(count == N, "%lu of %d threads ran", count, N);
}

/* A thread that never blocks nor yields: only preemption takes it off. */
struct spinner {
	volatile bool *stop;
	u64 iterations;
	u64 preemptions;
	u64 migrations;
	u32 cpus_seen;		/* bit per CPU it was seen on */
	int unbind_after;	/* unbind after this many iterations, or -1 */
};

static void
spin(void *arg)
{
	struct spinner *s = arg;

	while (!READ_ONCE(*s->stop)) {
		s->iterations++;
		s->cpus_seen |= 1U << CPU->cpu_id;
		if ((int)s->iterations == s->unbind_after)
			thread_bind(-1);
		cpu_pause();
	}
	s->preemptions = curthread->t_npreempt;
	s->migrations = curthread->t_nmigrate;
}

KTEST(thread, preemption)
{
	int n = 2 * ncpus + 1;
	struct spinner s[2 * NCPU + 1];
	kthread_t *t[2 * NCPU + 1];
	volatile bool stop = false;
	u64 pre = 0;

	memset(s, 0, sizeof (s));
	for (int i = 0; i < n; i++) {
		s[i].stop = &stop;
		s[i].unbind_after = -1;
		t[i] = thread_create("spinner", spin, &s[i], -1);
	}
	delay(ktest_scale(50) < 20 ? 20 : ktest_scale(50));
	stop = true;
	for (int i = 0; i < n; i++) {
		thread_join(t[i]);
		pre += s[i].preemptions;
		KT_EXPECT(s[i].iterations > 0, "spinner %d never ran", i);
	}
	ktest_note("%d spinners on %d CPUs: %lu preemptions", n, ncpus, pre);
	KT_EXPECT(pre >= (u64)n, "only %lu preemptions", pre);
}

static void
hop(void *arg)
{
	u64 *bad = arg;
	int rounds = (int)ktest_scale(200);

	for (int r = 0; r < rounds; r++) {
		int want = r % ncpus;
		thread_bind(want);
		if (CPU->cpu_id != want)
			(*bad)++;
	}
	thread_bind(-1);
	bad[1] = curthread->t_nmigrate;
}

KTEST_MIN(thread, migration_by_bind, 2)
{
	u64 res[2] = { 0, 0 };
	kthread_t *t = thread_create("hopper", hop, res, -1);

	thread_join(t);
	ktest_note("hopper migrated %lu times", res[1]);
	KT_EXPECT(res[0] == 0, "%lu binds left the thread on another CPU",
	    res[0]);
	KT_EXPECT(res[1] >= ktest_scale(200) - 1, "only %lu migrations",
	    res[1]);
}

/*
 * Start spinners bound to CPU 0 that unbind themselves: the other CPUs,
 * idle, must steal them.
 */
KTEST_MIN(thread, migration_by_steal, 2)
{
	int n = 2 * ncpus;
	struct spinner s[2 * NCPU];
	kthread_t *t[2 * NCPU];
	volatile bool stop = false;
	u64 mig = 0;
	u32 seen = 0;

	memset(s, 0, sizeof (s));
	for (int i = 0; i < n; i++) {
		s[i].stop = &stop;
		s[i].unbind_after = 1;
		t[i] = thread_create("stealme", spin, &s[i], 0);
	}
	delay(20);
	stop = true;
	for (int i = 0; i < n; i++) {
		thread_join(t[i]);
		mig += s[i].migrations;
		seen |= s[i].cpus_seen;
	}
	ktest_note("%d threads started on cpu0: %lu migrations, CPU mask 0x%x",
	    n, mig, seen);
	KT_EXPECT(mig > 0, "no thread migrated");
	KT_EXPECT((seen & ~1U) != 0, "no thread ran off cpu0");
}

static void
compete(void *arg)
{
	volatile bool *stop = arg;

	while (!READ_ONCE(*stop))
		cpu_pause();
}

/* Wait until this CPU's clock has ticked n times (preemption is off). */
static void
spin_ticks(int n)
{
	u64 t0 = READ_ONCE(CPU->cpu_ticks);

	while (READ_ONCE(CPU->cpu_ticks) < t0 + (u64)n)
		cpu_pause();
}

KTEST(thread, kpreempt_disable_defers)
{
	volatile bool stop = false;
	kthread_t *self = curthread;

	thread_bind(0);
	kthread_t *rival = thread_create("rival", compete, (void *)&stop, 0);
	kpreempt_disable();
	u64 sw = self->t_nswitch, pre = self->t_npreempt;
	int cpu = CPU->cpu_id;
	spin_ticks(3);
	kpreempt_disable();		/* nested */
	spin_ticks(2);
	kpreempt_enable();
	spin_ticks(2);
	KT_EXPECT(self->t_nswitch == sw && CPU->cpu_id == cpu,
	    "switched while preemption was disabled");
	KT_EXPECT(CPU->cpu_runrun != 0, "no preemption was requested");
	kpreempt_enable();		/* the deferred preemption happens here */
	KT_EXPECT(self->t_npreempt > pre,
	    "deferred preemption not taken at the final enable");
	stop = true;
	thread_join(rival);
	thread_bind(-1);
}

static void
detached_fn(void *arg)
{
	atomic_inc_64((u64 *)arg);
}

KTEST(thread, detached_reaped)
{
	enum { N = 20 };
	u64 count = 0;
	size_t base = thread_count();

	for (int i = 0; i < N; i++)
		thread_create_detached("detached", detached_fn, &count, -1);
	for (int i = 0; i < 500 && (count < N || thread_count() > base); i++)
		delay(1);
	KT_EXPECT(count == N, "%lu of %d ran", count, N);
	KT_EXPECT(thread_count() == base, "%lu threads not reaped",
	    thread_count() - base);
}

KTEST(thread, delay_sleeps)
{
	u64 l0 = lbolt;

	delay(5);
	KT_EXPECT(lbolt >= l0 + 5, "woke after %lu ticks", lbolt - l0);
}
