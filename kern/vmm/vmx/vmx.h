/* VMX backend internals shared by vmx.c and vmx_exit.c. */
#ifndef _KERN_VMM_VMX_VMX_H
#define _KERN_VMM_VMX_VMX_H

#include "../vmm.h"
#include "vmcs.h"

/* The guest state VMX does not keep in the VMCS (vmx_run.asm's layout). */
struct vmx_gregs {
	u64 rax, rbx, rcx, rdx, rsi, rdi, rbp;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
	u64 cr2;
};

struct vmx_vcpu {
	paddr_t vx_vmcs_pa;		/* [c] */
	u16 vx_vpid;			/* [c] */
	struct vmx_gregs vx_gregs;	/* [p] */
	int vx_vmcs_cpu;		/* [p] CPU where the VMCS is current,
					   -1 when clear (in memory only) */
	bool vx_launched;		/* [p] VMRESUME (else VMLAUNCH) next */
	int vx_lastcpu;			/* [p] CPU of the last VMPTRLD */
};

u64 vmx_read(struct vcpu *, u32 field);
void vmx_write(struct vcpu *, u32 field, u64 v);
void vmx_decode_exit(struct vcpu *, struct vm_exit *);
void vmx_set_cr0(struct vcpu *, u64 cr0);
const char *vmx_insn_error_name(u64 err);

#endif
