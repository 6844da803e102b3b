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

bool
kbench_exists(const char *name)
{
	if (strcmp(name, "all") == 0)
		return (true);
	for (const kbench_t *b = __kbench_start; b < __kbench_end; b++) {
		if (strcmp(b->kb_name, name) == 0)
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
		if (strcmp(which, "all") != 0 && strcmp(which, b->kb_name) != 0)
			continue;
		kthread_t *t = thread_create(b->kb_name, bench_thread,
		    (void *)b, -1);
		thread_join(t);
	}
	kprintf("# bhyvelet: shutdown status=0\n");
	kernel_shutdown(0);
}
