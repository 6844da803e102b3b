/*
 * Kernel threads and the scheduler. Every thread is a kernel thread; vCPUs
 * are threads like any other that happen to call VM_RUN.
 */
#ifndef _KERN_THREAD_H
#define _KERN_THREAD_H

#include "types.h"
#include "sync.h"

struct cpu;
struct ctxop;

typedef enum tstate {
	TS_FREE = 0,	/* being created or freed */
	TS_RUN,		/* on a run queue */
	TS_ONPROC,	/* running on t_cpu */
	TS_SLEEP,	/* on a wait queue, or waiting for a callout */
	TS_ZOMB		/* exited, not yet joined/reaped */
} tstate_t;

typedef struct kthread {
	/*
	 * resume() (intr.asm) knows these two offsets.
	 * t_sp: stack pointer saved by resume() when the thread switches out.
	 * t_live: 1 from the moment a CPU loads the thread's registers until
	 * resume() has saved them again. Another CPU that picks the thread
	 * waits for 0, so a thread put on a run queue by its own CPU (preempt,
	 * wakeup racing with sleep) is never run twice at once.
	 */
	uintptr_t t_sp;
	volatile u32 t_live;
	volatile u32 t_state;		/* tstate_t; see the queue locks */
	int t_preempt;			/* kpreempt_disable depth; owner only */
	int t_bound;			/* CPU id it is bound to, or -1; owner */
	struct cpu *volatile t_cpu;	/* CPU it runs on, last ran on, or whose
					   run queue holds it; set by swtch and
					   setrunqueue under that queue's lock */
	struct cpu *t_lastcpu;		/* CPU it last ran on; set by swtch */
	struct cpu *t_migrated_from;	/* set by swtch, cleared by swtch_done */
	struct kthread *t_link;		/* run/wait queue link; queue's lock */

	/* ctxops (kern/ctx): newest node, or NULL. Edited by ctxop_attach/
	 * detach with preemption disabled. */
	struct ctxop *t_ctx;
	spinlock_t t_ctx_lock;		/* serializes the checked path's
					   editors (ctxop.c) */
	/*
	 * Bumped by the thread at the start and at the end of each edit of
	 * its own ring (ctxop.h): odd while one is under way, and then the
	 * thread is not preempted (thread_preemptible); different if one
	 * came between two looks at it (ctxop_snapshot). Owner only.
	 */
	u32 t_ctx_gen;

	void (*t_func)(void *);		/* set at create, constant */
	void *t_arg;
	uintptr_t t_stkbase;		/* lowest address of the stack */
	size_t t_stksize;
	u64 t_id;			/* set at create, constant */
	char t_name[32];
	bool t_detached;		/* freed by the reaper, not joined */
	struct kthread *t_reap_next;	/* reap list; the reaper's lock */
	waitq_t t_joinq;		/* joiners; its lock guards TS_ZOMB */

	/* statistics, written by the CPU running the thread */
	u64 t_nswitch;			/* times switched in */
	u64 t_npreempt;			/* involuntary switches (timer) */
	u64 t_nmigrate;			/* switched in on a different CPU */

	struct kthread *t_allnext;	/* all-threads list; thread_list_lock */
	struct kthread *t_allprev;
} kthread_t;

/* intr.asm's resume() uses these offsets (T_SP, T_LIVE). */
_Static_assert(offsetof(kthread_t, t_sp) == 0, "T_SP in intr.asm");
_Static_assert(offsetof(kthread_t, t_live) == 8, "T_LIVE in intr.asm");

#define	T_SP_OFF	0
#define	T_LIVE_OFF	8

#define	THREAD_STACK_SIZE	(16 * 1024)

kthread_t *thread_create(const char *name, void (*func)(void *), void *arg,
    int cpu);				/* cpu: -1 = any; else bound there */
kthread_t *thread_create_detached(const char *name, void (*func)(void *),
    void *arg, int cpu);
/* Created but not runnable (ctxops may be attached) until thread_continue. */
kthread_t *thread_create_stopped(const char *name, void (*func)(void *),
    void *arg, int cpu);
/* A thread cloned from the caller: its ctxops' fork hooks run. */
kthread_t *thread_fork(const char *name, void (*func)(void *), void *arg,
    int cpu);
void thread_continue(kthread_t *);
__noreturn void thread_exit(void);
void thread_join(kthread_t *);

