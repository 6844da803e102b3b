/*
 * VMCB layout (AMD APM vol. 2, appendix B) and SVM constants: only what
 * bhyvelet uses, by offset, so the code reads like the manual.
 */
#ifndef _KERN_VMM_SVM_VMCB_H
#define _KERN_VMM_SVM_VMCB_H

/* Control area */
#define	VMCB_INTERCEPT_CR	0x000	/* u32: reads 15:0, writes 31:16 */
#define	VMCB_INTERCEPT_DR	0x004	/* u32: reads 15:0, writes 31:16 */
#define	VMCB_INTERCEPT_EXC	0x008	/* u32: exception vectors */
#define	VMCB_INTERCEPT_MISC1	0x00c	/* u32 */
#define	VMCB_INTERCEPT_MISC2	0x010	/* u32 */
#define	VMCB_IOPM_BASE		0x040	/* u64 */
#define	VMCB_MSRPM_BASE		0x048	/* u64 */
#define	VMCB_TSC_OFFSET		0x050	/* u64 */
#define	VMCB_ASID		0x058	/* u32 */
#define	VMCB_TLB_CONTROL	0x05c	/* u8 */
#define	VMCB_VINTR		0x060	/* u64 */
#define	VMCB_INTR_SHADOW	0x068	/* u64 */
#define	VMCB_EXITCODE		0x070	/* u64 */
#define	VMCB_EXITINFO1		0x078	/* u64 */
#define	VMCB_EXITINFO2		0x080	/* u64 */
#define	VMCB_EXITINTINFO	0x088	/* u64 */
#define	VMCB_NP_ENABLE		0x090	/* u64 */
#define	VMCB_EVENTINJ		0x0a8	/* u64 */
#define	VMCB_N_CR3		0x0b0	/* u64 */
#define	VMCB_CLEAN		0x0c0	/* u32 */
#define	VMCB_NRIP		0x0c8	/* u64 */

/* State save area: segments are 16 bytes: sel u16, attr u16, limit u32,
 * base u64. */
#define	VMCB_ES			0x400
#define	VMCB_CS			0x410
#define	VMCB_SS			0x420
#define	VMCB_DS			0x430
#define	VMCB_FS			0x440
#define	VMCB_GS			0x450
#define	VMCB_GDTR		0x460
#define	VMCB_LDTR		0x470
#define	VMCB_IDTR		0x480
#define	VMCB_TR			0x490
#define	VMCB_CPL		0x4cb	/* u8 */
#define	VMCB_EFER		0x4d0
#define	VMCB_CR4		0x548
#define	VMCB_CR3		0x550
#define	VMCB_CR0		0x558
#define	VMCB_DR7		0x560
#define	VMCB_DR6		0x568
#define	VMCB_RFLAGS		0x570
#define	VMCB_RIP		0x578
#define	VMCB_RSP		0x5d8
#define	VMCB_RAX		0x5f8
#define	VMCB_STAR		0x600	/* VMLOAD/VMSAVE switch these */
#define	VMCB_LSTAR		0x608
#define	VMCB_CSTAR		0x610
#define	VMCB_SFMASK		0x618
#define	VMCB_KGS_BASE		0x620
#define	VMCB_CR2		0x640
#define	VMCB_G_PAT		0x668

/* MISC1 intercepts */
#define	INTERCEPT_INTR		(1U << 0)
#define	INTERCEPT_NMI		(1U << 1)
#define	INTERCEPT_SMI		(1U << 2)
#define	INTERCEPT_INIT		(1U << 3)
#define	INTERCEPT_VINTR		(1U << 4)	/* V_IRQ taken: the window */
#define	INTERCEPT_CR0_SEL_WRITE	(1U << 5)	/* CR0 but TS/MP changed */
#define	INTERCEPT_RDPMC		(1U << 15)
#define	INTERCEPT_CPUID		(1U << 18)
#define	INTERCEPT_IRET		(1U << 20)	/* the end of an NMI handler */
#define	INTERCEPT_INVD		(1U << 22)
#define	INTERCEPT_HLT		(1U << 24)
#define	INTERCEPT_INVLPGA	(1U << 26)
#define	INTERCEPT_IOIO		(1U << 27)
#define	INTERCEPT_MSR		(1U << 28)
#define	INTERCEPT_SHUTDOWN	(1U << 31)
/* MISC2 intercepts */
#define	INTERCEPT_VMRUN		(1U << 0)
#define	INTERCEPT_VMMCALL	(1U << 1)
#define	INTERCEPT_VMLOAD	(1U << 2)
#define	INTERCEPT_VMSAVE	(1U << 3)
#define	INTERCEPT_STGI		(1U << 4)
#define	INTERCEPT_CLGI		(1U << 5)
#define	INTERCEPT_SKINIT	(1U << 6)
#define	INTERCEPT_WBINVD	(1U << 9)
#define	INTERCEPT_MONITOR	(1U << 10)
#define	INTERCEPT_MWAIT		(1U << 11)
#define	INTERCEPT_XSETBV	(1U << 13)

/*
 * VMCB clean bits (APM vol. 2, 15.15.3): a set bit tells the CPU that
 * the host has not changed that group of fields since the last VMRUN of
 * this VMCB on this CPU, so it may use its cached copy. Bits 31:12 are
 * reserved and always written 0.
 */
