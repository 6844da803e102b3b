/*
 * The instruction decoder both backends share (vmm_decode.h); the
 * emulation on top of it is in vmm_emul.c. The decoder knows only the
 * instructions a hypervisor meets at exits; it measures them (prefixes,
 * REX, ModRM, SIB, displacement, immediate) so a backend without NRIP can
 * step over them, and names the operands string I/O and MMIO emulation
 * need (the forms compilers emit for device registers: MOV, MOVZX/MOVSX,
 * the ALU ops, XCHG, BT*, the string moves). References: SDM vol. 2, ch. 2
 * (encoding) and the instruction pages; APM vol. 3 for the SVM ones.
 */
#include "vmm_decode.h"

/* The bytes being decoded and how far we got. */
struct cursor {
	const u8 *c_bytes;
	size_t c_n;
	size_t c_pos;
};

static int
fetch(struct cursor *c, u8 *b)
{
	/*
	 * The limit comes first: 15 bytes of prefixes are an error however
	 * many bytes the caller has, but a short buffer below it only means
	 * the caller should fetch more.
	 */
	if (c->c_pos >= VIE_MAX_LEN)
		return (VIE_ETOOLONG);
	if (c->c_pos >= c->c_n)
		return (VIE_ENEEDMORE);
	*b = c->c_bytes[c->c_pos++];
	return (0);
}

/* A little-endian displacement or immediate of bytes, sign-extended. */
static int
fetch_signed(struct cursor *c, int bytes, i64 *val)
{
	u64 v = 0;
	int err;

	for (int i = 0; i < bytes; i++) {
		u8 b;

		if ((err = fetch(c, &b)) != 0)
			return (err);
		v |= (u64)b << (8 * i);
	}
	if (bytes > 0 && bytes < 8 && (v & (1ULL << (8 * bytes - 1))))
		v |= ~0ULL << (8 * bytes);
	*val = (i64)v;
	return (0);
}

#define	REX_W	0x08
#define	REX_R	0x04
#define	REX_X	0x02
#define	REX_B	0x01

/*
 * ModRM, and when it addresses memory the SIB and displacement. memory:
 * the opcode takes a memory operand through it; MOV DR does not (its mod
 * bits are ignored, the rm field is always a register), and neither do
 * the 0F 01 forms, where the whole byte is part of the opcode.
 */
static int
decode_modrm(struct cursor *c, struct vie *vie, bool memory)
{
	u8 m, rex = vie->vie_rex;
	int disp = 0, err;

	if ((err = fetch(c, &m)) != 0)
		return (err);
	vie->vie_has_modrm = true;
	vie->vie_mod = m >> 6;
	vie->vie_reg = ((m >> 3) & 7) | ((rex & REX_R) ? 8 : 0);
	vie->vie_rm = m & 7;
	if (!memory || vie->vie_mod == 3) {
		vie->vie_rm |= (rex & REX_B) ? 8 : 0;
		return (0);
	}
	if (vie->vie_addrsize == 2) {
		/* 16-bit forms have no SIB; rm 6 with mod 0 is a bare disp16 */
		if (vie->vie_mod == 0 && vie->vie_rm == 6)
			disp = 2;
		else if (vie->vie_mod == 1)
			disp = 1;
		else if (vie->vie_mod == 2)
			disp = 2;
	} else {
		if (vie->vie_rm == 4) {
			u8 s;

			if ((err = fetch(c, &s)) != 0)
				return (err);
			vie->vie_has_sib = true;
			vie->vie_scale = 1 << (s >> 6);
			vie->vie_index = ((s >> 3) & 7) |
			    ((rex & REX_X) ? 8 : 0);
			vie->vie_base = (s & 7) | ((rex & REX_B) ? 8 : 0);
			/* base 5 (either REX.B) with mod 0: disp32, no base */
			if ((s & 7) == 5 && vie->vie_mod == 0)
				disp = 4;
		} else if (vie->vie_mod == 0 && vie->vie_rm == 5) {
			/* disp32; in 64-bit mode relative to the next RIP */
			disp = 4;
			vie->vie_riprel = vie->vie_mode == VIE_MODE_LONG64;
		}
		vie->vie_rm |= (rex & REX_B) ? 8 : 0;
		if (vie->vie_mod == 1)
			disp = 1;
		else if (vie->vie_mod == 2)
			disp = 4;
	}
	vie->vie_disp_bytes = disp;
	return (fetch_signed(c, disp, &vie->vie_disp));
}

