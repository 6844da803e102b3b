/*
 * kmain: from the boot code to a running scheduler on every CPU.
 *
 * Command line (key=value, space separated):
 *   suite=all|a,b,c   run these test suites, print TAP, shut down
 *   hz=N              clock ticks per second (default 100)
 *   scale=N           test iteration scale in percent (default 100)
 *   platform=NAME     where we run, for the log (set by scripts/run.py)
 *   test_panic=1      panic on purpose (the host script must see it fail);
 *                     test_panic=pagefault writes through NULL instead
 *   panic_test=S/N    run the KTEST_PANIC test S/N, which must panic
 *   panic_test=list   list the KTEST_PANIC tests and what each must say
 *   ctx_legacy_restore=1  restorectx walks newest first (pre-12477 order)
 *   ctx_validate=1    check every thread's ctxop ring at every savectx
 *   bench=all|NAME|PREFIX*  run benchmarks instead of tests
 *   guest=NAME        run a built-in guest (guest/NAME.asm), or guest=module
 *                     for the first boot module (QEMU -initrd, GRUB module):
 *                     a boot sector or a multiboot kernel, its command line
 *                     the module's string, the other modules its modules
 *   guest=fuzz:SEED   replay one fuzz guest (kern/vmm/fuzz/, docs/fuzz.md):
 *                     its program listed, how it ended, the host checked
 *   fuzz=A:B          run the fuzz guests of seeds A..B-1 in this boot and
 *                     print the table of how they ended (make fuzz)
 *   guest=batch       run several module guests one after the other, as
 *                     module 0 (a text file) lists them (vmm_guest.h)
 *   guest_param=N     the guest's parameter (port 0x4f8)
 *   guest_timeout=S   stop a guest still running after S seconds of wall
 *                     time ("time limit"; 0, the default: none)
 *   guest_cpus=N      vCPUs of a module guest (1-8, default 1)
 *   guest_mem=MiB     its RAM (default 128 for multiboot, 2 for a boot
 *                     sector)
 *   trace=PATTERNS    record these probes (globs on FUNCTION:NAME or
 *                     FUNCTION, comma separated: ctxop:*,vm*) from boot;
 *                     a guest's are dumped when it ends (docs/tracing.md)
 *   trace_ring=N      keep at most N records per CPU (default: 43,690)
 *   monitor=1         at the end of the run, the monitor keeps the console
 *                     until ::quit (kern/mon/mon.h) instead of shutting down
 * Anything else is refused by name: "Bail out!" and a failing shutdown.
 */
#include "types.h"
#include "x86.h"
#include "console.h"
#include "panic.h"
#include "pmem.h"
#include "kmem.h"
#include "cpu.h"
#include "apic.h"
#include "thread.h"
#include "trace.h"
#include "fpu.h"
#include "ctx/ctxop.h"
#include "vmm/vmm.h"
#include "vmm/vmm_dev.h"
#include "vmm/vmm_guest.h"
#include "vmm/fuzz/fuzz.h"
#include "mon/mon.h"
#include "tunable.h"
#include "../tests/ktest.h"
#include "../tests/kbench.h"

#define	MB_BOOT_MAGIC	0x2badb002

void pmap_init(void);

static char cmdline[512];
static char opt_suite[256];
char opt_platform[32] = "unknown";	/* tunable.h */
static char opt_panic_test[64];
static char opt_bench[64];
static char opt_guest[32];
static u32 opt_guest_param;
static bool opt_fuzz_replay;		/* guest=fuzz:SEED */
static u64 opt_fuzz_seed;
static u64 opt_fuzz_first, opt_fuzz_last;	/* fuzz=A:B */
static bool opt_trace;			/* trace= given: on after trace_init */
static u32 opt_trace_ring;
static u32 opt_guest_cpus = 1;
static u32 opt_guest_mem;		/* MiB; 0: the format's default */
/* The boot modules: module 0 is a guest=module guest, the rest its own
 * modules. Copied before pmem_init, which keeps their pages. */
static struct boot_module bootmods[GUEST_BOOT_MODULES];
static int nbootmods;
static char opt_test_panic[16];
u32 ktest_scale_pct = 100;

