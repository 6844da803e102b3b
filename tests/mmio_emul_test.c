/*
 * Suite "decode": vie_emulate_mmio on a fake device (tests/mmio_fake.h).
 * MOV and its relatives against values written out by hand; the ALU ops
 * against the CPU itself (the same op run natively, RFLAGS read with
 * pushf); XCHG, BT*, refusals, and the 8-bit register switch that must be
 * caught. String moves: tests/mmio_string_test.c.
 */
#include "ktest.h"
#include "mmio_fake.h"
#include "../kern/console.h"

extern bool vie_inject_rex_bytes;

#define	GPA		(DEV_GPA + 0x40)	/* the register the cases hit */
#define	DEVVAL		0x8899aabbccddeeffULL	/* its value before a read */
/* mmio_fake_reg0(r), as a constant */
#define	R0(r)		((0x0807060504030201ULL * (VIE_REG_##r + 1ULL)) ^ \
	((u64)VIE_REG_##r << 4))
#define	ARITH		0x8d5ULL	/* CF PF AF ZF SF OF */
#define	AF		0x10ULL
#define	NONE		(-1)

/* --- MOV, MOVZX, MOVSX, MOVSXD: one access, a register or nothing --- */

struct movcase {
	const char *mc_what;
	enum env mc_env;
	u8 mc_bytes[16];
	u8 mc_n;
	u8 mc_size;		/* the device access */
	bool mc_write;
	u64 mc_val;		/* written; or the device's value for a read */
	int mc_reg;		/* the register that changes, or NONE */
	u64 mc_regval;		/* its value after */
};

#define	BYTES(...)	{ __VA_ARGS__ }, sizeof ((u8[]){ __VA_ARGS__ })
/* a write of val (size bytes) to the device, no register changes */
#define	WR(what, env, size, val, ...)					\
	{ what, env, BYTES(__VA_ARGS__), size, true, val, NONE, 0 }
/* a read of size bytes from a device holding dev; reg becomes regval */
#define	RD(what, env, size, dev, reg, regval, ...)			\
	{ what, env, BYTES(__VA_ARGS__), size, false, dev,		\
	    VIE_REG_##reg, regval }

static const struct movcase movs[] = {
	WR("mov [edi],eax", P32, 4, 0x04030201, 0x89, 0x07),
	WR("mov [bx],ax", R16, 2, 0x0201, 0x89, 0x07),
	WR("66 mov [bx],eax", R16, 4, 0x04030201, 0x66, 0x89, 0x07),
	WR("mov [bx],eax (P16)", P16, 4, 0x04030201, 0x66, 0x89, 0x07),
	WR("66 mov [edi],ax", P32, 2, 0x0201, 0x66, 0x89, 0x07),
	WR("mov [rdi],eax", L64, 4, 0x04030201, 0x89, 0x07),
	WR("mov [rdi],rax", L64, 8, 0x0807060504030201ULL, 0x48, 0x89, 0x07),
	WR("mov [rdi],r9d", L64, 4, 0x281e149a, 0x44, 0x89, 0x0f),
	WR("mov [rdi],r15", L64, 8, 0x80706050403020e0ULL, 0x4c, 0x89, 0x3f),
	WR("mov [rdi],r10w", L64, 2, 0x16ab, 0x66, 0x44, 0x89, 0x17),
	/* byte registers 4-7: AH..BH without REX, SPL..DIL with any */
	WR("mov [rdi],al", L64, 1, 0x01, 0x88, 0x07),
	WR("mov [rdi],ah", L64, 1, 0x02, 0x88, 0x27),
	WR("mov [rdi],ch", L64, 1, 0x04, 0x88, 0x2f),
	WR("mov [rdi],dh", L64, 1, 0x06, 0x88, 0x37),
	WR("mov [rdi],bh", L64, 1, 0x08, 0x88, 0x3f),
	WR("mov [rdi],spl", L64, 1, 0x45, 0x40, 0x88, 0x27),
	WR("mov [rdi],bpl", L64, 1, 0x56, 0x40, 0x88, 0x2f),
	WR("mov [rdi],sil", L64, 1, 0x67, 0x40, 0x88, 0x37),
	WR("mov [rdi],dil", L64, 1, 0x78, 0x40, 0x88, 0x3f),
	WR("rex.w mov [rdi],spl", L64, 1, 0x45, 0x48, 0x88, 0x27),
	WR("mov [rdi],r8b", L64, 1, 0x89, 0x44, 0x88, 0x07),
	WR("mov [rdi],r12b", L64, 1, 0xcd, 0x44, 0x88, 0x27),
	WR("mov [edi],bh", P32, 1, 0x08, 0x88, 0x3f),
	WR("mov [bx],ah", R16, 1, 0x02, 0x88, 0x27),
	/* moffs and immediates */
	WR("mov [moffs32],eax", P32, 4, 0x04030201, 0xa3, 0x40, 0x00, 0xe0,
	    0xfe),
	WR("mov [moffs64],al", L64, 1, 0x01, 0xa2, 0x40, 0x00, 0xe0, 0xfe, 0,
	    0, 0, 0),
	WR("mov [moffs16],ax", R16, 2, 0x0201, 0xa3, 0x40, 0x00),
	WR("mov byte [edi],0x80", P32, 1, 0x80, 0xc6, 0x07, 0x80),
	WR("mov word [bx],0x1234", R16, 2, 0x1234, 0xc7, 0x07, 0x34, 0x12),
	WR("mov dword [edi],..", P32, 4, 0xfee1dead, 0xc7, 0x07, 0xad, 0xde,
	    0xe1, 0xfe),
	WR("mov qword [rdi],-2", L64, 8, 0xfffffffffffffffeULL, 0x48, 0xc7,
	    0x07, 0xfe, 0xff, 0xff, 0xff),
	WR("mov qword [rdi],imm32>0", L64, 8, 0x7fffffff, 0x48, 0xc7, 0x07,
	    0xff, 0xff, 0xff, 0x7f),
	WR("66 mov word [rdi],..", L64, 2, 0xabcd, 0x66, 0xc7, 0x07, 0xcd,
	    0xab),
	WR("mov dword [rip+0x30],..", L64, 4, 0x00000300, 0xc7, 0x05, 0x30,
	    0, 0, 0, 0x00, 0x03, 0, 0),
	WR("mov [rsp+8],ecx (SIB)", L64, 4, 0x08060412, 0x89, 0x4c, 0x24,
	    0x08),
	/* reads: zero-extension of 32-bit writes, 8/16-bit merges */
	RD("mov eax,[edi]", P32, 4, DEVVAL, RAX, 0xccddeeff, 0x8b, 0x07),
	RD("mov eax,[rdi]", L64, 4, DEVVAL, RAX, 0xccddeeff, 0x8b, 0x07),
	RD("mov rax,[rdi]", L64, 8, DEVVAL, RAX, DEVVAL, 0x48, 0x8b, 0x07),
	RD("mov ax,[rdi]", L64, 2, DEVVAL, RAX, (R0(RAX) & ~0xffffULL) |
	    0xeeff, 0x66, 0x8b, 0x07),
	RD("mov al,[rdi]", L64, 1, DEVVAL, RAX, (R0(RAX) & ~0xffULL) | 0xff,
	    0x8a, 0x07),
	RD("mov ah,[rdi]", L64, 1, DEVVAL, RAX, (R0(RAX) & ~0xff00ULL) |
	    0xff00, 0x8a, 0x27),
	RD("mov bh,[rdi]", L64, 1, 0x5a, RBX, (R0(RBX) & ~0xff00ULL) |
	    0x5a00, 0x8a, 0x3f),
	RD("mov spl,[rdi]", L64, 1, DEVVAL, RSP, (R0(RSP) & ~0xffULL) | 0xff,
	    0x40, 0x8a, 0x27),
	RD("mov dil,[rdi]", L64, 1, 0x5a, RDI, (R0(RDI) & ~0xffULL) | 0x5a,
	    0x40, 0x8a, 0x3f),
	RD("mov r12d,[rdi]", L64, 4, DEVVAL, R12, 0xccddeeff, 0x44, 0x8b,
	    0x27),
	RD("mov r11w,[rdi]", L64, 2, DEVVAL, R11, (R0(R11) & ~0xffffULL) |
	    0xeeff, 0x66, 0x44, 0x8b, 0x1f),
	RD("mov ax,[bx]", R16, 2, DEVVAL, RAX, (R0(RAX) & ~0xffffULL) |
	    0xeeff, 0x8b, 0x07),
	RD("mov ch,[bx]", R16, 1, 0x77, RCX, (R0(RCX) & ~0xff00ULL) | 0x7700,
	    0x8a, 0x2f),
	RD("66 mov eax,[moffs16]", R16, 4, DEVVAL, RAX, 0xccddeeff, 0x66,
	    0xa1, 0x40, 0x00),
	RD("67 mov rax,[moffs32]", L64, 8, DEVVAL, RAX, DEVVAL, 0x67, 0x48,
	    0xa1, 0x40, 0x00, 0xe0, 0xfe),
	RD("mov al,[moffs32]", P32, 1, DEVVAL, RAX, (R0(RAX) & ~0xffULL) |
	    0xff, 0xa0, 0x40, 0x00, 0xe0, 0xfe),
	RD("movzx eax,byte [edi]", P32, 1, DEVVAL, RAX, 0xff, 0x0f, 0xb6,
	    0x07),
	RD("movzx ecx,word [rdi]", L64, 2, DEVVAL, RCX, 0xeeff, 0x0f, 0xb7,
	    0x0f),
	RD("movzx r8,byte [rdi]", L64, 1, DEVVAL, R8, 0xff, 0x4c, 0x0f, 0xb6,
	    0x07),
	RD("movzx ax,byte [bx]", R16, 1, DEVVAL, RAX, (R0(RAX) &
	    ~0xffffULL) | 0xff, 0x0f, 0xb6, 0x07),
	RD("movsx eax,byte [rdi]", L64, 1, DEVVAL, RAX, 0xffffffff, 0x0f,
	    0xbe, 0x07),
	RD("movsx rax,word [rdi]", L64, 2, DEVVAL, RAX, 0xffffffffffffeeffULL,
	    0x48, 0x0f, 0xbf, 0x07),
	RD("movsx ax,byte [bx]", R16, 1, DEVVAL, RAX, (R0(RAX) &
	    ~0xffffULL) | 0xffff, 0x0f, 0xbe, 0x07),
	RD("movsx ecx,word [edi] >0", P32, 2, 0x1234, RCX, 0x1234, 0x0f,
	    0xbf, 0x0f),
	RD("movsxd rax,[rdi]", L64, 4, DEVVAL, RAX, 0xffffffffccddeeffULL,
	    0x48, 0x63, 0x07),
	RD("movsxd rdx,[rdi] >0", L64, 4, 0x7fffffff, RDX, 0x7fffffff, 0x48,
	    0x63, 0x17),
	RD("movsxd edx,[rdi]", L64, 4, DEVVAL, RDX, 0xccddeeff, 0x63, 0x17),
};

/* Run c; false and *why (a static string) at the first mismatch. */
static bool
movcase_ok(const struct movcase *c, const char **why)
{
	struct mmio_fake *f = mmio_fake_create();
	const struct mmio_access *a = &f->mf_log[0];
	struct vie vie;
	u64 mask = c->mc_size == 8 ? ~0ULL : (1ULL << (8 * c->mc_size)) - 1;
	bool ok = false;
	int rc;

	if (!c->mc_write)
		mmio_fake_set_dev(f, GPA, 8, c->mc_val);
	rc = mmio_fake_run(f, c->mc_env, c->mc_bytes, c->mc_n, GPA, &vie);
	*why = NULL;
	if (rc != VIE_IO_DONE)
		*why = "emulation failed";
	else if (vie.vie_len != c->mc_n)
		*why = "wrong length";
	else if (f->mf_nlog != 1 || f->mf_bad)
		*why = "not one good device access";
	else if (a->ma_gpa != GPA || a->ma_bytes != c->mc_size ||
	    a->ma_write != c->mc_write)
		*why = "wrong access (gpa, size or direction)";
	else if (a->ma_val != (c->mc_val & mask))
		*why = "wrong value";
	for (int r = 0; *why == NULL && r < VIE_REG_RFLAGS; r++) {
		u64 want = r == c->mc_reg ? c->mc_regval : mmio_fake_reg0(r);

		if (f->mf_reg[r] != want)
			*why = r == c->mc_reg ? "wrong register result" :
			    "another register changed";
	}
	if (*why == NULL && f->mf_reg[VIE_REG_RFLAGS] != 0x2)
		*why = "RFLAGS changed";
	ok = *why == NULL;
	mmio_fake_destroy(f);
	return (ok);
}

KTEST(decode, mmio_mov_forms)
{
	for (size_t i = 0; i < ARRAY_SIZE(movs); i++) {
		const char *why;

		KT_EXPECT(movcase_ok(&movs[i], &why), "%s: %s", movs[i].mc_what,
		    why);
	}
}

/*
 * vie_inject_rex_bytes reads AH..BH as SPL..DIL: the high-byte cases of
 * the table must fail, and only they (the REX ones stay right).
 */
KTEST(decode, mmio_high_byte_switch_caught)
{
	int high = 0, caught = 0, wrong = 0;

	vie_inject_rex_bytes = true;
	for (size_t i = 0; i < ARRAY_SIZE(movs); i++) {
		const struct movcase *c = &movs[i];
		const char *why;
		bool ok = movcase_ok(c, &why);
		/* a byte register 4-7 with no REX byte (a 40-4F right
		 * before the opcode, which here is always byte 0) */
		bool is_high = c->mc_size == 1 && (c->mc_bytes[0] & 0xf0) !=
		    0x40 && (c->mc_bytes[0] == 0x88 || c->mc_bytes[0] ==
		    0x8a) && ((c->mc_bytes[1] >> 3) & 7) >= 4;

		high += is_high;
		caught += is_high && !ok;
		wrong += !is_high && !ok;
	}
	vie_inject_rex_bytes = false;
	KT_EXPECT(high >= 8 && caught == high, "%d of %d high-byte cases "
	    "caught", caught, high);
	KT_EXPECT(wrong == 0, "%d other cases failed with the switch on",
	    wrong);
}

/* --- the ALU against the CPU --- */

/*
 * RFLAGS in: the arithmetic bits of fin, the rest as they are (IF, DF
 * and the others unchanged); out: RFLAGS after the instruction.
 */
#define	FLAGS_IN							\
	"pushfq; popq %[t]; andq $-0x8d6, %[t]; orq %[fin], %[t];"	\
	"pushq %[t]; popfq\n\t"
#define	FLAGS_OUT	"\n\tpushfq; popq %[t]"
#define	ASM2(insn, opa, opb)						\
	__asm__ volatile(FLAGS_IN insn " " opb ", " opa FLAGS_OUT	\
	    : [a] "+q" (x), [t] "=&r" (t) : [b] "q" (y), [fin] "r" (fin)	\
	    : "cc", "memory")

/* x = x op y at size, natively; *fout the arithmetic flags after. */
#define	NATIVE2(mn)							\
static u64								\
native_##mn(u8 size, u64 x, u64 y, u64 fin, u64 *fout)			\
{									\
	u64 t;								\
									\
	switch (size) {							\
	case 1: ASM2(#mn "b", "%b[a]", "%b[b]"); break;			\
	case 2: ASM2(#mn "w", "%w[a]", "%w[b]"); break;			\
	case 4: ASM2(#mn "l", "%k[a]", "%k[b]"); break;			\
	default: ASM2(#mn "q", "%q[a]", "%q[b]"); break;		\
	}								\
	*fout = t & ARITH;						\
	return (x);							\
}
NATIVE2(add) NATIVE2(or) NATIVE2(adc) NATIVE2(sbb) NATIVE2(and)
NATIVE2(sub) NATIVE2(xor) NATIVE2(cmp) NATIVE2(test)

/* NEG has one operand; y is there for the table's sake. */
static u64
native_neg(u8 size, u64 x, u64 y, u64 fin, u64 *fout)
{
	u64 t;

	(void)y;
	switch (size) {
	case 1:
		__asm__ volatile(FLAGS_IN "negb %b[a]" FLAGS_OUT : [a] "+q" (x),
		    [t] "=&r" (t) : [fin] "r" (fin) : "cc");
		break;
	case 2:
		__asm__ volatile(FLAGS_IN "negw %w[a]" FLAGS_OUT : [a] "+q" (x),
		    [t] "=&r" (t) : [fin] "r" (fin) : "cc");
		break;
	case 4:
		__asm__ volatile(FLAGS_IN "negl %k[a]" FLAGS_OUT : [a] "+q" (x),
		    [t] "=&r" (t) : [fin] "r" (fin) : "cc");
		break;
	default:
		__asm__ volatile(FLAGS_IN "negq %q[a]" FLAGS_OUT : [a] "+q" (x),
		    [t] "=&r" (t) : [fin] "r" (fin) : "cc");
		break;
	}
	*fout = t & ARITH;
	return (x);
}

struct aluop {
	const char *ao_name;
	u64 (*ao_native)(u8, u64, u64, u64, u64 *);
	int ao_group;		/* 0-7: the 00-3B row and the group 1 /n */
	bool ao_writes;		/* the destination takes the result */
	bool ao_logic;		/* AF undefined */
};

static const struct aluop aluops[] = {
	{ "add", native_add, 0, true, false },
	{ "or", native_or, 1, true, true },
	{ "adc", native_adc, 2, true, false },
	{ "sbb", native_sbb, 3, true, false },
	{ "and", native_and, 4, true, true },
	{ "sub", native_sub, 5, true, false },
	{ "xor", native_xor, 6, true, true },
	{ "cmp", native_cmp, 7, false, false },
	{ "test", native_test, -1, false, true },
	{ "neg", native_neg, -1, true, false },
};

enum aluform { AF_RM_REG, AF_REG_RM, AF_RM_IMM8, AF_RM_IMMZ, AF_NFORMS };

/* Byte registers without REX: 4-7 are bits 8-15 of 0-3. */
static const struct { u8 gpr, shift; } byte_reg[8] = {
	{ 0, 0 }, { 1, 0 }, { 2, 0 }, { 3, 0 },
	{ 0, 8 }, { 1, 8 }, { 2, 8 }, { 3, 8 } };

static u64
mask_of(u8 size)
{
	return (size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1);
}

/* The size-byte register reg in f's registers (rex: any REX present). */
static u64 *
test_reg(struct mmio_fake *f, u8 reg, u8 size, bool rex, int *shift)
{
	*shift = 0;
	if (size == 1 && !rex && reg < 8) {
		*shift = byte_reg[reg].shift;
		return (&f->mf_reg[byte_reg[reg].gpr]);
	}
	return (&f->mf_reg[reg]);
}

/* A value with edges often: 0, 1, the sign bit, all ones, or random. */
static u64
pick(u64 *seed, u8 size)
{
	u64 r = ktest_rand(seed), m = mask_of(size), sign = (m >> 1) + 1;

	switch (r & 7) {
	case 0: return (0);
	case 1: return (1);
	case 2: return (sign);
	case 3: return (sign - 1);
	case 4: return (m);
	default: return (ktest_rand(seed) & m);
	}
}

struct aluinsn {
	u8 ai_bytes[16];
	u8 ai_n;
	bool ai_rex;
};

/* Legacy and REX prefixes for size in env; rex forces a REX byte. */
static void
emit_prefixes(struct aluinsn *in, enum env env, u8 size, u8 reg, bool rex)
{
	bool wide = env == P32 || env == L64;

	if ((size == 2 && wide) || (size == 4 && !wide))
		in->ai_bytes[in->ai_n++] = 0x66;
	if (env == L64) {
		u8 b = 0x40 | (size == 8 ? 8 : 0) | (reg >= 8 ? 4 : 0);

		if (b != 0x40 || rex)
			in->ai_bytes[in->ai_n++] = b;
		in->ai_rex = b != 0x40 || rex;
	}
}

/*
 * Encode op in form at size with register reg (or /digit) and rm [bx]
 * or [edi]/[rdi] (mod 0 rm 7 means both); imm is the immediate's value.
 */
static void
encode_alu(struct aluinsn *in, const struct aluop *op, enum aluform form,
    enum env env, u8 size, u8 reg, bool rex, i64 imm)
{
	bool byte = size == 1, neg = op->ao_native == native_neg;
	bool test = op->ao_native == native_test;
	int immb = 0;
	u8 digit = reg & 7;

	in->ai_n = 0;
	in->ai_rex = false;
	emit_prefixes(in, env, size, form <= AF_REG_RM ? reg : 0, rex);
	if (neg) {
		in->ai_bytes[in->ai_n++] = byte ? 0xf6 : 0xf7;
		digit = 3;
	} else if (form == AF_RM_REG || form == AF_REG_RM) {
		in->ai_bytes[in->ai_n++] = test ? (byte ? 0x84 : 0x85) :
		    (u8)(op->ao_group * 8 + (form == AF_REG_RM ? 2 : 0) +
		    (byte ? 0 : 1));
	} else if (test) {
		in->ai_bytes[in->ai_n++] = byte ? 0xf6 : 0xf7;
		digit = 0;
		immb = byte ? 1 : size == 2 ? 2 : 4;
	} else {
		in->ai_bytes[in->ai_n++] = byte ? 0x80 : form == AF_RM_IMM8 ?
		    0x83 : 0x81;
		digit = op->ao_group;
		immb = byte || form == AF_RM_IMM8 ? 1 : size == 2 ? 2 : 4;
	}
	in->ai_bytes[in->ai_n++] = (u8)(digit << 3 | 7);
	for (int i = 0; i < immb; i++)
		in->ai_bytes[in->ai_n++] = (u8)((u64)imm >> (8 * i));
}

/* The immediate form's value as the CPU widens it to size. */
static u64
imm_value(enum aluform form, u8 size, u64 *seed, i64 *imm)
{
	u64 v = pick(seed, size);

	if (form == AF_RM_IMM8 && size > 1)
		v = (u64)(i64)(signed char)v;		/* 83: imm8 sign-extended */
	else if (size == 8)
		v = (u64)(i64)(int)v;		/* 81: imm32 sign-extended */
	*imm = (i64)v;
	return (v & mask_of(size));
}

/*
 * One random ALU case checked against the CPU; the reason of a mismatch
 * in *why (NULL: all agreed).
 */
static void
alu_case(u64 *seed, const char **why, char *desc, size_t desclen)
{
	static const enum env envs[] = { R16, P16, P32, L64 };
	const struct aluop *op = &aluops[ktest_rand(seed) % ARRAY_SIZE(aluops)];
	enum env env = envs[ktest_rand(seed) % 4];
	u8 size = 1 << (ktest_rand(seed) % (env == L64 ? 4 : 3));
	bool neg = op->ao_native == native_neg;
	enum aluform form = neg ? AF_RM_REG :
	    (enum aluform)(ktest_rand(seed) % AF_NFORMS);
	u8 reg = ktest_rand(seed) % (env == L64 ? 16 : 8);
	bool rex = env == L64 && (ktest_rand(seed) & 1);
	u64 fin = ktest_rand(seed) & ARITH, dev = pick(seed, size), src;
	u64 m = mask_of(size), res, fout, *rp, want_rflags;
	struct mmio_fake *f = mmio_fake_create();
	struct aluinsn in;
	struct vie vie;
	i64 imm = 0;
	int shift, rc;

	if (op->ao_native == native_test && form == AF_REG_RM)
		form = AF_RM_REG;		/* 84/85 have one direction */
	if (form == AF_RM_IMM8 && size == 1)
		form = AF_RM_IMMZ;		/* 80: the byte immediate */
	if (form >= AF_RM_IMM8)
		src = imm_value(form, size, seed, &imm);
	else
		src = pick(seed, size);
	encode_alu(&in, op, form, env, size, reg, rex, imm);
	if (env != L64 || !in.ai_rex)
		rex = false;
	/* the register operand holds src (or dst for REG_RM) */
	rp = test_reg(f, reg, size, rex, &shift);
	if (form <= AF_REG_RM && !neg)
		*rp = (*rp & ~(m << shift)) | ((form == AF_REG_RM ? dev : src)
		    << shift);
	if (form == AF_REG_RM) {
		/* the register is the destination, the device the source */
		u64 d = dev;

		dev = src;
		src = d;
	}
	res = op->ao_native(size, form == AF_REG_RM ? src : dev,
	    form == AF_REG_RM ? dev : src, fin, &fout) & m;
	mmio_fake_set_dev(f, GPA, size, dev);
	f->mf_reg[VIE_REG_RFLAGS] = 0x202 | fin;	/* IF kept */
	u64 before[VIE_REG_RFLAGS];
	for (int r = 0; r < VIE_REG_RFLAGS; r++)
		before[r] = f->mf_reg[r];

	ksnprintf(desc, desclen, "%s size %u form %d env %d reg %u rex %d "
	    "dst 0x%lx src 0x%lx cf %lu", op->ao_name, size, form, env, reg,
	    rex, form == AF_REG_RM ? src : dev, form == AF_REG_RM ? dev : src,
	    fin & 1);
	rc = mmio_fake_run(f, env, in.ai_bytes, in.ai_n, GPA, &vie);
	want_rflags = 0x202 | fout;
	u64 fmask = op->ao_logic ? ~AF : ~0ULL;
	*why = NULL;
	if (rc != VIE_IO_DONE || vie.vie_len != in.ai_n)
		*why = "emulation failed or wrong length";
	else if (f->mf_bad || f->mf_nlog != (op->ao_writes &&
	    form != AF_REG_RM ? 2 : 1))
		*why = "wrong number of device accesses";
	else if (f->mf_log[0].ma_write || f->mf_log[0].ma_gpa != GPA ||
	    f->mf_log[0].ma_bytes != size || f->mf_log[0].ma_val != dev)
		*why = "wrong device read";
	else if (f->mf_nlog == 2 && (!f->mf_log[1].ma_write ||
	    f->mf_log[1].ma_gpa != GPA || f->mf_log[1].ma_bytes != size ||
	    f->mf_log[1].ma_val != res))
		*why = "wrong device write (the result)";
	else if ((f->mf_reg[VIE_REG_RFLAGS] & fmask) != (want_rflags & fmask))
		*why = "flags differ from the CPU's";
	if (*why == NULL && form == AF_REG_RM && op->ao_writes) {
		/* the result lands in the register as the CPU writes it */
		if (size == 4)
			before[reg] = res;
		else
			before[rp - f->mf_reg] = (before[rp - f->mf_reg] &
			    ~(m << shift)) | (res << shift);
	}
	for (int r = 0; *why == NULL && r < VIE_REG_RFLAGS; r++) {
		if (f->mf_reg[r] != before[r])
			*why = "wrong register contents";
	}
	mmio_fake_destroy(f);
}

KTEST(decode, mmio_alu_vs_cpu)
{
	u64 seed = 0x5eed0a1u;
	int n = (int)ktest_scale(3000), bad = 0;
	char desc[160];

	for (int i = 0; i < n; i++) {
		const char *why;

		alu_case(&seed, &why, desc, sizeof (desc));
		if (why != NULL && bad++ < 4)
			KT_EXPECT(false, "%s: %s", desc, why);
	}
	KT_EXPECT(bad == 0, "%d of %d cases differ from the CPU", bad, n);
}

/* The same with the 8-bit switch on: the high-byte cases must differ. */
KTEST(decode, mmio_alu_high_byte_switch_caught)
{
	u64 seed = 0x5eed0a1u;
	int n = (int)ktest_scale(3000), bad = 0;
	char desc[160];

	vie_inject_rex_bytes = true;
	for (int i = 0; i < n; i++) {
		const char *why;

		alu_case(&seed, &why, desc, sizeof (desc));
		bad += why != NULL;
	}
	vie_inject_rex_bytes = false;
	KT_EXPECT(bad > 0, "no case out of %d noticed AH..BH taken as "
	    "SPL..DIL", n);
}
