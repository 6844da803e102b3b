/*
 * The kernel memory allocator, in the illumos shape, with debugging always
 * on (the equivalent of illumos' KMF_AUDIT | KMF_DEADBEEF | KMF_REDZONE).
 *
 * A cache hands out fixed-size buffers carved from slabs: runs of
 * physically contiguous pages from page_alloc_contig(), used through the
 * direct map. A slab is aligned to its own (power of two) size, so the slab
 * header of any buffer is found by rounding the buffer's address down.
 *
 * Every buffer ("chunk") in a slab looks like this:
 *
 *	+--------------------------+----------------------------------+
 *	| user area (c_usersize =  | buftag: bt_redzone, bt_state,    |
 *	| object size rounded to 8)| bt_buf, bt_size, bt_caller, ...  |
 *	+--------------------------+----------------------------------+
 *	      ^ requested size     ^ the redzone runs from the requested
 *	                             size to the end of bt_redzone, so it
 *	                             is always at least 8 bytes long.
 *
 * Buffer states (bt_state):
 *	FREE	on its slab's free list, user area and bt_redzone filled with
 *		KMEM_FREE_PATTERN (checked when the buffer is handed out again)
 *	BUSY	in transit: being allocated or freed by one thread. Only that
 *		thread touches it; kmem_verify and the leak walkers skip it.
 *	ALLOC	owned by a caller; bt_size/bt_caller/bt_seq describe the
 *		allocation and the redzone is intact (checked at free).
 * ALLOC -> BUSY is a compare-and-swap, so a double free is caught even when
 * two threads race. The transitions that the walkers must see atomically
 * (BUSY -> FREE with the poison fill) happen under the cache lock.
 *
 * The constructor runs on every allocation and the destructor on every
 * free, as illumos does in debugging mode: a buffer never stays
 * constructed while it sits on a free list, so the poison check can cover
 * all of it.
 *
 * kmem_alloc() uses a set of size-class caches (kmem_alloc_16 ...
 * kmem_alloc_8192). Larger requests are "oversize": a page run of their
 * own, with the same buftag and redzone after the user area and a
 * kmem_big_t record after that, kept on a list under kmem_big_lock.
 *
 * Slabs are given back to pmem as soon as their last buffer is freed. That
 * costs some churn, but a test that frees everything it allocated also
 * gives back every page it caused to be allocated.
 *
 * Lock order: kmem_caches_lock, then a cache's c_lock, then (inside
 * kprintf) the console lock. kmem_big_lock is never held with a c_lock.
 */
#include "kmem.h"
#include "kmem_impl.h"
#include "pmem.h"
#include "sync.h"
#include "panic.h"
#include "console.h"
#include "thread.h"
#include "x86.h"


/* The registry: every cache, so the walkers see them all. */
spinlock_t kmem_caches_lock = SPINLOCK_INIT("kmem_caches");
kmem_cache_t *kmem_caches;		/* kmem_caches_lock */

/* Oversize buffers. */
spinlock_t kmem_big_lock = SPINLOCK_INIT("kmem_big");
kmem_big_t *kmem_big_list;		/* kmem_big_lock */
size_t kmem_big_count;			/* kmem_big_lock */
size_t kmem_big_pages;			/* kmem_big_lock */
u64 kmem_big_nallocs;			/* kmem_big_lock */

/*
 * Page runs (slabs and oversize buffers) recently given back to pmem.
 * pmem poisons freed pages, tags and all, so without this a double free of
 * the last buffer of a slab could only be called a "bad address".
 */
typedef struct kmem_recent {
	uintptr_t kr_base;	/* 0: unused slot */
	uintptr_t kr_end;
	size_t kr_first;	/* buffer geometry, for the offset check */
	size_t kr_chunk;
	char kr_name[KMEM_NAMELEN];	/* the cache may be gone by now */
} kmem_recent_t;
static spinlock_t kmem_recent_lock = SPINLOCK_INIT("kmem_recent");
static kmem_recent_t kmem_recent[KMEM_RECENT];	/* kmem_recent_lock */
static size_t kmem_recent_next;			/* kmem_recent_lock */

static u64 kmem_seq;				/* atomic */

static const size_t kmem_alloc_sizes[] = {
	16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024,
	1536, 2048, 3072, 4096, 6144, 8192
};
#define	KMEM_NCLASSES	ARRAY_SIZE(kmem_alloc_sizes)
#define	KMEM_MAXCLASS	8192
static kmem_cache_t kmem_alloc_caches[KMEM_NCLASSES];

/*
 * Small helpers: patterns, redzones, symbols.
 */

static void
pattern_fill(char *buf, size_t len, u64 pattern)
{
	kmem_word_t *w = (kmem_word_t *)buf;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = pattern;
}

/* Offset of the first byte of buf[0, len) that differs, or KMEM_NONE. */
size_t
kmem_pattern_check(const char *buf, size_t len, u64 pattern)
{
	const kmem_word_t *w = (const kmem_word_t *)buf;

	for (size_t i = 0; i < len / 8; i++) {
		if (w[i] == pattern)
			continue;
		u64 diff = w[i] ^ pattern;
		return (i * 8 + (size_t)__builtin_ctzll(diff) / 8);
	}
	return (KMEM_NONE);
}

