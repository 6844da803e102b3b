#!/usr/bin/env python3
"""Check the trace dumps in a bhyvelet serial log for what the kernel cannot see itself.

  python3 scripts/tracecheck.py LOG [--order SAVE_A:RESTORE_A,SAVE_B:RESTORE_B]...
                                     [--inner HOOK:A,B[,C...]]... [--no-vcpu-owner]
                                     [--require RULE[,RULE...]] [--quiet]

Exit status: 0 every dump holds, 1 a violation (the first is printed with the records around
it) or a --require rule that checked nothing, 2 no trace dump in the log. Records are read by
FUNCTION:NAME and by argument name (the kernel prints exit codes and entry kinds as names),
never by number. Each dump is checked on its own, up to its first SEQ hole (dropped records).

Rules (each prints "tracecheck: RULE: N checked"; docs/tracing.md has the details):
  stack  per thread, the ctxop list learned from its first savectx/restorectx walk and then
         edited by ctxop_attach/ctxop_detach records (thread:free forgets it): every later
         save lists it newest first, every restore oldest first. Catches the legacy order.
         N: walks compared with the list.
  order  --order SAVE_A:RESTORE_A,SAVE_B:RESTORE_B (repeatable; 'A,B' serves both walks):
         node A is newer than node B. N: walks that held both.
  inner  --inner HOOK:A,B[,C...] (repeatable): in each call of HOOK (the thread's records
         after its ctxop:* record with hook=HOOK, up to its next ctxop:*, savectx:* or
         restorectx:* record) the listed functions (or FUNCTION:NAME) that are present run
         in this order. N: calls holding two or more of them.
  asid   (off with --no-vcpu-owner) a vmentry:entry kind=vmrun of a vCPU on CPU X, after its
         last entry on another CPU, needs an svm:new_asid for it on X in between. N: entries
         checked (a vCPU's first entry in a dump only after a new_asid on its CPU).
--require RULE[,RULE...] fails the run when a named rule checked zero records in the log.

Usable as a module: check_log(path, orders=(), inner=(), owner=True, require=()) -> Result.
Only the Python standard library is used.
"""

import argparse
import re
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

BEGIN_RE = re.compile(r'^\s*# trace begin:(.*)$')
END_RE = re.compile(r'^\s*# trace end:?(.*)$')
HEADER_RE = re.compile(r'^\s*CPU\s+ID\s+FUNCTION:NAME\b')
KV_RE = re.compile(r'(\w+)=(\S+)')

RULES = ('stack', 'order', 'inner', 'asid')
CONTEXT = 6                 # records shown on each side of a violation
SAVE, RESTORE = 'save', 'restore'
WALK_ENTRY = {'savectx:entry': SAVE, 'restorectx:entry': RESTORE}
WALK_RETURN = {'savectx:return': SAVE, 'restorectx:return': RESTORE}
HOOK = {'ctxop:save': SAVE, 'ctxop:restore': RESTORE}


@dataclass
class Record:
    lineno: int             # 1-based line number in the log
    text: str
    cpu: int
    probe: str              # FUNCTION:NAME
    seq: int
    thread: str             # lower-case hex
    args: Dict[str, str]

    def where(self):
        return 'line %d, SEQ %d, CPU %d' % (self.lineno, self.seq, self.cpu)


@dataclass
class Dump:
    index: int              # 1-based
    begin_lineno: int
    dropped: int = 0
    ended: bool = False
    records: List[Record] = field(default_factory=list)


def parse_record(lineno, line):
    """A Record for a trace record line, else None."""
    w = line.split()
    if len(w) < 5 or ':' not in w[2]:
        return None
    try:
        cpu, seq = int(w[0]), int(w[3])
        int(w[1])
    except ValueError:
        return None
    args = dict(m.groups() for m in map(KV_RE.fullmatch, w[5:]) if m)
    return Record(lineno, line.rstrip(), cpu, w[2], seq, w[4].lower(), args)


def _dropped(text):
    m = re.search(r'dropped=(\d+)', text)
    return int(m.group(1)) if m else 0


