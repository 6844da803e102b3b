/*
 * The monitor's prompt, parser and pipes (mon.h). Input: console_set_input
 * hands every byte typed on COM1 to mon_route in thread context (the
 * conin thread); while the monitor does not have the console a byte goes
 * on to the passthrough (a guest), except the break-in key, which gives
 * the monitor the console. The monitor thread sleeps on mon_cv until a
 * whole line is there: no loop polls the UART.
 */
#include "mon.h"
#include "../console.h"
#include "../sync.h"
#include "../thread.h"
#include "../panic.h"

#define	MON_LINE	160
#define	MON_PIPE_MAX	512		/* addresses one stage hands on */

bool mon_at_exit;

static struct {
	kmutex_t m_lock;		/* guards everything below */
	kcondvar_t m_cv;		/* a line is ready, or the mode changed */
	bool m_active;			/* the monitor has the console */
	bool m_final;			/* monitor=1: active until ::quit */
	bool m_quit;			/* ::quit asked for */
	bool m_line_ready;
	char m_line[MON_LINE];		/* the line being typed */
	size_t m_len;
	void (*m_pass)(void *, u8);	/* where input goes otherwise */
	void *m_passarg;
	bool m_input;			/* console input works (set at init) */
} mon;

extern const struct mon_dcmd __mon_dcmds_start[], __mon_dcmds_end[];

static void
mon_console_pr(void *arg __unused, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
}

int
mon_error(struct mon_cmd *c, const char *fmt, ...)
{
	char buf[160];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(buf, sizeof (buf), fmt, ap);
	va_end(ap);
	mon_printf(c, "mon: %s\n", buf);
	return (1);
}

bool
mon_parse_addr(const char *s, u64 *out)
{
	char *end;

	if (*s == '\0')
		return (false);
	u64 v = strtoull(s, &end, 0);
	if (*end == '\0') {
		*out = v;
		return (true);
	}
	uintptr_t a = ksym_addr(s);
	if (a == 0)
		return (false);
	*out = a;
	return (true);
}

static const struct mon_dcmd *
dcmd_find(const char *name)
{
	for (const struct mon_dcmd *d = __mon_dcmds_start;
	    d < __mon_dcmds_end; d++) {
		if (strcmp(d->md_name, name) == 0)
			return (d);
	}
	return (NULL);
}

/* One stage: "[ADDR]::name [args]", split in place. */
struct stage {
	const struct mon_dcmd *s_dcmd;
	u64 s_addr;
	bool s_have_addr;
	int s_argc;
	const char *s_argv[MON_MAXARGS];
};

static int
parse_stage(char *text, struct stage *st, struct mon_cmd *err)
{
	char *words[MON_MAXARGS + 1];
	int n = 0;

	for (char *p = text; *p != '\0'; ) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (n == MON_MAXARGS + 1)
			return (mon_error(err, "too many arguments"));
		words[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
	}
	if (n == 0)
		return (mon_error(err, "an empty stage in the pipeline"));
	char *dc = strstr(words[0], "::");
	if (dc == NULL)
		return (mon_error(err, "'%s' is not a dcmd (they start with "
		    "::, see ::help)", words[0]));
	*dc = '\0';
	st->s_have_addr = words[0][0] != '\0';
	if (st->s_have_addr && !mon_parse_addr(words[0], &st->s_addr))
		return (mon_error(err, "bad address '%s'", words[0]));
	st->s_dcmd = dcmd_find(dc + 2);
	if (st->s_dcmd == NULL)
		return (mon_error(err, "unknown dcmd '::%s' (see ::help)",
		    dc + 2));
	st->s_argc = n - 1;
	for (int i = 1; i < n; i++)
		st->s_argv[i - 1] = words[i];
	return (0);
}

/* The addresses a stage emits, for the next one. */
struct pipebuf {
	u64 pb_addr[MON_PIPE_MAX];
	int pb_n;
	bool pb_full;
};

static void
emit_to_pipe(struct mon_cmd *c, u64 addr)
{
	struct pipebuf *pb = c->mc_emitarg;

	if (pb->pb_n < MON_PIPE_MAX)
		pb->pb_addr[pb->pb_n++] = addr;
	else
		pb->pb_full = true;
}

