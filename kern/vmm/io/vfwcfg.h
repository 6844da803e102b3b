/*
 * vfwcfg: QEMU's firmware configuration device (fw_cfg) as a PC has it,
 * through I/O ports only: 0x510 takes a 16-bit item key, byte reads of
 * 0x511 (or 0x510) return the item's bytes one by one. No DMA interface
 * (FW_CFG_ID says traditional only). The items are QEMU 7.2's for a
 * pc-i440fx `-kernel` boot, the file directory included (see vfwcfg.c).
 * A leaf device model: it knows no VM; the caller says how many vCPUs
 * and how much RAM, and may add items and files.
 */
#ifndef _KERN_VMM_IO_VFWCFG_H
#define _KERN_VMM_IO_VFWCFG_H

#include "../../types.h"

#define	VFWCFG_PORT_SEL		0x510
#define	VFWCFG_PORT_DATA	0x511

/* Item keys (QEMU's include/standard-headers/linux/qemu_fw_cfg.h). */
#define	FW_CFG_SIGNATURE	0x00
#define	FW_CFG_ID		0x01
#define	FW_CFG_UUID		0x02
#define	FW_CFG_RAM_SIZE		0x03
#define	FW_CFG_NOGRAPHIC	0x04
#define	FW_CFG_NB_CPUS		0x05
#define	FW_CFG_NUMA		0x0d
#define	FW_CFG_BOOT_MENU	0x0e
#define	FW_CFG_MAX_CPUS		0x0f
#define	FW_CFG_FILE_DIR		0x19
#define	FW_CFG_FILE_FIRST	0x20
#define	FW_CFG_FILE_SLOTS	0x20	/* QEMU's default since 2.9 */
#define	FW_CFG_WRITE_CHANNEL	0x4000
#define	FW_CFG_ARCH_LOCAL	0x8000
#define	FW_CFG_ENTRY_MASK	0x3fff
#define	FW_CFG_IRQ0_OVERRIDE	(FW_CFG_ARCH_LOCAL + 2)

#define	FW_CFG_ID_TRADITIONAL	0x01	/* FW_CFG_ID bit 0 */
#define	FW_CFG_ID_DMA		0x02	/* bit 1: clear here */

/* A file directory entry; the directory is a u32 count, then these. */
#define	FW_CFG_MAX_FILE_PATH	56
struct fw_cfg_file {
	u32 size;			/* big-endian */
	u16 select;			/* big-endian */
	u16 reserved;
	char name[FW_CFG_MAX_FILE_PATH];
} __packed;

struct vfwcfg;

/* ramsize: bytes of guest RAM (RAM_SIZE, etc/e820). */
struct vfwcfg *vfwcfg_create(int ncpus, u64 ramsize);
void vfwcfg_destroy(struct vfwcfg *);
/*
 * 0 if port is 0x510 or 0x511, -1 if not. A 16-bit OUT to 0x510 selects
 * a key (offset 0); a byte IN from either port reads the next byte (0
 * past the end or for a key without an item); anything else is what
 * QEMU does with it: byte OUTs are ignored (writes went away in QEMU
 * 2.4), wider INs read 0 and do not advance, wider OUTs are dropped.
 */
int vfwcfg_io(struct vfwcfg *, u16 port, bool in, int bytes, u32 *val);
/*
 * A numbered item (key < FW_CFG_FILE_FIRST, or FW_CFG_ARCH_LOCAL + 0..7),
 * replacing any before it: len bytes copied from data, or len zero bytes
 * if data is NULL. 0, or -1 for a key out of range.
 */
int vfwcfg_set_item(struct vfwcfg *, u16 key, const void *data, u32 len);
/*
 * A file: listed in the directory by name (sorted; selectors follow the
 * order, FW_CFG_FILE_FIRST up, as QEMU numbers them), contents as for
 * vfwcfg_set_item. A name already there gets the new contents. 0, or -1
 * if the name is empty or too long, or the FW_CFG_FILE_SLOTS are used.
 */
int vfwcfg_add_file(struct vfwcfg *, const char *name, const void *data,
    u32 len);
/* The key a file has now (it moves when a smaller name is added), or 0. */
u16 vfwcfg_file_key(struct vfwcfg *, const char *name);

#endif
