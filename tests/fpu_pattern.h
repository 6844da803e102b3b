/*
 * FPU register patterns for tests: seed-derived, distinct values for every
 * piece of FPU/SIMD state the kernel manages (the x87 stack, FCW, FSW,
 * MXCSR, XMM0-15, and as XCR0 allows the upper halves of YMM0-15, the
 * opmask registers k0-k7, the upper halves of ZMM0-15 and ZMM16-31).
 * A thread loads a pattern, runs (is preempted, migrates, ...) and checks
 * the live registers against the same seed.
 *
 * None of these touch a register except fpu_pattern_load (which sets all
 * of them). The checkers need no preemption bracket: one XSAVE captures
 * the state. They use about 3 KiB of the caller's stack.
 */
#ifndef _TESTS_FPU_PATTERN_H
#define _TESTS_FPU_PATTERN_H

#include "../kern/types.h"
#include "../kern/fpu.h"

/* Fill an area (XSAVE standard format) with pattern seed; XSTATE_BV =
 * every enabled component, so XRSTOR of it loads the whole pattern. */
void fpu_pattern_make(fpu_area_t *, u64 seed);
/* Load pattern seed into this CPU's registers (XRSTOR of a scratch area). */
void fpu_pattern_load(u64 seed);
/*
 * Compare the live registers with pattern seed. Returns the number of
 * fields that differ (each register, FCW, FSW, FTW and MXCSR is a field)
 * and describes the first in why (may be NULL), e.g.
 * "xmm7 differs: got 0x... want 0x...".
 */
int fpu_pattern_check(u64 seed, char *why, size_t whylen);
/* The same comparison on a saved area (XSAVE/XSAVEOPT standard format, or
 * FXSAVE without XSAVE): components whose XSTATE_BV bit is clear count as
 * being in their initial state. */
int fpu_pattern_compare(const void *buf, u64 seed, char *why, size_t whylen);

#endif
