/*
 * bhyvelet's hypervisor core: VMs, vCPUs, VM_RUN. Backend-neutral: the
 * VMX and SVM backends plug in through struct vmm_ops and never see each
 * other; this file never asks which one runs.
 *
 * Field tags: [c] set at create, constant after; [o] owner vCPU thread
 * only; [p] owner thread with preemption disabled (also read by its
 * ctxop hooks, which run on the same thread); [l] under the named lock.
 */
#ifndef _KERN_VMM_VMM_H
#define _KERN_VMM_VMM_H

#include "../types.h"
#include "../sync.h"
#include "../fpu.h"
#include "../callout.h"
#include "vmm_stat.h"
#include "../thread.h"

struct vm;
struct vcpu;
struct ctxop;
struct kthread;

/* Guest registers, by name, for getreg/setreg. */
enum vm_reg {
	VM_REG_RAX, VM_REG_RBX, VM_REG_RCX, VM_REG_RDX, VM_REG_RSI,
	VM_REG_RDI, VM_REG_RBP, VM_REG_RSP, VM_REG_R8, VM_REG_R9, VM_REG_R10,
	VM_REG_R11, VM_REG_R12, VM_REG_R13, VM_REG_R14, VM_REG_R15,
	VM_REG_RIP, VM_REG_RFLAGS, VM_REG_CR0, VM_REG_CR2, VM_REG_CR3,
	VM_REG_CR4, VM_REG_EFER,
	/* The SYSCALL/SWAPGS MSRs: VM entry and exit leave them to us. */
	VM_REG_STAR, VM_REG_LSTAR, VM_REG_CSTAR, VM_REG_SFMASK,
	VM_REG_KGS_BASE,
	VM_REG_FS_BASE, VM_REG_GS_BASE,	/* the segments' bases (WRMSR) */
	VM_REG_DR0, VM_REG_DR1, VM_REG_DR2, VM_REG_DR3,	/* vc_dr: the core's */
	VM_REG_INTR_SHADOW,	/* 1: STI or MOV SS shadow (no interrupt now) */
	VM_REG_NMI_BLOCKED,	/* 1: an NMI handler runs (until its IRET) */
	VM_REG_LAST
};
#define	VM_NGPR		(VM_REG_R15 + 1)	/* RAX .. R15 come first */

/* The segment registers, in the x86 encoding (vie_seg's order), then the
 * descriptor-table registers (base and limit only). */
enum vm_seg {
	VM_SEG_ES, VM_SEG_CS, VM_SEG_SS, VM_SEG_DS, VM_SEG_FS, VM_SEG_GS,
	VM_SEG_GDTR, VM_SEG_IDTR,
	VM_SEG_LAST
};

/*
 * A segment register's hidden part, backend-neutral. vsd_attr holds the
 * descriptor's attribute bits as the VMCB packs them: bits 0-7 type, S,
 * DPL, P; 8 AVL, 9 L, 10 D/B, 11 G (VMX's access rights shifted down; an
 * unusable VMX segment reads as not present).
 */
struct vm_seg_desc {
	u64 vsd_base;
	u32 vsd_limit;		/* in bytes, granularity applied */
	u16 vsd_sel;
	u16 vsd_attr;
};
#define	VM_SEG_ATTR_DPL(a)	(((a) >> 5) & 3)
#define	VM_SEG_ATTR_P		(1U << 7)
#define	VM_SEG_ATTR_L		(1U << 9)
#define	VM_SEG_ATTR_D		(1U << 10)
#define	VM_SEG_ATTR_G		(1U << 11)

/*
 * An event for the guest: what the core decides to inject, and what the
 * backend reports an exit cut short (vm_exit.exitintinfo). Both vendors'
 * formats carry the same facts; the backends translate.
 */
