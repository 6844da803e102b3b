/*
 * kmem's insides, shared by kmem.c (the allocator) and the files that walk
 * its buffers from outside the allocation paths: kmem_mon.c (the cache
 * table and kmem_verify) and kmem_leaks.c (findleaks). Nothing else may
 * include this; the layout and the locking rules are described at the top
 * of kmem.c.
 */
#ifndef _KERN_KMEM_IMPL_H
#define _KERN_KMEM_IMPL_H

#include "types.h"
#include "sync.h"

#define	KMEM_ALIGN		8		/* default buffer alignment */
#define	KMEM_ALLOC_ALIGN	16		/* kmem_alloc buffers */
#define	KMEM_SLAB_MINBUFS	8		/* aim for this many per slab */
#define	KMEM_SLAB_MAXSIZE	(64 * 1024)	/* ... unless slabs get bigger */
#define	KMEM_CACHE_MAXOBJ	(256UL << 20)	/* sanity limit for a cache */
#define	KMEM_SLEEP_TICKS	1000		/* KM_SLEEP gives up after this */
#define	KMEM_RECENT		32		/* remembered released runs */
#define	KMEM_NAMELEN		32

#define	KMEM_FREE_PATTERN	0xdeadbeefdeadbeefULL	/* freed buffers */
#define	KMEM_UNINIT_PATTERN	0xbaddcafebaddcafeULL	/* fresh allocations */
#define	KMEM_REDZONE_PATTERN	0xfeedfacefeedfaceULL	/* past the end */

#define	KMEM_BUFTAG_ALLOC	0xa110c8eda110c8edULL
#define	KMEM_BUFTAG_FREE	0xf4eef4eef4eef4eeULL
#define	KMEM_BUFTAG_BUSY	0xb5b5b5b5b5b5b5b5ULL

#define	KMEM_SLAB_MAGIC		0x51ab51ab51ab51abULL	/* ^ slab address */
#define	KMEM_BIG_MAGIC		0xb16b16b16b16b16bULL	/* ^ buffer address */
#define	KMEM_CACHE_MAGIC	0xcac4ecac4ecac4ecULL

#define	KMEM_NONE		((size_t)-1)	/* "no bad byte found" */

/* Pattern words may alias whatever type the caller stored there. */
typedef u64 __attribute__((may_alias)) kmem_word_t;

/*
 * The tag after every buffer's user area. bt_redzone must come first: it
 * is the tail of the redzone, contiguous with the user area.
 */
typedef struct kmem_buftag {
	u64 bt_redzone;		/* redzone tail; owner (FREE: poisoned) */
	volatile u64 bt_state;	/* KMEM_BUFTAG_*; CAS, or c_lock for ->FREE */
	uintptr_t bt_buf;	/* the buffer this tag belongs to; constant */
	u64 bt_size;		/* requested size; owner */
	uintptr_t bt_caller;	/* return address of the allocation; owner */
	u64 bt_seq;		/* allocation sequence number; owner */
	char *bt_next;		/* slab free list link while FREE; c_lock */
} kmem_buftag_t;

typedef struct kmem_slab {
	u64 sl_magic;		/* KMEM_SLAB_MAGIC ^ address; constant while
				   the slab lives, cleared when released */
	kmem_cache_t *sl_cache;	/* constant */
	struct kmem_slab *sl_next; /* cache's slab list; c_lock */
	struct kmem_slab *sl_prev; /* c_lock */
	char *sl_free;		/* first free buffer; c_lock */
	u32 sl_nalloc;		/* buffers not on sl_free; c_lock */
	u32 sl_nbufs;		/* constant */
	paddr_t sl_pa;		/* constant */
} kmem_slab_t;

struct kmem_cache {
	u64 c_magic;		/* KMEM_CACHE_MAGIC while the cache exists */
	char c_name[KMEM_NAMELEN];	/* constant */
	size_t c_bufsize;	/* object size; the requested size of a
				   kmem_cache_alloc buffer; constant */
	size_t c_usersize;	/* c_bufsize rounded to 8: buftag offset */
	size_t c_chunksize;	/* distance between buffers; constant */
	size_t c_align;		/* constant */
	size_t c_slabsize;	/* bytes per slab, a power of two; constant */
	size_t c_first;		/* offset of buffer 0 in a slab; constant */
	u32 c_nbufs;		/* buffers per slab; constant */
	bool c_sizeclass;	/* one of kmem_alloc's caches; constant */
	int (*c_constructor)(void *, void *, int);	/* constant */
	void (*c_destructor)(void *, void *);		/* constant */
	void *c_priv;		/* constant */

	spinlock_t c_lock;
	kmem_slab_t *c_head;	/* slabs with free buffers first; c_lock */
	kmem_slab_t *c_tail;	/* full slabs last; c_lock */
	size_t c_nslabs;	/* c_lock */
	size_t c_nalloc;	/* buffers ALLOC or BUSY; c_lock */
	u64 c_nallocs;		/* allocations ever; c_lock */

	kmem_cache_t *c_next;	/* registry; kmem_caches_lock */
	kmem_cache_t *c_prev;	/* kmem_caches_lock */
};

/* An oversize buffer's record, in its own page run after the buftag. */
typedef struct kmem_big {
	u64 bg_magic;		/* KMEM_BIG_MAGIC ^ bg_buf; constant */
	char *bg_buf;		/* constant */
	size_t bg_usersize;	/* where the buftag is; constant */
	paddr_t bg_pa;		/* constant */
	size_t bg_npages;	/* constant */
	struct kmem_big *bg_next;	/* kmem_big_lock */
	struct kmem_big *bg_prev;	/* kmem_big_lock */
} kmem_big_t;
static inline kmem_buftag_t *
buf_tag(char *buf, size_t usersize)
{
	return ((kmem_buftag_t *)(buf + usersize));
}

/* The registry (kmem.c): every cache, so the walkers see them all. */
extern spinlock_t kmem_caches_lock;
extern kmem_cache_t *kmem_caches;		/* kmem_caches_lock */

/* Oversize buffers (kmem.c). */
extern spinlock_t kmem_big_lock;
extern kmem_big_t *kmem_big_list;		/* kmem_big_lock */
extern size_t kmem_big_count;			/* kmem_big_lock */
extern size_t kmem_big_pages;			/* kmem_big_lock */
extern u64 kmem_big_nallocs;			/* kmem_big_lock */

/* Offset of the first byte of buf[0, len) that differs, or KMEM_NONE. */
size_t kmem_pattern_check(const char *buf, size_t len, u64 pattern);
/* Offset of the first bad redzone byte past size, or KMEM_NONE. */
size_t kmem_redzone_check(const char *buf, size_t size, size_t usersize);
/* "func+0xoff" (or the bare address) into out. */
void kmem_sym_format(char *out, size_t len, uintptr_t pc);

/*
 * Calls visit for every buffer of every cache (each cache under its
 * c_lock, inside kmem_caches_lock) and every oversize buffer (under
 * kmem_big_lock), whatever its state; sums what visit returns. visit runs
 * with interrupts off and spin locks held: it must not block, allocate or
 * call a caller's output function.
 */
typedef size_t (*kmem_visit_fn)(const char *cname, char *buf,
    kmem_buftag_t *bt, size_t usersize, void *arg);
size_t kmem_walk(kmem_visit_fn visit, void *arg);

#endif
