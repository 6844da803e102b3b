#!/usr/bin/env python3
"""bhyvelet's whole test suite: a matrix of kernel boots, judged from their serial logs.

  python3 scripts/check.py                      the default matrix plus the expectation cases
  python3 scripts/check.py --platform P --cpus N --suite S [--expect]
                                                one configuration only (make check SUITE=...)

Prints one line per run and, last, exactly one line "N passed, M failed", where N and M count
the TAP results (ok / not ok) of every run, one per expectation case, one extra failure for
each run that died (panic, hang, bail out, plan mismatch), one result per run whose log holds
trace dumps (scripts/tracecheck.py's verdict), and one per host unit test (tests/host).
Exit status 0 iff M == 0.

Expectation cases (the default matrix, or --expect): the fixed ones in EXPECTATIONS, one
"expect-panic suite/name" per KTEST_PANIC(suite, name, "text") in tests/*.c (boots with
panic_test=suite/name and wants a panic line holding the text), and
expect-tracecheck-catches-legacy-order, expect-vmm-legacy-order-caught (SVM on QEMU) and
expect-vmx-legacy-order-caught (VMX on Bochs). Trace dumps of
ordinary runs are checked with TRACE_ORDERS, TRACE_INNER and the vCPU ownership rule
(TRACE_VCPU_OWNER: VMCS current on one CPU, VMLAUNCH/VMRESUME, SVM ASID per CPU); the expectation
cases use the mirror rule alone.
Only the Python standard library is used.
"""

import argparse
import glob
import io
import os
import re
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402
import tap  # noqa: E402
import tracecheck  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (platform, cpus, suite[, more kernel command-line words])
DEFAULT_MATRIX = [
    ('bochs-vmx', 1, 'all'),
    ('bochs-vmx', 2, 'all'),
    ('qemu', 4, 'all'),
    ('qemu', 2, 'all'),
    ('qemu', 1, 'all'),
    ('qemu-grub', 2, 'boot'),
    ('qemu', 2, 'ctx', 'hz=1000'),
    ('bochs-svm', 2, 'vmm'),        # Bochs ryzen: the second SVM implementation (~90 s)
]

# tracecheck --order rules for every run's trace dumps: 'SAVE_A:RESTORE_A,SAVE_B:RESTORE_B'.
# The vCPU node is attached after (so is newer than) the thread's own FPU node.
TRACE_ORDERS = [tracecheck.parse_order(o) for o in (
    'vmm_savectx:vmm_restorectx,fpu_ctx_save:fpu_ctx_restore',
)]

# tracecheck --inner rules (HOOK:A,B[,C...]): inside the vCPU's hooks, the backend saves
# before the guest FPU is saved, and the guest FPU is restored before the backend restores.
TRACE_INNER = [tracecheck.parse_inner(i) for i in (
    'vmm_savectx:svm_savectx,save_guest_fpustate',
    'vmm_savectx:vmx_savectx,save_guest_fpustate',
    'vmm_restorectx:restore_guest_fpustate,svm_restorectx',
    'vmm_restorectx:restore_guest_fpustate,vmx_restorectx',
)]

# tracecheck's vCPU ownership rule (VMCS current on one CPU, VMLAUNCH after VMCLEAR, a new SVM
# ASID on every CPU a vCPU moves to). It only acts on logs holding vmx:/vmentry:/svm: records.
TRACE_VCPU_OWNER = True


class Job:
    def __init__(self, name, platform, cpus, cmdline, expect=None, timeout=None):
        self.name = name            # shown in the result line
        self.platform = platform
        self.cpus = cpus
        self.cmdline = cmdline
        self.expect = expect        # None for a normal run, else a function(res) -> (ok, why)
        self.timeout = timeout
        self.judge = tap.judge
        self.result = None
        self.error = None

    @property
    def bochs(self):
        return self.platform.startswith('bochs')

    def log_name(self, platform):
        slug = self.name.replace(' ', '-').replace('=', '-').replace(',', '+').replace('/', '_')
        return '%s-cpus%d-%s.log' % (platform, self.cpus, slug)


# ---------------------------------------------------------------------------------------------
# Expectation cases: each counts as exactly one pass or one fail.


def _ended_early(res, why_ok):
    if res.timed_out:
        return False, 'the run hit its %g s timeout instead of ending' % res.timeout
    if res.timeout and res.elapsed > res.timeout / 2:
        return False, 'the run took %.1f s of its %g s timeout' % (res.elapsed, res.timeout)
    return True, why_ok


def expect_panic(res):
    if res.ok:
        return False, 'the runner reported success for a kernel told to panic'
    if res.log.panic_index is None:
        return False, 'no panic[ line in the log (%s)' % res.verdict.reason
    if not res.log.has_backtrace_symbol():
        return False, 'panic without a backtrace line naming a symbol (#N 0x... func+0x..)'
    if res.verdict.kind != 'panic':
        return False, 'runner reason is not the panic: %s' % res.verdict.reason
    return _ended_early(res, 'panic with a symbolized backtrace, reported as failure')


