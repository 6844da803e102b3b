/*
 * The emulators on top of the shared decoder (vmm_decode.h), on callbacks
 * only, a leaf like the decoder: string port I/O (INS/OUTS with REP) and
 * the instructions that touch a device's page (MMIO), after the shape of
 * bhyve's vmm_instruction_emul.c: the decoded instruction, the faulting
 * guest-physical address and callbacks for registers and memory.
 * Scope and limits: docs/vmm.md, "Instruction decoder".
 */
#include "vmm_decode.h"
#include "../tunable.h"

#define	RFLAGS_DF	(1ULL << 10)

static u64
addr_mask(u8 addrsize)
{
	return (addrsize == 8 ? ~0ULL : (1ULL << (8 * addrsize)) - 1);
}

/*
 * A new value for an address-sized register: a 16-bit update keeps the
 * upper bits (SI wraps inside RSI), a 32-bit one zero-extends as every
 * 32-bit register write does in 64-bit mode.
 */
static u64
reg_update(u64 old, u64 val, u8 addrsize)
{
	if (addrsize == 2)
		return ((old & ~0xffffULL) | (val & 0xffff));
	return (val & addr_mask(addrsize));
}

static bool
canonical(u64 la)
{
	return ((u64)((i64)(la << 16) >> 16) == la);
}

/* #SS(0) for stack-segment accesses, #GP(0) for the others. */
static void
segment_fault(struct vie_fault *f, enum vie_seg seg)
{
	f->vf_vector = seg == VIE_SEG_SS ? VIE_VEC_SS : VIE_VEC_GP;
	f->vf_has_errcode = true;
	f->vf_errcode = 0;
}

/*
 * The linear address of a size-byte element at offset off (already cut to
 * the address size) in seg, after the checks the CPU makes: the segment
 * limit outside 64-bit mode (expand-up segments only), canonical form in
 * it. 0, VIE_IO_FAULT with *f filled, or VIE_ECALLBACK.
 */
static int
segment_linear(const struct vie *vie, enum vie_seg seg, u64 base,
    u32 limit, u64 off, u8 size, bool write, u64 *gla, struct vie_fault *f)
{
	if (vie->vie_mode == VIE_MODE_LONG64) {
		if (seg != VIE_SEG_FS && seg != VIE_SEG_GS)
			base = 0;
		*gla = base + off;
		if (!canonical(*gla) || !canonical(*gla + size - 1)) {
			segment_fault(f, seg);
			f->vf_gla = *gla;
			f->vf_write = write;
			return (VIE_IO_FAULT);
		}
		return (0);
	}
	if (off > limit || (u64)size - 1 > limit - off) {
		segment_fault(f, seg);
		f->vf_gla = (base + off) & 0xffffffffULL;
		f->vf_write = write;
		return (VIE_IO_FAULT);
	}
	/* outside 64-bit mode linear addresses wrap at 4 GiB */
	*gla = (base + off) & 0xffffffffULL;
	return (0);
}

static int
string_linear(const struct vie *vie, const struct vie_string_ops *ops,
    void *arg, enum vie_seg seg, u64 off, u8 size, u64 *gla,
    struct vie_fault *f)
{
	u64 base;
	u32 limit;

	if (ops->vso_segment(arg, seg, &base, &limit) != 0)
		return (VIE_ECALLBACK);
	return (segment_linear(vie, seg, base, limit, off, size, vie->vie_in,
	    gla, f));
}

/* Where one element lives: one part, or two when it crosses a page. */
struct element {
	int e_parts;
	u64 e_gpa[2];
	size_t e_len[2];
};

/*
 * Translate every page the element touches before any access, so a fault
 * on its second page leaves memory and the port untouched.
 */
typedef int (*translate_fn_t)(void *arg, u64 gla, size_t len, bool write,
    u64 *gpa, struct vie_fault *fault);

static int
string_translate(const struct vie *vie, translate_fn_t translate,
    void *arg, u64 gla, u8 size, bool write, struct element *e,
    struct vie_fault *f)
{
	u64 lamask = vie->vie_mode == VIE_MODE_LONG64 ? ~0ULL : 0xffffffffULL;
	size_t done = 0;

