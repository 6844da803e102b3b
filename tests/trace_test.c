/*
 * Suite "trace": the trace rings. A full ring drops new records and counts
 * them, and the dump says how many were dropped.
 */
#include "ktest.h"
#include "../kern/trace.h"
#include "../kern/thread.h"
#include "../kern/cpu.h"

KTEST(trace, full_ring_counts_drops)
{
	enum { LIMIT = 16, WRITES = 40 };

	thread_bind(0);
	trace_reset();
	trace_set_limit(LIMIT);
	trace_on = true;
	for (int i = 0; i < WRITES; i++)
		trace_rec(TR_THREAD_CREATE, (u64)i, 0);
	trace_on = false;
	u64 dropped = trace_dropped();
	KT_EXPECT(dropped >= WRITES - LIMIT,
	    "%lu dropped, at least %d expected", dropped, WRITES - LIMIT);
	ktest_note("ring limit %d, %d writes on cpu0: %lu dropped", LIMIT,
	    WRITES, dropped);
	trace_dump();		/* prints dropped= in its first and last line */
	KT_EXPECT(trace_dropped() == 0, "dump did not reset the counts");
	trace_set_limit(0);
	thread_bind(-1);
}

KTEST(trace, probes_switch_and_migrate)
{
	kthread_t *self = curthread;

	if (ncpus < 2) {
		ktest_skip("needs 2 CPUs to migrate");
		return;
	}
	trace_reset();
	trace_on = true;
	thread_bind(0);
	thread_bind(1);
	thread_bind(0);
	trace_on = false;
	thread_bind(-1);
	u64 mig = trace_count(TR_MIGRATE), sw = trace_count(TR_SWTCH);
	ktest_note("thread %p moved cpu0 -> cpu1 -> cpu0 with tracing on: %lu "
	    "migrate and %lu switch records", (void *)self, mig, sw);
	KT_EXPECT(mig >= 2, "%lu migrate records for 2 moves", mig);
	KT_EXPECT(sw >= 2, "%lu switch records", sw);
	trace_dump();
}
