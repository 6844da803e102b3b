/*
 * Suite "decode": string port I/O of kern/vmm/vmm_decode.c on a fake guest
 * (registers, segments, a page table over four pages of memory, a port
 * that logs), with no VM and no backend.
 */
#include "ktest.h"
#include "../kern/kmem.h"
#include "decode_test.h"

#define	FAKE_PAGES	4
#define	FAKE_GPA	0x100000ULL	/* guest-physical base of the RAM */
#define	NO_FAULT	(~0ULL)
#define	LOG_MAX		8192
#define	PORT		0x3f8

/*
 * Registers, segments and RAM behind a page table: linear page p is
 * physical page perm[p % 4], so neighbouring linear pages are not
 * neighbours in RAM and an element that crosses one is seen split.
 */
struct fake {
	u64 f_reg[VIE_REG_RFLAGS + 1];
	u64 f_base[VIE_SEG_GS + 1];
	u32 f_limit[VIE_SEG_GS + 1];
	u8 f_mem[FAKE_PAGES * PAGESIZE];
	u64 f_fault_page;	/* the linear page whose walk fails */
	int f_ntranslate, f_nsetreg, f_nfault, f_nport;
	u32 f_sizes;		/* bit n: an access of n bytes was seen */
	bool f_bad;		/* a callback saw something wrong */
	u32 f_log[LOG_MAX];	/* OUT values in order */
	u32 f_in_next;		/* what the next IN reads */
	struct vie_fault f_fault;
};

static const u64 perm[FAKE_PAGES] = { 2, 0, 3, 1 };

static u64
fake_gpa(u64 gla)
{
	return (FAKE_GPA + perm[(gla >> PAGESHIFT) % FAKE_PAGES] * PAGESIZE +
	    (gla & PAGEOFFSET));
}

static u8 *
fake_byte(struct fake *f, u64 gla)
{
	return (&f->f_mem[fake_gpa(gla) - FAKE_GPA]);
}

static int
fake_getreg(void *arg, enum vie_reg reg, u64 *val)
{
	*val = ((struct fake *)arg)->f_reg[reg];
	return (0);
}

static int
fake_setreg(void *arg, enum vie_reg reg, u64 val)
{
	struct fake *f = arg;

	f->f_reg[reg] = val;
	f->f_nsetreg++;
	return (0);
}

static int
fake_segment(void *arg, enum vie_seg seg, u64 *base, u32 *limit)
{
	struct fake *f = arg;

	*base = f->f_base[seg];
	*limit = f->f_limit[seg];
	return (0);
}

static int
fake_translate(void *arg, u64 gla, size_t len, bool write, u64 *gpa,
    struct vie_fault *fault)
{
	struct fake *f = arg;

	f->f_ntranslate++;
	if ((gla & PAGEOFFSET) + len > PAGESIZE)
		f->f_bad = true;	/* the emulator must split */
	if ((gla >> PAGESHIFT) == f->f_fault_page) {
		fault->vf_vector = 14;
		fault->vf_has_errcode = true;
		fault->vf_errcode = write ? 2 : 0;
		return (-1);
	}
	*gpa = fake_gpa(gla);
	return (0);
}

/* The RAM at gpa for len bytes, NULL (and f_bad) outside it. */
static u8 *
fake_ram(struct fake *f, u64 gpa, size_t len)
{
	if (gpa < FAKE_GPA || gpa + len > FAKE_GPA + sizeof (f->f_mem)) {
		f->f_bad = true;
		return (NULL);
	}
	return (&f->f_mem[gpa - FAKE_GPA]);
}

static int
fake_read(void *arg, u64 gpa, void *buf, size_t len)
{
	u8 *p = fake_ram(arg, gpa, len);

	return (p == NULL ? -1 : (memcpy(buf, p, len), 0));
}

static int
fake_write(void *arg, u64 gpa, const void *buf, size_t len)
{
	u8 *p = fake_ram(arg, gpa, len);

	return (p == NULL ? -1 : (memcpy(p, buf, len), 0));
}

static int
fake_port(void *arg, u16 port, bool in, int bytes, u32 *val)
{
	struct fake *f = arg;

	f->f_bad |= port != PORT;
	f->f_sizes |= 1U << bytes;
	if (in)
		*val = f->f_in_next++;
	else if (f->f_nport < LOG_MAX)
		f->f_log[f->f_nport] = *val;
	f->f_nport++;
	return (0);
}

