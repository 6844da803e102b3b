/*
 * Running a user's guest (vmm_guest.c): a built-in image, a boot module
 * (a boot sector or a multiboot kernel with its modules), or a batch of
 * them one after the other in one boot (make check's comparison with plain
 * QEMU). Each ends with one line
 *     bhyvelet: guest 'NAME' exited: <how>
 * and the kernel shuts down with status 0 when every guest ended by its
 * own choice (a verdict 0, isa-debug-exit, the shutdown port), else 1.
 *
 * A batch (guest=batch): module 0 is a text file of lines
 *     run NAME cpus=N mem=MiB modules=K
 * each taking the next K boot modules: the guest image (its string is the
 * guest's command line, "<path> <args>") and K-1 modules of its own.
 */
#ifndef _KERN_VMM_VMM_GUEST_H
#define _KERN_VMM_VMM_GUEST_H

#include "vmm_loader.h"

#define	GUEST_BOOT_MODULES	64

/* A boot module as the host's loader gave it (copied at boot). */
struct boot_module {
	paddr_t bm_start, bm_end;
	char bm_string[GUEST_CMDLINE_MAX];
};

/* guest_timeout= (main.c): seconds a guest may run, 0 for no limit. */
extern u32 guest_timeout_s;

__noreturn void guest_run_builtin(const char *name, u32 param);
__noreturn void guest_run_modules(const struct boot_module *, int n,
    bool batch, u32 cpus, u32 mem_mib, u32 param);

#endif
