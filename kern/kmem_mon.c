/*
 * kmem seen from outside the allocation paths: the cache table (::kmem)
 * and the consistency check (::kmem_verify), for the monitor and for the
 * tests. Both gather what they need under kmem's spin locks into records
 * of their own, drop the locks and only then print: the caller's output
 * function may block (a pipe into another dcmd, a slow console), and
 * nothing may block with interrupts off and other CPUs spinning on
 * c_lock. findleaks is in kmem_leaks.c.
 */
#include "kmem.h"
#include "kmem_impl.h"
#include "console.h"

/* Corrupt buffers reported in full per call; the rest are only counted
 * (the records live on the caller's stack). */
#define	KMEM_VERIFY_SHOW	16
/* Caches copied per trip through the registry lock. */
#define	KMEM_MON_BATCH		8

/*
 * kmem_verify.
 */

typedef enum verify_kind {
	VK_TAG_MOVED,		/* bt_buf does not name the buffer */
	VK_FREE_MODIFIED,	/* a FREE buffer's poison was written */
	VK_TAG_STATE,		/* bt_state or bt_size is garbage */
	VK_REDZONE		/* an ALLOC buffer's redzone was written */
} verify_kind_t;

typedef struct verify_problem {
	char vp_cache[KMEM_NAMELEN];
	uintptr_t vp_buf;
	verify_kind_t vp_kind;
	size_t vp_off;		/* FREE_MODIFIED, REDZONE: the first bad byte */
	u8 vp_byte;		/* ... and what it holds */
	u64 vp_state;		/* TAG_STATE */
	u64 vp_size;		/* TAG_STATE, REDZONE: bt_size */
	uintptr_t vp_caller;	/* REDZONE: who allocated it */
} verify_problem_t;

typedef struct verify_arg {
	size_t va_n;		/* problems found */
	verify_problem_t va_p[KMEM_VERIFY_SHOW];	/* the first ones */
} verify_arg_t;

static size_t
verify_record(verify_arg_t *va, const char *cname, char *buf,
    verify_kind_t kind, size_t off, const kmem_buftag_t *bt)
{
	if (va->va_n < KMEM_VERIFY_SHOW) {
		verify_problem_t *vp = &va->va_p[va->va_n];
		strlcpy(vp->vp_cache, cname, sizeof (vp->vp_cache));
		vp->vp_buf = (uintptr_t)buf;
		vp->vp_kind = kind;
		vp->vp_off = off;
		vp->vp_byte = off != KMEM_NONE ? (u8)buf[off] : 0;
		vp->vp_state = bt->bt_state;
		vp->vp_size = bt->bt_size;
		vp->vp_caller = bt->bt_caller;
	}
	va->va_n++;
	return (1);
}

/* Under the cache's lock (kmem_walk): no output here, only records. */
static size_t
verify_visit(const char *cname, char *buf, kmem_buftag_t *bt,
    size_t usersize, void *arg)
{
	verify_arg_t *va = arg;
	u64 state = bt->bt_state;
	size_t off;

	if (bt->bt_buf != (uintptr_t)buf)
		return (verify_record(va, cname, buf, VK_TAG_MOVED, KMEM_NONE,
		    bt));
	if (state == KMEM_BUFTAG_BUSY)
		return (0);	/* some thread is filling or emptying it */
	if (state == KMEM_BUFTAG_FREE) {
		off = kmem_pattern_check(buf, usersize + 8, KMEM_FREE_PATTERN);
		if (off == KMEM_NONE)
			return (0);
		return (verify_record(va, cname, buf, VK_FREE_MODIFIED, off,
		    bt));
	}
	if (state != KMEM_BUFTAG_ALLOC || bt->bt_size > usersize)
		return (verify_record(va, cname, buf, VK_TAG_STATE, KMEM_NONE,
		    bt));
	off = kmem_redzone_check(buf, bt->bt_size, usersize);
	if (off == KMEM_NONE)
		return (0);
	return (verify_record(va, cname, buf, VK_REDZONE, off, bt));
}

static void
verify_print(mon_printf_t pr, void *arg, const verify_problem_t *vp)
{
	unsigned long b = (unsigned long)vp->vp_buf;
	char sym[64];

	switch (vp->vp_kind) {
	case VK_TAG_MOVED:
		pr(arg, "kmem_verify: %s buf=0x%lx: buftag smashed\n",
		    vp->vp_cache, b);
		break;
	case VK_FREE_MODIFIED:
		pr(arg, "kmem_verify: %s buf=0x%lx: modified after free at "
		    "offset %lu (found 0x%02x)\n", vp->vp_cache, b,
		    (unsigned long)vp->vp_off, vp->vp_byte);
		break;
	case VK_TAG_STATE:
		pr(arg, "kmem_verify: %s buf=0x%lx: buftag smashed (state "
		    "0x%lx size %lu)\n", vp->vp_cache, b,
		    (unsigned long)vp->vp_state, (unsigned long)vp->vp_size);
		break;
	case VK_REDZONE:
		kmem_sym_format(sym, sizeof (sym), vp->vp_caller);
		pr(arg, "kmem_verify: %s buf=0x%lx: redzone smashed at offset "
		    "%lu (found 0x%02x; size %lu, allocated by %s)\n",
		    vp->vp_cache, b, (unsigned long)vp->vp_off, vp->vp_byte,
		    (unsigned long)vp->vp_size, sym);
		break;
	}
}