static void
bail(const char *fmt, const char *arg)
{
	kprintf("Bail out! ");
	kprintf(fmt, arg);
	kprintf("\n# bhyvelet: shutdown status=1\n");
	kernel_shutdown(1);
}

static void
copy_cmdline(u32 mbinfo)
{
	const u32 *info = phys_to_virt(mbinfo);

	if ((info[0] & (1 << 2)) != 0 && info[4] != 0)
		strlcpy(cmdline, phys_to_virt(info[4]), sizeof (cmdline));
	if ((info[0] & (1 << 3)) == 0)
		return;
	const u32 *mod = phys_to_virt(info[6]);
	for (u32 i = 0; i < info[5] && i < ARRAY_SIZE(bootmods); i++) {
		struct boot_module *b = &bootmods[nbootmods++];
		b->bm_start = mod[4 * i];
		b->bm_end = mod[4 * i + 1] > b->bm_start ? mod[4 * i + 1] :
		    b->bm_start;
		if (mod[4 * i + 2] != 0)
			strlcpy(b->bm_string, phys_to_virt(mod[4 * i + 2]),
			    sizeof (b->bm_string));
	}
}

/* "A:B" with A < B, at most 10,000,000 seeds. */
static bool
parse_seeds(const char *v, u64 *a, u64 *b)
{
	char *end;

	*a = strtoull(v, &end, 0);
	if (end == v || *end != ':')
		return (false);
	const char *w = end + 1;
	*b = strtoull(w, &end, 0);
	return (end != w && *end == '\0' && *a < *b && *b - *a <= 10000000);
}

static bool
parse_u32(const char *v, u32 *out)
{
	char *end;
	u64 n = strtoull(v, &end, 0);

	if (*v == '\0' || *end != '\0' || n > 0xffffffffUL)
		return (false);
	*out = (u32)n;
	return (true);
}

