#!/usr/bin/env python3
"""bhyvelet's whole test suite: a matrix of kernel boots, judged from their serial logs.

  python3 scripts/check.py                      the default matrix plus the expectation cases
  python3 scripts/check.py --platform P --cpus N --suite S [--expect]
                                                one configuration only (make check SUITE=...)

Prints one line per run and, last, exactly one line "N passed, M failed, K skipped", where N
and M count the TAP results (ok / not ok) of every run, one per expectation case, one extra
failure for each run that died (panic, hang, bail out, plan mismatch), one result per run whose
log holds trace dumps (scripts/tracecheck.py's verdict), and one per host unit test
(tests/host); K counts the skipped ones (ok ... # SKIP, unittest skips), which are not passes.
Where a virtualization backend is expected (BACKEND_EXPECTED: QEMU TCG and Bochs offer SVM or
VMX) a skipped vmm test is a failure, unless it skipped for too few CPUs or because it is
written for the other backend. Exit status 0 iff M == 0.

Expectation cases (the default matrix, or --expect): the fixed ones in EXPECTATIONS, one
"expect-panic suite/name" per KTEST_PANIC test the kernel lists when booted once with
panic_test=list (that boot is one result; each case boots with panic_test=suite/name and wants
a panic line holding the listed text), and
expect-tracecheck-catches-legacy-order, expect-vmm-legacy-order-caught (SVM on QEMU) and
expect-vmx-legacy-order-caught (VMX on Bochs), and expect-guest-module (scripts/run.py --guest
build/guest/hello.bin: the guest=module path, one QEMU boot), expect-nested-bhyvelet (bhyvelet's
own kernel as a 2-vCPU multiboot guest, its suites passing inside). The default matrix also runs
mb-compare on each platform of MB_COMPARE: every guest/mb kernel in one guest=batch boot, each
compared with plain QEMU (scripts/mbcompare.py; one result per kernel run, a pending one
skipped). Trace dumps of
ordinary runs are checked with tracecheck's stack rule, TRACE_ORDERS, TRACE_INNER and the asid
rule (TRACE_VCPU_OWNER: a new SVM ASID on each CPU a vCPU moves to), and trace_require() names
the rules that must have checked something in that run (a rule that silently matched nothing
fails); the expectation cases use the stack rule alone.
Only the Python standard library is used.
"""

import argparse
import io
import os
import re
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402
import mbcompare  # noqa: E402
import tap  # noqa: E402
import tracecheck  # noqa: E402
from checkmon import (_ended_early, _message, _mon_file, MON_INPUT, MON_FINAL_INPUT,  # noqa: E402
                      MON_KMEM_INPUT, MON_VM_INPUT, MON_CTX_INPUT, TRACE_PATTERNS, NESTED_ARGS,
                      expect_monitor, expect_monitor_final, expect_monitor_kmem,
                      expect_monitor_vm, expect_monitor_ctxops, expect_trace_guest,
                      expect_nested_bhyvelet)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MTTCG_SUITES = 'ctx,thread,sync,fpu,kmem,trace'

# (platform, cpus, suite[, more kernel command-line words]); platform 'qemu-mttcg' is QEMU TCG
# with one host thread per vCPU (run.py --mttcg), so the CPUs really run at the same time.
DEFAULT_MATRIX = [
    ('bochs-vmx', 1, 'all'),
    ('bochs-vmx', 2, 'all'),
    ('qemu', 4, 'all'),
    ('qemu', 2, 'all'),
    ('qemu', 1, 'all'),
    ('qemu-grub', 2, 'boot'),
    ('qemu', 2, 'ctx', 'hz=1000'),
    ('qemu', 2, 'ctx', 'ctx_debug=1'),  # every ctxop edit through the checked path
    ('bochs-svm', 2, 'vmm'),        # Bochs ryzen: the second SVM implementation (~90 s)
    # The fuzzer (docs/fuzz.md), not part of suite=all: 2,300 guests on QEMU (~35 s), fewer on
    # Bochs, where each costs seconds.
    ('qemu', 2, 'fuzz'),
    ('bochs-vmx', 1, 'fuzz'),
    ('bochs-svm', 1, 'fuzz'),
    # Guest RAM mapped from the nested page faults instead of premapped, so that path stays
    # tested (~35 s at scale=20).
    ('qemu', 2, 'vmm', 'vmm_ondemand=1', 'scale=20'),
    # The suites that never enter a guest, under real parallelism (~10 s and ~17 s). The vmm
    # suite stays on single-threaded TCG: QEMU 7.2's MTTCG corrupts SVM guests
    # (docs/platforms.md).
    ('qemu-mttcg', 2, MTTCG_SUITES),
    ('qemu-mttcg', 4, MTTCG_SUITES),
]