/* 0F 01 with mod 3: the ModRM byte is part of the opcode. */
static enum vie_op
decode_0f01(u8 m)
{
	switch (m) {
	case 0xc1: return (VIE_OP_VMCALL);
	case 0xc2: return (VIE_OP_VMLAUNCH);
	case 0xc3: return (VIE_OP_VMRESUME);
	case 0xc4: return (VIE_OP_VMXOFF);
	case 0xc8: return (VIE_OP_MONITOR);
	case 0xc9: return (VIE_OP_MWAIT);
	case 0xd1: return (VIE_OP_XSETBV);
	case 0xd4: return (VIE_OP_VMFUNC);
	case 0xd8: return (VIE_OP_VMRUN);
	case 0xd9: return (VIE_OP_VMMCALL);
	case 0xda: return (VIE_OP_VMLOAD);
	case 0xdb: return (VIE_OP_VMSAVE);
	case 0xdc: return (VIE_OP_STGI);
	case 0xdd: return (VIE_OP_CLGI);
	case 0xde: return (VIE_OP_SKINIT);
	case 0xdf: return (VIE_OP_INVLPGA);
	case 0xf9: return (VIE_OP_RDTSCP);
	default: return (VIE_OP_NONE);
	}
}

/* The immediate of an MMIO form; "z" sizes (81, C7, F7) stop at 4. */
static int
decode_imm(struct cursor *c, struct vie *vie, int bytes)
{
	vie->vie_imm_bytes = bytes;
	return (fetch_signed(c, bytes, &vie->vie_imm));
}

static int
imm_z(const struct vie *vie)
{
	return (vie->vie_opsize == 2 ? 2 : 4);
}

/*
 * 0F A3/AB/B3/BB (BT, BTS, BTR, BTC r/m, r), 0F BA /4-7 (the same with
 * imm8), 0F B6/B7 (MOVZX) and 0F BE/BF (MOVSX). With F2/F3 some of these
 * bytes are other instructions (F3 0F BC is TZCNT), so none is taken.
 */
static int
decode_0f_mmio(struct cursor *c, struct vie *vie, u8 b)
{
	static const enum vie_op bt_ops[4] = { VIE_OP_BT, VIE_OP_BTS,
	    VIE_OP_BTR, VIE_OP_BTC };
	int err;

	if (vie->vie_repeat_prefix != 0)
		return (VIE_EUNKNOWN);
	if ((err = decode_modrm(c, vie, true)) != 0)
		return (err);
	vie->vie_memsize = vie->vie_opsize;
	switch (b) {
	case 0xba:
		if ((vie->vie_reg & 7) < 4)
			return (VIE_EUNKNOWN);
		vie->vie_op = bt_ops[(vie->vie_reg & 7) - 4];
		vie->vie_form = VIE_FORM_RM_IMM;
		return (decode_imm(c, vie, 1));
	case 0xb6: case 0xb7: case 0xbe: case 0xbf:
		vie->vie_op = b < 0xbe ? VIE_OP_MOVZX : VIE_OP_MOVSX;
		vie->vie_form = VIE_FORM_REG_RM;
		vie->vie_memsize = (b & 1) ? 2 : 1;
		return (0);
	default:
		/* A3, AB, B3, BB: bits 3-4 pick BT, BTS, BTR, BTC */
		vie->vie_op = bt_ops[(b >> 3) & 3];
		vie->vie_form = VIE_FORM_RM_REG;
		return (0);
	}
}

