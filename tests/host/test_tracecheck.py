"""Host unit tests for scripts/tracecheck.py, on small synthetic serial logs.

  python3 -m unittest discover -s tests/host -v
"""

import io
import os
import sys
import tempfile
import unittest
import unittest.mock
from contextlib import redirect_stdout

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


class Trace:
    """Builds the records of one dump; SEQ numbers are handed out in order."""

    def __init__(self, seq=1000, cpu=0):
        self.seq = seq
        self.cpu = cpu
        self.lines = []

    def rec(self, probe, thread, args='', cpu=None, skip_seq=0):
        self.seq += skip_seq
        fn_name = probe
        self.lines.append('  %d %6d %32s %8d     %s  %s' % (
            self.cpu if cpu is None else cpu, 1, fn_name, self.seq, thread, args))
        self.seq += 1
        return self

    def save(self, thread, ops, nodes=None, cpu=None):
        """A save walk over ops as given (should be newest first)."""
        self.rec('savectx:entry', thread, 'nodes=%d' % (len(ops) if nodes is None else nodes),
                 cpu)
        for op in ops:
            self.rec('ctxop:save', thread, 'hook=%s op=%s' % (SAVE_HOOK[op], op), cpu)
        return self.rec('savectx:return', thread, '', cpu)

    def restore(self, thread, ops, nodes=None, cpu=None):
        """A restore walk over ops as given (should be oldest first)."""
        self.rec('restorectx:entry', thread,
                 'nodes=%d' % (len(ops) if nodes is None else nodes), cpu)
        for op in ops:
            self.rec('ctxop:restore', thread, 'hook=%s op=%s' % (RESTORE_HOOK[op], op), cpu)
        return self.rec('restorectx:return', thread, '', cpu)

    def attach(self, cur, target, op):
        return self.rec('ctxop_attach:attach', cur, 'op=%s thread=%s' % (op, target))

    def detach(self, cur, target, op):
        return self.rec('ctxop_detach:detach', cur, 'op=%s thread=%s' % (op, target))

    def free(self, cur, thread):
        return self.rec('thread:free', cur, 'thread=%s' % thread)

    def dump(self, dropped=0):
        return (['# trace begin: cpus=2 records=%d dropped=%d' % (len(self.lines), dropped),
                 'CPU     ID                    FUNCTION:NAME  SEQ      THREAD              ARGS']
                + self.lines + ['# trace end: dropped=%d' % dropped])


def log(*dumps):
    lines = ['ok 1 - boot/hello', '# a comment']
    for d in dumps:
        lines += d
        lines.append('ok 2 - ctx/something')
    return lines + ['1..2', '# bhyvelet: shutdown status=0']


def check(lines, orders=()):
    return tracecheck.check_lines(lines, [tracecheck.parse_order(o) for o in orders])


class GoodLogs(unittest.TestCase):
    def test_good_log_passes(self):
        t = Trace()
        t.save(T1, [VMM, FPU]).restore(T1, [FPU, VMM], cpu=1).save(T1, [VMM, FPU], cpu=1)
        t.rec('swtch:switch', T1, 'old=%s new=%s' % (T1, T2))
        t.restore(T1, [FPU, VMM])
        r = check(log(t.dump()))
        self.assertTrue(r.ok, r.violation_text)
        self.assertEqual(r.status, 'ok')
        self.assertEqual((r.dumps, r.saves, r.restores, r.sequences_checked), (1, 2, 2, 4))
        self.assertEqual(r.records, len(t.lines))
        self.assertIn(', OK', r.summary())

    def test_model_learned_from_restore(self):
        t = Trace()
        t.restore(T1, [FPU, VMM]).save(T1, [VMM, FPU]).restore(T1, [FPU, VMM])
        self.assertTrue(check(log(t.dump())).ok)

    def test_threads_are_separate(self):
        t = Trace()
        t.save(T1, [VMM, FPU]).save(T2, [FPU]).restore(T2, [FPU]).restore(T1, [FPU, VMM])
        self.assertTrue(check(log(t.dump())).ok)

    def test_empty_list(self):
        t = Trace()
        t.save(T1, []).restore(T1, [])
        self.assertTrue(check(log(t.dump())).ok)

    def test_sequence_begun_before_tracing_is_ignored(self):
        t = Trace()
        t.rec('ctxop:save', T1, 'hook=fpu_ctx_save op=%s' % FPU).rec('savectx:return', T1)
        t.restore(T1, [FPU])
        self.assertTrue(check(log(t.dump())).ok)

    def test_several_dumps(self):
        a = Trace().save(T1, [VMM, FPU]).restore(T1, [FPU, VMM])
        b = Trace(seq=5000).save(T1, [FPU]).restore(T1, [FPU])  # fresh model per dump
        r = check(log(a.dump(), b.dump()))
        self.assertTrue(r.ok, r.violation_text)
        self.assertEqual(r.dumps, 2)

    def test_no_dump(self):
        r = check(log())
        self.assertEqual(r.status, 'no-trace')
        self.assertEqual(r.exit_code, 2)