# The guest/mb kernels against plain QEMU, one batch boot each (platform, timeout s).
MB_COMPARE = [('qemu', 600), ('bochs-vmx', 1200), ('bochs-svm', 1200)]

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

# tracecheck's asid rule: a new SVM ASID on every CPU a vCPU moves to. (The VMX move sequence
# is checked by the kernel itself: vmx_load/vmx_unload panic on a VMCS current elsewhere.)
TRACE_VCPU_OWNER = True


def trace_require(platform, cmdline):
    """The tracecheck rules that must check at least one record in this run's dumps: the stack
    rule always; where the vmm tests run on a backend, the vCPU's order and inner rules too,
    and on SVM the asid rule."""
    words = dict(w.split('=', 1) for w in cmdline.split() if '=' in w)
    suites = words.get('suite', '').split(',')
    rules = ['stack']
    if BACKEND_EXPECTED.get(platform) and ('all' in suites or 'vmm' in suites):
        rules += ['order', 'inner']
        if BACKEND_EXPECTED[platform] == 'SVM':
            rules.append('asid')
    return rules


def split_mttcg(platform):
    """(run.py's platform, mttcg): 'qemu-mttcg' is QEMU TCG, multi-threaded."""
    return ('qemu-tcg', True) if platform == 'qemu-mttcg' else (platform, False)


class Job:
    def __init__(self, name, platform, cpus, cmdline, expect=None, timeout=None):
        self.name = name            # shown in the result line
        self.platform, self.mttcg = split_mttcg(platform)
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

    def run(self, a, log_path):
        """Boot once; returns a run.RunResult."""
        return run.run_kernel(self.platform, self.cpus, a.mem, self.cmdline,
                              self.timeout or a.timeout, log_path, False, a.kernel, self.judge,
                              mttcg=self.mttcg)

    def log_name(self, platform):
        slug = self.name.replace(' ', '-').replace('=', '-').replace(',', '+').replace('/', '_')
        return '%s%s-cpus%d-%s.log' % (platform, '-mttcg' if self.mttcg else '', self.cpus,
                                       slug)


# ---------------------------------------------------------------------------------------------
# Expectation cases: each counts as exactly one pass or one fail.


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
    tc = tracecheck.check_log(res.log_path, owner=False)  # the stack rule alone
    if tc.status != 'violation':
        return False, 'tracecheck found no violation: %s' % tc.summary()
    return True, 'TAP passed and tracecheck caught: %s' % tc.violation_text.split('\n', 1)[0]


GUEST_MODULE_IMAGE = os.path.join(ROOT, 'build', 'guest', 'hello.bin')
GUEST_MODULE_TEXT = 'Hello from a bhyvelet guest (real mode)'   # guest/hello.asm's line