/* Two-byte opcodes (after 0F). */
static int
decode_0f(struct cursor *c, struct vie *vie)
{
	u8 b, m;
	u8 rep = vie->vie_repeat_prefix;
	/* VMX operands and DR moves are 64-bit in 64-bit mode, else 32 */
	u8 natural = vie->vie_mode == VIE_MODE_LONG64 ? 8 : 4;
	int err;

	if ((err = fetch(c, &b)) != 0)
		return (err);
	switch (b) {
	case 0x01:
		/*
		 * With F2/F3 these bytes are other instructions (F3 0F 01 E8
		 * SETSSBSY and the like), so they are not taken for ours.
		 */
		if ((err = fetch(c, &m)) != 0)
			return (err);
		if (rep != 0)
			return (VIE_EUNKNOWN);
		if ((m & 0xf8) == 0xf0) {	/* LMSW r16 (mod 3, /6) */
			vie->vie_op = VIE_OP_LMSW;
			vie->vie_rm = (m & 7) | ((vie->vie_rex & REX_B) ? 8 : 0);
			return (0);
		}
		vie->vie_op = decode_0f01(m);
		return (vie->vie_op == VIE_OP_NONE ? VIE_EUNKNOWN : 0);
	case 0x08:
		vie->vie_op = VIE_OP_INVD;
		return (0);
	case 0x09:
		/* F3 makes it WBNOINVD, which VMX exits on as WBINVD */
		vie->vie_op = rep == 0xf3 ? VIE_OP_WBNOINVD : VIE_OP_WBINVD;
		return (0);
	case 0x20:
	case 0x22:
		/* MOV CR: REX.R reaches CR8 (the TPR) */
		vie->vie_op = b == 0x20 ? VIE_OP_MOV_FROM_CR : VIE_OP_MOV_TO_CR;
		vie->vie_opsize = natural;
		return (decode_modrm(c, vie, false));
	case 0x21:
	case 0x23:
		vie->vie_op = b == 0x21 ? VIE_OP_MOV_FROM_DR : VIE_OP_MOV_TO_DR;
		vie->vie_opsize = natural;
		if ((err = decode_modrm(c, vie, false)) != 0)
			return (err);
		/* there is no DR8-15: REX.R is #UD */
		return (vie->vie_reg > 7 ? VIE_EUD : 0);
	case 0x30:
		vie->vie_op = VIE_OP_WRMSR;
		return (0);
	case 0x31:
		vie->vie_op = VIE_OP_RDTSC;
		return (0);
	case 0x32:
		vie->vie_op = VIE_OP_RDMSR;
		return (0);
	case 0x33:
		vie->vie_op = VIE_OP_RDPMC;
		return (0);
	case 0xa2:
		vie->vie_op = VIE_OP_CPUID;
		return (0);
	case 0xa3: case 0xab: case 0xb3: case 0xbb:
	case 0xb6: case 0xb7: case 0xbe: case 0xbf:
	case 0xba:
		return (decode_0f_mmio(c, vie, b));
	case 0x38:
		/* 66 0F 38 80/81: INVEPT/INVVPID r, m128; other maps unknown */
		if ((err = fetch(c, &m)) != 0)
			return (err);
		if ((m != 0x80 && m != 0x81) || !vie->vie_opsize_prefix ||
		    rep != 0)
			return (VIE_EUNKNOWN);
		vie->vie_op = m == 0x80 ? VIE_OP_INVEPT : VIE_OP_INVVPID;
		vie->vie_opsize = natural;
		if ((err = decode_modrm(c, vie, true)) != 0)
			return (err);
		return (vie->vie_mod == 3 ? VIE_EUD : 0);
	case 0x78:
	case 0x79:
		/* with 66 or F2 these are SSE4a's EXTRQ/INSERTQ */
		if (vie->vie_opsize_prefix || rep != 0)
			return (VIE_EUNKNOWN);
		vie->vie_op = b == 0x78 ? VIE_OP_VMREAD : VIE_OP_VMWRITE;
		vie->vie_opsize = natural;
		return (decode_modrm(c, vie, true));
	case 0xc7:
		/*
		 * Group 9 with a memory operand; the register forms of /6 and
		 * /7 are RDRAND, RDSEED and RDPID. The mandatory prefix: F3
		 * VMXON, 66 VMCLEAR, none VMPTRLD (/6) or VMPTRST (/7).
		 */
		if ((err = decode_modrm(c, vie, true)) != 0)
			return (err);
		if (vie->vie_mod == 3)
			return (VIE_EUNKNOWN);
		if ((vie->vie_reg & 7) == 6) {
			if (rep == 0xf3)
				vie->vie_op = VIE_OP_VMXON;
			else if (rep == 0xf2)
				return (VIE_EUNKNOWN);
			else if (vie->vie_opsize_prefix)
				vie->vie_op = VIE_OP_VMCLEAR;
			else
				vie->vie_op = VIE_OP_VMPTRLD;
		} else if ((vie->vie_reg & 7) == 7 && rep == 0 &&
		    !vie->vie_opsize_prefix) {
			vie->vie_op = VIE_OP_VMPTRST;
		} else {
			return (VIE_EUNKNOWN);
		}
		/* the operand is a 64-bit physical address in memory */
		vie->vie_opsize = 8;
		return (0);
	default:
		return (VIE_EUNKNOWN);
	}
}