class Violations(unittest.TestCase):
    def assertViolation(self, lines, text, orders=()):
        r = check(lines, orders)
        self.assertFalse(r.ok)
        self.assertEqual(r.status, 'violation')
        self.assertEqual(r.exit_code, 1)
        self.assertIn(text, r.violation_text)
        self.assertIn('VIOLATION', r.summary())
        return r

    def test_legacy_restore_order_caught(self):
        t = Trace()
        t.save(T1, [VMM, FPU]).restore(T1, [VMM, FPU])  # restore newest first: legacy
        r = self.assertViolation(log(t.dump()), 'restore does not mirror save')
        self.assertIn('expected [fpu_ctx_restore, vmm_restorectx] got '
                      '[vmm_restorectx, fpu_ctx_restore]', r.violation_text)
        self.assertIn('legacy order', r.violation_text)
        self.assertIn('compared with the save sequence at line', r.violation_text)
        self.assertIn(T1, r.violation_text)

    def test_legacy_order_caught_when_first_seen_as_restore(self):
        t = Trace()
        t.restore(T1, [VMM, FPU]).save(T1, [VMM, FPU])
        self.assertViolation(log(t.dump()), 'save does not match the list')

    def test_missing_hook_caught(self):
        t = Trace()
        t.save(T1, [VMM, FPU]).restore(T1, [FPU], nodes=2)
        self.assertViolation(log(t.dump()), 'ran 1 hook but its entry says nodes=2')

    def test_missing_node_caught_by_model(self):
        t = Trace()
        t.save(T1, [VMM, FPU]).restore(T1, [FPU])  # nodes=1 agrees, but VMM vanished
        self.assertViolation(log(t.dump()), 'restore does not mirror save')

    def test_interleaved_sequences_caught(self):
        t = Trace()
        t.rec('savectx:entry', T1, 'nodes=1').rec('savectx:entry', T1, 'nodes=1')
        self.assertViolation(log(t.dump()), 'sequences interleave')

    def test_restore_hook_in_save_sequence(self):
        t = Trace()
        t.rec('savectx:entry', T1, 'nodes=1')
        t.rec('ctxop:restore', T1, 'hook=fpu_ctx_restore op=%s' % FPU)
        self.assertViolation(log(t.dump()), 'inside a save sequence')

    def test_sequence_on_two_cpus(self):
        t = Trace()
        t.rec('savectx:entry', T1, 'nodes=1', cpu=0)
        t.rec('ctxop:save', T1, 'hook=fpu_ctx_save op=%s' % FPU, cpu=1)
        self.assertViolation(log(t.dump()), 'moved from CPU 0 to CPU 1')

    def test_orphan_return_after_entry_seen(self):
        t = Trace()
        t.save(T1, [FPU]).rec('savectx:return', T1)
        self.assertViolation(log(t.dump()), 'no open sequence')

    def test_violation_shows_context_with_line_numbers(self):
        t = Trace()
        for _ in range(5):
            t.save(T1, [VMM, FPU]).restore(T1, [FPU, VMM])
        t.save(T1, [VMM, FPU]).restore(T1, [VMM, FPU])
        for _ in range(5):
            t.save(T2, [FPU]).restore(T2, [FPU])
        lines = log(t.dump())
        r = self.assertViolation(lines, 'restore does not mirror save')
        marked = [l for l in r.violation_text.split('\n') if l.lstrip().startswith('>>')]
        self.assertEqual(len(marked), 1)
        lineno = int(marked[0].split()[1].rstrip(':'))
        self.assertIn('restorectx:return', lines[lineno - 1])
        ctx = [l for l in r.violation_text.split('\n') if 'ctxop' in l or 'ctx:' in l]
        self.assertGreaterEqual(len(ctx), 13)

    def test_main_exit_codes(self):
        good = Trace().save(T1, [FPU]).restore(T1, [FPU])
        bad = Trace().save(T1, [VMM, FPU]).restore(T1, [VMM, FPU])
        with tempfile.TemporaryDirectory() as d:
            for name, lines, code in (('good', log(good.dump()), 0),
                                      ('bad', log(bad.dump()), 1), ('none', log(), 2)):
                p = os.path.join(d, name + '.log')
                with open(p, 'w') as f:
                    f.write('\n'.join(lines) + '\n')
                out = io.StringIO()
                with redirect_stdout(out):
                    rc = tracecheck.main([p, '--quiet'])
                self.assertEqual(rc, code, out.getvalue())
                self.assertEqual(len(out.getvalue().strip().split('\n')), 1)
                r = tracecheck.check_log(p)
                self.assertEqual(r.exit_code, code)


class ListEdits(unittest.TestCase):
    def test_attach_between_save_and_restore(self):
        t = Trace()
        t.save(T1, [FPU]).attach(T2, T1, VMM).restore(T1, [FPU, VMM]).save(T1, [VMM, FPU])
        r = check(log(t.dump()))
        self.assertTrue(r.ok, r.violation_text)

    def test_attach_not_seen_by_restore_caught(self):
        t = Trace()
        t.save(T1, [FPU]).attach(T2, T1, VMM).restore(T1, [FPU])
        r = check(log(t.dump()))
        self.assertFalse(r.ok)
        self.assertIn('restore does not mirror save', r.violation_text)
        self.assertIn('adjusted by 1 attach and 0 detaches', r.violation_text)

    def test_detach(self):
        t = Trace()
        t.save(T1, [VMM, FPU]).restore(T1, [FPU, VMM]).detach(T1, T1, VMM)
        t.save(T1, [FPU]).restore(T1, [FPU])
        r = check(log(t.dump()))
        self.assertTrue(r.ok, r.violation_text)

    def test_detach_of_unknown_op_caught(self):
        t = Trace()
        t.save(T1, [FPU]).detach(T1, T1, VMM)
        r = check(log(t.dump()))
        self.assertFalse(r.ok)
        self.assertIn('detach of a node not on the list', r.violation_text)

    def test_detach_before_model_is_known_is_ignored(self):
        t = Trace()
        t.detach(T1, T1, VMM).save(T1, [FPU]).restore(T1, [FPU])
        self.assertTrue(check(log(t.dump())).ok)

    def test_double_attach_caught(self):
        t = Trace()
        t.save(T1, [FPU]).attach(T1, T1, FPU)
        r = check(log(t.dump()))
        self.assertIn('already on the list', r.violation_text)

    def test_edit_during_walk_caught(self):
        t = Trace()
        t.save(T1, [FPU]).rec('savectx:entry', T1, 'nodes=1').attach(T2, T1, VMM)
        r = check(log(t.dump()))
        self.assertIn('while its save sequence is open', r.violation_text)

    def test_thread_free_resets(self):
        t = Trace()
        t.save(T1, [VMM, FPU]).restore(T1, [FPU, VMM]).free(T2, T1)
        # the address is reused by a new thread with a different list
        t.restore(T1, [OTHER]).save(T1, [OTHER])
        r = check(log(t.dump()))
        self.assertTrue(r.ok, r.violation_text)

    def test_without_free_reuse_is_a_violation(self):
        t = Trace()
        t.save(T1, [VMM, FPU]).restore(T1, [FPU, VMM]).restore(T1, [OTHER])
        self.assertFalse(check(log(t.dump())).ok)


