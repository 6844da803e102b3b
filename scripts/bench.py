#!/usr/bin/env python3
"""Boot bhyvelet several times with bench= and print the medians of its measurements.

  python3 scripts/bench.py [--platform qemu] [--cpus 2] [--runs 5] [--bench all]
      [--markdown] [--mem MiB] [--timeout SEC] [--extra "more cmdline words"]
      [--logdir build/logs] [--kernel build/kernel.bin] [--mttcg]

Each boot runs with the kernel command line bench=NAME (all by default) and prints one line per
measurement repeat:

  # bench: NAME value=V unit=UNIT

A bench may print many lines with the same NAME. The table has one row per (NAME, UNIT): the
median, min and max over every sample of every boot, and the sample count. A boot passes iff it
ends with "# bhyvelet: shutdown status=0" and did not panic or bail out (bench boots print no
TAP). A failed boot is reported and makes the exit status 1; so does a run with no samples.
--markdown prints the table as Markdown (for docs/benchmarks.md) on stdout, and the progress
lines on stderr, so `bench.py --markdown > table.md` keeps only the table.
Only the Python standard library is used.
"""

import argparse
import datetime
import os
import platform as pyplatform
import statistics
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402
import tap  # noqa: E402


@dataclass
class Samples:
    name: str
    unit: str
    values: List[float] = field(default_factory=list)

    @property
    def median(self):
        return statistics.median(self.values)


def collect(logs):
    """{(name, unit): Samples} from parsed logs (tap.Log), in order of first appearance.
    Returns (table, problems) where problems lists lines whose value is not a number."""
    table: Dict[Tuple[str, str], Samples] = {}
    problems = []
    for log in logs:
        for name, value, unit in log.bench:
            try:
                v = float(value)
            except ValueError:
                problems.append('# bench: %s value=%s unit=%s: value is not a number'
                                % (name, value, unit))
                continue
            table.setdefault((name, unit), Samples(name, unit)).values.append(v)
    return table, problems


def fmt(v):
    if v == int(v):
        return str(int(v))
    if abs(v) >= 100:
        return '%.0f' % v
    return '%.4g' % v


HEADERS = ('benchmark', 'unit', 'median', 'min', 'max', 'samples')


def rows(table):
    return [(s.name, s.unit, fmt(s.median), fmt(min(s.values)), fmt(max(s.values)),
             str(len(s.values))) for s in table.values()]


def format_text(table):
    data = [HEADERS] + rows(table)
    widths = [max(len(r[i]) for r in data) for i in range(len(HEADERS))]
    out = []
    for k, r in enumerate(data):
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        out.append('  '.join(cells).rstrip())
        if k == 0:
            out.append('  '.join('-' * w for w in widths))
    return out


def format_markdown(table):
    out = ['| ' + ' | '.join(HEADERS) + ' |',
           '|' + '|'.join(['---', '---', '---:', '---:', '---:', '---:']) + '|']
    for r in rows(table):
        out.append('| ' + ' | '.join(r) + ' |')
    return out


# Each real exit beside its floor (vm_exit_floor: the world switch alone).
FLOORS = (('vmm_exit_cpuid', 'vmm_exit_floor_cpuid'),
          ('vmm_exit_portio', 'vmm_exit_floor_out'),
          ('vmm_exit_portio_thread', 'vmm_exit_floor_out'))


def floor_ratios(table):
    """(exit, floor, ratio of the medians) for each pair measured in one unit."""
    med = {name: s.median for (name, unit), s in table.items()}
    return [(e, f, med[e] / med[f]) for e, f in FLOORS
            if e in med and f in med and med[f] > 0]


def format_ratios(table, markdown):
    r = floor_ratios(table)
    if not r:
        return []
    if markdown:
        return ['', '| exit / floor | ratio of medians |', '|---|---:|'] + \
            ['| %s / %s | %.2fx |' % (e, f, x) for e, f, x in r]
    w = max(len(e) + len(f) for e, f, _ in r) + 3
    return [''] + [('%s / %s' % (e, f)).ljust(w) + '  %.2fx' % x for e, f, x in r]


