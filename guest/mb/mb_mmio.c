/*
 * mb_mmio: the instruction forms compilers emit for MMIO, one check each,
 * against device registers that answer the same way every time:
 *   - the local APIC timer's initial count (0xFEE00380), a 32-bit read/write
 *     register (the LVT timer is masked, so the count it starts does nothing);
 *   - the TPR (0xFEE00080), 32-bit;
 *   - the IOAPIC's IOREGSEL (0xFEC00000) for 8- and 16-bit accesses: QEMU
 *     keeps its low byte for any size; the LAPIC ignores accesses below 32
 *     bits (reads give 0), so none are made there;
 *   - IOWIN (0xFEC00010) for the IOAPIC version register.
 * Every form is inline asm, so the instruction is the one named.
 */

#include "mb.h"

#define ICR		0xfee00380u	/* timer initial count */
#define TPR		0xfee00080u
#define IOREGSEL	0xfec00000u
#define IOWIN		0xfec00010u

#define S(x)		#x
#define XS(x)		S(x)

static volatile uint32_t ram_word;

static void
set_icr(uint32_t v)
{
	mmio_write32(ICR, v);
}

static void
moves(void)
{
	uint32_t v, p = ICR;
	uint8_t b;
	uint16_t w;

	__asm__ volatile("movl %0, " XS(ICR) : : "a"(0x12345678u) : "memory");
	check_eq(mmio_read32(ICR), 0x12345678, "mov r32 -> m32 (moffs)");
	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(p) : "memory");
	check_eq(v, 0x12345678, "mov m32 -> r32 (register indirect)");
	__asm__ volatile("movl $0x0badf00d, (%0)" : : "r"(p) : "memory");
	check_eq(mmio_read32(ICR), 0x0badf00d, "mov imm32 -> m32");
	__asm__ volatile("movl $0xcafe, 0(%0,%1,4)" : : "r"(p - 8), "r"(2) : "memory");
	check_eq(mmio_read32(ICR), 0xcafe, "mov imm32 -> m32 (base + index*4)");
	__asm__ volatile("movl $0x30, " XS(TPR) : : : "memory");
	check_eq(mmio_read32(TPR), 0x30, "mov imm32 -> TPR");
	mmio_write32(TPR, 0);

	__asm__ volatile("movb $0x85, " XS(IOREGSEL) : : : "memory");
	__asm__ volatile("movb " XS(IOREGSEL) ", %0" : "=q"(b) : : "memory");
	check_eq(b, 0x85, "mov imm8 -> m8, m8 -> r8");
	__asm__ volatile("movb %0, " XS(IOREGSEL) : : "q"((uint8_t)0x3c) : "memory");
	check_eq(mmio_read8(IOREGSEL), 0x3c, "mov r8 -> m8");
	__asm__ volatile("movw $0x0123, " XS(IOREGSEL) : : : "memory");
	__asm__ volatile("movw " XS(IOREGSEL) ", %0" : "=r"(w) : : "memory");
	check_eq(w, 0x0023, "mov imm16 -> m16, m16 -> r16 (IOREGSEL keeps 8 bits)");
	__asm__ volatile("movw %0, " XS(IOREGSEL) : : "r"((uint16_t)0x1291) : "memory");
	check_eq(mmio_read32(IOREGSEL), 0x91, "mov r16 -> m16, read as 32 bits");
}

static void
extends(void)
{
	uint32_t v;

	mmio_write8(IOREGSEL, 0x85);
	__asm__ volatile("movzbl " XS(IOREGSEL) ", %0" : "=r"(v) : : "memory");
	check_eq(v, 0x85, "movzx r32, m8");
	__asm__ volatile("movsbl " XS(IOREGSEL) ", %0" : "=r"(v) : : "memory");
	check_eq(v, 0xffffff85, "movsx r32, m8");
	__asm__ volatile("movzwl " XS(IOREGSEL) ", %0" : "=r"(v) : : "memory");
	check_eq(v, 0x85, "movzx r32, m16");
	__asm__ volatile("movswl " XS(IOREGSEL) ", %0" : "=r"(v) : : "memory");
	check_eq(v, 0x85, "movsx r32, m16");
	__asm__ volatile("movl $0xffffffff, %0; movzbw " XS(IOREGSEL) ", %w0" : "=r"(v) : : "memory");
	check_eq(v, 0xffff0085, "movzx r16, m8 (upper half kept)");
}

