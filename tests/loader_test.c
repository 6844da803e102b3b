/*
 * Suite "loader": guest_probe (kern/vmm/vmm_loader.c) names each image
 * kind and refuses the ones it cannot run with a message that says what
 * the file is. The images are built here, byte by byte, as a linker or a
 * careless user would leave them.
 */
#include "ktest.h"
#include "../kern/vmm/vmm_loader.h"
#include "../kern/kmem.h"

#define	IMG_SIZE	8192
#define	MIB		(1UL << 20)

static void
put32(u8 *p, u32 v)
{
	memcpy(p, &v, 4);
}

static void
put16(u8 *p, u16 v)
{
	memcpy(p, &v, 2);
}

/* A multiboot v1 header at off with flags and a checksum off by bad. */
static void
mb_header(u8 *img, size_t off, u32 flags, u32 bad)
{
	put32(img + off, 0x1badb002);
	put32(img + off + 4, flags);
	put32(img + off + 8, -(0x1badb002U + flags) + bad);
}

/*
 * An ELF32 i386 file with one PT_LOAD segment of filesz bytes at file
 * offset 0x1000, loaded at paddr with memsz bytes, entry at paddr + 0x10;
 * the multiboot header sits at 0x1000 (inside the segment, as ld puts
 * it). cls 2 makes the identification say ELF64.
 */
static void
elf_image(u8 *img, int cls, u32 paddr, u32 filesz, u32 memsz)
{
	memset(img, 0, IMG_SIZE);
	memcpy(img, "\177ELF", 4);
	img[4] = (u8)cls;
	img[5] = 1;				/* little-endian */
	img[6] = 1;
	put16(img + 16, 2);			/* ET_EXEC */
	put16(img + 18, 3);			/* EM_386 */
	put32(img + 24, paddr + 0x10);		/* e_entry */
	put32(img + 28, 52);			/* e_phoff */
	put16(img + 42, 32);			/* e_phentsize */
	put16(img + 44, 1);			/* e_phnum */
	u8 *ph = img + 52;
	put32(ph, 1);				/* PT_LOAD */
	put32(ph + 4, 0x1000);
	put32(ph + 8, paddr);
	put32(ph + 12, paddr);
	put32(ph + 16, filesz);
	put32(ph + 20, memsz);
	mb_header(img, 0x1000, 0x3, 0);
}

struct probe {
	enum guest_format f;
	struct guest_layout gl;
	char why[200];
};

static void
probe(struct probe *p, const u8 *img, size_t len, u64 mem)
{
	p->why[0] = '\0';
	p->f = guest_probe(img, len, mem, &p->gl, p->why, sizeof (p->why));
	ktest_note("%lu bytes: %s%s%s", (u64)len, p->f == GUEST_FMT_BAD ?
	    "refused: " : "", p->f == GUEST_FMT_BAD ? p->why : p->gl.gl_what,
	    "");
}

static void
expect_refused(const struct probe *p, const char *text)
{
	KT_EXPECT(p->f == GUEST_FMT_BAD, "accepted as %s, want refused (%s)",
	    p->gl.gl_what, text);
	KT_EXPECT(strstr(p->why, text) != NULL, "message '%s' does not say "
	    "'%s'", p->why, text);
}

KTEST(loader, elf32_multiboot_accepted)
{
	u8 *img = kmem_zalloc(IMG_SIZE, KM_SLEEP);
	struct probe p;

	elf_image(img, 1, 0x100000, 0x1000, 0x5000);
	probe(&p, img, IMG_SIZE, 128 * MIB);
	KT_EXPECT(p.f == GUEST_FMT_MULTIBOOT, "refused: %s", p.why);
	KT_EXPECT(p.gl.gl_entry == 0x100010, "entry 0x%x", p.gl.gl_entry);
	KT_EXPECT(p.gl.gl_low == 0x100000 && p.gl.gl_high == 0x105000,
	    "extent 0x%x-0x%x, want the memsz (bss included)", p.gl.gl_low,
	    p.gl.gl_high);
	kmem_free(img, IMG_SIZE);
}

