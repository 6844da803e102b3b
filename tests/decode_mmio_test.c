/*
 * Suite "decode": the MMIO forms of vie_decode (MOV, MOVZX/MOVSX/MOVSXD,
 * the ALU ops, XCHG, BT*, the string moves) on byte arrays: length,
 * opcode, operand form, operand and memory sizes, register, immediate.
 * Their emulation on a fake device: tests/mmio_emul_test.c.
 */
#include "ktest.h"
#include "decode_test.h"

struct mmcase {
	const char *mm_what;
	enum env mm_env;
	u8 mm_bytes[16];
	u8 mm_n;
	enum vie_op mm_op;
	u8 mm_len;
	enum vie_form mm_form;
	u8 mm_opsize, mm_memsize;
	u8 mm_reg;		/* vie_reg (REX.R included) */
	i64 mm_imm;
	u8 mm_imm_bytes;
};

#define	BYTES(...)	{ __VA_ARGS__ }, sizeof ((u8[]){ __VA_ARGS__ })
#define	MM(what, env, op, len, form, osz, msz, reg, imm, immb, ...)	\
	{ what, env, BYTES(__VA_ARGS__), VIE_OP_##op, len,		\
	    VIE_FORM_##form, osz, msz, reg, imm, immb }

static const struct mmcase forms[] = {
	/* MOV in each mode and size; modrm rm 7 is [bx] or [edi]/[rdi] */
	MM("mov [edi],eax", P32, MOV, 2, RM_REG, 4, 4, 0, 0, 0, 0x89, 0x07),
	MM("mov [bx],ax", R16, MOV, 2, RM_REG, 2, 2, 0, 0, 0, 0x89, 0x07),
	MM("mov [bx],eax", R16, MOV, 3, RM_REG, 4, 4, 0, 0, 0, 0x66, 0x89,
	    0x07),
	MM("mov [edi],ax", P32, MOV, 3, RM_REG, 2, 2, 0, 0, 0, 0x66, 0x89,
	    0x07),
	MM("mov [rdi],rax", L64, MOV, 3, RM_REG, 8, 8, 0, 0, 0, 0x48, 0x89,
	    0x07),
	MM("mov [rdi],r9d", L64, MOV, 3, RM_REG, 4, 4, 9, 0, 0, 0x44, 0x89,
	    0x0f),
	MM("mov [rdi],bh", L64, MOV, 2, RM_REG, 1, 1, 7, 0, 0, 0x88, 0x3f),
	MM("mov [rdi],dil", L64, MOV, 3, RM_REG, 1, 1, 7, 0, 0, 0x40, 0x88,
	    0x3f),
	MM("mov cl,[rdi]", L64, MOV, 2, REG_RM, 1, 1, 1, 0, 0, 0x8a, 0x0f),
	MM("mov ecx,[rdi+0x300]", L64, MOV, 6, REG_RM, 4, 4, 1, 0, 0, 0x8b,
	    0x8f, 0x00, 0x03, 0, 0),
	MM("mov eax,[0xfee000b0]", P32, MOV, 5, REG_RM, 4, 4, 0, 0, 0, 0xa1,
	    0xb0, 0x00, 0xe0, 0xfe),
	MM("mov [moffs64],al", L64, MOV, 9, RM_REG, 1, 1, 0, 0, 0, 0xa2,
	    0xb0, 0x00, 0xe0, 0xfe, 0, 0, 0, 0),
	MM("67 mov rax,[moffs32]", L64, MOV, 7, REG_RM, 8, 8, 0, 0, 0, 0x67,
	    0x48, 0xa1, 0xb0, 0x00, 0xe0, 0xfe),
	MM("mov ax,[moffs16]", R16, MOV, 3, REG_RM, 2, 2, 0, 0, 0, 0xa1,
	    0x34, 0x12),
	MM("mov byte [edi],0x80", P32, MOV, 3, RM_IMM, 1, 1, 0, -0x80, 1,
	    0xc6, 0x07, 0x80),
	MM("mov dword [rip+8],-2", L64, MOV, 10, RM_IMM, 4, 4, 0, -2, 4,
	    0xc7, 0x05, 8, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff),
	MM("mov qword [rdi],-1", L64, MOV, 7, RM_IMM, 8, 8, 0, -1, 4, 0x48,
	    0xc7, 0x07, 0xff, 0xff, 0xff, 0xff),
	MM("mov word [bx],0x1234", R16, MOV, 4, RM_IMM, 2, 2, 0, 0x1234, 2,
	    0xc7, 0x07, 0x34, 0x12),
	/* zero and sign extension */
	MM("movzx eax,byte [edi]", P32, MOVZX, 3, REG_RM, 4, 1, 0, 0, 0,
	    0x0f, 0xb6, 0x07),
	MM("movzx r8,word [rdi]", L64, MOVZX, 4, REG_RM, 8, 2, 8, 0, 0,
	    0x4c, 0x0f, 0xb7, 0x07),
	MM("movsx ax,byte [bx]", R16, MOVSX, 3, REG_RM, 2, 1, 0, 0, 0,
	    0x0f, 0xbe, 0x07),
	MM("movsx ecx,word [edi]", P32, MOVSX, 3, REG_RM, 4, 2, 1, 0, 0,
	    0x0f, 0xbf, 0x0f),
	MM("movsxd rax,[rdi]", L64, MOVSXD, 3, REG_RM, 8, 4, 0, 0, 0, 0x48,
	    0x63, 0x07),
	MM("66 movsxd ax,[rdi]", L64, MOVSXD, 3, REG_RM, 2, 2, 0, 0, 0,
	    0x66, 0x63, 0x07),
	/* the ALU ops, both directions, group 1 and its immediates */
	MM("add [edi],al", P32, ADD, 2, RM_REG, 1, 1, 0, 0, 0, 0x00, 0x07),
	MM("or edx,[edi]", P32, OR, 2, REG_RM, 4, 4, 2, 0, 0, 0x0b, 0x17),
	MM("adc [edi],ecx", P32, ADC, 2, RM_REG, 4, 4, 1, 0, 0, 0x11, 0x0f),
	MM("sbb bl,[edi]", P32, SBB, 2, REG_RM, 1, 1, 3, 0, 0, 0x1a, 0x1f),
	MM("and [rdi],r15", L64, AND, 3, RM_REG, 8, 8, 15, 0, 0, 0x4c, 0x21,
	    0x3f),
	MM("sub [edi],eax", P32, SUB, 2, RM_REG, 4, 4, 0, 0, 0, 0x29, 0x07),
	MM("xor ax,[bx]", R16, XOR, 2, REG_RM, 2, 2, 0, 0, 0, 0x33, 0x07),
	MM("cmp [edi],eax", P32, CMP, 2, RM_REG, 4, 4, 0, 0, 0, 0x39, 0x07),
	MM("cmp al,[edi]", P32, CMP, 2, REG_RM, 1, 1, 0, 0, 0, 0x3a, 0x07),
	MM("add byte [edi],0xff", P32, ADD, 3, RM_IMM, 1, 1, 0, -1, 1, 0x80,
	    0x07, 0xff),
	MM("or dword [edi],0x100", P32, OR, 6, RM_IMM, 4, 4, 1, 0x100, 4,
	    0x81, 0x0f, 0x00, 0x01, 0, 0),
	MM("and word [bx],0x8000", R16, AND, 4, RM_IMM, 2, 2, 4, -0x8000, 2,
	    0x81, 0x27, 0x00, 0x80),
	MM("and qword [rdi],-2", L64, AND, 4, RM_IMM, 8, 8, 4, -2, 1, 0x48,
	    0x83, 0x27, 0xfe),
	MM("cmp dword [edi],-1", P32, CMP, 3, RM_IMM, 4, 4, 7, -1, 1, 0x83,
	    0x3f, 0xff),
	MM("test [edi],eax", P32, TEST, 2, RM_REG, 4, 4, 0, 0, 0, 0x85, 0x07),
	MM("test byte [edi],1", P32, TEST, 3, RM_IMM, 1, 1, 0, 1, 1, 0xf6,
	    0x07, 0x01),
	MM("test dword [edi],..", P32, TEST, 6, RM_IMM, 4, 4, 0, 0x80000000L -
	    0x100000000L, 4, 0xf7, 0x07, 0, 0, 0, 0x80),
	MM("not dword [edi]", P32, NOT, 2, RM, 4, 4, 2, 0, 0, 0xf7, 0x17),
	MM("neg byte [edi]", P32, NEG, 2, RM, 1, 1, 3, 0, 0, 0xf6, 0x1f),
	MM("lock or [edi],eax", P32, OR, 3, RM_REG, 4, 4, 0, 0, 0, 0xf0,
	    0x09, 0x07),
	MM("xchg [edi],esi", P32, XCHG, 2, RM_REG, 4, 4, 6, 0, 0, 0x87, 0x37),
	MM("xchg [rdi],sil", L64, XCHG, 3, RM_REG, 1, 1, 6, 0, 0, 0x40, 0x86,
	    0x37),
	/* bit tests */
	MM("bt [edi],eax", P32, BT, 3, RM_REG, 4, 4, 0, 0, 0, 0x0f, 0xa3,
	    0x07),
	MM("bts [edi],ecx", P32, BTS, 3, RM_REG, 4, 4, 1, 0, 0, 0x0f, 0xab,
	    0x0f),
	MM("btr [edi],ecx", P32, BTR, 3, RM_REG, 4, 4, 1, 0, 0, 0x0f, 0xb3,
	    0x0f),
	MM("btc [edi],ecx", P32, BTC, 3, RM_REG, 4, 4, 1, 0, 0, 0x0f, 0xbb,
	    0x0f),
	MM("bt dword [edi],31", P32, BT, 4, RM_IMM, 4, 4, 4, 31, 1, 0x0f,
	    0xba, 0x27, 0x1f),
	MM("btc word [bx],3", R16, BTC, 4, RM_IMM, 2, 2, 7, 3, 1, 0x0f, 0xba,
	    0x3f, 0x03),
	/* string moves (no ModRM) */
	MM("movsb", P32, MOVS, 1, STRING, 1, 1, 0, 0, 0, 0xa4),
	MM("rep movsq", L64, MOVS, 3, STRING, 8, 8, 0, 0, 0, 0xf3, 0x48,
	    0xa5),
	MM("rep stosd", P32, STOS, 2, STRING, 4, 4, 0, 0, 0, 0xf3, 0xab),
	MM("stosw", R16, STOS, 1, STRING, 2, 2, 0, 0, 0, 0xab),
	MM("lodsb", L64, LODS, 1, STRING, 1, 1, 0, 0, 0, 0xac),
	/* register forms decode too (their length), with rm a register */
	MM("mov eax,ecx", P32, MOV, 2, RM_REG, 4, 4, 1, 0, 0, 0x89, 0xc8),
};

KTEST(decode, mmio_forms)
{
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		const struct mmcase *c = &forms[i];
		struct vie v;
		int rc = decode(c->mm_env, c->mm_bytes, c->mm_n, &v);

		KT_EXPECT(rc == 0, "%s: rc %d", c->mm_what, rc);
		if (rc != 0)
			continue;
		KT_EXPECT(v.vie_op == c->mm_op && v.vie_len == c->mm_len &&
		    v.vie_form == c->mm_form, "%s: %s len %u form %d, want %s "
		    "%u %d", c->mm_what, vie_op_name(v.vie_op), v.vie_len,
		    v.vie_form, vie_op_name(c->mm_op), c->mm_len, c->mm_form);
		KT_EXPECT(v.vie_opsize == c->mm_opsize &&
		    v.vie_memsize == c->mm_memsize, "%s: sizes %u/%u, want "
		    "%u/%u", c->mm_what, v.vie_opsize, v.vie_memsize,
		    c->mm_opsize, c->mm_memsize);
		KT_EXPECT(c->mm_form == VIE_FORM_STRING || v.vie_moffs ||
		    v.vie_reg == c->mm_reg, "%s: reg %u, want %u", c->mm_what,
		    v.vie_reg, c->mm_reg);
		KT_EXPECT(v.vie_imm_bytes == c->mm_imm_bytes &&
		    v.vie_imm == c->mm_imm, "%s: imm %ld (%u bytes), want %ld "
		    "(%u)", c->mm_what, (long)v.vie_imm, v.vie_imm_bytes,
		    (long)c->mm_imm, c->mm_imm_bytes);
		/* every proper prefix of it asks for more */
		for (u8 n = 0; n < c->mm_n; n++) {
			rc = decode(c->mm_env, c->mm_bytes, n, &v);
			KT_EXPECT(rc == VIE_ENEEDMORE, "%s cut to %u bytes: rc "
			    "%d", c->mm_what, n, rc);
		}
	}
}

