"""Host unit tests for scripts/traceview.py, on small synthetic dumps.

  cd tests/host && python3 -m unittest test_traceview -v

The records are printed as kern/trace.c's trace_dump() prints them.
"""

import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stdout, redirect_stderr

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                'scripts'))
import traceview  # noqa: E402

A = '0xffff8000001c0540'       # a kernel thread, cpu0 then cpu1
B = '0xffff8000001c0900'       # the vCPU thread, cpu0
C = '0xffff8000001c0180'       # cpu1's thread
VC = '0xffff800000800040'
FPU_OP = '0xffff8000005f5040'
HEADER = ('CPU     ID                    FUNCTION:NAME  SEQ      THREAD'
          '              ARGS')


def record(cpu, probe, seq, thread, args=(), ns=None):
    """One record line, as trace_dump() prints it (ID is not read, any number will do)."""
    args = list(args) + (['ns=%d' % ns] if ns is not None else [])
    return '%3u %6u %32s  %-8u %s %s' % (cpu, 11, probe, seq, thread,
                                         ''.join(' ' + a for a in args))


# (cpu, probe, thread, args); SEQ is the position + 1, ns = SEQ * 1000 + 500 with ns=.
RECORDS = [
    (0, 'swtch:switch', A, ['old=' + A, 'new=' + B]),                     # 1
    (1, 'swtch:switch', C, ['old=' + C, 'new=' + A]),                     # 2
    (1, 'swtch:migrate', A, ['from=0', 'to=1']),                          # 3
    (0, 'vm_run:entry', B, ['vcpu=' + VC]),                               # 4
    (0, 'vmentry:entry', B, ['vcpu=' + VC, 'kind=vmrun']),                # 5
    (0, 'vmexit:exit', B, ['vcpu=' + VC, 'reason=cpuid']),                # 6
    (0, 'vmentry:entry', B, ['vcpu=' + VC, 'kind=vmrun']),                # 7
    (0, 'vmexit:exit', B, ['vcpu=' + VC, 'reason=hlt']),                  # 8
    (0, 'vm_run:return', B, ['vcpu=' + VC, 'exit=hlt']),                  # 9
    (0, 'swtch:switch', B, ['old=' + B, 'new=' + C]),                     # 10
    (0, 'savectx:entry', B, ['nodes=1']),                                 # 11
    (0, 'ctxop:save', B, ['hook=fpu_ctx_save', 'op=' + FPU_OP]),          # 12
    (0, 'savectx:return', B, []),                                         # 13
    (1, 'swtch:switch', A, ['old=' + A, 'new=' + B]),                     # 14
    (1, 'swtch:migrate', B, ['from=0', 'to=1']),                          # 15
    (1, 'restorectx:entry', B, ['nodes=1']),                              # 16
    (1, 'ctxop:restore', B, ['hook=fpu_ctx_restore', 'op=' + FPU_OP]),    # 17
    (1, 'restorectx:return', B, []),                                      # 18
    (1, 'vmentry:entry', B, ['vcpu=' + VC, 'kind=vmrun']),                # 19
    (1, 'vmexit:exit', B, ['vcpu=' + VC, 'reason=inout']),                # 20
]


def dump_lines(records=RECORDS, ns=False, end=True):
    out = ['[cpu0] trace test: before the dump',
           '# trace begin: cpus=2 records=%d dropped=0' % len(records), HEADER]
    out += [record(c, p, i, t, a, i * 1000 + 500 if ns else None)
            for i, (c, p, t, a) in enumerate(records, 1)]
    return out + (['# trace end: dropped=0'] if end else []) + ['[cpu0] after']


class TraceTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def log(self, lines, name='t.log'):
        path = os.path.join(self.tmp.name, name)
        with open(path, 'w') as f:
            f.write('\r\n'.join(lines) + '\r\n')    # serial logs end lines with CR LF
        return path

    def run_main(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            rc = traceview.main(list(argv))
        return rc, out.getvalue(), err.getvalue()

    def events(self, lines):
        path = self.log(lines)
        rc, out, err = self.run_main(path, '--out', self.tmp.name)
        self.assertEqual(rc, 0, err)
        js = [p for p in out.split() if p.endswith('.json')]
        self.assertEqual(len(js), 1, out)
        with open(js[0]) as f:
            return json.loads(f.read())

    @staticmethod
    def pick(ev, ph, cat=None, tid=None):
        return [e for e in ev['traceEvents'] if e['ph'] == ph and
                (cat is None or e.get('cat') == cat) and (tid is None or e.get('tid') == tid)]


class JsonTest(TraceTest):
    def test_tracks(self):
        ev = self.events(dump_lines())
        meta = self.pick(ev, 'M')
        self.assertIn({'ph': 'M', 'pid': 0, 'name': 'process_name',
                       'args': {'name': 'bhyvelet'}}, meta)
        names = {e['tid']: e['args']['name'] for e in meta if e['name'] == 'thread_name'}
        self.assertEqual(names, {0: 'cpu0', 1: 'cpu1'})
        self.assertTrue(all(e['pid'] == 0 for e in ev['traceEvents']))

    def test_thread_slices_seq_clock(self):
        ev = self.events(dump_lines())
        self.assertEqual(ev['otherData']['clock'], 'seq')
        got = sorted((e['tid'], e['ts'], e['dur'], e['args']['thread'])
                     for e in self.pick(ev, 'X', 'thread'))
        # cpu0: B 1..10, C 10..the end (20); cpu1: A 2..14, B 14..20. The threads that
        # switch out in a CPU's first record get no slice: when they came is not known.
        self.assertEqual(got, [(0, 1.0, 9.0, B), (0, 10.0, 10.0, C),
                               (1, 2.0, 12.0, A), (1, 14.0, 6.0, B)])
        vcpu = [e['name'] for e in self.pick(ev, 'X', 'thread') if e['args']['thread'] == B]
        self.assertEqual(set(vcpu), {'vcpu@800040 thread@1c0900'})

    def test_guest_and_ctxop_slices_ns_clock(self):
        ev = self.events(dump_lines(ns=True))
        self.assertEqual(ev['otherData']['clock'], 'ns')
        guest = sorted((e['tid'], e['ts'], e['dur'], e['name'])
                       for e in self.pick(ev, 'X', 'guest'))
        # ns = SEQ * 1000 + 500: entry 5 -> exit 6 is 5.5 µs for 1 µs.
        self.assertEqual(guest, [(0, 5.5, 1.0, 'guest: cpuid'), (0, 7.5, 1.0, 'guest: hlt'),
                                 (1, 19.5, 1.0, 'guest: inout')])
        ctx = sorted((e['tid'], e['ts'], e['dur'], e['name'])
                     for e in self.pick(ev, 'X', 'ctxop'))
        self.assertEqual(ctx, [(0, 11.5, 2.0, 'savectx'), (1, 16.5, 2.0, 'restorectx')])
        thread = [(e['tid'], e['ts'], e['dur']) for e in self.pick(ev, 'X', 'thread')
                  if e['args']['thread'] == A and e['tid'] == 1]
        self.assertEqual(thread, [(1, 2.5, 12.0)])

    def test_instants(self):
        ev = self.events(dump_lines())
        mig = sorted((e['tid'], e['ts'], e['args']['thread'], e['name'])
                     for e in self.pick(ev, 'i', 'migrate'))
        self.assertEqual(mig, [(1, 3.0, A, 'migrate 0->1'), (1, 15.0, B, 'migrate 0->1')])
        exits = sorted((e['tid'], e['ts'], e['args']['reason'])
                       for e in self.pick(ev, 'i', 'exit'))
        self.assertEqual(exits, [(0, 6.0, 'cpuid'), (0, 8.0, 'hlt'), (1, 20.0, 'inout')])
        self.assertTrue(all(e['s'] == 't' for e in self.pick(ev, 'i')))

    def test_exit_latency(self):
        dump, lines = traceview.load(self.log(dump_lines(ns=True)))
        view = traceview.build(dump, lines)
        # cpuid exit at 6 -> entry at 7 on cpu0; hlt at 8 -> entry at 19 on cpu1 (the
        # vCPU moved); the inout exit has no entry after it.
        self.assertEqual(view.latencies, [('cpuid', 1.0), ('hlt', 11.0)])

    def test_dump_choice(self):
        other = [(0, 'vmentry:entry', B, ['vcpu=' + VC, 'kind=vmrun']),
                 (0, 'vmexit:exit', B, ['vcpu=' + VC, 'reason=npf'])]
        lines = dump_lines(other) + dump_lines()
        path = self.log(lines)
        rc, out, _ = self.run_main(path, '--out', self.tmp.name, '--dump', '1')
        self.assertEqual(rc, 0)
        with open(out.split()[0]) as f:
            ev = json.load(f)
        self.assertEqual([e['name'] for e in self.pick(ev, 'X', 'guest')], ['guest: npf'])
        self.assertTrue(out.split()[0].endswith('t-dump1.trace.json'), out)
        rc, out, _ = self.run_main(path, '--out', self.tmp.name)
        self.assertTrue(out.split()[0].endswith('t-dump2.trace.json'), out)

    def test_cut_short_dump_is_drawn_with_a_note(self):
        rc, out, err = self.run_main(self.log(dump_lines(end=False)), '--out', self.tmp.name)
        self.assertEqual(rc, 0, err)
        self.assertIn('no "# trace end" line', err)


class MalformedTest(TraceTest):
    def fails(self, lines, *extra):
        rc, out, err = self.run_main(self.log(lines), '--out', self.tmp.name, *extra)
        self.assertEqual(rc, 2)
        self.assertEqual(out, '')
        self.assertNotIn('Traceback', err)
        self.assertTrue(err.startswith('traceview: '), err)
        return err

    def test_garbled_line(self):
        lines = dump_lines()
        lines[8] = lines[8][:30]        # a record cut by the serial line
        err = self.fails(lines)
        self.assertIn('line 9 is not a trace record', err)

    def test_missing_argument(self):
        recs = list(RECORDS)
        recs[9] = (0, 'swtch:switch', B, ['old=' + B])
        self.assertIn('line 13: swtch:switch without new=', self.fails(dump_lines(recs)))

    def test_seq_out_of_order(self):
        lines = dump_lines()
        lines[5], lines[6] = lines[6], lines[5]
        self.assertIn('records out of order', self.fails(lines))

    def test_empty_dump(self):
        self.assertIn('holds no records', self.fails(dump_lines([])))

    def test_no_dump(self):
        self.assertIn('no trace dump', self.fails(['[cpu0] hello', 'ok 1 - x']))

    def test_no_such_dump(self):
        self.assertIn('--dump 3:', self.fails(dump_lines(), '--dump', '3'))

    def test_missing_file(self):
        rc, _, err = self.run_main(os.path.join(self.tmp.name, 'nope.log'))
        self.assertEqual(rc, 2)
        self.assertIn('cannot read', err)


@unittest.skipIf(traceview.pyplot() is None, 'python3-matplotlib is not installed')
class PngTest(TraceTest):
    def test_pngs(self):
        for ns in (False, True):
            rc, out, err = self.run_main(self.log(dump_lines(ns=ns)), '--out', self.tmp.name)
            self.assertEqual(rc, 0, err)
            pngs = [p for p in out.split() if p.endswith('.png')]
            self.assertEqual([os.path.basename(p) for p in pngs],
                             ['t-dump1.timeline.png', 't-dump1.exits.png'])
            for p in pngs:
                with open(p, 'rb') as f:
                    self.assertEqual(f.read(8), b'\x89PNG\r\n\x1a\n')

    def test_no_exits_still_draws(self):
        recs = [(0, 'swtch:switch', A, ['old=' + A, 'new=' + B])]
        rc, out, err = self.run_main(self.log(dump_lines(recs)), '--out', self.tmp.name)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len([p for p in out.split() if p.endswith('.png')]), 2)


if __name__ == '__main__':
    unittest.main()
