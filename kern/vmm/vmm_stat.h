/*
 * Per-vCPU statistics, declared one line each (as bhyve's VMM_STAT).
 * VMM_STATS(X) expands X(id, description) for every counter; vmm.c
 * turns the list into an enum and a table of names.
 */
#ifndef _KERN_VMM_VMM_STAT_H
#define _KERN_VMM_VMM_STAT_H

#define	VMM_STATS(X)							\
	X(VMEXIT_TOTAL,		"exits of any kind")			\
	X(VMEXIT_CPUID,		"CPUID exits")				\
	X(VMEXIT_RDMSR,		"RDMSR exits")				\
	X(VMEXIT_WRMSR,		"WRMSR exits")				\
	X(VMEXIT_HLT,		"HLT exits")				\
	X(VMEXIT_HYPERCALL,	"VMMCALL/VMCALL exits")			\
	X(VMEXIT_XSETBV,	"XSETBV exits")				\
	X(VMEXIT_NPF,		"nested page faults (RAM mapped on demand)") \
	X(VMEXIT_INTR,		"host interrupts while in the guest")	\
	X(VMEXIT_BACKEND,	"exits the backend finished (VMX CR0)")	\
	X(VMEXIT_INOUT,		"port I/O exits to the device model")	\
	X(VMEXIT_SHUTDOWN,	"triple faults")			\
	X(VMEXIT_OUTOFMAP,	"accesses outside the guest's map")	\
	X(VMEXIT_VMFAIL,	"failed guest entries")			\
	X(VMEXIT_UNHANDLED,	"exits not emulated")			\
	X(VMRUN_ENTRIES,	"guest entries")			\
	X(VM_RUN_CALLS,		"vm_run calls (attach/detach pairs)")	\
	X(SWITCH_IN_WINDOW,	"switched out with guest FPU loaded")	\
	X(MIGRATE_IN_WINDOW,	"came back on another CPU inside vm_run") \
	X(ASID_NEW,		"new ASIDs / VPID flushes")

#define	VMM_STAT_ENUM(id, desc)	VMM_STAT_##id,
enum vmm_stat_id { VMM_STATS(VMM_STAT_ENUM) VMM_NSTATS };
#undef VMM_STAT_ENUM

extern const char *const vmm_stat_desc[VMM_NSTATS];
extern const char *const vmm_stat_name[VMM_NSTATS];

#define	vmm_stat_incr(vcpu, id)	((vcpu)->vc_stats[VMM_STAT_##id]++)

#endif