/* The last stage's objects go nowhere: a listing printed them already,
 * and ::walk prints its own (mc_last). */
static void
emit_none(struct mon_cmd *c __unused, u64 addr __unused)
{
}

static int
run_stage(const struct stage *st, bool have_addr, u64 addr, bool last,
    struct pipebuf *out, mon_printf_t pr, void *prarg)
{
	struct mon_cmd c = {
		.mc_addr = have_addr ? addr : st->s_addr,
		.mc_have_addr = have_addr || st->s_have_addr,
		.mc_argc = st->s_argc,
		.mc_pr = pr, .mc_prarg = prarg,
		.mc_emit = last ? emit_none : emit_to_pipe,
		.mc_last = last,
		.mc_emitarg = out,
	};
	for (int i = 0; i < st->s_argc; i++)
		c.mc_argv[i] = st->s_argv[i];
	return (st->s_dcmd->md_fn(&c));
}

int
mon_exec(const char *line, mon_printf_t pr, void *arg)
{
	static struct pipebuf bufs[2];	/* the monitor thread's, one line
					   at a time (mon_exec callers are
					   serialized by m_lock's owner) */
	char text[MON_LINE];
	struct stage st[4];
	int nst = 0;
	struct mon_cmd err = { .mc_pr = pr, .mc_prarg = arg };

	strlcpy(text, line, sizeof (text));
	for (char *p = text, *bar; p != NULL; p = bar) {
		bar = strchr(p, '|');
		if (bar != NULL)
			*bar++ = '\0';
		if (nst == (int)ARRAY_SIZE(st))
			return (mon_error(&err, "at most %d stages in a "
			    "pipeline", (int)ARRAY_SIZE(st)));
		if (parse_stage(p, &st[nst++], &err) != 0)
			return (1);
	}
	struct pipebuf *in = NULL;
	for (int i = 0; i < nst; i++) {
		bool last = i == nst - 1;
		struct pipebuf *out = &bufs[i & 1];
		out->pb_n = 0;
		out->pb_full = false;
		if (in == NULL) {
			if (run_stage(&st[i], false, 0, last, out, pr, arg))
				return (1);
		} else {
			for (int k = 0; k < in->pb_n; k++)
				if (run_stage(&st[i], true, in->pb_addr[k], last,
				    out, pr, arg))
					return (1);
		}
		if (out->pb_full)
			mon_printf(&err, "mon: more than %d objects; the "
			    "rest were dropped\n", MON_PIPE_MAX);
		in = out;
	}
	return (0);
}

/* Console input, from the conin thread (console_set_input's sink). */
static void
mon_route(void *arg __unused, u8 b)
{
	mutex_enter(&mon.m_lock);
	/*
	 * monitor=1: console input is the monitor's, queued (in the conin
	 * ring) until the run's end gives it the console, so that commands
	 * piped in at boot (make run MONITOR=1 < file) wait for it.
	 */
	while (mon_at_exit && !mon.m_active && b != MON_BREAK)
		cv_wait(&mon.m_cv, &mon.m_lock);
	if (!mon.m_active) {
		if (b == MON_BREAK) {
			mon.m_active = true;
			cv_broadcast(&mon.m_cv);
		} else if (mon.m_pass != NULL) {
			mon.m_pass(mon.m_passarg, b);
		}
		mutex_exit(&mon.m_lock);
		return;
	}
	/* Typed ahead of a command still running: wait for the prompt (the
	 * conin thread's ring keeps what comes meanwhile). */
	while (mon.m_active && mon.m_line_ready)
		cv_wait(&mon.m_cv, &mon.m_lock);
	if (!mon.m_active) {
		if (mon.m_pass != NULL)
			mon.m_pass(mon.m_passarg, b);
	} else {
		if (b == '\r' || b == '\n') {
			mon.m_line[mon.m_len] = '\0';
			mon.m_line_ready = true;
			cv_broadcast(&mon.m_cv);
		} else if ((b == 0x7f || b == '\b') && mon.m_len > 0) {
			mon.m_len--;
		} else if (b >= 0x20 && b < 0x7f && mon.m_len + 1 < MON_LINE) {
			mon.m_line[mon.m_len++] = (char)b;
		}
	}
	mutex_exit(&mon.m_lock);
}

