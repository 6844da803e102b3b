"""Host unit tests for scripts/tracecheck.py, on small synthetic serial logs.

  python3 -m unittest discover -s tests/host -v

Every rule has a log that holds and one that breaks it; --require has a log where the rule
sees nothing.
"""

import io
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stdout, redirect_stderr

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                'scripts'))
import tracecheck  # noqa: E402

T1 = '0xffff800000134180'
T2 = '0xffff800000135000'
FPU = '0xffff8000001400c0'     # the thread's own FPU node (older)
VMM = '0xffff800000150000'     # the vCPU node (newer)
OTHER = '0xffff800000160000'
SAVE_HOOK = {FPU: 'fpu_ctx_save', VMM: 'vmm_savectx', OTHER: 'other_save'}
RESTORE_HOOK = {FPU: 'fpu_ctx_restore', VMM: 'vmm_restorectx', OTHER: 'other_restore'}
ORDER = 'vmm_savectx:vmm_restorectx,fpu_ctx_save:fpu_ctx_restore'
VC1 = '0xffff800000568280'
VC2 = '0xffff800000569280'


class Trace:
    """Builds the records of one dump; SEQ numbers are handed out in order."""

    def __init__(self, seq=1000, cpu=0):
        self.seq = seq
        self.cpu = cpu
        self.lines = []

    def rec(self, probe, thread, args='', cpu=None, skip_seq=0):
        self.seq += skip_seq
        self.lines.append('  %d %6d %32s %8d     %s  %s' % (
            self.cpu if cpu is None else cpu, 7, probe, self.seq, thread, args))
        self.seq += 1
        return self

    def walk(self, kind, thread, ops, cpu=None, body=None):
        """A savectx or restorectx walk over ops as given; body(op) adds a hook's records."""
        names = SAVE_HOOK if kind == 'save' else RESTORE_HOOK
        self.rec('%sctx:entry' % kind, thread, 'nodes=%d' % len(ops), cpu)
        for op in ops:
            self.rec('ctxop:%s' % kind, thread, 'hook=%s op=%s' % (names[op], op), cpu)
            if body:
                body(op)
        return self.rec('%sctx:return' % kind, thread, '', cpu)

    def save(self, thread, ops, cpu=None):
        return self.walk('save', thread, ops, cpu)

    def restore(self, thread, ops, cpu=None):
        return self.walk('restore', thread, ops, cpu)

    def attach(self, cur, target, op):
        return self.rec('ctxop_attach:attach', cur, 'op=%s thread=%s' % (op, target))

    def detach(self, cur, target, op):
        return self.rec('ctxop_detach:detach', cur, 'op=%s thread=%s' % (op, target))

    def free(self, cur, thread):
        return self.rec('thread:free', cur, 'thread=%s' % thread)

    def vmrun(self, vcpu, cpu, thread=T1, kind='vmrun'):
        self.rec('vmentry:entry', thread, 'vcpu=%s kind=%s' % (vcpu, kind), cpu)
        return self.rec('vmexit:exit', thread, 'vcpu=%s reason=cpuid' % vcpu, cpu)

    def asid(self, vcpu, cpu, asid=1, thread=T1):
        return self.rec('svm:new_asid', thread, 'vcpu=%s asid=%d' % (vcpu, asid), cpu)

    def dump(self, dropped=0):
        return (['# trace begin: cpus=2 records=%d dropped=%d' % (len(self.lines), dropped),
                 'CPU     ID                    FUNCTION:NAME  SEQ      THREAD              ARGS']
                + self.lines + ['# trace end: dropped=%d' % dropped])


def log(*dumps):
    lines = ['ok 1 - boot/hello', '# a comment']
    for d in dumps:
        lines += d + ['ok 2 - ctx/something']
    return lines + ['1..2', '# bhyvelet: shutdown status=0']


def check(t, orders=(), inner=(), owner=True, require=()):
    """tracecheck on a Trace, a dump's lines or a whole log's lines."""
    lines = log(t.dump()) if isinstance(t, Trace) else t
    return tracecheck.check_lines(lines, [tracecheck.parse_order(o) for o in orders],
                                  [tracecheck.parse_inner(i) for i in inner], owner, require)


