/*
 * Suite "decode": the shared instruction decoder and string port I/O of
 * kern/vmm/vmm_decode.c, on byte arrays and a fake guest (registers,
 * segments, a page table over four pages of memory, a port that logs),
 * with no VM and no backend.
 */
#include "ktest.h"
#include "../kern/kmem.h"
#include "../kern/vmm/vmm_decode.h"

/* --- decoding tables --- */

enum env { R16, P16, P32, L64 };	/* real, protected CS.D=0/1, 64-bit */

struct dcase {
	const char *dc_what;
	enum env dc_env;
	u8 dc_bytes[20];
	u8 dc_n;
	int dc_rc;
	enum vie_op dc_op;
	u8 dc_len;
};

#define	BYTES(...)	{ __VA_ARGS__ }, sizeof ((u8[]){ __VA_ARGS__ })
#define	OK(what, env, op, len, ...)					\
	{ what, env, BYTES(__VA_ARGS__), 0, VIE_OP_##op, len }
#define	ERR(what, env, rc, ...)						\
	{ what, env, BYTES(__VA_ARGS__), rc, VIE_OP_NONE, 0 }

static int
decode(enum env env, const u8 *b, size_t n, struct vie *vie)
{
	static const enum vie_cpu_mode mode[] = {
		[R16] = VIE_MODE_REAL, [P16] = VIE_MODE_PROT,
		[P32] = VIE_MODE_PROT, [L64] = VIE_MODE_LONG64 };

	return (vie_decode(b, n, mode[env], env == P32, vie));
}

/* Decode c (with extra bytes in front), compare rc, op and length. */
static void
check_case(const struct dcase *c, const u8 *front, size_t nfront,
    enum env env)
{
	u8 buf[40];
	struct vie vie;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < nfront; i++)
		buf[n++] = front[i];
	for (size_t i = 0; i < c->dc_n; i++)
		buf[n++] = c->dc_bytes[i];
	rc = decode(env, buf, n, &vie);
	KT_EXPECT(rc == c->dc_rc, "%s (+%zu prefix bytes, env %d): rc %d, "
	    "want %d", c->dc_what, nfront, env, rc, c->dc_rc);
	if (rc != 0 || c->dc_rc != 0)
		return;
	KT_EXPECT(vie.vie_op == c->dc_op, "%s: op %s, want %s", c->dc_what,
	    vie_op_name(vie.vie_op), vie_op_name(c->dc_op));
	KT_EXPECT(vie.vie_len == c->dc_len + nfront, "%s (+%zu): len %u, "
	    "want %zu", c->dc_what, nfront, vie.vie_len, c->dc_len + nfront);
}

