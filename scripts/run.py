#!/usr/bin/env python3
"""Boot bhyvelet once in an emulator and judge its serial (TAP) log.

  python3 scripts/run.py --platform qemu|bochs-vmx|bochs-svm --cpus N [--mem MiB]
      [--cmdline "..."] [--timeout SEC] [--log FILE] [--interactive]
      [--kernel build/kernel.bin] [--quiet] [--no-tracecheck] [--trace-order A:a,B:b]
      [--inner HOOK:A,B[,C...]] [--no-vcpu-owner] [--mttcg]

qemu runs the kernel with -kernel: with KVM (-cpu host) when /dev/kvm is usable and nested
virtualization is on, else with TCG (-cpu max, which offers SVM). bochs-vmx (corei7_skylake_x)
and bochs-svm (ryzen) boot a GRUB ISO built on the fly. TCG runs are single-threaded (one host
thread for all vCPUs) unless --mttcg asks for multi-threaded TCG (one host thread per vCPU, so
two CPUs really run at once; docs/platforms.md). When the serial log holds trace dumps,
scripts/tracecheck.py checks them too (--trace-order is its --order, --inner its --inner,
--no-vcpu-owner its --no-vcpu-owner) and prints its verdict.
Exit status 0 iff the run passed and tracecheck (if it ran) found no violation.
Only the Python standard library is used.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
import tracecheck  # noqa: E402

# qemu-grub: QEMU TCG booting a GRUB ISO through SeaBIOS instead of -kernel.
PLATFORMS = ('qemu', 'qemu-tcg', 'qemu-kvm', 'qemu-grub', 'bochs-vmx', 'bochs-svm')
BOCHS_MODELS = {'bochs-vmx': 'corei7_skylake_x', 'bochs-svm': 'ryzen'}
DEFAULT_MEM = 256
DEFAULT_TIMEOUT = {'qemu': 480, 'bochs': 900}  # hangs only; suite=all with 4 CPUs takes ~2.5 min
BOCHS_SCALE = 10
# After the shutdown line the kernel ends the emulator itself; if it does not, kill it after this.
SHUTDOWN_GRACE = 10.0
POLL = 0.1

BOCHS_ROM_DIRS = ('/usr/share/bochs', '/usr/share/seabios')
BOCHS_ROMS = ('BIOS-bochs-latest', 'bios.bin')
VGA_ROMS = ('/usr/share/bochs/VGABIOS-lgpl-latest', '/usr/share/vgabios/vgabios.bin',
            '/usr/share/seabios/vgabios-stdvga.bin')


def family(platform):
    return 'bochs' if platform.startswith('bochs') else 'qemu'


def _param_on(path):
    try:
        with open(path) as f:
            return f.read().strip() in ('Y', 'y', '1')
    except OSError:
        return False


def kvm_status():
    """(usable, why): KVM with nested virtualization usable for our VMX/SVM code?"""
    try:
        fd = os.open('/dev/kvm', os.O_RDWR | os.O_CLOEXEC)
        os.close(fd)
    except OSError as e:
        return False, '/dev/kvm not usable (%s)' % (e.strerror or e)
    for mod in ('kvm_intel', 'kvm_amd'):
        if _param_on('/sys/module/%s/parameters/nested' % mod):
            return True, '%s nested=on' % mod
    return False, '/dev/kvm has no nested virtualization'


def resolve_platform(platform):
    """Map 'qemu' to qemu-kvm or qemu-tcg. Returns (platform, note)."""
    if platform == 'qemu':
        ok, why = kvm_status()
        return ('qemu-kvm' if ok else 'qemu-tcg'), why
    if platform == 'qemu-kvm':
        ok, why = kvm_status()
        if not ok:
            raise SystemExit('run: qemu-kvm asked for, but ' + why)
        return platform, why
    return platform, ''


def cmdline_keys(cmdline):
    return {w.split('=', 1)[0] for w in cmdline.split()}


def full_cmdline(cmdline, platform):
    """The caller's command line plus platform= (and scale= on Bochs) unless given."""
    words = cmdline.split()
    keys = cmdline_keys(cmdline)
    if 'platform' not in keys:
        words.append('platform=' + platform)
    if family(platform) == 'bochs' and 'scale' not in keys:
        words.append('scale=%d' % BOCHS_SCALE)
    return ' '.join(words)


