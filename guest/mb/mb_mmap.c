/*
 * mb_mmap: the multiboot memory map (flags bit 6) as a PC built like QEMU's
 * gives it: entries sorted and disjoint, usable RAM from 0 to below 640 KiB
 * and from 1 MiB up to (near) the RAM size, the BIOS area reserved, nothing
 * usable in the 0xA0000-0xFFFFF hole, and agreement with mem_lower and
 * mem_upper.  Args: mem=<MiB> (the RAM the run gives).
 */

#include "mb.h"

#define MAX_ENTRIES	64
#define E820_RAM	1
#define MIB		0x100000ull

static struct mb_mmap map[MAX_ENTRIES];
static int nmap;

/* Copies the map: the entries' `size` may exceed 20 and is stepped over. */
static int
read_map(void)
{
	uint32_t a = mb_info->mmap_addr, end = a + mb_info->mmap_length;
	int sizes_ok = 1;

	while (a < end && nmap < MAX_ENTRIES) {
		const struct mb_mmap *e = (const struct mb_mmap *)a;

		if (e->size < 20)
			sizes_ok = 0;
		map[nmap++] = *e;
		a += e->size + 4;
	}
	return sizes_ok && a == end;
}

/* The entry that contains addr and is of type RAM, or -1. */
static int
ram_at(uint64_t addr)
{
	for (int i = 0; i < nmap; i++) {
		if (map[i].type == E820_RAM && map[i].addr <= addr && addr < map[i].addr + map[i].len)
			return i;
	}
	return -1;
}

int
kmain(void)
{
	uint64_t ram = (uint64_t)mb_arg_u32("mem", 0) * MIB;

	kprintf("mb_mmap: the multiboot memory map\n");
	if (!check(mb_info != NULL && (mb_info->flags & MBI_MMAP) != 0, "flags: memory map"))
		return mb_finish();
	check(ram != 0, "cmdline has mem=<MiB>");
	check(fwcfg_read64(FW_CFG_RAM_SIZE) == ram, "fw_cfg RAM_SIZE = mem=");
	check(read_map(), "mmap_length is a whole number of entries (size >= 20)");
	check(nmap >= 3, "at least 3 entries");

	int sorted = 1, disjoint = 1, nonempty = 1, types = 1, hole = 1, bios = 0;
	uint64_t usable = 0;

	for (int i = 0; i < nmap; i++) {
		uint64_t s = map[i].addr, e = s + map[i].len;

		if (map[i].len == 0)
			nonempty = 0;
		if (map[i].type < 1 || map[i].type > 5)
			types = 0;
		if (i > 0 && s < map[i - 1].addr)
			sorted = 0;
		if (i > 0 && s < map[i - 1].addr + map[i - 1].len)
			disjoint = 0;
		if (map[i].type == E820_RAM) {
			usable += map[i].len;
			if (s < 0x100000 && e > 0xa0000)
				hole = 0;
		} else if (s < 0x100000 && e > 0xe0000) {
			bios = 1;
		}
	}
	check(sorted, "entries sorted by address");
	check(disjoint, "entries do not overlap");
	check(nonempty, "no empty entries");
	check(types, "types are 1..5");
	check(hole, "nothing usable in 0xA0000-0xFFFFF");
	check(bios, "a reserved entry in the BIOS area 0xE0000-0xFFFFF");
	check(usable <= ram, "usable RAM <= RAM size");

	int lo = ram_at(0), hi = ram_at(MIB);

	if (check(lo >= 0, "usable RAM at 0")) {
		uint64_t end = map[lo].addr + map[lo].len;

		check(end >= 0x80000 && end <= 0xa0000, "usable RAM at 0 ends in 512..640 KiB");
		check(end == (uint64_t)mb_info->mem_lower * 1024, "it ends at mem_lower KiB");
	}
	if (check(hi >= 0, "usable RAM at 1 MiB")) {
		uint64_t end = map[hi].addr + map[hi].len;

		check(map[hi].addr == MIB, "it starts at 1 MiB");
		check(end <= ram && end + MIB >= ram, "it ends within 1 MiB below the RAM size");
		check(end == MIB + (uint64_t)mb_info->mem_upper * 1024,
		    "it ends at 1 MiB + mem_upper KiB");
	}
	return mb_finish();
}
