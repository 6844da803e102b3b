/*
 * ctxops: see ctxop.h and docs/ctxops.md.
 *
 * Who may edit a thread's list: the thread itself, or anyone while the
 * thread cannot run (created stopped, or a zombie); never an interrupt
 * handler. Every edit runs with preemption disabled, so a switch (and so
 * savectx) never sees a ring half-linked. A thread's edits of its own
 * ring are inline (ctxop.h); the checked path here does the rest, under
 * t_ctx_lock, which serializes its editors. Hooks run with preemption
 * disabled and must not edit the list of the thread being walked:
 * cpu_ctx_walk names that thread while its hooks run.
 */
#include "ctxop.h"
#include "../thread.h"
#include "../cpu.h"
#include "../kmem.h"
#include "../panic.h"
#include "../console.h"
#include "../trace.h"
#include "../apic.h"
#include "../x86.h"
#include "../tunable.h"

/* Switches (tunable.h): the tests turn these on to show a check catches
 * the bug, or to check more. */
KTUNABLE_CMDLINE(ctx_legacy_restore, "restorectx walks newest first, as "
    "illumos did before bug 12477 (the tests must catch it)");
KTUNABLE_CMDLINE(ctx_validate, "check every ctxop ring at every switch");
KTUNABLE_CMDLINE(ctx_debug, "every ctxop_attach/detach takes the checked "
    "path: the node claimed by CAS, both links checked, t_ctx_lock");
KTUNABLE_TEST(ctx_inject_unsafe_edit, "ctxop_attach links the node without "
    "kpreempt_disable, slowly (the ring check must catch it)");

/*
 * Held by ctxop_snapshot while it follows another thread's links; a node
 * is freed only after passing through it (ctxop_free, freectx), so every
 * node such a reader can still reach is memory that holds a node.
 */
static spinlock_t ctx_reader_lock = SPINLOCK_INIT("ctx_reader");

/* ctxop_snapshot: longer rings are reported as changing; tries before it
 * gives up on a thread that keeps editing its ring. */
enum { CTX_SNAP_NODES = 4096, CTX_SNAP_TRIES = 1000 };

/* Wait for the readers that may have found a node before it was unlinked. */
static void
ctx_reader_sync(void)
{
	spin_lock(&ctx_reader_lock);
	spin_unlock(&ctx_reader_lock);
}

struct ctxop *
ctxop_allocate(const struct ctxop_template *ct, void *arg)
{
	VERIFY(ct->ct_rev == CTXOP_TPL_REV,
	    "ctxop_allocate: bad template revision %u (want %u)", ct->ct_rev,
	    CTXOP_TPL_REV);
	VERIFY(!kpreempt_disabled() && intr_enabled(),
	    "ctxop_allocate: sleeping allocation with preemption disabled");
	struct ctxop *op = kmem_zalloc(sizeof (*op), KM_SLEEP);
	op->save_op = ct->ct_save;
	op->restore_op = ct->ct_restore;
	op->fork_op = ct->ct_fork;
	op->lwp_create_op = ct->ct_lwp_create;
	op->exit_op = ct->ct_exit;
	op->free_op = ct->ct_free;
	op->arg = arg;
	return (op);
}

/* Runs ct_free(arg, 0), then frees the node. May block (ct_free may). */
void
ctxop_free(struct ctxop *op)
{
	VERIFY(op->next == NULL && op->prev == NULL && op->owner == NULL,
	    "ctxop_free: ctxop %p still attached to %s", (void *)op,
	    op->owner != NULL ? op->owner->t_name : "?");
	/* ct_free may block (it frees, it may wait for a device): a caller
	 * must be able to block, as for ctxop_allocate. */
	VERIFY(!kpreempt_disabled() && intr_enabled(),
	    "ctxop_free: may block, called with preemption or interrupts "
	    "disabled");
	if (op->free_op != NULL)
		op->free_op(op->arg, 0);
	ctx_reader_sync();
	kmem_free(op, sizeof (*op));
}

