/*
 * Suite "ctx": the ctxops contract (../shared/spec/ctxops.md).
 * Order (save newest first, restore the mirror), list edits under heavy
 * preemption, the lifecycle hooks, install/remove/detach, and the misuse
 * assertions (KTEST_PANIC: each must panic with the named message).
 */
#include "ktest.h"
#include "../kern/ctx/ctxop.h"
#include "../kern/thread.h"
#include "../kern/cpu.h"
#include "../kern/trace.h"
#include "../kern/x86.h"
#include "../kern/kmem.h"
#include "../kern/panic.h"
#include "../kern/apic.h"
#include "../kern/callout.h"

/* A recording ctxop: its hooks append (index | S or R) to a log. */
#define	LOG_SAVE	0x100
#define	LOG_RESTORE	0x200

struct rec_log {
	int n;
	u16 ent[512];
};

struct rec_arg {
	struct rec_log *log;
	int idx;
};

static void
rec_save(void *a)
{
	struct rec_arg *r = a;

	if (r->log->n < (int)ARRAY_SIZE(r->log->ent))
		r->log->ent[r->log->n++] = (u16)(r->idx | LOG_SAVE);
}

static void
rec_restore(void *a)
{
	struct rec_arg *r = a;

	if (r->log->n < (int)ARRAY_SIZE(r->log->ent))
		r->log->ent[r->log->n++] = (u16)(r->idx | LOG_RESTORE);
}

static const struct ctxop_template rec_tpl = {
	.ct_rev = CTXOP_TPL_REV,
	.ct_save = rec_save,
	.ct_restore = rec_restore,
};

/* Spins on a CPU, yielding, so the thread under test really switches. */
static void
yielder(void *arg)
{
	volatile bool *stop = arg;

	while (!READ_ONCE(*stop))
		thread_yield();
}

KTEST(ctx, stack_order_16)
{
	enum { N = 16 };
	struct rec_log *log = kmem_zalloc(sizeof (*log), KM_SLEEP);
	struct rec_arg args[N];
	struct ctxop *ops[N];
	volatile bool stop = false;
	kthread_t *self = curthread;

	thread_bind(0);
	kthread_t *rival = thread_create("yielder", yielder, (void *)&stop, 0);
	for (int i = 0; i < N; i++) {
		args[i].log = log;
		args[i].idx = i;
		ops[i] = ctxop_allocate(&rec_tpl, &args[i]);
		ctxop_attach(self, ops[i]);	/* i = N-1 is the newest */
	}
	KT_EXPECT(ctxop_ring_check(self) == N, "ring holds %d nodes",
	    ctxop_ring_check(self));
	trace_reset();
	trace_on = true;
	u64 sw = self->t_nswitch;
	log->n = 0;
	for (int k = 0; k < 3; k++)
		thread_yield();
	trace_on = false;
	int n = log->n;
	ktest_note("%lu switches, %d hook calls logged",
	    self->t_nswitch - sw, n);
	KT_EXPECT(n > 0 && n % (2 * N) == 0, "%d hook calls: not whole "
	    "save/restore rounds", n);
	for (int base = 0; base + 2 * N <= n; base += 2 * N) {
		for (int i = 0; i < N; i++) {
			u16 s = log->ent[base + i];
			u16 r = log->ent[base + N + i];
			KT_EXPECT(s == (LOG_SAVE | (N - 1 - i)),
			    "save %d of round %d ran node %d (want %d)", i,
			    base / (2 * N), s & 0xff, N - 1 - i);
			KT_EXPECT(r == (LOG_RESTORE | i),
			    "restore %d of round %d ran node %d (want %d)", i,
			    base / (2 * N), r & 0xff, i);
		}
	}
	for (int i = 0; i < N; i++)
		KT_EXPECT(ops[i]->save_ts != 0 &&
		    ops[i]->restore_ts >= ops[i]->save_ts,
		    "node %d timestamps save %lu restore %lu", i,
		    ops[i]->save_ts, ops[i]->restore_ts);
	ctxop_print_chain(self);
	trace_dump();
	for (int i = 0; i < N; i++) {
		ctxop_detach(self, ops[i]);
		ctxop_free(ops[i]);
	}
	KT_EXPECT(self->t_ctx == NULL, "list not empty after detaching all");
	stop = true;
	thread_join(rival);
	thread_bind(-1);
	kmem_free(log, sizeof (*log));
}

