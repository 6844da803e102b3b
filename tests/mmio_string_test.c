/*
 * Suite "decode": the string moves of vie_emulate_mmio (MOVS, STOS, LODS,
 * with REP, DF up and down) between the fake device and the fake RAM of
 * tests/mmio_fake.h: one device access per element, rCX/rSI/rDI as the
 * CPU leaves them, faults and batches.
 */
#include "ktest.h"
#include "mmio_fake.h"

#define	R0(r)		mmio_fake_reg0(VIE_REG_##r)
#define	DF		0x400ULL
#define	REG(f, r)	((f)->mf_reg[VIE_REG_##r])

static int
srun(struct mmio_fake *f, enum env env, const u8 *b, size_t n)
{
	struct vie vie;

	/* the gpa is ignored: each element is translated on its own */
	return (mmio_fake_run(f, env, b, n, 0, &vie));
}

#define	SRUN(f, env, ...)						\
	srun(f, env, (const u8[]){ __VA_ARGS__ },			\
	    sizeof ((u8[]){ __VA_ARGS__ }))

/* Log entry i is a device access (write?, size) at DEV_GLA offset off. */
static bool
access_at(const struct mmio_fake *f, int i, bool write, int size, u64 off)
{
	return (i < f->mf_nlog && f->mf_log[i].ma_write == write &&
	    f->mf_log[i].ma_bytes == size &&
	    f->mf_log[i].ma_gpa == DEV_GPA + off);
}

/* size bytes of fake RAM at gla, little-endian */
static u64
ram_val(struct mmio_fake *f, u64 gla, int size)
{
	u64 v = 0;

	for (int i = 0; i < size; i++)
		v |= (u64)*mmio_fake_ram(f, gla + i) << (8 * i);
	return (v);
}

KTEST(decode, mmio_rep_stos)
{
	struct mmio_fake *f = mmio_fake_create();
	bool ok = true;
	int rc;

	/* rep stosd, 64-bit, DF=0: five dword writes of EAX going up */
	REG(f, RDI) = DEV_GLA + 0x100;
	REG(f, RCX) = 5;
	rc = SRUN(f, L64, 0xf3, 0xab);
	for (int i = 0; i < 5; i++)
		ok = ok && access_at(f, i, true, 4, 0x100 + 4 * i) &&
		    f->mf_log[i].ma_val == 0x04030201;
	KT_EXPECT(rc == VIE_IO_DONE && ok && f->mf_nlog == 5 && !f->mf_bad,
	    "rep stosd: rc %d, %d accesses", rc, f->mf_nlog);
	KT_EXPECT(REG(f, RCX) == 0 && REG(f, RDI) == DEV_GLA + 0x114 &&
	    REG(f, RSI) == R0(RSI), "rep stosd: rcx %lu rdi 0x%lx",
	    REG(f, RCX), REG(f, RDI));
	mmio_fake_destroy(f);

	/* rep stosw, 32-bit, DF=1: three words going down */
	f = mmio_fake_create();
	REG(f, RDI) = DEV_GLA + 0x200;
	REG(f, RCX) = 3;
	REG(f, RFLAGS) = 0x2 | DF;
	rc = SRUN(f, P32, 0x66, 0xf3, 0xab);
	ok = true;
	for (int i = 0; i < 3; i++)
		ok = ok && access_at(f, i, true, 2, 0x200 - 2 * i) &&
		    f->mf_log[i].ma_val == 0x0201;
	KT_EXPECT(rc == VIE_IO_DONE && ok && f->mf_nlog == 3 &&
	    REG(f, RCX) == 0 && REG(f, RDI) == DEV_GLA + 0x1fa, "std; rep "
	    "stosw: rc %d, %d accesses, rdi 0x%lx", rc, f->mf_nlog,
	    REG(f, RDI));
	mmio_fake_destroy(f);

	/* stosb without REP: one byte, RCX untouched; rex.w stosq */
	f = mmio_fake_create();
	REG(f, RDI) = DEV_GLA + 0x10;
	rc = SRUN(f, L64, 0xaa);
	KT_EXPECT(rc == VIE_IO_DONE && f->mf_nlog == 1 &&
	    access_at(f, 0, true, 1, 0x10) && f->mf_log[0].ma_val == 0x01 &&
	    REG(f, RCX) == R0(RCX) && REG(f, RDI) == DEV_GLA + 0x11,
	    "stosb: rc %d rcx 0x%lx", rc, REG(f, RCX));
	rc = SRUN(f, L64, 0x48, 0xab);
	KT_EXPECT(rc == VIE_IO_DONE && access_at(f, 1, true, 8, 0x11) &&
	    f->mf_log[1].ma_val == R0(RAX) && REG(f, RDI) == DEV_GLA + 0x19,
	    "stosq: rc %d", rc);
	mmio_fake_destroy(f);
}

