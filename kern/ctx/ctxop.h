/*
 * Context operations: hooks a thread carries that run when it is switched
 * out and in, and at its lifecycle points. The illumos contract after bugs
 * 12477, 12478, 13915 and 13917; see docs/ctxops.md.
 *
 * A thread's ctxops form a circular doubly linked list; t_ctx points at
 * the NEWEST node, next runs newest -> oldest, so t_ctx->prev is the
 * oldest. savectx() walks newest -> oldest, restorectx() oldest -> newest:
 * the exact mirror, so hooks stack like nested brackets.
 */
#ifndef _KERN_CTX_CTXOP_H
#define _KERN_CTX_CTXOP_H

#include "../types.h"
#include "../cpu.h"
#include "../trace.h"

struct kthread;

#define	CTXOP_TPL_REV	1

struct ctxop_template {
	u32 ct_rev;				/* must be CTXOP_TPL_REV */
	u32 ct_pad;
	void (*ct_save)(void *arg);		/* switched out */
	void (*ct_restore)(void *arg);		/* switched in */
	void (*ct_fork)(void *parent_arg, struct kthread *child);
	void (*ct_lwp_create)(void *arg, struct kthread *new);
	void (*ct_exit)(void *arg);
	void (*ct_free)(void *arg, int isexec);
};

struct ctxop {
	void (*save_op)(void *);		/* constant after allocate */
	void (*restore_op)(void *);
	void (*fork_op)(void *, struct kthread *);
	void (*lwp_create_op)(void *, struct kthread *);
	void (*exit_op)(void *);
	void (*free_op)(void *, int);
	void *arg;				/* constant after allocate */
	/*
	 * next/prev: the owning thread's ring; edited only by ctxop_attach/
	 * detach with preemption disabled, on the current thread or on one
	 * that cannot run. NULL/NULL while detached.
	 */
	struct ctxop *next;
	struct ctxop *prev;
	struct kthread *owner;			/* thread whose list holds it:
						   set before the links, cleared
						   after; the checked path claims
						   it by CAS */
	u64 save_ts;				/* last ct_save call (TSC, unscaled) */
	u64 restore_ts;				/* last ct_restore call (TSC) */
};

/* Consumers. allocate, free, install and remove may block (free and
 * remove run ct_free, which may); attach and detach never block. */
struct ctxop *ctxop_allocate(const struct ctxop_template *, void *arg);
void ctxop_free(struct ctxop *);
static inline void ctxop_attach(struct kthread *, struct ctxop *);
static inline void ctxop_detach(struct kthread *, struct ctxop *);
void ctxop_install(struct kthread *, const struct ctxop_template *, void *arg);
int ctxop_remove(struct kthread *, const struct ctxop_template *, void *arg);
/* mdb-style dump of a thread's chain, newest first. */
void ctxop_print_chain(struct kthread *);

/* Thread lifecycle walks: kernel internal (kern/thread.c). */
void savectx(struct kthread *);
void restorectx(struct kthread *);
void forkctx(struct kthread *parent, struct kthread *child);
void lwp_createctx(struct kthread *parent, struct kthread *new);
void exitctx(struct kthread *);
void freectx(struct kthread *, int isexec);

/* Test switches (cmdline): restore newest-first as before illumos 12477;
 * validate the whole ring both ways at every savectx(); every attach and
 * detach through the checked path. Test only: attach without protection. */
extern bool ctx_legacy_restore;
extern bool ctx_validate;
extern bool ctx_debug;
extern bool ctx_inject_unsafe_edit;
/* Ring consistency check: returns the number of nodes, panics if broken. */
int ctxop_ring_check(struct kthread *);
/*
 * t's ring for a reader on another CPU (the monitor), newest first: the
 * number of nodes, of which the first max are copied to copy[] and their
 * addresses to addr[]; -1 if t kept editing it. The caller keeps t from
 * being freed (thread_list_lock) and must not block.
 */
int ctxop_snapshot(struct kthread *, struct ctxop *copy, uintptr_t *addr,
    int max);

/*
 * ctxop_attach/ctxop_detach: an inline path for the common case, a thread
 * editing its own ring, and the checked path (ctxop.c) for everything
 * else: another thread's ring, misuse, ctx_debug.
 *
 * The inline path is what illumos does, the links with preemption off
 * and nothing else. Why that is enough:
 *  - Preemption off: t_ctx_gen is odd from before the first store to
 *    after the last, and trap() and kpreempt() do not switch a thread out
 *    then (thread_preemptible), so savectx/restorectx, which run only in
 *    swtch on t's own CPU, see the ring before or after, never half
 *    linked. An interrupt handler could see it half linked, so none may
 *    edit a ring (the checked path says so) and none reads one.
 *  - No t_ctx_lock: the other readers, on other CPUs (the monitor's), go
 *    through ctxop_snapshot, which retries unless t_ctx_gen was even and
 *    unchanged across its copy, and which holds off the freeing of nodes
 *    while it follows links. The lock only serializes the checked path's
 *    editors: attachers to a thread that cannot run may be several.
 *  - A plain compare of owner, not a CAS: every other editor of t's ring
 *    needs t not running, so while t runs it is the only writer of its
 *    links and of the owner of a node on them, and the compare is the
 *    whole "already attached" / "not on the list" check for any caller
 *    the contract allows. Two threads attaching one node at once would
 *    both pass it, but then two threads each believe they hold the node,
 *    a bug before ctxop_attach is called; the checked path claims the
 *    node with a CAS, so under ctx_debug (every edit checked) exactly one
 *    of them wins, and so do attachers to a stopped thread always.
 *  - cpu_ctx_fast is one compare that says all of: t is curthread, no
 *    hook of t runs (swtch clears it from savectx to the end of
 *    restorectx, lifecycle walks while they run), no interrupt handler
 *    runs (trap() clears it), ctx_debug and ctx_inject_unsafe_edit are
 *    off. Otherwise the checked path finds and names the misuse.
 */