static void
fake_fault(void *arg, const struct vie_fault *fault)
{
	struct fake *f = arg;

	f->f_fault = *fault;
	f->f_nfault++;
}

static const struct vie_string_ops fake_ops = {
	.vso_getreg = fake_getreg,
	.vso_setreg = fake_setreg,
	.vso_segment = fake_segment,
	.vso_translate = fake_translate,
	.vso_read = fake_read,
	.vso_write = fake_write,
	.vso_port = fake_port,
	.vso_fault = fake_fault,
};

/* Flat 4 GiB segments, DX the test port, memory a known pattern. */
static struct fake *
fake_create(void)
{
	struct fake *f = kmem_zalloc(sizeof (*f), KM_SLEEP);

	for (int s = 0; s <= VIE_SEG_GS; s++)
		f->f_limit[s] = 0xffffffff;
	/* no two pages alike, so a byte from the wrong page shows */
	for (size_t i = 0; i < sizeof (f->f_mem); i++)
		f->f_mem[i] = (u8)(i * 7 + (i >> PAGESHIFT) * 0x55 + 3);
	f->f_fault_page = NO_FAULT;
	f->f_reg[VIE_REG_RDX] = PORT;
	f->f_reg[VIE_REG_RFLAGS] = 0x2;
	return (f);
}

static void
fake_destroy(struct fake *f)
{
	kmem_free(f, sizeof (*f));
}

/* Run the string instruction in bytes on f once. */
static int
string_io(struct fake *f, enum env env, const u8 *bytes, size_t n)
{
	struct vie vie;
	int rc = decode(env, bytes, n, &vie);

	KT_EXPECT(rc == 0, "decoding the string instruction: %d", rc);
	return (rc != 0 ? rc : vie_emulate_string_io(&vie, &fake_ops, f));
}

#define	RSI(f)	((f)->f_reg[VIE_REG_RSI])
#define	RDI(f)	((f)->f_reg[VIE_REG_RDI])
#define	RCX(f)	((f)->f_reg[VIE_REG_RCX])

/* The OUT log holds n bytes read from gla up (or down with step -1). */
static bool
log_matches(struct fake *f, int from, u64 gla, int n, int step)
{
	for (int i = 0; i < n; i++) {
		if (f->f_log[from + i] != *fake_byte(f, gla + (i64)i * step))
			return (false);
	}
	return (true);
}

KTEST(decode, string_rep_outsb_64)
{
	struct fake *f = fake_create();
	int rc;

	f->f_base[VIE_SEG_DS] = 0x1000;
	RSI(f) = 0x100;
	RCX(f) = 64;
	rc = string_io(f, P32, (u8[]){ 0xf3, 0x6e }, 2);
	KT_EXPECT(rc == VIE_IO_DONE && f->f_nport == 64 && RSI(f) == 0x140 &&
	    RCX(f) == 0 && f->f_sizes == 1U << 1 && !f->f_bad,
	    "rc %d ports %d rsi 0x%lx rcx %lu sizes 0x%x", rc, f->f_nport,
	    RSI(f), RCX(f), f->f_sizes);
	KT_EXPECT(log_matches(f, 0, 0x1100, 64, 1),
	    "the bytes out are not DS:0x100..0x13f");
	fake_destroy(f);
}

KTEST(decode, string_rep_insb)
{
	struct fake *f = fake_create();
	int rc;

	/* a CS prefix does not move INS off ES; the elements cross a page */
	f->f_base[VIE_SEG_CS] = 0x2000;
	RDI(f) = 0xff8;
	RSI(f) = 0x5555;
	RCX(f) = 16;
	f->f_in_next = 0xa0;
	rc = string_io(f, P32, (u8[]){ 0x2e, 0xf3, 0x6c }, 3);
	KT_EXPECT(rc == VIE_IO_DONE && f->f_nport == 16 && RDI(f) == 0x1008 &&
	    RCX(f) == 0 && RSI(f) == 0x5555 && f->f_ntranslate == 16 &&
	    !f->f_bad, "rc %d ports %d rdi 0x%lx rcx %lu rsi 0x%lx", rc,
	    f->f_nport, RDI(f), RCX(f), RSI(f));
	for (int i = 0; i < 16; i++)
		KT_EXPECT(*fake_byte(f, 0xff8 + i) == 0xa0 + i,
		    "ES:0x%x holds 0x%x", 0xff8 + i, *fake_byte(f, 0xff8 + i));
	fake_destroy(f);
}

