/*
 * The runtime shared by the multiboot v1 test kernels (guest/mb/NAME.c): entry
 * state, COM1 output, checks, exit, traps with a catch for one faulting
 * instruction, port I/O, MMIO, MSRs, fw_cfg, the 8259 pair, the 8254 and the
 * local APIC.  Nothing here needs libc or libgcc.
 */

#ifndef MB_H
#define MB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Multiboot v1 information structure (the fields QEMU fills). */
#define MB_BOOT_MAGIC	0x2BADB002u
#define MBI_MEM		(1u << 0)
#define MBI_BOOTDEV	(1u << 1)
#define MBI_CMDLINE	(1u << 2)
#define MBI_MODS	(1u << 3)
#define MBI_MMAP	(1u << 6)
#define MBI_LOADER	(1u << 9)

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower;
	uint32_t mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
};

struct mb_module {
	uint32_t start;
	uint32_t end;
	uint32_t cmdline;
	uint32_t pad;
};

/* One memory map entry; `size` does not count itself. */
struct mb_mmap {
	uint32_t size;
	uint64_t addr;
	uint64_t len;
	uint32_t type;
} __attribute__((packed));

/* Registers as the loader left them, saved by start.asm before anything else. */
struct mb_entry_state {
	uint32_t eax, ebx, esp, cr0, cr3, cr4, eflags;
	uint32_t cs, ds, es, ss, fs, gs;
	uint32_t ds_probe;	/* the word at _kernel_start, read through the loader's DS */
};
#define MB_HIGH_PROBE	0x03fffffcu	/* start.asm writes 0x600dcafe here through DS */

extern struct mb_entry_state mb_entry;
extern struct mb_info *mb_info;		/* from EBX (NULL without the magic) */
extern char _kernel_start[], _kernel_end[];

/* Each kernel defines this; its return value is the exit code (0 pass). */
int kmain(void);
void mb_start(void);		/* start.asm calls it: init, kmain, exit */

