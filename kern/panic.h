/*
 * panic() and assertions. A failed assertion names the broken rule in its
 * message, so tests that expect a misuse to be caught can match on it.
 */
#ifndef _KERN_PANIC_H
#define _KERN_PANIC_H

#include "types.h"

struct regs;

__noreturn void panic(const char *fmt, ...) __printflike(1, 2);
__noreturn void panic_regs(const struct regs *, const char *fmt, ...)
    __printflike(2, 3);
/* Symbolize a kernel text address: returns the name and sets *off. */
const char *ksym_lookup(uintptr_t addr, uintptr_t *off);
/* Address of a function by name, 0 if unknown. */
uintptr_t ksym_addr(const char *name);
/* Stop the emulator with a status (0 = success). */
__noreturn void kernel_shutdown(int status);
/* The end of a run: the monitor first with monitor=1, then the line
 * "# bhyvelet: shutdown status=N" (the host scripts' cue) and shutdown. */
__noreturn void kernel_exit(int status);

extern volatile int panicking;

/* VERIFY is always on; ASSERT too (this kernel is always a debug kernel). */
#define	VERIFY(cond, ...) do {						\
	if (unlikely(!(cond)))						\
		panic(__VA_ARGS__);					\
} while (0)
#define	ASSERT(cond) do {						\
	if (unlikely(!(cond)))						\
		panic("assertion failed: %s, file: %s, line: %d",	\
		    #cond, __FILE__, __LINE__);				\
} while (0)

/*
 * Internal invariants that compare two values, as illumos's VERIFY3U:
 * the message shows the expression and both values. API misuse keeps
 * VERIFY with a message that names the broken rule.
 */
#define	VERIFY3_IMPL(l, op, r, type, fmt) do {				\
	type l_ = (type)(l), r_ = (type)(r);				\
	if (unlikely(!(l_ op r_)))					\
		panic("assertion failed: %s %s %s (" fmt " %s " fmt	\
		    "), file: %s, line: %d", #l, #op, #r, l_, #op, r_,	\
		    __FILE__, __LINE__);				\
} while (0)
#define	VERIFY3U(l, op, r)	VERIFY3_IMPL(l, op, r, u64, "0x%lx")
#define	VERIFY3S(l, op, r)	VERIFY3_IMPL(l, op, r, i64, "%ld")
#define	VERIFY3P(l, op, r)	VERIFY3_IMPL(l, op, r, uintptr_t, "0x%lx")
#define	VERIFY0(x)		VERIFY3_IMPL(x, ==, 0, u64, "0x%lx")
#define	ASSERT3U(l, op, r)	VERIFY3U(l, op, r)
#define	ASSERT3S(l, op, r)	VERIFY3S(l, op, r)
#define	ASSERT3P(l, op, r)	VERIFY3P(l, op, r)
#define	ASSERT0(x)		VERIFY0(x)

#endif
