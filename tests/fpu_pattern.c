/*
 * FPU register patterns: see fpu_pattern.h.
 *
 * Every field's expected value is computed from (seed, group, index), so
 * making an area and checking registers share one definition and the
 * checker needs no second area. The values are chosen to be loadable by
 * XRSTOR without faults: x87 registers are normal numbers, FCW uses valid
 * precision/rounding settings with every exception masked, MXCSR only
 * bits MXCSR_MASK allows.
 */
#include "fpu_pattern.h"
#include "../kern/console.h"
#include "../kern/panic.h"

#define	SCRATCH_MAX	3072	/* x87|SSE|AVX|AVX-512 standard: 2688 */

enum group {
	G_FCW, G_FSW, G_FTW, G_MXCSR, G_ST, G_XMM, G_YMMH, G_K, G_ZMMH,
	G_ZMM16, G_NGROUPS
};

static const struct {
	const char *name;	/* printf format with the index */
	int comp;		/* XSAVE component; -1: MXCSR (always saved) */
	int count;
	u32 len;		/* bytes compared */
	u32 stride;
} groups[G_NGROUPS] = {
	[G_FCW] =	{ "fcw", 0, 1, 2, 0 },
	[G_FSW] =	{ "fsw", 0, 1, 2, 0 },
	[G_FTW] =	{ "ftw", 0, 1, 1, 0 },
	[G_MXCSR] =	{ "mxcsr", -1, 1, 4, 0 },
	[G_ST] =	{ "st%d", 0, 8, 10, 16 },
	[G_XMM] =	{ "xmm%d", 1, 16, 16, 16 },
	[G_YMMH] =	{ "ymm%d_hi128", 2, 16, 16, 16 },
	[G_K] =		{ "k%d", 5, 8, 8, 8 },
	[G_ZMMH] =	{ "zmm%d_hi256", 6, 16, 32, 32 },
	[G_ZMM16] =	{ "zmm%d", 7, 16, 64, 64 },
};

static u64
mix(u64 x)
{
	x += 0x9e3779b97f4a7c15UL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9UL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebUL;
	return (x ^ (x >> 31));
}

static u64
h(u64 seed, int g, int idx, u32 chunk)
{
	return (mix(mix(seed) ^ ((u64)g << 40) ^ ((u64)idx << 20) ^ chunk));
}

static bool
group_enabled(int g)
{
	int c = groups[g].comp;

	return (c < 0 || (fpu_xcr0 & (1UL << c)) != 0);
}

/* Where field (g, idx) lives in a standard-format area. */
static u32
field_off(int g, int idx)
{
	switch (g) {
	case G_FCW:	return (FXSAVE_FCW);
	case G_FSW:	return (FXSAVE_FSW);
	case G_FTW:	return (FXSAVE_FTW);
	case G_MXCSR:	return (FXSAVE_MXCSR);
	case G_ST:	return (FXSAVE_ST0 + 16 * (u32)idx);
	case G_XMM:	return (FXSAVE_XMM0 + 16 * (u32)idx);
	default:
		return (fpu_comp_off[groups[g].comp] +
		    groups[g].stride * (u32)idx);
	}
}

/* The pattern's value of field (g, idx), little-endian, in out. */
static void
want_value(u64 seed, int g, int idx, u8 *out)
{
	u64 r = h(seed, g, idx, 0);

	memset(out, 0, 64);
	switch (g) {
	case G_FCW: {
		/* All exceptions masked (bit 6 reads as 1); precision 24, 53
		 * or 64 bits (1 is reserved); any rounding. */
		static const u16 pc[3] = { 0, 2, 3 };
		u16 fcw = 0x7f | (u16)(pc[r % 3] << 8) |
		    (u16)(((r >> 8) & 3) << 10);
		memcpy(out, &fcw, 2);
		break;
	}
	case G_FSW: {
		/* TOP = 0, no exception flags; condition codes C0-C3. */
		u16 fsw = (u16)(r & 0x4700);
		memcpy(out, &fsw, 2);
		break;
	}
	case G_FTW:
		out[0] = 0xff;		/* all eight registers valid */
		break;
	case G_MXCSR: {
		/* Masks all set; rounding, FZ, DAZ and the sticky flags vary. */
		u32 m = FPU_MXCSR_DEFAULT | (u32)(((r >> 13) & 3) << 13) |
		    (u32)(r & 0x3f) | (u32)(r & 0x8040);
		m &= fpu_mxcsr_mask;
		memcpy(out, &m, 4);
		break;
	}
	case G_ST: {
		/* A normal 80-bit number: explicit integer bit, exponent near
		 * the bias, random sign. */
		u64 mant = r | (1UL << 63);
		u64 r2 = h(seed, g, idx, 1);
		u16 se = (u16)(0x3fff - 64 + (r2 & 127)) | (u16)(r2 & 0x8000);
		memcpy(out, &mant, 8);
		memcpy(out + 8, &se, 2);
		break;
	}
	default:
		for (u32 c = 0; c < groups[g].len / 8; c++) {
			u64 v = h(seed, g, idx, c);
			memcpy(out + 8 * c, &v, 8);
		}
		break;
	}
}

