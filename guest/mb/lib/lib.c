/*
 * The mb kernels' runtime: COM1 output, kprintf, checks and the exit, the
 * command line, fw_cfg, the 8259 pair, 8254 channel 2 and local APIC helpers.
 */

#include "mb.h"

#define COM1		0x3f8
#define LSR_THRE	0x20

struct mb_info *mb_info;
static int nchecks, nfailed;

void
putc_com1(char c)
{
	if (c == '\n')
		putc_com1('\r');
	while ((inb(COM1 + 5) & LSR_THRE) == 0)
		pause();
	outb(COM1, (uint8_t)c);
}

/* 115200 8N1, FIFO off, no interrupts: the state mb_uart starts from. */
static void
com1_init(void)
{
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x80);
	outb(COM1 + 0, 0x01);
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);
	outb(COM1 + 2, 0x00);
	outb(COM1 + 4, 0x03);
}

static void
putstr(const char *s)
{
	while (*s != '\0')
		putc_com1(*s++);
}

/* v / 10 and v % 10 with 32-bit divides (there is no libgcc for -m32). */
static uint64_t
divmod10(uint64_t v, uint32_t *rem)
{
	uint32_t hi = (uint32_t)(v >> 32), lo = (uint32_t)v;
	uint32_t qhi = hi / 10, r = hi % 10, qlo;

	__asm__("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(r), "r"(10u));
	*rem = r;
	return ((uint64_t)qhi << 32) | qlo;
}

static void
putnum(uint64_t v, int base, int width, char pad, int upper)
{
	char buf[24];
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0;

	do {
		uint32_t d;

		if (base == 16) {
			d = (uint32_t)v & 15;
			v >>= 4;
		} else {
			v = divmod10(v, &d);
		}
		buf[n++] = digits[d];
	} while (v != 0 && n < (int)sizeof(buf));
	while (width-- > n)
		putc_com1(pad);
	while (n > 0)
		putc_com1(buf[--n]);
}

/* %c %s %d %u %x %X %p, width, '0' pad, 'l' (32-bit) and 'll' (64-bit). */
void
kvprintf(const char *fmt, va_list ap)
{
	for (; *fmt != '\0'; fmt++) {
		int width = 0, lng = 0;
		char pad = ' ';

		if (*fmt != '%') {
			putc_com1(*fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'c':
			putc_com1((char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int len = (int)strlen(s);

			while (width-- > len)
				putc_com1(' ');
			putstr(s);
			break;
		}
		case 'd': {
			int64_t v = lng >= 2 ? va_arg(ap, int64_t) : va_arg(ap, int32_t);

			if (v < 0) {
				putc_com1('-');
				v = -v;
				width--;
			}
			putnum((uint64_t)v, 10, width, pad, 0);
			break;
		}
		case 'u':
			putnum(lng >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t), 10, width, pad, 0);
			break;
		case 'x':
		case 'X':
			putnum(lng >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t), 16, width, pad,
			    *fmt == 'X');
			break;
		case 'p':
			putstr("0x");
			putnum(va_arg(ap, uint32_t), 16, 8, '0', 0);
			break;
		case '%':
			putc_com1('%');
			break;
		default:
			putc_com1('%');
			putc_com1(*fmt);
			break;
		}
	}
}

void
kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}

static void
verdict(int cond, const char *fmt, va_list ap)
{
	nchecks++;
	if (!cond)
		nfailed++;
	putstr(cond ? "ok - " : "FAIL - ");
	kvprintf(fmt, ap);
}

int
check(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verdict(cond, fmt, ap);
	va_end(ap);
	putc_com1('\n');
	return cond;
}

int
check_eq(uint32_t got, uint32_t want, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verdict(got == want, fmt, ap);
	va_end(ap);
	if (got != want)
		kprintf(" (got 0x%x, want 0x%x)", got, want);
	putc_com1('\n');
	return got == want;
}

int
check_failures(void)
{
	return nfailed;
}

int
check_count(void)
{
	return nchecks;
}

