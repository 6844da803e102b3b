/*
 * Traces: per-CPU rings of fixed-size records, written with interrupts off
 * and no locks. A full ring drops new records and counts them; the dump
 * reports the count. trace_dump() prints the records of all CPUs merged in
 * the order they were written, shaped like DTrace's output.
 */
#ifndef _KERN_TRACE_H
#define _KERN_TRACE_H

#include "types.h"

/*
 * Every probe, declared once: X(ID, "function", "name", a0, how0, a1,
 * how1), an argument's name (NULL: not shown) and how it prints: NUM (a
 * number), SYM (a function, by name), EXIT (a vm_exitcode, by name) or
 * KIND (a trace_entry_kind, by name). The enum and trace.c's table come
 * from it.
 */
#define	TRACE_PROBES(X)							\
	X(SAVECTX_ENTRY, "savectx", "entry", "nodes", NUM, NULL, NUM)	\
	X(SAVECTX_RETURN, "savectx", "return", NULL, NUM, NULL, NUM)	\
	X(RESTORECTX_ENTRY, "restorectx", "entry", "nodes", NUM, NULL, NUM) \
	X(RESTORECTX_RETURN, "restorectx", "return", NULL, NUM, NULL, NUM) \
	X(CTXOP_SAVE, "ctxop", "save", "hook", SYM, "op", NUM)		\
	X(CTXOP_RESTORE, "ctxop", "restore", "hook", SYM, "op", NUM)	\
	X(CTXOP_ATTACH, "ctxop_attach", "attach", "op", NUM,		\
	    "thread", NUM)						\
	X(CTXOP_DETACH, "ctxop_detach", "detach", "op", NUM,		\
	    "thread", NUM)						\
	X(FPU_SAVE, "fpu_save", "save", "area", NUM, NULL, NUM)		\
	X(FPU_RESTORE, "fpu_restore", "restore", "area", NUM, NULL, NUM) \
	X(SWTCH, "swtch", "switch", "old", NUM, "new", NUM)		\
	X(MIGRATE, "swtch", "migrate", "from", NUM, "to", NUM)		\
	X(THREAD_CREATE, "thread", "create", "new", NUM, NULL, NUM)	\
	X(THREAD_FREE, "thread", "free", "thread", NUM, NULL, NUM)	\
	X(VM_RUN_ENTRY, "vm_run", "entry", "vcpu", NUM, NULL, NUM)	\
	X(VM_RUN_EXIT, "vm_run", "return", "vcpu", NUM, "exit", EXIT)	\
	X(GUEST_FPU_SAVE, "save_guest_fpustate", "entry", "vcpu", NUM,	\
	    NULL, NUM)							\
	X(GUEST_FPU_RESTORE, "restore_guest_fpustate", "entry",		\
	    "vcpu", NUM, NULL, NUM)					\
	X(SVM_SAVECTX, "svm_savectx", "entry", "vcpu", NUM, "cpu", NUM)	\
	X(SVM_RESTORECTX, "svm_restorectx", "entry", "vcpu", NUM,	\
	    "cpu", NUM)							\
	X(VMX_SAVECTX, "vmx_savectx", "entry", "vcpu", NUM, "cpu", NUM)	\
	X(VMX_RESTORECTX, "vmx_restorectx", "entry", "vcpu", NUM,	\
	    "cpu", NUM)							\
	X(VMENTRY, "vmentry", "entry", "vcpu", NUM, "kind", KIND)	\
	X(VMEXIT, "vmexit", "exit", "vcpu", NUM, "reason", EXIT)	\
	X(VMCS_CLEAR, "vmx", "vmclear", "vcpu", NUM, "cpu", NUM)	\
	X(VMCS_LOAD, "vmx", "vmptrld", "vcpu", NUM, "cpu", NUM)		\
	X(ASID_NEW, "svm", "new_asid", "vcpu", NUM, "asid", NUM)	\
	X(INJECT, "inject", "event", "vcpu", NUM, "event", NUM)

#define	TRACE_PROBE_ENUM(id, fn, name, a0, f0, a1, f1)	TR_##id,
typedef enum trace_probe {
	TR_NONE = 0,
	TRACE_PROBES(TRACE_PROBE_ENUM)
	TR_NPROBES
} trace_probe_t;
#undef TRACE_PROBE_ENUM

/* TR_VMENTRY's kind: which instruction entered the guest. */
enum trace_entry_kind {
	TR_ENTRY_VMRUN, TR_ENTRY_VMLAUNCH, TR_ENTRY_VMRESUME
};

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
void trace_reset(void);			/* empty all rings, zero drop counts */
void trace_dump(void);			/* print and empty the rings */
u64 trace_dropped(void);
u64 trace_count(trace_probe_t);		/* records of a probe now */
void trace_set_limit(u32 records_per_ring);	/* 0: the whole ring */
/*
 * Which probes record: patterns "a,b" of globs on "FUNCTION:NAME" or on
 * FUNCTION ("ctxop:*", "vm*"); on or off; only: every other probe off
 * first. The number of probes matched, -1 if a pattern matched none.
 */
int trace_select(const char *patterns, bool on, bool only);
/* Record only on this CPU (-1: any), thread, vCPU (0: any). */
void trace_filter(int cpu, u64 thread, u64 vcpu);
/* Each probe, on or off, its records now; the filters (the monitor). */
void trace_list(void (*pr)(void *, const char *, ...), void *arg);

/*
 * A compare of trace_on in memory and the branch: GCC loads a volatile
 * into a register and tests it (three instructions) where the asm's flag
 * output gives the two docs/tracing.md promises.
 */
static inline bool
trace_is_on(void)
{
	bool on;
	__asm__ __volatile__("cmpb $0, %1" : "=@ccne"(on) : "m"(trace_on));
	return (on);
}

#define	TRACE(p, a0, a1) do {						\
	if (unlikely(trace_is_on()))					\
		trace_rec((p), (u64)(a0), (u64)(a1));			\
} while (0)

#endif
