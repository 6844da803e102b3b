"""Host unit tests for scripts/check.py: how results are counted, on synthetic serial logs.

  python3 -m unittest discover -s tests/host -v
"""

import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                'scripts'))
import check  # noqa: E402
import tap  # noqa: E402


def tap_log(*tests):
    lines = ['TAP version 13'] + list(tests)
    lines += ['1..%d' % len(tests), '# bhyvelet: shutdown status=0']
    return tap.parse_text('\n'.join(lines) + '\n')


class SkipCounting(unittest.TestCase):
    def test_skips_are_counted_apart_from_passes(self):
        log = tap_log('ok 1 - boot/a', 'ok 2 - trace/b # SKIP needs 2 CPUs to migrate',
                      'not ok 3 - boot/c: broken')
        c = check.tap_counts(log, 'qemu-tcg')
        self.assertEqual((c.passed, c.failed, c.skipped), (1, 1, 1))

    def test_vmm_skip_without_backend_fails_where_a_backend_is_expected(self):
        for platform in ('qemu-tcg', 'bochs-vmx', 'bochs-svm'):
            log = tap_log('ok 1 - vmm/hello # SKIP no virtualization backend on this CPU')
            c = check.tap_counts(log, platform)
            self.assertEqual((c.passed, c.failed, c.skipped), (0, 1, 0), platform)
            self.assertTrue(any('vmm/hello' in l for l in c.lines), c.lines)

    def test_vmm_skip_for_the_other_backend_is_a_skip(self):
        log = tap_log('ok 1 - vmm/svm_clean_bits # SKIP not the SVM backend')
        c = check.tap_counts(log, 'bochs-vmx')
        self.assertEqual((c.passed, c.failed, c.skipped), (0, 0, 1))
        c = check.tap_counts(log, 'bochs-svm')   # SVM is expected there: a failure
        self.assertEqual((c.passed, c.failed, c.skipped), (0, 1, 0))

    def test_vmm_skip_for_too_few_cpus_is_a_skip(self):
        log = tap_log('ok 1 - vmm/migrate # SKIP needs 2 CPUs')
        c = check.tap_counts(log, 'qemu-tcg')
        self.assertEqual((c.passed, c.failed, c.skipped), (0, 0, 1))

    def test_non_vmm_skip_is_a_skip_everywhere(self):
        log = tap_log('ok 1 - trace/migrate # SKIP needs 2 CPUs to migrate')
        for platform in ('qemu-tcg', 'bochs-vmx'):
            c = check.tap_counts(log, platform)
            self.assertEqual((c.passed, c.failed, c.skipped), (0, 0, 1), platform)

    def test_summary_line(self):
        self.assertEqual(check.summary_line(5, 1, 2), '5 passed, 1 failed, 2 skipped')


PANIC_LIST_LOG = """[cpu0] bhyvelet booting
[cpu0] cmdline: panic_test=list platform=qemu-tcg
TAP version 13
# panic_test ctx/misuse_double_attach: already attached
# panic_test vmm/destroy_while_running: is inside vm_run
# panic_test ctx/misuse_colon: text: with a colon
# 3 panic tests
1..0
# bhyvelet: shutdown status=0
"""


class PanicList(unittest.TestCase):
    def test_cases_come_from_the_kernels_list(self):
        cases = check.panic_cases_from_log(tap.parse_text(PANIC_LIST_LOG))
        self.assertEqual(cases, [('ctx', 'misuse_double_attach', 'already attached'),
                                 ('vmm', 'destroy_while_running', 'is inside vm_run'),
                                 ('ctx', 'misuse_colon', 'text: with a colon')])

    def test_guest_text_is_not_a_list_entry(self):
        log = tap.parse_text(PANIC_LIST_LOG.replace(
            '# 3 panic', '[cpu0] [hello/vcpu0] # panic_test x/y: z\n# 3 panic'))
        self.assertEqual(len(check.panic_cases_from_log(log)), 3)

    def test_one_expect_panic_job_per_listed_case(self):
        jobs = check.expectation_jobs([('ctx', 'misuse_double_attach', 'already attached')])
        panic_jobs = [j for j in jobs if j.name.startswith('expect-panic ')]
        self.assertEqual([(j.name, j.cmdline) for j in panic_jobs],
                         [('expect-panic ctx/misuse_double_attach',
                           'panic_test=ctx/misuse_double_attach')])

    def test_no_c_parsing_left(self):
        self.assertFalse(hasattr(check, 'ktest_panic_cases'))


GUEST_LOG = """[cpu0] bhyvelet booting
[cpu0] cmdline: /work/wD/build/kernel.bin guest=module platform=qemu-tcg
[cpu0] bhyvelet: guest 'hello.bin' from the boot module '/work/wD/build/guest/hello.bin', %d bytes: a boot sector
[cpu0] bhyvelet: running guest 'hello.bin' on svm (vCPU thread main)
[cpu0] [hello.bin/com1] Hello from a bhyvelet guest (real mode)
[cpu0] bhyvelet: guest 'hello.bin' exited: verdict 0x0
[cpu0] bhyvelet: vcpu0: 84 exits: VMEXIT_NPF=1 VMEXIT_INOUT=83 VMEXIT_TOTAL=84
# bhyvelet: shutdown status=0
"""