KTEST(decode, mmio_moffs_and_rep)
{
	struct vie v;

	/* moffs32 is an unsigned address, not a sign-extended disp */
	KT_ASSERT(decode(P32, (u8[]){ 0xa3, 0xb0, 0x00, 0xe0, 0xfe }, 5,
	    &v) == 0, "mov [moffs],eax");
	KT_EXPECT(v.vie_moffs && v.vie_disp == 0xfee000b0L &&
	    v.vie_disp_bytes == 4, "moffs 0x%lx (%u bytes)", (u64)v.vie_disp,
	    v.vie_disp_bytes);
	/* REP on the strings; STOS writes ES whatever the override says */
	KT_ASSERT(decode(P32, (u8[]){ 0x64, 0xf3, 0xaa }, 3, &v) == 0,
	    "fs rep stosb");
	KT_EXPECT(v.vie_rep && v.vie_seg == VIE_SEG_ES, "rep %d seg %d",
	    v.vie_rep, v.vie_seg);
	KT_ASSERT(decode(P32, (u8[]){ 0x64, 0xf2, 0xa4 }, 3, &v) == 0,
	    "fs repne movsb");
	KT_EXPECT(v.vie_rep && v.vie_seg == VIE_SEG_FS && v.vie_seg_override,
	    "movs source: rep %d seg %d", v.vie_rep, v.vie_seg);
	KT_ASSERT(decode(P32, (u8[]){ 0xa5 }, 1, &v) == 0, "movsd");
	KT_EXPECT(!v.vie_rep && v.vie_seg == VIE_SEG_DS, "rep %d seg %d",
	    v.vie_rep, v.vie_seg);
	/* LOCK is recorded where it is allowed */
	KT_ASSERT(decode(L64, (u8[]){ 0xf0, 0x48, 0x0f, 0xab, 0x07 }, 5,
	    &v) == 0, "lock bts");
	KT_EXPECT(v.vie_lock && v.vie_op == VIE_OP_BTS, "lock %d op %s",
	    v.vie_lock, vie_op_name(v.vie_op));
	/* REX alone (40) is recorded: it changes AH..BH to SPL..DIL */
	KT_ASSERT(decode(L64, (u8[]){ 0x40, 0x88, 0x27 }, 3, &v) == 0,
	    "mov [rdi],spl");
	KT_EXPECT(v.vie_rex == 0x40 && v.vie_reg == 4, "rex 0x%x reg %u",
	    v.vie_rex, v.vie_reg);
}

