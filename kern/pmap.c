/*
 * The kernel's page tables. All physical memory below max(4 GiB, top of
 * RAM) is mapped at KPM_BASE with 2 MiB pages, cacheable where the memory
 * map says RAM and uncached elsewhere (the local APIC, the I/O APIC and
 * other device memory sit in that hole). The kernel window at KERNEL_BASE
 * shares the direct map's first two page directories. Low addresses are
 * not mapped, so a NULL dereference faults.
 */
#include "types.h"
#include "x86.h"
#include "pmem.h"
#include "panic.h"
#include "console.h"

#define	PTE_P		0x001
#define	PTE_W		0x002
#define	PTE_PWT		0x008
#define	PTE_PCD		0x010
#define	PTE_PS		0x080
#define	PTE_NX		(1UL << 63)

static paddr_t kernel_pml4;

void
pmap_init(void)
{
	paddr_t top = P2ROUNDUP(MAX(pmem_max_addr(), 4UL << 30), 1UL << 30);
	size_t ngb = top >> 30;
	u64 nx = (rdmsr(MSR_EFER) & EFER_NXE) != 0 ? PTE_NX : 0;

	VERIFY(ngb <= 512, "pmap: more than 512 GiB of physical space");
	kernel_pml4 = page_alloc(KM_PANIC);
	paddr_t pdpt_kpm = page_alloc(KM_PANIC);
	paddr_t pdpt_kern = page_alloc(KM_PANIC);
	paddr_t pds = page_alloc_contig(ngb, PAGESIZE, KM_PANIC);
	u64 *pml4 = phys_to_virt(kernel_pml4);
	u64 *kpm = phys_to_virt(pdpt_kpm);
	u64 *kern = phys_to_virt(pdpt_kern);
	u64 *pd = phys_to_virt(pds);

	for (size_t i = 0; i < ngb * 512; i++) {
		paddr_t pa = (paddr_t)i << 21;
		u64 attr = PTE_P | PTE_W | PTE_PS | nx;
		if (!pmem_is_ram(pa, 1UL << 21) && !pmem_is_ram(pa, PAGESIZE))
			attr |= PTE_PCD | PTE_PWT;
		pd[i] = pa | attr;
	}
	for (size_t g = 0; g < ngb; g++)
		kpm[g] = (pds + g * PAGESIZE) | PTE_P | PTE_W;
	/* The kernel window runs code: the same PDs without NX. */
	paddr_t kpds = page_alloc_contig(2, PAGESIZE, KM_PANIC);
	u64 *kpd = phys_to_virt(kpds);
	for (size_t i = 0; i < 1024; i++)
		kpd[i] = ((paddr_t)i << 21) | PTE_P | PTE_W | PTE_PS;
	kern[510] = kpds | PTE_P | PTE_W;
	kern[511] = (kpds + PAGESIZE) | PTE_P | PTE_W;
	pml4[256] = pdpt_kpm | PTE_P | PTE_W;
	pml4[511] = pdpt_kern | PTE_P | PTE_W;
	set_cr3(kernel_pml4);
	cmn_err(CE_NOTE, "pmap: direct map of %lu GiB at 0x%lx", ngb, KPM_BASE);
}

/* Used by every CPU to leave the boot page tables. */
void
pmap_activate(void)
{
	set_cr3(kernel_pml4);
}
