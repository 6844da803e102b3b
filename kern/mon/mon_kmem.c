/*
 * The monitor's dcmds for kernel memory (mon.h): the allocator's caches,
 * a check of every buffer now, and mdb's ::findleaks (kern/kmem_mon.c,
 * kern/kmem_leaks.c do the work and print through the monitor).
 */
#include "mon.h"
#include "../kmem.h"
#include "../tunable.h"

static int
dcmd_kmem(struct mon_cmd *c)
{
	kmem_mon_caches(c->mc_pr, c->mc_prarg);
	return (0);
}
MON_DCMD(kmem, "", "the caches: buffer size, in use, allocated, slabs, "
    "bytes", dcmd_kmem);

static int
dcmd_kmem_verify(struct mon_cmd *c)
{
	size_t bad = kmem_mon_verify(c->mc_pr, c->mc_prarg);

	mon_printf(c, "kmem_verify: %lu corrupt buffers\n", (u64)bad);
	return (0);
}
MON_DCMD(kmem_verify, "", "check every buffer's redzone and free pattern "
    "now", dcmd_kmem_verify);

static int
dcmd_findleaks(struct mon_cmd *c)
{
	(void) kmem_mon_findleaks(c->mc_pr, c->mc_prarg);
	return (0);
}
MON_DCMD(findleaks, "", "buffers nothing points to, by the caller that "
    "allocated them", dcmd_findleaks);

/*
 * Test switches for make check: planted at boot (mon_init), found by the
 * dcmds above. A leaked buffer (the pointer dropped and its stack slot
 * overwritten), and a buffer still referenced whose redzone is smashed.
 */
KTUNABLE_CMDLINE(mon_plant_leak, "the monitor leaks a 72-byte buffer at boot "
    "(::findleaks must name mon_plant_leak_buf)");
KTUNABLE_CMDLINE(mon_plant_redzone, "the monitor writes past a 40-byte buffer "
    "at boot (::kmem_verify must find its redzone)");

static void *volatile mon_planted;	/* keeps the smashed buffer referenced */

static __attribute__((noinline)) void
mon_plant_leak_buf(void)
{
	volatile u8 *p = kmem_alloc(72, KM_SLEEP);

	p[0] = 0x11;
	p = NULL;
}

/* Overwrite what the leak left on the stack below us. */
static __attribute__((noinline)) void
mon_scrub_stack(void)
{
	volatile u8 junk[512];

	for (size_t i = 0; i < sizeof (junk); i++)
		junk[i] = 0;
}

void
mon_kmem_plant(void)
{
	if (mon_plant_leak) {
		mon_plant_leak_buf();
		mon_scrub_stack();
	}
	if (mon_plant_redzone) {
		u8 *p = kmem_alloc(40, KM_SLEEP);
		mon_planted = p;
		p[40] = 0x5a;		/* one byte past the end */
	}
}
