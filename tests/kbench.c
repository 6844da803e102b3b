/* The benchmark runner: see kbench.h. */
#include "kbench.h"
#include "../kern/console.h"
#include "../kern/panic.h"
#include "../kern/thread.h"
#include "../kern/cpu.h"

extern const kbench_t __kbench_start[], __kbench_end[];

void
kbench_report(const char *name, u64 value, const char *unit)
{
	kprintf("# bench: %s value=%lu unit=%s\n", name, value, unit);
}

/* which: "all", a name, or a prefix ending in '*' ("timedwait_*"). */
static bool
selected(const char *which, const char *name)
{
	size_t n = strlen(which);

	if (strcmp(which, "all") == 0)
		return (true);
	if (n > 0 && which[n - 1] == '*')
		return (strncmp(which, name, n - 1) == 0);
	return (strcmp(which, name) == 0);
}

bool
kbench_exists(const char *which)
{
	for (const kbench_t *b = __kbench_start; b < __kbench_end; b++) {
		if (selected(which, b->kb_name))
			return (true);
	}
	return (false);
}

static void
bench_thread(void *arg)
{
	((const kbench_t *)arg)->kb_func();
}

void
kbench_run(const char *which)
{
	kprintf("# bench: begin cpus=%d\n", ncpus);
	for (const kbench_t *b = __kbench_start; b < __kbench_end; b++) {
		if (!selected(which, b->kb_name))
			continue;
		kthread_t *t = thread_create(b->kb_name, bench_thread,
		    (void *)b, -1);
		thread_join(t);
	}
	kprintf("# bhyvelet: shutdown status=0\n");
	kernel_shutdown(0);
}
