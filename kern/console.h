/*
 * The serial console: COM1, 16550, 115200 8N1. Everything the kernel says
 * goes here; kprintf lines from different CPUs never interleave.
 */
#ifndef _KERN_CONSOLE_H
#define _KERN_CONSOLE_H

#include "types.h"

void console_init(void);
/*
 * A kernel message, one whole line, as illumos's cmn_err: "[cpuN] text"
 * (CE_NOTE) or "[cpuN] WARNING: text" (CE_WARN), N the CPU printing it and
 * the newline added. Boot notes, warnings and guest console lines use it.
 * TAP output (ok/not ok, # comments, the plan, Bail out!), the panic block
 * and trace dumps use kprintf, unprefixed: scripts/tap.py parses them.
 */
#define	CE_NOTE		1
#define	CE_WARN		2
void cmn_err(int ce, const char *fmt, ...) __printflike(2, 3);
void vcmn_err(int ce, const char *fmt, va_list ap);
void kprintf(const char *fmt, ...) __printflike(1, 2);
void vkprintf(const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t len, const char *fmt, ...) __printflike(3, 4);
int kvsnprintf(char *buf, size_t len, const char *fmt, va_list ap);
/*
 * Console input: bytes typed on COM1 go to fn(arg, byte), one at a time in
 * thread context (a guest's COM1 while it runs; NULL: nobody, and they
 * wait, 256 at most). The first call turns on the receive interrupt
 * (through the IOAPIC) and starts the thread that delivers; false if the
 * machine has no IOAPIC to route it (input then stays off).
 */
bool console_set_input(void (*fn)(void *, u8), void *arg);
/* Used by panic: write without the console lock (another CPU may hold it). */
void console_putc_unlocked(char c);
void console_flush(void);

#endif