enum vm_event_type {
	VM_EVENT_NONE = 0,
	VM_EVENT_EXTINT,	/* an external interrupt (the PIC's vector) */
	VM_EVENT_NMI,
	VM_EVENT_EXCEPTION,	/* a fault or trap the CPU raised */
	VM_EVENT_SOFT_EXCEPTION,/* INT3 / INTO (reinjected) */
	VM_EVENT_SOFTINT	/* INT n (reinjected) */
};

struct vm_event {
	enum vm_event_type type;
	u8 vector;
	bool has_errcode;
	u32 errcode;
	u32 inst_length;	/* soft types: the instruction's length */
};

struct vm_exit {
	enum vm_exitcode exitcode;
	u64 rip;		/* of the exiting instruction */
	u32 inst_length;	/* 0 = leave RIP alone */
	bool inst_length_guessed; /* the opcode's bare length (no NRIP):
				   vm_run asks the decoder for the real one */
	u64 hw_reason;		/* the backend's own exit code */
	union {
		struct {
			u16 port;
			u8 bytes;	/* 1, 2 or 4 */
			bool in;
			u32 eax;	/* out: the value; in: the caller fills it */
		} inout;
		struct {
			u16 port;
			u8 bytes;	/* 1, 2 or 4 */
			bool in;	/* INS (else OUTS) */
			bool rep;	/* F3/F2 prefix: rCX elements */
		} inout_str;	/* VM_EXIT_INOUT_STR: vm_strio_emulate */
		struct {
			u64 gpa;
			u64 info;	/* backend's fault bits */
		} npf;
		struct {
			u32 msr;
			u64 value;
		} msr;
		struct {
			u64 xcr0;
		} xsetbv;
		struct {
			bool write;	/* MOV to CR8 (else from) */
			int gpr;	/* its register, in the x86
					   encoding; -1: vm_run decodes
					   the instruction (no assists) */
		} cr8;
		struct {
			bool write;	/* MOV to DRn (else from) */
			int gpr;	/* as cr8's */
			u8 dr;		/* n (SVM: 5 or 7; decoded if
					   gpr is -1) */
		} dr;
	} u;
	/* An event whose delivery this exit interrupted (SVM EXITINTINFO,
	 * VMX IDT-vectoring information): vm_run delivers it again. */
	struct vm_event exitintinfo;
	char reason[120];	/* for VM_EXIT_VMFAIL / UNHANDLED / SHUTDOWN */
};

/* Before each entry: all but the reason's text, which only the exits
 * that set it read (a full memset was a quarter of a CPUID exit). Eight
 * stores: GCC makes the memset a call and two REP STOS, which Bochs
 * counts per element. */
#define	VM_EXIT_CLEARED	__builtin_offsetof(struct vm_exit, reason)
_Static_assert(VM_EXIT_CLEARED % 8 == 0, "vm_exit_clear stores u64s");
static inline void
vm_exit_clear(struct vm_exit *vme)
{
	u64 *p = (u64 *)vme;

#pragma GCC unroll 16
	for (size_t i = 0; i < VM_EXIT_CLEARED / 8; i++)
		p[i] = 0;
	vme->reason[0] = '\0';
}

/* A page-table entry format: EPT and NPT differ only here. */
struct vmm_pte_ops {
	u64 (*pte_table)(paddr_t next);		/* an entry pointing at a table */
	u64 (*pte_leaf)(paddr_t page);		/* a 4 KiB RAM mapping (RWX) */
	/* A PDE mapping 2 MiB of RAM (RWX); 0 when this CPU's tables have
	 * no 2 MiB leaves, and the walker uses 4 KiB ones instead. */
	u64 (*pte_leaf_2m)(paddr_t page);
	bool (*pte_present)(u64 pte);
	bool (*pte_large)(u64 pde);		/* a PDE that is a 2 MiB leaf */
	paddr_t (*pte_addr)(u64 pte);
};

#define	VMM_PAGE_2M	(2UL << 20)