def run_main(lines, *args):
    """tracecheck.main on a log file holding lines: (exit status, output)."""
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, 'serial.log')
        with open(p, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        out = io.StringIO()
        with redirect_stdout(out):
            rc = tracecheck.main([p] + list(args))
    return rc, out.getvalue()


class Checks(unittest.TestCase):
    def ok(self, t, **kw):
        r = check(t, **kw)
        self.assertEqual(r.status, 'ok', r.violation_text)
        self.assertTrue(r.summary().endswith(', OK'), r.summary())
        return r

    def bad(self, t, text, **kw):
        r = check(t, **kw)
        self.assertEqual(r.status, 'violation', r.summary())
        self.assertEqual(r.exit_code, 1)
        self.assertIn(text, r.violation_text)
        self.assertIn('VIOLATION: ' + r.violation_text.split('\n', 1)[0], r.summary())
        return r


class Stack(Checks):
    """savectx lists the thread's nodes newest first, restorectx oldest first."""

    def test_good_log_passes(self):
        t = Trace()
        t.save(T1, [VMM, FPU]).restore(T1, [FPU, VMM], cpu=1).save(T1, [VMM, FPU], cpu=1)
        t.rec('swtch:switch', T1, 'old=%s new=%s' % (T1, T2)).restore(T1, [FPU, VMM])
        r = self.ok(t)
        self.assertEqual((r.dumps, r.records, r.counts['stack']), (1, len(t.lines), 3))
        self.assertEqual(r.exit_code, 0)

    def test_legacy_restore_order_caught(self):
        t = Trace().save(T1, [VMM, FPU]).restore(T1, [VMM, FPU])    # newest first
        r = self.bad(t, 'restore does not mirror save: expected [fpu_ctx_restore, '
                        'vmm_restorectx] got [vmm_restorectx, fpu_ctx_restore]')
        self.assertIn('(the legacy order)', r.violation_text)
        self.assertIn('compared with the save walk at line', r.violation_text)
        self.assertIn('thread %s' % T1, r.violation_text)
        self.ok(Trace().save(T1, [VMM, FPU]).restore(T1, [FPU, VMM]))

    def test_legacy_order_caught_when_first_seen_as_restore(self):
        t = Trace().restore(T1, [VMM, FPU]).save(T1, [VMM, FPU])
        r = self.bad(t, 'save does not match the list')
        self.assertIn('learned from the restore walk at line', r.violation_text)

    def test_missing_node_caught(self):
        self.bad(Trace().save(T1, [VMM, FPU]).restore(T1, [FPU]),
                 'restore does not mirror save')

    def test_threads_are_separate(self):
        t = Trace()
        t.save(T1, [VMM, FPU]).save(T2, [FPU]).restore(T2, [FPU]).restore(T1, [FPU, VMM])
        self.assertEqual(self.ok(t).counts['stack'], 2)

    def test_walk_begun_before_tracing_is_ignored(self):
        t = Trace()
        t.rec('ctxop:save', T1, 'hook=fpu_ctx_save op=%s' % FPU).rec('savectx:return', T1)
        t.save(T1, [VMM, FPU]).restore(T1, [FPU, VMM])
        self.assertEqual(self.ok(t).counts['stack'], 1)

    def test_attach_and_detach_edit_the_list(self):
        t = Trace()
        t.save(T1, [FPU]).attach(T2, T1, VMM).restore(T1, [FPU, VMM]).save(T1, [VMM, FPU])
        t.detach(T1, T1, VMM).restore(T1, [FPU]).save(T1, [FPU])
        self.assertEqual(self.ok(t).counts['stack'], 4)

    def test_attach_not_seen_by_restore_caught(self):
        t = Trace().save(T1, [FPU]).attach(T2, T1, VMM).restore(T1, [FPU])
        r = self.bad(t, 'restore does not mirror save')
        self.assertIn('adjusted by 1 attach/detach since', r.violation_text)

    def test_thread_free_forgets_the_list(self):
        t = Trace().save(T1, [VMM, FPU]).restore(T1, [FPU, VMM])
        t.restore(T1, [OTHER]).save(T1, [OTHER])    # the address reused, no thread:free
        self.bad(t, 'restore does not mirror save')
        t = Trace().save(T1, [VMM, FPU]).restore(T1, [FPU, VMM]).free(T2, T1)
        self.ok(t.restore(T1, [OTHER]).save(T1, [OTHER]))

    def test_several_dumps_start_afresh(self):
        a = Trace().save(T1, [VMM, FPU]).restore(T1, [FPU, VMM])
        b = Trace(seq=5000).save(T1, [FPU]).restore(T1, [FPU])
        r = self.ok(log(a.dump(), b.dump()))
        self.assertEqual((r.dumps, r.counts['stack']), (2, 2))

    def test_only_records_before_a_seq_hole_are_checked(self):
        t = Trace().save(T1, [VMM, FPU]).restore(T1, [FPU, VMM])
        t.rec('savectx:entry', T1, 'nodes=2', skip_seq=3)   # 3 records dropped before this
        t.restore(T1, [VMM, FPU])   # a violation if it were checked
        r = self.ok(log(t.dump(dropped=3)))
        self.assertEqual((r.records, r.skipped), (13, 5))
        self.assertTrue(any('skipped 5' in n and 'dropped=3' in n for n in r.notes), r.notes)
        t = Trace().save(T1, [VMM, FPU]).restore(T1, [VMM, FPU])
        self.bad(log(t.rec('swtch:switch', T1, 'old=0 new=0', skip_seq=1).dump(1)),
                 'restore does not mirror save')

    def test_unterminated_dump_is_checked(self):
        t = Trace().save(T1, [VMM, FPU]).restore(T1, [VMM, FPU])
        r = self.bad(['boot'] + t.dump()[:-1], 'restore does not mirror save')
        self.assertTrue(any('no "# trace end"' in n for n in r.notes), r.notes)

    def test_violation_shows_the_records_around_it(self):
        t = Trace()
        for _ in range(5):
            t.save(T1, [VMM, FPU]).restore(T1, [FPU, VMM])
        t.save(T1, [VMM, FPU]).restore(T1, [VMM, FPU])
        for _ in range(5):
            t.save(T2, [FPU]).restore(T2, [FPU])
        lines = log(t.dump())
        text = self.bad(lines, 'restore does not mirror save').violation_text.split('\n')
        marked = [l for l in text if l.lstrip().startswith('>>')]
        self.assertEqual(len(marked), 1)
        self.assertIn('restorectx:return', lines[int(marked[0].split()[1].rstrip(':')) - 1])
        i = text.index('  records around it (log line: record):')
        self.assertEqual(len(text) - i - 1, 2 * tracecheck.CONTEXT + 1)

    def test_no_dump(self):
        r = check(log())
        self.assertEqual((r.status, r.exit_code), ('no-trace', 2))
        self.assertEqual(r.summary(), 'tracecheck: no trace dump in the log')

    def test_probe_numbers_are_not_read(self):
        # The ID column is whatever the kernel's enum says today: only FUNCTION:NAME counts.
        t = Trace().save(T1, [VMM, FPU]).restore(T1, [VMM, FPU])
        t.lines = [l.replace('      7 ', '  99999 ', 1) for l in t.lines]
        self.bad(t, 'restore does not mirror save')


class Orders(Checks):
    """--order A,B: node A is newer than node B."""

    def test_parse(self):
        o = tracecheck.parse_order(ORDER)
        self.assertEqual((o.newer_save, o.newer_restore, o.older_save, o.older_restore),
                         ('vmm_savectx', 'vmm_restorectx', 'fpu_ctx_save', 'fpu_ctx_restore'))
        o = tracecheck.parse_order('a,b')
        self.assertEqual((o.newer_save, o.newer_restore, o.older_restore), ('a', 'a', 'b'))
        for bad in ('a', 'a,b,c', 'a,'):
            with self.assertRaises(ValueError, msg=bad):
                tracecheck.parse_order(bad)

    def test_order_holds(self):
        t = Trace().save(T1, [VMM, FPU]).restore(T1, [FPU, VMM])
        self.assertEqual(self.ok(t, orders=[ORDER]).counts['order'], 2)

    def test_order_broken_in_save(self):
        # The FPU node newer than the vCPU's, consistently: only --order sees it.
        t = Trace().save(T1, [FPU, VMM]).restore(T1, [VMM, FPU])
        self.ok(t)
        self.bad(t, 'in a save walk vmm_savectx must run before fpu_ctx_save', orders=[ORDER])

    def test_order_broken_in_restore(self):
        self.bad(Trace().restore(T1, [VMM, FPU]),
                 'in a restore walk fpu_ctx_restore must run before vmm_restorectx',
                 orders=[ORDER])

    def test_walks_without_both_nodes_are_not_counted(self):
        t = Trace().save(T1, [FPU, OTHER]).restore(T1, [OTHER, FPU])
        self.assertEqual(self.ok(t, orders=[ORDER]).counts['order'], 0)


VCPU = '0xffff800000560280'
INNER = ['vmm_savectx:svm_savectx,save_guest_fpustate',
         'vmm_savectx:vmx_savectx,save_guest_fpustate',
         'vmm_restorectx:restore_guest_fpustate,svm_restorectx',
         'vmm_restorectx:restore_guest_fpustate,vmx_restorectx']


class InnerTrace(Trace):
    """Walks over [VMM, FPU] whose vmm hooks write the backend's and guest FPU's records."""

    def vmm_walk(self, kind, thread=T1, backend='svm', fpu=True, swap=False, other=None):
        backend_rec = ('%s_%sctx:entry' % (backend, kind), 'vcpu=%s cpu=0' % VCPU)
        fpu_recs = [('%s_guest_fpustate:entry' % kind, 'vcpu=%s' % VCPU),
                    ('fpu_save:save', 'area=0xffff8000005602c0'),
                    ('fpu_restore:restore', 'area=0xffff8000005602c8')] if fpu else []
        body = [backend_rec] + fpu_recs if kind == 'save' else fpu_recs + [backend_rec]
        if swap:
            body = body[::-1]

        def hook(op):
            if op != VMM:
                return
            for i, (probe, args) in enumerate(body):
                if other is not None and i == 1:    # another thread's records, reversed
                    for p, a in body[::-1]:
                        self.rec(p, other, a, cpu=1)
                self.rec(probe, thread, args)
        return self.walk(kind, thread, [VMM, FPU] if kind == 'save' else [FPU, VMM],
                         body=hook)


class InnerRules(Checks):
    """--inner HOOK:A,B: inside every call of HOOK, A runs before B."""

    def test_parse(self):
        r = tracecheck.parse_inner('h: a , b ,c')
        self.assertEqual((r.hook, r.names, str(r)), ('h', ('a', 'b', 'c'), 'h:a,b,c'))
        for bad in ('vmm_savectx', 'vmm_savectx:a', ':a,b', 'h:a,,b', 'h:a,b,a', 'a,b'):
            with self.assertRaises(ValueError, msg=bad):
                tracecheck.parse_inner(bad)

    def test_good(self):
        t = InnerTrace()
        for backend in ('svm', 'vmx'):
            t.vmm_walk('save', backend=backend).vmm_walk('restore', backend=backend)
        self.assertEqual(self.ok(t, inner=INNER).counts['inner'], 4)

    def test_broken_in_save(self):
        t = InnerTrace().vmm_walk('save').vmm_walk('restore').vmm_walk('save', swap=True)
        self.ok(t, orders=[ORDER])
        r = self.bad(t, '--inner vmm_savectx:svm_savectx,save_guest_fpustate: in the body of '
                        'a vmm_savectx call, svm_savectx ran after save_guest_fpustate',
                     inner=INNER)
        marked = [l for l in r.violation_text.split('\n') if l.lstrip().startswith('>>')]
        self.assertEqual(len(marked), 1)
        self.assertIn('svm_savectx:entry', marked[0])

    def test_broken_in_restore(self):
        t = InnerTrace().vmm_walk('save', backend='vmx')
        t.vmm_walk('restore', backend='vmx', swap=True)
        r = self.bad(t, 'in the body of a vmm_restorectx call, restore_guest_fpustate ran '
                        'after vmx_restorectx', inner=INNER)
        self.assertIn('(restore hook) began at line', r.violation_text)

    def test_call_without_guest_fpu_is_not_counted(self):
        t = InnerTrace().vmm_walk('save', fpu=False).vmm_walk('restore', fpu=False)
        self.assertEqual(self.ok(t, inner=INNER).counts['inner'], 0)

    def test_other_threads_records_do_not_count(self):
        t = InnerTrace().vmm_walk('save', other=T2).vmm_walk('restore', other=T2)
        self.assertEqual(self.ok(t, inner=INNER).counts['inner'], 2)
        r = self.bad(InnerTrace().vmm_walk('save', swap=True, other=T2),
                     'svm_savectx ran after save_guest_fpustate', inner=INNER)
        self.assertIn('thread %s' % T1, r.violation_text.split('\n')[1])

    def test_call_ends_at_next_hook_and_return(self):
        t = Trace()
        t.rec('savectx:entry', T1, 'nodes=2')
        t.rec('ctxop:save', T1, 'hook=vmm_savectx op=%s' % VMM)
        t.rec('save_guest_fpustate:entry', T1, 'vcpu=%s' % VCPU)
        t.rec('ctxop:save', T1, 'hook=fpu_ctx_save op=%s' % FPU)
        t.rec('svm_savectx:entry', T1, 'vcpu=%s cpu=0' % VCPU)
        t.rec('savectx:return', T1)
        t.rec('svm_savectx:entry', T1, 'vcpu=%s cpu=0' % VCPU)  # vm_run's final save
        self.assertEqual(self.ok(t, inner=INNER).counts['inner'], 0)

    def test_full_probe_name_and_three_functions(self):
        t = InnerTrace().vmm_walk('save')
        self.ok(t, inner=['vmm_savectx:svm_savectx,save_guest_fpustate:entry,fpu_save:save,'
                          'fpu_restore'])
        self.bad(t, 'fpu_restore ran after fpu_save',
                 inner=['vmm_savectx:svm_savectx,fpu_restore,fpu_save'])


class Asid(Checks):
    """A vCPU that enters on another CPU takes a new ASID there first."""

    def test_moves_with_new_asids_pass(self):
        t = Trace()
        t.asid(VC1, 0).vmrun(VC1, 0).vmrun(VC1, 0)
        t.asid(VC1, 1, 2).vmrun(VC1, 1).vmrun(VC1, 1)
        t.asid(VC1, 0, 3).vmrun(VC1, 0)
        t.asid(VC1, 0, 4).vmrun(VC1, 0)     # a new generation on the same CPU: fine
        self.assertEqual(self.ok(t).counts['asid'], 6)

    def test_first_entry_is_checked_only_after_a_new_asid(self):
        t = Trace().vmrun(VC1, 1).vmrun(VC1, 1).asid(VC1, 0).vmrun(VC1, 0)
        self.assertEqual(self.ok(t).counts['asid'], 2)

    def test_moved_without_new_asid(self):
        t = Trace().asid(VC1, 0).vmrun(VC1, 0)
        t.rec('swtch:migrate', T1, 'from=0 to=1', cpu=1).vmrun(VC1, 1)
        r = self.bad(t, 'SVM vCPU moved to cpu1 without a new ASID')
        self.assertIn('its previous entry was on cpu0 at line', r.violation_text)
        self.assertIn('vcpu %s' % VC1, r.violation_text)
        self.ok(t, owner=False)

    def test_new_asid_on_the_wrong_cpu(self):
        r = self.bad(Trace().vmrun(VC1, 0).asid(VC1, 0, 2).vmrun(VC1, 1),
                     'SVM vCPU moved to cpu1 without a new ASID')
        self.assertIn('svm:new_asid since then on cpu0 at line', r.violation_text)

    def test_new_asid_before_the_last_entry_does_not_count(self):
        # back on cpu0: its ASID there is the one from before it ran on cpu1
        t = Trace().asid(VC1, 0).vmrun(VC1, 0).asid(VC1, 1, 2).vmrun(VC1, 1).vmrun(VC1, 0)
        self.bad(t, 'SVM vCPU moved to cpu0 without a new ASID')

    def test_keyed_by_vcpu_not_thread(self):
        t = Trace().vmrun(VC1, 0).free(T2, T1).vmrun(VC1, 1, thread=T2)
        self.bad(t, 'SVM vCPU moved to cpu1 without a new ASID')
        t = Trace().asid(VC1, 0).vmrun(VC1, 0).asid(VC2, 1).vmrun(VC2, 1, T2)
        self.assertEqual(self.ok(t.asid(VC1, 1, 2).vmrun(VC1, 1).vmrun(VC2, 1, T2))
                         .counts['asid'], 4)

    def test_vmx_entries_are_not_checked(self):
        t = Trace().vmrun(VC1, 0, kind='vmlaunch').vmrun(VC1, 1, kind='vmresume')
        self.assertEqual(self.ok(t).counts['asid'], 0)

    def test_main_no_vcpu_owner(self):
        lines = log(Trace().vmrun(VC1, 0).vmrun(VC1, 1).dump())
        self.assertEqual(run_main(lines, '--quiet')[0], 1)
        rc, out = run_main(lines, '--no-vcpu-owner')
        self.assertEqual(rc, 0, out)
        self.assertNotIn('asid', out)


class Counts(Checks):
    """Each rule says how many records it checked; --require fails on zero."""

    def full(self):
        t = InnerTrace().vmm_walk('save').vmm_walk('restore')
        return t.asid(VC1, 1).vmrun(VC1, 1)

    def test_rule_lines(self):
        rc, out = run_main(log(self.full().dump()), '--order', ORDER, '--inner', INNER[0],
                           '--inner', INNER[2])
        self.assertEqual(rc, 0, out)
        lines = out.strip().split('\n')
        self.assertEqual(lines[:4], ['tracecheck: stack: 1 checked',
                                     'tracecheck: order: 2 checked',
                                     'tracecheck: inner: 2 checked',
                                     'tracecheck: asid: 1 checked'])
        self.assertEqual(lines[4], 'tracecheck: 1 dump, %d records, stack 1, order 2, '
                         'inner 2, asid 1 checked, OK' % len(self.full().lines))
        rc, out = run_main(log(self.full().dump()), '--quiet')
        self.assertEqual(len(out.strip().split('\n')), 1)

    def test_require_with_zero_records_fails(self):
        t = Trace().save(T1, [FPU]).restore(T1, [FPU])      # no guest entries at all
        self.ok(t, require=['stack'])
        r = check(t, require=['stack', 'asid'])
        self.assertEqual((r.status, r.exit_code, r.unchecked), ('unchecked', 1, ['asid']))
        self.assertFalse(r.ok)
        self.assertIn('FAIL: --require asid: nothing checked', r.summary())
        rc, out = run_main(log(t.dump()), '--require', 'stack,asid')
        self.assertEqual(rc, 1, out)
        self.assertIn('tracecheck: asid: 0 checked', out)
        # a rule that is off checks nothing
        self.assertEqual(run_main(log(self.full().dump()), '--require', 'inner')[0], 1)
        self.assertEqual(run_main(log(self.full().dump()), '--require', 'stack',
                                  '--require', 'asid')[0], 0)

    def test_require_bad_rule_is_a_usage_error(self):
        with redirect_stderr(io.StringIO()), self.assertRaises(SystemExit):
            run_main(log(self.full().dump()), '--require', 'stack,vmcs')

    def test_violation_wins_over_require(self):
        t = Trace().save(T1, [VMM, FPU]).restore(T1, [VMM, FPU])
        self.assertEqual(check(t, require=['asid']).status, 'violation')

    def test_main_exit_codes_and_check_log(self):
        good = Trace().save(T1, [FPU]).restore(T1, [FPU])
        bad = InnerTrace().vmm_walk('save', swap=True)
        for lines, args, code in ((log(good.dump()), [], 0), (log(bad.dump()), [], 0),
                                  (log(bad.dump()), ['--inner', INNER[0]], 1),
                                  (log(), [], 2)):
            rc, out = run_main(lines, '--quiet', *args)
            self.assertEqual(rc, code, out)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, 'bad.log')
            with open(p, 'w') as f:
                f.write('\n'.join(log(bad.dump())) + '\n')
            self.assertTrue(tracecheck.check_log(p).ok)
            self.assertEqual(tracecheck.check_log(p, [ORDER], INNER).status, 'violation')
            self.assertEqual(tracecheck.check_log(p, require=['inner']).status, 'unchecked')
        with redirect_stderr(io.StringIO()), self.assertRaises(SystemExit):
            run_main(log(), '--inner', 'vmm_savectx')


if __name__ == '__main__':
    unittest.main()
