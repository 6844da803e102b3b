/*
 * Suite "vio", the 16550A (kern/vmm/io/vuart.c), driven through its
 * register offsets as a guest would, with callbacks that record what
 * was sent and every change of the interrupt line. The expected values
 * are QEMU 7.2's (guest/mb/mb_uart.c checks the same under plain QEMU).
 */
#include "ktest.h"
#include "../kern/vmm/io/vuart.h"

extern bool vuart_inject_no_thre_rearm;

struct uart_rec {
	struct vuart *u;
	u8 tx[128];
	int ntx;
	bool level;		/* the line as the callbacks left it */
	int rises, falls;
	bool bad_order;		/* a call repeated the level it had */
	bool echo;		/* tx pushes the byte back as input */
};

static void
rec_tx(void *arg, u8 b)
{
	struct uart_rec *r = arg;

	if (r->ntx < (int)sizeof (r->tx))
		r->tx[r->ntx] = b;
	r->ntx++;
	if (r->echo)
		(void)vuart_rx_push(r->u, (u8)(b + 1));
}

static void
rec_irq(void *arg, bool level)
{
	struct uart_rec *r = arg;

	if (level == r->level)
		r->bad_order = true;
	r->level = level;
	if (level)
		r->rises++;
	else
		r->falls++;
}

static struct vuart *
uart_new(struct uart_rec *r)
{
	memset(r, 0, sizeof (*r));
	r->u = vuart_create(rec_tx, rec_irq, r);
	return (r->u);
}

static void
uout(struct vuart *u, u16 off, u32 v)
{
	KT_EXPECT(vuart_io(u, off, false, 1, &v) == 0, "offset %u refused",
	    off);
}

static u32
uin(struct vuart *u, u16 off)
{
	u32 v = 0xdead;

	KT_EXPECT(vuart_io(u, off, true, 1, &v) == 0, "offset %u refused",
	    off);
	return (v);
}

KTEST(vio, uart_reset_scratch)
{
	struct uart_rec r;
	struct vuart *u = uart_new(&r);
	u32 v = 0;

	KT_EXPECT(uin(u, UART_IER) == 0 && uin(u, UART_IIR) == IIR_NOPEND &&
	    uin(u, UART_LCR) == 0 && uin(u, UART_MCR) == MCR_OUT2,
	    "reset IER %x IIR %x LCR %x MCR %x", uin(u, UART_IER),
	    uin(u, UART_IIR), uin(u, UART_LCR), uin(u, UART_MCR));
	KT_EXPECT(uin(u, UART_LSR) == (LSR_THRE | LSR_TEMT), "reset LSR 0x%x",
	    uin(u, UART_LSR));
	KT_EXPECT(uin(u, UART_MSR) == (MSR_DCD | MSR_DSR | MSR_CTS),
	    "reset MSR 0x%x", uin(u, UART_MSR));
	uout(u, UART_SCR, 0x5a);
	KT_EXPECT(uin(u, UART_SCR) == 0x5a, "scratch 0x%x", uin(u, UART_SCR));
	uout(u, UART_SCR, 0xa5);
	KT_EXPECT(uin(u, UART_SCR) == 0xa5, "scratch 0x%x", uin(u, UART_SCR));
	KT_EXPECT(vuart_io(u, 8, true, 1, &v) == -1, "offset 8 claimed");
	/* A word write at SCR: 0x7 gets the low byte, 0x8 is not ours. */
	v = 0x1234;
	vuart_io(u, UART_SCR, false, 2, &v);
	vuart_io(u, UART_SCR, true, 2, &v);
	KT_EXPECT(v == 0xff34, "word read at SCR 0x%x", v);
	uout(u, UART_LSR, 0);
	KT_EXPECT(uin(u, UART_LSR) == (LSR_THRE | LSR_TEMT), "LSR writable");
	KT_EXPECT(r.ntx == 0 && r.rises == 0, "%d bytes sent, %d rises",
	    r.ntx, r.rises);
	vuart_destroy(u);
}