/* One nested page table: EPT or NPT by its pte_ops. */
typedef struct vmm_gpt {
	paddr_t gpt_root;			/* [c] PML4 */
	const struct vmm_pte_ops *gpt_ops;	/* [c] */
	kmutex_t gpt_lock;			/* guards the tables */
	u64 gpt_leaves_4k;			/* [gpt_lock] leaves written */
	u64 gpt_leaves_2m;			/* [gpt_lock] */
} vmm_gpt_t;

/* The backend table, after bhyve's struct vmm_ops. */
struct vmm_ops {
	const char *name;
	bool (*probe)(char *why, size_t len);	/* hardware usable? */
	void (*init)(void);			/* once, boot CPU */
	void (*cpu_init)(void);			/* on every CPU */
	int (*vm_init)(struct vm *);		/* per-VM backend state */
	void (*vm_cleanup)(struct vm *);
	int (*vcpu_init)(struct vcpu *);	/* VMCB/VMCS, guest reset state */
	void (*vcpu_cleanup)(struct vcpu *);
	/* Enter the guest once, decode the exit. Interrupts off on entry
	 * and return; the backend opens them around the guest itself. */
	void (*vmrun)(struct vcpu *, struct vm_exit *);
	u64 (*getreg)(struct vcpu *, enum vm_reg);
	void (*setreg)(struct vcpu *, enum vm_reg, u64);
	/* A segment register's selector, base, limit and attributes. */
	void (*getseg)(struct vcpu *, enum vm_seg, struct vm_seg_desc *);
	void (*setseg)(struct vcpu *, enum vm_seg, const struct vm_seg_desc *);
	/* Deliver ev at the next entry (the core checked it can be taken). */
	void (*inject)(struct vcpu *, const struct vm_event *ev);
	/* Exit as soon as the guest can take an interrupt / an NMI. */
	void (*set_windows)(struct vcpu *, bool intr, bool nmi);
	void (*savectx)(struct vcpu *);		/* vmm_savectx, first */
	void (*restorectx)(struct vcpu *);	/* vmm_restorectx, last */
	/* The exiting instruction is done: RIP is rip, and an STI or MOV
	 * SS shadow it sat in is over (vm_skip_insn: the owner thread, or
	 * anyone while the vCPU has none). */
	void (*advance)(struct vcpu *, u64 rip);
	/* The benchmark floor (vm_exit_floor): enter the guest, and after
	 * each CPUID or OUT exit step over the instruction and enter again,
	 * nothing else; return the exits so resumed, the first other exit
	 * decoded in the vm_exit. Interrupts and preemption off. */
	u32 (*floor)(struct vcpu *, struct vm_exit *);
	const struct vmm_pte_ops *pte_ops;
};

extern const struct vmm_ops *vmm_ops;	/* NULL: no usable backend */
extern const struct vmm_ops vmm_ops_svm, vmm_ops_vmx;

#define	VM_MAXCPU	16
#define	VM_NAMELEN	24

/* vtc_status bits (vcpu->vtc_status), as illumos's vm_thread_ctx_t. */
#define	VTCS_FPU_RESTORED	0x1	/* guest FPU (and DR0-3/DR6) is in
					   the registers */
#define	VTCS_RUN_WINDOW		0x2	/* inside vm_run's loop (the guest
					   FPU is loaded lazily there) */
#define	VTCS_FPU_CTX_CRITICAL	0x4	/* from the entry's FPU restore to
					   the exit, preemption off: a switch
					   there (a bug, a sleep in it) must
					   come back with the guest FPU */

