/*
 * Nested page tables: one 4-level walker for EPT and NPT alike. Only the
 * entry format differs, and that comes from the backend's vmm_pte_ops
 * (as illumos's vmm_pte_ops). Guest RAM is mapped 4 KiB at a time, on
 * demand, from the nested page faults the guest takes.
 */
#include "vmm.h"
#include "../pmem.h"
#include "../panic.h"

#define	GPT_LEVELS	4

static inline int
index_at(u64 gpa, int level)		/* level 3 = PML4 ... 0 = PT */
{
	return ((int)((gpa >> (12 + 9 * level)) & 511));
}

/* Map the 4 KiB page at gpa to hpa; false if out of memory for tables. */
bool
vmm_gpt_map(struct vm *vm, u64 gpa, paddr_t hpa)
{
	const struct vmm_pte_ops *ops = vmm_ops->pte_ops;
	u64 *table = phys_to_virt(vm->vm_nested_root);

	for (int level = GPT_LEVELS - 1; level > 0; level--) {
		u64 *pte = &table[index_at(gpa, level)];
		if (!ops->pte_present(*pte)) {
			paddr_t next = page_alloc(KM_NOSLEEP);
			if (next == 0)
				return (false);
			*pte = ops->pte_table(next);
		}
		table = phys_to_virt(ops->pte_addr(*pte));
	}
	table[index_at(gpa, 0)] = ops->pte_leaf(hpa);
	return (true);
}

/* The host page behind gpa, or 0 if unmapped. */
paddr_t
vmm_gpt_lookup(struct vm *vm, u64 gpa)
{
	const struct vmm_pte_ops *ops = vmm_ops->pte_ops;
	u64 *table = phys_to_virt(vm->vm_nested_root);

	for (int level = GPT_LEVELS - 1; level >= 0; level--) {
		u64 pte = table[index_at(gpa, level)];
		if (!ops->pte_present(pte))
			return (0);
		if (level == 0)
			return (ops->pte_addr(pte) | (gpa & PAGEOFFSET));
		table = phys_to_virt(ops->pte_addr(pte));
	}
	return (0);
}

static void
free_level(const struct vmm_pte_ops *ops, paddr_t table_pa, int level)
{
	u64 *table = phys_to_virt(table_pa);

	if (level > 0) {
		for (int i = 0; i < 512; i++) {
			if (ops->pte_present(table[i]))
				free_level(ops, ops->pte_addr(table[i]),
				    level - 1);
		}
	}
	page_free(table_pa);
}

/* Free every table, the root included (the RAM pages are the VM's). */
void
vmm_gpt_free(struct vm *vm)
{
	free_level(vmm_ops->pte_ops, vm->vm_nested_root, GPT_LEVELS - 1);
	vm->vm_nested_root = 0;
}