/* Every opcode, in 32-bit protected mode, with only its own prefixes. */
static const struct dcase plain[] = {
	OK("insb", P32, INS, 1, 0x6c),
	OK("insd", P32, INS, 1, 0x6d),
	OK("outsb", P32, OUTS, 1, 0x6e),
	OK("outsd", P32, OUTS, 1, 0x6f),
	OK("in al,imm", P32, IN, 2, 0xe4, 0x60),
	OK("in eax,imm", P32, IN, 2, 0xe5, 0x60),
	OK("out imm,al", P32, OUT, 2, 0xe6, 0x80),
	OK("out imm,eax", P32, OUT, 2, 0xe7, 0x80),
	OK("in al,dx", P32, IN, 1, 0xec),
	OK("in eax,dx", P32, IN, 1, 0xed),
	OK("out dx,al", P32, OUT, 1, 0xee),
	OK("out dx,eax", P32, OUT, 1, 0xef),
	OK("hlt", P32, HLT, 1, 0xf4),
	OK("cpuid", P32, CPUID, 2, 0x0f, 0xa2),
	OK("rdmsr", P32, RDMSR, 2, 0x0f, 0x32),
	OK("wrmsr", P32, WRMSR, 2, 0x0f, 0x30),
	OK("rdtsc", P32, RDTSC, 2, 0x0f, 0x31),
	OK("rdtscp", P32, RDTSCP, 3, 0x0f, 0x01, 0xf9),
	OK("rdpmc", P32, RDPMC, 2, 0x0f, 0x33),
	OK("invd", P32, INVD, 2, 0x0f, 0x08),
	OK("wbinvd", P32, WBINVD, 2, 0x0f, 0x09),
	OK("wbnoinvd", P32, WBNOINVD, 3, 0xf3, 0x0f, 0x09),
	OK("xsetbv", P32, XSETBV, 3, 0x0f, 0x01, 0xd1),
	OK("vmcall", P32, VMCALL, 3, 0x0f, 0x01, 0xc1),
	OK("vmlaunch", P32, VMLAUNCH, 3, 0x0f, 0x01, 0xc2),
	OK("vmresume", P32, VMRESUME, 3, 0x0f, 0x01, 0xc3),
	OK("vmxoff", P32, VMXOFF, 3, 0x0f, 0x01, 0xc4),
	OK("monitor", P32, MONITOR, 3, 0x0f, 0x01, 0xc8),
	OK("mwait", P32, MWAIT, 3, 0x0f, 0x01, 0xc9),
	OK("vmfunc", P32, VMFUNC, 3, 0x0f, 0x01, 0xd4),
	OK("vmrun", P32, VMRUN, 3, 0x0f, 0x01, 0xd8),
	OK("vmmcall", P32, VMMCALL, 3, 0x0f, 0x01, 0xd9),
	OK("vmload", P32, VMLOAD, 3, 0x0f, 0x01, 0xda),
	OK("vmsave", P32, VMSAVE, 3, 0x0f, 0x01, 0xdb),
	OK("stgi", P32, STGI, 3, 0x0f, 0x01, 0xdc),
	OK("clgi", P32, CLGI, 3, 0x0f, 0x01, 0xdd),
	OK("skinit", P32, SKINIT, 3, 0x0f, 0x01, 0xde),
	OK("invlpga", P32, INVLPGA, 3, 0x0f, 0x01, 0xdf),
	OK("mov eax,dr1", P32, MOV_FROM_DR, 3, 0x0f, 0x21, 0xc8),
	OK("mov dr7,eax", P32, MOV_TO_DR, 3, 0x0f, 0x23, 0xf8),
	/* mod 0 rm 5 would be disp32 as memory; DR moves ignore mod */
	OK("mov dr0,ebp mod 0", P32, MOV_TO_DR, 3, 0x0f, 0x23, 0x05),
	OK("vmxon [eax]", P32, VMXON, 4, 0xf3, 0x0f, 0xc7, 0x30),
	OK("vmclear [eax]", P32, VMCLEAR, 4, 0x66, 0x0f, 0xc7, 0x30),
	OK("vmptrld [eax]", P32, VMPTRLD, 3, 0x0f, 0xc7, 0x30),
	OK("vmptrst [eax]", P32, VMPTRST, 3, 0x0f, 0xc7, 0x38),
	OK("vmread eax,ecx", P32, VMREAD, 3, 0x0f, 0x78, 0xc8),
	OK("vmwrite ecx,eax", P32, VMWRITE, 3, 0x0f, 0x79, 0xc8),
	OK("vmread [disp32],ecx", P32, VMREAD, 7, 0x0f, 0x78, 0x0d,
	    0x78, 0x56, 0x34, 0x12),
	OK("invept ecx,[eax]", P32, INVEPT, 5, 0x66, 0x0f, 0x38, 0x80,
	    0x08),
	OK("invvpid ecx,[eax+8]", P32, INVVPID, 6, 0x66, 0x0f, 0x38, 0x81,
	    0x48, 0x08),
};

KTEST(decode, lengths_plain)
{
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++)
		check_case(&plain[i], NULL, 0, P32);
}

/*
 * The same instructions behind segment prefixes (all six, which change
 * no length), and in 64-bit mode behind a REX (put after the mandatory
 * prefix: REX must come last).
 */
