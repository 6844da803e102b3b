/*
 * String port I/O (INS/OUTS, with or without REP): the glue between a
 * VM_EXIT_INOUT_STR, the shared decoder (vmm_decode.c) and the guest.
 *
 * The design, after bhyve's in spirit: bhyve's kernel hands the decoded
 * exit to userspace as VM_EXITCODE_INOUT_STR and userspace emulates it
 * with its own port handlers. Here vm_run returns VM_EXIT_INOUT_STR to
 * its caller (the vCPU thread, vmm_dev.c), which calls vm_strio_emulate
 * with its port function between two runs. That keeps the device model
 * out of the core and no function pointer inside vm_run's loop, and one
 * exit moves a whole batch (up to VIE_STRING_BATCH elements) instead of
 * one element per exit. The cost is a return from vm_run per batch even
 * for the in-kernel chips' ports, which string I/O hardly ever targets.
 *
 * Steps: fetch the instruction at CS:RIP through the guest's paging (as
 * the CPU would: real mode, protected mode with or without paging, 32-bit,
 * PAE, 4-level), decode it, check it is the exit's INS/OUTS, emulate it
 * with the callbacks below. Done: RIP moves past it and an STI/MOV SS
 * shadow ends (skip()'s rule, vm_skip_insn). A batch that ran out: RIP
 * stays, the guest executes the instruction again with the rest. A
 * fault: #PF (error code, CR2), #GP(0) or #SS(0) at the next entry, RIP
 * on the instruction. A gpa outside guest RAM (in a page walk or for an
 * element) stops the vCPU as an outofmap, as any other access there does:
 * no exception describes it.
 *
 * MMIO (vm_mmio_emulate) shares the fetch, the page walk and the register
 * access: a nested page fault on a device page hands its gpa over, the
 * instruction at CS:RIP is decoded and vie_emulate_mmio runs it with the
 * caller's device function; string moves reach guest RAM directly.
 */
#include "vmm.h"
#include "vmm_decode.h"
#include "vmm_mmio.h"
#include "../console.h"
#include "../panic.h"
#include "../pmem.h"
#include "../x86.h"

#define	CR4_PSE		(1UL << 4)
#define	PTE_P		(1UL << 0)
#define	PTE_W		(1UL << 1)
#define	PTE_U		(1UL << 2)
#define	PTE_A		(1UL << 5)
#define	PTE_D		(1UL << 6)
#define	PTE_PS		(1UL << 7)
#define	PTE_NX		(1UL << 63)
#define	PTE_ADDR	0x000ffffffffff000UL
#define	PF_P		(1U << 0)	/* #PF error code bits */
#define	PF_W		(1U << 1)
#define	PF_U		(1U << 2)
#define	PF_I		(1U << 4)
#define	VEC_PF		14
#define	VEC_UD		6

_Static_assert((int)VM_SEG_ES == (int)VIE_SEG_ES &&
    (int)VM_SEG_GS == (int)VIE_SEG_GS, "vm_seg and vie_seg agree");

struct strio {
	struct vcpu *s_vcpu;
	struct vm *s_vm;
	u64 s_cr0, s_cr3, s_cr4, s_efer;
	int s_cpl;
	struct vm_seg_desc s_seg[VM_SEG_LAST];
	vm_port_fn_t s_port;
	void *s_arg;
	bool s_stop;		/* the device model said the guest is done */
	bool s_outofmap;	/* a gpa outside RAM: s_bad_gpa */
	u64 s_bad_gpa;
	bool s_probe;		/* vm_insn_length: fetch and decode only,
				   raise and kill nothing */
	vm_mmio_fn_t s_mmio;	/* vm_mmio_emulate: the device */
	u8 s_insn[VIE_MAX_LEN];	/* the bytes fetched at CS:RIP */
	size_t s_ninsn;
};

/* The host view of len bytes of guest RAM at gpa, or NULL outside it. */
static void *
ram(struct strio *s, u64 gpa, size_t len)
{
	if (gpa >= s->s_vm->vm_memsize || len > s->s_vm->vm_memsize - gpa) {
		s->s_outofmap = true;
		s->s_bad_gpa = gpa;
		return (NULL);
	}
	return ((u8 *)phys_to_virt(s->s_vm->vm_mem) + gpa);
}

