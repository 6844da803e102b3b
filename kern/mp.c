/*
 * Starting the other CPUs. The boot CPU copies the trampoline below 1 MiB,
 * and for each CPU in the MADT sends INIT-SIPI-SIPI and waits until the CPU
 * reports in from mp_ap_entry(). One CPU at a time: they share the
 * trampoline's data block.
 */
#include "cpu.h"
#include "x86.h"
#include "apic.h"
#include "pmem.h"
#include "panic.h"
#include "console.h"
#include "fpu.h"
#include "vmm/vmm.h"

#define	TRAMPOLINE_BASE	0x8000

struct trampoline_data {	/* at TRAMPOLINE_BASE + 8, kern/trampoline.asm */
	u64 cr3;
	u64 efer;
	u64 stack;
	u64 entry;
	u64 arg;
};

extern const char trampoline_start[], trampoline_end[];
extern char boot_pml4[];

static void
mp_ap_entry(cpu_t *cp)
{
	extern void pmap_activate(void);

	/* First: locks and kprintf find the CPU through %gs. */
	wrmsr(MSR_GS_BASE, (u64)(uintptr_t)cp);
	pmap_activate();		/* leave the boot page tables */
	cpu_setup_tables(cp);
	fpu_cpu_init();
	vmm_cpu_init();
	apic_cpu_init();
	sched_cpu_start(cp);		/* sets cpu_ready, never returns */
}

void
mp_start_aps(void)
{
	u32 ids[NCPU];
	int n = acpi_find_cpus(ids, NCPU);
	u32 me = apic_id();
	size_t len = (size_t)(trampoline_end - trampoline_start);

	cpus[0].cpu_apicid = me;
	if (n <= 1)
		return;
	VERIFY(len <= PAGESIZE, "mp: trampoline too large");
	memcpy(phys_to_virt(TRAMPOLINE_BASE), trampoline_start, len);
	struct trampoline_data *td = phys_to_virt(TRAMPOLINE_BASE + 8);

	for (int i = 0; i < n; i++) {
		if (ids[i] == me)
			continue;
		cpu_t *cp = &cpus[ncpus];
		cp->cpu_id = ncpus;
		cp->cpu_apicid = ids[i];
		/* The AP runs on its idle thread's stack from the start. */
		extern kthread_t *sched_make_idle(cpu_t *);
		kthread_t *idle = sched_make_idle(cp);

		td->cr3 = (u64)(uintptr_t)boot_pml4;	/* low = physical */
		td->efer = EFER_LME | (rdmsr(MSR_EFER) & EFER_NXE);
		td->stack = idle->t_stkbase + idle->t_stksize - 16;
		td->entry = (u64)(uintptr_t)mp_ap_entry;
		td->arg = (u64)(uintptr_t)cp;
		membar();

		apic_send_init(ids[i]);
		udelay(10000);
		apic_send_sipi(ids[i], TRAMPOLINE_BASE >> 12);
		udelay(200);
		apic_send_sipi(ids[i], TRAMPOLINE_BASE >> 12);
		u64 deadline = gethrtime() + 2000000000ULL;
		while (!cp->cpu_ready && gethrtime() < deadline)
			cpu_pause();
		if (!cp->cpu_ready) {
			cmn_err(CE_WARN,
			    "mp: cpu with APIC id %u did not start", ids[i]);
			continue;
		}
		ncpus++;
	}
	cmn_err(CE_NOTE, "mp: %d CPUs up", ncpus);
}