def parse_dumps(lines):
    """The dumps in a log given as a list of lines."""
    dumps, cur = [], None
    for lineno, raw in enumerate(lines, 1):
        line = raw.replace('\r', '').rstrip()
        m = BEGIN_RE.match(line)
        if m:
            if cur is not None:     # no end line before this begin
                dumps.append(cur)
            cur = Dump(len(dumps) + 1, lineno, _dropped(m.group(1)))
        elif cur is not None and END_RE.match(line):
            cur.dropped = max(cur.dropped, _dropped(line))
            cur.ended = True
            dumps.append(cur)
            cur = None
        elif cur is not None and not HEADER_RE.match(line):
            rec = parse_record(lineno, line)
            if rec is not None:
                cur.records.append(rec)
    if cur is not None:
        dumps.append(cur)
    return dumps


class Violation(Exception):
    def __init__(self, rule, record, details=(), vcpu=None):
        super().__init__(rule)
        self.rule = rule            # one line: what went wrong
        self.record = record        # where it was found
        self.details = list(details)
        self.vcpu = vcpu


@dataclass
class Order:
    newer_save: str
    newer_restore: str
    older_save: str
    older_restore: str

    def __str__(self):
        return '%s:%s,%s:%s' % (self.newer_save, self.newer_restore,
                                self.older_save, self.older_restore)


def parse_order(text):
    """'SAVE_A:RESTORE_A,SAVE_B:RESTORE_B' (or 'A,B') -> Order."""
    parts = [p.strip() for p in text.split(',')]
    if len(parts) != 2 or not all(parts):
        raise ValueError('--order wants two nodes, A,B: %r' % text)
    (sa, _, ra), (sb, _, rb) = (p.partition(':') for p in parts)
    return Order(sa, ra or sa, sb, rb or sb)


@dataclass
class Inner:
    hook: str
    names: Tuple[str, ...]      # functions (or FUNCTION:NAME) in the required order

    def rank(self, probe):
        fn = probe.split(':', 1)[0]
        return next((i for i, n in enumerate(self.names) if n in (probe, fn)), None)

    def __str__(self):
        return '%s:%s' % (self.hook, ','.join(self.names))


def parse_inner(text):
    """'HOOK:A,B[,C...]' -> Inner."""
    hook, sep, rest = text.partition(':')
    hook, names = hook.strip(), tuple(n.strip() for n in rest.split(','))
    if not sep or not hook or len(names) < 2 or not all(names):
        raise ValueError('--inner wants HOOK:A,B[,C...] (a hook and two or more functions): '
                         '%r' % text)
    if len(set(names)) != len(names):
        raise ValueError('--inner lists a function twice: %r' % text)
    return Inner(hook, names)


def add_rule_arguments(ap, order_flag):
    """The rule options, shared with run.py (which calls --order --trace-order)."""
    ap.add_argument(order_flag, dest='order', action='append', default=[],
                    metavar='SAVE_A:RESTORE_A,SAVE_B:RESTORE_B',
                    help='node A is newer than node B (repeatable)')
    ap.add_argument('--inner', action='append', default=[], metavar='HOOK:A,B[,C...]',
                    help='inside every call of HOOK, functions A, B, ... run in this order '
                         '(repeatable)')
    ap.add_argument('--no-vcpu-owner', dest='vcpu_owner', action='store_false',
                    help='turn off the asid rule (a new SVM ASID on every CPU a vCPU moves to)')


def parse_rule_arguments(ap, a):
    """(orders, inner) from add_rule_arguments' options; a bad rule is a usage error."""
    try:
        return [parse_order(o) for o in a.order], [parse_inner(i) for i in a.inner]
    except ValueError as e:
        ap.error(str(e))


@dataclass
class Walk:
    kind: str               # SAVE or RESTORE
    entry: Record
    hooks: List[Record] = field(default_factory=list)
    ops: List[str] = field(default_factory=list)


@dataclass
class ThreadState:
    model: Optional[List[str]] = None   # op values, newest first; None until learned
    learned: Optional[Walk] = None
    walk: Optional[Walk] = None         # open walk
    last_save: Optional[Walk] = None
    edits: int = 0                      # attaches and detaches since last_save


@dataclass
class Body:
    """One call of a hook that --inner rules look into."""
    start: Record
    rules: List[Inner]
    top: List[int]                      # per rule: highest rank seen (-1: none)
    seen: List[set]                     # per rule: ranks seen