class MbCompareJob(Job):
    """The guest/mb kernels in one guest=batch boot, each compared with plain QEMU
    (scripts/mbcompare.py); one result per kernel run."""

    def __init__(self, platform, timeout):
        super().__init__('mb-compare', platform, 2, 'guest=batch', None, timeout)
        self.outcomes = []          # (verdict, run name, why)

    def run(self, a, log_path):
        names = mbcompare.bhyvelet_runs()
        singles = mbcompare.input_runs(self.platform)
        refs = mbcompare.references(names + singles)
        res, got = mbcompare.batch_boot(self.platform, names, log_path, self.timeout)
        for n in singles:
            one, got[n] = mbcompare.single_boot(self.platform, n,
                                                log_path.replace('.log', '-%s.log' % n), 120)
            if not one.verdict.ok:
                got[n] = None
        self.outcomes = [mbcompare.compare(n, got.get(n), refs.get(n)) + (n,)
                         for n in names + singles]
        return res

    def account_lines(self, res):
        """(lines, passed, failed, skipped) for Checker.account."""
        lines, p, f, k = [], 0, 0, 0
        word = {'pass': 'PASS', 'fail': 'FAIL', 'pending': 'SKIP'}
        for verdict, why, n in self.outcomes:
            lines.append('%s mb-compare %s %s: %s' % (word[verdict], res.platform, n, why))
            p += verdict == 'pass'
            f += verdict == 'fail'
            k += verdict == 'pending'
        if not res.verdict.ok:
            lines.append('FAIL mb-compare %s: the batch boot failed: %s (%.1f s)'
                         % (res.platform, res.verdict.reason, res.elapsed))
            lines += ['    ' + l for l in run.failure_details(res)]
            f += 1
        return lines, p, f, k


class RunPyJob(Job):
    """A job that boots through scripts/run.py itself (its command-line paths, e.g. --guest),
    as a person would; its result also holds run.py's exit status and output."""

    def __init__(self, name, platform, cpus, options, expect, timeout):
        super().__init__(name, platform, cpus, ' '.join(options), expect, timeout)
        self.options = options

    def argv(self, log_path, kernel='build/kernel.bin'):
        return [sys.executable, os.path.join(ROOT, 'scripts', 'run.py'),
                '--platform', self.platform, '--cpus', str(self.cpus), '--kernel', kernel,
                '--timeout', '%g' % self.timeout, '--log', log_path] + \
            (['--mttcg'] if self.mttcg else []) + self.options

    def run(self, a, log_path):
        start = time.monotonic()
        p = subprocess.run(self.argv(log_path, a.kernel), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=self.timeout + 30)
        res = run.RunResult()
        res.platform, _ = run.resolve_platform(self.platform)
        res.cpus, res.timeout, res.log_path = self.cpus, float(self.timeout), log_path
        res.elapsed = time.monotonic() - start
        res.log = tap.parse_file(log_path)
        res.verdict = tap.judge_notap(res.log)
        res.runner_rc = p.returncode
        res.runner_output = p.stdout.decode('utf-8', 'replace').splitlines()
        return res


def expect_guest_module(res):
    """run.py --guest build/guest/hello.bin: the image goes in as the boot module, the kernel
    runs it with guest=module, the guest's line comes out, and run.py passes (status 0)."""
    out = ' | '.join(res.runner_output[-3:])
    if res.runner_rc != 0:
        return False, 'run.py --guest exited with status %s: %s' % (res.runner_rc, out)
    if not any(l.startswith('PASS ') for l in res.runner_output):
        return False, 'run.py printed no PASS line: %s' % out
    size = os.path.getsize(GUEST_MODULE_IMAGE) if os.path.exists(GUEST_MODULE_IMAGE) else -1
    if not _message(res, r"bhyvelet: guest 'hello\.bin' from the boot module '[^']*hello\.bin', "
                    r"%d bytes: a boot sector" % size):
        return False, 'no "guest \'hello.bin\' from the boot module \'...hello.bin\', %d bytes: ' \
            'a boot sector" line' % size
    if not _message(res, r'\[hello\.bin/com1\] ' + re.escape(GUEST_MODULE_TEXT)):
        return False, 'no "[cpuN] [hello.bin/com1] %s" line' % GUEST_MODULE_TEXT
    if not _message(res, r"bhyvelet: guest 'hello\.bin' exited: verdict 0x0"):
        return False, "no \"guest 'hello.bin' exited: verdict 0x0\" line"
    if res.log.shutdown != '0' or not res.verdict.ok:
        return False, 'the kernel did not shut down with status 0: %s' % res.verdict.reason
    return _ended_early(res, 'the module ran as the guest and passed; run.py exited 0')


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