struct vcpu {
	struct vm *vc_vm;		/* [c] */
	int vc_id;			/* [c] */
	char vc_name[VM_NAMELEN + 8];	/* [c] "vm/vcpuN" */
	struct ctxop *vc_ctxop;		/* [c] allocated at create, freed at
					   destroy; attached only in vm_run */
	u64 *vc_gpr[VM_NGPR];		/* [c] set by the backend's vcpu_init:
					   where each GPR lives in memory, or
					   NULL (only getreg reaches it) */
	u32 vtc_status;			/* [p] VTCS_* */
	u32 vc_entries_seen;		/* [p] vmm_inject_critical_yield's */
	u32 vc_reports;			/* [o] writes to the report port */
	u32 vc_last_report;		/* [o] and the last value written */
	fpu_area_t vc_guest_fpu;	/* [p] guest FPU when not loaded */
	fpu_area_t vc_host_fpu;		/* [p] host FPU while guest's loaded */
	bool vc_host_fpu_owned;		/* [o] set at vm_run's start: the
					   thread has an FPU context, so
					   vc_host_fpu is kept around the
					   guest's */
	u64 vc_guest_xcr0;		/* [p] XCR0 the guest set (XSETBV) */
	bool vc_xcr0_live;		/* [p] guest XCR0 loaded with its FPU:
					 * set once its CR4.OSXSAVE was seen
					 * (vm_xcr0_follow_cr4), or by SVM's
					 * vcpu_init (sees no CR4 write) */
	u64 vc_scratch_msr;		/* [o] MSR 0x40000010 */
	u64 vc_tsc_aux;			/* [o] TSC_AUX as the guest wrote it
					   (RDTSCP's ECX, RDPID's; SVM loads
					   it for the guest, svm_vmrun) */
	u64 vc_msr_pat;			/* [o] IA32_PAT as the guest wrote it
					   (stored only: guest RAM is WB) */
	struct kthread *vc_thread;	/* [o] thread inside vm_run, or NULL */
	struct kthread *volatile vc_owner; /* thread that runs this vCPU, from
					   its first vm_run to vcpu_release;
					   claimed by CAS */
	int vc_lastcpu;			/* [p] CPU of the last guest entry */
	bool vc_pending_in;		/* [o] an IN completes at next entry */
	u8 vc_pending_in_bytes;
	u32 vc_pending_in_eax;
	void *vc_backend;		/* [c] backend's per-vCPU state */
	u64 vc_stats[VMM_NSTATS];	/* [o]/[p] per-vCPU counters */
	/* Events (vmm_intr.c): decided at each entry by vm_run. */
	u64 vc_dr[5];			/* [p] the guest's DR0-DR3 and DR6
					   while not loaded (VTCS_FPU_RESTORED
					   clear) */
	u64 vc_dr7;			/* [o] the guest's DR7: virtual on both
					   backends (vm_handle_dr) */
	u64 vc_host_dr[5];		/* [p] the host's, while the guest's
					   are loaded */
	struct vm_event vc_exc;		/* [o] an exception to raise */
	u64 vc_exc_cr2;			/* [o] its CR2 (a #PF) */
	struct vm_event vc_exitintinfo;	/* [o] cut short by the last exit */
	volatile bool vc_nmi_pending;	/* any thread (vm_inject_nmi) */
	/* The quiet entry (vm_entry_events): the devices are asked again
	 * only when something may have changed since they last said
	 * "nothing pending". */
	u32 vc_ev_dirty;		/* any thread, atomic: set by
					   vm_notify_vcpu and by vm_run after
					   exits that touch a device; taken
					   (cleared) by the entry that asks */
	bool vc_ev_more;		/* [o] the last asking left an event
					   pending (blocked, or more queued) */
	hrtime_t vc_ev_deadline;	/* [o] the devices' next deadline as
					   of that asking (0: none) */
	kmutex_t vc_wait_lock;		/* guards the HLT sleep: */
	kcondvar_t vc_wait_cv;		/* vm_notify_vcpu signals it */
	/* Kicks (vmm_intr.c): a vCPU in guest mode sees nothing new until
	 * its host CPU takes an interrupt. */
	volatile int vc_guest_cpu;	/* [o] CPU it runs the guest on, from
					   the entry's event check to the
					   exit; -1 otherwise (read by any) */
	callout_t vc_kick;		/* [o] on vc_guest_cpu at the next
					   device deadline (the PIT's edge) */
	hrtime_t vc_kick_when;		/* [o] its deadline while pending */
	u64 vc_kicks_sent;		/* IPIs vm_notify_vcpu sent (atomic) */
	struct vlapic *vc_vlapic;	/* [c] its local APIC (vmm_lapic.c) */
	/* INIT/SIPI, under vc_wait_lock (the APIC callbacks set them,
	 * vm_sipi_wait on the owner thread takes them). */
	bool vc_wait_sipi;		/* waits for a SIPI: an AP, or INIT */
	bool vc_init;			/* INIT came: reset the registers */
	int vc_sipi_vector;		/* the SIPI's page, or -1 */
	enum vm_exitcode vc_last_exit;	/* [o] the last exit (the monitor reads
					   it racily) */
	/* While vm_paused holds it, the owner's copy of its registers for
	 * the monitor's ::regs (vc_snap_valid under vc_wait_lock). */
	bool vc_snap_valid;
	u64 vc_snap[VM_REG_LAST];
	struct vm_seg_desc vc_snap_seg[VM_SEG_LAST];
	bool vc_dead;			/* [o] stopped; vm_run refuses */
	char vc_dead_reason[120];	/* [o] */
};

