/*
 * A fake guest for the MMIO emulator's tests (tests/mmio_emul_test.c,
 * tests/mmio_string_test.c): registers, a device page whose registers are
 * bytes with a log of every access, and a few pages of RAM behind a
 * linear-to-physical map, all in callbacks for vie_emulate_mmio.
 */
#ifndef _TESTS_MMIO_FAKE_H
#define _TESTS_MMIO_FAKE_H

#include "../kern/vmm/vmm_decode.h"
#include "decode_test.h"

#define	DEV_GPA		0xfee00000ULL	/* the device page (a local APIC's) */
#define	DEV_GLA		0x200000ULL	/* where the guest maps it */
#define	RAM_GPA		0x100000ULL
#define	RAM_GLA		0x10000ULL	/* linear pages RAM_GLA.. are RAM */
#define	RAM_PAGES	4
#define	MMIO_LOG_MAX	8192
#define	MMIO_NO_FAULT	(~0ULL)

/* One device access as vmo_mmio saw it. */
struct mmio_access {
	u64 ma_gpa;
	u8 ma_bytes;
	bool ma_write;
	u64 ma_val;		/* written, or what the read returned */
};

struct mmio_fake {
	u64 mf_reg[VIE_REG_RFLAGS + 1];
	u8 mf_dev[PAGESIZE];	/* the device's registers, little-endian */
	u8 mf_ram[RAM_PAGES * PAGESIZE];
	struct mmio_access mf_log[MMIO_LOG_MAX];
	int mf_nlog;
	u32 mf_setregs;		/* bit r: register r was written */
	u64 mf_base[VIE_SEG_GS + 1];	/* segment bases (limits 4 GiB) */
	u64 mf_fault_gla;	/* the linear page whose walk faults */
	int mf_nfault;
	struct vie_fault mf_fault;
	bool mf_fail_write;	/* device writes fail (after the log) */
	bool mf_bad;		/* a callback got an impossible request */
};

extern const struct vie_mmio_ops mmio_fake_ops;

/*
 * Registers 0x0807060504030201 * (r + 1) ^ (r << 4): no two bytes alike
 * in one, and AH..BH (02 04 06 08) unlike SPL..DIL (45 56 67 78). RFLAGS
 * 2, the device and RAM filled with distinct bytes.
 */
struct mmio_fake *mmio_fake_create(void);
void mmio_fake_destroy(struct mmio_fake *);
/* The initial value of general register r. */
u64 mmio_fake_reg0(int r);
/* size bytes of the device at gpa (little-endian), and setting them. */
u64 mmio_fake_dev(const struct mmio_fake *, u64 gpa, int size);
void mmio_fake_set_dev(struct mmio_fake *, u64 gpa, int size, u64 val);
/* The RAM byte behind linear address gla. */
u8 *mmio_fake_ram(struct mmio_fake *, u64 gla);
/* Decode bytes in env (VIE_E* on failure) and emulate them at gpa. */
int mmio_fake_run(struct mmio_fake *, enum env env, const u8 *bytes,
    size_t n, u64 gpa, struct vie *vie);

#endif
