/*
 * Basic types and compiler helpers shared by the whole kernel.
 * Freestanding C11: only the compiler's own headers are used.
 */
#ifndef _KERN_TYPES_H
#define _KERN_TYPES_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdarg.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t i64;
typedef uint64_t paddr_t;	/* a host-physical address */
typedef uint64_t hrtime_t;	/* nanoseconds since boot */

#define	PAGESIZE	4096UL
#define	PAGESHIFT	12
#define	PAGEOFFSET	(PAGESIZE - 1)
#define	P2ROUNDUP(x, a)	(((x) + ((a) - 1)) & ~((uint64_t)(a) - 1))
#define	P2ALIGN(x, a)	((x) & ~((uint64_t)(a) - 1))
#define	IS_P2ALIGNED(x, a) (((uint64_t)(x) & ((uint64_t)(a) - 1)) == 0)
#define	ARRAY_SIZE(a)	(sizeof (a) / sizeof ((a)[0]))
#define	MIN(a, b)	((a) < (b) ? (a) : (b))
#define	MAX(a, b)	((a) > (b) ? (a) : (b))
#define	offsetof_(t, m)	__builtin_offsetof(t, m)
#define	container_of(p, t, m) ((t *)((char *)(p) - offsetof(t, m)))

#define	__unused	__attribute__((unused))
#define	__noreturn	__attribute__((noreturn))
#define	__packed	__attribute__((packed))
#define	__noinline	__attribute__((noinline))
#define	__aligned(x)	__attribute__((aligned(x)))
#define	__section(s)	__attribute__((section(s)))
#define	__printflike(f, a) __attribute__((format(printf, f, a)))
#define	likely(x)	__builtin_expect(!!(x), 1)
#define	unlikely(x)	__builtin_expect(!!(x), 0)

/* A compiler barrier: no memory access moves across it. */
#define	barrier()	__asm__ __volatile__("" ::: "memory")
#define	READ_ONCE(x)	(*(const volatile __typeof__(x) *)&(x))
#define	WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/* The kernel lives in the top 2 GiB; all of RAM is also mapped at KPM_BASE. */
#define	KERNEL_BASE	0xffffffff80000000UL
#define	KPM_BASE	0xffff800000000000UL

static inline void *
phys_to_virt(paddr_t pa)
{
	return ((void *)(pa + KPM_BASE));
}

static inline paddr_t
virt_to_phys(const void *va)
{
	uintptr_t v = (uintptr_t)va;
	return (v >= KERNEL_BASE ? v - KERNEL_BASE : v - KPM_BASE);
}

/* string.c */
void *memset(void *, int, size_t);
void *memcpy(void *, const void *, size_t);
void *memmove(void *, const void *, size_t);
int memcmp(const void *, const void *, size_t);
size_t strlen(const char *);
int strcmp(const char *, const char *);
int strncmp(const char *, const char *, size_t);
char *strchr(const char *, int);
char *strstr(const char *, const char *);
size_t strlcpy(char *, const char *, size_t);
uint64_t strtoull(const char *, char **, int);

#endif
