/*
 * Callouts and the clock (callout.h).
 *
 * Each CPU's local APIC timer is one-shot. Every timer interrupt runs
 * clock_intr(): a clock tick if the tick's time has come (the tick is what
 * ends a thread's slice; ticks fall on multiples of nsec_per_tick since
 * boot on every CPU), then every callout of this CPU whose deadline has
 * passed, in deadline order, then the timer is set again for the earlier
 * of the next tick and the new head of the list. So a callout fires within
 * the interrupt latency of its deadline, whatever hz is.
 *
 * A callout's function runs with the CPU's callout lock dropped and
 * cpu_co_running pointing at it; callout_stop on another CPU that finds it
 * running spins until it is done. Only then does the running CPU stop
 * touching the callout_t (it clears co_cpu first, under the lock).
 */
#include "callout.h"
#include "cpu.h"
#include "apic.h"
#include "x86.h"
#include "panic.h"
#include "thread.h"
#include "tunable.h"

KTUNABLE_TEST(callout_inject_tick_only, "the timer is set for clock ticks "
    "only, so callouts fire at the first tick after their deadline (the "
    "timed-wait precision test must catch it)");

void
callout_init(callout_t *c)
{
	c->co_next = NULL;
	c->co_when = 0;
	c->co_func = NULL;
	c->co_arg = NULL;
	c->co_cpu = NULL;
}

bool
callout_pending(const callout_t *c)
{
	return (READ_ONCE(c->co_cpu) != NULL);
}

/* Set this CPU's timer for its next event. Interrupts off. */
static void
timer_program(cpu_t *cp)
{
	hrtime_t when = cp->cpu_next_tick;

	spin_lock(&cp->cpu_co_lock);
	if (cp->cpu_co_head != NULL && cp->cpu_co_head->co_when < when &&
	    !unlikely(callout_inject_tick_only))
		when = cp->cpu_co_head->co_when;
	spin_unlock(&cp->cpu_co_lock);
	cp->cpu_timer_when = when;
	apic_timer_oneshot(when);
}

void
callout_arm(callout_t *c, hrtime_t when, void (*func)(void *), void *arg)
{
	bool s = intr_save();
	cpu_t *cp = CPU;

	spin_lock(&cp->cpu_co_lock);
	VERIFY(c->co_cpu == NULL, "callout_arm: callout %p already pending "
	    "on cpu%d", (void *)c, c->co_cpu->cpu_id);
	c->co_when = when;
	c->co_func = func;
	c->co_arg = arg;
	c->co_cpu = cp;
	/* After the callouts with the same deadline: they fire in order. */
	callout_t **pp = &cp->cpu_co_head;
	while (*pp != NULL && (*pp)->co_when <= when)
		pp = &(*pp)->co_next;
	c->co_next = *pp;
	*pp = c;
	bool sooner = when < cp->cpu_timer_when;
	spin_unlock(&cp->cpu_co_lock);
	if (sooner && !unlikely(callout_inject_tick_only)) {
		cp->cpu_timer_when = when;
		apic_timer_oneshot(when);
	}
	intr_restore(s);
}

bool
callout_stop(callout_t *c)
{
	for (;;) {
		cpu_t *cp = READ_ONCE(c->co_cpu);
		if (cp == NULL)
			return (false);
		spin_lock(&cp->cpu_co_lock);
		if (c->co_cpu != cp) {
			spin_unlock(&cp->cpu_co_lock);
			continue;		/* it just finished running */
		}
		if (cp->cpu_co_running == c) {
			spin_unlock(&cp->cpu_co_lock);
			while (READ_ONCE(cp->cpu_co_running) == c)
				cpu_pause();	/* its function is running */
			continue;
		}
		callout_t **pp = &cp->cpu_co_head;
		while (*pp != c) {
			VERIFY(*pp != NULL, "callout_stop: callout %p is not "
			    "on cpu%d's list", (void *)c, cp->cpu_id);
			pp = &(*pp)->co_next;
		}
		*pp = c->co_next;
		c->co_next = NULL;
		c->co_cpu = NULL;
		cp->cpu_ncallout_stop++;
		spin_unlock(&cp->cpu_co_lock);
		/* The timer may now fire early for nothing: harmless. */
		return (true);
	}
}

/* Run this CPU's callouts that are due; true if any ran. */
static bool
callout_expire(cpu_t *cp, hrtime_t now)
{
	bool ran = false;

	spin_lock(&cp->cpu_co_lock);
	for (;;) {
		callout_t *c = cp->cpu_co_head;
		if (c == NULL || c->co_when > now)
			break;
		cp->cpu_co_head = c->co_next;
		c->co_next = NULL;
		cp->cpu_co_running = c;
		spin_unlock(&cp->cpu_co_lock);
		c->co_func(c->co_arg);
		spin_lock(&cp->cpu_co_lock);
		c->co_cpu = NULL;		/* the last touch of c */
		cp->cpu_co_running = NULL;
		cp->cpu_ncallout++;
		ran = true;
	}
	spin_unlock(&cp->cpu_co_lock);
	return (ran);
}

/* Every CPU's timer interrupt (interrupts off). */
void
clock_intr(void)
{
	cpu_t *cp = CPU;
	hrtime_t now = gethrtime();

	cp->cpu_ntimer++;
	if (now >= cp->cpu_next_tick) {
		/* The next multiple of the tick (ticks missed are skipped). */
		cp->cpu_next_tick = (now / nsec_per_tick + 1) * nsec_per_tick;
		clock_tick();
	}
	/*
	 * A callout that woke a thread ends the slice here, so the thread
	 * runs now rather than at the next tick.
	 */
	if (callout_expire(cp, now))
		cp->cpu_runrun = 1;
	timer_program(cp);
}

/* Start this CPU's clock: the first interrupt at the next tick. */
void
clock_cpu_start(void)
{
	bool s = intr_save();
	cpu_t *cp = CPU;

	cp->cpu_next_tick = (gethrtime() / nsec_per_tick + 1) * nsec_per_tick;
	timer_program(cp);
	intr_restore(s);
}
