/*
 * Guest console output, buffered per VM (vmm_dev.h): a guest's COM1
 * lines go into a bounded ring of its own, and one "guest console"
 * thread prints them. The vCPU thread never takes the console's spin
 * lock for a guest's line: on hardware, cmn_err polls the UART with
 * interrupts off, and at 115,200 baud a 160-byte line holds the CPU for
 * some 14 ms, so a guest printing in a loop would starve its CPU's clock
 * and whoever else runs there. A line that finds its ring full is
 * dropped and counted; the count is printed when the VM's console closes.
 */
#include "vmm_dev.h"
#include "../console.h"
#include "../kmem.h"
#include "../sync.h"
#include "../thread.h"
#include "../panic.h"
#include "../tunable.h"

KTUNABLE_TEST(vmm_inject_cons_sync, "guest console lines are printed by "
    "the vCPU thread itself, as before the buffer (the flood test must see "
    "nothing dropped and fail)");

#define	CONS_RING	8192

struct vm_cons {
	struct vm_cons *cs_next;	/* cons_lock: the open ones */
	char cs_name[VM_NAMELEN];	/* [c] */
	char cs_ring[CONS_RING];	/* cons_lock: whole lines, '\n' each */
	u32 cs_start, cs_len;		/* cons_lock */
	u64 cs_lines, cs_dropped;	/* cons_lock: put, dropped */
};

static kmutex_t cons_lock;
static kcondvar_t cons_cv;		/* a line was put */
static kcondvar_t cons_drained_cv;	/* the drainer found nothing */
static struct vm_cons *cons_list;	/* cons_lock */
static bool cons_started;

/* Where the drainer prints (tests put a slow console here). */
void (*vm_cons_sink)(const char *vm, const char *line) = NULL;

static void
sink(const char *vm, const char *line)
{
	if (vm_cons_sink != NULL)
		vm_cons_sink(vm, line);
	else
		cmn_err(CE_NOTE, "[%s/com1] %s", vm, line);
}

/* Under cons_lock: the oldest line of cs into buf, or false. */
static bool
take_line(struct vm_cons *cs, char *buf, size_t len)
{
	size_t n = 0;

	if (cs->cs_len == 0)
		return (false);
	for (;;) {
		char c = cs->cs_ring[cs->cs_start];
		cs->cs_start = (cs->cs_start + 1) % CONS_RING;
		cs->cs_len--;
		if (c == '\n')
			break;
		if (n + 1 < len)
			buf[n++] = c;
	}
	buf[n] = '\0';
	return (true);
}

static __noreturn void
cons_thread(void *arg __unused)
{
	char name[VM_NAMELEN], line[VM_CONS_LINE];

	mutex_enter(&cons_lock);
	for (;;) {
		bool any = false;
		for (struct vm_cons *cs = cons_list; cs != NULL;
		    cs = cs->cs_next) {
			if (!take_line(cs, line, sizeof (line)))
				continue;
			strlcpy(name, cs->cs_name, sizeof (name));
			any = true;
			/* Printed with cons_lock dropped: the guest goes on. */
			mutex_exit(&cons_lock);
			sink(name, line);
			mutex_enter(&cons_lock);
			break;		/* the list may have changed */
		}
		if (!any) {
			cv_broadcast(&cons_drained_cv);
			cv_wait(&cons_cv, &cons_lock);
		}
	}
}

void
vm_cons_start(void)
{
	mutex_init(&cons_lock, "guest console");
	cv_init(&cons_cv, "guest console");
	cv_init(&cons_drained_cv, "guest console drained");
	(void) thread_create_detached("guest console", cons_thread, NULL, -1);
	cons_started = true;
}

struct vm_cons *
vm_cons_open(const char *name)
{
	VERIFY(cons_started, "vm_cons_open: %s: before vm_cons_start", name);
	struct vm_cons *cs = kmem_zalloc(sizeof (*cs), KM_SLEEP);
	strlcpy(cs->cs_name, name, sizeof (cs->cs_name));
	mutex_enter(&cons_lock);
	cs->cs_next = cons_list;
	cons_list = cs;
	mutex_exit(&cons_lock);
	return (cs);
}

void
vm_cons_put(struct vm_cons *cs, const char *line)
{
	size_t n = strlen(line);

	if (unlikely(vmm_inject_cons_sync)) {
		sink(cs->cs_name, line);	/* the bug being tested for */
		mutex_enter(&cons_lock);
		cs->cs_lines++;
		mutex_exit(&cons_lock);
		return;
	}
	mutex_enter(&cons_lock);
	cs->cs_lines++;
	if (n + 1 > CONS_RING - cs->cs_len) {
		cs->cs_dropped++;
	} else {
		u32 at = (cs->cs_start + cs->cs_len) % CONS_RING;
		for (size_t i = 0; i <= n; i++) {
			cs->cs_ring[at] = i < n ? line[i] : '\n';
			at = (at + 1) % CONS_RING;
		}
		cs->cs_len += (u32)n + 1;
		cv_signal(&cons_cv);
	}
	mutex_exit(&cons_lock);
}

u64
vm_cons_close(struct vm_cons *cs, u64 *lines)
{
	mutex_enter(&cons_lock);
	while (cs->cs_len > 0) {
		cv_signal(&cons_cv);
		cv_wait(&cons_drained_cv, &cons_lock);
	}
	for (struct vm_cons **pp = &cons_list; *pp != NULL;
	    pp = &(*pp)->cs_next) {
		if (*pp == cs) {
			*pp = cs->cs_next;
			break;
		}
	}
	mutex_exit(&cons_lock);
	u64 dropped = cs->cs_dropped;
	if (lines != NULL)
		*lines = cs->cs_lines;
	if (dropped != 0)
		cmn_err(CE_NOTE, "[%s/com1] (%lu of %lu lines dropped: the "
		    "guest wrote faster than the console prints)", cs->cs_name,
		    dropped, cs->cs_lines);
	kmem_free(cs, sizeof (*cs));
	return (dropped);
}