/* Counting hooks for the storm. */
struct storm {
	u64 target;		/* attach/detach pairs to do */
	u64 pairs;
	u64 saves, restores;	/* hook calls seen on this thread */
	u64 preemptions, migrations, switches;
	u64 seed;
	bool migrate;
};

/* Nodes made only to be linked (arg NULL) count nothing: the hooks
 * still run if their thread is switched while they are attached. */
static void
count_save(void *a)
{
	if (a != NULL)
		((struct storm *)a)->saves++;
}

static void
count_restore(void *a)
{
	if (a != NULL)
		((struct storm *)a)->restores++;
}

static const struct ctxop_template count_tpl = {
	.ct_rev = CTXOP_TPL_REV,
	.ct_save = count_save,
	.ct_restore = count_restore,
};

/*
 * One thread of the storm: a counting base node, and four nodes it
 * attaches and detaches at random, while the clock preempts it and
 * (when asked) it hops between CPUs. ctx_validate checks the whole ring
 * both ways at every savectx, i.e. at every preemption.
 */
static void
storm_thread(void *arg)
{
	struct storm *s = arg;
	kthread_t *self = curthread;
	struct ctxop *ops[4];
	bool on[4] = { false, false, false, false };
	u64 sw = self->t_nswitch, pre = self->t_npreempt;
	u64 mig = self->t_nmigrate;

	ctxop_install(self, &count_tpl, s);
	for (int i = 0; i < 4; i++)
		ops[i] = ctxop_allocate(&count_tpl, s);
	while (s->pairs < s->target) {
		int i = (int)(ktest_rand(&s->seed) % 4);
		if (on[i]) {
			ctxop_detach(self, ops[i]);
			s->pairs++;
		} else {
			ctxop_attach(self, ops[i]);
		}
		on[i] = !on[i];
		if (s->migrate && (s->pairs & 0x3fff) == 0 && on[i]) {
			thread_bind((int)(ktest_rand(&s->seed) % (u64)ncpus));
			thread_bind(-1);
		}
	}
	for (int i = 0; i < 4; i++) {
		if (on[i])
			ctxop_detach(self, ops[i]);
		ctxop_free(ops[i]);
	}
	VERIFY(ctxop_remove(self, &count_tpl, s) == 1, "storm: base node");
	s->switches = self->t_nswitch - sw;
	s->preemptions = self->t_npreempt - pre;
	s->migrations = self->t_nmigrate - mig;
}

static void
run_storm(int nthreads, u64 total, bool migrate, int cpu, struct storm *sum)
{
	struct storm s[4 * NCPU];
	kthread_t *t[4 * NCPU];

	memset(s, 0, sizeof (s));
	memset(sum, 0, sizeof (*sum));
	for (int i = 0; i < nthreads; i++) {
		s[i].target = total / (u64)nthreads;
		s[i].seed = 0x9e3779b97f4a7c15UL * (u64)(i + 1);
		s[i].migrate = migrate;
		t[i] = thread_create("storm", storm_thread, &s[i], cpu);
	}
	for (int i = 0; i < nthreads; i++) {
		thread_join(t[i]);
		sum->pairs += s[i].pairs;
		sum->saves += s[i].saves;
		sum->restores += s[i].restores;
		sum->preemptions += s[i].preemptions;
		sum->migrations += s[i].migrations;
		sum->switches += s[i].switches;
	}
}

KTEST_MIN(ctx, attach_detach_storm, 2)
{
	struct storm sum;
	bool was = ctx_validate;
	int n = 2 * ncpus;

	ctx_validate = true;
	run_storm(n, ktest_scale(1000000), true, -1, &sum);
	ctx_validate = was;
	ktest_note("%d threads on %d CPUs at hz=%u: %lu attach/detach pairs, "
	    "%lu switches (%lu preemptions, %lu migrations), %lu saves and "
	    "%lu restores of counting hooks", n, ncpus, hz, sum.pairs,
	    sum.switches, sum.preemptions, sum.migrations, sum.saves,
	    sum.restores);
	KT_EXPECT(sum.pairs >= ktest_scale(1000000) - (u64)n,
	    "only %lu pairs", sum.pairs);
	KT_EXPECT(sum.preemptions > 0, "no preemption during the storm");
	KT_EXPECT(sum.migrations > 0, "no migration during the storm");
	KT_EXPECT(sum.saves > 0 && sum.restores > 0,
	    "hooks did not run during the storm");
}

