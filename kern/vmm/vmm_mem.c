/*
 * Guest RAM: one host-contiguous allocation, gpa 0 .. vm_memsize at
 * vm_mem .. vm_mem + vm_memsize, mapped into the nested page tables whole
 * when the VM is made. Without that a guest pays one nested page fault per
 * 4 KiB page it touches (262,144 for 1 GiB). vmm_ondemand=1 keeps the old
 * way, mapping from the faults (vm_handle_npf), so that path stays tested.
 * Nothing outside RAM is ever mapped: the APIC pages and anything above
 * RAM fault, for the MMIO emulation and the "out of map" stop.
 */
#include "vmm.h"
#include "../pmem.h"
#include "../panic.h"
#include "../tunable.h"

KTUNABLE_CMDLINE(vmm_ondemand, "guest RAM is mapped 4 KiB at a time from "
    "nested page faults, not premapped by vm_create");

bool
vm_mem_create(struct vm *vm, u64 memsize)
{
	size_t npages = memsize / PAGESIZE;

	/*
	 * A 2 MiB leaf needs gpa and hpa to agree modulo 2 MiB, so a base
	 * that is not 2 MiB-aligned would allow none at all. The alignment
	 * costs nothing but a search of the bitmap; if no aligned run is
	 * free, any run will do and the VM gets 4 KiB leaves throughout.
	 */
	vm->vm_mem = 0;
	if (memsize >= VMM_PAGE_2M)
		vm->vm_mem = page_alloc_contig(npages, VMM_PAGE_2M, KM_NOSLEEP);
	if (vm->vm_mem == 0)
		vm->vm_mem = page_alloc_contig(npages, PAGESIZE, KM_NOSLEEP);
	if (vm->vm_mem == 0)
		return (false);		/* no run of free pages that long */
	vm->vm_memsize = memsize;
	vmm_gpt_init(&vm->vm_gpt, vmm_ops->pte_ops);
	vm->vm_premapped = !vmm_ondemand;
	if (vm->vm_premapped) {
		mutex_enter(&vm->vm_gpt.gpt_lock);
		vmm_gpt_premap(&vm->vm_gpt, memsize, vm->vm_mem);
		mutex_exit(&vm->vm_gpt.gpt_lock);
	}
	return (true);
}

void
vm_mem_destroy(struct vm *vm)
{
	vmm_gpt_fini(&vm->vm_gpt);
	page_free_contig(vm->vm_mem, vm->vm_memsize / PAGESIZE);
	vm->vm_mem = 0;
}