bool
mon_set_passthrough(void (*fn)(void *, u8), void *arg)
{
	mutex_enter(&mon.m_lock);
	mon.m_pass = fn;
	mon.m_passarg = arg;
	bool on = mon.m_input;
	mutex_exit(&mon.m_lock);
	return (on);
}

/* The prompt loop while the monitor has the console (m_lock held). */
static void
mon_session(void)
{
	kprintf("\n# mon: the monitor has the console (::help; ::continue "
	    "gives it back%s)\n", mon.m_final ? ", ::quit ends the run" : "");
	while (mon.m_active && !mon.m_quit) {
		kprintf("> \n");
		while (!mon.m_line_ready && mon.m_active)
			cv_wait(&mon.m_cv, &mon.m_lock);
		if (!mon.m_active)
			break;
		char line[MON_LINE];
		strlcpy(line, mon.m_line, sizeof (line));
		mutex_exit(&mon.m_lock);
		const char *p = line;
		while (*p == ' ')
			p++;
		if (*p != '\0') {
			kprintf("# mon> %s\n", p);
			(void) mon_exec(p, mon_console_pr, NULL);
		}
		/* Only now may mon_route take the next line: what was typed
		 * after ::continue goes to the guest. */
		mutex_enter(&mon.m_lock);
		mon.m_len = 0;
		mon.m_line_ready = false;
		cv_broadcast(&mon.m_cv);
	}
}

static void
mon_thread(void *arg __unused)
{
	mutex_enter(&mon.m_lock);
	for (;;) {
		while (!mon.m_active)
			cv_wait(&mon.m_cv, &mon.m_lock);
		mon_session();
		if (mon.m_quit)
			cv_broadcast(&mon.m_cv);
	}
}

void
mon_init(void)
{
	mutex_init(&mon.m_lock, "mon");
	cv_init(&mon.m_cv, "mon");
	(void) thread_create_detached("mon", mon_thread, NULL, -1);
	mon_kmem_plant();
	mon.m_input = console_set_input(mon_route, NULL);
	if (!mon.m_input)
		cmn_err(CE_NOTE, "mon: no IOAPIC for the console's receive "
		    "interrupt: no monitor, no console input");
}

void
mon_final(int status)
{
	mutex_enter(&mon.m_lock);
	mon.m_final = true;
	mon.m_active = true;
	cv_broadcast(&mon.m_cv);
	kprintf("# mon: the run is over (status %d); monitor=1 keeps the "
	    "kernel up\n", status);
	while (!mon.m_quit)
		cv_wait(&mon.m_cv, &mon.m_lock);
	mutex_exit(&mon.m_lock);
}

static int
dcmd_help(struct mon_cmd *c)
{
	for (const struct mon_dcmd *d = __mon_dcmds_start;
	    d < __mon_dcmds_end; d++)
		mon_printf(c, "::%-12s %-22s %s\n", d->md_name, d->md_usage,
		    d->md_descr);
	return (0);
}
MON_DCMD(help, "", "every dcmd, with one line", dcmd_help);

/* These two change the monitor's own state: the caller (mon_session)
 * dropped m_lock to run the line. */
static int
dcmd_continue(struct mon_cmd *c)
{
	mutex_enter(&mon.m_lock);
	if (mon.m_final) {
		mutex_exit(&mon.m_lock);
		return (mon_error(c, "the run is over: ::quit ends it"));
	}
	mon.m_active = false;
	mutex_exit(&mon.m_lock);
	mon_printf(c, "# mon: console input goes to the guest again\n");
	return (0);
}
MON_DCMD(continue, "", "give the console back (to the running guest)",
    dcmd_continue);

static int
dcmd_quit(struct mon_cmd *c)
{
	mutex_enter(&mon.m_lock);
	if (!mon.m_final) {
		/* Entered by the break-in key: the machine goes down now. */
		mutex_exit(&mon.m_lock);
		mon_printf(c, "# mon: shutting down\n");
		kprintf("# bhyvelet: shutdown status=0\n");
		kernel_shutdown(0);
	}
	mon.m_quit = true;
	mon.m_active = false;
	cv_broadcast(&mon.m_cv);
	mutex_exit(&mon.m_lock);
	return (0);
}
MON_DCMD(quit, "", "end the run: shut down as at its end",
    dcmd_quit);