class DumpChecker:
    def __init__(self, dump, orders, inner, owner):
        self.dump = dump
        self.orders = orders
        self.inner = {}                 # hook -> [Inner]
        for rule in inner:
            self.inner.setdefault(rule.hook, []).append(rule)
        self.owner = owner
        self.counts = dict.fromkeys(RULES, 0)
        self.threads = {}               # thread -> ThreadState
        self.bodies = {}                # thread -> open Body
        self.vcpus = {}                 # vcpu -> [last kind=vmrun entry, {cpu: new_asid}]
        self.names = {}                 # (kind, op) -> hook name, for messages
        self.checked = dump.records
        self.note = None

    def limit_to_first_hole(self):
        recs = self.dump.records
        hole = next((i for i in range(1, len(recs)) if recs[i].seq != recs[i - 1].seq + 1),
                    None)
        if hole is not None:
            self.checked = recs[:hole]
            self.note = ('dump %d (line %d): dropped=%d; first SEQ hole after SEQ %d (line %d):'
                         ' checked %d records, skipped %d'
                         % (self.dump.index, self.dump.begin_lineno, self.dump.dropped,
                            recs[hole - 1].seq, recs[hole - 1].lineno, hole, len(recs) - hole))

    def run(self):
        self.limit_to_first_hole()
        for rec in self.checked:
            if self.inner:
                self.inner_record(rec)
            p = rec.probe
            if p in WALK_ENTRY:
                self.state(rec.thread).walk = Walk(WALK_ENTRY[p], rec)
            elif p in HOOK:
                self.hook(rec, HOOK[p])
            elif p in WALK_RETURN:
                self.walk_return(rec, WALK_RETURN[p])
            elif p in ('ctxop_attach:attach', 'ctxop_detach:detach'):
                self.edit(rec, p == 'ctxop_attach:attach')
            elif p == 'thread:free':
                self.threads.pop(rec.args.get('thread'), None)
                self.bodies.pop(rec.args.get('thread'), None)
            elif self.owner and p == 'svm:new_asid':
                self.vcpu(rec)[1][rec.cpu] = rec
            elif self.owner and p == 'vmentry:entry' and rec.args.get('kind') == 'vmrun':
                self.vmrun(rec)
        for t in list(self.bodies):     # calls cut short by the end of what is checked
            self.close_body(t)

    def state(self, thread):
        return self.threads.setdefault(thread, ThreadState())

    # -- stack and order --

    def hook(self, rec, kind):
        walk = self.state(rec.thread).walk
        if walk is not None and walk.kind == kind:
            self.names[(kind, rec.args.get('op'))] = rec.args.get('hook', '?')
            walk.hooks.append(rec)
            walk.ops.append(rec.args.get('op'))

    def walk_return(self, rec, kind):
        st = self.state(rec.thread)
        walk, st.walk = st.walk, None
        if walk is None or walk.kind != kind:
            return          # begun before tracing was
        self.check_orders(rec, walk)
        newest_first = walk.ops if kind == SAVE else walk.ops[::-1]
        if st.model is None:
            st.model, st.learned = newest_first, walk
        else:
            self.counts['stack'] += 1
            if newest_first != st.model:
                self.mismatch(rec, st, walk)
        if kind == SAVE:
            st.last_save, st.edits = walk, 0

    def edit(self, rec, attach):
        st = self.threads.get(rec.args.get('thread'))
        op = rec.args.get('op')
        if st is None or st.model is None:
            return
        if op in st.model:
            st.model.remove(op)
        if attach:
            st.model.insert(0, op)
        st.edits += 1

    def mismatch(self, rec, st, walk):
        kind, got = walk.kind, walk.ops
        expected = st.model if kind == SAVE else st.model[::-1]
        rule = ('save does not match the list' if kind == SAVE else
                'restore does not mirror save') + ': expected [%s] got [%s]' % tuple(
            ', '.join(self.names.get((kind, op), op) for op in ops) for ops in (expected, got))
        details = ['op= expected (%s): %s' % ('newest first' if kind == SAVE else
                                              'oldest first', ' '.join(expected)),
                   'op= got: %s' % ' '.join(got)]
        if kind == RESTORE and len(got) > 1 and got == expected[::-1]:
            details.append('the restore ran newest->oldest, the same order as save '
                           '(the legacy order)')
        if st.last_save is not None:
            details.append('compared with the save walk at %s, adjusted by %d attach/detach '
                           'since' % (st.last_save.entry.where(), st.edits))
        else:
            details.append('no save of this thread seen yet; the list was learned from the '
                           '%s walk at %s' % (st.learned.kind, st.learned.entry.where()))
        raise Violation(rule, rec, details)

    def check_orders(self, rec, walk):
        names = [h.args.get('hook') for h in walk.hooks]
        for o in self.orders:
            if walk.kind == SAVE:
                first, second = o.newer_save, o.older_save
            else:
                first, second = o.older_restore, o.newer_restore
            if first not in names or second not in names:
                continue
            self.counts['order'] += 1
            if len(names) - names[::-1].index(first) - 1 > names.index(second):
                raise Violation('--order %s: in a %s walk %s must run before %s'
                                % (o, walk.kind, first, second), rec,
                                ['the walk began at %s' % walk.entry.where(),
                                 'hooks run: ' + ', '.join(n or '?' for n in names)])

    # -- inner --

    def inner_record(self, rec):
        """Before the record's own handling: end, extend or open its thread's hook call."""
        p = rec.probe
        body = self.bodies.get(rec.thread)
        if body is not None and (p.startswith('ctxop:') or p in WALK_ENTRY or
                                 p in WALK_RETURN):
            self.close_body(rec.thread)
        elif body is not None:
            self.inner_step(rec, body)
        rules = self.inner.get(rec.args.get('hook')) if p in HOOK else None
        if rules:
            self.bodies[rec.thread] = Body(rec, rules, [-1] * len(rules),
                                           [set() for _ in rules])

    def inner_step(self, rec, body):
        for i, rule in enumerate(body.rules):
            k = rule.rank(rec.probe)
            if k is None:
                continue
            body.seen[i].add(k)
            if k < body.top[i]:
                raise Violation(
                    '--inner %s: in the body of a %s call, %s ran after %s'
                    % (rule, rule.hook, rule.names[k], rule.names[body.top[i]]), rec,
                    ['the %s call (%s hook) began at %s' % (rule.hook, HOOK[body.start.probe],
                                                           body.start.where()),
                     'required order: ' + ', '.join(rule.names)])
            body.top[i] = k

    def close_body(self, thread):
        body = self.bodies.pop(thread)
        if any(len(s) >= 2 for s in body.seen):
            self.counts['inner'] += 1

    # -- asid --

    def vcpu(self, rec):
        v = rec.args.get('vcpu')
        if v is None:
            raise Violation('%s record without vcpu=' % rec.probe, rec)
        return self.vcpus.setdefault(v, [None, {}])

    def vmrun(self, rec):
        st = self.vcpu(rec)
        last, asids = st
        if last is not None or rec.cpu in asids:
            self.counts['asid'] += 1
        if last is not None and last.cpu != rec.cpu and rec.cpu not in asids:
            raise Violation(
                'SVM vCPU moved to cpu%d without a new ASID' % rec.cpu, rec,
                ['its previous entry was on cpu%d at %s; no svm:new_asid for it on cpu%d since'
                 % (last.cpu, last.where(), rec.cpu)]
                + ['svm:new_asid since then on cpu%d at %s' % (c, r.where())
                   for c, r in sorted(asids.items())], vcpu=rec.args.get('vcpu'))
        st[0] = rec
        asids.clear()


