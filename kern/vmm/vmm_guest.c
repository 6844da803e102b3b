/*
 * Running a user's guest: from an image to the "exited:" line (see
 * vmm_guest.h). The images come from the boot loader's modules, so the
 * host's emulator (QEMU -initrd, GRUB module) is all a user needs.
 */
#include "vmm_guest.h"
#include "vmm_dev.h"
#include "../console.h"
#include "../panic.h"
#include "../pmem.h"
#include "../thread.h"
#include "../cpu.h"
#include "../kmem.h"
#include "io/vuart.h"
#include "../mon/mon.h"
#include "../trace.h"

static const u8 *
module_data(const struct boot_module *b, size_t *len)
{
	*len = b->bm_end - b->bm_start;
	return (phys_to_virt(b->bm_start));
}

/* A module guest's name: the last path component of its string's first
 * word ("build/guest/mb/mb_entry.elf args" -> "mb_entry.elf"). */
static void
module_name(const char *s, char *name, size_t len)
{
	const char *end = strchr(s, ' '), *base = s;

	if (end == NULL)
		end = s + strlen(s);
	for (const char *p = s; p < end; p++)
		if (*p == '/')
			base = p + 1;
	size_t n = (size_t)(end - base);
	if (n == 0) {
		strlcpy(name, "module", len);
		return;
	}
	if (n >= len)
		n = len - 1;
	memcpy(name, base, n);
	name[n] = '\0';
}

/*
 * A guest from boot modules: mods[0] the image, mods[1..nmods-1] its
 * modules. NULL and why for an image that is refused.
 */
static struct vm *
create_module_guest(const char *name, const struct boot_module *mods,
    int nmods, u32 cpus, u32 mem_mib, u32 param, char *why, size_t whylen)
{
	size_t len;
	const u8 *image = module_data(&mods[0], &len);
	struct guest_layout gl;
	u64 mem = (u64)mem_mib << 20;

	/* Probe against the RAM it will get (the format's default). */
	enum guest_format f = guest_probe(image, len, mem != 0 ? mem :
	    128UL << 20, &gl, why, whylen);
	cmn_err(CE_NOTE, "bhyvelet: guest '%s' from the boot module '%s', %lu "
	    "bytes: %s", name, mods[0].bm_string, (u64)len,
	    f == GUEST_FMT_BAD ? "refused" : gl.gl_what);
	if (f == GUEST_FMT_BAD)
		return (NULL);
	if (vmm_ops == NULL) {
		ksnprintf(why, whylen, "no virtualization backend on this CPU");
		return (NULL);
	}
	if (f == GUEST_FMT_BOOTSECTOR) {
		if (cpus != 1 || nmods != 1) {
			ksnprintf(why, whylen, "a boot sector runs on one vCPU "
			    "without modules (%u vCPUs, %d modules asked for)",
			    cpus, nmods - 1);
			return (NULL);
		}
		return (vm_create_guest(name, image, len, mem != 0 ? mem :
		    2UL << 20, param, why, whylen));
	}
	if (nmods - 1 > GUEST_MAXMODS) {
		ksnprintf(why, whylen, "%d modules, at most %d", nmods - 1,
		    GUEST_MAXMODS);
		return (NULL);
	}
	struct guest_module gm[GUEST_MAXMODS];
	for (int i = 1; i < nmods; i++) {
		gm[i - 1].gm_data = module_data(&mods[i], &gm[i - 1].gm_len);
		gm[i - 1].gm_cmdline = mods[i].bm_string;
	}
	u64 bytes = mem != 0 ? mem : 128UL << 20;
	struct vm *vm = vm_create(name, bytes, (int)cpus);
	if (vm == NULL) {
		ksnprintf(why, whylen, "no %lu MiB of guest RAM to be had (the "
		    "host has %lu MiB free, not in one run perhaps)",
		    (u64)(bytes >> 20),
		    (u64)((pmem_pages_total() - pmem_pages_used()) >> 8));
		return (NULL);
	}
	if (!guest_load_multiboot(vm, image, len, &gl, mods[0].bm_string, gm,
	    nmods - 1, why, whylen)) {
		vm_destroy(vm);
		return (NULL);
	}
	cmn_err(CE_NOTE, "bhyvelet: '%s' loaded at 0x%x-0x%x, entry 0x%x, "
	    "%d modules, %lu MiB, %u vCPUs", name, gl.gl_low, gl.gl_high,
	    gl.gl_entry, nmods - 1, vm->vm_memsize >> 20, cpus);
	return (vm);
}

#define	VGA_TEXT	0xb8000		/* 80x25 cells: character, attribute */
#define	VGA_COLS	80
#define	VGA_ROWS	25

/*
 * The guest's VGA text screen, which is plain RAM here: its rows that
 * are not blank, as "[NAME/vga] NN|text|", once the guest has ended (tiny
 * kernels print there, not on a serial port).
 */