class Dropped(unittest.TestCase):
    def test_hole_stops_checking(self):
        t = Trace()
        t.save(T1, [VMM, FPU]).restore(T1, [FPU, VMM])
        t.rec('savectx:entry', T1, 'nodes=2', skip_seq=3)  # 3 records dropped before this
        t.restore(T1, [VMM, FPU])   # would be a violation if it were checked
        r = check(log(t.dump(dropped=3)))
        self.assertTrue(r.ok, r.violation_text)
        self.assertEqual(r.skipped, 5)
        self.assertEqual(r.records, 13)
        self.assertTrue(any('skipped 5' in n and 'dropped=3' in n for n in r.notes), r.notes)

    def test_violation_before_hole_still_caught(self):
        t = Trace()
        t.save(T1, [VMM, FPU]).restore(T1, [VMM, FPU])
        t.rec('swtch:switch', T1, 'old=%s new=%s' % (T1, T2), skip_seq=1)
        r = check(log(t.dump(dropped=1)))
        self.assertFalse(r.ok)

    def test_open_sequence_cut_by_hole_is_fine(self):
        t = Trace()
        t.save(T1, [VMM, FPU]).rec('restorectx:entry', T1, 'nodes=2')
        t.rec('ctxop:restore', T1, 'hook=fpu_ctx_restore op=%s' % FPU, skip_seq=1)
        t.rec('restorectx:return', T1)
        r = check(log(t.dump(dropped=1)))
        self.assertTrue(r.ok, r.violation_text)

    def test_out_of_order_seq_caught(self):
        t = Trace()
        t.save(T1, [FPU])
        t.lines[0], t.lines[1] = t.lines[1], t.lines[0]
        r = check(log(t.dump()))
        self.assertIn('out of SEQ order', r.violation_text)

    def test_unterminated_dump_is_checked(self):
        t = Trace()
        t.save(T1, [VMM, FPU]).restore(T1, [VMM, FPU])
        lines = ['boot'] + t.dump()[:-1]
        r = check(lines)
        self.assertEqual(r.status, 'violation')
        self.assertTrue(any('no "# trace end"' in n for n in r.notes))


class Order(unittest.TestCase):
    ORDER = 'vmm_savectx:vmm_restorectx,fpu_ctx_save:fpu_ctx_restore'

    def test_parse(self):
        o = tracecheck.parse_order(self.ORDER)
        self.assertEqual((o.newer_save, o.newer_restore, o.older_save, o.older_restore),
                         ('vmm_savectx', 'vmm_restorectx', 'fpu_ctx_save', 'fpu_ctx_restore'))
        o = tracecheck.parse_order('a,b')
        self.assertEqual((o.newer_save, o.newer_restore), ('a', 'a'))
        with self.assertRaises(ValueError):
            tracecheck.parse_order('a')

    def test_order_holds(self):
        t = Trace()
        t.save(T1, [VMM, FPU]).restore(T1, [FPU, VMM])
        r = check(log(t.dump()), [self.ORDER])
        self.assertTrue(r.ok, r.violation_text)

    def test_order_broken_in_save(self):
        # A consistent model with the FPU node newer than the vCPU's: the mirror rule
        # holds, only --order sees that the nodes were attached the wrong way round.
        t = Trace()
        t.save(T1, [FPU, VMM]).restore(T1, [VMM, FPU])
        r = check(log(t.dump()), [self.ORDER])
        self.assertFalse(r.ok)
        self.assertIn('--order', r.violation_text)
        self.assertIn('save sequence vmm_savectx must run before fpu_ctx_save',
                      r.violation_text)
        self.assertTrue(check(log(t.dump())).ok)

    def test_order_broken_in_restore(self):
        t = Trace()
        t.restore(T1, [VMM, FPU])
        r = check(log(t.dump()), [self.ORDER])
        self.assertIn('restore sequence fpu_ctx_restore must run before vmm_restorectx',
                      r.violation_text)

    def test_order_ignored_when_one_is_absent(self):
        t = Trace()
        t.save(T1, [FPU, OTHER]).restore(T1, [OTHER, FPU])
        self.assertTrue(check(log(t.dump()), [self.ORDER]).ok)


VCPU = '0xffff800000560280'
SAVE_RULES = ['vmm_savectx:svm_savectx,save_guest_fpustate',
              'vmm_savectx:vmx_savectx,save_guest_fpustate']
RESTORE_RULES = ['vmm_restorectx:restore_guest_fpustate,svm_restorectx',
                 'vmm_restorectx:restore_guest_fpustate,vmx_restorectx']