/* The redzone byte at offset off: the pattern is laid out by offset, so
 * it looks the same wherever the requested size ends. */
static inline u8
rz_byte(size_t off)
{
	return ((u8)(KMEM_REDZONE_PATTERN >> ((off & 7) * 8)));
}

static void
redzone_set(char *buf, size_t size, size_t usersize)
{
	for (size_t i = size; i < usersize + 8; i++)
		buf[i] = (char)rz_byte(i);
}

size_t
kmem_redzone_check(const char *buf, size_t size, size_t usersize)
{
	for (size_t i = size; i < usersize + 8; i++) {
		if ((u8)buf[i] != rz_byte(i))
			return (i);
	}
	return (KMEM_NONE);
}

void
kmem_sym_format(char *out, size_t len, uintptr_t pc)
{
	uintptr_t off;
	const char *name = ksym_lookup(pc, &off);

	if (name != NULL)
		ksnprintf(out, len, "%s+0x%lx", name, (unsigned long)off);
	else
		ksnprintf(out, len, "0x%lx", (unsigned long)pc);
}

/*
 * Sleeping.
 */

static void
kmem_check_sleep(int kmflags, const char *who)
{
	/* Before the scheduler runs, nothing can sleep and nothing needs to. */
	if ((kmflags & KM_NOSLEEP) != 0 || !READ_ONCE(sched_running))
		return;
	VERIFY(!kpreempt_disabled() && intr_enabled(),
	    "%s: KM_SLEEP allocation with preemption disabled", who);
}

/*
 * A KM_SLEEP allocation found no pages. pmem has no "pages were freed"
 * notification, so poll: sleep a tick and let the caller retry.
 */
static void
kmem_wait_for_memory(int *ticks, const char *what, size_t npages)
{
	if (!READ_ONCE(sched_running) || ++*ticks > KMEM_SLEEP_TICKS)
		panic("kmem_alloc: out of memory (%s: %lu pages, waited %d "
		    "ticks)", what, (unsigned long)npages, *ticks - 1);
	delay(1);
}

/*
 * The registry.
 */

static void
registry_insert(kmem_cache_t *cp)
{
	spin_lock(&kmem_caches_lock);
	cp->c_prev = NULL;
	cp->c_next = kmem_caches;
	if (kmem_caches != NULL)
		kmem_caches->c_prev = cp;
	kmem_caches = cp;
	spin_unlock(&kmem_caches_lock);
}

static void
registry_remove(kmem_cache_t *cp)
{
	spin_lock(&kmem_caches_lock);
	if (cp->c_prev != NULL)
		cp->c_prev->c_next = cp->c_next;
	else
		kmem_caches = cp->c_next;
	if (cp->c_next != NULL)
		cp->c_next->c_prev = cp->c_prev;
	spin_unlock(&kmem_caches_lock);
}

/*
 * Recently released page runs.
 */

static void
recent_remember(uintptr_t base, size_t len, size_t first, size_t chunk,
    const char *name)
{
	spin_lock(&kmem_recent_lock);
	kmem_recent_t *kr = &kmem_recent[kmem_recent_next];
	kmem_recent_next = (kmem_recent_next + 1) % KMEM_RECENT;
	kr->kr_base = base;
	kr->kr_end = base + len;
	kr->kr_first = first;
	kr->kr_chunk = chunk;
	strlcpy(kr->kr_name, name, sizeof (kr->kr_name));
	spin_unlock(&kmem_recent_lock);
}

/* kmem owns [base, base + len) again: forget what we knew about it. */
static void
recent_forget(uintptr_t base, size_t len)
{
	spin_lock(&kmem_recent_lock);
	for (size_t i = 0; i < KMEM_RECENT; i++) {
		kmem_recent_t *kr = &kmem_recent[i];
		if (kr->kr_base < base + len && base < kr->kr_end)
			kr->kr_base = kr->kr_end = 0;
	}
	spin_unlock(&kmem_recent_lock);
}

/* Was buf a buffer of a run released lately? Sets name (KMEM_NAMELEN). */
static bool
recent_lookup(const void *buf, char *name)
{
	uintptr_t b = (uintptr_t)buf;
	bool found = false;

	spin_lock(&kmem_recent_lock);
	for (size_t i = 0; i < KMEM_RECENT && !found; i++) {
		kmem_recent_t *kr = &kmem_recent[i];
		if (b < kr->kr_base + kr->kr_first || b >= kr->kr_end ||
		    (b - kr->kr_base - kr->kr_first) % kr->kr_chunk != 0)
			continue;
		strlcpy(name, kr->kr_name, KMEM_NAMELEN);
		found = true;
	}
	spin_unlock(&kmem_recent_lock);
	return (found);
}

/*
 * Slabs. The list functions need c_lock.
 */

