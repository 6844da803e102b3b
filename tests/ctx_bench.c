/*
 * Benchmarks of the ctxops paths (cycles, rdtsc). Numbers from emulators
 * are only comparable with each other: see docs/benchmarks.md.
 */
#include "kbench.h"
#include "../kern/ctx/ctxop.h"
#include "../kern/thread.h"
#include "../kern/cpu.h"
#include "../kern/x86.h"

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