/*
 * The storm with attach's protection taken away (ctx_inject_unsafe_edit:
 * no kpreempt_disable, and a window in the middle of the link): the ring
 * check at savectx must catch the half-linked ring.
 */
KTEST_PANIC(ctx, storm_unsafe_edit_caught, "ctxop ring broken")
{
	struct storm sum;

	ctx_validate = true;
	ctx_inject_unsafe_edit = true;
	run_storm(2, ktest_scale(1000000), false, 0, &sum);
}

/* Lifecycle hooks: each fires once, at its point. */
struct life {
	u64 forks, lwps, exits, frees, isexec;
	kthread_t *fork_child, *lwp_new;
	struct ctxop *child_op;		/* preallocated for the fork hook */
	struct life *child;		/* counts of the node given to the child */
};

static void
life_fork(void *a, kthread_t *child)
{
	struct life *l = a;

	l->forks++;
	l->fork_child = child;
	ctxop_attach(child, l->child_op);	/* child cannot run yet */
}

static void
life_lwp(void *a, kthread_t *new)
{
	struct life *l = a;

	l->lwps++;
	l->lwp_new = new;
}

static void
life_exit(void *a)
{
	((struct life *)a)->exits++;
}

static void
life_free(void *a, int isexec)
{
	struct life *l = a;

	l->frees++;
	l->isexec += (u64)isexec;
}

static const struct ctxop_template life_tpl = {
	.ct_rev = CTXOP_TPL_REV,
	.ct_fork = life_fork,
	.ct_lwp_create = life_lwp,
	.ct_exit = life_exit,
	.ct_free = life_free,
};

static void
noop(void *arg __unused)
{
}

static void
life_parent(void *arg)
{
	struct life *l = arg;

	ctxop_install(curthread, &life_tpl, l);
	l->child_op = ctxop_allocate(&life_tpl, l->child);
	kthread_t *sib = thread_create("sibling", noop, NULL, -1);
	kthread_t *kid = thread_fork("forked", noop, NULL, -1);
	KT_EXPECT(l->lwps == 1 && l->lwp_new == sib,
	    "lwp_create hook: %lu calls", l->lwps);
	KT_EXPECT(l->forks == 1 && l->fork_child == kid,
	    "fork hook: %lu calls", l->forks);
	thread_join(sib);
	thread_join(kid);
	KT_EXPECT(l->child->exits == 1 && l->child->frees == 1,
	    "the forked child's node: %lu exits, %lu frees", l->child->exits,
	    l->child->frees);
	KT_EXPECT(l->exits == 0 && l->frees == 0, "parent hooks fired early");
}

KTEST(ctx, lifecycle_hooks_once)
{
	struct life child, parent;

	memset(&child, 0, sizeof (child));
	memset(&parent, 0, sizeof (parent));
	parent.child = &child;
	kthread_t *p = thread_create("life", life_parent, &parent, -1);
	thread_join(p);
	KT_EXPECT(parent.forks == 1 && parent.lwps == 1, "fork %lu lwp %lu",
	    parent.forks, parent.lwps);
	KT_EXPECT(parent.exits == 1, "exit hook ran %lu times", parent.exits);
	KT_EXPECT(parent.frees == 1 && parent.isexec == 0,
	    "free hook ran %lu times (isexec sum %lu)", parent.frees,
	    parent.isexec);
	KT_EXPECT(child.forks == 0 && child.lwps == 0,
	    "the child's node saw fork %lu lwp %lu", child.forks, child.lwps);
}

static u64 frees_seen;

static void
free_count(void *a __unused, int isexec __unused)
{
	frees_seen++;
}

static const struct ctxop_template a_tpl = {
	.ct_rev = CTXOP_TPL_REV, .ct_save = rec_save,
	.ct_restore = rec_restore, .ct_free = free_count,
};

