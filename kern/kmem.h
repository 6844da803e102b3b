/*
 * The kernel memory allocator, in the illumos shape: object caches with
 * constructors, and kmem_alloc/kmem_free on top of a set of size-class
 * caches. Debugging is always on: every buffer carries a redzone and a tag
 * (state, size, caller, allocation sequence); freed buffers are poisoned.
 */
#ifndef _KERN_KMEM_H
#define _KERN_KMEM_H

#include "types.h"
#include "pmem.h"	/* KM_SLEEP, KM_NOSLEEP */

typedef struct kmem_cache kmem_cache_t;

void kmem_init(void);

void *kmem_alloc(size_t size, int kmflags);
void *kmem_zalloc(size_t size, int kmflags);
void kmem_free(void *buf, size_t size);

kmem_cache_t *kmem_cache_create(const char *name, size_t size, size_t align,
    int (*constructor)(void *buf, void *priv, int kmflags),
    void (*destructor)(void *buf, void *priv), void *priv, int cflags);
void kmem_cache_destroy(kmem_cache_t *);
void *kmem_cache_alloc(kmem_cache_t *, int kmflags);
void kmem_cache_free(kmem_cache_t *, void *buf);

/* The current allocation sequence number; pass it to kmem_leak_report. */
u64 kmem_mark(void);
/* Prints every buffer allocated after mark and still outstanding, with the
 * function that allocated it; returns how many there are. */
size_t kmem_leak_report(u64 mark);
/* Number of buffers allocated after mark and still outstanding (no output). */
size_t kmem_outstanding(u64 mark);
/* Checks every redzone of allocated buffers and the poison of every free
 * buffer; prints each problem found and returns their number. */
size_t kmem_verify(void);
/* kmem_mon_caches through cmn_err, each line prefixed "kmem: ". */
void kmem_stats(void);

/*
 * For the monitor (kern/mon): the mdb dcmds ::kmem, ::kmem_verify and
 * ::findleaks. Each writes plain text lines (ending in '\n') through pr,
 * which is called with no kmem lock held, so it may block or allocate;
 * all three may run while other threads allocate and free.
 */
typedef void (*mon_printf_t)(void *arg, const char *fmt, ...)
    __printflike(2, 3);
/* A header, one line per cache (name, buffer size, buffers in use,
 * allocations ever, slabs, bytes in use, bytes of slab memory), a line
 * for the oversize (page run) buffers, and a total line. */
void kmem_mon_caches(mon_printf_t pr, void *arg);
/* kmem_verify's check, reporting each corrupt buffer (address, cache,
 * what is wrong) through pr; returns how many there are. */
size_t kmem_mon_verify(mon_printf_t pr, void *arg);
/* mdb's ::findleaks: a conservative mark and sweep from the kernel's data
 * and bss and every thread's stack. Prints the unreferenced buffers
 * grouped by cache and allocating caller ("CACHE LEAKED BUFCTL CALLER")
 * and returns their number. */
size_t kmem_mon_findleaks(mon_printf_t pr, void *arg);

#endif
