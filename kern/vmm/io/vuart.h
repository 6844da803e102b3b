/*
 * vuart: a 16550A UART as QEMU 7.2's PC has it at COM1 (0x3F8, IRQ4),
 * addressed by register offset 0-7 so the caller picks the base: RBR/THR,
 * IER, IIR/FCR (16-byte FIFOs), LCR with the divisor latch (DLAB), MCR with
 * loopback, LSR, MSR and the scratch register. A leaf device model: bytes
 * the guest transmits go to a tx callback, console input comes in through
 * vuart_rx_push(), and the interrupt line goes to an irq callback. Where it
 * follows QEMU rather than the datasheet, vuart.c says so.
 */
#ifndef _KERN_VMM_IO_VUART_H
#define _KERN_VMM_IO_VUART_H

#include "../../types.h"

#define	VUART_COM1_BASE		0x3f8
#define	VUART_COM1_IRQ		4
#define	VUART_NREGS		8
#define	VUART_FIFO_SIZE		16
#define	VUART_INQ_SIZE		64	/* console input waiting for the chip */

/* Register offsets (DLAB selects DLL/DLM at 0 and 1). */
#define	UART_RBR		0	/* read */
#define	UART_THR		0	/* write */
#define	UART_DLL		0	/* DLAB */
#define	UART_IER		1
#define	UART_DLM		1	/* DLAB */
#define	UART_IIR		2	/* read */
#define	UART_FCR		2	/* write */
#define	UART_LCR		3
#define	UART_MCR		4
#define	UART_LSR		5
#define	UART_MSR		6
#define	UART_SCR		7

#define	IER_ERDAI		0x01	/* received data available */
#define	IER_ETBEI		0x02	/* transmitter holding register empty */
#define	IER_ELSI		0x04	/* receiver line status */
#define	IER_EDSSI		0x08	/* modem status */
#define	IER_MASK		0x0f

#define	IIR_NOPEND		0x01	/* no interrupt pending */
#define	IIR_ID_MASK		0x0e
#define	IIR_MSR			0x00	/* modem status (lowest priority) */
#define	IIR_THRE		0x02
#define	IIR_RDA			0x04	/* received data (trigger level) */
#define	IIR_RLS			0x06	/* receiver line status (highest) */
#define	IIR_CTI			0x0c	/* character timeout (FIFO mode) */
#define	IIR_FIFO_ON		0xc0	/* both bits set while FCR.FE */

#define	FCR_FE			0x01	/* FIFO enable */
#define	FCR_RFR			0x02	/* receive FIFO reset */
#define	FCR_XFR			0x04	/* transmit FIFO reset */
#define	FCR_DMS			0x08	/* DMA mode select (stored) */
#define	FCR_ITL_MASK		0xc0	/* receive trigger: 1, 4, 8, 14 */
#define	FCR_STICKY		0xc9	/* the bits that read back in state */

#define	LCR_DLAB		0x80
#define	LCR_BREAK		0x40

#define	MCR_DTR			0x01
#define	MCR_RTS			0x02
#define	MCR_OUT1		0x04
#define	MCR_OUT2		0x08
#define	MCR_LOOP		0x10
#define	MCR_MASK		0x1f

#define	LSR_DR			0x01	/* data ready */
#define	LSR_OE			0x02	/* overrun error */
#define	LSR_PE			0x04
#define	LSR_FE			0x08
#define	LSR_BI			0x10	/* break interrupt */
#define	LSR_THRE		0x20	/* transmitter holding register empty */
#define	LSR_TEMT		0x40	/* transmitter empty */
#define	LSR_INT_ANY		0x1e	/* the bits that raise a line status irq */

#define	MSR_DCTS		0x01
#define	MSR_DDSR		0x02
#define	MSR_TERI		0x04
#define	MSR_DDCD		0x08
#define	MSR_DELTA		0x0f
#define	MSR_CTS			0x10
#define	MSR_DSR			0x20
#define	MSR_RI			0x40
#define	MSR_DCD			0x80

struct vuart;

/*
 * tx(arg, byte): the guest sent byte (not in loopback). irq(arg, level):
 * the interrupt output changed (high while IIR shows an interrupt; QEMU
 * does not gate it with MCR.OUT2, nor does this model). Both are called
 * without the chip's lock, one call at a time and in order, so they may
 * call back into the vuart (an echo may vuart_rx_push); a call another
 * thread causes meanwhile is made by the thread already making calls.
 * Either may be NULL. The chip's lock is a mutex: thread context only.
 */
struct vuart *vuart_create(void (*tx)(void *, u8), void (*irq)(void *, bool),
    void *arg);
void vuart_destroy(struct vuart *);
/*
 * offset 0-7: 0 (val read or written), -1 for any other offset. A wider
 * access is split into byte accesses at offset, offset + 1, ... as QEMU
 * splits it (bytes past offset 7 read 0xff, writes to them are dropped).
 */
int vuart_io(struct vuart *, u16 offset, bool in, int bytes, u32 *val);
/*
 * Console input: byte joins a queue of VUART_INQ_SIZE bytes that feeds
 * the chip as the guest makes room (RBR empty, or the FIFO not full), as
 * QEMU's character backend waits for the chip. false if the queue was
 * full and the byte was dropped.
 */
bool vuart_rx_push(struct vuart *, u8 byte);
/* Bytes dropped so far: console input with the queue full. */
u64 vuart_rx_dropped(struct vuart *);

#endif
