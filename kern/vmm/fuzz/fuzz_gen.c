/*
 * A seed to a fuzz guest's program (fuzz.h, docs/fuzz.md). The program is
 * a row of ops in machine code for one mode (real, 32-bit protected or
 * long), each op starting with the store of its index that lets
 * guest/fuzz.asm's fault handler go on with the next one. An op is either
 * random bytes or one sensitive instruction with random operands set up
 * in front of it: port I/O to the VM's devices and to random ports, string
 * I/O, RDMSR/WRMSR of the MSRs the VM knows, the host's secret ones and
 * random ones, control and debug register writes, XSETBV, descriptor
 * table loads from garbage, INT n, HLT with either IF, far jumps with
 * bad selectors, both vendors' virtualization instructions, loads and
 * stores in RAM, MMIO and far past RAM, stores into the code ahead.
 *
 * Nothing here is random but the seed: the same seed gives the same bytes
 * on every platform, so a failing seed replays anywhere.
 */
#include "fuzz.h"
#include "../../panic.h"
#include "../../x86.h"

struct em {
	struct fz_prog *p;
	enum fz_mode m;
	u64 rs;				/* the generator's state */
	u32 nresult;			/* the next result slot */
};

/* ---- randomness: splitmix64 of the seed, then xorshift64* ------------- */

static u64
rnd(struct em *e)
{
	u64 x = e->rs;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	e->rs = x;
	return (x * 0x2545f4914f6cdd1dULL);
}

/* 0 .. n-1 */
static u32
below(struct em *e, u32 n)
{
	return ((u32)(rnd(e) % n));
}

static bool
chance(struct em *e, u32 percent)
{
	return (below(e, 100) < percent);
}

static u64
seed_mix(u64 seed)
{
	u64 z = seed + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (z != 0 ? z : 1);
}

/* ---- emitting ---------------------------------------------------------- */

static void
b1(struct em *e, u8 v)
{
	if (e->p->fp_len < FZ_PAYLOAD_MAX)
		e->p->fp_buf[e->p->fp_len++] = v;
}

static void
b2(struct em *e, u16 v)
{
	b1(e, (u8)v);
	b1(e, (u8)(v >> 8));
}

static void
b4(struct em *e, u32 v)
{
	b2(e, (u16)v);
	b2(e, (u16)(v >> 16));
}

static void
b8(struct em *e, u64 v)
{
	b4(e, (u32)v);
	b4(e, (u32)(v >> 32));
}

/* The address of the next byte, as the guest's code sees it (real mode:
 * the offset in the payload's segment, FZ_BASE >> 4). */
static u32
here(const struct em *e)
{
	return (e->m == FZ_REAL ? e->p->fp_len : FZ_BASE + e->p->fp_len);
}

/* In real mode a 32-bit operand takes 0x66. */
static void
o32(struct em *e)
{
	if (e->m == FZ_REAL)
		b1(e, 0x66);
}

/* In 16- and 32-bit code 0x66 flips to the other size. */
static void
o16(struct em *e)
{
	if (e->m != FZ_REAL)
		b1(e, 0x66);
}

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI };

static void
mov_imm32(struct em *e, int reg, u32 v)
{
	o32(e);
	b1(e, (u8)(0xb8 + reg));
	b4(e, v);
}

/* The full register in long mode (movabs), else as mov_imm32. */
static void
mov_imm(struct em *e, int reg, u64 v)
{
	if (e->m != FZ_LONG) {
		mov_imm32(e, reg, (u32)v);
		return;
	}
	b1(e, 0x48);
	b1(e, (u8)(0xb8 + reg));
	b8(e, v);
}

static void
mov_dx(struct em *e, u16 port)
{
	o16(e);
	b1(e, 0xba);
	b2(e, port);
}

/*
 * A ModRM memory operand for absolute address a (the payload's own
 * segment in real mode: the caller emits the CS override first there and
 * in protected mode). reg is the ModRM reg field.
 */
