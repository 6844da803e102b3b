/*
 * The physical page allocator: one bit per page below the highest usable
 * address in the boot memory map (1 = in use or not RAM). First fit from a
 * moving hint for single pages; aligned runs are searched the same way.
 * Pages below 1 MiB are never handed out (BIOS data, the AP trampoline),
 * nor are the kernel image and the bitmaps themselves.
 *
 * A page being freed is in a third state, PP_FREEING (a second bitmap):
 * page_free_contig checks that every page is allocated and marks it
 * FREEING in one pmem_lock section, poisons the run with the lock
 * dropped, then clears both bits. A second free of any of the pages finds
 * the mark (or the page free) and panics, even when the two race.
 */
#include "pmem.h"
#include "sync.h"
#include "panic.h"
#include "console.h"
#include "thread.h"
#include "tunable.h"

KTUNABLE_TEST(pmem_inject_free_window, "page_free_contig waits, with the "
    "pages marked FREEING, until another page_free_contig starts (a second "
    "free of the same pages must still be caught)");

struct mb_mmap {
	u32 size;
	u64 base;
	u64 len;
	u32 type;
} __packed;

#define	MAX_RANGES	32

static struct {
	paddr_t base, end;
} ram[MAX_RANGES];			/* usable RAM; constant after init */
static int nram;

static spinlock_t pmem_lock = SPINLOCK_INIT("pmem");
static u64 *bitmap;			/* pmem_lock: 1 = in use */
static u64 *freeing;			/* pmem_lock: 1 = PP_FREEING */
static u64 free_calls;			/* pmem_inject_free_window: atomic */
static size_t npages_map;		/* pages the bitmap covers */
static size_t pages_total;		/* usable pages at boot */
static size_t pages_used;		/* pmem_lock */
static size_t hint;			/* pmem_lock: where to look first */

extern char _end[];

static inline bool
map_get(const u64 *map, size_t i)
{
	return ((map[i / 64] >> (i % 64)) & 1);
}

static inline void
map_set(u64 *map, size_t i, bool v)
{
	if (v)
		map[i / 64] |= 1UL << (i % 64);
	else
		map[i / 64] &= ~(1UL << (i % 64));
}

static inline bool
bit_get(size_t i)
{
	return (map_get(bitmap, i));
}

static inline void
bit_set(size_t i, bool v)
{
	map_set(bitmap, i, v);
}

static void
mark_range(paddr_t base, paddr_t end, bool used)
{
	for (size_t p = base >> PAGESHIFT; p < (end >> PAGESHIFT) &&
	    p < npages_map; p++)
		bit_set(p, used);
}

void
pmem_init(paddr_t mbinfo)
{
	const u32 *info = phys_to_virt(mbinfo);
	paddr_t top = 0;

	VERIFY((info[0] & (1 << 6)) != 0, "pmem: loader gave no memory map");
	paddr_t mmap = info[12], mmap_end = mmap + info[11];
	for (paddr_t p = mmap; p < mmap_end; ) {
		const struct mb_mmap *e = phys_to_virt(p);
		if (e->type == 1 && nram < MAX_RANGES) {
			paddr_t b = P2ROUNDUP(e->base, PAGESIZE);
			paddr_t en = P2ALIGN(e->base + e->len, PAGESIZE);
			/* The boot page tables map only 4 GiB so far. */
			if (en > (4UL << 30))
				en = 4UL << 30;
			if (b < en) {
				ram[nram].base = b;
				ram[nram].end = en;
				nram++;
				if (en > top)
					top = en;
			}
		}
		p += e->size + 4;
	}
	VERIFY(top > 0, "pmem: no usable RAM in the memory map");

	npages_map = top >> PAGESHIFT;
	size_t words = (npages_map + 63) / 64;
	/*
	 * The bitmap goes after the kernel and after any boot module (the
	 * loaders put modules, e.g. a guest image, right behind the kernel).
	 */
	paddr_t kend = P2ROUNDUP(virt_to_phys(_end), PAGESIZE);
	const u32 *mods = (info[0] & (1 << 3)) != 0 ? phys_to_virt(info[6]) :
	    NULL;
	u32 nmods = mods != NULL ? info[5] : 0;
	for (u32 i = 0; i < nmods; i++) {
		if (mods[i * 4 + 1] > kend)
			kend = P2ROUNDUP(mods[i * 4 + 1], PAGESIZE);
	}
	bitmap = phys_to_virt(kend);
	freeing = bitmap + words;
	paddr_t bmend = P2ROUNDUP(kend + 2 * words * 8, PAGESIZE);

	/* Everything in use, then free the RAM ranges, then re-reserve. */
	memset(bitmap, 0xff, words * 8);
	memset(freeing, 0, words * 8);
	for (int i = 0; i < nram; i++) {
		mark_range(ram[i].base, ram[i].end, false);
		pages_total += (ram[i].end - ram[i].base) >> PAGESHIFT;
	}
	mark_range(0, 0x100000, true);
	mark_range(0x100000, bmend, true);
	for (u32 i = 0; i < nmods; i++)		/* modules below the kernel */
		mark_range(P2ALIGN(mods[i * 4], PAGESIZE),
		    P2ROUNDUP(mods[i * 4 + 1], PAGESIZE), true);
	pages_used = 0;
	for (size_t i = 0; i < npages_map; i++) {
		if (!bit_get(i) )
			continue;
		for (int r = 0; r < nram; r++) {
			if ((i << PAGESHIFT) >= ram[r].base &&
			    (i << PAGESHIFT) < ram[r].end) {
				pages_used++;
				break;
			}
		}
	}
	pages_total -= pages_used;	/* what the allocator can hand out */
	pages_used = 0;
	hint = bmend >> PAGESHIFT;
	cmn_err(CE_NOTE, "pmem: %lu MiB usable in %d ranges, top 0x%lx",
	    pages_total >> (20 - PAGESHIFT), nram, top);
}

