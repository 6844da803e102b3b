/*
 * The fuzzer (kern/vmm/fuzz/, docs/fuzz.md): a fixed set of seeds every
 * make check, and the proof that it can fail: a planted hole in the MSR
 * bitmaps must show up as a host secret seen by a guest.
 */
#include "ktest.h"
#include "../kern/vmm/vmm.h"
#include "../kern/vmm/fuzz/fuzz.h"
#include "../kern/vmm/vmm_dev.h"
#include "../kern/vmm/vmm_stat.h"
#include "../kern/thread.h"
#include "../kern/panic.h"
#include "../kern/kmem.h"
#include "../kern/tunable.h"

static bool
have_backend(void)
{
	if (vmm_ops != NULL)
		return (true);
	ktest_skip("no virtualization backend");
	return (false);
}

/* A seed is the whole guest: the same seed, the same bytes; and 300
 * seeds reach every mode, kind and op. */
KTEST(fuzz, same_seed_same_guest)
{
	struct fz_prog *a = kmem_alloc(sizeof (*a), KM_SLEEP);
	struct fz_prog *b = kmem_alloc(sizeof (*b), KM_SLEEP);
	u32 modes = 0, kinds = 0, ops = 0;

	fz_generate(7, a);
	fz_generate(7, b);
	KT_EXPECT(memcmp(a, b, sizeof (*a)) == 0, "seed 7 gave two programs");
	fz_generate(8, b);
	KT_EXPECT(a->fp_len != b->fp_len || memcmp(a->fp_buf, b->fp_buf,
	    a->fp_len) != 0, "seeds 7 and 8 gave the same program");
	for (u64 s = 0; s < 300; s++) {
		fz_generate(s, a);
		modes |= 1U << a->fp_mode;
		kinds |= 1U << a->fp_kind;
		for (u32 k = 0; k < a->fp_nops; k++)
			ops |= 1U << a->fp_op[k];
		KT_EXPECT(a->fp_nops >= 2 && a->fp_nops <= FZ_MAXOPS &&
		    a->fp_len <= FZ_PAYLOAD_MAX, "seed %lu: %u ops, %u bytes",
		    s, a->fp_nops, a->fp_len);
	}
	KT_EXPECT(modes == (1U << FZ_NMODES) - 1, "modes seen 0x%x", modes);
	KT_EXPECT(kinds == (1U << FZ_NKINDS) - 1, "kinds seen 0x%x", kinds);
	KT_EXPECT(ops == (1U << FZ_NOPKINDS) - 1, "ops seen 0x%x", ops);
	kmem_free(a, sizeof (*a));
	kmem_free(b, sizeof (*b));
}

/* make check's seeds: 2,000 on QEMU, 200 on Bochs VMX (scale=10), 20 on Bochs SVM. Every one
 * must end explained, see no secret, and leave the host whole. */
KTEST(fuzz, seeds_end_explained)
{
	struct fz_totals t;

	if (!have_backend())
		return;
	/* Bochs SVM: 20, none of which spins with IF clear, which nothing
	 * can stop there (docs/platforms.md). */
	u64 n = strcmp(opt_platform, "bochs-svm") == 0 ? 20 : ktest_scale(2000);
	u64 f = fuzz_run(0, n, false, &t);
	KT_EXPECT(f == 0, "%lu failures in %lu guests (the fuzz: FAIL lines "
	    "name the seeds)", f, t.ft_guests);
	KT_EXPECT(t.ft_guests == n, "%lu guests run of %lu", t.ft_guests, n);
	/* A fuzzer that never gets far proves little. */
	KT_EXPECT(t.ft_completed > 0 && t.ft_classes >= 6, "%lu guests ran "
	    "to their end, %lu ways of ending", t.ft_completed, t.ft_classes);
}

/*
 * The planted bug: TSC_AUX readable without an exit (and on SVM not
 * switched either). The fuzzer must see a guest read the host's value. To
 * be quick on Bochs too, the guests run are the first seeds whose
 * programs read that MSR among their first ops (fp_msr), up to ten.
 */