static void
slab_unlink(kmem_cache_t *cp, kmem_slab_t *sp)
{
	if (sp->sl_prev != NULL)
		sp->sl_prev->sl_next = sp->sl_next;
	else
		cp->c_head = sp->sl_next;
	if (sp->sl_next != NULL)
		sp->sl_next->sl_prev = sp->sl_prev;
	else
		cp->c_tail = sp->sl_prev;
	sp->sl_next = sp->sl_prev = NULL;
}

static void
slab_insert_head(kmem_cache_t *cp, kmem_slab_t *sp)
{
	sp->sl_prev = NULL;
	sp->sl_next = cp->c_head;
	if (cp->c_head != NULL)
		cp->c_head->sl_prev = sp;
	else
		cp->c_tail = sp;
	cp->c_head = sp;
}

static void
slab_insert_tail(kmem_cache_t *cp, kmem_slab_t *sp)
{
	sp->sl_next = NULL;
	sp->sl_prev = cp->c_tail;
	if (cp->c_tail != NULL)
		cp->c_tail->sl_next = sp;
	else
		cp->c_head = sp;
	cp->c_tail = sp;
}

static inline char *
slab_buf(const kmem_cache_t *cp, kmem_slab_t *sp, size_t i)
{
	return ((char *)sp + cp->c_first + i * cp->c_chunksize);
}

/*
 * A new slab, all buffers FREE and poisoned; NULL if pmem has no pages
 * (never waits). Called without c_lock: filling 64 KiB of poison is not
 * something to do with interrupts off and other CPUs spinning.
 */
static kmem_slab_t *
slab_create(kmem_cache_t *cp)
{
	paddr_t pa = page_alloc_contig(cp->c_slabsize / PAGESIZE,
	    cp->c_slabsize, KM_NOSLEEP);

	if (pa == 0)
		return (NULL);
	kmem_slab_t *sp = phys_to_virt(pa);
	sp->sl_cache = cp;
	sp->sl_next = sp->sl_prev = NULL;
	sp->sl_nalloc = 0;
	sp->sl_nbufs = cp->c_nbufs;
	sp->sl_pa = pa;
	sp->sl_free = NULL;
	/* Build the free list backwards so buffers go out in address order. */
	for (size_t i = cp->c_nbufs; i-- > 0; ) {
		char *buf = slab_buf(cp, sp, i);
		kmem_buftag_t *bt = buf_tag(buf, cp->c_usersize);
		pattern_fill(buf, cp->c_usersize + 8, KMEM_FREE_PATTERN);
		bt->bt_state = KMEM_BUFTAG_FREE;
		bt->bt_buf = (uintptr_t)buf;
		bt->bt_size = 0;
		bt->bt_caller = 0;
		bt->bt_seq = 0;
		bt->bt_next = sp->sl_free;
		sp->sl_free = buf;
	}
	sp->sl_magic = KMEM_SLAB_MAGIC ^ (uintptr_t)sp;
	recent_forget((uintptr_t)sp, cp->c_slabsize);
	return (sp);
}

/* Give an empty slab (already off the cache's list) back to pmem. */
static void
slab_release(kmem_cache_t *cp, kmem_slab_t *sp)
{
	paddr_t pa = sp->sl_pa;

	sp->sl_magic = 0;
	recent_remember((uintptr_t)sp, cp->c_slabsize, cp->c_first,
	    cp->c_chunksize, cp->c_name);
	page_free_contig(pa, cp->c_slabsize / PAGESIZE);
}

/*
 * The slab of cp that buf is a buffer of (exactly: the start of a chunk),
 * or NULL. Reads only memory that is RAM, so any pointer may be passed.
 */
static kmem_slab_t *
slab_lookup(kmem_cache_t *cp, const void *buf)
{
	uintptr_t b = (uintptr_t)buf;

	if (b < KPM_BASE || b - KPM_BASE >= pmem_max_addr() || (b & 7) != 0)
		return (NULL);
	uintptr_t s = P2ALIGN(b, cp->c_slabsize);
	if (!pmem_is_ram(virt_to_phys((void *)s), sizeof (kmem_slab_t)))
		return (NULL);
	kmem_slab_t *sp = (kmem_slab_t *)s;
	u64 magic = sp->sl_magic ^ s;
	if (magic != KMEM_SLAB_MAGIC || sp->sl_cache != cp ||
	    b < s + cp->c_first)
		return (NULL);
	size_t off = b - s - cp->c_first;
	if (off % cp->c_chunksize != 0 || off / cp->c_chunksize >= cp->c_nbufs)
		return (NULL);
	return (sp);
}

/*
 * Take a free buffer from the first slab, marking it BUSY; NULL if no slab
 * has one. c_lock held.
 */
