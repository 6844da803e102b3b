/*
 * The 16550A (vuart.h). One struct, one mutex; the register behaviour is
 * QEMU 7.2's hw/char/serial.c, which the multiboot guests were checked
 * against (guest/mb/mb_uart.c), including where QEMU and the datasheet
 * part:
 *
 * - Transmission is instant: a THR write sends the byte at once (to tx,
 *   or back into the receiver in loopback), so THRE and TEMT are set again
 *   before the write returns. THRE is still an event: the write clears
 *   the THRE interrupt and the end of the transmission arms it again, so
 *   the interrupt line drops and rises (a new edge for the 8259).
 * - The THRE interrupt is cleared by an IIR read that shows it, and armed
 *   by the end of a transmission, an FCR transmit reset, or IER.ETBEI going
 *   from 0 to 1 while THR is empty (Windows needs the last; QEMU does it).
 * - The interrupt line is high whenever IIR shows an interrupt. MCR.OUT2
 *   does not gate it (it does on a real PC; QEMU ignores OUT2).
 * - In loopback the modem inputs are the outputs (DTR->DSR, RTS->CTS,
 *   OUT1->RI, OUT2->DCD) and console input waits in its queue. Outside
 *   loopback MSR reads DCD, DSR and CTS set (no backend changes them).
 * - The FIFO's character timeout is taken as always elapsed: data below
 *   the trigger level gives IIR_CTI at once, where the chip (and QEMU)
 *   would wait four character times. No clock is needed for that.
 * - The divisor, word length, parity and break are stored, not used.
 *
 * Callbacks: the guest's port access and console input change state under
 * uart_lock, and record what the outside must hear (bytes to send, IRQ
 * level changes). Whoever finds no one else doing so then makes those
 * calls with the lock dropped (uart_calling), until none are left, so
 * the calls keep their order and a callback may call back into the chip.
 * IRQ changes are kept as the number of toggles not yet made, at most
 * two: more collapse two at a time (fall-rise-fall-rise is fall-rise),
 * which keeps the final level and at least one fresh edge, as an edge-
 * triggered 8259 input coalesces pulses anyway.
 */
#include "vuart.h"
#include "../../kmem.h"
#include "../../sync.h"
#include "../../tunable.h"

KTUNABLE_TEST(vuart_inject_no_thre_rearm, "the vuart's transmissions do not "
    "arm the THRE interrupt again (a guest waiting for it hangs)");

#define	VUART_TXQ_SIZE	64

/* Field tags: [c] set at create, constant after; [l] under uart_lock. */
struct vuart {
	kmutex_t uart_lock;
	u8 uart_rbr;			/* [l] receive buffer, FIFO off */
	u8 uart_ier;			/* [l] */
	u8 uart_iir;			/* [l] interrupt id, no FIFO bits */
	u8 uart_fcr;			/* [l] FCR_STICKY bits as written */
	u8 uart_lcr;			/* [l] */
	u8 uart_mcr;			/* [l] */
	u8 uart_lsr;			/* [l] */
	u8 uart_msr;			/* [l] outside loopback */
	u8 uart_scr;			/* [l] */
	u16 uart_divisor;		/* [l] DLL | DLM << 8 */
	bool uart_thr_ipending;		/* [l] THRE interrupt armed */
	u8 uart_rx_itl;			/* [l] FIFO trigger level, bytes */
	u8 uart_rxfifo[VUART_FIFO_SIZE]; /* [l] receive FIFO (FCR.FE) */
	u8 uart_rxfifo_head;		/* [l] */
	u8 uart_rxfifo_count;		/* [l] */
	u8 uart_inq[VUART_INQ_SIZE];	/* [l] console input for the chip */
	u8 uart_inq_head;		/* [l] */
	u8 uart_inq_count;		/* [l] */
	u64 uart_rx_dropped;		/* [l] input lost, uart_inq full */
	u8 uart_txq[VUART_TXQ_SIZE];	/* [l] sent, tx not called yet */
	u8 uart_txq_head;		/* [l] */
	u8 uart_txq_count;		/* [l] */
	u64 uart_tx_dropped;		/* [l] uart_txq full (tx too slow) */
	bool uart_irq_level;		/* [l] the chip's interrupt output */
	bool uart_irq_told;		/* [l] the level irq last heard */
	u8 uart_irq_toggles;		/* [l] changes irq has not heard (<= 2) */
	bool uart_calling;		/* [l] a thread is making the calls */
	void (*uart_tx)(void *, u8);	/* [c] */
	void (*uart_irq)(void *, bool);	/* [c] */
	void *uart_arg;			/* [c] */
};