def find_file(candidates):
    for c in candidates:
        if os.path.exists(c):
            return c
    return None


class RunResult:
    def __init__(self):
        self.platform = None
        self.cpus = None
        self.mem = None
        self.cmdline = None
        self.timeout = None
        self.log_path = None
        self.log = None          # tap.Log
        self.verdict = None      # tap.Verdict
        self.elapsed = 0.0
        self.timed_out = False
        self.killed_after_shutdown = False
        self.rc = None           # emulator exit status (meaningless for judging)
        self.diag = []           # extra lines worth showing on failure (emulator messages)
        self.note = ''
        self.serial_input = None  # bytes typed into COM1 once a guest owns it (QEMU only)
        self.serial_input_after = None  # ... or once the log holds these bytes
        self.mttcg = False       # QEMU TCG with one host thread per vCPU (-accel tcg,thread=multi)

    @property
    def ok(self):
        return self.verdict is not None and self.verdict.ok

    def describe(self):
        return '%s%s cpus=%d' % (self.platform, ' mttcg' if self.mttcg else '', self.cpus)


# ---------------------------------------------------------------------------------------------
# Process handling


class _Tail:
    """Follow a growing file; optionally echo what appears to a stream."""

    def __init__(self, path, echo=None):
        self.path = path
        self.echo = echo
        self.pos = 0
        self.buf = b''
        self.shutdown_seen = False

    def poll(self):
        try:
            with open(self.path, 'rb') as f:
                f.seek(self.pos)
                data = f.read()
        except OSError:
            return
        if not data:
            return
        self.pos += len(data)
        if self.echo is not None:
            self.echo.write(data.decode('utf-8', 'replace'))
            self.echo.flush()
        self.buf = (self.buf + data)[-4096:]
        if not self.shutdown_seen and b'# bhyvelet: shutdown status=' in self.buf:
            # wait for the whole line
            i = self.buf.find(b'# bhyvelet: shutdown status=')
            if b'\n' in self.buf[i:]:
                self.shutdown_seen = True


_live = {}   # running emulator processes -> own_group
_live_lock = threading.Lock()


def stop_all():
    """End every emulator still running (for check.py on Ctrl-C)."""
    with _live_lock:
        procs = list(_live.items())
    for proc, own_group in procs:
        if not _exited(proc):
            try:
                if own_group:
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.kill()
            except ProcessLookupError:
                pass
    for proc, _ in procs:
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass


def install_signal_handlers(interrupt=False):
    """On SIGTERM/SIGHUP end our emulators too (they run in their own sessions).
    With interrupt=True raise KeyboardInterrupt instead, for the caller to clean up."""
    def handler(signum, frame):
        if interrupt:
            raise KeyboardInterrupt
        stop_all()
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def _exited(proc):
    """Has proc exited? Does not reap it, so its pid (and process group id) stay ours."""
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _stop(proc, own_group, term_first):
    """End proc (and, if it leads its own process group, everything in that group)."""
    if own_group:
        # Signal the group only while its leader is not yet reaped: the id is still ours.
        if term_first:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            for _ in range(30):
                if _exited(proc):
                    break
                time.sleep(0.1)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    else:
        proc.kill()
    return proc.wait()


