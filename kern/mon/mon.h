/*
 * The serial monitor (docs/monitor.md): a prompt on COM1 in the shape of
 * mdb. A line is "[ADDR]::dcmd [args] [| [ADDR]::dcmd [args] ...]"; a
 * stage before a pipe hands the next one addresses (a walker's objects),
 * and the next stage runs once per address. Entered at any moment by the
 * break-in key (Ctrl-], 0x1d) while guests go on running, and at the end
 * of a run with monitor=1 instead of shutting down.
 *
 * Each subsystem registers its dcmds in its own file with MON_DCMD; the
 * reader of kernel objects never takes a lock a stopped thread could hold
 * forever (snapshots under short spin locks, or no lock at all, as the
 * panic path reads).
 */
#ifndef _KERN_MON_MON_H
#define _KERN_MON_MON_H

#include "../types.h"

#define	MON_BREAK	0x1d		/* Ctrl-]: QEMU keeps Ctrl-A for itself */
#define	MON_MAXARGS	8

/* printf-like output of a dcmd (the console, or a test's buffer). */
typedef void (*mon_printf_t)(void *arg, const char *fmt, ...)
    __printflike(2, 3);

struct mon_cmd {
	u64 mc_addr;			/* ADDR::dcmd, or a pipe's address */
	bool mc_have_addr;
	int mc_argc;
	const char *mc_argv[MON_MAXARGS];
	mon_printf_t mc_pr;
	void *mc_prarg;
	bool mc_last;			/* no stage follows */
	/* An object for the next stage (nothing if none follows). */
	void (*mc_emit)(struct mon_cmd *, u64 addr);
	void *mc_emitarg;
};

/* 0: done; nonzero: the one-line error is printed already. */
typedef int (*mon_dcmd_fn_t)(struct mon_cmd *);

struct mon_dcmd {
	const char *md_name;		/* without the "::" */
	const char *md_usage;
	const char *md_descr;		/* one line, for ::help */
	mon_dcmd_fn_t md_fn;
};

#define	MON_DCMD(name, usage, descr, fn)				\
	static const struct mon_dcmd mon_dcmd_##name			\
	    __attribute__((used, section(".mon_dcmds"), aligned(8))) =	\
	    { #name, usage, descr, fn }

#define	mon_printf(c, ...)	((c)->mc_pr((c)->mc_prarg, __VA_ARGS__))
/* A one-line error naming what was wrong; returns 1 for the dcmd. */
int mon_error(struct mon_cmd *, const char *fmt, ...) __printflike(2, 3);
/* Parse a number (0x.., decimal) or a kernel symbol; false if neither. */
bool mon_parse_addr(const char *s, u64 *out);

/* Start the monitor: its thread, and the console input routed through
 * it (a byte goes to the running guest unless the monitor has the
 * console). After the scheduler runs. */
void mon_init(void);
/* Where console input goes while the monitor does not have it (a
 * running guest's COM1; NULL: nowhere). false: there is no console
 * input on this machine (no IOAPIC for the receive interrupt). */
bool mon_set_passthrough(void (*fn)(void *, u8), void *arg);
/* monitor=1: the run is over; the monitor has the console until ::quit.
 * Returns then, for the caller to shut down. */
void mon_final(int status);
extern bool mon_at_exit;		/* monitor=1 on the command line */
/* The test switches mon_plant_leak/mon_plant_redzone (mon_kmem.c). */
void mon_kmem_plant(void);
/* Run one command line (tests, the final monitor); output through pr. */
int mon_exec(const char *line, mon_printf_t pr, void *arg);

#endif
