/*
 * trap(): every exception and interrupt lands here from kern/intr.asm.
 * Exceptions in the kernel are fatal: they panic with the registers and a
 * backtrace. Interrupts go to their handler; on the way out, a switch asked
 * for by the clock or an IPI happens here if the thread allows preemption.
 */
#include "trap.h"
#include "cpu.h"
#include "x86.h"
#include "apic.h"
#include "panic.h"
#include "console.h"

static intr_handler_t handlers[256];

static const char *const exc_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint",
	"#OF overflow", "#BR bound range", "#UD invalid opcode",
	"#NM device not available", "#DF double fault", "coprocessor overrun",
	"#TS invalid TSS", "#NP segment not present", "#SS stack fault",
	"#GP general protection", "#PF page fault", "reserved 15",
	"#MF x87 error", "#AC alignment check", "#MC machine check",
	"#XM SIMD error", "#VE virtualization", "#CP control protection",
};

void
intr_register(int vector, intr_handler_t h)
{
	VERIFY(handlers[vector] == NULL, "intr_register: vector %d taken",
	    vector);
	handlers[vector] = h;
}

void
dump_regs(const struct regs *r)
{
	kprintf("rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n",
	    r->rax, r->rbx, r->rcx, r->rdx);
	kprintf("rsi=%016lx rdi=%016lx rbp=%016lx rsp=%016lx\n",
	    r->rsi, r->rdi, r->rbp, r->rsp);
	kprintf("r8 =%016lx r9 =%016lx r10=%016lx r11=%016lx\n",
	    r->r8, r->r9, r->r10, r->r11);
	kprintf("r12=%016lx r13=%016lx r14=%016lx r15=%016lx\n",
	    r->r12, r->r13, r->r14, r->r15);
	kprintf("rip=%016lx cs=%lx rflags=%lx ss=%lx", r->rip, r->cs,
	    r->rflags, r->ss);
	if (r->vector != ~0UL)
		kprintf(" vector=%lu err=%lx", r->vector, r->err);
	kprintf("\n");
	kprintf("cr0=%lx cr2=%lx cr3=%lx cr4=%lx\n", get_cr0(), get_cr2(),
	    get_cr3(), get_cr4());
}

static void
exception(struct regs *r)
{
	const char *name = r->vector < 32 && exc_names[r->vector] != NULL ?
	    exc_names[r->vector] : "exception";

	if (r->vector == T_PGFLT) {
		panic_regs(r, "trap: %s at rip 0x%lx, address 0x%lx (%s, %s)",
		    name, r->rip, get_cr2(),
		    (r->err & 1) ? "protection" : "not present",
		    (r->err & 2) ? "write" : (r->err & 16) ? "fetch" : "read");
	}
	panic_regs(r, "trap: %s at rip 0x%lx, error 0x%lx", name, r->rip,
	    r->err);
}

void
trap(struct regs *r)
{
	int v = (int)r->vector;

	if (v < 32 && v != T_NMI) {
		exception(r);
		return;
	}
	if (v == T_NMI || v == VEC_PANIC) {
		/* Another CPU panicked: stop here, quietly. */
		for (;;)
			__asm__ __volatile__("cli; hlt");
	}
	cpu_t *cp = CPU;
	cp->cpu_nintr++;
	cp->cpu_intr_depth++;
	/* The interrupted thread may be in the middle of an inline ctxop
	 * edit: a handler's ctxop_attach/detach must meet the checks. */
	kthread_t *ctx_fast = cp->cpu_ctx_fast;
	cp->cpu_ctx_fast = NULL;
	if (handlers[v] != NULL)
		handlers[v](r);
	else if (v != VEC_SPURIOUS)
		cmn_err(CE_WARN, "trap: unexpected interrupt %d", v);
	if (v != VEC_SPURIOUS)
		apic_eoi();
	cp->cpu_ctx_fast = ctx_fast;
	cp->cpu_intr_depth--;

	/*
	 * Preempt on the way out. Interrupts are off (interrupt gate) and the
	 * interrupted context had them on, so no spin lock is held.
	 */
	if (cp->cpu_runrun && thread_preemptible(cp->cpu_thread) &&
	    cp->cpu_intr_depth == 0)
		preempt();
}