# panic_test=list prints one "# panic_test SUITE/NAME: TEXT" line per KTEST_PANIC test
# (tests/ktest.c: list_panic_tests), TEXT being what its panic must contain.
PANIC_LIST_RE = re.compile(r'^# panic_test (\w+)/(\w+): (.*)$')
PANIC_LIST_TIMEOUT = 60


def panic_cases_from_log(log):
    """[(suite, name, expected text)] from a panic_test=list boot's log, in its order."""
    cases = []
    for line in log.lines:
        m = PANIC_LIST_RE.match(line)
        if m and m.groups() not in cases:
            cases.append(m.groups())
    return cases


def list_panic_cases(a):
    """Boot once with panic_test=list. Returns (cases, passed, failed, lines to print)."""
    log_path = os.path.join(a.logdir, 'panic-test-list.log')
    try:
        res = run.run_kernel('qemu', 1, a.mem, 'panic_test=list', PANIC_LIST_TIMEOUT,
                             log_path, False, a.kernel)
    except Exception as e:  # noqa: BLE001 -- a broken host setup: one failure
        return [], 0, 1, ['FAIL panic_test=list: runner error: %s: %s'
                          % (type(e).__name__, e)]
    cases = panic_cases_from_log(res.log)
    head = '%s panic_test=list' % res.describe()
    if not res.ok:
        return [], 0, 1, ['FAIL %s: %s (%.1f s)' % (head, res.verdict.reason, res.elapsed)] + \
            ['    ' + l for l in run.failure_details(res)]
    if not cases:
        return [], 0, 1, ['FAIL %s: no "# panic_test S/N: text" lines in %s'
                          % (head, log_path)]
    return cases, 1, 0, ['PASS %s (%d KTEST_PANIC tests, %.1f s)'
                         % (head, len(cases), res.elapsed)]


