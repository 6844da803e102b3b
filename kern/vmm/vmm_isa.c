/*
 * The PC's chips of every VM, in the kernel as bhyve keeps them: the
 * 8259A pair, the 8254 and the CMOS RTC (kern/vmm/io). vm_run routes
 * their ports here before the caller's device model sees an exit, and
 * asks the PIC for a vector at each entry (vmm_intr.c).
 */
#include "vmm.h"
#include "io/vatpic.h"
#include "io/vatpit.h"
#include "io/vrtc.h"
#include "../apic.h"
#include "../panic.h"

static hrtime_t
isa_clock(void *arg __unused)
{
	return (gethrtime());
}

/* The PIC's output may have risen: vCPU 0 takes ExtINT (it may sleep). */
static void
isa_notify(void *arg)
{
	struct vm *vm = arg;

	vm_notify_vcpu(vm->vm_vcpu[0]);
}

void
vm_isa_create(struct vm *vm)
{
	vm->vm_atpic = vatpic_create(isa_notify, vm);
	vm->vm_atpit = vatpit_create(vm->vm_atpic, isa_clock, NULL);
	vm->vm_rtc = vrtc_create(isa_clock, NULL);
}

void
vm_isa_destroy(struct vm *vm)
{
	vrtc_destroy(vm->vm_rtc);
	vatpit_destroy(vm->vm_atpit);
	vatpic_destroy(vm->vm_atpic);
	vm->vm_rtc = NULL;
	vm->vm_atpit = NULL;
	vm->vm_atpic = NULL;
}

/* true if port is a chip's: *val read or written. */
bool
vm_isa_inout(struct vm *vm, u16 port, bool in, int bytes, u32 *val)
{
	return (vatpic_io(vm->vm_atpic, port, in, bytes, val) == 0 ||
	    vatpit_io(vm->vm_atpit, port, in, bytes, val) == 0 ||
	    vrtc_io(vm->vm_rtc, port, in, bytes, val) == 0);
}