static char *
cache_take_locked(kmem_cache_t *cp)
{
	kmem_slab_t *sp = cp->c_head;

	if (sp == NULL || sp->sl_free == NULL)
		return (NULL);
	char *buf = sp->sl_free;
	kmem_buftag_t *bt = buf_tag(buf, cp->c_usersize);
	VERIFY(bt->bt_state == KMEM_BUFTAG_FREE &&
	    bt->bt_buf == (uintptr_t)buf,
	    "kmem_cache_alloc: %s: free list corrupt at buf=0x%lx "
	    "(buftag smashed: modified after free?)", cp->c_name,
	    (unsigned long)(uintptr_t)buf);
	sp->sl_free = bt->bt_next;
	sp->sl_nalloc++;
	if (sp->sl_free == NULL) {
		/* Full slabs go last, so the head always has a free buffer
		 * if any slab does. */
		slab_unlink(cp, sp);
		slab_insert_tail(cp, sp);
	}
	atomic_store(&bt->bt_state, KMEM_BUFTAG_BUSY);
	cp->c_nalloc++;
	cp->c_nallocs++;
	return (buf);
}

/*
 * Put a BUSY buffer back: poison it and mark it FREE under c_lock, so
 * kmem_verify (which holds c_lock) never sees it half way. Gives the slab
 * back to pmem if it became empty.
 */
static void
cache_release(kmem_cache_t *cp, char *buf)
{
	kmem_slab_t *sp = (kmem_slab_t *)P2ALIGN((uintptr_t)buf,
	    cp->c_slabsize);
	kmem_buftag_t *bt = buf_tag(buf, cp->c_usersize);
	bool empty = false;

	spin_lock(&cp->c_lock);
	pattern_fill(buf, cp->c_usersize + 8, KMEM_FREE_PATTERN);
	atomic_store(&bt->bt_state, KMEM_BUFTAG_FREE);
	bool wasfull = sp->sl_free == NULL;
	bt->bt_next = sp->sl_free;
	sp->sl_free = buf;
	sp->sl_nalloc--;
	cp->c_nalloc--;
	if (sp->sl_nalloc == 0) {
		slab_unlink(cp, sp);
		cp->c_nslabs--;
		empty = true;
	} else if (wasfull) {
		slab_unlink(cp, sp);
		slab_insert_head(cp, sp);
	}
	spin_unlock(&cp->c_lock);
	if (empty)
		slab_release(cp, sp);
}

/* A BUSY buffer from cp, growing the cache if needed; NULL only for
 * KM_NOSLEEP. */
static char *
cache_get(kmem_cache_t *cp, int kmflags)
{
	for (int ticks = 0; ; ) {
		spin_lock(&cp->c_lock);
		char *buf = cache_take_locked(cp);
		spin_unlock(&cp->c_lock);
		if (buf != NULL)
			return (buf);

		kmem_slab_t *sp = slab_create(cp);
		if (sp != NULL) {
			spin_lock(&cp->c_lock);
			slab_insert_head(cp, sp);
			cp->c_nslabs++;
			buf = cache_take_locked(cp);
			spin_unlock(&cp->c_lock);
			return (buf);
		}
		if ((kmflags & KM_NOSLEEP) != 0)
			return (NULL);
		/* Someone may free a buffer of this cache meanwhile, so look
		 * at the free lists again before asking pmem. */
		kmem_wait_for_memory(&ticks, cp->c_name,
		    cp->c_slabsize / PAGESIZE);
	}
}

/* Fill a buffer being handed out and record who gets it. */
static void
buf_prepare(char *buf, kmem_buftag_t *bt, size_t size, size_t usersize,
    bool zero, uintptr_t caller)
{
	if (zero)
		memset(buf, 0, usersize);
	else
		pattern_fill(buf, usersize, KMEM_UNINIT_PATTERN);
	redzone_set(buf, size, usersize);
	bt->bt_size = size;
	bt->bt_caller = caller;
	bt->bt_seq = atomic_inc_64(&kmem_seq);
}

static void *
cache_alloc(kmem_cache_t *cp, int kmflags, size_t size, bool zero,
    uintptr_t caller)
{
	char *buf = cache_get(cp, kmflags);

	if (buf == NULL)
		return (NULL);
	kmem_buftag_t *bt = buf_tag(buf, cp->c_usersize);
	size_t off = kmem_pattern_check(buf, cp->c_usersize + 8, KMEM_FREE_PATTERN);
	if (off != KMEM_NONE) {
		char who[64];
		kmem_sym_format(who, sizeof (who), bt->bt_caller);
		panic("kmem: %s buf=0x%lx modified after free at offset %lu "
		    "(found 0x%02x; last allocated by %s)", cp->c_name,
		    (unsigned long)(uintptr_t)buf, (unsigned long)off,
		    (u8)buf[off], who);
	}
	buf_prepare(buf, bt, size, cp->c_usersize, zero, caller);
	if (cp->c_constructor != NULL &&
	    cp->c_constructor(buf, cp->c_priv, kmflags) != 0) {
		/* Not constructed, so no destructor on the way back. */
		cache_release(cp, buf);
		VERIFY((kmflags & KM_NOSLEEP) != 0, "kmem_cache_alloc: %s: "
		    "constructor failed for a KM_SLEEP allocation", cp->c_name);
		return (NULL);
	}
	/* Published last: the walkers trust an ALLOC buffer's redzone. */
	atomic_store(&bt->bt_state, KMEM_BUFTAG_ALLOC);
	return (buf);
}

