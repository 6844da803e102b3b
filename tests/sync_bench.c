/*
 * Timed-wait wake-up latency: how long after its deadline a thread whose
 * cv_timedwait_hires timed out is running again (gethrtime() right after
 * the call, which includes taking the uncontended mutex back). Each sample
 * is the median of WAITS waits; ns of the platform's clock (on Bochs,
 * emulated time: docs/benchmarks.md).
 */
#include "kbench.h"
#include "../kern/sync.h"
#include "../kern/thread.h"
#include "../kern/cpu.h"
#include "../kern/x86.h"
#include "../kern/apic.h"
#include "../kern/callout.h"

enum { REPEATS = 11, WAITS = 21, PERIODS = 101 };

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

static u64
xorshift(u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (*s);
}

/*
 * n waits; periodic: deadlines 1 ms apart (a guest's 1 kHz PIT), else each
 * 0.2-1.2 ms after the previous wake. Median lateness in ns.
 */
static u64
median_late(int n, bool periodic, u64 *seed)
{
	kmutex_t m;
	kcondvar_t cv;
	u64 late[PERIODS];
	hrtime_t deadline = gethrtime();

	mutex_init(&m, "bench_tw");
	cv_init(&cv, "bench_tw");
	mutex_enter(&m);
	for (int i = 0; i < n; i++) {
		if (periodic)
			deadline += 1000000;
		else
			deadline = gethrtime() + 200000 + xorshift(seed) %
			    1000000;
		(void) cv_timedwait_hires(&cv, &m, deadline);
		hrtime_t now = gethrtime();
		late[i] = now > deadline ? now - deadline : 0;
	}
	mutex_exit(&m);
	sort_u64(late, n);
	return (late[n / 2]);
}

static void
late_bench(const char *name, bool periodic)
{
	u64 seed = gethrtime() | 1;

	for (int r = 0; r < REPEATS; r++)
		kbench_report(name, median_late(periodic ? PERIODS : WAITS,
		    periodic, &seed), "ns");
}

/* The waiter alone on an otherwise idle CPU. */
KBENCH(timedwait_late_idle)
{
	thread_bind(0);
	late_bench("timedwait_late_idle", false);
	thread_bind(-1);
}

/* Deadlines every 1 ms, as a vCPU thread halted under a 1 kHz PIT. */
KBENCH(timedwait_late_1khz)
{
	thread_bind(0);
	late_bench("timedwait_late_1khz", true);
	thread_bind(-1);
}

static void
spin_until(void *arg)
{
	volatile int *stop = arg;

	while (!atomic_load(stop))
		cpu_pause();
}

/* A CPU-bound thread on the same CPU: the wakeup has to preempt it. */
KBENCH(timedwait_late_busy)
{
	volatile int stop = 0;

	thread_bind(0);
	kthread_t *t = thread_create("bench_hog", spin_until, (void *)&stop,
	    0);
	late_bench("timedwait_late_busy", false);
	atomic_store(&stop, 1);
	thread_join(t);
	thread_bind(-1);
}

/* For comparison: timeouts only at clock ticks (the periodic design). */
KBENCH(timedwait_late_tickonly)
{
	thread_bind(0);
	callout_inject_tick_only = true;
	late_bench("timedwait_late_tickonly", false);
	callout_inject_tick_only = false;
	thread_bind(-1);
}

/*
 * The interrupt's share: a bare callout's lateness (deadline to its
 * function running in the timer interrupt), while the thread spins.
 */
struct late_rec {
	hrtime_t when;
	volatile hrtime_t late;
	volatile int done;
};

static void
late_record(void *arg)
{
	struct late_rec *r = arg;
	hrtime_t now = gethrtime();

	r->late = now > r->when ? now - r->when : 0;
	atomic_store(&r->done, 1);
}

KBENCH(timedwait_late_callout_only)
{
	u64 seed = gethrtime() | 1, late[WAITS];
	callout_t co;

	thread_bind(0);
	for (int r = 0; r < REPEATS; r++) {
		for (int i = 0; i < WAITS; i++) {
			struct late_rec rec = { 0, 0, 0 };
			rec.when = gethrtime() + 200000 + xorshift(&seed) %
			    1000000;
			callout_init(&co);
			callout_arm(&co, rec.when, late_record, &rec);
			while (!atomic_load(&rec.done))
				cpu_pause();
			(void) callout_stop(&co);
			late[i] = rec.late;
		}
		sort_u64(late, WAITS);
		kbench_report("timedwait_late_callout_only", late[WAITS / 2],
		    "ns");
	}
	thread_bind(-1);
}