	e->e_parts = 0;
	while (done < size) {
		u64 la = (gla + done) & lamask;
		size_t len = MIN(size - done, PAGESIZE - (la & PAGEOFFSET));

		if (translate(arg, la, len, write, &e->e_gpa[e->e_parts],
		    f) != 0) {
			f->vf_gla = la;
			f->vf_write = write;
			return (VIE_IO_FAULT);
		}
		e->e_len[e->e_parts++] = len;
		done += len;
	}
	return (0);
}

static int
element_access(const struct vie_string_ops *ops, void *arg,
    const struct element *e, u8 *buf, bool write)
{
	size_t off = 0;

	for (int i = 0; i < e->e_parts; i++) {
		int err = write ?
		    ops->vso_write(arg, e->e_gpa[i], buf + off, e->e_len[i]) :
		    ops->vso_read(arg, e->e_gpa[i], buf + off, e->e_len[i]);

		if (err != 0)
			return (VIE_ECALLBACK);
		off += e->e_len[i];
	}
	return (0);
}

/*
 * One element: OUTS reads memory then writes the port; INS translates
 * first, reads the port, then writes memory, so a fault never swallows a
 * port read (a device's FIFO would lose a byte).
 */
static int
string_element(const struct vie *vie, const struct vie_string_ops *ops,
    void *arg, u16 port, u64 gla, struct vie_fault *f)
{
	struct element e;
	u8 size = vie->vie_opsize, buf[4] = { 0 };
	u32 val = 0;
	int err;

	if ((err = string_translate(vie, ops->vso_translate, arg, gla, size,
	    vie->vie_in, &e, f)) != 0)
		return (err);
	if (vie->vie_in) {
		if (ops->vso_port(arg, port, true, size, &val) != 0)
			return (VIE_ECALLBACK);
		for (int i = 0; i < size; i++)
			buf[i] = val >> (8 * i);
		return (element_access(ops, arg, &e, buf, true));
	}
	if ((err = element_access(ops, arg, &e, buf, false)) != 0)
		return (err);
	for (int i = 0; i < size; i++)
		val |= (u32)buf[i] << (8 * i);
	return (ops->vso_port(arg, port, false, size, &val) != 0 ?
	    VIE_ECALLBACK : 0);
}

int
vie_emulate_string_io(const struct vie *vie,
    const struct vie_string_ops *ops, void *arg)
{
	struct vie_fault f = { 0 };
	enum vie_reg idxreg;
	enum vie_seg seg;
	u64 rcx = 0, idx, rdx, rflags, count, amask, step;
	u8 asz;
	int rc = VIE_IO_AGAIN, done = 0;

	if (vie == NULL || ops == NULL ||
	    (vie->vie_op != VIE_OP_INS && vie->vie_op != VIE_OP_OUTS) ||
	    (vie->vie_opsize != 1 && vie->vie_opsize != 2 &&
	    vie->vie_opsize != 4))
		return (VIE_EINVAL);
	asz = vie->vie_addrsize;
	amask = addr_mask(asz);
	/* INS writes ES:rDI (no override), OUTS reads seg:rSI */
	idxreg = vie->vie_in ? VIE_REG_RDI : VIE_REG_RSI;
	seg = vie->vie_in ? VIE_SEG_ES : vie->vie_seg;
	if (ops->vso_getreg(arg, idxreg, &idx) != 0 ||
	    ops->vso_getreg(arg, VIE_REG_RDX, &rdx) != 0 ||
	    ops->vso_getreg(arg, VIE_REG_RFLAGS, &rflags) != 0 ||
	    (vie->vie_rep && ops->vso_getreg(arg, VIE_REG_RCX, &rcx) != 0))
		return (VIE_ECALLBACK);
	count = vie->vie_rep ? (rcx & amask) : 1;
	if (count == 0)
		return (VIE_IO_DONE);
	/* two's complement: adding -size under the mask steps down */
	step = (rflags & RFLAGS_DF) ? -(u64)vie->vie_opsize : vie->vie_opsize;

	while (done < VIE_STRING_BATCH) {
		u64 gla;
		int err = string_linear(vie, ops, arg, seg, idx & amask,
		    vie->vie_opsize, &gla, &f);

		if (err == 0)
			err = string_element(vie, ops, arg, (u16)rdx, gla, &f);
		if (err != 0) {
			rc = err;
			break;
		}
		done++;
		idx = reg_update(idx, idx + step, asz);
		if (vie->vie_rep)
			rcx = reg_update(rcx, rcx - 1, asz);
		if (--count == 0) {
			rc = VIE_IO_DONE;
			break;
		}
	}
	/* the registers count the elements done, whatever stopped us */
	if (done > 0 && (ops->vso_setreg(arg, idxreg, idx) != 0 ||
	    (vie->vie_rep && ops->vso_setreg(arg, VIE_REG_RCX, rcx) != 0)))
		return (VIE_ECALLBACK);
	if (rc == VIE_IO_FAULT && ops->vso_fault != NULL)
		ops->vso_fault(arg, &f);
	return (rc);
}

