/*
 * Suite "vio", QEMU's fw_cfg (kern/vmm/io/vfwcfg.c) through ports 0x510
 * and 0x511 as a guest reads it: the items guest/mb/mb_fwcfg.c checks
 * under plain QEMU, the file directory's format, and the port semantics
 * measured on QEMU 7.2 (a word IN reads 0 and does not advance, a byte
 * IN of 0x510 reads data, a byte OUT is ignored).
 */
#include "ktest.h"
#include "../kern/vmm/io/vfwcfg.h"


static void
fw_select(struct vfwcfg *fw, u16 key)
{
	u32 v = key;

	KT_EXPECT(vfwcfg_io(fw, VFWCFG_PORT_SEL, false, 2, &v) == 0,
	    "0x510 refused");
}

static void
fw_read(struct vfwcfg *fw, void *buf, size_t len)
{
	u8 *p = buf;

	for (size_t i = 0; i < len; i++) {
		u32 v = 0xdead;
		KT_EXPECT(vfwcfg_io(fw, VFWCFG_PORT_DATA, true, 1, &v) == 0 &&
		    v <= 0xff, "0x511 read 0x%x", v);
		p[i] = (u8)v;
	}
}

static u64
fw_read_le(struct vfwcfg *fw, u16 key, size_t len)
{
	u8 b[8] = { 0 };
	u64 v = 0;

	fw_select(fw, key);
	fw_read(fw, b, len);
	for (size_t i = len; i > 0; i--)
		v = v << 8 | b[i - 1];
	return (v);
}

static u32
get_be32(const u8 *p)
{
	return ((u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]);
}

KTEST(vio, fwcfg_signature_ports)
{
	struct vfwcfg *fw = vfwcfg_create(2, 128 * MiB);
	char sig[6] = { 0 };
	u32 v;

	fw_select(fw, FW_CFG_SIGNATURE);
	fw_read(fw, sig, 6);
	KT_EXPECT(memcmp(sig, "QEMU\0\0", 6) == 0, "signature %.4s, then "
	    "0x%x 0x%x past the end", sig, (u8)sig[4], (u8)sig[5]);
	fw_select(fw, FW_CFG_SIGNATURE);
	fw_read(fw, sig, 2);
	KT_EXPECT(memcmp(sig, "QE", 2) == 0, "selecting again: %.2s", sig);
	v = 0x1234;
	vfwcfg_io(fw, VFWCFG_PORT_DATA, true, 2, &v);
	KT_EXPECT(v == 0, "word IN read 0x%x, QEMU gives 0", v);
	vfwcfg_io(fw, VFWCFG_PORT_SEL, true, 1, &v);
	KT_EXPECT(v == 'M', "byte IN of 0x510 read 0x%x, want 'M' (the word "
	    "IN must not advance)", v);
	v = 0;
	vfwcfg_io(fw, VFWCFG_PORT_SEL, false, 1, &v);	/* ignored */
	vfwcfg_io(fw, VFWCFG_PORT_DATA, false, 1, &v);	/* ignored */
	vfwcfg_io(fw, VFWCFG_PORT_DATA, true, 1, &v);
	KT_EXPECT(v == 'U', "after byte OUTs read 0x%x, want 'U'", v);
	vfwcfg_io(fw, VFWCFG_PORT_SEL, true, 4, &v);
	KT_EXPECT(v == 0, "dword IN read 0x%x", v);
	KT_EXPECT(vfwcfg_io(fw, 0x512, true, 1, &v) == -1 &&
	    vfwcfg_io(fw, 0x50f, true, 1, &v) == -1, "claimed a neighbour");
	u64 id = fw_read_le(fw, FW_CFG_ID, 4);
	KT_EXPECT(id == FW_CFG_ID_TRADITIONAL, "ID 0x%lx: traditional only, "
	    "no DMA", id);
	/* No item: 0x11 (some kernels read it as "max RAM"), a key past
	 * the file slots, an unknown arch key. */
	KT_EXPECT(fw_read_le(fw, 0x11, 8) == 0, "key 0x11 not 0");
	KT_EXPECT(fw_read_le(fw, 0x40, 8) == 0, "key 0x40 not 0");
	KT_EXPECT(fw_read_le(fw, FW_CFG_ARCH_LOCAL + 0x3f, 4) == 0,
	    "key 0x803f not 0");
	KT_EXPECT(fw_read_le(fw, FW_CFG_IRQ0_OVERRIDE, 4) == 1,
	    "IRQ0_OVERRIDE not 1");
	vfwcfg_destroy(fw);
}