/*
 * Oversize buffers.
 */

static void *
big_alloc(size_t size, int kmflags, bool zero, uintptr_t caller)
{
	/* More than all of RAM can never succeed (and must not overflow). */
	if (size > pmem_pages_total() * PAGESIZE) {
		VERIFY((kmflags & KM_NOSLEEP) != 0, "kmem_alloc: out of memory "
		    "(%lu bytes is more than all of RAM)", (unsigned long)size);
		return (NULL);
	}
	size_t usersize = P2ROUNDUP(size, 8);
	size_t npages = P2ROUNDUP(usersize + sizeof (kmem_buftag_t) +
	    sizeof (kmem_big_t), PAGESIZE) / PAGESIZE;
	paddr_t pa;
	for (int ticks = 0; (pa = page_alloc_contig(npages, PAGESIZE,
	    KM_NOSLEEP)) == 0; ) {
		if ((kmflags & KM_NOSLEEP) != 0)
			return (NULL);
		kmem_wait_for_memory(&ticks, "kmem_oversize", npages);
	}

	char *buf = phys_to_virt(pa);
	kmem_buftag_t *bt = buf_tag(buf, usersize);
	kmem_big_t *bg = (kmem_big_t *)(bt + 1);
	bt->bt_buf = (uintptr_t)buf;
	bt->bt_next = NULL;
	buf_prepare(buf, bt, size, usersize, zero, caller);
	bt->bt_state = KMEM_BUFTAG_ALLOC;
	bg->bg_magic = KMEM_BIG_MAGIC ^ (uintptr_t)buf;
	bg->bg_buf = buf;
	bg->bg_usersize = usersize;
	bg->bg_pa = pa;
	bg->bg_npages = npages;

	spin_lock(&kmem_big_lock);
	bg->bg_prev = NULL;
	bg->bg_next = kmem_big_list;
	if (kmem_big_list != NULL)
		kmem_big_list->bg_prev = bg;
	kmem_big_list = bg;
	kmem_big_count++;
	kmem_big_pages += npages;
	kmem_big_nallocs++;
	spin_unlock(&kmem_big_lock);
	recent_forget((uintptr_t)buf, npages * PAGESIZE);
	return (buf);
}

/* Find buf on the oversize list; with unlink, also take it off. */
static kmem_big_t *
big_find(const void *buf, bool unlink)
{
	kmem_big_t *bg;

	spin_lock(&kmem_big_lock);
	for (bg = kmem_big_list; bg != NULL; bg = bg->bg_next) {
		if (bg->bg_buf == buf)
			break;
	}
	if (bg != NULL && unlink) {
		if (bg->bg_prev != NULL)
			bg->bg_prev->bg_next = bg->bg_next;
		else
			kmem_big_list = bg->bg_next;
		if (bg->bg_next != NULL)
			bg->bg_next->bg_prev = bg->bg_prev;
		kmem_big_count--;
		kmem_big_pages -= bg->bg_npages;
	}
	spin_unlock(&kmem_big_lock);
	return (bg);
}

/*
 * Misuse reports. All of these panic.
 */

static __noreturn void
buftag_panic(const char *who, const char *cname, const char *buf, u64 state,
    uintptr_t caller)
{
	char sym[64];

	kmem_sym_format(sym, sizeof (sym), caller);
	if (state == KMEM_BUFTAG_FREE)
		panic("%s: double free: buf=0x%lx cache=%s (last allocated by "
		    "%s)", who, (unsigned long)(uintptr_t)buf, cname, sym);
	if (state == KMEM_BUFTAG_BUSY)
		panic("%s: double free: buf=0x%lx cache=%s is being freed or "
		    "allocated right now", who, (unsigned long)(uintptr_t)buf,
		    cname);
	panic("%s: bad address: buf=0x%lx cache=%s (buftag state 0x%lx: "
	    "buftag smashed?)", who, (unsigned long)(uintptr_t)buf, cname,
	    (unsigned long)state);
}

/*
 * buf was not a buffer where the caller said (the cache of `expect', or
 * the oversize list if expect is NULL). Find out what it is, to name the
 * misuse precisely. size is the size kmem_free was given (or the cache's
 * object size for kmem_cache_free).
 */