KTEST(decode, lengths_prefixed)
{
	static const u8 segs[] = { 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65 };

	for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
		struct dcase c = plain[i];
		size_t k = 0;

		check_case(&plain[i], segs, 1, P32);
		check_case(&plain[i], segs, ARRAY_SIZE(segs), P32);
		check_case(&plain[i], segs + 4, 1, L64);
		check_case(&plain[i], NULL, 0, L64);
		while (c.dc_bytes[k] == 0x66 || c.dc_bytes[k] == 0xf3)
			k++;
		memmove(c.dc_bytes + k + 1, c.dc_bytes + k, c.dc_n - k);
		c.dc_bytes[k] = 0x41;	/* REX.B */
		c.dc_n++;
		c.dc_len++;
		check_case(&c, NULL, 0, L64);
	}
}

static const struct dcase special[] = {
	OK("66 cpuid", P32, CPUID, 3, 0x66, 0x0f, 0xa2),
	OK("f3 cpuid", P32, CPUID, 3, 0xf3, 0x0f, 0xa2),
	OK("66 hlt", P32, HLT, 2, 0x66, 0xf4),
	OK("f3 hlt", P32, HLT, 2, 0xf3, 0xf4),
	OK("cs 66 rdmsr", P32, RDMSR, 4, 0x2e, 0x66, 0x0f, 0x32),
	OK("66 67 wrmsr", P32, WRMSR, 4, 0x66, 0x67, 0x0f, 0x30),
	OK("66 rdtscp", P32, RDTSCP, 4, 0x66, 0x0f, 0x01, 0xf9),
	OK("rep outsb", P32, OUTS, 2, 0xf3, 0x6e),
	OK("67 rep outsd", P32, OUTS, 3, 0x67, 0xf3, 0x6f),
	OK("66 in ax,dx", P32, IN, 2, 0x66, 0xed),
	/* 67 in 32-bit code: 16-bit ModRM, [bx+si] and [disp16] */
	OK("67 vmptrld [bx+si]", P32, VMPTRLD, 4, 0x67, 0x0f, 0xc7, 0x30),
	OK("67 vmptrld [disp16]", P32, VMPTRLD, 6, 0x67, 0x0f, 0xc7, 0x36,
	    0x34, 0x12),
	OK("66 after rex: rex dropped", L64, CPUID, 4, 0x48, 0x66, 0x0f,
	    0xa2),
	ERR("pause", P32, VIE_EUNKNOWN, 0xf3, 0x90),
	ERR("nop", P32, VIE_EUNKNOWN, 0x90),
	ERR("ud2", P32, VIE_EUNKNOWN, 0x0f, 0x0b),
	ERR("int 80", P32, VIE_EUNKNOWN, 0xcd, 0x80),
	ERR("xgetbv", P32, VIE_EUNKNOWN, 0x0f, 0x01, 0xd0),
	ERR("swapgs", L64, VIE_EUNKNOWN, 0x0f, 0x01, 0xf8),
	ERR("lgdt [eax]", P32, VIE_EUNKNOWN, 0x0f, 0x01, 0x10),
	ERR("f3 0f 01 c1", P32, VIE_EUNKNOWN, 0xf3, 0x0f, 0x01, 0xc1),
	ERR("extrq", P32, VIE_EUNKNOWN, 0x66, 0x0f, 0x78, 0xc8),
	ERR("f2 0f 79", P32, VIE_EUNKNOWN, 0xf2, 0x0f, 0x79, 0xc8),
	ERR("f2 0f c7 /6", P32, VIE_EUNKNOWN, 0xf2, 0x0f, 0xc7, 0x30),
	ERR("rdrand", P32, VIE_EUNKNOWN, 0x0f, 0xc7, 0xf0),
	ERR("rdpid", P32, VIE_EUNKNOWN, 0xf3, 0x0f, 0xc7, 0xf8),
	ERR("cmpxchg8b", P32, VIE_EUNKNOWN, 0x0f, 0xc7, 0x08),
	ERR("f3 0f c7 /7 mem", P32, VIE_EUNKNOWN, 0xf3, 0x0f, 0xc7, 0x38),
	ERR("0f 38 80 without 66", P32, VIE_EUNKNOWN, 0x0f, 0x38, 0x80,
	    0x08),
	ERR("66 0f 38 82", P32, VIE_EUNKNOWN, 0x66, 0x0f, 0x38, 0x82, 0x08),
	ERR("dec eax, not rex, in 32-bit", P32, VIE_EUNKNOWN, 0x48, 0x0f,
	    0xa2),
	ERR("lock cpuid", P32, VIE_EUD, 0xf0, 0x0f, 0xa2),
	ERR("lock hlt", P32, VIE_EUD, 0xf0, 0xf4),
	ERR("invept register", P32, VIE_EUD, 0x66, 0x0f, 0x38, 0x80, 0xc1),
	ERR("mov dr8", L64, VIE_EUD, 0x44, 0x0f, 0x21, 0xc0),
	ERR("empty", P32, VIE_ENEEDMORE, 0x66),
};