struct vm {
	char vm_name[VM_NAMELEN];	/* [c] */
	paddr_t vm_mem;			/* [c] guest RAM: host-contiguous */
	u64 vm_memsize;			/* [c] bytes; gpa 0 .. memsize */
	vmm_gpt_t vm_gpt;		/* [c] root and format; the tables
					   under vm_gpt.gpt_lock */
	bool vm_premapped;		/* [c] all RAM mapped by vm_create */
	int vm_nvcpus;			/* [c] */
	struct vcpu *vm_vcpu[VM_MAXCPU];/* [c] */
	void *vm_backend;		/* [c] */
	u32 vm_param;			/* [c] guest's parameter (port 0x4f8) */
	bool vm_quiet;			/* [c] nothing on the console about it
					   (the fuzzer's thousands of guests) */
	bool vm_abi_in_thread;		/* [c] tests: the parameter, RAM-size
					   and report ports go to the vCPU
					   thread's device model (vm_run
					   returns) instead of vm_run's loop */
	struct vatpic *vm_atpic;	/* [c] the 8259A pair (kern/vmm/io) */
	struct vatpit *vm_atpit;	/* [c] the 8254, IRQ0 to vm_atpic */
	struct vrtc *vm_rtc;		/* [c] CMOS RTC */
	struct vuart *vm_uart;		/* [c] COM1, IRQ4 to vm_atpic */
	struct vfwcfg *vm_fwcfg;	/* [c] QEMU's fw_cfg at 0x510 */
	struct vpmtmr *vm_pmtmr;	/* [c] ACPI PM timer at 0x608 */
	struct vioapic *vm_ioapic;	/* [c] the IOAPIC at 0xFEC00000 */
	struct vlapic *vm_lapic[VM_MAXCPU]; /* [c] each vCPU's vc_vlapic */
	/* Where COM1's bytes go (vm_set_console): called in the UART's
	 * order, one call at a time, from any vCPU thread. */
	void (*volatile vm_console)(void *, u8);
	void *vm_console_arg;
	u32 vm_nhalted;			/* atomic: vCPUs that cannot wake by
					   themselves (HLT with IF clear, or
					   waiting for a SIPI) */
	volatile bool vm_paused;	/* any thread (vm_pause): every vCPU
					   waits at the top of vm_run's loop */
	volatile bool vm_stop;		/* any thread (vm_request_stop): every
					   vCPU leaves vm_run, stopped */
	char vm_stop_reason[80];	/* written before vm_stop is set */
	/* vm_time_limit (vmm_limit.c), all under its limit_lock: */
	struct vm *vm_limit_next;	/* the armed VMs' list */
	hrtime_t vm_limit_deadline;	/* gethrtime() to stop at; 0: none */
	bool vm_limit_fired;		/* stopped by its time limit */
	bool vm_hlt_exits;		/* [c] HLT with IF clear returns at
					   once instead of stopping the VM:
					   the fpu, stress and bench guests
					   use HLT as a cheap exit */
	u32 vm_migrate_every;		/* [c] tests: move the vCPU thread to the
					   next CPU every N guest HLTs (0: no) */
	struct vm *vm_next;		/* [l vm_list_lock] every VM, newest
					   first (the monitor's ::vms) */
};