def expectation_jobs(panic_cases):
    """The expectation cases; panic_cases from list_panic_cases."""
    jobs = [Job(name, platform, cpus, cmdline, fn, timeout)
            for name, platform, cpus, cmdline, fn, timeout in EXPECTATIONS]
    jobs.append(RunPyJob('expect-guest-module', 'qemu', 1,
                         ['--quiet', '--guest', os.path.relpath(GUEST_MODULE_IMAGE)],
                         expect_guest_module, 60))
    for platform, cpus in (('qemu', 1), ('qemu', 4), ('bochs-vmx', 2), ('bochs-svm', 2)):
        jobs.append(RunPyJob('expect-monitor', platform, cpus,
                             ['--quiet', '--guest', 'build/guest/mb/mb_input.elf',
                              '--guest-args', 'want=typed-on-com1',
                              '--serial-input', _mon_file('mon-input.txt', MON_INPUT),
                              '--serial-input-after', 'ready, type a line'],
                             expect_monitor, 300))
    jobs.append(RunPyJob('expect-monitor-final', 'qemu', 2,
                         ['--quiet', '--cmdline', 'suite=boot monitor=1',
                          '--serial-input', _mon_file('mon-final.txt', MON_FINAL_INPUT),
                          '--serial-input-after', 'the run is over'],
                         expect_monitor_final, 120))
    jobs.append(RunPyJob('expect-monitor-vm', 'qemu', 2,
                         ['--quiet', '--cmdline', 'guest=evspin',
                          '--serial-input', _mon_file('mon-vm.txt', MON_VM_INPUT),
                          '--serial-input-after', 'evspin: spinning'],
                         expect_monitor_vm, 120))
    jobs.append(RunPyJob('expect-monitor-ctxops', 'qemu', 2,
                         ['--quiet', '--cmdline', 'suite=vmm/fpu_guest_switches',
                          '--serial-input', _mon_file('mon-ctx.txt', MON_CTX_INPUT),
                          '--serial-input-after', '# suites:'],
                         expect_monitor_ctxops, 240))
    jobs.append(RunPyJob('expect-monitor-kmem', 'qemu', 2,
                         ['--quiet', '--cmdline',
                          'guest=hello monitor=1 mon_plant_leak=1 mon_plant_redzone=1',
                          '--serial-input', _mon_file('mon-kmem.txt', MON_KMEM_INPUT),
                          '--serial-input-after', 'the monitor has the console'],
                         expect_monitor_kmem, 120))
    jobs.append(RunPyJob('expect-trace-guest', 'qemu', 2,
                         ['--quiet', '--guest', 'build/guest/mb/mb_smp.elf', '--guest-cpus', '2',
                          '--guest-args', 'cpus=2', '--cmdline', 'trace=' + TRACE_PATTERNS],
                         expect_trace_guest, 120))
    # One host CPU: with two, the guest kernel panics ("spin_lock: recursive acquire of
    # callout": a timer interrupt nested inside its timer handler) every time; not found yet
    # (docs/vmm.md, "What is not there yet").
    jobs.append(RunPyJob('expect-nested-bhyvelet', 'qemu', 1,
                         ['--quiet', '--guest', 'build/kernel.elf', '--guest-cpus', '2',
                          '--guest-args', NESTED_ARGS], expect_nested_bhyvelet, 240))
    for suite, name, text in panic_cases:
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
    """Returns (passed, failed, skipped, lines to print)."""
    start = os.path.join(root, 'tests', 'host')
    if not os.path.isdir(start):
        return 0, 0, 0, []
    try:
        suite = unittest.TestLoader().discover(start, pattern='test*.py', top_level_dir=start)
    except Exception as e:  # noqa: BLE001 -- a broken test tree is one failure
        return 0, 1, 0, ['FAIL host unittests: cannot load tests/host: %s: %s'
                         % (type(e).__name__, e)]
    return run_test_suite(suite)


def run_test_suite(suite):
    """Run a unittest suite quietly: (passed, failed, skipped, lines to print)."""
    res = _CountingResult()
    out = io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = out   # tests that print should not garble our output
    try:
        suite.run(res)
    finally:
        sys.stdout, sys.stderr = saved
    passed = res.successes + len(res.expectedFailures)
    skipped = len(res.skipped)
    bad = [(t, tb) for t, tb in res.failures + res.errors] + \
        [(t, 'unexpected success') for t in res.unexpectedSuccesses]
    sk = ', %d skipped' % skipped if skipped else ''
    if not bad:
        if passed == 0:
            return 0, 1, skipped, ['FAIL host unittests: no tests passed in tests/host%s' % sk]
        return passed, 0, skipped, ['PASS host unittests (%d tests%s)' % (passed, sk)]
    lines = ['FAIL host unittests: %d of %d failed%s' % (len(bad), passed + len(bad), sk)]
    for t, tb in bad:
        tail = [l for l in tb.strip().split('\n') if l.strip()][-1:]
        lines.append('    FAIL %s: %s' % (t.id(), tail[0].strip() if tail else ''))
    return passed, len(bad), skipped, lines


# ---------------------------------------------------------------------------------------------
# Counting a run's TAP results.

# The backend each platform must have (run.resolve_platform's names); None: some backend,
# which one depends on the host (KVM with nested virtualization).
BACKEND_EXPECTED = {'qemu-tcg': 'SVM', 'qemu-grub': 'SVM', 'bochs-svm': 'SVM',
                    'bochs-vmx': 'VMX', 'qemu-kvm': None}
