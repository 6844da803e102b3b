/*
 * Suite "vio", the ACPI tables (kern/vmm/io/vacpi.c) and the PM timer
 * (vpmtmr.c). The tables are read back the way guest/mb/mb_acpi.c reads
 * them under plain QEMU (a scan for the RSDP on 16-byte boundaries, the
 * RSDT's pointers as guest-physical addresses into the buffer) and, for
 * 2 CPUs, compared with the bytes a QEMU 7.2 guest reads. The PM timer
 * runs on a fake clock.
 */
#include "ktest.h"
#include "vio_test.h"
#include "../kern/kmem.h"
#include "../kern/vmm/io/vacpi.h"
#include "../kern/vmm/io/vpmtmr.h"

extern bool vacpi_inject_bad_checksum;

#define	NS	1000000000ULL

struct tables {
	const u8 *buf;
	size_t len;
	u64 gpa;
};

static u32
get32(const u8 *p)
{
	return ((u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 |
	    (u32)p[3] << 24);
}

static u8
sum(const u8 *p, size_t len)
{
	u8 s = 0;

	while (len-- > 0)
		s = (u8)(s + *p++);
	return (s);
}

/* The bytes at guest-physical gpa, len of them inside the buffer, or NULL. */
static const u8 *
at(const struct tables *t, u64 gpa, size_t len)
{
	if (gpa < t->gpa || gpa + len > t->gpa + t->len)
		return (NULL);
	return (t->buf + (gpa - t->gpa));
}

/* A table by signature through the RSDT, header and checksum checked. */
static const u8 *
find(const struct tables *t, const u8 *rsdt, const char *sig,
    const char **why)
{
	u32 n = (get32(rsdt + 4) - 36) / 4;

	for (u32 i = 0; i < n; i++) {
		const u8 *h = at(t, get32(rsdt + 36 + 4 * i), 36);
		if (h == NULL) {
			*why = "an RSDT entry points outside the tables";
			return (NULL);
		}
		if (memcmp(h, sig, 4) != 0)
			continue;
		if (at(t, get32(rsdt + 36 + 4 * i), get32(h + 4)) == NULL) {
			*why = "a table runs past the buffer";
			return (NULL);
		}
		return (h);
	}
	*why = "a table is not in the RSDT";
	return (NULL);
}

/*
 * What mb_acpi.c checks, and more of the layout; NULL if all is well,
 * else what is wrong.
 */
static const char *
acpi_check(const struct tables *t, int ncpus)
{
	const u8 *rsdp = NULL;
	const char *why = NULL;

	for (u64 a = (t->gpa + 15) & ~15ULL; a + 20 <= t->gpa + t->len;
	    a += 16) {
		if (memcmp(at(t, a, 8), "RSD PTR ", 8) == 0) {
			rsdp = at(t, a, 20);
			break;
		}
	}
	if (rsdp == NULL)
		return ("no RSDP on a 16-byte boundary");
	if (sum(rsdp, 20) != 0)
		return ("RSDP checksum");
	if (rsdp[15] != 0)
		return ("RSDP revision is not QEMU's 0");
	const u8 *rsdt = at(t, get32(rsdp + 16), 36);
	if (rsdt == NULL || memcmp(rsdt, "RSDT", 4) != 0)
		return ("RSDT signature");
	if (at(t, get32(rsdp + 16), get32(rsdt + 4)) == NULL ||
	    sum(rsdt, get32(rsdt + 4)) != 0)
		return ("RSDT checksum");
	const u8 *fadt = find(t, rsdt, "FACP", &why);
	const u8 *madt = find(t, rsdt, "APIC", &why);
	const u8 *waet = find(t, rsdt, "WAET", &why);
	if (fadt == NULL || madt == NULL || waet == NULL)
		return (why);
	if (sum(fadt, get32(fadt + 4)) != 0)
		return ("FADT checksum");
	if (sum(madt, get32(madt + 4)) != 0)
		return ("MADT checksum");
	if (sum(waet, get32(waet + 4)) != 0)
		return ("WAET checksum");
	if (get32(fadt + 4) < FADT_LEN)
		return ("FADT shorter than ACPI 1.0's 116 bytes");
	if (get32(fadt + FADT_PM_TMR_BLK) != VPMTMR_PORT ||
	    fadt[FADT_PM_TMR_LEN] != 4)
		return ("FADT PM timer is not 4 ports at 0x608");
	if (get32(fadt + FADT_FLAGS) & FADT_F_TMR_VAL_EXT)
		return ("FADT says 32-bit timer; PIIX4's is 24-bit");
	u64 facs_gpa = get32(fadt + FADT_FIRMWARE_CTRL);
	const u8 *facs = at(t, facs_gpa, 64);
	if (facs == NULL || (facs_gpa & 63) != 0 ||
	    memcmp(facs, "FACS", 4) != 0 || get32(facs + 4) != 64)
		return ("FACS missing, misaligned or malformed");
	const u8 *dsdt = at(t, get32(fadt + FADT_DSDT), 36);
	if (dsdt == NULL || memcmp(dsdt, "DSDT", 4) != 0 ||
	    sum(dsdt, get32(dsdt + 4)) != 0)
		return ("DSDT missing or its checksum");

	/* MADT: entries fill it; CPUs, one IOAPIC, QEMU's overrides. */
	if (get32(madt + 36) != VACPI_LAPIC_ADDR ||
	    get32(madt + 40) != MADT_PCAT_COMPAT)
		return ("MADT local APIC address or flags");
	const u8 *p = madt + 44, *end = madt + get32(madt + 4);
	int lapics = 0, ioapics = 0, isos = 0, nmis = 0;
	u8 ids[256] = { 0 };
	while (p + 2 <= end) {
		if (p[1] < 2 || p + p[1] > end)
			return ("MADT entry lengths");
		if (p[0] == MADT_LAPIC && p[1] == 8) {
			if (p[2] != lapics || p[3] != lapics ||
			    get32(p + 4) != 1 || ids[p[3]]++)
				return ("MADT local APIC not enabled with "
				    "UID = ID = index");
			lapics++;
		} else if (p[0] == MADT_IOAPIC && p[1] == 12) {
			if (p[2] != VACPI_IOAPIC_ID ||
			    get32(p + 4) != VACPI_IOAPIC_ADDR ||
			    get32(p + 8) != 0)
				return ("MADT IOAPIC id/address/GSI base");
			ioapics++;
		} else if (p[0] == MADT_ISO && p[1] == 10) {
			isos++;
		} else if (p[0] == MADT_LAPIC_NMI && p[1] == 6) {
			nmis++;
		} else {
			return ("MADT entry of an unexpected type");
		}
		p += p[1];
	}
	if (p != end)
		return ("MADT entries do not fill the table");
	if (lapics != ncpus)
		return ("MADT local APIC count is not the vCPU count");
	if (ioapics != 1 || isos != 5 || nmis != 1)
		return ("MADT IOAPIC/override/NMI counts");
	return (NULL);
}

static u8 *
build(int ncpus, u64 gpa, struct tables *t, size_t *alloc)
{
	*alloc = vacpi_size(ncpus);
	u8 *buf = kmem_zalloc(*alloc, KM_SLEEP);
	u64 rsdp = 0;

	t->buf = buf;
	t->gpa = gpa;
	t->len = vacpi_build(buf, *alloc, gpa, ncpus, &rsdp);
	KT_EXPECT(t->len != 0 && t->len <= *alloc && rsdp == gpa,
	    "vacpi_build(%d CPUs at 0x%lx) gave %lu bytes, RSDP 0x%lx", ncpus,
	    gpa, t->len, rsdp);
	return (buf);
}

KTEST(vio, acpi_tables_cpus)
{
	static const int cpus[] = { 1, 2, 4, 8, VACPI_MAX_CPUS };
	static const u64 gpas[] = { VACPI_RSDP_GPA, VACPI_AREA_START,
	    0xf0010, 0xfff00 - 0x1000 };

	for (size_t i = 0; i < ARRAY_SIZE(cpus); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(gpas); j++) {
			struct tables t;
			size_t alloc;
			u8 *buf = build(cpus[i], gpas[j], &t, &alloc);
			const char *bad = t.len ? acpi_check(&t, cpus[i]) :
			    "not built";
			KT_EXPECT(bad == NULL, "%d CPUs at 0x%lx: %s", cpus[i],
			    gpas[j], bad);
			KT_EXPECT(gpas[j] + t.len <= VACPI_AREA_END ||
			    cpus[i] > 8, "%d CPUs at 0x%lx end past 1 MiB",
			    cpus[i], gpas[j]);
			kmem_free(buf, alloc);
		}
	}
	ktest_note("tables: %lu bytes for 1 CPU, %lu for %d",
	    vacpi_size(1), vacpi_size(VACPI_MAX_CPUS), VACPI_MAX_CPUS);
}

