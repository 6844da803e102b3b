"""Host unit tests for scripts/checkmon.py: each expectation fails on a log that lacks what it
checks, and the VM one passes on a log shaped as the kernel prints it.

  python3 -m unittest tests/host/test_checkmon.py -v
"""

import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                'scripts'))
import checkmon  # noqa: E402
import run  # noqa: E402
import tap  # noqa: E402

VM_LOG = """[cpu0] bhyvelet booting
# mon: the monitor has the console (::help; ::continue gives it back)
# mon> ::pause evspin
evspin: paused (::regs shows its vCPUs)
# mon> ::vcpus
VCPU                         STATE     THREAD             THREAD_NAME      CPU LAST_EXIT         EXITS
evspin/vcpu0                 paused    0xffff8000001d62c0 main               0 intr                 45
# mon> ::vcpus
VCPU                         STATE     THREAD             THREAD_NAME      CPU LAST_EXIT         EXITS
evspin/vcpu0                 paused    0xffff8000001d62c0 main               0 intr                 45
# mon> ::regs evspin/vcpu0
  r15          0x0000000000000000  rip          0x0000000000007e1c  rflags       0x0000000000000202
  cs    sel 0x0000 base 0x0000000000000000 limit 0x0000ffff attr 0x09b
# mon> ::dump evspin 0x7c00 32
00007c00  e9 e9 00 52 50 ba fd 03 ec a8 20 74 fb 58 ba f8  |...RP..... t.X..|
mon: 0x7fffff0+0x40 is outside evspin's 2 MiB
mon: no vCPU named 'nosuch/vcpu0' (::vcpus lists them)
# mon> ::vcpus
evspin/vcpu0                 vm_run    0xffff8000001d62c0 main               0 intr                 46
[cpu0] bhyvelet: guest 'evspin' exited: stopped: killed from the monitor
# bhyvelet: shutdown status=1
"""


def result(text, cpus=2, rc=1):
    res = run.RunResult()
    res.platform, res.cpus, res.timeout, res.elapsed = 'qemu-tcg', cpus, 120.0, 1.0
    res.log = tap.parse_text(text)
    res.verdict = tap.judge_notap(res.log)
    res.runner_rc, res.runner_output = rc, []
    res.log_path = '/nonexistent.log'
    return res


class MonitorVm(unittest.TestCase):
    def test_a_good_log_passes(self):
        ok, why = checkmon.expect_monitor_vm(result(VM_LOG))
        self.assertTrue(ok, why)

    def test_exits_going_on_while_paused_fail(self):
        text = VM_LOG.replace('0 intr                 45\n# mon> ::regs',
                              '0 intr                 47\n# mon> ::regs')
        ok, why = checkmon.expect_monitor_vm(result(text))
        self.assertFalse(ok)
        self.assertIn('went on while paused', why)

    def test_a_kill_without_its_reason_fails(self):
        text = VM_LOG.replace('killed from the monitor', 'triple fault')
        ok, why = checkmon.expect_monitor_vm(result(text))
        self.assertFalse(ok)
        self.assertIn('killed from the monitor', why)

    def test_a_dump_past_ram_not_refused_fails(self):
        text = VM_LOG.replace("is outside evspin's 2 MiB", 'ok')
        self.assertFalse(checkmon.expect_monitor_vm(result(text))[0])


class Others(unittest.TestCase):
    def test_no_break_in_fails_the_monitor_run(self):
        ok, why = checkmon.expect_monitor(result('# bhyvelet: shutdown status=0\n'))
        self.assertFalse(ok)
        self.assertIn('break-in', why)

    def test_the_final_monitor_needs_its_line(self):
        ok, why = checkmon.expect_monitor_final(result('# bhyvelet: shutdown status=0\n'))
        self.assertFalse(ok)
        self.assertIn('run is over', why)

    def test_kmem_needs_the_planted_redzone(self):
        ok, why = checkmon.expect_monitor_kmem(result('kmem_verify: 0 corrupt buffers\n'))
        self.assertFalse(ok)
        self.assertIn('redzone', why)

    def test_ctxops_needs_the_ring_order(self):
        text = ('(thread fpu, newest first)\n  [0] ctxop 0x1 {\n      save_op = fpu_ctx_save\n'
                '# bhyvelet: shutdown status=0\n')
        ok, why = checkmon.expect_monitor_ctxops(result(text))
        self.assertFalse(ok)
        self.assertIn('vmm_savectx', why)

    def test_trace_needs_a_dump(self):
        ok, why = checkmon.expect_trace_guest(result('# bhyvelet: shutdown status=0\n'))
        self.assertFalse(ok)
        self.assertIn('no trace dump', why)

    def test_nested_needs_status_1(self):
        ok, why = checkmon.expect_nested_bhyvelet(result('# bhyvelet: shutdown status=0\n',
                                                         rc=7))
        self.assertFalse(ok)
        self.assertIn('exited 7', why)


if __name__ == '__main__':
    unittest.main()
