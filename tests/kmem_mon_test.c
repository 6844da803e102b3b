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
