/*
 * Per-vCPU statistics, declared one line each (as bhyve's VMM_STAT).
 * The first VM_EXIT_NCODES counters are the exits, one per code of
 * VM_EXITS (vmm_exit.h), so counter VMM_STAT_VMEXIT_<CODE> has the index
 * VM_EXIT_<CODE>; VMM_STATS(X) expands X(id, description) for the rest.
 * vmm.c turns both lists into the tables of names and descriptions.
 */
#ifndef _KERN_VMM_VMM_STAT_H
#define _KERN_VMM_VMM_STAT_H

#include "vmm_exit.h"

#define	VMM_STATS(X)							\
	X(VMEXIT_TOTAL,		"exits of any kind")			\
	X(VMRUN_ENTRIES,	"guest entries")			\
	X(VM_RUN_CALLS,		"vm_run calls (attach/detach pairs)")	\
	X(SWITCH_IN_WINDOW,	"switched out with guest FPU loaded")	\
	X(MIGRATE_IN_WINDOW,	"came back on another CPU inside vm_run") \
	X(ASID_NEW,		"new ASIDs / VPID flushes")		\
	X(EVENT_EXTINT,		"external interrupts injected")		\
	X(EVENT_NMI,		"NMIs injected")			\
	X(EVENT_EXCEPTION,	"exceptions injected")			\
	X(EVENT_REINJECTED,	"events an exit cut short, delivered again") \
	X(INSN_LENGTH_DECODED,	"exits whose instruction was longer than its opcode (no NRIP)") \
	X(NPF_IN_SHADOW,	"nested page faults with an STI/MOV SS shadow reported") \
	X(EVENT_DROPPED,	"events dropped (vmm_inject_drop_reinject)") \
	X(HLT_SLEEPS,		"sleeps in HLT (to the PIT edge, a tick at most)") \
	X(ISA_INOUT,		"port accesses the PC's chips took (PIC, PIT, RTC, UART, ...)") \
	X(ABI_INOUT,		"parameter, RAM-size and report port accesses vm_run answered") \
	X(STRIO_ELEMENTS,	"string port I/O elements emulated (INS/OUTS)") \
	X(MMIO_EMULATED,	"APIC and IOAPIC accesses emulated") \
	X(EVENT_LAPIC,		"local APIC interrupts injected") \
	X(ENTRY_EVENTS_ASKED,	"entries that asked the devices for events") \
	X(XCR0_SWITCHES,	"XSETBVs between the host's XCR0 and the guest's") \
	X(SIPI_TAKEN,		"SIPIs (and INITs) that started the vCPU") \
	X(QEMU_MTTCG_NPF,	"NPFs walking the host's page tables (QEMU MTTCG defect)") \
	X(QEMU_INVALID_AS_GP,	"guest MOV CRs QEMU failed as VMEXIT_INVALID, given #GP")

#define	VMM_STAT_EXIT_ENUM(code, name, desc)	VMM_STAT_VMEXIT_##code,
#define	VMM_STAT_ENUM(id, desc)			VMM_STAT_##id,
enum vmm_stat_id {
	VMM_STAT_VMEXIT_NONE,
	VM_EXITS(VMM_STAT_EXIT_ENUM)
	VMM_STATS(VMM_STAT_ENUM)
	VMM_NSTATS
};
#undef VMM_STAT_EXIT_ENUM
#undef VMM_STAT_ENUM
_Static_assert(VMM_STAT_VMEXIT_UNHANDLED == (int)VM_EXIT_UNHANDLED &&
    VMM_STAT_VMEXIT_TOTAL == (int)VM_EXIT_NCODES,
    "exit counters are indexed by exit code");

extern const char *const vmm_stat_desc[VMM_NSTATS];
extern const char *const vmm_stat_name[VMM_NSTATS];

#define	vmm_stat_incr(vcpu, id)	((vcpu)->vc_stats[VMM_STAT_##id]++)
/* The one place an exit is counted: by the code vm_run acted on. */
#define	vmm_stat_exit(vcpu, code) ((vcpu)->vc_stats[(code)]++)

#endif
