/*
 * FPU/SSE/AVX/AVX-512 state: probing, per-CPU setup, save areas, and the
 * per-thread FPU ctxop.
 *
 * The kernel is compiled general-registers-only, so the only code that
 * touches x87/SIMD registers is the inline asm here, kfpu_begin/kfpu_end
 * brackets, and tests. A thread that uses the registers calls
 * fpu_thread_enable(): from then on its oldest ctxop saves the registers
 * into the thread's area when it is switched out and loads them when it is
 * switched in. Switching is eager (CR0.TS stays clear): a thread without
 * the ctxop never touches the registers, so what it leaves behind does not
 * matter and needs no save.
 */
#include "fpu.h"
#include "x86.h"
#include "cpu.h"
#include "thread.h"
#include "kmem.h"
#include "panic.h"
#include "console.h"
#include "trace.h"
#include "ctx/ctxop.h"

u64 fpu_xcr0;
u32 fpu_save_size;
bool fpu_has_xsave, fpu_has_xsaveopt, fpu_has_avx, fpu_has_avx512;
u32 fpu_mxcsr_mask;
u32 fpu_comp_off[XFEATURE_NCOMP], fpu_comp_size[XFEATURE_NCOMP];

static kmem_cache_t *fpu_area_cache;
static fpu_area_t fpu_default;		/* the state a new thread starts in */
static bool kfpu_active[NCPU];		/* in kfpu_begin/end; own CPU only */

/* The thread FPU ctxop's arg. */
typedef struct fpu_ctx {
	fpu_area_t fc_area;
} fpu_ctx_t;

static inline void
xsetbv(u32 reg, u64 v)
{
	__asm__ __volatile__("xsetbv" : : "c"(reg), "a"((u32)v),
	    "d"((u32)(v >> 32)));
}

/* Set XCR0 (the hypervisor switches it between host and guest values). */
void
fpu_xsetbv(u64 xcr0)
{
	xsetbv(0, xcr0);
}

u64
fpu_xgetbv(u32 reg)
{
	u32 lo, hi;

	__asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(reg));
	return (((u64)hi << 32) | lo);
}

/* XSAVE (never XSAVEOPT: every in-use component is written) or FXSAVE. */
void
fpu_xsave_raw(void *buf)
{
	if (fpu_has_xsave) {
		__asm__ __volatile__("xsave64 (%0)" : : "r"(buf),
		    "a"((u32)fpu_xcr0), "d"((u32)(fpu_xcr0 >> 32)) : "memory");
	} else {
		__asm__ __volatile__("fxsave64 (%0)" : : "r"(buf) : "memory");
	}
}

/* XRSTOR or FXRSTOR of every enabled component; no trace record. */
void
fpu_xrstor_raw(const void *buf)
{
	if (fpu_has_xsave) {
		__asm__ __volatile__("xrstor64 (%0)" : : "r"(buf),
		    "a"((u32)fpu_xcr0), "d"((u32)(fpu_xcr0 >> 32)) : "memory");
	} else {
		__asm__ __volatile__("fxrstor64 (%0)" : : "r"(buf) : "memory");
	}
}

/* Fill buf (fpu_save_size bytes) with the default state. */
void
fpu_area_default(void *buf)
{
	memset(buf, 0, fpu_save_size);
	*(u16 *)((u8 *)buf + FXSAVE_FCW) = FPU_FCW_DEFAULT;
	*(u32 *)((u8 *)buf + FXSAVE_MXCSR) = FPU_MXCSR_DEFAULT;
	/* x87 and SSE are loaded from the area (FCW, MXCSR, empty stack,
	 * zero XMM); every other component is initialised by XRSTOR. */
	if (fpu_has_xsave)
		*(u64 *)((u8 *)buf + XSAVE_XSTATE_BV) = XFEATURE_X87 |
		    XFEATURE_SSE;
}

/* CR0/CR4/XCR0 for this CPU. Idempotent. */
static void
fpu_cpu_setup(void)
{
	set_cr0((get_cr0() | CR0_MP | CR0_NE) & ~(CR0_EM | CR0_TS));
	u64 cr4 = get_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (fpu_has_xsave)
		cr4 |= CR4_OSXSAVE;
	set_cr4(cr4);
	if (fpu_has_xsave)
		xsetbv(0, fpu_xcr0);
}

