/*
 * ctx/legacy_guest_fpu: why restorectx must walk oldest first.
 *
 * A guest-like ctxop, stacked over the thread's FPU ctxop the way a vCPU's
 * is, keeps "guest" FPU state loaded while the thread is inside its window:
 * on save it stores the guest registers and puts the host's back (so the
 * older FPU ctxop saves host state); on restore it stores the host's and
 * loads the guest's. With restore oldest first the guest state survives
 * every switch. With ctx_legacy_restore=1 (newest first, illumos before
 * 12477) the FPU ctxop runs last and overwrites the guest registers with
 * the host's: the thread's own pattern check must see it.
 */
#include "ktest.h"
#include "fpu_pattern.h"
#include "../kern/ctx/ctxop.h"
#include "../kern/fpu.h"
#include "../kern/thread.h"
#include "../kern/cpu.h"
#include "../kern/trace.h"

#define	HOST_SEED	0x1111222233334444UL
#define	GUEST_SEED	0x5555666677778888UL
#define	RIVAL_SEED	0x9999aaaabbbbccccUL

struct guestfpu {
	fpu_area_t guest;
	fpu_area_t host;
	bool in_window;		/* owner thread, preemption disabled */
};

static void
guest_ctx_save(void *arg)
{
	struct guestfpu *g = arg;

	if (!g->in_window)
		return;
	fpu_save(&g->guest);
	fpu_restore(&g->host);
}

static void
guest_ctx_restore(void *arg)
{
	struct guestfpu *g = arg;

	if (!g->in_window)
		return;
	fpu_save(&g->host);
	fpu_restore(&g->guest);
}

static const struct ctxop_template guest_tpl = {
	.ct_rev = CTXOP_TPL_REV,
	.ct_save = guest_ctx_save,
	.ct_restore = guest_ctx_restore,
};

/* Another FPU thread on the same CPU, with its own pattern. */
static void
rival(void *arg)
{
	volatile bool *stop = arg;

	fpu_thread_enable();
	fpu_pattern_load(RIVAL_SEED);
	while (!READ_ONCE(*stop))
		thread_yield();
}

KTEST(ctx, legacy_guest_fpu)
{
	struct guestfpu g;
	volatile bool stop = false;
	char why[120];
	u64 rounds = ktest_scale(2000), corrupt = 0, host_bad = 0;

	thread_bind(0);
	fpu_thread_enable();
	fpu_pattern_load(HOST_SEED);
	fpu_area_init(&g.guest);
	fpu_area_init(&g.host);
	fpu_pattern_make(&g.guest, GUEST_SEED);
	g.in_window = false;
	struct ctxop *op = ctxop_allocate(&guest_tpl, &g);
	ctxop_attach(curthread, op);		/* newer than the FPU ctxop */
	kthread_t *r = thread_create("rival", rival, (void *)&stop, 0);

	trace_reset();
	trace_on = true;
	kpreempt_disable();			/* enter the guest window */
	fpu_save(&g.host);
	fpu_restore(&g.guest);
	g.in_window = true;
	kpreempt_enable();
	for (u64 i = 0; i < rounds; i++) {
		if (i == 8)
			trace_on = false;	/* a few switches are enough */
		thread_yield();
		if (fpu_pattern_check(GUEST_SEED, why, sizeof (why)) != 0) {
			if (corrupt++ == 0)
				ktest_note("guest FPU corrupted after switch "
				    "%lu: %s", i, why);
		}
	}
	kpreempt_disable();			/* leave the window */
	g.in_window = false;
	fpu_save(&g.guest);
	fpu_restore(&g.host);
	kpreempt_enable();
	trace_on = false;
	if (fpu_pattern_check(HOST_SEED, why, sizeof (why)) != 0) {
		host_bad++;
		ktest_note("host FPU corrupted: %s", why);
	}
	trace_dump();

	stop = true;
	thread_join(r);
	ctxop_detach(curthread, op);
	ctxop_free(op);
	fpu_area_fini(&g.guest);
	fpu_area_fini(&g.host);
	thread_bind(-1);

	ktest_note("%lu switches in the guest window: %lu guest corruptions, "
	    "host %s (restore order: %s)", rounds, corrupt,
	    host_bad ? "corrupted" : "intact",
	    ctx_legacy_restore ? "legacy newest-first" : "oldest-first");
	if (ctx_legacy_restore) {
		KT_EXPECT(corrupt > 0,
		    "the legacy restore order went unnoticed");
	} else {
		KT_EXPECT(corrupt == 0, "%lu guest FPU corruptions", corrupt);
		KT_EXPECT(host_bad == 0, "host FPU state corrupted");
	}
}
