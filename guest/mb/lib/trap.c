/*
 * The IDT (256 interrupt gates to start.asm's stubs), trap dispatch, and the
 * catch that lets a kernel try one faulting instruction.
 */

#include "mb.h"

extern const uint32_t trap_stubs[256];
void trap_dispatch(struct trapframe *tf);

static uint64_t idt[256] __attribute__((aligned(16)));
static trap_handler_t handlers[256];
struct trap_catch trap_catch;

void
trap_set_handler(int vector, trap_handler_t fn)
{
	handlers[vector] = fn;
}

void
idt_load(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) desc = { sizeof(idt) - 1, (uint32_t)idt };

	if (idt[0] == 0) {
		for (int v = 0; v < 256; v++) {
			uint32_t a = trap_stubs[v];

			/* present, DPL 0, 32-bit interrupt gate, selector 0x08 */
			idt[v] = (a & 0xffffu) | (0x08u << 16) |
			    ((uint64_t)(0x8e00u | (a & 0xffff0000u)) << 32);
		}
	}
	__asm__ volatile("lidt %0" : : "m"(desc));
}

void
trap_dispatch(struct trapframe *tf)
{
	int v = (int)tf->vector;

	if (handlers[v] != NULL) {
		handlers[v](tf);
		return;
	}
	if (v < 32 && trap_catch.resume != 0) {
		trap_catch.vector = v;
		trap_catch.error = tf->error;
		trap_catch.eip = tf->eip;
		tf->eip = trap_catch.resume;
		trap_catch.resume = 0;
		return;
	}
	kprintf("FAIL - unexpected trap: vector %u error 0x%x at eip 0x%x\n", tf->vector,
	    tf->error, tf->eip);
	mb_exit(1);
}

/*
 * The resume label follows the instruction: the handler sends EIP there, with
 * the registers as they were at the fault (popad), so a faulting RDMSR
 * leaves EDX:EAX at their inputs.
 */
int
rdmsr_safe(uint32_t msr, uint64_t *val, uint32_t *error)
{
	uint32_t lo = (uint32_t)*val, hi = (uint32_t)(*val >> 32);

	trap_catch.vector = -1;
	__asm__ volatile("movl $1f, %[resume]\n\t"
			 "rdmsr\n"
			 "1:\tmovl $0, %[resume]"
	    : "+a"(lo), "+d"(hi), [resume] "=m"(trap_catch.resume)
	    : "c"(msr)
	    : "memory");
	*val = ((uint64_t)hi << 32) | lo;
	if (error != NULL)
		*error = trap_catch.error;
	return trap_catch.vector;
}

int
wrmsr_safe(uint32_t msr, uint64_t val, uint32_t *error)
{
	trap_catch.vector = -1;
	__asm__ volatile("movl $1f, %[resume]\n\t"
			 "wrmsr\n"
			 "1:\tmovl $0, %[resume]"
	    : [resume] "=m"(trap_catch.resume)
	    : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
	    : "memory");
	if (error != NULL)
		*error = trap_catch.error;
	return trap_catch.vector;
}