/* A page-table entry of esize (4 or 8) bytes at gpa, or NULL. */
static void *
pte_at(struct strio *s, u64 gpa, int esize)
{
	return (ram(s, gpa, (size_t)esize));
}

static u64
pte_get(void *p, int esize)
{
	return (esize == 8 ? *(volatile u64 *)p : *(volatile u32 *)p);
}

static void
pte_or(void *p, int esize, u64 bits)
{
	if (esize == 8)
		__atomic_fetch_or((u64 *)p, bits, __ATOMIC_RELAXED);
	else
		__atomic_fetch_or((u32 *)p, (u32)bits, __ATOMIC_RELAXED);
}

static void
page_fault(struct vie_fault *f, u32 err)
{
	f->vf_vector = VEC_PF;
	f->vf_has_errcode = true;
	f->vf_errcode = err;
}

/*
 * gla to gpa through the guest's page tables, with the CPU's checks
 * (present, write with CR0.WP or at CPL 3, user, NX) and its A/D updates.
 * 0; 1 with *f a #PF; -1 if a table is outside RAM (s_outofmap).
 */
static int
walk(struct strio *s, u64 gla, bool write, bool fetch, u64 *gpa,
    struct vie_fault *f)
{
	void *ent[4];
	int nent = 0, esize, level, shift;
	u64 table, pte = 0, w = PTE_W, u = PTE_U, nx = 0;
	bool user = s->s_cpl == 3;
	u32 err = (write ? PF_W : 0) | (user ? PF_U : 0) |
	    (fetch && (s->s_efer & EFER_NXE) != 0 ? PF_I : 0);

	if ((s->s_cr0 & CR0_PG) == 0) {
		*gpa = gla & 0xffffffffUL;
		return (0);
	}
	if ((s->s_efer & EFER_LMA) != 0) {
		esize = 8, level = 4, table = s->s_cr3 & PTE_ADDR;
	} else if ((s->s_cr4 & CR4_PAE) != 0) {
		/* The PDPTE: present bit only, no rights. */
		void *p = pte_at(s, (s->s_cr3 & 0xffffffe0UL) +
		    ((gla >> 30) & 3) * 8, 8);
		if (p == NULL)
			return (-1);
		pte = pte_get(p, 8);
		if ((pte & PTE_P) == 0) {
			page_fault(f, err);
			return (1);
		}
		esize = 8, level = 2, table = pte & PTE_ADDR;
	} else {
		esize = 4, level = 2, table = s->s_cr3 & 0xfffff000UL;
	}
	for (;;) {
		shift = esize == 4 ? 12 + 10 * (level - 1) : 12 + 9 * (level - 1);
		u64 idx = (gla >> shift) & (esize == 4 ? 0x3ff : 0x1ff);
		void *p = pte_at(s, table + idx * esize, esize);
		if (p == NULL)
			return (-1);
		pte = pte_get(p, esize);
		if ((pte & PTE_P) == 0) {
			page_fault(f, err);
			return (1);
		}
		ent[nent++] = p;
		w &= pte;
		u &= pte;
		if (esize == 8 && (s->s_efer & EFER_NXE) != 0)
			nx |= pte & PTE_NX;
		bool large = (pte & PTE_PS) != 0 && (level == 2 ||
		    (level == 3 && esize == 8));
		if (esize == 4 && (s->s_cr4 & CR4_PSE) == 0)
			large = false;
		if (level == 1 || large)
			break;
		table = pte & (esize == 4 ? 0xfffff000UL : PTE_ADDR);
		level--;
	}
	if ((user && u == 0) || (write && w == 0 &&
	    (user || (s->s_cr0 & CR0_WP) != 0)) || (fetch && nx != 0)) {
		page_fault(f, err | PF_P);
		return (1);
	}
	u64 off = gla & ((1UL << shift) - 1);
	if (esize == 4 && shift == 22)		/* PSE-36: bits 13-20 */
		*gpa = (pte & 0xffc00000UL) | (((pte >> 13) & 0xff) << 32);
	else
		*gpa = pte & PTE_ADDR & ~((1UL << shift) - 1);
	*gpa += off;
	for (int i = 0; i < nent; i++)
		pte_or(ent[i], esize, PTE_A | (write && i == nent - 1 ?
		    PTE_D : 0));
	return (0);
}

/* ---- the decoder's callbacks ---------------------------------------- */