/* Port I/O: INS/OUTS (6C-6F), IN/OUT imm8 (E4-E7), IN/OUT DX (EC-EF). */
static int
decode_io(struct cursor *c, struct vie *vie, u8 b)
{
	i64 imm;
	int err;

	/*
	 * Bit 0 picks byte or full size; full is 16 or 32 bits (66
	 * toggles), never 64: REX.W does not widen port I/O.
	 */
	if ((b & 1) == 0)
		vie->vie_opsize = 1;
	else if (vie->vie_opsize == 8)
		vie->vie_opsize = 4;
	if (b <= 0x6f) {
		vie->vie_in = b <= 0x6d;
		vie->vie_op = vie->vie_in ? VIE_OP_INS : VIE_OP_OUTS;
		/* both F2 and F3 repeat INS/OUTS (no flags to compare) */
		vie->vie_rep = vie->vie_repeat_prefix != 0;
		if (vie->vie_in) {
			vie->vie_seg = VIE_SEG_ES;
			vie->vie_seg_override = false;
		}
		return (0);
	}
	vie->vie_in = (b & 2) == 0;
	vie->vie_op = vie->vie_in ? VIE_OP_IN : VIE_OP_OUT;
	if (b >= 0xec)
		return (0);
	if ((err = fetch_signed(c, 1, &imm)) != 0)
		return (err);
	vie->vie_port_imm = true;
	vie->vie_port = (u8)imm;
	return (0);
}

/*
 * The one-byte opcodes that may touch memory, as compilers emit them for
 * device registers: MOV (88-8B, A0-A3, C6/C7 /0), the ALU ops with a
 * register or an immediate (00-3B, group 1 80/81/83, TEST 84/85 and F6/F7
 * /0, NOT and NEG F6/F7 /2-3), XCHG 86/87, MOVSXD 63 (64-bit mode; it is
 * ARPL elsewhere) and the string moves MOVS, STOS, LODS (A4-A5, AA-AD).
 * In each of them bit 0 clear means a byte operand.
 */
