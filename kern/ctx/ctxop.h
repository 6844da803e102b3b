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
	struct kthread *volatile owner;		/* thread whose list holds it;
						   claimed by CAS in attach */
	u64 save_ts;				/* last ct_save call (TSC, unscaled) */
	u64 restore_ts;				/* last ct_restore call (TSC) */
};

/* Consumers. allocate, free, install and remove may block (free and
 * remove run ct_free, which may); attach and detach never block. */
struct ctxop *ctxop_allocate(const struct ctxop_template *, void *arg);
void ctxop_free(struct ctxop *);
void ctxop_attach(struct kthread *, struct ctxop *);
void ctxop_detach(struct kthread *, struct ctxop *);
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
 * validate the whole ring both ways at every savectx(). */
extern bool ctx_legacy_restore;
extern bool ctx_validate;
/* Ring consistency check: returns the number of nodes, panics if broken. */
int ctxop_ring_check(struct kthread *);

#endif
