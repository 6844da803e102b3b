"""Host unit tests for scripts/tap.py: TAP parsing and judging of synthetic serial logs.

  python3 -m unittest discover -s tests/host -v
"""

import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                'scripts'))
import tap  # noqa: E402

BOOT = '[cpu0] bhyvelet booting\r\n[cpu0] cmdline: suite=boot platform=qemu-tcg\r\n'
SHUTDOWN = '# bhyvelet: shutdown status=%s\r\n'

# What kern/panic.c prints: a newline, then the panic line at the start of a line.
PANIC = ('\npanic[cpu1]/thread=0xffff800000134180 (test:x): assertion failed: a == b\n'
         'rax=0000000000000000 rbx=0000000000000000 rcx=0000000000000000 rdx=0\n'
         'backtrace:\n'
         '  #0 0xffffffff80101234 panic+0x1c\n'
         '  #1 0xffffffff80105678 ktest_x+0x20\n' + SHUTDOWN % 'panic')


def parse(text):
    return tap.parse_text(text)


class Parsing(unittest.TestCase):
    def test_ok_not_ok_skip_todo_plan(self):
        log = parse(BOOT + 'TAP version 13\n# suites: boot\n'
                    'ok 1 - boot/a\n'
                    'not ok 2 - boot/b: it broke (tests/boot_test.c:12)\n'
                    'ok 3 - boot/c # SKIP needs 2 CPUs\n'
                    'not ok 4 - boot/d # TODO later\n'
                    '1..4\n' + SHUTDOWN % '1')
        self.assertEqual([t.num for t in log.tests], [1, 2, 3, 4])
        self.assertEqual([t.desc for t in log.passed], ['boot/a', 'boot/c', 'boot/d'])
        self.assertEqual([t.desc for t in log.failed], ['boot/b: it broke (tests/boot_test.c:12)'])
        self.assertEqual([(t.desc, t.reason) for t in log.skipped], [('boot/c', 'needs 2 CPUs')])
        self.assertEqual(log.tests[0].suite, 'boot')
        self.assertEqual(log.plan, 4)
        self.assertEqual(log.shutdown, '1')
        self.assertIsNone(tap.plan_problem(log))
        v = tap.judge(log)
        self.assertEqual((v.ok, v.kind), (False, 'not_ok'))

    def test_clean_run_passes(self):
        log = parse(BOOT + 'TAP version 13\nok 1 - boot/a\nok 2 - boot/b\n1..2\n'
                    + SHUTDOWN % '0')
        self.assertEqual(tap.judge(log).kind, 'pass')
        self.assertEqual(tap.summary(log), '2 tests')

    def test_plan_mismatch(self):
        log = parse('ok 1 - boot/a\nok 3 - boot/b\n1..2\n' + SHUTDOWN % '0')
        self.assertEqual(tap.plan_problem(log), 'test 2 is numbered 3')
        self.assertEqual(tap.judge(log).kind, 'plan')

    def test_no_shutdown_line_is_a_hang(self):
        log = parse(BOOT + 'ok 1 - boot/a\n')
        self.assertEqual(tap.judge(log).kind, 'hang')
        self.assertEqual(tap.judge(log, timed_out=True, timeout=60).kind, 'timeout')

    def test_bail_out(self):
        log = parse(BOOT + 'Bail out! unknown switch frobnicate\n' + SHUTDOWN % '1')
        v = tap.judge(log)
        self.assertEqual((v.kind, v.reason), ('bail', 'bail out: unknown switch frobnicate'))

    def test_trace_dump_lines_are_not_tap(self):
        log = parse('# trace begin: cpus=1 records=1 dropped=0\n'
                    '  0  5  ok:probe  1  0xffff800000134180\n'
                    '# trace end: dropped=0\nok 1 - trace/a\n1..1\n' + SHUTDOWN % '0')
        self.assertEqual(log.trace_dumps, 1)
        self.assertEqual([t.desc for t in log.tests], ['trace/a'])

    def test_bench_lines(self):
        log = parse('# bench: ctx_switch value=1234 unit=ns\n' + SHUTDOWN % '0')
        self.assertEqual(log.bench, [('ctx_switch', '1234', 'ns')])


class Messages(unittest.TestCase):
    """Kernel message lines (cmn_err): "[cpuN] text" or "[cpuN] WARNING: text"."""

    LOG = ('[cpu0] bhyvelet booting\n'
           '[cpu0] mp: 2 CPUs up\n'
           'TAP version 13\n'
           '[cpu1] [hello/vcpu0] Hello from a bhyvelet guest (real mode)\n'
           '[cpu1] WARNING: kmem leak: kmem_alloc_64 buf=0x1000 size=64 caller=f+0x1\n'
           'ok 1 - vmm/hello\n'
           '1..1\n' + SHUTDOWN % '0')

    def test_messages_carry_their_cpu(self):
        log = parse(self.LOG)
        self.assertEqual([(m.cpu, m.warning, m.text) for m in log.messages], [
            (0, False, 'bhyvelet booting'),
            (0, False, 'mp: 2 CPUs up'),
            (1, False, '[hello/vcpu0] Hello from a bhyvelet guest (real mode)'),
            (1, True, 'kmem leak: kmem_alloc_64 buf=0x1000 size=64 caller=f+0x1')])
        self.assertEqual(log.message_texts(), [m.text for m in log.messages])

    def test_tap_lines_stay_unprefixed_and_parse(self):
        log = parse(self.LOG)
        self.assertEqual([t.desc for t in log.tests], ['vmm/hello'])
        self.assertEqual(tap.judge(log).kind, 'pass')

    def test_a_prefixed_tap_line_is_not_tap(self):
        log = parse('[cpu0] ok 1 - fake\n1..0\n' + SHUTDOWN % '0')
        self.assertEqual(log.tests, [])


class Panics(unittest.TestCase):
    def test_kernel_panic_is_detected(self):
        log = parse(BOOT + 'TAP version 13\nok 1 - boot/a' + PANIC)
        self.assertIsNotNone(log.panic_index)
        self.assertTrue(log.panic_line.startswith('panic[cpu1]/thread='))
        self.assertTrue(log.has_backtrace_symbol())
        v = tap.judge(log)
        self.assertEqual(v.kind, 'panic')
        self.assertIn('assertion failed: a == b', v.reason)

    def test_panic_inside_a_trace_dump_is_detected(self):
        log = parse('# trace begin: cpus=1 records=9 dropped=0\n'
                    '  0  5  probe:x  1  0xffff800000134180' + PANIC)
        self.assertEqual(tap.judge(log).kind, 'panic')

    def test_guest_text_holding_panic_cpu_is_not_a_panic(self):
        log = parse(BOOT + 'TAP version 13\n'
                    '[cpu1] [hello/vcpu0] panic[cpu0]/thread=0x0 (x): fake\n'
                    '[cpu0] [stress/vcpu1] guest says panic[cpu3] here\n'
                    '[hello/vcpu0] panic[cpu0]/thread=0x0 (x): unprefixed\n'
                    'ok 1 - vmm/hello\n1..1\n' + SHUTDOWN % '0')
        self.assertIsNone(log.panic_index)
        self.assertEqual(tap.judge(log).kind, 'pass')

    def test_comment_mentioning_a_panic_is_not_a_panic(self):
        log = parse('# expecting panic: panic[cpu0] text\nok 1 - a/b\n1..1\n' + SHUTDOWN % '0')
        self.assertIsNone(log.panic_index)


if __name__ == '__main__':
    unittest.main()
