/*
 * vmm_decode: the x86 instruction decoder both backends share, and the
 * string port I/O (INS/OUTS, with REP) and MMIO emulated on top of it
 * (vmm_decode.c decodes, vmm_emul.c emulates). A leaf: it
 * knows bytes, CPU modes and callbacks, nothing of VMX, SVM or struct vcpu.
 * A backend without NRIP (SVM under QEMU) fetches the bytes at the guest's
 * RIP and asks vie_decode() how long the instruction is; a string I/O exit
 * hands the decoded instruction to vie_emulate_string_io() with callbacks
 * for the guest's registers, memory and ports. Scope and limits:
 * docs/vmm.md, "Instruction decoder".
 */
#ifndef _KERN_VMM_VMM_DECODE_H
#define _KERN_VMM_VMM_DECODE_H

#include "../types.h"

/* The architectural limit, prefixes included; REP elements per call. */
#define	VIE_MAX_LEN		15
#define	VIE_STRING_BATCH	4096

/* Errors (negative); vie_decode returns 0 on success. */
#define	VIE_EUNKNOWN	(-1)	/* not an instruction this decoder knows */
#define	VIE_ENEEDMORE	(-2)	/* n ended before the instruction did */
#define	VIE_ETOOLONG	(-3)	/* more than VIE_MAX_LEN bytes */
#define	VIE_EUD		(-4)	/* known opcode, but this form raises #UD */
#define	VIE_EINVAL	(-5)	/* bad arguments (a mode, a non-string vie) */
#define	VIE_ECALLBACK	(-6)	/* a register, memory or port callback failed */

/* vie_emulate_string_io's results (besides the errors above). */
#define	VIE_IO_DONE	0	/* completed: the caller moves RIP by vie_len */
#define	VIE_IO_AGAIN	1	/* batch used up: re-enter at the same RIP */
#define	VIE_IO_FAULT	2	/* an element faulted, told through vso_fault */

enum vie_cpu_mode {
	VIE_MODE_REAL,		/* 16-bit defaults; cs_d is ignored */
	VIE_MODE_PROT,		/* protected or compatibility: cs_d chooses */
	VIE_MODE_LONG64		/* 64-bit mode */
};

/* The x86 encoding of the segment registers (a ModRM reg field's order). */
enum vie_seg {
	VIE_SEG_ES, VIE_SEG_CS, VIE_SEG_SS, VIE_SEG_DS, VIE_SEG_FS, VIE_SEG_GS
};

/* Every opcode the decoder knows: X(identifier suffix, mnemonic). */
#define	VIE_OPS(X)							\
	X(INS, "ins") X(OUTS, "outs") X(IN, "in") X(OUT, "out")	\
	X(HLT, "hlt") X(CPUID, "cpuid") X(RDMSR, "rdmsr")		\
	X(WRMSR, "wrmsr") X(RDTSC, "rdtsc") X(RDTSCP, "rdtscp")		\
	X(RDPMC, "rdpmc") X(INVD, "invd") X(WBINVD, "wbinvd")		\
	X(WBNOINVD, "wbnoinvd") X(XSETBV, "xsetbv")			\
	X(VMCALL, "vmcall") X(VMMCALL, "vmmcall") X(VMRUN, "vmrun")	\
	X(VMLOAD, "vmload") X(VMSAVE, "vmsave") X(STGI, "stgi")		\
	X(CLGI, "clgi") X(SKINIT, "skinit") X(INVLPGA, "invlpga")	\
	X(MONITOR, "monitor") X(MWAIT, "mwait")				\
	X(MOV_FROM_DR, "mov from dr") X(MOV_TO_DR, "mov to dr")		\
	X(MOV_FROM_CR, "mov from cr") X(MOV_TO_CR, "mov to cr")		\
	X(LMSW, "lmsw")							\
	X(VMXON, "vmxon") X(VMCLEAR, "vmclear") X(VMPTRLD, "vmptrld")	\
	X(VMPTRST, "vmptrst") X(VMREAD, "vmread") X(VMWRITE, "vmwrite")	\
	X(VMLAUNCH, "vmlaunch") X(VMRESUME, "vmresume")			\
	X(VMXOFF, "vmxoff") X(VMFUNC, "vmfunc") X(INVEPT, "invept")	\
	X(INVVPID, "invvpid")						\
	X(MOV, "mov") X(MOVZX, "movzx") X(MOVSX, "movsx")		\
	X(MOVSXD, "movsxd") X(ADD, "add") X(OR, "or") X(ADC, "adc")	\
	X(SBB, "sbb") X(AND, "and") X(SUB, "sub") X(XOR, "xor")	\
	X(CMP, "cmp") X(TEST, "test") X(NOT, "not") X(NEG, "neg")	\
	X(XCHG, "xchg") X(BT, "bt") X(BTS, "bts") X(BTR, "btr")		\
	X(BTC, "btc") X(MOVS, "movs") X(STOS, "stos") X(LODS, "lods")