int
mb_finish(void)
{
	if (nfailed == 0 && nchecks > 0) {
		kprintf("ok - all %d checks passed\n", nchecks);
		return 0;
	}
	kprintf("FAIL - %d of %d checks failed\n", nfailed, nchecks);
	return 1;
}

/*
 * QEMU's isa-debug-exit at 0xf4 ends the emulator with status (code << 1) | 1;
 * "Shutdown" to 0x8900 is Bochs's and old QEMU's power-off; the HLT loop
 * is for anything that has neither.
 */
void
mb_exit(uint32_t code)
{
	const char *s = "Shutdown";

	outl(0xf4, code);
	while (*s != '\0')
		outb(0x8900, (uint8_t)*s++);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void
mb_start(void)
{
	com1_init();
	if (mb_entry.eax == MB_BOOT_MAGIC)
		mb_info = (struct mb_info *)mb_entry.ebx;
	idt_load();
	pic_setup(PIC_BASE);
	mb_exit((uint32_t)kmain());
}

const char *
mb_cmdline(void)
{
	if (mb_info == NULL || (mb_info->flags & MBI_CMDLINE) == 0)
		return "";
	return (const char *)mb_info->cmdline;
}

const char *
mb_args(void)
{
	const char *s = mb_cmdline();

	while (*s != '\0' && *s != ' ')
		s++;
	while (*s == ' ')
		s++;
	return s;
}

int
mb_arg(const char *key, char *buf, size_t len)
{
	const char *s = mb_args();
	size_t klen = strlen(key);

	while (*s != '\0') {
		const char *w = s;

		while (*s != '\0' && *s != ' ')
			s++;
		if ((size_t)(s - w) > klen && strncmp(w, key, klen) == 0 && w[klen] == '=') {
			size_t n = 0;

			for (w += klen + 1; w < s && n + 1 < len; w++)
				buf[n++] = *w;
			buf[n] = '\0';
			return 1;
		}
		while (*s == ' ')
			s++;
	}
	return 0;
}

uint32_t
parse_u32(const char *s, const char **end)
{
	uint32_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (s += 2;; s++) {
			char c = *s;

			if (c >= '0' && c <= '9')
				v = v * 16 + (uint32_t)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v * 16 + (uint32_t)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v = v * 16 + (uint32_t)(c - 'A' + 10);
			else
				break;
		}
	} else {
		for (; *s >= '0' && *s <= '9'; s++)
			v = v * 10 + (uint32_t)(*s - '0');
	}
	if (end != NULL)
		*end = s;
	return v;
}

uint32_t
mb_arg_u32(const char *key, uint32_t dflt)
{
	char buf[24];

	if (!mb_arg(key, buf, sizeof(buf)))
		return dflt;
	return parse_u32(buf, NULL);
}

void
fwcfg_select(uint16_t key)
{
	outw(0x510, key);
}

void
fwcfg_read(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len-- > 0)
		*p++ = inb(0x511);
}

uint32_t
fwcfg_read32(uint16_t key)
{
	uint32_t v;

	fwcfg_select(key);
	fwcfg_read(&v, sizeof(v));
	return v;
}

uint64_t
fwcfg_read64(uint16_t key)
{
	uint64_t v;

	fwcfg_select(key);
	fwcfg_read(&v, sizeof(v));
	return v;
}

/*
 * The firmware left the 8259s programmed (SeaBIOS: vectors 8 and 0x70, some
 * IRQs open); bhyvelet leaves them in reset state.  Reprogram and mask all,
 * so both start alike.
 */
void
pic_setup(uint8_t base)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	outb(0x20, 0x11);
	outb(0xa0, 0x11);
	outb(0x21, base);
	outb(0xa1, (uint8_t)(base + 8));
	outb(0x21, 0x04);
	outb(0xa1, 0x02);
	outb(0x21, 0x01);
	outb(0xa1, 0x01);
	pic_mask(0xffff);
}

void
pic_mask(uint16_t mask)
{
	outb(0x21, (uint8_t)mask);
	outb(0xa1, (uint8_t)(mask >> 8));
}