/*
 * 16-bit addressing: ES:DI with ES's base; DI and CX are updated inside
 * RDI and RCX, whose upper bits stay.
 */
KTEST(decode, mmio_stos_16bit)
{
	struct mmio_fake *f = mmio_fake_create();
	int rc;

	f->mf_base[VIE_SEG_ES] = DEV_GLA;
	REG(f, RDI) = 0x12340100;
	REG(f, RCX) = 0xabcd0002;
	rc = SRUN(f, R16, 0xf3, 0xab);
	KT_EXPECT(rc == VIE_IO_DONE && f->mf_nlog == 2 &&
	    access_at(f, 0, true, 2, 0x100) && access_at(f, 1, true, 2, 0x102),
	    "rep stosw (16-bit): rc %d, %d accesses", rc, f->mf_nlog);
	KT_EXPECT(REG(f, RDI) == 0x12340104 && REG(f, RCX) == 0xabcd0000,
	    "rdi 0x%lx rcx 0x%lx", REG(f, RDI), REG(f, RCX));
	mmio_fake_destroy(f);
}

KTEST(decode, mmio_rep_movs)
{
	struct mmio_fake *f = mmio_fake_create();
	bool ok = true;
	int rc;

	/* RAM to device, rep movsd, DF=0 */
	REG(f, RSI) = RAM_GLA + 0x10;
	REG(f, RDI) = DEV_GLA + 0x40;
	REG(f, RCX) = 4;
	rc = SRUN(f, L64, 0xf3, 0xa5);
	for (int i = 0; i < 4; i++)
		ok = ok && access_at(f, i, true, 4, 0x40 + 4 * i) &&
		    f->mf_log[i].ma_val == ram_val(f, RAM_GLA + 0x10 + 4 * i, 4);
	KT_EXPECT(rc == VIE_IO_DONE && ok && f->mf_nlog == 4 && !f->mf_bad,
	    "rep movsd to the device: rc %d, %d accesses", rc, f->mf_nlog);
	KT_EXPECT(REG(f, RCX) == 0 && REG(f, RSI) == RAM_GLA + 0x20 &&
	    REG(f, RDI) == DEV_GLA + 0x50, "rcx %lu rsi 0x%lx rdi 0x%lx",
	    REG(f, RCX), REG(f, RSI), REG(f, RDI));
	mmio_fake_destroy(f);

	/* device to RAM, rep movsb, DF=1, 32-bit */
	f = mmio_fake_create();
	REG(f, RSI) = DEV_GLA + 0x30;
	REG(f, RDI) = RAM_GLA + PAGESIZE + 0x20;
	REG(f, RCX) = 6;
	REG(f, RFLAGS) = 0x2 | DF;
	rc = SRUN(f, P32, 0xf3, 0xa4);
	ok = true;
	for (int i = 0; i < 6; i++)
		ok = ok && access_at(f, i, false, 1, 0x30 - i) &&
		    *mmio_fake_ram(f, RAM_GLA + PAGESIZE + 0x20 - i) ==
		    f->mf_dev[0x30 - i];
	KT_EXPECT(rc == VIE_IO_DONE && ok && f->mf_nlog == 6 &&
	    REG(f, RSI) == DEV_GLA + 0x2a && REG(f, RDI) == RAM_GLA +
	    PAGESIZE + 0x1a && REG(f, RCX) == 0, "std; rep movsb from the "
	    "device: rc %d, %d accesses, rsi 0x%lx", rc, f->mf_nlog,
	    REG(f, RSI));
	mmio_fake_destroy(f);

	/* device to device: a read, then a write, of the same value */
	f = mmio_fake_create();
	REG(f, RSI) = DEV_GLA + 0x80;
	REG(f, RDI) = DEV_GLA + 0x180;
	u64 v = mmio_fake_dev(f, DEV_GPA + 0x80, 8);
	rc = SRUN(f, L64, 0x48, 0xa5);
	KT_EXPECT(rc == VIE_IO_DONE && f->mf_nlog == 2 &&
	    access_at(f, 0, false, 8, 0x80) && access_at(f, 1, true, 8, 0x180) &&
	    f->mf_log[1].ma_val == v, "movsq device to device: rc %d", rc);
	mmio_fake_destroy(f);

	/* a RAM element across a page is read in two parts */
	f = mmio_fake_create();
	REG(f, RSI) = RAM_GLA + PAGESIZE - 2;
	REG(f, RDI) = DEV_GLA;
	rc = SRUN(f, P32, 0xa5);
	KT_EXPECT(rc == VIE_IO_DONE && !f->mf_bad && f->mf_nlog == 1 &&
	    f->mf_log[0].ma_val == ram_val(f, RAM_GLA + PAGESIZE - 2, 4),
	    "movsd from RAM across a page: rc %d bad %d", rc, f->mf_bad);
	mmio_fake_destroy(f);
}