static __noreturn void
free_diagnose(const char *who, kmem_cache_t *expect, const char *buf,
    size_t size)
{
	char cname[KMEM_NAMELEN] = "";
	bool sizeclass = false;
	u64 state = 0, bsize = 0;
	uintptr_t caller = 0;

	spin_lock(&kmem_caches_lock);
	for (kmem_cache_t *cp = kmem_caches; cp != NULL; cp = cp->c_next) {
		if (slab_lookup(cp, buf) == NULL)
			continue;
		kmem_buftag_t *bt = buf_tag((char *)buf, cp->c_usersize);
		strlcpy(cname, cp->c_name, sizeof (cname));
		sizeclass = cp->c_sizeclass;
		state = bt->bt_state;
		bsize = bt->bt_size;
		caller = bt->bt_caller;
		break;
	}
	spin_unlock(&kmem_caches_lock);

	const char *want = expect != NULL ? expect->c_name : "kmem_oversize";
	unsigned long b = (unsigned long)(uintptr_t)buf;
	if (cname[0] != '\0') {
		if (state != KMEM_BUFTAG_ALLOC)
			buftag_panic(who, cname, buf, state, caller);
		if (sizeclass && (expect == NULL || expect->c_sizeclass))
			panic("%s: size mismatch: buf=0x%lx (%s) was allocated "
			    "with size %lu, freed with size %lu", who, b, cname,
			    (unsigned long)bsize, (unsigned long)size);
		panic("%s: bad address: buf=0x%lx belongs to cache %s, not %s",
		    who, b, cname, want);
	}
	kmem_big_t *bg = big_find(buf, false);
	if (bg != NULL) {
		kmem_buftag_t *bt = buf_tag(bg->bg_buf, bg->bg_usersize);
		if (expect == NULL || expect->c_sizeclass)
			panic("%s: size mismatch: buf=0x%lx (kmem_oversize) was "
			    "allocated with size %lu, freed with size %lu", who,
			    b, (unsigned long)bt->bt_size, (unsigned long)size);
		panic("%s: bad address: buf=0x%lx is a kmem_alloc buffer, not "
		    "from cache %s", who, b, want);
	}
	if (recent_lookup(buf, cname))
		panic("%s: double free: buf=0x%lx cache=%s (its pages were "
		    "already given back)", who, b, cname);
	panic("%s: bad address: buf=0x%lx is not a kmem buffer (expected %s)",
	    who, b, want);
}

/* Checks shared by both kinds of buffer, on a buftag the caller now owns. */
static void
free_check(const char *who, const char *cname, char *buf, kmem_buftag_t *bt,
    size_t size, size_t usersize)
{
	char sym[64];

	if (bt->bt_size != size) {
		kmem_sym_format(sym, sizeof (sym), bt->bt_caller);
		panic("%s: size mismatch: buf=0x%lx (%s) was allocated with "
		    "size %lu, freed with size %lu (allocated by %s)", who,
		    (unsigned long)(uintptr_t)buf, cname,
		    (unsigned long)bt->bt_size, (unsigned long)size, sym);
	}
	size_t off = kmem_redzone_check(buf, size, usersize);
	if (off != KMEM_NONE) {
		kmem_sym_format(sym, sizeof (sym), bt->bt_caller);
		panic("%s: redzone violation: buf=0x%lx (%s) size=%lu: byte at "
		    "offset %lu is 0x%02x (allocated by %s)", who,
		    (unsigned long)(uintptr_t)buf, cname, (unsigned long)size,
		    (unsigned long)off, (u8)buf[off], sym);
	}
}

static void
cache_free(kmem_cache_t *cp, char *buf, size_t size, const char *who)
{
	if (slab_lookup(cp, buf) == NULL)
		free_diagnose(who, cp, buf, size);
	kmem_buftag_t *bt = buf_tag(buf, cp->c_usersize);
	if (bt->bt_buf != (uintptr_t)buf)
		buftag_panic(who, cp->c_name, buf, 0, 0);
	/* Claim it: of two racing frees, exactly one gets here. */
	u64 old = atomic_cas(&bt->bt_state, KMEM_BUFTAG_ALLOC, KMEM_BUFTAG_BUSY);
	if (old != KMEM_BUFTAG_ALLOC)
		buftag_panic(who, cp->c_name, buf, old, bt->bt_caller);
	free_check(who, cp->c_name, buf, bt, size, cp->c_usersize);
	if (cp->c_destructor != NULL)
		cp->c_destructor(buf, cp->c_priv);
	cache_release(cp, buf);
}

static void
big_free(char *buf, size_t size)
{
	kmem_big_t *bg = big_find(buf, true);

	if (bg == NULL)
		free_diagnose("kmem_free", NULL, buf, size);
	kmem_buftag_t *bt = buf_tag(buf, bg->bg_usersize);
	if (bt->bt_state != KMEM_BUFTAG_ALLOC || bt->bt_buf != (uintptr_t)buf)
		buftag_panic("kmem_free", "kmem_oversize", buf, 0, 0);
	free_check("kmem_free", "kmem_oversize", buf, bt, size,
	    bg->bg_usersize);
	recent_remember((uintptr_t)buf, bg->bg_npages * PAGESIZE, 0,
	    bg->bg_npages * PAGESIZE, "kmem_oversize");
	page_free_contig(bg->bg_pa, bg->bg_npages);
}

/*
 * Caches.
 */