static void
modrm_abs(struct em *e, int reg, u32 a)
{
	switch (e->m) {
	case FZ_REAL:
		b1(e, (u8)(reg << 3 | 6));
		b2(e, (u16)(a - FZ_BASE));
		break;
	case FZ_PROT:
		b1(e, (u8)(reg << 3 | 5));
		b4(e, a);
		break;
	default:			/* [disp32] through a SIB: not RIP-relative */
		b1(e, (u8)(reg << 3 | 4));
		b1(e, 0x25);
		b4(e, a);
		break;
	}
}

/* CS: in real and protected mode, so DS may be anything. */
static void
cs_override(struct em *e)
{
	if (e->m != FZ_LONG)
		b1(e, 0x2e);
}

/* Each op's first instruction: mov dword [FZ_CUR], k. */
static void
op_begin(struct em *e, u32 k)
{
	cs_override(e);
	o32(e);
	b1(e, 0xc7);
	modrm_abs(e, 0, FZ_BASE + FZ_CUR_OFF);
	b4(e, k);
}

/* mov [results + slot], reg32: what the guest read, for fuzz.c's look. */
static void
keep(struct em *e, int reg)
{
	u32 slot = e->nresult++ % FZ_NRESULTS;

	cs_override(e);
	o32(e);
	b1(e, 0x89);
	modrm_abs(e, reg, FZ_BASE + FZ_RESULTS_OFF + slot * 4);
}

/* ---- operands ---------------------------------------------------------- */

static const u16 device_ports[] = {
	0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41, 0x42, 0x43, 0x61, 0x70, 0x71,
	0x80, 0x92, 0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff,
	0x2f8, 0x4d0, 0x4d1, 0x4f4, 0x4f8, 0x4fc, 0xcf8, 0xcfc, 0xcfd,
	0xcfe, 0xcff, 0x510, 0x511, 0x514, 0x600, 0x604, 0x608, 0xb000,
	0xb004, 0xb008, 0x3c0, 0x3c4, 0x3c5, 0x3ce, 0x3cf, 0x3d4, 0x3d5,
	0x3da, 0x1ce, 0x1cf, 0x60,
};
/* Ports that end a guest (the ABI's verdict, QEMU's PC): now and then. */
static const u16 ending_ports[] = { 0x4f0, 0xf4, 0xcf9, 0x64, 0x8900 };

static u16
pick_port(struct em *e)
{
	u32 r = below(e, 100);

	if (r < 70)
		return (device_ports[below(e, ARRAY_SIZE(device_ports))]);
	if (r < 72)
		return (ending_ports[below(e, ARRAY_SIZE(ending_ports))]);
	return ((u16)rnd(e));
}

const u32 fz_secret_msr[FZ_NSECRET_MSRS] = {
	0xc0000082,	/* LSTAR */
	0xc0000083,	/* CSTAR */
	0xc0000102,	/* KERNEL_GS_BASE */
	0xc0000101,	/* GS_BASE */
	0xc0000103,	/* TSC_AUX */
	0xc0010117,	/* VM_HSAVE_PA */
};

static const u32 known_msrs[] = {
	0x10, 0x1b, 0x277, 0xc0000080, 0x40000010, 0xc0000081, 0xc0000084,
	0xc0000100, 0x174, 0x175, 0x176, 0x3a, 0x48, 0x49, 0xfe, 0x1a0,
	0x1d9, 0x179, 0x17a, 0x2ff, 0x200, 0x201, 0x480, 0x481, 0x482,
	0x48b, 0x802, 0x808, 0x80b, 0x830, 0x838, 0xc0010114, 0xc0010015,
	0xc0011029, 0x40000000, 0x40000001, 0x4b564d00, 0xe7, 0xe8, 0x6e0,
};