size_t
kmem_mon_verify(mon_printf_t pr, void *arg)
{
	verify_arg_t va;

	va.va_n = 0;
	(void) kmem_walk(verify_visit, &va);
	for (size_t i = 0; i < va.va_n && i < KMEM_VERIFY_SHOW; i++)
		verify_print(pr, arg, &va.va_p[i]);
	if (va.va_n > KMEM_VERIFY_SHOW)
		pr(arg, "kmem_verify: ... and %lu more corrupt buffers\n",
		    (unsigned long)(va.va_n - KMEM_VERIFY_SHOW));
	return (va.va_n);
}

/*
 * pr for the kernel's own log: cmn_err adds the "[cpuN] " prefix and the
 * newline, so the text's own newline goes. arg is the cmn_err level's
 * prefix: NULL for a warning, or a string for a note with that prefix.
 */
static void __printflike(2, 3)
cmn_err_pr(void *arg, const char *fmt, ...)
{
	char line[160];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(line, sizeof (line), fmt, ap);
	va_end(ap);
	size_t len = strlen(line);
	if (len > 0 && line[len - 1] == '\n')
		line[len - 1] = '\0';
	if (arg == NULL)
		cmn_err(CE_WARN, "%s", line);
	else
		cmn_err(CE_NOTE, "%s%s", (const char *)arg, line);
}

size_t
kmem_verify(void)
{
	return (kmem_mon_verify(cmn_err_pr, NULL));
}

/*
 * The cache table.
 */

typedef struct cache_line {
	char cl_name[KMEM_NAMELEN];
	size_t cl_bufsize;
	size_t cl_inuse;	/* c_nalloc */
	u64 cl_allocs;		/* c_nallocs */
	size_t cl_slabs;
	size_t cl_memory;	/* slab bytes */
} cache_line_t;

/*
 * Copies the caches from position `skip' in the registry, at most
 * KMEM_MON_BATCH of them; returns how many. The registry may change
 * between two batches (a cache created or destroyed meanwhile), so a
 * table printed while caches come and go can show one twice or miss one;
 * every line is a consistent snapshot of its cache.
 */
static size_t
cache_batch(size_t skip, cache_line_t *cl)
{
	size_t n = 0, pos = 0;

	spin_lock(&kmem_caches_lock);
	for (kmem_cache_t *cp = kmem_caches; cp != NULL && n < KMEM_MON_BATCH;
	    cp = cp->c_next, pos++) {
		if (pos < skip)
			continue;
		cache_line_t *l = &cl[n++];
		strlcpy(l->cl_name, cp->c_name, sizeof (l->cl_name));
		l->cl_bufsize = cp->c_bufsize;
		spin_lock(&cp->c_lock);
		l->cl_inuse = cp->c_nalloc;
		l->cl_allocs = cp->c_nallocs;
		l->cl_slabs = cp->c_nslabs;
		spin_unlock(&cp->c_lock);
		l->cl_memory = l->cl_slabs * cp->c_slabsize;
	}
	spin_unlock(&kmem_caches_lock);
	return (n);
}

#define	CACHE_HDR	"%-20s %8s %8s %10s %6s %10s %10s\n"
#define	CACHE_ROW	"%-20s %8lu %8lu %10lu %6lu %10lu %10lu\n"

void
kmem_mon_caches(mon_printf_t pr, void *arg)
{
	cache_line_t cl[KMEM_MON_BATCH];
	size_t inuse = 0, slabs = 0, bytes = 0, memory = 0;
	u64 allocs = 0;

	pr(arg, CACHE_HDR, "CACHE", "BUFSIZE", "INUSE", "ALLOCS", "SLABS",
	    "BYTES", "MEMORY");
	for (size_t skip = 0; ; ) {
		size_t n = cache_batch(skip, cl);
		for (size_t i = 0; i < n; i++) {
			const cache_line_t *l = &cl[i];
			pr(arg, CACHE_ROW, l->cl_name,
			    (unsigned long)l->cl_bufsize,
			    (unsigned long)l->cl_inuse,
			    (unsigned long)l->cl_allocs,
			    (unsigned long)l->cl_slabs,
			    (unsigned long)(l->cl_inuse * l->cl_bufsize),
			    (unsigned long)l->cl_memory);
			inuse += l->cl_inuse;
			allocs += l->cl_allocs;
			slabs += l->cl_slabs;
			bytes += l->cl_inuse * l->cl_bufsize;
			memory += l->cl_memory;
		}
		if (n < KMEM_MON_BATCH)
			break;
		skip += n;
	}

	/* Oversize buffers: a page run each; BYTES is what was asked for. */
	size_t bigbytes = 0;
	spin_lock(&kmem_big_lock);
	size_t bigcount = kmem_big_count, bigpages = kmem_big_pages;
	u64 bignallocs = kmem_big_nallocs;
	for (kmem_big_t *bg = kmem_big_list; bg != NULL; bg = bg->bg_next)
		bigbytes += buf_tag(bg->bg_buf, bg->bg_usersize)->bt_size;
	spin_unlock(&kmem_big_lock);
	pr(arg, "%-20s %8s %8lu %10lu %6s %10lu %10lu (%lu pages)\n",
	    "kmem_oversize", "-", (unsigned long)bigcount,
	    (unsigned long)bignallocs, "-", (unsigned long)bigbytes,
	    (unsigned long)(bigpages * PAGESIZE), (unsigned long)bigpages);
	pr(arg, "%-20s %8s %8lu %10lu %6lu %10lu %10lu\n", "total", "-",
	    (unsigned long)(inuse + bigcount),
	    (unsigned long)(allocs + bignallocs), (unsigned long)slabs,
	    (unsigned long)(bytes + bigbytes),
	    (unsigned long)(memory + bigpages * PAGESIZE));
}

void
kmem_stats(void)
{
	kmem_mon_caches(cmn_err_pr, (void *)"kmem: ");
}
