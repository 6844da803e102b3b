/*
 * vacpi: the ACPI tables of QEMU 7.2's PC (pc-i440fx, PIIX4 PM) for a
 * guest without firmware: RSDP (revision 0) -> RSDT -> FADT (FACS, DSDT),
 * MADT and WAET, built into a buffer the caller maps at a guest-physical
 * address in the BIOS area, where a kernel's scan of 0xE0000-0xFFFFF on
 * 16-byte boundaries finds the RSDP. Contents as QEMU's (read back from
 * a QEMU 7.2 guest): the FADT's PM blocks at 0x600 (timer 0x608, vpmtmr),
 * SCI 9; the MADT's local APICs (ACPI ID = APIC ID = vCPU index), one
 * IOAPIC (ID 0) at 0xFEC00000, QEMU's interrupt source overrides and
 * LINT1 NMI. A leaf: no device state, no VM.
 */
#ifndef _KERN_VMM_IO_VACPI_H
#define _KERN_VMM_IO_VACPI_H

#include "../../types.h"

/* Where SeaBIOS leaves QEMU 7.2's RSDP (-m 128, 1-8 CPUs): a good base. */
#define	VACPI_RSDP_GPA		0xf59d0ULL
#define	VACPI_AREA_START	0xe0000ULL	/* where guests scan for it */
#define	VACPI_AREA_END		0x100000ULL
#define	VACPI_MAX_CPUS		254		/* 8-bit APIC IDs, not 0xff */

#define	VACPI_LAPIC_ADDR	0xfee00000U
#define	VACPI_IOAPIC_ADDR	0xfec00000U
#define	VACPI_IOAPIC_ID		0		/* QEMU's ACPI_BUILD_IOAPIC_ID */
#define	VACPI_SCI_IRQ		9

/* FADT (ACPI 1.0 layout, QEMU's revision 1, 116 bytes): offsets. */
#define	FADT_FIRMWARE_CTRL	36
#define	FADT_DSDT		40
#define	FADT_SCI_INT		46
#define	FADT_PM1A_EVT_BLK	56
#define	FADT_PM1A_CNT_BLK	64
#define	FADT_PM_TMR_BLK		76
#define	FADT_GPE0_BLK		80
#define	FADT_PM_TMR_LEN		91
#define	FADT_CENTURY		108
#define	FADT_FLAGS		112
#define	FADT_LEN		116
#define	FADT_F_TMR_VAL_EXT	(1U << 8)	/* clear: 24-bit timer */

/* MADT entry types. */
#define	MADT_LAPIC		0
#define	MADT_IOAPIC		1
#define	MADT_ISO		2	/* interrupt source override */
#define	MADT_LAPIC_NMI		4
#define	MADT_PCAT_COMPAT	1	/* MADT flags: dual 8259s present */

/*
 * Writes the tables for ncpus (1..VACPI_MAX_CPUS) vCPUs into buf, which
 * the caller places at guest-physical buf_gpa (16-byte aligned, below
 * 4 GiB; VACPI_RSDP_GPA is where QEMU has it), the RSDP first: *rsdp_gpa
 * = buf_gpa. Returns the bytes used (every table checksummed), or 0 if
 * buflen is too small, ncpus out of range or buf_gpa unaligned.
 * vacpi_size(ncpus) is enough for any buf_gpa (the FACS is aligned to
 * 64 bytes of guest address, so the bytes used vary by up to 48).
 */
size_t vacpi_build(u8 *buf, size_t buflen, u64 buf_gpa, int ncpus,
    u64 *rsdp_gpa);
size_t vacpi_size(int ncpus);

#endif