/* May t's list be edited from here? */
static void
check_editable(kthread_t *t, struct ctxop *op, const char *who)
{
	/* kpreempt_disable protects nothing from an interrupt handler, and
	 * it could land in the middle of the thread's own inline edit. (The
	 * look is pinned: another CPU's depth means nothing here.) */
	kpreempt_disable();
	bool in_intr = CPU->cpu_intr_depth != 0;
	kpreempt_enable();
	VERIFY(!in_intr,
	    "%s: called from an interrupt handler (ctxop %p, thread %s)", who,
	    (void *)op, t->t_name);
	VERIFY(CPU->cpu_ctx_walk != t,
	    "%s: list edit from a ctx hook (ctxop %p, thread %s)", who,
	    (void *)op, t->t_name);
	/* A zombie is still running its last savectx until t_live drops. */
	VERIFY(t == curthread || t->t_state == TS_FREE ||
	    (t->t_state == TS_ZOMB && READ_ONCE(t->t_live) == 0),
	    "%s: thread %s may be running (state %u)", who, t->t_name,
	    t->t_state);
}

/* A window for tests to show that unprotected edits are caught. */
static void
inject_window(void)
{
	for (int i = 0; i < 2000; i++)
		cpu_pause();
}

/*
 * The checked path of ctxop_attach (ctxop.h): another thread's ring, a
 * misuse the inline path saw, or ctx_debug.
 */
void
ctxop_attach_slow(kthread_t *t, struct ctxop *op)
{
	/* Claim the node first: two attachers of one node cannot both win. */
	kthread_t *prev = atomic_cas(&op->owner, NULL, t);
	VERIFY(prev == NULL && op->next == NULL && op->prev == NULL,
	    "ctxop_attach: ctxop %p already attached to %s", (void *)op,
	    prev != NULL ? prev->t_name : "?");
	check_editable(t, op, "ctxop_attach");

	if (ctx_inject_unsafe_edit) {
		struct ctxop *head = t->t_ctx;
		if (head == NULL) {
			op->next = op->prev = op;
		} else {
			op->next = head;
			op->prev = head->prev;
			head->prev->next = op;
			inject_window();	/* the ring is half linked */
			head->prev = op;
		}
		t->t_ctx = op;
		TRACE(TR_CTXOP_ATTACH, op, t);
		return;
	}
	kpreempt_disable();
	spin_lock(&t->t_ctx_lock);
	if (t->t_ctx == NULL)
		ctxop_link_first(t, op);
	else
		ctxop_link_newest(t, op, t->t_ctx);
	TRACE(TR_CTXOP_ATTACH, op, t);
	spin_unlock(&t->t_ctx_lock);
	kpreempt_enable();
}

void
ctxop_detach_slow(kthread_t *t, struct ctxop *op)
{
	VERIFY(op->owner == t && op->next != NULL && op->prev != NULL,
	    "ctxop_detach: ctxop %p is not on %s's list", (void *)op,
	    t->t_name);
	check_editable(t, op, "ctxop_detach");

	kpreempt_disable();
	spin_lock(&t->t_ctx_lock);
	if (op->next == op)
		ctxop_unlink_last(t, op);
	else
		ctxop_unlink_one(t, op, op->next);
	TRACE(TR_CTXOP_DETACH, op, t);
	spin_unlock(&t->t_ctx_lock);
	kpreempt_enable();
}

void
ctxop_install(kthread_t *t, const struct ctxop_template *ct, void *arg)
{
	ctxop_attach(t, ctxop_allocate(ct, arg));
}