static u32
pick_msr(struct em *e)
{
	u32 r = below(e, 100);

	if (r < 30)
		return (fz_secret_msr[below(e, FZ_NSECRET_MSRS)]);
	if (r < 80)
		return (known_msrs[below(e, ARRAY_SIZE(known_msrs))]);
	if (r < 90)
		return (0xc0000000 | below(e, 0x2000));
	return ((u32)rnd(e));
}

/* A value with some structure: small, one bit, all ones, an address. */
static u64
pick_value(struct em *e)
{
	switch (below(e, 6)) {
	case 0:	return (below(e, 16));
	case 1:	return (1ULL << below(e, 64));
	case 2:	return (~0ULL);
	case 3:	return (below(e, FZ_GUEST_MEM));
	case 4:	return (rnd(e) & 0xffffffff);
	default: return (rnd(e));
	}
}

/* An address for a load or store: RAM, the frame's own areas, MMIO, or
 * past RAM. */
static u64
pick_addr(struct em *e)
{
	static const u32 mmio[] = { 0xfee00000, 0xfec00000, 0xfed00000,
	    0xfebff000, 0xe0000000, 0xfffffff0, 0xa0000, 0xb8000, 0xf0000 };

	switch (below(e, 8)) {
	case 0: case 1:
		return (below(e, FZ_GUEST_MEM) & ~3U);
	case 2:
		return (FZ_BASE + below(e, FZ_PAYLOAD_MAX));
	case 3: case 4:
		return (mmio[below(e, ARRAY_SIZE(mmio))] + (below(e, 0x400) &
		    ~3U));
	case 5:
		return (FZ_GUEST_MEM + below(e, 0x10000000));
	case 6:
		return ((u32)rnd(e));
	default:
		return (e->m == FZ_LONG ? rnd(e) : (u32)rnd(e));
	}
}

static u16
pick_selector(struct em *e)
{
	static const u16 sel[] = { 0, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30,
	    0x0b, 0x13, 0x1000, 0xffff };

	return (chance(e, 70) ? sel[below(e, ARRAY_SIZE(sel))] :
	    (u16)rnd(e));
}

/* ebx (rbx) = an address the op's [ebx] operand uses. */
static void
point_ebx(struct em *e, u64 a)
{
	if (e->m == FZ_REAL) {
		/* ds:bx, ds from the address's high bits. */
		b1(e, 0xb8);
		b2(e, (u16)((a >> 4) & 0xf000));
		b1(e, 0x8e);
		b1(e, 0xd8);			/* mov ds, ax */
		b1(e, 0xbb);
		b2(e, (u16)a);			/* mov bx, imm16 */
		return;
	}
	mov_imm(e, RBX, a);
}

/* The [ebx] ModRM (real mode: [bx], rm 7; else rm 3). */
static void
modrm_ebx(struct em *e, int reg)
{
	b1(e, (u8)(reg << 3 | (e->m == FZ_REAL ? 7 : 3)));
}

/* ---- the ops ------------------------------------------------------------ */

static void
op_regs(struct em *e)
{
	for (int r = RAX; r <= RDI; r++) {
		if (r == RSP && !chance(e, 10))
			continue;
		mov_imm(e, r, pick_value(e));
	}
}

static void
op_bytes(struct em *e)
{
	u32 n = 1 + below(e, chance(e, 80) ? 32 : 256);

	for (u32 i = 0; i < n; i++)
		b1(e, (u8)rnd(e));
}

static void
op_out_in(struct em *e, bool in)
{
	u16 port = pick_port(e);
	u32 size = below(e, 3);		/* 1, 2 or 4 bytes */

	mov_dx(e, port);
	if (!in)
		mov_imm32(e, RAX, (u32)pick_value(e));
	if (size == 1)
		o16(e);
	else if (size == 2)
		o32(e);
	b1(e, (u8)((in ? 0xec : 0xee) | (size != 0)));
	if (in)
		keep(e, RAX);
}

