/*
 * The fuzzer's runner (fuzz.h, docs/fuzz.md): seeds one after another in
 * one boot, each a fresh VM with guest/fuzz.asm's frame and the program
 * fuzz_gen.c made of the seed, ended by the guest, by the hypervisor with
 * a reason, or by a time limit. Each guest's end falls in a class (its
 * reason with the numbers taken out); a class is a failure when hardware
 * would not end a guest so (an entry that failed, an exit the hypervisor
 * has no answer for), and so is a guest that saw one of the host's
 * secret MSR values. Every FZ_BATCH guests, and at the end, the host is
 * checked: kmem_verify, no kmem buffer, page or thread more than before,
 * the kernel text's checksum, the host's MSRs on every CPU.
 */
#include "fuzz.h"
#include "../vmm.h"
#include "../vmm_dev.h"
#include "../vmm_exit.h"
#include "../../console.h"
#include "../../panic.h"
#include "../../kmem.h"
#include "../../pmem.h"
#include "../../thread.h"
#include "../../cpu.h"
#include "../../x86.h"
#include "../../apic.h"
#include "../../tunable.h"
#include "../../trace.h"

KTUNABLE_CMDLINE(fuzz_verbose, "a line per fuzz guest (make fuzz "
    "VERBOSE=1): the last one printed names the seed an emulator died in");

#define	FZ_BATCH	100
#define	FZ_NCLASSES	64

/* A secret the host keeps in an MSR, as each CPU holds it. */
struct fz_secret {
	u32 fs_msr;
	int fs_cpu;
	u64 fs_value;
	bool fs_32;			/* a 32-bit MSR: compare 32 bits */
};

struct fz_class {
	char fc_name[64];
	u64 fc_count;
	u64 fc_first_seed;
	bool fc_bad;
};

struct fz_state {
	struct fz_prog *fz_prog;	/* kmem: 64 KiB and more */
	struct fz_secret fz_sec[NCPU * FZ_NSECRET_MSRS];
	int fz_nsec;
	struct fz_class fz_cl[FZ_NCLASSES];
	int fz_ncl;
	u64 fz_guests;
	u64 fz_failures;
	u64 fz_secrets;			/* guests that saw a secret */
	u64 fz_completed;		/* verdict FZ_VERDICT_DONE */
	u64 fz_by_mode[FZ_NMODES];
	u64 fz_text_sum;
	hrtime_t fz_limit;
	bool fz_verbose;		/* a line per guest */
	bool fz_replay;			/* one guest, its console shown */
};

extern const char __text_start[], __text_end[];

static u64
text_sum(void)
{
	u64 s = 0;

	for (const u64 *p = (const u64 *)__text_start;
	    p < (const u64 *)__text_end; p++)
		s = (s << 7 | s >> 57) ^ *p;
	return (s);
}

/* May the host read this MSR (no #GP)? */
static bool
host_has(u32 msr)
{
	if (msr == MSR_TSC_AUX)
		return (vmm_host_has_tsc_aux());
	if (msr == MSR_VM_HSAVE_PA)
		return (vmm_ops == &vmm_ops_svm);
	return (true);
}

/* Every CPU's values of the secret MSRs (vmm_host_canaries set most). */
static void
secrets_record(struct fz_state *fz)
{
	fz->fz_nsec = 0;
	for (int c = 0; c < ncpus; c++) {
		thread_bind(c);
		for (int i = 0; i < FZ_NSECRET_MSRS; i++) {
			u32 msr = fz_secret_msr[i];
			/* VM_HSAVE_PA is a small physical address, a value
			 * any guest has in its registers now and then: it is
			 * read (and must #GP), not looked for. */
			if (!host_has(msr) || msr == MSR_VM_HSAVE_PA)
				continue;
			u64 v = rdmsr(msr);
			if (v == 0)
				continue;	/* nothing to hide */
			fz->fz_sec[fz->fz_nsec++] = (struct fz_secret){ msr, c,
			    v, msr == MSR_TSC_AUX };
		}
	}
	thread_bind(-1);
}

/* The secrets still in every CPU's MSRs (a guest may not change them). */
static bool
secrets_intact(struct fz_state *fz, char *why, size_t len)
{
	bool ok = true;

	for (int i = 0; i < fz->fz_nsec && ok; i++) {
		const struct fz_secret *s = &fz->fz_sec[i];
		thread_bind(s->fs_cpu);
		u64 v = rdmsr(s->fs_msr);
		if (v != s->fs_value) {
			ksnprintf(why, len, "host MSR 0x%x on cpu%d is 0x%lx, "
			    "was 0x%lx", s->fs_msr, s->fs_cpu, v, s->fs_value);
			ok = false;
		}
	}
	thread_bind(-1);
	return (ok);
}