static int
decode_mmio(struct cursor *c, struct vie *vie, u8 b)
{
	static const enum vie_op alu_ops[8] = { VIE_OP_ADD, VIE_OP_OR,
	    VIE_OP_ADC, VIE_OP_SBB, VIE_OP_AND, VIE_OP_SUB, VIE_OP_XOR,
	    VIE_OP_CMP };
	int imm = 0, err;
	bool modrm = true;

	if ((b & 1) == 0)
		vie->vie_opsize = 1;
	if (b < 0x40 && (b & 7) < 4) {
		/* 00-03 ADD ... 38-3B CMP; bit 1: the register is the dest */
		vie->vie_op = alu_ops[b >> 3];
		vie->vie_form = (b & 2) ? VIE_FORM_REG_RM : VIE_FORM_RM_REG;
	} else if (b >= 0xa0 && b <= 0xa3) {
		/* MOV AL/rAX <-> moffs: an address of the address size */
		i64 a;

		vie->vie_op = VIE_OP_MOV;
		vie->vie_form = b < 0xa2 ? VIE_FORM_REG_RM : VIE_FORM_RM_REG;
		vie->vie_moffs = true;
		vie->vie_memsize = vie->vie_opsize;
		if ((err = fetch_signed(c, vie->vie_addrsize, &a)) != 0)
			return (err);
		vie->vie_disp_bytes = vie->vie_addrsize;
		vie->vie_disp = vie->vie_addrsize == 8 ? a :
		    (i64)((u64)a & ((1ULL << (8 * vie->vie_addrsize)) - 1));
		return (0);
	} else {
		switch (b) {
		case 0x63:
			if (vie->vie_mode != VIE_MODE_LONG64)
				return (VIE_EUNKNOWN);
			vie->vie_op = VIE_OP_MOVSXD;
			vie->vie_form = VIE_FORM_REG_RM;
			break;
		case 0x80: case 0x81: case 0x83:
			/* the op comes from the reg field, below */
			vie->vie_form = VIE_FORM_RM_IMM;
			imm = b == 0x81 ? imm_z(vie) : 1;
			break;
		case 0x84: case 0x85:
			vie->vie_op = VIE_OP_TEST;
			vie->vie_form = VIE_FORM_RM_REG;
			break;
		case 0x86: case 0x87:
			vie->vie_op = VIE_OP_XCHG;
			vie->vie_form = VIE_FORM_RM_REG;
			break;
		case 0x88: case 0x89: case 0x8a: case 0x8b:
			vie->vie_op = VIE_OP_MOV;
			vie->vie_form = (b & 2) ? VIE_FORM_REG_RM :
			    VIE_FORM_RM_REG;
			break;
		case 0xa4: case 0xa5: case 0xaa: case 0xab: case 0xac:
		case 0xad:
			vie->vie_op = b < 0xaa ? VIE_OP_MOVS : b < 0xac ?
			    VIE_OP_STOS : VIE_OP_LODS;
			vie->vie_form = VIE_FORM_STRING;
			/* F2 repeats them as F3 does (no flags to compare) */
			vie->vie_rep = vie->vie_repeat_prefix != 0;
			if (vie->vie_op == VIE_OP_STOS) {
				/* STOS writes ES:rDI whatever the prefixes */
				vie->vie_seg = VIE_SEG_ES;
				vie->vie_seg_override = false;
			}
			modrm = false;
			break;
		case 0xc6: case 0xc7:
			vie->vie_op = VIE_OP_MOV;
			vie->vie_form = VIE_FORM_RM_IMM;
			imm = b == 0xc7 ? imm_z(vie) : 1;
			break;
		case 0xf6: case 0xf7:
			/* /0 TEST imm (the others have none), /2 NOT, /3 NEG */
			break;
		default:
			return (VIE_EUNKNOWN);
		}
	}
	/* the memory operand: MOVSXD reads 32 bits unless 66 makes 16 */
	vie->vie_memsize = b == 0x63 && vie->vie_opsize == 8 ? 4 :
	    vie->vie_opsize;
	if (!modrm)
		return (0);
	if ((err = decode_modrm(c, vie, true)) != 0)
		return (err);
	switch (b) {
	case 0x80: case 0x81: case 0x83:
		vie->vie_op = alu_ops[vie->vie_reg & 7];
		break;
	case 0xc6: case 0xc7:
		/* C6/C7 F8 are XABORT/XBEGIN, the other /n undefined */
		if ((vie->vie_reg & 7) != 0)
			return (VIE_EUNKNOWN);
		break;
	case 0xf6: case 0xf7:
		switch (vie->vie_reg & 7) {
		case 0:
			vie->vie_op = VIE_OP_TEST;
			vie->vie_form = VIE_FORM_RM_IMM;
			imm = b == 0xf7 ? imm_z(vie) : 1;
			break;
		case 2:
		case 3:
			vie->vie_op = (vie->vie_reg & 7) == 2 ? VIE_OP_NOT :
			    VIE_OP_NEG;
			vie->vie_form = VIE_FORM_RM;
			break;
		default:
			return (VIE_EUNKNOWN);	/* MUL, DIV and the like */
		}
		break;
	}
	return (decode_imm(c, vie, imm));
}

/*
 * LOCK is allowed on a read-modify-write of memory only; on anything else
 * (MOV, CMP, TEST, BT, a register destination) it is #UD.
 */
