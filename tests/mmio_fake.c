/*
 * The fake guest of tests/mmio_fake.h. The device answers any gpa in its
 * page; anything else that reaches vmo_mmio is an emulator bug (mf_bad).
 */
#include "ktest.h"
#include "../kern/kmem.h"
#include "mmio_fake.h"

u64
mmio_fake_reg0(int r)
{
	return ((0x0807060504030201ULL * (u64)(r + 1)) ^ ((u64)r << 4));
}

struct mmio_fake *
mmio_fake_create(void)
{
	struct mmio_fake *f = kmem_zalloc(sizeof (*f), KM_SLEEP);

	for (int r = 0; r < VIE_REG_RFLAGS; r++)
		f->mf_reg[r] = mmio_fake_reg0(r);
	f->mf_reg[VIE_REG_RFLAGS] = 0x2;
	for (size_t i = 0; i < sizeof (f->mf_dev); i++)
		f->mf_dev[i] = (u8)(i * 13 + 0x5a);
	for (size_t i = 0; i < sizeof (f->mf_ram); i++)
		f->mf_ram[i] = (u8)(i * 7 + (i >> PAGESHIFT) * 0x55 + 3);
	f->mf_fault_gla = MMIO_NO_FAULT;
	return (f);
}

void
mmio_fake_destroy(struct mmio_fake *f)
{
	kmem_free(f, sizeof (*f));
}

u64
mmio_fake_dev(const struct mmio_fake *f, u64 gpa, int size)
{
	u64 v = 0;

	for (int i = 0; i < size; i++)
		v |= (u64)f->mf_dev[(gpa - DEV_GPA + i) & PAGEOFFSET] << (8 * i);
	return (v);
}

void
mmio_fake_set_dev(struct mmio_fake *f, u64 gpa, int size, u64 val)
{
	for (int i = 0; i < size; i++)
		f->mf_dev[(gpa - DEV_GPA + i) & PAGEOFFSET] = (u8)(val >> (8 * i));
}

u8 *
mmio_fake_ram(struct mmio_fake *f, u64 gla)
{
	return (&f->mf_ram[gla - RAM_GLA]);
}

static int
fake_getreg(void *arg, enum vie_reg reg, u64 *val)
{
	struct mmio_fake *f = arg;

	if ((unsigned)reg > VIE_REG_RFLAGS) {
		f->mf_bad = true;
		return (-1);
	}
	*val = f->mf_reg[reg];
	return (0);
}

static int
fake_setreg(void *arg, enum vie_reg reg, u64 val)
{
	struct mmio_fake *f = arg;

	if ((unsigned)reg > VIE_REG_RFLAGS) {
		f->mf_bad = true;
		return (-1);
	}
	f->mf_reg[reg] = val;
	f->mf_setregs |= 1U << reg;
	return (0);
}

static int
fake_mmio(void *arg, u64 gpa, int bytes, u64 *val, bool write)
{
	struct mmio_fake *f = arg;

	if ((gpa & ~PAGEOFFSET) != DEV_GPA || (bytes != 1 && bytes != 2 &&
	    bytes != 4 && bytes != 8) || (gpa & PAGEOFFSET) + bytes >
	    PAGESIZE || f->mf_nlog == MMIO_LOG_MAX) {
		f->mf_bad = true;
		return (-1);
	}
	if (write && !f->mf_fail_write)
		mmio_fake_set_dev(f, gpa, bytes, *val);
	else if (!write)
		*val = mmio_fake_dev(f, gpa, bytes);
	f->mf_log[f->mf_nlog++] = (struct mmio_access){ gpa, (u8)bytes,
	    write, *val };
	return (write && f->mf_fail_write ? -1 : 0);
}

static int
fake_segment(void *arg, enum vie_seg seg, u64 *base, u32 *limit)
{
	*base = ((struct mmio_fake *)arg)->mf_base[seg];
	*limit = 0xffffffff;
	return (0);
}

static int
fake_translate(void *arg, u64 gla, size_t len, bool write, u64 *gpa,
    struct vie_fault *fault)
{
	struct mmio_fake *f = arg;

	if ((gla & PAGEOFFSET) + len > PAGESIZE)
		f->mf_bad = true;	/* the emulator must split */
	if ((gla & ~PAGEOFFSET) == f->mf_fault_gla) {
		fault->vf_vector = 14;
		fault->vf_has_errcode = true;
		fault->vf_errcode = write ? 2 : 0;
		return (-1);
	}
	if ((gla & ~PAGEOFFSET) == DEV_GLA)
		*gpa = DEV_GPA + (gla & PAGEOFFSET);
	else if (gla >= RAM_GLA && gla < RAM_GLA + RAM_PAGES * PAGESIZE)
		*gpa = RAM_GPA + (gla - RAM_GLA);
	else
		*gpa = 0x40000000ULL + gla;	/* neither: mf_bad if used */
	return (0);
}

static int
fake_ram(void *arg, u64 gpa, void *buf, size_t len, bool write)
{
	struct mmio_fake *f = arg;
	u8 *p;

	if ((gpa & ~PAGEOFFSET) == DEV_GPA)
		return (VIE_NOT_RAM);
	if (gpa < RAM_GPA || gpa + len > RAM_GPA + sizeof (f->mf_ram)) {
		f->mf_bad = true;
		return (-1);
	}
	p = &f->mf_ram[gpa - RAM_GPA];
	if (write)
		memcpy(p, buf, len);
	else
		memcpy(buf, p, len);
	return (0);
}

static void
fake_fault(void *arg, const struct vie_fault *fault)
{
	struct mmio_fake *f = arg;

	f->mf_nfault++;
	f->mf_fault = *fault;
}

const struct vie_mmio_ops mmio_fake_ops = {
	.vmo_getreg = fake_getreg,
	.vmo_setreg = fake_setreg,
	.vmo_mmio = fake_mmio,
	.vmo_segment = fake_segment,
	.vmo_translate = fake_translate,
	.vmo_ram = fake_ram,
	.vmo_fault = fake_fault,
};

int
mmio_fake_run(struct mmio_fake *f, enum env env, const u8 *bytes, size_t n,
    u64 gpa, struct vie *vie)
{
	int rc = decode(env, bytes, n, vie);

	return (rc != 0 ? rc : vie_emulate_mmio(vie, gpa, &mmio_fake_ops, f));
}
