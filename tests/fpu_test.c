/*
 * Suite "fpu": per-thread FPU state survives switches, preemption and
 * migration; the pattern checker can fail; kfpu_begin/end brackets; the
 * default state; XCR0 on every CPU.
 */
#include "ktest.h"
#include "fpu_pattern.h"
#include "../kern/fpu.h"
#include "../kern/thread.h"
#include "../kern/cpu.h"
#include "../kern/x86.h"
#include "../kern/kmem.h"
#include "../kern/console.h"

static u32
get_mxcsr(void)
{
	u32 m;

	__asm__ __volatile__("stmxcsr %0" : "=m"(m));
	return (m);
}

static void
set_mxcsr(u32 m)
{
	__asm__ __volatile__("ldmxcsr %0" : : "m"(m));
}

static u16
get_fcw(void)
{
	u16 cw;

	__asm__ __volatile__("fnstcw %0" : "=m"(cw));
	return (cw);
}

/*
 * fpu/isolation: 4 FPU threads per CPU, each holding its own pattern in
 * every register and checking it all the time while it yields, is
 * preempted and migrates; plus spinners that never touch the FPU, so an
 * FPU thread's registers are often still live when one of them runs.
 */
#define	ISO_YIELD_EVERY	1	/* checks between voluntary switches */
#define	ISO_BIND_EVERY	64	/* checks between forced migrations */

struct iso {
	u64 seed;
	volatile bool *stop;
	volatile bool ready;	/* sw0 is set */
	u64 sw0;		/* t_nswitch when the loop began */
	u64 checks, bad, binds;
	u64 nswitch, npreempt, nmigrate;	/* deltas, at exit */
};

static void
iso_check(struct iso *s)
{
	char why[128];
	int n = fpu_pattern_check(s->seed, why, sizeof (why));

	s->checks++;
	if (n == 0)
		return;
	if (s->bad++ == 0)
		ktest_fail(__FILE__, __LINE__, "%s on cpu%d: %d fields differ, "
		    "first: %s", curthread->t_name, CPU->cpu_id, n, why);
	fpu_pattern_load(s->seed);	/* count later corruptions afresh */
}

static void
iso_fpu_thread(void *arg)
{
	struct iso *s = arg;
	kthread_t *t = curthread;
	u64 rng = s->seed | 1;

	fpu_thread_enable();
	fpu_pattern_load(s->seed);
	u64 pre = t->t_npreempt, mig = t->t_nmigrate;
	s->sw0 = t->t_nswitch;
	s->ready = true;
	for (u64 i = 1; !READ_ONCE(*s->stop); i++) {
		iso_check(s);
		if (i % ISO_YIELD_EVERY == 0)
			thread_yield();
		if (i % ISO_BIND_EVERY == 0) {
			thread_bind((int)(ktest_rand(&rng) % (u64)ncpus));
			iso_check(s);
			thread_bind(-1);
			s->binds++;
		}
	}
	iso_check(s);
	s->nswitch = t->t_nswitch - s->sw0;
	s->npreempt = t->t_npreempt - pre;
	s->nmigrate = t->t_nmigrate - mig;
}

static void
iso_spinner(void *arg)
{
	volatile bool *stop = arg;

	while (!READ_ONCE(*stop)) {
		for (int i = 0; i < 200; i++)
			cpu_pause();
		thread_yield();
	}
}

KTEST(fpu, isolation)
{
	int nf = 4 * ncpus, ns = ncpus;
	struct iso *s = kmem_zalloc(nf * sizeof (*s), KM_SLEEP);
	kthread_t *ft[4 * NCPU], *st[NCPU];
	volatile bool stop = false;
	u64 target = ktest_scale(100000);
	char name[32];

	for (int i = 0; i < nf; i++) {
		s[i].seed = 0xf00d0000UL + (u64)i * 7919;
		s[i].stop = &stop;
		ksnprintf(name, sizeof (name), "fpu%d", i);
		ft[i] = thread_create(name, iso_fpu_thread, &s[i], -1);
	}
	for (int i = 0; i < ns; i++)
		st[i] = thread_create("nofpu", iso_spinner, (void *)&stop, -1);

	/* Until enough switches, or a minute of clock time as a safety. */
	u64 start = lbolt, deadline = start + 60 * (u64)hz, sw = 0;
	while (lbolt < deadline) {
		delay(1);
		sw = 0;
		for (int i = 0; i < nf; i++)
			if (s[i].ready)
				sw += READ_ONCE(ft[i]->t_nswitch) - s[i].sw0;
		if (sw >= target)
			break;
	}
	stop = true;
	u64 ticks = lbolt - start;
	u64 nsw = 0, npre = 0, nmig = 0, checks = 0, bad = 0, binds = 0;
	for (int i = 0; i < nf; i++) {
		thread_join(ft[i]);
		nsw += s[i].nswitch;
		npre += s[i].npreempt;
		nmig += s[i].nmigrate;
		checks += s[i].checks;
		bad += s[i].bad;
		binds += s[i].binds;
	}
	for (int i = 0; i < ns; i++)
		thread_join(st[i]);
	kmem_free(s, nf * sizeof (*s));

	ktest_note("%d FPU threads + %d non-FPU on %d CPUs, xcr0 0x%lx, "
	    "%lu ticks (hz %u)", nf, ns, ncpus, (unsigned long)fpu_xcr0,
	    (unsigned long)ticks, hz);
	ktest_note("switches %lu, preemptions %lu, migrations %lu (%lu bind "
	    "rounds), checks %lu, corruptions %lu", nsw, npre, nmig, binds,
	    checks, bad);
	KT_EXPECT(bad == 0, "%lu corrupted checks", bad);
	KT_EXPECT(nsw >= target, "only %lu switches of %lu in %lu ticks",
	    nsw, target, (unsigned long)ticks);
	KT_EXPECT(ncpus == 1 || nmig > 0, "no migrations");
}