def format_violation(dump, v):
    recs = dump.records
    i = next(k for k, r in enumerate(recs) if r is v.record)
    out = [v.rule, '  rule broken at log line %d (dump %d, begun at line %d), thread %s%s'
           % (v.record.lineno, dump.index, dump.begin_lineno, v.record.thread,
              ', vcpu %s' % v.vcpu if v.vcpu else '')]
    out += ['  ' + d for d in v.details]
    out.append('  records around it (log line: record):')
    out += ['  %s %6d: %s' % ('>>' if r is v.record else '  ', r.lineno, r.text)
            for r in recs[max(0, i - CONTEXT):i + CONTEXT + 1]]
    return '\n'.join(out)


@dataclass
class Result:
    status: str = 'ok'                  # ok, violation, unchecked (--require), no-trace
    dumps: int = 0
    records: int = 0
    skipped: int = 0                    # records after a SEQ hole
    counts: Dict[str, int] = field(default_factory=lambda: dict.fromkeys(RULES, 0))
    active: List[str] = field(default_factory=list)    # the rules that were on
    unchecked: List[str] = field(default_factory=list)  # required rules that checked nothing
    violation_text: str = ''
    notes: List[str] = field(default_factory=list)

    @property
    def ok(self):
        return self.status == 'ok'

    @property
    def exit_code(self):
        return {'ok': 0, 'no-trace': 2}.get(self.status, 1)

    def rule_lines(self):
        return ['tracecheck: %s: %d checked' % (r, self.counts[r]) for r in self.active]

    def summary(self):
        if self.status == 'no-trace':
            return 'tracecheck: no trace dump in the log'
        s = 'tracecheck: %d dump%s, %d records, %s checked, ' % (
            self.dumps, '' if self.dumps == 1 else 's', self.records,
            ', '.join('%s %d' % (r, self.counts[r]) for r in self.active))
        if self.status == 'violation':
            return s + 'VIOLATION: ' + self.violation_text.split('\n', 1)[0]
        if self.status == 'unchecked':
            return s + 'FAIL: --require %s: nothing checked' % ','.join(self.unchecked)
        return s + 'OK'