/* Every VM, for the monitor: fn(vm, arg) on each, newest first, with the
 * list's mutex held (no VM is destroyed meanwhile); fn returns false to
 * stop the walk. */
void vm_walk(bool (*fn)(struct vm *, void *), void *arg);
/* VMs and vCPUs. vm_create: memsize bytes of RAM, nvcpus vCPUs. */
void vmm_init(void);			/* boot CPU, after threads exist */
void vmm_cpu_init(void);		/* each CPU */
/* Every vCPU starts like a BIOS starts a boot sector: real mode,
 * CS:IP = 0000:7C00, SP = 7C00, interrupts off. NULL if the host has no
 * run of free pages as long as its RAM (nothing is left allocated). */
struct vm *vm_create(const char *name, u64 memsize, int nvcpus);
void vm_destroy(struct vm *);
/* Copy an image into guest RAM at gpa; false if it does not fit. */
bool vm_load(struct vm *, u64 gpa, const void *image, size_t len);
int vm_run(struct vcpu *, struct vm_exit *);	/* 0, or -1 if dead */
/* The world switch alone, for the exit benchmarks' floor. */
u64 vm_exit_floor(struct vcpu *, struct vm_exit *);
u64 vm_getreg_slow(struct vcpu *, enum vm_reg);
void vm_setreg_slow(struct vcpu *, enum vm_reg, u64);

/*
 * A guest register, by its owner thread or (vCPU unowned) anyone. The
 * GPRs the backend keeps in memory (vc_gpr) are read and written here,
 * without a call: exits read and write them most. The rest, and every
 * other caller (whose access vm_getreg_slow checks), go to the backend.
 */
static inline u64
vm_getreg(struct vcpu *vcpu, enum vm_reg r)
{
	if ((unsigned)r < VM_NGPR && vcpu->vc_gpr[r] != NULL &&
	    vcpu->vc_owner == curthread)
		return (*vcpu->vc_gpr[r]);
	return (vm_getreg_slow(vcpu, r));
}

static inline void
vm_setreg(struct vcpu *vcpu, enum vm_reg r, u64 v)
{
	if ((unsigned)r < VM_NGPR && vcpu->vc_gpr[r] != NULL &&
	    vcpu->vc_owner == curthread)
		*vcpu->vc_gpr[r] = v;
	else
		vm_setreg_slow(vcpu, r, v);
}
void vm_getseg(struct vcpu *, enum vm_seg, struct vm_seg_desc *);
/* Between runs, by the owner (a loader's entry state). */
void vm_setseg(struct vcpu *, enum vm_seg, const struct vm_seg_desc *);
/* An emulated instruction at rip of len bytes is done (len 0: nothing):
 * RIP past it, and an STI or MOV SS shadow it sat in is over. */
void vm_skip_insn(struct vcpu *, u64 rip, u32 len);
/* The length of the instruction at rip, from the decoder; 0 if it
 * cannot be fetched or decoded (vmm_strio.c). */
u32 vm_insn_length(struct vcpu *, u64 rip);
/* The instruction at rip, fetched and decoded (vie_decode); false if it
 * cannot be; nothing is raised (vmm_strio.c). */
struct vie;
bool vm_insn_decode(struct vcpu *, u64 rip, struct vie *);
/* The guest register of an x86 register number (0 RAX, 1 RCX, ...). */
enum vm_reg vm_gpr_reg(int index);
/*
 * String port I/O (vmm_strio.c): the caller of vm_run emulates a
 * VM_EXIT_INOUT_STR with it, between runs. Ports the in-kernel chips do
 * not take go to port (nonzero from it: stop, the guest is done).
 * Returns 0, or nonzero if port asked to stop; a guest fault is raised
 * at the next entry, an instruction that cannot be emulated kills the
 * vCPU (the next vm_run fails).
 */
