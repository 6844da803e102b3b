/*
 * The emulators on top of the shared decoder (vmm_decode.h), on callbacks
 * only, a leaf like the decoder: string port I/O (INS/OUTS with REP).
 * Scope and limits: docs/vmm.md, "Instruction decoder".
 */
#include "vmm_decode.h"

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
string_linear(const struct vie *vie, const struct vie_string_ops *ops,
    void *arg, enum vie_seg seg, u64 off, u8 size, u64 *gla,
    struct vie_fault *f)
{
	u64 base;
	u32 limit;

	if (ops->vso_segment(arg, seg, &base, &limit) != 0)
		return (VIE_ECALLBACK);
	if (vie->vie_mode == VIE_MODE_LONG64) {
		if (seg != VIE_SEG_FS && seg != VIE_SEG_GS)
			base = 0;
		*gla = base + off;
		if (!canonical(*gla) || !canonical(*gla + size - 1)) {
			segment_fault(f, seg);
			f->vf_gla = *gla;
			f->vf_write = vie->vie_in;
			return (VIE_IO_FAULT);
		}
		return (0);
	}
	if (off > limit || (u64)size - 1 > limit - off) {
		segment_fault(f, seg);
		f->vf_gla = (base + off) & 0xffffffffULL;
		f->vf_write = vie->vie_in;
		return (VIE_IO_FAULT);
	}
	/* outside 64-bit mode linear addresses wrap at 4 GiB */
	*gla = (base + off) & 0xffffffffULL;
	return (0);
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
static int
string_translate(const struct vie *vie, const struct vie_string_ops *ops,
    void *arg, u64 gla, u8 size, bool write, struct element *e,
    struct vie_fault *f)
{
	u64 lamask = vie->vie_mode == VIE_MODE_LONG64 ? ~0ULL : 0xffffffffULL;
	size_t done = 0;

	e->e_parts = 0;
	while (done < size) {
		u64 la = (gla + done) & lamask;
		size_t len = MIN(size - done, PAGESIZE - (la & PAGEOFFSET));

		if (ops->vso_translate(arg, la, len, write,
		    &e->e_gpa[e->e_parts], f) != 0) {
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

	if ((err = string_translate(vie, ops, arg, gla, size, vie->vie_in, &e,
	    f)) != 0)
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