/* --- MMIO --- */

KTUNABLE_TEST(vie_inject_rex_bytes, "the MMIO emulator takes byte "
    "registers 4-7 as SPL, BPL, SIL, DIL even without a REX prefix, where "
    "they are AH, CH, DH, BH");

#define	RFLAGS_CF	(1ULL << 0)
#define	RFLAGS_PF	(1ULL << 2)
#define	RFLAGS_AF	(1ULL << 4)
#define	RFLAGS_ZF	(1ULL << 6)
#define	RFLAGS_SF	(1ULL << 7)
#define	RFLAGS_OF	(1ULL << 11)
#define	RFLAGS_ARITH	(RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | \
	RFLAGS_SF | RFLAGS_OF)

/* The same masks as addresses: 1, 2, 4 or 8 bytes. */
#define	size_mask(size)	addr_mask(size)

static u64
sign_extend(u64 v, u8 size)
{
	u64 sign;

	if (size == 8)
		return (v);
	sign = 1ULL << (8 * size - 1);
	return (((v & size_mask(size)) ^ sign) - sign);
}

/*
 * Where the size-byte register reg (ModRM numbering, REX included) lives:
 * byte registers 4-7 are AH, CH, DH, BH (bits 8-15 of 0-3) unless there
 * is a REX prefix, any REX, 40 too, which makes them SPL, BPL, SIL, DIL.
 */
static enum vie_reg
gpr_of(const struct vie *vie, u8 reg, u8 size, int *shift)
{
	*shift = 0;
	if (size == 1 && vie->vie_rex == 0 && reg >= 4 && reg < 8 &&
	    !vie_inject_rex_bytes) {
		*shift = 8;
		return ((enum vie_reg)(reg - 4));
	}
	return ((enum vie_reg)reg);
}

static int
gpr_read(const struct vie *vie, const struct vie_mmio_ops *ops, void *arg,
    u8 reg, u8 size, u64 *val)
{
	int shift;
	enum vie_reg r = gpr_of(vie, reg, size, &shift);
	u64 v;

	if (ops->vmo_getreg(arg, r, &v) != 0)
		return (VIE_ECALLBACK);
	*val = (v >> shift) & size_mask(size);
	return (0);
}

/*
 * Write the size-byte part of a register as the CPU does: 8 and 16-bit
 * writes keep the other bits, a 32-bit one clears bits 32-63.
 */
static int
gpr_write(const struct vie *vie, const struct vie_mmio_ops *ops, void *arg,
    u8 reg, u8 size, u64 val)
{
	int shift;
	enum vie_reg r = gpr_of(vie, reg, size, &shift);
	u64 m = size_mask(size), old;

	val &= m;
	if (size < 4) {
		if (ops->vmo_getreg(arg, r, &old) != 0)
			return (VIE_ECALLBACK);
		val = (old & ~(m << shift)) | (val << shift);
	}
	return (ops->vmo_setreg(arg, r, val) != 0 ? VIE_ECALLBACK : 0);
}

static int
mmio_read(const struct vie_mmio_ops *ops, void *arg, u64 gpa, u8 size,
    u64 *val)
{
	*val = 0;
	if (ops->vmo_mmio(arg, gpa, size, val, false) != 0)
		return (VIE_ECALLBACK);
	*val &= size_mask(size);	/* whatever the device left above */
	return (0);
}