KTEST(decode, string_outsw_outsd)
{
	struct fake *f = fake_create();
	int rc;

	/* no REP: one element, rCX untouched */
	RSI(f) = 0x300;
	RCX(f) = 7;
	*fake_byte(f, 0x300) = 0x11;
	*fake_byte(f, 0x301) = 0x22;
	rc = string_io(f, P32, (u8[]){ 0x66, 0x6f }, 2);
	KT_EXPECT(rc == VIE_IO_DONE && f->f_nport == 1 &&
	    f->f_log[0] == 0x2211 && RSI(f) == 0x302 && RCX(f) == 7 &&
	    f->f_sizes == 1U << 2, "outsw: rc %d val 0x%x rsi 0x%lx rcx %lu",
	    rc, f->f_log[0], RSI(f), RCX(f));
	/* a dword across a page: two translations, one value */
	RSI(f) = 0xffe;
	f->f_ntranslate = 0;
	*fake_byte(f, 0xffe) = 0x44;
	*fake_byte(f, 0xfff) = 0x33;
	*fake_byte(f, 0x1000) = 0x22;
	*fake_byte(f, 0x1001) = 0x11;
	rc = string_io(f, P32, (u8[]){ 0x6f }, 1);
	KT_EXPECT(rc == VIE_IO_DONE && f->f_nport == 2 &&
	    f->f_log[1] == 0x11223344 && f->f_ntranslate == 2 &&
	    RSI(f) == 0x1002 && !f->f_bad, "outsd: rc %d val 0x%x xlates %d",
	    rc, f->f_log[1], f->f_ntranslate);
	fake_destroy(f);
}

KTEST(decode, string_df_backwards)
{
	struct fake *f = fake_create();
	int rc;

	f->f_reg[VIE_REG_RFLAGS] = 0x402;	/* DF */
	RSI(f) = 0x40e;
	RCX(f) = 4;
	rc = string_io(f, P32, (u8[]){ 0xf3, 0x66, 0x6f }, 3);
	KT_EXPECT(rc == VIE_IO_DONE && f->f_nport == 4 && RSI(f) == 0x406 &&
	    RCX(f) == 0, "rep outsw: rc %d ports %d rsi 0x%lx", rc,
	    f->f_nport, RSI(f));
	for (int i = 0; i < 4; i++) {
		u64 a = 0x40e - 2 * i;
		u32 w = *fake_byte(f, a) | (u32)*fake_byte(f, a + 1) << 8;

		KT_EXPECT(f->f_log[i] == w, "word %d: 0x%x, want 0x%x", i,
		    f->f_log[i], w);
	}
	RDI(f) = 0x10;
	RCX(f) = 3;
	f->f_in_next = 0x61;
	rc = string_io(f, R16, (u8[]){ 0xf3, 0x6c }, 2);
	KT_EXPECT(rc == VIE_IO_DONE && RDI(f) == 0xd && *fake_byte(f, 0x10) ==
	    0x61 && *fake_byte(f, 0xe) == 0x63, "rep insb down: rc %d rdi "
	    "0x%lx", rc, RDI(f));
	fake_destroy(f);
}

