/*
 * Callouts: a function run from the timer interrupt at an absolute
 * gethrtime() deadline. Each CPU keeps its pending callouts in a list
 * sorted by deadline and programs its local APIC timer (one-shot) for the
 * earlier of that list's head and its next clock tick, so a callout fires
 * within the timer's resolution of its deadline, not at the next tick.
 *
 * The caller owns the callout_t (no allocation, so it can live on a stack).
 * callout_arm puts it on the calling CPU's list. The function runs on that
 * CPU in interrupt context (interrupts off, no blocking; spin locks are
 * fine) and must not arm, stop or free its own callout. callout_stop
 * removes a pending callout from whichever CPU holds it; if the function is
 * running on another CPU at that moment it waits for it to return, so once
 * callout_stop has returned the callout_t is the caller's to reuse or free.
 *
 * Lock order: a caller may hold spin locks when it arms (the callout lock
 * comes last); it must hold none that the function takes when it stops.
 */
#ifndef _KERN_CALLOUT_H
#define _KERN_CALLOUT_H

#include "types.h"

struct cpu;

typedef struct callout {
	struct callout *co_next;	/* the CPU's sorted list; its lock */
	hrtime_t co_when;		/* absolute deadline, gethrtime() ns */
	void (*co_func)(void *);
	void *co_arg;
	struct cpu *volatile co_cpu;	/* CPU whose list holds it or that is
					   running it, else NULL; its lock */
} callout_t;

void callout_init(callout_t *);
/* Run func(arg) on this CPU once gethrtime() >= when. c must be idle. */
void callout_arm(callout_t *, hrtime_t when, void (*func)(void *), void *arg);
/* True if it was pending and is now removed; false if it already ran (or
 * was never armed). Waits for a run in progress on another CPU. */
bool callout_stop(callout_t *);
bool callout_pending(const callout_t *);

/* The clock: every CPU's timer interrupt, and its start. */
void clock_intr(void);
void clock_cpu_start(void);

/* Test switch (tunable.h): callouts fire only on clock ticks. */
extern bool callout_inject_tick_only;

#endif
