/*
 * mb_acpi: the ACPI tables a QEMU PC has and the PM timer.  The RSDP is found
 * by a scan of 0xE0000-0xFFFFF on 16-byte boundaries; RSDP, RSDT, FADT and
 * MADT checksums; the MADT's local APICs (one enabled per CPU, distinct IDs)
 * and its one IOAPIC at 0xFEC00000; the FADT's PM timer block read with IN:
 * monotonic (24- or 32-bit wrap, FADT flag TMR_VAL_EXT) and near 3.579545 MHz
 * against 8254 channel 2.  Args: cpus=<N>.
 */

#include "mb.h"

#define PMTMR_HZ	3579545u
#define FADT_PM_TMR_BLK	76
#define FADT_PM_TMR_LEN	91
#define FADT_FLAGS	112
#define TMR_VAL_EXT	(1u << 8)

struct sdt {
	char sig[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem[6];
	char oem_table[8];
	uint32_t oem_rev;
	uint32_t creator;
	uint32_t creator_rev;
} __attribute__((packed));

static uint8_t
sum(const void *p, uint32_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len-- > 0)
		s = (uint8_t)(s + *b++);
	return s;
}

static const uint8_t *
find_rsdp(void)
{
	for (uint32_t a = 0xe0000; a < 0x100000; a += 16) {
		if (memcmp((const void *)a, "RSD PTR ", 8) == 0)
			return (const uint8_t *)a;
	}
	return NULL;
}

static const struct sdt *
find_table(const struct sdt *rsdt, const char *sig)
{
	const uint32_t *ent = (const uint32_t *)(rsdt + 1);
	uint32_t n = (rsdt->length - sizeof(*rsdt)) / 4;

	for (uint32_t i = 0; i < n; i++) {
		const struct sdt *t = (const struct sdt *)ent[i];

		if (memcmp(t->sig, sig, 4) == 0)
			return t;
	}
	return NULL;
}

static void
madt(const struct sdt *t, uint32_t cpus)
{
	const uint8_t *p = (const uint8_t *)t + 44, *end = (const uint8_t *)t + t->length;
	uint32_t lapics = 0, ioapics = 0, ioapic_addr = 0, ioapic_gsi = ~0u;
	uint8_t ids[256] = { 0 };
	int distinct = 1, lengths = 1;

	check_eq(*(const uint32_t *)((const uint8_t *)t + 36), LAPIC_BASE,
	    "MADT local APIC address 0xFEE00000");
	while (p + 2 <= end) {
		if (p[1] < 2 || p + p[1] > end) {
			lengths = 0;
			break;
		}
		if (p[0] == 0 && p[1] >= 8 && (p[4] & 1)) {
			lapics++;
			if (ids[p[3]]++)
				distinct = 0;
		} else if (p[0] == 1 && p[1] >= 12) {
			ioapics++;
			ioapic_addr = *(const uint32_t *)(p + 4);
			ioapic_gsi = *(const uint32_t *)(p + 8);
		}
		p += p[1];
	}
	check(lengths && p == end, "MADT entries fill the table exactly");
	check_eq(lapics, cpus, "MADT: %u enabled processor local APICs (cpus=)", cpus);
	check(distinct, "MADT: the local APIC IDs are distinct");
	check_eq(ioapics, 1, "MADT: one IOAPIC");
	check_eq(ioapic_addr, 0xfec00000, "MADT: the IOAPIC at 0xFEC00000");
	check_eq(ioapic_gsi, 0, "MADT: the IOAPIC's GSI base is 0");
}

/* PM timer ticks while channel 2 counts 50 ms. */
static uint32_t
pmtmr_per_50ms(uint16_t port, uint32_t mask)
{
	uint32_t a, b;

	pit2_start((uint16_t)(PIT_HZ / 20));
	a = inl(port);
	while (!pit2_done())
		pause();
	b = inl(port);
	return (b - a) & mask;
}

static void
pm_timer(const struct sdt *fadt)
{
	const uint8_t *f = (const uint8_t *)fadt;
	uint32_t blk = *(const uint32_t *)(f + FADT_PM_TMR_BLK);
	uint32_t mask = (*(const uint32_t *)(f + FADT_FLAGS) & TMR_VAL_EXT) ? ~0u : 0xffffffu;
	int monotonic = 1, moved = 0, rate = 0;

	if (!check(blk != 0 && blk < 0x10000, "FADT pm_tmr_blk (offset 76) is an I/O port"))
		return;
	check_eq(f[FADT_PM_TMR_LEN], 4, "FADT pm_tmr_len is 4");

	uint16_t port = (uint16_t)blk;
	uint32_t prev = inl(port) & mask;

	/* A step back is a difference in the top half of the counter's range. */
	for (int i = 0; i < 20000; i++) {
		uint32_t now = inl(port) & mask;
		uint32_t d = (now - prev) & mask;

		if (d > (mask >> 1))
			monotonic = 0;
		if (d != 0)
			moved = 1;
		prev = now;
	}
	check(monotonic, "PM timer is monotonic over 20000 reads (wrap handled)");
	check(moved, "PM timer advances");
	check((inl(port) & ~mask) == 0, "PM timer bits above its width read 0");

	/* Wide bounds: the two clocks are read by polling, maybe preempted. */
	for (int i = 0; i < 3 && !rate; i++) {
		uint32_t n = pmtmr_per_50ms(port, mask);

		rate = n > PMTMR_HZ / 20 * 3 / 4 && n < PMTMR_HZ / 20 * 5 / 4;
	}
	check(rate, "PM timer runs at 3.579545 MHz +-25%% (against 8254 channel 2)");
}

int
kmain(void)
{
	uint32_t cpus = mb_arg_u32("cpus", 0);
	const uint8_t *rsdp;

	kprintf("mb_acpi: ACPI tables and the PM timer\n");
	rsdp = find_rsdp();
	if (!check(rsdp != NULL, "RSDP found on a 16-byte boundary in 0xE0000-0xFFFFF"))
		return mb_finish();
	check_eq(sum(rsdp, 20), 0, "RSDP checksum (20 bytes)");
	if (rsdp[15] >= 2)
		check_eq(sum(rsdp, *(const uint32_t *)(rsdp + 20)), 0, "RSDP extended checksum");

	const struct sdt *rsdt = (const struct sdt *)*(const uint32_t *)(rsdp + 16);

	if (!check(memcmp(rsdt->sig, "RSDT", 4) == 0, "RSDT signature"))
		return mb_finish();
	check_eq(sum(rsdt, rsdt->length), 0, "RSDT checksum");

	const struct sdt *fadt = find_table(rsdt, "FACP");
	const struct sdt *apic = find_table(rsdt, "APIC");

	if (check(fadt != NULL, "RSDT lists a FADT (FACP)")) {
		check_eq(sum(fadt, fadt->length), 0, "FADT checksum");
		check(fadt->length >= 116, "FADT holds the ACPI 1.0 fields (>= 116 bytes)");
	}
	if (check(apic != NULL, "RSDT lists a MADT (APIC)")) {
		check_eq(sum(apic, apic->length), 0, "MADT checksum");
		madt(apic, cpus);
	}
	if (fadt != NULL)
		pm_timer(fadt);
	return mb_finish();
}