def _supervise(argv, serial_path, timeout, hard_timeout, own_group, echo=None, stdout=None,
               stderr=None, stdin=subprocess.DEVNULL, feed=None):
    """Run argv until it exits, times out, or lingers after the shutdown line.
    feed: (trigger, data): once the serial log holds trigger, write data to the emulator's stdin
    (stdin must be subprocess.PIPE), as a person typing once the prompt is there.

    Returns (rc, timed_out, killed_after_shutdown, elapsed)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr,
                            start_new_session=own_group)
    with _live_lock:
        _live[proc] = own_group
    tail = _Tail(serial_path, echo)
    timed_out = killed_after_shutdown = False
    shutdown_at = None
    interrupted = False
    rc = None
    try:
        while True:
            try:
                if _exited(proc):
                    rc = proc.wait()
                    break
                time.sleep(POLL)
            except KeyboardInterrupt:
                interrupted = True
                if own_group:
                    # The emulator is in its own session and did not see the Ctrl-C.
                    rc = _stop(proc, own_group, True)
                    break
                # The terminal's Ctrl-C went to QEMU as well; let it exit, then judge.
                continue
            tail.poll()
            if feed is not None and feed[0] in tail.buf:
                proc.stdin.write(feed[1])
                proc.stdin.flush()
                feed = None
            now = time.monotonic()
            if tail.shutdown_seen and shutdown_at is None:
                shutdown_at = now
            if shutdown_at is not None and now - shutdown_at > SHUTDOWN_GRACE:
                killed_after_shutdown = True
                rc = _stop(proc, own_group, False)
                break
            if hard_timeout and now - start > hard_timeout:
                timed_out = True
                rc = _stop(proc, own_group, True)
                break
    finally:
        if rc is None:
            _stop(proc, own_group, False)
        with _live_lock:
            _live.pop(proc, None)
    tail.poll()
    elapsed = time.monotonic() - start
    if timeout and elapsed >= timeout and not tail.shutdown_seen:
        timed_out = True
    if interrupted:
        sys.stderr.write('\nrun: interrupted\n')
    return rc, timed_out, killed_after_shutdown, elapsed


# ---------------------------------------------------------------------------------------------
# QEMU


GUEST_INPUT_READY = b'console input goes to its COM1'


def run_qemu(res, kernel, interactive, workdir):
    argv = ['qemu-system-x86_64']
    if res.platform == 'qemu-kvm':
        argv += ['-enable-kvm', '-cpu', 'host']
    else:
        # One host thread for all vCPUs unless asked (--mttcg): QEMU 7.2's multi-threaded TCG
        # sometimes walks the host's page tables through the guest's nested page tables right
        # after a #VMEXIT on SMP runs (docs/platforms.md); single-threaded TCG never did.
        argv += ['-accel', 'tcg,thread=%s' % ('multi' if res.mttcg else 'single'), '-cpu', 'max']
    argv += ['-smp', str(res.cpus), '-m', str(res.mem)]
    if res.platform == 'qemu-grub':
        argv += ['-cdrom', build_iso(kernel, res.cmdline, workdir, res.modules), '-boot', 'd']
    else:
        argv += ['-kernel', kernel, '-append', res.cmdline]
        if res.modules:
            # multiboot modules: "FILE ARGS" each; QEMU opens FILE and hands the
            # whole entry to the kernel as the module's string (commas doubled)
            argv += ['-initrd', ','.join(('%s %s' % (path, args)).strip().replace(',', ',,')
                                         for path, args in res.modules)]
    argv += ['-display', 'none', '-no-reboot',
             '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04']
    if interactive:
        # serial and monitor multiplexed on the terminal (Ctrl-A X quits, Ctrl-A C monitor),
        # with a copy of the serial output in the log file for judging.
        argv += ['-chardev', 'stdio,id=ser0,mux=on,logfile=%s' % res.log_path,
                 '-serial', 'chardev:ser0', '-mon', 'chardev=ser0,mode=readline']
        rc, to, kas, el = _supervise(argv, res.log_path, res.timeout, res.timeout, False,
                                     stdin=None)
    else:
        feed, stdin = None, subprocess.DEVNULL
        if res.serial_input is not None:
            # typed into COM1 once a guest owns the console (vmm_guest.c says so)
            argv += ['-chardev', 'stdio,id=ser0,signal=off,logfile=%s' % res.log_path,
                     '-serial', 'chardev:ser0', '-monitor', 'none']
            feed = (res.serial_input_after or GUEST_INPUT_READY, res.serial_input)
            stdin = subprocess.PIPE
        else:
            argv += ['-serial', 'file:%s' % res.log_path, '-monitor', 'none']
        errpath = os.path.join(workdir, 'qemu.stderr')
        with open(errpath, 'wb') as err:
            rc, to, kas, el = _supervise(argv, res.log_path, res.timeout, res.timeout, True,
                                         stdout=err, stderr=err, stdin=stdin, feed=feed)
        with open(errpath, 'rb') as f:
            msgs = f.read().decode('utf-8', 'replace').splitlines()
        res.diag += ['qemu: ' + m for m in msgs
                     if m.strip() and 'terminating on signal' not in m][:10]
    res.rc, res.timed_out, res.killed_after_shutdown, res.elapsed = rc, to, kas, el


# ---------------------------------------------------------------------------------------------
# Bochs


def grub_quote(word):
    if re.fullmatch(r'[A-Za-z0-9_=,.:/+%@-]+', word):
        return word
    return "'" + word.replace("'", "'\\''") + "'"


def build_iso(kernel, cmdline, workdir, modules=()):
    """A GRUB (BIOS) ISO that multiboots kernel with cmdline and modules ((path, args)
    pairs). Each module's string is "path args", as QEMU's -initrd gives it (GRUB gives a
    module the words after its file). Returns its path."""
    root = os.path.join(workdir, 'iso')
    os.makedirs(os.path.join(root, 'boot', 'grub'))
    shutil.copyfile(kernel, os.path.join(root, 'boot', 'kernel.bin'))
    modline = ''
    for i, (path, args) in enumerate(modules or ()):
        shutil.copyfile(path, os.path.join(root, 'boot', 'mod%d.img' % i))
        modline += '  module /boot/mod%d.img %s\n' % (i, ' '.join(grub_quote(w) for w in
                                                              [path] + args.split()))
    args = ' '.join(grub_quote(w) for w in cmdline.split())
    with open(os.path.join(root, 'boot', 'grub', 'grub.cfg'), 'w') as f:
        f.write('set timeout=0\n'
                'set default=0\n'
                'menuentry "bhyvelet" {\n'
                '  multiboot /boot/kernel.bin %s\n'
                '%s'
                '  boot\n'
                '}\n' % (args, modline))
    iso = os.path.join(workdir, 'bhyvelet.iso')
    p = subprocess.run(['grub-mkrescue', '-o', iso, root], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0 or not os.path.exists(iso):
        out = p.stdout.decode('utf-8', 'replace').strip().splitlines()[-15:]
        raise RuntimeError('grub-mkrescue failed (status %d):\n  %s'
                           % (p.returncode, '\n  '.join(out)))
    return iso


def bochs_roms():
    bios = None
    for d in BOCHS_ROM_DIRS:
        bios = find_file(os.path.join(d, r) for r in BOCHS_ROMS)
        if bios:
            break
    vga = find_file(VGA_ROMS)
    if not bios or not vga:
        raise RuntimeError('Bochs ROM images not found (install bochsbios and vgabios: '
                           'scripts/deps.sh)')
    return bios, vga


def write_bochsrc(path, model, cpus, mem, iso, serial, bochs_log, port=None):
    bios, vga = bochs_roms()
    with open(path, 'w') as f:
        f.write('megs: %d\n' % mem)
        f.write('cpu: model=%s, count=%d, ips=10000000, reset_on_triple_fault=0\n'
                % (model, cpus))
        f.write('romimage: file=%s\n' % bios)
        f.write('vgaromimage: file=%s\n' % vga)
        f.write('ata0-master: type=cdrom, path=%s, status=inserted\n' % iso)
        f.write('boot: cdrom\n')
        if port is None:
            f.write('com1: enabled=1, mode=file, dev=%s\n' % serial)
        else:
            # typed into: COM1 is a TCP server run.py connects to (_BochsSerial)
            f.write('com1: enabled=1, mode=socket-server, dev=localhost:%d\n' % port)
        f.write('display_library: term\n')
        # The ALSA sound driver aborts Bochs on a machine without a sound card.
        f.write('sound: driver=dummy\n')
        f.write('speaker: enabled=0\n')
        f.write('clock: sync=none, time0=local\n')
        f.write('panic: action=fatal\n')
        f.write('error: action=report\n')
        f.write('log: %s\n' % bochs_log)


BOCHS_DIAG_RE = re.compile(r'>>PANIC<<|VMENTER FAIL|VMFAIL|VMEXIT FAIL|VMRUN.*(fail|invalid)'
                           r'|triple fault', re.IGNORECASE)


def bochs_diag(bochs_out, bochs_log):
    """Bochs's own explanation of why it stopped, and failed-entry messages."""
    lines = []
    try:
        with open(bochs_out, 'rb') as f:
            out = f.read().decode('utf-8', 'replace').splitlines()
        for i, l in enumerate(out):
            if 'Bochs is exiting with the following message' in l and i + 1 < len(out):
                msg = out[i + 1].strip()
                if 'Shutdown port: shutdown requested' not in msg:
                    lines.append('bochs: exiting: ' + msg)
    except OSError:
        pass
    try:
        with open(bochs_log, 'rb') as f:
            for raw in f:
                l = raw.decode('utf-8', 'replace').rstrip()
                if BOCHS_DIAG_RE.search(l) and 'Shutdown port: shutdown requested' not in l:
                    lines.append('bochs.log: ' + l)
                    if len(lines) >= 12:
                        break
    except OSError:
        pass
    return lines