# Skip reasons (ktest_skip) that hold even where a backend is expected.
CPU_COUNT_SKIP_RE = re.compile(r'^needs \d+ CPUs\b')
OTHER_BACKEND_SKIP_RE = re.compile(r'^not the (\w+) backend\b')
# Emulator defects a test may skip for, only on the platform that has them
# (docs/platforms.md); the same skip elsewhere is a failure.
PLATFORM_DEFECT_SKIP = {
    'qemu-tcg': re.compile(r'^platform defect: .*\bQEMU TCG\b'),
    'qemu-grub': re.compile(r'^platform defect: .*\bQEMU TCG\b'),
    'bochs-svm': re.compile(r'^platform defect: .*\bBochs SVM\b'),
}


class Counts:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.lines = []     # one "    FAIL ..." line per skip counted as a failure


def skip_is_failure(test, platform):
    """A vmm test skipped where a backend must exist, for a reason other than the CPU count,
    being written for the other backend, or a defect of this platform's emulator
    (PLATFORM_DEFECT_SKIP): the backend was not found (or not used)."""
    if test.suite != 'vmm' or platform not in BACKEND_EXPECTED:
        return False
    if CPU_COUNT_SKIP_RE.match(test.reason):
        return False
    defect = PLATFORM_DEFECT_SKIP.get(platform)
    if defect and defect.match(test.reason):
        return False
    m = OTHER_BACKEND_SKIP_RE.match(test.reason)
    expected = BACKEND_EXPECTED[platform]
    return not (m and (expected is None or m.group(1).upper() != expected))


def tap_counts(log, platform):
    """A run's TAP results: passed (skips apart), failed, skipped."""
    c = Counts()
    for t in log.tests:
        if t.failed:
            c.failed += 1
        elif t.directive != 'SKIP':
            c.passed += 1
        elif skip_is_failure(t, platform):
            c.failed += 1
            c.lines.append('    FAIL %s skipped on %s, where a %s backend is expected: %s'
                           % (t.desc, platform, BACKEND_EXPECTED[platform] or 'VMX or SVM',
                              t.reason))
        else:
            c.skipped += 1
    return c


def summary_line(passed, failed, skipped):
    """check.py's last line."""
    return '%d passed, %d failed, %d skipped' % (passed, failed, skipped)


# ---------------------------------------------------------------------------------------------


class Checker:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.passed = 0
        self.failed = 0
        self.skipped = 0
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
            job.result = job.run(a, log_path)
        except Exception as e:  # a broken host setup: count the run as failed, keep going
            job.error = '%s: %s' % (type(e).__name__, e)
        self.account(job)

    def account(self, job):
        res = job.result
        if job.error:
            lines = ['FAIL %s: runner error: %s' % (job.name, job.error)]
            p, f, s = 0, 1, 0
        elif isinstance(job, MbCompareJob):
            lines, p, f, s = job.account_lines(res)
        elif job.expect:
            ok, why = job.expect(res)
            head = '%s %s %s %s' % ('PASS' if ok else 'FAIL', job.name, res.describe(),
                                    job.cmdline)
            if ok:
                lines = ['%s (%s, %.1f s)' % (head, why, res.elapsed)]
            else:
                lines = ['%s: %s (%.1f s)' % (head, why, res.elapsed)]
                lines += ['    ' + l for l in run.failure_details(res)]
            p, f, s = (1, 0, 0) if ok else (0, 1, 0)
        else:
            v = res.verdict
            c = tap_counts(res.log, res.platform)
            head = '%s %s' % (res.describe(), job.name)
            stats = '%s, %.1f s' % (tap.summary(res.log), res.elapsed)
            if v.ok and not c.failed:
                lines = ['PASS %s (%s)' % (head, stats)]
            elif v.ok:
                lines = ['FAIL %s: %d vmm test%s skipped (%s)'
                         % (head, c.failed, '' if c.failed == 1 else 's', stats)]
                lines += c.lines
            else:
                lines = ['FAIL %s: %s (%s)' % (head, v.reason, stats)]
                lines += ['    ' + l for l in run.failure_details(res)] + c.lines
            p, f, s = c.passed, c.failed, c.skipped
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
            self.skipped += s
            if f:
                self.failures += [l for l in lines if l.startswith('FAIL')]
        self.emit(lines)

    def trace_verdict(self, res):
        """tracecheck on a run's log: (lines, passed, failed), one counted result."""
        name = os.path.basename(res.log_path)
        try:
            tc = tracecheck.check_log(res.log_path, TRACE_ORDERS, TRACE_INNER,
                                      TRACE_VCPU_OWNER,
                                      trace_require(res.platform, res.cmdline))
        except Exception as e:  # noqa: BLE001
            return ['FAIL tracecheck %s: %s: %s' % (name, type(e).__name__, e)], 0, 1
        summary = tc.summary()[len('tracecheck: '):]
        if tc.ok:
            return ['PASS tracecheck %s: %s' % (name, summary)] + \
                ['    ' + n for n in tc.notes], 1, 0
        lines = ['FAIL tracecheck %s: %s' % (name, summary)]
        lines += ['    ' + n for n in tc.notes]
        if tc.violation_text:
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