static int
mmio_write(const struct vie_mmio_ops *ops, void *arg, u64 gpa, u8 size,
    u64 val)
{
	val &= size_mask(size);
	return (ops->vmo_mmio(arg, gpa, size, &val, true) != 0 ?
	    VIE_ECALLBACK : 0);
}

/* The source of an r/m-destination form: the register or the immediate. */
static int
source(const struct vie *vie, const struct vie_mmio_ops *ops, void *arg,
    u64 *val)
{
	if (vie->vie_form == VIE_FORM_RM_IMM) {
		*val = (u64)vie->vie_imm & size_mask(vie->vie_opsize);
		return (0);
	}
	return (gpr_read(vie, ops, arg, vie->vie_reg, vie->vie_opsize, val));
}

static bool
parity_even(u64 r)
{
	u8 b = (u8)r;

	b ^= b >> 4;
	b ^= b >> 2;
	b ^= b >> 1;
	return ((b & 1) == 0);
}

/*
 * dst op src on size bytes, and the arithmetic flags the CPU sets for it
 * in *rflags (the other bits kept; CF comes in for ADC and SBB). Carry is
 * computed without a wider type, so 64-bit operands work alike: a sum
 * carried out when it wrapped below dst (or to dst with a carry in).
 * The logic ops leave AF undefined; they clear it here, as QEMU does.
 */
static u64
alu(enum vie_op op, u8 size, u64 dst, u64 src, u64 *rflags)
{
	u64 m = size_mask(size), sign = 1ULL << (8 * size - 1);
	u64 cin = (*rflags & RFLAGS_CF) != 0, c, r, f = 0;

	dst &= m;
	src &= m;
	switch (op) {
	case VIE_OP_ADD:
	case VIE_OP_ADC:
		c = op == VIE_OP_ADC ? cin : 0;
		r = (dst + src + c) & m;
		if (r < dst || (c != 0 && r == dst))
			f |= RFLAGS_CF;
		if ((~(dst ^ src) & (dst ^ r) & sign) != 0)
			f |= RFLAGS_OF;
		f |= (dst ^ src ^ r) & RFLAGS_AF;
		break;
	case VIE_OP_SUB:
	case VIE_OP_SBB:
	case VIE_OP_CMP:
		c = op == VIE_OP_SBB ? cin : 0;
		r = (dst - src - c) & m;
		if (dst < src || (c != 0 && dst == src))
			f |= RFLAGS_CF;
		if (((dst ^ src) & (dst ^ r) & sign) != 0)
			f |= RFLAGS_OF;
		f |= (dst ^ src ^ r) & RFLAGS_AF;
		break;
	case VIE_OP_AND:
	case VIE_OP_TEST:
		r = dst & src;
		break;
	case VIE_OP_OR:
		r = dst | src;
		break;
	default:	/* XOR */
		r = dst ^ src;
		break;
	}
	if (r == 0)
		f |= RFLAGS_ZF;
	if ((r & sign) != 0)
		f |= RFLAGS_SF;
	if (parity_even(r))
		f |= RFLAGS_PF;
	*rflags = (*rflags & ~RFLAGS_ARITH) | f;
	return (r);
}

/* MOV in its four shapes (r/m <- r, r <- r/m, r/m <- imm, moffs). */
static int
emulate_mov(const struct vie *vie, u64 gpa, const struct vie_mmio_ops *ops,
    void *arg)
{
	u64 val;
	int err;

	if (vie->vie_form == VIE_FORM_REG_RM) {
		if ((err = mmio_read(ops, arg, gpa, vie->vie_memsize,
		    &val)) != 0)
			return (err);
		return (gpr_write(vie, ops, arg, vie->vie_reg, vie->vie_opsize,
		    val));
	}
	if ((err = source(vie, ops, arg, &val)) != 0)
		return (err);
	return (mmio_write(ops, arg, gpa, vie->vie_memsize, val));
}

/* MOVZX, MOVSX, MOVSXD: a narrower read widened into the register. */
static int
emulate_movx(const struct vie *vie, u64 gpa, const struct vie_mmio_ops *ops,
    void *arg)
{
	u64 val;
	int err;

	if ((err = mmio_read(ops, arg, gpa, vie->vie_memsize, &val)) != 0)
		return (err);
	if (vie->vie_op != VIE_OP_MOVZX)
		val = sign_extend(val, vie->vie_memsize);
	return (gpr_write(vie, ops, arg, vie->vie_reg, vie->vie_opsize, val));
}

