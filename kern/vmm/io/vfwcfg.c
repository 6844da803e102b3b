/*
 * QEMU's fw_cfg (vfwcfg.h). One struct, one mutex: the selected key and
 * the offset into it, and the items.
 *
 * What is there at create, as QEMU 7.2 gives a pc-i440fx machine booted
 * with `-kernel` (measured there with `-trace 'fw_cfg_*'`, TCG, -m 128,
 * -smp 2): the signature "QEMU", ID (1 here: no DMA), a zero UUID,
 * RAM_SIZE (u64), NOGRAPHIC 0, NB_CPUS and MAX_CPUS (u16, the vCPU
 * count), NUMA ((1 + CPUs) u64 zeros: no nodes), BOOT_MENU 0, the
 * arch-local IRQ0_OVERRIDE 1, and the file directory (its item is as long
 * as QEMU's, 4 + 64 * FW_CFG_FILE_SLOTS = 2052 bytes, zero past the last
 * entry) with the files QEMU lists, sizes as there:
 *
 *   bios-geometry 0, bootorder 27 ("/rom@genroms/multiboot.bin"),
 *   etc/acpi/rsdp 20, etc/acpi/tables 131072, etc/boot-fail-wait 4
 *   (0xffffffff: no reboot timeout), etc/e820 (20 bytes per range: RAM
 *   below 4 GiB, and above it if any), etc/smbios/smbios-anchor 31,
 *   etc/smbios/smbios-tables 321, etc/system-states 6, etc/table-loader
 *   4096, etc/tpm/log 0, genroms/kvmvapic.bin 9216, genroms/multiboot.bin
 *   1024 (QEMU names the DMA variant when its DMA is on; here it is off).
 *
 * The ACPI, SMBIOS, table-loader and option ROM files read as zeros:
 * only firmware reads them, and a multiboot kernel runs with none (it
 * finds the tables in memory, vacpi.c). The caller may give them real
 * contents with vfwcfg_add_file. Not modelled: the DMA interface, the
 * -kernel items of QEMU's Linux/multiboot loaders (KERNEL_ADDR and the
 * rest), e820's reserved range QEMU 7.2 adds below 1 TiB on AMD hosts.
 */
#include "vfwcfg.h"
#include "../../kmem.h"
#include "../../sync.h"

#define	NSTD		(FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS)
#define	NARCH		8
#define	DIR_LEN		(4 + FW_CFG_FILE_SLOTS * sizeof (struct fw_cfg_file))
#define	E820_RAM	1
#define	E820_ENTRY_LEN	20

struct item {
	u8 *data;		/* kmem, len bytes; NULL: len zero bytes */
	u32 len;
};

/* Field tags: [c] set at create, constant after; [l] under fw_lock. */
struct vfwcfg {
	kmutex_t fw_lock;
	u16 fw_key;			/* [l] as the guest wrote it */
	u32 fw_offset;			/* [l] next byte of the item */
	struct item fw_std[NSTD];	/* [l] keys 0 .. 0x3f */
	struct item fw_arch[NARCH];	/* [l] FW_CFG_ARCH_LOCAL + 0 .. 7 */
	u32 fw_nfiles;			/* [l] fw_std[0x20 ..] in use */
	struct fw_cfg_file *fw_dir;	/* [l] in fw_std[FW_CFG_FILE_DIR] */
};

static void
put_be32(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 24);
	p[1] = (u8)(v >> 16);
	p[2] = (u8)(v >> 8);
	p[3] = (u8)v;
}

static u16
be16(u16 v)
{
	return ((u16)(v << 8 | v >> 8));
}

static u32
be32(u32 v)
{
	u8 b[4];

	put_be32(b, v);
	u32 r;
	memcpy(&r, b, 4);
	return (r);
}

static void
item_free(struct item *it)
{
	if (it->data != NULL)
		kmem_free(it->data, it->len);
	it->data = NULL;
	it->len = 0;
}

static void
item_set(struct item *it, const void *data, u32 len)
{
	item_free(it);
	it->len = len;
	if (data != NULL && len > 0) {
		it->data = kmem_zalloc(len, KM_SLEEP);
		memcpy(it->data, data, len);
	}
}

/* The item a key names, or NULL (QEMU: FW_CFG_INVALID or no data). */
static struct item *
lookup(struct vfwcfg *fw, u16 key)
{
	u16 k = key & FW_CFG_ENTRY_MASK;

	if (key & FW_CFG_ARCH_LOCAL)
		return (k < NARCH ? &fw->fw_arch[k] : NULL);
	return (k < NSTD ? &fw->fw_std[k] : NULL);
}