int
ctxop_remove(kthread_t *t, const struct ctxop_template *ct, void *arg)
{
	struct ctxop *head = t->t_ctx, *op = head;

	VERIFY(t == curthread || t->t_state == TS_FREE ||
	    t->t_state == TS_ZOMB,
	    "ctxop_remove: thread %s may be running", t->t_name);
	if (head == NULL)
		return (0);
	do {
		if (op->save_op == ct->ct_save &&
		    op->restore_op == ct->ct_restore &&
		    op->fork_op == ct->ct_fork &&
		    op->lwp_create_op == ct->ct_lwp_create &&
		    op->exit_op == ct->ct_exit && op->free_op == ct->ct_free &&
		    op->arg == arg) {
			ctxop_detach(t, op);
			ctxop_free(op);
			return (1);
		}
		op = op->next;
	} while (op != head);
	return (0);
}

/*
 * Walk the ring both ways and check every link. Used at every savectx
 * when ctx_validate is on; a broken ring is a panic, not a test failure,
 * because the next walk would follow a bad pointer.
 */
int
ctxop_ring_check(kthread_t *t)
{
	struct ctxop *head = t->t_ctx, *op;
	int n = 0, m = 0;

	if (head == NULL)
		return (0);
	op = head;
	do {
		/* Both pointers are tested before either is followed. */
		VERIFY(op->owner == t && op->next != NULL && op->prev != NULL &&
		    op->next->prev == op && op->prev->next == op,
		    "ctxop ring broken on %s at node %p (next %p prev %p)",
		    t->t_name, (void *)op, (void *)op->next, (void *)op->prev);
		op = op->next;
		VERIFY(++n <= 100000, "ctxop ring broken on %s: no end",
		    t->t_name);
	} while (op != head);
	op = head;
	do {
		op = op->prev;
		m++;
	} while (op != head && m <= n);
	VERIFY(m == n, "ctxop ring broken on %s: %d nodes forward, %d back",
	    t->t_name, n, m);
	return (n);
}

/*
 * One try of ctxop_snapshot. t_ctx_gen even before the walk and the same
 * after it means no inline edit of t's was under way or began in between
 * (x86 makes stores visible in program order and keeps loads in order: a
 * load that saw any store of an edit is followed by one that sees the
 * edit's first increment), so the copy is the ring as it stood. A walk
 * that raced an edit may still follow links into nodes another thread
 * holds now, or find NULL; such nodes are not freed while the reader
 * holds ctx_reader_lock, and the walk stops at NULL and at
 * CTX_SNAP_NODES. The link checks are then only a second opinion.
 * -1 if the try failed.
 */
static int
snapshot_once(kthread_t *t, struct ctxop *copy, uintptr_t *addr, int max)
{
	u32 gen = READ_ONCE(t->t_ctx_gen);
	if (gen & 1)
		return (-1);
	barrier();
	struct ctxop *head = READ_ONCE(t->t_ctx), *op = head, *before = NULL;
	struct ctxop *head_prev = NULL;
	int n = 0;

	if (head != NULL) {
		do {
			struct ctxop *next = READ_ONCE(op->next);
			struct ctxop *prev = READ_ONCE(op->prev);
			if (READ_ONCE(op->owner) != t || next == NULL ||
			    prev == NULL || (before != NULL && prev != before))
				return (-1);
			if (before == NULL)
				head_prev = prev;
			if (n < max) {
				memcpy(&copy[n], op, sizeof (*op));
				copy[n].next = next;	/* the links checked */
				copy[n].prev = prev;
				copy[n].owner = t;
				addr[n] = (uintptr_t)op;
			}
			if (++n > CTX_SNAP_NODES)
				return (-1);
			before = op;
			op = next;
		} while (op != head);
		if (head_prev != before)
			return (-1);
	}
	barrier();
	return (READ_ONCE(t->t_ctx_gen) == gen ? n : -1);
}

int
ctxop_snapshot(kthread_t *t, struct ctxop *copy, uintptr_t *addr, int max)
{
	int n = -1;

	spin_lock(&ctx_reader_lock);
	spin_lock(&t->t_ctx_lock);	/* the checked path's editors wait */
	for (int i = 0; i < CTX_SNAP_TRIES && n < 0; i++) {
		n = snapshot_once(t, copy, addr, max);
		if (n < 0)
			cpu_pause();
	}
	spin_unlock(&t->t_ctx_lock);
	spin_unlock(&ctx_reader_lock);
	return (n);
}

