/*
 * The interrupt controllers of a VM: a local APIC per vCPU (io/vlapic.c)
 * and one IOAPIC (io/vioapic.c), wired together as a PC wires them. Their
 * register pages are not guest RAM: an access exits as a nested page
 * fault and is emulated (vm_mmio_emulate) against the APIC of the vCPU
 * that made it, or the IOAPIC. What leaves an APIC (an IPI, an NMI, INIT,
 * SIPI, an EOI of a level interrupt) is routed here; what the run loop
 * asks of it (a vector to inject, when its timer fires) is in vmm_intr.c.
 *
 * Locks: each chip has its own, and they call out with none held, so an
 * IPI from vCPU A to B while B sends to A takes A's lock, then B's, never
 * both. The SIPI a vCPU waits for is under its vc_wait_lock.
 */
#include "vmm.h"
#include "vmm_mmio.h"
#include "io/vlapic.h"
#include "io/vioapic.h"
#include "../panic.h"
#include "../console.h"
#include "../thread.h"
#include "../x86.h"
#include "../apic.h"

#define	IOAPIC_BASE	0xfec00000ULL
#define	IOAPIC_SIZE	0x1000

static hrtime_t
lapic_clock(void *arg __unused)
{
	return (gethrtime());
}

static void
lapic_notify(void *arg)
{
	vm_notify_vcpu(arg);
}

static void
lapic_eoi_level(void *arg, int vector)
{
	struct vcpu *vcpu = arg;

	vioapic_eoi(vcpu->vc_vm->vm_ioapic, vector);
}

static void
lapic_ipi(void *arg, struct vlapic *src, const struct vlapic_msg *msg)
{
	struct vm *vm = ((struct vcpu *)arg)->vc_vm;

	(void) vlapic_deliver(vm->vm_lapic, vm->vm_nvcpus, src, msg);
}

static void
lapic_nmi(void *arg, u32 id __unused)
{
	vm_inject_nmi(arg);
}

/*
 * INIT: the vCPU waits for a SIPI (its APIC was reset already). Its
 * registers are its own thread's: that thread resets them when it sees
 * vc_init (vm_sipi_wait).
 */
static void
lapic_init(void *arg, u32 id __unused)
{
	struct vcpu *vcpu = arg;

	mutex_enter(&vcpu->vc_wait_lock);
	vcpu->vc_init = true;
	vcpu->vc_wait_sipi = true;
	vcpu->vc_sipi_vector = -1;
	mutex_exit(&vcpu->vc_wait_lock);
	vm_notify_vcpu(vcpu);
}

/* SIPI: only a vCPU waiting for one (after INIT) takes it. */
static void
lapic_sipi(void *arg, u32 id __unused, int vector)
{
	struct vcpu *vcpu = arg;

	mutex_enter(&vcpu->vc_wait_lock);
	if (vcpu->vc_wait_sipi && vcpu->vc_sipi_vector < 0)
		vcpu->vc_sipi_vector = vector;
	cv_broadcast(&vcpu->vc_wait_cv);
	mutex_exit(&vcpu->vc_wait_lock);
}

static const struct vlapic_ops lapic_ops = {
	.notify = lapic_notify,
	.eoi_level = lapic_eoi_level,
	.ipi = lapic_ipi,
	.nmi = lapic_nmi,
	.init = lapic_init,
	.sipi = lapic_sipi,
};

/* An IOAPIC pin's message, onto the APIC bus. */
static void
ioapic_deliver(void *arg, u32 dest, bool logical, u32 mode, int vector,
    bool level)
{
	struct vm *vm = arg;
	struct vlapic_msg msg = { .dest = dest, .logical = logical,
	    .mode = mode, .shorthand = APIC_ICR_SH_NONE, .vector = vector,
	    .level = level, .assert = true };

	(void) vlapic_deliver(vm->vm_lapic, vm->vm_nvcpus, NULL, &msg);
}

/*
 * After the vCPUs exist: vCPU 0 is the BSP, in the state SeaBIOS leaves
 * for a -kernel boot (LINT0 in virtual-wire mode, so the 8259 still
 * reaches it); the others wait for INIT and SIPI, as APs do.
 */
void
vm_lapic_create(struct vm *vm)
{
	for (int i = 0; i < vm->vm_nvcpus; i++) {
		struct vcpu *vcpu = vm->vm_vcpu[i];
		vcpu->vc_vlapic = vlapic_create((u32)i, i == 0, &lapic_ops,
		    vcpu, lapic_clock, NULL);
		vm->vm_lapic[i] = vcpu->vc_vlapic;
		vcpu->vc_sipi_vector = -1;
		vcpu->vc_wait_sipi = i != 0;
	}
	vlapic_bios_init(vm->vm_lapic[0]);
	vm->vm_ioapic = vioapic_create(ioapic_deliver, vm);
}

/* After the vCPUs are gone: nothing calls into the APICs any more. */
void
vm_lapic_destroy(struct vm *vm)
{
	vioapic_destroy(vm->vm_ioapic);
	vm->vm_ioapic = NULL;
	for (int i = 0; i < vm->vm_nvcpus; i++) {
		vlapic_destroy(vm->vm_lapic[i]);
		vm->vm_lapic[i] = NULL;
	}
}