/* Port I/O. */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* MMIO: volatile accesses of exactly the size named. */
static inline uint8_t mmio_read8(uint32_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t mmio_read16(uint32_t a) { return *(volatile uint16_t *)a; }
static inline uint32_t mmio_read32(uint32_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write8(uint32_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void mmio_write16(uint32_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline void mmio_write32(uint32_t a, uint32_t v) { *(volatile uint32_t *)a = v; }

static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void pause(void) { __asm__ volatile("pause"); }
static inline uint32_t read_eflags(void) { uint32_t f; __asm__ volatile("pushfl; popl %0" : "=r"(f)); return f; }

static inline uint64_t
rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void
cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
	    : "a"(leaf), "c"(sub));
}

/*
 * Traps.  A handler set for a vector gets every trap there; otherwise a trap
 * taken while trap_catch.resume is armed is recorded and execution goes on at
 * `resume`; any other trap prints a FAIL line and exits 1.
 */
struct trapframe {
	uint32_t edi, esi, ebp, esp_pushed, ebx, edx, ecx, eax;
	uint32_t vector, error;
	uint32_t eip, cs, eflags;
};

struct trap_catch {
	volatile uint32_t resume;	/* EIP to go on at; 0 = not armed */
	volatile int vector;		/* -1 until a trap is caught */
	volatile uint32_t error;
	volatile uint32_t eip;		/* where it happened */
};

typedef void (*trap_handler_t)(struct trapframe *);

extern struct trap_catch trap_catch;
void trap_set_handler(int vector, trap_handler_t fn);
void idt_load(void);			/* for APs: the shared IDT */

#define VEC_GP	13

/*
 * RDMSR/WRMSR that survive a fault: return -1 or the vector caught (and set
 * *error).  A faulting RDMSR leaves *val as it was before the call.
 */
int rdmsr_safe(uint32_t msr, uint64_t *val, uint32_t *error);
int wrmsr_safe(uint32_t msr, uint64_t val, uint32_t *error);

static inline uint64_t
rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void
wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

#define MSR_TSC		0x10
#define MSR_APIC_BASE	0x1b
#define MSR_EFER	0xc0000080

/* Console (COM1, polled) and checks. */
void putc_com1(char c);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);
/* "ok - <text>" or "FAIL - <text>"; returns cond. */
int check(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As check(got == want), adding "(got 0x.., want 0x..)" to a FAIL line. */
int check_eq(uint32_t got, uint32_t want, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int check_failures(void);
int check_count(void);
/* Prints the summary line; returns the exit code (0 all passed, 1 not). */
int mb_finish(void);
void mb_exit(uint32_t code) __attribute__((noreturn));

/* The command line: "<path> <args>"; args are key=value words. */
const char *mb_cmdline(void);
const char *mb_args(void);
/* The value of key=... in the args, copied to buf; 0 if absent. */
int mb_arg(const char *key, char *buf, size_t len);
uint32_t mb_arg_u32(const char *key, uint32_t dflt);
uint32_t parse_u32(const char *s, const char **end);

/* fw_cfg (port 0x510 selector, 0x511 data; no DMA). */
#define FW_CFG_SIGNATURE	0x00
#define FW_CFG_ID		0x01
#define FW_CFG_RAM_SIZE		0x03
#define FW_CFG_NB_CPUS		0x05
#define FW_CFG_MAX_CPUS		0x0f
#define FW_CFG_FILE_DIR		0x19
void fwcfg_select(uint16_t key);
void fwcfg_read(void *buf, size_t len);
uint32_t fwcfg_read32(uint16_t key);	/* little-endian items */
uint64_t fwcfg_read64(uint16_t key);

/* The 8259 pair: remapped to base/base+8, all masked (mb_start does it). */
#define PIC_BASE	0x20
void pic_setup(uint8_t base);
void pic_mask(uint16_t mask);		/* bit n masks IRQ n */
void pic_eoi(int irq);

/* 8254 channel 2 through port 0x61, polled: counts down `count` ticks. */
#define PIT_HZ		1193182u
void pit2_start(uint16_t count);
int pit2_done(void);
void pit_delay_ticks(uint32_t ticks);	/* busy-wait that many PIT ticks */
/*
 * `sti; hlt` until *count >= want or about ms have passed (channel 0, IRQ0
 * at PIC_BASE, is the alarm; its handler is taken for the wait).  Returns
 * with IF clear; nonzero if the count was reached.
 */
int wait_for(volatile int *count, int want, uint32_t ms);

/* Local APIC (xAPIC MMIO). */
#define LAPIC_BASE	0xFEE00000u
#define LAPIC_ID	0x020
#define LAPIC_VER	0x030
#define LAPIC_TPR	0x080
#define LAPIC_PPR	0x0a0
#define LAPIC_EOI	0x0b0
#define LAPIC_LDR	0x0d0
#define LAPIC_DFR	0x0e0
#define LAPIC_SVR	0x0f0
#define LAPIC_ISR	0x100
#define LAPIC_TMR	0x180
#define LAPIC_IRR	0x200
#define LAPIC_ESR	0x280
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define LAPIC_LVT_TIMER	0x320
#define LAPIC_LVT_LINT0	0x350
#define LAPIC_LVT_LINT1	0x360
#define LAPIC_LVT_ERR	0x370
#define LAPIC_TIMER_ICR	0x380
#define LAPIC_TIMER_CCR	0x390
#define LAPIC_TIMER_DCR	0x3e0
#define LVT_MASKED	(1u << 16)
#define LVT_PERIODIC	(1u << 17)
#define ICR_PENDING	(1u << 12)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_INIT	(5u << 8)
#define ICR_STARTUP	(6u << 8)
#define ICR_SELF	(1u << 18)
#define ICR_ALL		(2u << 18)
#define ICR_ALL_BUT_SELF (3u << 18)

static inline uint32_t lapic_read(uint32_t reg) { return mmio_read32(LAPIC_BASE + reg); }
static inline void lapic_write(uint32_t reg, uint32_t v) { mmio_write32(LAPIC_BASE + reg, v); }
static inline void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }
/* Bit `vector` of the 256-bit ISR/TMR/IRR at reg. */
int lapic_bit(uint32_t reg, int vector);
void lapic_enable(void);		/* SVR enabled (spurious 0xff), LINT0 ExtINT, LINT1 NMI */
int lapic_icr_wait(void);		/* 0 once the delivery status is idle */

/* libc pieces (gcc may call memcpy/memset itself). */
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

#endif /* MB_H */