RULES = SAVE_RULES + RESTORE_RULES


def check_inner(lines, inner=RULES, orders=()):
    return tracecheck.check_lines(lines, [tracecheck.parse_order(o) for o in orders],
                                  [tracecheck.parse_inner(i) for i in inner])


class InnerTrace(Trace):
    """Save and restore walks over [VMM, FPU] whose hooks write their inner records."""

    def vmm_save(self, thread, backend='svm', fpu=True, swap=False, other=None, cpu=None):
        body = ['%s_savectx:entry vcpu=%s cpu=0' % (backend, VCPU)]
        if fpu:
            body += ['save_guest_fpustate:entry vcpu=%s' % VCPU,
                     'fpu_save:save area=0xffff8000005602c0',
                     'fpu_restore:restore area=0xffff8000005602c8']
        if swap:
            body = body[1:] + body[:1]
        self.rec('savectx:entry', thread, 'nodes=2', cpu)
        self.rec('ctxop:save', thread, 'hook=vmm_savectx op=%s' % VMM, cpu)
        for i, b in enumerate(body):
            if other is not None and i == 1:
                self.other(other, backend, 'save')
            self.rec(b.split()[0], thread, ' '.join(b.split()[1:]), cpu)
        self.rec('ctxop:save', thread, 'hook=fpu_ctx_save op=%s' % FPU, cpu)
        self.rec('fpu_save:save', thread, 'area=0xffff800000993040', cpu)
        return self.rec('savectx:return', thread, '', cpu)

    def vmm_restore(self, thread, backend='svm', fpu=True, swap=False, other=None, cpu=None):
        body = []
        if fpu:
            body += ['restore_guest_fpustate:entry vcpu=%s' % VCPU,
                     'fpu_save:save area=0xffff8000005602c8',
                     'fpu_restore:restore area=0xffff8000005602c0']
        body += ['%s_restorectx:entry vcpu=%s cpu=0' % (backend, VCPU)]
        if swap:
            body = body[-1:] + body[:-1]
        self.rec('restorectx:entry', thread, 'nodes=2', cpu)
        self.rec('ctxop:restore', thread, 'hook=fpu_ctx_restore op=%s' % FPU, cpu)
        self.rec('fpu_restore:restore', thread, 'area=0xffff800000993040', cpu)
        self.rec('ctxop:restore', thread, 'hook=vmm_restorectx op=%s' % VMM, cpu)
        for i, b in enumerate(body):
            if other is not None and i == 1:
                self.other(other, backend, 'restore')
            self.rec(b.split()[0], thread, ' '.join(b.split()[1:]), cpu)
        return self.rec('restorectx:return', thread, '', cpu)

    def other(self, thread, backend, kind):
        """Records of another thread that would break the rule if they were counted."""
        if kind == 'save':
            self.rec('save_guest_fpustate:entry', thread, 'vcpu=0xffff800000570000', cpu=1)
            self.rec('%s_savectx:entry' % backend, thread, 'vcpu=0xffff800000570000 cpu=1',
                     cpu=1)
        else:
            self.rec('%s_restorectx:entry' % backend, thread, 'vcpu=0xffff800000570000 cpu=1',
                     cpu=1)
            self.rec('restore_guest_fpustate:entry', thread, 'vcpu=0xffff800000570000',
                     cpu=1)
        return self


