/*
 * Nested page tables: one 4-level walker for EPT and NPT alike. Only the
 * entry format differs, and that comes from the vmm_pte_ops the table was
 * made with (as illumos's vmm_gpt.c with its vmm_pte_ops). A leaf: it
 * knows a root, an entry format and a lock, not VMs. Guest RAM is mapped
 * 4 KiB at a time, on demand, from the nested page faults the guest takes.
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

void
vmm_gpt_init(vmm_gpt_t *gpt, const struct vmm_pte_ops *ops)
{
	gpt->gpt_ops = ops;
	gpt->gpt_root = page_alloc(KM_SLEEP);
	mutex_init(&gpt->gpt_lock, "vmm_gpt");
}

/* Map the 4 KiB page at gpa to hpa; false if out of memory for tables. */
bool
vmm_gpt_map(vmm_gpt_t *gpt, u64 gpa, paddr_t hpa)
{
	const struct vmm_pte_ops *ops = gpt->gpt_ops;
	u64 *table = phys_to_virt(gpt->gpt_root);

	VERIFY(mutex_owned(&gpt->gpt_lock),
	    "vmm_gpt_map: gpa 0x%lx without the table's lock", gpa);
	ASSERT3U(gpa & PAGEOFFSET, ==, 0);
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

/* Free every table, the root included (the pages mapped are not ours). */
void
vmm_gpt_fini(vmm_gpt_t *gpt)
{
	free_level(gpt->gpt_ops, gpt->gpt_root, GPT_LEVELS - 1);
	gpt->gpt_root = 0;
}
