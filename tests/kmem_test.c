/*
 * Tests of kmem: sizes, alignment, zeroing, caches with constructors, the
 * debugging machinery (planted redzone, use-after-free and leak faults
 * that must be caught, then repaired so the test leaves nothing behind),
 * concurrency, and KM_NOSLEEP failure. At the end, KTEST_PANIC tests of
 * the page allocator (each runs alone with panic_test=): a leaked page the
 * runner must catch, and a double free, sequential and racing.
 *
 * kmem misuse that panics (double free, size mismatch, redzone violation
 * seen by kmem_free) has no test yet.
 */
#include "ktest.h"
#include "../kern/kmem.h"
#include "../kern/pmem.h"
#include "../kern/thread.h"
#include "../kern/panic.h"
#include "../kern/console.h"
#include "../kern/sync.h"


#define	POISON		0xdeadbeefdeadbeefULL	/* kmem's freed-buffer fill */
#define	UNINIT32	0xbaddcafeU		/* kmem's fresh-buffer fill */

typedef u64 __attribute__((may_alias)) word_t;

static void
fill(u8 *p, size_t len, u8 seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (u8)(seed + i * 7);
}

/* Index of the first byte that is not what fill() wrote, or len. */
static size_t
check(const u8 *p, size_t len, u8 seed)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != (u8)(seed + i * 7))
			return (i);
	}
	return (len);
}

/* 1..130 one by one, then odd sizes growing by ~1/8 up to past 64K, and
 * the edges of the size classes and the oversize boundary. */
static size_t
next_size(size_t s)
{
	if (s < 130)
		return (s + 1);
	return ((s + s / 8) | 1);
}

static const size_t edge_sizes[] = {
	15, 16, 17, 47, 48, 49, 4095, 4096, 4097, 8191, 8192, 8193,
	12288, 65535, 65536, 65537
};

static bool
one_size(size_t s)
{
	u8 *p = kmem_alloc(s, KM_SLEEP);

	KT_EXPECT(p != NULL, "kmem_alloc(%lu) returned NULL", s);
	if (p == NULL)
		return (false);
	bool ok = true;
	if (s >= 16 && !IS_P2ALIGNED(p, 16)) {
		KT_EXPECT(false, "kmem_alloc(%lu) = %p not 16-aligned", s, p);
		ok = false;
	}
	if (s >= 4) {
		u32 first;
		memcpy(&first, p, sizeof (first));
		KT_EXPECT(first == UNINIT32, "kmem_alloc(%lu): fresh buffer "
		    "holds 0x%x, not the 0xbaddcafe pattern", s, first);
		ok = ok && first == UNINIT32;
	}
	fill(p, s, (u8)s);
	size_t bad = check(p, s, (u8)s);
	KT_EXPECT(bad == s, "kmem_alloc(%lu): byte %lu did not read back",
	    s, bad);
	ok = ok && bad == s;
	kmem_free(p, s);
	return (ok);
}

KTEST(kmem, sizes)
{
	size_t n = 0;

	for (size_t s = 1; s <= 70000; s = next_size(s), n++) {
		if (!one_size(s))
			return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(edge_sizes); i++, n++) {
		if (!one_size(edge_sizes[i]))
			return;
	}
	ktest_note("%lu sizes allocated, checked and freed", n);
	KT_EXPECT(kmem_verify() == 0, "kmem_verify found problems");
}

/* Many buffers live at once must not overlap. */
KTEST(kmem, many_live)
{
	enum { N = 96 };
	u8 *bufs[N];
	size_t sizes[N];
	u64 seed = 0x1234567;

	for (int i = 0; i < N; i++) {
		sizes[i] = 1 + (size_t)(ktest_rand(&seed) % (i % 8 == 7 ? 20000 : 600));
		bufs[i] = kmem_alloc(sizes[i], KM_SLEEP);
		fill(bufs[i], sizes[i], (u8)i);
	}
	for (int i = 0; i < N; i++) {
		KT_EXPECT(check(bufs[i], sizes[i], (u8)i) == sizes[i],
		    "buffer %d (size %lu) was overwritten", i, sizes[i]);
	}
	KT_EXPECT(kmem_verify() == 0, "kmem_verify found problems");
	for (int i = 0; i < N; i++)
		kmem_free(bufs[i], sizes[i]);
}

