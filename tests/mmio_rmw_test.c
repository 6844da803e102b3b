/*
 * Suite "decode": vie_emulate_mmio's read-modify-writes on the fake device
 * of tests/mmio_fake.h (XCHG, BT/BTS/BTR/BTC, NOT, LOCK), and what it
 * refuses or fails on.
 */
#include "ktest.h"
#include "mmio_fake.h"

#define	GPA		(DEV_GPA + 0x80)
#define	R0(r)		mmio_fake_reg0(VIE_REG_##r)
#define	CF		0x1ULL
#define	FLAGS_SET	0x8d7ULL	/* every arithmetic flag, and bit 1 */

/* Run bytes with the device at GPA holding dev (size bytes). */
static int
run(struct mmio_fake *f, enum env env, const u8 *b, size_t n, int size,
    u64 dev)
{
	struct vie vie;

	mmio_fake_set_dev(f, GPA, size, dev);
	return (mmio_fake_run(f, env, b, n, GPA, &vie));
}

#define	RUN(f, env, size, dev, ...)					\
	run(f, env, (const u8[]){ __VA_ARGS__ },			\
	    sizeof ((u8[]){ __VA_ARGS__ }), size, dev)

/* Access i of the log is (write, size, val) at GPA. */
static bool
logged(const struct mmio_fake *f, int i, bool write, int size, u64 val)
{
	const struct mmio_access *a = &f->mf_log[i];

	return (i < f->mf_nlog && a->ma_gpa == GPA && a->ma_write == write &&
	    a->ma_bytes == size && a->ma_val == val);
}

KTEST(decode, mmio_xchg)
{
	struct mmio_fake *f = mmio_fake_create();
	int rc;

	/* xchg [rdi],esi: read, then write ESI; ESI zero-extended */
	rc = RUN(f, L64, 4, 0xccddeeff, 0x87, 0x37);
	KT_EXPECT(rc == VIE_IO_DONE && f->mf_nlog == 2 &&
	    logged(f, 0, false, 4, 0xccddeeff) &&
	    logged(f, 1, true, 4, R0(RSI) & 0xffffffff) &&
	    f->mf_reg[VIE_REG_RSI] == 0xccddeeff, "xchg [rdi],esi: rc %d, %d "
	    "accesses, rsi 0x%lx", rc, f->mf_nlog, f->mf_reg[VIE_REG_RSI]);
	mmio_fake_destroy(f);

	/* xchg [rdi],ah: the high byte both ways */
	f = mmio_fake_create();
	rc = RUN(f, L64, 1, 0xee, 0x86, 0x27);
	KT_EXPECT(rc == VIE_IO_DONE && logged(f, 0, false, 1, 0xee) &&
	    logged(f, 1, true, 1, 0x02) && f->mf_reg[VIE_REG_RAX] ==
	    ((R0(RAX) & ~0xff00ULL) | 0xee00) && f->mf_reg[VIE_REG_RSP] ==
	    R0(RSP), "xchg [rdi],ah: rc %d rax 0x%lx", rc,
	    f->mf_reg[VIE_REG_RAX]);
	mmio_fake_destroy(f);

	/* with REX it is SIL */
	f = mmio_fake_create();
	rc = RUN(f, L64, 1, 0xee, 0x40, 0x86, 0x37);
	KT_EXPECT(rc == VIE_IO_DONE && logged(f, 1, true, 1, 0x67) &&
	    f->mf_reg[VIE_REG_RSI] == ((R0(RSI) & ~0xffULL) | 0xee) &&
	    f->mf_reg[VIE_REG_RDX] == R0(RDX), "xchg [rdi],sil: rc %d rsi "
	    "0x%lx", rc, f->mf_reg[VIE_REG_RSI]);
	mmio_fake_destroy(f);

	/* 16-bit code, 66: xchg [bx],eax */
	f = mmio_fake_create();
	rc = RUN(f, R16, 4, 0x11223344, 0x66, 0x87, 0x07);
	KT_EXPECT(rc == VIE_IO_DONE && logged(f, 1, true, 4, 0x04030201) &&
	    f->mf_reg[VIE_REG_RAX] == 0x11223344, "66 xchg [bx],eax: rc %d "
	    "rax 0x%lx", rc, f->mf_reg[VIE_REG_RAX]);
	mmio_fake_destroy(f);
}

struct btcase {
	const char *bc_what;
	enum env bc_env;
	u8 bc_bytes[8];
	u8 bc_n;
	u8 bc_size;
	u64 bc_dev;
	bool bc_cf;		/* the bit was set */
	bool bc_writes;
	u64 bc_after;		/* the device after a write */
};