#define	VMCB_CLEAN_I		(1U << 0)	/* intercepts, TSC offset, ... */
#define	VMCB_CLEAN_IOPM		(1U << 1)	/* IOPM_BASE, MSRPM_BASE */
#define	VMCB_CLEAN_ASID		(1U << 2)
#define	VMCB_CLEAN_TPR		(1U << 3)	/* V_TPR, V_IRQ, V_INTR_* */
#define	VMCB_CLEAN_NP		(1U << 4)	/* NP_ENABLE, N_CR3, G_PAT */
#define	VMCB_CLEAN_CRX		(1U << 5)	/* CR0, CR3, CR4, EFER */
#define	VMCB_CLEAN_DRX		(1U << 6)	/* DR6, DR7 */
#define	VMCB_CLEAN_DT		(1U << 7)	/* GDTR, IDTR */
#define	VMCB_CLEAN_SEG		(1U << 8)	/* CS, DS, ES, SS, CPL */
#define	VMCB_CLEAN_CR2		(1U << 9)
#define	VMCB_CLEAN_LBR		(1U << 10)	/* DBGCTL, LBR MSRs */
#define	VMCB_CLEAN_AVIC		(1U << 11)
#define	VMCB_CLEAN_ALL		0xfffU		/* every defined bit */

#define	VINTR_MASKING		(1UL << 24)
#define	VINTR_V_IRQ		(1UL << 8)	/* a virtual interrupt pending */
#define	VINTR_PRIO_MAX		(0xfUL << 16)	/* above any V_TPR */
#define	VINTR_IGN_TPR		(1UL << 20)
#define	INTR_SHADOW_ACTIVE	(1UL << 0)	/* VMCB_INTR_SHADOW */

/* EVENTINJ and EXITINTINFO (APM vol. 2, 15.20): vector 7:0, type 10:8,
 * error code valid 11, valid 31, error code 63:32. */
#define	EVENT_VALID		(1U << 31)
#define	EVENT_EV		(1U << 11)
#define	EVENT_TYPE_SHIFT	8
#define	EVENT_TYPE_INTR		0
#define	EVENT_TYPE_NMI		2
#define	EVENT_TYPE_EXCEPTION	3
#define	EVENT_TYPE_SOFTINT	4
#define	TLB_FLUSH_NOTHING	0
#define	TLB_FLUSH_ALL		1

/* Exit codes */
#define	VMEXIT_EXCP_DF		0x048	/* exception 8 intercepted */
#define	VMEXIT_EXCP_MC		0x052	/* exception 18 intercepted */
#define	VMEXIT_INTR		0x060
#define	VMEXIT_RDPMC		0x06f
#define	VMEXIT_NMI		0x061
#define	VMEXIT_SMI		0x062
#define	VMEXIT_INIT		0x063
#define	VMEXIT_VINTR		0x064
#define	VMEXIT_CPUID		0x072
#define	VMEXIT_IRET		0x074
#define	VMEXIT_HLT		0x078
#define	VMEXIT_IOIO		0x07b
#define	VMEXIT_MSR		0x07c
#define	VMEXIT_SHUTDOWN		0x07f
#define	VMEXIT_VMRUN		0x080
#define	VMEXIT_VMMCALL		0x081
#define	VMEXIT_INVD		0x076
#define	VMEXIT_INVLPGA		0x07a
#define	VMEXIT_VMLOAD		0x082
#define	VMEXIT_VMSAVE		0x083
#define	VMEXIT_STGI		0x084
#define	VMEXIT_CLGI		0x085
#define	VMEXIT_SKINIT		0x086
#define	VMEXIT_WBINVD		0x089
#define	VMEXIT_MONITOR		0x08a
#define	VMEXIT_MWAIT		0x08b
#define	VMEXIT_XSETBV		0x08d
#define	VMEXIT_CR8_READ		0x008
#define	VMEXIT_CR8_WRITE	0x018
#define	VMEXIT_CR0_SEL_WRITE	0x065
#define	VMEXIT_DR5_READ		0x025
#define	VMEXIT_DR5_WRITE	0x035
#define	VMEXIT_DR7_READ		0x027
#define	VMEXIT_DR7_WRITE	0x037
#define	INTERCEPT_CR8_READ	(1U << 8)
#define	INTERCEPT_CR8_WRITE	(1U << 24)
#define	EXITINFO1_MOV_CR	(1UL << 63)	/* decode assists: a MOV */
#define	VMEXIT_NPF		0x400
/* NPF EXITINFO1 (APM vol. 2, 15.25.6): the fault's stage. */
#define	NPF_INFO_GPA		(1UL << 32)	/* the final guest-physical access */
#define	NPF_INFO_GPT		(1UL << 33)	/* a guest page-table walk */
#define	VMEXIT_INVALID		0xffffffffU	/* compare the low 32 bits */

/* IOIO EXITINFO1 */
#define	IOIO_IN			(1U << 0)
#define	IOIO_STR		(1U << 2)
#define	IOIO_REP		(1U << 3)
#define	IOIO_SZ_SHIFT		4	/* bits 6:4: SZ32 SZ16 SZ8 */

/* MSRs */
#define	MSR_VM_CR		0xc0010114
#define	VM_CR_SVMDIS		(1UL << 4)

#define	NPT_PTE_P		0x001
#define	NPT_PTE_RW		0x002
#define	NPT_PTE_US		0x004	/* nested walks are user accesses */
#define	NPT_PTE_PS		0x080	/* in a PDE: a 2 MiB leaf */

#endif
