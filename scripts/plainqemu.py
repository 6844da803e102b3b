#!/usr/bin/env python3
"""Boot one guest under plain QEMU (SeaBIOS, floppy), the reference the hypervisor is compared to.

  python3 scripts/plainqemu.py NAME|IMAGE [--timeout S] [--accel tcg|kvm] [--quiet]

NAME is a guest (build/guest/NAME.img, made by `make guests`); anything with a slash or ending in
.img is an image path. Runs

  qemu-system-x86_64 -accel tcg|kvm -cpu max -fda IMAGE -display none -serial file:LOG
                     -device isa-debug-exit,iobase=0xf4,iosize=4 -no-reboot

prints the guest's serial output and exits with the guest's exit code: GUEST_EXIT (guest/common.inc)
writes the code to isa-debug-exit, QEMU exits with status (code << 1) | 1, mapped back here (the
process status has 8 bits, so only codes 0-0x7f come back intact). Other outcomes:
  124  the guest was still running after the timeout (halt and spin end like this)
  125  QEMU ended without the guest writing an exit code (a triple fault with -no-reboot, ...)
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
QEMU = 'qemu-system-x86_64'
TIMEOUT = 124
NO_EXIT = 125


def image_path(name):
    if '/' in name or name.endswith('.img'):
        return name
    return os.path.join(ROOT, 'build', 'guest', name + '.img')


def argv(image, log, accel='tcg'):
    return [QEMU, '-accel', accel, '-cpu', 'max' if accel == 'tcg' else 'host', '-fda', image, '-display', 'none',
            '-serial', 'file:' + log, '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
            '-no-reboot', '-nic', 'none']


def run(name, timeout=20.0, accel='tcg'):
    """Boot the guest; return (exit code as above, serial output, what happened)."""
    image = image_path(name)
    if not os.path.exists(image):
        raise FileNotFoundError('%s: no such image (make guests)' % image)
    with tempfile.TemporaryDirectory(prefix='plainqemu.') as tmp:
        log = os.path.join(tmp, 'serial.log')
        proc = subprocess.Popen(argv(image, log, accel), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            out, _ = proc.communicate(timeout=timeout)
            status = proc.returncode
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            status = None
        serial = ''
        if os.path.exists(log):
            with open(log, 'rb') as f:
                serial = f.read().decode('latin-1').replace('\r\n', '\n')
    if status is None:
        return TIMEOUT, serial, 'timeout: still running after %gs (halted or spinning)' % timeout
    if status & 1:
        code = status >> 1
        return code, serial, 'exit code 0x%x' % code
    msg = out.decode('latin-1', 'replace').strip()
    return NO_EXIT, serial, 'QEMU status %d without an exit code%s' % (
        status, (': ' + msg) if msg else '')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('guest', help='guest name (build/guest/NAME.img) or image path')
    ap.add_argument('--timeout', type=float, default=20.0, help='seconds (default 20)')
    ap.add_argument('--accel', default='tcg', help='tcg (default) or kvm')
    ap.add_argument('--quiet', action='store_true', help='do not print the serial output')
    args = ap.parse_args()
    if shutil.which(QEMU) is None:
        print('plainqemu: %s not found' % QEMU, file=sys.stderr)
        return 2
    try:
        code, serial, what = run(args.guest, args.timeout, args.accel)
    except FileNotFoundError as e:
        print('plainqemu: %s' % e, file=sys.stderr)
        return 2
    if not args.quiet:
        sys.stdout.write(serial)
        if serial and not serial.endswith('\n'):
            sys.stdout.write('\n')
    print('plainqemu: %s: %s' % (args.guest, what), file=sys.stderr)
    return code


if __name__ == '__main__':
    sys.exit(main())