KTEST(fuzz, catches_msr_passthrough)
{
	struct fz_totals t;
	struct fz_prog *p;
	u32 msr = 0xc0000103;			/* TSC_AUX */
	u64 ran = 0, caught = 0;

	if (!have_backend())
		return;
	p = kmem_alloc(sizeof (*p), KM_SLEEP);
	vmm_inject_msr_passthrough = true;
	for (u64 s = 0; s < 5000 && ran < 10 && caught == 0; s++) {
		fz_generate(s, p);
		bool early = false;
		for (u32 k = 0; k < p->fp_nops && k < 6; k++)
			early |= p->fp_msr[k] == msr;
		if (!early)
			continue;
		(void) fuzz_run(s, s + 1, false, &t);
		ran++;
		caught += t.ft_secrets;
	}
	vmm_inject_msr_passthrough = false;
	kmem_free(p, sizeof (*p));
	KT_EXPECT(ran > 0, "no seed below 5000 reads MSR 0x%x early", msr);
	KT_EXPECT(caught > 0, "none of %lu guests that read MSR 0x%x saw the "
	    "host's value through the planted hole", ran, msr);
	ktest_note("caught after %lu guests reading MSR 0x%x", ran, msr);
}

/*
 * Two VMs at once: a bystander that makes CPUID exits forever, its RAM
 * filled by the host with a pattern, beside the fuzzer's hostile guests
 * on the other CPU. The bystander must keep running and its RAM must be
 * as the host wrote it (the hostile ones write everywhere they can).
 */
struct bystander {
	struct vm *vm;
	struct vcpu_result r;
};

static void
bystander_thread(void *arg)
{
	struct bystander *b = arg;

	(void) vcpu_run_loop(b->vm->vm_vcpu[0], &b->r);
}

static u64
pattern_sum(struct vm *vm, bool fill)
{
	u64 *p = (u64 *)((u8 *)phys_to_virt(vm->vm_mem) + 0x10000);
	u64 n = (vm->vm_memsize - 0x10000) / 8, sum = 0, x = 0x9e3779b97f4a7c15UL;

	for (u64 i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (fill)
			p[i] = x;
		sum += p[i] == x;
	}
	return (n - sum);		/* words not as written */
}

KTEST_MIN(fuzz, bystander_vm_untouched, 2)
{
	static const u8 loop[] = { 0x0f, 0xa2, 0xeb, 0xfc };	/* cpuid; jmp */
	struct bystander *b;
	struct fz_totals t;
	char why[120];

	if (!have_backend())
		return;
	b = kmem_zalloc(sizeof (*b), KM_SLEEP);
	b->vm = vm_create_guest("bystander", loop, sizeof (loop), FZ_GUEST_MEM,
	    0, why, sizeof (why));
	VERIFY(b->vm != NULL, "bystander: %s", why);
	(void) pattern_sum(b->vm, true);
	b->r.quiet = true;
	kthread_t *th = thread_create("bystander", bystander_thread, b, 1);
	u64 n = strncmp(opt_platform, "bochs", 5) == 0 ? 10 : ktest_scale(300);
	u64 f = fuzz_run(1000000, 1000000 + n, false, &t);
	u64 exits = b->vm->vm_vcpu[0]->vc_stats[VMM_STAT_VMEXIT_TOTAL];
	vm_request_stop(b->vm, "the test is over");
	thread_join(th);
	KT_EXPECT(f == 0, "%lu failures among the hostile guests", f);
	KT_EXPECT(exits > 100, "the bystander made %lu exits in %lu guests' "
	    "time", exits, t.ft_guests);
	KT_EXPECT(strstr(b->r.reason, "the test is over") != NULL, "the "
	    "bystander ended otherwise: %s", b->r.reason);
	u64 bad = pattern_sum(b->vm, false);
	KT_EXPECT(bad == 0, "%lu words of the bystander's RAM changed", bad);
	ktest_note("bystander: %lu exits beside %lu hostile guests", exits,
	    t.ft_guests);
	vm_destroy(b->vm);
	kmem_free(b, sizeof (*b));
}