enum vie_op {
	VIE_OP_NONE,
#define	VIE_OP_ENUM(id, name)	VIE_OP_##id,
	VIE_OPS(VIE_OP_ENUM)
#undef VIE_OP_ENUM
	VIE_OP_COUNT
};

/*
 * The operands of the instructions that may touch memory (MMIO): which one
 * is the destination, and what the source is. "r/m" is the ModRM operand
 * (or the moffs of A0-A3), the memory one when vie_mod != 3.
 */
enum vie_form {
	VIE_FORM_NONE,		/* not an MMIO instruction */
	VIE_FORM_RM_REG,	/* r/m is the destination, vie_reg the source */
	VIE_FORM_REG_RM,	/* vie_reg is the destination, r/m the source */
	VIE_FORM_RM_IMM,	/* r/m is the destination, vie_imm the source */
	VIE_FORM_RM,		/* r/m alone (NOT, NEG) */
	VIE_FORM_STRING		/* MOVS, STOS, LODS: rSI, rDI, rCX, rAX */
};

/*
 * One decoded instruction. Sizes are in bytes. Register numbers include
 * the REX extension bits.
 */
struct vie {
	enum vie_cpu_mode vie_mode;	/* as given to vie_decode */
	u8 vie_len;		/* bytes, prefixes included: RIP's advance */
	enum vie_op vie_op;
	u8 vie_opsize;		/* 1, 2, 4 or 8: operand (port access) size */
	u8 vie_addrsize;	/* 2, 4 or 8 */
	/*
	 * The segment of the memory operand: DS unless overridden (the
	 * source of OUTS); INS writes ES:rDI whatever the prefixes say, so
	 * it reads ES here. In 64-bit mode CS/DS/ES/SS overrides do nothing
	 * and only FS and GS show.
	 */
	enum vie_seg vie_seg;
	bool vie_seg_override;	/* a segment prefix took effect */
	bool vie_rep;		/* F3 or F2 on INS/OUTS: repeat rCX times */
	u8 vie_repeat_prefix;	/* the last F2/F3 seen, 0 if none */
	bool vie_opsize_prefix;	/* 66 seen */
	bool vie_addrsize_prefix;	/* 67 seen */
	u8 vie_rex;		/* the REX byte that took effect, 0 if none */
	/* IN/OUT/INS/OUTS */
	bool vie_in;		/* IN or INS: the port is read */
	bool vie_port_imm;	/* the port is vie_port, not DX */
	u8 vie_port;
	/* ModRM, when the opcode has one */
	bool vie_has_modrm;
	/* for MOV DR and MOV CR: reg is the DR or CR, rm the GPR */
	u8 vie_mod, vie_reg, vie_rm;
	bool vie_has_sib;
	u8 vie_scale, vie_index, vie_base;	/* scale as 1, 2, 4, 8 */
	bool vie_riprel;	/* disp is relative to the next instruction */
	u8 vie_disp_bytes;	/* 0, 1, 2 or 4 */
	i64 vie_disp;		/* sign-extended; moffs: the address */
	/* MMIO instructions (MOV ... LODS in VIE_OPS) */
	enum vie_form vie_form;
	u8 vie_memsize;		/* bytes of the memory operand: the device
				   access (MOVZX/MOVSX/MOVSXD: the source) */
	bool vie_moffs;		/* A0-A3: vie_disp is the address, no ModRM */
	bool vie_lock;		/* F0 on a form that allows it */
	u8 vie_imm_bytes;	/* 0, 1, 2 or 4 */
	i64 vie_imm;		/* sign-extended to 64 bits */
};

/*
 * Decode the instruction at bytes[0 .. n-1] in mode (cs_d: the code
 * segment's D bit, which picks 32-bit defaults in VIE_MODE_PROT). 0 and
 * *vie filled in, or a VIE_E* error: VIE_ENEEDMORE asks for more bytes
 * (fetch up to VIE_MAX_LEN and call again), the others are final.
 */
int vie_decode(const u8 *bytes, size_t n, enum vie_cpu_mode mode, bool cs_d,
    struct vie *vie);
/* "cpuid", "outs", ...; "?" for anything else. */
const char *vie_op_name(enum vie_op op);

/*
 * The guest registers the emulators read and write (full 64-bit values),
 * the general ones in the encoding's order (a ModRM reg field plus REX.R
 * is the number): string I/O uses rCX, rDX, rSI, rDI and RFLAGS only.
 */
enum vie_reg {
	VIE_REG_RAX, VIE_REG_RCX, VIE_REG_RDX, VIE_REG_RBX, VIE_REG_RSP,
	VIE_REG_RBP, VIE_REG_RSI, VIE_REG_RDI, VIE_REG_R8, VIE_REG_R9,
	VIE_REG_R10, VIE_REG_R11, VIE_REG_R12, VIE_REG_R13, VIE_REG_R14,
	VIE_REG_R15, VIE_REG_RFLAGS
};

#define	VIE_VEC_GP	13
#define	VIE_VEC_SS	12