static u64
count_nodes(struct ctxop *head)
{
	struct ctxop *op = head;
	u64 n = 0;

	do {
		n++;
		op = op->next;
	} while (op != head);
	return (n);
}

/*
 * Every node is traced, even one without this hook (hook=0), so the trace
 * shows the whole list as it stood and restore can be checked against save.
 */
static void
call_save(struct ctxop *op)
{
	TRACE(TR_CTXOP_SAVE, op->save_op, op);
	if (op->save_op == NULL)
		return;
	op->save_ts = rdtsc();		/* unscaled, as illumos */
	op->save_op(op->arg);
}

static void
call_restore(struct ctxop *op)
{
	TRACE(TR_CTXOP_RESTORE, op->restore_op, op);
	if (op->restore_op == NULL)
		return;
	op->restore_ts = rdtsc();
	op->restore_op(op->arg);
}

/* Switch code, outgoing thread, interrupts off: newest -> oldest. */
void
savectx(kthread_t *t)
{
	struct ctxop *head = t->t_ctx, *op;
	cpu_t *cp = CPU;

	if (head == NULL)
		return;
	if (ctx_validate) {
		/* trap() and kpreempt() must not preempt an inline edit. */
		VERIFY((t->t_ctx_gen & 1) == 0, "savectx: %s switched out in "
		    "the middle of an edit of its ctxops", t->t_name);
		ctxop_ring_check(t);
	}
	TRACE(TR_SAVECTX_ENTRY, trace_on ? count_nodes(head) : 0, 0);
	t->t_preempt++;		/* hooks run with preemption disabled */
	cp->cpu_ctx_walk = t;
	op = head;
	do {
		call_save(op);
		op = op->next;
	} while (op != head);
	cp->cpu_ctx_walk = NULL;
	t->t_preempt--;
	TRACE(TR_SAVECTX_RETURN, 0, 0);
}

/*
 * Switch code, incoming thread, interrupts off: oldest -> newest, the
 * mirror of savectx, so a newer hook sees the state the older ones have
 * put back. ctx_legacy_restore walks newest first, as illumos did before
 * bug 12477; tests use it to show that order is caught.
 */
void
restorectx(kthread_t *t)
{
	struct ctxop *head = t->t_ctx, *op;
	cpu_t *cp = CPU;

	if (head == NULL)
		return;
	TRACE(TR_RESTORECTX_ENTRY, trace_on ? count_nodes(head) : 0, 0);
	t->t_preempt++;
	cp->cpu_ctx_walk = t;
	if (ctx_legacy_restore) {
		op = head;
		do {
			call_restore(op);
			op = op->next;
		} while (op != head);
	} else {
		op = head->prev;		/* the oldest */
		for (;;) {
			call_restore(op);
			if (op == head)
				break;
			op = op->prev;
		}
	}
	cp->cpu_ctx_walk = NULL;
	t->t_preempt--;
	TRACE(TR_RESTORECTX_RETURN, 0, 0);
}

/*
 * Lifecycle walks, newest -> oldest, with preemption disabled like every
 * hook call. The hooks may attach preallocated nodes to the new thread
 * (it cannot run yet), never to the walked one.
 */
enum lifecycle { LC_FORK, LC_LWP_CREATE, LC_EXIT };

static void
lifecycle_walk(kthread_t *t, enum lifecycle which, kthread_t *other)
{
	struct ctxop *head = t->t_ctx, *op;

	if (head == NULL)
		return;
	kpreempt_disable();
	cpu_t *cp = CPU;
	kthread_t *fast = cp->cpu_ctx_fast;
	cp->cpu_ctx_fast = NULL;	/* hooks edit through the checks */
	cp->cpu_ctx_walk = t;
	op = head;
	do {
		if (which == LC_FORK && op->fork_op != NULL)
			op->fork_op(op->arg, other);
		else if (which == LC_LWP_CREATE && op->lwp_create_op != NULL)
			op->lwp_create_op(op->arg, other);
		else if (which == LC_EXIT && op->exit_op != NULL)
			op->exit_op(op->arg);
		op = op->next;
	} while (op != head);
	cp->cpu_ctx_walk = NULL;
	cp->cpu_ctx_fast = fast;
	kpreempt_enable();
}

