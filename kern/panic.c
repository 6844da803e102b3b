/*
 * panic(), backtraces and the kernel symbol table.
 *
 * The symbol table is made at build time (scripts/mksyms.sh) from the
 * first link of the kernel and linked into the .ksyms section on the
 * second link, which changes no text address (see kern/linker.ld).
 */
#include "panic.h"
#include "mon/mon.h"
#include "console.h"
#include "cpu.h"
#include "x86.h"
#include "trap.h"
#include "apic.h"

struct ksym {
	u64 ks_addr;
	u32 ks_name;		/* offset in ksym_names */
	u32 ks_pad;
};

extern const struct ksym ksym_table[];
extern const u64 ksym_count;
extern const char ksym_names[];
extern char __text_start[], __text_end[];

volatile int panicking;

void regs_capture(struct regs *);
static volatile int panic_cpu = -1;

const char *
ksym_lookup(uintptr_t addr, uintptr_t *off)
{
	u64 lo = 0, hi = ksym_count;

	if (addr < (uintptr_t)__text_start || addr >= (uintptr_t)__text_end ||
	    ksym_count == 0)
		return (NULL);
	/* Last symbol whose address is <= addr. */
	while (hi - lo > 1) {
		u64 mid = (lo + hi) / 2;
		if (ksym_table[mid].ks_addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (ksym_table[lo].ks_addr > addr)
		return (NULL);
	*off = addr - ksym_table[lo].ks_addr;
	return (&ksym_names[ksym_table[lo].ks_name]);
}

uintptr_t
ksym_addr(const char *name)
{
	for (u64 i = 0; i < ksym_count; i++) {
		if (strcmp(&ksym_names[ksym_table[i].ks_name], name) == 0)
			return (ksym_table[i].ks_addr);
	}
	return (0);
}

static void
print_addr(int n, uintptr_t pc)
{
	uintptr_t off = 0;
	const char *name = ksym_lookup(pc, &off);

	if (name != NULL)
		kprintf("  #%d 0x%lx %s+0x%lx\n", n, pc, name, off);
	else
		kprintf("  #%d 0x%lx ?\n", n, pc);
}

/*
 * Walk the frame-pointer chain (the kernel is built with frame pointers).
 * Stop at a zero return address (thread and CPU start push one), or when
 * the chain leaves the kernel's address space.
 */
static void
backtrace_walk(uintptr_t fp, int first, int max)
{
	for (int n = first; n < first + max; n++) {
		if (fp < KPM_BASE || (fp & 7) != 0)
			break;
		uintptr_t pc = ((uintptr_t *)fp)[1];
		if (pc == 0)
			break;
		print_addr(n, pc);
		fp = ((uintptr_t *)fp)[0];
	}
}

__noreturn void
kernel_shutdown(int status)
{
	const char *s = "Shutdown";

	console_flush();
	/* QEMU: isa-debug-exit at 0xf4 (exit code (v << 1) | 1). */
	outb(0xf4, (u8)status);
	/* Bochs: the shutdown port. */
	while (*s != '\0')
		outb(0x8900, (u8)*s++);
	for (;;) {
		intr_disable();
		__asm__ __volatile__("hlt");
	}
}

__noreturn void
kernel_exit(int status)
{
	if (mon_at_exit)
		mon_final(status);
	kprintf("# bhyvelet: shutdown status=%d\n", status);
	kernel_shutdown(status);
}

static void
panic_common(const struct regs *rp, const char *fmt, va_list ap)
{
	intr_disable();
	int me = (CPU != NULL) ? CPU->cpu_id : 0;

	/* Only the first CPU to panic reports; the others stop here. */
	if (atomic_cas(&panic_cpu, -1, me) != -1) {
		for (;;)
			__asm__ __volatile__("cli; hlt");
	}
	panicking = 1;
	apic_panic_others();

	kthread_t *t = CPU != NULL ? curthread : NULL;
	kprintf("\npanic[cpu%d]/thread=%p (%s): ", me, (void *)t,
	    t != NULL ? t->t_name : "-");
	vkprintf(fmt, ap);
	kprintf("\n");
	dump_regs(rp);
	kprintf("backtrace:\n");
	print_addr(0, rp->rip);
	backtrace_walk(rp->rbp, 1, 32);
	kprintf("# bhyvelet: shutdown status=panic\n");
	kernel_shutdown(3);
}

__noreturn void
panic(const char *fmt, ...)
{
	struct regs r;
	va_list ap;

	regs_capture(&r);
	va_start(ap, fmt);
	panic_common(&r, fmt, ap);
	va_end(ap);
	kernel_shutdown(3);
}

__noreturn void
panic_regs(const struct regs *rp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	panic_common(rp, fmt, ap);
	va_end(ap);
	kernel_shutdown(3);
}