/* One access to the APIC page; the vCPU's own APIC answers it. */
static int
lapic_mmio(void *arg, u64 gpa, int bytes, u64 *val, bool write)
{
	struct vcpu *vcpu = arg;
	u32 v = (u32)*val;

	if (vlapic_mmio(vcpu->vc_vlapic, gpa - VLAPIC_BASE, write, bytes,
	    &v) != 0)
		v = 0xffffffff;		/* disabled: nothing decodes it */
	if (!write)
		*val = bytes == 8 ? 0 : v;
	return (0);
}

static int
ioapic_mmio(void *arg, u64 gpa, int bytes, u64 *val, bool write)
{
	struct vcpu *vcpu = arg;
	u32 v = (u32)*val;

	(void) vioapic_mmio(vcpu->vc_vm->vm_ioapic, gpa - IOAPIC_BASE, write,
	    bytes, &v);
	if (!write)
		*val = v;
	return (0);
}

/*
 * A nested page fault outside guest RAM: true if it was an APIC's page
 * (emulated, or the vCPU stopped by the emulator), false if it is no
 * device's (the caller stops the VM).
 */
bool
vm_lapic_npf(struct vcpu *vcpu, struct vm_exit *vme)
{
	u64 gpa = vme->u.npf.gpa;
	vm_mmio_fn_t fn;

	if (gpa >= VLAPIC_BASE && gpa < VLAPIC_BASE + VLAPIC_PAGE_SIZE)
		fn = lapic_mmio;
	else if (gpa >= IOAPIC_BASE && gpa < IOAPIC_BASE + IOAPIC_SIZE)
		fn = ioapic_mmio;
	else
		return (false);
	vmm_stat_incr(vcpu, MMIO_EMULATED);
	(void) vm_mmio_emulate(vcpu, vme->rip, gpa, fn, vcpu);
	return (true);
}

/* IA32_APIC_BASE (vmm_msr.c's table). */
u64
vm_lapic_apicbase_read(struct vcpu *vcpu)
{
	return (vlapic_apicbase_read(vcpu->vc_vlapic));
}

bool
vm_lapic_apicbase_write(struct vcpu *vcpu, u64 val)
{
	return (vlapic_apicbase_write(vcpu->vc_vlapic, val));
}

/* CR8 is the TPR's class (MOV to CR8 in 64-bit mode); false: #GP. */
bool
vm_lapic_set_cr8(struct vcpu *vcpu, u64 v)
{
	return (vlapic_set_cr8(vcpu->vc_vlapic, v));
}

u64
vm_lapic_get_cr8(struct vcpu *vcpu)
{
	return (vlapic_get_cr8(vcpu->vc_vlapic));
}

/* A segment as reset or a SIPI leaves it: real mode, 64 KiB. */
static void
real_seg(struct vcpu *vcpu, enum vm_seg seg, u16 sel, bool code)
{
	struct vm_seg_desc d = { .vsd_base = (u64)sel << 4,
	    .vsd_limit = 0xffff, .vsd_sel = sel,
	    .vsd_attr = code ? 0x9b : 0x93 };

	vm_setseg(vcpu, seg, &d);
}

/*
 * The vCPU's own thread, at the top of vm_run: while it waits for a SIPI
 * (an AP before its first, or any vCPU after INIT), sleep until one comes
 * or the VM stops; then start in real mode at vector << 12, as an AP
 * does. false if the VM stopped first.
 */
bool
vm_sipi_wait(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vc_vm;

	(void) vm_halted_enter(vcpu);	/* if the last, vm_stop is set */
	mutex_enter(&vcpu->vc_wait_lock);
	while (vcpu->vc_wait_sipi && vcpu->vc_sipi_vector < 0 &&
	    !vm->vm_stop)
		cv_wait(&vcpu->vc_wait_cv, &vcpu->vc_wait_lock);
	vm_halted_leave(vcpu);
	int vector = vcpu->vc_sipi_vector;
	bool init = vcpu->vc_init;
	if (vm->vm_stop) {
		mutex_exit(&vcpu->vc_wait_lock);
		return (false);
	}
	vcpu->vc_wait_sipi = false;
	vcpu->vc_sipi_vector = -1;
	vcpu->vc_init = false;
	mutex_exit(&vcpu->vc_wait_lock);
	vmm_stat_incr(vcpu, SIPI_TAKEN);
	if (init) {
		/* INIT's register state (SDM Table 9-1), what a SIPI does
		 * not set itself. */
		for (int r = VM_REG_RAX; r <= VM_REG_R15; r++)
			vm_setreg(vcpu, (enum vm_reg)r, 0);
		vm_setreg(vcpu, VM_REG_CR0, 0x60000010);
		vm_setreg(vcpu, VM_REG_CR4, 0);
		vm_setreg(vcpu, VM_REG_CR3, 0);
		vm_setreg(vcpu, VM_REG_EFER, 0);
		for (int s = VM_SEG_ES; s <= VM_SEG_GS; s++)
			real_seg(vcpu, (enum vm_seg)s, 0, false);
		struct vm_seg_desc dt = { .vsd_limit = 0xffff };
		vm_setseg(vcpu, VM_SEG_GDTR, &dt);
		vm_setseg(vcpu, VM_SEG_IDTR, &dt);
	}
	real_seg(vcpu, VM_SEG_CS, (u16)(vector << 8), true);
	vm_setreg(vcpu, VM_REG_RIP, 0);
	vm_setreg(vcpu, VM_REG_RFLAGS, 0x2);
	return (true);
}