void
fpu_init(void)
{
	u32 a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	VERIFY((d & (1U << 24)) != 0, "fpu_init: no FXSR");
	fpu_has_xsave = (c & (1U << 26)) != 0;
	bool avx = (c & (1U << 28)) != 0;
	cpuid(0, 0, &a, &b, &c, &d);
	bool avx512f = false;
	if (a >= 7) {
		cpuid(7, 0, &a, &b, &c, &d);
		avx512f = (b & (1U << 16)) != 0;
	}

	if (fpu_has_xsave) {
		cpuid(0xd, 0, &a, &b, &c, &d);
		u64 supported = ((u64)d << 32) | a;
		/* Never MPX (3, 4) nor PKRU (9): nothing here manages them. */
		fpu_xcr0 = supported & XFEATURE_ALLOWED;
		if (!avx)
			fpu_xcr0 &= XFEATURE_X87 | XFEATURE_SSE;
		/* AVX-512 needs all three components, and AVX, or none. */
		if (!avx512f || (fpu_xcr0 & XFEATURE_AVX512) != XFEATURE_AVX512 ||
		    (fpu_xcr0 & XFEATURE_AVX) == 0)
			fpu_xcr0 &= ~XFEATURE_AVX512;
		cpuid(0xd, 1, &a, &b, &c, &d);
		fpu_has_xsaveopt = (a & 1) != 0;
		for (int i = 2; i < XFEATURE_NCOMP; i++) {
			if ((fpu_xcr0 & (1UL << i)) == 0)
				continue;
			cpuid(0xd, (u32)i, &a, &b, &c, &d);
			fpu_comp_size[i] = a;
			fpu_comp_off[i] = b;
		}
	} else {
		fpu_xcr0 = XFEATURE_X87 | XFEATURE_SSE;
	}
	fpu_has_avx = (fpu_xcr0 & XFEATURE_AVX) != 0;
	fpu_has_avx512 = (fpu_xcr0 & XFEATURE_AVX512) == XFEATURE_AVX512;

	fpu_cpu_setup();
	if (fpu_has_xsave) {
		/* EBX: the size for the features XCR0 now enables. */
		cpuid(0xd, 0, &a, &b, &c, &d);
		fpu_save_size = b;
	} else {
		fpu_save_size = 512;
	}

	/* MXCSR_MASK says which MXCSR bits may be set (0 means 0xffbf). */
	u8 fx[512 + 16];
	u8 *fxp = (u8 *)P2ROUNDUP((uintptr_t)fx, 16);
	memset(fxp, 0, 512);
	__asm__ __volatile__("fxsave64 (%0)" : : "r"(fxp) : "memory");
	fpu_mxcsr_mask = *(u32 *)(fxp + FXSAVE_MXCSR_MASK);
	if (fpu_mxcsr_mask == 0)
		fpu_mxcsr_mask = 0xffbf;

	fpu_area_cache = kmem_cache_create("fpu_area", fpu_save_size,
	    FPU_AREA_ALIGN, NULL, NULL, NULL, 0);
	fpu_area_init(&fpu_default);
	fpu_load_default();

	cmn_err(CE_NOTE, "fpu: %s xcr0=0x%lx area=%u bytes avx=%d avx512=%d "
	    "xsaveopt=%d", fpu_has_xsave ? "xsave" : "fxsave",
	    (unsigned long)fpu_xcr0, fpu_save_size, fpu_has_avx,
	    fpu_has_avx512, fpu_has_xsaveopt);
}

void
fpu_cpu_init(void)
{
	VERIFY(fpu_default.fa_buf != NULL, "fpu_cpu_init: before fpu_init");
	fpu_cpu_setup();
	fpu_load_default();
}

void
fpu_area_init(fpu_area_t *a)
{
	a->fa_buf = kmem_cache_alloc(fpu_area_cache, KM_SLEEP);
	ASSERT(IS_P2ALIGNED(a->fa_buf, FPU_AREA_ALIGN));
	fpu_area_default(a->fa_buf);
}

void
fpu_area_fini(fpu_area_t *a)
{
	kmem_cache_free(fpu_area_cache, a->fa_buf);
	a->fa_buf = NULL;
}

/*
 * XSAVEOPT may skip components unmodified since the last XRSTOR from this
 * same address: right as long as nobody writes an area between restoring
 * from it and saving into it again.
 */
void
fpu_save(fpu_area_t *a)
{
	if (fpu_has_xsaveopt) {
		__asm__ __volatile__("xsaveopt64 (%0)" : : "r"(a->fa_buf),
		    "a"((u32)fpu_xcr0), "d"((u32)(fpu_xcr0 >> 32)) : "memory");
	} else {
		fpu_xsave_raw(a->fa_buf);
	}
	TRACE(TR_FPU_SAVE, a, 0);
}

