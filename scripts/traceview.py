#!/usr/bin/env python3
"""Draw a bhyvelet trace dump: Chrome/Perfetto trace-event JSON and two PNGs.

  python3 scripts/traceview.py LOG [--out DIR] [--dump N]

LOG is a serial log (or a file holding one dump); --dump N picks the Nth dump (1-based,
default the last). Writes, in DIR (default: next to LOG), NAME.trace.json (open it in
https://ui.perfetto.dev or chrome://tracing), NAME.timeline.png and NAME.exits.png, NAME
being LOG's name without .log plus -dumpN, and prints each path. The PNGs need
python3-matplotlib; without it only the JSON is written (a note says so).

Tracks: one per CPU (pid 0 "bhyvelet", tid = CPU id, "cpuN"). On each: a slice per kernel
thread while it runs there (swtch:switch old->new), inside it the guest's time (vmentry:entry
to vmexit:exit, named by the exit reason) and the ctxop walks (savectx, restorectx), instants
for swtch:migrate and vmexit:exit. The exit histogram is the time from a vCPU's vmexit:exit
to its next vmentry:entry: the host's handling of the exit.

Clock: a record's ns= value (gethrtime()) when every record of the dump has one, else its
SEQ number, one unit per record (the kernel's dump prints no time today). The JSON says
which in otherData.clock; the plots label their axes with it.

Exit status: 0 written, 2 no such dump or a malformed one (the message names the line).
Usable as a module: build(dump, lines) -> View; write(view, out_dir, stem) -> paths.
"""

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Dict, List

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tracecheck  # noqa: E402

PID = 0
# The arguments a probe must carry for its record to be drawn.
NEEDS = {
    'swtch:switch': ('old', 'new'),
    'swtch:migrate': ('from', 'to'),
    'vmentry:entry': ('vcpu',),
    'vmexit:exit': ('vcpu', 'reason'),
    'vm_run:entry': ('vcpu',),
}
WALKS = {'savectx:entry': 'savectx', 'restorectx:entry': 'restorectx'}
WALK_ENDS = {'savectx:return': 'savectx', 'restorectx:return': 'restorectx'}


class Malformed(Exception):
    pass


@dataclass
class Slice:
    cpu: int
    start: float
    end: float
    name: str
    cat: str                    # thread, guest, ctxop
    args: Dict[str, str] = field(default_factory=dict)


@dataclass
class Instant:
    cpu: int
    ts: float
    name: str
    cat: str                    # migrate, exit
    args: Dict[str, str] = field(default_factory=dict)


@dataclass
class View:
    clock: str                  # 'ns' (µs on the axes) or 'seq'
    cpus: List[int]
    slices: List[Slice] = field(default_factory=list)
    instants: List[Instant] = field(default_factory=list)
    latencies: List[tuple] = field(default_factory=list)   # (reason, duration)
    names: Dict[str, str] = field(default_factory=dict)    # thread -> label
    notes: List[str] = field(default_factory=list)

    @property
    def unit(self):
        return 'µs' if self.clock == 'ns' else 'SEQ'


def short(addr):
    """An address cut to its last six digits: the kernel's heap addresses share the rest."""
    return addr[-6:] if addr.startswith('0x') and len(addr) > 8 else addr


def clock_of(dump):
    """'ns' when every record carries ns=, else 'seq'."""
    ok = all(r.args.get('ns', '').isdigit() for r in dump.records)
    return 'ns' if ok else 'seq'


def check(dump, lines):
    """Raise Malformed for what would draw a wrong picture rather than an empty one."""
    if not dump.records:
        raise Malformed('dump %d (line %d) holds no records (--dump N picks another)'
                        % (dump.index, dump.begin_lineno))
    # A garbled line would silently pair the wrong records; console lines ([cpuN] ...) are not.
    seen = {r.lineno for r in dump.records}
    last = dump.records[-1].lineno
    for n in range(dump.begin_lineno + 1, last):
        text = lines[n - 1].replace('\r', '').strip()
        if (n not in seen and text and not tracecheck.HEADER_RE.match(text)
                and not text.startswith('[')):
            raise Malformed('line %d is not a trace record: %.60s' % (n, text))
    prev = None
    for r in dump.records:
        if prev is not None and r.seq <= prev.seq:
            raise Malformed('line %d: SEQ %d after %d (records out of order)'
                            % (r.lineno, r.seq, prev.seq))
        missing = [a for a in NEEDS.get(r.probe, ()) if a not in r.args]
        if missing:
            raise Malformed('line %d: %s without %s=' % (r.lineno, r.probe, '= '.join(missing)))
        prev = r