def check_lines(lines, orders=(), inner=(), owner=True, require=()):
    dumps = parse_dumps(lines)
    res = Result(dumps=len(dumps), records=sum(len(d.records) for d in dumps))
    res.active = ['stack'] + ['order'] * bool(orders) + ['inner'] * bool(inner) + \
        ['asid'] * bool(owner)
    if not dumps:
        res.status = 'no-trace'
        return res
    for d in dumps:
        if not d.ended:
            res.notes.append('dump %d (line %d) has no "# trace end" line: log cut short?'
                             % (d.index, d.begin_lineno))
        c = DumpChecker(d, list(orders), list(inner), owner)
        try:
            c.run()
        except Violation as v:
            res.status = 'violation'
            res.violation_text = format_violation(d, v)
        res.notes += [c.note] if c.note else []
        res.skipped += len(d.records) - len(c.checked)
        for r in RULES:
            res.counts[r] += c.counts[r]
        if not res.ok:
            return res
    res.unchecked = [r for r in require if res.counts[r] == 0]
    if res.unchecked:
        res.status = 'unchecked'
    return res


def check_log(path, orders=(), inner=(), owner=True, require=()):
    """Check every dump in the log at path. orders: Order objects or 'A:a,B:b' strings;
    inner: Inner objects or 'HOOK:A,B[,C...]' strings; owner: the asid rule; require: rule
    names that must check at least one record."""
    orders = [parse_order(o) if isinstance(o, str) else o for o in orders]
    inner = [parse_inner(i) if isinstance(i, str) else i for i in inner]
    with open(path, 'rb') as f:
        lines = f.read().decode('utf-8', 'replace').split('\n')
    return check_lines(lines, orders, inner, owner, require)


def report(res, quiet=False):
    """The lines to print for a Result."""
    if res.status == 'no-trace':
        return [res.summary()]
    out = []
    if not quiet:
        out += ['tracecheck: ' + n for n in res.notes] + res.rule_lines()
        if res.status == 'violation':
            lines = res.violation_text.split('\n')
            out += ['tracecheck: VIOLATION: ' + lines[0]] + lines[1:]
    return out + [res.summary()]


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__[__doc__.index('Rules ('):__doc__.index('Usable as a module')])
    ap.add_argument('log', help='serial log file')
    add_rule_arguments(ap, '--order')
    ap.add_argument('--require', action='append', default=[], metavar='RULE[,RULE...]',
                    help='fail if one of these rules (%s) checked nothing' % ','.join(RULES))
    ap.add_argument('--quiet', action='store_true', help='print only the summary line')
    a = ap.parse_args(argv)
    orders, inner = parse_rule_arguments(ap, a)
    require = [r.strip() for text in a.require for r in text.split(',') if r.strip()]
    if set(require) - set(RULES):
        ap.error('--require wants rules out of %s: %s' % (','.join(RULES), ','.join(require)))
    try:
        res = check_log(a.log, orders, inner, a.vcpu_owner, require)
    except OSError as e:
        print('tracecheck: cannot read %s: %s' % (a.log, e.strerror or e), file=sys.stderr)
        return 2
    for line in report(res, a.quiet):
        print(line)
    return res.exit_code


if __name__ == '__main__':
    sys.exit(main())
