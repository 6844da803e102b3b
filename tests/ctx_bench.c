/*
 * Benchmarks of the ctxops paths (cycles, rdtsc). Numbers from emulators
 * are only comparable with each other: see docs/benchmarks.md.
 */
#include "kbench.h"
#include "../kern/ctx/ctxop.h"
#include "../kern/thread.h"
#include "../kern/cpu.h"
#include "../kern/x86.h"
#include "../kern/fpu.h"

enum { REPEATS = 11, LOOPS = 2000 };

static void
nop_hook(void *a __unused)
{
}

static const struct ctxop_template nop_tpl = {
	.ct_rev = CTXOP_TPL_REV, .ct_save = nop_hook, .ct_restore = nop_hook,
};

KBENCH(ctx_attach_detach)
{
	struct ctxop *op = ctxop_allocate(&nop_tpl, NULL);

	for (int r = 0; r < REPEATS; r++) {
		u64 t0 = rdtsc();
		for (int i = 0; i < LOOPS; i++) {
			ctxop_attach(curthread, op);
			ctxop_detach(curthread, op);
		}
		kbench_report("ctx_attach_detach", (rdtsc() - t0) / LOOPS,
		    "cycles");
	}
	ctxop_free(op);
}

/*
 * The same on a thread that already has a node, as vm_run's attach and
 * detach on a thread with an FPU ctxop: the node goes on and comes off
 * the front of a ring rather than making and ending one.
 */
KBENCH(ctx_attach_detach_newer)
{
	struct ctxop *older = ctxop_allocate(&nop_tpl, NULL);
	struct ctxop *op = ctxop_allocate(&nop_tpl, NULL);

	ctxop_attach(curthread, older);
	for (int r = 0; r < REPEATS; r++) {
		u64 t0 = rdtsc();
		for (int i = 0; i < LOOPS; i++) {
			ctxop_attach(curthread, op);
			ctxop_detach(curthread, op);
		}
		kbench_report("ctx_attach_detach_newer", (rdtsc() - t0) / LOOPS,
		    "cycles");
	}
	ctxop_detach(curthread, older);
	ctxop_free(op);
	ctxop_free(older);
}

static void
save_restore(int nodes, const char *name)
{
	struct ctxop *ops[16];
	kthread_t *self = curthread;

	for (int i = 0; i < nodes; i++) {
		ops[i] = ctxop_allocate(&nop_tpl, NULL);
		ctxop_attach(self, ops[i]);
	}
	for (int r = 0; r < REPEATS; r++) {
		bool s = intr_save();		/* as in the switch path */
		u64 t0 = rdtsc();
		for (int i = 0; i < LOOPS; i++) {
			savectx(self);
			restorectx(self);
		}
		u64 d = rdtsc() - t0;
		intr_restore(s);
		kbench_report(name, d / LOOPS, "cycles");
	}
	for (int i = 0; i < nodes; i++) {
		ctxop_detach(self, ops[i]);
		ctxop_free(ops[i]);
	}
}

KBENCH(ctx_savectx_restorectx_1)
{
	save_restore(1, "ctx_savectx_restorectx_1");
}

KBENCH(ctx_savectx_restorectx_4)
{
	save_restore(4, "ctx_savectx_restorectx_4");
}

KBENCH(ctx_savectx_restorectx_16)
{
	save_restore(16, "ctx_savectx_restorectx_16");
}

/*
 * A thread switch: two threads bound to one CPU hand it back and forth
 * with thread_yield. One yield = two switches (there and back).
 */
struct pingpong {
	volatile bool stop;
	bool fpu;
};

static void
pong_thread(void *arg)
{
	struct pingpong *p = arg;

	if (p->fpu)
		fpu_thread_enable();
	while (!READ_ONCE(p->stop))
		thread_yield();
}

static void
switch_bench(bool fpu, const char *name)
{
	struct pingpong p = { false, fpu };

	thread_bind(0);
	if (fpu)
		fpu_thread_enable();
	kthread_t *t = thread_create("pong", pong_thread, &p, 0);
	thread_yield();
	for (int r = 0; r < REPEATS; r++) {
		u64 t0 = rdtsc();
		for (int i = 0; i < LOOPS; i++)
			thread_yield();
		kbench_report(name, (rdtsc() - t0) / (2 * LOOPS), "cycles");
	}
	p.stop = true;
	thread_join(t);
	thread_bind(-1);
}

KBENCH(thread_switch)
{
	switch_bench(false, "thread_switch");
}

KBENCH(thread_switch_fpu)
{
	switch_bench(true, "thread_switch_fpu");
}
