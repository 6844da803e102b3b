#!/usr/bin/env python3
"""Boot one guest under plain QEMU (SeaBIOS, floppy), the reference the hypervisor is compared to.

  python3 scripts/plainqemu.py NAME|IMAGE [--timeout S] [--accel tcg|kvm] [--quiet]
  python3 scripts/plainqemu.py --mb RUN [--timeout S] [--quiet]      (--list: the runs)
  python3 scripts/plainqemu.py --kernel FILE [--append ARGS] [--initrd "M1 ARGS,M2"] [--smp N] [-m MiB]

NAME is a guest (build/guest/NAME.img, made by `make guests`); anything with a slash or ending in
.img is an image path. Runs

  qemu-system-x86_64 -accel tcg|kvm -cpu max -fda IMAGE -display none -serial file:LOG
                     -device isa-debug-exit,iobase=0xf4,iosize=4 -no-reboot

prints the guest's serial output and exits with the guest's exit code: GUEST_EXIT (guest/common.inc)
writes the code to isa-debug-exit, QEMU exits with status (code << 1) | 1, mapped back here (the
process status has 8 bits, so only codes 0-0x7f come back intact). Other outcomes:
  124  the guest was still running after the timeout (halt and spin end like this)
  125  QEMU ended without the guest writing an exit code (a triple fault with -no-reboot, ...)

Multiboot kernels (--mb, --kernel; guest/mb/): QEMU's default CPU, TCG, runs

  qemu-system-x86_64 -accel tcg -kernel FILE [-append ARGS] [-initrd M1,M2] -smp N -m MiB
                     -device isa-debug-exit,iobase=0xf4,iosize=0x04 -serial file:LOG
                     -display none -no-reboot -nic none

and exits with QEMU's own status: 1 = the kernel passed (exit code 0), 3 = failed (code 1), 0 = QEMU
shut down without an exit code (a triple fault), 124 = still running at the timeout. --mb RUN takes
the kernel and its parameters from guest/mb/kernels.py (RUNS), writing the module files it names
to a temporary directory; --list prints the runs.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
sys.dont_write_bytecode = True          # no __pycache__ in guest/mb
sys.path.insert(0, os.path.join(ROOT, 'guest', 'mb'))
import kernels  # noqa: E402  (guest/mb/kernels.py: the multiboot runs)

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


def kernel_path(name):
    """build/guest/mb/NAME.elf for a kernel name, or the path itself."""
    if '/' in name or name.endswith('.elf'):
        return name
    return os.path.join(ROOT, 'build', 'guest', 'mb', name + '.elf')


def kernel_argv(kernel, log, args='', initrd='', cpus=1, mem=128, accel='tcg', stdin=False):
    cmd = [QEMU, '-accel', accel, '-kernel', kernel]
    if args:
        cmd += ['-append', args]
    if initrd:
        cmd += ['-initrd', initrd]
    # With input, COM1 is stdio (its output also logged to the file) so it can be typed into.
    serial = ['-chardev', 'stdio,id=ser0,signal=off,logfile=' + log, '-serial', 'chardev:ser0'] \
        if stdin else ['-serial', 'file:' + log]
    return cmd + ['-smp', str(cpus), '-m', str(mem), '-device',
                  'isa-debug-exit,iobase=0xf4,iosize=0x04'] + serial + \
        ['-display', 'none', '-no-reboot', '-nic', 'none']


def _feed_when(proc, log, after, data, timeout):
    """Type data into proc's stdin once log holds after (or give up at the timeout)."""
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        try:
            with open(log, 'rb') as f:
                if after in f.read():
                    proc.stdin.write(data)
                    proc.stdin.flush()
                    return
        except OSError:
            pass
        time.sleep(0.05)


