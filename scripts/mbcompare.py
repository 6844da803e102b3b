#!/usr/bin/env python3
"""The multiboot test kernels under bhyvelet against plain QEMU, the reference.

  python3 scripts/mbcompare.py [--platform qemu|bochs-vmx|bochs-svm] [RUN ...]

Every run of guest/mb/kernels.py RUNS goes once through plain QEMU (scripts/plainqemu.py: the
kernel's serial lines and QEMU's exit status) and once through bhyvelet, all runs of a platform
in ONE boot: the kernel's guest=batch mode (kern/vmm/vmm_guest.h) takes a list of the runs and
their images and modules as boot modules, runs each guest in turn and prints its console lines
as "[cpuN] [RUN/vcpuK] text" and its end as "bhyvelet: guest 'RUN' exited: <how>". A run passes
when its lines and its status (debug-exit status=S; anything else is QEMU's 0) are the
reference's, and a kernel's account of the rows it wrote to the VGA text screen ("ok - row N,
attribute A, reads back: TEXT") is on the host's copy of that screen ("[RUN/vga] NN|TEXT|",
printed when the guest ends). Runs with model='tcg' are QEMU TCG's own behaviour and are not run under bhyvelet;
model='cpu' runs have no reference (TCG fails them) and must pass (status 1, no FAIL line).
PENDING names runs that need what bhyvelet does not emulate yet: they run, and a mismatch is
reported as skipped with the reason instead of failed. A run with input (mb_input) reads its
console: it gets a boot of its own where run.py types into COM1, the same bytes at the same
point of its output as plain QEMU got them.
"""

import argparse
import os
import re
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import plainqemu  # noqa: E402
import kernels  # noqa: E402  (plainqemu put guest/mb on the path)
import run  # noqa: E402
import tap  # noqa: E402

# What each pending run waits for (issue 10); reported as skipped while it differs.
PENDING = {
    # Failed once in six make check runs (QEMU SVM, 2 host CPUs under load): an AP counted its
    # fixed IPI twice. Likely the defect behind the nested kernel's panic with 2 host CPUs
    # (docs/vmm.md, "Open bug"); a mismatch is shown as skipped with this reason until fixed.
    'mb_smp-4': 'open bug: a duplicated interrupt delivery under SMP host load (docs/vmm.md)',
}

EXIT_RE = re.compile(r"bhyvelet: guest '([^']+)' exited: (.*)")
LINE_RE = re.compile(r'\[([^\]/]+)/(?:com1|vcpu\d+)\] (.*)')
VGA_RE = re.compile(r'\[([^\]/]+)/vga\] (\d\d)\|(.*)\|')
# mb_vga's own account of a row it wrote: the host's copy of the screen must show it.
VGA_ROW_RE = re.compile(r'ok - row (\d+), attribute 0x[0-9a-f]+, reads back: (.*)')


def bhyvelet_runs():
    """The runs of a batch boot: all but QEMU TCG's model runs and the runs that are typed into
    (input_runs: a batch has one console for all its guests)."""
    return [n for n, r in kernels.RUNS.items() if r['model'] != 'tcg' and r['input'] is None]


def input_runs(platform):
    """The runs that read their console, one boot each (run.py types into COM1: QEMU's serial
    is stdio then, Bochs's a socket)."""
    return [n for n, r in kernels.RUNS.items() if r['input'] is not None]


def single_boot(platform, name, log_path, timeout=None):
    """One bhyvelet boot of one run, its input typed as the run says; (RunResult, its entry of
    split_log or None)."""
    r = kernels.RUNS[name]
    with tempfile.TemporaryDirectory(prefix='mbcompare.') as tmp:
        modules = batch_modules([name], tmp)[1:]
        image = os.path.basename(modules[0][0])
        res = run.run_kernel(platform, 2, run.DEFAULT_MEM + r['mem'],
                             'guest=module guest_cpus=%d guest_mem=%d' % (r['cpus'], r['mem']),
                             timeout, log_path, judge=tap.judge_notap, modules=modules,
                             serial_input=r['input'], serial_input_after=r['input_after'])
    return res, split_log(res.log).get(image)


_ref_lock = threading.Lock()
_ref_cache = {}


def references(names, jobs=2):
    """{run: (lines, status)} under plain QEMU; each computed once per process."""
    with _ref_lock:
        todo = [n for n in names if n not in _ref_cache and kernels.RUNS[n]['model'] != 'cpu']
        with ThreadPoolExecutor(max_workers=jobs) as ex:
            for n, r in zip(todo, ex.map(plainqemu.run_mb, todo)):
                _ref_cache[n] = r
        return {n: _ref_cache[n] for n in names if n in _ref_cache}