KTEST(decode, string_address_size_wrap)
{
	struct fake *f = fake_create();
	int rc;

	/* 16-bit: SI and CX wrap inside RSI/RCX, the upper bits stay */
	f->f_limit[VIE_SEG_DS] = 0xffff;
	RSI(f) = 0x1234ffff;
	RCX(f) = 0x55550003;
	rc = string_io(f, R16, (u8[]){ 0xf3, 0x6e }, 2);
	KT_EXPECT(rc == VIE_IO_DONE && RSI(f) == 0x12340002 &&
	    RCX(f) == 0x55550000 && f->f_nport == 3,
	    "rc %d rsi 0x%lx rcx 0x%lx", rc, RSI(f), RCX(f));
	KT_EXPECT(log_matches(f, 0, 0xffff, 1, 1) &&
	    log_matches(f, 1, 0, 2, 1), "the bytes are not DS:ffff, 0, 1");
	/* a word at 0xffff passes the limit: #GP, nothing done */
	RSI(f) = 0xffff;
	rc = string_io(f, R16, (u8[]){ 0x6f }, 1);
	KT_EXPECT(rc == VIE_IO_FAULT && f->f_nfault == 1 &&
	    f->f_fault.vf_vector == VIE_VEC_GP && RSI(f) == 0xffff &&
	    f->f_nport == 3, "word at ds:ffff: rc %d vector %u rsi 0x%lx",
	    rc, f->f_fault.vf_vector, RSI(f));
	f->f_limit[VIE_SEG_SS] = 0xffff;
	rc = string_io(f, R16, (u8[]){ 0x36, 0x6f }, 2);
	KT_EXPECT(rc == VIE_IO_FAULT && f->f_fault.vf_vector == VIE_VEC_SS,
	    "word at ss:ffff: rc %d vector %u", rc, f->f_fault.vf_vector);
	f->f_limit[VIE_SEG_ES] = 0xffff;
	RDI(f) = 0xffff;
	rc = string_io(f, R16, (u8[]){ 0x6d }, 1);
	KT_EXPECT(rc == VIE_IO_FAULT && f->f_fault.vf_vector == VIE_VEC_GP &&
	    f->f_fault.vf_write && f->f_nport == 3 && RDI(f) == 0xffff,
	    "insw at es:ffff: rc %d write %d", rc, f->f_fault.vf_write);
	/* 32-bit addresses in 64-bit mode: ESI/ECX wrap, zero-extended */
	RSI(f) = ~0ULL;
	RCX(f) = 0xdead000000000001ULL;
	rc = string_io(f, L64, (u8[]){ 0x67, 0xf3, 0x6e }, 3);
	KT_EXPECT(rc == VIE_IO_DONE && RSI(f) == 0 && RCX(f) == 0 &&
	    log_matches(f, 3, 0xffffffff, 1, 1), "67 rep outsb: rc %d "
	    "rsi 0x%lx rcx 0x%lx", rc, RSI(f), RCX(f));
	fake_destroy(f);
}

KTEST(decode, string_rcx_zero)
{
	struct fake *f = fake_create();
	int rc;

	RSI(f) = 0x100;
	rc = string_io(f, P32, (u8[]){ 0xf3, 0x6e }, 2);
	KT_EXPECT(rc == VIE_IO_DONE && f->f_nport == 0 &&
	    f->f_ntranslate == 0 && f->f_nsetreg == 0 && RSI(f) == 0x100,
	    "rcx 0: rc %d ports %d setregs %d", rc, f->f_nport, f->f_nsetreg);
	/* only ECX counts with 32-bit addresses */
	RCX(f) = 1ULL << 32;
	rc = string_io(f, L64, (u8[]){ 0x67, 0xf3, 0x6c }, 3);
	KT_EXPECT(rc == VIE_IO_DONE && f->f_nport == 0 &&
	    RCX(f) == 1ULL << 32, "ecx 0: rc %d ports %d", rc, f->f_nport);
	fake_destroy(f);
}

KTEST(decode, string_fault_midway)
{
	struct fake *f = fake_create();
	int rc;

	RSI(f) = 0xff0;
	RCX(f) = 32;
	f->f_fault_page = 1;
	rc = string_io(f, P32, (u8[]){ 0xf3, 0x6e }, 2);
	KT_EXPECT(rc == VIE_IO_FAULT && f->f_nport == 16 && RSI(f) == 0x1000 &&
	    RCX(f) == 16 && f->f_nfault == 1 && f->f_fault.vf_vector == 14 &&
	    f->f_fault.vf_gla == 0x1000 && !f->f_fault.vf_write,
	    "rc %d ports %d rsi 0x%lx rcx %lu vector %u gla 0x%lx", rc,
	    f->f_nport, RSI(f), RCX(f), f->f_fault.vf_vector,
	    f->f_fault.vf_gla);
	/* the guest's #PF handler mapped the page: the restart finishes */
	f->f_fault_page = NO_FAULT;
	rc = string_io(f, P32, (u8[]){ 0xf3, 0x6e }, 2);
	KT_EXPECT(rc == VIE_IO_DONE && f->f_nport == 32 && RSI(f) == 0x1010 &&
	    RCX(f) == 0 && log_matches(f, 0, 0xff0, 32, 1),
	    "restart: rc %d ports %d rsi 0x%lx", rc, f->f_nport, RSI(f));
	/* INS: the faulting element reads no port */
	f->f_nport = 0;
	f->f_fault_page = 1;
	RDI(f) = 0xffe;
	RCX(f) = 4;
	rc = string_io(f, P32, (u8[]){ 0xf3, 0x6c }, 2);
	KT_EXPECT(rc == VIE_IO_FAULT && f->f_nport == 2 && RDI(f) == 0x1000 &&
	    RCX(f) == 2 && f->f_fault.vf_write &&
	    f->f_fault.vf_errcode == 2, "rep insb: rc %d ports %d rdi 0x%lx",
	    rc, f->f_nport, RDI(f));
	/* a word whose second byte faults: nothing is done */
	f->f_nport = 0;
	RSI(f) = 0xfff;
	rc = string_io(f, P32, (u8[]){ 0x66, 0x6f }, 2);
	KT_EXPECT(rc == VIE_IO_FAULT && f->f_nport == 0 && RSI(f) == 0xfff &&
	    f->f_fault.vf_gla == 0x1000, "split word: rc %d ports %d gla "
	    "0x%lx", rc, f->f_nport, f->f_fault.vf_gla);
	KT_EXPECT(!f->f_bad, "a callback saw a bad access");
	fake_destroy(f);
}