KTEST(ctx, install_remove_detach)
{
	struct rec_log *log = kmem_zalloc(sizeof (*log), KM_SLEEP);
	struct rec_arg args[3] = { { log, 0 }, { log, 1 }, { log, 2 } };
	kthread_t *self = curthread;

	frees_seen = 0;
	for (int i = 0; i < 3; i++)
		ctxop_install(self, &a_tpl, &args[i]);
	KT_EXPECT(ctxop_ring_check(self) == 3, "3 installed");
	KT_EXPECT(self->t_ctx->arg == &args[2] &&
	    self->t_ctx->prev->arg == &args[0], "newest/oldest wrong");
	KT_EXPECT(ctxop_remove(self, &a_tpl, &args[1]) == 1, "remove middle");
	KT_EXPECT(frees_seen == 1, "ct_free ran %lu times", frees_seen);
	KT_EXPECT(ctxop_remove(self, &a_tpl, &args[1]) == 0, "removed twice");
	KT_EXPECT(ctxop_remove(self, &rec_tpl, &args[0]) == 0,
	    "removed by another template's hooks");
	KT_EXPECT(self->t_ctx->arg == &args[2] && self->t_ctx->next->arg ==
	    &args[0] && self->t_ctx->prev->arg == &args[0], "ring after remove");

	/* Detach does not free: the node can go back on and still works. */
	struct ctxop *op = self->t_ctx;
	ctxop_detach(self, op);
	KT_EXPECT(op->next == NULL && op->prev == NULL && frees_seen == 1,
	    "detach freed or left links");
	ctxop_attach(self, op);
	volatile bool stop = false;
	thread_bind(0);
	kthread_t *rival = thread_create("yielder", yielder, (void *)&stop, 0);
	log->n = 0;
	u64 sw = self->t_nswitch;
	while (self->t_nswitch == sw)
		thread_yield();
	stop = true;
	thread_join(rival);
	thread_bind(-1);
	KT_EXPECT(log->n >= 2, "the re-attached node's hooks ran %d times",
	    log->n);
	ctxop_detach(self, op);
	ctxop_free(op);
	KT_EXPECT(frees_seen == 2, "ctxop_free ran ct_free %lu times",
	    frees_seen);
	KT_EXPECT(ctxop_remove(self, &a_tpl, &args[0]) == 1, "remove last");
	KT_EXPECT(self->t_ctx == NULL, "list not empty");
	kmem_free(log, sizeof (*log));
}

/*
 * cpu_ctx_fast, the one compare of the inline path (ctxop.h), names the
 * running thread only when nothing but that thread's own code runs: not
 * in its ctx hooks, not in an interrupt handler, and not at all with
 * ctx_debug. If it named the thread there, a hook's or a handler's edit
 * would go unchecked in the middle of whatever the thread was doing.
 */
struct fast_seen {
	kthread_t *in_save, *in_restore, *in_callout;
	volatile bool callout_ran;
};

static void
fast_save(void *a)
{
	((struct fast_seen *)a)->in_save = CPU->cpu_ctx_fast;
}

static void
fast_restore(void *a)
{
	((struct fast_seen *)a)->in_restore = CPU->cpu_ctx_fast;
}

static const struct ctxop_template fast_tpl = {
	.ct_rev = CTXOP_TPL_REV, .ct_save = fast_save,
	.ct_restore = fast_restore,
};

static void
fast_callout(void *a)
{
	struct fast_seen *f = a;

	f->in_callout = CPU->cpu_ctx_fast;
	f->callout_ran = true;
}

/* 1 if the new thread's CPU names it, 0 if NULL, -1 if anything else. */
static void
fast_in_new_thread(void *arg)
{
	kpreempt_disable();
	kthread_t *f = CPU->cpu_ctx_fast;
	*(int *)arg = f == curthread ? 1 : f == NULL ? 0 : -1;
	kpreempt_enable();
}

