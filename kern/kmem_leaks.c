/*
 * findleaks (mdb's ::findleaks, after illumos's leaky.c): a conservative
 * mark and sweep over kmem's allocated buffers.
 *
 * 1. Snapshot: every ALLOC buffer's range and allocation sequence number
 *    into an array of our own (pages from pmem, so findleaks allocates no
 *    kmem buffer and the array, which holds every buffer's address, is
 *    never mistaken for a reference), sorted by address.
 * 2. Mark: every aligned word of the roots that points into a buffer of
 *    the snapshot (anywhere in it, as leaky.c counts interior pointers)
 *    marks that buffer, and each buffer marked is scanned the same way in
 *    turn, until nothing new is marked. The roots are the kernel's .data
 *    and .bss (which hold the CPU structures, cpus[], and CPU 0's boot
 *    stack) and every thread's stack.
 * 3. Sweep: the buffers still ALLOC with the same sequence number and not
 *    marked are leaks; they are reported grouped by cache and allocating
 *    caller (the buftag's bt_caller).
 *
 * Registers: a thread that is not running has its callee-saved registers
 * pushed on its stack by resume() (and an interrupted one its whole
 * struct regs, by the interrupt stub), below nothing that is scanned: a
 * sleeping thread's stack is read whole. The caller-saved registers are
 * dead across the call into swtch(). The thread calling findleaks is read
 * from its current stack pointer up, so the dead frames below it (where
 * a buffer's address often lingers) do not hide a leak. Threads running
 * on other CPUs meanwhile are read whole as well, but what they hold only
 * in registers is not seen.
 *
 * This is a live scan, not a crash dump's: a pointer that moves from a
 * place not yet read to one already read while the scan runs makes its
 * buffer look leaked, and a stale copy of an address (a dead stack frame
 * of another thread, a free buffer's old contents in a reused one) makes a
 * leaked buffer look referenced. Buffers allocated after the snapshot are
 * neither scanned nor reported. Memory kmem does not know (pages from
 * pmem: trace rings, guest memory, page tables) is not a root, so a
 * buffer referenced only from there is reported.
 */
#include "kmem.h"
#include "kmem_impl.h"
#include "pmem.h"
#include "thread.h"
#include "cpu.h"
#include "console.h"

#define	LEAK_GROUPS	64	/* distinct (cache, caller) pairs shown */

extern char __data_start[], _edata[], __bss_start[], _end[];

typedef struct leak_buf {
	uintptr_t lb_base;	/* the buffer */
	uintptr_t lb_end;	/* base + usersize */
	u64 lb_seq;		/* bt_seq at the snapshot */
} leak_buf_t;

typedef struct leak_group {
	char lg_cache[KMEM_NAMELEN];
	uintptr_t lg_caller;
	uintptr_t lg_first;	/* the first leaked buffer seen */
	size_t lg_count;
	size_t lg_bytes;	/* requested sizes */
} leak_group_t;

/* The state of one findleaks run; only its thread touches it. */
typedef struct leak_state {
	paddr_t ls_pa;		/* the pages holding the arrays below */
	size_t ls_npages;
	leak_buf_t *ls_bufs;	/* sorted by lb_base */
	u8 *ls_marked;		/* per buffer: reached from a root */
	u32 *ls_stack;		/* marked, not yet scanned */
	leak_group_t *ls_groups;
	size_t ls_cap;		/* room in ls_bufs */
	size_t ls_n;		/* buffers in the snapshot */
	size_t ls_sp;		/* ls_stack depth */
	size_t ls_ngroups;
	size_t ls_leaked;	/* leaked buffers, including ungrouped */
	size_t ls_leaked_bytes;
	u64 ls_mark;		/* kmem_mark() at the snapshot */
	uintptr_t ls_below;	/* lowest buffer address - 1: this struct is
				   on a scanned stack, so it must hold no
				   buffer's address */
	uintptr_t ls_hi;	/* end of the highest buffer */
} leak_state_t;

/*
 * The snapshot.
 */

static size_t
count_visit(const char *cname __unused, char *buf __unused,
    kmem_buftag_t *bt, size_t usersize __unused, void *arg __unused)
{
	return (bt->bt_state == KMEM_BUFTAG_ALLOC);
}

static size_t
snap_visit(const char *cname __unused, char *buf, kmem_buftag_t *bt,
    size_t usersize, void *arg)
{
	leak_state_t *ls = arg;

	if (bt->bt_state != KMEM_BUFTAG_ALLOC || ls->ls_n == ls->ls_cap)
		return (0);
	leak_buf_t *lb = &ls->ls_bufs[ls->ls_n++];
	lb->lb_base = (uintptr_t)buf;
	lb->lb_end = (uintptr_t)buf + usersize;
	lb->lb_seq = bt->bt_seq;
	return (1);
}

