/*
 * mb_smp: starting the other CPUs and IPIs between them.  The CPU count from
 * fw_cfg NB_CPUS and the MADT must equal the cmdline's cpus=; the real-mode
 * trampoline (mb_smp_ap.asm) is copied to 0x8000 and each AP of the MADT is
 * started with INIT and SIPI vector 0x08.  Each AP reports its APIC ID, then
 * waits in `sti; hlt`.  Then: a fixed IPI from the BSP to each AP, answered by
 * an IPI back; all-but-self and all-including-self shorthands (each CPU gets
 * one, the BSP none/one); a ring where each AP passes the IPI to the next.
 * Results are printed sorted once all APs have answered, never as they come.
 * Args: cpus=<N>.
 */

#include "mb.h"

#define AP_TRAMPOLINE	0x8000
#define MAX_CPUS	16
#define VEC_PING	0x60	/* BSP -> AP: answer */
#define VEC_ANSWER	0x61	/* AP -> BSP */
#define VEC_BUT_SELF	0x62
#define VEC_ALL		0x63
#define VEC_RING	0x64	/* AP i -> AP i+1, the last one -> BSP */

extern char ap_trampoline[], ap_trampoline_end[];
extern volatile uint32_t ap_next;
void ap_main(uint32_t number);

static uint8_t madt_ids[MAX_CPUS];	/* MADT order; [0] may be any CPU */
static int nmadt;
static uint8_t bsp_id;
static uint8_t ap_ids[MAX_CPUS];	/* sorted once all are up; [i] for AP i */
static int nap;

/* Written by the APs (index = arrival number), read by the BSP. */
static volatile uint8_t arrived_id[MAX_CPUS];
static volatile int up;
static volatile int pinged[MAX_CPUS], but_self[MAX_CPUS], all[MAX_CPUS], ring[MAX_CPUS];
static volatile int index_of_id[256];	/* APIC ID -> arrival number + 1 */

static void
ipi(uint8_t dest, uint32_t icr)
{
	lapic_write(LAPIC_ICR_HI, (uint32_t)dest << 24);
	lapic_write(LAPIC_ICR_LO, icr);
	lapic_icr_wait();
}

/*
 * Answers are counted in memory by the APs, the IPI only wakes the BSP: IPIs
 * of one vector arriving together coalesce in one IRR bit.
 */
static volatile int answers, bsp_but_self, bsp_all;

static void
answer(void)
{
	__atomic_add_fetch(&answers, 1, __ATOMIC_SEQ_CST);
	ipi(bsp_id, ICR_LEVEL_ASSERT | VEC_ANSWER);
}

static int
my_index(void)
{
	return index_of_id[lapic_read(LAPIC_ID) >> 24] - 1;
}

static void
ap_irq(struct trapframe *tf)
{
	int i = my_index();

	if (i < 0) {
		lapic_eoi();
		return;
	}
	switch (tf->vector) {
	case VEC_PING:
		pinged[i]++;
		break;
	case VEC_BUT_SELF:
		but_self[i]++;
		break;
	case VEC_ALL:
		all[i]++;
		break;
	case VEC_RING:
		ring[i]++;
		lapic_eoi();
		/* the next AP in APIC ID order, or back to the BSP */
		for (int k = 0; k < nap; k++) {
			if (ap_ids[k] == (uint8_t)(lapic_read(LAPIC_ID) >> 24)) {
				if (k + 1 < nap)
					ipi(ap_ids[k + 1], ICR_LEVEL_ASSERT | VEC_RING);
				else
					answer();
			}
		}
		return;
	}
	lapic_eoi();
	answer();
}

static void
bsp_irq(struct trapframe *tf)
{
	if ((uint8_t)(lapic_read(LAPIC_ID) >> 24) != bsp_id) {
		ap_irq(tf);
		return;
	}
	if (tf->vector == VEC_BUT_SELF)
		bsp_but_self++;
	else if (tf->vector == VEC_ALL)
		bsp_all++;
	lapic_eoi();
}

/* The AP's LINT0 stays masked (its INIT state): the 8259 is the BSP's. */
void
ap_main(uint32_t number)
{
	idt_load();
	lapic_write(LAPIC_SVR, 0x1ff);
	lapic_write(LAPIC_TPR, 0);
	if (number < MAX_CPUS) {
		uint8_t id = (uint8_t)(lapic_read(LAPIC_ID) >> 24);

		arrived_id[number] = id;
		index_of_id[id] = (int)number + 1;
		__atomic_add_fetch(&up, 1, __ATOMIC_SEQ_CST);
	}
	for (;;)
		__asm__ volatile("sti; hlt");
}

static int
find_madt(void)
{
	const uint8_t *rsdp = NULL;

	for (uint32_t a = 0xe0000; a < 0x100000 && rsdp == NULL; a += 16) {
		if (memcmp((const void *)a, "RSD PTR ", 8) == 0)
			rsdp = (const uint8_t *)a;
	}
	if (rsdp == NULL)
		return 0;

	const uint8_t *rsdt = (const uint8_t *)*(const uint32_t *)(rsdp + 16);
	uint32_t n = (*(const uint32_t *)(rsdt + 4) - 36) / 4;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *t = (const uint8_t *)((const uint32_t *)(rsdt + 36))[i];
		const uint8_t *p = t + 44, *end = t + *(const uint32_t *)(t + 4);

		if (memcmp(t, "APIC", 4) != 0)
			continue;
		for (; p + 2 <= end && p[1] >= 2; p += p[1]) {
			if (p[0] == 0 && (p[4] & 1) && nmadt < MAX_CPUS)
				madt_ids[nmadt++] = p[3];
		}
		return 1;
	}
	return 0;
}