def run_kernel(kernel, args='', modules=(), cpus=1, mem=128, timeout=20.0, accel='tcg',
               input=None, input_after=None):
    """Run a multiboot kernel; return (serial output lines, QEMU exit status or TIMEOUT).

    modules: (path, module args) pairs, joined into QEMU's -initrd "PATH ARGS,PATH ARGS".
    input: bytes typed into COM1 once its output holds input_after."""
    kernel = kernel_path(kernel)
    if not os.path.exists(kernel):
        raise FileNotFoundError('%s: no such kernel (make guests)' % kernel)
    initrd = ','.join((p + ' ' + a) if a else p for p, a in modules)
    with tempfile.TemporaryDirectory(prefix='plainqemu.') as tmp:
        log = os.path.join(tmp, 'serial.log')
        proc = subprocess.Popen(kernel_argv(kernel, log, args, initrd, cpus, mem, accel,
                                            input is not None),
                                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL if input is not None else subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            if input is not None:
                _feed_when(proc, log, input_after, input, timeout)
                proc.stdin.close()
                proc.wait(timeout=timeout)
            else:
                proc.communicate(timeout=timeout)
            status = proc.returncode
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            status = TIMEOUT
        serial = ''
        if os.path.exists(log):
            with open(log, 'rb') as f:
                serial = f.read().decode('latin-1').replace('\r\n', '\n')
    return serial.splitlines(), status


def run_mb(name, timeout=None, accel='tcg', **override):
    """Run the entry `name` of guest/mb/kernels.py RUNS (keys in override replace the table's);
    return (serial output lines, QEMU exit status or TIMEOUT)."""
    run = dict(kernels.RUNS[name], **override)
    with tempfile.TemporaryDirectory(prefix='plainqemu-mods.') as tmp:
        modules = []
        for fname, margs in run['modules']:
            path = os.path.join(tmp, fname)
            with open(path, 'wb') as f:
                f.write(kernels.MODULE_FILES[fname])
            modules.append((path, margs))
        return run_kernel(run['kernel'], kernels.args_of(run), modules, run['cpus'], run['mem'],
                          timeout if timeout is not None else run['timeout'], accel,
                          run.get('input'), run.get('input_after'))


def main_kernel(args):
    try:
        if args.mb:
            if args.mb not in kernels.RUNS:
                print('plainqemu: no run %r in guest/mb/kernels.py' % args.mb, file=sys.stderr)
                return 2
            lines, status = run_mb(args.mb, args.timeout)
        else:
            modules = [tuple((m.split(' ', 1) + [''])[:2]) for m in args.initrd.split(',')
                       if m] if args.initrd else []
            lines, status = run_kernel(args.kernel, args.append, modules, args.smp, args.m,
                                       args.timeout or 20.0, args.accel)
    except FileNotFoundError as e:
        print('plainqemu: %s' % e, file=sys.stderr)
        return 2
    if not args.quiet:
        for line in lines:
            print(line)
    what = 'timeout' if status == TIMEOUT else 'QEMU status %d' % status
    print('plainqemu: %s: %s' % (args.mb or args.kernel, what), file=sys.stderr)
    return status


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('guest', nargs='?', help='guest name (build/guest/NAME.img) or image path')
    ap.add_argument('--timeout', type=float, default=None, help='seconds (default 20)')
    ap.add_argument('--accel', default='tcg', help='tcg (default) or kvm')
    ap.add_argument('--quiet', action='store_true', help='do not print the serial output')
    ap.add_argument('--mb', metavar='RUN', help='a multiboot run from guest/mb/kernels.py')
    ap.add_argument('--list', action='store_true', help='list the multiboot runs')
    ap.add_argument('--kernel', help='a multiboot kernel (NAME or path to an ELF)')
    ap.add_argument('--append', default='', help='the kernel\'s args')
    ap.add_argument('--initrd', default='', help='modules: "PATH ARGS,PATH ARGS"')
    ap.add_argument('--smp', type=int, default=1)
    ap.add_argument('-m', type=int, default=128, help='RAM in MiB (default 128)')
    args = ap.parse_args()
    if args.list:
        for name, entry in kernels.RUNS.items():
            print('%-22s %s cpus=%d mem=%d status=%d args=%r' % (
                name, entry['kernel'], entry['cpus'], entry['mem'], entry['status'],
                kernels.args_of(entry)))
        return 0
    if shutil.which(QEMU) is None:
        print('plainqemu: %s not found' % QEMU, file=sys.stderr)
        return 2
    if args.mb or args.kernel:
        return main_kernel(args)
    if args.guest is None:
        ap.error('a guest, --mb RUN or --kernel FILE')
    if args.timeout is None:
        args.timeout = 20.0
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