KTEST(kmem, zalloc)
{
	static const size_t sizes[] = { 1, 7, 16, 100, 1000, 4096, 8192,
	    9000, 40000 };

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t s = sizes[i];
		/* Twice: the second time reuses a dirtied buffer. */
		for (int round = 0; round < 2; round++) {
			u8 *p = kmem_zalloc(s, KM_SLEEP);
			KT_ASSERT(p != NULL, "kmem_zalloc(%lu) returned NULL", s);
			size_t nz = 0;
			for (size_t j = 0; j < s; j++)
				nz += p[j] != 0;
			KT_EXPECT(nz == 0, "kmem_zalloc(%lu): %lu bytes not zero",
			    s, nz);
			memset(p, 0xa5, s);
			kmem_free(p, s);
		}
	}
}

KTEST(kmem, alignment)
{
	for (size_t s = 16; s <= 65536; s = s * 3 / 2 + 1) {
		void *p = kmem_alloc(s, KM_SLEEP);
		KT_EXPECT(IS_P2ALIGNED(p, 16), "kmem_alloc(%lu) = %p", s, p);
		kmem_free(p, s);
	}

	static const size_t aligns[] = { 8, 16, 64, 256, 4096 };
	for (size_t i = 0; i < ARRAY_SIZE(aligns); i++) {
		size_t a = aligns[i];
		kmem_cache_t *cp = kmem_cache_create("kmem_test_align", 40, a,
		    NULL, NULL, NULL, 0);
		void *bufs[20];
		for (int j = 0; j < 20; j++) {
			bufs[j] = kmem_cache_alloc(cp, KM_SLEEP);
			KT_EXPECT(IS_P2ALIGNED(bufs[j], a),
			    "align %lu: buffer %p", a, bufs[j]);
		}
		for (int j = 0; j < 20; j++)
			kmem_cache_free(cp, bufs[j]);
		kmem_cache_destroy(cp);
	}
}

struct ctor_counts {
	u64 magic;
	volatile u64 nctor;
	volatile u64 ndtor;
	bool fail;		/* make the constructor fail */
};

#define	OBJ_MAGIC	0x0b1ec7ed0b1ec7edULL
#define	CTOR_MAGIC	0xc0c0c0c0c0c0c0c0ULL

struct obj {
	u64 o_magic;
	struct ctor_counts *o_counts;
	char o_data[27];	/* odd size on purpose */
};

static int
obj_ctor(void *buf, void *priv, int kmflags __unused)
{
	struct ctor_counts *c = priv;
	struct obj *o = buf;

	if (c->magic != CTOR_MAGIC || c->fail)
		return (-1);
	o->o_magic = OBJ_MAGIC;
	o->o_counts = c;
	atomic_inc_64(&c->nctor);
	return (0);
}

static void
obj_dtor(void *buf, void *priv)
{
	struct ctor_counts *c = priv;
	struct obj *o = buf;

	if (o->o_magic == OBJ_MAGIC && o->o_counts == c)
		atomic_inc_64(&c->ndtor);
	o->o_magic = 0;
}

