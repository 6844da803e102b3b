/*
 * The ACPI PM timer (vpmtmr.h). No state changes after create, so no
 * lock: the count is worked out from the clock at each read, as QEMU's
 * acpi_pm_tmr_get does from its virtual clock, and kept to 24 bits.
 */
#include "vpmtmr.h"
#include "../../kmem.h"

#define	NS_PER_SEC	1000000000ULL

/* Field tags: [c] set at create, constant after. */
struct vpmtmr {
	hrtime_t pm_base_ns;		/* [c] the clock when the count was 0 */
	hrtime_t (*pm_clock)(void *);	/* [c] */
	void *pm_clock_arg;		/* [c] */
};

/*
 * Ticks in ns, exactly floor(ns * f / 1e9), without a 128-bit product
 * (the kernel has no libgcc): whole seconds times f, plus the rest of a
 * second times f (below 1e9 * 3.6e6 < 2^52), over 1e9. Neither half
 * overflows for any u64 ns; only the low 24 bits are kept anyway.
 */
static u64
ns_to_ticks(hrtime_t ns)
{
	return ((ns / NS_PER_SEC) * VPMTMR_HZ +
	    (ns % NS_PER_SEC) * VPMTMR_HZ / NS_PER_SEC);
}

struct vpmtmr *
vpmtmr_create(hrtime_t (*clock)(void *), void *arg)
{
	struct vpmtmr *pm = kmem_zalloc(sizeof (*pm), KM_SLEEP);

	pm->pm_clock = clock;
	pm->pm_clock_arg = arg;
	pm->pm_base_ns = clock(arg);
	return (pm);
}

void
vpmtmr_destroy(struct vpmtmr *pm)
{
	kmem_free(pm, sizeof (*pm));
}

u32
vpmtmr_count(struct vpmtmr *pm)
{
	hrtime_t now = pm->pm_clock(pm->pm_clock_arg);

	return ((u32)ns_to_ticks(now - pm->pm_base_ns) & VPMTMR_MASK);
}

int
vpmtmr_io(struct vpmtmr *pm, u16 port, bool in, int bytes, u32 *val)
{
	if (port < VPMTMR_PORT || port >= VPMTMR_PORT + VPMTMR_LEN)
		return (-1);
	if (!in)
		return (0);
	u32 v = vpmtmr_count(pm) >> (8 * (port - VPMTMR_PORT));
	if (bytes < 4)
		v &= (1U << (8 * bytes)) - 1;
	*val = v;
	return (0);
}
