/*
 * The in-kernel test runner: runs the selected suites in .ktests order,
 * each test in a thread of its own, and prints TAP on the console.
 * After every test it checks that the test freed every kmem buffer and
 * every pmem page it allocated, joined every thread it made and left
 * preemption enabled; at the end of the run, kmem_verify() and a leak
 * check over the whole run (kmem buffers and pages) are two more tests.
 * A KTEST_PANIC test gets the same checks, and a failed one panics.
 */
#include "ktest.h"
#include "../kern/console.h"
#include "../kern/panic.h"
#include "../kern/thread.h"
#include "../kern/cpu.h"
#include "../kern/kmem.h"
#include "../kern/pmem.h"

extern const ktest_t __ktests_start[], __ktests_end[];
extern u32 ktest_scale_pct;

static const ktest_t *cur;		/* the running test; runner only */
static volatile bool cur_failed, cur_skipped;
static char cur_reason[200];
static spinlock_t fail_lock = SPINLOCK_INIT("ktest_fail");
static int ntest, nfailed;

u64
ktest_rand(u64 *s)
{
	u64 x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (*s = x);
}

u64
ktest_scale(u64 n)
{
	u64 v = n * ktest_scale_pct / 100;
	return (v > 0 ? v : 1);
}

void
ktest_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(msg, sizeof (msg), fmt, ap);
	va_end(ap);
	spin_lock(&fail_lock);
	bool first = !cur_failed;
	cur_failed = true;
	if (first)
		ksnprintf(cur_reason, sizeof (cur_reason), "%s (%s:%d)", msg,
		    file, line);
	spin_unlock(&fail_lock);
	if (!first)
		kprintf("# also: %s (%s:%d)\n", msg, file, line);
}

void
ktest_skip(const char *reason)
{
	cur_skipped = true;
	strlcpy(cur_reason, reason, sizeof (cur_reason));
}

void
ktest_note(const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(msg, sizeof (msg), fmt, ap);
	va_end(ap);
	kprintf("# %s\n", msg);
}

/* Does the comma-separated list select test t (by suite or suite/name)? */
static bool
test_selected(const char *list, const ktest_t *t)
{
	size_t n = strlen(t->kt_suite), m = strlen(t->kt_name);

	if (t->kt_panic != NULL)
		return (false);
	/* The fuzzer's suites (fuzz, fuzzstate) are named, never part of
	 * "all": their thousands of guests need one boot per platform, not
	 * one per CPU count (scripts/check.py's matrix). */
	if (strcmp(list, "all") == 0)
		return (strncmp(t->kt_suite, "fuzz", 4) != 0);
	for (const char *p = list; *p != '\0'; ) {
		if (strncmp(p, t->kt_suite, n) == 0) {
			const char *q = p + n;
			if (*q == ',' || *q == '\0')
				return (true);
			if (*q == '/' && strncmp(q + 1, t->kt_name, m) == 0 &&
			    (q[1 + m] == ',' || q[1 + m] == '\0'))
				return (true);
		}
		p = strchr(p, ',');
		if (p == NULL)
			break;
		p++;
	}
	return (false);
}

static const ktest_t *
find_test(const char *spec, bool panic)
{
	for (const ktest_t *t = __ktests_start; t < __ktests_end; t++) {
		size_t n = strlen(t->kt_suite);
		if ((t->kt_panic != NULL) != panic)
			continue;
		if (strncmp(spec, t->kt_suite, n) == 0 && (spec[n] == '\0' ||
		    (spec[n] == '/' && strcmp(spec + n + 1, t->kt_name) == 0)))
			return (t);
	}
	return (NULL);
}

bool
ktest_suite_exists(const char *spec, bool panic)
{
	return (find_test(spec, panic) != NULL);
}

static void
report(const char *suite, const char *name)
{
	ntest++;
	if (cur_skipped && !cur_failed) {
		kprintf("ok %d - %s/%s # SKIP %s\n", ntest, suite, name,
		    cur_reason);
	} else if (cur_failed) {
		nfailed++;
		kprintf("not ok %d - %s/%s: %s\n", ntest, suite, name,
		    cur_reason);
	} else {
		kprintf("ok %d - %s/%s\n", ntest, suite, name);
	}
}

static bool
test_before(const ktest_t *a, const ktest_t *b)
{
	int c = strcmp(a->kt_file, b->kt_file);

	return (c < 0 || (c == 0 && a->kt_line < b->kt_line));
}

static void
reset(void)
{
	cur_failed = false;
	cur_skipped = false;
	cur_reason[0] = '\0';
}

static void
test_thread(void *arg)
{
	const ktest_t *t = arg;

	t->kt_func();
	if (curthread->t_preempt != 0) {
		ktest_fail(__FILE__, __LINE__,
		    "test left preemption disabled (depth %d)",
		    curthread->t_preempt);
		curthread->t_preempt = 0;
	}
}

/* What the after-test checks compare against. */
struct test_mark {
	u64 kmem;			/* kmem_mark() */
	size_t threads;			/* thread_count() */
	size_t pages;			/* pmem_pages_used() */
};

static void
mark_before(struct test_mark *m)
{
	m->kmem = kmem_mark();
	m->threads = thread_count();
	m->pages = pmem_pages_used();
}

/*
 * The checks after a test: kmem buffers, threads, then pages (kmem gives
 * a slab back as soon as its last buffer is freed, and thread_join frees
 * the stack, so a test that cleans up leaves the page count as it was).
 * Pages are checked last: a leaked buffer or thread holds pages too.
 */
