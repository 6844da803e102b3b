/*
 * The vCPU thread's loop and its device model (see vmm_dev.h).
 */
#include "vmm_dev.h"
#include "../pmem.h"
#include "../console.h"
#include "../panic.h"
#include "../thread.h"
#include "../cpu.h"

/*
 * COM1's output (vm_set_console): the transcript and the host console,
 * one line at a time as "[vm/com1] line", through the VM's buffer
 * (vmm_cons.c). The UART calls it one byte at a time in order, from
 * whichever vCPU thread runs it.
 */
static void
console_char(void *arg, u8 b)
{
	struct vcpu_result *r = arg;
	char c = (char)b;

	if (r->transcript_len + 1 < sizeof (r->transcript)) {
		r->transcript[r->transcript_len++] = c;
		r->transcript[r->transcript_len] = '\0';
	}
	if (c == '\r')
		return;
	if (c == '\n' || r->line_len + 1 >= sizeof (r->line)) {
		r->line[r->line_len] = '\0';
		if (r->cons != NULL)
			vm_cons_put(r->cons, r->line);
		r->line_len = 0;
		if (c == '\n')
			return;
	}
	r->line[r->line_len++] = c;
}

/*
 * The guest ABI's ports that need no device thread (the parameter, the
 * RAM size, the report): vm_run answers them in its loop (vm_handle_inout)
 * as bhyve keeps its simple devices in the kernel, and the thread's model
 * below for a VM that wants vm_run to return (vm_abi_in_thread).
 */
bool
vm_abi_inout(struct vcpu *vcpu, u16 port, bool in, u32 *val)
{
	if (in && port == PORT_PARAM) {
		*val = vcpu->vc_vm->vm_param;
	} else if (in && port == PORT_RAMSIZE) {
		*val = (u32)vcpu->vc_vm->vm_memsize;
	} else if (!in && port == PORT_REPORT) {
		vcpu->vc_reports++;
		vcpu->vc_last_report = *val;
	} else {
		return (false);
	}
	return (true);
}

/* One port access; an IN fills *val. Returns false when the guest is done. */
static bool
port_access(struct vcpu *vcpu, struct vcpu_result *r, u16 port, bool in,
    u32 *val)
{
	if (vm_abi_inout(vcpu, port, in, val))
		return (true);
	if (in) {
		switch (port) {
		case PORT_KBD_STATUS:		/* idle, self test passed */
			*val = 0x1c;
			break;
		default:
			*val = 0xffffffff;	/* nothing there */
			break;
		}
		return (true);
	}
	switch (port) {
	case PORT_VERDICT:
		r->done = true;
		r->verdict = *val;
		r->how = GUEST_VERDICT;
		return (false);
	case PORT_DEBUG_EXIT:
		r->how = GUEST_DEBUG_EXIT;
		r->exit_status = (*val << 1) | 1;
		return (false);
	case PORT_SHUTDOWN: {
		static const char word[] = "Shutdown";
		/* As QEMU's port: any wrong byte starts the word over. */
		if ((char)*val == word[r->shutdown_len])
			r->shutdown_len++;
		else
			r->shutdown_len = (char)*val == word[0];
		if (r->shutdown_len < sizeof (word) - 1)
			return (true);
		r->how = GUEST_SHUTDOWN_PORT;
		return (false);
	}
	case PORT_RESET_CTL:
		if ((*val & 0x4) == 0)
			return (true);
		r->how = GUEST_RESET;
		return (false);
	case PORT_KBD_STATUS:
		if ((u8)*val != KBD_CMD_RESET)
			return (true);
		r->how = GUEST_RESET;
		return (false);
	default:
		return (true);			/* writes to nothing */
	}
}

/* A VM_EXIT_INOUT: one access. */
static bool
port_io(struct vcpu *vcpu, struct vcpu_result *r, struct vm_exit *vme)
{
	r->inouts++;
	return (port_access(vcpu, r, vme->u.inout.port, vme->u.inout.in,
	    &vme->u.inout.eax));
}

/*
 * The same devices for the elements of a string I/O (vm_strio_emulate,
 * vmm_strio.c, which the loop calls between runs as bhyve's userspace
 * emulates VM_EXITCODE_INOUT_STR): each element is one access here.
 */
struct strio_dev {
	struct vcpu *sd_vcpu;
	struct vcpu_result *sd_r;
};

static int
strio_port(void *arg, u16 port, bool in, int bytes, u32 *val)
{
	struct strio_dev *sd = arg;

	if (!in)
		*val &= ~0U >> (32 - 8 * bytes);
	return (port_access(sd->sd_vcpu, sd->sd_r, port, in, val) ? 0 : 1);
}

