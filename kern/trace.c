/*
 * Per-CPU trace rings. A writer runs with interrupts off on its own CPU's
 * ring, so it needs no lock; the global sequence number (one atomic add)
 * orders records across CPUs for the dump. A full ring drops the record
 * and counts it; the sequence number is still consumed, so a reader sees
 * where the hole is.
 */
#include "trace.h"
#include "cpu.h"
#include "x86.h"
#include "pmem.h"
#include "apic.h"
#include "panic.h"
#include "console.h"
#include "sync.h"

#define	TRACE_RING_BYTES	(2UL << 20)	/* per CPU */
#define	TRACE_RING_RECS		(TRACE_RING_BYTES / sizeof (trace_rec_t))

struct trace_ring {
	trace_rec_t *tr_recs;		/* TRACE_RING_RECS; constant */
	volatile u32 tr_count;		/* written; own CPU */
	volatile u32 tr_busy;		/* a write is in progress */
	u64 tr_dropped;			/* own CPU */
};

volatile bool trace_on;
static struct trace_ring rings[NCPU];
static u32 ring_limit = TRACE_RING_RECS;	/* records kept per ring */
static u64 trace_seq;

static const struct {
	const char *func;
	const char *name;
	const char *a0;			/* argument names; NULL = not shown */
	const char *a1;
	bool a0_sym;			/* a0 is a function: print its name */
} probes[TR_NPROBES] = {
	[TR_SAVECTX_ENTRY] = { "savectx", "entry", "nodes", NULL, false },
	[TR_SAVECTX_RETURN] = { "savectx", "return", NULL, NULL, false },
	[TR_RESTORECTX_ENTRY] = { "restorectx", "entry", "nodes", NULL, false },
	[TR_RESTORECTX_RETURN] = { "restorectx", "return", NULL, NULL, false },
	[TR_CTXOP_SAVE] = { "ctxop", "save", "hook", "op", true },
	[TR_CTXOP_RESTORE] = { "ctxop", "restore", "hook", "op", true },
	[TR_CTXOP_ATTACH] = { "ctxop_attach", "attach", "op", "thread", false },
	[TR_CTXOP_DETACH] = { "ctxop_detach", "detach", "op", "thread", false },
	[TR_FPU_SAVE] = { "fpu_save", "save", "area", NULL, false },
	[TR_FPU_RESTORE] = { "fpu_restore", "restore", "area", NULL, false },
	[TR_SWTCH] = { "swtch", "switch", "old", "new", false },
	[TR_MIGRATE] = { "swtch", "migrate", "from", "to", false },
	[TR_THREAD_CREATE] = { "thread", "create", "new", NULL, false },
	[TR_THREAD_FREE] = { "thread", "free", "thread", NULL, false },
	[TR_VM_RUN_ENTRY] = { "vm_run", "entry", "vcpu", NULL, false },
	[TR_VM_RUN_EXIT] = { "vm_run", "return", "vcpu", "exit", false },
	[TR_GUEST_FPU_SAVE] = { "save_guest_fpustate", "entry", "vcpu", NULL,
	    false },
	[TR_GUEST_FPU_RESTORE] = { "restore_guest_fpustate", "entry", "vcpu",
	    NULL, false },
	[TR_SVM_SAVECTX] = { "svm_savectx", "entry", "vcpu", "cpu", false },
	[TR_SVM_RESTORECTX] = { "svm_restorectx", "entry", "vcpu", "cpu",
	    false },
	[TR_VMX_SAVECTX] = { "vmx_savectx", "entry", "vcpu", "cpu", false },
	[TR_VMX_RESTORECTX] = { "vmx_restorectx", "entry", "vcpu", "cpu",
	    false },
	[TR_VMENTRY] = { "vmentry", "entry", "vcpu", "kind", false },
	[TR_VMEXIT] = { "vmexit", "exit", "vcpu", "reason", false },
	[TR_VMCS_CLEAR] = { "vmx", "vmclear", "vcpu", "cpu", false },
	[TR_VMCS_LOAD] = { "vmx", "vmptrld", "vcpu", "cpu", false },
	[TR_ASID_NEW] = { "svm", "new_asid", "vcpu", "asid", false },
};

void
trace_init(void)
{
	for (int i = 0; i < ncpus; i++) {
		paddr_t pa = page_alloc_contig(TRACE_RING_BYTES / PAGESIZE,
		    PAGESIZE, KM_PANIC);
		rings[i].tr_recs = phys_to_virt(pa);
	}
}

static void
record(kthread_t *t, trace_probe_t p, u64 a0, u64 a1)
{
	bool s = intr_save();
	cpu_t *cp = CPU;
	struct trace_ring *r = &rings[cp->cpu_id];