KTEST(vio, fwcfg_cpus_ram)
{
	static const int cpus[] = { 1, 2, 4, 8 };
	static const u64 ram[] = { 128 * MiB, 256 * MiB, 4096 * MiB,
	    3584 * MiB };

	for (size_t i = 0; i < ARRAY_SIZE(cpus); i++) {
		struct vfwcfg *fw = vfwcfg_create(cpus[i], ram[i]);
		u64 nb = fw_read_le(fw, FW_CFG_NB_CPUS, 2);
		u64 max = fw_read_le(fw, FW_CFG_MAX_CPUS, 2);
		u64 size = fw_read_le(fw, FW_CFG_RAM_SIZE, 8);
		KT_EXPECT(nb == (u64)cpus[i] && max >= nb, "cpus %d: NB_CPUS "
		    "%lu MAX_CPUS %lu", cpus[i], nb, max);
		KT_EXPECT(size == ram[i], "RAM_SIZE 0x%lx, want 0x%lx", size,
		    ram[i]);
		/* etc/e820: RAM below 4 GiB, then above it. */
		u16 key = vfwcfg_file_key(fw, "etc/e820");
		u8 e[40] = { 0 };
		u64 a0, l0, a1 = 0, l1 = 0;
		u32 t0;
		fw_select(fw, key);
		fw_read(fw, e, sizeof (e));
		memcpy(&a0, e, 8);
		memcpy(&l0, e + 8, 8);
		memcpy(&t0, e + 16, 4);
		memcpy(&a1, e + 20, 8);
		memcpy(&l1, e + 28, 8);
		KT_EXPECT(key != 0 && a0 == 0 && t0 == 1 && l0 + l1 == ram[i],
		    "e820 [0x%lx +0x%lx type %u] [0x%lx +0x%lx]", a0, l0, t0,
		    a1, l1);
		/* From 3.5 GiB on QEMU's pc keeps 3 GiB below 4 GiB. */
		if (ram[i] >= 3584 * MiB)
			KT_EXPECT(l0 == 3072 * MiB && a1 == 1ULL << 32,
			    "0x%lx split at 0x%lx", ram[i], l0);
		else
			KT_EXPECT(l1 == 0, "RAM above 4 GiB for 0x%lx", ram[i]);
		vfwcfg_destroy(fw);
	}
}

static const char *const qemu_files[] = {
	"bios-geometry", "bootorder", "etc/acpi/rsdp", "etc/acpi/tables",
	"etc/boot-fail-wait", "etc/e820", "etc/smbios/smbios-anchor",
	"etc/smbios/smbios-tables", "etc/system-states", "etc/table-loader",
	"etc/tpm/log", "genroms/kvmvapic.bin", "genroms/multiboot.bin",
};

/* true if name has no NUL in len bytes */
static bool
unterminated(const char *name, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '\0')
			return (false);
	}
	return (true);
}

/* What mb_fwcfg.c checks, plus QEMU's numbering; false on a failure. */
static bool
dir_ok(struct vfwcfg *fw, u32 *count)
{
	static struct fw_cfg_file f[FW_CFG_FILE_SLOTS + 1];
	u8 b[4];
	bool ok = true;

	fw_select(fw, FW_CFG_FILE_DIR);
	fw_read(fw, b, 4);
	u32 n = get_be32(b);
	*count = n;
	if (n < 1 || n > FW_CFG_FILE_SLOTS)
		return (false);
	fw_read(fw, f, (n + 1) * sizeof (f[0]));	/* one entry past */
	for (u32 i = 0; i < n; i++) {
		u16 sel = (u16)(f[i].select >> 8 | f[i].select << 8);
		if (unterminated(f[i].name, sizeof (f[i].name)) ||
		    f[i].name[0] == '\0' || sel != FW_CFG_FILE_FIRST + i ||
		    (i > 0 && strcmp(f[i - 1].name, f[i].name) >= 0))
			ok = false;
	}
	u8 zero[sizeof (f[0])] = { 0 };
	if (memcmp(&f[n], zero, sizeof (zero)) != 0)
		ok = false;		/* the slots after the last are zero */
	return (ok);
}