static enum vm_reg
vm_reg_of(enum vie_reg r)
{
	switch (r) {
	case VIE_REG_RCX:	return (VM_REG_RCX);
	case VIE_REG_RDX:	return (VM_REG_RDX);
	case VIE_REG_RSI:	return (VM_REG_RSI);
	case VIE_REG_RDI:	return (VM_REG_RDI);
	default:		return (VM_REG_RFLAGS);
	}
}

static int
cb_getreg(void *arg, enum vie_reg r, u64 *val)
{
	struct strio *s = arg;

	*val = vm_getreg(s->s_vcpu, vm_reg_of(r));
	return (0);
}

static int
cb_setreg(void *arg, enum vie_reg r, u64 val)
{
	struct strio *s = arg;

	vm_setreg(s->s_vcpu, vm_reg_of(r), val);
	return (0);
}

static int
cb_segment(void *arg, enum vie_seg seg, u64 *base, u32 *limit)
{
	struct strio *s = arg;

	if ((unsigned)seg >= VM_SEG_LAST)
		return (1);
	*base = s->s_seg[seg].vsd_base;
	*limit = s->s_seg[seg].vsd_limit;
	return (0);
}

static int
cb_translate(void *arg, u64 gla, size_t len, bool write, u64 *gpa,
    struct vie_fault *f)
{
	struct strio *s = arg;
	int rc = walk(s, gla, write, false, gpa, f);

	if (rc == 0 && ram(s, *gpa, len) == NULL)
		rc = -1;
	return (rc != 0);
}

static int
cb_read(void *arg, u64 gpa, void *buf, size_t len)
{
	void *p = ram(arg, gpa, len);

	if (p == NULL)
		return (1);
	memcpy(buf, p, len);
	return (0);
}

static int
cb_write(void *arg, u64 gpa, const void *buf, size_t len)
{
	void *p = ram(arg, gpa, len);

	if (p == NULL)
		return (1);
	memcpy(p, buf, len);
	return (0);
}

/* One element: the in-kernel chips first, else the caller's devices. */
static int
cb_port(void *arg, u16 port, bool in, int bytes, u32 *val)
{
	struct strio *s = arg;

	vmm_stat_incr(s->s_vcpu, STRIO_ELEMENTS);
	if (vm_isa_inout(s->s_vm, port, in, bytes, val)) {
		vmm_stat_incr(s->s_vcpu, ISA_INOUT);
		return (0);
	}
	if (s->s_port(s->s_arg, port, in, bytes, val) != 0) {
		s->s_stop = true;
		return (1);
	}
	return (0);
}

static void
cb_fault(void *arg, const struct vie_fault *f)
{
	struct strio *s = arg;

	if (s->s_outofmap)
		return;			/* not an exception: the vCPU stops */
	vm_inject_exception(s->s_vcpu, f->vf_vector, f->vf_has_errcode,
	    f->vf_errcode, f->vf_vector == VEC_PF ? f->vf_gla : 0);
}

static const struct vie_string_ops strio_ops = {
	.vso_getreg = cb_getreg,
	.vso_setreg = cb_setreg,
	.vso_segment = cb_segment,
	.vso_translate = cb_translate,
	.vso_read = cb_read,
	.vso_write = cb_write,
	.vso_port = cb_port,
	.vso_fault = cb_fault,
};

/* ---- fetch, decode, emulate ----------------------------------------- */

static void
outofmap(struct strio *s, u64 rip)
{
	vcpu_kill(s->s_vcpu, "outofmap: %s at rip 0x%lx touched gpa 0x%lx "
	    "outside the guest's %lu KiB of RAM", s->s_mmio != NULL ? "MMIO" :
	    "string I/O", rip, s->s_bad_gpa, s->s_vm->vm_memsize >> 10);
}

/*
 * The instruction bytes at CS:RIP, up to VIE_MAX_LEN (fewer at the CS
 * limit), decoded. 0; 1 a fault was raised; -1 the vCPU was killed.
 */
/*
 * "cannot emulate MMIO instruction 89 c8 at rip 0x7c00": the vCPU stops
 * with the bytes, for an instruction the emulator does not know (rc). n:
 * its length, or 0 when it did not decode (all the bytes fetched).
 */
