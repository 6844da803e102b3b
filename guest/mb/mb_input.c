/*
 * mb_input: reads a line typed on its console (COM1), taken by the receive
 * interrupt (IER bit 0, IRQ4 through the 8259) while it sleeps in `sti;
 * hlt`, and prints it back.  Args: want=<the line expected> (no spaces).
 * Under plain QEMU the line comes from QEMU's serial backend; under
 * bhyvelet from the host's console, which hands it to the guest's 16550A.
 */

#include "mb.h"

#define COM1		0x3f8
#define RBR		0
#define IER		1
#define IIR		2
#define MCR		4
#define LSR		5
#define LSR_DR		0x01
#define IER_RDA		0x01
#define MCR_OUT2	0x08
#define IRQ_COM1	4
#define LINE_MAX	64

static char line[LINE_MAX];
static volatile int nline, done, irqs;

static void
com1_irq(struct trapframe *tf)
{
	(void)tf;
	irqs++;
	while ((inb(COM1 + LSR) & LSR_DR) != 0) {
		char c = (char)inb(COM1 + RBR);
		if (c == '\r' || c == '\n')
			done = 1;
		else if (!done && nline < LINE_MAX - 1)
			line[nline++] = c;
	}
	pic_eoi(IRQ_COM1);
}

int
kmain(void)
{
	char want[LINE_MAX];

	kprintf("mb_input: a line typed on COM1, by its receive interrupt\n");
	check(mb_arg("want", want, sizeof(want)) != 0, "cmdline has want=<line>");
	trap_set_handler(PIC_BASE + IRQ_COM1, com1_irq);
	pic_mask((uint16_t)(0xffff & ~(1u << IRQ_COM1) & ~(1u << 2)));
	outb(COM1 + MCR, 0x03 | MCR_OUT2);
	outb(COM1 + IER, IER_RDA);
	kprintf("mb_input: ready, type a line\n");
	/* The alarm of wait_for is the PIT: 10 s for the line. */
	int got = wait_for(&done, 1, 10000);
	outb(COM1 + IER, 0);
	line[nline] = '\0';
	if (check(got, "a whole line arrived within 10 s"))
		kprintf("mb_input: got \"%s\"\n", line);
	check(irqs > 0, "it came by IRQ4");
	check(strcmp(line, want) == 0, "the line is the want= one");
	return mb_finish();
}