def build(dump, lines):
    """The slices, instants and exit latencies of one parsed dump."""
    check(dump, lines)
    clock = clock_of(dump)
    if clock == 'ns':
        def ts(r):
            return int(r.args['ns']) / 1000.0
    else:
        def ts(r):
            return float(r.seq)
    recs = dump.records
    view = View(clock, sorted({r.cpu for r in recs}))
    if clock == 'seq':
        view.notes.append('the dump has no ns= times; the clock is SEQ (one unit per record)')
    if not dump.ended:
        view.notes.append('dump %d has no "# trace end" line: log cut short?' % dump.index)
    if dump.dropped:
        view.notes.append('%d records dropped; slices open at a SEQ hole are left out'
                          % dump.dropped)
    vcpu_threads = {r.thread: r.args['vcpu'] for r in recs if r.probe == 'vm_run:entry'}
    for r in recs:
        for t in (r.thread, r.args.get('old'), r.args.get('new')):
            if t and t not in view.names:
                v = vcpu_threads.get(t)
                view.names[t] = ('vcpu@%s thread@%s' % (short(v), short(t)) if v
                                 else 'thread@%s' % short(t))

    running = {}        # cpu -> (thread, start)
    guest = {}          # cpu -> vmentry record
    walks = {}          # (cpu, thread) -> walk entry record
    last_exit = {}      # vcpu -> vmexit record
    end = ts(recs[-1])
    prev_seq = None
    for r in recs:
        t = ts(r)
        if prev_seq is not None and r.seq != prev_seq + 1:
            # A lost record may be the other end of anything open; drop rather than guess.
            for open_ in (guest, walks, last_exit):
                open_.clear()
        prev_seq = r.seq
        if r.cpu not in running:
            running[r.cpu] = (r.thread, t)
        p = r.probe
        if p == 'swtch:switch':
            old, start = running[r.cpu]
            if t > start:       # not the CPU's first record: that thread's start is unknown
                view.slices.append(Slice(r.cpu, start, t, view.names[old], 'thread',
                                         {'thread': old}))
            running[r.cpu] = (r.args['new'], t)
        elif p == 'vmentry:entry':
            guest[r.cpu] = r
            ex = last_exit.pop(r.args['vcpu'], None)
            if ex is not None:
                view.latencies.append((ex.args['reason'], t - ts(ex)))
        elif p == 'vmexit:exit':
            reason, vcpu = r.args['reason'], r.args['vcpu']
            ent = guest.pop(r.cpu, None)
            if ent is not None and ent.args['vcpu'] == vcpu:
                view.slices.append(Slice(r.cpu, ts(ent), t, 'guest: ' + reason, 'guest',
                                         {'vcpu': vcpu, 'kind': ent.args.get('kind', '?'),
                                          'reason': reason}))
            view.instants.append(Instant(r.cpu, t, 'exit ' + reason, 'exit',
                                         {'vcpu': vcpu, 'reason': reason}))
            last_exit[vcpu] = r
        elif p == 'swtch:migrate':
            view.instants.append(Instant(r.cpu, t, 'migrate %s->%s' % (r.args['from'],
                                                                      r.args['to']),
                                         'migrate', {'thread': r.thread,
                                                     'from': r.args['from'],
                                                     'to': r.args['to']}))
        elif p in WALKS:
            walks[(r.cpu, r.thread)] = r
        elif p in WALK_ENDS:
            ent = walks.pop((r.cpu, r.thread), None)
            if ent is not None and WALKS[ent.probe] == WALK_ENDS[p]:
                view.slices.append(Slice(r.cpu, ts(ent), t, WALK_ENDS[p], 'ctxop',
                                         {'thread': r.thread,
                                          'nodes': ent.args.get('nodes', '?')}))
    for cpu, (thread, start) in running.items():
        if end > start:
            view.slices.append(Slice(cpu, start, end, view.names[thread], 'thread',
                                     {'thread': thread}))
    view.slices.sort(key=lambda s: (s.cpu, s.start, -(s.end - s.start)))
    return view


