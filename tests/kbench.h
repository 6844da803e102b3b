/*
 * In-kernel benchmarks (not tests: they assert nothing). KBENCH(name)
 * registers one; bench=all|name on the command line runs them, each in a
 * thread of its own, and each measurement is printed as
 *   # bench: NAME value=V unit=UNIT
 * scripts/bench.py boots the kernel several times and prints medians.
 */
#ifndef _TESTS_KBENCH_H
#define _TESTS_KBENCH_H

#include "../kern/types.h"

typedef struct kbench {
	const char *kb_name;
	void (*kb_func)(void);
} kbench_t;

#define	KBENCH(name)							\
	static void kbench_##name(void);				\
	static const kbench_t kbench_desc_##name			\
	    __attribute__((used, section(".kbench"), aligned(8))) =	\
	    { #name, kbench_##name };					\
	static void kbench_##name(void)

void kbench_report(const char *name, u64 value, const char *unit);
bool kbench_exists(const char *name);
void kbench_run(const char *which) __noreturn;

#endif