KTEST(decode, special_prefixes_and_errors)
{
	for (size_t i = 0; i < ARRAY_SIZE(special); i++)
		check_case(&special[i], NULL, 0, special[i].dc_env);
}

/* Every proper prefix of every instruction asks for more bytes. */
KTEST(decode, truncated)
{
	struct vie vie;

	KT_EXPECT(vie_decode(NULL, 0, VIE_MODE_PROT, true, &vie) ==
	    VIE_ENEEDMORE, "n 0 is not need-more");
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
		for (size_t n = 0; n < plain[i].dc_len; n++) {
			int rc = decode(P32, plain[i].dc_bytes, n, &vie);

			KT_EXPECT(rc == VIE_ENEEDMORE, "%s cut to %zu bytes: "
			    "rc %d", plain[i].dc_what, n, rc);
		}
	}
	KT_EXPECT(vie_decode(plain[0].dc_bytes, 1, 7, true, &vie) ==
	    VIE_EINVAL, "a bad mode is accepted");
}

KTEST(decode, length_limit)
{
	u8 b[24];
	struct vie vie;
	int rc;

	/* 13 prefixes + 0F A2: 15 bytes, the most there may be */
	memset(b, 0x3e, sizeof (b));
	b[13] = 0x0f;
	b[14] = 0xa2;
	rc = decode(P32, b, 15, &vie);
	KT_EXPECT(rc == 0 && vie.vie_len == 15 && vie.vie_op == VIE_OP_CPUID,
	    "15-byte cpuid: rc %d len %u", rc, vie.vie_len);
	/* 14 prefixes: 16 bytes */
	memset(b, 0x3e, sizeof (b));
	b[14] = 0x0f;
	b[15] = 0xa2;
	KT_EXPECT((rc = decode(P32, b, 16, &vie)) == VIE_ETOOLONG,
	    "16-byte cpuid: rc %d", rc);
	/* a short buffer ends before the limit does: fetch more first */
	KT_EXPECT((rc = decode(P32, b, 10, &vie)) == VIE_ENEEDMORE,
	    "16-byte cpuid, 10 given: rc %d", rc);
	/* prefixes only, more than 15 of them available */
	memset(b, 0x66, sizeof (b));
	KT_EXPECT((rc = decode(P32, b, sizeof (b), &vie)) == VIE_ETOOLONG,
	    "24 operand-size prefixes: rc %d", rc);
	KT_EXPECT((rc = decode(P32, b, 15, &vie)) == VIE_ETOOLONG,
	    "15 operand-size prefixes: rc %d", rc);
	/* the displacement is what crosses the limit: 9 + 7 = 16 */
	memset(b, 0x3e, sizeof (b));
	memcpy(b + 9, (u8[]){ 0x0f, 0x78, 0x0d, 1, 2, 3, 4 }, 7);
	KT_EXPECT((rc = decode(P32, b, 16, &vie)) == VIE_ETOOLONG,
	    "vmread with a disp32 at bytes 12-15: rc %d", rc);
	KT_EXPECT((rc = decode(P32, b + 1, 15, &vie)) == 0 &&
	    vie.vie_len == 15 && vie.vie_disp == 0x04030201,
	    "15-byte vmread: rc %d len %u disp 0x%lx", rc, vie.vie_len,
	    (u64)vie.vie_disp);
}

