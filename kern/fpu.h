/*
 * FPU/SSE/AVX state. The kernel itself never touches these registers (it
 * is compiled general-registers-only); threads that use them carry an FPU
 * ctxop, always the oldest on their list, that saves the registers into
 * the thread's area when it is switched out and loads them when it is
 * switched in (eagerly: CR0.TS is never used).
 */
#ifndef _KERN_FPU_H
#define _KERN_FPU_H

#include "types.h"

struct kthread;

/* XSAVE state components (XCR0 bits). */
#define	XFEATURE_X87		(1UL << 0)
#define	XFEATURE_SSE		(1UL << 1)
#define	XFEATURE_AVX		(1UL << 2)	/* YMM_Hi128 */
#define	XFEATURE_OPMASK		(1UL << 5)	/* k0-k7 */
#define	XFEATURE_ZMM_HI256	(1UL << 6)	/* ZMM0-15 bits 511:256 */
#define	XFEATURE_HI16_ZMM	(1UL << 7)	/* ZMM16-31 */
#define	XFEATURE_AVX512		(XFEATURE_OPMASK | XFEATURE_ZMM_HI256 | \
				    XFEATURE_HI16_ZMM)
/* What this kernel manages: never MPX (3, 4) nor PKRU (9). */
#define	XFEATURE_ALLOWED	(XFEATURE_X87 | XFEATURE_SSE | XFEATURE_AVX | \
				    XFEATURE_AVX512)
#define	XFEATURE_NCOMP		8

/* Offsets in the legacy (FXSAVE) region and the XSAVE header. */
#define	FXSAVE_FCW		0	/* u16 */
#define	FXSAVE_FSW		2	/* u16 */
#define	FXSAVE_FTW		4	/* u8, abridged: 1 bit per register */
#define	FXSAVE_MXCSR		24	/* u32 */
#define	FXSAVE_MXCSR_MASK	28	/* u32 */
#define	FXSAVE_ST0		32	/* 8 x 16 bytes, 10 used */
#define	FXSAVE_XMM0		160	/* 16 x 16 bytes */
#define	XSAVE_XSTATE_BV		512	/* u64 */
#define	XSAVE_XCOMP_BV		520	/* u64, 0: standard format */

#define	FPU_FCW_DEFAULT		0x037f
#define	FPU_MXCSR_DEFAULT	0x1f80
#define	FPU_AREA_ALIGN		64

/* An extended-state area (XSAVE layout, or FXSAVE's 512 bytes). */
typedef struct fpu_area {
	void *fa_buf;			/* fpu_save_size bytes, 64-byte aligned */
} fpu_area_t;

extern u64 fpu_xcr0;			/* what XCR0 holds on every CPU */
extern u32 fpu_save_size;		/* bytes of an area */
extern bool fpu_has_xsave, fpu_has_xsaveopt, fpu_has_avx, fpu_has_avx512;
extern u32 fpu_mxcsr_mask;		/* MXCSR bits that may be set */
/* Standard-format offset and size of components 2..7 (CPUID 0xD), when
 * enabled in fpu_xcr0; 0 otherwise. */
extern u32 fpu_comp_off[XFEATURE_NCOMP], fpu_comp_size[XFEATURE_NCOMP];

void fpu_init(void);			/* boot CPU: probe CPUID, set up */
void fpu_cpu_init(void);		/* every CPU: CR0/CR4/XCR0 */
/* fpu_init sets the boot CPU up too; fpu_cpu_init there again is harmless. */

/* Areas. A new area holds the default state (FCW 0x37f, MXCSR 0x1f80). */
void fpu_area_init(fpu_area_t *);	/* KM_SLEEP */
void fpu_area_fini(fpu_area_t *);
void fpu_save(fpu_area_t *);		/* registers -> area (XSAVEOPT) */
void fpu_restore(const fpu_area_t *);	/* area -> registers (XRSTOR) */
void fpu_load_default(void);		/* registers := default state */
/* Raw buffers of fpu_save_size bytes, 64-byte aligned; no trace records.
 * fpu_xsave_raw uses XSAVE, never XSAVEOPT: every in-use component is
 * written (components in their init state only clear their XSTATE_BV bit). */
void fpu_area_default(void *buf);	/* buf := the default state */
void fpu_xsave_raw(void *buf);
void fpu_xrstor_raw(const void *buf);
u64 fpu_xgetbv(u32 reg);
void fpu_xsetbv(u64 xcr0);

/* The thread FPU ctxop's hooks (arg: the thread's FPU context). */
void fpu_ctx_save(void *arg);
void fpu_ctx_restore(void *arg);
void fpu_ctx_free(void *arg, int isexec);

/* Give the calling thread an FPU context (its oldest ctxop). */
void fpu_thread_enable(void);
bool fpu_thread_enabled(struct kthread *);

/* Kernel code that uses SIMD registers brackets it with these. */
void kfpu_begin(void);
void kfpu_end(void);

#endif
