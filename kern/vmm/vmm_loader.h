/*
 * Guest images (vmm_loader.c): what a file is, and a multiboot v1 kernel
 * loaded as QEMU's `-kernel` loads it (docs/vmm.md, "Guest images").
 */
#ifndef _KERN_VMM_VMM_LOADER_H
#define _KERN_VMM_VMM_LOADER_H

#include "vmm.h"

enum guest_format {
	GUEST_FMT_BAD,		/* refused: guest_probe says why */
	GUEST_FMT_BOOTSECTOR,	/* flat real-mode code at 0x7C00 */
	GUEST_FMT_MULTIBOOT	/* multiboot v1: ELF32 or a.out kludge */
};

/* One boot module for a multiboot guest. */
struct guest_module {
	const u8 *gm_data;
	size_t gm_len;
	const char *gm_cmdline;		/* "<path> <args>", as QEMU's -initrd */
};

/* The largest boot sector: what fits between 0x7C00 and the 640 KiB line. */
#define	GUEST_IMAGE_MAX	(0xa0000 - 0x7c00)

#define	GUEST_MAXMODS	16
#define	GUEST_CMDLINE_MAX 1024		/* each command line, NUL included */

/* What guest_probe found in a multiboot image: where it goes. */
struct guest_layout {
	enum guest_format gl_format;
	const char *gl_what;		/* the format, named for messages */
	u32 gl_entry;			/* guest-physical entry point */
	u32 gl_low, gl_high;		/* the image's extent in guest RAM */
	bool gl_aout;			/* loaded by the a.out kludge fields */
	u32 gl_mb_off;			/* file offset of the header */
};

/*
 * Name the image's format and check that it can run in memsize bytes of
 * guest RAM. GUEST_FMT_BAD with a message in why (naming what the file is)
 * for anything that cannot: an empty or truncated file, an ELF file
 * without a multiboot header, a multiboot2-only kernel, a bad header
 * checksum, segments outside guest RAM.
 */
enum guest_format guest_probe(const u8 *image, size_t len, u64 memsize,
    struct guest_layout *gl, char *why, size_t whylen);

/*
 * Load a multiboot image (guest_probe said GUEST_FMT_MULTIBOOT) into vm's
 * RAM with its modules, build the multiboot info, memory map and command
 * lines, and give vCPU 0 QEMU's entry state: EAX = 0x2BADB002, EBX = the
 * info, flat 32-bit protected mode (CS 0x08, data 0x10), paging off, IF
 * clear. False and why if the modules do not fit.
 */
bool guest_load_multiboot(struct vm *, const u8 *image, size_t len,
    const struct guest_layout *, const char *cmdline,
    const struct guest_module *mods, int nmods, char *why, size_t whylen);

/* Where the loader puts its data in guest RAM (the top 128 KiB, reserved
 * in the memory map as QEMU's firmware reserves it). */
#define	GUEST_TOP_RESERVED	(128UL << 10)

#endif
