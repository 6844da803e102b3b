/*
 * The PC's chips of every VM, in the kernel as bhyve keeps them: the
 * 8259A pair, the 8254, the CMOS RTC, the COM1 16550A, QEMU's fw_cfg and
 * the ACPI PM timer (kern/vmm/io). vm_run routes their ports here before
 * the caller's device model sees an exit, and asks the PIC for a vector at
 * each entry (vmm_intr.c).
 */
#include "vmm.h"
#include "io/vatpic.h"
#include "io/vatpit.h"
#include "io/vrtc.h"
#include "io/vuart.h"
#include "io/vfwcfg.h"
#include "io/vpmtmr.h"
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

#define	COM1_BASE	0x3f8
#define	COM1_IRQ	4

/* The UART's bytes go to whoever reads the guest's console. */
static void
isa_uart_tx(void *arg, u8 c)
{
	struct vm *vm = arg;
	void (*fn)(void *, u8) = __atomic_load_n(&vm->vm_console,
	    __ATOMIC_ACQUIRE);

	if (fn != NULL)
		fn(vm->vm_console_arg, c);
}

static void
isa_uart_irq(void *arg, bool level)
{
	struct vm *vm = arg;

	if (level)
		vatpic_assert_irq(vm->vm_atpic, COM1_IRQ);
	else
		vatpic_deassert_irq(vm->vm_atpic, COM1_IRQ);
}

void
vm_set_console(struct vm *vm, void (*fn)(void *, u8), void *arg)
{
	vm->vm_console_arg = arg;
	__atomic_store_n(&vm->vm_console, fn, __ATOMIC_RELEASE);
}

void
vm_isa_create(struct vm *vm)
{
	vm->vm_atpic = vatpic_create(isa_notify, vm);
	vm->vm_atpit = vatpit_create(vm->vm_atpic, isa_clock, NULL);
	vm->vm_rtc = vrtc_create(isa_clock, NULL);
	vm->vm_uart = vuart_create(isa_uart_tx, isa_uart_irq, vm);
	vm->vm_fwcfg = vfwcfg_create(vm->vm_nvcpus, vm->vm_memsize);
	vm->vm_pmtmr = vpmtmr_create(isa_clock, NULL);
}

void
vm_isa_destroy(struct vm *vm)
{
	vpmtmr_destroy(vm->vm_pmtmr);
	vfwcfg_destroy(vm->vm_fwcfg);
	vuart_destroy(vm->vm_uart);
	vm->vm_pmtmr = NULL;
	vm->vm_fwcfg = NULL;
	vm->vm_uart = NULL;
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
	if (port >= COM1_BASE && port < COM1_BASE + 8)
		return (vuart_io(vm->vm_uart, port - COM1_BASE, in, bytes,
		    val) == 0);
	/* The PIC's masks, EOIs and polls change what vCPU 0 may take;
	 * the PIT's next edge is its deadline, whichever vCPU programmed
	 * it: vCPU 0 asks again at its next entry (vm_entry_events). */
	if (vatpic_io(vm->vm_atpic, port, in, bytes, val) == 0 ||
	    vatpit_io(vm->vm_atpit, port, in, bytes, val) == 0) {
		isa_notify(vm);
		return (true);
	}
	return (vrtc_io(vm->vm_rtc, port, in, bytes, val) == 0 ||
	    vfwcfg_io(vm->vm_fwcfg, port, in, bytes, val) == 0 ||
	    vpmtmr_io(vm->vm_pmtmr, port, in, bytes, val) == 0);
}
