/*
 * Switches: boolean knobs declared next to the code they change, one line
 * each with a description (as FreeBSD's vmm.c declares its tunables with
 * SYSCTL_INT). KTUNABLE_CMDLINE ones can be set on the kernel command
 * line as name=0|1; KTUNABLE_TEST ones are fault injection that only
 * tests set (they break the kernel on purpose to show a check catches it).
 * The linker gathers them into .ktunables, so the command line parser and
 * a listing need no table of their own.
 */
#ifndef _KERN_TUNABLE_H
#define _KERN_TUNABLE_H

#include "types.h"

typedef struct ktunable {
	const char *tu_name;		/* the variable's name */
	bool *tu_var;
	bool tu_cmdline;		/* name=0|1 on the command line */
	const char *tu_desc;		/* one line */
} ktunable_t;

#define	KTUNABLE_DEFINE(var, cmdline, desc)				\
	bool var;							\
	static const ktunable_t ktunable_##var				\
	    __attribute__((used, section(".ktunables"), aligned(8))) =	\
	    { #var, &var, (cmdline), (desc) }
#define	KTUNABLE_CMDLINE(var, desc)	KTUNABLE_DEFINE(var, true, desc)
#define	KTUNABLE_TEST(var, desc)	KTUNABLE_DEFINE(var, false, desc)

/* The tunable settable from the command line with this name, or NULL. */
const ktunable_t *ktunable_find(const char *name);
/* "# NAME=1: description" for each switch that is on. */
void ktunable_list_set(void);

/* platform= from the command line (kern/main.c; "unknown" if absent):
 * the log names it, tests skip for a platform's documented defects. */
extern char opt_platform[32];

#endif