/* The MADT and FADT a QEMU 7.2 guest reads (-smp 2, pc-i440fx-7.2). */
static const u8 qemu_madt_2cpus[128] = {
	'A', 'P', 'I', 'C', 0x80, 0, 0, 0, 0x01, 0x77, 'B', 'O', 'C', 'H',
	'S', ' ', 'B', 'X', 'P', 'C', ' ', ' ', ' ', ' ', 1, 0, 0, 0,
	'B', 'X', 'P', 'C', 1, 0, 0, 0,
	0x00, 0x00, 0xe0, 0xfe, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x08, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x08, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x0c, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xfe, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x0a, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x0a, 0x00, 0x05, 0x05, 0x00, 0x00, 0x00, 0x0d, 0x00,
	0x02, 0x0a, 0x00, 0x09, 0x09, 0x00, 0x00, 0x00, 0x0d, 0x00,
	0x02, 0x0a, 0x00, 0x0a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x00,
	0x02, 0x0a, 0x00, 0x0b, 0x0b, 0x00, 0x00, 0x00, 0x0d, 0x00,
	0x04, 0x06, 0xff, 0x00, 0x00, 0x01,
};

/* FADT bytes 44-115 (after the FACS and DSDT addresses). */
static const u8 qemu_fadt_tail[FADT_LEN - 44] = {
	0x01, 0x00, 0x09, 0x00, 0xb2, 0x00, 0x00, 0x00, 0xf1, 0xf0, 0x00, 0x00,
	0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x06, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x06, 0x00, 0x00,
	0xe0, 0xaf, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x02, 0x00, 0x04,
	0x04, 0x00, 0x00, 0x00, 0xff, 0x0f, 0xff, 0x0f, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x32, 0x00, 0x00, 0x00, 0xa5, 0x80, 0x00, 0x00,
};