/* XCHG r/m, r: the device is read, then written with the register. */
static int
emulate_xchg(const struct vie *vie, u64 gpa, const struct vie_mmio_ops *ops,
    void *arg)
{
	u64 reg, old;
	int err;

	if ((err = source(vie, ops, arg, &reg)) != 0 ||
	    (err = mmio_read(ops, arg, gpa, vie->vie_memsize, &old)) != 0 ||
	    (err = mmio_write(ops, arg, gpa, vie->vie_memsize, reg)) != 0)
		return (err);
	return (gpr_write(vie, ops, arg, vie->vie_reg, vie->vie_opsize, old));
}

/*
 * BT, BTS, BTR, BTC: CF is the bit, the others flags are left as they
 * were (the SDM leaves OF, SF, AF, PF undefined and ZF unchanged). The
 * bit number is taken modulo the operand size even for a register offset:
 * the CPU already applied the rest of it to the address it faulted on.
 */
static int
emulate_bt(const struct vie *vie, u64 gpa, const struct vie_mmio_ops *ops,
    void *arg)
{
	u8 size = vie->vie_memsize;
	u64 val, src, rflags, bit;
	int err;

	if ((err = source(vie, ops, arg, &src)) != 0 ||
	    (err = mmio_read(ops, arg, gpa, size, &val)) != 0)
		return (err);
	if (ops->vmo_getreg(arg, VIE_REG_RFLAGS, &rflags) != 0)
		return (VIE_ECALLBACK);
	bit = 1ULL << (src & (8 * size - 1));
	rflags = (rflags & ~RFLAGS_CF) | ((val & bit) != 0 ? RFLAGS_CF : 0);
	if (vie->vie_op != VIE_OP_BT) {
		val = vie->vie_op == VIE_OP_BTS ? val | bit :
		    vie->vie_op == VIE_OP_BTR ? val & ~bit : val ^ bit;
		if ((err = mmio_write(ops, arg, gpa, size, val)) != 0)
			return (err);
	}
	return (ops->vmo_setreg(arg, VIE_REG_RFLAGS, rflags) != 0 ?
	    VIE_ECALLBACK : 0);
}

/*
 * The ALU ops, NOT and NEG. A memory destination is read, computed and
 * written back (CMP and TEST only read); a register destination takes the
 * result, the device is only read. RFLAGS is written last, so a failed
 * device write leaves the flags as they were.
 */
static int
emulate_alu(const struct vie *vie, u64 gpa, const struct vie_mmio_ops *ops,
    void *arg)
{
	u8 size = vie->vie_opsize;
	bool to_reg = vie->vie_form == VIE_FORM_REG_RM;
	u64 dst, src = 0, r, rflags;
	int err;

	if (ops->vmo_getreg(arg, VIE_REG_RFLAGS, &rflags) != 0)
		return (VIE_ECALLBACK);
	if (to_reg) {
		if ((err = gpr_read(vie, ops, arg, vie->vie_reg, size,
		    &dst)) != 0 ||
		    (err = mmio_read(ops, arg, gpa, size, &src)) != 0)
			return (err);
	} else {
		if ((err = mmio_read(ops, arg, gpa, size, &dst)) != 0 ||
		    (vie->vie_form != VIE_FORM_RM &&
		    (err = source(vie, ops, arg, &src)) != 0))
			return (err);
	}
	switch (vie->vie_op) {
	case VIE_OP_NOT:
		/* no flags */
		return (mmio_write(ops, arg, gpa, size, ~dst));
	case VIE_OP_NEG:
		/* 0 - dst: CF is "dst was not 0", as SUB's borrow says */
		r = alu(VIE_OP_SUB, size, 0, dst, &rflags);
		break;
	default:
		r = alu(vie->vie_op, size, dst, src, &rflags);
		break;
	}
	if (vie->vie_op != VIE_OP_CMP && vie->vie_op != VIE_OP_TEST) {
		err = to_reg ? gpr_write(vie, ops, arg, vie->vie_reg, size, r) :
		    mmio_write(ops, arg, gpa, size, r);
		if (err != 0)
			return (err);
	}
	return (ops->vmo_setreg(arg, VIE_REG_RFLAGS, rflags) != 0 ?
	    VIE_ECALLBACK : 0);
}