static void
show_vga(struct vm *vm, const char *name)
{
	if (vm->vm_memsize < VGA_TEXT + 2 * VGA_COLS * VGA_ROWS)
		return;
	const u8 *screen = (const u8 *)phys_to_virt(vm->vm_mem) + VGA_TEXT;
	for (int row = 0; row < VGA_ROWS; row++) {
		char text[VGA_COLS + 1];
		int end = 0;
		for (int col = 0; col < VGA_COLS; col++) {
			u8 c = screen[2 * (row * VGA_COLS + col)];
			text[col] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
			if (text[col] != ' ')
				end = col + 1;
		}
		text[end] = '\0';
		if (end > 0)
			cmn_err(CE_NOTE, "[%s/vga] %02d|%s|", name, row, text);
	}
}

/* What is typed on the host's console goes to the guest's COM1. */
static void
guest_input(void *arg, u8 b)
{
	struct vm *vm = arg;

	(void) vuart_rx_push(vm->vm_uart, b);
}

/* An application processor's thread: its vCPU from SIPI to the end. */
struct ap_run {
	struct vcpu *ar_vcpu;
	struct vcpu_result ar_r;
	kthread_t *ar_thread;
};

static void
ap_thread(void *arg)
{
	struct ap_run *ar = arg;

	(void) vcpu_run_loop(ar->ar_vcpu, &ar->ar_r);
	/* An AP that ended the guest (isa-debug-exit, ...) ends the VM. */
	if (ar->ar_r.how != GUEST_STOPPED)
		vm_request_stop(ar->ar_vcpu->vc_vm, "the guest ended on an AP");
}

/*
 * Run vm to its end, print how it ended and its exit counts, destroy it.
 * vCPU 0 runs on this thread, each other vCPU on one of its own (they
 * wait for INIT/SIPI in vm_run). True if the guest ended by its own
 * choice with success or a status.
 */
u32 guest_timeout_s;

static bool
run_and_destroy(struct vm *vm, const char *name)
{
	struct vcpu_result r;
	struct ap_run *aps = NULL;
	int naps = vm->vm_nvcpus - 1;

	memset(&r, 0, sizeof (r));
	if (guest_timeout_s != 0)
		vm_time_limit(vm, (hrtime_t)guest_timeout_s * 1000000000L);
	bool input = mon_set_passthrough(guest_input, vm);
	cmn_err(CE_NOTE, "bhyvelet: running guest '%s' on %s (vCPU thread "
	    "%s%s)%s", name, vmm_ops->name, curthread->t_name,
	    naps > 0 ? ", a thread per AP" : "", input ? "; console input "
	    "goes to its COM1" : "");
	if (naps > 0) {
		aps = kmem_zalloc(naps * sizeof (*aps), KM_SLEEP);
		for (int i = 0; i < naps; i++) {
			char tname[32];
			aps[i].ar_vcpu = vm->vm_vcpu[i + 1];
			aps[i].ar_r.quiet = true;	/* COM1 is vCPU 0's */
			ksnprintf(tname, sizeof (tname), "%s/vcpu%d", name,
			    i + 1);
			aps[i].ar_thread = thread_create(tname, ap_thread,
			    &aps[i], -1);
		}
	}
	bool ok = vcpu_run_loop(vm->vm_vcpu[0], &r);
	(void) mon_set_passthrough(NULL, NULL);	/* before vm_uart goes */
	/* vCPU 0 is done: the APs stop too (each sleeps or runs). */
	vm_request_stop(vm, "the guest ended");
	const struct vcpu_result *end = &r;
	for (int i = 0; i < naps; i++) {
		thread_join(aps[i].ar_thread);
		struct vcpu_result *ar = &aps[i].ar_r;
		if (ar->how != GUEST_STOPPED && end->how == GUEST_STOPPED)
			end = ar;	/* the AP that ended it */
		else if (ar->how == GUEST_STOPPED &&
		    strstr(ar->reason, vm->vm_stop_reason) == NULL)
			/* stopped for a reason of its own (a fault, ...) */
			cmn_err(CE_NOTE, "[%s/vcpu%d] stopped: %s", name,
			    i + 1, ar->reason);
	}
	char how[160];
	guest_end_describe(end, how, sizeof (how));
	cmn_err(CE_NOTE, "bhyvelet: guest '%s' exited: %s", name, how);
	if (trace_on)
		trace_dump();	/* trace=: what the guest's run recorded */
	/* One message line: build it first (a long one is cut short). */
	for (int v = 0; v < vm->vm_nvcpus; v++) {
		struct vcpu *vcpu = vm->vm_vcpu[v];
		char stats[512];
		size_t n = 0;
		for (int i = 1; i < VMM_NSTATS && n < sizeof (stats); i++) {
			if (vcpu->vc_stats[i] != 0)
				n += (size_t)ksnprintf(stats + n,
				    sizeof (stats) - n, " %s=%lu",
				    vmm_stat_name[i], vcpu->vc_stats[i]);
		}
		stats[n < sizeof (stats) ? n : sizeof (stats) - 1] = '\0';
		cmn_err(CE_NOTE, "bhyvelet: vcpu%d: %lu exits:%s", v,
		    vcpu->vc_stats[VMM_STAT_VMEXIT_TOTAL], stats);
	}
	bool own = ok || end->how == GUEST_DEBUG_EXIT ||
	    end->how == GUEST_SHUTDOWN_PORT || (end != &r &&
	    end->how == GUEST_VERDICT && end->verdict == 0);
	if (aps != NULL)
		kmem_free(aps, naps * sizeof (*aps));
	show_vga(vm, name);
	vm_destroy(vm);
	/* The guest ABI's verdict says pass or fail; a QEMU-style guest's
	 * status is on the exit line, for run.py to return. */
	return (own);
}