bool
vcpu_run_loop(struct vcpu *vcpu, struct vcpu_result *r)
{
	struct vm_exit vme;

	memset(&vme, 0, sizeof (vme));
	/* vCPU 0's loop reads the VM's console (an AP's thread may start
	 * first: it must not take the console into its quiet result). */
	struct vm *vm = vcpu->vc_vm;
	bool console = vcpu->vc_id == 0 && vm->vm_console == NULL;
	if (console) {
		r->console_vm = vm;
		if (!r->quiet)
			r->cons = vm_cons_open(vm->vm_name);
		vm_set_console(vm, console_char, r);
	}
	for (;;) {
		if (vm_run(vcpu, &vme) != 0 || vcpu->vc_dead) {
			r->killed = true;
			r->how = GUEST_STOPPED;
			strlcpy(r->reason, vcpu->vc_dead_reason,
			    sizeof (r->reason));
			break;
		}
		r->vm_runs++;
		r->reports = vcpu->vc_reports;
		r->last_report = vcpu->vc_last_report;
		if (r->after_run != NULL && !r->after_run(vcpu, r->after_arg)) {
			r->killed = true;
			r->how = GUEST_STOPPED;
			strlcpy(r->reason, "the host check after vm_run failed",
			    sizeof (r->reason));
			break;
		}
		if (vme.exitcode == VM_EXIT_INOUT) {
			bool more = port_io(vcpu, r, &vme);
			r->reports = vcpu->vc_reports;
			r->last_report = vcpu->vc_last_report;
			if (!more)
				break;
			continue;
		}
		if (vme.exitcode == VM_EXIT_INOUT_STR) {
			struct strio_dev sd = { vcpu, r };

			r->inouts++;
			if (vm_strio_emulate(vcpu, &vme, strio_port, &sd) != 0)
				break;
			continue;
		}
		/* vm_run returns only for exits it cannot finish. */
		r->killed = true;
		r->how = GUEST_STOPPED;
		ksnprintf(r->reason, sizeof (r->reason), "unexpected exit %s",
		    vm_exitcode_name(vme.exitcode));
		break;
	}
	if (console) {
		vm_set_console(vm, NULL, NULL);
		if (r->line_len > 0 && r->cons != NULL) {
			r->line[r->line_len] = '\0';
			vm_cons_put(r->cons, r->line);
		}
		/* Every line printed before the lines about its end. */
		if (r->cons != NULL)
			r->cons_dropped = vm_cons_close(r->cons, &r->cons_lines);
		r->cons = NULL;
	}
	if (r->killed && !r->quiet)
		cmn_err(CE_NOTE, "[%s] %s%s", vcpu->vc_name,
		    strncmp(r->reason, "stopped: ", 9) == 0 ? "" : "stopped: ",
		    r->reason);
	if (vcpu->vc_owner == curthread)
		vcpu_release(vcpu);
	return (r->done && r->verdict == 0);
}

void
guest_end_describe(const struct vcpu_result *r, char *buf, size_t len)
{
	switch (r->how) {
	case GUEST_VERDICT:
		ksnprintf(buf, len, "verdict 0x%x", r->verdict);
		break;
	case GUEST_DEBUG_EXIT:
		ksnprintf(buf, len, "debug-exit status=%u", r->exit_status);
		break;
	case GUEST_SHUTDOWN_PORT:
		ksnprintf(buf, len, "shutdown port");
		break;
	case GUEST_RESET:
		ksnprintf(buf, len, "reset");
		break;
	case GUEST_STOPPED:
		/* bhyve's word for a VM whose vCPUs all halt, IF clear. */
		if (strstr(r->reason, "halted with interrupts disabled") !=
		    NULL)
			ksnprintf(buf, len, "halted");
		else if (strncmp(r->reason, "stopped: ", 9) == 0)
			ksnprintf(buf, len, "%s", r->reason);
		else
			ksnprintf(buf, len, "stopped: %s", r->reason);
		break;
	case GUEST_RUNNING:
		ksnprintf(buf, len, "still running");
		break;
	}
}

extern const struct {
	const char *name;
	const u8 *start;
	const u8 *end;
} guest_table[];

const struct guest_image *
guest_find(const char *name)
{
	for (int i = 0; guest_table[i].name != NULL; i++) {
		if (strcmp(guest_table[i].name, name) == 0)
			return ((const struct guest_image *)&guest_table[i]);
	}
	return (NULL);
}

struct vm *
vm_create_guest(const char *name, const u8 *image, size_t len, u64 memsize,
    u32 param, char *why, size_t whylen)
{
	if (len == 0) {
		ksnprintf(why, whylen, "the guest image is empty");
		return (NULL);
	}
	if (len > GUEST_IMAGE_MAX) {
		ksnprintf(why, whylen, "the guest image is %lu bytes; at most "
		    "%lu fit between 0x7c00 and 0xa0000", (u64)len,
		    (u64)GUEST_IMAGE_MAX);
		return (NULL);
	}
	if (vmm_ops == NULL) {
		ksnprintf(why, whylen, "no virtualization backend on this CPU");
		return (NULL);
	}
	struct vm *vm = vm_create(name, memsize, 1);
	if (vm == NULL) {
		ksnprintf(why, whylen, "no %lu KiB of guest RAM to be had (the "
		    "host has %lu KiB free)", (u64)(memsize >> 10),
		    (u64)((pmem_pages_total() - pmem_pages_used()) << 2));
		return (NULL);
	}
	VERIFY(vm_load(vm, 0x7c00, image, len), "vm_create_guest: load");
	vm->vm_param = param;
	/* The guests that HLT with interrupts off as one more kind of exit
	 * (guest/README.md); any other guest halting so is stopped. */
	static const char *const hlt_exit_guests[] = { "fpu", "stress",
	    "bench" };
	for (size_t i = 0; i < ARRAY_SIZE(hlt_exit_guests); i++) {
		const struct guest_image *g = guest_find(hlt_exit_guests[i]);
		if (g != NULL && g->start == image)
			vm->vm_hlt_exits = true;
	}
	return (vm);
}