KTEST(decode, mmio_lods)
{
	struct mmio_fake *f = mmio_fake_create();
	int rc;

	/* lodsd in 64-bit mode: EAX zero-extended into RAX */
	REG(f, RSI) = DEV_GLA + 0x20;
	rc = SRUN(f, L64, 0xad);
	KT_EXPECT(rc == VIE_IO_DONE && f->mf_nlog == 1 &&
	    access_at(f, 0, false, 4, 0x20) &&
	    REG(f, RAX) == mmio_fake_dev(f, DEV_GPA + 0x20, 4) &&
	    REG(f, RSI) == DEV_GLA + 0x24, "lodsd: rc %d rax 0x%lx", rc,
	    REG(f, RAX));
	/* rep lodsb: one read per element, AL is the last, RAX's rest kept */
	f->mf_nlog = 0;
	REG(f, RAX) = R0(RAX);
	REG(f, RCX) = 3;
	rc = SRUN(f, L64, 0xf3, 0xac);
	KT_EXPECT(rc == VIE_IO_DONE && f->mf_nlog == 3 &&
	    access_at(f, 2, false, 1, 0x26) && REG(f, RAX) ==
	    ((R0(RAX) & ~0xffULL) | f->mf_dev[0x26]) && REG(f, RCX) == 0,
	    "rep lodsb: rc %d, %d reads, rax 0x%lx", rc, f->mf_nlog,
	    REG(f, RAX));
	mmio_fake_destroy(f);
}

