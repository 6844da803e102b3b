/*
 * Suite "boot": what kmain set up. Physical pages, the direct map, the
 * symbol table, the CPUs from the MADT, the clocks.
 */
#include "ktest.h"
#include "../kern/pmem.h"
#include "../kern/panic.h"
#include "../kern/cpu.h"
#include "../kern/apic.h"
#include "../kern/thread.h"
#include "../kern/x86.h"

void kmain(u32, u32);

KTEST(boot, pmem_contig_aligned)
{
	static const struct { size_t npages, align; } runs[] = {
		{ 1, PAGESIZE }, { 3, PAGESIZE }, { 2, 0x10000 },
		{ 16, 0x10000 }, { 4, 0x200000 }, { 513, 0x200000 },
	};
	paddr_t pa[ARRAY_SIZE(runs)];
	size_t used = pmem_pages_used();

	for (size_t i = 0; i < ARRAY_SIZE(runs); i++) {
		pa[i] = page_alloc_contig(runs[i].npages, runs[i].align,
		    KM_SLEEP);
		KT_ASSERT(pa[i] != 0, "run %lu not allocated", i);
		KT_EXPECT(IS_P2ALIGNED(pa[i], runs[i].align),
		    "run %lu at 0x%lx not aligned to 0x%lx", i, pa[i],
		    runs[i].align);
		KT_EXPECT(pmem_is_ram(pa[i], runs[i].npages * PAGESIZE),
		    "run %lu at 0x%lx is not RAM", i, pa[i]);
		const u64 *w = phys_to_virt(pa[i]);
		for (size_t j = 0; j < runs[i].npages * PAGESIZE / 8; j++) {
			if (w[j] != 0) {
				ktest_fail(__FILE__, __LINE__,
				    "run %lu not zeroed at word %lu", i, j);
				break;
			}
		}
		/* Mark every page with its run so overlaps show below. */
		for (size_t p = 0; p < runs[i].npages; p++)
			*(u64 *)phys_to_virt(pa[i] + p * PAGESIZE) = i + 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(runs); i++) {
		for (size_t p = 0; p < runs[i].npages; p++) {
			u64 v = *(u64 *)phys_to_virt(pa[i] + p * PAGESIZE);
			KT_EXPECT(v == i + 1, "run %lu page %lu overwritten by "
			    "run %lu", i, p, v - 1);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(runs); i++)
		page_free_contig(pa[i], runs[i].npages);
	KT_EXPECT(pmem_pages_used() == used, "pages in use %lu, was %lu",
	    pmem_pages_used(), used);
}

KTEST(boot, pmem_nosleep_fails_cleanly)
{
	size_t used = pmem_pages_used();
	paddr_t pa = page_alloc_contig(pmem_pages_total() + 1, PAGESIZE,
	    KM_NOSLEEP);

	KT_EXPECT(pa == 0, "allocated more pages than exist");
	KT_EXPECT(pmem_pages_used() == used, "failed allocation kept pages");
}

KTEST(boot, direct_map)
{
	paddr_t pa = page_alloc(KM_SLEEP);
	u64 *kpm = phys_to_virt(pa);

	KT_EXPECT(virt_to_phys(kpm) == pa, "direct map round trip");
	/* The kernel window and the direct map see the same bytes. */
	static volatile u64 word;
	word = 0x1234abcd5678ef90UL;
	volatile u64 *alias = phys_to_virt(virt_to_phys((void *)&word));
	KT_EXPECT(*alias == 0x1234abcd5678ef90UL, "alias reads 0x%lx", *alias);
	*alias = 7;
	KT_EXPECT(word == 7, "write through the direct map not seen");
	page_free(pa);
}

KTEST(boot, symbol_table)
{
	uintptr_t off = 99;
	const char *n = ksym_lookup((uintptr_t)kmain, &off);

	KT_ASSERT(n != NULL, "kmain not in the symbol table");
	KT_EXPECT(strcmp(n, "kmain") == 0 && off == 0, "kmain is %s+0x%lx",
	    n, off);
	n = ksym_lookup((uintptr_t)panic + 5, &off);
	KT_EXPECT(n != NULL && strcmp(n, "panic") == 0 && off == 5,
	    "panic+5 is %s+0x%lx", n != NULL ? n : "?", off);
	KT_EXPECT(ksym_addr("thread_create") == (uintptr_t)thread_create,
	    "ksym_addr(thread_create) wrong");
	KT_EXPECT(ksym_lookup(0x1000, &off) == NULL, "0x1000 has a name");
}

struct cpu_probe {
	int want;
	int got_cpu;
	u32 got_apicid;
};

static void
cpu_probe(void *arg)
{
	struct cpu_probe *p = arg;

	p->got_cpu = CPU->cpu_id;
	p->got_apicid = apic_id();
}

KTEST(boot, cpus_from_madt)
{
	u32 ids[NCPU];
	int n = acpi_find_cpus(ids, NCPU);

	ktest_note("MADT lists %d CPUs, %d running", n, ncpus);
	KT_EXPECT(ncpus == (n > 0 ? n : 1), "MADT has %d CPUs, %d up", n,
	    ncpus);
	for (int i = 0; i < ncpus; i++) {
		struct cpu_probe p = { i, -1, 0 };
		kthread_t *t = thread_create("cpu_probe", cpu_probe, &p, i);
		thread_join(t);
		KT_EXPECT(p.got_cpu == i && p.got_apicid == cpus[i].cpu_apicid,
		    "thread bound to cpu%d ran on cpu%d (apic %u, want %u)", i,
		    p.got_cpu, p.got_apicid, cpus[i].cpu_apicid);
	}
}

KTEST(boot, clock_ticks_on_every_cpu)
{
	u64 ticks[NCPU] = { 0 };
	u64 l0 = lbolt;
	hrtime_t h0 = gethrtime();

	for (int i = 0; i < ncpus; i++)
		ticks[i] = READ_ONCE(cpus[i].cpu_ticks);
	delay(10);
	KT_EXPECT(lbolt - l0 >= 10, "lbolt went from %lu to %lu", l0, lbolt);
	KT_EXPECT(gethrtime() > h0, "hrtime did not advance");
	for (int i = 0; i < ncpus; i++)
		KT_EXPECT(READ_ONCE(cpus[i].cpu_ticks) > ticks[i],
		    "cpu%d's clock did not tick", i);
	ktest_note("10 ticks at hz=%u took %lu us", hz,
	    (gethrtime() - h0) / 1000);
}
