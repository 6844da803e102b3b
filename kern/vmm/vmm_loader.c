/*
 * Guest images: a boot sector, or a multiboot v1 kernel loaded the way
 * QEMU's `-kernel` loads it, so that a kernel written for QEMU runs here
 * unmodified (the facts measured under QEMU 7.2:
 * ../shared/notes/qemu-guest-contract.md, guest/mb/).
 *
 * Guest RAM of a multiboot guest, as the kernel finds it:
 *   0 - 0x9FC00          usable (page 0 and 0x1000-0xDFFF are the
 *                        kernel's: AP trampolines and real-mode tests
 *                        write there, so the loader puts nothing there)
 *   0x9FC00 - 0xA0000    reserved (the EBDA)
 *   0xF0000 - 0x100000   reserved (the BIOS area: the ACPI tables, from
 *                        the RSDP at 0xF59D0 as SeaBIOS places it)
 *   1 MiB - top-128K     usable: the image, then its modules
 *   top-128K - top       reserved, as SeaBIOS reserves its high tables:
 *                        the multiboot info, memory map, command lines
 * so the boot data lives where a kernel's heap ("from my end to
 * mem_upper") never reaches.
 */
#include "vmm_loader.h"
#include "../pmem.h"
#include "../panic.h"
#include "../console.h"
#include "io/vacpi.h"

#define	MB1_MAGIC		0x1badb002U
#define	MB1_BOOT_MAGIC		0x2badb002U
#define	MB1_SEARCH		8192	/* the header is in the first 8 KiB */
#define	MB1_AOUT_KLUDGE		(1U << 16)
#define	MB2_MAGIC		0xe85250d6U
#define	MB2_SEARCH		32768

/* Multiboot info flags QEMU sets (0x24f): mem, boot device, cmdline,
 * modules, memory map, boot loader name. */
#define	MBI_MEM			(1U << 0)
#define	MBI_BOOTDEV		(1U << 1)
#define	MBI_CMDLINE		(1U << 2)
#define	MBI_MODS		(1U << 3)
#define	MBI_MMAP		(1U << 6)
#define	MBI_LOADER		(1U << 9)

#define	E820_RAM		1
#define	E820_RESERVED		2

#define	ELF_PT_LOAD		1
#define	ELF_EM_386		3