static void
check_after(const struct test_mark *m)
{
	size_t leaked = kmem_outstanding(m->kmem);
	if (leaked != 0) {
		kmem_leak_report(m->kmem);
		ktest_fail(__FILE__, __LINE__, "leaked %lu kmem buffers",
		    leaked);
	}
	if (thread_count() != m->threads)
		ktest_fail(__FILE__, __LINE__, "left %ld threads behind",
		    (long)(thread_count() - m->threads));
	size_t pages = pmem_pages_used();
	if (pages > m->pages)
		ktest_fail(__FILE__, __LINE__, "leaked %lu pmem pages "
		    "(%lu in use before, %lu after)", pages - m->pages,
		    m->pages, pages);
}

static void
run_one(const ktest_t *t)
{
	struct test_mark m;

	reset();
	cur = t;
	if (ncpus < t->kt_mincpus) {
		char why[64];
		ksnprintf(why, sizeof (why), "needs %d CPUs", t->kt_mincpus);
		ktest_skip(why);
		report(t->kt_suite, t->kt_name);
		return;
	}
	mark_before(&m);
	char name[32];
	ksnprintf(name, sizeof (name), "test:%s", t->kt_name);
	kthread_t *th = thread_create(name, test_thread, (void *)t, -1);
	thread_join(th);
	check_after(&m);
	report(t->kt_suite, t->kt_name);
}

void
ktest_run(const char *suites)
{
	u64 mark = kmem_mark();
	size_t pages = pmem_pages_used();

	size_t n = (size_t)(__ktests_end - __ktests_start);
	const ktest_t **order = kmem_alloc(n * sizeof (*order), KM_SLEEP);

	/* The compiler may emit a file's tests in any order: sort them. */
	for (size_t i = 0; i < n; i++) {
		const ktest_t *t = &__ktests_start[i];
		size_t j = i;
		for (; j > 0 && test_before(t, order[j - 1]); j--)
			order[j] = order[j - 1];
		order[j] = t;
	}
	kprintf("TAP version 13\n");
	kprintf("# suites: %s, %d CPUs, scale %u%%\n", suites, ncpus,
	    ktest_scale_pct);
	for (size_t i = 0; i < n; i++) {
		if (test_selected(suites, order[i]))
			run_one(order[i]);
	}
	kmem_free(order, n * sizeof (*order));

	/* The end-of-run checks are tests too. */
	reset();
	size_t bad = kmem_verify();
	if (bad != 0)
		ktest_fail(__FILE__, __LINE__, "kmem_verify found %lu problems",
		    bad);
	report("end", "kmem_verify");
	reset();
	size_t leaked = kmem_leak_report(mark);
	if (leaked != 0)
		ktest_fail(__FILE__, __LINE__,
		    "%lu kmem buffers outstanding since the run began", leaked);
	size_t pages_end = pmem_pages_used();
	if (pages_end != pages)
		ktest_fail(__FILE__, __LINE__,
		    "pmem pages in use: %lu at start, %lu at end", pages,
		    pages_end);
	report("end", "no_leaks");

	kprintf("1..%d\n", ntest);
	kprintf("# %d passed, %d failed\n", ntest - nfailed, nfailed);
	kernel_exit(nfailed != 0 ? 1 : 0);
}

/*
 * panic_test=list: every KTEST_PANIC test with the text its panic must
 * contain, one "# panic_test SUITE/NAME: TEXT" line each (the host builds
 * its panic runs from this, as KUnit's kunit.action=list).
 */
static __noreturn void
list_panic_tests(void)
{
	int n = 0;

	kprintf("TAP version 13\n");
	for (const ktest_t *t = __ktests_start; t < __ktests_end; t++) {
		if (t->kt_panic == NULL)
			continue;
		kprintf("# panic_test %s/%s: %s\n", t->kt_suite, t->kt_name,
		    t->kt_panic);
		n++;
	}
	kprintf("# %d panic tests\n1..0\n", n);
	kprintf("# bhyvelet: shutdown status=0\n");
	kernel_shutdown(0);
}

/*
 * Run one KTEST_PANIC test. Reaching the end of it with the after-test
 * checks passing is the failure: the misuse it commits was not caught. A
 * failed check (e.g. a leaked page) panics with its reason, so a test can
 * show that the checks catch what they are for.
 */
void
ktest_run_panic(const char *which)
{
	if (strcmp(which, "list") == 0)
		list_panic_tests();
	const ktest_t *t = find_test(which, true);

	VERIFY(t != NULL, "ktest_run_panic: no panic test %s", which);
	kprintf("TAP version 13\n");
	kprintf("# expecting panic: %s\n", t->kt_panic);
	reset();
	struct test_mark m;
	mark_before(&m);
	kthread_t *th = thread_create("panic_test", test_thread, (void *)t, -1);
	thread_join(th);
	/* A failed after-test check (a leak) is what some of them expect. */
	check_after(&m);
	if (cur_failed)
		panic("ktest: %s/%s failed: %s", t->kt_suite, t->kt_name,
		    cur_reason);
	kprintf("not ok 1 - %s/%s: did not panic (expected \"%s\")\n",
	    t->kt_suite, t->kt_name, t->kt_panic);
	kprintf("1..1\n");
	kprintf("# bhyvelet: shutdown status=1\n");
	kernel_shutdown(1);
}