def trace_events(view):
    """The Trace Event Format object for a View."""
    ev = [{'ph': 'M', 'pid': PID, 'name': 'process_name', 'args': {'name': 'bhyvelet'}}]
    for c in view.cpus:
        ev.append({'ph': 'M', 'pid': PID, 'tid': c, 'name': 'thread_name',
                   'args': {'name': 'cpu%d' % c}})
        ev.append({'ph': 'M', 'pid': PID, 'tid': c, 'name': 'thread_sort_index',
                   'args': {'sort_index': c}})
    for s in view.slices:
        ev.append({'ph': 'X', 'pid': PID, 'tid': s.cpu, 'ts': s.start, 'dur': s.end - s.start,
                   'name': s.name, 'cat': s.cat, 'args': s.args})
    for i in view.instants:
        ev.append({'ph': 'i', 's': 't', 'pid': PID, 'tid': i.cpu, 'ts': i.ts,
                   'name': i.name, 'cat': i.cat, 'args': i.args})
    return {'traceEvents': ev, 'displayTimeUnit': 'ns',
            'otherData': {'clock': view.clock,
                          'note': 'ts in µs' if view.clock == 'ns' else
                          'ts is the record SEQ number (no time in the dump)'}}


def plot_timeline(view, path, plt):
    threads = sorted({s.args['thread'] for s in view.slices if s.cat == 'thread'},
                     key=lambda t: view.names[t])
    cmap = plt.get_cmap('tab10')
    color = {t: cmap(i % 10) for i, t in enumerate(threads)}
    height = 1.3 + 0.9 * len(view.cpus)
    fig, ax = plt.subplots(figsize=(11, height), dpi=90)
    for row, cpu in enumerate(view.cpus):
        y = row * 10
        # One call per colour: thousands of single-bar calls take seconds.
        spans = {}
        for s in (s for s in view.slices if s.cpu == cpu):
            key = s.args['thread'] if s.cat == 'thread' else s.cat
            spans.setdefault(key, []).append((s.start, max(s.end - s.start, 1e-9)))
        for key, bars in spans.items():
            # zorder: a thread's translucent bar drawn later would tint what it holds.
            if key == 'guest':
                ax.broken_barh(bars, (y + 2.5, 3), facecolors='black', zorder=2)
            elif key == 'ctxop':
                ax.broken_barh(bars, (y + 6.5, 1.5), facecolors='red', zorder=2)
            else:
                ax.broken_barh(bars, (y, 8), facecolors=color[key], alpha=0.45, zorder=1)
        mig = [i.ts for i in view.instants if i.cpu == cpu and i.cat == 'migrate']
        ax.plot(mig, [y + 9] * len(mig), 'v', color='blue', markersize=6, linestyle='none')
    ax.set_yticks([row * 10 + 4 for row in range(len(view.cpus))])
    ax.set_yticklabels(['cpu%d' % c for c in view.cpus])
    ax.set_ylim(-1, 10 * len(view.cpus) + 1)
    ax.invert_yaxis()
    ax.set_xlabel('time (µs)' if view.clock == 'ns' else 'SEQ (record number; no time in the dump)')
    handles = [plt.Rectangle((0, 0), 1, 1, color=color[t], alpha=0.45) for t in threads[:8]]
    labels = [view.names[t] for t in threads[:8]]
    handles += [plt.Rectangle((0, 0), 1, 1, color='black'),
                plt.Rectangle((0, 0), 1, 1, color='red'),
                plt.Line2D([], [], marker='v', color='blue', linestyle='none')]
    labels += ['guest (VM_RUN)', 'savectx/restorectx', 'migrate']
    # Below the axes, clear of the x label whatever the number of CPU rows.
    ax.legend(handles, labels, fontsize=7, ncol=4, loc='upper center',
              bbox_to_anchor=(0.5, -0.6 / height), frameon=False)
    ax.set_title('bhyvelet trace: threads, guest time and ctxop walks per CPU', fontsize=10)
    fig.savefig(path, bbox_inches='tight')
    plt.close(fig)