KTEST(kmem, cache_ctor_dtor)
{
	enum { N = 100 };	/* several slabs' worth */
	struct ctor_counts c = { CTOR_MAGIC, 0, 0, false };
	struct obj *objs[N];

	kmem_cache_t *cp = kmem_cache_create("kmem_test_obj",
	    sizeof (struct obj), 0, obj_ctor, obj_dtor, &c, 0);
	KT_ASSERT(cp != NULL, "kmem_cache_create returned NULL");
	for (int i = 0; i < N; i++) {
		objs[i] = kmem_cache_alloc(cp, KM_SLEEP);
		KT_EXPECT(objs[i] != NULL && objs[i]->o_magic == OBJ_MAGIC &&
		    objs[i]->o_counts == &c, "object %d not constructed", i);
		memset(objs[i]->o_data, i, sizeof (objs[i]->o_data));
	}
	KT_EXPECT(c.nctor == N, "%lu constructor calls, want %d", c.nctor, N);
	for (int i = 0; i < N; i++) {
		KT_EXPECT(objs[i]->o_data[26] == (char)i,
		    "object %d overwritten", i);
	}
	for (int i = 0; i < N; i++)
		kmem_cache_free(cp, objs[i]);
	KT_EXPECT(c.ndtor == N, "%lu destructor calls, want %d", c.ndtor, N);

	/* A failing constructor: KM_NOSLEEP gets NULL, nothing leaks and
	 * the destructor does not run on the unconstructed buffer. */
	c.fail = true;
	u64 mark = kmem_mark();
	void *p = kmem_cache_alloc(cp, KM_NOSLEEP);
	KT_EXPECT(p == NULL, "alloc with a failing constructor gave %p", p);
	KT_EXPECT(kmem_outstanding(mark) == 0, "failed alloc left a buffer");
	KT_EXPECT(c.ndtor == N, "destructor ran on an unconstructed buffer");

	kmem_cache_destroy(cp);
}

/* (a) One byte written past the requested size must be caught. */
KTEST(kmem, redzone_caught)
{
	static const size_t sizes[] = { 13, 64, 8192, 10000 };

	KT_ASSERT(kmem_verify() == 0, "kmem_verify dirty before the test");
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t s = sizes[i];
		u8 *p = kmem_alloc(s, KM_SLEEP);
		KT_ASSERT(p != NULL, "kmem_alloc(%lu) returned NULL", s);
		memset(p, 0x11, s);		/* in bounds: harmless */
		KT_EXPECT(kmem_verify() == 0, "size %lu: in-bounds writes "
		    "reported", s);

		u8 saved = p[s];
		p[s] = (u8)~saved;		/* the off-by-one */
		size_t n = kmem_verify();
		KT_EXPECT(n >= 1, "size %lu: smashed redzone not caught", s);
		p[s] = saved;			/* repair before freeing */
		KT_EXPECT(kmem_verify() == 0, "size %lu: still reported after "
		    "repair", s);
		kmem_free(p, s);
	}
}

/* (b) A write into a freed buffer must be caught. */
KTEST(kmem, use_after_free_caught)
{
	/* A cache of our own, so nobody else can be handed the buffer
	 * between the planted write and its repair. */
	kmem_cache_t *cp = kmem_cache_create("kmem_test_uaf", 64, 0,
	    NULL, NULL, NULL, 0);
	/* Keep `keep' so the slab is not given back when `victim' is
	 * freed: the write must land in kmem's memory, not pmem's. */
	u8 *keep = kmem_cache_alloc(cp, KM_SLEEP);
	u8 *victim = kmem_cache_alloc(cp, KM_SLEEP);
	word_t *w = (word_t *)victim;

	KT_EXPECT(kmem_verify() == 0, "kmem_verify dirty before the test");
	kmem_cache_free(cp, victim);
	KT_EXPECT(w[0] == POISON && w[7] == POISON,
	    "freed buffer not poisoned (0x%lx)", (unsigned long)w[0]);

	w[3] = 0x1234;				/* the use after free */
	size_t n = kmem_verify();
	KT_EXPECT(n >= 1, "write after free not caught");
	w[3] = POISON;				/* repair */
	KT_EXPECT(kmem_verify() == 0, "still reported after repair");

	/* The repaired buffer must be handed out again without a panic. */
	u8 *again = kmem_cache_alloc(cp, KM_SLEEP);
	KT_EXPECT(again == victim, "LIFO reuse expected (%p vs %p)", again,
	    victim);
	kmem_cache_free(cp, again);
	kmem_cache_free(cp, keep);
	kmem_cache_destroy(cp);
}