def expect_pagefault(res):
    ok, why = expect_panic(res)
    if not ok:
        return ok, why
    first = res.log.panic_block()[:1]
    if not first or '#PF page fault' not in first[0] or 'address 0x0 ' not in first[0]:
        return False, 'the panic does not report the page fault at address 0: %s' % first
    if not any(l.lstrip().startswith('rax=') for l in res.log.panic_block()):
        return False, 'no register dump in the panic'
    return ok, 'page fault at 0 reported with registers and a symbolized backtrace'


def expect_bail(word):
    def check(res):
        if res.ok:
            return False, 'the runner reported success'
        if not res.log.bail:
            return False, 'no "Bail out!" line (%s)' % res.verdict.reason
        if not any(word in b for b in res.log.bail):
            return False, '"Bail out!" does not name %s: %s' % (word, res.log.bail[0])
        return _ended_early(res, 'bailed out naming %s' % word)
    return check


def expect_panic_text(text):
    """A KTEST_PANIC case: the run fails with a panic whose panic line holds text, quickly."""
    def check(res):
        if res.ok:
            return False, 'the runner reported success for a kernel told to panic'
        if res.log.panic_index is None:
            return False, 'no panic[ line in the log (%s)' % res.verdict.reason
        if res.verdict.kind != 'panic':
            return False, 'runner reason is not the panic: %s' % res.verdict.reason
        if text not in res.log.panic_line:
            return False, 'the panic line does not contain "%s": %s' % (
                text, res.log.panic_line.strip())
        return _ended_early(res, 'panicked with "%s"' % text)
    return check


def expect_tracecheck_violation(res):
    """The run's own tests pass, and tracecheck finds a violation in its trace."""
    if not res.ok:
        return False, 'the run itself failed: %s' % res.verdict.reason
    if not res.log.trace_dumps:
        return False, 'no trace dump in the log'
    tc = tracecheck.check_log(res.log_path, owner=False)  # the mirror rule alone
    if tc.status != 'violation':
        return False, 'tracecheck found no violation: %s' % tc.summary()
    return True, 'TAP passed and tracecheck caught: %s' % tc.violation_text.split('\n', 1)[0]


EXPECTATIONS = [
    ('expect-panic', 'qemu', 2, 'test_panic=1', expect_panic, 60),
    ('expect-bad-suite', 'qemu', 1, 'suite=nosuchsuite', expect_bail('nosuchsuite'), 60),
    ('expect-bad-switch', 'qemu', 1, 'suite=all frobnicate=1', expect_bail('frobnicate'), 60),
    ('expect-pagefault', 'qemu', 2, 'test_panic=pagefault', expect_pagefault, 60),
    ('expect-tracecheck-catches-legacy-order', 'qemu', 2,
     'suite=ctx/legacy_guest_fpu ctx_legacy_restore=1', expect_tracecheck_violation, 120),
    ('expect-vmm-legacy-order-caught', 'qemu', 2,
     'suite=vmm/fpu_guest_switches ctx_legacy_restore=1', expect_tracecheck_violation, 180),
    ('expect-vmx-legacy-order-caught', 'bochs-vmx', 2,
     'suite=vmm/fpu_guest_switches ctx_legacy_restore=1', expect_tracecheck_violation, 400),
]

# KTEST_PANIC(suite, name, "expected text"): in tests/*.c; the text may be several literals.
KTEST_PANIC_RE = re.compile(r'\bKTEST_PANIC\(\s*(\w+)\s*,\s*(\w+)\s*,\s*'
                            r'((?:"(?:\\.|[^"\\\n])*"\s*)+)\)')
C_COMMENT_OR_STRING_RE = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"'
                                    r"|'(?:\\.|[^'\\\n])*'", re.DOTALL)
C_ESCAPES = {'n': '\n', 't': '\t', 'r': '\r', '0': '\0'}


def _uncomment(src):
    return C_COMMENT_OR_STRING_RE.sub(
        lambda m: ' ' if m.group(0)[0] == '/' else m.group(0), src)


def _c_string(literals):
    """The value of adjacent C string literals ("a" "b")."""
    out = ''
    for lit in re.findall(r'"((?:\\.|[^"\\\n])*)"', literals):
        out += re.sub(r'\\(.)', lambda m: C_ESCAPES.get(m.group(1), m.group(1)), lit)
    return out