static void
mmio_refuse(struct strio *s, u64 rip, size_t n, int rc)
{
	char hex[3 * VIE_MAX_LEN + 1];
	size_t off = 0;

	n = MIN(n == 0 ? s->s_ninsn : n, s->s_ninsn);
	hex[0] = '\0';
	for (size_t i = 0; i < n; i++)
		off += ksnprintf(hex + off, sizeof (hex) - off, "%s%02x",
		    i == 0 ? "" : " ", s->s_insn[i]);
	vcpu_kill(s->s_vcpu, "cannot emulate MMIO instruction %s at rip "
	    "0x%lx (%d)", hex, rip, rc);
}

/* A fault fetching the instruction: raised, unless only probing. */
static int
fetch_fault(struct strio *s, u8 vector, bool has_err, u32 err, u64 cr2)
{
	if (!s->s_probe)
		vm_inject_exception(s->s_vcpu, vector, has_err, err, cr2);
	return (1);
}

static int
fetch_decode(struct strio *s, u64 rip, enum vie_cpu_mode mode, bool cs_d,
    struct vie *vie)
{
	const struct vm_seg_desc *cs = &s->s_seg[VM_SEG_CS];
	u8 buf[VIE_MAX_LEN];
	size_t max = VIE_MAX_LEN, n = 0;
	u64 gla;
	int rc;

	if (mode == VIE_MODE_LONG64) {
		gla = rip;
	} else {
		rip &= 0xffffffffUL;
		if (rip > cs->vsd_limit)
			return (fetch_fault(s, VIE_VEC_GP, true, 0, 0));
		max = MIN(max, (size_t)(cs->vsd_limit - rip) + 1);
		gla = (cs->vsd_base + rip) & 0xffffffffUL;
	}
	do {
		struct vie_fault f = { 0 };
		u64 la = mode == VIE_MODE_LONG64 ? gla + n :
		    (gla + n) & 0xffffffffUL, gpa;
		size_t len = MIN(max - n, PAGESIZE - (la & PAGEOFFSET));
		int w = walk(s, la, false, true, &gpa, &f);
		void *p;

		if (w > 0)
			return (fetch_fault(s, f.vf_vector, true, f.vf_errcode,
			    la));
		if (w < 0 || (p = ram(s, gpa, len)) == NULL) {
			if (!s->s_probe)
				outofmap(s, rip);
			return (-1);
		}
		memcpy(buf + n, p, len);
		n += len;
		rc = vie_decode(buf, n, mode, cs_d, vie);
	} while (rc == VIE_ENEEDMORE && n < max);
	memcpy(s->s_insn, buf, n);
	s->s_ninsn = n;
	if (rc == 0)
		return (0);
	if (rc == VIE_EUD || rc == VIE_ETOOLONG || rc == VIE_ENEEDMORE) {
		/* #UD for a bad form; #GP(0) past 15 bytes or the limit. */
		return (rc == VIE_EUD ? fetch_fault(s, VEC_UD, false, 0, 0) :
		    fetch_fault(s, VIE_VEC_GP, true, 0, 0));
	}
	if (s->s_mmio != NULL)
		mmio_refuse(s, rip, 0, rc);
	else if (!s->s_probe)
		vcpu_kill(s->s_vcpu, "unhandled: string I/O exit at rip 0x%lx: "
		    "the decoder does not know the instruction (%d)", rip, rc);
	return (-1);
}

/* The vCPU's paging and segment state, and the decoder's mode for it. */
static enum vie_cpu_mode
strio_load(struct strio *s, bool *cs_d)
{
	struct vcpu *vcpu = s->s_vcpu;

	s->s_cr0 = vm_getreg(vcpu, VM_REG_CR0);
	s->s_cr3 = vm_getreg(vcpu, VM_REG_CR3);
	s->s_cr4 = vm_getreg(vcpu, VM_REG_CR4);
	s->s_efer = vm_getreg(vcpu, VM_REG_EFER);
	for (int i = 0; i < VM_SEG_LAST; i++)
		vm_getseg(vcpu, (enum vm_seg)i, &s->s_seg[i]);
	s->s_cpl = (s->s_cr0 & CR0_PE) == 0 ? 0 :
	    (int)VM_SEG_ATTR_DPL(s->s_seg[VM_SEG_SS].vsd_attr);
	u16 csa = s->s_seg[VM_SEG_CS].vsd_attr;
	*cs_d = (csa & VM_SEG_ATTR_D) != 0;
	if ((s->s_cr0 & CR0_PE) == 0)
		return (VIE_MODE_REAL);
	return ((s->s_efer & EFER_LMA) != 0 && (csa & VM_SEG_ATTR_L) != 0 ?
	    VIE_MODE_LONG64 : VIE_MODE_PROT);
}