/*
 * VM state fuzzing (issue 13, item 3, the register half; not done): random and
 * boundary values of CR0, CR4, EFER, RFLAGS, the interrupt shadow and a
 * pending exception, set through the backend's own setters before the
 * first entry of a one-HLT guest. Whatever the state, the entry runs (the
 * guest halts, faults, shuts down) or fails with a named reason: VMRUN's
 * check (svm_check.c) or the VM-entry failure's exit reason; never a host
 * fault, an unnamed failure or an emulator abort.
 */
static u64
state_value(u64 *rs, u64 valid, u64 boundary)
{
	switch (ktest_rand(rs) % 5) {
	case 0:	return (boundary);
	case 1:	return (ktest_rand(rs) & valid);
	case 2:	return ((ktest_rand(rs) & valid) | (1UL << (ktest_rand(rs) % 64)));
	case 3:	return (ktest_rand(rs) & 0xffffffff);
	default: return (ktest_rand(rs));
	}
}

/* Not in make check yet: on QEMU 7.2 (2 CPUs) one of the first 20 states
 * hangs the host CPU (not narrowed down yet); `suite=fuzzstate` runs it
 * (docs/fuzz.md). */
KTEST(fuzzstate, vm_state_entries_named)
{
	static const u8 hlt[] = { 0xf4 };
	static const u8 vectors[] = { 0, 1, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13,
	    14, 16, 17, 18, 19, 20 };
	u64 rs = 0x5eed5eedUL, runs = 0, failed_named = 0;
	u64 n = strncmp(opt_platform, "bochs", 5) == 0 ? 40 : ktest_scale(400);
	char why[120];

	if (!have_backend())
		return;
	for (u64 i = 0; i < n; i++) {
		struct vm *vm = vm_create_guest("state", hlt, sizeof (hlt),
		    FZ_GUEST_MEM, 0, why, sizeof (why));
		VERIFY(vm != NULL, "state: %s", why);
		vm->vm_quiet = true;
		struct vcpu *v = vm->vm_vcpu[0];
		u64 cr0 = state_value(&rs, 0xe005003fUL, 0x60000010UL);
		u64 cr4 = state_value(&rs, vm_cr4_valid_bits(), 0x20);
		u64 efer = state_value(&rs, 0xd01UL, 0x500UL);
		u64 rfl = state_value(&rs, 0x3f7fd7UL, 0x2UL) | 2;
		vm_setreg(v, VM_REG_CR0, cr0);
		vm_setreg(v, VM_REG_CR4, cr4);
		vm_setreg(v, VM_REG_EFER, efer);
		vm_setreg(v, VM_REG_RFLAGS, rfl);
		vm_setreg(v, VM_REG_INTR_SHADOW, ktest_rand(&rs) & 1);
		if (ktest_rand(&rs) % 3 == 0) {
			u8 vec = vectors[ktest_rand(&rs) % sizeof (vectors)];
			bool ec = vec == 8 || (vec >= 10 && vec <= 14) ||
			    vec == 17;
			vm_inject_exception(v, vec, ec, (u32)ktest_rand(&rs),
			    ktest_rand(&rs));
		}
		if (fuzz_verbose)
			ktest_note("state %lu: CR0 0x%lx CR4 0x%lx EFER 0x%lx "
			    "RFLAGS 0x%lx", i, cr0, cr4, efer, rfl);
		vm_time_limit(vm, 50 * 1000000L);
		struct vcpu_result r;
		memset(&r, 0, sizeof (r));
		r.quiet = true;
		(void) vcpu_run_loop(v, &r);
		enum vm_exitcode x = v->vc_last_exit;
		bool named = x != VM_EXIT_VMFAIL ||
		    strstr(r.reason, "refused") != NULL ||
		    strstr(r.reason, "VM entry failed") != NULL;
		failed_named += x == VM_EXIT_VMFAIL && named;
		KT_EXPECT(named && x != VM_EXIT_NONE &&
		    strncmp(r.reason, "unexpected", 10) != 0, "state %lu "
		    "(CR0 0x%lx CR4 0x%lx EFER 0x%lx RFLAGS 0x%lx): %s", i, cr0,
		    cr4, efer, rfl, r.reason);
		runs++;
		vm_destroy(vm);
	}
	ktest_note("%lu states, %lu entries refused with a named reason", runs,
	    failed_named);
}