struct mmerr {
	const char *me_what;
	enum env me_env;
	u8 me_bytes[8];
	u8 me_n;
	int me_rc;
};

#define	ME(what, env, rc, ...)	{ what, env, BYTES(__VA_ARGS__), rc }

static const struct mmerr errors[] = {
	ME("arpl in 32-bit", P32, VIE_EUNKNOWN, 0x63, 0x07),
	ME("82 group 1 alias", P32, VIE_EUNKNOWN, 0x82, 0x07, 0x01),
	ME("c6 /1", P32, VIE_EUNKNOWN, 0xc6, 0x0f, 0x01),
	ME("xbegin", P32, VIE_EUNKNOWN, 0xc7, 0xf8, 0, 0, 0, 0),
	ME("mul [edi]", P32, VIE_EUNKNOWN, 0xf7, 0x27),
	ME("f6 /1", P32, VIE_EUNKNOWN, 0xf6, 0x0f, 0x01),
	ME("bt group /3", P32, VIE_EUNKNOWN, 0x0f, 0xba, 0x1f, 0x01),
	ME("tzcnt", P32, VIE_EUNKNOWN, 0xf3, 0x0f, 0xbc, 0x07),
	ME("f3 movzx", P32, VIE_EUNKNOWN, 0xf3, 0x0f, 0xb6, 0x07),
	ME("add al,imm8", P32, VIE_EUNKNOWN, 0x04, 0x01),
	ME("lea", P32, VIE_EUNKNOWN, 0x8d, 0x07),
	ME("cmpsb", P32, VIE_EUNKNOWN, 0xa6),
	ME("scasb", P32, VIE_EUNKNOWN, 0xae),
	ME("lock mov", P32, VIE_EUD, 0xf0, 0x89, 0x07),
	ME("lock cmp", P32, VIE_EUD, 0xf0, 0x39, 0x07),
	ME("lock test", P32, VIE_EUD, 0xf0, 0x85, 0x07),
	ME("lock bt", P32, VIE_EUD, 0xf0, 0x0f, 0xa3, 0x07),
	ME("lock add reg,[mem]", P32, VIE_EUD, 0xf0, 0x03, 0x07),
	ME("lock add reg,reg", P32, VIE_EUD, 0xf0, 0x01, 0xc0),
	ME("lock movsb", P32, VIE_EUD, 0xf0, 0xa4),
};

KTEST(decode, mmio_refused)
{
	for (size_t i = 0; i < ARRAY_SIZE(errors); i++) {
		struct vie v;
		int rc = decode(errors[i].me_env, errors[i].me_bytes,
		    errors[i].me_n, &v);

		KT_EXPECT(rc == errors[i].me_rc, "%s: rc %d, want %d",
		    errors[i].me_what, rc, errors[i].me_rc);
	}
}