static void
op_strio(struct em *e)
{
	u32 size = below(e, 3);
	bool in = chance(e, 50), rep = chance(e, 80);

	mov_dx(e, pick_port(e));
	mov_imm32(e, RCX, chance(e, 90) ? below(e, 80) : (u32)rnd(e));
	u64 a = chance(e, 70) ? below(e, FZ_GUEST_MEM) : pick_addr(e);
	if (e->m == FZ_REAL) {
		b1(e, 0xb8);
		b2(e, (u16)((a >> 4) & 0xf000));
		b1(e, 0x8e);
		b1(e, in ? 0xc0 : 0xd8);	/* mov es/ds, ax */
		b1(e, in ? 0xbf : 0xbe);
		b2(e, (u16)a);			/* mov di/si, imm16 */
	} else {
		mov_imm(e, in ? RDI : RSI, a);
	}
	b1(e, chance(e, 20) ? 0xfd : 0xfc);	/* std / cld */
	if (rep)
		b1(e, 0xf3);
	if (size == 1)
		o16(e);
	else if (size == 2)
		o32(e);
	b1(e, (u8)((in ? 0x6c : 0x6e) | (size != 0)));
	b1(e, 0xfc);
}

static void
op_rdmsr(struct em *e)
{
	u32 msr = pick_msr(e);

	e->p->fp_msr[e->p->fp_nops - 1] = msr;
	mov_imm32(e, RCX, msr);
	b1(e, 0x0f);
	b1(e, 0x32);
	keep(e, RAX);
	keep(e, RDX);
}

static void
op_wrmsr(struct em *e)
{
	u64 v = pick_value(e);

	mov_imm32(e, RCX, pick_msr(e));
	mov_imm32(e, RAX, (u32)v);
	mov_imm32(e, RDX, (u32)(v >> 32));
	b1(e, 0x0f);
	b1(e, 0x30);
}

static void
op_movcr(struct em *e)
{
	static const u8 crs[] = { 0, 0, 0, 2, 3, 3, 4, 4, 4, 8 };
	u8 cr = crs[below(e, ARRAY_SIZE(crs))];

	if (cr == 8 && e->m != FZ_LONG)
		cr = 4;
	if (chance(e, 60) && cr != 8) {
		/* One bit of the present value flipped. */
		b1(e, 0x0f);
		b1(e, 0x20);
		b1(e, (u8)(0xc0 | cr << 3 | RAX));	/* mov eax, crN */
		o32(e);
		b1(e, 0x35);
		b4(e, 1U << below(e, 32));		/* xor eax, bit */
	} else {
		mov_imm(e, RAX, pick_value(e));
	}
	if (cr == 8)
		b1(e, 0x44);				/* REX.R: CR8 */
	b1(e, 0x0f);
	b1(e, 0x22);
	b1(e, (u8)(0xc0 | (cr & 7) << 3 | RAX));	/* mov crN, eax */
}

static void
op_movdr(struct em *e)
{
	u8 dr = (u8)below(e, 8);

	if (chance(e, 30)) {
		b1(e, 0x0f);
		b1(e, 0x21);				/* mov eax, drN */
		b1(e, (u8)(0xc0 | dr << 3 | RAX));
		keep(e, RAX);
		return;
	}
	mov_imm(e, RAX, pick_value(e));
	b1(e, 0x0f);
	b1(e, 0x23);					/* mov drN, eax */
	b1(e, (u8)(0xc0 | dr << 3 | RAX));
}