KTEST(decode, string_batch_limit)
{
	struct fake *f = fake_create();
	int rc;

	RCX(f) = 5000;
	rc = string_io(f, P32, (u8[]){ 0xf3, 0x6e }, 2);
	KT_EXPECT(rc == VIE_IO_AGAIN && f->f_nport == VIE_STRING_BATCH &&
	    RCX(f) == 5000 - VIE_STRING_BATCH && RSI(f) == VIE_STRING_BATCH,
	    "first call: rc %d ports %d rcx %lu", rc, f->f_nport, RCX(f));
	rc = string_io(f, P32, (u8[]){ 0xf3, 0x6e }, 2);
	KT_EXPECT(rc == VIE_IO_DONE && f->f_nport == 5000 && RCX(f) == 0 &&
	    RSI(f) == 5000 && log_matches(f, 0, 0, 5000, 1),
	    "second call: rc %d ports %d rcx %lu", rc, f->f_nport, RCX(f));
	/* exactly one batch completes in one call */
	RCX(f) = VIE_STRING_BATCH;
	rc = string_io(f, P32, (u8[]){ 0xf3, 0x6e }, 2);
	KT_EXPECT(rc == VIE_IO_DONE && RCX(f) == 0, "one batch: rc %d", rc);
	fake_destroy(f);
}

KTEST(decode, string_64bit_segments)
{
	struct fake *f = fake_create();
	int rc;

	/* FS keeps its base; DS's is 0 and no limit applies */
	f->f_base[VIE_SEG_FS] = 0x2000;
	f->f_base[VIE_SEG_DS] = 0x3000;
	f->f_limit[VIE_SEG_DS] = 0;
	RSI(f) = 0x10;
	RCX(f) = 2;
	rc = string_io(f, L64, (u8[]){ 0x64, 0xf3, 0x6e }, 3);
	KT_EXPECT(rc == VIE_IO_DONE && log_matches(f, 0, 0x2010, 2, 1) &&
	    RSI(f) == 0x12, "fs: rc %d rsi 0x%lx", rc, RSI(f));
	rc = string_io(f, L64, (u8[]){ 0x3e, 0x6e }, 2);
	KT_EXPECT(rc == VIE_IO_DONE && log_matches(f, 2, 0x12, 1, 1),
	    "ds: rc %d", rc);
	RSI(f) = 0x0000800000000000ULL;
	rc = string_io(f, L64, (u8[]){ 0x6e }, 1);
	KT_EXPECT(rc == VIE_IO_FAULT && f->f_fault.vf_vector == VIE_VEC_GP &&
	    f->f_nport == 3, "non-canonical: rc %d vector %u", rc,
	    f->f_fault.vf_vector);
	fake_destroy(f);
}

KTEST(decode, string_not_string)
{
	struct fake *f = fake_create();
	struct vie vie;

	KT_ASSERT(decode(P32, (u8[]){ 0x0f, 0xa2 }, 2, &vie) == 0, "cpuid");
	KT_EXPECT(vie_emulate_string_io(&vie, &fake_ops, f) == VIE_EINVAL,
	    "cpuid emulated as string I/O");
	KT_ASSERT(decode(P32, (u8[]){ 0xec }, 1, &vie) == 0, "in al,dx");
	KT_EXPECT(vie_emulate_string_io(&vie, &fake_ops, f) == VIE_EINVAL,
	    "in al,dx emulated as string I/O");
	KT_EXPECT(f->f_nport == 0, "a port was touched");
	fake_destroy(f);
}
