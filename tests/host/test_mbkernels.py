"""Host tests: the multiboot test kernels (guest/mb/) under plain QEMU, the reference.

  python3 -m unittest tests/host/test_mbkernels.py -v      (after `make guests`)

Every run in guest/mb/kernels.py RUNS: a passing run must end with QEMU status 1, print at least
one `ok - ` line and no `FAIL - ` line, and print the same lines when run a second time (the
output is compared with bhyvelet's, so it may hold nothing that varies); a negative run (status 3)
must print a FAIL line and end with status 3. Skipped without qemu-system-x86_64 or the kernel.
"""

import os
import shutil
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                'scripts'))
import plainqemu  # noqa: E402
import kernels  # noqa: E402  (plainqemu put guest/mb on the path)


class MbKernels(unittest.TestCase):
    def run_entry(self, name):
        run = kernels.RUNS[name]
        if shutil.which(plainqemu.QEMU) is None:
            self.skipTest('no %s' % plainqemu.QEMU)
        if not os.path.exists(plainqemu.kernel_path(run['kernel'])):
            self.skipTest('no %s (make guests)' % plainqemu.kernel_path(run['kernel']))
        lines, status = plainqemu.run_mb(name)
        text = '\n'.join(lines)
        self.assertEqual(status, run['status'], '%s: QEMU status %d\n%s' % (name, status, text))
        fails = [l for l in lines if l.startswith('FAIL - ')]
        if run['status'] == kernels.PASS:
            self.assertEqual(fails, [], '%s:\n%s' % (name, text))
            self.assertTrue(any(l.startswith('ok - ') for l in lines), '%s:\n%s' % (name, text))
            again, status2 = plainqemu.run_mb(name)
            self.assertEqual(status2, status, name)
            self.assertEqual(again, lines, '%s: the output differs between two runs' % name)
        else:
            self.assertNotEqual(fails, [], '%s: a negative run printed no FAIL line\n%s' % (
                name, text))

    def test_every_kernel_has_a_run(self):
        built = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'guest',
                             'mb')
        names = sorted(f[:-2] for f in os.listdir(built) if f.endswith('.c'))
        ran = {r['kernel'] for r in kernels.RUNS.values()
               if r['status'] == kernels.PASS}
        self.assertEqual([n for n in names if n not in ran], [])


def _add(name):
    setattr(MbKernels, 'test_' + name.replace('-', '_'), lambda self: self.run_entry(name))


for _name in kernels.RUNS:
    _add(_name)

if __name__ == '__main__':
    unittest.main()