KTEST(decode, mmio_string_rcx_zero_and_batch)
{
	struct mmio_fake *f = mmio_fake_create();
	int rc;

	/* rep with rCX 0: nothing at all */
	REG(f, RDI) = DEV_GLA;
	REG(f, RCX) = 0;
	rc = SRUN(f, L64, 0xf3, 0xaa);
	KT_EXPECT(rc == VIE_IO_DONE && f->mf_nlog == 0 && f->mf_setregs == 0,
	    "rep stosb with rcx 0: rc %d, %d accesses", rc, f->mf_nlog);
	/* 32-bit address size: ECX counts, RCX's upper half ignored */
	REG(f, RCX) = 0x100000000ULL;
	rc = SRUN(f, L64, 0x67, 0xf3, 0xaa);
	KT_EXPECT(rc == VIE_IO_DONE && f->mf_nlog == 0, "67 rep stosb, ecx 0: "
	    "rc %d", rc);
	/* more than a batch: VIE_IO_AGAIN with the rest in RCX */
	REG(f, RCX) = VIE_STRING_BATCH + 10;
	rc = SRUN(f, L64, 0xf3, 0xaa);
	KT_EXPECT(rc == VIE_IO_AGAIN && f->mf_nlog == VIE_STRING_BATCH &&
	    REG(f, RCX) == 10 && REG(f, RDI) == DEV_GLA + VIE_STRING_BATCH &&
	    !f->mf_bad, "rep stosb over a batch: rc %d, %d accesses, rcx %lu",
	    rc, f->mf_nlog, REG(f, RCX));
	mmio_fake_destroy(f);
}

KTEST(decode, mmio_string_faults)
{
	struct mmio_fake *f = mmio_fake_create();
	int rc;

	/* the source's second page faults: two elements done, then #PF */
	f->mf_fault_gla = RAM_GLA + PAGESIZE;
	REG(f, RSI) = RAM_GLA + PAGESIZE - 8;
	REG(f, RDI) = DEV_GLA + 0x40;
	REG(f, RCX) = 4;
	rc = SRUN(f, L64, 0xf3, 0xa5);
	KT_EXPECT(rc == VIE_IO_FAULT && f->mf_nlog == 2 && f->mf_nfault == 1 &&
	    f->mf_fault.vf_vector == 14 && f->mf_fault.vf_gla == RAM_GLA +
	    PAGESIZE && !f->mf_fault.vf_write, "rep movsd, source faults: rc "
	    "%d, %d accesses, %d faults", rc, f->mf_nlog, f->mf_nfault);
	KT_EXPECT(REG(f, RCX) == 2 && REG(f, RSI) == RAM_GLA + PAGESIZE &&
	    REG(f, RDI) == DEV_GLA + 0x48, "after the fault: rcx %lu rsi "
	    "0x%lx rdi 0x%lx", REG(f, RCX), REG(f, RSI), REG(f, RDI));
	mmio_fake_destroy(f);

	/* the destination faults: the device element is not read first */
	f = mmio_fake_create();
	f->mf_fault_gla = RAM_GLA + PAGESIZE;
	REG(f, RSI) = DEV_GLA;
	REG(f, RDI) = RAM_GLA + PAGESIZE - 2;
	REG(f, RCX) = 4;
	rc = SRUN(f, L64, 0xf3, 0xa4);
	KT_EXPECT(rc == VIE_IO_FAULT && f->mf_nlog == 2 &&
	    f->mf_fault.vf_write && REG(f, RCX) == 2, "rep movsb, destination "
	    "faults: rc %d, %d device reads (want 2)", rc, f->mf_nlog);
	mmio_fake_destroy(f);

	/* a non-canonical rDI: #GP(0), nothing touched */
	f = mmio_fake_create();
	REG(f, RDI) = 0x0000800000000000ULL;
	rc = SRUN(f, L64, 0xaa);
	KT_EXPECT(rc == VIE_IO_FAULT && f->mf_nlog == 0 && f->mf_nfault == 1 &&
	    f->mf_fault.vf_vector == 13 && f->mf_setregs == 0,
	    "non-canonical stosb: rc %d vector %u", rc, f->mf_fault.vf_vector);
	mmio_fake_destroy(f);

	/* a device element across the page's end: refused untouched */
	f = mmio_fake_create();
	REG(f, RDI) = DEV_GLA + PAGESIZE - 2;
	rc = SRUN(f, P32, 0xab);
	KT_EXPECT(rc == VIE_EUNKNOWN && f->mf_nlog == 0 && f->mf_setregs == 0,
	    "stosd across the device page: rc %d, %d accesses", rc,
	    f->mf_nlog);
	mmio_fake_destroy(f);
}