/* Checks every switch before anything runs, so bad input costs nothing. */
static void
parse_cmdline(void)
{
	char buf[sizeof (cmdline)];
	char *p = buf;
	bool first = true;

	strlcpy(buf, cmdline, sizeof (buf));
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		char *tok = p;
		while (*p != '\0' && *p != ' ')
			p++;
		if (*p == ' ')
			*p++ = '\0';
		char *eq = strchr(tok, '=');
		if (eq == NULL) {
			/* QEMU -kernel puts the image's file name first. */
			if (first && strchr(tok, '/') != NULL)
				continue;
			if (first && strncmp(tok, "kernel", 6) == 0)
				continue;
			bail("unknown switch '%s'", tok);
		}
		first = false;
		*eq = '\0';
		const char *val = eq + 1;
		const ktunable_t *tu;
		if (strcmp(tok, "suite") == 0) {
			strlcpy(opt_suite, val, sizeof (opt_suite));
		} else if (strcmp(tok, "hz") == 0) {
			if (!parse_u32(val, &hz) || hz < 10 || hz > 10000)
				bail("bad value for hz: '%s' (10..10000)", val);
		} else if (strcmp(tok, "scale") == 0) {
			if (!parse_u32(val, &ktest_scale_pct) ||
			    ktest_scale_pct < 1 || ktest_scale_pct > 10000)
				bail("bad value for scale: '%s' (1..10000)", val);
		} else if (strcmp(tok, "panic_test") == 0) {
			if (strcmp(val, "list") != 0 &&
			    !ktest_suite_exists(val, true))
				bail("unknown panic test '%s'", val);
			strlcpy(opt_panic_test, val, sizeof (opt_panic_test));
		} else if (strcmp(tok, "bench") == 0) {
			if (!kbench_exists(val))
				bail("unknown benchmark '%s'", val);
			strlcpy(opt_bench, val, sizeof (opt_bench));
		} else if (strcmp(tok, "guest") == 0 &&
		    strncmp(val, "fuzz:", 5) == 0) {
			char *end;
			opt_fuzz_seed = strtoull(val + 5, &end, 0);
			if (end == val + 5 || *end != '\0')
				bail("bad seed in guest=%s (guest=fuzz:SEED)",
				    val);
			opt_fuzz_replay = true;
		} else if (strcmp(tok, "guest") == 0 && strcmp(val, "fuzz") == 0) {
			bail("guest=%s is the fuzzer's frame, nothing to run "
			    "alone: give guest=fuzz:SEED", val);
		} else if (strcmp(tok, "fuzz") == 0) {
			if (!parse_seeds(val, &opt_fuzz_first, &opt_fuzz_last))
				bail("bad value for fuzz: '%s' (A:B, A < B, at "
				    "most 10,000,000 seeds)", val);
		} else if (strcmp(tok, "guest") == 0) {
			bool mod = strcmp(val, "module") == 0 ||
			    strcmp(val, "batch") == 0;
			if (!mod && guest_find(val) == NULL)
				bail("unknown guest '%s' (a name from guest/, "
				    "module or batch)", val);
			if (mod && nbootmods == 0)
				bail("guest=%s but the loader gave no module", val);
			strlcpy(opt_guest, val, sizeof (opt_guest));
		} else if (strcmp(tok, "guest_cpus") == 0) {
			if (!parse_u32(val, &opt_guest_cpus) ||
			    opt_guest_cpus < 1 || opt_guest_cpus > 8)
				bail("bad value for guest_cpus: '%s' (1..8)", val);
		} else if (strcmp(tok, "guest_mem") == 0) {
			if (!parse_u32(val, &opt_guest_mem) ||
			    opt_guest_mem < 1 || opt_guest_mem > 1024)
				bail("bad value for guest_mem: '%s' (1..1024 "
				    "MiB)", val);
		} else if (strcmp(tok, "trace") == 0) {
			if (trace_select(val, true, true) < 0)
				bail("trace=%s: a pattern matches no probe (see "
				    "docs/tracing.md)", val);
			opt_trace = true;
		} else if (strcmp(tok, "trace_ring") == 0) {
			if (!parse_u32(val, &opt_trace_ring) ||
			    opt_trace_ring < 16)
				bail("bad value for trace_ring: '%s' (16 or more "
				    "records)", val);
		} else if (strcmp(tok, "monitor") == 0) {
			if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0)
				bail("bad value for monitor: '%s' (0 or 1)", val);
			mon_at_exit = strcmp(val, "1") == 0;
		} else if (strcmp(tok, "guest_timeout") == 0) {
			if (!parse_u32(val, &guest_timeout_s) ||
			    guest_timeout_s > 86400)
				bail("bad value for guest_timeout: '%s' (0..86400 "
				    "seconds)", val);
		} else if (strcmp(tok, "guest_param") == 0) {
			if (!parse_u32(val, &opt_guest_param))
				bail("bad value for guest_param: '%s'", val);
		} else if (strcmp(tok, "platform") == 0) {
			strlcpy(opt_platform, val, sizeof (opt_platform));
		} else if (strcmp(tok, "test_panic") == 0) {
			if (strcmp(val, "1") != 0 && strcmp(val, "pagefault") != 0)
				bail("bad value for test_panic: '%s' (1 or "
				    "pagefault)", val);
			strlcpy(opt_test_panic, val, sizeof (opt_test_panic));
		} else if ((tu = ktunable_find(tok)) != NULL) {
			if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0)
				bail("bad value for a switch: '%s' (0 or 1)",
				    val);
			*tu->tu_var = strcmp(val, "1") == 0;
		} else {
			bail("unknown switch '%s'", tok);
		}
	}
	/* Every suite named must exist. */
	if (opt_suite[0] != '\0' && strcmp(opt_suite, "all") != 0) {
		char s[sizeof (opt_suite)];
		strlcpy(s, opt_suite, sizeof (s));
		for (char *q = s; q != NULL && *q != '\0'; ) {
			char *comma = strchr(q, ',');
			if (comma != NULL)
				*comma = '\0';
			if (!ktest_suite_exists(q, false))
				bail("unknown suite '%s'", q);
			q = comma != NULL ? comma + 1 : NULL;
		}
	}
}

