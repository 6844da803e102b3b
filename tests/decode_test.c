/*
 * Suite "decode": the shared instruction decoder of kern/vmm/vmm_decode.c
 * on byte arrays, with no VM and no backend (string port I/O on a fake
 * guest: tests/decode_string_test.c).
 */
#include "ktest.h"
#include "../kern/kmem.h"
#include "../kern/vmm/vmm_decode.h"
#include "decode_test.h"

/* --- decoding tables --- */


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
	KT_EXPECT(decode(L64, (u8[]){ 0x44, 0x0f, 0x22, 0xc1 }, 4, &v) == 0 &&
	    v.vie_op == VIE_OP_MOV_TO_CR && v.vie_reg == 8 && v.vie_rm == 1 &&
	    v.vie_len == 4, "mov cr8,rcx: op %d reg %u rm %u len %u",
	    v.vie_op, v.vie_reg, v.vie_rm, v.vie_len);
	KT_EXPECT(decode(L64, (u8[]){ 0x4c, 0x0f, 0x20, 0xc7 }, 4, &v) == 0 &&
	    v.vie_op == VIE_OP_MOV_FROM_CR && v.vie_reg == 8 && v.vie_rm == 7,
	    "mov rdi,cr8: op %d reg %u rm %u", v.vie_op, v.vie_reg, v.vie_rm);
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
