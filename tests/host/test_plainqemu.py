"""Host tests: the event-injection guests under plain QEMU (SeaBIOS, floppy), the reference.

  python3 -m unittest tests/host/test_plainqemu.py -v      (after `make guests`)

Each guest must exit 0 through isa-debug-exit and print its expected lines; halt and spin must still
be running at the timeout. Skipped without qemu-system-x86_64 or without the images.
"""

import os
import shutil
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                'scripts'))
import plainqemu  # noqa: E402

DOTS = lambda s: s + ' ' + '.' * (62 - len(s) - 1)  # noqa: E731  (stringio's 64-byte lines)

EXPECT = {
    'hello': ['Hello from a bhyvelet guest (real mode)'],
    'longmode': ['real mode', 'protected mode', 'long mode', 'reached long mode'],
    'pitpic': ['pitpic: PIT channel 2 delay ok', 'pitpic: IRQ0 pending in the IRR with IF=0',
               'pitpic: 20 ticks'],
    'exc16': ['exc16: #DE (div by 0) ok', 'exc16: #UD (ud2) ok', 'exc16: #BP (int3) ok',
              'exc16: #OF (into) ok', 'exc16: #BR (bound) ok', 'exc16: all exceptions ok'],
    'exc32': ['exc32: #DE (div by 0) ok', 'exc32: #UD (ud2) ok', 'exc32: #BP (int3) ok',
              'exc32: #GP(0x80) (mov ds, bad selector) ok',
              'exc32: #NP(0x28) (mov ds, not-present segment) ok',
              'exc32: #PF(2) (write to a not-present page) ok',
              'exc32: #PF(0) (read from a not-present page) ok', 'exc32: all exceptions ok'],
    'exc64': ['exc64: #DE (div by 0) ok', 'exc64: #UD (ud2) ok', 'exc64: #BP (int3) ok',
              'exc64: #GP(0) (non-canonical address) ok',
              'exc64: #GP(0x80) (mov ds, bad selector) ok',
              'exc64: #NP(0x28) (mov ds, not-present segment) ok',
              'exc64: #PF(2) (write to an unmapped page) ok',
              'exc64: #PF(0) (read from an unmapped page) ok', 'exc64: all exceptions ok'],
    'stishadow': ['stishadow: sti; cli does not take the pending IRQ0 ok',
                  'stishadow: sti; inc bx: IRQ0 taken after one instruction ok',
                  'stishadow: sti; hlt: IRQ0 wakes the hlt, return IP after it ok'],
    'reinject': ['reinject: #UD through an unmapped IDT page and stack ok',
                 'reinject: #GP(0x80) through an unmapped IDT page and stack ok',
                 'reinject: IRQ0 through an unmapped IDT page and stack ok',
                 'reinject: all events delivered once'],
    'udvirt': ['udvirt: %s #UD ok (%d bytes)' % (n, l) for n, l in (
        ('VMRUN', 3), ('VMLOAD', 3), ('VMSAVE', 3), ('STGI', 3), ('CLGI', 3), ('SKINIT', 3),
        ('INVLPGA', 3), ('VMXON', 4), ('VMCLEAR', 4), ('VMPTRLD', 3), ('VMPTRST', 3),
        ('VMREAD', 3), ('VMWRITE', 3), ('VMLAUNCH', 3), ('VMRESUME', 3), ('VMXOFF', 3),
        ('INVEPT', 5), ('INVVPID', 5))] + ['udvirt: all 18 instructions raise #UD'],
    'stringio': [line for bits in (16, 32, 64) for line in (
        'stringio: %d-bit' % bits, DOTS('stringio: rep outsb, DF=0'),
        DOTS('stringio: rep outsb, DF=1'), DOTS('stringio: rep outsb, fs override'),
        'stringio: rep outsw', 'stringio: %d-bit ok' % bits)],
}

# Guests whose exit under plain QEMU differs from hardware semantics.
KNOWN_QEMU_TCG = {
    'msrgp': 'QEMU 7.2 TCG reads unknown MSRs as 0 and ignores writes: no #GP',
}


def have(name):
    return shutil.which(plainqemu.QEMU) is not None and \
        os.path.exists(plainqemu.image_path(name))


class PlainQemu(unittest.TestCase):
    def check_guest(self, name):
        if not have(name):
            self.skipTest('no %s or no %s' % (plainqemu.QEMU, plainqemu.image_path(name)))
        code, serial, what = plainqemu.run(name, timeout=30)
        lines = serial.splitlines()
        self.assertEqual(code, 0, '%s: %s\n%s' % (name, what, serial))
        at = 0                                  # the expected lines, in order
        for want in EXPECT[name]:
            self.assertIn(want, lines[at:], '%s: no %r (in order) in\n%s' % (name, want, serial))
            at = lines.index(want, at) + 1

    def test_halt_and_spin_keep_running(self):
        for name, line in (('halt', 'halt: cli; hlt with interrupts disabled'),
                           ('spin', 'spin: computing forever')):
            if not have(name):
                self.skipTest('no %s or no image' % plainqemu.QEMU)
            code, serial, what = plainqemu.run(name, timeout=3)
            self.assertEqual(code, plainqemu.TIMEOUT, '%s: %s' % (name, what))
            self.assertEqual(serial.splitlines(), [line])

    def test_msrgp(self):
        if not have('msrgp'):
            self.skipTest('no %s or no image' % plainqemu.QEMU)
        code, serial, what = plainqemu.run('msrgp', timeout=30)
        if code == 0x51 and 'rdmsr 0x12345678 #GP(0) FAILED: count 0x00000000' in serial:
            self.skipTest(KNOWN_QEMU_TCG['msrgp'])
        self.assertEqual(code, 0, '%s\n%s' % (what, serial))


def _add(name):
    setattr(PlainQemu, 'test_' + name, lambda self: self.check_guest(name))


for _name in EXPECT:
    _add(_name)

if __name__ == '__main__':
    unittest.main()