#define	BT(what, env, size, dev, cf, writes, after, ...)		\
	{ what, env, { __VA_ARGS__ }, sizeof ((u8[]){ __VA_ARGS__ }),	\
	    size, dev, cf, writes, after }

/* ECX is 0x08060412 (bit 0x12 = 18), RAX 0x...0201 (bit 1) */
static const struct btcase bts[] = {
	BT("bt dword [edi],31 set", P32, 4, 0x80000000, true, false, 0,
	    0x0f, 0xba, 0x27, 0x1f),
	BT("bt dword [edi],31 clear", P32, 4, 0x7fffffff, false, false, 0,
	    0x0f, 0xba, 0x27, 0x1f),
	BT("bt dword [edi],63 is 31", P32, 4, 0x80000000, true, false, 0,
	    0x0f, 0xba, 0x27, 0x3f),
	BT("bts [edi],ecx", P32, 4, 0, false, true, 1ULL << 18, 0x0f, 0xab,
	    0x0f),
	BT("btr [edi],ecx", P32, 4, 0xffffffff, true, true,
	    0xffffffff & ~(1ULL << 18), 0x0f, 0xb3, 0x0f),
	BT("btc [edi],ecx", P32, 4, 0x5, false, true, 0x5 | (1ULL << 18),
	    0x0f, 0xbb, 0x0f),
	BT("btc word [bx],3", R16, 2, 0x0008, true, true, 0, 0x0f, 0xba,
	    0x3f, 0x03),
	BT("bt [rdi],rax", L64, 8, 2, true, false, 0, 0x48, 0x0f, 0xa3,
	    0x07),
	BT("bts qword [rdi],63", L64, 8, 0, false, true, 1ULL << 63, 0x48,
	    0x0f, 0xba, 0x2f, 0x3f),
	BT("lock btr [rdi],rax", L64, 8, 0x3, true, true, 0x1, 0xf0, 0x48,
	    0x0f, 0xb3, 0x07),
};

/* CF is the bit; every other flag stays as it was (set here). */
KTEST(decode, mmio_bit_tests)
{
	for (size_t i = 0; i < ARRAY_SIZE(bts); i++) {
		const struct btcase *c = &bts[i];
		struct mmio_fake *f = mmio_fake_create();
		struct vie vie;
		int rc;

		f->mf_reg[VIE_REG_RFLAGS] = FLAGS_SET & ~CF;
		mmio_fake_set_dev(f, GPA, c->bc_size, c->bc_dev);
		rc = mmio_fake_run(f, c->bc_env, c->bc_bytes, c->bc_n, GPA,
		    &vie);
		KT_EXPECT(rc == VIE_IO_DONE && vie.vie_len == c->bc_n, "%s: rc "
		    "%d", c->bc_what, rc);
		KT_EXPECT(f->mf_reg[VIE_REG_RFLAGS] == ((FLAGS_SET & ~CF) |
		    (c->bc_cf ? CF : 0)), "%s: rflags 0x%lx", c->bc_what,
		    f->mf_reg[VIE_REG_RFLAGS]);
		KT_EXPECT(f->mf_nlog == (c->bc_writes ? 2 : 1) &&
		    logged(f, 0, false, c->bc_size, c->bc_dev) &&
		    (!c->bc_writes || logged(f, 1, true, c->bc_size,
		    c->bc_after)), "%s: %d accesses, device now 0x%lx",
		    c->bc_what, f->mf_nlog, mmio_fake_dev(f, GPA, c->bc_size));
		mmio_fake_destroy(f);
	}
}

KTEST(decode, mmio_not_and_lock)
{
	struct mmio_fake *f = mmio_fake_create();
	int rc;

	/* NOT: read, write the complement, no flags */
	f->mf_reg[VIE_REG_RFLAGS] = FLAGS_SET;
	rc = RUN(f, P32, 4, 0x0f0f00ff, 0xf7, 0x17);
	KT_EXPECT(rc == VIE_IO_DONE && logged(f, 1, true, 4, 0xf0f0ff00) &&
	    f->mf_reg[VIE_REG_RFLAGS] == FLAGS_SET, "not dword: rc %d "
	    "rflags 0x%lx", rc, f->mf_reg[VIE_REG_RFLAGS]);
	mmio_fake_destroy(f);
	f = mmio_fake_create();
	rc = RUN(f, L64, 1, 0x5a, 0xf6, 0x17);
	KT_EXPECT(rc == VIE_IO_DONE && logged(f, 1, true, 1, 0xa5), "not "
	    "byte: rc %d", rc);
	mmio_fake_destroy(f);

	/* lock or [edi],eax: one read, one write, like the unlocked form */
	f = mmio_fake_create();
	rc = RUN(f, P32, 4, 0x80000000, 0xf0, 0x09, 0x07);
	KT_EXPECT(rc == VIE_IO_DONE && f->mf_nlog == 2 &&
	    logged(f, 1, true, 4, 0x84030201) &&
	    (f->mf_reg[VIE_REG_RFLAGS] & 0x8c5) == 0x80, "lock or: rc %d "
	    "rflags 0x%lx", rc, f->mf_reg[VIE_REG_RFLAGS]);
	mmio_fake_destroy(f);
}