class InnerRules(unittest.TestCase):
    ORDER = 'vmm_savectx:vmm_restorectx,fpu_ctx_save:fpu_ctx_restore'

    def test_parse(self):
        r = tracecheck.parse_inner('vmm_savectx:svm_savectx,save_guest_fpustate')
        self.assertEqual((r.hook, r.names), ('vmm_savectx', ('svm_savectx',
                                                              'save_guest_fpustate')))
        self.assertEqual(str(r), 'vmm_savectx:svm_savectx,save_guest_fpustate')
        r = tracecheck.parse_inner('h: a , b ,c')
        self.assertEqual((r.hook, r.names), ('h', ('a', 'b', 'c')))
        for bad in ('vmm_savectx', 'vmm_savectx:a', ':a,b', 'h:a,,b', 'h:a,b,a', 'a,b'):
            with self.assertRaises(ValueError, msg=bad):
                tracecheck.parse_inner(bad)

    def test_good(self):
        t = InnerTrace()
        for backend in ('svm', 'vmx'):
            t.vmm_save(T1, backend).vmm_restore(T1, backend, cpu=1)
        r = check_inner(log(t.dump()), orders=[self.ORDER])
        self.assertTrue(r.ok, r.violation_text)
        self.assertEqual((r.inner_bodies, r.inner_ordered), (4, 4))
        self.assertIn('4 hook bodies checked by --inner rules (4 with two or more listed), OK',
                      r.summary())

    def test_violated_in_save(self):
        t = InnerTrace()
        t.vmm_save(T1).vmm_restore(T1).vmm_save(T1, swap=True)
        r = check_inner(log(t.dump()))
        self.assertEqual(r.status, 'violation')
        self.assertEqual(r.exit_code, 1)
        self.assertIn('--inner vmm_savectx:svm_savectx,save_guest_fpustate: in the body of a '
                      'vmm_savectx call, svm_savectx ran after save_guest_fpustate',
                      r.violation_text)
        self.assertIn(T1, r.violation_text)
        self.assertIn('VIOLATION', r.summary())
        marked = [l for l in r.violation_text.split('\n') if l.lstrip().startswith('>>')]
        self.assertEqual(len(marked), 1)
        self.assertIn('svm_savectx:entry', marked[0])
        # the mirror and --order rules alone see nothing wrong
        self.assertTrue(check(log(t.dump()), [self.ORDER]).ok)

    def test_violated_in_restore(self):
        t = InnerTrace()
        t.vmm_save(T1, 'vmx').vmm_restore(T1, 'vmx', swap=True)
        r = check_inner(log(t.dump()))
        self.assertIn('in the body of a vmm_restorectx call, restore_guest_fpustate ran after '
                      'vmx_restorectx', r.violation_text)
        self.assertIn('restore hook', r.violation_text)

    def test_missing_optional(self):
        # no guest FPU loaded: only the backend's record in the body
        t = InnerTrace()
        t.vmm_save(T1, fpu=False).vmm_restore(T1, fpu=False).vmm_save(T1, fpu=False)
        r = check_inner(log(t.dump()))
        self.assertTrue(r.ok, r.violation_text)
        self.assertEqual((r.inner_bodies, r.inner_ordered), (3, 0))

    def test_other_thread_interleaved(self):
        t = InnerTrace()
        t.vmm_save(T1, other=T2).vmm_restore(T1, other=T2)
        t.vmm_save(T1, 'vmx', other=T2).vmm_restore(T1, 'vmx', other=T2)
        r = check_inner(log(t.dump()))
        self.assertTrue(r.ok, r.violation_text)
        self.assertEqual(r.inner_bodies, 4)

    def test_violation_found_across_interleaving(self):
        t = InnerTrace()
        t.vmm_save(T1, swap=True, other=T2)
        r = check_inner(log(t.dump()))
        self.assertIn('svm_savectx ran after save_guest_fpustate', r.violation_text)
        self.assertIn(T1, r.violation_text.split('\n')[1])

    def test_body_ends_at_next_hook_and_return(self):
        # Records after the body (the next hook, after savectx:return) are not in it.
        t = InnerTrace()
        t.rec('savectx:entry', T1, 'nodes=2')
        t.rec('ctxop:save', T1, 'hook=vmm_savectx op=%s' % VMM)
        t.rec('save_guest_fpustate:entry', T1, 'vcpu=%s' % VCPU)
        t.rec('ctxop:save', T1, 'hook=fpu_ctx_save op=%s' % FPU)
        t.rec('svm_savectx:entry', T1, 'vcpu=%s cpu=0' % VCPU)
        t.rec('savectx:return', T1)
        t.rec('svm_savectx:entry', T1, 'vcpu=%s cpu=0' % VCPU)  # vm_run's final save
        r = check_inner(log(t.dump()))
        self.assertTrue(r.ok, r.violation_text)
        self.assertEqual((r.inner_bodies, r.inner_ordered), (1, 0))

    def test_records_outside_bodies_are_ignored(self):
        t = InnerTrace()
        t.rec('vm_run:entry', T1, 'vcpu=%s' % VCPU)
        t.rec('restore_guest_fpustate:entry', T1, 'vcpu=%s' % VCPU)
        t.rec('svm_savectx:entry', T1, 'vcpu=%s cpu=0' % VCPU)
        t.rec('save_guest_fpustate:entry', T1, 'vcpu=%s' % VCPU)
        t.rec('svm_savectx:entry', T1, 'vcpu=%s cpu=0' % VCPU)
        r = check_inner(log(t.dump()))
        self.assertTrue(r.ok, r.violation_text)
        self.assertEqual(r.inner_bodies, 0)

    def test_full_probe_name_and_three_functions(self):
        t = InnerTrace()
        t.vmm_save(T1)
        ok = 'vmm_savectx:svm_savectx,save_guest_fpustate:entry,fpu_save:save,fpu_restore'
        self.assertTrue(check_inner(log(t.dump()), [ok]).ok)
        bad = 'vmm_savectx:svm_savectx,fpu_restore,fpu_save'
        r = check_inner(log(t.dump()), [bad])
        self.assertIn('fpu_restore ran after fpu_save', r.violation_text)

    def test_no_rules_no_count_in_summary(self):
        t = InnerTrace()
        t.vmm_save(T1).vmm_restore(T1)
        r = check(log(t.dump()))
        self.assertTrue(r.ok)
        self.assertNotIn('--inner', r.summary())

    def test_main_and_check_log(self):
        bad = InnerTrace().vmm_save(T1, swap=True)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, 'bad.log')
            with open(p, 'w') as f:
                f.write('\n'.join(log(bad.dump())) + '\n')
            self.assertTrue(tracecheck.check_log(p).ok)
            self.assertEqual(tracecheck.check_log(p, inner=RULES).status, 'violation')
            self.assertEqual(tracecheck.check_log(
                p, (), [tracecheck.parse_inner(i) for i in RULES]).status, 'violation')
            for args, code in (([], 0), (['--inner', SAVE_RULES[0]], 1),
                               (['--inner', RESTORE_RULES[0]], 0)):
                out = io.StringIO()
                with redirect_stdout(out):
                    rc = tracecheck.main([p] + args)
                self.assertEqual(rc, code, out.getvalue())
            with redirect_stdout(io.StringIO()), \
                    self.assertRaises(SystemExit), \
                    unittest.mock.patch('sys.stderr', io.StringIO()):
                tracecheck.main([p, '--inner', 'vmm_savectx'])


# ---------------------------------------------------------------------------------------------
# vCPU ownership: VMCS current on one CPU, VMLAUNCH/VMRESUME, SVM ASID per CPU

VC1 = '0xffff800000568280'
VC2 = '0xffff800000569280'
VMFAIL = 'vmfail'
KINDS = ('vmrun', 'vmlaunch', 'vmresume')