def ktest_panic_cases(root=ROOT):
    """[(suite, name, expected text)] from the KTEST_PANIC lines of tests/*.c, in file order."""
    cases, seen = [], set()
    for path in sorted(glob.glob(os.path.join(root, 'tests', '*.c'))):
        with open(path, encoding='utf-8', errors='replace') as f:
            src = _uncomment(f.read())
        for m in KTEST_PANIC_RE.finditer(src):
            key = (m.group(1), m.group(2))
            if key not in seen:
                seen.add(key)
                cases.append((m.group(1), m.group(2), _c_string(m.group(3))))
    return cases


def expectation_jobs():
    jobs = [Job(name, platform, cpus, cmdline, fn, timeout)
            for name, platform, cpus, cmdline, fn, timeout in EXPECTATIONS]
    for suite, name, text in ktest_panic_cases():
        jobs.append(Job('expect-panic %s/%s' % (suite, name), 'qemu-tcg', 2,
                        'panic_test=%s/%s' % (suite, name), expect_panic_text(text), 60))
    return jobs


# ---------------------------------------------------------------------------------------------
# Host unit tests (tests/host, unittest): each test is one pass or one fail.


class _CountingResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.successes = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.successes += 1


def run_host_tests(root=ROOT):
    """Returns (passed, failed, lines to print)."""
    start = os.path.join(root, 'tests', 'host')
    if not os.path.isdir(start):
        return 0, 0, []
    try:
        suite = unittest.TestLoader().discover(start, pattern='test*.py', top_level_dir=start)
    except Exception as e:  # noqa: BLE001 -- a broken test tree is one failure
        return 0, 1, ['FAIL host unittests: cannot load tests/host: %s: %s'
                      % (type(e).__name__, e)]
    res = _CountingResult()
    out = io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = out   # tests that print should not garble our output
    try:
        suite.run(res)
    finally:
        sys.stdout, sys.stderr = saved
    passed = res.successes + len(res.skipped) + len(res.expectedFailures)
    bad = [(t, tb) for t, tb in res.failures + res.errors] + \
        [(t, 'unexpected success') for t in res.unexpectedSuccesses]
    if not bad:
        if passed == 0:
            return 0, 1, ['FAIL host unittests: no tests found in tests/host']
        return passed, 0, ['PASS host unittests (%d tests)' % passed]
    lines = ['FAIL host unittests: %d of %d failed' % (len(bad), passed + len(bad))]
    for t, tb in bad:
        tail = [l for l in tb.strip().split('\n') if l.strip()][-1:]
        lines.append('    FAIL %s: %s' % (t.id(), tail[0].strip() if tail else ''))
    return passed, len(bad), lines


# ---------------------------------------------------------------------------------------------


class Checker:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.passed = 0
        self.failed = 0
        self.failures = []

    def emit(self, lines):
        with self.lock:
            for l in lines:
                print(l)
            sys.stdout.flush()

    def execute(self, job):
        a = self.args
        platform, _ = run.resolve_platform(job.platform)
        log_path = os.path.join(a.logdir, job.log_name(platform))
        try:
            job.result = run.run_kernel(job.platform, job.cpus, a.mem, job.cmdline,
                                        job.timeout or a.timeout, log_path, False, a.kernel,
                                        job.judge)
        except Exception as e:  # a broken host setup: count the run as failed, keep going
            job.error = '%s: %s' % (type(e).__name__, e)
        self.account(job)

    def account(self, job):
        res = job.result
        if job.error:
            lines = ['FAIL %s: runner error: %s' % (job.name, job.error)]
            p, f = 0, 1
        elif job.expect:
            ok, why = job.expect(res)
            head = '%s %s %s %s' % ('PASS' if ok else 'FAIL', job.name, res.describe(),
                                    job.cmdline)
            if ok:
                lines = ['%s (%s, %.1f s)' % (head, why, res.elapsed)]
            else:
                lines = ['%s: %s (%.1f s)' % (head, why, res.elapsed)]
                lines += ['    ' + l for l in run.failure_details(res)]
            p, f = (1, 0) if ok else (0, 1)
        else:
            v = res.verdict
            head = '%s %s' % (res.describe(), job.name)
            stats = '%s, %.1f s' % (tap.summary(res.log), res.elapsed)
            if v.ok:
                lines = ['PASS %s (%s)' % (head, stats)]
            else:
                lines = ['FAIL %s: %s (%s)' % (head, v.reason, stats)]
                lines += ['    ' + l for l in run.failure_details(res)]
            p = len(res.log.passed)
            f = len(res.log.failed)
            if not v.ok and v.kind != 'not_ok':
                f += 1  # died (panic, hang, bail out) or otherwise broken: one more failure
            for d in res.diag:
                if d.startswith('run:'):
                    lines.append('    ' + d)
            if res.log.trace_dumps:
                tl, tp, tf = self.trace_verdict(res)
                lines += tl
                p += tp
                f += tf
        with self.lock:
            self.passed += p
            self.failed += f
            if f:
                self.failures += [l for l in lines if l.startswith('FAIL')]
        self.emit(lines)

    def trace_verdict(self, res):
        """tracecheck on a run's log: (lines, passed, failed), one counted result."""
        name = os.path.basename(res.log_path)
        try:
            tc = tracecheck.check_log(res.log_path, TRACE_ORDERS, TRACE_INNER,
                                      TRACE_VCPU_OWNER)
        except Exception as e:  # noqa: BLE001
            return ['FAIL tracecheck %s: %s: %s' % (name, type(e).__name__, e)], 0, 1
        summary = tc.summary()[len('tracecheck: '):]
        if tc.ok:
            return ['PASS tracecheck %s: %s' % (name, summary)] + \
                ['    ' + n for n in tc.notes], 1, 0
        lines = ['FAIL tracecheck %s: %s' % (name, summary)]
        lines += ['    ' + n for n in tc.notes]
        lines += ['    ' + l for l in tc.violation_text.split('\n')]
        return lines, 0, 1

    def run_all(self, jobs):
        """At most --jobs runs at once, and at most one Bochs run at a time."""
        pending = list(jobs)
        running = []
        bochs_busy = [False]

        def worker(job):
            try:
                self.execute(job)
            finally:
                with self.cond:
                    running.remove(job)
                    if job.bochs:
                        bochs_busy[0] = False
                    self.cond.notify_all()

        with self.cond:
            while pending or running:
                started = False
                if len(running) < self.args.jobs:
                    for job in pending:
                        if job.bochs and bochs_busy[0]:
                            continue
                        pending.remove(job)
                        running.append(job)
                        if job.bochs:
                            bochs_busy[0] = True
                        threading.Thread(target=worker, args=(job,), daemon=True).start()
                        started = True
                        break
                if not started:
                    self.cond.wait()