/* What it cannot emulate: refused before any device access. */
KTEST(decode, mmio_emul_refused)
{
	static const struct {
		const char *what;
		enum env env;
		u8 bytes[4];
		u8 n;
		u64 gpa;
		int rc;
	} no[] = {
		{ "mov eax,ecx (no memory)", P32, { 0x89, 0xc8 }, 2, GPA,
		    VIE_EUNKNOWN },
		{ "add [edi],eax (mod 3)", P32, { 0x01, 0xc0 }, 2, GPA,
		    VIE_EUNKNOWN },
		{ "cpuid", P32, { 0x0f, 0xa2 }, 2, GPA, VIE_EUNKNOWN },
		{ "hlt", P32, { 0xf4 }, 1, GPA, VIE_EUNKNOWN },
		{ "lea (decoder)", P32, { 0x8d, 0x07 }, 2, GPA, VIE_EUNKNOWN },
		{ "cmpxchg (decoder)", P32, { 0x0f, 0xb1, 0x07 }, 3, GPA,
		    VIE_EUNKNOWN },
		{ "mov across a page", P32, { 0x8b, 0x07 }, 2,
		    DEV_GPA + PAGESIZE - 2, VIE_EUNKNOWN },
		{ "movzx word across", P32, { 0x0f, 0xb7, 0x07 }, 3,
		    DEV_GPA + PAGESIZE - 1, VIE_EUNKNOWN },
	};

	for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
		struct mmio_fake *f = mmio_fake_create();
		struct vie vie;
		int rc = mmio_fake_run(f, no[i].env, no[i].bytes, no[i].n,
		    no[i].gpa, &vie);

		KT_EXPECT(rc == no[i].rc && f->mf_nlog == 0 &&
		    f->mf_setregs == 0, "%s: rc %d (want %d), %d accesses",
		    no[i].what, rc, no[i].rc, f->mf_nlog);
		mmio_fake_destroy(f);
	}
	/* a word at the page's last two bytes is still in it */
	struct mmio_fake *f = mmio_fake_create();
	struct vie vie;
	KT_EXPECT(mmio_fake_run(f, P32, (const u8[]){ 0x66, 0x8b, 0x07 }, 3,
	    DEV_GPA + PAGESIZE - 2, &vie) == VIE_IO_DONE && f->mf_nlog == 1,
	    "mov ax at the page end refused");
	mmio_fake_destroy(f);
}

/* A failing device: VIE_ECALLBACK, and no result anywhere. */
KTEST(decode, mmio_device_fails)
{
	struct mmio_fake *f = mmio_fake_create();
	int rc;

	/* the write of add [edi],eax fails: the flags are not updated */
	f->mf_fail_write = true;
	rc = RUN(f, P32, 4, 0xffffffff, 0x01, 0x07);
	KT_EXPECT(rc == VIE_ECALLBACK && f->mf_nlog == 2 &&
	    f->mf_setregs == 0, "add with a failing write: rc %d, setregs "
	    "0x%x", rc, f->mf_setregs);
	/* a read outside the device page fails in the fake: no register */
	struct vie vie;
	f->mf_nlog = 0;
	f->mf_bad = false;
	rc = mmio_fake_run(f, P32, (const u8[]){ 0x8b, 0x07 }, 2, 0x1000,
	    &vie);
	KT_EXPECT(rc == VIE_ECALLBACK && f->mf_setregs == 0 &&
	    f->mf_reg[VIE_REG_RAX] == R0(RAX), "mov eax from a failing "
	    "device: rc %d", rc);
	/* no callbacks at all */
	KT_EXPECT(vie_emulate_mmio(&vie, GPA, NULL, f) == VIE_EINVAL &&
	    vie_emulate_mmio(NULL, GPA, &mmio_fake_ops, f) == VIE_EINVAL,
	    "NULL vie or ops accepted");
	mmio_fake_destroy(f);
}