static void
sort(uint8_t *v, int n)
{
	for (int i = 1; i < n; i++) {
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint8_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	}
}

/* INIT, 10 ms, SIPI; a second SIPI only if the AP has not come up. */
static void
start_ap(uint8_t id)
{
	int before = up;

	ipi(id, ICR_INIT | ICR_LEVEL_ASSERT);
	pit_delay_ticks(PIT_HZ / 100);
	ipi(id, ICR_STARTUP | (AP_TRAMPOLINE >> 12));
	for (int t = 0; t < 10 && up == before; t++)
		pit_delay_ticks(PIT_HZ / 1000);
	if (up == before)
		ipi(id, ICR_STARTUP | (AP_TRAMPOLINE >> 12));
}

static int
each_ap_once(volatile int *count)
{
	for (int i = 0; i < nap; i++) {
		if (count[index_of_id[ap_ids[i]] - 1] != 1)
			return 0;
	}
	return 1;
}

static void
start_aps(uint32_t cpus)
{
	uint32_t len = (uint32_t)(ap_trampoline_end - ap_trampoline);

	memcpy((void *)AP_TRAMPOLINE, ap_trampoline, len);
	check(memcmp((void *)AP_TRAMPOLINE, ap_trampoline, len) == 0,
	    "trampoline copied to 0x8000 (SIPI vector 0x08)");
	for (int i = 0; i < nmadt; i++) {
		if (madt_ids[i] != bsp_id)
			start_ap(madt_ids[i]);
	}
	for (int t = 0; t < 1000 && up < (int)cpus - 1; t++)
		pit_delay_ticks(PIT_HZ / 1000);
	pit_delay_ticks(PIT_HZ / 100);		/* one that came up twice shows now */
	check_eq((uint32_t)up, cpus - 1, "%u APs started", cpus - 1);

	nap = up < MAX_CPUS ? up : MAX_CPUS;
	for (int i = 0; i < nap; i++)
		ap_ids[i] = arrived_id[i];
	sort(ap_ids, nap);

	uint8_t want[MAX_CPUS];
	int nwant = 0, same;

	for (int i = 0; i < nmadt; i++) {
		if (madt_ids[i] != bsp_id)
			want[nwant++] = madt_ids[i];
	}
	sort(want, nwant);
	same = nwant == nap && memcmp(want, ap_ids, (size_t)nap) == 0;
	kprintf("%s - APs report APIC IDs", same ? "ok" : "FAIL");
	for (int i = 0; i < nap; i++)
		kprintf(" %u", ap_ids[i]);
	kprintf(" (the MADT's but the BSP's)\n");
	if (!same)
		check(0, "AP APIC IDs as in the MADT");
}

int
kmain(void)
{
	uint32_t cpus = mb_arg_u32("cpus", 0);
	uint16_t nb;

	kprintf("mb_smp: INIT/SIPI and IPIs between CPUs\n");
	/* One handler table for all CPUs; bsp_irq sends the APs' to ap_irq. */
	for (int v = VEC_PING; v <= VEC_RING; v++)
		trap_set_handler(v, bsp_irq);
	lapic_enable();
	lapic_write(LAPIC_TPR, 0);
	bsp_id = (uint8_t)(lapic_read(LAPIC_ID) >> 24);
	fwcfg_select(FW_CFG_NB_CPUS);
	fwcfg_read(&nb, sizeof(nb));
	check(cpus >= 2 && cpus <= MAX_CPUS, "cmdline has cpus=<2..%u>", MAX_CPUS);
	check_eq(nb, cpus, "fw_cfg NB_CPUS = cpus=%u", cpus);
	check(find_madt(), "MADT found");
	check_eq((uint32_t)nmadt, cpus, "MADT lists %u enabled CPUs", cpus);
	check(nmadt > 0 && madt_ids[0] == bsp_id, "the BSP is the MADT's first CPU");
	if (check_failures() != 0)
		return mb_finish();

	start_aps(cpus);
	if (nap == 0)
		return mb_finish();

	for (int i = 0; i < nap; i++) {
		int want = answers + 1;

		ipi(ap_ids[i], ICR_LEVEL_ASSERT | VEC_PING);
		check(wait_for(&answers, want, 500), "fixed IPI to APIC ID %u wakes it; it answers",
		    ap_ids[i]);
	}
	check(each_ap_once(pinged), "each AP got its fixed IPI once");

	answers = 0;
	ipi(0, ICR_ALL_BUT_SELF | ICR_LEVEL_ASSERT | VEC_BUT_SELF);
	wait_for(&answers, nap, 500);
	check_eq((uint32_t)answers, (uint32_t)nap, "all-but-self: every AP answers");
	check(each_ap_once(but_self), "all-but-self: each AP got it once");
	wait_for(&bsp_but_self, 1, 50);		/* IF may not have been set yet */
	check_eq((uint32_t)bsp_but_self, 0, "all-but-self: not the BSP");

	answers = 0;
	ipi(0, ICR_ALL | ICR_LEVEL_ASSERT | VEC_ALL);
	wait_for(&answers, nap, 500);
	check_eq((uint32_t)answers, (uint32_t)nap, "all-including-self: every AP answers");
	check(each_ap_once(all), "all-including-self: each AP got it once");
	wait_for(&bsp_all, 1, 100);
	check_eq((uint32_t)bsp_all, 1, "all-including-self: the BSP got it once");

	answers = 0;
	ipi(ap_ids[0], ICR_LEVEL_ASSERT | VEC_RING);
	check(wait_for(&answers, 1, 500), "ring: AP to AP in APIC ID order, back to the BSP");
	check(each_ap_once(ring), "ring: each AP passed it on once");
	return mb_finish();
}