KTEST(ctx, fast_path_token)
{
	struct fast_seen f = { (kthread_t *)1, (kthread_t *)1,
	    (kthread_t *)1, false };
	kthread_t *self = curthread;
	bool was = ctx_debug;
	volatile bool stop = false;

	thread_bind(0);
	kpreempt_disable();
	kthread_t *now = CPU->cpu_ctx_fast;
	kpreempt_enable();
	KT_EXPECT(now == (ctx_debug ? NULL : self), "cpu_ctx_fast %p in "
	    "the thread itself (ctx_debug=%d)", (void *)now, ctx_debug);

	struct ctxop *op = ctxop_allocate(&fast_tpl, &f);
	ctxop_attach(self, op);
	kthread_t *rival = thread_create("yielder", yielder, (void *)&stop, 0);
	u64 sw = self->t_nswitch;
	while (self->t_nswitch == sw)
		thread_yield();
	stop = true;
	thread_join(rival);
	ctxop_detach(self, op);
	ctxop_free(op);
	KT_EXPECT(f.in_save == NULL && f.in_restore == NULL,
	    "cpu_ctx_fast in the save hook %p, the restore hook %p",
	    (void *)f.in_save, (void *)f.in_restore);

	callout_t co;
	callout_init(&co);
	callout_arm(&co, gethrtime() + 1000000, fast_callout, &f);
	while (!READ_ONCE(f.callout_ran))
		cpu_pause();
	KT_EXPECT(f.in_callout == NULL, "cpu_ctx_fast %p in a callout",
	    (void *)f.in_callout);

	int seen = -2, seen_dbg = -2;
	ctx_debug = false;
	thread_join(thread_create("fast", fast_in_new_thread, &seen, 0));
	ctx_debug = true;
	thread_join(thread_create("checked", fast_in_new_thread, &seen_dbg,
	    0));
	ctx_debug = was;
	KT_EXPECT(seen == 1, "a new thread: cpu_ctx_fast %s",
	    seen == 0 ? "NULL" : "another thread");
	KT_EXPECT(seen_dbg == 0, "a new thread with ctx_debug: cpu_ctx_fast "
	    "%s", seen_dbg == 1 ? "names it" : "another thread");
	thread_bind(-1);
}

/*
 * A thread that cannot run may have several attachers at once: that is
 * the case the checked path's t_ctx_lock is for. Two CPUs attach a node
 * each to one stopped thread at the same moment, many times over; the
 * ring must hold both every time.
 */
struct race {
	kthread_t *target;
	struct ctxop *op;
	volatile int *ready;		/* both racers spin until it is 2 */
};

static void
racer(void *arg)
{
	struct race *r = arg;

	atomic_inc_32(r->ready);
	while (READ_ONCE(*r->ready) < 2)
		cpu_pause();
	ctxop_attach(r->target, r->op);
}

KTEST_MIN(ctx, foreign_attach_race, 2)
{
	int rounds = (int)ktest_scale(200), bad = 0;

	for (int i = 0; i < rounds; i++) {
		volatile int ready = 0;
		kthread_t *target = thread_create_stopped("target", noop, NULL,
		    -1);
		struct race r[2];
		kthread_t *t[2];
		for (int k = 0; k < 2; k++) {
			r[k].target = target;
			r[k].op = ctxop_allocate(&count_tpl, NULL);
			r[k].ready = &ready;
			t[k] = thread_create("racer", racer, &r[k], k);
		}
		for (int k = 0; k < 2; k++)
			thread_join(t[k]);
		if (ctxop_ring_check(target) != 2)
			bad++;
		for (int k = 0; k < 2; k++) {
			ctxop_detach(target, r[k].op);	/* it cannot run */
			ctxop_free(r[k].op);
		}
		thread_continue(target);
		thread_join(target);
	}
	KT_EXPECT(bad == 0, "%d of %d rounds lost a node", bad, rounds);
}

/*
 * ctxop_snapshot (the monitor's ::ctxops and ::threads) against a thread
 * that edits its own ring inline, without a lock, on another CPU: nodes
 * attached and detached, and allocated and freed, as fast as it can.
 * Every copy must be a whole ring of that thread's nodes, oldest the one
 * installed first; a reader that followed a link into a freed node would
 * read kmem's free pattern and fault.
 */
struct snap_editor {
	volatile bool done;
	struct storm base_arg;		/* the base node's counts */
	u64 seed, edits;
};

static void
snap_editor_thread(void *arg)
{
	struct snap_editor *e = arg;
	kthread_t *self = curthread;
	struct ctxop *ops[4] = { NULL, NULL, NULL, NULL };
	struct ctxop *kept[4];
	bool on[4] = { false, false, false, false };

	ctxop_install(self, &count_tpl, &e->base_arg);
	for (int i = 0; i < 4; i++)
		kept[i] = ctxop_allocate(&count_tpl, NULL);
	for (u64 n = 0; n < e->edits; n++) {
		int i = (int)(ktest_rand(&e->seed) % 8);
		if (i < 4) {		/* preallocated: attach or detach */
			if (on[i])
				ctxop_detach(self, kept[i]);
			else
				ctxop_attach(self, kept[i]);
			on[i] = !on[i];
		} else if (ops[i - 4] == NULL) {	/* new node, attached */
			ops[i - 4] = ctxop_allocate(&count_tpl, NULL);
			ctxop_attach(self, ops[i - 4]);
		} else {		/* detached and freed */
			ctxop_detach(self, ops[i - 4]);
			ctxop_free(ops[i - 4]);
			ops[i - 4] = NULL;
		}
	}
	for (int i = 0; i < 4; i++) {
		if (on[i])
			ctxop_detach(self, kept[i]);
		ctxop_free(kept[i]);
		if (ops[i] != NULL) {
			ctxop_detach(self, ops[i]);
			ctxop_free(ops[i]);
		}
	}
	VERIFY(ctxop_remove(self, &count_tpl, &e->base_arg) == 1,
	    "snapshot editor: base node");
	e->done = true;
}