/* --- decoded fields --- */

KTEST(decode, sizes_by_mode)
{
	static const struct {
		enum env env;
		u8 bytes[3];
		u8 n;
		u8 opsize, addrsize;
	} t[] = {
		{ R16, { 0x6d }, 1, 2, 2 },
		{ R16, { 0x66, 0x6d }, 2, 4, 2 },
		{ R16, { 0x67, 0x6d }, 2, 2, 4 },
		{ P16, { 0x6d }, 1, 2, 2 },
		{ P16, { 0x66, 0x67, 0x6d }, 3, 4, 4 },
		{ P32, { 0x6d }, 1, 4, 4 },
		{ P32, { 0x66, 0x6d }, 2, 2, 4 },
		{ P32, { 0x67, 0x6d }, 2, 4, 2 },
		{ L64, { 0x6d }, 1, 4, 8 },
		{ L64, { 0x66, 0x6d }, 2, 2, 8 },
		{ L64, { 0x67, 0x6d }, 2, 4, 4 },
		{ L64, { 0x48, 0x6d }, 2, 4, 8 },	/* REX.W: still 32 */
		{ L64, { 0x48, 0xed }, 2, 4, 8 },
		{ L64, { 0x6c }, 1, 1, 8 },
		{ P16, { 0x66, 0xec }, 2, 1, 2 },	/* byte stays byte */
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct vie vie;
		int rc = decode(t[i].env, t[i].bytes, t[i].n, &vie);

		KT_EXPECT(rc == 0 && vie.vie_opsize == t[i].opsize &&
		    vie.vie_addrsize == t[i].addrsize, "case %zu: rc %d "
		    "opsize %u addrsize %u, want %u %u", i, rc, vie.vie_opsize,
		    vie.vie_addrsize, t[i].opsize, t[i].addrsize);
	}
}

KTEST(decode, modrm_16_32_64)
{
	struct vie v;

	/* 16-bit: mod 1 disp8 (sign-extended), mod 2 disp16 */
	KT_EXPECT(decode(R16, (u8[]){ 0x0f, 0xc7, 0x70, 0xf0 }, 4, &v) == 0 &&
	    v.vie_len == 4 && v.vie_disp_bytes == 1 && v.vie_disp == -16 &&
	    !v.vie_has_sib, "16-bit mod 1: len %u disp %ld", v.vie_len,
	    (long)v.vie_disp);
	KT_EXPECT(decode(R16, (u8[]){ 0x0f, 0xc7, 0xb0, 0x34, 0x12 }, 5,
	    &v) == 0 && v.vie_len == 5 && v.vie_disp == 0x1234,
	    "16-bit mod 2: len %u", v.vie_len);
	/* 16-bit rm 4 is [si], not a SIB */
	KT_EXPECT(decode(R16, (u8[]){ 0x0f, 0xc7, 0x34 }, 3, &v) == 0 &&
	    v.vie_len == 3 && !v.vie_has_sib, "16-bit [si]: len %u",
	    v.vie_len);
	/* 32-bit: SIB, SIB + disp8, SIB + disp32, SIB with no base */
	KT_EXPECT(decode(P32, (u8[]){ 0x0f, 0xc7, 0x34, 0x24 }, 4, &v) == 0 &&
	    v.vie_len == 4 && v.vie_has_sib && v.vie_base == 4 &&
	    v.vie_index == 4 && v.vie_scale == 1, "[esp]: len %u", v.vie_len);
	KT_EXPECT(decode(P32, (u8[]){ 0x0f, 0xc7, 0x74, 0x8b, 0x08 }, 5,
	    &v) == 0 && v.vie_len == 5 && v.vie_scale == 4 &&
	    v.vie_index == 1 && v.vie_base == 3 && v.vie_disp == 8,
	    "[ebx+ecx*4+8]: len %u scale %u", v.vie_len, v.vie_scale);
	KT_EXPECT(decode(P32, (u8[]){ 0x0f, 0xc7, 0xb4, 0x24, 0, 0, 0, 0x80 },
	    8, &v) == 0 && v.vie_len == 8 && v.vie_disp == -0x80000000L,
	    "[esp+disp32]: len %u", v.vie_len);
	KT_EXPECT(decode(P32, (u8[]){ 0x0f, 0xc7, 0x34, 0x25, 1, 0, 0, 0 },
	    8, &v) == 0 && v.vie_len == 8 && v.vie_disp == 1,
	    "[disp32] through SIB: len %u", v.vie_len);
	KT_EXPECT(decode(P32, (u8[]){ 0x0f, 0xc7, 0x35, 1, 0, 0, 0 }, 7,
	    &v) == 0 && v.vie_len == 7 && !v.vie_riprel,
	    "32-bit [disp32]: len %u riprel %d", v.vie_len, v.vie_riprel);
	/* 64-bit: the same bytes are RIP-relative */
	KT_EXPECT(decode(L64, (u8[]){ 0x0f, 0xc7, 0x35, 1, 0, 0, 0 }, 7,
	    &v) == 0 && v.vie_len == 7 && v.vie_riprel,
	    "[rip+disp32]: len %u riprel %d", v.vie_len, v.vie_riprel);
	/* 64-bit with 67: 32-bit ModRM rules, address size 4 */
	KT_EXPECT(decode(L64, (u8[]){ 0x67, 0x0f, 0xc7, 0x74, 0x24, 0x10 },
	    6, &v) == 0 && v.vie_len == 6 && v.vie_addrsize == 4,
	    "67 [esp+16]: len %u addrsize %u", v.vie_len, v.vie_addrsize);
	/* 16-bit code with 67: SIB exists again */
	KT_EXPECT(decode(R16, (u8[]){ 0x67, 0x0f, 0xc7, 0x34, 0x24 }, 5,
	    &v) == 0 && v.vie_len == 5 && v.vie_has_sib,
	    "real-mode 67 [esp]: len %u", v.vie_len);
}

