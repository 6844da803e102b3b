/*
 * Just enough ACPI to find the CPUs: RSDP -> RSDT/XSDT -> MADT, the local
 * APIC entries in it, and the IOAPIC with the ISA interrupt overrides
 * (for the console's receive interrupt, ioapic.c).
 */
#include "cpu.h"
#include "console.h"
#include "apic.h"

/* Set by acpi_find_cpus (boot CPU, before the others start). */
paddr_t acpi_ioapic_pa;			/* 0: none in the MADT */
u32 acpi_ioapic_gsi_base;
u32 acpi_isa_gsi[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15 };
u16 acpi_isa_flags[16];			/* MPS INTI flags (0: bus default) */

struct rsdp {
	char sig[8];
	u8 checksum;
	char oem[6];
	u8 revision;
	u32 rsdt;
	u32 length;
	u64 xsdt;
	u8 xchecksum;
	u8 reserved[3];
} __packed;

struct sdt {
	char sig[4];
	u32 length;
	u8 revision;
	u8 checksum;
	char oem[6];
	char oemtable[8];
	u32 oemrev;
	u32 creator;
	u32 creatorrev;
} __packed;

static bool
checksum_ok(const void *p, size_t len)
{
	const u8 *b = p;
	u8 sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += b[i];
	return (sum == 0);
}

static const struct rsdp *
find_rsdp_in(paddr_t start, size_t len)
{
	for (paddr_t pa = start; pa < start + len; pa += 16) {
		const struct rsdp *r = phys_to_virt(pa);
		if (memcmp(r->sig, "RSD PTR ", 8) == 0 && checksum_ok(r, 20))
			return (r);
	}
	return (NULL);
}

static const struct sdt *
find_table(const struct rsdp *rsdp, const char *sig)
{
	bool x = rsdp->revision >= 2 && rsdp->xsdt != 0;
	const struct sdt *root = phys_to_virt(x ? rsdp->xsdt : rsdp->rsdt);
	size_t n = (root->length - sizeof (*root)) / (x ? 8 : 4);
	const u8 *ents = (const u8 *)(root + 1);

	for (size_t i = 0; i < n; i++) {
		u64 pa;
		if (x)
			memcpy(&pa, ents + i * 8, 8);
		else {
			u32 p32;
			memcpy(&p32, ents + i * 4, 4);
			pa = p32;
		}
		const struct sdt *t = phys_to_virt(pa);
		if (memcmp(t->sig, sig, 4) == 0 && checksum_ok(t, t->length))
			return (t);
	}
	return (NULL);
}

/* Fills apicids with the enabled CPUs' APIC ids; returns how many. */
int
acpi_find_cpus(u32 *apicids, int max)
{
	u16 ebda_seg = *(const u16 *)phys_to_virt(0x40e);
	const struct rsdp *rsdp = NULL;
	int n = 0;

	if (ebda_seg != 0)
		rsdp = find_rsdp_in((paddr_t)ebda_seg << 4, 1024);
	if (rsdp == NULL)
		rsdp = find_rsdp_in(0xe0000, 0x20000);
	if (rsdp == NULL) {
		cmn_err(CE_WARN, "acpi: no RSDP; running on the boot CPU only");
		return (0);
	}
	const struct sdt *madt = find_table(rsdp, "APIC");
	if (madt == NULL) {
		cmn_err(CE_WARN, "acpi: no MADT; running on the boot CPU only");
		return (0);
	}
	const u8 *p = (const u8 *)madt + sizeof (*madt) + 8;
	const u8 *end = (const u8 *)madt + madt->length;
	while (p + 2 <= end && p[1] >= 2) {
		if (p[0] == 1 && p[1] >= 12 && acpi_ioapic_pa == 0) {
			u32 addr, base;			/* the first IOAPIC */
			memcpy(&addr, p + 4, 4);
			memcpy(&base, p + 8, 4);
			acpi_ioapic_pa = addr;
			acpi_ioapic_gsi_base = base;
		}
		if (p[0] == 2 && p[1] >= 10 && p[2] == 0 && p[3] < 16) {
			u32 gsi;			/* an ISA override */
			memcpy(&gsi, p + 4, 4);
			acpi_isa_gsi[p[3]] = gsi;
			memcpy(&acpi_isa_flags[p[3]], p + 8, 2);
		}
		if (p[0] == 0 && p[1] >= 8) {		/* processor local APIC */
			u32 flags;
			memcpy(&flags, p + 4, 4);
			if ((flags & 1) != 0) {
				if (n < max)
					apicids[n] = p[3];
				n++;
			}
		}
		p += p[1];
	}
	if (n > max) {
		cmn_err(CE_NOTE, "acpi: %d CPUs, using the first %d", n, max);
		n = max;
	}
	return (n);
}