/* Did the guest get a secret into its results or its registers? */
static bool
secret_seen(struct fz_state *fz, struct vm *vm, char *why, size_t len)
{
	const u8 *res = (const u8 *)phys_to_virt(vm->vm_mem) + FZ_BASE +
	    FZ_RESULTS_OFF;
	struct vcpu *vcpu = vm->vm_vcpu[0];

	for (int i = 0; i < fz->fz_nsec; i++) {
		const struct fz_secret *s = &fz->fz_sec[i];
		for (u32 off = 0; off + 4 <= FZ_NRESULTS * 4; off += 4) {
			u64 v = *(const u32 *)(res + off);
			if (!s->fs_32 && off + 8 <= FZ_NRESULTS * 4)
				v = *(const u64 *)(res + off);
			else if (!s->fs_32)
				continue;
			if (v == s->fs_value) {
				ksnprintf(why, len, "secret seen: MSR 0x%x of "
				    "cpu%d (0x%lx) in result %u", s->fs_msr,
				    s->fs_cpu, s->fs_value, off / 4);
				return (true);
			}
		}
		for (int r = 0; r < VM_NGPR; r++) {
			if (vcpu->vc_gpr[r] == NULL)
				continue;
			u64 v = *vcpu->vc_gpr[r];
			if (s->fs_32 ? (u32)v == s->fs_value : v == s->fs_value) {
				ksnprintf(why, len, "secret seen: MSR 0x%x of "
				    "cpu%d (0x%lx) in GPR %d", s->fs_msr,
				    s->fs_cpu, s->fs_value, r);
				return (true);
			}
		}
	}
	return (false);
}

/* A reason with its numbers taken out: "halted with interrupts disabled
 * at rip #". */
