/*
 * ::trace, the monitor's handle on the trace rings (kern/trace.c): which
 * probes record, filters by CPU, thread or vCPU, on and off, dump, clear.
 */
#include "mon.h"
#include "../trace.h"
#include "../cpu.h"

static int
dcmd_trace(struct mon_cmd *c)
{
	const char *verb = c->mc_argc > 0 ? c->mc_argv[0] : "list";
	const char *arg = c->mc_argc > 1 ? c->mc_argv[1] : NULL;
	u64 v;

	if (strcmp(verb, "list") == 0) {
		trace_list(c->mc_pr, c->mc_prarg);
	} else if (strcmp(verb, "on") == 0 || strcmp(verb, "off") == 0) {
		bool on = strcmp(verb, "on") == 0;
		if (arg == NULL) {		/* the recording as a whole */
			trace_on = on;
			mon_printf(c, "tracing %s\n", on ? "on" : "off");
			return (0);
		}
		int n = trace_select(arg, on, false);
		if (n < 0)
			return (mon_error(c, "'%s' matches no probe (::trace "
			    "lists them)", arg));
		mon_printf(c, "%d probes %s\n", n, on ? "on" : "off");
	} else if (strcmp(verb, "only") == 0 && arg != NULL) {
		int n = trace_select(arg, true, true);
		if (n < 0)
			return (mon_error(c, "'%s' matches no probe", arg));
		mon_printf(c, "%d probes on, the others off\n", n);
	} else if (strcmp(verb, "cpu") == 0 && arg != NULL) {
		if (!mon_parse_addr(arg, &v) || v >= (u64)ncpus)
			return (mon_error(c, "no CPU '%s'", arg));
		trace_filter((int)v, 0, 0);
		mon_printf(c, "recording on cpu%lu only\n", v);
	} else if ((strcmp(verb, "thread") == 0 ||
	    strcmp(verb, "vcpu") == 0) && arg != NULL) {
		if (!mon_parse_addr(arg, &v) || v == 0)
			return (mon_error(c, "bad address '%s'", arg));
		bool t = verb[0] == 't';
		trace_filter(-1, t ? v : 0, t ? 0 : v);
		mon_printf(c, "recording %s 0x%lx only\n", verb, v);
	} else if (strcmp(verb, "all") == 0) {
		trace_filter(-1, 0, 0);
		mon_printf(c, "no filter\n");
	} else if (strcmp(verb, "dump") == 0) {
		trace_dump();
	} else if (strcmp(verb, "clear") == 0) {
		trace_reset();
		mon_printf(c, "trace rings empty\n");
	} else {
		return (mon_error(c, "::trace [list | on|off [PATTERN] | only "
		    "PATTERN | cpu N | thread ADDR | vcpu ADDR | all | dump | "
		    "clear]"));
	}
	return (0);
}
MON_DCMD(trace, "[on|off PAT|dump|...]", "trace probes: list, on/off by "
    "pattern, filters, dump, clear", dcmd_trace);