/* Under uart_lock: work out IIR and the line, as QEMU's priorities. */
static void
update_irq(struct vuart *u)
{
	u8 id = IIR_NOPEND, ier = u->uart_ier;

	if ((ier & IER_ELSI) && (u->uart_lsr & LSR_INT_ANY)) {
		id = IIR_RLS;
	} else if ((ier & IER_ERDAI) && (u->uart_lsr & LSR_DR)) {
		if (!(u->uart_fcr & FCR_FE) ||
		    u->uart_rxfifo_count >= u->uart_rx_itl)
			id = IIR_RDA;
		else
			id = IIR_CTI;	/* the timeout, taken as elapsed */
	} else if ((ier & IER_ETBEI) && u->uart_thr_ipending) {
		id = IIR_THRE;
	} else if ((ier & IER_EDSSI) && (u->uart_msr & MSR_DELTA)) {
		id = IIR_MSR;
	}
	u->uart_iir = id;

	bool level = id != IIR_NOPEND;
	if (level != u->uart_irq_level) {
		u->uart_irq_level = level;
		u->uart_irq_toggles++;
		if (u->uart_irq_toggles > 2)
			u->uart_irq_toggles -= 2;	/* same edges, fewer */
	}
}

/* Under uart_lock: a byte arrives at the receiver (QEMU: receive1). */
static void
receive(struct vuart *u, u8 byte)
{
	if (u->uart_fcr & FCR_FE) {
		if (u->uart_rxfifo_count == VUART_FIFO_SIZE) {
			u->uart_lsr |= LSR_OE;	/* the FIFO keeps its bytes */
		} else {
			u->uart_rxfifo[(u->uart_rxfifo_head +
			    u->uart_rxfifo_count) % VUART_FIFO_SIZE] = byte;
			u->uart_rxfifo_count++;
		}
	} else {
		if (u->uart_lsr & LSR_DR)
			u->uart_lsr |= LSR_OE;	/* RBR is overwritten */
		u->uart_rbr = byte;
	}
	u->uart_lsr |= LSR_DR;
	update_irq(u);
}

/*
 * Under uart_lock: move console input into the chip while it has room.
 * Not in loopback: the receiver hears only the transmitter then.
 */
static void
feed_input(struct vuart *u)
{
	while (u->uart_inq_count > 0 && !(u->uart_mcr & MCR_LOOP)) {
		if (u->uart_fcr & FCR_FE ?
		    u->uart_rxfifo_count == VUART_FIFO_SIZE :
		    (u->uart_lsr & LSR_DR) != 0)
			break;
		u8 byte = u->uart_inq[u->uart_inq_head];
		u->uart_inq_head = (u->uart_inq_head + 1) % VUART_INQ_SIZE;
		u->uart_inq_count--;
		receive(u, byte);
	}
}

/* Under uart_lock: the guest wrote THR; the byte goes out at once. */
static void
transmit(struct vuart *u, u8 byte)
{
	u->uart_thr_ipending = false;
	u->uart_lsr &= ~(LSR_THRE | LSR_TEMT);
	update_irq(u);
	/* The shift register took it: THR is empty again. */
	u->uart_lsr |= LSR_THRE;
	if (!vuart_inject_no_thre_rearm)
		u->uart_thr_ipending = true;
	update_irq(u);
	if (u->uart_mcr & MCR_LOOP) {
		receive(u, byte);
	} else if (u->uart_txq_count == VUART_TXQ_SIZE) {
		u->uart_tx_dropped++;
	} else {
		u->uart_txq[(u->uart_txq_head + u->uart_txq_count) %
		    VUART_TXQ_SIZE] = byte;
		u->uart_txq_count++;
	}
	u->uart_lsr |= LSR_TEMT;
}