def host_cpu():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return pyplatform.processor() or 'unknown CPU'


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--platform', default='qemu', choices=run.PLATFORMS)
    ap.add_argument('--cpus', type=int, default=2)
    ap.add_argument('--runs', type=int, default=5, help='boots (default 5)')
    ap.add_argument('--bench', default='all', help='benchmark to run (default all)')
    ap.add_argument('--markdown', action='store_true', help='print the table as Markdown')
    ap.add_argument('--mem', type=int, default=run.DEFAULT_MEM)
    ap.add_argument('--timeout', type=float, default=None,
                    help='per boot (default 120 s QEMU, 300 s Bochs)')
    ap.add_argument('--extra', default='', help='more kernel command-line words')
    ap.add_argument('--logdir', default='build/logs', help='where serial logs are kept')
    ap.add_argument('--kernel', default='build/kernel.bin')
    ap.add_argument('--mttcg', action='store_true',
                    help='QEMU TCG multi-threaded (run.py --mttcg); see docs/platforms.md for '
                         'what it does to SVM guests on CPU 0')
    a = ap.parse_args(argv)
    if a.runs < 1 or a.cpus < 1:
        ap.error('--runs and --cpus must be at least 1')
    run.install_signal_handlers()
    if not os.path.isfile(a.kernel):
        print('bench: %s not found: build it first (make)' % a.kernel, file=sys.stderr)
        return 1
    platform, note = run.resolve_platform(a.platform)
    if a.mttcg and platform not in ('qemu-tcg', 'qemu-grub'):
        ap.error('--mttcg needs QEMU TCG; the platform is %s' % platform)
    if a.mttcg:
        note = (note + '; ' if note else '') + 'multi-threaded TCG'
    info = sys.stderr if a.markdown else sys.stdout

    def say(text=''):
        print(text, file=info, flush=True)

    cmdline = ('bench=%s %s' % (a.bench, a.extra)).strip()
    say('bench: platform=%s%s cpus=%d runs=%d cmdline="%s"'
        % (platform, ' (%s)' % note if note else '', a.cpus, a.runs, cmdline))

    logs, failed = [], 0
    for i in range(1, a.runs + 1):
        log_path = os.path.join(a.logdir, 'bench-%s%s-cpus%d-%d.log'
                                % (platform, '-mttcg' if a.mttcg else '', a.cpus, i))
        try:
            res = run.run_kernel(platform, a.cpus, a.mem, cmdline, a.timeout, log_path,
                                 False, a.kernel, judge=tap.judge_notap, mttcg=a.mttcg)
        except Exception as e:  # noqa: BLE001 -- a broken host setup: report, go on
            say('boot %d/%d: FAIL runner error: %s: %s' % (i, a.runs, type(e).__name__, e))
            failed += 1
            continue
        n = len(res.log.bench)
        if res.ok:
            say('boot %d/%d: PASS (%d samples, %.1f s)' % (i, a.runs, n, res.elapsed))
            logs.append(res.log)
        else:
            failed += 1
            say('boot %d/%d: FAIL %s (%d samples, %.1f s)'
                % (i, a.runs, res.verdict.reason, n, res.elapsed))
            for line in run.failure_details(res):
                say('    ' + line)

    table, problems = collect(logs)
    for p in problems:
        say('bench: ignored: ' + p)
    if not a.markdown:
        say()
    if table:
        if a.markdown:
            when = datetime.date.today().isoformat()
            print('%s%s, %d CPU%s, %d boot%s (%d passed), bench=%s, %s; host: %s'
                  % (platform, ' mttcg' if a.mttcg else '', a.cpus, '' if a.cpus == 1 else 's', a.runs,
                     '' if a.runs == 1 else 's', len(logs), a.bench, when, host_cpu()))
            print()
            lines = format_markdown(table)
        else:
            lines = format_text(table)
        for line in lines + format_ratios(table, a.markdown):
            print(line)
    else:
        say('bench: no "# bench:" lines in %d passed boot%s'
            % (len(logs), '' if len(logs) == 1 else 's'))
    if failed:
        say('bench: %d of %d boots failed' % (failed, a.runs))
    return 1 if failed or not table else 0


if __name__ == '__main__':
    sys.exit(main())