static void
op_xsetbv(struct em *e)
{
	static const u32 xcr0[] = { 0, 1, 3, 7, 0xe7, 0x207, 0x2ff };

	if (chance(e, 70)) {
		/* CR4.OSXSAVE first, or XSETBV is #UD. */
		b1(e, 0x0f);
		b1(e, 0x20);
		b1(e, 0xc0 | 4 << 3);			/* mov eax, cr4 */
		o32(e);
		b1(e, 0x0d);
		b4(e, 1U << 18);			/* or eax, OSXSAVE */
		b1(e, 0x0f);
		b1(e, 0x22);
		b1(e, 0xc0 | 4 << 3);
	}
	mov_imm32(e, RCX, chance(e, 80) ? 0 : below(e, 4));
	mov_imm32(e, RAX, chance(e, 80) ? xcr0[below(e, ARRAY_SIZE(xcr0))] :
	    (u32)rnd(e));
	mov_imm32(e, RDX, chance(e, 90) ? 0 : (u32)rnd(e));
	b1(e, 0x0f);
	b1(e, 0x01);
	b1(e, chance(e, 80) ? 0xd1 : 0xd0);		/* xsetbv / xgetbv */
}

static void
op_dtload(struct em *e)
{
	switch (below(e, 4)) {
	case 0: case 1:
		/* lgdt or lidt [ebx]: whatever the address holds. */
		point_ebx(e, pick_addr(e));
		o32(e);
		b1(e, 0x0f);
		b1(e, 0x01);
		modrm_ebx(e, chance(e, 50) ? 2 : 3);
		break;
	default:
		/* lldt or ltr ax */
		o16(e);
		b1(e, 0xb8);
		b2(e, pick_selector(e));
		b1(e, 0x0f);
		b1(e, 0x00);
		b1(e, chance(e, 50) ? 0xd0 : 0xd8);
		break;
	}
}

static void
op_intn(struct em *e)
{
	switch (below(e, 5)) {
	case 0:	b1(e, 0xcc); break;			/* int3 */
	case 1:	b1(e, 0xce); break;			/* into */
	case 2:	b1(e, 0xf1); break;			/* icebp */
	default:
		b1(e, 0xcd);
		b1(e, (u8)rnd(e));
		break;
	}
}

static void
op_hlt(struct em *e)
{
	b1(e, chance(e, 50) ? 0xfa : 0xfb);		/* cli / sti */
	b1(e, 0xf4);
}

static void
op_farjmp(struct em *e, u32 next_guess)
{
	u16 sel = pick_selector(e);
	bool call = chance(e, 30);
	u32 off = chance(e, 50) ? next_guess : (u32)rnd(e);

	if (e->m == FZ_LONG) {
		/* No direct far jump in 64-bit code: jmp/call far [rbx]. */
		u64 a = FZ_BASE + FZ_RESULTS_OFF + (FZ_NRESULTS - 2) * 4;
		mov_imm(e, RAX, (u64)sel << 32 | off);
		mov_imm(e, RBX, a);
		b1(e, 0x48);
		b1(e, 0x89);
		b1(e, 0x03);				/* mov [rbx], rax */
		b1(e, 0xff);
		b1(e, call ? 0x1b : 0x2b);		/* call/jmp far [rbx] */
		return;
	}
	b1(e, call ? 0x9a : 0xea);
	if (e->m == FZ_REAL)
		b2(e, (u16)off);
	else
		b4(e, off);
	b2(e, sel);
}

static void
op_virt(struct em *e)
{
	static const u8 svm_vmx_0f01[] = { 0xd8, 0xd9, 0xda, 0xdb, 0xdc,
	    0xdd, 0xde, 0xdf, 0xc1, 0xc2, 0xc3, 0xc4, 0xd4 };

	point_ebx(e, pick_addr(e));
	mov_imm32(e, RAX, chance(e, 30) ? 1 : (u32)pick_value(e));
	switch (below(e, 8)) {
	case 0:	/* vmxon [ebx] */
		b1(e, 0xf3);
		b1(e, 0x0f);
		b1(e, 0xc7);
		modrm_ebx(e, 6);
		break;
	case 1:	/* vmptrld / vmclear [ebx] */
		if (chance(e, 50))
			b1(e, 0x66);
		b1(e, 0x0f);
		b1(e, 0xc7);
		modrm_ebx(e, 6);
		break;
	case 2:	/* vmread / vmwrite ebx, eax */
		b1(e, 0x0f);
		b1(e, chance(e, 50) ? 0x78 : 0x79);
		b1(e, 0xc3);
		break;
	case 3:	/* invept / invvpid eax, [ebx] */
		b1(e, 0x66);
		b1(e, 0x0f);
		b1(e, 0x38);
		b1(e, chance(e, 50) ? 0x80 : 0x81);
		modrm_ebx(e, RAX);
		break;
	default:
		b1(e, 0x0f);
		b1(e, 0x01);
		b1(e, svm_vmx_0f01[below(e, ARRAY_SIZE(svm_vmx_0f01))]);
		break;
	}
}

