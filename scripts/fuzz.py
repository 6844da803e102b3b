#!/usr/bin/env python3
"""Run the in-kernel fuzzer over a range of seeds in one boot and print how the guests ended.

  python3 scripts/fuzz.py [--seeds 0:10000] [--platform qemu] [--cpus 2] [--verbose]
      [--markdown] [--timeout SEC] [--logdir build/logs] [--kernel build/kernel.bin]

The boot's command line is fuzz=A:B (kern/vmm/fuzz/, docs/fuzz.md): the kernel runs the guests of
seeds A..B-1 one after another, checks the host every 100 of them and prints a table, one line
per way a guest ended ("fuzz:  COUNT  FIRST_SEED  HOW"), then "fuzz: N guests, M failures".
This script prints that table (as Markdown with --markdown) and every "fuzz: FAIL seed S" line;
each names the `make run GUEST=fuzz:S` that replays it. --verbose (the kernel's fuzz_verbose=1)
logs a line per guest, so that the last one names the seed an emulator died in.
Exit status 0 iff the boot ended normally and the kernel counted no failure.
Only the Python standard library is used.
"""

import argparse
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402
import tap  # noqa: E402

# Wall time allowed per guest, generous: a guest ends by itself or at the kernel's time limit
# (50 ms on QEMU, 400 ms on Bochs), plus its VM's creation and teardown.
PER_SEED = {'bochs': 3.0, 'qemu': 0.3}

ROW = re.compile(r'fuzz: +(\d+) +(\d+) +(.*?)(  FAIL)?$')
FAIL = re.compile(r'fuzz: FAIL seed (\d+): (.*)$')
TOTAL = re.compile(r'fuzz: (\d+) guests, (\d+) failures')
HEAD = re.compile(r'fuzz: seeds (\d+)\.\.(\d+) on (\w+): (.*)$')


def parse_seeds(text):
    m = re.fullmatch(r'(\d+):(\d+)', text)
    if not m or int(m.group(1)) >= int(m.group(2)):
        raise argparse.ArgumentTypeError('want A:B with A < B, got %r' % text)
    return int(m.group(1)), int(m.group(2))


def summary(lines):
    """The last table in the log: (head, rows, fails, total) or None."""
    head, rows, fails, total = None, [], [], None
    for line in lines:
        line = re.sub(r'^\[cpu\d+\] (WARNING: )?', '', line.rstrip())
        m = FAIL.search(line)
        if m:
            fails.append((int(m.group(1)), m.group(2)))
            continue
        m = HEAD.search(line)
        if m:
            head, rows = m.groups(), []
            continue
        m = TOTAL.search(line)
        if m:
            total = (int(m.group(1)), int(m.group(2)))
            continue
        m = ROW.search(line)
        if m and head is not None:
            rows.append((int(m.group(1)), int(m.group(2)), m.group(3), bool(m.group(4))))
    if total is None:
        return None
    return head, rows, fails, total


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', type=parse_seeds, default=(0, 10000), help='A:B (default 0:10000)')
    ap.add_argument('--platform', default='qemu', choices=run.PLATFORMS)
    ap.add_argument('--cpus', type=int, default=2)
    ap.add_argument('--verbose', action='store_true', help='a kernel log line per guest')
    ap.add_argument('--markdown', action='store_true', help='the table as Markdown')
    ap.add_argument('--timeout', type=float, default=None, help='for the boot (default: per seed)')
    ap.add_argument('--logdir', default='build/logs')
    ap.add_argument('--kernel', default='build/kernel.bin')
    a = ap.parse_args(argv)
    run.install_signal_handlers()
    if not os.path.isfile(a.kernel):
        print('fuzz: %s not found: build it first (make)' % a.kernel, file=sys.stderr)
        return 1
    platform, note = run.resolve_platform(a.platform)
    first, last = a.seeds
    per = PER_SEED['bochs' if platform.startswith('bochs') else 'qemu']
    timeout = a.timeout or 120 + per * (last - first)
    cmdline = 'fuzz=%d:%d%s' % (first, last, ' fuzz_verbose=1' if a.verbose else '')
    log_path = os.path.join(a.logdir, 'fuzz-%s-cpus%d-%d-%d.log' % (platform, a.cpus, first, last))
    print('fuzz: platform=%s%s cpus=%d seeds %d..%d timeout=%.0fs log=%s'
          % (platform, ' (%s)' % note if note else '', a.cpus, first, last - 1, timeout, log_path),
          file=sys.stderr, flush=True)
    res = run.run_kernel(platform, a.cpus, None, cmdline, timeout, log_path, False, a.kernel,
                         judge=tap.judge_notap)
    with open(log_path, errors='replace') as f:
        got = summary(f.readlines())
    if got is None:
        print('fuzz: no summary in the log: %s' % res.verdict.reason)
        for line in run.failure_details(res):
            print('    ' + line)
        return 1
    head, rows, fails, (guests, failures) = got
    if head:
        print('%s, %d CPU%s, seeds %s..%s on %s: %s'
              % (platform, a.cpus, '' if a.cpus == 1 else 's', head[0], head[1], head[2], head[3]))
    if a.markdown:
        print()
        print('| guests | first seed | how they ended |')
        print('|---:|---:|---|')
        for n, seed, how, bad in rows:
            print('| %d | %d | %s%s |' % (n, seed, how.replace('|', '\\|'), ' **FAIL**' if bad else ''))
    else:
        for n, seed, how, bad in rows:
            print('%8d  %-10d  %s%s' % (n, seed, how, '  FAIL' if bad else ''))
    for seed, why in fails[:20]:
        print('FAIL seed %d: %s' % (seed, why))
    if len(fails) > 20:
        print('... and %d more FAIL lines in %s' % (len(fails) - 20, log_path))
    print('%d guests, %d failures (%s, %.0f s)' % (guests, failures, 'boot ok' if res.ok else
                                                  res.verdict.reason, res.elapsed))
    return 0 if res.ok and failures == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