/*
 * One element of a string move, read or written: guest RAM through
 * vmo_ram, else the device, in one access. An element that crosses a page
 * is split, which RAM takes and a device access cannot: each part is
 * checked (read) first, so a device part is refused before anything was
 * written.
 */
static int
string_mmio_element(const struct vie_mmio_ops *ops, void *arg,
    const struct element *e, u8 size, u64 *val, bool write)
{
	u8 buf[8], probe[8] = { 0 };
	size_t off = 0;
	int rc;

	for (int i = 0; i < size; i++)
		buf[i] = *val >> (8 * i);
	if (e->e_parts == 1) {
		rc = ops->vmo_ram(arg, e->e_gpa[0], buf, size, write);
		if (rc == VIE_NOT_RAM)
			return (write ? mmio_write(ops, arg, e->e_gpa[0], size,
			    *val) : mmio_read(ops, arg, e->e_gpa[0], size, val));
		if (rc != 0)
			return (VIE_ECALLBACK);
	} else {
		for (int i = 0; i < e->e_parts; i++) {
			rc = ops->vmo_ram(arg, e->e_gpa[i], write ? probe :
			    buf + off, e->e_len[i], false);
			if (rc == VIE_NOT_RAM)
				return (VIE_EUNKNOWN);
			if (rc != 0)
				return (VIE_ECALLBACK);
			off += e->e_len[i];
		}
		off = 0;
		for (int i = 0; write && i < e->e_parts; i++) {
			if (ops->vmo_ram(arg, e->e_gpa[i], buf + off,
			    e->e_len[i], true) != 0)
				return (VIE_ECALLBACK);
			off += e->e_len[i];
		}
	}
	if (!write) {
		*val = 0;
		for (int i = 0; i < size; i++)
			*val |= (u64)buf[i] << (8 * i);
	}
	return (0);
}

/* An element's linear address in seg at off, and its pages. */
static int
string_mmio_locate(const struct vie *vie, const struct vie_mmio_ops *ops,
    void *arg, enum vie_seg seg, u64 off, bool write, struct element *e,
    struct vie_fault *f)
{
	u64 base, gla;
	u32 limit;
	int err;

	if (ops->vmo_segment(arg, seg, &base, &limit) != 0)
		return (VIE_ECALLBACK);
	if ((err = segment_linear(vie, seg, base, limit, off, vie->vie_opsize,
	    write, &gla, f)) != 0)
		return (err);
	return (string_translate(vie, ops->vmo_translate, arg, gla,
	    vie->vie_opsize, write, e, f));
}

/*
 * MOVS (seg:rSI to ES:rDI), STOS (rAX to ES:rDI), LODS (seg:rSI to rAX),
 * with REP as vie_emulate_string_io runs INS/OUTS: rCX elements, at most
 * VIE_STRING_BATCH per call, the registers written back however it ends.
 * Both of a MOVS element's ends are translated before either is touched,
 * so a fault on the destination does not lose a device read.
 */
