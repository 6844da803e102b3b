/*
 * The vCPU thread's side of VM_RUN: the loop that calls vm_run() and the
 * device model behind the exits the kernel hands back (port I/O).
 *
 * Devices (the guest ABI, guest/README.md):
 *   0x3f8-0x3ff  COM1, a 16550A (io/vuart.c, in the kernel): what the
 *                guest sends is its console, printed on the host serial as
 *                "[vm/com1] line" (the first vcpu_run_loop of a VM reads it)
 *   0x4f0        verdict: a 32-bit write ends the guest (0 = pass)
 *   0x4f4        report: a 32-bit value is logged, the guest goes on
 *   0x4f8        parameter: reads return the VM's vm_param
 *   0x4fc        RAM size in bytes
 * and what ends a guest on QEMU's PC (isa-debug-exit at 0xf4, "Shutdown"
 * on 0x8900, reset through 0xcf9 or the keyboard controller's 0xFE).
 */
#ifndef _KERN_VMM_VMM_DEV_H
#define _KERN_VMM_VMM_DEV_H

#include "vmm.h"
#include "vmm_loader.h"

/* The guest ABI, by the same names as guest/common.inc uses. */
#define	PORT_VERDICT	0x4f0		/* out eax: end the guest (0 = pass) */
#define	PORT_REPORT	0x4f4		/* out eax: log a value */
#define	PORT_PARAM	0x4f8		/* in eax: the VM's parameter */
#define	PORT_RAMSIZE	0x4fc		/* in eax: guest RAM in bytes */
#define	HC_ECHO		1		/* hypercall: eax=1, ebx=v -> v + 1 */
#define	MSR_SCRATCH	0x40000010	/* a per-vCPU 64-bit scratch MSR */
#define	PORT_DEBUG_EXIT	0xf4		/* QEMU's isa-debug-exit, any size */
#define	PORT_KBD_STATUS	0x64		/* i8042: status in, command out */
#define	KBD_CMD_RESET	0xfe		/* pulse the CPU's reset line */
#define	PORT_RESET_CTL	0xcf9		/* PIIX reset control; bit 2 resets */
#define	PORT_SHUTDOWN	0x8900		/* "Shutdown", one byte at a time */

/* How a guest ended (vcpu_result.how). */
enum guest_end {
	GUEST_RUNNING = 0,
	GUEST_VERDICT,		/* port 0x4f0 (the guest ABI) */
	GUEST_DEBUG_EXIT,	/* port 0xf4: QEMU's status (value << 1) | 1 */
	GUEST_SHUTDOWN_PORT,	/* "Shutdown" on 0x8900 */
	GUEST_RESET,		/* 0xcf9 or 0x64 <- 0xfe */
	GUEST_STOPPED		/* stopped by the hypervisor: reason */
};

/* Guest console output, buffered per VM (vmm_cons.c). */
#define	VM_CONS_LINE	128		/* the longest line printed whole */
struct vm_cons;
void vm_cons_start(void);		/* at boot: the "guest console" thread */
struct vm_cons *vm_cons_open(const char *vm);
/* A line of the guest's (no newline): into the ring, or dropped if full. */
void vm_cons_put(struct vm_cons *, const char *line);
/* Wait until every line is printed, free; the lines dropped (*lines: all
 * put). */
u64 vm_cons_close(struct vm_cons *, u64 *lines);
/* Where the lines go (NULL: cmn_err as "[vm/com1] line"); tests only. */
extern void (*vm_cons_sink)(const char *vm, const char *line);
extern bool vmm_inject_cons_sync;	/* tests: print from the vCPU thread */

struct vcpu_result {
	bool done;		/* the guest wrote its verdict */
	u32 verdict;
	enum guest_end how;	/* what ended it (any of the ports) */
	u32 exit_status;	/* GUEST_DEBUG_EXIT: (value << 1) | 1 */
	u8 shutdown_len;	/* of "Shutdown" seen on 0x8900 so far */
	bool killed;		/* stopped by the hypervisor */
	char reason[120];	/* why it was stopped */
	u64 reports;		/* writes to the report port */
	u32 last_report;
	u64 inouts;		/* port exits handled */
	u64 vm_runs;		/* vm_run calls */
	struct vm *console_vm;	/* whose COM1 output this is */
	char transcript[1024];	/* the start of the guest's console output */
	size_t transcript_len;
	char line[128];		/* the console line being assembled */
	size_t line_len;
	bool quiet;		/* don't echo the guest's console */
	struct vm_cons *cons;	/* its buffer while vcpu_run_loop runs */
	u64 cons_lines;		/* console lines the guest wrote */
	u64 cons_dropped;	/* ... that found the buffer full */
	/* Called after every vm_run (tests check host FPU state here). */
	bool (*after_run)(struct vcpu *, void *arg);
	void *after_arg;
};

/* Run vCPU until the guest gives its verdict, ends through one of the PC's
 * ports, or is stopped; returns true if it passed (verdict 0). */
bool vcpu_run_loop(struct vcpu *, struct vcpu_result *);
/* The parameter, RAM-size and report ports, for vm_run's loop and the
 * thread's model alike: true if port is one of them (*val read or taken). */
bool vm_abi_inout(struct vcpu *, u16 port, bool in, u32 *val);
/* "debug-exit status=3", "verdict 0x0", ...: how r's guest ended. */
void guest_end_describe(const struct vcpu_result *r, char *buf, size_t len);

/* Built-in guests (the guest folder's images, linked into the kernel). */
struct guest_image {
	const char *name;
	const u8 *start;
	const u8 *end;
};
const struct guest_image *guest_find(const char *name);
/* Create a VM named name with one vCPU running image at 0x7C00. NULL and
 * a message in why if the image is unusable. */
struct vm *vm_create_guest(const char *name, const u8 *image, size_t len,
    u64 memsize, u32 param, char *why, size_t whylen);

#endif
