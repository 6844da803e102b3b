/*
 * mb_entry: the state a multiboot loader hands over, as QEMU's -kernel gives
 * it, and the multiboot information (flags, memory sizes, command line,
 * modules).  Run with (guest/mb/kernels.py):
 *   -append "alpha beta=2 mem=<MiB> mods=2"
 *   -initrd "env.txt mod0,pattern.bin mod1"
 * env.txt is KEY=VALUE lines; pattern.bin is PATTERN_LEN bytes of
 * pattern_byte(i).  Both come from kernels.py.
 */

#include "mb.h"

#define PATTERN_LEN	4109
#define CR0_PE		(1u << 0)
#define CR0_PG		(1u << 31)
#define EFLAGS_IF	(1u << 9)

static uint8_t
pattern_byte(uint32_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* [a, a + len) misses page 0 and the kernel image. */
static int
clear_of_kernel(uint32_t a, uint32_t len)
{
	uint32_t ks = (uint32_t)_kernel_start, ke = (uint32_t)_kernel_end;

	return a >= 0x1000 && (a + len <= ks || a >= ke);
}

/* The value of KEY= in KEY=VALUE lines, compared with want. */
static int
env_is(const char *text, uint32_t len, const char *key, const char *want)
{
	size_t klen = strlen(key), wlen = strlen(want);
	uint32_t i = 0;

	while (i < len) {
		uint32_t eol = i;

		while (eol < len && text[eol] != '\n')
			eol++;
		if (eol - i > klen && strncmp(text + i, key, klen) == 0 && text[i + klen] == '=')
			return eol - i - klen - 1 == wlen && strncmp(text + i + klen + 1, want, wlen) == 0;
		i = eol + 1;
	}
	return 0;
}

/* The module's own command line after its path word, compared with want. */
static int
mod_args_are(const struct mb_module *m, const char *want)
{
	const char *s = (const char *)m->cmdline;

	if (m->cmdline == 0)
		return 0;
	while (*s != '\0' && *s != ' ')
		s++;
	while (*s == ' ')
		s++;
	return strcmp(s, want) == 0;
}

static void
check_modules(uint32_t want)
{
	const struct mb_module *m = (const struct mb_module *)mb_info->mods_addr;
	uint32_t n = mb_info->mods_count;

	check_eq(n, want, "mods_count is %u", want);
	if (n != want || n < 2)
		return;
	check(clear_of_kernel(mb_info->mods_addr, n * sizeof(*m)),
	    "module list outside page 0 and the kernel image");
	for (uint32_t i = 0; i < n; i++) {
		check(m[i].start < m[i].end, "module %u: start < end", i);
		check((m[i].start & 0xfff) == 0, "module %u: page-aligned (header flag 0)", i);
		check(clear_of_kernel(m[i].start, m[i].end - m[i].start),
		    "module %u outside page 0 and the kernel image", i);
		if (i > 0)
			check(m[i].start >= m[i - 1].end, "module %u after module %u", i, i - 1);
	}
	check(mod_args_are(&m[0], "mod0"), "module 0 command line is \"<path> mod0\"");
	check(mod_args_are(&m[1], "mod1"), "module 1 command line is \"<path> mod1\"");

	const char *env = (const char *)m[0].start;
	uint32_t elen = m[0].end - m[0].start;

	check(env_is(env, elen, "GREETING", "hello from a module"),
	    "module 0: GREETING=hello from a module");
	check(env_is(env, elen, "KERNEL", "mb_entry"), "module 0: KERNEL=mb_entry");

	const uint8_t *p = (const uint8_t *)m[1].start;
	uint32_t bad = 0;

	check_eq(m[1].end - m[1].start, PATTERN_LEN, "module 1 is %u bytes", PATTERN_LEN);
	for (uint32_t i = 0; i < PATTERN_LEN && i < m[1].end - m[1].start; i++) {
		if (p[i] != pattern_byte(i))
			bad++;
	}
	check_eq(bad, 0, "module 1 holds the pattern");
}

int
kmain(void)
{
	kprintf("mb_entry: entry state and multiboot info\n");
	check_eq(mb_entry.eax, MB_BOOT_MAGIC, "EAX = 0x2BADB002");
	check((mb_entry.cr0 & CR0_PE) != 0, "CR0.PE set");
	check((mb_entry.cr0 & CR0_PG) == 0, "CR0.PG clear");
	check((mb_entry.eflags & EFLAGS_IF) == 0, "EFLAGS.IF clear");
	check_eq(mb_entry.cs, 0x08, "CS = 0x08");
	check_eq(mb_entry.ds, 0x10, "DS = 0x10");
	check_eq(mb_entry.es, 0x10, "ES = 0x10");
	check_eq(mb_entry.ss, 0x10, "SS = 0x10");
	check_eq(mb_entry.ds_probe, *(uint32_t *)_kernel_start, "DS base 0 (read of our own header)");
	check_eq(mmio_read32(MB_HIGH_PROBE), 0x600dcafe, "DS limit past 64 MiB (write at 0x03fffffc)");
	if (!check(mb_info != NULL, "EBX points at the multiboot info"))
		return mb_finish();

	uint32_t f = mb_info->flags;

	check(clear_of_kernel(mb_entry.ebx, sizeof(*mb_info)),
	    "multiboot info outside page 0 and the kernel image");
	check((f & MBI_MEM) != 0, "flags: mem_lower/mem_upper");
	check((f & MBI_CMDLINE) != 0, "flags: cmdline");
	check((f & MBI_MODS) != 0, "flags: modules");
	check((f & MBI_MMAP) != 0, "flags: memory map");
	if (f & MBI_MMAP)
		check(clear_of_kernel(mb_info->mmap_addr, mb_info->mmap_length),
		    "memory map outside page 0 and the kernel image");

	uint32_t mem_mib = mb_arg_u32("mem", 0);
	uint64_t ram = fwcfg_read64(FW_CFG_RAM_SIZE);

	check(mem_mib != 0, "cmdline has mem=<MiB>");
	check(ram == (uint64_t)mem_mib << 20, "fw_cfg RAM_SIZE = mem=%u MiB", mem_mib);
	if (f & MBI_MEM) {
		check(mb_info->mem_lower >= 512 && mb_info->mem_lower <= 640,
		    "mem_lower in 512..640 KiB");
		/*
		 * mem_upper is the usable RAM from 1 MiB on: RAM KiB - 1024 less
		 * what the firmware keeps at the top (SeaBIOS: 128 KiB).
		 */
		check(mb_info->mem_upper <= mem_mib * 1024 - 1024 &&
		    mb_info->mem_upper + 1024 >= mem_mib * 1024 - 1024,
		    "mem_upper within 1 MiB below RAM KiB - 1024");
	}

	if (f & MBI_CMDLINE) {
		const char *cl = mb_cmdline();
		const char *args = mb_args();
		size_t pathlen = 0;

		while (cl[pathlen] != '\0' && cl[pathlen] != ' ')
			pathlen++;
		check(clear_of_kernel(mb_info->cmdline, (uint32_t)strlen(cl) + 1),
		    "cmdline outside page 0 and the kernel image");
		check(pathlen >= 12 && strncmp(cl + pathlen - 12, "mb_entry.elf", 12) == 0,
		    "cmdline word 0 is the image path (ends in mb_entry.elf)");
		check(strncmp(args, "alpha beta=2 ", 13) == 0, "cmdline args start \"alpha beta=2 \"");
		check(mb_arg_u32("beta", 0) == 2, "cmdline beta=2 parsed");
	}

	if (f & MBI_MODS)
		check_modules(mb_arg_u32("mods", 0));
	return mb_finish();
}
