/*
 * mb_uart: COM1 as a 16550A at 0x3F8: scratch, the divisor latch (DLAB),
 * LCR, IER, IIR with and without the FIFO, LSR THRE/TEMT, loopback (MCR bit
 * 4: a byte written comes back in RBR, the modem outputs come back in MSR),
 * and the THRE interrupt as IRQ4 through the 8259 (vector PIC_BASE + 4)
 * waking `sti; hlt`.  Only what QEMU's 16550A does the same way every run.
 */

#include "mb.h"

#define COM1	0x3f8
#define RBR	0
#define THR	0
#define DLL	0
#define IER	1
#define DLM	1
#define IIR	2
#define FCR	2
#define LCR	3
#define MCR	4
#define LSR	5
#define MSR	6
#define SCR	7

#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MCR_LOOP	0x10
#define IER_THRE	0x02
#define IRQ_COM1	4

static volatile int irq4_count;
static volatile uint8_t irq4_iir;

/*
 * In loopback mode or with DLAB set our own output would not go out:
 * checks made then are kept and printed once the UART is back to normal.
 */
struct later {
	uint32_t got, want;
	const char *what;
};
static struct later later[16];
static int nlater;

static void
check_later(uint32_t got, uint32_t want, const char *what)
{
	if (nlater < (int)nitems(later))
		later[nlater++] = (struct later){ got, want, what };
}

static void
flush_later(void)
{
	for (int i = 0; i < nlater; i++)
		check_eq(later[i].got, later[i].want, "%s", later[i].what);
	nlater = 0;
}

static uint8_t uin(int r) { return inb((uint16_t)(COM1 + r)); }
static void uout(int r, uint8_t v) { outb((uint16_t)(COM1 + r), v); }

/* The transmitter empties on its own: wait for THRE and TEMT, bounded. */
static uint8_t
wait_lsr(uint8_t bits)
{
	uint8_t lsr = 0;

	for (int i = 0; i < 1000000; i++) {
		lsr = uin(LSR);
		if ((lsr & bits) == bits)
			break;
		pause();
	}
	return lsr;
}

/* The first IIR read in the handler takes the THRE interrupt away. */
static void
irq4(struct trapframe *tf)
{
	(void)tf;
	irq4_iir = uin(IIR);
	irq4_count++;
	pic_eoi(IRQ_COM1);
}

static void
registers(void)
{
	uout(SCR, 0x5a);
	check_eq(uin(SCR), 0x5a, "scratch holds 0x5a");
	uout(SCR, 0xa5);
	check_eq(uin(SCR), 0xa5, "scratch holds 0xa5");

	/* With DLAB set our output would go to the divisor: print after. */
	uout(LCR, 0x83);
	check_later(uin(LCR), 0x83, "LCR reads back 0x83 (DLAB set, 8 bits)");
	uout(DLL, 0x0c);
	uout(DLM, 0x02);
	check_later(uin(DLL), 0x0c, "DLAB: divisor low reads back");
	check_later(uin(DLM), 0x02, "DLAB: divisor high reads back");
	uout(DLL, 0x01);
	uout(DLM, 0x00);
	uout(LCR, 0x1b);
	flush_later();
	check_eq(uin(LCR), 0x1b, "LCR reads back 0x1b (8E1, DLAB clear)");
	uout(LCR, 0x03);
	check_eq(uin(IER), 0x00, "DLAB clear: offset 1 is IER again (0)");

	uout(IER, 0x0d);
	check_eq(uin(IER), 0x0d, "IER reads back 0x0d");
	uout(IER, 0x00);
	check_eq(uin(IIR), 0x01, "IIR 0x01: no interrupt pending, FIFO off");
	uout(FCR, 0x07);
	check_eq(uin(IIR), 0xc1, "IIR 0xc1 with the FIFO on");
	uout(FCR, 0x00);
	check_eq(uin(IIR), 0x01, "IIR 0x01 with the FIFO off again");
	check_eq(wait_lsr(LSR_THRE | LSR_TEMT) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT,
	    "LSR THRE and TEMT set when idle");
	check_eq(uin(LSR) & LSR_DR, 0, "LSR DR clear: nothing received");
}

static void
loopback(void)
{
	wait_lsr(LSR_THRE | LSR_TEMT);
	uout(MCR, MCR_LOOP | 0x0b);		/* loop, OUT2, RTS, DTR */
	check_later(uin(MCR), MCR_LOOP | 0x0b, "MCR reads back 0x1b");
	(void)uin(MSR);				/* clear the delta bits */
	check_later(uin(MSR) & 0xf0, 0xb0, "loopback: MSR DCD, DSR, CTS from OUT2, DTR, RTS");
	uout(THR, 0x42);
	check_later(wait_lsr(LSR_DR) & LSR_DR, LSR_DR, "loopback: LSR DR after a write");
	check_later(uin(RBR), 0x42, "loopback: RBR gives the byte back");
	check_later(uin(LSR) & LSR_DR, 0, "loopback: LSR DR clear after the read");
	uout(THR, 0xa7);
	wait_lsr(LSR_DR);
	check_later(uin(RBR), 0xa7, "loopback: a second byte");
	uout(MCR, 0x03);
	flush_later();
	uout(MCR, MCR_LOOP | 0x0b);
}

/* Still in loopback, so the byte that rearms THRE goes nowhere. */
static void
thre_interrupt(void)
{
	int before;

	trap_set_handler(PIC_BASE + IRQ_COM1, irq4);
	wait_lsr(LSR_THRE | LSR_TEMT);
	pic_mask((uint16_t)~(1u << IRQ_COM1));
	cli();
	uout(IER, IER_THRE);
	wait_for(&irq4_count, 1, 500);
	before = irq4_count;
	check_later((uint32_t)before, 1, "IER THRE with THR empty: one IRQ4 wakes sti; hlt");
	check_later(irq4_iir, 0x02, "in the handler IIR = 0x02 (THRE)");
	check_later(uin(IIR), 0x01, "IIR 0x01 after the handler's read");

	uout(THR, 0x55);
	wait_lsr(LSR_DR);
	wait_for(&irq4_count, 2, 500);
	check_later((uint32_t)irq4_count, 2, "a write rearms it: a second IRQ4 once THR empties");
	(void)uin(RBR);

	uout(IER, 0x00);
	pic_mask(0xffff);
	uout(MCR, 0x03);
	flush_later();
}

int
kmain(void)
{
	kprintf("mb_uart: the 16550A at 0x3F8\n");
	registers();
	loopback();
	thre_interrupt();
	uout(MCR, 0x03);
	return mb_finish();
}