KTEST(vio, acpi_matches_qemu)
{
	struct tables t;
	size_t alloc;
	u8 *buf = build(2, VACPI_RSDP_GPA, &t, &alloc);
	const char *why = NULL;
	const u8 *rsdt = at(&t, get32(buf + 16), 36);

	KT_ASSERT(rsdt != NULL, "no RSDT");
	const u8 *madt = find(&t, rsdt, "APIC", &why);
	const u8 *fadt = find(&t, rsdt, "FACP", &why);
	KT_ASSERT(madt != NULL && fadt != NULL, "%s", why);
	KT_EXPECT(get32(madt + 4) == sizeof (qemu_madt_2cpus), "MADT %u bytes",
	    get32(madt + 4));
	size_t i = 0;
	while (i < sizeof (qemu_madt_2cpus) && i < get32(madt + 4) &&
	    madt[i] == qemu_madt_2cpus[i])
		i++;
	KT_EXPECT(i == sizeof (qemu_madt_2cpus), "MADT byte %lu is 0x%x, "
	    "QEMU's 0x%x", i, madt[i], qemu_madt_2cpus[i]);
	for (i = 0; i < sizeof (qemu_fadt_tail); i++) {
		if (fadt[44 + i] != qemu_fadt_tail[i])
			break;
	}
	KT_EXPECT(i == sizeof (qemu_fadt_tail), "FADT byte %lu is 0x%x, "
	    "QEMU's 0x%x", 44 + i, fadt[44 + i], qemu_fadt_tail[i]);
	KT_EXPECT(memcmp(fadt, "FACP", 4) == 0 && get32(fadt + 4) == FADT_LEN &&
	    fadt[8] == 1 && memcmp(fadt + 10, "BOCHS BXPC    ", 14) == 0,
	    "FADT header is not QEMU's");
	KT_EXPECT(memcmp(buf + 9, "BOCHS ", 6) == 0, "RSDP OEM");
	kmem_free(buf, alloc);
}

KTEST(vio, acpi_build_refuses)
{
	size_t need = vacpi_size(4);
	u8 *buf = kmem_zalloc(need, KM_SLEEP);
	u64 rsdp = 0x1234;

	KT_EXPECT(vacpi_build(buf, 100, VACPI_RSDP_GPA, 4, &rsdp) == 0,
	    "a 100-byte buffer");
	KT_EXPECT(vacpi_build(buf, need, VACPI_RSDP_GPA, 0, &rsdp) == 0 &&
	    vacpi_build(buf, need, VACPI_RSDP_GPA, 255, &rsdp) == 0,
	    "0 or 255 CPUs");
	KT_EXPECT(vacpi_build(buf, need, VACPI_RSDP_GPA + 8, 4, &rsdp) == 0,
	    "an RSDP off a 16-byte boundary");
	KT_EXPECT(vacpi_build(buf, need, 0xfffffff0ULL, 4, &rsdp) == 0,
	    "tables past 4 GiB");
	KT_EXPECT(rsdp == 0x1234, "a refused build wrote *rsdp_gpa");
	kmem_free(buf, need);
}

/* The control: a wrong MADT checksum must be what the checker reports. */
KTEST(vio, acpi_bad_checksum_caught)
{
	struct tables t;
	size_t alloc;

	vacpi_inject_bad_checksum = true;
	u8 *buf = build(2, VACPI_RSDP_GPA, &t, &alloc);
	vacpi_inject_bad_checksum = false;
	const char *bad = acpi_check(&t, 2);
	KT_EXPECT(bad != NULL && strcmp(bad, "MADT checksum") == 0,
	    "the checker said \"%s\" of a MADT one off", bad ? bad : "fine");
	kmem_free(buf, alloc);
	buf = build(2, VACPI_RSDP_GPA, &t, &alloc);
	KT_EXPECT(acpi_check(&t, 2) == NULL, "the switch stuck");
	kmem_free(buf, alloc);
}