class OwnerTrace(Trace):
    """The vmx:/vmentry:/vmexit:/svm: records; thread T1 unless told, CPU as given."""

    def ptrld(self, vcpu, cpu, thread=T1):
        return self.rec('vmx:vmptrld', thread, 'vcpu=%s cpu=%d' % (vcpu, cpu), cpu)

    def clear(self, vcpu, cpu, thread=T1):
        return self.rec('vmx:vmclear', thread, 'vcpu=%s cpu=%d' % (vcpu, cpu), cpu)

    def entry(self, vcpu, kind, cpu, thread=T1, reason='cpuid'):
        """An entry and its vmexit:exit (reason=None: no exit record)."""
        self.rec('vmentry:entry', thread, 'vcpu=%s kind=%s' % (vcpu, KINDS[kind]), cpu)
        if reason is not None:
            self.rec('vmexit:exit', thread, 'vcpu=%s reason=%s' % (vcpu, reason), cpu)
        return self

    def launch(self, vcpu, cpu, resumes=2, thread=T1):
        """vmptrld, VMLAUNCH, a few VMRESUMEs, vmclear: one vm_run on one CPU."""
        self.rec('vm_run:entry', thread, 'vcpu=%s' % vcpu, cpu)
        self.ptrld(vcpu, cpu, thread).entry(vcpu, 1, cpu, thread)
        for _ in range(resumes):
            self.entry(vcpu, 2, cpu, thread)
        self.clear(vcpu, cpu, thread)
        return self.rec('vm_run:return', thread, 'vcpu=%s exit=hlt' % vcpu, cpu)

    def asid(self, vcpu, cpu, asid=1, thread=T1):
        return self.rec('svm:new_asid', thread, 'vcpu=%s asid=%d' % (vcpu, asid), cpu)


def check_owner(t, owner=True):
    return tracecheck.check_lines(log(t.dump()), owner=owner)


class OwnerChecks:
    """ok() and bad() for the ownership tests."""

    def ok(self, t, entries=None, tolerated=0):
        r = check_owner(t)
        self.assertTrue(r.ok, r.violation_text)
        if entries is not None:
            self.assertEqual((r.owner_entries, r.owner_tolerated), (entries, tolerated))
            self.assertIn('%d guest entr%s checked for VMCS/ASID ownership'
                          % (entries, 'y' if entries == 1 else 'ies'), r.summary())
        return r

    def bad(self, t, text):
        r = check_owner(t)
        self.assertEqual(r.status, 'violation', r.summary())
        self.assertEqual(r.exit_code, 1)
        self.assertIn(text, r.violation_text)
        self.assertIn('VIOLATION: ' + r.violation_text.split('\n', 1)[0], r.summary())
        # ownership rules are off: the same log passes
        self.assertTrue(check_owner(t, owner=False).ok)
        return r