/* Heapsort by lb_base: no recursion, no allocation. */
static void
sift_down(leak_buf_t *a, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && a[c + 1].lb_base > a[c].lb_base)
			c++;
		if (a[i].lb_base >= a[c].lb_base)
			return;
		leak_buf_t t = a[i];
		a[i] = a[c];
		a[c] = t;
		i = c;
	}
}

static void
sort_bufs(leak_buf_t *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0; )
		sift_down(a, i, n);
	for (size_t end = n; end-- > 1; ) {
		leak_buf_t t = a[0];
		a[0] = a[end];
		a[end] = t;
		sift_down(a, 0, end);
	}
}

/* Allocates the arrays and takes the snapshot; false if pmem is short. */
static bool
snapshot(leak_state_t *ls)
{
	/* Room for the buffers allocated between the count and the copy;
	 * any beyond that are left out, like those allocated later. */
	size_t n = kmem_walk(count_visit, NULL);
	size_t cap = n + n / 4 + 64;
	size_t bytes = cap * (sizeof (leak_buf_t) + sizeof (u32) + 1) +
	    LEAK_GROUPS * sizeof (leak_group_t) + 64;

	ls->ls_npages = P2ROUNDUP(bytes, PAGESIZE) / PAGESIZE;
	ls->ls_pa = page_alloc_contig(ls->ls_npages, PAGESIZE, KM_NOSLEEP);
	if (ls->ls_pa == 0)
		return (false);
	char *p = phys_to_virt(ls->ls_pa);
	ls->ls_bufs = (leak_buf_t *)p;
	p += cap * sizeof (leak_buf_t);
	ls->ls_groups = (leak_group_t *)p;
	p += LEAK_GROUPS * sizeof (leak_group_t);
	ls->ls_stack = (u32 *)p;
	p += cap * sizeof (u32);
	ls->ls_marked = (u8 *)p;	/* zeroed: pmem zeroes its pages */
	ls->ls_cap = cap;

	ls->ls_mark = kmem_mark();
	(void) kmem_walk(snap_visit, ls);
	sort_bufs(ls->ls_bufs, ls->ls_n);
	if (ls->ls_n > 0) {
		ls->ls_below = ls->ls_bufs[0].lb_base - 1;
		for (size_t i = 0; i < ls->ls_n; i++)
			ls->ls_hi = MAX(ls->ls_hi, ls->ls_bufs[i].lb_end);
	}
	return (true);
}

/* The buffer of the snapshot that v points into, or -1. */
static long
lookup(const leak_state_t *ls, uintptr_t v)
{
	if (v <= ls->ls_below || v >= ls->ls_hi)
		return (-1);
	size_t lo = 0, hi = ls->ls_n;	/* the answer is below hi */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (ls->ls_bufs[mid].lb_base <= v)
			lo = mid;
		else
			hi = mid;
	}
	const leak_buf_t *lb = &ls->ls_bufs[lo];
	return (v >= lb->lb_base && v < lb->lb_end ? (long)lo : -1);
}

/*
 * Marking. None of it takes a lock or allocates, so it may run under
 * thread_list_lock (stack scans).
 */

/* Mark every buffer that a word of [lo, hi) points into. */
static void
scan_range(leak_state_t *ls, uintptr_t lo, uintptr_t hi)
{
	const kmem_word_t *w = (const kmem_word_t *)P2ROUNDUP(lo, 8);
	const kmem_word_t *end = (const kmem_word_t *)P2ALIGN(hi, 8);

	for (; w < end; w++) {
		long i = lookup(ls, (uintptr_t)READ_ONCE(*w));
		if (i < 0 || ls->ls_marked[i])
			continue;
		ls->ls_marked[i] = 1;
		ls->ls_stack[ls->ls_sp++] = (u32)i;	/* once per buffer */
	}
}

/* Scan the marked buffers, and those they mark, until none is left. */
static void
scan_marked(leak_state_t *ls)
{
	while (ls->ls_sp > 0) {
		const leak_buf_t *lb = &ls->ls_bufs[ls->ls_stack[--ls->ls_sp]];
		scan_range(ls, lb->lb_base, lb->lb_end);
	}
}

static void
scan_thread(kthread_t *t, void *arg)
{
	leak_state_t *ls = arg;
	uintptr_t lo = t->t_stkbase, hi = t->t_stkbase + t->t_stksize;

	if (t == curthread) {
		/* Our own frames, from here up; not the dead ones below. */
		uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
		if (sp >= lo && sp < hi)
			lo = sp;
	}
	scan_range(ls, lo, hi);
}

