/*
 * Tests of kmem's monitor side (kmem_mon_caches, kmem_mon_verify,
 * kmem_mon_findleaks): the output is captured through a mon_printf_t that
 * writes into a buffer, and the tests look for the lines they caused. The
 * planted faults (a smashed redzone, a leaked buffer) are repaired before
 * each test ends, so the runner's own checks find nothing.
 */
#include "ktest.h"
#include "../kern/kmem.h"
#include "../kern/panic.h"
#include "../kern/console.h"
#include "../kern/sync.h"
#include "../kern/thread.h"

/*
 * The capture buffer. Static, so a test's stack stays small; the tests
 * of one suite run one at a time. It holds text only (addresses printed in
 * hex), so findleaks, which scans the bss, finds no pointers in it.
 */
#define	CAPTURE_SIZE	8192

typedef struct capture {
	char cap_text[CAPTURE_SIZE];
	size_t cap_len;
	bool cap_truncated;
} capture_t;

static capture_t capture;

static void __printflike(2, 3)
capture_pr(void *arg, const char *fmt, ...)
{
	capture_t *cap = arg;
	size_t room = sizeof (cap->cap_text) - cap->cap_len;
	va_list ap;

	va_start(ap, fmt);
	int n = kvsnprintf(cap->cap_text + cap->cap_len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= room) {
		cap->cap_len = sizeof (cap->cap_text) - 1;
		cap->cap_truncated = true;
	} else {
		cap->cap_len += (size_t)n;
	}
}

static capture_t *
capture_reset(void)
{
	capture.cap_len = 0;
	capture.cap_text[0] = '\0';
	capture.cap_truncated = false;
	return (&capture);
}

static const char *
find(const char *hay, const char *needle)
{
	return (strstr(hay, needle));
}

/* The line of text holding `needle', or NULL. */
static bool
line_with(const char *text, const char *needle, char *line, size_t len)
{
	const char *p = find(text, needle);

	if (p == NULL)
		return (false);
	while (p > text && p[-1] != '\n')
		p--;
	size_t i = 0;
	while (p[i] != '\0' && p[i] != '\n' && i + 1 < len) {
		line[i] = p[i];
		i++;
	}
	line[i] = '\0';
	return (true);
}

/* Echo the captured text as TAP comments, a line each. */
static void
capture_note(const capture_t *cap)
{
	const char *p = cap->cap_text;

	while (*p != '\0') {
		char line[200];
		size_t n = 0;
		while (p[n] != '\0' && p[n] != '\n') {
			if (n + 1 < sizeof (line))
				line[n] = p[n];
			n++;
		}
		line[MIN(n, sizeof (line) - 1)] = '\0';
		ktest_note("%s", line);
		p += n;
		if (*p == '\n')
			p++;
	}
}

KTEST(kmem, mon_caches)
{
	kmem_cache_t *cp = kmem_cache_create("kmem_test_mon", 200, 0, NULL,
	    NULL, NULL, 0);
	void *bufs[3];

	for (int i = 0; i < 3; i++)
		bufs[i] = kmem_cache_alloc(cp, KM_SLEEP);
	void *big = kmem_alloc(20000, KM_SLEEP);

	capture_t *cap = capture_reset();
	kmem_mon_caches(capture_pr, cap);
	capture_note(cap);
	KT_EXPECT(!cap->cap_truncated, "output truncated");

	char line[160], want[160];
	KT_EXPECT(find(cap->cap_text, "CACHE") != NULL &&
	    find(cap->cap_text, "INUSE") != NULL, "no header");
	/* Our cache: 200-byte buffers, 3 in use and 3 allocated ever, one
	 * slab, 600 bytes in use. */
	KT_EXPECT(line_with(cap->cap_text, "kmem_test_mon", line,
	    sizeof (line)), "no line for kmem_test_mon");
	ksnprintf(want, sizeof (want), "%-20s %8lu %8lu %10lu %6lu %10lu",
	    "kmem_test_mon", 200UL, 3UL, 3UL, 1UL, 600UL);
	KT_EXPECT(strncmp(line, want, strlen(want)) == 0,
	    "kmem_test_mon line is '%s', want it to start '%s'", line, want);
	KT_EXPECT(line_with(cap->cap_text, "kmem_oversize", line,
	    sizeof (line)), "no line for the oversize buffers");
	KT_EXPECT(find(line, "pages") != NULL, "oversize line: '%s'", line);
	KT_EXPECT(line_with(cap->cap_text, "total", line, sizeof (line)),
	    "no total line");
	KT_EXPECT(line_with(cap->cap_text, "kmem_alloc_16 ", line,
	    sizeof (line)), "no line for the size class kmem_alloc_16");

	for (int i = 0; i < 3; i++)
		kmem_cache_free(cp, bufs[i]);
	kmem_free(big, 20000);
	kmem_cache_destroy(cp);

	/* The destroyed cache is gone from the table. */
	cap = capture_reset();
	kmem_mon_caches(capture_pr, cap);
	KT_EXPECT(find(cap->cap_text, "kmem_test_mon") == NULL,
	    "destroyed cache still listed");
}