static paddr_t
try_alloc(size_t npages, size_t align)
{
	size_t step = align >> PAGESHIFT;
	size_t start = P2ROUNDUP(hint, step);

	for (int pass = 0; pass < 2; pass++) {
		size_t lo = pass == 0 ? start : 0;
		size_t hi = pass == 0 ? npages_map : start + npages;
		for (size_t p = lo; p + npages <= hi && p + npages <= npages_map;
		    p += step) {
			size_t i;
			for (i = 0; i < npages; i++) {
				if (bit_get(p + i))
					break;
			}
			if (i == npages) {
				for (i = 0; i < npages; i++)
					bit_set(p + i, true);
				pages_used += npages;
				if (npages == 1)
					hint = p + 1;
				return ((paddr_t)p << PAGESHIFT);
			}
			/* Skip past the page in use. */
			p = P2ALIGN(p + i, step);
		}
	}
	return (0);
}

paddr_t
page_alloc_contig(size_t npages, size_t align, int kmflags)
{
	VERIFY(npages > 0 && align >= PAGESIZE && IS_P2ALIGNED(align, align),
	    "page_alloc_contig: bad arguments (%lu pages, align 0x%lx)",
	    npages, align);
	for (int tries = 0; ; tries++) {
		spin_lock(&pmem_lock);
		paddr_t pa = npages <= npages_map ? try_alloc(npages, align) : 0;
		spin_unlock(&pmem_lock);
		if (pa != 0) {
			memset(phys_to_virt(pa), 0, npages * PAGESIZE);
			return (pa);
		}
		if ((kmflags & KM_PANIC) != 0)
			panic("page_alloc_contig: out of memory (%lu pages)",
			    npages);
		if ((kmflags & KM_NOSLEEP) != 0)
			return (0);
		/* KM_SLEEP never fails: wait for frees, give up loudly. */
		VERIFY(sched_running && tries < 1000,
		    "page_alloc_contig: out of memory (%lu pages)", npages);
		delay(1);
	}
}

/*
 * pmem_inject_free_window: with the pages marked FREEING and the lock
 * dropped, wait until another page_free_contig has started (or about a
 * second), then a little more, so a racing second free of the same pages
 * arrives inside the window every time.
 */
static void
free_window(u64 calls)
{
	if (!sched_running)
		return;
	for (u32 i = 0; i < hz && atomic_load(&free_calls) == calls; i++)
		delay(1);
	delay(2);
}

void
page_free_contig(paddr_t pa, size_t npages)
{
	VERIFY(IS_P2ALIGNED(pa, PAGESIZE) && pa != 0 &&
	    pa + npages * PAGESIZE <= pmem_max_addr(),
	    "page_free: bad address 0x%lx", pa);
	u64 calls = pmem_inject_free_window ? atomic_inc_64(&free_calls) : 0;
	spin_lock(&pmem_lock);
	/* Check and mark in one section: two frees cannot both pass. */
	for (size_t i = 0; i < npages; i++) {
		size_t p = (pa >> PAGESHIFT) + i;
		VERIFY(p < npages_map && bit_get(p),
		    "page_free: page 0x%lx is not allocated (double free?)",
		    p << PAGESHIFT);
		VERIFY(!map_get(freeing, p),
		    "page_free: page 0x%lx is already being freed (double "
		    "free)", p << PAGESHIFT);
	}
	for (size_t i = 0; i < npages; i++)
		map_set(freeing, (pa >> PAGESHIFT) + i, true);
	spin_unlock(&pmem_lock);
	if (pmem_inject_free_window)
		free_window(calls);
	/* Poison while the pages are still ours: stale users read junk. */
	memset(phys_to_virt(pa), 0x6b, npages * PAGESIZE);
	spin_lock(&pmem_lock);
	for (size_t i = 0; i < npages; i++) {
		size_t p = (pa >> PAGESHIFT) + i;
		VERIFY(bit_get(p) && map_get(freeing, p),
		    "page_free: page 0x%lx changed state while being freed",
		    p << PAGESHIFT);
		bit_set(p, false);
		map_set(freeing, p, false);
	}
	pages_used -= npages;
	spin_unlock(&pmem_lock);
}

size_t
pmem_pages_used(void)
{
	return (READ_ONCE(pages_used));
}

size_t
pmem_pages_total(void)
{
	return (pages_total);
}

paddr_t
pmem_max_addr(void)
{
	return ((paddr_t)npages_map << PAGESHIFT);
}

bool
pmem_is_ram(paddr_t pa, size_t len)
{
	for (int i = 0; i < nram; i++) {
		if (pa >= ram[i].base && pa + len <= ram[i].end)
			return (true);
	}
	return (false);
}
