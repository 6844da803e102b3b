/*
 * Nested page tables: one 4-level walker for EPT and NPT alike. Only the
 * entry format differs, and that comes from the vmm_pte_ops the table was
 * made with (as illumos's vmm_gpt.c with its vmm_pte_ops). A leaf: it
 * knows a root, an entry format and a lock, not VMs. Guest RAM is mapped
 * whole when the VM is made (vmm_gpt_premap, 2 MiB leaves where it can),
 * or 4 KiB at a time from the nested page faults the guest takes.
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
	gpt->gpt_leaves_4k = gpt->gpt_leaves_2m = 0;
	mutex_init(&gpt->gpt_lock, "vmm_gpt");
}

/*
 * The entry for gpa at level stop, with the tables above it made. NULL if
 * a table could not be had, or if a 2 MiB leaf already covers gpa (then
 * *covered is set): descending through that leaf would take guest RAM
 * for a table.
 */
static u64 *
walk_make(vmm_gpt_t *gpt, u64 gpa, int stop, int kmflags, bool *covered)
{
	const struct vmm_pte_ops *ops = gpt->gpt_ops;
	u64 *table = phys_to_virt(gpt->gpt_root);

	VERIFY(mutex_owned(&gpt->gpt_lock),
	    "vmm_gpt: gpa 0x%lx without the table's lock", gpa);
	*covered = false;
	for (int level = GPT_LEVELS - 1; level > stop; level--) {
		u64 *pte = &table[index_at(gpa, level)];
		if (!ops->pte_present(*pte)) {
			paddr_t next = page_alloc(kmflags);
			if (next == 0)
				return (NULL);
			*pte = ops->pte_table(next);
		} else if (level == 1 && ops->pte_large(*pte)) {
			*covered = true;
			return (NULL);
		}
		table = phys_to_virt(ops->pte_addr(*pte));
	}
	return (&table[index_at(gpa, stop)]);
}

static bool
map_4k(vmm_gpt_t *gpt, u64 gpa, paddr_t hpa, int kmflags)
{
	bool covered;
	u64 *pte = walk_make(gpt, gpa, 0, kmflags, &covered);

	if (pte == NULL)
		return (covered);
	if (!gpt->gpt_ops->pte_present(*pte))
		gpt->gpt_leaves_4k++;
	*pte = gpt->gpt_ops->pte_leaf(hpa);
	return (true);
}

/*
 * Map the 4 KiB page at gpa to hpa; false if out of memory for tables.
 * A page a 2 MiB leaf maps already is left as it is (two vCPUs can fault
 * on one page; the second finds it mapped).
 */
bool
vmm_gpt_map(vmm_gpt_t *gpt, u64 gpa, paddr_t hpa)
{
	ASSERT3U(gpa & PAGEOFFSET, ==, 0);
	return (map_4k(gpt, gpa, hpa, KM_NOSLEEP));
}

/*
 * Map gpa 0 .. size to hpa .. hpa + size up front, on tables nothing else
 * has mapped into yet. A 2 MiB leaf needs gpa and hpa both 2 MiB-aligned
 * and all of its range below size; the rest gets 4 KiB leaves. Tables
 * come with KM_SLEEP: at most 3 + size / 2 MiB pages.
 */
void
vmm_gpt_premap(vmm_gpt_t *gpt, u64 size, paddr_t hpa)
{
	const struct vmm_pte_ops *ops = gpt->gpt_ops;
	u64 gpa = 0;
	bool covered;

	ASSERT3U((size | hpa) & PAGEOFFSET, ==, 0);
	while (gpa < size) {
		u64 big = 0;
		if (IS_P2ALIGNED(gpa | (hpa + gpa), VMM_PAGE_2M) &&
		    size - gpa >= VMM_PAGE_2M)
			big = ops->pte_leaf_2m(hpa + gpa);
		if (big == 0) {
			VERIFY(map_4k(gpt, gpa, hpa + gpa, KM_SLEEP),
			    "vmm_gpt_premap: no table for gpa 0x%lx", gpa);
			gpa += PAGESIZE;
			continue;
		}
		u64 *pde = walk_make(gpt, gpa, 1, KM_SLEEP, &covered);
		/* A table already here would be lost under the leaf. */
		VERIFY(pde != NULL && !ops->pte_present(*pde),
		    "vmm_gpt_premap: gpa 0x%lx is mapped already", gpa);
		*pde = big;
		gpt->gpt_leaves_2m++;
		gpa += VMM_PAGE_2M;
	}
}

/*
 * What gpa maps to: the host address and the size of the leaf that maps
 * it; false if nothing does. For checks and the monitor: the emulators
 * reach guest RAM through vm_mem.
 */
bool
vmm_gpt_lookup(vmm_gpt_t *gpt, u64 gpa, paddr_t *hpa, u64 *pgsize)
{
	const struct vmm_pte_ops *ops = gpt->gpt_ops;
	u64 *table = phys_to_virt(gpt->gpt_root);

	VERIFY(mutex_owned(&gpt->gpt_lock),
	    "vmm_gpt_lookup: gpa 0x%lx without the table's lock", gpa);
	for (int level = GPT_LEVELS - 1; level >= 0; level--) {
		u64 e = table[index_at(gpa, level)];
		if (!ops->pte_present(e))
			return (false);
		if (level == 0 || (level == 1 && ops->pte_large(e))) {
			u64 sz = level == 0 ? PAGESIZE : VMM_PAGE_2M;
			*hpa = P2ALIGN(ops->pte_addr(e), sz) + (gpa & (sz - 1));
			*pgsize = sz;
			return (true);
		}
		table = phys_to_virt(ops->pte_addr(e));
	}
	return (false);
}

static void
free_level(const struct vmm_pte_ops *ops, paddr_t table_pa, int level)
{
	u64 *table = phys_to_virt(table_pa);

	if (level > 0) {
		for (int i = 0; i < 512; i++) {
			/* A 2 MiB leaf points at guest RAM, not a table. */
			if (ops->pte_present(table[i]) &&
			    !(level == 1 && ops->pte_large(table[i])))
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