KTEST_MIN(ctx, snapshot_while_editing, 2)
{
	enum { MAX = 16 };
	static struct ctxop copy[MAX];
	static uintptr_t addr[MAX];
	struct snap_editor e = { .seed = 0x2545f4914f6cdd1dUL,
	    .edits = ktest_scale(200000) };
	u64 snaps = 0, changing = 0, sizes[10] = { 0 };

	thread_bind(0);
	kthread_t *ed = thread_create("editor", snap_editor_thread, &e, 1);
	while (!READ_ONCE(e.done)) {
		int n = ctxop_snapshot(ed, copy, addr, MAX);
		snaps++;
		if (n < 0) {
			changing++;
			continue;
		}
		if (n == 0)
			continue;	/* before the base node or after */
		if (n > 9) {
			KT_EXPECT(false, "a ring of %d nodes (at most 9)", n);
			break;
		}
		sizes[n]++;
		bool ok = copy[n - 1].arg == &e.base_arg;
		for (int i = 0; i < n; i++) {
			ok = ok && copy[i].owner == ed &&
			    copy[i].save_op == count_save &&
			    copy[i].next == (struct ctxop *)addr[(i + 1) % n] &&
			    copy[i].prev ==
			    (struct ctxop *)addr[(i + n - 1) % n];
			for (int k = 0; k < i; k++)
				ok = ok && addr[k] != addr[i];
		}
		if (!ok) {
			for (int i = 0; i < n; i++)
				ktest_note("[%d] %lx next %p prev %p owner %p "
				    "save %p arg %p", i, (u64)addr[i],
				    (void *)copy[i].next, (void *)copy[i].prev,
				    (void *)copy[i].owner,
				    (void *)copy[i].save_op, copy[i].arg);
			KT_EXPECT(false, "snapshot %lu of %d nodes is not a "
			    "ring of the editor's with its base oldest", snaps,
			    n);
			break;
		}
	}
	thread_join(ed);
	thread_bind(-1);
	ktest_note("%lu snapshots, %lu found the ring changing; sizes 1-9: "
	    "%lu %lu %lu %lu %lu %lu %lu %lu %lu", snaps, changing, sizes[1],
	    sizes[2], sizes[3], sizes[4], sizes[5], sizes[6], sizes[7],
	    sizes[8], sizes[9]);
	KT_EXPECT(snaps - changing > 0, "no snapshot succeeded");
}

/* Misuse: each must trip the assertion that names it. */
static const struct ctxop_template bad_rev_tpl = {
	.ct_rev = CTXOP_TPL_REV + 1, .ct_save = rec_save,
};

KTEST_PANIC(ctx, misuse_wrong_revision, "bad template revision")
{
	(void) ctxop_allocate(&bad_rev_tpl, NULL);
}

KTEST_PANIC(ctx, misuse_double_attach, "already attached")
{
	struct ctxop *op = ctxop_allocate(&count_tpl, NULL);

	ctxop_attach(curthread, op);
	ctxop_attach(curthread, op);
}

KTEST_PANIC(ctx, misuse_detach_foreign, "is not on")
{
	kthread_t *other = thread_create_stopped("other", noop, NULL, -1);
	struct ctxop *op = ctxop_allocate(&count_tpl, NULL);

	ctxop_attach(other, op);		/* fine: other cannot run */
	ctxop_detach(curthread, op);		/* not ours */
}

KTEST_PANIC(ctx, misuse_free_attached, "still attached")
{
	struct ctxop *op = ctxop_allocate(&count_tpl, NULL);

	ctxop_attach(curthread, op);
	ctxop_free(op);
}

