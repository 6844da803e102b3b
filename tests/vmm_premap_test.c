/*
 * Suite "vmm": guest RAM premapped by vm_create (kern/vmm/vmm_mem.c),
 * 2 MiB leaves where gpa and hpa allow, against the on-demand mapping
 * (vmm_ondemand=1). guest/touchram.asm touches every page of its RAM and
 * the edges; the host checks the exits it took, what every gpa translates
 * to, what stays unmapped, and that the guest's writes are where vm_mem
 * says (the emulators and the monitor read RAM there).
 */
#include "ktest.h"
#include "../kern/vmm/vmm.h"
#include "../kern/vmm/vmm_dev.h"
#include "../kern/panic.h"
#include "../kern/console.h"

#define	TOUCH_LOW_END	0x20000		/* as in guest/touchram.asm */
#define	TOUCH_PATTERN	0x5eed0000U
#define	TOUCH_EDGES_OK	0x70c4ed
#define	TOUCH_PAST_RAM	1		/* the parameter's bit 0 */

static bool
have_backend(void)
{
	if (vmm_ops == NULL) {
		ktest_skip("no virtualization backend on this CPU");
		return (false);
	}
	return (true);
}

/* Whether this CPU's nested tables take 2 MiB leaves (EPT: a capability). */
static bool
have_2m(void)
{
	return (vmm_ops->pte_ops->pte_leaf_2m(VMM_PAGE_2M) != 0);
}

struct touch {
	u64 memsize;
	u32 param;
	bool ondemand;
	bool as_booted;		/* leave vmm_ondemand as the command line set it */
	/* results */
	struct vcpu_result r;
	u64 npf, outofmap;
	u64 leaves_4k, leaves_2m;
	bool premapped, aligned;
	u64 map_bad, mem_bad, first_bad;	/* pages, and the first gpa */
	u64 mapped_outside;			/* probes outside RAM mapped */
};

static void
bad(struct touch *t, u64 *count, u64 gpa)
{
	if (t->map_bad + t->mem_bad == 0)
		t->first_bad = gpa;
	(*count)++;
}

/* Every page of RAM maps to vm_mem + gpa; nothing outside RAM maps. */
static void
check_tables(struct vm *vm, struct touch *t)
{
	static const u64 outside[] = { 0x40000000, 0xfec00000, 0xfee00000 };
	paddr_t hpa;
	u64 sz;

	mutex_enter(&vm->vm_gpt.gpt_lock);
	for (u64 gpa = 0; gpa < vm->vm_memsize; gpa += PAGESIZE) {
		if (!vmm_gpt_lookup(&vm->vm_gpt, gpa, &hpa, &sz) ||
		    hpa != vm->vm_mem + gpa)
			bad(t, &t->map_bad, gpa);
	}
	t->mapped_outside = vmm_gpt_lookup(&vm->vm_gpt, vm->vm_memsize, &hpa,
	    &sz);
	for (size_t i = 0; i < ARRAY_SIZE(outside); i++)
		t->mapped_outside += vmm_gpt_lookup(&vm->vm_gpt, outside[i],
		    &hpa, &sz);
	t->leaves_4k = vm->vm_gpt.gpt_leaves_4k;
	t->leaves_2m = vm->vm_gpt.gpt_leaves_2m;
	mutex_exit(&vm->vm_gpt.gpt_lock);
}

/* What the guest wrote, read from the host's side. */
static void
check_memory(struct vm *vm, struct touch *t)
{
	const u8 *ram = phys_to_virt(vm->vm_mem);
	u64 size = vm->vm_memsize;

	for (u64 gpa = TOUCH_LOW_END; gpa < size; gpa += PAGESIZE) {
		/* A 2 MiB boundary's page starts with the top half of the
		 * dword written across it. */
		bool edge = IS_P2ALIGNED(gpa, VMM_PAGE_2M);
		u32 v = edge ? *(const u16 *)(ram + gpa) :
		    *(const u32 *)(ram + gpa);
		if (v != (edge ? 0x1122U : ((u32)gpa ^ TOUCH_PATTERN)))
			bad(t, &t->mem_bad, gpa);
	}
	if (*(const u16 *)(ram + size - 4) != 0x3344 || ram[size - 1] != 0xa5)
		bad(t, &t->mem_bad, size - 1);
}