static void
op_mem(struct em *e)
{
	bool store = chance(e, 50);

	point_ebx(e, pick_addr(e));
	if (store)
		mov_imm32(e, RAX, (u32)pick_value(e));
	o32(e);
	b1(e, store ? 0x89 : 0x8b);
	modrm_ebx(e, RAX);
	if (!store)
		keep(e, RAX);
}

static void
op_smc(struct em *e)
{
	/* Somewhere in the next few hundred bytes of code. */
	u32 a = FZ_BASE + e->p->fp_len + 8 + below(e, 512);

	cs_override(e);
	b1(e, 0xc6);
	modrm_abs(e, 0, a);
	b1(e, (u8)rnd(e));
}

static void
op_cpuid(struct em *e)
{
	static const u32 leaves[] = { 0, 1, 2, 4, 6, 7, 0xb, 0xd, 0xf, 0x10,
	    0x14, 0x1f, 0x40000000, 0x40000001, 0x80000000, 0x80000001,
	    0x80000007, 0x80000008, 0x8000000a, 0x8000001d, 0x8000001f };

	mov_imm32(e, RAX, chance(e, 80) ? leaves[below(e, ARRAY_SIZE(leaves))]
	    : (u32)rnd(e));
	mov_imm32(e, RCX, below(e, 4));
	b1(e, 0x0f);
	b1(e, 0xa2);
	keep(e, RBX);
	keep(e, RCX);
}

static void
op_segload(struct em *e)
{
	static const u8 sreg[] = { 0xd8, 0xc0, 0xe0, 0xe8, 0xd0 };	/* ds es fs gs ss */

	o16(e);
	b1(e, 0xb8);
	b2(e, pick_selector(e));
	b1(e, 0x8e);
	b1(e, sreg[below(e, ARRAY_SIZE(sreg))]);
}

static void
op_popf(struct em *e)
{
	/* IF, TF, DF, AC, NT, IOPL and reserved bits at random. */
	u32 f = (u32)rnd(e) & (chance(e, 80) ? 0x47d5 : 0x3fffff);

	o32(e);
	b1(e, 0x68);
	b4(e, f | 2);
	o32(e);
	b1(e, 0x9d);
}