static u32
pm_in(struct vpmtmr *pm, u16 port, int bytes)
{
	u32 v = 0xdeadbeef;

	KT_EXPECT(vpmtmr_io(pm, port, true, bytes, &v) == 0, "0x%x refused",
	    port);
	return (v);
}

KTEST(vio, pmtmr_rate_wrap)
{
	struct fake_clock fc = { 123 * NS };
	struct vpmtmr *pm = vpmtmr_create(fake_clock_read, &fc);

	KT_EXPECT(pm_in(pm, VPMTMR_PORT, 4) == 0, "not 0 at create");
	fc.now += NS / 20;			/* 50 ms: 178977.25 ticks */
	KT_EXPECT(pm_in(pm, VPMTMR_PORT, 4) == 178977, "50 ms: %u",
	    pm_in(pm, VPMTMR_PORT, 4));
	fc.now = 123 * NS + NS;
	KT_EXPECT(pm_in(pm, VPMTMR_PORT, 4) == VPMTMR_HZ, "1 s: %u",
	    pm_in(pm, VPMTMR_PORT, 4));
	/* Wraps at 2^24 ticks (4.69 s): 5 s is 17897725 - 16777216. */
	fc.now = 123 * NS + 5 * NS;
	KT_EXPECT(pm_in(pm, VPMTMR_PORT, 4) == 17897725 - 16777216,
	    "5 s: %u", pm_in(pm, VPMTMR_PORT, 4));
	/* Monotonic mod 2^24 in 1 ms steps across the wrap. */
	u32 prev = pm_in(pm, VPMTMR_PORT, 4), steps_bad = 0;
	for (int i = 0; i < 10000; i++) {
		fc.now += NS / 1000;
		u32 now = pm_in(pm, VPMTMR_PORT, 4);
		u32 d = (now - prev) & VPMTMR_MASK;
		if (d < 3579 || d > 3580)
			steps_bad++;
		prev = now;
	}
	KT_EXPECT(steps_bad == 0, "%u of 10000 1 ms steps not 3579-3580 "
	    "ticks", steps_bad);
	/* Byte and word reads: the register's bytes; bits 31-24 are 0. */
	u32 c = pm_in(pm, VPMTMR_PORT, 4);
	KT_EXPECT(c <= VPMTMR_MASK, "bits above 24 set: 0x%x", c);
	KT_EXPECT(pm_in(pm, VPMTMR_PORT + 1, 1) == ((c >> 8) & 0xff) &&
	    pm_in(pm, VPMTMR_PORT, 2) == (c & 0xffff) &&
	    pm_in(pm, VPMTMR_PORT + 3, 1) == 0, "byte reads of 0x%x", c);
	u32 v = 0;
	KT_EXPECT(vpmtmr_io(pm, VPMTMR_PORT + 4, true, 1, &v) == -1 &&
	    vpmtmr_io(pm, VPMTMR_PORT - 1, true, 1, &v) == -1,
	    "claimed a neighbour port");
	v = 0x12345678;
	vpmtmr_io(pm, VPMTMR_PORT, false, 4, &v);
	KT_EXPECT(pm_in(pm, VPMTMR_PORT, 4) == c, "an OUT changed the count");
	vpmtmr_destroy(pm);
}

/*
 * Long uptimes: whole seconds give exactly k * 3579545 ticks, which fits
 * u64 for any k a u64 of ns can hold; a plain ns * f / 1e9 overflows
 * after 86 minutes.
 */
KTEST(vio, pmtmr_long_uptime)
{
	static const u64 secs[] = { 5200, 86400 * 365ULL * 10,
	    18000000000ULL };
	struct fake_clock fc = { 0 };
	struct vpmtmr *pm = vpmtmr_create(fake_clock_read, &fc);

	for (size_t i = 0; i < ARRAY_SIZE(secs); i++) {
		fc.now = secs[i] * NS;
		u32 want = (u32)(secs[i] * VPMTMR_HZ) & VPMTMR_MASK;
		KT_EXPECT(vpmtmr_count(pm) == want, "%lu s: %u, want %u",
		    secs[i], vpmtmr_count(pm), want);
		fc.now += NS / 2;		/* + 1789772.5 ticks */
		want = (u32)(secs[i] * VPMTMR_HZ + 1789772) & VPMTMR_MASK;
		KT_EXPECT(vpmtmr_count(pm) == want, "%lu.5 s: %u, want %u",
		    secs[i], vpmtmr_count(pm), want);
	}
	vpmtmr_destroy(pm);
}