static void
touch_run(struct touch *t)
{
	const struct guest_image *g = guest_find("touchram");
	char why[120];

	VERIFY(g != NULL, "no guest touchram");
	bool was = vmm_ondemand;
	if (!t->as_booted)
		vmm_ondemand = t->ondemand;
	struct vm *vm = vm_create_guest("touchram", g->start,
	    (size_t)(g->end - g->start), t->memsize, t->param, why,
	    sizeof (why));
	vmm_ondemand = was;
	VERIFY(vm != NULL, "touchram: %s", why);
	t->premapped = vm->vm_premapped;
	t->aligned = IS_P2ALIGNED(vm->vm_mem, VMM_PAGE_2M);
	memset(&t->r, 0, sizeof (t->r));
	t->r.quiet = true;
	(void) vcpu_run_loop(vm->vm_vcpu[0], &t->r);
	/* A stop leaves the result's copy from before the last vm_run. */
	t->r.last_report = vm->vm_vcpu[0]->vc_last_report;
	t->npf = vm->vm_vcpu[0]->vc_stats[VMM_STAT_VMEXIT_NPF];
	t->outofmap = vm->vm_vcpu[0]->vc_stats[VMM_STAT_VMEXIT_OUTOFMAP];
	check_tables(vm, t);
	check_memory(vm, t);
	vm_destroy(vm);
	ktest_note("touchram %lu KiB %s: %s 0x%x, %lu NPF exits, %lu 2 MiB + "
	    "%lu 4 KiB leaves, host base %s", t->memsize >> 10, t->ondemand ?
	    "on demand" : "premapped", t->r.killed ? t->r.reason : "verdict",
	    t->r.verdict, t->npf, t->leaves_2m, t->leaves_4k, t->aligned ?
	    "2 MiB-aligned" : "not 2 MiB-aligned");
}

static void
expect_sound(const struct touch *t)
{
	KT_EXPECT(t->map_bad == 0 && t->mem_bad == 0, "%lu pages translate "
	    "wrongly, %lu hold the wrong value from the host's side (first "
	    "at gpa 0x%lx)", t->map_bad, t->mem_bad, t->first_bad);
	KT_EXPECT(t->mapped_outside == 0, "%lu addresses outside RAM are "
	    "mapped", t->mapped_outside);
	KT_EXPECT(t->premapped == !t->ondemand, "premapped %d with "
	    "vmm_ondemand %d", t->premapped, t->ondemand);
}

/*
 * A guest that touches all of its RAM: no nested page fault when it is
 * premapped, one per 4 KiB page when it is not. The size is not a
 * multiple of 2 MiB, so the premapped VM has 4 KiB leaves at its top.
 */
KTEST(vmm, premapped_ram_takes_no_npf)
{
	const u64 size = 8 * MiB + 3 * PAGESIZE;

	if (!have_backend())
		return;
	for (int ondemand = 0; ondemand < 2; ondemand++) {
		struct touch t = { .memsize = size, .ondemand = ondemand };
		touch_run(&t);
		KT_EXPECT(t.r.done && t.r.verdict == 0, "touchram (%s): %s "
		    "(verdict 0x%x, report 0x%x)", ondemand ? "on demand" :
		    "premapped", t.r.reason, t.r.verdict, t.r.last_report);
		expect_sound(&t);
		if (ondemand) {
			KT_EXPECT(t.npf == size / PAGESIZE, "on demand: %lu "
			    "NPF exits, not one per page (%lu)", t.npf,
			    size / PAGESIZE);
			KT_EXPECT(t.leaves_4k == size / PAGESIZE &&
			    t.leaves_2m == 0, "on demand: %lu 4 KiB and %lu "
			    "2 MiB leaves", t.leaves_4k, t.leaves_2m);
			continue;
		}
		KT_EXPECT(t.npf == 0, "premapped: %lu NPF exits", t.npf);
		KT_EXPECT(t.aligned, "guest RAM not 2 MiB-aligned on a host "
		    "with plenty of free memory");
		u64 want2m = t.aligned && have_2m() ? 4 : 0;
		u64 want4k = (size - want2m * VMM_PAGE_2M) / PAGESIZE;
		KT_EXPECT(t.leaves_2m == want2m && t.leaves_4k == want4k,
		    "premapped: %lu 2 MiB and %lu 4 KiB leaves, not %lu and "
		    "%lu", t.leaves_2m, t.leaves_4k, want2m, want4k);
	}
}

/*
 * Dwords across each 2 MiB boundary, the last dword and byte of RAM work;
 * the byte just past RAM still stops the VM "out of map", premapped or
 * not.
 */
KTEST(vmm, premapped_ram_edges)
{
	const u64 size = 6 * MiB;
	char want[40];

	if (!have_backend())
		return;
	ksnprintf(want, sizeof (want), "gpa 0x%lx outside its", size);
	for (int ondemand = 0; ondemand < 2; ondemand++) {
		struct touch t = { .memsize = size, .ondemand = ondemand,
		    .param = TOUCH_PAST_RAM };
		touch_run(&t);
		KT_EXPECT(t.r.last_report == TOUCH_EDGES_OK, "touchram (%s) "
		    "did not get through the edges: %s (verdict 0x%x, report "
		    "0x%x)", ondemand ? "on demand" : "premapped", t.r.reason,
		    t.r.verdict, t.r.last_report);
		KT_EXPECT(t.r.killed && strstr(t.r.reason, want) != NULL &&
		    t.outofmap == 1, "the byte past RAM: %s (verdict 0x%x, %lu "
		    "out-of-map exits), not a stop at '%s'", t.r.killed ?
		    t.r.reason : "not stopped", t.r.verdict, t.outofmap, want);
		expect_sound(&t);
		if (!ondemand)
			KT_EXPECT(t.npf == 0, "premapped: %lu NPF exits",
			    t.npf);
	}
}