/*
 * fpu/negative_control: the checker sees a wrong pattern, and names the
 * one register that was changed.
 */
static void
expect_only(u64 seed, const char *reg, const char *what)
{
	char why[128];
	int n = fpu_pattern_check(seed, why, sizeof (why));
	size_t l = strlen(reg);

	KT_EXPECT(n == 1 && strncmp(why, reg, l) == 0 && why[l] == ' ',
	    "%s: %d fields reported, first: %s", what, n, why);
	fpu_pattern_load(seed);
}

KTEST(fpu, negative_control)
{
	const u64 a = 0xa11ce, b = 0xb0b;
	char why[128];
	int n;

	fpu_thread_enable();
	fpu_pattern_load(a);
	n = fpu_pattern_check(a, why, sizeof (why));
	KT_ASSERT(n == 0, "pattern A does not check against itself: %s", why);

	/* A "broken switch": another thread's registers appear. */
	fpu_pattern_load(b);
	n = fpu_pattern_check(a, why, sizeof (why));
	ktest_note("pattern B checked as A: %d fields differ, first: %s", n,
	    why);
	KT_EXPECT(n >= 8 + 16, "only %d fields differ", n);
	KT_EXPECT(fpu_pattern_check(b, NULL, 0) == 0, "B does not check");

	/* One register at a time. */
	fpu_pattern_load(a);
	__asm__ __volatile__("pxor %xmm5, %xmm5");
	expect_only(a, "xmm5", "pxor xmm5");
	set_mxcsr(get_mxcsr() ^ (1U << 13));
	expect_only(a, "mxcsr", "mxcsr rounding");
	__asm__ __volatile__("fincstp; fstp %st(0)");	/* pop: st7 -> empty */
	n = fpu_pattern_check(a, why, sizeof (why));
	KT_EXPECT(n >= 1, "x87 pop not seen");
	fpu_pattern_load(a);
	if (fpu_has_avx) {
		/* VEX-encoded: writes xmm3 and zeroes the rest of ymm3 (and
		 * of zmm3). */
		__asm__ __volatile__("vpxor %xmm3, %xmm3, %xmm3");
		n = fpu_pattern_check(a, why, sizeof (why));
		int want = fpu_has_avx512 ? 3 : 2;
		KT_EXPECT(n == want && strncmp(why, "xmm3 ", 5) == 0,
		    "vpxor xmm3: %d fields differ, want %d (%s)", n, want, why);
		fpu_pattern_load(a);
	}
	if (fpu_has_avx512) {
		__asm__ __volatile__("kxorw %k2, %k2, %k2");
		expect_only(a, "k2", "kxorw k2");
		__asm__ __volatile__("vpxord %zmm27, %zmm27, %zmm27");
		expect_only(a, "zmm27", "vpxord zmm27");
	}

	/* And on a saved area. */
	fpu_area_t area;
	fpu_area_init(&area);
	fpu_pattern_make(&area, a);
	KT_EXPECT(fpu_pattern_compare(area.fa_buf, a, why, sizeof (why)) == 0,
	    "made area: %s", why);
	((u8 *)area.fa_buf)[FXSAVE_XMM0 + 16 * 9 + 3] ^= 0x10;
	n = fpu_pattern_compare(area.fa_buf, a, why, sizeof (why));
	KT_EXPECT(n == 1 && strncmp(why, "xmm9 ", 5) == 0,
	    "flipped xmm9 bit: %d, %s", n, why);
	fpu_area_fini(&area);
	KT_EXPECT(fpu_pattern_check(a, why, sizeof (why)) == 0, "end: %s",
	    why);
}

