"""Parse and judge the TAP log bhyvelet writes to its serial port.

The kernel's side of the protocol:
  ok N - suite/name                  a passed test
  ok N - suite/name # SKIP reason    a skipped test (not failed; check.py counts it apart)
  not ok N - suite/name: reason      a failed test
  # text                             a comment
  1..N                               the plan (printed at the end)
  Bail out! text                     the kernel gave up (bad command line, ...)
  panic[cpuN]/thread=...: text       a panic (kern/panic.c), always at the start of a line,
                                     followed by registers and a backtrace
  # bhyvelet: shutdown status=0|1|panic   always the last line
  # trace begin: ... / # trace end: ...   a trace dump (scripts/tracecheck.py checks it); the
                                     lines in between are trace records, not TAP
  # bench: NAME value=V unit=U       one benchmark measurement (scripts/bench.py)
  [cpuN] text                        a kernel message (cmn_err CE_NOTE, kern/console.c) from
                                     CPU N: boot notes, "[name/com1] text" guest console
  [cpuN] WARNING: text               lines, ...; CE_WARN adds "WARNING: ". Not TAP.

Only the standard library is used; run.py and check.py import this module.
"""

import re

TEST_RE = re.compile(r'^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*)$')
PLAN_RE = re.compile(r'^1\.\.(\d+)\b')
SHUTDOWN_RE = re.compile(r'^# bhyvelet: shutdown status=(\S+)')
BAIL_RE = re.compile(r'^Bail out!')
# Only the kernel's own panic line: it starts a console line (panic.c prints a newline first).
# Guest console lines are "[name/com1] text", so a guest printing "panic[cpu" never matches.
PANIC_RE = re.compile(r'^panic\[cpu\d+\]')
# A backtrace line with a resolved symbol: "  #0 0xffffffff80101234 func_name+0x1c"
BACKTRACE_SYM_RE = re.compile(r'#\d+\s+0x[0-9a-fA-F]+\s+[A-Za-z_]\w*\+0x[0-9a-fA-F]+')
DIRECTIVE_RE = re.compile(r'\s#\s*(SKIP|TODO)\b\s*(.*)$', re.IGNORECASE)
TRACE_BEGIN_RE = re.compile(r'^# trace begin:')
TRACE_END_RE = re.compile(r'^# trace end\b')
BENCH_RE = re.compile(r'^# bench:\s+(\S+)\s+value=(\S+)\s+unit=(\S+)')

# A kernel message line (cmn_err): "[cpuN] text" or "[cpuN] WARNING: text".
MESSAGE_RE = re.compile(r'^\[cpu(\d+)\] (WARNING: )?(.*)$')

PANIC_BLOCK_LINES = 40


class Message:
    __slots__ = ('cpu', 'warning', 'text', 'index')

    def __init__(self, cpu, warning, text, index):
        self.cpu = cpu              # the CPU that printed it
        self.warning = warning      # True for CE_WARN
        self.text = text            # without the prefix (and without "WARNING: ")
        self.index = index          # into Log.lines


class Test:
    __slots__ = ('ok', 'num', 'desc', 'directive', 'reason', 'line')

    def __init__(self, ok, num, desc, directive, line, reason=''):
        self.ok = ok                # True for "ok"
        self.num = num              # int or None
        self.desc = desc            # "suite/name[: reason]" without the directive
        self.directive = directive  # None, "SKIP" or "TODO"
        self.reason = reason        # the directive's text ("needs 2 CPUs"), or ''
        self.line = line

    @property
    def suite(self):
        return self.desc.split('/', 1)[0] if '/' in self.desc else ''

    @property
    def failed(self):
        # "not ok ... # TODO" is an expected failure in TAP, not a failure.
        return not self.ok and self.directive != 'TODO'


class Log:
    """Everything of interest in one serial log."""

    def __init__(self):
        self.lines = []
        self.tests = []
        self.plans = []          # every N of a "1..N" line
        self.bail = []           # "Bail out!" lines
        self.panic_index = None  # index into lines of the first panic line
        self.shutdown = None     # status string of the shutdown line, e.g. "0"
        self.trace_dumps = 0     # "# trace begin:" lines
        self.bench = []          # (name, value string, unit) of "# bench:" lines
        self.messages = []       # Message for each "[cpuN] ..." kernel message line

    @property
    def plan(self):
        return self.plans[-1] if self.plans else None

    @property
    def passed(self):
        """Tests that did not fail, skipped ones included."""
        return [t for t in self.tests if not t.failed]

    @property
    def failed(self):
        return [t for t in self.tests if t.failed]

    @property
    def skipped(self):
        return [t for t in self.tests if t.directive == 'SKIP']

    @property
    def panic_line(self):
        return None if self.panic_index is None else self.lines[self.panic_index]

    def panic_block(self, limit=PANIC_BLOCK_LINES):
        if self.panic_index is None:
            return []
        return self.lines[self.panic_index:self.panic_index + limit]

    def has_backtrace_symbol(self):
        return any(BACKTRACE_SYM_RE.search(l) for l in self.panic_block())

    def message_texts(self):
        return [m.text for m in self.messages]

    def tail(self, n=20):
        return self.lines[-n:]