KTEST_PANIC(ctx, misuse_alloc_preempt_disabled,
    "sleeping allocation with preemption disabled")
{
	kpreempt_disable();
	(void) ctxop_allocate(&count_tpl, NULL);
}

static struct ctxop *self_editing_op;

static void
edit_self_save(void *a __unused)
{
	ctxop_detach(curthread, self_editing_op);
}

static const struct ctxop_template edit_tpl = {
	.ct_rev = CTXOP_TPL_REV, .ct_save = edit_self_save,
};

KTEST_PANIC(ctx, misuse_edit_from_hook, "list edit from a ctx hook")
{
	volatile bool stop = false;

	thread_bind(0);
	(void) thread_create("yielder", yielder, (void *)&stop, 0);
	self_editing_op = ctxop_allocate(&edit_tpl, NULL);
	ctxop_attach(curthread, self_editing_op);
	thread_yield();
}

KTEST_PANIC(ctx, misuse_attach_to_running, "may be running")
{
	volatile bool stop = false;
	kthread_t *t = thread_create("yielder", yielder, (void *)&stop, -1);
	struct ctxop *op = ctxop_allocate(&count_tpl, NULL);

	ctxop_attach(t, op);
}

/*
 * A node whose prev was cleared behind the list's back: the ring check
 * must say "ring broken", not fault following the NULL (it tests both
 * links of a node before following either).
 */
KTEST_PANIC(ctx, ring_check_null_prev, "ctxop ring broken")
{
	kthread_t *other = thread_create_stopped("other", noop, NULL, -1);
	struct ctxop *older = ctxop_allocate(&count_tpl, NULL);
	struct ctxop *newer = ctxop_allocate(&count_tpl, NULL);

	ctxop_attach(other, older);
	ctxop_attach(other, newer);		/* the head, checked first */
	newer->prev = NULL;			/* the corruption */
	(void) ctxop_ring_check(other);
}

/* ctxop_free runs ct_free, which may block: not with interrupts off. */
KTEST_PANIC(ctx, misuse_free_intr_disabled, "may block")
{
	struct ctxop *op = ctxop_allocate(&count_tpl, NULL);

	(void) intr_save();
	ctxop_free(op);
}

/*
 * Two threads attach one node to a stopped thread at once: the checked
 * path claims the node by CAS, so exactly one wins and the other is
 * told, never both linking it.
 */
KTEST_PANIC(ctx, misuse_double_attach_race, "already attached")
{
	volatile int ready = 0;
	kthread_t *target = thread_create_stopped("target", noop, NULL, -1);
	struct race r[2];
	struct ctxop *op = ctxop_allocate(&count_tpl, NULL);
	kthread_t *t[2];

	for (int k = 0; k < 2; k++) {
		r[k].target = target;
		r[k].op = op;
		r[k].ready = &ready;
		t[k] = thread_create("racer", racer, &r[k], k % ncpus);
	}
	for (int k = 0; k < 2; k++)
		thread_join(t[k]);
}

/*
 * ctx_debug: a node whose owner is clear but whose links are not (left
 * by a broken free or a copy of a node) passes the inline path's one
 * compare; with ctx_debug every attach checks both links too. The thread
 * that attaches is started after the switch is set, because a CPU picks
 * the switch up when it switches to a thread.
 */
static void
attach_stale(void *arg)
{
	ctxop_attach(curthread, arg);
}

KTEST_PANIC(ctx, debug_stale_links_caught, "already attached")
{
	struct ctxop *op = ctxop_allocate(&count_tpl, NULL);

	op->next = op->prev = op;	/* the stale links */
	ctx_debug = true;
	thread_join(thread_create("stale", attach_stale, op, -1));
}

/* An interrupt handler (here a callout) may not edit a ctxop list: it
 * may have interrupted the thread in the middle of an inline edit. */
static struct ctxop *callout_op;
static volatile bool callout_attached;

static void
attach_from_callout(void *arg __unused)
{
	ctxop_attach(curthread, callout_op);
	callout_attached = true;
}

KTEST_PANIC(ctx, misuse_edit_from_interrupt, "called from an interrupt "
    "handler")
{
	callout_t co;

	callout_op = ctxop_allocate(&count_tpl, NULL);
	callout_init(&co);
	callout_arm(&co, gethrtime() + 1000000, attach_from_callout, NULL);
	while (!callout_attached)
		cpu_pause();
}