typedef int (*vm_port_fn_t)(void *arg, u16 port, bool in, int bytes,
    u32 *val);
int vm_strio_emulate(struct vcpu *, const struct vm_exit *, vm_port_fn_t port,
    void *arg);
/* Events (vmm_intr.c). vm_inject_exception: the owner thread, between
 * or inside vm_run (emulation); vm_inject_nmi: any thread. */
void vm_inject_exception(struct vcpu *, u8 vector, bool has_errcode,
    u32 errcode, u64 cr2);
void vm_inject_nmi(struct vcpu *);
/* Something the vCPU may wait for changed: wake it from HLT, or kick it
 * out of guest mode (any thread but the vCPU's own). */
void vm_notify_vcpu(struct vcpu *);
void vm_events_changed(struct vcpu *);	/* the owner: ask at next entry */
/* Ask every vCPU of vm to stop (any thread): each leaves vm_run at its
 * next loop iteration or HLT sleep, killed with reason. */
void vm_request_stop(struct vm *, const char *reason);
/* Time limits (vmm_limit.c): stop the VM with "time limit" after ns. */
void vm_limit_start(void);
void vm_time_limit(struct vm *, hrtime_t ns);
void vm_time_limit_cancel(struct vm *);
extern u64 vmm_time_limits_fired;
/* Pause (true) or resume every vCPU of vm (any thread but a vCPU's): a
 * paused vCPU leaves guest mode and waits in vm_run, its registers
 * copied; a pause returns once every vCPU is so (false: not within a
 * second). */
bool vm_pause(struct vm *, bool);
void vm_pause_wait(struct vcpu *);	/* the owner, inside vm_run */
/* Core internals: vmm_intr.c, vmm_isa.c and vmm_msr.c, for vm_run. */
bool vm_msr_read(struct vcpu *, u32 msr, u64 *val);
/* CPUID as the guest sees it: eax, ebx, ecx, edx in r (vmm_cpuid.c). */
void vm_cpuid(struct vcpu *, u32 leaf, u32 sub, u32 r[4]);
extern bool vmm_inject_xcr0_unseen;	/* fault injection (vmm.c) */
void vmm_cpuid_init(void);		/* the host's answers, once */
extern u64 vmm_cpuid_host_asked;	/* leaves not in that table */
bool vm_msr_write(struct vcpu *, u32 msr, u64 val);
bool vm_entry_events_ask(struct vcpu *);
/*
 * At each entry (vmm_intr.c): false if the guest triple-faulted. The
 * common quiet entry is decided here, without a call: nothing cut short,
 * raised or pending, no device deadline, nothing changed since the
 * devices were last asked (vc_ev_dirty read last, after vm_run published
 * vc_guest_cpu: docs/vmm.md, "Events", 7). The rest is
 * vm_entry_events_ask's.
 */
static inline bool
vm_entry_events(struct vcpu *vcpu)
{
	if (likely(vcpu->vc_exitintinfo.type == VM_EVENT_NONE &&
	    vcpu->vc_exc.type == VM_EVENT_NONE && !vcpu->vc_nmi_pending &&
	    !vcpu->vc_ev_more && vcpu->vc_ev_deadline == 0 &&
	    __atomic_load_n(&vcpu->vc_ev_dirty, __ATOMIC_SEQ_CST) == 0))
		return (true);
	return (vm_entry_events_ask(vcpu));
}
void vm_intr_init(void);		/* the kick IPI's vector */
/* vmm_exit.c: finish an exit in the kernel (false: return to the caller);
 * complete an IN with the caller's answer at the next entry. */
