/*
 * VMX backend internals shared by vmx.c, vmcs.c and vmx_exit.c. One field
 * prefix per struct, none the core's (vc_ is struct vcpu, vm_ struct vm):
 * vx_ vmx_vcpu, vxc_ vmx_cpu, vxm_ vmx_vm, hd_ vmx_host_dt, vs_
 * vmx_vpid_stats.
 */
#ifndef _KERN_VMM_VMX_VMX_H
#define _KERN_VMM_VMX_VMX_H

#include "../vmm.h"
#include "vmcs.h"
#include "vmx_cpufunc.h"

/* The guest state VMX does not keep in the VMCS (vmx_run.asm's layout). */
struct vmx_gregs {
	u64 rax, rbx, rcx, rdx, rsi, rdi, rbp;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
	u64 cr2;
};

/* vmx_run.asm's G_* offsets: a field moved here must fail the build. */
#define	VMX_G_OFF(f, off) _Static_assert(offsetof(struct vmx_gregs, f) == (off), \
    "vmx_gregs." #f ": G_* in vmx_run.asm")
VMX_G_OFF(rax, 0);
VMX_G_OFF(rbx, 8);
VMX_G_OFF(rcx, 16);
VMX_G_OFF(rdx, 24);
VMX_G_OFF(rsi, 32);
VMX_G_OFF(rdi, 40);
VMX_G_OFF(rbp, 48);
VMX_G_OFF(r8, 56);
VMX_G_OFF(r9, 64);
VMX_G_OFF(r10, 72);
VMX_G_OFF(r11, 80);
VMX_G_OFF(r12, 88);
VMX_G_OFF(r13, 96);
VMX_G_OFF(r14, 104);
VMX_G_OFF(r15, 112);
VMX_G_OFF(cr2, 120);
#undef VMX_G_OFF
_Static_assert(VMCS_HOST_RSP == 0x6c14, "VMCS_HOST_RSP in vmx_run.asm");

/*
 * The host's descriptor-table registers, as LGDT/LIDT take them. A VM
 * exit loads the GDTR and IDTR bases from the VMCS but sets both limits
 * to 0xFFFF (SDM vol. 3, 28.5.2), so vmx_exit_stub reloads these before
 * anything can fault or take an interrupt.
 */
struct vmx_dtr {
	u16 limit;
	u64 base;
} __packed;

struct vmx_host_dt {
	struct vmx_dtr hd_gdtr;
	struct vmx_dtr hd_idtr;
};
/* vmx_exit_stub's LGDT [rbx] / LIDT [rbx + 10]. */
_Static_assert(offsetof(struct vmx_host_dt, hd_gdtr) == 0, "HD_GDTR");
_Static_assert(offsetof(struct vmx_host_dt, hd_idtr) == 10, "HD_IDTR");

/*
 * MSRs VM entry and exit do not switch, which vmx_vmrun switches itself
 * (illumos does the same around entry): STAR, LSTAR, CSTAR, SFMASK,
 * KERNEL_GS_BASE. A guest's SWAPGS or WRMSR reaches only its own copy.
 */
#define	VMX_NSWITCHED	5

/* Per CPU (cpu_vmm). */
struct vmx_cpu {
	paddr_t vxc_vmxon;		/* VMXON region */
	struct vmx_host_dt vxc_host_dt;	/* taken at vmx_cpu_init, before
					   any guest ran here */
	u64 vxc_host_msr[VMX_NSWITCHED];	/* the host's, same order */
};

struct vmx_vcpu {
	paddr_t vx_vmcs_pa;		/* [c] */
	u16 vx_vpid;			/* [c] */
	struct vmx_gregs vx_gregs;	/* [p] */
	int vx_vmcs_cpu;		/* [p] CPU where the VMCS is current,
					   -1 when clear (in memory only) */
	bool vx_launched;		/* [p] VMRESUME (else VMLAUNCH) next */
	int vx_lastcpu;			/* [p] CPU of the last VMPTRLD */
	u64 vx_msr[VMX_NSWITCHED];	/* [p] the guest's switched MSRs
					   while the VMCS is not current */
	/* Guest RIP and interruptibility as of the last exit or setreg: an
	 * exit finished in the kernel steps over its instruction without a
	 * guarded VMREAD/VMWRITE per access; vmx_vmrun writes them back. */
	u64 vx_rip;			/* [p] valid with VXC_RIP */
	u32 vx_intr;			/* [p] valid with VXC_INTR */
	u8 vx_cached;			/* [p] VXC_*: the copy is valid */
	u8 vx_dirty;			/* [p] VXC_*: newer than the VMCS */
	u32 vx_proc;			/* [p] the primary controls as
					   written: the window bits change */
};

#define	VXC_RIP		0x1
#define	VXC_INTR	0x2

/* VPID recycling (vmx.c), read by the tests. */
struct vmx_vpid_stats {
	u64 vs_allocs, vs_frees;	/* vpid_lock */
	u64 vs_reuses;			/* allocs of a VPID used before */
	u64 vs_invvpid_single;		/* atomic */
	u64 vs_invvpid_all;		/* atomic */
};
extern struct vmx_vpid_stats vmx_vpid_stats;
extern bool vmx_inject_few_vpids, vmx_inject_invvpid_all;
#define	VMX_FEW_VPIDS	4	/* the VPIDs vmx_inject_few_vpids leaves */

/* Per VM (vm_backend), set at vm_init. */
struct vmx_vm {
	paddr_t vxm_iobitmaps;		/* A and B: every port exits */
	paddr_t vxm_msrbitmap;		/* every MSR exits */
	volatile u64 vxm_ept_cpus;	/* CPUs that have INVEPTed this EPTP;
					   set bit by bit with atomic OR */
};

/* The execution controls, as the probe adjusted them to the CPU. */
struct vmx_ctls {
	u32 pin, proc, proc2, exit, entry;
};

/* The current VMCS, whoever's it is: inline, as the exit path reads and
 * writes it at every exit (a VMWRITE that fails panics, in vmcs.c). */
static inline u64
vmcs_read(u32 field)
{
	return (vmread(field));
}

__noreturn void vmcs_write_failed(u32 field, int rc);
static inline void
vmcs_write(u32 field, u64 v)
{
	int rc = vmwrite(field, v);

	if (unlikely(rc != VMX_OK))
		vmcs_write_failed(field, rc);
}
void vmcs_write_host_state(void);
void vmcs_write_guest_reset(struct vcpu *, const struct vmx_ctls *);
u32 vmcs_guest_field(enum vm_reg);	/* RSP, RIP, RFLAGS, CR3, EFER */
/* The vCPU's VMCS, which must be current on this CPU. */
u64 vmx_read(struct vcpu *, u32 field);
void vmx_write(struct vcpu *, u32 field, u64 v);
void vmx_decode_exit(struct vcpu *, struct vm_exit *);
extern bool vmx_has_nmi_window;	/* virtual NMIs and NMI-window exiting */
extern u32 vmx_preempt_shift;		/* VMX_MISC[4:0] */
#define	VMX_PREEMPT_NS	10000000	/* the preemption timer's budget */
void vmx_set_cr0(struct vcpu *, u64 cr0);
const char *vmx_insn_error_name(u64 err);

#endif
