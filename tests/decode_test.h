/*
 * What tests/decode_test.c and tests/decode_string_test.c share: the CPU
 * modes the cases run in and a vie_decode wrapper for them.
 */
#ifndef _TESTS_DECODE_TEST_H
#define _TESTS_DECODE_TEST_H

#include "../kern/vmm/vmm_decode.h"

enum env { R16, P16, P32, L64 };	/* real, protected CS.D=0/1, 64-bit */

static inline int
decode(enum env env, const u8 *b, size_t n, struct vie *vie)
{
	static const enum vie_cpu_mode mode[] = {
		[R16] = VIE_MODE_REAL, [P16] = VIE_MODE_PROT,
		[P32] = VIE_MODE_PROT, [L64] = VIE_MODE_LONG64 };

	return (vie_decode(b, n, mode[env], env == P32, vie));
}

#endif