static void
set_itl(struct vuart *u)
{
	static const u8 itl[4] = { 1, 4, 8, 14 };

	u->uart_rx_itl = itl[(u->uart_fcr & FCR_ITL_MASK) >> 6];
}

static void
write_fcr(struct vuart *u, u8 val)
{
	/* Turning the FIFOs on or off empties both (QEMU, the chip). */
	if ((val ^ u->uart_fcr) & FCR_FE)
		val |= FCR_RFR | FCR_XFR;
	if (val & FCR_RFR) {
		u->uart_lsr &= ~(LSR_DR | LSR_BI);
		u->uart_rxfifo_head = 0;
		u->uart_rxfifo_count = 0;
	}
	if (val & FCR_XFR) {
		u->uart_lsr |= LSR_THRE;
		u->uart_thr_ipending = true;
	}
	u->uart_fcr = val & FCR_STICKY;
	set_itl(u);
	update_irq(u);
}

static void
write_reg(struct vuart *u, u16 off, u8 val)
{
	bool dlab = (u->uart_lcr & LCR_DLAB) != 0;

	switch (off) {
	case UART_THR:
		if (dlab)
			u->uart_divisor = (u->uart_divisor & 0xff00) | val;
		else
			transmit(u, val);
		break;
	case UART_IER:
		if (dlab) {
			u->uart_divisor = (u->uart_divisor & 0x00ff) |
			    (u16)(val << 8);
		} else {
			u8 changed = (u->uart_ier ^ val) & IER_MASK;
			u->uart_ier = val & IER_MASK;
			/* ETBEI 0 -> 1 with THR empty arms THRE again. */
			if (changed & IER_ETBEI)
				u->uart_thr_ipending =
				    (u->uart_ier & IER_ETBEI) &&
				    (u->uart_lsr & LSR_THRE);
			if (changed)
				update_irq(u);
		}
		break;
	case UART_FCR:
		write_fcr(u, val);
		break;
	case UART_LCR:
		u->uart_lcr = val;
		break;
	case UART_MCR:
		u->uart_mcr = val & MCR_MASK;
		break;
	case UART_SCR:
		u->uart_scr = val;
		break;
	default:			/* LSR, MSR: read-only */
		break;
	}
}

static u8
read_rbr(struct vuart *u)
{
	u8 v;

	if (u->uart_fcr & FCR_FE) {
		v = 0;
		if (u->uart_rxfifo_count > 0) {
			v = u->uart_rxfifo[u->uart_rxfifo_head];
			u->uart_rxfifo_head = (u->uart_rxfifo_head + 1) %
			    VUART_FIFO_SIZE;
			u->uart_rxfifo_count--;
		}
		if (u->uart_rxfifo_count == 0)
			u->uart_lsr &= ~(LSR_DR | LSR_BI);
	} else {
		v = u->uart_rbr;
		u->uart_lsr &= ~(LSR_DR | LSR_BI);
	}
	update_irq(u);
	return (v);
}

static u8
read_reg(struct vuart *u, u16 off)
{
	bool dlab = (u->uart_lcr & LCR_DLAB) != 0;
	u8 v, mcr = u->uart_mcr;

	switch (off) {
	case UART_RBR:
		return (dlab ? (u8)u->uart_divisor : read_rbr(u));
	case UART_IER:
		return (dlab ? (u8)(u->uart_divisor >> 8) : u->uart_ier);
	case UART_IIR:
		v = u->uart_iir | ((u->uart_fcr & FCR_FE) ? IIR_FIFO_ON : 0);
		if (u->uart_iir == IIR_THRE) {
			u->uart_thr_ipending = false;	/* seen: cleared */
			update_irq(u);
		}
		return (v);
	case UART_LCR:
		return (u->uart_lcr);
	case UART_MCR:
		return (mcr);
	case UART_LSR:
		v = u->uart_lsr;
		if (v & (LSR_BI | LSR_OE)) {
			u->uart_lsr &= ~(LSR_BI | LSR_OE);
			update_irq(u);
		}
		return (v);
	case UART_MSR:
		if (mcr & MCR_LOOP) {
			return ((u8)((mcr & (MCR_OUT2 | MCR_OUT1)) << 4 |
			    (mcr & MCR_RTS) << 3 | (mcr & MCR_DTR) << 5));
		}
		v = u->uart_msr;
		if (v & MSR_DELTA) {
			u->uart_msr &= ~MSR_DELTA;
			update_irq(u);
		}
		return (v);
	default:			/* UART_SCR */
		return (u->uart_scr);
	}
}