KTEST(vio, uart_dlab)
{
	struct uart_rec r;
	struct vuart *u = uart_new(&r);

	uout(u, UART_LCR, 0x83);
	KT_EXPECT(uin(u, UART_LCR) == 0x83, "LCR 0x%x", uin(u, UART_LCR));
	KT_EXPECT(uin(u, UART_DLL) == 0x0c && uin(u, UART_DLM) == 0,
	    "reset divisor %x:%x (want 9600 baud, 0x000c)", uin(u, UART_DLM),
	    uin(u, UART_DLL));
	uout(u, UART_DLL, 0x0c);
	uout(u, UART_DLM, 0x02);
	KT_EXPECT(uin(u, UART_DLL) == 0x0c && uin(u, UART_DLM) == 0x02,
	    "divisor %x:%x", uin(u, UART_DLM), uin(u, UART_DLL));
	KT_EXPECT(r.ntx == 0, "a DLL write was transmitted");
	uout(u, UART_DLL, 0x01);
	uout(u, UART_DLM, 0x00);
	uout(u, UART_LCR, 0x1b);
	KT_EXPECT(uin(u, UART_LCR) == 0x1b, "LCR 0x%x", uin(u, UART_LCR));
	KT_EXPECT(uin(u, UART_IER) == 0, "DLAB clear: IER 0x%x",
	    uin(u, UART_IER));
	uout(u, UART_IER, 0x0d);
	KT_EXPECT(uin(u, UART_IER) == 0x0d, "IER 0x%x", uin(u, UART_IER));
	uout(u, UART_IER, 0xff);
	KT_EXPECT(uin(u, UART_IER) == 0x0f, "IER keeps 4 bits: 0x%x",
	    uin(u, UART_IER));
	uout(u, UART_IER, 0);
	uout(u, UART_LCR, 0x83);
	KT_EXPECT(uin(u, UART_DLL) == 0x01 && uin(u, UART_DLM) == 0,
	    "divisor lost its value");
	uout(u, UART_LCR, 0x03);
	uout(u, UART_THR, 'A');
	KT_EXPECT(r.ntx == 1 && r.tx[0] == 'A', "THR after DLAB: %d bytes",
	    r.ntx);
	vuart_destroy(u);
}

KTEST(vio, uart_tx_lsr)
{
	struct uart_rec r;
	struct vuart *u = uart_new(&r);
	const char *msg = "hello, 16550";

	for (const char *p = msg; *p != '\0'; p++) {
		uout(u, UART_THR, (u8)*p);
		KT_EXPECT((uin(u, UART_LSR) & (LSR_THRE | LSR_TEMT)) ==
		    (LSR_THRE | LSR_TEMT), "LSR 0x%x after a write",
		    uin(u, UART_LSR));
	}
	KT_EXPECT(r.ntx == (int)strlen(msg) && memcmp(r.tx, msg, r.ntx) == 0,
	    "sent %d bytes, want %d in order", r.ntx, (int)strlen(msg));
	KT_EXPECT(!(uin(u, UART_LSR) & LSR_DR), "DR with nothing received");
	/* FIFO mode sends the same way. */
	uout(u, UART_FCR, 0x07);
	uout(u, UART_THR, '!');
	KT_EXPECT(r.ntx == (int)strlen(msg) + 1 && r.tx[r.ntx - 1] == '!',
	    "FIFO mode: %d bytes", r.ntx);
	KT_EXPECT(r.rises == 0, "an interrupt without IER");
	vuart_destroy(u);
}