def build_jobs(a, panic_cases=()):
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
    if wants_expectations(a):
        jobs += expectation_jobs(panic_cases)
    if not single:
        jobs += [MbCompareJob(p, t) for p, t in MB_COMPARE]
    return jobs


def wants_expectations(a):
    return not (a.platform or a.cpus or a.suite or a.mb_compare) or a.expect


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--platform', default='', choices=('',) + run.PLATFORMS + ('qemu-mttcg',),
                    help='run only this platform (with --cpus/--suite); qemu-mttcg is QEMU '
                         'TCG multi-threaded (run.py --mttcg)')
    ap.add_argument('--cpus', type=int, default=0, help='run only with this many CPUs')
    ap.add_argument('--suite', default='', help='run only this suite (or a,b,c)')
    ap.add_argument('--expect', action='store_true',
                    help='with --platform/--cpus/--suite: also run the expectation cases')
    ap.add_argument('--extra', default='', help='more kernel command-line words for every run')
    ap.add_argument('--jobs', type=int, default=2,
                    help='runs at once (default 2); Bochs runs never overlap each other')
    ap.add_argument('--logdir', default='build/logs', help='where serial logs are kept')
    ap.add_argument('--mb-compare', default='', choices=('',) + run.PLATFORMS,
                    help='run only the mb-compare job of this platform')
    ap.add_argument('--kernel', default='build/kernel.bin')
    ap.add_argument('--mem', type=int, default=run.DEFAULT_MEM)
    ap.add_argument('--timeout', type=float, default=None,
                    help='per-run timeout (default 480 s QEMU, 900 s Bochs)')
    a = ap.parse_args(argv)
    a.jobs = max(1, a.jobs)
    run.install_signal_handlers(interrupt=True)

    if not os.path.isfile(a.kernel):
        print('check: %s not found: build it first (make)' % a.kernel)
        print(summary_line(0, 1, 0))
        return 1
    os.makedirs(a.logdir, exist_ok=True)
    c = Checker(a)
    panic_cases, listed = [], []
    if wants_expectations(a):
        panic_cases, lp, lf, listed = list_panic_cases(a)
        c.passed += lp
        c.failed += lf
        if lf:
            c.failures.append(listed[0])
    jobs = build_jobs(a, panic_cases)
    if a.mb_compare:
        jobs = [MbCompareJob(a.mb_compare, dict(MB_COMPARE).get(a.mb_compare, 1200))]
    qplat, note = run.resolve_platform('qemu')
    print('check: %d runs, %d at a time; qemu is %s (%s); logs in %s'
          % (len(jobs), a.jobs, qplat, note, a.logdir), flush=True)
    c.emit(listed)
    hp, hf, hs, hlines = run_host_tests()
    c.passed += hp
    c.failed += hf
    c.skipped += hs
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
    print(summary_line(c.passed, c.failed, c.skipped), flush=True)
    return 0 if c.failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
