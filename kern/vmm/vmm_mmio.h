/*
 * MMIO for the exit handlers (vmm_strio.c): a nested page fault on a page
 * that is not guest RAM (a local APIC at 0xFEE00000, an IOAPIC at
 * 0xFEC00000) is emulated by fetching the instruction at CS:RIP through
 * the guest's paging, decoding it and running vie_emulate_mmio
 * (vmm_emul.c) against the caller's device function. The leaf emulator is
 * declared in vmm_decode.h; this is its vCPU glue.
 */
#ifndef _KERN_VMM_VMM_MMIO_H
#define _KERN_VMM_VMM_MMIO_H

#include "../types.h"

struct vcpu;

/*
 * One device access: bytes (1, 2, 4, 8) at gpa, a write of *val or a
 * read into *val. Nonzero: stop (the device model is done with the guest,
 * or the access is to nothing).
 */
typedef int (*vm_mmio_fn_t)(void *arg, u64 gpa, int bytes, u64 *val,
    bool write);

/*
 * Emulate the instruction at rip that faulted on device address gpa (the
 * owner thread, between runs or in an exit handler). Done: RIP moves past
 * it (vm_skip_insn); a REP string move that ran out of its batch leaves
 * RIP for the next entry; a guest fault (#PF, #GP, #UD fetching or
 * decoding) is raised at the next entry. An instruction the emulator does
 * not know kills the vCPU with "cannot emulate MMIO instruction <bytes>
 * at rip <rip>". Returns nonzero only when mmio asked to stop.
 */
int vm_mmio_emulate(struct vcpu *, u64 rip, u64 gpa, vm_mmio_fn_t mmio,
    void *arg);

#endif