/* Under fw_lock: the directory's count after a change. */
static void
dir_count(struct vfwcfg *fw)
{
	put_be32(fw->fw_std[FW_CFG_FILE_DIR].data, fw->fw_nfiles);
}

int
vfwcfg_set_item(struct vfwcfg *fw, u16 key, const void *data, u32 len)
{
	u16 k = key & FW_CFG_ENTRY_MASK;

	if ((key & FW_CFG_ARCH_LOCAL) ? k >= NARCH :
	    (key != k || k >= FW_CFG_FILE_FIRST || k == FW_CFG_FILE_DIR))
		return (-1);
	mutex_enter(&fw->fw_lock);
	item_set(lookup(fw, key), data, len);
	mutex_exit(&fw->fw_lock);
	return (0);
}

int
vfwcfg_add_file(struct vfwcfg *fw, const char *name, const void *data,
    u32 len)
{
	size_t nlen = strlen(name);
	u32 i;

	if (nlen == 0 || nlen >= FW_CFG_MAX_FILE_PATH)
		return (-1);
	mutex_enter(&fw->fw_lock);
	for (i = 0; i < fw->fw_nfiles; i++) {
		int c = strcmp(name, fw->fw_dir[i].name);
		if (c == 0) {			/* new contents */
			item_set(&fw->fw_std[FW_CFG_FILE_FIRST + i], data, len);
			fw->fw_dir[i].size = be32(len);
			mutex_exit(&fw->fw_lock);
			return (0);
		}
		if (c < 0)
			break;
	}
	if (fw->fw_nfiles == FW_CFG_FILE_SLOTS) {
		mutex_exit(&fw->fw_lock);
		return (-1);
	}
	/* Insert at i, moving the later files (and their keys) up one. */
	for (u32 j = fw->fw_nfiles; j > i; j--) {
		fw->fw_dir[j] = fw->fw_dir[j - 1];
		fw->fw_dir[j].select = be16((u16)(FW_CFG_FILE_FIRST + j));
		fw->fw_std[FW_CFG_FILE_FIRST + j] =
		    fw->fw_std[FW_CFG_FILE_FIRST + j - 1];
	}
	fw->fw_std[FW_CFG_FILE_FIRST + i] = (struct item){ NULL, 0 };
	item_set(&fw->fw_std[FW_CFG_FILE_FIRST + i], data, len);
	memset(&fw->fw_dir[i], 0, sizeof (fw->fw_dir[i]));
	fw->fw_dir[i].size = be32(len);
	fw->fw_dir[i].select = be16((u16)(FW_CFG_FILE_FIRST + i));
	memcpy(fw->fw_dir[i].name, name, nlen);
	fw->fw_nfiles++;
	dir_count(fw);
	mutex_exit(&fw->fw_lock);
	return (0);
}

u16
vfwcfg_file_key(struct vfwcfg *fw, const char *name)
{
	u16 key = 0;

	mutex_enter(&fw->fw_lock);
	for (u32 i = 0; i < fw->fw_nfiles; i++) {
		if (strcmp(name, fw->fw_dir[i].name) == 0)
			key = (u16)(FW_CFG_FILE_FIRST + i);
	}
	mutex_exit(&fw->fw_lock);
	return (key);
}

static void
set_u16(struct vfwcfg *fw, u16 key, u16 v)
{
	u8 b[2] = { (u8)v, (u8)(v >> 8) };

	(void)vfwcfg_set_item(fw, key, b, sizeof (b));
}

static void
set_u32(struct vfwcfg *fw, u16 key, u32 v)
{
	(void)vfwcfg_set_item(fw, key, &v, sizeof (v));	/* little-endian */
}

/* etc/e820: QEMU's pc splits RAM at 3.5 GiB, or 3 GiB if it is more. */
static void
add_e820(struct vfwcfg *fw, u64 ramsize)
{
	u64 below = ramsize >= 0xe0000000ULL ? 0xc0000000ULL : ramsize;
	u64 ranges[2][2] = { { 0, below }, { 1ULL << 32, ramsize - below } };
	u8 buf[2 * E820_ENTRY_LEN];
	u32 len = 0;

	for (int i = 0; i < 2; i++) {
		u32 type = E820_RAM;
		if (ranges[i][1] == 0)
			continue;
		memcpy(buf + len, &ranges[i][0], 8);
		memcpy(buf + len + 8, &ranges[i][1], 8);
		memcpy(buf + len + 16, &type, 4);
		len += E820_ENTRY_LEN;
	}
	(void)vfwcfg_add_file(fw, "etc/e820", buf, len);
}

