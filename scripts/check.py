#!/usr/bin/env python3
"""bhyvelet's whole test suite: a matrix of kernel boots, judged from their serial logs.

  python3 scripts/check.py                      the default matrix plus the expectation cases
  python3 scripts/check.py --platform P --cpus N --suite S [--expect]
                                                one configuration only (make check SUITE=...)

Prints one line per run and, last, exactly one line "N passed, M failed", where N and M count
the TAP results (ok / not ok) of every run, one per expectation case, and one extra failure for
each run that died (panic, hang, bail out, plan mismatch). Exit status 0 iff M == 0.
Only the Python standard library is used.
"""

import argparse
import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402
import tap  # noqa: E402

# (platform, cpus, suite)
DEFAULT_MATRIX = [
    ('bochs-vmx', 1, 'all'),
    ('bochs-vmx', 2, 'all'),
    ('qemu', 4, 'all'),
    ('qemu', 2, 'all'),
    ('qemu', 1, 'all'),
    ('qemu-grub', 2, 'boot'),
]


class Job:
    def __init__(self, name, platform, cpus, cmdline, expect=None, timeout=None):
        self.name = name            # shown in the result line
        self.platform = platform
        self.cpus = cpus
        self.cmdline = cmdline
        self.expect = expect        # None for a normal run, else a function(res) -> (ok, why)
        self.timeout = timeout
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


EXPECTATIONS = [
    ('expect-panic', 'qemu', 2, 'test_panic=1', expect_panic, 60),
    ('expect-bad-suite', 'qemu', 1, 'suite=nosuchsuite', expect_bail('nosuchsuite'), 60),
    ('expect-bad-switch', 'qemu', 1, 'suite=all frobnicate=1', expect_bail('frobnicate'), 60),
    ('expect-pagefault', 'qemu', 2, 'test_panic=pagefault', expect_pagefault, 60),
]


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
                                        job.timeout or a.timeout, log_path, False, a.kernel)
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
        with self.lock:
            self.passed += p
            self.failed += f
            if f:
                self.failures.append(lines[0])
        self.emit(lines)

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
        for platform, cpus, suite in DEFAULT_MATRIX:
            jobs.append(Job('suite=%s' % suite, platform, cpus, 'suite=%s%s' % (suite, extra)))
    if not single or a.expect:
        for name, platform, cpus, cmdline, fn, timeout in EXPECTATIONS:
            jobs.append(Job(name, platform, cpus, cmdline, fn, timeout))
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
                    help='per-run timeout (default 120 s QEMU, 300 s Bochs)')
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
