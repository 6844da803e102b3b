/*
 * In-kernel tests. KTEST(suite, name) registers a test in the .ktests
 * section; the runner (tests/ktest.c) runs the suites named on the command
 * line, each test in a thread of its own, and prints TAP on the console.
 * After each test it checks that the test leaked no kmem buffers, pmem
 * pages or threads and left preemption enabled; a leak fails the test. The
 * end of the run checks kmem buffers and pages over the whole run again.
 */
#ifndef _TESTS_KTEST_H
#define _TESTS_KTEST_H

#define	MiB	(1UL << 20)	/* guest RAM sizes in the tests */

#include "../kern/types.h"

typedef struct ktest {
	const char *kt_suite;
	const char *kt_name;
	void (*kt_func)(void);
	int kt_mincpus;			/* skipped with fewer CPUs */
	const char *kt_file;		/* the runner sorts by file, line */
	int kt_line;
	const char *kt_panic;		/* KTEST_PANIC: the panic it must cause */
} ktest_t;

#define	KTEST_DEFINE(suite, name, mincpus, panicmsg)			\
	static void ktest_##suite##_##name(void);			\
	static const ktest_t ktest_desc_##suite##_##name		\
	    __attribute__((used, section(".ktests"), aligned(8))) =	\
	    { #suite, #name, ktest_##suite##_##name, (mincpus),	\
	    __FILE__, __LINE__, (panicmsg) };				\
	static void ktest_##suite##_##name(void)
#define	KTEST_MIN(suite, name, mincpus)	KTEST_DEFINE(suite, name, mincpus, NULL)
#define	KTEST(suite, name)	KTEST_DEFINE(suite, name, 1, NULL)
/*
 * A test that must panic with a message containing msg (API misuse that
 * an assertion has to catch). It never runs in a suite: the host runs it
 * alone with panic_test=suite/name and checks the panic message against
 * the msg written here (scripts/check.py reads it from this source). The
 * after-test checks run for it too, and a failed one panics with the
 * failure's text ("leaked 1 pmem pages"), so a test can leak on purpose.
 */
#define	KTEST_PANIC(suite, name, msg)	KTEST_DEFINE(suite, name, 1, msg)

/* Record a failure (the first reason is printed); the test goes on. */
void ktest_fail(const char *file, int line, const char *fmt, ...)
    __printflike(3, 4);
/* Mark the running test skipped (e.g. a CPU feature is missing). */
void ktest_skip(const char *reason);
/* A "# ..." diagnostic line in the TAP stream. */
void ktest_note(const char *fmt, ...) __printflike(1, 2);
/* xorshift64: the next pseudo-random number from *state (never 0). */
u64 ktest_rand(u64 *state);
/* n scaled by the scale= switch (percent; slow emulators use 10). */
u64 ktest_scale(u64 n);

#define	KT_EXPECT(cond, ...) do {					\
	if (unlikely(!(cond)))						\
		ktest_fail(__FILE__, __LINE__, __VA_ARGS__);		\
} while (0)
#define	KT_ASSERT(cond, ...) do {					\
	if (unlikely(!(cond))) {					\
		ktest_fail(__FILE__, __LINE__, __VA_ARGS__);		\
		return;							\
	}								\
} while (0)

void ktest_run(const char *suites);	/* runs the suites and shuts down */
void ktest_run_panic(const char *which);	/* panic_test=suite/name */
/* suite, or suite/name of a test (a panic test when panic is true) */
bool ktest_suite_exists(const char *spec, bool panic);

#endif
