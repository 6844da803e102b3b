/*
 * The serial console: COM1, 16550, 115200 8N1. Everything the kernel says
 * goes here; kprintf lines from different CPUs never interleave.
 */
#ifndef _KERN_CONSOLE_H
#define _KERN_CONSOLE_H

#include "types.h"

void console_init(void);
void kprintf(const char *fmt, ...) __printflike(1, 2);
void vkprintf(const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t len, const char *fmt, ...) __printflike(3, 4);
int kvsnprintf(char *buf, size_t len, const char *fmt, va_list ap);
/* Used by panic: write without the console lock (another CPU may hold it). */
void console_putc_unlocked(char c);
void console_flush(void);

#endif