KTEST(vio, uart_fifo_iir)
{
	struct uart_rec r;
	struct vuart *u = uart_new(&r);

	uout(u, UART_FCR, 0x07);
	KT_EXPECT(uin(u, UART_IIR) == 0xc1, "IIR 0x%x with the FIFO on",
	    uin(u, UART_IIR));
	uout(u, UART_FCR, 0x00);
	KT_EXPECT(uin(u, UART_IIR) == 0x01, "IIR 0x%x with it off",
	    uin(u, UART_IIR));
	/* Trigger level 14: fewer bytes give the timeout id, then data. */
	uout(u, UART_FCR, 0xc7);
	uout(u, UART_IER, IER_ERDAI);
	for (int i = 0; i < 3; i++)
		KT_EXPECT(vuart_rx_push(u, (u8)('a' + i)), "push refused");
	KT_EXPECT(uin(u, UART_IIR) == (IIR_FIFO_ON | IIR_CTI), "IIR 0x%x with 3 "
	    "bytes under trigger 14", uin(u, UART_IIR));
	KT_EXPECT(r.level && r.rises == 1, "line %d, %d rises", r.level,
	    r.rises);
	for (int i = 3; i < 20; i++)
		KT_EXPECT(vuart_rx_push(u, (u8)('a' + i)), "push refused");
	KT_EXPECT(uin(u, UART_IIR) == (IIR_FIFO_ON | IIR_RDA), "IIR 0x%x at "
	    "the trigger level", uin(u, UART_IIR));
	KT_EXPECT(!(uin(u, UART_LSR) & LSR_OE), "overrun from console input");
	for (int i = 0; i < 20; i++) {
		KT_EXPECT(uin(u, UART_LSR) & LSR_DR, "DR clear at byte %d", i);
		u32 c = uin(u, UART_RBR);
		KT_EXPECT(c == (u32)('a' + i), "byte %d is 0x%x", i, c);
	}
	KT_EXPECT(!(uin(u, UART_LSR) & LSR_DR), "DR after the last byte");
	KT_EXPECT(uin(u, UART_RBR) == 0, "empty FIFO reads 0");
	KT_EXPECT(uin(u, UART_IIR) == 0xc1 && !r.level, "IIR 0x%x, line %d "
	    "once drained", uin(u, UART_IIR), r.level);
	/* The receive reset empties the FIFO. */
	vuart_rx_push(u, 'x');
	uout(u, UART_FCR, 0xc7 | FCR_RFR);
	KT_EXPECT(!(uin(u, UART_LSR) & LSR_DR), "RFR left data");
	KT_EXPECT(!r.bad_order, "the irq callback repeated a level");
	vuart_destroy(u);
}

/* IER.ETBEI with THR empty: one rise; the rises a write adds. */
static int
thre_rearm_rises(void)
{
	struct uart_rec r;
	struct vuart *u = uart_new(&r);

	uout(u, UART_MCR, MCR_LOOP | 0x0b);
	uout(u, UART_IER, IER_ETBEI);
	KT_EXPECT(r.rises == 1 && r.level, "ETBEI: %d rises", r.rises);
	KT_EXPECT(uin(u, UART_IIR) == IIR_THRE, "the handler's IIR read");
	KT_EXPECT(uin(u, UART_IIR) == IIR_NOPEND && !r.level, "the IIR read "
	    "did not clear THRE (line %d)", r.level);
	uout(u, UART_THR, 0x55);
	int rises = r.rises;
	KT_EXPECT(uin(u, UART_RBR) == 0x55, "loopback byte");
	KT_EXPECT(r.ntx == 0, "loopback byte went out");
	vuart_destroy(u);
	return (rises);
}

