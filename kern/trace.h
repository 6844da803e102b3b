/*
 * Traces: per-CPU rings of fixed-size records, written with interrupts off
 * and no locks. A full ring drops new records and counts them; the dump
 * reports the count. trace_dump() prints the records of all CPUs merged in
 * the order they were written, shaped like DTrace's output.
 */
#ifndef _KERN_TRACE_H
#define _KERN_TRACE_H

#include "types.h"

typedef enum trace_probe {
	TR_NONE = 0,
	TR_SAVECTX_ENTRY,	/* a0 = nodes on the list */
	TR_SAVECTX_RETURN,
	TR_RESTORECTX_ENTRY,	/* a0 = nodes on the list */
	TR_RESTORECTX_RETURN,
	TR_CTXOP_SAVE,		/* a0 = hook function, a1 = ctxop */
	TR_CTXOP_RESTORE,	/* a0 = hook function, a1 = ctxop */
	TR_CTXOP_ATTACH,	/* a0 = ctxop, a1 = thread attached to */
	TR_CTXOP_DETACH,	/* a0 = ctxop, a1 = thread detached from */
	TR_FPU_SAVE,		/* a0 = area */
	TR_FPU_RESTORE,		/* a0 = area */
	TR_SWTCH,		/* a0 = old thread, a1 = new thread */
	TR_MIGRATE,		/* a0 = from cpu, a1 = to cpu */
	TR_THREAD_CREATE,	/* a0 = new thread */
	TR_THREAD_FREE,		/* a0 = thread being freed */
	TR_VM_RUN_ENTRY,	/* a0 = vcpu */
	TR_VM_RUN_EXIT,		/* a0 = vcpu, a1 = vm_exitcode */
	TR_GUEST_FPU_SAVE,	/* save_guest_fpustate: a0 = vcpu */
	TR_GUEST_FPU_RESTORE,	/* restore_guest_fpustate: a0 = vcpu */
	TR_SVM_SAVECTX,		/* a0 = vcpu, a1 = cpu */
	TR_SVM_RESTORECTX,	/* a0 = vcpu, a1 = cpu */
	TR_VMX_SAVECTX,		/* a0 = vcpu, a1 = cpu */
	TR_VMX_RESTORECTX,	/* a0 = vcpu, a1 = cpu */
	TR_VMENTRY,		/* VMRUN/VMLAUNCH/VMRESUME: a0 = vcpu, a1 = kind */
	TR_VMEXIT,		/* a0 = vcpu, a1 = vm_exitcode */
	TR_VMCS_CLEAR,		/* VMCLEAR: a0 = vcpu, a1 = cpu */
	TR_VMCS_LOAD,		/* VMPTRLD: a0 = vcpu, a1 = cpu */
	TR_ASID_NEW,		/* a0 = vcpu, a1 = new ASID/VPID */
	TR_NPROBES
} trace_probe_t;

typedef struct trace_rec {
	u64 tr_seq;		/* global order of writing */
	u64 tr_time;		/* gethrtime() */
	u64 tr_thread;		/* kthread_t * */
	u64 tr_a0, tr_a1;
	u16 tr_cpu;
	u16 tr_probe;
	u32 tr_pad;
} trace_rec_t;

extern volatile bool trace_on;		/* off: probes cost one load */

void trace_init(void);			/* after kmem_init */
void trace_rec(trace_probe_t, u64 a0, u64 a1);
struct kthread;
void trace_rec_thread(struct kthread *, trace_probe_t, u64 a0, u64 a1);
void trace_reset(void);			/* empty all rings, zero drop counts */
void trace_dump(void);			/* print and empty the rings */
u64 trace_dropped(void);
u64 trace_count(trace_probe_t);		/* records of a probe now */
void trace_set_limit(u32 records_per_ring);	/* 0: the whole ring */

#define	TRACE_T(t, p, a0, a1) do {					\
	if (unlikely(trace_on))						\
		trace_rec_thread((t), (p), (u64)(a0), (u64)(a1));	\
} while (0)
#define	TRACE(p, a0, a1) do {						\
	if (unlikely(trace_on))						\
		trace_rec((p), (u64)(a0), (u64)(a1));			\
} while (0)

#endif