/* What a component holds in its initial state (XSTATE_BV bit clear). */
static void
init_value(int g, u8 *out)
{
	memset(out, 0, 64);
	if (g == G_FCW) {
		u16 fcw = FPU_FCW_DEFAULT;
		memcpy(out, &fcw, 2);
	}
}

static void
fill(void *buf, u64 seed)
{
	u8 v[64];

	VERIFY(fpu_save_size <= SCRATCH_MAX, "fpu_pattern: area of %u bytes "
	    "is larger than the scratch (%u)", fpu_save_size, SCRATCH_MAX);
	memset(buf, 0, fpu_save_size);
	for (int g = 0; g < G_NGROUPS; g++) {
		if (!group_enabled(g))
			continue;
		for (int i = 0; i < groups[g].count; i++) {
			want_value(seed, g, i, v);
			memcpy((u8 *)buf + field_off(g, i), v, groups[g].len);
		}
	}
	if (fpu_has_xsave)
		*(u64 *)((u8 *)buf + XSAVE_XSTATE_BV) = fpu_xcr0;
}

void
fpu_pattern_make(fpu_area_t *a, u64 seed)
{
	fill(a->fa_buf, seed);
}

#define	SCRATCH(name)							\
	u8 name##_raw[SCRATCH_MAX + FPU_AREA_ALIGN];			\
	void *name = (void *)P2ROUNDUP((uintptr_t)name##_raw, FPU_AREA_ALIGN)

void
fpu_pattern_load(u64 seed)
{
	SCRATCH(buf);

	fill(buf, seed);
	fpu_xrstor_raw(buf);
}

static u64
le64(const u8 *p, u32 n)
{
	u64 v = 0;

	memcpy(&v, p, MIN(n, 8));
	return (v);
}

int
fpu_pattern_compare(const void *buf, u64 seed, char *why, size_t whylen)
{
	u64 bv = fpu_has_xsave ? *(const u64 *)((const u8 *)buf +
	    XSAVE_XSTATE_BV) : (XFEATURE_X87 | XFEATURE_SSE);
	u8 want[64], got[64];
	int bad = 0;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	for (int g = 0; g < G_NGROUPS; g++) {
		if (!group_enabled(g))
			continue;
		int c = groups[g].comp;
		u32 len = groups[g].len;
		for (int i = 0; i < groups[g].count; i++) {
			want_value(seed, g, i, want);
			if (c >= 0 && (bv & (1UL << c)) == 0)
				init_value(g, got);
			else
				memcpy(got, (const u8 *)buf + field_off(g, i),
				    len);
			if (memcmp(got, want, len) == 0)
				continue;
			if (bad++ > 0 || why == NULL)
				continue;
			u32 at = 0;
			while (at + 8 < len && memcmp(got + at, want + at,
			    MIN(8, len - at)) == 0)
				at += 8;
			char name[16];
			ksnprintf(name, sizeof (name), groups[g].name,
			    g == G_ZMM16 ? i + 16 : i);
			char where[24] = "";
			if (len > 8)
				ksnprintf(where, sizeof (where), " (bytes %u-%u)",
				    at, MIN(at + 8, len) - 1);
			ksnprintf(why, whylen, "%s differs%s: got 0x%lx want 0x%lx",
			    name, where, le64(got + at, len - at),
			    le64(want + at, len - at));
		}
	}
	return (bad);
}

int
fpu_pattern_check(u64 seed, char *why, size_t whylen)
{
	SCRATCH(buf);

	/* No need to clear the scratch: XSAVE writes XSTATE_BV, MXCSR and
	 * every component whose bit it sets; compare reads nothing else. */
	fpu_xsave_raw(buf);
	return (fpu_pattern_compare(buf, seed, why, whylen));
}