KTEST(vio, uart_thre_interrupt)
{
	KT_EXPECT(thre_rearm_rises() == 2, "a THR write did not give a "
	    "second THRE interrupt");

	struct uart_rec r;
	struct vuart *u = uart_new(&r);

	uout(u, UART_IER, IER_ETBEI);
	KT_EXPECT(r.rises == 1, "%d rises", r.rises);
	/* Written again with ETBEI already on: nothing new. */
	uout(u, UART_IER, IER_ETBEI);
	KT_EXPECT(r.rises == 1, "an IER write without a change rearmed");
	(void)uin(u, UART_IIR);
	KT_EXPECT(!r.level, "line high after the IIR read");
	/* Off and on again re-arms it (QEMU; Windows relies on it). */
	uout(u, UART_IER, 0);
	uout(u, UART_IER, IER_ETBEI);
	KT_EXPECT(r.rises == 2 && r.level, "IER toggle: %d rises", r.rises);
	/* An IIR read showing another id leaves THRE armed. */
	uout(u, UART_IER, IER_ETBEI | IER_ERDAI);
	vuart_rx_push(u, 'q');
	KT_EXPECT(uin(u, UART_IIR) == IIR_RDA, "data over THRE");
	KT_EXPECT(uin(u, UART_RBR) == 'q', "RBR");
	KT_EXPECT(uin(u, UART_IIR) == IIR_THRE, "THRE lost to an RDA read");
	/* Transmit FIFO reset arms it too. */
	KT_EXPECT(uin(u, UART_IIR) == IIR_NOPEND, "THRE not cleared");
	uout(u, UART_FCR, FCR_FE | FCR_XFR);
	KT_EXPECT(uin(u, UART_IIR) == (IIR_FIFO_ON | IIR_THRE), "XFR: IIR 0x%x",
	    uin(u, UART_IIR));
	KT_EXPECT(!r.bad_order, "the irq callback repeated a level");
	vuart_destroy(u);
}

/* The control: without the re-arm the check above must fail. */
KTEST(vio, uart_no_thre_rearm_caught)
{
	vuart_inject_no_thre_rearm = true;
	int rises = thre_rearm_rises();
	vuart_inject_no_thre_rearm = false;
	KT_EXPECT(rises == 1, "with transmissions not re-arming THRE the "
	    "write still gave %d rises", rises);
}

KTEST(vio, uart_priorities)
{
	struct uart_rec r;
	struct vuart *u = uart_new(&r);

	/* Loopback without FIFO: two bytes unread overrun RBR. */
	uout(u, UART_MCR, MCR_LOOP);
	uout(u, UART_THR, 0x11);
	uout(u, UART_THR, 0x22);
	uout(u, UART_IER, IER_MASK);
	KT_EXPECT(uin(u, UART_IIR) == IIR_RLS, "IIR 0x%x: line status first",
	    uin(u, UART_IIR));
	u32 lsr = uin(u, UART_LSR);
	KT_EXPECT((lsr & (LSR_OE | LSR_DR)) == (LSR_OE | LSR_DR), "LSR 0x%x",
	    lsr);
	KT_EXPECT(!(uin(u, UART_LSR) & LSR_OE), "the LSR read kept OE");
	KT_EXPECT(uin(u, UART_IIR) == IIR_RDA, "IIR 0x%x: data next",
	    uin(u, UART_IIR));
	KT_EXPECT(uin(u, UART_RBR) == 0x22, "the overrun kept the last byte");
	KT_EXPECT(uin(u, UART_IIR) == IIR_THRE, "IIR 0x%x: THRE last",
	    uin(u, UART_IIR));
	KT_EXPECT(uin(u, UART_IIR) == IIR_NOPEND, "IIR 0x%x at the end",
	    uin(u, UART_IIR));
	KT_EXPECT(!r.level && r.rises == 1 && r.falls == 1, "line %d, %d "
	    "rises, %d falls (one interrupt throughout)", r.level, r.rises,
	    r.falls);
	/* OUT2 does not gate the line (QEMU). */
	uout(u, UART_MCR, 0);
	uout(u, UART_IER, 0);
	uout(u, UART_IER, IER_ETBEI);
	KT_EXPECT(r.level, "OUT2 clear held the line low");
	vuart_destroy(u);
}