static void
cache_setup(kmem_cache_t *cp, const char *name, size_t size, size_t align,
    int (*constructor)(void *, void *, int), void (*destructor)(void *, void *),
    void *priv)
{
	strlcpy(cp->c_name, name, sizeof (cp->c_name));
	cp->c_bufsize = size;
	cp->c_usersize = P2ROUNDUP(size, 8);
	cp->c_align = align;
	cp->c_chunksize = P2ROUNDUP(cp->c_usersize + sizeof (kmem_buftag_t),
	    align);
	cp->c_first = P2ROUNDUP(sizeof (kmem_slab_t), align);

	/* A power of two (slabs are aligned to their size), holding at
	 * least one buffer and, within reason, KMEM_SLAB_MINBUFS. */
	size_t slab = PAGESIZE;
	while (slab < cp->c_first + cp->c_chunksize)
		slab *= 2;
	while ((slab - cp->c_first) / cp->c_chunksize < KMEM_SLAB_MINBUFS &&
	    slab < KMEM_SLAB_MAXSIZE)
		slab *= 2;
	cp->c_slabsize = slab;
	cp->c_nbufs = (u32)((slab - cp->c_first) / cp->c_chunksize);

	cp->c_constructor = constructor;
	cp->c_destructor = destructor;
	cp->c_priv = priv;
	spin_init(&cp->c_lock, cp->c_name);
	cp->c_head = cp->c_tail = NULL;
	cp->c_nslabs = cp->c_nalloc = 0;
	cp->c_nallocs = 0;
	cp->c_magic = KMEM_CACHE_MAGIC;
}

void
kmem_init(void)
{
	for (size_t i = 0; i < KMEM_NCLASSES; i++) {
		kmem_cache_t *cp = &kmem_alloc_caches[i];
		char name[KMEM_NAMELEN];

		ksnprintf(name, sizeof (name), "kmem_alloc_%lu",
		    (unsigned long)kmem_alloc_sizes[i]);
		cache_setup(cp, name, kmem_alloc_sizes[i], KMEM_ALLOC_ALIGN,
		    NULL, NULL, NULL);
		cp->c_sizeclass = true;
		registry_insert(cp);
	}
}

/* The size class for size, or NULL for oversize (and size 0). */
static kmem_cache_t *
size_to_cache(size_t size)
{
	if (size == 0 || size > KMEM_MAXCLASS)
		return (NULL);
	for (size_t i = 0; i < KMEM_NCLASSES; i++) {
		if (size <= kmem_alloc_sizes[i])
			return (&kmem_alloc_caches[i]);
	}
	return (NULL);
}

static void *
kmem_alloc_common(size_t size, int kmflags, bool zero, uintptr_t caller)
{
	void *buf;

	if (size == 0)
		return (NULL);	/* as in illumos */
	kmem_check_sleep(kmflags, "kmem_alloc");
	kmem_cache_t *cp = size_to_cache(size);
	if (cp != NULL) {
		VERIFY(cp->c_magic == KMEM_CACHE_MAGIC,
		    "kmem_alloc: called before kmem_init");
		buf = cache_alloc(cp, kmflags, size, zero, caller);
	} else {
		buf = big_alloc(size, kmflags, zero, caller);
	}
	VERIFY(buf != NULL || (kmflags & KM_PANIC) == 0,
	    "kmem_alloc: out of memory (%lu bytes, KM_PANIC)",
	    (unsigned long)size);
	return (buf);
}

/* noinline: __builtin_return_address(0) must be the real caller. */
__attribute__((noinline)) void *
kmem_alloc(size_t size, int kmflags)
{
	return (kmem_alloc_common(size, kmflags, false,
	    (uintptr_t)__builtin_return_address(0)));
}

__attribute__((noinline)) void *
kmem_zalloc(size_t size, int kmflags)
{
	return (kmem_alloc_common(size, kmflags, true,
	    (uintptr_t)__builtin_return_address(0)));
}

__attribute__((noinline)) void
kmem_free(void *buf, size_t size)
{
	if (buf == NULL && size == 0)
		return;		/* what kmem_alloc(0) returned */
	kmem_cache_t *cp = size_to_cache(size);
	if (cp != NULL)
		cache_free(cp, buf, size, "kmem_free");
	else
		big_free(buf, size);
}

__attribute__((noinline)) kmem_cache_t *
kmem_cache_create(const char *name, size_t size, size_t align,
    int (*constructor)(void *buf, void *priv, int kmflags),
    void (*destructor)(void *buf, void *priv), void *priv,
    int cflags __unused)	/* no cache flags: debugging is always on */
{
	if (align == 0)
		align = KMEM_ALIGN;
	VERIFY(size > 0 && size <= KMEM_CACHE_MAXOBJ,
	    "kmem_cache_create: %s: bad size %lu", name, (unsigned long)size);
	VERIFY(IS_P2ALIGNED(align, align) && align <= KMEM_SLAB_MAXSIZE,
	    "kmem_cache_create: %s: bad alignment %lu", name,
	    (unsigned long)align);
	align = MAX(align, KMEM_ALIGN);

	/* Charged to our caller, so a leaked cache names its creator. */
	kmem_cache_t *cp = kmem_alloc_common(sizeof (*cp), KM_SLEEP, true,
	    (uintptr_t)__builtin_return_address(0));
	cache_setup(cp, name, size, align, constructor, destructor, priv);
	registry_insert(cp);
	return (cp);
}