static int
emulate_string(const struct vie *vie, const struct vie_mmio_ops *ops,
    void *arg)
{
	struct vie_fault f = { 0 };
	u8 size = vie->vie_opsize, asz = vie->vie_addrsize;
	bool from = vie->vie_op != VIE_OP_STOS, to = vie->vie_op != VIE_OP_LODS;
	u64 amask = addr_mask(asz), rcx = 0, rsi = 0, rdi = 0, val = 0;
	u64 rflags, count, step;
	int rc = VIE_IO_AGAIN, done = 0;

	if (ops->vmo_segment == NULL || ops->vmo_translate == NULL ||
	    ops->vmo_ram == NULL || size > 8)
		return (VIE_EINVAL);
	if (ops->vmo_getreg(arg, VIE_REG_RFLAGS, &rflags) != 0 ||
	    (vie->vie_rep && ops->vmo_getreg(arg, VIE_REG_RCX, &rcx) != 0) ||
	    (from && ops->vmo_getreg(arg, VIE_REG_RSI, &rsi) != 0) ||
	    (to && ops->vmo_getreg(arg, VIE_REG_RDI, &rdi) != 0) ||
	    (vie->vie_op == VIE_OP_STOS && ops->vmo_getreg(arg, VIE_REG_RAX,
	    &val) != 0))
		return (VIE_ECALLBACK);
	count = vie->vie_rep ? (rcx & amask) : 1;
	if (count == 0)
		return (VIE_IO_DONE);
	step = (rflags & RFLAGS_DF) ? -(u64)size : size;

	while (done < VIE_STRING_BATCH) {
		struct element se, de;
		int err = 0;

		if (from)
			err = string_mmio_locate(vie, ops, arg, vie->vie_seg,
			    rsi & amask, false, &se, &f);
		if (err == 0 && to)
			err = string_mmio_locate(vie, ops, arg, VIE_SEG_ES,
			    rdi & amask, true, &de, &f);
		if (err == 0 && from)
			err = string_mmio_element(ops, arg, &se, size, &val,
			    false);
		if (err == 0 && to)
			err = string_mmio_element(ops, arg, &de, size, &val,
			    true);
		if (err != 0) {
			rc = err;
			break;
		}
		done++;
		if (from)
			rsi = reg_update(rsi, rsi + step, asz);
		if (to)
			rdi = reg_update(rdi, rdi + step, asz);
		if (vie->vie_rep)
			rcx = reg_update(rcx, rcx - 1, asz);
		if (--count == 0) {
			rc = VIE_IO_DONE;
			break;
		}
	}
	/* the registers count the elements done, whatever stopped us */
	if (done > 0 && ((from && ops->vmo_setreg(arg, VIE_REG_RSI, rsi) != 0) ||
	    (to && ops->vmo_setreg(arg, VIE_REG_RDI, rdi) != 0) ||
	    (vie->vie_rep && ops->vmo_setreg(arg, VIE_REG_RCX, rcx) != 0)))
		return (VIE_ECALLBACK);
	if (done > 0 && vie->vie_op == VIE_OP_LODS) {
		int err = gpr_write(vie, ops, arg, VIE_REG_RAX, size, val);

		if (err != 0)
			return (err);
	}
	if (rc == VIE_IO_FAULT && ops->vmo_fault != NULL)
		ops->vmo_fault(arg, &f);
	return (rc);
}

int
vie_emulate_mmio(const struct vie *vie, u64 gpa,
    const struct vie_mmio_ops *ops, void *arg)
{
	if (vie == NULL || ops == NULL || ops->vmo_getreg == NULL ||
	    ops->vmo_setreg == NULL || ops->vmo_mmio == NULL)
		return (VIE_EINVAL);
	if (vie->vie_form == VIE_FORM_STRING)
		return (emulate_string(vie, ops, arg));
	/* a register operand (mod 3) is no memory access at all */
	if (vie->vie_form == VIE_FORM_NONE ||
	    (!vie->vie_moffs && vie->vie_mod == 3))
		return (VIE_EUNKNOWN);
	/* the CPU splits an access across pages; only one part faulted */
	if ((gpa & PAGEOFFSET) + vie->vie_memsize > PAGESIZE)
		return (VIE_EUNKNOWN);
	switch (vie->vie_op) {
	case VIE_OP_MOV:
		return (emulate_mov(vie, gpa, ops, arg));
	case VIE_OP_MOVZX:
	case VIE_OP_MOVSX:
	case VIE_OP_MOVSXD:
		return (emulate_movx(vie, gpa, ops, arg));
	case VIE_OP_XCHG:
		return (emulate_xchg(vie, gpa, ops, arg));
	case VIE_OP_BT:
	case VIE_OP_BTS:
	case VIE_OP_BTR:
	case VIE_OP_BTC:
		return (emulate_bt(vie, gpa, ops, arg));
	case VIE_OP_ADD: case VIE_OP_OR: case VIE_OP_ADC: case VIE_OP_SBB:
	case VIE_OP_AND: case VIE_OP_SUB: case VIE_OP_XOR: case VIE_OP_CMP:
	case VIE_OP_TEST: case VIE_OP_NOT: case VIE_OP_NEG:
		return (emulate_alu(vie, gpa, ops, arg));
	default:
		return (VIE_EUNKNOWN);
	}
}