/*
 * The length of the instruction at rip (an exit's, so it was fetched a
 * moment ago): for backends without NRIP. 0 if fetching or decoding it
 * fails (nothing is raised: the caller keeps its guess).
 */
bool
vm_insn_decode(struct vcpu *vcpu, u64 rip, struct vie *vie)
{
	struct strio s = { .s_vcpu = vcpu, .s_vm = vcpu->vc_vm,
	    .s_probe = true };
	bool cs_d;

	enum vie_cpu_mode mode = strio_load(&s, &cs_d);
	return (fetch_decode(&s, rip, mode, cs_d, vie) == 0);
}

enum vm_reg
vm_gpr_reg(int index)
{
	static const enum vm_reg gpr[16] = { VM_REG_RAX, VM_REG_RCX,
	    VM_REG_RDX, VM_REG_RBX, VM_REG_RSP, VM_REG_RBP, VM_REG_RSI,
	    VM_REG_RDI, VM_REG_R8, VM_REG_R9, VM_REG_R10, VM_REG_R11,
	    VM_REG_R12, VM_REG_R13, VM_REG_R14, VM_REG_R15 };

	VERIFY(index >= 0 && index < 16, "vm_gpr_reg: register %d", index);
	return (gpr[index]);
}

u32
vm_insn_length(struct vcpu *vcpu, u64 rip)
{
	struct vie vie;

	return (vm_insn_decode(vcpu, rip, &vie) ? vie.vie_len : 0);
}

int
vm_strio_emulate(struct vcpu *vcpu, const struct vm_exit *vme,
    vm_port_fn_t port, void *arg)
{
	struct strio s = { .s_vcpu = vcpu, .s_vm = vcpu->vc_vm,
	    .s_port = port, .s_arg = arg };
	struct vie vie;

	VERIFY3U(vme->exitcode, ==, VM_EXIT_INOUT_STR);
	bool cs_d;
	enum vie_cpu_mode mode = strio_load(&s, &cs_d);
	int rc = fetch_decode(&s, vme->rip, mode, cs_d, &vie);
	if (rc != 0)
		return (0);
	if ((vie.vie_op != VIE_OP_INS && vie.vie_op != VIE_OP_OUTS) ||
	    vie.vie_in != vme->u.inout_str.in ||
	    vie.vie_opsize != vme->u.inout_str.bytes ||
	    vie.vie_rep != vme->u.inout_str.rep) {
		vcpu_kill(vcpu, "unhandled: string I/O exit (port 0x%x, %u "
		    "bytes, %s%s) at rip 0x%lx, but the instruction there is "
		    "%s", vme->u.inout_str.port, vme->u.inout_str.bytes,
		    vme->u.inout_str.rep ? "rep " : "",
		    vme->u.inout_str.in ? "ins" : "outs", vme->rip,
		    vie_op_name(vie.vie_op));
		return (0);
	}
	switch (vie_emulate_string_io(&vie, &strio_ops, &s)) {
	case VIE_IO_DONE:
		vm_skip_insn(vcpu, vme->rip, vie.vie_len);
		return (0);
	case VIE_IO_AGAIN:		/* the rest at the next entry */
		return (0);
	case VIE_IO_FAULT:
		if (s.s_outofmap)
			outofmap(&s, vme->rip);
		return (0);
	default:
		if (s.s_stop)
			return (1);
		if (s.s_outofmap)
			outofmap(&s, vme->rip);
		else
			vcpu_kill(vcpu, "unhandled: string I/O at rip 0x%lx "
			    "failed in the emulator", vme->rip);
		return (0);
	}
}

/* ---- MMIO --------------------------------------------------------------- */