def batch_modules(names, tmp):
    """The boot modules of a guest=batch boot: the list, then each run's image and modules."""
    listing = os.path.join(tmp, 'batch.txt')
    modules = [(listing, '')]
    lines = []
    for n in names:
        r = kernels.RUNS[n]
        lines.append('run %s cpus=%d mem=%d modules=%d' % (n, r['cpus'], r['mem'],
                                                           1 + len(r['modules'])))
        modules.append((plainqemu.kernel_path(r['kernel']), kernels.args_of(r)))
        for fname, margs in r['modules']:
            path = os.path.join(tmp, fname)
            with open(path, 'wb') as f:
                f.write(kernels.MODULE_FILES[fname])
            modules.append((path, margs))
    with open(listing, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return modules


def split_log(log):
    """{run: {'lines': [...], 'how': str or None}} from a batch boot's log (tap.Log)."""
    out = {}
    for text in log.message_texts():
        m = EXIT_RE.fullmatch(text)
        if m:
            out.setdefault(m.group(1), {'lines': [], 'how': None})['how'] = m.group(2)
            continue
        m = VGA_RE.fullmatch(text)
        if m:
            entry = out.setdefault(m.group(1), {'lines': [], 'how': None})
            entry.setdefault('vga', {})[int(m.group(2))] = m.group(3)
            continue
        m = LINE_RE.fullmatch(text)
        if m:
            out.setdefault(m.group(1), {'lines': [], 'how': None})['lines'].append(m.group(2))
    return out


def status_of(how):
    """QEMU's exit status for how a guest ended under bhyvelet."""
    if how is None:
        return None
    m = re.fullmatch(r'debug-exit status=(\d+)', how)
    return int(m.group(1)) & 0xff if m else 0


def batch_boot(platform, names, log_path, timeout=None):
    """One bhyvelet boot running every run in names; returns (run.RunResult, split log)."""
    mem = max(kernels.RUNS[n]['mem'] for n in names)
    with tempfile.TemporaryDirectory(prefix='mbcompare.') as tmp:
        modules = batch_modules(names, tmp)
        res = run.run_kernel(platform, 2, run.DEFAULT_MEM + mem, 'guest=batch',
                             timeout, log_path, judge=tap.judge_notap, modules=modules)
    return res, split_log(res.log)


def compare(name, got, ref):
    """(verdict, why): verdict 'pass', 'fail' or 'pending' for one run."""
    r = kernels.RUNS[name]
    if got is None or got['how'] is None:
        verdict, why = 'fail', 'no "exited:" line: the batch did not get to it'
    elif r['model'] == 'cpu':
        fails = [l for l in got['lines'] if l.startswith('FAIL - ')]
        st = status_of(got['how'])
        ok = st == kernels.PASS and not fails
        verdict = 'pass' if ok else 'fail'
        why = 'a CPU\'s behaviour: status %s%s' % (st, (', ' + fails[0]) if fails else '')
    else:
        want_lines, want_status = ref
        st = status_of(got['how'])
        if got['lines'] == want_lines and st == want_status:
            verdict, why = 'pass', 'same %d lines and status %d as plain QEMU' % (
                len(want_lines), want_status)
        else:
            verdict = 'fail'
            diff = first_difference(got['lines'], want_lines)
            why = 'status %s (plain QEMU %d), exited: %s%s' % (st, want_status, got['how'],
                                                               diff)
    if verdict == 'pass':
        for line in got['lines']:
            m = VGA_ROW_RE.fullmatch(line)
            if m and not got.get('vga', {}).get(int(m.group(1)), '').startswith(m.group(2)):
                verdict, why = 'fail', 'the host shows no VGA row %s "%s" (vga lines: %s)' % (
                    m.group(1), m.group(2), got.get('vga'))
                break
    if verdict == 'fail' and name in PENDING:
        return 'pending', '%s; %s' % (PENDING[name], why)
    return verdict, why


def first_difference(got, want):
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return '; line %d is %r, plain QEMU %r' % (i + 1, g, w)
    if len(got) != len(want):
        return '; %d lines, plain QEMU %d' % (len(got), len(want))
    return ''


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--platform', default='qemu', choices=run.PLATFORMS)
    ap.add_argument('--log', default=None)
    ap.add_argument('runs', nargs='*', help='runs of guest/mb/kernels.py (default: all)')
    a = ap.parse_args(argv)
    names = a.runs or bhyvelet_runs()
    for n in names:
        if n not in kernels.RUNS:
            ap.error('no run %r in guest/mb/kernels.py' % n)
    platform, _ = run.resolve_platform(a.platform)
    log_path = a.log or os.path.join('build', 'logs', 'mbcompare-%s.log' % platform)
    singles = [n for n in input_runs(platform) if not a.runs or n in a.runs]
    names = [n for n in names if n not in singles]
    refs = references(names + singles)
    got = batch_boot(platform, names, log_path)[1] if names else {}
    for n in singles:
        _, got[n] = single_boot(platform, n, log_path.replace('.log', '-%s.log' % n))
    counts = {'pass': 0, 'fail': 0, 'pending': 0}
    for n in names + singles:
        verdict, why = compare(n, got.get(n), refs.get(n))
        counts[verdict] += 1
        print('%s %s %s: %s' % ({'pass': 'PASS', 'fail': 'FAIL', 'pending': 'SKIP'}[verdict],
                                platform, n, why))
    print('mbcompare %s: %d passed, %d failed, %d pending (log %s)' % (
        platform, counts['pass'], counts['fail'], counts['pending'], log_path))
    return 1 if counts['fail'] else 0


if __name__ == '__main__':
    sys.exit(main())
