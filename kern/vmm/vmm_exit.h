/*
 * Every exit vm_run() knows, declared once (as NOVA and bhyve keep one
 * list): X(CODE, "name", "what its counter counts"). The enum
 * vm_exitcode, vm_exitcode_name() and one per-vCPU counter per exit
 * (VMM_STAT_VMEXIT_<CODE>, vmm_stat.h) are generated from it, and trace
 * dumps print the names, so nothing outside this list knows the numbers.
 *
 * The first group is finished inside vm_run's loop, the second makes
 * vm_run return to its caller. OUTOFMAP is not a hardware exit: vm_run
 * turns an NPF outside guest RAM into it.
 */
#ifndef _KERN_VMM_VMM_EXIT_H
#define _KERN_VMM_VMM_EXIT_H

#define	VM_EXITS(X)							\
	X(CPUID,	"cpuid",	"CPUID exits")			\
	X(RDMSR,	"rdmsr",	"RDMSR exits")			\
	X(WRMSR,	"wrmsr",	"WRMSR exits")			\
	X(HLT,		"hlt",		"HLT exits")			\
	X(HYPERCALL,	"hypercall",	"VMMCALL/VMCALL exits")		\
	X(XSETBV,	"xsetbv",	"XSETBV exits")			\
	X(CR8,		"cr8",		"MOV to/from CR8 (the local APIC's TPR)") \
	X(CR0,		"cr0",		"guest writes to CR0 (SVM: checked as the CPU checks them)") \
	X(DR,		"dr",		"MOV to/from a debug register (DR7 is virtual)") \
	X(UD,		"ud",		"instructions the VM lacks (#UD raised)") \
	X(GP,		"gp",		"instructions answered with #GP(0) (RDPMC)") \
	X(SKIP,		"skip",		"instructions that do nothing in a VM (INVD, WBINVD)") \
	X(NPF,		"npf",		"nested page faults on RAM (mapped on demand)") \
	X(INTR,		"intr",		"host interrupts while in the guest") \
	X(INTR_WINDOW,	"intr_window",	"the guest became able to take an interrupt") \
	X(NMI_WINDOW,	"nmi_window",	"the guest became able to take an NMI") \
	X(HANDLED,	"handled",	"exits the backend finished (VMX CR0/CR4)") \
	X(INOUT,	"inout",	"port I/O exits to the device model") \
	X(INOUT_STR,	"inout_str",	"string/REP port I/O, emulated") \
	X(SHUTDOWN,	"shutdown",	"triple faults (and double faults)") \
	X(OUTOFMAP,	"outofmap",	"accesses outside the guest's RAM") \
	X(VMFAIL,	"vmfail",	"failed guest entries")		\
	X(HALTED,	"halted",	"HLT with interrupts disabled and nothing to wake it") \
	X(STOPPED,	"stopped",	"vCPUs stopped by vm_request_stop") \
	X(UNHANDLED,	"unhandled",	"exits not emulated")

/* Why vm_run() returned, or what the backend decoded (vm_exit.exitcode). */
#define	VM_EXIT_ENUM(code, name, desc)	VM_EXIT_##code,
enum vm_exitcode {
	VM_EXIT_NONE = 0,		/* not decoded (a backend bug) */
	VM_EXITS(VM_EXIT_ENUM)
	VM_EXIT_NCODES
};
#undef VM_EXIT_ENUM

const char *vm_exitcode_name(enum vm_exitcode);

#endif
