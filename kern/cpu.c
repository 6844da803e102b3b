/*
 * Descriptor tables. Every CPU has its own GDT and TSS (the TSS holds the
 * CPU's interrupt stacks for double faults and NMIs); all share one IDT.
 */
#include "cpu.h"
#include "x86.h"
#include "trap.h"
#include "pmem.h"
#include "panic.h"

cpu_t cpus[NCPU];
int ncpus = 1;

struct gate {
	u16 off_lo;
	u16 sel;
	u8 ist;
	u8 type;
	u16 off_mid;
	u32 off_hi;
	u32 reserved;
} __packed;

struct dtr {
	u16 limit;
	u64 base;
} __packed;

static struct gate idt[256] __aligned(16);
extern const u64 isr_table[256];

#define	IST_DBLFLT	1
#define	IST_NMI		2
#define	IST_STACK_SIZE	(2 * PAGESIZE)

void
idt_init(void)
{
	for (int v = 0; v < 256; v++) {
		u64 off = isr_table[v];
		idt[v].off_lo = off & 0xffff;
		idt[v].sel = SEL_KCODE;
		idt[v].ist = 0;
		idt[v].type = 0x8e;		/* present, interrupt gate */
		idt[v].off_mid = (off >> 16) & 0xffff;
		idt[v].off_hi = off >> 32;
		idt[v].reserved = 0;
	}
	idt[T_DBLFLT].ist = IST_DBLFLT;
	idt[T_NMI].ist = IST_NMI;
}

void
cpu_setup_tables(cpu_t *cp)
{
	struct dtr gdtr, idtr;

	cp->cpu_self = cp;
	if (cp->cpu_ist_stacks == NULL) {
		paddr_t pa = page_alloc_contig(2 * IST_STACK_SIZE / PAGESIZE,
		    PAGESIZE, KM_PANIC);
		cp->cpu_ist_stacks = phys_to_virt(pa);
	}
	u64 ist = (u64)cp->cpu_ist_stacks;
	memset(&cp->cpu_tss, 0, sizeof (cp->cpu_tss));
	cp->cpu_tss.ist[IST_DBLFLT - 1] = ist + IST_STACK_SIZE;
	cp->cpu_tss.ist[IST_NMI - 1] = ist + 2 * IST_STACK_SIZE;
	cp->cpu_tss.iomap_base = sizeof (struct tss);

	u64 tss = (u64)&cp->cpu_tss;
	u64 limit = sizeof (struct tss) - 1;
	cp->cpu_gdt[0] = 0;
	cp->cpu_gdt[1] = 0x00af9a000000ffffUL;	/* 0x08 kernel code, L=1 */
	cp->cpu_gdt[2] = 0x00cf92000000ffffUL;	/* 0x10 kernel data */
	cp->cpu_gdt[3] = (limit & 0xffff) | ((tss & 0xffffff) << 16) |
	    (0x89UL << 40) | (((limit >> 16) & 0xf) << 48) |
	    (((tss >> 24) & 0xff) << 56);	/* 0x18 available 64-bit TSS */
	cp->cpu_gdt[4] = tss >> 32;
	cp->cpu_gdt[5] = 0;

	gdtr.limit = 6 * 8 - 1;
	gdtr.base = (u64)cp->cpu_gdt;
	idtr.limit = sizeof (idt) - 1;
	idtr.base = (u64)idt;
	__asm__ __volatile__(
	    "lgdt %0\n\t"
	    "pushq %1\n\t"
	    "leaq 1f(%%rip), %%rax\n\t"
	    "pushq %%rax\n\t"
	    "lretq\n"
	    "1:\n\t"
	    "movl %2, %%eax\n\t"
	    "movl %%eax, %%ds\n\t"
	    "movl %%eax, %%es\n\t"
	    "movl %%eax, %%ss\n\t"
	    "xorl %%eax, %%eax\n\t"
	    "movl %%eax, %%fs\n\t"
	    "movl %%eax, %%gs\n\t"
	    "ltr %w3\n\t"
	    "lidt %4"
	    : : "m"(gdtr), "i"(SEL_KCODE), "i"(SEL_KDATA), "r"(SEL_TSS),
	    "m"(idtr) : "rax", "memory");
	/* Loading %gs zeroed the GS base: set it after. */
	wrmsr(MSR_GS_BASE, (u64)cp);
}