void
forkctx(kthread_t *parent, kthread_t *child)
{
	lifecycle_walk(parent, LC_FORK, child);
}

void
lwp_createctx(kthread_t *parent, kthread_t *new)
{
	lifecycle_walk(parent, LC_LWP_CREATE, new);
}

void
exitctx(kthread_t *t)
{
	lifecycle_walk(t, LC_EXIT, NULL);
}

/*
 * The thread is gone (joined or reaped). Unhook the list from the thread
 * first, so nothing can walk it while the nodes are freed. ct_free may
 * block, so this may too (thread_join and the reaper can).
 */
void
freectx(kthread_t *t, int isexec)
{
	struct ctxop *head = t->t_ctx, *op;

	if (head == NULL)
		return;
	VERIFY(!kpreempt_disabled() && intr_enabled(),
	    "freectx: may block, called with preemption or interrupts "
	    "disabled");
	kpreempt_disable();
	t->t_ctx = NULL;
	kpreempt_enable();
	ctx_reader_sync();		/* none of them still on the ring */
	head->prev->next = NULL;	/* break the ring at the oldest */
	for (op = head; op != NULL; ) {
		struct ctxop *next = op->next;
		op->next = op->prev = NULL;
		op->owner = NULL;
		if (op->free_op != NULL)
			op->free_op(op->arg, isexec);
		kmem_free(op, sizeof (*op));
		op = next;
	}
}

static const char *
symname(const void *fn, char *buf, size_t len)
{
	uintptr_t off;
	const char *n;

	if (fn == NULL)
		return ("-");
	n = ksym_lookup((uintptr_t)fn, &off);
	if (n == NULL || off != 0) {
		ksnprintf(buf, len, "%p", fn);
		return (buf);
	}
	return (n);
}

/* Shaped like mdb's ::walk ctxop | ::print struct ctxop. */
void
ctxop_print_chain(kthread_t *t)
{
	struct ctxop *head = t->t_ctx, *op;
	char b1[24], b2[24], b3[24], b4[24], b5[24], b6[24];
	int n = 0;

	kprintf("> 0x%lx::walk ctxop | ::print struct ctxop   (thread %s, "
	    "newest first)\n", (u64)(uintptr_t)t, t->t_name);
	if (head == NULL) {
		kprintf("  (no ctxops)\n");
		return;
	}
	op = head;
	do {
		kprintf("  [%d] ctxop 0x%lx {\n", n++, (u64)(uintptr_t)op);
		kprintf("      save_op = %s\n      restore_op = %s\n",
		    symname((void *)op->save_op, b1, sizeof (b1)),
		    symname((void *)op->restore_op, b2, sizeof (b2)));
		kprintf("      fork_op = %s\n      lwp_create_op = %s\n",
		    symname((void *)op->fork_op, b3, sizeof (b3)),
		    symname((void *)op->lwp_create_op, b4, sizeof (b4)));
		kprintf("      exit_op = %s\n      free_op = %s\n",
		    symname((void *)op->exit_op, b5, sizeof (b5)),
		    symname((void *)op->free_op, b6, sizeof (b6)));
		kprintf("      arg = 0x%lx\n      next = 0x%lx\n      prev = "
		    "0x%lx\n", (u64)(uintptr_t)op->arg,
		    (u64)(uintptr_t)op->next, (u64)(uintptr_t)op->prev);
		kprintf("      save_ts = %lu\n      restore_ts = %lu\n  }\n",
		    op->save_ts, op->restore_ts);
		op = op->next;
	} while (op != head);
}