/*
 * Called with uart_lock held; returns with it dropped, after the calls
 * the changes so far owe the outside (unless another thread makes them).
 */
static void
exit_and_call(struct vuart *u)
{
	u8 bytes[VUART_TXQ_SIZE];

	if (u->uart_calling) {
		mutex_exit(&u->uart_lock);
		return;			/* that thread will see our changes */
	}
	u->uart_calling = true;
	for (;;) {
		int n = 0;
		bool toggle = false, level = false;

		while (u->uart_txq_count > 0) {
			bytes[n++] = u->uart_txq[u->uart_txq_head];
			u->uart_txq_head = (u->uart_txq_head + 1) %
			    VUART_TXQ_SIZE;
			u->uart_txq_count--;
		}
		if (u->uart_irq_toggles > 0) {
			u->uart_irq_toggles--;
			u->uart_irq_told = !u->uart_irq_told;
			level = u->uart_irq_told;
			toggle = true;
		}
		if (n == 0 && !toggle)
			break;
		mutex_exit(&u->uart_lock);
		for (int i = 0; i < n; i++) {
			if (u->uart_tx != NULL)
				u->uart_tx(u->uart_arg, bytes[i]);
		}
		if (toggle && u->uart_irq != NULL)
			u->uart_irq(u->uart_arg, level);
		mutex_enter(&u->uart_lock);
	}
	u->uart_calling = false;
	mutex_exit(&u->uart_lock);
}

struct vuart *
vuart_create(void (*tx)(void *, u8), void (*irq)(void *, bool), void *arg)
{
	struct vuart *u = kmem_zalloc(sizeof (*u), KM_SLEEP);

	mutex_init(&u->uart_lock, "vuart");
	u->uart_tx = tx;
	u->uart_irq = irq;
	u->uart_arg = arg;
	/* QEMU's reset state: 9600 8N1, OUT2 set, transmitter empty. */
	u->uart_iir = IIR_NOPEND;
	u->uart_lsr = LSR_TEMT | LSR_THRE;
	u->uart_msr = MSR_DCD | MSR_DSR | MSR_CTS;
	u->uart_divisor = 0x0c;
	u->uart_mcr = MCR_OUT2;
	set_itl(u);
	return (u);
}

void
vuart_destroy(struct vuart *u)
{
	kmem_free(u, sizeof (*u));
}

int
vuart_io(struct vuart *u, u16 offset, bool in, int bytes, u32 *val)
{
	if (offset >= VUART_NREGS)
		return (-1);
	mutex_enter(&u->uart_lock);
	if (in)
		*val = 0;
	for (int i = 0; i < bytes && i < 4; i++) {
		u16 off = (u16)(offset + i);
		if (in) {
			u8 b = off < VUART_NREGS ? read_reg(u, off) : 0xff;
			*val |= (u32)b << (8 * i);
		} else if (off < VUART_NREGS) {
			write_reg(u, off, (u8)(*val >> (8 * i)));
		}
	}
	feed_input(u);		/* a read or a loopback change made room */
	exit_and_call(u);
	return (0);
}

bool
vuart_rx_push(struct vuart *u, u8 byte)
{
	bool taken = true;

	mutex_enter(&u->uart_lock);
	if (u->uart_inq_count == VUART_INQ_SIZE) {
		u->uart_rx_dropped++;
		taken = false;
	} else {
		u->uart_inq[(u->uart_inq_head + u->uart_inq_count) %
		    VUART_INQ_SIZE] = byte;
		u->uart_inq_count++;
		feed_input(u);
	}
	exit_and_call(u);
	return (taken);
}

u64
vuart_rx_dropped(struct vuart *u)
{
	mutex_enter(&u->uart_lock);
	u64 n = u->uart_rx_dropped;
	mutex_exit(&u->uart_lock);
	return (n);
}