/*
 * The sweep.
 */

static void
group_add(leak_state_t *ls, const char *cname, const kmem_buftag_t *bt,
    uintptr_t buf)
{
	leak_group_t *lg = NULL;

	ls->ls_leaked++;
	ls->ls_leaked_bytes += bt->bt_size;
	for (size_t i = 0; i < ls->ls_ngroups && lg == NULL; i++) {
		if (ls->ls_groups[i].lg_caller == bt->bt_caller &&
		    strcmp(ls->ls_groups[i].lg_cache, cname) == 0)
			lg = &ls->ls_groups[i];
	}
	if (lg == NULL) {
		if (ls->ls_ngroups == LEAK_GROUPS)
			return;		/* counted in the total only */
		lg = &ls->ls_groups[ls->ls_ngroups++];
		strlcpy(lg->lg_cache, cname, sizeof (lg->lg_cache));
		lg->lg_caller = bt->bt_caller;
		lg->lg_first = buf;
	}
	lg->lg_count++;
	lg->lg_bytes += bt->bt_size;
}

/* Under the cache's lock: the buffer must still be the one we saw. */
static size_t
sweep_visit(const char *cname, char *buf, kmem_buftag_t *bt,
    size_t usersize __unused, void *arg)
{
	leak_state_t *ls = arg;

	if (bt->bt_state != KMEM_BUFTAG_ALLOC || bt->bt_seq > ls->ls_mark)
		return (0);
	long i = lookup(ls, (uintptr_t)buf);
	if (i < 0 || ls->ls_bufs[i].lb_base != (uintptr_t)buf ||
	    ls->ls_bufs[i].lb_seq != bt->bt_seq || ls->ls_marked[i])
		return (0);
	group_add(ls, cname, bt, (uintptr_t)buf);
	return (1);
}

static void
report(leak_state_t *ls, mon_printf_t pr, void *arg)
{
	leak_group_t *g = ls->ls_groups;
	char sym[64];

	/* Most leaked first (insertion sort: a few dozen groups). */
	for (size_t i = 1; i < ls->ls_ngroups; i++) {
		leak_group_t t = g[i];
		size_t j = i;
		for (; j > 0 && g[j - 1].lg_count < t.lg_count; j--)
			g[j] = g[j - 1];
		g[j] = t;
	}
	/* BUFCTL, as in mdb, is where to look next: here the first leaked
	 * buffer itself (its buftag, kmem's bufctl, follows it). */
	pr(arg, "%-20s %6s %18s %s\n", "CACHE", "LEAKED", "BUFCTL", "CALLER");
	for (size_t i = 0; i < ls->ls_ngroups; i++) {
		kmem_sym_format(sym, sizeof (sym), g[i].lg_caller);
		pr(arg, "%-20s %6lu 0x%016lx %s\n", g[i].lg_cache,
		    (unsigned long)g[i].lg_count, (unsigned long)g[i].lg_first,
		    sym);
	}
	size_t shown = 0;
	for (size_t i = 0; i < ls->ls_ngroups; i++)
		shown += g[i].lg_count;
	if (shown < ls->ls_leaked)
		pr(arg, "%-20s %6lu %18s (more callers than %d)\n", "...",
		    (unsigned long)(ls->ls_leaked - shown), "-", LEAK_GROUPS);
	pr(arg, "------------------------------------------------------------"
	    "----------\n");
	pr(arg, "%20s %6lu buffer%s, %lu bytes (of %lu buffers scanned)\n",
	    "Total", (unsigned long)ls->ls_leaked,
	    ls->ls_leaked == 1 ? "" : "s", (unsigned long)ls->ls_leaked_bytes,
	    (unsigned long)ls->ls_n);
}

size_t
kmem_mon_findleaks(mon_printf_t pr, void *arg)
{
	leak_state_t ls;

	memset(&ls, 0, sizeof (ls));
	if (!snapshot(&ls)) {
		pr(arg, "findleaks: not enough memory for the snapshot\n");
		return (0);
	}
	scan_range(&ls, (uintptr_t)__data_start, (uintptr_t)_edata);
	scan_range(&ls, (uintptr_t)__bss_start, (uintptr_t)_end);
	scan_marked(&ls);
	/* Stacks under the thread list lock (a thread's stack is freed
	 * only after it leaves the list); the buffers they mark after it,
	 * with interrupts on again. */
	thread_walk(scan_thread, &ls);
	scan_marked(&ls);

	(void) kmem_walk(sweep_visit, &ls);
	report(&ls, pr, arg);
	page_free_contig(ls.ls_pa, ls.ls_npages);
	return (ls.ls_leaked);
}