/* Little-endian fields of an image that may sit at any alignment. */
static u32
rd32(const u8 *p)
{
	return ((u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 |
	    (u32)p[3] << 24);
}

static u16
rd16(const u8 *p)
{
	return ((u16)(p[0] | p[1] << 8));
}

/* The offset of a magic word at 4-byte alignment in the first span
 * bytes, or -1. */
static long
find_magic(const u8 *image, size_t len, size_t span, u32 magic)
{
	for (size_t off = 0; off + 12 <= len && off < span; off += 4) {
		if (rd32(image + off) == magic)
			return ((long)off);
	}
	return (-1);
}

static enum guest_format
refuse(struct guest_layout *gl, char *why, size_t whylen, const char *fmt,
    ...) __printflike(4, 5);

static enum guest_format
refuse(struct guest_layout *gl, char *why, size_t whylen, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	gl->gl_format = GUEST_FMT_BAD;
	return (GUEST_FMT_BAD);
}

/* The image's extent must lie in usable RAM above 1 MiB... as QEMU's
 * does, or anywhere below the reserved top: a 32 KiB link base is seen. */
static bool
fits(u64 lo, u64 hi, u64 memsize)
{
	return (lo < hi && hi <= memsize - GUEST_TOP_RESERVED);
}

/* An ELF32 file: walk its PT_LOAD program headers (paddr, as QEMU). */
static enum guest_format
probe_elf32(const u8 *image, size_t len, u64 memsize, struct guest_layout *gl,
    char *why, size_t whylen)
{
	if (len < 52)
		return (refuse(gl, why, whylen, "a truncated ELF32 file (%lu "
		    "bytes, the header needs 52)", (u64)len));
	if (rd16(image + 18) != ELF_EM_386)
		return (refuse(gl, why, whylen, "an ELF32 file for machine %u, "
		    "not i386 (3)", rd16(image + 18)));
	u32 phoff = rd32(image + 28);
	u16 phentsize = rd16(image + 42), phnum = rd16(image + 44);
	if (phnum == 0 || phentsize < 32)
		return (refuse(gl, why, whylen, "an ELF32 file with no program "
		    "headers"));
	if (phoff > len || (u64)phnum * phentsize > len - phoff)
		return (refuse(gl, why, whylen, "a truncated ELF32 file: its "
		    "program headers end at %lu, the file has %lu bytes",
		    (u64)phoff + (u64)phnum * phentsize, (u64)len));
	u64 lo = ~0UL, hi = 0;
	u32 entry = rd32(image + 24), pentry = 0;
	int nload = 0;
	for (int i = 0; i < phnum; i++) {
		const u8 *ph = image + phoff + (size_t)i * phentsize;
		if (rd32(ph) != ELF_PT_LOAD || rd32(ph + 20) == 0)
			continue;
		u32 off = rd32(ph + 4), vaddr = rd32(ph + 8);
		u32 paddr = rd32(ph + 12), filesz = rd32(ph + 16);
		u32 memsz = rd32(ph + 20);
		if (filesz > memsz)
			return (refuse(gl, why, whylen, "an ELF32 file whose "
			    "segment %d has filesz 0x%x > memsz 0x%x", i,
			    filesz, memsz));
		if ((u64)off + filesz > len)
			return (refuse(gl, why, whylen, "a truncated ELF32 "
			    "file: segment %d needs bytes up to %lu, the file "
			    "has %lu", i, (u64)off + filesz, (u64)len));
		if (!fits(paddr, (u64)paddr + memsz, memsize))
			return (refuse(gl, why, whylen, "a multiboot kernel "
			    "whose segment %d at 0x%x-0x%lx lies outside the "
			    "guest's %lu MiB of RAM (usable up to 0x%lx)", i,
			    paddr, (u64)paddr + memsz, memsize >> 20,
			    memsize - GUEST_TOP_RESERVED));
		if (paddr < lo)
			lo = paddr;
		if ((u64)paddr + memsz > hi)
			hi = (u64)paddr + memsz;
		/* A higher-half link: the entry is virtual, run it at its
		 * physical address. */
		if (entry >= vaddr && entry - vaddr < memsz)
			pentry = paddr + (entry - vaddr);
		nload++;
	}
	if (nload == 0)
		return (refuse(gl, why, whylen, "an ELF32 file with no "
		    "loadable segment"));
	if (pentry == 0)
		return (refuse(gl, why, whylen, "an ELF32 file whose entry "
		    "0x%x is in no loadable segment", entry));
	gl->gl_entry = pentry;
	gl->gl_low = (u32)lo;
	gl->gl_high = (u32)hi;
	return (GUEST_FMT_MULTIBOOT);
}

/* The a.out kludge (header flag 16): the header's own address fields. */
static enum guest_format
probe_aout(const u8 *image, size_t len, u64 memsize, u32 mb,
    struct guest_layout *gl, char *why, size_t whylen)
{
	if ((size_t)mb + 32 > len)
		return (refuse(gl, why, whylen, "a truncated multiboot "
		    "header at offset %u", mb));
	u32 header = rd32(image + mb + 12), load = rd32(image + mb + 16);
	u32 load_end = rd32(image + mb + 20), bss_end = rd32(image + mb + 24);
	u32 entry = rd32(image + mb + 28);
	if (header < load || header - load > mb)
		return (refuse(gl, why, whylen, "a multiboot header whose "
		    "load_addr 0x%x is above header_addr 0x%x or before the "
		    "file", load, header));
	u64 file_off = mb - (header - load);
	u64 file_len = load_end == 0 ? len - file_off : (u64)load_end - load;
	if (load_end != 0 && load_end < load)
		return (refuse(gl, why, whylen, "a multiboot header with "
		    "load_end_addr 0x%x below load_addr 0x%x", load_end, load));
	if (file_off + file_len > len)
		return (refuse(gl, why, whylen, "a truncated multiboot image: "
		    "the header asks for bytes up to %lu, the file has %lu",
		    file_off + file_len, (u64)len));
	u64 hi = bss_end > load + file_len ? bss_end : load + file_len;
	if (!fits(load, hi, memsize))
		return (refuse(gl, why, whylen, "a multiboot kernel at "
		    "0x%x-0x%lx, outside the guest's %lu MiB of RAM", load, hi,
		    memsize >> 20));
	if (entry < load || entry >= hi)
		return (refuse(gl, why, whylen, "a multiboot header whose "
		    "entry_addr 0x%x is outside its image", entry));
	gl->gl_aout = true;
	gl->gl_entry = entry;
	gl->gl_low = load;
	gl->gl_high = (u32)hi;
	return (GUEST_FMT_MULTIBOOT);
}

enum guest_format
guest_probe(const u8 *image, size_t len, u64 memsize, struct guest_layout *gl,
    char *why, size_t whylen)
{
	memset(gl, 0, sizeof (*gl));
	bool elf = len >= 4 && image[0] == 0x7f && image[1] == 'E' &&
	    image[2] == 'L' && image[3] == 'F';
	int elfclass = elf && len > 4 ? image[4] : 0;

	if (len == 0)
		return (refuse(gl, why, whylen, "an empty file"));
	long mb = find_magic(image, len, MB1_SEARCH, MB1_MAGIC);
	if (mb >= 0) {
		u32 flags = rd32(image + mb + 4), sum = rd32(image + mb + 8);
		if (MB1_MAGIC + flags + sum != 0)
			return (refuse(gl, why, whylen, "a multiboot header at "
			    "offset %ld with a bad checksum (magic + flags + "
			    "checksum = 0x%x, not 0)", mb,
			    MB1_MAGIC + flags + sum));
		gl->gl_what = "a multiboot kernel";
		gl->gl_mb_off = (u32)mb;
		enum guest_format f;
		if ((flags & MB1_AOUT_KLUDGE) != 0)
			f = probe_aout(image, len, memsize, (u32)mb, gl, why,
			    whylen);
		else if (elfclass == 1)
			f = probe_elf32(image, len, memsize, gl, why, whylen);
		else if (elfclass == 2)
			return (refuse(gl, why, whylen, "an ELF64 file with a "
			    "multiboot header but without the a.out kludge "
			    "(flag 16): only ELF32 segments are loaded"));
		else
			return (refuse(gl, why, whylen, "a multiboot header in "
			    "a file that is not ELF32 and has no a.out kludge "
			    "(flag 16): nowhere to load it"));
		gl->gl_format = f;
		return (f);
	}
	if (find_magic(image, len, MB2_SEARCH, MB2_MAGIC) >= 0)
		return (refuse(gl, why, whylen, "a multiboot2 kernel without a "
		    "multiboot v1 header (only v1 is supported, as by QEMU's "
		    "-kernel)"));
	if (elf)
		return (refuse(gl, why, whylen, "an %s file without a "
		    "multiboot header", elfclass == 2 ? "ELF64" : elfclass ==
		    1 ? "ELF32" : "ELF"));
	if (len > GUEST_IMAGE_MAX)
		return (refuse(gl, why, whylen, "a %lu-byte file with no "
		    "multiboot header: as a boot sector at most %u bytes fit "
		    "between 0x7c00 and 0xa0000", (u64)len, (u32)GUEST_IMAGE_MAX));
	gl->gl_what = "a boot sector";
	gl->gl_format = GUEST_FMT_BOOTSECTOR;
	return (GUEST_FMT_BOOTSECTOR);
}

/* Guest RAM as the loader writes it: gpa .. gpa + len in range. */
static u8 *
gpa_ptr(struct vm *vm, u64 gpa)
{
	return ((u8 *)phys_to_virt(vm->vm_mem) + gpa);
}

static void
wr32(struct vm *vm, u64 gpa, u32 v)
{
	memcpy(gpa_ptr(vm, gpa), &v, sizeof (v));
}

/* QEMU's e820 map for a PC with memsize bytes below 3.5 GiB (7 entries). */
static u32
write_mmap(struct vm *vm, u64 gpa, u64 memsize)
{
	static const struct { u64 base, len; u32 type; } fixed[] = {
		{ 0, 0x9fc00, E820_RAM },
		{ 0x9fc00, 0x400, E820_RESERVED },
		{ 0xf0000, 0x10000, E820_RESERVED },
		{ 0x100000, 0, E820_RAM },		/* to the top */
		{ 0, GUEST_TOP_RESERVED, E820_RESERVED },	/* the top */
		{ 0xfeffc000, 0x4000, E820_RESERVED },
		{ 0xfffc0000, 0x40000, E820_RESERVED },
	};
	u32 n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
		u64 base = fixed[i].base, len = fixed[i].len;
		if (i == 3)
			len = memsize - GUEST_TOP_RESERVED - base;
		if (i == 4)
			base = memsize - GUEST_TOP_RESERVED;
		u8 *e = gpa_ptr(vm, gpa + n);
		u32 size = 20;
		memcpy(e, &size, 4);
		memcpy(e + 4, &base, 8);
		memcpy(e + 12, &len, 8);
		memcpy(e + 20, &fixed[i].type, 4);
		n += 24;
	}
	return (n);
}