/*
 * The switch from the command line (check.py boots the suite with
 * vmm_ondemand=1 too): a VM made with it as it is follows it.
 */
KTEST(vmm, ram_mapping_follows_switch)
{
	const u64 size = 4 * MiB;

	if (!have_backend())
		return;
	struct touch t = { .memsize = size, .ondemand = vmm_ondemand,
	    .as_booted = true };
	touch_run(&t);
	KT_EXPECT(t.r.done && t.r.verdict == 0, "touchram: %s (verdict 0x%x)",
	    t.r.reason, t.r.verdict);
	expect_sound(&t);
	u64 want = vmm_ondemand ? size / PAGESIZE : 0;
	KT_EXPECT(t.npf == want, "vmm_ondemand=%d: %lu NPF exits, not %lu",
	    vmm_ondemand, t.npf, want);
}

/*
 * The walker alone (no guest; the host addresses are never touched): a
 * host base off 2 MiB gets 4 KiB leaves only; an aligned one 2 MiB leaves
 * that translate with their offset; a 4 KiB map inside a 2 MiB leaf is a
 * no-op rather than a descent into guest RAM taken for a table. The
 * runner's leak check sees whether vmm_gpt_fini freed every table.
 */
KTEST(vmm, gpt_premap_leaf_sizes)
{
	const paddr_t base = 0x40000000;
	const u64 size = 4 * MiB;
	vmm_gpt_t gpt;
	paddr_t hpa;
	u64 sz;

	if (!have_backend())
		return;
	vmm_gpt_init(&gpt, vmm_ops->pte_ops);
	mutex_enter(&gpt.gpt_lock);
	vmm_gpt_premap(&gpt, size, base + PAGESIZE);
	KT_EXPECT(gpt.gpt_leaves_2m == 0 && gpt.gpt_leaves_4k == size /
	    PAGESIZE, "host base off 2 MiB: %lu 2 MiB and %lu 4 KiB leaves",
	    gpt.gpt_leaves_2m, gpt.gpt_leaves_4k);
	bool ok = vmm_gpt_lookup(&gpt, 0x201234, &hpa, &sz);
	KT_EXPECT(ok && hpa == base + PAGESIZE + 0x201234 && sz == PAGESIZE,
	    "off 2 MiB: gpa 0x201234 -> %d 0x%lx (%lu)", ok, hpa, sz);
	mutex_exit(&gpt.gpt_lock);
	vmm_gpt_fini(&gpt);

	if (!have_2m()) {
		ktest_skip("this CPU's EPT has no 2 MiB leaves");
		return;
	}
	vmm_gpt_init(&gpt, vmm_ops->pte_ops);
	mutex_enter(&gpt.gpt_lock);
	vmm_gpt_premap(&gpt, size + PAGESIZE, base);
	KT_EXPECT(gpt.gpt_leaves_2m == 2 && gpt.gpt_leaves_4k == 1,
	    "aligned: %lu 2 MiB and %lu 4 KiB leaves", gpt.gpt_leaves_2m,
	    gpt.gpt_leaves_4k);
	ok = vmm_gpt_lookup(&gpt, 0x3fffff, &hpa, &sz);
	KT_EXPECT(ok && hpa == base + 0x3fffff && sz == VMM_PAGE_2M,
	    "aligned: gpa 0x3fffff -> %d 0x%lx (%lu)", ok, hpa, sz);
	ok = vmm_gpt_lookup(&gpt, size, &hpa, &sz);
	KT_EXPECT(ok && hpa == base + size && sz == PAGESIZE,
	    "aligned: gpa 0x%lx -> %d 0x%lx (%lu)", size, ok, hpa, sz);
	KT_EXPECT(!vmm_gpt_lookup(&gpt, size + PAGESIZE, &hpa, &sz),
	    "the page past the premapped range is mapped");
	KT_EXPECT(vmm_gpt_map(&gpt, 0x203000, base + 0x203000) &&
	    gpt.gpt_leaves_4k == 1, "a 4 KiB map under a 2 MiB leaf wrote "
	    "%lu 4 KiB leaves", gpt.gpt_leaves_4k);
	ok = vmm_gpt_lookup(&gpt, 0x203000, &hpa, &sz);
	KT_EXPECT(ok && sz == VMM_PAGE_2M, "the 2 MiB leaf was replaced");
	mutex_exit(&gpt.gpt_lock);
	vmm_gpt_fini(&gpt);
}