void
kmem_cache_destroy(kmem_cache_t *cp)
{
	VERIFY(cp != NULL && cp->c_magic == KMEM_CACHE_MAGIC,
	    "kmem_cache_destroy: bad cache 0x%lx", (unsigned long)(uintptr_t)cp);
	VERIFY(!cp->c_sizeclass, "kmem_cache_destroy: %s belongs to kmem_alloc",
	    cp->c_name);

	spin_lock(&cp->c_lock);
	size_t n = cp->c_nalloc;
	spin_unlock(&cp->c_lock);
	VERIFY(n == 0, "kmem_cache_destroy: cache not empty (%s: %lu buffers "
	    "outstanding)", cp->c_name, (unsigned long)n);

	registry_remove(cp);
	/* Empty slabs are given back as they empty, so this finds none;
	 * it is here so the invariant is not load-bearing. */
	spin_lock(&cp->c_lock);
	kmem_slab_t *sp;
	while ((sp = cp->c_head) != NULL) {
		slab_unlink(cp, sp);
		spin_unlock(&cp->c_lock);
		slab_release(cp, sp);
		spin_lock(&cp->c_lock);
	}
	spin_unlock(&cp->c_lock);
	cp->c_magic = 0;
	kmem_free(cp, sizeof (*cp));
}

__attribute__((noinline)) void *
kmem_cache_alloc(kmem_cache_t *cp, int kmflags)
{
	VERIFY(cp != NULL && cp->c_magic == KMEM_CACHE_MAGIC,
	    "kmem_cache_alloc: bad cache 0x%lx", (unsigned long)(uintptr_t)cp);
	if ((kmflags & KM_NOSLEEP) == 0 && READ_ONCE(sched_running))
		VERIFY(!kpreempt_disabled() && intr_enabled(),
		    "kmem_cache_alloc: KM_SLEEP allocation with preemption "
		    "disabled (cache %s)", cp->c_name);
	void *buf = cache_alloc(cp, kmflags, cp->c_bufsize, false,
	    (uintptr_t)__builtin_return_address(0));
	VERIFY(buf != NULL || (kmflags & KM_PANIC) == 0,
	    "kmem_cache_alloc: %s: out of memory (KM_PANIC)", cp->c_name);
	return (buf);
}

__attribute__((noinline)) void
kmem_cache_free(kmem_cache_t *cp, void *buf)
{
	VERIFY(cp != NULL && cp->c_magic == KMEM_CACHE_MAGIC,
	    "kmem_cache_free: bad cache 0x%lx", (unsigned long)(uintptr_t)cp);
	cache_free(cp, buf, cp->c_bufsize, "kmem_cache_free");
}

/*
 * Walkers: visit every buffer of every cache and every oversize buffer,
 * each cache under its lock (so buffers do not change state under us
 * except ALLOC -> BUSY, see cache_release).
 */

size_t
kmem_walk(kmem_visit_fn visit, void *arg)
{
	size_t n = 0;

	spin_lock(&kmem_caches_lock);
	for (kmem_cache_t *cp = kmem_caches; cp != NULL; cp = cp->c_next) {
		spin_lock(&cp->c_lock);
		for (kmem_slab_t *sp = cp->c_head; sp != NULL;
		    sp = sp->sl_next) {
			for (size_t i = 0; i < cp->c_nbufs; i++) {
				char *buf = slab_buf(cp, sp, i);
				n += visit(cp->c_name, buf,
				    buf_tag(buf, cp->c_usersize),
				    cp->c_usersize, arg);
			}
		}
		spin_unlock(&cp->c_lock);
	}
	spin_unlock(&kmem_caches_lock);

	spin_lock(&kmem_big_lock);
	for (kmem_big_t *bg = kmem_big_list; bg != NULL; bg = bg->bg_next) {
		n += visit("kmem_oversize", bg->bg_buf,
		    buf_tag(bg->bg_buf, bg->bg_usersize), bg->bg_usersize, arg);
	}
	spin_unlock(&kmem_big_lock);
	return (n);
}

struct leak_arg {
	u64 mark;
	bool print;
};

static size_t
leak_visit(const char *cname, char *buf, kmem_buftag_t *bt,
    size_t usersize __unused, void *arg)
{
	struct leak_arg *la = arg;
	char sym[64];

	if (bt->bt_state != KMEM_BUFTAG_ALLOC || bt->bt_seq <= la->mark)
		return (0);
	if (la->print) {
		kmem_sym_format(sym, sizeof (sym), bt->bt_caller);
		cmn_err(CE_WARN, "kmem leak: %s buf=0x%lx size=%lu caller=%s",
		    cname, (unsigned long)(uintptr_t)buf,
		    (unsigned long)bt->bt_size, sym);
	}
	return (1);
}

u64
kmem_mark(void)
{
	return (atomic_load(&kmem_seq));
}

size_t
kmem_leak_report(u64 mark)
{
	struct leak_arg la = { mark, true };

	return (kmem_walk(leak_visit, &la));
}

size_t
kmem_outstanding(u64 mark)
{
	struct leak_arg la = { mark, false };

	return (kmem_walk(leak_visit, &la));
}
