/*
 * Per-CPU data. %gs points at the running CPU's cpu_t; cpu_self and
 * cpu_thread sit at fixed offsets so CPU and curthread are one load each.
 */
#ifndef _KERN_CPU_H
#define _KERN_CPU_H

#include "types.h"
#include "sync.h"
#include "thread.h"

#define	NCPU		16

struct tss {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __packed;

typedef struct runq {
	spinlock_t rq_lock;
	kthread_t *rq_head;		/* FIFO through t_link; rq_lock */
	kthread_t *rq_tail;
	volatile u32 rq_count;		/* read without the lock as a hint */
	volatile u32 rq_nunbound;	/* threads another CPU may steal */
} runq_t;

typedef struct cpu {
	struct cpu *cpu_self;		/* %gs:0, constant */
	kthread_t *volatile cpu_thread;	/* %gs:8, set by swtch, interrupts off */
	int cpu_id;			/* logical id, 0 = boot CPU; constant */
	u32 cpu_apicid;			/* from the MADT; constant */
	volatile bool cpu_ready;	/* set once by the CPU when it is up */
	volatile bool cpu_idling;	/* in the idle loop's hlt; own CPU */
	volatile int cpu_runrun;	/* a switch is wanted at the next chance;
					   set by the tick or IPI, cleared by swtch */
	int cpu_nspin;			/* spin locks held; own CPU only */
	bool cpu_spin_intr;		/* IF before the outermost spin lock */
	int cpu_intr_depth;		/* nesting of interrupt handlers */
	kthread_t *cpu_idle_thread;	/* constant once the CPU is up */
	kthread_t *cpu_ctx_walk;	/* thread whose ctx hooks are running */
	kthread_t *cpu_ctx_fast;	/* the thread that may edit its own
					   ctxops inline (ctxop.h), or NULL;
					   own CPU only */
	struct vcpu *cpu_guest_fpu;	/* vCPU whose FPU is in the registers;
					   set/cleared by (restore|save)_guest_
					   fpustate, preemption disabled */
	void *cpu_vmm;			/* backend's per-CPU state */
	runq_t cpu_runq;

	/* the clock and callouts (kern/callout.c) */
	spinlock_t cpu_co_lock;		/* the two below; taken by any CPU */
	struct callout *cpu_co_head;	/* pending callouts, by deadline */
	struct callout *volatile cpu_co_running; /* the one whose function
					   is running now, or NULL */
	hrtime_t cpu_next_tick;		/* next clock tick; own CPU, intr off */
	hrtime_t cpu_timer_when;	/* what the APIC timer is set for; ditto */

	/* statistics; written by this CPU only */
	u64 cpu_ticks;
	u64 cpu_nswitch;
	u64 cpu_npreempt;
	u64 cpu_nmigrate;		/* threads that arrived from another CPU */
	u64 cpu_nintr;
	u64 cpu_ncallout;		/* callouts fired here */
	u64 cpu_ncallout_stop;		/* callouts removed by callout_stop
					   (by any CPU, under cpu_co_lock) */
	u64 cpu_ntimer;			/* timer interrupts (ticks + early) */

	u64 cpu_gdt[8] __aligned(16);	/* null, kcode, kdata, tss (2), spare */
	struct tss cpu_tss __aligned(16);
	void *cpu_ist_stacks;		/* double fault and NMI stacks */
} cpu_t;

#define	SEL_KCODE	0x08
#define	SEL_KDATA	0x10
#define	SEL_TSS		0x18

extern cpu_t cpus[NCPU];
extern int ncpus;			/* CPUs brought up */

static inline cpu_t *
curcpu(void)
{
	cpu_t *c;
	__asm__ __volatile__("movq %%gs:0, %0" : "=r"(c));
	return (c);
}

#define	CPU		(curcpu())
/* curthread is thread.h's (%gs:8); its inline kpreempt_enable reads
 * cpu_runrun by offset too. */
_Static_assert(offsetof(cpu_t, cpu_thread) == CPU_THREAD_OFF, "curthread");
_Static_assert(offsetof(cpu_t, cpu_runrun) == CPU_RUNRUN_OFF, "cpu_runrun");

void cpu_setup_tables(cpu_t *);	/* GDT, TSS, IDT, GS base on this CPU */
void idt_init(void);
void mp_start_aps(void);
int acpi_find_cpus(u32 *apicids, int max);

#endif
