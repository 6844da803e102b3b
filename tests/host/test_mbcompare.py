"""Host unit tests for scripts/mbcompare.py: splitting a guest=batch boot's log by run and judging
each run against a plain-QEMU reference, on synthetic logs (no emulator runs).

  python3 -m unittest tests/host/test_mbcompare.py -v
"""

import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                'scripts'))
import mbcompare  # noqa: E402
import tap  # noqa: E402

LOG = """[cpu0] bhyvelet booting
[cpu0] bhyvelet: guest 'mb_uart' from the boot module '/x/mb_uart.elf', 1 bytes: a multiboot kernel
[cpu0] [mb_uart/com1] mb_uart: the 16550A
[cpu0] [mb_uart/com1] ok - scratch holds 0x5a
[cpu0] bhyvelet: guest 'mb_uart' exited: debug-exit status=1
[cpu0] [mb_vga/com1] ok - row 2, attribute 0x4e, reads back: yellow text
[cpu0] [mb_vga/vga] 02|yellow text|
[cpu0] bhyvelet: guest 'mb_vga' exited: debug-exit status=1
[cpu1] [mb_msr-cpu/com1] ok - rdmsr of a reserved MSR raises #GP(0)
[cpu1] bhyvelet: guest 'mb_msr-cpu' exited: debug-exit status=1
# bhyvelet: shutdown status=0
"""


class Split(unittest.TestCase):
    def test_lines_and_ends_by_run(self):
        got = mbcompare.split_log(tap.parse_text(LOG))
        self.assertEqual(got['mb_uart']['lines'], ['mb_uart: the 16550A',
                                                   'ok - scratch holds 0x5a'])
        self.assertEqual(got['mb_uart']['how'], 'debug-exit status=1')
        self.assertEqual(got['mb_vga']['vga'], {2: 'yellow text'})

    def test_status_of(self):
        self.assertEqual(mbcompare.status_of('debug-exit status=3'), 3)
        self.assertEqual(mbcompare.status_of('debug-exit status=257'), 1)   # 8 bits, as QEMU's
        self.assertEqual(mbcompare.status_of('halted'), 0)
        self.assertIsNone(mbcompare.status_of(None))


class Compare(unittest.TestCase):
    def got(self):
        return mbcompare.split_log(tap.parse_text(LOG))

    def test_same_lines_and_status_pass(self):
        ref = (['mb_uart: the 16550A', 'ok - scratch holds 0x5a'], 1)
        self.assertEqual(mbcompare.compare('mb_uart', self.got()['mb_uart'], ref)[0], 'pass')

    def test_a_different_line_fails(self):
        ref = (['mb_uart: the 16550A', 'ok - scratch holds 0x5b'], 1)
        verdict, why = mbcompare.compare('mb_uart', self.got()['mb_uart'], ref)
        self.assertEqual(verdict, 'fail')
        self.assertIn('line 2', why)

    def test_a_different_status_fails(self):
        ref = (['mb_uart: the 16550A', 'ok - scratch holds 0x5a'], 3)
        self.assertEqual(mbcompare.compare('mb_uart', self.got()['mb_uart'], ref)[0], 'fail')

    def test_a_run_that_never_ended_fails(self):
        self.assertEqual(mbcompare.compare('mb_uart', None, ([], 1))[0], 'fail')

    def test_the_vga_row_must_be_on_the_host(self):
        got = self.got()['mb_vga']
        ref = (got['lines'], 1)
        self.assertEqual(mbcompare.compare('mb_vga', got, ref)[0], 'pass')
        got['vga'] = {2: 'something else'}
        verdict, why = mbcompare.compare('mb_vga', got, ref)
        self.assertEqual(verdict, 'fail')
        self.assertIn('VGA row 2', why)

    def test_a_cpu_model_run_needs_status_1(self):
        got = self.got()['mb_msr-cpu']
        self.assertEqual(mbcompare.compare('mb_msr-cpu', got, None)[0], 'pass')
        got['how'] = 'debug-exit status=3'
        self.assertEqual(mbcompare.compare('mb_msr-cpu', got, None)[0], 'fail')

    def test_a_pending_run_is_skipped_not_failed(self):
        mbcompare.PENDING['mb_uart'] = 'not yet'
        try:
            verdict, why = mbcompare.compare('mb_uart', self.got()['mb_uart'], (['x'], 1))
        finally:
            del mbcompare.PENDING['mb_uart']
        self.assertEqual(verdict, 'pending')
        self.assertIn('not yet', why)

    def test_input_runs_boot_alone(self):
        self.assertNotIn('mb_input', mbcompare.bhyvelet_runs())
        self.assertIn('mb_input', mbcompare.input_runs('qemu-tcg'))
        self.assertIn('mb_input', mbcompare.input_runs('bochs-vmx'))

    def test_tcg_model_runs_are_not_run(self):
        self.assertNotIn('mb_msr', mbcompare.bhyvelet_runs())
        self.assertIn('mb_msr-cpu', mbcompare.bhyvelet_runs())


if __name__ == '__main__':
    unittest.main()