def plot_exits(view, path, plt):
    fig, ax = plt.subplots(figsize=(8, 4), dpi=90)
    vals = [d for _, d in view.latencies if d > 0]
    if vals:
        lo, hi = min(vals), max(vals)
        hi = hi * 1.01 if hi > lo else lo * 10
        n = 40
        bins = [lo * (hi / lo) ** (k / n) for k in range(n + 1)]
        by = {}
        for reason, d in view.latencies:
            if d > 0:
                by.setdefault(reason, []).append(d)
        order = sorted(by, key=lambda k: -len(by[k]))
        ax.hist([by[k] for k in order], bins=bins, stacked=True,
                label=['%s (%d)' % (k, len(by[k])) for k in order])
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, 'no exit followed by an entry', ha='center', transform=ax.transAxes)
    ax.set_xscale('log')
    ax.set_xlabel('vmexit:exit to the next vmentry:entry of the vCPU (%s)' % view.unit)
    ax.set_ylabel('exits')
    ax.set_title('exit handling time in the host', fontsize=10)
    fig.savefig(path, bbox_inches='tight')
    plt.close(fig)


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display), or None if not installed."""
    try:
        import matplotlib
    except ImportError:
        # Debian's python3-matplotlib, for a python3 of the same version that is not
        # Debian's (pyenv, a venv) and so does not search its packages.
        debian = '/usr/lib/python3/dist-packages'
        if debian in sys.path or not os.path.isdir(os.path.join(debian, 'matplotlib')):
            return None
        sys.path.append(debian)
        try:
            import matplotlib
        except ImportError:
            return None
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def write(view, out_dir, stem):
    """Write the JSON and, with matplotlib, the PNGs; the paths written."""
    os.makedirs(out_dir, exist_ok=True)
    paths = [os.path.join(out_dir, stem + '.trace.json')]
    with open(paths[0], 'w') as f:
        json.dump(trace_events(view), f, separators=(',', ':'))
    plt = pyplot()
    if plt is None:
        view.notes.append('no matplotlib (apt-get install python3-matplotlib): no PNGs')
        return paths
    for suffix, fn in (('.timeline.png', plot_timeline), ('.exits.png', plot_exits)):
        paths.append(os.path.join(out_dir, stem + suffix))
        fn(view, paths[-1], plt)
    return paths


def load(path, which=None):
    """(dump, lines) for the dump numbered which (1-based; None: the last) of the log."""
    with open(path, 'rb') as f:
        lines = f.read().decode('utf-8', 'replace').split('\n')
    dumps = tracecheck.parse_dumps(lines)
    if not dumps:
        raise Malformed('no trace dump in %s' % path)
    if which is None:
        which = len(dumps)
    if not 1 <= which <= len(dumps):
        raise Malformed('--dump %d: %s holds %d dump%s' % (which, path, len(dumps),
                                                           '' if len(dumps) == 1 else 's'))
    return dumps[which - 1], lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('log', help='serial log, or a file holding one trace dump')
    ap.add_argument('--out', metavar='DIR', help="where to write (default: the log's folder)")
    ap.add_argument('--dump', type=int, metavar='N', help='which dump, 1-based (default: last)')
    a = ap.parse_args(argv)
    try:
        dump, lines = load(a.log, a.dump)
        view = build(dump, lines)
    except OSError as e:
        print('traceview: cannot read %s: %s' % (a.log, e.strerror or e), file=sys.stderr)
        return 2
    except Malformed as e:
        print('traceview: %s: %s' % (a.log, e), file=sys.stderr)
        return 2
    base = os.path.basename(a.log)
    stem = '%s-dump%d' % (base[:-4] if base.endswith('.log') else base, dump.index)
    paths = write(view, a.out or os.path.dirname(os.path.abspath(a.log)), stem)
    for n in view.notes:
        print('traceview: ' + n, file=sys.stderr)
    for p in paths:
        print(p)
    return 0


if __name__ == '__main__':
    sys.exit(main())