void
pic_eoi(int irq)
{
	if (irq >= 8)
		outb(0xa0, 0x20);
	outb(0x20, 0x20);
}

/* Channel 2, mode 0, gate on and speaker off; OUT2 (0x61 bit 5) rises at 0. */
void
pit2_start(uint16_t count)
{
	outb(0x61, (uint8_t)((inb(0x61) & ~0x03) | 0x01));
	outb(0x43, 0xb0);
	outb(0x42, (uint8_t)count);
	outb(0x42, (uint8_t)(count >> 8));
}

int
pit2_done(void)
{
	return (inb(0x61) & 0x20) != 0;
}

void
pit_delay_ticks(uint32_t ticks)
{
	while (ticks > 0) {
		uint16_t n = ticks > 0xffff ? 0xffff : (uint16_t)ticks;

		pit2_start(n);
		while (!pit2_done())
			pause();
		ticks -= n;
	}
}

static volatile int pit0_fired;

static void
pit0_irq(struct trapframe *tf)
{
	(void)tf;
	pit0_fired = 1;
	pic_eoi(0);
}

/*
 * Sleeps in `sti; hlt` until *count reaches want, with 8254 channel 0 (IRQ0,
 * one-shot 50 ms at a time) as the alarm that ends the wait after about ms.
 * The check and the HLT are one step: the STI shadow covers the HLT.
 */
int
wait_for(volatile int *count, int want, uint32_t ms)
{
	uint16_t mask = (uint16_t)(inb(0x21) | (inb(0xa1) << 8));

	trap_set_handler(PIC_BASE, pit0_irq);
	pic_mask(mask & ~1u);
	for (uint32_t t = 0; t <= ms && *count < want; t += 50) {
		pit0_fired = 0;
		outb(0x43, 0x30);			/* channel 0, mode 0 */
		outb(0x40, (uint8_t)(PIT_HZ / 20));
		outb(0x40, (uint8_t)((PIT_HZ / 20) >> 8));
		for (;;) {
			cli();
			if (*count >= want || pit0_fired)
				break;
			__asm__ volatile("sti; hlt" ::: "memory");
		}
		sti();
	}
	cli();
	outb(0x43, 0x30);				/* no count: channel 0 stops */
	pic_mask(mask);
	trap_set_handler(PIC_BASE, NULL);
	return *count >= want;
}

int
lapic_bit(uint32_t reg, int vector)
{
	return (lapic_read(reg + (uint32_t)(vector / 32) * 0x10) >> (vector % 32)) & 1;
}

/*
 * Software-enabled, in virtual-wire mode as a BIOS leaves it: the 8259's
 * output through LINT0 (ExtINT), NMI on LINT1.  With LINT0 masked (its reset
 * state) an enabled APIC would keep the PIT's IRQ0, and wait_for()'s alarm,
 * from the CPU.
 */
void
lapic_enable(void)
{
	lapic_write(LAPIC_SVR, 0x1ff);
	lapic_write(LAPIC_LVT_LINT0, 0x700);
	lapic_write(LAPIC_LVT_LINT1, 0x400);
}

int
lapic_icr_wait(void)
{
	for (int i = 0; i < 1000000; i++) {
		if ((lapic_read(LAPIC_ICR_LO) & ICR_PENDING) == 0)
			return 0;
		pause();
	}
	return -1;
}

void *
memcpy(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	while (n-- > 0)
		*dp++ = *sp++;
	return d;
}

void *
memset(void *d, int c, size_t n)
{
	uint8_t *dp = d;

	while (n-- > 0)
		*dp++ = (uint8_t)c;
	return d;
}

int
memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *ap = a, *bp = b;

	for (; n > 0; n--, ap++, bp++) {
		if (*ap != *bp)
			return *ap - *bp;
	}
	return 0;
}

size_t
strlen(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0')
		n++;
	return n;
}

int
strcmp(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return (uint8_t)*a - (uint8_t)*b;
}

int
strncmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; n--, a++, b++) {
		if (*a != *b || *a == '\0')
			return (uint8_t)*a - (uint8_t)*b;
	}
	return 0;
}