static __noreturn void
finish(bool ok)
{
	kernel_exit(ok ? 0 : 1);
}

void
guest_run_builtin(const char *name, u32 param)
{
	char why[200];
	const struct guest_image *g = guest_find(name);

	VERIFY(g != NULL, "guest_run_builtin: no guest '%s'", name);
	struct vm *vm = vm_create_guest(name, g->start,
	    (size_t)(g->end - g->start), 2UL << 20, param, why, sizeof (why));
	if (vm == NULL) {
		cmn_err(CE_WARN, "bhyvelet: refusing guest '%s': %s", name, why);
		finish(false);
	}
	finish(run_and_destroy(vm, name));
}

/* One batch line "run NAME cpus=N mem=MiB modules=K"; false if malformed. */
static bool
parse_run(char *line, char *name, size_t namelen, u32 *cpus, u32 *mem,
    u32 *nmods)
{
	char *tok[5];
	int n = 0;

	for (char *p = line; *p != '\0' && n < 5; ) {
		while (*p == ' ')
			*p++ = '\0';
		if (*p == '\0')
			break;
		tok[n++] = p;
		while (*p != '\0' && *p != ' ')
			p++;
	}
	if (n != 5 || strcmp(tok[0], "run") != 0 ||
	    strncmp(tok[2], "cpus=", 5) != 0 ||
	    strncmp(tok[3], "mem=", 4) != 0 ||
	    strncmp(tok[4], "modules=", 8) != 0)
		return (false);
	strlcpy(name, tok[1], namelen);
	*cpus = (u32)strtoull(tok[2] + 5, NULL, 0);
	*mem = (u32)strtoull(tok[3] + 4, NULL, 0);
	*nmods = (u32)strtoull(tok[4] + 8, NULL, 0);
	return (*cpus >= 1 && *cpus <= 8 && *mem >= 1 && *mem <= 1024 &&
	    *nmods >= 1);
}

void
guest_run_modules(const struct boot_module *mods, int n, bool batch,
    u32 cpus, u32 mem_mib, u32 param)
{
	char why[200];
	char name[VM_NAMELEN];

	if (!batch) {
		module_name(mods[0].bm_string, name, sizeof (name));
		struct vm *vm = create_module_guest(name, mods, n, cpus,
		    mem_mib, param, why, sizeof (why));
		if (vm == NULL) {
			cmn_err(CE_WARN, "bhyvelet: refusing guest '%s': %s",
			    name, why);
			finish(false);
		}
		finish(run_and_destroy(vm, name));
	}
	/* A batch: the list in module 0, then each run's modules. */
	size_t len;
	const char *list = (const char *)module_data(&mods[0], &len);
	int next = 1, runs = 0, good = 0;
	for (size_t i = 0; i < len; ) {
		char line[160];
		size_t j = 0;
		while (i < len && list[i] != '\n') {
			if (j + 1 < sizeof (line))
				line[j++] = list[i];
			i++;
		}
		i++;
		line[j] = '\0';
		if (j == 0 || line[0] == '#')
			continue;
		u32 c, m, k;
		if (!parse_run(line, name, sizeof (name), &c, &m, &k) ||
		    next + (int)k > n) {
			cmn_err(CE_WARN, "bhyvelet: batch: bad line or too few "
			    "modules: '%s'", line);
			finish(false);
		}
		runs++;
		struct vm *vm = create_module_guest(name, &mods[next], (int)k,
		    c, m, param, why, sizeof (why));
		next += (int)k;
		if (vm == NULL) {
			cmn_err(CE_NOTE, "bhyvelet: guest '%s' exited: refused: "
			    "%s", name, why);
			continue;
		}
		good += run_and_destroy(vm, name);
	}
	cmn_err(CE_NOTE, "bhyvelet: batch of %d guests, %d ended by their own "
	    "choice", runs, good);
	finish(runs > 0 && next == n);
}