KTEST(loader, aout_kludge_accepted)
{
	u8 *img = kmem_zalloc(IMG_SIZE, KM_SLEEP);
	struct probe p;

	/* A flat binary linked at 1 MiB, header at offset 0x40. */
	mb_header(img, 0x40, 0x10003, 0);
	put32(img + 0x4c, 0x100040);		/* header_addr */
	put32(img + 0x50, 0x100000);		/* load_addr */
	put32(img + 0x54, 0);			/* load_end: the whole file */
	put32(img + 0x58, 0x110000);		/* bss_end */
	put32(img + 0x5c, 0x100080);		/* entry */
	probe(&p, img, IMG_SIZE, 128 * MIB);
	KT_EXPECT(p.f == GUEST_FMT_MULTIBOOT && p.gl.gl_aout, "refused: %s",
	    p.why);
	KT_EXPECT(p.gl.gl_entry == 0x100080 && p.gl.gl_high == 0x110000,
	    "entry 0x%x end 0x%x", p.gl.gl_entry, p.gl.gl_high);
	kmem_free(img, IMG_SIZE);
}

KTEST(loader, boot_sector_accepted)
{
	u8 *img = kmem_zalloc(512, KM_SLEEP);
	struct probe p;

	img[0] = 0xfa;				/* cli */
	img[510] = 0x55;
	img[511] = 0xaa;
	probe(&p, img, 512, 2 * MIB);
	KT_EXPECT(p.f == GUEST_FMT_BOOTSECTOR, "refused: %s", p.why);
	kmem_free(img, 512);
}

KTEST(loader, refusals_name_the_file)
{
	u8 *img = kmem_zalloc(IMG_SIZE, KM_SLEEP);
	struct probe p;

	probe(&p, img, 0, 128 * MIB);
	expect_refused(&p, "an empty file");

	elf_image(img, 1, 0x100000, 0x1000, 0x5000);
	mb_header(img, 0x1000, 0x3, 1);
	probe(&p, img, IMG_SIZE, 128 * MIB);
	expect_refused(&p, "bad checksum");

	elf_image(img, 2, 0x100000, 0x1000, 0x5000);
	probe(&p, img, IMG_SIZE, 128 * MIB);
	expect_refused(&p, "ELF64 file with a multiboot header but without "
	    "the a.out kludge");

	elf_image(img, 1, 0x100000, 0x1000, 0x5000);
	memset(img + 0x1000, 0, 12);		/* no header at all */
	probe(&p, img, IMG_SIZE, 128 * MIB);
	expect_refused(&p, "an ELF32 file without a multiboot header");

	elf_image(img, 1, 0x100000, 0x1000, 0x5000);
	memset(img + 0x1000, 0, 12);
	put32(img + 0x1000, 0xe85250d6);	/* multiboot2 only */
	probe(&p, img, IMG_SIZE, 128 * MIB);
	expect_refused(&p, "multiboot2 kernel");

	elf_image(img, 1, 0x100000, 0x1000, 0x5000);
	probe(&p, img, 0x1800, 128 * MIB);	/* cut in the segment */
	expect_refused(&p, "truncated ELF32 file: segment 0 needs bytes up "
	    "to 8192, the file has 6144");

	elf_image(img, 1, 0x100000, 0x1000, 64 * MIB);
	probe(&p, img, IMG_SIZE, 32 * MIB);
	expect_refused(&p, "lies outside the guest's 32 MiB of RAM");

	/* Too big for a boot sector, and no header. */
	kmem_free(img, IMG_SIZE);
	size_t big = 0xa0000 - 0x7c00 + 1;
	img = kmem_zalloc(big, KM_SLEEP);
	probe(&p, img, big, 128 * MIB);
	expect_refused(&p, "with no multiboot header: as a boot sector at "
	    "most");
	kmem_free(img, big);
}
