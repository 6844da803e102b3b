/*
 * The VMX instructions as inline functions (FreeBSD's vmx_cpufunc.h).
 * Those that can fail return the status in CF/ZF as VMX_OK,
 * VMX_FAIL_INVALID (no current VMCS, or a bad operand) or VMX_FAIL_VALID
 * (the reason is in the current VMCS's VM-instruction error field).
 * Callers decide what a failure means; nothing here panics.
 */
#ifndef _KERN_VMM_VMX_VMX_CPUFUNC_H
#define _KERN_VMM_VMX_VMX_CPUFUNC_H

#include "../../types.h"

#define	VMX_OK			0
#define	VMX_FAIL_INVALID	1
#define	VMX_FAIL_VALID		2

/* INVEPT and INVVPID types (SDM vol. 3, 30.3). */
#define	INVEPT_SINGLE		1
#define	INVVPID_SINGLE		1
#define	INVVPID_ALL		2

static inline int
vmx_status(u8 cf, u8 zf)
{
	return (cf ? VMX_FAIL_INVALID : (zf ? VMX_FAIL_VALID : VMX_OK));
}

/* VMXON, VMCLEAR, VMPTRLD: one physical-address operand, status in CF/ZF. */
#define	VMX_PA_INSN(insn)						\
static inline int							\
insn(paddr_t pa)							\
{									\
	u8 cf, zf;							\
	__asm__ __volatile__(#insn " %2; setc %0; setz %1"		\
	    : "=q"(cf), "=q"(zf) : "m"(pa) : "cc", "memory");		\
	return (vmx_status(cf, zf));					\
}
VMX_PA_INSN(vmxon)
VMX_PA_INSN(vmclear)
VMX_PA_INSN(vmptrld)
#undef VMX_PA_INSN

/* A field of the current VMCS (no status: callers know one is current). */
static inline u64
vmread(u32 field)
{
	u64 v;
	__asm__ __volatile__("vmread %1, %0" : "=rm"(v) : "r"((u64)field)
	    : "cc");
	return (v);
}

static inline int
vmwrite(u32 field, u64 v)
{
	u8 cf, zf;
	__asm__ __volatile__("vmwrite %2, %3; setc %0; setz %1"
	    : "=q"(cf), "=q"(zf) : "rm"(v), "r"((u64)field) : "cc");
	return (vmx_status(cf, zf));
}

static inline void
invept(u64 type, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };
	__asm__ __volatile__("invept %0, %1" : : "m"(desc), "r"(type)
	    : "cc", "memory");
}

static inline void
invvpid(u64 type, u16 vpid)
{
	struct { u64 vpid, addr; } desc = { vpid, 0 };
	__asm__ __volatile__("invvpid %0, %1" : : "m"(desc), "r"(type)
	    : "cc", "memory");
}

#endif