static bool
lock_allowed(const struct vie *vie)
{
	switch (vie->vie_op) {
	case VIE_OP_ADD: case VIE_OP_OR: case VIE_OP_ADC: case VIE_OP_SBB:
	case VIE_OP_AND: case VIE_OP_SUB: case VIE_OP_XOR: case VIE_OP_NOT:
	case VIE_OP_NEG: case VIE_OP_XCHG: case VIE_OP_BTS: case VIE_OP_BTR:
	case VIE_OP_BTC:
		return (vie->vie_form != VIE_FORM_REG_RM && vie->vie_mod != 3);
	default:
		return (false);
	}
}

int
vie_decode(const u8 *bytes, size_t n, enum vie_cpu_mode mode, bool cs_d,
    struct vie *vie)
{
	struct cursor c = { bytes, n, 0 };
	bool lock = false, wide;
	int seg = -1, err;
	u8 b;

	if (vie == NULL || (bytes == NULL && n > 0) ||
	    (mode != VIE_MODE_REAL && mode != VIE_MODE_PROT &&
	    mode != VIE_MODE_LONG64))
		return (VIE_EINVAL);
	memset(vie, 0, sizeof (*vie));
	vie->vie_mode = mode;

	for (;;) {
		if ((err = fetch(&c, &b)) != 0)
			return (err);
		switch (b) {
		case 0x66:
			vie->vie_opsize_prefix = true;
			break;
		case 0x67:
			vie->vie_addrsize_prefix = true;
			break;
		case 0xf2:
		case 0xf3:
			vie->vie_repeat_prefix = b;
			break;
		case 0xf0:
			lock = true;
			break;
		case 0x26: seg = VIE_SEG_ES; break;
		case 0x2e: seg = VIE_SEG_CS; break;
		case 0x36: seg = VIE_SEG_SS; break;
		case 0x3e: seg = VIE_SEG_DS; break;
		case 0x64: seg = VIE_SEG_FS; break;
		case 0x65: seg = VIE_SEG_GS; break;
		default:
			if (mode == VIE_MODE_LONG64 && (b & 0xf0) == 0x40) {
				vie->vie_rex = b;
				continue;
			}
			goto opcode;
		}
		/* REX counts only right before the opcode */
		vie->vie_rex = 0;
	}
opcode:
	/* 32-bit defaults: 64-bit mode, or a protected-mode CS with D set */
	wide = mode == VIE_MODE_LONG64 || (mode == VIE_MODE_PROT && cs_d);
	if (vie->vie_rex & REX_W)
		vie->vie_opsize = 8;
	else
		vie->vie_opsize = (wide != vie->vie_opsize_prefix) ? 4 : 2;
	if (mode == VIE_MODE_LONG64)
		vie->vie_addrsize = vie->vie_addrsize_prefix ? 4 : 8;
	else
		vie->vie_addrsize = (wide != vie->vie_addrsize_prefix) ? 4 : 2;
	/* 64-bit mode ignores CS/DS/ES/SS overrides: their bases are 0 */
	vie->vie_seg = VIE_SEG_DS;
	if (seg >= 0 && (mode != VIE_MODE_LONG64 || seg == VIE_SEG_FS ||
	    seg == VIE_SEG_GS)) {
		vie->vie_seg = seg;
		vie->vie_seg_override = true;
	}

	switch (b) {
	case 0x6c: case 0x6d: case 0x6e: case 0x6f:
	case 0xe4: case 0xe5: case 0xe6: case 0xe7:
	case 0xec: case 0xed: case 0xee: case 0xef:
		err = decode_io(&c, vie, b);
		break;
	case 0xf4:
		vie->vie_op = VIE_OP_HLT;
		err = 0;
		break;
	case 0x0f:
		err = decode_0f(&c, vie);
		break;
	default:
		err = decode_mmio(&c, vie, b);
		break;
	}
	if (err != 0)
		return (err);
	if (lock && !lock_allowed(vie))
		return (VIE_EUD);
	vie->vie_lock = lock;
	vie->vie_len = c.c_pos;
	return (0);
}

const char *
vie_op_name(enum vie_op op)
{
	static const char *const names[] = {
		[VIE_OP_NONE] = "?",
#define	VIE_OP_NAME(id, name)	[VIE_OP_##id] = name,
		VIE_OPS(VIE_OP_NAME)
#undef VIE_OP_NAME
	};

	if ((unsigned)op >= ARRAY_SIZE(names))
		return ("?");
	return (names[op]);
}