static void
op_misc(struct em *e)
{
	static const u8 two[][3] = {
		{ 2, 0x0f, 0x31 },	/* rdtsc */
		{ 3, 0x0f, 0x01 },	/* rdtscp (0xf9 below) */
		{ 2, 0x0f, 0x33 },	/* rdpmc */
		{ 2, 0x0f, 0x08 },	/* invd */
		{ 2, 0x0f, 0x09 },	/* wbinvd */
		{ 2, 0x0f, 0x05 },	/* syscall */
		{ 2, 0x0f, 0x07 },	/* sysret */
		{ 2, 0x0f, 0x34 },	/* sysenter */
		{ 2, 0x0f, 0x35 },	/* sysexit */
		{ 2, 0x0f, 0x0b },	/* ud2 */
		{ 2, 0x0f, 0x06 },	/* clts */
		{ 2, 0x0f, 0xaa },	/* rsm */
		{ 1, 0xcf, 0 },		/* iret of whatever is on the stack */
		{ 2, 0xf3, 0x90 },	/* pause */
		{ 1, 0xfa, 0 },		/* cli */
		{ 1, 0xfb, 0 },		/* sti */
	};
	u32 k = below(e, ARRAY_SIZE(two) + 6);

	mov_imm32(e, RCX, (u32)pick_value(e));
	if (k < ARRAY_SIZE(two)) {
		for (int i = 1; i <= (two[k][0] == 3 ? 2 : two[k][0]); i++)
			b1(e, two[k][i]);
		if (two[k][0] == 3) {
			b1(e, 0xf9);
			keep(e, RCX);
		}
		return;
	}
	point_ebx(e, pick_addr(e));
	switch (k - ARRAY_SIZE(two)) {
	case 0:	b1(e, 0x0f); b1(e, 0x01); modrm_ebx(e, 7); break; /* invlpg */
	case 1:	b1(e, 0x0f); b1(e, 0x01); b1(e, 0xc8); break;	/* monitor */
	case 2:	b1(e, 0x0f); b1(e, 0x01); b1(e, 0xc9); break;	/* mwait */
	case 3:	b1(e, 0x0f); b1(e, 0xae);
		modrm_ebx(e, chance(e, 50) ? 0 : 1); break;	/* fxsave/fxrstor */
	case 4:	b1(e, 0x0f); b1(e, 0xae);
		modrm_ebx(e, chance(e, 50) ? 4 : 5); break;	/* xsave/xrstor */
	default:
		b1(e, 0x0f); b1(e, 0x01); b1(e, 0xf0);		/* lmsw ax */
		break;
	}
}

/* ---- programs ----------------------------------------------------------- */

#define	FZ_OP_NAME(op, desc)	#op,
static const char *const op_names[] = { FZ_OPS(FZ_OP_NAME) };
#undef FZ_OP_NAME

const char *
fz_op_name(enum fz_op op)
{
	return ((unsigned)op < FZ_NOPKINDS ? op_names[op] : "?");
}

const char *
fz_mode_name(enum fz_mode m)
{
	static const char *const n[] = { "real", "protected", "long" };

	return ((unsigned)m < FZ_NMODES ? n[m] : "?");
}

const char *
fz_kind_name(enum fz_kind k)
{
	static const char *const n[] = { "random", "sensitive", "mix" };

	return ((unsigned)k < FZ_NKINDS ? n[k] : "?");
}

/* A sensitive op, weighted toward what exits. */
static enum fz_op
pick_op(struct em *e)
{
	static const u8 weights[FZ_NOPKINDS] = {
		[FZ_OP_REGS] = 4, [FZ_OP_OUT] = 12, [FZ_OP_IN] = 8,
		[FZ_OP_STRIO] = 6, [FZ_OP_RDMSR] = 10, [FZ_OP_WRMSR] = 8,
		[FZ_OP_MOVCR] = 6, [FZ_OP_MOVDR] = 3, [FZ_OP_XSETBV] = 3,
		[FZ_OP_DTLOAD] = 1, [FZ_OP_INTN] = 3, [FZ_OP_HLT] = 1,
		[FZ_OP_FARJMP] = 2, [FZ_OP_VIRT] = 6, [FZ_OP_MEM] = 8,
		[FZ_OP_SMC] = 2, [FZ_OP_CPUID] = 4, [FZ_OP_SEGLOAD] = 3,
		[FZ_OP_POPF] = 2, [FZ_OP_MISC] = 6,
	};
	u32 total = 0;

	for (int i = 0; i < FZ_NOPKINDS; i++)
		total += weights[i];
	u32 r = below(e, total);
	for (int i = 0; i < FZ_NOPKINDS; i++) {
		if (r < weights[i])
			return ((enum fz_op)i);
		r -= weights[i];
	}
	return (FZ_OP_CPUID);
}