KTEST(vio, uart_loopback)
{
	struct uart_rec r;
	struct vuart *u = uart_new(&r);

	uout(u, UART_MCR, MCR_LOOP | 0x0b);
	KT_EXPECT(uin(u, UART_MCR) == 0x1b, "MCR 0x%x", uin(u, UART_MCR));
	KT_EXPECT((uin(u, UART_MSR) & 0xf0) == 0xb0, "MSR 0x%x from OUT2, RTS, "
	    "DTR", uin(u, UART_MSR));
	uout(u, UART_MCR, MCR_LOOP | MCR_OUT1);
	KT_EXPECT(uin(u, UART_MSR) == MSR_RI, "MSR 0x%x from OUT1",
	    uin(u, UART_MSR));
	uout(u, UART_MCR, MCR_LOOP | 0x0b);
	vuart_rx_push(u, 'C');		/* console input waits */
	uout(u, UART_THR, 0x42);
	KT_EXPECT(uin(u, UART_LSR) & LSR_DR, "no DR after a loopback write");
	KT_EXPECT(uin(u, UART_RBR) == 0x42, "RBR is not the byte sent");
	KT_EXPECT(!(uin(u, UART_LSR) & LSR_DR), "DR after the read");
	uout(u, UART_THR, 0xa7);
	KT_EXPECT(uin(u, UART_RBR) == 0xa7, "second byte");
	KT_EXPECT(r.ntx == 0, "%d loopback bytes were sent", r.ntx);
	uout(u, UART_MCR, 0x03);
	KT_EXPECT(uin(u, UART_LSR) & LSR_DR, "console input after loopback");
	KT_EXPECT(uin(u, UART_RBR) == 'C', "console byte");
	KT_EXPECT(uin(u, UART_MSR) == 0xb0, "MSR 0x%x outside loopback",
	    uin(u, UART_MSR));
	uout(u, UART_THR, 'Z');
	KT_EXPECT(r.ntx == 1 && r.tx[0] == 'Z', "not sent after loopback");
	vuart_destroy(u);
}

KTEST(vio, uart_rx_queue)
{
	struct uart_rec r;
	struct vuart *u = uart_new(&r);

	uout(u, UART_IER, IER_ERDAI);
	for (int i = 0; i < VUART_INQ_SIZE + 1; i++)
		KT_EXPECT(vuart_rx_push(u, (u8)i), "byte %d refused", i);
	/* RBR holds one byte, the queue the rest; one more is dropped. */
	KT_EXPECT(!vuart_rx_push(u, 0xee), "a full queue took a byte");
	KT_EXPECT(vuart_rx_dropped(u) == 1, "%lu dropped",
	    vuart_rx_dropped(u));
	KT_EXPECT(r.level && uin(u, UART_IIR) == IIR_RDA, "no data interrupt");
	for (int i = 0; i < VUART_INQ_SIZE + 1; i++) {
		u32 lsr = uin(u, UART_LSR);
		KT_EXPECT((lsr & (LSR_DR | LSR_OE)) == LSR_DR, "LSR 0x%x at %d",
		    lsr, i);
		KT_EXPECT(uin(u, UART_RBR) == (u32)i, "byte %d wrong", i);
	}
	KT_EXPECT(!(uin(u, UART_LSR) & LSR_DR) && !r.level, "data left");
	KT_EXPECT(r.rises == r.falls && !r.bad_order, "%d rises, %d falls",
	    r.rises, r.falls);
	vuart_destroy(u);
}

/* tx calls back into the chip: the lock is not held across callbacks. */
KTEST(vio, uart_callback_reentry)
{
	struct uart_rec r;
	struct vuart *u = uart_new(&r);

	r.echo = true;
	uout(u, UART_IER, IER_ERDAI);
	uout(u, UART_THR, 'a');
	KT_EXPECT(r.ntx == 1, "%d bytes sent", r.ntx);
	KT_EXPECT(r.level, "the echo did not raise the line");
	KT_EXPECT(uin(u, UART_RBR) == 'b', "echoed byte");
	KT_EXPECT(!r.level, "line high after the read");
	vuart_destroy(u);
}