def clean_line(line):
    line = line.rstrip('\r\n').replace('\r', '')
    # Drop other control characters (a half-written byte, terminal escapes).
    return ''.join(c for c in line if c == '\t' or c >= ' ').rstrip()


def parse_text(text):
    log = Log()
    in_trace = False
    for raw in text.split('\n'):
        line = clean_line(raw)
        if not line:
            continue
        log.lines.append(line)
        idx = len(log.lines) - 1
        s = line.strip()
        if log.panic_index is None and PANIC_RE.match(line):
            log.panic_index = idx
        m = SHUTDOWN_RE.match(s)
        if m:
            log.shutdown = m.group(1)
            in_trace = False
            continue
        if TRACE_BEGIN_RE.match(s):
            log.trace_dumps += 1
            in_trace = True
            continue
        if in_trace:
            # Trace records are not TAP (a panic inside a dump is caught above). A TAP line
            # means the dump was cut short: take it as TAP.
            if TRACE_END_RE.match(s):
                in_trace = False
                continue
            if not (TEST_RE.match(s) or PLAN_RE.match(s) or BAIL_RE.match(s)):
                continue
            in_trace = False
        if s.startswith('#'):
            m = BENCH_RE.match(s)
            if m:
                log.bench.append(m.groups())
            continue
        if BAIL_RE.match(s):
            log.bail.append(s)
            continue
        m = MESSAGE_RE.match(line)
        if m:
            log.messages.append(Message(int(m.group(1)), bool(m.group(2)), m.group(3), idx))
            continue
        m = PLAN_RE.match(s)
        if m:
            log.plans.append(int(m.group(1)))
            continue
        m = TEST_RE.match(s)
        if m:
            ok = m.group(1) == 'ok'
            num = int(m.group(2)) if m.group(2) is not None else None
            desc = m.group(3)
            directive, reason = None, ''
            d = DIRECTIVE_RE.search(desc)
            if d:
                directive, reason = d.group(1).upper(), d.group(2).strip()
                desc = desc[:d.start()].rstrip()
            log.tests.append(Test(ok, num, desc, directive, s, reason))
    return log


def parse_file(path):
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        data = b''
    return parse_text(data.decode('utf-8', 'replace'))


class Verdict:
    """kind is one of: pass, panic, bail, timeout, hang, plan, not_ok, status."""

    def __init__(self, ok, kind, reason):
        self.ok = ok
        self.kind = kind
        self.reason = reason

    @property
    def died(self):
        """The run ended abnormally: it did not get through its tests."""
        return self.kind in ('panic', 'bail', 'timeout', 'hang')

    def __repr__(self):
        return 'Verdict(%r, %r, %r)' % (self.ok, self.kind, self.reason)


def plan_problem(log):
    """None if the plan and the test lines agree, else a short description."""
    if not log.plans:
        return 'no plan line'
    if len(log.plans) > 1:
        return '%d plan lines' % len(log.plans)
    n = log.plan
    if len(log.tests) != n:
        return 'plan 1..%d but %d test line%s' % (n, len(log.tests),
                                                  '' if len(log.tests) == 1 else 's')
    nums = [t.num for t in log.tests]
    if nums != list(range(1, n + 1)):
        for i, num in enumerate(nums, 1):
            if num != i:
                return 'test %d is numbered %s' % (i, num if num is not None else 'nothing')
    return None


def _judge_end(log, timed_out, timeout):
    """The verdict on how a boot ended (panic, bail out, no shutdown line), or None."""
    if log.panic_index is not None:
        return Verdict(False, 'panic', 'panic: ' + log.panic_line.strip())
    if log.bail:
        return Verdict(False, 'bail', 'bail out: ' + log.bail[0][len('Bail out!'):].strip())
    if log.shutdown is None:
        if timed_out:
            t = ' after %g s' % timeout if timeout else ''
            return Verdict(False, 'timeout',
                           'timeout%s: no shutdown line: kernel hung or crashed' % t)
        return Verdict(False, 'hang', 'no shutdown line: kernel hung or crashed')
    return None


def _judge_status(log):
    if log.shutdown != '0':
        return Verdict(False, 'status', 'shutdown status=%s' % log.shutdown)
    return Verdict(True, 'pass', 'ok')


def judge(log, timed_out=False, timeout=None):
    """Decide pass/fail for one boot from its parsed serial log."""
    v = _judge_end(log, timed_out, timeout)
    if v:
        return v
    nfail = len(log.failed)
    problem = plan_problem(log)
    if problem:
        extra = ' (and %d not ok)' % nfail if nfail else ''
        return Verdict(False, 'plan', 'plan mismatch: ' + problem + extra)
    if nfail:
        return Verdict(False, 'not_ok', '%d not ok' % nfail)
    return _judge_status(log)


def judge_notap(log, timed_out=False, timeout=None):
    """Like judge, for a boot that prints no TAP (bench=, guest=): it passes iff it shut down
    with status 0 and did not panic or bail out."""
    return _judge_end(log, timed_out, timeout) or _judge_status(log)


def summary(log):
    """"37 tests" or "37 tests, 2 skipped"."""
    n = len(log.tests)
    s = '%d test%s' % (n, '' if n == 1 else 's')
    if log.skipped:
        s += ', %d skipped' % len(log.skipped)
    return s