/*
 * For the monitor: what each thread is, copied under the thread list's
 * lock (the thread may exit right after). thread_snapshot fills up to max
 * and returns how many threads there are. thread_locked_call runs fn on
 * t under that lock if t is a thread (false if not): t cannot be freed
 * meanwhile, but it may run; fn reads, never blocks.
 */
struct thread_info {
	uintptr_t ti_addr;
	u64 ti_id;
	char ti_name[32];
	u32 ti_state;			/* tstate_t */
	int ti_cpu;			/* running or last ran on; -1 */
	int ti_nctx;			/* ctxops on its ring; -1: it kept
					   changing (ctxop_snapshot) */
	int ti_bound;
	u64 ti_nswitch;
};
int thread_snapshot(struct thread_info *, int max);
bool thread_locked_call(uintptr_t t, void (*fn)(kthread_t *, void *),
    void *arg);
/* The return addresses of a thread that is not on a CPU, from its saved
 * frame pointers (0 if it runs; called under thread_locked_call). */
int thread_stack_pcs(kthread_t *, uintptr_t *pcs, int max);
void thread_yield(void);
/* Bind the calling thread to a CPU (moving it there now), or -1 to unbind. */
void thread_bind(int cpu);
/* Sleep until lbolt has advanced by ticks (0: yield). */
void delay(u64 ticks);
size_t thread_count(void);
/* fn(t, arg) for every thread, under the thread list's spin lock (threads
 * and their stacks stay; fn must not block or create/end threads). */
void thread_walk(void (*fn)(kthread_t *, void *), void *arg);

/*
 * curthread: %gs:8 is the running CPU's cpu_thread (cpu.h checks the
 * offset). Here rather than in cpu.h so that the inline kpreempt_* below
 * need nothing but this header.
 */
#define	CPU_THREAD_OFF	8
#define	CPU_RUNRUN_OFF	28	/* cpu_runrun; cpu.h checks it too */

static inline kthread_t *
curthread_get(void)
{
	kthread_t *t;
	__asm__ __volatile__("movq %%gs:%c1, %0" : "=r"(t)
	    : "i"(CPU_THREAD_OFF));
	return (t);
}
#define	curthread	(curthread_get())

/*
 * kpreempt_disable/enable as illumos has them: an increment, and a
 * decrement that looks for a preemption asked for meanwhile (cpu_runrun)
 * only when it ends the outermost section. Inline, because they bracket
 * sections of a few instructions (vm_run's, the guest FPU's): a call each
 * would cost as much as the section. kpreempt() takes the pending
 * preemption (if interrupts are on; else the next interrupt's return path
 * will); kpreempt_underflow() panics.
 */
void kpreempt(void);
__noreturn void kpreempt_underflow(kthread_t *);

static inline bool
cpu_runrun_pending(void)
{
	bool pending;
	__asm__ __volatile__("cmpl $0, %%gs:%c1" : "=@ccne"(pending)
	    : "i"(CPU_RUNRUN_OFF));
	return (pending);
}

static inline void
kpreempt_disable(void)
{
	curthread->t_preempt++;
	barrier();
}

static inline void
kpreempt_enable(void)
{
	kthread_t *t = curthread;

	barrier();
	int n = --t->t_preempt;
	if (n == 0) {
		barrier();
		if (unlikely(cpu_runrun_pending()))
			kpreempt();
	} else if (unlikely(n < 0)) {
		kpreempt_underflow(t);
	}
}

static inline bool
kpreempt_disabled(void)
{
	return (curthread->t_preempt != 0);
}

/* May t (running here) be switched out involuntarily now? Not inside
 * kpreempt_disable, nor inside an edit of its ctxop ring. */
static inline bool
thread_preemptible(const kthread_t *t)
{
	return (t->t_preempt == 0 && (READ_ONCE(t->t_ctx_gen) & 1) == 0);
}

/* scheduler internals used by locks, the clock and traps */
void swtch(void);
void setrunqueue(kthread_t *);
void preempt(void);
void sched_init(void);
void sched_start_reaper(void);
void sched_cpu_start(struct cpu *) __noreturn;
void clock_tick(void);
/* Clock ticks since boot: gethrtime() / nsec_per_tick, the same on
 * every CPU. */
u64 lbolt_get(void);
#define	lbolt	(lbolt_get())
extern u32 hz;
extern bool sched_running;		/* threads are running; set once */

#endif