void ctxop_attach_slow(struct kthread *, struct ctxop *);
void ctxop_detach_slow(struct kthread *, struct ctxop *);

static inline bool
ctxop_fast_ok(struct kthread *t)
{
	bool ok;
	__asm__ __volatile__("cmpq %1, %%gs:%c2" : "=@ccz"(ok)
	    : "r"(t), "i"(offsetof(cpu_t, cpu_ctx_fast)));
	return (ok);
}

/*
 * The link and unlink stores, for both paths. Attach: op's own links
 * before the ring's, so op is whole when it can be reached; detach: the
 * ring's links round op before op's are cleared. (ctxop_snapshot does not
 * need the order, its t_ctx_gen check does not let a half edit through,
 * but its walk then meets fewer NULLs.) Split by case so that the inline
 * paths can give each case its own TRACE and end to fall through to.
 */
static inline void
ctxop_link_first(struct kthread *t, struct ctxop *op)
{
	WRITE_ONCE(op->next, op);
	WRITE_ONCE(op->prev, op);
	WRITE_ONCE(t->t_ctx, op);
}

/* op becomes the newest: between the oldest (head->prev) and head. */
static inline void
ctxop_link_newest(struct kthread *t, struct ctxop *op, struct ctxop *head)
{
	struct ctxop *oldest = head->prev;

	WRITE_ONCE(op->next, head);
	WRITE_ONCE(op->prev, oldest);
	WRITE_ONCE(oldest->next, op);
	WRITE_ONCE(t->t_ctx, op);
	WRITE_ONCE(head->prev, op);
}

/* op is the only node. The owner goes first here and last in the other
 * case only so that the two tails differ and the compiler does not make
 * one jump into the other. */
static inline void
ctxop_unlink_last(struct kthread *t, struct ctxop *op)
{
	WRITE_ONCE(t->t_ctx, NULL);
	WRITE_ONCE(op->owner, NULL);
	WRITE_ONCE(op->next, NULL);
	WRITE_ONCE(op->prev, NULL);
}

static inline void
ctxop_unlink_one(struct kthread *t, struct ctxop *op, struct ctxop *next)
{
	struct ctxop *prev = op->prev;

	WRITE_ONCE(prev->next, next);
	WRITE_ONCE(next->prev, prev);
	if (t->t_ctx == op)
		WRITE_ONCE(t->t_ctx, next);	/* the next older */
	WRITE_ONCE(op->next, NULL);
	WRITE_ONCE(op->prev, NULL);
	WRITE_ONCE(op->owner, NULL);
}

/*
 * An inline edit is bracketed by two increments of t_ctx_gen: odd in
 * between, so that trap() and kpreempt() leave t on its CPU (the
 * kpreempt_disable of illumos bug 12478, without a second counter), and
 * changed afterwards, so that ctxop_snapshot knows to look again. A
 * preemption asked for in between is taken at the end, as at the last
 * kpreempt_enable.
 */
static inline void
ctxop_edit_begin(struct kthread *t)
{
	t->t_ctx_gen++;
	barrier();
}

static inline void
ctxop_edit_end(struct kthread *t)
{
	barrier();
	t->t_ctx_gen++;
	barrier();
	if (unlikely(cpu_runrun_pending()))
		kpreempt();
}

/* Inline: t's own ring (ctxop_fast_ok), op not on any ring. */
static inline void
ctxop_attach(struct kthread *t, struct ctxop *op)
{
	if (unlikely(!ctxop_fast_ok(t) || op->owner != NULL)) {
		ctxop_attach_slow(t, op);
		return;
	}
	ctxop_edit_begin(t);
	WRITE_ONCE(op->owner, t);	/* before op can be reached */
	struct ctxop *head = t->t_ctx;
	if (head == NULL) {
		ctxop_link_first(t, op);
		TRACE(TR_CTXOP_ATTACH, op, t);
		ctxop_edit_end(t);
		return;
	}
	ctxop_link_newest(t, op, head);
	TRACE(TR_CTXOP_ATTACH, op, t);
	ctxop_edit_end(t);
}

/* Inline: t's own ring (ctxop_fast_ok), op on it. */
static inline void
ctxop_detach(struct kthread *t, struct ctxop *op)
{
	if (unlikely(!ctxop_fast_ok(t) || op->owner != t)) {
		ctxop_detach_slow(t, op);
		return;
	}
	ctxop_edit_begin(t);
	struct ctxop *next = op->next;
	if (next == op) {
		ctxop_unlink_last(t, op);
		TRACE(TR_CTXOP_DETACH, op, t);
		ctxop_edit_end(t);
		return;
	}
	ctxop_unlink_one(t, op, next);
	TRACE(TR_CTXOP_DETACH, op, t);
	ctxop_edit_end(t);
}

/*
 * swtch: no inline edits from savectx(old) until restorectx(new) is done,
 * so their hooks meet the checked path (which names an edit from a hook);
 * then new may, unless a switch wants every edit checked. Stores through
 * %gs: the switch path has the cpu_t only on its stack.
 */
static inline void
ctxop_fast_set(struct kthread *t)
{
	__asm__ __volatile__("movq %0, %%gs:%c1" : : "er"(t),
	    "i"(offsetof(cpu_t, cpu_ctx_fast)) : "memory");
}

static inline void
ctxop_fast_close(void)
{
	ctxop_fast_set(NULL);
}

static inline void
ctxop_fast_open(struct kthread *t)
{
	if (likely(!ctx_debug && !ctx_inject_unsafe_edit))
		ctxop_fast_set(t);
}

#endif
