/*
 * COM1 console and kprintf. Output is polled (the UART transmit-holding
 * register), so it works from any context, including panic with
 * interrupts off. One lock keeps lines from different CPUs whole.
 */
#include "console.h"
#include "x86.h"
#include "sync.h"
#include "panic.h"
#include "cpu.h"
#include "apic.h"
#include "trap.h"
#include "thread.h"

#define	COM1		0x3f8
#define	UART_THR	0	/* transmit holding */
#define	UART_IER	1
#define	UART_FCR	2
#define	UART_LCR	3
#define	UART_MCR	4
#define	UART_LSR	5
#define	UART_RBR	0	/* receive buffer */
#define	IER_RX		0x01	/* interrupt: data received */
#define	MCR_OUT2	0x08	/* a PC gates the UART's IRQ with OUT2 */
#define	LSR_DR		0x01	/* data ready */
#define	LSR_THRE	0x20	/* holding register empty */
#define	LSR_TEMT	0x40	/* transmitter empty */

static spinlock_t console_lock = SPINLOCK_INIT("console");

void
console_init(void)
{
	outb(COM1 + UART_IER, 0x00);
	outb(COM1 + UART_LCR, 0x80);		/* divisor latch */
	outb(COM1 + 0, 0x01);			/* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + UART_LCR, 0x03);		/* 8N1 */
	outb(COM1 + UART_FCR, 0xc7);		/* FIFO on, cleared */
	outb(COM1 + UART_MCR, 0x03);		/* DTR, RTS */
}

void
console_putc_unlocked(char c)
{
	if (c == '\n')
		console_putc_unlocked('\r');
	while ((inb(COM1 + UART_LSR) & LSR_THRE) == 0)
		cpu_pause();
	outb(COM1 + UART_THR, (u8)c);
}

/* Wait until the last byte has left the UART (before stopping Bochs). */
void
console_flush(void)
{
	for (int i = 0; i < 1000000; i++) {
		if ((inb(COM1 + UART_LSR) & LSR_TEMT) != 0)
			return;
		cpu_pause();
	}
}

/* A minimal printf: %d %i %u %x %X %p %s %c %%, with l/ll/z, 0, width, -. */
struct outbuf {
	char *buf;
	size_t len;
	size_t pos;
};

static void
out_c(struct outbuf *o, char c)
{
	if (o->buf == NULL)
		console_putc_unlocked(c);
	else if (o->pos + 1 < o->len)
		o->buf[o->pos] = c;
	o->pos++;
}

static void
out_num(struct outbuf *o, u64 v, int base, bool neg, int width, bool zero,
    bool left, bool upper)
{
	char tmp[24];
	int n = 0;
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	do {
		tmp[n++] = digits[v % (u64)base];
		v /= (u64)base;
	} while (v != 0);
	if (neg)
		tmp[n++] = '-';
	int pad = width > n ? width - n : 0;
	if (!left) {
		if (zero && neg) {
			out_c(o, '-');
			n--;
		}
		while (pad-- > 0)
			out_c(o, zero ? '0' : ' ');
	}
	while (n > 0)
		out_c(o, tmp[--n]);
	if (left) {
		while (pad-- > 0)
			out_c(o, ' ');
	}
}

static void
format(struct outbuf *o, const char *fmt, va_list ap)
{
	for (; *fmt != '\0'; fmt++) {
		if (*fmt != '%') {
			out_c(o, *fmt);
			continue;
		}
		fmt++;
		bool zero = false, left = false;
		int width = 0, lng = 0;
		for (;; fmt++) {
			if (*fmt == '0')
				zero = true;
			else if (*fmt == '-')
				left = true;
			else
				break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			i64 v = lng ? va_arg(ap, i64) : va_arg(ap, int);
			out_num(o, v < 0 ? (u64)-v : (u64)v, 10, v < 0, width,
			    zero, left, false);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			u64 v = lng ? va_arg(ap, u64) : va_arg(ap, unsigned);
			out_num(o, v, *fmt == 'u' ? 10 : 16, false, width, zero,
			    left, *fmt == 'X');
			break;
		}
		case 'p':
			out_c(o, '0');
			out_c(o, 'x');
			out_num(o, (u64)(uintptr_t)va_arg(ap, void *), 16, false,
			    width, zero, left, false);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (s == NULL)
				s = "(null)";
			int len = (int)strlen(s);
			if (!left)
				for (int i = len; i < width; i++)
					out_c(o, ' ');
			while (*s != '\0')
				out_c(o, *s++);
			if (left)
				for (int i = len; i < width; i++)
					out_c(o, ' ');
			break;
		}
		case 'c':
			out_c(o, (char)va_arg(ap, int));
			break;
		case '%':
			out_c(o, '%');
			break;
		case '\0':
			return;
		default:
			out_c(o, '%');
			out_c(o, *fmt);
			break;
		}
	}
}