/* A flat 4 GiB segment: code (execute/read) or data (read/write). */
static void
flat_seg(struct vcpu *vcpu, enum vm_seg seg, u16 sel, bool code)
{
	struct vm_seg_desc d = {
		.vsd_base = 0, .vsd_limit = 0xffffffff, .vsd_sel = sel,
		.vsd_attr = (code ? 0x9b : 0x93) | VM_SEG_ATTR_D | VM_SEG_ATTR_G,
	};

	vm_setseg(vcpu, seg, &d);
}

bool
guest_load_multiboot(struct vm *vm, const u8 *image, size_t len,
    const struct guest_layout *gl, const char *cmdline,
    const struct guest_module *mods, int nmods, char *why, size_t whylen)
{
	u64 top = vm->vm_memsize - GUEST_TOP_RESERVED;

	VERIFY(gl->gl_format == GUEST_FMT_MULTIBOOT, "guest_load_multiboot: "
	    "not a multiboot layout");
	VERIFY(nmods >= 0 && nmods <= GUEST_MAXMODS, "guest_load_multiboot: "
	    "%d modules", nmods);
	/* The image: its file bytes, then zeroes to its end (bss). */
	memset(gpa_ptr(vm, gl->gl_low), 0, gl->gl_high - gl->gl_low);
	if (gl->gl_aout) {
		u32 mb = gl->gl_mb_off;
		u32 header = rd32(image + mb + 12), load = rd32(image + mb + 16);
		u32 load_end = rd32(image + mb + 20);
		u64 off = mb - (header - load);
		u64 n = load_end == 0 ? len - off : (u64)load_end - load;
		memcpy(gpa_ptr(vm, load), image + off, n);
	} else {
		u32 phoff = rd32(image + 28);
		u16 phentsize = rd16(image + 42), phnum = rd16(image + 44);
		for (int i = 0; i < phnum; i++) {
			const u8 *ph = image + phoff + (size_t)i * phentsize;
			if (rd32(ph) != ELF_PT_LOAD || rd32(ph + 20) == 0)
				continue;
			memcpy(gpa_ptr(vm, rd32(ph + 12)), image + rd32(ph + 4),
			    rd32(ph + 16));
		}
	}
	/* Modules after the image, each on a page of its own (QEMU). */
	u64 at = P2ROUNDUP((u64)gl->gl_high, PAGESIZE);
	u64 mod_at[GUEST_MAXMODS];
	for (int i = 0; i < nmods; i++) {
		if (mods[i].gm_len > top || at > top - mods[i].gm_len) {
			ksnprintf(why, whylen, "module %d (%lu bytes) does not "
			    "fit below 0x%lx in the guest's %lu MiB", i,
			    (u64)mods[i].gm_len, top, vm->vm_memsize >> 20);
			return (false);
		}
		memcpy(gpa_ptr(vm, at), mods[i].gm_data, mods[i].gm_len);
		mod_at[i] = at;
		at = P2ROUNDUP(at + mods[i].gm_len + (mods[i].gm_len == 0),
		    PAGESIZE);
	}
	/* The boot data, in the reserved top 128 KiB. */
	u64 info = top, mmap = top + 0x100, modlist = top + 0x400;
	u64 strings = top + 0x800, loader_name = top + 0x780;
	u64 strings_end = top + GUEST_TOP_RESERVED;
	memset(gpa_ptr(vm, top), 0, 0x800);
	u64 s = strings;
	size_t n = strlen(cmdline) + 1;
	VERIFY(n <= GUEST_CMDLINE_MAX, "guest_load_multiboot: cmdline");
	memcpy(gpa_ptr(vm, s), cmdline, n);
	u64 cmdline_gpa = s;
	s += P2ROUNDUP(n, 16);
	for (int i = 0; i < nmods; i++) {
		n = strlen(mods[i].gm_cmdline) + 1;
		VERIFY(n <= GUEST_CMDLINE_MAX && s + n <= strings_end,
		    "guest_load_multiboot: module cmdline");
		memcpy(gpa_ptr(vm, s), mods[i].gm_cmdline, n);
		u64 m = modlist + 16 * (u64)i;
		wr32(vm, m, (u32)mod_at[i]);
		wr32(vm, m + 4, (u32)(mod_at[i] + mods[i].gm_len));
		wr32(vm, m + 8, (u32)s);
		wr32(vm, m + 12, 0);
		s += P2ROUNDUP(n, 16);
	}
	/* QEMU's name: a kernel that prints it prints the same line. */
	memcpy(gpa_ptr(vm, loader_name), "qemu", 5);
	u32 mmap_len = write_mmap(vm, mmap, vm->vm_memsize);
	wr32(vm, info + 0, MBI_MEM | MBI_BOOTDEV | MBI_CMDLINE | MBI_MODS |
	    MBI_MMAP | MBI_LOADER);
	wr32(vm, info + 4, 639);			/* mem_lower, KiB */
	wr32(vm, info + 8, (u32)(top >> 10) - 1024);	/* mem_upper */
	wr32(vm, info + 12, 0x8000ffff);		/* boot_device */
	wr32(vm, info + 16, (u32)cmdline_gpa);
	wr32(vm, info + 20, (u32)nmods);
	wr32(vm, info + 24, (u32)modlist);
	wr32(vm, info + 44, mmap_len);
	wr32(vm, info + 48, (u32)mmap);
	wr32(vm, info + 64, (u32)loader_name);

	/* ACPI where SeaBIOS has it under QEMU: the RSDP in the BIOS area. */
	u64 rsdp;
	size_t acpi = vacpi_size(vm->vm_nvcpus);
	VERIFY(VACPI_RSDP_GPA + acpi <= 0x100000 &&
	    vacpi_build(gpa_ptr(vm, VACPI_RSDP_GPA), acpi, VACPI_RSDP_GPA,
	    vm->vm_nvcpus, &rsdp) != 0, "guest_load_multiboot: ACPI tables "
	    "for %d vCPUs", vm->vm_nvcpus);

	/* QEMU's entry state: flat protected mode, paging off, IF clear,
	 * and a GDT holding the selectors loaded, for a kernel that reloads
	 * a segment register before its own LGDT. */
	u64 gdt = top + 0x7c0;
	static const u64 gdt_entries[3] = { 0, 0x00cf9a000000ffffUL,
	    0x00cf92000000ffffUL };
	memcpy(gpa_ptr(vm, gdt), gdt_entries, sizeof (gdt_entries));
	struct vcpu *vcpu = vm->vm_vcpu[0];
	struct vm_seg_desc gdtr = { .vsd_base = gdt,
	    .vsd_limit = sizeof (gdt_entries) - 1 };
	vm_setseg(vcpu, VM_SEG_GDTR, &gdtr);
	flat_seg(vcpu, VM_SEG_CS, 0x08, true);
	flat_seg(vcpu, VM_SEG_DS, 0x10, false);
	flat_seg(vcpu, VM_SEG_ES, 0x10, false);
	flat_seg(vcpu, VM_SEG_SS, 0x10, false);
	flat_seg(vcpu, VM_SEG_FS, 0x10, false);
	flat_seg(vcpu, VM_SEG_GS, 0x10, false);
	vm_setreg(vcpu, VM_REG_CR0, 0x11);		/* PE, ET */
	vm_setreg(vcpu, VM_REG_CR4, 0);
	vm_setreg(vcpu, VM_REG_EFER, 0);
	vm_setreg(vcpu, VM_REG_RFLAGS, 0x2);
	vm_setreg(vcpu, VM_REG_RIP, gl->gl_entry);
	vm_setreg(vcpu, VM_REG_RAX, MB1_BOOT_MAGIC);
	vm_setreg(vcpu, VM_REG_RBX, (u32)info);
	vm_setreg(vcpu, VM_REG_RSP, 0);
	return (true);
}