	r->tr_busy = 1;
	membar();		/* busy before the look at trace_on (quiesce) */
	if (r->tr_recs == NULL || !trace_on) {
		r->tr_busy = 0;
		intr_restore(s);
		return;
	}
	u64 seq = atomic_inc_64(&trace_seq);
	if (r->tr_count >= ring_limit) {
		r->tr_dropped++;
	} else {
		trace_rec_t *rec = &r->tr_recs[r->tr_count];
		rec->tr_seq = seq;
		rec->tr_time = gethrtime();
		rec->tr_thread = (u64)(uintptr_t)t;
		rec->tr_a0 = a0;
		rec->tr_a1 = a1;
		rec->tr_cpu = (u16)cp->cpu_id;
		rec->tr_probe = (u16)p;
		barrier();
		r->tr_count++;
	}
	barrier();
	r->tr_busy = 0;
	intr_restore(s);
}

void
trace_rec(trace_probe_t p, u64 a0, u64 a1)
{
	record(curthread, p, a0, a1);
}

/* For records about a thread other than the one running (migration). */
void
trace_rec_thread(kthread_t *t, trace_probe_t p, u64 a0, u64 a1)
{
	record(t, p, a0, a1);
}

/* Stop writers and wait for the ones in flight. */
static bool
quiesce(void)
{
	bool was = trace_on;

	trace_on = false;
	membar();
	for (int i = 0; i < ncpus; i++) {
		while (READ_ONCE(rings[i].tr_busy) != 0)
			cpu_pause();
	}
	return (was);
}

void
trace_reset(void)
{
	bool was = quiesce();

	for (int i = 0; i < ncpus; i++) {
		rings[i].tr_count = 0;
		rings[i].tr_dropped = 0;
	}
	trace_on = was;
}

/* Keep at most n records per ring (0: as many as fit); for tests. */
void
trace_set_limit(u32 n)
{
	bool was = quiesce();

	ring_limit = (n == 0 || n > TRACE_RING_RECS) ? TRACE_RING_RECS : n;
	trace_on = was;
}

/* Records of probe p in the rings now (tests; call with tracing off). */
u64
trace_count(trace_probe_t p)
{
	u64 n = 0;

	for (int i = 0; i < ncpus; i++) {
		for (u32 j = 0; j < rings[i].tr_count; j++)
			n += rings[i].tr_recs[j].tr_probe == p;
	}
	return (n);
}

u64
trace_dropped(void)
{
	u64 d = 0;

	for (int i = 0; i < ncpus; i++)
		d += rings[i].tr_dropped;
	return (d);
}

static void
print_arg(const char *name, u64 v, bool sym)
{
	if (name == NULL)
		return;
	if (sym) {
		uintptr_t off;
		const char *n = ksym_lookup((uintptr_t)v, &off);
		if (n != NULL && off == 0) {
			kprintf(" %s=%s", name, n);
			return;
		}
	}
	if (v < 0x10000)
		kprintf(" %s=%lu", name, v);
	else
		kprintf(" %s=0x%lx", name, v);
}

/*
 * Print every ring merged in sequence order, then empty them. Tracing is
 * off while the dump runs and returns to its previous state after.
 */
void
trace_dump(void)
{
	bool was = quiesce();
	u32 pos[NCPU] = { 0 };
	u64 total = 0;

	for (int i = 0; i < ncpus; i++)
		total += rings[i].tr_count;
	kprintf("# trace begin: cpus=%d records=%lu dropped=%lu\n", ncpus,
	    total, trace_dropped());
	kprintf("CPU     ID                    FUNCTION:NAME  SEQ      THREAD"
	    "              ARGS\n");
	for (;;) {
		int best = -1;
		for (int i = 0; i < ncpus; i++) {
			if (pos[i] < rings[i].tr_count && (best < 0 ||
			    rings[i].tr_recs[pos[i]].tr_seq <
			    rings[best].tr_recs[pos[best]].tr_seq))
				best = i;
		}
		if (best < 0)
			break;
		const trace_rec_t *r = &rings[best].tr_recs[pos[best]++];
		char fn[48];
		ksnprintf(fn, sizeof (fn), "%s:%s", probes[r->tr_probe].func,
		    probes[r->tr_probe].name);
		kprintf("%3u %6u %32s  %-8lu 0x%lx ", r->tr_cpu, r->tr_probe,
		    fn, r->tr_seq, r->tr_thread);
		print_arg(probes[r->tr_probe].a0, r->tr_a0,
		    probes[r->tr_probe].a0_sym);
		print_arg(probes[r->tr_probe].a1, r->tr_a1, false);
		kprintf("\n");
	}
	kprintf("# trace end: dropped=%lu\n", trace_dropped());
	for (int i = 0; i < ncpus; i++) {
		rings[i].tr_count = 0;
		rings[i].tr_dropped = 0;
	}
	trace_on = was;
}
