/*
 * Physical memory: every page of usable RAM from the boot memory map, one
 * bit each (plus a FREEING bit while page_free_contig poisons it).
 * Contiguous, aligned runs are what VMCBs, VMCSs and I/O permission maps
 * need, so the allocator hands those out directly.
 */
#ifndef _KERN_PMEM_H
#define _KERN_PMEM_H

#include "types.h"

/* Allocation flags, illumos values. */
#define	KM_SLEEP	0x0000	/* may block until memory is free; never fails */
#define	KM_NOSLEEP	0x0001	/* never blocks; may return NULL / 0 */
#define	KM_PANIC	0x0002	/* panic instead of failing */

void pmem_init(paddr_t mbinfo);
/* A run of npages physically contiguous pages aligned to align bytes (a
 * power of two, at least PAGESIZE). The pages are zeroed. 0 on failure. */
paddr_t page_alloc_contig(size_t npages, size_t align, int kmflags);
static inline paddr_t
page_alloc(int kmflags)
{
	return (page_alloc_contig(1, PAGESIZE, kmflags));
}
/* Panics on a double free, also when two frees of the pages race. */
void page_free_contig(paddr_t pa, size_t npages);
static inline void
page_free(paddr_t pa)
{
	page_free_contig(pa, 1);
}
/* Pages currently allocated (for leak checks) and totals. */
size_t pmem_pages_used(void);
size_t pmem_pages_total(void);
paddr_t pmem_max_addr(void);
/* Whether [pa, pa+len) is usable RAM per the boot memory map. */
bool pmem_is_ram(paddr_t pa, size_t len);

/* Test switch (tunable.h): page_free_contig holds its FREEING window open
 * until another free starts, so a racing double free is caught every time. */
extern bool pmem_inject_free_window;

#endif
