/*
 * QEMU's ACPI tables (vacpi.h), byte for byte where a guest can tell:
 * the values are those a QEMU 7.2 pc-i440fx guest reads (RSDT at the top
 * of its RAM, listing FACP, APIC, HPET and WAET; RSDP copied to 0xF59D0
 * by SeaBIOS). Differences: the tables sit together in one buffer after
 * the RSDP instead of high in RAM; the DSDT is an empty definition block
 * (QEMU's holds the AML for PCI, the ISA devices and _S5_; a kernel that
 * only finds tables by signature never reads it); there is no HPET table
 * (no HPET is emulated, so none may be advertised).
 *
 * Layout (offsets from buf): RSDP 0 (20 bytes), RSDT 32, then the FACS
 * at the next 64-byte aligned guest address (the spec wants it so), DSDT,
 * FADT, MADT, WAET.
 */
#include "vacpi.h"
#include "vpmtmr.h"
#include "../../tunable.h"

KTUNABLE_TEST(vacpi_inject_bad_checksum, "vacpi_build leaves the MADT's "
    "checksum one off");

#define	SDT_HDR_LEN	36
#define	RSDP_LEN	20
#define	OFF_RSDT	32
#define	RSDT_ENTRIES	3		/* FACP, APIC, WAET */
#define	RSDT_END	(OFF_RSDT + SDT_HDR_LEN + 4 * RSDT_ENTRIES)
#define	FACS_LEN	64
#define	FACS_SLACK	63		/* at most, to align the FACS */
#define	DSDT_LEN	SDT_HDR_LEN
#define	MADT_FIXED	(SDT_HDR_LEN + 8)
#define	MADT_TAIL	(12 + 5 * 10 + 6)	/* IOAPIC, 5 ISOs, NMI */
#define	WAET_LEN	40

/* The PCI interrupts QEMU's pc routes level-triggered (ACPI_BUILD_PCI_IRQS). */
static const u8 pci_irqs[] = { 5, 9, 10, 11 };

static void
put8(u8 *p, size_t off, u8 v)
{
	p[off] = v;
}

static void
put16(u8 *p, size_t off, u16 v)
{
	p[off] = (u8)v;
	p[off + 1] = (u8)(v >> 8);
}

static void
put32(u8 *p, size_t off, u32 v)
{
	for (int i = 0; i < 4; i++)
		p[off + i] = (u8)(v >> (8 * i));
}

static u8
checksum(const u8 *p, size_t len)
{
	u8 sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (u8)(sum + p[i]);
	return ((u8)-sum);
}

/* A table header as QEMU writes it: BOCHS / BXPC, revisions 1. */
static void
sdt_header(u8 *t, const char *sig, u32 len, u8 rev)
{
	memcpy(t, sig, 4);
	put32(t, 4, len);
	put8(t, 8, rev);
	memcpy(t + 10, "BOCHS ", 6);
	memcpy(t + 16, "BXPC    ", 8);
	put32(t, 24, 1);		/* OEM revision */
	memcpy(t + 28, "BXPC", 4);	/* creator */
	put32(t, 32, 1);		/* creator revision */
}

static void
sdt_sum(u8 *t)
{
	u32 len = (u32)t[4] | (u32)t[5] << 8 | (u32)t[6] << 16 |
	    (u32)t[7] << 24;

	t[9] = 0;
	t[9] = checksum(t, len);
}

static size_t
madt_len(int ncpus)
{
	return (MADT_FIXED + 8 * (size_t)ncpus + MADT_TAIL);
}

size_t
vacpi_size(int ncpus)
{
	return (RSDT_END + FACS_SLACK + FACS_LEN + DSDT_LEN + FADT_LEN +
	    madt_len(ncpus) + WAET_LEN);
}

static void
build_fadt(u8 *t, u32 facs, u32 dsdt)
{
	sdt_header(t, "FACP", FADT_LEN, 1);
	put32(t, FADT_FIRMWARE_CTRL, facs);
	put32(t, FADT_DSDT, dsdt);
	put8(t, 44, 1);				/* INT_MODEL: APIC */
	put16(t, FADT_SCI_INT, VACPI_SCI_IRQ);
	put32(t, 48, 0xb2);			/* SMI_CMD (APM port) */
	put8(t, 52, 0xf1);			/* ACPI_ENABLE */
	put8(t, 53, 0xf0);			/* ACPI_DISABLE */
	put32(t, FADT_PM1A_EVT_BLK, VPMTMR_PM_BASE);
	put32(t, FADT_PM1A_CNT_BLK, VPMTMR_PM_BASE + 4);
	put32(t, FADT_PM_TMR_BLK, VPMTMR_PORT);
	put32(t, FADT_GPE0_BLK, 0xafe0);
	put8(t, 88, 4);				/* PM1_EVT_LEN */
	put8(t, 89, 2);				/* PM1_CNT_LEN */
	put8(t, FADT_PM_TMR_LEN, VPMTMR_LEN);
	put8(t, 92, 4);				/* GPE0_BLK_LEN */
	put16(t, 96, 0x0fff);			/* P_LVL2_LAT: no C2 */
	put16(t, 98, 0x0fff);			/* P_LVL3_LAT: no C3 */
	put8(t, FADT_CENTURY, 0x32);		/* CMOS century, vrtc */
	/* WBINVD, PROC_C1, SLP_BUTTON, RTC_S4, USE_PLATFORM_CLOCK. */
	put32(t, FADT_FLAGS, 0x80a5);
	sdt_sum(t);
}