static void
alu(void)
{
	uint8_t zf, cf;

	set_icr(0xf0f0f0f0);
	__asm__ volatile("andl $0x0ff00ff0, " XS(ICR) : : : "memory", "cc");
	check_eq(mmio_read32(ICR), 0x00f000f0, "and m32, imm32");
	__asm__ volatile("orl %0, " XS(ICR) : : "r"(0x01000001u) : "memory", "cc");
	check_eq(mmio_read32(ICR), 0x01f000f1, "or m32, r32");
	__asm__ volatile("xorl $0x11, " XS(ICR) : : : "memory", "cc");
	check_eq(mmio_read32(ICR), 0x01f000e0, "xor m32, imm8");
	__asm__ volatile("addl $0x20, " XS(ICR) : : : "memory", "cc");
	check_eq(mmio_read32(ICR), 0x01f00100, "add m32, imm8");
	__asm__ volatile("subl %0, " XS(ICR) : : "r"(0x100u) : "memory", "cc");
	check_eq(mmio_read32(ICR), 0x01f00000, "sub m32, r32");
	__asm__ volatile("andl $0, " XS(ICR) "; setz %0" : "=q"(zf) : : "memory", "cc");
	check(zf == 1 && mmio_read32(ICR) == 0, "and m32, 0 sets ZF");
	set_icr(0x80000001);
	{
		uint32_t r = 0xffff0003;

		__asm__ volatile("andl " XS(ICR) ", %0" : "+r"(r) : : "memory", "cc");
		check_eq(r, 0x80000001, "and r32, m32");
		r = 0x10;
		__asm__ volatile("orl " XS(ICR) ", %0" : "+r"(r) : : "memory", "cc");
		check_eq(r, 0x80000011, "or r32, m32");
		r = 0x80000000;
		__asm__ volatile("xorl " XS(ICR) ", %0" : "+r"(r) : : "memory", "cc");
		check_eq(r, 1, "xor r32, m32");
	}
	__asm__ volatile("testl $0x80000000, " XS(ICR) "; setz %0" : "=q"(zf) : : "memory", "cc");
	check_eq(zf, 0, "test m32, imm32 (bit set: ZF clear)");
	__asm__ volatile("testl %1, " XS(ICR) "; setz %0" : "=q"(zf) : "r"(0x2u) : "memory", "cc");
	check_eq(zf, 1, "test m32, r32 (bit clear: ZF set)");
	__asm__ volatile("cmpl %2, " XS(ICR) "; setz %0; setc %1" : "=q"(zf), "=q"(cf)
	    : "r"(0x80000001u) : "memory", "cc");
	check(zf == 1 && cf == 0, "cmp m32, r32 (equal)");
	__asm__ volatile("cmpl " XS(ICR) ", %2; setz %0; setc %1" : "=q"(zf), "=q"(cf)
	    : "r"(0x7fffffffu) : "memory", "cc");
	check(zf == 0 && cf == 1, "cmp r32, m32 (below)");
	__asm__ volatile("cmpl $0x80000002, " XS(ICR) "; setc %0" : "=q"(cf) : : "memory", "cc");
	check_eq(cf, 1, "cmp m32, imm32 (below)");

	mmio_write8(IOREGSEL, 0x40);
	__asm__ volatile("orb $0x05, " XS(IOREGSEL) : : : "memory", "cc");
	check_eq(mmio_read8(IOREGSEL), 0x45, "or m8, imm8");
	__asm__ volatile("andb $0x0f, " XS(IOREGSEL) : : : "memory", "cc");
	check_eq(mmio_read8(IOREGSEL), 0x05, "and m8, imm8");
	__asm__ volatile("xorb %0, " XS(IOREGSEL) : : "q"((uint8_t)0xff) : "memory", "cc");
	check_eq(mmio_read8(IOREGSEL), 0xfa, "xor m8, r8");
	__asm__ volatile("testb $0x02, " XS(IOREGSEL) "; setz %0" : "=q"(zf) : : "memory", "cc");
	check_eq(zf, 0, "test m8, imm8");
	__asm__ volatile("cmpb $0xfa, " XS(IOREGSEL) "; setz %0" : "=q"(zf) : : "memory", "cc");
	check_eq(zf, 1, "cmp m8, imm8");
}

static void
xchg_and_strings(void)
{
	uint32_t v = 0x5a5a0000, p = ICR;
	uint8_t b = 0x77;

	set_icr(0x1111);
	__asm__ volatile("xchgl %0, " XS(ICR) : "+r"(v) : : "memory");
	check(v == 0x1111 && mmio_read32(ICR) == 0x5a5a0000, "xchg m32, r32");
	mmio_write8(IOREGSEL, 0x21);
	__asm__ volatile("xchgb %0, " XS(IOREGSEL) : "+q"(b) : : "memory");
	check(b == 0x21 && mmio_read8(IOREGSEL) == 0x77, "xchg m8, r8");

	__asm__ volatile("cld; stosl" : "+D"(p) : "a"(0x600d0001u) : "memory");
	check(mmio_read32(ICR) == 0x600d0001 && p == ICR + 4, "stosl (EDI advanced)");
	p = ICR;
	{
		uint32_t n = 1;

		__asm__ volatile("cld; rep stosl" : "+D"(p), "+c"(n) : "a"(0x600d0002u) : "memory");
		check(mmio_read32(ICR) == 0x600d0002 && n == 0, "rep stosl, ECX=1");
	}
	p = IOREGSEL;
	__asm__ volatile("cld; stosb" : "+D"(p) : "a"(0x9e) : "memory");
	check_eq(mmio_read8(IOREGSEL), 0x9e, "stosb");

	ram_word = 0xfeed0042;
	{
		uint32_t s = (uint32_t)&ram_word, d = ICR;

		__asm__ volatile("cld; movsl" : "+S"(s), "+D"(d) : : "memory");
		check(mmio_read32(ICR) == 0xfeed0042 && d == ICR + 4, "movsl RAM -> MMIO");
		set_icr(0x0c0ffee0);
		s = ICR;
		d = (uint32_t)&ram_word;
		__asm__ volatile("cld; movsl" : "+S"(s), "+D"(d) : : "memory");
		check(ram_word == 0x0c0ffee0 && s == ICR + 4, "movsl MMIO -> RAM");
		mmio_write8(IOREGSEL, 0x5d);
		s = IOREGSEL;
		d = (uint32_t)&ram_word;
		__asm__ volatile("cld; movsb" : "+S"(s), "+D"(d) : : "memory");
		check_eq(ram_word & 0xff, 0x5d, "movsb MMIO -> RAM");
	}
}

int
kmain(void)
{
	kprintf("mb_mmio: instruction forms against the local APIC and the IOAPIC\n");
	lapic_enable();
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	moves();
	extends();
	alu();
	xchg_and_strings();
	set_icr(0);
	mmio_write32(IOREGSEL, 1);
	check_eq((mmio_read32(IOWIN) >> 16) & 0xff, 23, "IOWIN: IOAPIC version register, 24 entries");
	return mb_finish();
}