/*
 * fpu/kfpu_bracket: kernel SIMD use inside kfpu_begin/end leaves an FPU
 * thread's registers as they were, switches around it included.
 */
static void
clobber_all(void)
{
	__asm__ __volatile__("fninit\n"
	    "pxor %xmm0, %xmm0\n pxor %xmm1, %xmm1\n pxor %xmm2, %xmm2\n"
	    "pxor %xmm3, %xmm3\n pxor %xmm4, %xmm4\n pxor %xmm5, %xmm5\n"
	    "pxor %xmm6, %xmm6\n pxor %xmm7, %xmm7\n pxor %xmm8, %xmm8\n"
	    "pxor %xmm9, %xmm9\n pxor %xmm10, %xmm10\n pxor %xmm11, %xmm11\n"
	    "pxor %xmm12, %xmm12\n pxor %xmm13, %xmm13\n"
	    "pxor %xmm14, %xmm14\n pxor %xmm15, %xmm15\n"
	    "pcmpeqd %xmm7, %xmm7");	/* and one all-ones */
	set_mxcsr(0x1f80 | (3U << 13));
	if (fpu_has_avx)
		__asm__ __volatile__("vzeroall");
	if (fpu_has_avx512)
		__asm__ __volatile__("kxnorw %k0, %k0, %k1\n"
		    "kxorw %k3, %k3, %k3\n"
		    "vpternlogd $0xff, %zmm20, %zmm20, %zmm20\n"
		    "vpxord %zmm31, %zmm31, %zmm31");
}

static void
kfpu_nofpu(void *arg)
{
	u64 *ok = arg;

	kfpu_begin();
	*ok = get_mxcsr() == FPU_MXCSR_DEFAULT && get_fcw() == FPU_FCW_DEFAULT;
	clobber_all();
	kfpu_end();
}

KTEST(fpu, kfpu_bracket)
{
	const u64 p = 0x5eed;
	char why[128];
	int rounds = (int)ktest_scale(200);
	int seen_clobber = 0, bad = 0;

	fpu_thread_enable();
	fpu_pattern_load(p);
	for (int r = 0; r < rounds; r++) {
		kfpu_begin();
		if (get_mxcsr() != FPU_MXCSR_DEFAULT ||
		    get_fcw() != FPU_FCW_DEFAULT)
			bad++;		/* not the default state inside */
		clobber_all();
		if (fpu_pattern_check(p, NULL, 0) > 0)
			seen_clobber++;
		kfpu_end();
		int n = fpu_pattern_check(p, why, sizeof (why));
		if (n != 0 && bad++ == 0)
			ktest_fail(__FILE__, __LINE__, "round %d: %d fields "
			    "differ after kfpu_end: %s", r, n, why);
		if (n != 0)
			fpu_pattern_load(p);
		if (r % 4 == 0)
			thread_yield();
		if (r % 16 == 0 && ncpus > 1) {
			thread_bind(r / 16 % ncpus);
			thread_bind(-1);
		}
	}
	KT_EXPECT(bad == 0, "%d bad rounds", bad);
	KT_EXPECT(seen_clobber == rounds, "clobbers seen in %d of %d rounds",
	    seen_clobber, rounds);

	/* A thread without FPU context may bracket too. */
	u64 ok = 0;
	kthread_t *t = thread_create("kfpu_nofpu", kfpu_nofpu, &ok, -1);
	thread_join(t);
	KT_EXPECT(ok == 1, "non-FPU thread: no default state in kfpu_begin");
	KT_EXPECT(fpu_pattern_check(p, why, sizeof (why)) == 0, "end: %s",
	    why);
}