static void
build_madt(u8 *t, int ncpus)
{
	size_t len = madt_len(ncpus), off = MADT_FIXED;

	sdt_header(t, "APIC", (u32)len, 1);
	put32(t, 36, VACPI_LAPIC_ADDR);
	put32(t, 40, MADT_PCAT_COMPAT);
	for (int i = 0; i < ncpus; i++, off += 8) {
		put8(t, off, MADT_LAPIC);
		put8(t, off + 1, 8);
		put8(t, off + 2, (u8)i);	/* ACPI processor UID */
		put8(t, off + 3, (u8)i);	/* APIC ID */
		put32(t, off + 4, 1);		/* enabled */
	}
	put8(t, off, MADT_IOAPIC);
	put8(t, off + 1, 12);
	put8(t, off + 2, VACPI_IOAPIC_ID);
	put32(t, off + 4, VACPI_IOAPIC_ADDR);
	put32(t, off + 8, 0);			/* GSI base */
	off += 12;
	/* ISA IRQ0 (the PIT) is the IOAPIC's pin 2; flags: as the bus. */
	put8(t, off, MADT_ISO);
	put8(t, off + 1, 10);
	put32(t, off + 4, 2);
	off += 10;
	for (size_t i = 0; i < ARRAY_SIZE(pci_irqs); i++, off += 10) {
		put8(t, off, MADT_ISO);
		put8(t, off + 1, 10);
		put8(t, off + 3, pci_irqs[i]);
		put32(t, off + 4, pci_irqs[i]);
		put16(t, off + 8, 0x000d);	/* active high, level */
	}
	/* NMI on LINT1 of every processor (UID 0xff), conforming. */
	put8(t, off, MADT_LAPIC_NMI);
	put8(t, off + 1, 6);
	put8(t, off + 2, 0xff);
	put8(t, off + 5, 1);
	sdt_sum(t);
	if (vacpi_inject_bad_checksum)
		t[9]++;
}

size_t
vacpi_build(u8 *buf, size_t buflen, u64 buf_gpa, int ncpus, u64 *rsdp_gpa)
{
	size_t need = vacpi_size(ncpus < 1 ? 1 : ncpus);

	if (ncpus < 1 || ncpus > VACPI_MAX_CPUS || buflen < need ||
	    (buf_gpa & 15) != 0 || buf_gpa + need > (1ULL << 32))
		return (0);
	memset(buf, 0, need);
	u32 gpa = (u32)buf_gpa;
	size_t off_facs = ((gpa + RSDT_END + FACS_SLACK) & ~(u32)FACS_SLACK) -
	    gpa;
	size_t off_dsdt = off_facs + FACS_LEN, off_fadt = off_dsdt + DSDT_LEN;
	size_t off_madt = off_fadt + FADT_LEN;
	size_t off_waet = off_madt + madt_len(ncpus);

	/* FACS: no checksum; the hardware signature and wake vector 0. */
	u8 *facs = buf + off_facs;
	memcpy(facs, "FACS", 4);
	put32(facs, 4, FACS_LEN);

	sdt_header(buf + off_dsdt, "DSDT", DSDT_LEN, 1);
	sdt_sum(buf + off_dsdt);
	build_fadt(buf + off_fadt, gpa + (u32)off_facs, gpa + (u32)off_dsdt);
	build_madt(buf + off_madt, ncpus);

	/* WAET: the PM timer is good for one read (ACPI_PM_TIMER_GOOD). */
	sdt_header(buf + off_waet, "WAET", WAET_LEN, 1);
	put32(buf + off_waet, 36, 2);
	sdt_sum(buf + off_waet);

	u8 *rsdt = buf + OFF_RSDT;
	sdt_header(rsdt, "RSDT", SDT_HDR_LEN + 4 * RSDT_ENTRIES, 1);
	put32(rsdt, 36, gpa + (u32)off_fadt);
	put32(rsdt, 40, gpa + (u32)off_madt);
	put32(rsdt, 44, gpa + (u32)off_waet);
	sdt_sum(rsdt);

	memcpy(buf, "RSD PTR ", 8);
	memcpy(buf + 9, "BOCHS ", 6);
	put8(buf, 15, 0);			/* revision 0: ACPI 1.0 */
	put32(buf, 16, gpa + OFF_RSDT);
	buf[8] = checksum(buf, RSDP_LEN);
	*rsdp_gpa = buf_gpa;
	return (off_waet + WAET_LEN);
}
