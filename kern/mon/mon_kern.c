/*
 * The monitor's dcmds for the kernel itself: CPUs, threads, stacks and
 * ctxop rings (mon.h). Objects are read through snapshots taken under the
 * thread list's spin lock, held for a copy and never while printing.
 */
#include "mon.h"
#include "../cpu.h"
#include "../thread.h"
#include "../panic.h"
#include "../ctx/ctxop.h"
#include "../console.h"

#define	MON_THREADS	256

static const char *
state_name(u32 s)
{
	static const char *const names[] = { "free", "run", "onproc",
	    "sleep", "zomb" };

	return (s < ARRAY_SIZE(names) ? names[s] : "?");
}

/* A function's name, or its address (a ctxop hook, a return address). */
static const char *
sym(uintptr_t a, char *buf, size_t len)
{
	uintptr_t off;
	const char *n = a != 0 ? ksym_lookup(a, &off) : NULL;

	if (a == 0)
		return ("-");
	if (n == NULL)
		ksnprintf(buf, len, "0x%lx", (u64)a);
	else if (off == 0)
		return (n);
	else
		ksnprintf(buf, len, "%s+0x%lx", n, (u64)off);
	return (buf);
}

static int
dcmd_cpus(struct mon_cmd *c)
{
	mon_printf(c, "%-4s %-6s %-18s %-16s %10s %10s\n", "CPU", "APIC",
	    "THREAD", "NAME", "SWITCHES", "INTRS");
	for (int i = 0; i < ncpus; i++) {
		cpu_t *cp = &cpus[i];
		kthread_t *t = cp->cpu_thread;	/* a racy look, as panic's */
		mon_printf(c, "%-4d %-6u 0x%-16lx %-16s %10lu %10lu\n",
		    cp->cpu_id, cp->cpu_apicid, (u64)(uintptr_t)t,
		    t != NULL ? t->t_name : "-", cp->cpu_nswitch,
		    cp->cpu_nintr);
	}
	return (0);
}
MON_DCMD(cpus, "", "each CPU: APIC ID, the thread on it, counts", dcmd_cpus);

static int
dcmd_threads(struct mon_cmd *c)
{
	static struct thread_info ti[MON_THREADS];	/* mon thread only */
	int n = thread_snapshot(ti, MON_THREADS);

	mon_printf(c, "%-18s %-5s %-24s %-7s %-4s %-5s %s\n", "ADDR", "ID",
	    "NAME", "STATE", "CPU", "BOUND", "CTXOPS");
	for (int i = 0; i < n && i < MON_THREADS; i++) {
		mon_printf(c, "0x%-16lx %-5lu %-24s %-7s %-4d %-5d %d\n",
		    (u64)ti[i].ti_addr, ti[i].ti_id, ti[i].ti_name,
		    state_name(ti[i].ti_state), ti[i].ti_cpu, ti[i].ti_bound,
		    ti[i].ti_nctx);
		c->mc_emit(c, ti[i].ti_addr);
	}
	if (n > MON_THREADS)
		mon_printf(c, "(%d threads, the first %d shown)\n", n,
		    MON_THREADS);
	return (0);
}
MON_DCMD(threads, "", "every thread: address, name, state, CPU, ctxops "
    "(| hands on each)", dcmd_threads);

struct stack_snap {
	uintptr_t ss_pcs[32];
	int ss_n;
	char ss_name[32];
	u32 ss_state;
};

static void
take_stack(kthread_t *t, void *arg)
{
	struct stack_snap *s = arg;

	strlcpy(s->ss_name, t->t_name, sizeof (s->ss_name));
	s->ss_state = t->t_state;
	s->ss_n = thread_stack_pcs(t, s->ss_pcs, ARRAY_SIZE(s->ss_pcs));
}

static int thread_arg(struct mon_cmd *, const char *);

static int
dcmd_stack(struct mon_cmd *c)
{
	struct stack_snap s;
	char b[48];

	if (thread_arg(c, "::stack THREAD (or THREAD::stack)") != 0)
		return (1);
	if (!thread_locked_call(c->mc_addr, take_stack, &s))
		return (mon_error(c, "0x%lx is not a thread", c->mc_addr));
	mon_printf(c, "thread 0x%lx (%s), %s\n", c->mc_addr, s.ss_name,
	    state_name(s.ss_state));
	if (s.ss_n == 0)
		mon_printf(c, "  (on a CPU now: no saved stack to walk)\n");
	for (int i = 0; i < s.ss_n; i++)
		mon_printf(c, "  #%d %s\n", i, sym(s.ss_pcs[i], b,
		    sizeof (b)));
	return (0);
}
MON_DCMD(stack, "THREAD", "a thread's stack, from its saved frame "
    "pointers (THREAD: address or name)", dcmd_stack);

/*
 * A copy of a thread's ctxop ring, newest first. The thread may be
 * editing it on another CPU without a lock: ctxop_snapshot copies it the
 * way that is safe against that.
 */