void
vkprintf(const char *fmt, va_list ap)
{
	struct outbuf o = { NULL, 0, 0 };

	/* A panicking CPU prints without the lock: the holder may be dead. */
	if (panicking) {
		format(&o, fmt, ap);
		return;
	}
	spin_lock(&console_lock);
	format(&o, fmt, ap);
	spin_unlock(&console_lock);
}

static void
outf(struct outbuf *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(o, fmt, ap);
	va_end(ap);
}

/*
 * The prefix, text and newline go out under one hold of the console lock;
 * spin_lock disables interrupts, so the CPU read under it is the one
 * printing.
 */
void
vcmn_err(int ce, const char *fmt, va_list ap)
{
	struct outbuf o = { NULL, 0, 0 };
	bool locked = !panicking;	/* as vkprintf */

	if (locked)
		spin_lock(&console_lock);
	outf(&o, "[cpu%d] %s", CPU != NULL ? CPU->cpu_id : 0,
	    ce == CE_WARN ? "WARNING: " : "");
	format(&o, fmt, ap);
	out_c(&o, '\n');
	if (locked)
		spin_unlock(&console_lock);
}

void
cmn_err(int ce, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcmn_err(ce, fmt, ap);
	va_end(ap);
}

void
kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
}

int
kvsnprintf(char *buf, size_t len, const char *fmt, va_list ap)
{
	struct outbuf o = { buf, len, 0 };

	format(&o, fmt, ap);
	if (len > 0)
		buf[o.pos < len ? o.pos : len - 1] = '\0';
	return ((int)o.pos);
}

int
ksnprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return (n);
}

/*
 * Console input. The receive interrupt drains the UART into a ring; the
 * conin thread hands the bytes to the sink in thread context (a guest's
 * vuart takes a mutex). Bytes wait in the ring while there is no sink.
 */
#define	CONIN_RING	256
static struct {
	waitq_t ci_wq;		/* the conin thread; ci_wq.wq_lock guards
				   the ring and the counts */
	u8 ci_ring[CONIN_RING];
	u32 ci_head, ci_tail;	/* ring indices, free-running */
	u64 ci_dropped;		/* bytes lost to a full ring */
	kmutex_t ci_sink_lock;	/* guards ci_sink, ci_arg; held while
				   a byte is delivered */
	void (*volatile ci_sink)(void *, u8);
	void *ci_arg;
	bool ci_on;		/* under ci_sink_lock: started */
	bool ci_none;		/* under ci_sink_lock: no IOAPIC */
} conin;

static void
console_rx_intr(struct regs *r __unused)
{
	spin_lock(&conin.ci_wq.wq_lock);
	while ((inb(COM1 + UART_LSR) & LSR_DR) != 0) {
		u8 b = inb(COM1 + UART_RBR);
		if (conin.ci_head - conin.ci_tail < CONIN_RING)
			conin.ci_ring[conin.ci_head++ % CONIN_RING] = b;
		else
			conin.ci_dropped++;
	}
	(void) waitq_wakeone(&conin.ci_wq);
	spin_unlock(&conin.ci_wq.wq_lock);
}

static void
conin_thread(void *arg __unused)
{
	for (;;) {
		spin_lock(&conin.ci_wq.wq_lock);
		while (conin.ci_head == conin.ci_tail ||
		    READ_ONCE(conin.ci_sink) == NULL)
			waitq_block(&conin.ci_wq);
		u8 b = conin.ci_ring[conin.ci_tail++ % CONIN_RING];
		spin_unlock(&conin.ci_wq.wq_lock);
		mutex_enter(&conin.ci_sink_lock);
		if (conin.ci_sink != NULL)
			conin.ci_sink(conin.ci_arg, b);
		mutex_exit(&conin.ci_sink_lock);
	}
}

bool
console_set_input(void (*fn)(void *, u8), void *arg)
{
	static bool inited;

	if (!inited) {		/* the boot thread's first call, no race */
		inited = true;
		waitq_init(&conin.ci_wq, "conin");
		mutex_init(&conin.ci_sink_lock, "conin sink");
	}
	mutex_enter(&conin.ci_sink_lock);
	if (!conin.ci_on && !conin.ci_none && fn != NULL) {
		if (!ioapic_route_isa(4, VEC_CONSOLE, cpus[0].cpu_apicid)) {
			conin.ci_none = true;
		} else {
			conin.ci_on = true;
			intr_register(VEC_CONSOLE, console_rx_intr);
			(void) thread_create_detached("conin", conin_thread,
			    NULL, -1);
			outb(COM1 + UART_MCR, 0x03 | MCR_OUT2);
			outb(COM1 + UART_IER, IER_RX);
		}
	}
	conin.ci_arg = arg;
	conin.ci_sink = fn;
	bool on = conin.ci_on;
	mutex_exit(&conin.ci_sink_lock);
	/* Bytes that waited for a sink go now. */
	spin_lock(&conin.ci_wq.wq_lock);
	(void) waitq_wakeone(&conin.ci_wq);
	spin_unlock(&conin.ci_wq.wq_lock);
	return (on);
}