/* (c) Buffers still out must be reported, naming the allocating code. */
KTEST(kmem, leak_report)
{
	u64 mark = kmem_mark();
	void *a = kmem_alloc(24, KM_SLEEP);
	void *b = kmem_zalloc(200, KM_SLEEP);
	void *c = kmem_alloc(20000, KM_SLEEP);	/* oversize */

	uintptr_t off;
	const char *me = ksym_lookup((uintptr_t)ktest_kmem_leak_report, &off);
	ktest_note("expect 3 lines with caller=%s+0x...", me != NULL ? me :
	    "?");
	size_t n = kmem_leak_report(mark);
	KT_EXPECT(n == 3, "kmem_leak_report: %lu, want 3", n);
	KT_EXPECT(kmem_outstanding(mark) == 3, "kmem_outstanding: %lu, want 3",
	    kmem_outstanding(mark));
	kmem_free(a, 24);
	kmem_free(b, 200);
	kmem_free(c, 20000);
	KT_EXPECT(kmem_outstanding(mark) == 0, "kmem_outstanding after free: "
	    "%lu", kmem_outstanding(mark));
	KT_EXPECT(kmem_leak_report(mark) == 0, "leaks reported after free");
}

KTEST(kmem, nosleep_huge)
{
	u64 mark = kmem_mark();

	KT_EXPECT(kmem_alloc(1UL << 40, KM_NOSLEEP) == NULL,
	    "1 TiB KM_NOSLEEP allocation succeeded");
	KT_EXPECT(kmem_zalloc(1UL << 40, KM_NOSLEEP) == NULL,
	    "1 TiB KM_NOSLEEP zalloc succeeded");
	KT_EXPECT(kmem_alloc((size_t)-1, KM_NOSLEEP) == NULL,
	    "SIZE_MAX KM_NOSLEEP allocation succeeded");
	KT_EXPECT(kmem_alloc(0, KM_SLEEP) == NULL, "kmem_alloc(0) not NULL");
	kmem_free(NULL, 0);
	KT_EXPECT(kmem_outstanding(mark) == 0, "failed allocations left "
	    "buffers");
}

/* The stats table prints, and the outstanding count follows one buffer. */
KTEST(kmem, stats)
{
	u64 mark = kmem_mark();
	void *p = kmem_alloc(100, KM_SLEEP);

	KT_EXPECT(kmem_outstanding(mark) == 1, "%lu outstanding, want 1",
	    kmem_outstanding(mark));
	kmem_stats();
	kmem_free(p, 100);
	KT_EXPECT(kmem_outstanding(mark) == 0, "%lu outstanding after free",
	    kmem_outstanding(mark));
}

/* Concurrency: threads allocating and freeing random sizes at once. */

#define	NWORKERS	4
#define	NSLOTS		32

struct worker {
	u64 seed;
	u64 iters;
	u64 nalloc;
	u64 errors;		/* pattern mismatches */
	u64 verify_errors;	/* kmem_verify problems seen meanwhile */
	int id;
};

