/*
 * The in-kernel guest fuzzer (docs/fuzz.md). fuzz_gen.c turns a seed into
 * a program for guest/fuzz.asm's frame; fuzz.c runs seeds one guest after
 * another in one boot, checks what each did to the host, and counts how
 * each ended.
 */
#ifndef _KERN_VMM_FUZZ_FUZZ_H
#define _KERN_VMM_FUZZ_FUZZ_H

#include "../../types.h"

/* guest/fuzz.asm's layout (the same names there). */
#define	FZ_BASE		0x10000		/* the payload, 64 KiB at most */
#define	FZ_CUR_OFF	0x0		/* u32: the op running */
#define	FZ_NOPS_OFF	0x4		/* u32: ops in the table */
#define	FZ_FAULTS_OFF	0x8		/* u32: interrupts and exceptions taken */
#define	FZ_OPTAB_OFF	0x10		/* u32 per op: its address */
#define	FZ_RESULTS_OFF	0x420		/* what RDMSR, RDTSCP, ... returned */
#define	FZ_NRESULTS	256		/* u32 slots */
#define	FZ_CODE_OFF	0x840		/* the ops' code */
#define	FZ_PAYLOAD_MAX	0x10000
#define	FZ_MAXOPS	256
#define	FZ_GUEST_MEM	(2UL << 20)

/* The frame's own verdicts (guest/fuzz.asm). */
#define	FZ_VERDICT_DONE		0	/* the last op ran */
#define	FZ_VERDICT_FAULTS	1	/* FZ_MAXFAULTS taken */
#define	FZ_VERDICT_LOST		2	/* the op index was overwritten */

enum fz_mode { FZ_REAL, FZ_PROT, FZ_LONG, FZ_NMODES };
enum fz_kind { FZ_RANDOM, FZ_SENSITIVE, FZ_MIX, FZ_NKINDS };

#define	FZ_OPS(X)							\
	X(REGS,		"random GPRs")					\
	X(BYTES,	"random bytes")					\
	X(OUT,		"out to a device or a random port")		\
	X(IN,		"in from a device or a random port")		\
	X(STRIO,	"string I/O (rep ins/outs)")			\
	X(RDMSR,	"rdmsr, result kept")				\
	X(WRMSR,	"wrmsr")					\
	X(MOVCR,	"mov to CR0/2/3/4/8")				\
	X(MOVDR,	"mov to or from DR0-7")				\
	X(XSETBV,	"xsetbv/xgetbv")				\
	X(DTLOAD,	"lgdt/lidt/lldt/ltr of garbage")		\
	X(INTN,		"int n, int3, into, icebp")			\
	X(HLT,		"cli or sti, then hlt")				\
	X(FARJMP,	"far jmp/call, random selector")		\
	X(VIRT,		"an SVM or VMX instruction")			\
	X(MEM,		"load or store anywhere (RAM, MMIO, past RAM)")	\
	X(SMC,		"store into the code ahead")			\
	X(CPUID,	"cpuid, random leaf")				\
	X(SEGLOAD,	"segment register load, random selector")	\
	X(POPF,		"popf of random flags")				\
	X(MISC,		"one privileged or odd instruction")

#define	FZ_OP_ENUM(op, desc)	FZ_OP_##op,
enum fz_op { FZ_OPS(FZ_OP_ENUM) FZ_NOPKINDS };
#undef FZ_OP_ENUM

/* One generated guest: the payload to load at FZ_BASE. */
struct fz_prog {
	u64 fp_seed;
	enum fz_mode fp_mode;
	enum fz_kind fp_kind;
	u32 fp_nops;
	u32 fp_len;			/* bytes of fp_buf used */
	u8 fp_op[FZ_MAXOPS];		/* enum fz_op of each op */
	u32 fp_msr[FZ_MAXOPS];		/* the MSR an RDMSR op reads, or 0 */
	u8 fp_buf[FZ_PAYLOAD_MAX];
};

void fz_generate(u64 seed, struct fz_prog *);
const char *fz_mode_name(enum fz_mode);
const char *fz_kind_name(enum fz_kind);
const char *fz_op_name(enum fz_op);

/* The MSRs whose host values a guest must never see (fuzz.c fills the
 * table at the start of a run; the generator reads them often). */
#define	FZ_NSECRET_MSRS	6
extern const u32 fz_secret_msr[FZ_NSECRET_MSRS];

/* Run seeds [first, last): every guest's end counted and checked; the
 * table by stop reason printed. Returns the failures (host damage, a
 * secret seen, an unexplained stop, a leak). verbose: a line per guest. */
struct fz_totals {
	u64 ft_guests;
	u64 ft_failures;
	u64 ft_secrets;			/* guests that saw a host secret */
	u64 ft_completed;		/* guests whose every op ran */
	u64 ft_classes;			/* distinct ways of ending */
};
u64 fuzz_run(u64 first, u64 last, bool verbose, struct fz_totals *);
/* guest=fuzz:SEED: one guest, its program listed and its console shown;
 * does not return (the boot's verdict is the guest's). */
void fuzz_replay(u64 seed) __noreturn;
extern bool fuzz_verbose;		/* fuzz_verbose=1: a line per guest */

#endif
