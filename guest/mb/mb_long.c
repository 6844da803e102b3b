/*
 * mb_long: the kernel enters 64-bit long mode itself.  The 32-bit part
 * checks CPUID (LM, PAE), identity-maps the low 4 GiB with 2 MiB pages (the
 * APIC and IOAPIC pages included), enables the local APIC and calls
 * long_enter() (mb_long64.asm): CR4.PAE, CR3, EFER.LME, CR0.PG, a far jump to
 * the 64-bit code segment 0x18.  The 64-bit code prints its own checks
 * (EFER.LMA, 64-bit arithmetic, CR8 as the TPR both ways, CR8 holding and
 * then delivering a self-IPI through a 64-bit IDT), the summary, and exits
 * through port 0xf4 itself.
 */

#include "mb.h"

#define PTE_P		0x001u
#define PTE_W		0x002u
#define PTE_PS		0x080u
#define PTE_PCD		0x010u

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));

void long_enter(uint32_t cr3, int checks, int failures) __attribute__((noreturn));

static void
map_low_4g(void)
{
	pml4[0] = (uint32_t)pdpt | PTE_P | PTE_W;
	for (int i = 0; i < 4; i++) {
		pdpt[i] = (uint32_t)pd[i] | PTE_P | PTE_W;
		for (int j = 0; j < 512; j++) {
			uint64_t pa = ((uint64_t)i << 30) | ((uint64_t)j << 21);

			/* The top 512 MiB (APIC, IOAPIC, firmware) uncached. */
			pd[i][j] = pa | PTE_P | PTE_W | PTE_PS | (i == 3 && j >= 256 ? PTE_PCD : 0);
		}
	}
}

int
kmain(void)
{
	uint32_t r[4];

	kprintf("mb_long: entering 64-bit long mode\n");
	cpuid(0x80000000, 0, r);
	check(r[0] >= 0x80000001, "CPUID has leaf 0x80000001");
	cpuid(0x80000001, 0, r);
	check((r[3] & (1u << 29)) != 0, "CPUID.80000001:EDX.LM set");
	cpuid(1, 0, r);
	check((r[3] & (1u << 6)) != 0, "CPUID.1:EDX.PAE set");
	if (check_failures() != 0)
		return mb_finish();
	map_low_4g();
	lapic_enable();
	lapic_write(LAPIC_TPR, 0);
	long_enter((uint32_t)pml4, check_count(), check_failures());
}
