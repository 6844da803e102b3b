/*
 * Suite "vmm": vm_mmio_emulate (vmm_strio.c) on a real vCPU that is not
 * running: the instruction is fetched from guest RAM at CS:RIP (real
 * mode, as a vCPU starts), emulated against a device function, RIP moved;
 * an instruction it cannot emulate stops the vCPU with its bytes.
 */
#include "ktest.h"
#include "../kern/vmm/vmm.h"
#include "../kern/panic.h"
#include "../kern/vmm/vmm_mmio.h"

#define	LAPIC	0xfee00000ULL

struct dev {
	int d_calls;
	u64 d_gpa;
	int d_bytes;
	bool d_write;
	u64 d_val;		/* written, or what a read returns */
	bool d_stop;
};

static int
dev_access(void *arg, u64 gpa, int bytes, u64 *val, bool write)
{
	struct dev *d = arg;

	d->d_calls++;
	d->d_gpa = gpa;
	d->d_bytes = bytes;
	d->d_write = write;
	if (write)
		d->d_val = *val;
	else
		*val = d->d_val;
	return (d->d_stop);
}

static struct vm *
mmio_vm(const u8 *code, size_t n)
{
	struct vm *vm = vm_create("mmio", 1UL << 20, 1);
	VERIFY(vm != NULL, "vm_create");

	KT_EXPECT(vm_load(vm, 0x7c00, code, n), "loading the code");
	return (vm);
}

KTEST(vmm, mmio_emulate_real_mode)
{
	static const u8 code[] = {
		0x89, 0x07,		/* 7c00 mov [bx],ax */
		0x8b, 0x0f,		/* 7c02 mov cx,[bx] */
		0x83, 0x3f, 0x10,	/* 7c04 cmp word [bx],0x10 */
		0x8d, 0x07,		/* 7c07 lea ax,[bx] */
	};
	struct dev d = { 0 };

	if (vmm_ops == NULL) {
		ktest_skip("no virtualization backend on this CPU");
		return;
	}
	struct vm *vm = mmio_vm(code, sizeof (code));
	struct vcpu *v = vm->vm_vcpu[0];

	KT_EXPECT(vm_getreg(v, VM_REG_RIP) == 0x7c00, "the vCPU starts at "
	    "0x%lx", vm_getreg(v, VM_REG_RIP));
	vm_setreg(v, VM_REG_RAX, 0xabcd1234);
	vm_setreg(v, VM_REG_RBX, 0x40);
	vm_setreg(v, VM_REG_RCX, 0x55550000);
	KT_EXPECT(vm_mmio_emulate(v, 0x7c00, LAPIC + 0x40, dev_access, &d) ==
	    0 && d.d_calls == 1 && d.d_write && d.d_bytes == 2 &&
	    d.d_gpa == LAPIC + 0x40 && d.d_val == 0x1234, "mov [bx],ax: %d "
	    "calls, %d bytes, value 0x%lx", d.d_calls, d.d_bytes, d.d_val);
	KT_EXPECT(vm_getreg(v, VM_REG_RIP) == 0x7c02 && !v->vc_dead,
	    "rip 0x%lx after mov [bx],ax", vm_getreg(v, VM_REG_RIP));

	d.d_val = 0xbeef;
	KT_EXPECT(vm_mmio_emulate(v, 0x7c02, LAPIC + 0x40, dev_access, &d) ==
	    0 && d.d_calls == 2 && !d.d_write && vm_getreg(v, VM_REG_RCX) ==
	    0x5555beef && vm_getreg(v, VM_REG_RIP) == 0x7c04, "mov cx,[bx]: "
	    "rcx 0x%lx rip 0x%lx", vm_getreg(v, VM_REG_RCX),
	    vm_getreg(v, VM_REG_RIP));

	d.d_val = 0x10;
	KT_EXPECT(vm_mmio_emulate(v, 0x7c04, LAPIC + 0x40, dev_access, &d) ==
	    0 && d.d_calls == 3 && (vm_getreg(v, VM_REG_RFLAGS) & 0x40) != 0 &&
	    vm_getreg(v, VM_REG_RIP) == 0x7c07, "cmp word [bx],0x10: rflags "
	    "0x%lx", vm_getreg(v, VM_REG_RFLAGS));

	/* the device may end the guest: reported, RIP stays */
	d.d_stop = true;
	KT_EXPECT(vm_mmio_emulate(v, 0x7c00, LAPIC + 0x40, dev_access, &d) ==
	    1 && vm_getreg(v, VM_REG_RIP) == 0x7c07, "a device asking to "
	    "stop");
	d.d_stop = false;

	/* LEA does not touch memory: the vCPU stops with its bytes */
	int calls = d.d_calls;
	KT_EXPECT(vm_mmio_emulate(v, 0x7c07, LAPIC + 0x40, dev_access, &d) ==
	    0 && d.d_calls == calls, "lea reached the device");
	KT_EXPECT(v->vc_dead && strstr(v->vc_dead_reason, "cannot emulate "
	    "MMIO instruction 8d 07") != NULL && strstr(v->vc_dead_reason,
	    "at rip 0x7c07") != NULL, "lea: %s", v->vc_dead ?
	    v->vc_dead_reason : "not killed");
	vm_destroy(vm);
}

/* A form the decoder knows but with no memory operand: its bytes only. */
KTEST(vmm, mmio_emulate_register_form_refused)
{
	static const u8 code[] = { 0x89, 0xc8, 0x90, 0x90 };	/* mov ax,cx */
	struct dev d = { 0 };

	if (vmm_ops == NULL) {
		ktest_skip("no virtualization backend on this CPU");
		return;
	}
	struct vm *vm = mmio_vm(code, sizeof (code));
	struct vcpu *v = vm->vm_vcpu[0];

	(void) vm_mmio_emulate(v, 0x7c00, LAPIC, dev_access, &d);
	KT_EXPECT(d.d_calls == 0 && v->vc_dead && strstr(v->vc_dead_reason,
	    "cannot emulate MMIO instruction 89 c8 at rip 0x7c00") != NULL,
	    "mov ax,cx: %s", v->vc_dead ? v->vc_dead_reason : "not killed");
	vm_destroy(vm);
}
