/*
 * mb_fwcfg: QEMU's fw_cfg through the I/O ports (0x510 selector, 16-bit;
 * 0x511 data, bytes; no DMA): the signature, the ID's traditional-interface
 * bit, NB_CPUS against the cmdline's cpus=, MAX_CPUS, RAM_SIZE against mem=,
 * and the file directory (key 0x19: big-endian count, then 64-byte entries
 * with big-endian size and selector, sorted by name).
 * Args: cpus=<N> mem=<MiB>.
 */

#include "mb.h"

#define MAX_FILES	256

struct fw_file {
	uint8_t size[4];	/* big-endian */
	uint8_t select[2];	/* big-endian */
	uint8_t reserved[2];
	char name[56];
};

static struct fw_file files[MAX_FILES];

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int
terminated(const char *name, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '\0')
			return i > 0;
	}
	return 0;
}

static void
directory(void)
{
	uint8_t b[4];
	uint32_t n;

	fwcfg_select(FW_CFG_FILE_DIR);
	fwcfg_read(b, sizeof(b));
	n = be32(b);
	if (!check(n >= 1 && n <= MAX_FILES, "file directory: a big-endian count of 1..%u",
	    MAX_FILES))
		return;
	fwcfg_read(files, n * sizeof(files[0]));

	int names = 1, sorted = 1, selectors = 1, unique = 1;

	for (uint32_t i = 0; i < n; i++) {
		if (!terminated(files[i].name, sizeof(files[i].name)))
			names = 0;
		if (i > 0 && strcmp(files[i - 1].name, files[i].name) >= 0)
			sorted = 0;
		if (be16(files[i].select) < 0x20)
			selectors = 0;
		for (uint32_t j = 0; j < i; j++) {
			if (be16(files[j].select) == be16(files[i].select))
				unique = 0;
		}
	}
	check(names, "file names are non-empty and NUL-terminated");
	check(names && sorted, "file names strictly ascending");
	check(selectors, "file selectors (big-endian) are >= 0x20");
	check(unique, "file selectors are distinct");
}

int
kmain(void)
{
	char sig[4];
	uint32_t cpus = mb_arg_u32("cpus", 0), mem = mb_arg_u32("mem", 0);
	uint16_t nb, max;

	kprintf("mb_fwcfg: fw_cfg through ports 0x510/0x511\n");
	fwcfg_select(FW_CFG_SIGNATURE);
	fwcfg_read(sig, sizeof(sig));
	check(memcmp(sig, "QEMU", 4) == 0, "signature \"QEMU\" at key 0");
	fwcfg_select(FW_CFG_SIGNATURE);
	fwcfg_read(sig, 2);
	check(memcmp(sig, "QE", 2) == 0, "selecting again restarts at offset 0");
	check((fwcfg_read32(FW_CFG_ID) & 1) != 0, "ID bit 0: the traditional interface");

	fwcfg_select(FW_CFG_NB_CPUS);
	fwcfg_read(&nb, sizeof(nb));
	fwcfg_select(FW_CFG_MAX_CPUS);
	fwcfg_read(&max, sizeof(max));
	check(cpus != 0, "cmdline has cpus=<N>");
	check_eq(nb, cpus, "NB_CPUS (0x05) = cpus=%u", cpus);
	check(max >= nb, "MAX_CPUS (0x0f) >= NB_CPUS");
	check(fwcfg_read64(FW_CFG_RAM_SIZE) == (uint64_t)mem << 20, "RAM_SIZE (0x03) = mem=%u MiB",
	    mem);
	directory();
	return mb_finish();
}