KTEST(decode, rex)
{
	struct vie v;

	KT_EXPECT(decode(L64, (u8[]){ 0x48, 0x0f, 0x78, 0xc8 }, 4, &v) == 0 &&
	    v.vie_op == VIE_OP_VMREAD && v.vie_len == 4 && v.vie_opsize == 8 &&
	    v.vie_reg == 1 && v.vie_rm == 0 && v.vie_rex == 0x48,
	    "vmread rax,rcx: len %u opsize %u", v.vie_len, v.vie_opsize);
	KT_EXPECT(decode(L64, (u8[]){ 0x4d, 0x0f, 0x79, 0xc8 }, 4, &v) == 0 &&
	    v.vie_reg == 9 && v.vie_rm == 8, "vmwrite r9,r8: reg %u rm %u",
	    v.vie_reg, v.vie_rm);
	KT_EXPECT(decode(L64, (u8[]){ 0x41, 0x0f, 0x21, 0xf8 }, 4, &v) == 0 &&
	    v.vie_op == VIE_OP_MOV_FROM_DR && v.vie_reg == 7 &&
	    v.vie_rm == 8 && v.vie_opsize == 8, "mov r8,dr7: reg %u rm %u",
	    v.vie_reg, v.vie_rm);
	KT_EXPECT(decode(L64, (u8[]){ 0x43, 0x0f, 0xc7, 0x34, 0xc8 }, 5,
	    &v) == 0 && v.vie_index == 9 && v.vie_base == 8 &&
	    v.vie_scale == 8, "vmptrld [r8+r9*8]: index %u base %u",
	    v.vie_index, v.vie_base);
	/* a legacy prefix after REX cancels it */
	KT_EXPECT(decode(L64, (u8[]){ 0x48, 0x66, 0x0f, 0x78, 0xc8 }, 5,
	    &v) == VIE_EUNKNOWN, "66 after REX.W is not extrq");
	KT_EXPECT(decode(L64, (u8[]){ 0x4c, 0x2e, 0x0f, 0x21, 0xc0 }, 5,
	    &v) == 0 && v.vie_rex == 0 && v.vie_reg == 0 && v.vie_len == 5,
	    "REX.R before a prefix: rex 0x%x reg %u", v.vie_rex, v.vie_reg);
	/* two REX bytes: the last one counts */
	KT_EXPECT(decode(L64, (u8[]){ 0x44, 0x41, 0x0f, 0x21, 0xc0 }, 5,
	    &v) == 0 && v.vie_rex == 0x41 && v.vie_rm == 8,
	    "REX REX: rex 0x%x", v.vie_rex);
}