/* enum vie_reg (the encoding's order) to enum vm_reg. */
static const enum vm_reg mmio_regs[VIE_REG_RFLAGS + 1] = {
	[VIE_REG_RAX] = VM_REG_RAX, [VIE_REG_RCX] = VM_REG_RCX,
	[VIE_REG_RDX] = VM_REG_RDX, [VIE_REG_RBX] = VM_REG_RBX,
	[VIE_REG_RSP] = VM_REG_RSP, [VIE_REG_RBP] = VM_REG_RBP,
	[VIE_REG_RSI] = VM_REG_RSI, [VIE_REG_RDI] = VM_REG_RDI,
	[VIE_REG_R8] = VM_REG_R8, [VIE_REG_R9] = VM_REG_R9,
	[VIE_REG_R10] = VM_REG_R10, [VIE_REG_R11] = VM_REG_R11,
	[VIE_REG_R12] = VM_REG_R12, [VIE_REG_R13] = VM_REG_R13,
	[VIE_REG_R14] = VM_REG_R14, [VIE_REG_R15] = VM_REG_R15,
	[VIE_REG_RFLAGS] = VM_REG_RFLAGS,
};

static int
mmio_getreg(void *arg, enum vie_reg r, u64 *val)
{
	struct strio *s = arg;

	if ((unsigned)r > VIE_REG_RFLAGS)
		return (1);
	*val = vm_getreg(s->s_vcpu, mmio_regs[r]);
	return (0);
}

static int
mmio_setreg(void *arg, enum vie_reg r, u64 val)
{
	struct strio *s = arg;

	if ((unsigned)r > VIE_REG_RFLAGS)
		return (1);
	vm_setreg(s->s_vcpu, mmio_regs[r], val);
	return (0);
}

static int
mmio_device(void *arg, u64 gpa, int bytes, u64 *val, bool write)
{
	struct strio *s = arg;

	if (s->s_mmio(s->s_arg, gpa, bytes, val, write) != 0) {
		s->s_stop = true;
		return (1);
	}
	return (0);
}

/* A string move's linear address: the walk alone (a device is no RAM). */
static int
mmio_translate(void *arg, u64 gla, size_t len, bool write, u64 *gpa,
    struct vie_fault *f)
{
	(void)len;
	return (walk(arg, gla, write, false, gpa, f) != 0);
}

static int
mmio_ram(void *arg, u64 gpa, void *buf, size_t len, bool write)
{
	struct strio *s = arg;
	u8 *p;

	if (gpa >= s->s_vm->vm_memsize || len > s->s_vm->vm_memsize - gpa)
		return (VIE_NOT_RAM);
	p = (u8 *)phys_to_virt(s->s_vm->vm_mem) + gpa;
	if (write)
		memcpy(p, buf, len);
	else
		memcpy(buf, p, len);
	return (0);
}

static const struct vie_mmio_ops mmio_ops = {
	.vmo_getreg = mmio_getreg,
	.vmo_setreg = mmio_setreg,
	.vmo_mmio = mmio_device,
	.vmo_segment = cb_segment,
	.vmo_translate = mmio_translate,
	.vmo_ram = mmio_ram,
	.vmo_fault = cb_fault,
};

int
vm_mmio_emulate(struct vcpu *vcpu, u64 rip, u64 gpa, vm_mmio_fn_t mmio,
    void *arg)
{
	struct strio s = { .s_vcpu = vcpu, .s_vm = vcpu->vc_vm,
	    .s_mmio = mmio, .s_arg = arg };
	struct vie vie;
	bool cs_d;
	int rc;

	VERIFY(mmio != NULL, "vm_mmio_emulate: no device function");
	enum vie_cpu_mode mode = strio_load(&s, &cs_d);
	if (fetch_decode(&s, rip, mode, cs_d, &vie) != 0)
		return (0);
	switch ((rc = vie_emulate_mmio(&vie, gpa, &mmio_ops, &s))) {
	case VIE_IO_DONE:
		vm_skip_insn(vcpu, rip, vie.vie_len);
		return (0);
	case VIE_IO_AGAIN:		/* the rest at the next entry */
		return (0);
	case VIE_IO_FAULT:		/* raised by cb_fault, unless: */
		if (s.s_outofmap)	/* a page table outside RAM */
			outofmap(&s, rip);
		return (0);
	case VIE_EUNKNOWN:
		mmio_refuse(&s, rip, vie.vie_len, rc);
		return (0);
	default:
		if (s.s_stop)
			return (1);
		vcpu_kill(vcpu, "MMIO at rip 0x%lx (gpa 0x%lx) failed in the "
		    "emulator (%d)", rip, gpa, rc);
		return (0);
	}
}