/* An exception the caller has to raise in the guest instead of going on. */
struct vie_fault {
	u8 vf_vector;		/* 13 #GP, 12 #SS, 14 #PF, ... */
	bool vf_has_errcode;
	u32 vf_errcode;
	u64 vf_gla;		/* the linear address (CR2 for a #PF) */
	bool vf_write;		/* the access was a write to memory (INS) */
};

/*
 * Callbacks for vie_emulate_string_io; each returns 0 or nonzero for a
 * failure (which ends the emulation with VIE_ECALLBACK), except
 * vso_translate, whose failure is a guest fault.
 */
struct vie_string_ops {
	int (*vso_getreg)(void *arg, enum vie_reg reg, u64 *val);
	int (*vso_setreg)(void *arg, enum vie_reg reg, u64 val);
	/* base and limit (64-bit mode uses only the FS and GS bases) */
	int (*vso_segment)(void *arg, enum vie_seg seg, u64 *base, u32 *limit);
	/*
	 * A guest linear address to guest-physical for a len-byte access
	 * that stays inside one page. Nonzero: the walk faulted and *fault
	 * says how (the emulator fills in vf_gla and vf_write).
	 */
	int (*vso_translate)(void *arg, u64 gla, size_t len, bool write,
	    u64 *gpa, struct vie_fault *fault);
	int (*vso_read)(void *arg, u64 gpa, void *buf, size_t len);
	int (*vso_write)(void *arg, u64 gpa, const void *buf, size_t len);
	/* one port access of bytes (1, 2, 4); an IN fills *val */
	int (*vso_port)(void *arg, u16 port, bool in, int bytes, u32 *val);
	/* told once, before VIE_IO_FAULT is returned */
	void (*vso_fault)(void *arg, const struct vie_fault *fault);
};

/*
 * Emulate the INS or OUTS in vie: one element, or with REP up to
 * VIE_STRING_BATCH of them (rCX of them; none when rCX is 0). rCX, rSI and
 * rDI are written back however it ends, counting the elements done, so
 * after VIE_IO_AGAIN or VIE_IO_FAULT the guest restarts the instruction at
 * the same RIP with the rest. RIP is never touched: on VIE_IO_DONE the
 * caller adds vie_len.
 */
int vie_emulate_string_io(const struct vie *vie,
    const struct vie_string_ops *ops, void *arg);

/* vmo_ram's answer for a gpa that is not guest RAM: a device's. */
#define	VIE_NOT_RAM	1

/*
 * Callbacks for vie_emulate_mmio; each returns 0 or nonzero for a failure
 * (VIE_ECALLBACK), except where told. The string moves use all of them,
 * the other forms only the registers and vmo_mmio (the rest may be NULL).
 */
struct vie_mmio_ops {
	int (*vmo_getreg)(void *arg, enum vie_reg reg, u64 *val);
	int (*vmo_setreg)(void *arg, enum vie_reg reg, u64 val);
	/*
	 * One device access of bytes (1, 2, 4 or 8) at gpa: a write of
	 * *val (cut to bytes), or a read into *val.
	 */
	int (*vmo_mmio)(void *arg, u64 gpa, int bytes, u64 *val, bool write);
	/* MOVS, STOS, LODS: as in struct vie_string_ops */
	int (*vmo_segment)(void *arg, enum vie_seg seg, u64 *base,
	    u32 *limit);
	int (*vmo_translate)(void *arg, u64 gla, size_t len, bool write,
	    u64 *gpa, struct vie_fault *fault);
	/*
	 * len bytes of guest RAM at gpa, read into or written from buf; or
	 * VIE_NOT_RAM, touching nothing, if gpa is not RAM (the element
	 * then goes to vmo_mmio).
	 */
	int (*vmo_ram)(void *arg, u64 gpa, void *buf, size_t len, bool write);
	/* told once, before VIE_IO_FAULT is returned (may be NULL) */
	void (*vmo_fault)(void *arg, const struct vie_fault *fault);
};

/*
 * Emulate the instruction in vie, which touched the device at gpa (the
 * nested page fault's address): the device accesses go to vmo_mmio, one
 * per operand (a read, then a write for a read-modify-write; CMP, TEST
 * and BT only read), register results and the arithmetic flags (CF, PF,
 * AF, ZF, SF, OF, as the CPU computes them) through vmo_setreg. The
 * string moves ignore gpa: each element's address comes from rSI/rDI
 * through vmo_translate and goes to vmo_ram or, if that says VIE_NOT_RAM,
 * to vmo_mmio (one access per element); with REP as string I/O does, at
 * most VIE_STRING_BATCH elements per call. Returns VIE_IO_DONE (the
 * caller moves RIP by vie_len), VIE_IO_AGAIN (a REP batch ran out: RIP
 * stays), VIE_IO_FAULT (told through vmo_fault), VIE_ECALLBACK, or
 * VIE_EUNKNOWN for what it cannot emulate (not an MMIO form, a register
 * operand where memory is needed, a device access that crosses a page):
 * the caller stops the vCPU ("cannot emulate MMIO instruction ..."). RIP
 * is never touched.
 */
int vie_emulate_mmio(const struct vie *vie, u64 gpa,
    const struct vie_mmio_ops *ops, void *arg);

#endif
