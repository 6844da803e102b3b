/*
 * Thin wrappers around x86-64 instructions the kernel needs.
 */
#ifndef _KERN_X86_H
#define _KERN_X86_H

#include "types.h"

#define	CR0_PE		(1UL << 0)
#define	CR0_MP		(1UL << 1)
#define	CR0_EM		(1UL << 2)
#define	CR0_TS		(1UL << 3)
#define	CR0_NE		(1UL << 5)
#define	CR0_WP		(1UL << 16)
#define	CR0_PG		(1UL << 31)
#define	CR4_PAE		(1UL << 5)
#define	CR4_PGE		(1UL << 7)
#define	CR4_OSFXSR	(1UL << 9)
#define	CR4_OSXMMEXCPT	(1UL << 10)
#define	CR4_VMXE	(1UL << 13)
#define	CR4_OSXSAVE	(1UL << 18)

#define	MSR_EFER	0xc0000080
#define	EFER_SCE	(1UL << 0)
#define	EFER_LME	(1UL << 8)
#define	EFER_LMA	(1UL << 10)
#define	CR4_DE		(1UL << 3)
#define	EFER_NXE	(1UL << 11)
#define	EFER_SVME	(1UL << 12)
#define	MSR_STAR	0xc0000081
#define	MSR_LSTAR	0xc0000082
#define	MSR_CSTAR	0xc0000083
#define	MSR_SFMASK	0xc0000084
#define	MSR_FS_BASE	0xc0000100
#define	MSR_GS_BASE	0xc0000101
#define	MSR_KGS_BASE	0xc0000102
#define	MSR_TSC_AUX	0xc0000103
#define	MSR_VM_HSAVE_PA	0xc0010117
#define	MSR_APIC_BASE	0x1b

#define	RFLAGS_IF	(1UL << 9)

static inline void
outb(u16 port, u8 v)
{
	__asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8
inb(u16 port)
{
	u8 v;
	__asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
	return (v);
}

static inline void
outw(u16 port, u16 v)
{
	__asm__ __volatile__("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void
outl(u16 port, u32 v)
{
	__asm__ __volatile__("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline u32
inl(u16 port)
{
	u32 v;
	__asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"(port));
	return (v);
}

static inline u64
rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (((u64)hi << 32) | lo);
}

static inline void
wrmsr(u32 msr, u64 v)
{
	__asm__ __volatile__("wrmsr" : : "c"(msr), "a"((u32)v),
	    "d"((u32)(v >> 32)) : "memory");
}

static inline u64
rdtsc(void)
{
	u32 lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return (((u64)hi << 32) | lo);
}

static inline void
cpuid(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ __volatile__("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
	    : "a"(leaf), "c"(sub));
}

#define	DEFINE_CR(n)							\
static inline u64 get_cr##n(void)					\
{ u64 v; __asm__ __volatile__("mov %%cr" #n ", %0" : "=r"(v)); return (v); } \
static inline void set_cr##n(u64 v)					\
{ __asm__ __volatile__("mov %0, %%cr" #n : : "r"(v) : "memory"); }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline u64
get_rflags(void)
{
	u64 f;
	__asm__ __volatile__("pushfq; popq %0" : "=r"(f));
	return (f);
}

static inline void
intr_disable(void)
{
	__asm__ __volatile__("cli" ::: "memory");
}

static inline void
intr_enable(void)
{
	__asm__ __volatile__("sti" ::: "memory");
}

/* Disable interrupts and return whether they were on. */
static inline bool
intr_save(void)
{
	bool on = (get_rflags() & RFLAGS_IF) != 0;
	intr_disable();
	return (on);
}

static inline void
intr_restore(bool on)
{
	if (on)
		intr_enable();
}

static inline bool
intr_enabled(void)
{
	return ((get_rflags() & RFLAGS_IF) != 0);
}

static inline void
cpu_pause(void)
{
	__asm__ __volatile__("pause" ::: "memory");
}

static inline void
invlpg(const void *va)
{
	__asm__ __volatile__("invlpg (%0)" : : "r"(va) : "memory");
}

static inline uintptr_t
get_fp(void)
{
	return ((uintptr_t)__builtin_frame_address(0));
}

/*
 * DR0-DR3, which neither VM entry nor exit switches: a vCPU's are loaded
 * with its FPU (restore_guest_dbregs in kern/vmm/vmm.c) so breakpoints
 * never cross between host and guests. dr[4] is DR6 (VMX keeps it out of
 * the VMCS).
 */
static inline void
dr_read(u64 dr[5])
{
	__asm__ __volatile__("mov %%dr0, %0; mov %%dr1, %1; mov %%dr2, %2; "
	    "mov %%dr3, %3; mov %%dr6, %4" : "=r"(dr[0]), "=r"(dr[1]),
	    "=r"(dr[2]), "=r"(dr[3]), "=r"(dr[4]));
}

static inline void
dr_write(const u64 dr[5])
{
	__asm__ __volatile__("mov %0, %%dr0; mov %1, %%dr1; mov %2, %%dr2; "
	    "mov %3, %%dr3; mov %4, %%dr6" :: "r"(dr[0]), "r"(dr[1]),
	    "r"(dr[2]), "r"(dr[3]), "r"(dr[4]));
}

#endif