class VcpuOwnerVmx(OwnerChecks, unittest.TestCase):
    # -- logs that hold --

    def test_migration_passes(self):
        t = OwnerTrace()
        t.launch(VC1, 0).rec('swtch:migrate', T1, 'from=0 to=1', cpu=1)
        t.launch(VC1, 1).launch(VC1, 0, resumes=0)
        self.ok(t, entries=7)

    def test_vmclear_and_vmptrld_without_entry(self):
        # with_vmcs(): load, write, clear, on any CPU, from any thread
        t = OwnerTrace()
        t.ptrld(VC1, 1, T2).clear(VC1, 1, T2).launch(VC1, 0)
        self.ok(t, entries=3)

    def test_vmclear_of_a_vmcs_not_current_tolerated(self):
        t = OwnerTrace()
        t.launch(VC1, 0).clear(VC1, 1).clear(VC1, 0).launch(VC1, 1)
        self.ok(t, entries=6)

    def test_vcpu_first_seen_mid_dump(self):
        # entries before its first vmptrld are tolerated, whatever CPU and kind
        t = OwnerTrace()
        t.entry(VC1, 2, 1).entry(VC1, 2, 1).entry(VC1, 1, 0)
        t.launch(VC1, 0, resumes=1)
        self.ok(t, entries=2, tolerated=3)
        self.assertIn('(3 before the vCPU was known)', check_owner(t).summary())

    def test_vcpu_learned_from_vmclear(self):
        t = OwnerTrace()
        t.entry(VC1, 2, 1).clear(VC1, 1).launch(VC1, 0)
        self.ok(t, entries=3, tolerated=1)

    def test_two_vcpus_are_separate(self):
        t = OwnerTrace()
        t.ptrld(VC1, 0).entry(VC1, 1, 0).ptrld(VC2, 1, T2).entry(VC2, 1, 1, T2)
        t.entry(VC1, 2, 0).entry(VC2, 2, 1, T2).clear(VC1, 0).clear(VC2, 1, T2)
        t.ptrld(VC2, 0, T2).entry(VC2, 1, 0, T2)
        self.ok(t, entries=5)

    def test_failed_vmlaunch_then_vmlaunch(self):
        t = OwnerTrace()
        t.ptrld(VC1, 0).entry(VC1, 1, 0, reason=VMFAIL).entry(VC1, 1, 0).entry(VC1, 2, 0)
        self.ok(t, entries=3)

    def test_failed_vmresume_then_either(self):
        for kind in (1, 2):
            t = OwnerTrace()
            t.ptrld(VC1, 0).entry(VC1, 1, 0).entry(VC1, 2, 0, reason=VMFAIL)
            t.entry(VC1, kind, 0).entry(VC1, 2, 0)
            self.ok(t, entries=4)

    def test_free_and_vm_run_return_keep_the_state(self):
        # The vCPU outlives its thread: the VMCS stays current on cpu0.
        t = OwnerTrace()
        t.ptrld(VC1, 0).entry(VC1, 1, 0)
        t.rec('vm_run:return', T1, 'vcpu=%s exit=hlt' % VC1, cpu=0).free(T2, T1)
        t.entry(VC1, 2, 0, thread=T2)
        self.ok(t, entries=2)

    def test_no_vcpu_records_no_count_in_summary(self):
        t = OwnerTrace().save(T1, [FPU]).restore(T1, [FPU])
        r = check_owner(t)
        self.assertEqual(r.owner_records, 0)
        self.assertNotIn('guest entr', r.summary())

    # -- rule (1): VMCS current on two CPUs --

    def test_vmptrld_while_current_elsewhere(self):
        t = OwnerTrace()
        t.ptrld(VC1, 0).entry(VC1, 1, 0).entry(VC1, 2, 0)
        t.rec('swtch:migrate', T1, 'from=0 to=1', cpu=1).ptrld(VC1, 1)   # no vmclear on cpu0
        r = self.bad(t, 'VMCS current on two CPUs: vmptrld on cpu1 while the VMCS is current '
                        'on cpu0')
        self.assertIn('vcpu %s' % VC1, r.violation_text)
        self.assertIn('made current by the vmptrld at line', r.violation_text)

    def test_double_vmptrld_on_one_cpu(self):
        t = OwnerTrace().ptrld(VC1, 0).ptrld(VC1, 0)
        self.bad(t, 'VMCS current on two CPUs')

    def test_thread_free_does_not_reset(self):
        t = OwnerTrace()
        t.ptrld(VC1, 0).entry(VC1, 1, 0).free(T2, T1).ptrld(VC1, 1, T2)
        self.bad(t, 'VMCS current on two CPUs')

    # -- rule (2): vmclear on the CPU where it is current --

    def test_vmclear_on_the_wrong_cpu(self):
        t = OwnerTrace().ptrld(VC1, 0).entry(VC1, 1, 0).clear(VC1, 1)
        self.bad(t, 'vmclear on cpu1 but VMCS current on cpu0')

    # -- rule (3): entries on the CPU where the VMCS is current --

    def test_entry_on_the_wrong_cpu(self):
        t = OwnerTrace().ptrld(VC1, 0).entry(VC1, 1, 1)
        self.bad(t, 'VMLAUNCH entry on cpu1 but VMCS current on cpu0')
        t = OwnerTrace().ptrld(VC1, 0).entry(VC1, 1, 0).entry(VC1, 2, 1)
        self.bad(t, 'VMRESUME entry on cpu1 but VMCS current on cpu0')

    def test_entry_after_vmclear(self):
        t = OwnerTrace().ptrld(VC1, 0).entry(VC1, 1, 0).clear(VC1, 0).entry(VC1, 1, 0)
        r = self.bad(t, 'VMLAUNCH entry on cpu0 but VMCS not current')
        self.assertIn('cleared by the vmclear at line', r.violation_text)

    def test_keyed_by_vcpu_not_thread(self):
        t = OwnerTrace().ptrld(VC1, 0, T1).entry(VC1, 1, 1, thread=T2)
        r = self.bad(t, 'entry on cpu1 but VMCS current on cpu0')
        self.assertIn('thread %s, vcpu %s' % (T2, VC1), r.violation_text)

    # -- rule (4): VMLAUNCH first, VMRESUME only after a successful entry --

    def test_vmresume_after_vmclear(self):
        t = OwnerTrace()
        t.launch(VC1, 0).ptrld(VC1, 1).entry(VC1, 2, 1)
        r = self.bad(t, 'VMRESUME after VMCLEAR')
        self.assertIn('the first entry after the vmptrld at line', r.violation_text)
        self.assertIn('last cleared by the vmclear at line', r.violation_text)

    def test_vmresume_as_first_entry_ever(self):
        t = OwnerTrace().ptrld(VC1, 0).entry(VC1, 2, 0)
        self.bad(t, 'VMRESUME after VMCLEAR')

    def test_vmresume_after_failed_vmlaunch(self):
        t = OwnerTrace().ptrld(VC1, 0).entry(VC1, 1, 0, reason=VMFAIL).entry(VC1, 2, 0)
        r = self.bad(t, 'VMRESUME after VMCLEAR')
        self.assertIn('failed (vmexit reason=vmfail)', r.violation_text)

    def test_vmlaunch_of_a_launched_vmcs(self):
        t = OwnerTrace().ptrld(VC1, 0).entry(VC1, 1, 0).entry(VC1, 1, 0)
        self.bad(t, 'VMLAUNCH on cpu0 of a VMCS already launched')

    # -- reporting --

    def test_violation_report(self):
        t = OwnerTrace()
        for _ in range(3):
            t.launch(VC1, 0)
        t.ptrld(VC1, 1).entry(VC1, 2, 1)
        for _ in range(8):
            t.rec('swtch:switch', T2, 'old=%s new=%s' % (T2, T1), cpu=0)
        lines = log(t.dump())
        r = self.bad(t, 'VMRESUME after VMCLEAR: VMRESUME on cpu1')
        text = r.violation_text.split('\n')
        self.assertIn('thread %s, vcpu %s' % (T1, VC1), text[1])
        marked = [l for l in text if l.lstrip().startswith('>>')]
        self.assertEqual(len(marked), 1)
        lineno = int(marked[0].split()[1].rstrip(':'))
        self.assertIn('vmentry:entry', lines[lineno - 1])
        self.assertIn('kind=vmresume', lines[lineno - 1])
        i = text.index('  records around it (log line: record):')
        self.assertEqual(len(text) - i - 1, 2 * tracecheck.CONTEXT + 1)
        self.assertIn("  this vCPU's latest VMCS/ASID records before it:", text)
        hist = [l for l in text if l.startswith('    line ')]
        self.assertEqual(len(hist), tracecheck.OWNER_HISTORY)
        self.assertIn('CPU 1 vmx:vmptrld cpu=1', hist[-1])

    def test_main_and_check_log(self):
        bad = OwnerTrace().ptrld(VC1, 0).entry(VC1, 1, 1)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, 'bad.log')
            with open(p, 'w') as f:
                f.write('\n'.join(log(bad.dump())) + '\n')
            self.assertEqual(tracecheck.check_log(p).status, 'violation')
            self.assertTrue(tracecheck.check_log(p, owner=False).ok)
            for args, code in (([], 1), (['--no-vcpu-owner'], 0)):
                out = io.StringIO()
                with redirect_stdout(out):
                    rc = tracecheck.main([p, '--quiet'] + args)
                self.assertEqual(rc, code, out.getvalue())

    def test_not_checked_after_a_seq_hole(self):
        t = OwnerTrace().ptrld(VC1, 0).entry(VC1, 1, 0)
        t.rec('vmx:vmptrld', T1, 'vcpu=%s cpu=1' % VC1, cpu=1, skip_seq=1)
        r = tracecheck.check_lines(log(t.dump(dropped=1)))
        self.assertTrue(r.ok, r.violation_text)

    def test_each_dump_starts_afresh(self):
        a = OwnerTrace().ptrld(VC1, 0).entry(VC1, 1, 0)
        b = OwnerTrace(seq=5000).ptrld(VC1, 1).entry(VC1, 1, 1)
        r = tracecheck.check_lines(log(a.dump(), b.dump()))
        self.assertTrue(r.ok, r.violation_text)
        self.assertEqual(r.owner_entries, 2)

    def test_malformed_records(self):
        for probe, args, text in (('vmx:vmptrld', 'cpu=0', 'without vcpu='),
                                  ('vmx:vmptrld', 'vcpu=%s' % VC1, 'without a number in cpu='),
                                  ('vmentry:entry', 'vcpu=%s kind=7' % VC1, 'unknown kind=7')):
            t = OwnerTrace().rec(probe, T1, args)
            r = check_owner(t)
            self.assertIn(text, r.violation_text)