struct vfwcfg *
vfwcfg_create(int ncpus, u64 ramsize)
{
	static const struct { const char *name; u32 len; } zero_files[] = {
		{ "bios-geometry", 0 },
		{ "etc/acpi/rsdp", 20 },
		{ "etc/acpi/tables", 131072 },
		{ "etc/smbios/smbios-anchor", 31 },
		{ "etc/smbios/smbios-tables", 321 },
		{ "etc/table-loader", 4096 },
		{ "etc/tpm/log", 0 },
		{ "genroms/kvmvapic.bin", 9216 },
		{ "genroms/multiboot.bin", 1024 },
	};
	static const char bootorder[] = "/rom@genroms/multiboot.bin";
	/* PIIX4's _S states: S3 and S4 (value 2) enabled, as QEMU builds it. */
	static const u8 states[6] = { 0x80, 0, 0, 0x81, 0x82, 0x80 };
	struct vfwcfg *fw = kmem_zalloc(sizeof (*fw), KM_SLEEP);
	u32 fail_wait = 0xffffffff;

	mutex_init(&fw->fw_lock, "vfwcfg");
	fw->fw_std[FW_CFG_FILE_DIR].data = kmem_zalloc(DIR_LEN, KM_SLEEP);
	fw->fw_std[FW_CFG_FILE_DIR].len = DIR_LEN;
	fw->fw_dir = (struct fw_cfg_file *)(fw->fw_std[FW_CFG_FILE_DIR].data +
	    4);
	(void)vfwcfg_set_item(fw, FW_CFG_SIGNATURE, "QEMU", 4);
	set_u32(fw, FW_CFG_ID, FW_CFG_ID_TRADITIONAL);
	(void)vfwcfg_set_item(fw, FW_CFG_UUID, NULL, 16);
	(void)vfwcfg_set_item(fw, FW_CFG_RAM_SIZE, &ramsize, 8);
	set_u16(fw, FW_CFG_NOGRAPHIC, 0);
	set_u16(fw, FW_CFG_NB_CPUS, (u16)ncpus);
	(void)vfwcfg_set_item(fw, FW_CFG_NUMA, NULL, (u32)(1 + ncpus) * 8);
	set_u16(fw, FW_CFG_BOOT_MENU, 0);
	set_u16(fw, FW_CFG_MAX_CPUS, (u16)ncpus);
	set_u32(fw, FW_CFG_IRQ0_OVERRIDE, 1);
	for (size_t i = 0; i < ARRAY_SIZE(zero_files); i++)
		(void)vfwcfg_add_file(fw, zero_files[i].name, NULL,
		    zero_files[i].len);
	(void)vfwcfg_add_file(fw, "bootorder", bootorder, sizeof (bootorder));
	(void)vfwcfg_add_file(fw, "etc/boot-fail-wait", &fail_wait, 4);
	(void)vfwcfg_add_file(fw, "etc/system-states", states, sizeof (states));
	add_e820(fw, ramsize);
	return (fw);
}

void
vfwcfg_destroy(struct vfwcfg *fw)
{
	for (int i = 0; i < NSTD; i++)
		item_free(&fw->fw_std[i]);
	for (int i = 0; i < NARCH; i++)
		item_free(&fw->fw_arch[i]);
	kmem_free(fw, sizeof (*fw));
}

int
vfwcfg_io(struct vfwcfg *fw, u16 port, bool in, int bytes, u32 *val)
{
	if (port != VFWCFG_PORT_SEL && port != VFWCFG_PORT_DATA)
		return (-1);
	if (!in) {
		/* Only the selector's word write does anything. */
		if (port == VFWCFG_PORT_SEL && bytes == 2) {
			mutex_enter(&fw->fw_lock);
			fw->fw_key = (u16)*val;
			fw->fw_offset = 0;
			mutex_exit(&fw->fw_lock);
		}
		return (0);
	}
	*val = 0;
	if (bytes != 1)
		return (0);	/* QEMU refuses it: reads 0, no advance */
	mutex_enter(&fw->fw_lock);
	const struct item *it = lookup(fw, fw->fw_key);
	if (it != NULL && fw->fw_offset < it->len) {
		if (it->data != NULL)
			*val = it->data[fw->fw_offset];
		fw->fw_offset++;
	}
	mutex_exit(&fw->fw_lock);
	return (0);
}
