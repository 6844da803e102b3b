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
#include "vmm/vmm_exit.h"

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

enum trace_argfmt { TA_NUM, TA_SYM, TA_EXIT, TA_KIND };

struct trace_arg {
	const char *name;		/* NULL: not shown */
	enum trace_argfmt fmt;
};

#define	TRACE_PROBE_DESC(id, fn, nm, a0, f0, a1, f1)			\
	[TR_##id] = { fn, nm, { { a0, TA_##f0 }, { a1, TA_##f1 } } },
static const struct {
	const char *func;
	const char *name;
	struct trace_arg args[2];
} probes[TR_NPROBES] = {
	TRACE_PROBES(TRACE_PROBE_DESC)
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

/*
 * What is recorded: every probe unless trace_select() says otherwise
 * (trace= on the command line, the monitor's ::trace on|off), and only
 * on a CPU, a thread or a vCPU if a filter is set. Written by one thread
 * at a time (boot, the monitor), read racily by every probe.
 */
static bool probe_off[TR_NPROBES];
static int filter_cpu = -1;
static u64 filter_thread, filter_vcpu;

/* The probes whose first argument is a vCPU (the vCPU filter). */
static bool
probe_has_vcpu(trace_probe_t p)
{
	return (probes[p].args[0].name != NULL &&
	    strcmp(probes[p].args[0].name, "vcpu") == 0);
}

void
trace_rec(trace_probe_t p, u64 a0, u64 a1)
{
	bool s = intr_save();
	cpu_t *cp = CPU;
	struct trace_ring *r = &rings[cp->cpu_id];

	if (probe_off[p] || (filter_cpu >= 0 && cp->cpu_id != filter_cpu) ||
	    (filter_thread != 0 && (u64)(uintptr_t)curthread !=
	    filter_thread) || (filter_vcpu != 0 && (!probe_has_vcpu(p) ||
	    a0 != filter_vcpu))) {
		intr_restore(s);
		return;
	}
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
		rec->tr_thread = (u64)(uintptr_t)curthread;
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
print_arg(const struct trace_arg *arg, u64 v)
{
	static const char *const kinds[] = {
		[TR_ENTRY_VMRUN] = "vmrun", [TR_ENTRY_VMLAUNCH] = "vmlaunch",
		[TR_ENTRY_VMRESUME] = "vmresume",
	};

	if (arg->name == NULL)
		return;
	if (arg->fmt == TA_SYM) {
		uintptr_t off;
		const char *n = ksym_lookup((uintptr_t)v, &off);
		if (n != NULL && off == 0) {
			kprintf(" %s=%s", arg->name, n);
			return;
		}
	} else if (arg->fmt == TA_EXIT) {
		kprintf(" %s=%s", arg->name, vm_exitcode_name(v));
		return;
	} else if (arg->fmt == TA_KIND && v < ARRAY_SIZE(kinds)) {
		kprintf(" %s=%s", arg->name, kinds[v]);
		return;
	}
	if (v < 0x10000)
		kprintf(" %s=%lu", arg->name, v);
	else
		kprintf(" %s=0x%lx", arg->name, v);
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
		print_arg(&probes[r->tr_probe].args[0], r->tr_a0);
		print_arg(&probes[r->tr_probe].args[1], r->tr_a1);
		kprintf(" ns=%lu\n", (u64)r->tr_time);	/* scripts/traceview.py */
	}
	kprintf("# trace end: dropped=%lu\n", trace_dropped());
	for (int i = 0; i < ncpus; i++) {
		rings[i].tr_count = 0;
		rings[i].tr_dropped = 0;
	}
	trace_on = was;
}

/* A glob with * and ? (the whole string must match). */
static bool
glob(const char *pat, const char *s)
{
	if (*pat == '\0')
		return (*s == '\0');
	if (*pat == '*')
		return (glob(pat + 1, s) || (*s != '\0' && glob(pat, s + 1)));
	if (*s != '\0' && (*pat == '?' || *pat == *s))
		return (glob(pat + 1, s + 1));
	return (false);
}

/* "FUNCTION:NAME" matches pat, or FUNCTION alone does (vm* is vm_run:*,
 * vmentry:*, vmexit:*, vmx:*). */
static bool
probe_matches(trace_probe_t p, const char *pat)
{
	char fn[48];

	ksnprintf(fn, sizeof (fn), "%s:%s", probes[p].func, probes[p].name);
	return (glob(pat, fn) || glob(pat, probes[p].func));
}

int
trace_select(const char *patterns, bool on, bool only)
{
	char buf[160];
	int n = 0;

	strlcpy(buf, patterns, sizeof (buf));
	if (only)
		for (int p = 1; p < TR_NPROBES; p++)
			probe_off[p] = true;
	for (char *pat = buf, *comma; pat != NULL; pat = comma) {
		comma = strchr(pat, ',');
		if (comma != NULL)
			*comma++ = '\0';
		int matched = 0;
		for (int p = 1; p < TR_NPROBES; p++) {
			if (probe_matches((trace_probe_t)p, pat)) {
				probe_off[p] = !on;
				matched++;
			}
		}
		if (matched == 0)
			return (-1);
		n += matched;
	}
	return (n);
}

void
trace_filter(int cpu, u64 thread, u64 vcpu)
{
	filter_cpu = cpu;
	filter_thread = thread;
	filter_vcpu = vcpu;
}

void
trace_list(void (*pr)(void *, const char *, ...), void *arg)
{
	pr(arg, "%-36s %-4s %s\n", "FUNCTION:NAME", "ON", "RECORDS");
	for (int p = 1; p < TR_NPROBES; p++) {
		char fn[48];
		ksnprintf(fn, sizeof (fn), "%s:%s", probes[p].func,
		    probes[p].name);
		pr(arg, "%-36s %-4s %lu\n", fn, probe_off[p] ? "off" : "on",
		    trace_count((trace_probe_t)p));
	}
	pr(arg, "tracing %s; filters: cpu %d, thread 0x%lx, vcpu 0x%lx; "
	    "%lu records dropped\n", trace_on ? "on" : "off", filter_cpu,
	    filter_thread, filter_vcpu, trace_dropped());
}