class _BochsSerial(threading.Thread):
    """Bochs's COM1 as a socket server: copy what it sends into the serial log and type
    `data` once the log holds `after` (the file mode's log, plus input)."""

    def __init__(self, port, log_path, after, data):
        super().__init__(daemon=True)
        self.port, self.log_path, self.after, self.data = port, log_path, after, data

    def run(self):
        import socket
        sock = None
        for _ in range(600):
            try:
                sock = socket.create_connection(('127.0.0.1', self.port), timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        if sock is None:
            return
        sock.settimeout(None)
        seen = b''
        with open(self.log_path, 'ab') as log:
            while True:
                try:
                    chunk = sock.recv(4096)
                except OSError:
                    break
                if not chunk:
                    break
                log.write(chunk)
                log.flush()
                if self.data is not None:
                    seen = (seen + chunk)[-4096:]
                    if self.after in seen:
                        sock.sendall(self.data)
                        self.data = None


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_bochs(res, kernel, interactive, workdir):
    iso = build_iso(kernel, res.cmdline, workdir, res.modules)
    bochsrc = os.path.join(workdir, 'bochsrc')
    dbgrc = os.path.join(workdir, 'dbgrc')
    bochs_out = os.path.join(workdir, 'bochs.out')
    bochs_log = res.log_path + '.bochs.log'
    port = serial = None
    if res.serial_input is not None:
        port = _free_port()
        serial = _BochsSerial(port, res.log_path, res.serial_input_after or GUEST_INPUT_READY,
                              res.serial_input)
    write_bochsrc(bochsrc, BOCHS_MODELS[res.platform], res.cpus, res.mem, iso,
                  res.log_path, bochs_log, port)
    if serial is not None:
        serial.start()
    with open(dbgrc, 'w') as f:
        f.write('c\n')
    argv = ['timeout', '-k', '5', str(int(res.timeout)),
            'bochs', '-q', '-f', bochsrc, '-rc', dbgrc]
    with open(bochs_out, 'wb') as out:
        rc, to, kas, el = _supervise(argv, res.log_path, res.timeout, res.timeout + 10, True,
                                     echo=sys.stdout if interactive else None,
                                     stdout=out, stderr=subprocess.STDOUT)
    res.rc, res.timed_out, res.killed_after_shutdown, res.elapsed = rc, to, kas, el
    res.diag += bochs_diag(bochs_out, bochs_log)
    res.diag.append('bochs log: %s' % bochs_log)


# ---------------------------------------------------------------------------------------------


def guest_image_problem(path):
    """None if path can be passed as a guest image, else why not. The kernel names the
    format and refuses what it cannot run (kern/vmm/vmm_loader.c)."""
    try:
        with open(path, 'rb') as f:
            data = f.read(1)
    except OSError as e:
        return 'cannot read it (%s)' % (e.strerror or e)
    if not data:
        return 'it is empty'
    return None


def default_log_path(platform, cpus, mttcg=False):
    return os.path.join('build', 'logs', 'run-%s%s-cpus%d.log'
                        % (platform, '-mttcg' if mttcg else '', cpus))


def run_kernel(platform, cpus, mem=None, cmdline='', timeout=None, log_path=None,
               interactive=False, kernel='build/kernel.bin', judge=tap.judge, modules=(),
               serial_input=None, serial_input_after=None, mttcg=False):
    """Boot once and judge. Never raises for kernel problems; see RunResult.verdict.
    judge: tap.judge (TAP runs) or tap.judge_notap (runs that print no TAP, e.g. bench=).
    mttcg: multi-threaded TCG (QEMU TCG platforms only; an error elsewhere)."""
    res = RunResult()
    res.platform, res.note = resolve_platform(platform)
    if mttcg and res.platform not in ('qemu-tcg', 'qemu-grub'):
        raise ValueError('mttcg asked for on %s, which is not QEMU TCG' % res.platform)
    res.mttcg = bool(mttcg)
    res.cpus = int(cpus)
    res.mem = int(mem or DEFAULT_MEM)
    res.cmdline = full_cmdline(cmdline or '', res.platform)
    if timeout is None:
        timeout = 0 if interactive else DEFAULT_TIMEOUT[family(res.platform)]
    res.timeout = float(timeout)
    res.log_path = os.path.abspath(log_path or default_log_path(res.platform, res.cpus,
                                                                res.mttcg))
    os.makedirs(os.path.dirname(res.log_path), exist_ok=True)
    if os.path.exists(res.log_path):
        os.unlink(res.log_path)
    open(res.log_path, 'wb').close()
    if not os.path.isfile(kernel):
        raise FileNotFoundError('%s not found: build it first (make)' % kernel)
    kernel = os.path.abspath(kernel)
    workdir = tempfile.mkdtemp(prefix='bhyvelet-run-')
    try:
        res.modules = [(os.path.abspath(p), args) for p, args in modules or ()]
        res.serial_input = serial_input
        res.serial_input_after = serial_input_after
        if family(res.platform) == 'qemu':
            run_qemu(res, kernel, interactive, workdir)
        else:
            if not res.timeout:
                res.timeout = 24 * 3600.0
            run_bochs(res, kernel, interactive, workdir)
    except RuntimeError as e:
        res.log = tap.parse_file(res.log_path)
        res.verdict = tap.Verdict(False, 'hang', str(e).splitlines()[0])
        res.diag += str(e).splitlines()[1:]
        return res
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    res.log = tap.parse_file(res.log_path)
    res.verdict = judge(res.log, res.timed_out, res.timeout)
    if res.killed_after_shutdown:
        res.diag.append('run: the emulator did not exit within %g s of the shutdown line; '
                        'killed it' % SHUTDOWN_GRACE)
    return res


def failure_details(res):
    """Lines to show for a failed run: not ok lines, panic block, bail, log tail, emulator."""
    out = []
    log, v = res.log, res.verdict
    for t in log.failed:
        out.append(t.line)
    if v.kind == 'panic':
        out.append('--- panic (%s) ---' % res.log_path)
        out += log.panic_block()
    elif v.kind == 'bail':
        out += log.bail
    elif v.kind in ('timeout', 'hang'):
        out.append('--- last 20 lines of %s ---' % res.log_path)
        out += log.tail(20) or ['(serial log is empty)']
    elif v.kind == 'plan':
        out.append('--- last 20 lines of %s ---' % res.log_path)
        out += log.tail(20)
    out += res.diag
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--platform', default='qemu', choices=PLATFORMS)
    ap.add_argument('--cpus', type=int, default=1)
    ap.add_argument('--mem', type=int, default=DEFAULT_MEM, help='MiB (default 256)')
    ap.add_argument('--cmdline', default='', help='kernel command line, e.g. "suite=all hz=100"')
    ap.add_argument('--timeout', type=float, default=None,
                    help='seconds (default 480 for qemu, 900 for bochs; none if --interactive)')
    ap.add_argument('--log', default=None, help='serial log file (default build/logs/run-*.log)')
    ap.add_argument('--interactive', action='store_true',
                    help='show the serial console live (QEMU: Ctrl-A X quits)')
    ap.add_argument('--kernel', default='build/kernel.bin')
    ap.add_argument('--guest', default=None, metavar='FILE',
                    help="run FILE as a guest: a boot sector (loaded at 0x7C00) or a multiboot "
                         "v1 kernel (as qemu -kernel); passed as boot module 0, with guest=module")
    ap.add_argument('--guest-args', default='', metavar='ARGS',
                    help='the multiboot command line after the image name (qemu -append)')
    ap.add_argument('--guest-cpus', type=int, default=None, metavar='N',
                    help='vCPUs of the guest (1-8; qemu -smp)')
    ap.add_argument('--guest-mem', type=int, default=None, metavar='MiB',
                    help='guest RAM (default 128 for multiboot kernels; qemu -m)')
    ap.add_argument('--guest-module', action='append', default=[], metavar='"FILE [ARGS]"',
                    help='a module for a multiboot guest, with its command line (qemu -initrd); '
                         'repeat for more')
    ap.add_argument('--guest-timeout', type=int, default=None, metavar='S',
                    help='stop the guest if it still runs after S seconds of wall time '
                         '(guest_timeout=S: "time limit"); the host then shuts down')
    ap.add_argument('--serial-input', default=None, metavar='FILE',
                    help="type FILE's bytes into COM1 once a guest owns the console (QEMU only)")
    ap.add_argument('--serial-input-after', default=None, metavar='TEXT',
                    help='type --serial-input once the serial log holds TEXT instead')
    ap.add_argument('--quiet', action='store_true', help='print only the verdict line(s)')
    ap.add_argument('--mttcg', action='store_true',
                    help='QEMU TCG: multi-threaded (-accel tcg,thread=multi; one host thread per '
                         'vCPU) instead of single-threaded')
    ap.add_argument('--no-tracecheck', dest='tracecheck', action='store_false',
                    help='do not check the trace dumps in the log')
    tracecheck.add_rule_arguments(ap, '--trace-order')   # tracecheck's rule options
    a = ap.parse_args(argv)
    install_signal_handlers()
    if a.cpus < 1:
        ap.error('--cpus must be at least 1')
    orders, inner = tracecheck.parse_rule_arguments(ap, a)

    modules = []
    if a.guest:
        for path in [a.guest] + [m.split(' ', 1)[0] for m in a.guest_module]:
            why = guest_image_problem(path)
            if why:
                print('run: refusing guest image %s: %s' % (path, why), file=sys.stderr)
                return 1
        # Module 0 is the guest, its string the kernel's command line "<image> <args>"
        # as qemu -kernel/-append give it; the others are its modules, "<file> <args>".
        modules = [(a.guest, a.guest_args)]
        modules += [tuple((m.split(' ', 1) + [''])[:2]) for m in a.guest_module]
        a.cmdline = (a.cmdline + ' guest=module').strip()
        if a.guest_cpus is not None:
            a.cmdline += ' guest_cpus=%d' % a.guest_cpus
        if a.guest_mem is not None:
            a.cmdline += ' guest_mem=%d' % a.guest_mem
        if a.mem == DEFAULT_MEM:
            # the host's emulator holds the guest's RAM besides its own
            a.mem = DEFAULT_MEM + (a.guest_mem if a.guest_mem is not None else 128)
    if a.guest_timeout is not None:
        if a.guest_timeout < 0:
            ap.error('--guest-timeout must be 0 (none) or more seconds')
        a.cmdline = (a.cmdline + ' guest_timeout=%d' % a.guest_timeout).strip()
    words = a.cmdline.split()
    no_tap = (any(w.startswith(('guest=', 'bench=')) for w in words)
              and not any(w.startswith('suite=') for w in words))

    serial_input = None
    serial_after = a.serial_input_after.encode() if a.serial_input_after else None
    if a.serial_input:
        with open(a.serial_input, 'rb') as f:
            serial_input = f.read()
    scripted = a.interactive and not sys.stdin.isatty() and family(
        resolve_platform(a.platform)[0]) == 'qemu'
    if scripted:
        # `make run MONITOR=1 < file`: the file is typed once the monitor has the console (or
        # once a guest owns it), and the console is shown as plain text when the run is over.
        serial_input = sys.stdin.buffer.read()
        serial_after = b'# mon: the monitor has the console' if 'monitor=1' in a.cmdline \
            else GUEST_INPUT_READY
        a.interactive = False
    platform, note = resolve_platform(a.platform)
    if a.mttcg and platform not in ('qemu-tcg', 'qemu-grub'):
        ap.error('--mttcg needs QEMU TCG; the platform is %s' % platform)
    if not os.path.isfile(a.kernel):
        print('run: %s not found: build it first (make)' % a.kernel, file=sys.stderr)
        return 1
    if not a.quiet:
        t = a.timeout if a.timeout is not None else \
            (0 if a.interactive else DEFAULT_TIMEOUT[family(platform)])
        print('run: platform=%s%s cpus=%d mem=%d timeout=%s cmdline="%s" log=%s%s'
              % (platform, ' (multi-threaded TCG)' if a.mttcg else '', a.cpus, a.mem,
                 ('%gs' % t) if t else 'none', full_cmdline(a.cmdline, platform),
                 a.log or default_log_path(platform, a.cpus, a.mttcg),
                 (' (%s)' % note) if note else ''), flush=True)
    res = run_kernel(platform, a.cpus, a.mem, a.cmdline, a.timeout, a.log, a.interactive,
                     a.kernel, judge=tap.judge_notap if no_tap else tap.judge,
                     modules=modules, serial_input=serial_input,
                     serial_input_after=serial_after, mttcg=a.mttcg)
    if scripted:
        with open(res.log_path, 'rb') as f:
            sys.stdout.write(f.read().decode('utf-8', 'replace').replace('\r\n', '\n'))
    if res.ok:
        print('PASS %s (%s, %.1f s)' % (res.describe(),
                                        'shutdown status=0' if no_tap else tap.summary(res.log),
                                        res.elapsed))
        for d in res.diag:
            if d.startswith('run:'):
                print(d)
    else:
        if not a.quiet:
            for line in failure_details(res):
                print(line)
        print('FAIL %s: %s (%s, %.1f s)' % (res.describe(), res.verdict.reason,
                                            tap.summary(res.log), res.elapsed))
    trace_ok = True
    if a.tracecheck and res.log.trace_dumps:
        tc = tracecheck.check_log(res.log_path, orders, inner, a.vcpu_owner)
        trace_ok = tc.ok
        for line in tracecheck.report(tc, a.quiet):
            print(line)
    if a.guest:
        for how in guest_exits(res.log_path):
            print('run: guest %s' % how)
    status = guest_exit_status(res.log_path) if a.guest else None
    if status is not None and trace_ok:
        return status          # as QEMU's isa-debug-exit: (code << 1) | 1, 8 bits
    return 0 if res.ok and trace_ok else 1


GUEST_EXIT_RE = re.compile(r"bhyvelet: guest '[^']*' exited: debug-exit status=(\d+)")
GUEST_END_RE = re.compile(r"bhyvelet: guest ('[^']*' exited: .*)")


def guest_exits(log_path):
    """The "'NAME' exited: <how>" of each guest in the log."""
    try:
        with open(log_path, 'rb') as f:
            text = f.read().decode('utf-8', 'replace')
    except OSError:
        return []
    return [m.group(1).rstrip() for m in GUEST_END_RE.finditer(text)]


def guest_exit_status(log_path):
    """The status S of a guest that ended through isa-debug-exit (the kernel's line
    "bhyvelet: guest 'NAME' exited: debug-exit status=S"), as a process status; else None."""
    try:
        with open(log_path, 'rb') as f:
            text = f.read().decode('utf-8', 'replace')
    except OSError:
        return None
    m = GUEST_EXIT_RE.search(text)
    return int(m.group(1)) & 0xff if m else None


if __name__ == '__main__':
    sys.exit(main())