struct ring_snap {
	struct ctxop rs_op[16];
	uintptr_t rs_addr[16];
	int rs_n;
	bool rs_more;
	bool rs_changing;		/* no consistent copy: it kept changing */
	char rs_name[32];
};

static void
take_ring(kthread_t *t, void *arg)
{
	struct ring_snap *r = arg;
	int max = (int)ARRAY_SIZE(r->rs_op);

	strlcpy(r->rs_name, t->t_name, sizeof (r->rs_name));
	int n = ctxop_snapshot(t, r->rs_op, r->rs_addr, max);
	r->rs_changing = n < 0;
	r->rs_more = n > max;
	r->rs_n = n < 0 ? 0 : MIN(n, max);
}

/* THREAD: ADDR::dcmd, or an address, a symbol or a thread's name. */
static int
thread_arg(struct mon_cmd *c, const char *usage)
{
	static struct thread_info ti[MON_THREADS];	/* mon thread only */

	if (c->mc_have_addr)
		return (0);
	if (c->mc_argc < 1)
		return (mon_error(c, "%s", usage));
	if (mon_parse_addr(c->mc_argv[0], &c->mc_addr))
		return (0);
	int n = thread_snapshot(ti, MON_THREADS);
	for (int i = 0; i < n && i < MON_THREADS; i++) {
		if (strcmp(ti[i].ti_name, c->mc_argv[0]) == 0) {
			c->mc_addr = ti[i].ti_addr;
			return (0);
		}
	}
	return (mon_error(c, "'%s' is no address, symbol or thread name",
	    c->mc_argv[0]));
}

static int
dcmd_ctxops(struct mon_cmd *c)
{
	static struct ring_snap r;	/* the monitor thread's */
	char b[6][48];

	if (thread_arg(c, "::ctxops THREAD (or THREAD::ctxops)") != 0)
		return (1);
	if (!thread_locked_call(c->mc_addr, take_ring, &r))
		return (mon_error(c, "0x%lx is not a thread", c->mc_addr));
	mon_printf(c, "> 0x%lx::walk ctxop | ::print struct ctxop   (thread "
	    "%s, newest first)\n", c->mc_addr, r.rs_name);
	if (r.rs_changing)
		mon_printf(c, "  (the ring kept changing: try again)\n");
	else if (r.rs_n == 0)
		mon_printf(c, "  (no ctxops)\n");
	for (int i = 0; i < r.rs_n; i++) {
		const struct ctxop *op = &r.rs_op[i];
		mon_printf(c, "  [%d] ctxop 0x%lx {\n", i, (u64)r.rs_addr[i]);
		mon_printf(c, "      save_op = %s\n      restore_op = %s\n",
		    sym((uintptr_t)op->save_op, b[0], sizeof (b[0])),
		    sym((uintptr_t)op->restore_op, b[1], sizeof (b[1])));
		mon_printf(c, "      fork_op = %s\n      lwp_create_op = %s\n",
		    sym((uintptr_t)op->fork_op, b[2], sizeof (b[2])),
		    sym((uintptr_t)op->lwp_create_op, b[3], sizeof (b[3])));
		mon_printf(c, "      exit_op = %s\n      free_op = %s\n",
		    sym((uintptr_t)op->exit_op, b[4], sizeof (b[4])),
		    sym((uintptr_t)op->free_op, b[5], sizeof (b[5])));
		mon_printf(c, "      arg = 0x%lx\n      next = 0x%lx\n      "
		    "prev = 0x%lx\n", (u64)(uintptr_t)op->arg,
		    (u64)(uintptr_t)op->next, (u64)(uintptr_t)op->prev);
		mon_printf(c, "      save_ts = %lu\n      restore_ts = %lu\n"
		    "  }\n", op->save_ts, op->restore_ts);
	}
	if (r.rs_more)
		mon_printf(c, "  (more than %d: the rest not shown)\n",
		    (int)ARRAY_SIZE(r.rs_op));
	return (0);
}
MON_DCMD(ctxops, "THREAD", "a thread's ctxops, newest first, as mdb "
    "shows them", dcmd_ctxops);

/* THREAD::walk ctxop: the ring's nodes, newest first, for a pipe. */
static int
dcmd_walk(struct mon_cmd *c)
{
	static struct ring_snap r;

	if (c->mc_argc != 1 || strcmp(c->mc_argv[0], "ctxop") != 0)
		return (mon_error(c, "walkers: ctxop (THREAD::walk ctxop)"));
	if (!c->mc_have_addr)
		return (mon_error(c, "THREAD::walk ctxop needs a thread"));
	if (!thread_locked_call(c->mc_addr, take_ring, &r))
		return (mon_error(c, "0x%lx is not a thread", c->mc_addr));
	for (int i = 0; i < r.rs_n; i++) {
		if (c->mc_last)
			mon_printf(c, "0x%lx\n", (u64)r.rs_addr[i]);
		c->mc_emit(c, r.rs_addr[i]);
	}
	return (0);
}
MON_DCMD(walk, "ctxop", "walk a thread's ctxops (THREAD::walk ctxop)",
    dcmd_walk);