void
fpu_restore(const fpu_area_t *a)
{
	fpu_xrstor_raw(a->fa_buf);
	TRACE(TR_FPU_RESTORE, a, 0);
}

void
fpu_load_default(void)
{
	fpu_xrstor_raw(fpu_default.fa_buf);
}

/*
 * The thread FPU ctxop. Hooks run with preemption disabled.
 */
void
fpu_ctx_save(void *arg)
{
	fpu_save(&((fpu_ctx_t *)arg)->fc_area);
}

void
fpu_ctx_restore(void *arg)
{
	/*
	 * The thread's FPU node is the oldest, so nothing newer has run yet
	 * and XCR0 must still be the host's. If a guest's is live, a vCPU
	 * node restored first: the pre-12477 order. Say so rather than take
	 * the #GP that XRSTOR would raise for state outside XCR0 -- unless
	 * that order was asked for (ctx_legacy_restore, a test switch): then
	 * do what the old kernel did, load the host state over the guest's,
	 * and let the guest see its registers change.
	 */
	if (fpu_has_xsave) {
		u64 xcr0 = fpu_xgetbv(0);
		if (xcr0 != fpu_xcr0) {
			VERIFY(ctx_legacy_restore, "fpu_ctx_restore: XCR0 is "
			    "0x%lx, not the host's 0x%lx: a newer ctxop restored "
			    "guest state first (restore order broken)", xcr0,
			    fpu_xcr0);
			xsetbv(0, fpu_xcr0);
		}
	}
	fpu_restore(&((fpu_ctx_t *)arg)->fc_area);
}

void
fpu_ctx_free(void *arg, int isexec __unused)
{
	fpu_ctx_t *fc = arg;

	fpu_area_fini(&fc->fc_area);
	kmem_free(fc, sizeof (*fc));
}

static const struct ctxop_template fpu_ctxop_tpl = {
	.ct_rev = CTXOP_TPL_REV,
	.ct_save = fpu_ctx_save,
	.ct_restore = fpu_ctx_restore,
	.ct_free = fpu_ctx_free,
};

/* The thread's FPU context, or NULL. Current thread or one not running. */
static fpu_ctx_t *
fpu_ctx_of(kthread_t *t)
{
	struct ctxop *head = t->t_ctx, *op = head;

	if (head == NULL)
		return (NULL);
	do {
		if (op->save_op == fpu_ctx_save)
			return (op->arg);
		op = op->next;
	} while (op != NULL && op != head);
	return (NULL);
}

bool
fpu_thread_enabled(kthread_t *t)
{
	return (fpu_ctx_of(t) != NULL);
}

void
fpu_thread_enable(void)
{
	kthread_t *t = curthread;

	VERIFY(!fpu_thread_enabled(t), "fpu_thread_enable: %s: already "
	    "enabled", t->t_name);
	/* Older hooks would run after ours on restore and could see (or
	 * leave) the wrong FPU state: ours must be first in, last out. */
	VERIFY(t->t_ctx == NULL, "fpu_thread_enable: the FPU ctxop must be "
	    "the thread's oldest");

	/* Allocation may sleep: before the critical section. */
	fpu_ctx_t *fc = kmem_alloc(sizeof (*fc), KM_SLEEP);
	fpu_area_init(&fc->fc_area);
	struct ctxop *op = ctxop_allocate(&fpu_ctxop_tpl, fc);

	/* Registers and ctxop together: a switch in between would save
	 * some other thread's leftovers as ours. */
	kpreempt_disable();
	fpu_load_default();
	ctxop_attach(t, op);
	kpreempt_enable();
}

void
kfpu_begin(void)
{
	kpreempt_disable();
	int id = CPU->cpu_id;
	VERIFY(!kfpu_active[id], "kfpu_begin: nested");
	VERIFY(CPU->cpu_guest_fpu == NULL, "kfpu_begin: a guest's FPU state "
	    "is loaded (inside vm_run)");
	kfpu_active[id] = true;
	fpu_ctx_t *fc = fpu_ctx_of(curthread);
	if (fc != NULL)
		fpu_save(&fc->fc_area);	/* the thread's own live state */
	fpu_load_default();
}

void
kfpu_end(void)
{
	int id = CPU->cpu_id;

	VERIFY(kfpu_active[id], "kfpu_end: without kfpu_begin");
	fpu_ctx_t *fc = fpu_ctx_of(curthread);
	if (fc != NULL)
		fpu_restore(&fc->fc_area);
	kfpu_active[id] = false;
	kpreempt_enable();
}