/*
 * A redzone smashed on purpose (a buffer of a cache and an oversize one)
 * must be reported with the buffer's address, its cache and the offset,
 * then repaired: the end-of-run kmem_verify must find nothing.
 */
KTEST(kmem, mon_verify_redzone)
{
	capture_t *cap = capture_reset();

	KT_ASSERT(kmem_mon_verify(capture_pr, cap) == 0,
	    "kmem_mon_verify dirty before the test: %s", cap->cap_text);
	KT_EXPECT(cap->cap_len == 0, "clean heap, yet output: %s",
	    cap->cap_text);

	static const struct {
		size_t size;
		const char *cache;
	} cases[] = {
		{ 40, "kmem_alloc_48" },
		{ 10000, "kmem_oversize" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t s = cases[i].size;
		u8 *p = kmem_alloc(s, KM_SLEEP);
		u8 saved = p[s + 1];
		p[s + 1] = (u8)~saved;		/* two bytes past the end */

		cap = capture_reset();
		size_t n = kmem_mon_verify(capture_pr, cap);
		capture_note(cap);
		KT_EXPECT(n == 1, "size %lu: %lu corrupt buffers, want 1", s, n);
		char want[96], line[200];
		ksnprintf(want, sizeof (want), "%s buf=0x%lx: redzone smashed "
		    "at offset %lu", cases[i].cache, (unsigned long)(uintptr_t)p,
		    (unsigned long)(s + 1));
		KT_EXPECT(line_with(cap->cap_text, want, line, sizeof (line)),
		    "size %lu: no line with '%s' in '%s'", s, want,
		    cap->cap_text);
		KT_EXPECT(find(line, "mon_verify_redzone") != NULL,
		    "size %lu: the allocating test is not named: '%s'", s,
		    line);

		p[s + 1] = saved;			/* repair */
		cap = capture_reset();
		KT_EXPECT(kmem_mon_verify(capture_pr, cap) == 0,
		    "size %lu: still reported after repair: %s", s,
		    cap->cap_text);
		kmem_free(p, s);
	}
}

/* A freed buffer written to: "modified after free", then repaired. */
KTEST(kmem, mon_verify_free)
{
	kmem_cache_t *cp = kmem_cache_create("kmem_test_monuaf", 64, 0,
	    NULL, NULL, NULL, 0);
	/* keep holds the slab, so victim's memory stays kmem's. */
	u8 *keep = kmem_cache_alloc(cp, KM_SLEEP);
	u8 *victim = kmem_cache_alloc(cp, KM_SLEEP);

	kmem_cache_free(cp, victim);
	u8 saved = victim[21];
	victim[21] = 0x42;
	capture_t *cap = capture_reset();
	size_t n = kmem_mon_verify(capture_pr, cap);
	capture_note(cap);
	KT_EXPECT(n == 1, "%lu corrupt buffers, want 1", n);
	char want[96];
	ksnprintf(want, sizeof (want), "kmem_test_monuaf buf=0x%lx: modified "
	    "after free at offset 21 (found 0x42)",
	    (unsigned long)(uintptr_t)victim);
	KT_EXPECT(find(cap->cap_text, want) != NULL, "no '%s' in '%s'", want,
	    cap->cap_text);
	victim[21] = saved;
	KT_EXPECT(kmem_mon_verify(capture_pr, capture_reset()) == 0,
	    "still reported after repair");
	kmem_cache_free(cp, keep);
	kmem_cache_destroy(cp);
}

/*
 * findleaks. The leaked buffer's address is kept XOR-ed with HIDE_KEY (a
 * value that is no kernel address), where findleaks cannot see it, so the
 * test can free it afterwards.
 */
#define	HIDE_KEY	0x5a5aa5a5c3c33c3cULL
#define	LEAK_SIZE	72		/* kmem_alloc_96 */

static volatile uintptr_t leak_hidden;	/* the leaked buffer ^ HIDE_KEY */
static void *volatile kept_direct;	/* control: a buffer held in .bss */
static void *volatile kept_interior;	/* ... a pointer into the middle */

/* noinline, each of them: the caller each allocation records is the
 * function's own name, and their frames are dead once they return. */
static __attribute__((noinline)) void
findleaks_leak_one(void)
{
	void *p = kmem_alloc(LEAK_SIZE, KM_SLEEP);

	leak_hidden = (uintptr_t)p ^ HIDE_KEY;
}

/* Overwrite the dead stack below the caller, where the leaked buffer's
 * address may linger in the frames of kmem_alloc and its callees (the
 * scan starts at findleaks' own frames, which are laid over them). */
static __attribute__((noinline)) void
scrub_stack(void)
{
	volatile u64 junk[512];

	for (size_t i = 0; i < ARRAY_SIZE(junk); i++)
		junk[i] = 0;
}

static __attribute__((noinline)) void *
findleaks_chained_alloc(void)
{
	return (kmem_alloc(LEAK_SIZE, KM_SLEEP));
}

/* A buffer in a static, one only a pointer into its middle refers to,
 * and one referenced only from inside the first. */
static __attribute__((noinline)) void
findleaks_keep(void)
{
	void **a = kmem_zalloc(LEAK_SIZE, KM_SLEEP);
	char *c = kmem_alloc(LEAK_SIZE, KM_SLEEP);

	a[3] = findleaks_chained_alloc();
	kept_direct = a;
	kept_interior = c + 40;
}

static volatile uintptr_t kept_hidden;	/* kept_direct ^ HIDE_KEY */

/* Hide kept_direct (drop) or bring it back; in functions of their own so
 * the caller's frame and registers never hold the address. */
static __attribute__((noinline)) void
findleaks_drop(void)
{
	kept_hidden = (uintptr_t)kept_direct ^ HIDE_KEY;
	kept_direct = NULL;
}

static __attribute__((noinline)) void
findleaks_undrop(void)
{
	kept_direct = (void *)(kept_hidden ^ HIDE_KEY);
	kept_hidden = 0;
}

static void
findleaks_unkeep(void)
{
	void **a = kept_direct;

	kmem_free(a[3], LEAK_SIZE);
	kmem_free(a, LEAK_SIZE);
	kmem_free((char *)kept_interior - 40, LEAK_SIZE);
	kept_direct = kept_interior = NULL;
}

KTEST(kmem, findleaks_leak)
{
	findleaks_leak_one();
	scrub_stack();

	capture_t *cap = capture_reset();
	size_t n = kmem_mon_findleaks(capture_pr, cap);
	capture_note(cap);
	uintptr_t p = leak_hidden ^ HIDE_KEY;
	KT_EXPECT(n >= 1, "findleaks found %lu leaks, want at least 1", n);
	KT_EXPECT(find(cap->cap_text, "CACHE") != NULL &&
	    find(cap->cap_text, "BUFCTL") != NULL &&
	    find(cap->cap_text, "CALLER") != NULL, "no header");
	char line[200], want[64];
	bool found = line_with(cap->cap_text, "findleaks_leak_one+", line,
	    sizeof (line));
	KT_EXPECT(found, "no leak line with caller findleaks_leak_one");
	if (found) {
		KT_EXPECT(find(line, "kmem_alloc_96") != NULL,
		    "leak line names another cache: '%s'", line);
		ksnprintf(want, sizeof (want), "0x%016lx", (unsigned long)p);
		KT_EXPECT(find(line, want) != NULL,
		    "leak line lacks the buffer %s: '%s'", want, line);
	}
	KT_EXPECT(find(cap->cap_text, "Total") != NULL, "no total line");

	kmem_free((void *)p, LEAK_SIZE);
	leak_hidden = 0;
}

KTEST(kmem, findleaks_referenced)
{
	KT_ASSERT(ksym_addr("findleaks_keep") != 0 &&
	    ksym_addr("findleaks_chained_alloc") != 0,
	    "the allocating helpers are not in the symbol table");
	findleaks_keep();
	scrub_stack();

	capture_t *cap = capture_reset();
	(void) kmem_mon_findleaks(capture_pr, cap);
	capture_note(cap);
	KT_EXPECT(find(cap->cap_text, "findleaks_keep") == NULL,
	    "a buffer held in a static reported as leaked");
	KT_EXPECT(find(cap->cap_text, "findleaks_chained_alloc") == NULL,
	    "a buffer held in a referenced buffer reported as leaked");

	/* The same buffers with the static's reference hidden: the one it
	 * held and the one only that one held are leaks now, the interior
	 * pointer's buffer still is not. */
	findleaks_drop();
	scrub_stack();
	cap = capture_reset();
	size_t n = kmem_mon_findleaks(capture_pr, cap);
	capture_note(cap);
	findleaks_undrop();
	KT_EXPECT(n >= 2, "%lu leaks with the reference dropped, want >= 2",
	    n);
	KT_EXPECT(find(cap->cap_text, "findleaks_keep+") != NULL,
	    "the dropped buffer is not reported");
	KT_EXPECT(find(cap->cap_text, "findleaks_chained_alloc+") != NULL,
	    "the buffer only the dropped one held is not reported");
	findleaks_unkeep();
}

/*
 * A buffer that only a sleeping thread holds, in a local that lives in a
 * callee-saved register across cv_wait: resume() pushed that register on
 * the thread's stack, so findleaks must see the reference there.
 */
struct sleeper {
	kmutex_t s_lock;
	kcondvar_t s_cv;
	bool s_go;			/* s_lock */
	volatile bool s_allocated;
};

/* A size of its own, so the compiler cannot fold it into
 * findleaks_chained_alloc (the caller recorded must be this one). */
#define	SLEEPER_SIZE	(LEAK_SIZE + 8)

static __attribute__((noinline)) void *
findleaks_sleeper_alloc(void)
{
	return (kmem_alloc(SLEEPER_SIZE, KM_SLEEP));
}

static void
findleaks_sleeper(void *arg)
{
	struct sleeper *s = arg;
	void *p = findleaks_sleeper_alloc();

	s->s_allocated = true;
	mutex_enter(&s->s_lock);
	while (!s->s_go)
		cv_wait(&s->s_cv, &s->s_lock);
	mutex_exit(&s->s_lock);
	kmem_free(p, SLEEPER_SIZE);
}

KTEST(kmem, findleaks_sleeping_thread)
{
	struct sleeper s;

	KT_ASSERT(ksym_addr("findleaks_sleeper_alloc") != 0,
	    "findleaks_sleeper_alloc is not in the symbol table");
	mutex_init(&s.s_lock, "findleaks_sleeper");
	cv_init(&s.s_cv, "findleaks_sleeper");
	s.s_go = false;
	s.s_allocated = false;
	kthread_t *t = thread_create("findleaks_sleeper", findleaks_sleeper,
	    &s, -1);
	KT_ASSERT(t != NULL, "thread_create failed");
	/* Off its CPU for good: asleep, registers saved. */
	while (!s.s_allocated || READ_ONCE(t->t_state) != TS_SLEEP ||
	    READ_ONCE(t->t_live) != 0)
		thread_yield();

	capture_t *cap = capture_reset();
	(void) kmem_mon_findleaks(capture_pr, cap);
	capture_note(cap);
	KT_EXPECT(find(cap->cap_text, "findleaks_sleeper_alloc") == NULL,
	    "a buffer held by a sleeping thread reported as leaked");

	mutex_enter(&s.s_lock);
	s.s_go = true;
	cv_signal(&s.s_cv);
	mutex_exit(&s.s_lock);
	thread_join(t);
}