bool vm_handle_exit(struct vcpu *, struct vm_exit *);
void vm_complete_in(struct vcpu *, u32 value);
u64 vm_hlt_wait(struct vcpu *);
/* Would the CPU take this CR0 (MOV CR0's #GP(0) checks)? vmm_exit.c */
bool vm_cr0_write_ok(struct vcpu *, u64 old, u64 v);
/* The guest's DR6, wherever it is now (vmm.c). */
u64 vm_dr6_access(struct vcpu *, bool write, u64 v);
bool vm_cr4_write_ok(struct vcpu *, u64 old, u64 v);
u64 vm_cr4_valid_bits(void);		/* vmm_cpuid.c, as the next */
bool vmm_host_has_tsc_aux(void);
/* Tests: a hole in the backends' MSR bitmaps (vmm_msr.c). */
extern bool vmm_inject_msr_passthrough;
/* The vCPU's event state in a line (racy reads): what a stopped or stuck
 * VM waited for (the time limit prints it; the monitor's ::events). */
void vm_events_describe(struct vcpu *, char *buf, size_t len);
bool vm_hlt_noint_wait(struct vcpu *);
bool vm_halted_enter(struct vcpu *);
void vm_halted_leave(struct vcpu *);
void vm_isa_create(struct vm *);
void vm_isa_destroy(struct vm *);
bool vm_isa_inout(struct vm *, u16 port, bool in, int bytes, u32 *val);
/* The APICs (vmm_lapic.c): created after the vCPUs, destroyed before. */
void vm_lapic_create(struct vm *);
void vm_lapic_destroy(struct vm *);
bool vm_lapic_npf(struct vcpu *, struct vm_exit *);
u64 vm_lapic_apicbase_read(struct vcpu *);
bool vm_lapic_apicbase_write(struct vcpu *, u64 val);
bool vm_sipi_wait(struct vcpu *);
bool vm_lapic_set_cr8(struct vcpu *, u64 v);
u64 vm_lapic_get_cr8(struct vcpu *);
/* Give COM1's output to fn (NULL: drop it), before the vCPUs run. */
void vm_set_console(struct vm *, void (*fn)(void *, u8), void *arg);
/* Stop a vCPU for good with a reason (bad guest). */
void vcpu_kill(struct vcpu *, const char *fmt, ...) __printflike(2, 3);
/* The owning thread gives the vCPU up (before vm_destroy). */
void vcpu_release(struct vcpu *);

/* The nested page tables (vmm_gpt.c), shared by EPT and NPT. Map,
 * premap and lookup take gpt_lock held. */
void vmm_gpt_init(vmm_gpt_t *, const struct vmm_pte_ops *);
bool vmm_gpt_map(vmm_gpt_t *, u64 gpa, paddr_t hpa);
void vmm_gpt_premap(vmm_gpt_t *, u64 size, paddr_t hpa);
bool vmm_gpt_lookup(vmm_gpt_t *, u64 gpa, paddr_t *hpa, u64 *pgsize);
void vmm_gpt_fini(vmm_gpt_t *);
/* Guest RAM (vmm_mem.c): allocated, and premapped unless vmm_ondemand. */
bool vm_mem_create(struct vm *, u64 memsize);	/* false: no RAM */
void vm_mem_destroy(struct vm *);
extern bool vmm_ondemand;
/* The backends' shared port I/O decode (vmm_exit.c); rep only with string. */
void vm_exit_inout(struct vm_exit *, u16 port, u8 bytes, bool in,
    bool string, bool rep, u64 rax);

/* The FPU halves of vmm_savectx/vmm_restorectx. */
void save_guest_fpustate(struct vcpu *);
void restore_guest_fpustate(struct vcpu *);

/* Counts over all VMs since boot (for tests and the monitor). */
extern u64 vmm_total_attach, vmm_total_detach;
extern u64 vmm_switch_in_window;	/* vmm_savectx with guest FPU live */
extern u64 vmm_migrate_in_window;	/* vmm_restorectx on another CPU */

#endif