static void
emit_op(struct em *e, enum fz_op op, u32 next_guess)
{
	switch (op) {
	case FZ_OP_REGS:	op_regs(e); break;
	case FZ_OP_BYTES:	op_bytes(e); break;
	case FZ_OP_OUT:		op_out_in(e, false); break;
	case FZ_OP_IN:		op_out_in(e, true); break;
	case FZ_OP_STRIO:	op_strio(e); break;
	case FZ_OP_RDMSR:	op_rdmsr(e); break;
	case FZ_OP_WRMSR:	op_wrmsr(e); break;
	case FZ_OP_MOVCR:	op_movcr(e); break;
	case FZ_OP_MOVDR:	op_movdr(e); break;
	case FZ_OP_XSETBV:	op_xsetbv(e); break;
	case FZ_OP_DTLOAD:	op_dtload(e); break;
	case FZ_OP_INTN:	op_intn(e); break;
	case FZ_OP_HLT:		op_hlt(e); break;
	case FZ_OP_FARJMP:	op_farjmp(e, next_guess); break;
	case FZ_OP_VIRT:	op_virt(e); break;
	case FZ_OP_MEM:		op_mem(e); break;
	case FZ_OP_SMC:		op_smc(e); break;
	case FZ_OP_CPUID:	op_cpuid(e); break;
	case FZ_OP_SEGLOAD:	op_segload(e); break;
	case FZ_OP_POPF:	op_popf(e); break;
	case FZ_OP_MISC:	op_misc(e); break;
	default:		break;
	}
}

void
fz_generate(u64 seed, struct fz_prog *p)
{
	struct em e = { .p = p, .rs = seed_mix(seed) };

	memset(p, 0, sizeof (*p));
	p->fp_seed = seed;
	e.m = p->fp_mode = (enum fz_mode)below(&e, FZ_NMODES);
	p->fp_kind = (enum fz_kind)below(&e, FZ_NKINDS);
	u32 nops = 2 + below(&e, chance(&e, 80) ? 40 : FZ_MAXOPS - 3);
	p->fp_len = FZ_CODE_OFF;
	u32 *optab = (u32 *)(p->fp_buf + FZ_OPTAB_OFF);

	for (u32 k = 0; k < nops; k++) {
		if (p->fp_len > FZ_PAYLOAD_MAX - 1024)
			break;
		enum fz_op op;
		if (k == 0)
			op = FZ_OP_REGS;
		else if (p->fp_kind == FZ_RANDOM)
			op = FZ_OP_BYTES;
		else if (p->fp_kind == FZ_MIX && chance(&e, 30))
			op = FZ_OP_BYTES;
		else
			op = pick_op(&e);
		optab[k] = here(&e);
		p->fp_op[k] = (u8)op;
		p->fp_nops = k + 1;
		op_begin(&e, k);
		/* A guess at where the next op starts, for far jumps that
		 * land somewhere sensible half of the time. */
		emit_op(&e, op, here(&e) + 24);
	}
	/* The last op: the verdict that says the row ran to its end. */
	u32 k = p->fp_nops;
	optab[k] = here(&e);
	p->fp_op[k] = FZ_OP_OUT;
	p->fp_nops = k + 1;
	op_begin(&e, k);
	mov_dx(&e, 0x4f0);
	mov_imm32(&e, RAX, FZ_VERDICT_DONE);
	o32(&e);
	b1(&e, 0xef);				/* out dx, eax */
	b1(&e, 0xfa);
	b1(&e, 0xf4);				/* cli; hlt: never reached */
	*(u32 *)(p->fp_buf + FZ_NOPS_OFF) = p->fp_nops;
	VERIFY(p->fp_len < FZ_PAYLOAD_MAX, "fz_generate: seed %lu: the program "
	    "overflowed its %u bytes", seed, FZ_PAYLOAD_MAX);
}
