/*
 * Locks. Spin locks disable interrupts on the holding CPU (so an interrupt
 * handler may take them); mutexes and condition variables block.
 */
#ifndef _KERN_SYNC_H
#define _KERN_SYNC_H

#include "types.h"

struct kthread;
struct cpu;

typedef struct spinlock {
	volatile u32 sl_locked;		/* 1 while held */
	struct cpu *sl_cpu;		/* holder, for the recursion check */
	const char *sl_name;		/* for panic messages */
} spinlock_t;

#define	SPINLOCK_INIT(name)	{ 0, NULL, (name) }

void spin_init(spinlock_t *, const char *name);
void spin_lock(spinlock_t *);
void spin_unlock(spinlock_t *);
bool spin_held(const spinlock_t *);	/* held by this CPU */

/*
 * A queue of sleeping threads, guarded by its own spin lock. The building
 * block of mutexes, condition variables and joins.
 */
typedef struct waitq {
	spinlock_t wq_lock;
	struct kthread *wq_head;	/* FIFO through t_link; wq_lock */
	struct kthread *wq_tail;
} waitq_t;

void waitq_init(waitq_t *, const char *name);
/* Called with wq_lock held and interrupts off: sleeps, returns relocked. */
void waitq_block(waitq_t *);
/* Called with wq_lock held: make the first / every sleeper runnable. */
bool waitq_wakeone(waitq_t *);
/* Called with wq_lock held: take this sleeper off (false: not on it). */
bool waitq_remove(waitq_t *, struct kthread *);
void waitq_wakeall(waitq_t *);

typedef struct kmutex {
	waitq_t m_wq;			/* waiters; m_wq.wq_lock guards m_owner */
	struct kthread *volatile m_owner;
} kmutex_t;

void mutex_init(kmutex_t *, const char *name);
void mutex_enter(kmutex_t *);
void mutex_exit(kmutex_t *);
bool mutex_owned(const kmutex_t *);

typedef struct kcondvar {
	waitq_t cv_wq;
} kcondvar_t;

void cv_init(kcondvar_t *, const char *name);
void cv_wait(kcondvar_t *, kmutex_t *);
/*
 * cv_wait until gethrtime() >= deadline (absolute ns): -1 if it timed out
 * (at once, without sleeping, if the deadline has passed), 1 if woken by
 * cv_signal/cv_broadcast. Mutex held again on return; as with cv_wait the
 * caller rechecks its condition (a wakeup may be for someone else's
 * change). Latency: the timer interrupt's, not the tick's (callout.h).
 */
int cv_timedwait_hires(kcondvar_t *, kmutex_t *, hrtime_t deadline);
void cv_signal(kcondvar_t *);
void cv_broadcast(kcondvar_t *);
/* Test switch (tunable.h): the next cv_signal with a waiter is dropped. */
extern bool cv_inject_lost_wakeup;
/* Test switch: the next timeout that finds its waiter already signalled
 * wakes it anyway (a double wakeup; setrunqueue must panic). */
extern bool cv_inject_timeout_double_wakeup;

/* Atomics (sequentially consistent). */
#define	atomic_inc_64(p)	__atomic_add_fetch((p), 1, __ATOMIC_SEQ_CST)
#define	atomic_inc_32(p)	__atomic_add_fetch((p), 1, __ATOMIC_SEQ_CST)
#define	atomic_cas(p, o, n)	__sync_val_compare_and_swap((p), (o), (n))
#define	atomic_swap(p, v)	__atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define	atomic_load(p)		__atomic_load_n((p), __ATOMIC_SEQ_CST)
#define	atomic_store(p, v)	__atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define	membar()		__atomic_thread_fence(__ATOMIC_SEQ_CST)

#endif