class VcpuOwnerSvm(OwnerChecks, unittest.TestCase):
    def test_moves_with_new_asids_pass(self):
        t = OwnerTrace()
        t.asid(VC1, 0).entry(VC1, 0, 0).entry(VC1, 0, 0)
        t.asid(VC1, 1, 2).entry(VC1, 0, 1).entry(VC1, 0, 1)
        t.asid(VC1, 0, 3).entry(VC1, 0, 0)
        t.asid(VC1, 0, 4).entry(VC1, 0, 0)      # a new generation on the same CPU: fine
        self.ok(t, entries=6)

    def test_first_entry_without_asid_tolerated(self):
        t = OwnerTrace().entry(VC1, 0, 1).entry(VC1, 0, 1).asid(VC1, 0).entry(VC1, 0, 0)
        self.ok(t, entries=2, tolerated=1)

    def test_moved_without_new_asid(self):
        t = OwnerTrace().asid(VC1, 0).entry(VC1, 0, 0)
        t.rec('swtch:migrate', T1, 'from=0 to=1', cpu=1).entry(VC1, 0, 1)
        r = self.bad(t, 'SVM vCPU moved to cpu1 without a new ASID')
        self.assertIn('its previous entry was on cpu0 at line', r.violation_text)
        self.assertIn('vcpu %s' % VC1, r.violation_text)

    def test_new_asid_on_the_wrong_cpu(self):
        t = OwnerTrace().entry(VC1, 0, 0).asid(VC1, 0, 2).entry(VC1, 0, 1)
        r = self.bad(t, 'SVM vCPU moved to cpu1 without a new ASID')
        self.assertIn('svm:new_asid since then on cpu0 at line', r.violation_text)

    def test_new_asid_before_the_last_entry_does_not_count(self):
        # back on cpu0: its ASID there is the one from before it ran on cpu1
        t = OwnerTrace().asid(VC1, 0).entry(VC1, 0, 0).asid(VC1, 1, 2).entry(VC1, 0, 1)
        t.entry(VC1, 0, 0)
        self.bad(t, 'SVM vCPU moved to cpu0 without a new ASID')

    def test_thread_free_does_not_reset(self):
        t = OwnerTrace().entry(VC1, 0, 0).free(T2, T1).entry(VC1, 0, 1, thread=T2)
        self.bad(t, 'SVM vCPU moved to cpu1 without a new ASID')

    def test_vm_run_return_does_not_reset(self):
        t = OwnerTrace().entry(VC1, 0, 0).rec('vm_run:return', T1, 'vcpu=%s exit=hlt' % VC1)
        t.rec('vm_run:entry', T1, 'vcpu=%s' % VC1, cpu=1).entry(VC1, 0, 1)
        self.bad(t, 'SVM vCPU moved to cpu1 without a new ASID')

    def test_two_vcpus_are_separate(self):
        t = OwnerTrace().asid(VC1, 0).entry(VC1, 0, 0).asid(VC2, 1).entry(VC2, 0, 1, T2)
        t.asid(VC1, 1, 2).entry(VC1, 0, 1).entry(VC2, 0, 1, T2)
        self.ok(t, entries=4)


if __name__ == '__main__':
    unittest.main()