class GuestModule(unittest.TestCase):
    def result(self, text, rc=0, out='PASS qemu-tcg cpus=1 (shutdown status=0, 0.4 s)'):
        res = check.run.RunResult()
        res.platform, res.cpus, res.timeout, res.elapsed = 'qemu-tcg', 1, 60.0, 0.4
        res.log = tap.parse_text(text)
        res.verdict = tap.judge_notap(res.log)
        res.runner_rc, res.runner_output = rc, out.split('\n')
        return res

    def size(self):
        return os.path.getsize(check.GUEST_MODULE_IMAGE) if \
            os.path.exists(check.GUEST_MODULE_IMAGE) else 298

    def test_the_job_runs_run_py_with_guest(self):
        jobs = [j for j in check.expectation_jobs([]) if j.name == 'expect-guest-module']
        self.assertEqual(len(jobs), 1)
        argv = jobs[0].argv('build/logs/x.log')
        self.assertTrue(argv[1].endswith('scripts/run.py'), argv)
        self.assertIn('--guest', argv)
        self.assertTrue(argv[argv.index('--guest') + 1].endswith('build/guest/hello.bin'))
        self.assertEqual(argv[argv.index('--platform') + 1], 'qemu')

    def test_a_good_run_passes(self):
        ok, why = check.expect_guest_module(self.result(GUEST_LOG % self.size()))
        self.assertTrue(ok, why)

    def test_run_py_failing_fails(self):
        ok, why = check.expect_guest_module(self.result(GUEST_LOG % self.size(), rc=1))
        self.assertFalse(ok)
        self.assertIn('status 1', why)

    def test_missing_guest_line_fails(self):
        text = (GUEST_LOG % self.size()).replace('Hello from', 'Goodbye from')
        ok, why = check.expect_guest_module(self.result(text))
        self.assertFalse(ok)
        self.assertIn('Hello from a bhyvelet guest', why)

    def test_wrong_size_fails(self):
        ok, why = check.expect_guest_module(self.result(GUEST_LOG % (self.size() + 1)))
        self.assertFalse(ok, why)

    def test_guest_line_must_be_a_kernel_message(self):
        text = (GUEST_LOG % self.size()).replace('[cpu0] [hello.bin/com1]', 'x [hello.bin/com1]')
        ok, why = check.expect_guest_module(self.result(text))
        self.assertFalse(ok, why)

    def test_failed_verdict_fails(self):
        text = (GUEST_LOG % self.size()).replace('verdict 0x0', 'verdict 0x1').replace(
            'status=0', 'status=1')
        ok, why = check.expect_guest_module(self.result(text, rc=1))
        self.assertFalse(ok)


class HostTestCounting(unittest.TestCase):
    def test_host_skips_are_not_passes(self):
        class T(unittest.TestCase):
            def test_ok(self):
                pass

            @unittest.skip('not here')
            def test_skipped(self):
                pass

        suite = unittest.TestSuite([T('test_ok'), T('test_skipped')])
        p, f, s, lines = check.run_test_suite(suite)
        self.assertEqual((p, f, s), (1, 0, 1), lines)


if __name__ == '__main__':
    unittest.main()


class TraceRequire(unittest.TestCase):
    """Which tracecheck rules must have checked something, and that a run missing one fails."""

    def test_rules_by_platform_and_suite(self):
        self.assertEqual(check.trace_require('qemu-tcg', 'suite=all platform=qemu-tcg'),
                         ['stack', 'order', 'inner', 'asid'])
        self.assertEqual(check.trace_require('bochs-vmx', 'suite=vmm'),
                         ['stack', 'order', 'inner'])
        self.assertEqual(check.trace_require('qemu-tcg', 'suite=ctx hz=1000'), ['stack'])
        self.assertEqual(check.trace_require('qemu-kvm', 'suite=all'), ['stack'])

    def test_a_required_rule_that_checked_nothing_fails(self):
        # A ctx-only dump: one thread's FPU node saved and restored, no vCPU records.
        lines = ['# trace begin: 4 records',
                 'CPU     ID                    FUNCTION:NAME',
                 '  0   1   savectx:entry seq=1 thread=a nodes=1',
                 '  0   2   ctxop:save seq=2 thread=a op=fpu_ctx_save',
                 '  0   3   savectx:return seq=3 thread=a',
                 '# trace end']
        tc = check.tracecheck.check_lines(lines, check.TRACE_ORDERS, check.TRACE_INNER, True,
                                          check.trace_require('qemu-tcg', 'suite=all'))
        self.assertEqual(tc.status, 'unchecked')
        self.assertIn('order', tc.unchecked)


class PlatformDefectSkip(unittest.TestCase):
    def test_defect_skip_only_on_its_platform(self):
        log = tap_log('ok 1 - vmm/a # SKIP platform defect: no shadow (QEMU TCG; docs)')
        self.assertEqual(check.tap_counts(log, 'qemu-tcg').failed, 0)
        self.assertEqual(check.tap_counts(log, 'bochs-svm').failed, 1)