def build_jobs(a):
    extra = (' ' + a.extra) if a.extra else ''
    single = bool(a.platform or a.cpus or a.suite)
    jobs = []
    if single:
        platform = a.platform or 'qemu'
        cpus = a.cpus or 2
        suite = a.suite or 'all'
        jobs.append(Job('suite=%s' % suite, platform, cpus, 'suite=%s%s' % (suite, extra)))
    else:
        for entry in DEFAULT_MATRIX:
            platform, cpus, suite = entry[:3]
            words = ' '.join(('suite=' + suite,) + tuple(entry[3:]))
            jobs.append(Job(words, platform, cpus, words + extra))
    if not single or a.expect:
        jobs += expectation_jobs()
    return jobs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--platform', default='', choices=('',) + run.PLATFORMS,
                    help='run only this platform (with --cpus/--suite)')
    ap.add_argument('--cpus', type=int, default=0, help='run only with this many CPUs')
    ap.add_argument('--suite', default='', help='run only this suite (or a,b,c)')
    ap.add_argument('--expect', action='store_true',
                    help='with --platform/--cpus/--suite: also run the expectation cases')
    ap.add_argument('--extra', default='', help='more kernel command-line words for every run')
    ap.add_argument('--jobs', type=int, default=2,
                    help='runs at once (default 2); Bochs runs never overlap each other')
    ap.add_argument('--logdir', default='build/logs', help='where serial logs are kept')
    ap.add_argument('--kernel', default='build/kernel.bin')
    ap.add_argument('--mem', type=int, default=run.DEFAULT_MEM)
    ap.add_argument('--timeout', type=float, default=None,
                    help='per-run timeout (default 480 s QEMU, 900 s Bochs)')
    a = ap.parse_args(argv)
    a.jobs = max(1, a.jobs)
    run.install_signal_handlers(interrupt=True)

    if not os.path.isfile(a.kernel):
        print('check: %s not found: build it first (make)' % a.kernel)
        print('0 passed, 1 failed')
        return 1
    os.makedirs(a.logdir, exist_ok=True)
    jobs = build_jobs(a)
    qplat, note = run.resolve_platform('qemu')
    print('check: %d runs, %d at a time; qemu is %s (%s); logs in %s'
          % (len(jobs), a.jobs, qplat, note, a.logdir), flush=True)
    c = Checker(a)
    hp, hf, hlines = run_host_tests()
    c.passed += hp
    c.failed += hf
    if hf:
        c.failures.append(hlines[0])
    c.emit(hlines)
    t0 = time.monotonic()
    try:
        c.run_all(jobs)
    except KeyboardInterrupt:
        run.stop_all()
        print('check: interrupted')
        c.failed += 1
    print('check: %.0f s in all' % (time.monotonic() - t0))
    if c.failures and len(jobs) > 1:
        print('failed runs:')
        for l in c.failures:
            print('  ' + l)
    print('%d passed, %d failed' % (c.passed, c.failed), flush=True)
    return 0 if c.failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