/* fpu/area_default: new areas and newly enabled threads start clean. */
KTEST(fpu, area_default)
{
	fpu_area_t a;

	fpu_area_init(&a);
	const u8 *b = a.fa_buf;
	KT_EXPECT(IS_P2ALIGNED(b, 64), "area at 0x%lx", (unsigned long)b);
	KT_EXPECT(*(const u16 *)(b + FXSAVE_FCW) == 0x37f, "FCW 0x%x",
	    *(const u16 *)(b + FXSAVE_FCW));
	KT_EXPECT(*(const u32 *)(b + FXSAVE_MXCSR) == 0x1f80, "MXCSR 0x%x",
	    *(const u32 *)(b + FXSAVE_MXCSR));
	if (fpu_has_xsave) {
		KT_EXPECT(*(const u64 *)(b + XSAVE_XSTATE_BV) == 3,
		    "XSTATE_BV 0x%lx", *(const u64 *)(b + XSAVE_XSTATE_BV));
		for (int i = 8; i < 64; i++)
			KT_EXPECT(b[512 + i] == 0, "header byte %d", i);
	}
	fpu_area_fini(&a);

	fpu_thread_enable();
	KT_EXPECT(fpu_thread_enabled(curthread), "not enabled");
	KT_EXPECT(get_mxcsr() == 0x1f80, "live MXCSR 0x%x", get_mxcsr());
	KT_EXPECT(get_fcw() == 0x37f, "live FCW 0x%x", get_fcw());
	thread_yield();
	KT_EXPECT(get_mxcsr() == 0x1f80, "MXCSR 0x%x after a switch",
	    get_mxcsr());

	/* Every XMM, YMM, ZMM and k register is zero: save and look. */
	size_t sz = fpu_save_size + 64;
	u8 *raw = kmem_zalloc(sz, KM_SLEEP);
	u8 *s = (u8 *)P2ROUNDUP((uintptr_t)raw, 64);
	fpu_xsave_raw(s);
	u64 bv = fpu_has_xsave ? *(u64 *)(s + XSAVE_XSTATE_BV) : 3;
	int nonzero = 0;
	if (bv & XFEATURE_SSE)
		for (int i = 0; i < 256; i++)
			nonzero += s[FXSAVE_XMM0 + i] != 0;
	if (bv & XFEATURE_AVX)
		for (u32 i = 0; i < 256; i++)
			nonzero += s[fpu_comp_off[2] + i] != 0;
	/* (XSTATE_BV may still have bits of components in their initial
	 * state set: QEMU does not track XINUSE. Only the values count.) */
	if (bv & XFEATURE_OPMASK)
		for (u32 i = 0; i < 64; i++)
			nonzero += s[fpu_comp_off[5] + i] != 0;
	if (bv & XFEATURE_ZMM_HI256)
		for (u32 i = 0; i < 512; i++)
			nonzero += s[fpu_comp_off[6] + i] != 0;
	if (bv & XFEATURE_HI16_ZMM)
		for (u32 i = 0; i < 1024; i++)
			nonzero += s[fpu_comp_off[7] + i] != 0;
	KT_EXPECT(nonzero == 0, "%d nonzero bytes in XMM/YMM/ZMM/k", nonzero);
	kmem_free(raw, sz);
}

/* fpu/xcr0: every CPU has the same XCR0, CR0 and CR4 settings. */
KTEST(fpu, xcr0)
{
	ktest_note("xcr0 0x%lx, area %u bytes, xsave %d xsaveopt %d avx %d "
	    "avx512 %d, mxcsr_mask 0x%x", (unsigned long)fpu_xcr0,
	    fpu_save_size, fpu_has_xsave, fpu_has_xsaveopt, fpu_has_avx,
	    fpu_has_avx512, fpu_mxcsr_mask);
	KT_EXPECT((fpu_xcr0 & ~XFEATURE_ALLOWED) == 0, "xcr0 0x%lx",
	    (unsigned long)fpu_xcr0);
	KT_EXPECT(!fpu_has_xsave || fpu_save_size >= 576, "area %u bytes",
	    fpu_save_size);
	for (int c = 2; c < XFEATURE_NCOMP; c++)
		KT_EXPECT(fpu_comp_off[c] + fpu_comp_size[c] <= fpu_save_size,
		    "component %d at %u+%u", c, fpu_comp_off[c],
		    fpu_comp_size[c]);
	for (int c = 0; c < ncpus; c++) {
		thread_bind(c);
		u64 cr0 = get_cr0(), cr4 = get_cr4();
		KT_EXPECT((cr0 & (CR0_MP | CR0_NE)) == (CR0_MP | CR0_NE) &&
		    (cr0 & (CR0_EM | CR0_TS)) == 0, "cpu%d: cr0 0x%lx", c,
		    (unsigned long)cr0);
		KT_EXPECT((cr4 & (CR4_OSFXSR | CR4_OSXMMEXCPT)) ==
		    (CR4_OSFXSR | CR4_OSXMMEXCPT), "cpu%d: cr4 0x%lx", c,
		    (unsigned long)cr4);
		if (fpu_has_xsave) {
			KT_EXPECT((cr4 & CR4_OSXSAVE) != 0, "cpu%d: no OSXSAVE",
			    c);
			u64 x = fpu_xgetbv(0);
			KT_EXPECT(x == fpu_xcr0, "cpu%d: XCR0 0x%lx, want 0x%lx",
			    c, (unsigned long)x, (unsigned long)fpu_xcr0);
		}
	}
	thread_bind(-1);
}