KTEST(decode, segments_ports_rep)
{
	static const struct {
		enum env env;
		u8 bytes[4];
		u8 n;
		enum vie_seg seg;
		bool override, rep;
	} t[] = {
		{ P32, { 0x6e }, 1, VIE_SEG_DS, false, false },
		{ P32, { 0x2e, 0x6e }, 2, VIE_SEG_CS, true, false },
		{ P32, { 0x36, 0xf3, 0x6e }, 3, VIE_SEG_SS, true, true },
		{ P32, { 0x26, 0x64, 0x6e }, 3, VIE_SEG_FS, true, false },
		{ R16, { 0x65, 0x6f }, 2, VIE_SEG_GS, true, false },
		/* INS writes ES:rDI whatever the prefix */
		{ P32, { 0x2e, 0xf3, 0x6c }, 3, VIE_SEG_ES, false, true },
		{ P32, { 0xf2, 0x6c }, 2, VIE_SEG_ES, false, true },
		/* 64-bit mode ignores CS/DS/ES/SS overrides */
		{ L64, { 0x2e, 0x6e }, 2, VIE_SEG_DS, false, false },
		{ L64, { 0x26, 0x6e }, 2, VIE_SEG_DS, false, false },
		{ L64, { 0x64, 0x6e }, 2, VIE_SEG_FS, true, false },
		{ L64, { 0x65, 0xf3, 0x6f }, 3, VIE_SEG_GS, true, true },
		/* REP on a non-string instruction repeats nothing */
		{ P32, { 0xf3, 0xee }, 2, VIE_SEG_DS, false, false },
	};
	struct vie v;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		int rc = decode(t[i].env, t[i].bytes, t[i].n, &v);

		KT_EXPECT(rc == 0 && v.vie_seg == t[i].seg &&
		    v.vie_seg_override == t[i].override &&
		    v.vie_rep == t[i].rep && v.vie_len == t[i].n,
		    "case %zu: rc %d seg %d override %d rep %d len %u", i, rc,
		    v.vie_seg, v.vie_seg_override, v.vie_rep, v.vie_len);
	}
	KT_EXPECT(decode(P32, (u8[]){ 0xe4, 0x71 }, 2, &v) == 0 && v.vie_in &&
	    v.vie_port_imm && v.vie_port == 0x71 && v.vie_opsize == 1,
	    "in al,0x71: in %d imm %d port 0x%x", v.vie_in, v.vie_port_imm,
	    v.vie_port);
	KT_EXPECT(decode(R16, (u8[]){ 0xe7, 0xf0 }, 2, &v) == 0 && !v.vie_in &&
	    v.vie_port_imm && v.vie_port == 0xf0 && v.vie_opsize == 2,
	    "out 0xf0,ax: in %d port 0x%x opsize %u", v.vie_in, v.vie_port,
	    v.vie_opsize);
	KT_EXPECT(decode(P32, (u8[]){ 0xef }, 1, &v) == 0 && !v.vie_in &&
	    !v.vie_port_imm && v.vie_opsize == 4, "out dx,eax: imm %d",
	    v.vie_port_imm);
	KT_EXPECT(decode(P32, (u8[]){ 0x6d }, 1, &v) == 0 && v.vie_in &&
	    !v.vie_port_imm, "insd: in %d", v.vie_in);
	KT_EXPECT(strcmp(vie_op_name(VIE_OP_VMPTRST), "vmptrst") == 0 &&
	    strcmp(vie_op_name(VIE_OP_COUNT), "?") == 0,
	    "op names: %s", vie_op_name(VIE_OP_VMPTRST));
}

/* --- string I/O on a fake guest --- */

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