static void
normalize(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (const char *p = in; *p != '\0' && n + 2 < len; ) {
		if (*p >= '0' && *p <= '9') {
			out[n++] = '#';
			if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
				p += 2;
			while ((*p >= '0' && *p <= '9') ||
			    (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F'))
				p++;
			continue;
		}
		out[n++] = *p++;
	}
	out[n] = '\0';
}

/* How the guest ended, as a class; bad: not what hardware would do. */
static void
classify(const struct vcpu_result *r, const struct vcpu *vcpu, char *cl,
    size_t len, bool *bad)
{
	char raw[160];

	*bad = false;
	switch (r->how) {
	case GUEST_VERDICT:
		if (r->verdict == FZ_VERDICT_DONE)
			ksnprintf(cl, len, "ran to its end");
		else if (r->verdict == FZ_VERDICT_FAULTS)
			ksnprintf(cl, len, "too many faults (the frame's limit)");
		else if (r->verdict == FZ_VERDICT_LOST)
			ksnprintf(cl, len, "op index overwritten (the frame "
			    "gave up)");
		else
			ksnprintf(cl, len, "a verdict of its own");
		return;
	case GUEST_RUNNING:
		ksnprintf(cl, len, "still running");
		*bad = true;
		return;
	case GUEST_STOPPED:
		break;
	default:
		guest_end_describe(r, raw, sizeof (raw));
		normalize(raw, cl, len);
		return;
	}
	/* The hypervisor stopped it. */
	/*
	 * A failed entry is explained only with the check it failed named
	 * (svm_check.c; VMX's VM-entry failure qualification); an exit
	 * nothing answers, or none decoded, is not explained at all.
	 */
	enum vm_exitcode x = vcpu->vc_last_exit;
	if ((x == VM_EXIT_VMFAIL && strstr(r->reason, "refused") == NULL) ||
	    x == VM_EXIT_NONE || strncmp(r->reason, "unexpected", 10) == 0)
		*bad = true;
	normalize(r->reason, raw, sizeof (raw));
	/* vcpu_kill's "name: reason" says the exit already. */
	strlcpy(cl, raw, len);
}

static void
count(struct fz_state *fz, const char *cl, bool bad, u64 seed)
{
	for (int i = 0; i < fz->fz_ncl; i++) {
		if (strcmp(fz->fz_cl[i].fc_name, cl) == 0) {
			fz->fz_cl[i].fc_count++;
			return;
		}
	}
	int i = fz->fz_ncl < FZ_NCLASSES ? fz->fz_ncl++ : FZ_NCLASSES - 1;
	struct fz_class *c = &fz->fz_cl[i];
	if (c->fc_count != 0) {
		strlcpy(c->fc_name, "(other classes)", sizeof (c->fc_name));
		c->fc_count++;
		c->fc_bad |= bad;
		return;
	}
	strlcpy(c->fc_name, cl, sizeof (c->fc_name));
	c->fc_count = 1;
	c->fc_first_seed = seed;
	c->fc_bad = bad;
}

static void
fail(struct fz_state *fz, u64 seed, const char *what)
{
	fz->fz_failures++;
	cmn_err(CE_WARN, "fuzz: FAIL seed %lu: %s (replay: make run "
	    "GUEST=fuzz:%lu)", seed, what, seed);
}

/* One guest: made, run to its end, looked at, destroyed. */
static void
fuzz_one(struct fz_state *fz, u64 seed)
{
	struct fz_prog *p = fz->fz_prog;
	const struct guest_image *g = guest_find("fuzz");
	struct vcpu_result r;
	char why[160], cl[64];
	bool bad;

	fz_generate(seed, p);
	struct vm *vm = vm_create_guest("fuzz", g->start,
	    (size_t)(g->end - g->start), FZ_GUEST_MEM, p->fp_mode, why,
	    sizeof (why));
	VERIFY(vm != NULL, "fuzz: seed %lu: %s", seed, why);
	vm->vm_quiet = true;
	VERIFY(vm_load(vm, FZ_BASE, p->fp_buf, p->fp_len), "fuzz: load");
	vm_time_limit(vm, fz->fz_limit);
	memset(&r, 0, sizeof (r));
	r.quiet = !fz->fz_replay;
	(void) vcpu_run_loop(vm->vm_vcpu[0], &r);
	classify(&r, vm->vm_vcpu[0], cl, sizeof (cl), &bad);
	count(fz, cl, bad, seed);
	if (bad)
		fail(fz, seed, r.reason[0] != '\0' ? r.reason : cl);
	if (r.how == GUEST_VERDICT && r.verdict == FZ_VERDICT_DONE)
		fz->fz_completed++;
	if (secret_seen(fz, vm, why, sizeof (why))) {
		fz->fz_secrets++;
		count(fz, "(the host's secret seen)", true, seed);
		fail(fz, seed, why);
	}
	if (fz->fz_verbose)
		cmn_err(CE_NOTE, "fuzz: seed %lu %s %s %u ops: %s", seed,
		    fz_mode_name(p->fp_mode), fz_kind_name(p->fp_kind),
		    p->fp_nops, cl);
	fz->fz_guests++;
	fz->fz_by_mode[p->fp_mode]++;
	vm_destroy(vm);
}

/* The host after a batch: what kmem_verify, the leak marks, the text
 * checksum and the MSRs say. */
static void
host_check(struct fz_state *fz, u64 seed, u64 mark, size_t pages,
    size_t threads)
{
	char why[120];

	size_t bad = kmem_verify();
	if (bad != 0) {
		ksnprintf(why, sizeof (why), "kmem_verify found %lu problems",
		    bad);
		fail(fz, seed, why);
	}
	size_t leaked = kmem_outstanding(mark);
	if (leaked != 0) {
		(void) kmem_leak_report(mark);
		ksnprintf(why, sizeof (why), "%lu kmem buffers leaked in the "
		    "batch", leaked);
		fail(fz, seed, why);
	}
	if (pmem_pages_used() != pages) {
		ksnprintf(why, sizeof (why), "%ld pmem pages leaked in the "
		    "batch", (long)(pmem_pages_used() - pages));
		fail(fz, seed, why);
	}
	if (thread_count() != threads) {
		ksnprintf(why, sizeof (why), "%ld threads more after the batch",
		    (long)(thread_count() - threads));
		fail(fz, seed, why);
	}
	if (text_sum() != fz->fz_text_sum)
		fail(fz, seed, "the kernel text changed");
	if (!secrets_intact(fz, why, sizeof (why)))
		fail(fz, seed, why);
}

static void
summary(struct fz_state *fz, u64 first, u64 last, hrtime_t ns)
{
	cmn_err(CE_NOTE, "fuzz: seeds %lu..%lu on %s: %lu guests (real %lu, "
	    "protected %lu, long %lu) in %lu ms", first, last - 1,
	    vmm_ops->name, fz->fz_guests, fz->fz_by_mode[FZ_REAL],
	    fz->fz_by_mode[FZ_PROT], fz->fz_by_mode[FZ_LONG],
	    (u64)(ns / 1000000));
	cmn_err(CE_NOTE, "fuzz: %8s  %-10s  %s", "guests", "first seed",
	    "how they ended");
	for (int i = 0; i < fz->fz_ncl; i++) {
		const struct fz_class *c = &fz->fz_cl[i];
		cmn_err(CE_NOTE, "fuzz: %8lu  %-10lu  %s%s", c->fc_count,
		    c->fc_first_seed, c->fc_name, c->fc_bad ? "  FAIL" : "");
	}
	cmn_err(CE_NOTE, "fuzz: %lu guests, %lu failures", fz->fz_guests,
	    fz->fz_failures);
}

/* Wall time each guest gets: Bochs runs guests some 20 times slower. */
static hrtime_t
fuzz_limit(void)
{
	bool bochs = strncmp(opt_platform, "bochs", 5) == 0;

	return ((hrtime_t)(bochs ? 400 : 50) * 1000000);
}

u64
fuzz_run(u64 first, u64 last, bool verbose, struct fz_totals *tot)
{
	struct fz_state *fz = kmem_zalloc(sizeof (*fz), KM_SLEEP);

	VERIFY(vmm_ops != NULL, "fuzz_run: no virtualization backend");
	VERIFY(guest_find("fuzz") != NULL, "fuzz_run: no fuzz frame");
	fz->fz_prog = kmem_alloc(sizeof (*fz->fz_prog), KM_SLEEP);
	fz->fz_verbose = verbose || fuzz_verbose;
	fz->fz_limit = fuzz_limit();
	fz->fz_text_sum = text_sum();
	secrets_record(fz);
	hrtime_t t0 = gethrtime();
	for (u64 s = first; s < last; ) {
		u64 end = s + FZ_BATCH < last ? s + FZ_BATCH : last;
		u64 mark = kmem_mark();
		size_t pages = pmem_pages_used(), threads = thread_count();
		cmn_err(CE_NOTE, "fuzz: seeds %lu..%lu", s, end - 1);
		for (; s < end; s++)
			fuzz_one(fz, s);
		host_check(fz, end - 1, mark, pages, threads);
	}
	summary(fz, first, last, gethrtime() - t0);
	u64 failures = fz->fz_failures;
	if (tot != NULL) {
		*tot = (struct fz_totals){ .ft_guests = fz->fz_guests,
		    .ft_failures = failures, .ft_secrets = fz->fz_secrets,
		    .ft_completed = fz->fz_completed,
		    .ft_classes = (u64)fz->fz_ncl };
	}
	kmem_free(fz->fz_prog, sizeof (*fz->fz_prog));
	kmem_free(fz, sizeof (*fz));
	return (failures);
}

void
fuzz_replay(u64 seed)
{
	struct fz_state *fz = kmem_zalloc(sizeof (*fz), KM_SLEEP);

	fz->fz_prog = kmem_alloc(sizeof (*fz->fz_prog), KM_SLEEP);
	fz->fz_limit = fuzz_limit();
	fz->fz_text_sum = text_sum();
	secrets_record(fz);
	struct fz_prog *p = fz->fz_prog;
	fz_generate(seed, p);
	cmn_err(CE_NOTE, "fuzz: seed %lu: %s mode, %s, %u ops, %u bytes at "
	    "0x%x", seed, fz_mode_name(p->fp_mode), fz_kind_name(p->fp_kind),
	    p->fp_nops, p->fp_len, FZ_BASE);
	const u32 *optab = (const u32 *)(p->fp_buf + FZ_OPTAB_OFF);
	for (u32 k = 0; k < p->fp_nops; k++)
		cmn_err(CE_NOTE, "fuzz:   op %3u at 0x%05x: %s", k,
		    optab[k] + (p->fp_mode == FZ_REAL ? FZ_BASE : 0),
		    fz_op_name((enum fz_op)p->fp_op[k]));
	fz->fz_verbose = fz->fz_replay = true;
	u64 mark = kmem_mark();
	size_t pages = pmem_pages_used(), threads = thread_count();
	fuzz_one(fz, seed);
	if (trace_on)
		trace_dump();	/* trace=: what the guest's run recorded */
	host_check(fz, seed, mark, pages, threads);
	summary(fz, seed, seed + 1, 0);
	u64 failures = fz->fz_failures;
	kmem_free(fz->fz_prog, sizeof (*fz->fz_prog));
	kmem_free(fz, sizeof (*fz));
	kernel_exit(failures == 0 ? 0 : 1);
}