/* Nested on purpose, so the backtrace of test_panic=1 has some depth. */
static __attribute__((noinline)) void
test_panic_inner(void)
{
	if (strcmp(opt_test_panic, "pagefault") == 0)
		/* cppcheck-suppress nullPointer */
		*(volatile u64 *)NULL = 0x42;	/* caught by trap() */
	panic("test_panic: panicking on purpose (test_panic=1)");
}

static __attribute__((noinline)) void
test_panic_outer(void)
{
	test_panic_inner();
	barrier();
}

static void
main_thread(void *arg __unused)
{
	cmn_err(CE_NOTE, "bhyvelet: %d CPUs, %lu MiB free, hz=%u, "
	    "platform=%s", ncpus,
	    (pmem_pages_total() - pmem_pages_used()) >> 8, hz, opt_platform);
	if (opt_test_panic[0] != '\0')
		test_panic_outer();
	ktunable_list_set();
	mon_init();		/* the break-in key works from here on */
	if (opt_panic_test[0] != '\0')
		ktest_run_panic(opt_panic_test);	/* shuts down */
	if (opt_bench[0] != '\0')
		kbench_run(opt_bench);			/* shuts down */
	if (strcmp(opt_guest, "module") == 0 || strcmp(opt_guest, "batch") == 0)
		guest_run_modules(bootmods, nbootmods, opt_guest[0] == 'b',
		    opt_guest_cpus, opt_guest_mem, opt_guest_param);	/* shuts down */
	if ((opt_fuzz_replay || opt_fuzz_last != 0) && vmm_ops == NULL) {
		cmn_err(CE_WARN, "bhyvelet: no virtualization backend: nothing "
		    "to fuzz");
		kernel_exit(1);
	}
	if (opt_fuzz_replay)
		fuzz_replay(opt_fuzz_seed);			/* shuts down */
	if (opt_fuzz_last != 0)
		kernel_exit(fuzz_run(opt_fuzz_first, opt_fuzz_last, false, NULL) == 0 ?
		    0 : 1);
	if (opt_guest[0] != '\0')
		guest_run_builtin(opt_guest, opt_guest_param);	/* shuts down */
	if (opt_suite[0] != '\0')
		ktest_run(opt_suite);			/* shuts down */
	cmn_err(CE_NOTE, "bhyvelet: nothing to do (give suite=NAME or "
	    "guest=NAME); shutting down");
	kernel_exit(0);
}

void kmain(u32 magic, u32 mbinfo) __noreturn;
void
kmain(u32 magic, u32 mbinfo)
{
	/* %gs must point at a cpu_t before the first lock is taken. */
	cpus[0].cpu_self = &cpus[0];
	wrmsr(MSR_GS_BASE, (u64)(uintptr_t)&cpus[0]);
	console_init();
	kprintf("\n");		/* end whatever the loader left on the line */
	cmn_err(CE_NOTE, "bhyvelet booting");
	VERIFY(magic == MB_BOOT_MAGIC,
	    "kmain: not started by a multiboot loader (eax=0x%x)", magic);
	copy_cmdline(mbinfo);
	cmn_err(CE_NOTE, "cmdline: %s", cmdline);

	for (int i = 0; i < NCPU; i++) {
		spin_init(&cpus[i].cpu_runq.rq_lock, "runq");
		spin_init(&cpus[i].cpu_co_lock, "callout");
	}
	pmem_init(mbinfo);
	pmap_init();
	idt_init();
	cpu_setup_tables(&cpus[0]);
	kmem_init();
	fpu_init();
	fpu_cpu_init();
	vmm_init();
	vmm_cpu_init();
	parse_cmdline();
	apic_init();
	apic_timer_set_hz(hz);
	sched_init();
	mp_start_aps();
	trace_init();
	if (opt_trace_ring != 0)
		trace_set_limit(opt_trace_ring);
	if (opt_trace)
		trace_on = true;
	apic_cpu_init();
	sched_start_reaper();
	if (vmm_ops != NULL) {
		vm_limit_start();
		vm_cons_start();
	}
	thread_create_detached("main", main_thread, NULL, -1);
	sched_running = true;
	sched_cpu_start(&cpus[0]);
}