static void
worker(void *arg)
{
	struct worker *wk = arg;
	struct {
		u8 *p;
		size_t size;
		u8 seed;
	} slot[NSLOTS];

	memset(slot, 0, sizeof (slot));
	for (u64 i = 0; i < wk->iters; i++) {
		u64 r = ktest_rand(&wk->seed);
		int j = (int)(r % NSLOTS);
		if (slot[j].p != NULL) {
			if (check(slot[j].p, slot[j].size, slot[j].seed) !=
			    slot[j].size)
				wk->errors++;
			kmem_free(slot[j].p, slot[j].size);
			slot[j].p = NULL;
			continue;
		}
		/* Sizes spread over the classes, now and then oversize. */
		size_t max = (size_t)1 << ((r >> 8) % 15);
		size_t size = 1 + (size_t)((r >> 16) % max);
		bool zero = ((r >> 40) & 3) == 0;
		u8 *p = zero ? kmem_zalloc(size, KM_SLEEP) :
		    kmem_alloc(size, KM_SLEEP);
		if (zero && p[size - 1] != 0)
			wk->errors++;
		slot[j].p = p;
		slot[j].size = size;
		slot[j].seed = (u8)(r >> 48);
		fill(p, size, slot[j].seed);
		wk->nalloc++;
		/* kmem_verify must be safe (and quiet) while others work. */
		if (wk->id == 0 && i % 1024 == 512)
			wk->verify_errors += kmem_verify();
		if (i % 256 == 0)
			thread_yield();
	}
	for (int j = 0; j < NSLOTS; j++) {
		if (slot[j].p == NULL)
			continue;
		if (check(slot[j].p, slot[j].size, slot[j].seed) !=
		    slot[j].size)
			wk->errors++;
		kmem_free(slot[j].p, slot[j].size);
	}
}

KTEST(kmem, concurrent)
{
	struct worker wk[NWORKERS];
	kthread_t *t[NWORKERS];
	u64 iters = ktest_scale(20000);

	for (int i = 0; i < NWORKERS; i++) {
		wk[i] = (struct worker){ .seed = 0x9e3779b97f4a7c15ULL * (i + 1),
		    .iters = iters, .id = i };
		char name[16];
		ksnprintf(name, sizeof (name), "kmem_test%d", i);
		t[i] = thread_create(name, worker, &wk[i], -1);
		KT_ASSERT(t[i] != NULL, "thread_create failed");
	}
	u64 nalloc = 0;
	for (int i = 0; i < NWORKERS; i++) {
		thread_join(t[i]);
		KT_EXPECT(wk[i].errors == 0, "worker %d: %lu corrupted buffers",
		    i, wk[i].errors);
		KT_EXPECT(wk[i].verify_errors == 0, "worker %d: kmem_verify "
		    "reported %lu problems during the run", i,
		    wk[i].verify_errors);
		nalloc += wk[i].nalloc;
	}
	ktest_note("%d threads, %lu allocations", NWORKERS, nalloc);
	KT_EXPECT(kmem_verify() == 0, "kmem_verify found problems");
}

/*
 * A page taken from pmem and never given back: the runner's page check
 * after the test must catch it (in a suite the test fails; as a panic
 * test the failed check panics with this text).
 */
KTEST_PANIC(kmem, page_leak_caught, "leaked 1 pmem pages")
{
	paddr_t pa = page_alloc(KM_SLEEP);

	KT_EXPECT(pa != 0, "page_alloc(KM_SLEEP) returned 0");
}

/* The same page freed twice: the second free finds it not allocated. */
KTEST_PANIC(kmem, page_double_free, "is not allocated")
{
	paddr_t pa = page_alloc(KM_SLEEP);

	page_free(pa);
	page_free(pa);
}

static void
free_run(void *arg)
{
	page_free_contig((paddr_t)(uintptr_t)arg, 2);
}

/*
 * Two threads free the same run at once. pmem_inject_free_window holds
 * the first free between its check and its clear until the second has
 * started, so the second always runs its check inside that window: it
 * must find the pages marked FREEING (before they were marked, both
 * checks passed and the pages were freed twice).
 */
KTEST_PANIC(kmem, page_double_free_concurrent, "is already being freed")
{
	paddr_t pa = page_alloc_contig(2, PAGESIZE, KM_SLEEP);

	pmem_inject_free_window = true;
	kthread_t *t = thread_create("free_run", free_run,
	    (void *)(uintptr_t)pa, -1);
	page_free_contig(pa, 2);
	thread_join(t);
	pmem_inject_free_window = false;
}