KTEST(vio, fwcfg_directory)
{
	struct vfwcfg *fw = vfwcfg_create(2, 128 * MiB);
	u32 n;

	KT_EXPECT(dir_ok(fw, &n), "directory malformed (%u files)", n);
	KT_EXPECT(n == ARRAY_SIZE(qemu_files), "%u files, QEMU 7.2 lists %zu",
	    n, ARRAY_SIZE(qemu_files));
	for (size_t i = 0; i < ARRAY_SIZE(qemu_files); i++)
		KT_EXPECT(vfwcfg_file_key(fw, qemu_files[i]) ==
		    FW_CFG_FILE_FIRST + i, "%s at key 0x%x", qemu_files[i],
		    vfwcfg_file_key(fw, qemu_files[i]));
	/* Contents through the selector: bootorder, boot-fail-wait. */
	char bo[32] = { 0 };
	fw_select(fw, vfwcfg_file_key(fw, "bootorder"));
	fw_read(fw, bo, sizeof (bo));
	KT_EXPECT(strcmp(bo, "/rom@genroms/multiboot.bin") == 0 &&
	    bo[27] == 0 && bo[31] == 0, "bootorder \"%s\"", bo);
	KT_EXPECT(fw_read_le(fw, vfwcfg_file_key(fw, "etc/boot-fail-wait"),
	    4) == 0xffffffff, "boot-fail-wait");
	/* The directory item is QEMU's full length: 4 + 32 * 64. */
	fw_select(fw, FW_CFG_FILE_DIR);
	u8 skip[4 + FW_CFG_FILE_SLOTS * 64 - 1];
	fw_read(fw, skip, sizeof (skip));
	u32 v = 0;
	vfwcfg_io(fw, VFWCFG_PORT_DATA, true, 1, &v);
	KT_EXPECT(v == 0, "last directory byte");
	KT_EXPECT(vfwcfg_file_key(fw, "nosuchfile") == 0, "nosuchfile found");
	vfwcfg_destroy(fw);
}

KTEST(vio, fwcfg_add_file)
{
	struct vfwcfg *fw = vfwcfg_create(1, 128 * MiB);
	u32 n;

	KT_EXPECT(vfwcfg_add_file(fw, "etc/aaa", "xyz", 3) == 0, "add");
	KT_EXPECT(vfwcfg_file_key(fw, "etc/aaa") == FW_CFG_FILE_FIRST + 2,
	    "etc/aaa at 0x%x", vfwcfg_file_key(fw, "etc/aaa"));
	KT_EXPECT(vfwcfg_file_key(fw, "etc/acpi/rsdp") == FW_CFG_FILE_FIRST + 3,
	    "rsdp did not move up");
	KT_EXPECT(fw_read_le(fw, vfwcfg_file_key(fw, "etc/aaa"), 4) ==
	    0x7a7978, "etc/aaa contents");
	KT_EXPECT(fw_read_le(fw, vfwcfg_file_key(fw, "etc/boot-fail-wait"),
	    4) == 0xffffffff, "a moved file lost its contents");
	KT_EXPECT(vfwcfg_add_file(fw, "etc/aaa", "Q", 1) == 0, "replace");
	KT_EXPECT(fw_read_le(fw, vfwcfg_file_key(fw, "etc/aaa"), 4) == 'Q',
	    "replaced contents");
	KT_EXPECT(dir_ok(fw, &n) && n == ARRAY_SIZE(qemu_files) + 1,
	    "directory after adding: %u files", n);
	char name[64];
	memset(name, 'n', sizeof (name));
	name[FW_CFG_MAX_FILE_PATH] = '\0';
	KT_EXPECT(vfwcfg_add_file(fw, name, NULL, 1) == -1, "56-char name");
	KT_EXPECT(vfwcfg_add_file(fw, "", NULL, 1) == -1, "empty name");
	int added = 0;
	for (int i = 0; i < FW_CFG_FILE_SLOTS; i++) {
		char nm[] = "opt/zz00";
		nm[6] = (char)('0' + i / 10);
		nm[7] = (char)('0' + i % 10);
		if (vfwcfg_add_file(fw, nm, NULL, (u32)i) == 0)
			added++;
	}
	KT_EXPECT(added == FW_CFG_FILE_SLOTS - (int)n, "%d added into %d "
	    "free slots", added, FW_CFG_FILE_SLOTS - (int)n);
	KT_EXPECT(dir_ok(fw, &n) && n == FW_CFG_FILE_SLOTS, "full: %u", n);
	KT_EXPECT(vfwcfg_set_item(fw, FW_CFG_FILE_DIR, NULL, 0) == -1 &&
	    vfwcfg_set_item(fw, FW_CFG_FILE_FIRST, NULL, 0) == -1,
	    "set_item took the directory or a file key");
	KT_EXPECT(vfwcfg_set_item(fw, 0x11, "\x01\x02", 2) == 0 &&
	    fw_read_le(fw, 0x11, 2) == 0x0201, "item 0x11");
	vfwcfg_destroy(fw);
}
