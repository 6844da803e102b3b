#!/usr/bin/env python3
"""Check the ctxop trace dumps in a bhyvelet serial log against the ctxops contract.

  python3 scripts/tracecheck.py LOG [--order SAVE_A:RESTORE_A,SAVE_B:RESTORE_B]...
                                     [--inner HOOK:A,B[,C...]]... [--no-vcpu-owner]
                                     [--quiet]

Exit status: 0 every dump holds, 1 a violation was found (the first one is printed with the
records around it), 2 the log holds no trace dump at all.

The kernel prints dumps like this (several per log are fine; each is checked on its own):

  # trace begin: cpus=2 records=1234 dropped=0
  CPU     ID                    FUNCTION:NAME  SEQ      THREAD              ARGS
    0      1                 savectx:entry     1024     0xffff800000134180  nodes=3
    0      5                   ctxop:save      1025     0xffff800000134180  hook=fpu_ctx_save op=0x...
  ...
  # trace end: dropped=0

Rules, per thread (the THREAD column; a thread:free record for a thread forgets it):
  - a save sequence runs from savectx:entry to savectx:return of one thread; its hooks are that
    thread's ctxop:save records in between; restore likewise with restorectx:* and
    ctxop:restore. A sequence has as many hooks as its entry's nodes=, all its records are on
    one CPU, and sequences of one thread never overlap.
  - the checker keeps a model of each thread's ctxop list (newest first), learned from the
    thread's first complete sequence and then edited by ctxop_attach:attach (prepend) and
    ctxop_detach:detach (remove; detaching a node not on the list is a violation) records
    whose thread= names the thread. Every later save must list the model newest->oldest,
    every restore oldest->newest (the exact mirror of the latest save, adjusted by the
    attaches and detaches since).
  - when a dump reports dropped>0, only the records before the first hole in the SEQ numbers
    are checked (a dropped record still used up its SEQ number).

--order SAVE_A:RESTORE_A,SAVE_B:RESTORE_B (repeatable) says that node A is newer than node B,
where a node is named by its save hook in save sequences and its restore hook in restore
sequences. In every save sequence holding both, A's hook must come before B's; in every restore
sequence holding both, B's hook must come before A's. A name without ':' is used for both walks.
Example: --order vmm_savectx:vmm_restorectx,fpu_ctx_save:fpu_ctx_restore

--inner HOOK:A,B[,C...] (repeatable) checks what runs inside a hook. The body of a hook call is
the records of the same thread after its ctxop:save (or ctxop:restore) record with hook=HOOK, up
to the thread's next ctxop:* record, savectx:/restorectx: entry or return (or the end of what is
checked). Records of other threads interleaving do not count and do not end it. In every body
of HOOK, the listed functions (the FUNCTION part of FUNCTION:NAME; an item with ':' names the
whole FUNCTION:NAME) that are present must appear in the listed order: every record of A before
every record of B, and so on. A listed function missing from a body is fine.
Example: --inner vmm_savectx:svm_savectx,save_guest_fpustate
The summary says how many hook bodies the --inner rules checked, and how many of them held two
or more of a rule's functions (the ones where the order was actually seen).

vCPU ownership (on by default; --no-vcpu-owner turns it off). It acts only on dumps holding
vmx:vmptrld, vmx:vmclear, vmentry:entry, vmexit:exit or svm:new_asid records, and keeps one state
per vCPU, keyed by the vcpu= value (not by thread: thread:free and vm_run:return change nothing).
  VMX: a vmx:vmptrld (args vcpu= cpu=N) makes the vCPU's VMCS current on CPU N; a vmx:vmclear
  (vcpu= cpu=N) puts it back in memory.
  - a vmptrld of a VMCS that is current (loaded and not cleared since) is a violation
    ("VMCS current on two CPUs");
  - a vmclear must be on the CPU where the VMCS is current (one of a VMCS not current is
    tolerated: the kernel skips those);
  - every vmentry:entry with kind=1 (VMLAUNCH) or kind=2 (VMRESUME) must be on the CPU (the CPU
    column) where the vCPU's VMCS is current;
  - the first entry after a vmptrld must be a VMLAUNCH; a VMRESUME needs a successful entry on
    the VMCS since its vmptrld ("VMRESUME after VMCLEAR"), and a VMLAUNCH of a VMCS launched
    since its vmptrld is a violation too. An entry fails when the vCPU's next vmexit:exit says
    reason=13 (VM_EXIT_VMFAIL): a failed VMLAUNCH leaves the VMCS unlaunched, after a failed
    VMRESUME either kind is accepted next.
  A vCPU first seen mid-dump is learned at its first vmptrld (or vmclear); its entries before
  that are tolerated (counted apart in the summary).
  SVM: every vmentry:entry with kind=0 (VMRUN) of a vCPU on CPU X must be preceded, since the
  vCPU's last entry on another CPU, by an svm:new_asid for it on CPU X ("SVM vCPU moved to cpuX
  without a new ASID"). A vCPU's first entry in the dump is tolerated (checked if a new_asid on
  its CPU came first).
A violation names the vCPU and lists its latest ownership records. The summary counts the guest
entries this rule checked ("N guest entries checked for VMCS/ASID ownership").

Usable as a module: check_log(path, orders=(), inner=(), owner=True) -> Result.
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

CONTEXT = 6  # records shown on each side of a violation

SAVE, RESTORE = 'save', 'restore'
ENTRY_PROBE = {'savectx:entry': SAVE, 'restorectx:entry': RESTORE}
RETURN_PROBE = {'savectx:return': SAVE, 'restorectx:return': RESTORE}
HOOK_PROBE = {'ctxop:save': SAVE, 'ctxop:restore': RESTORE}

# vCPU ownership rule (VMCS / ASID): the probes and what their args mean.
VMPTRLD, VMCLEAR = 'vmx:vmptrld', 'vmx:vmclear'
VMENTRY, VMEXIT, NEW_ASID = 'vmentry:entry', 'vmexit:exit', 'svm:new_asid'
OWNER_PROBES = (VMPTRLD, VMCLEAR, VMENTRY, VMEXIT, NEW_ASID)
ENTRY_KIND = {'vmrun': 'VMRUN', 'vmlaunch': 'VMLAUNCH', 'vmresume': 'VMRESUME'}
VM_EXIT_VMFAIL = 'vmfail'   # the exit name of a failed entry
OWNER_HISTORY = 6       # ownership records of the vCPU shown with a violation


# ---------------------------------------------------------------------------------------------
# Parsing


@dataclass
class Record:
    lineno: int             # 1-based line number in the log file
    text: str               # the line as printed
    cpu: int
    probe_id: int
    probe: str              # "FUNCTION:NAME"
    seq: int
    thread: str             # the running thread (lower-case hex string)
    args: Dict[str, str]

    def arg(self, key):
        v = self.args.get(key)
        return v.lower() if v is not None and v.lower().startswith('0x') else v


@dataclass
class Dump:
    index: int              # 1-based number of the dump in the log
    begin_lineno: int
    cpus: Optional[int] = None
    declared_records: Optional[int] = None
    dropped: int = 0
    end_lineno: Optional[int] = None
    records: List[Record] = field(default_factory=list)
    unparsed: List[Tuple[int, str]] = field(default_factory=list)  # lines inside not understood


def parse_record(lineno, line):
    """A Record for a trace record line, else None."""
    words = line.split()
    if len(words) < 5:
        return None
    try:
        cpu = int(words[0])
        probe_id = int(words[1])
        seq = int(words[3])
    except ValueError:
        return None
    if ':' not in words[2]:
        return None
    args = {}
    for w in words[5:]:
        m = KV_RE.fullmatch(w)
        if m:
            args[m.group(1)] = m.group(2)
    return Record(lineno, line.rstrip(), cpu, probe_id, words[2], seq, words[4].lower(), args)


def _kv(text):
    out = {}
    for k, v in KV_RE.findall(text):
        try:
            out[k] = int(v)
        except ValueError:
            pass
    return out


def parse_dumps(lines):
    """The dumps in a log given as a list of lines (without newlines)."""
    dumps = []
    cur = None
    for lineno, raw in enumerate(lines, 1):
        line = raw.replace('\r', '').rstrip()
        m = BEGIN_RE.match(line)
        if m:
            if cur is not None:  # a new begin inside a dump: the old one had no end line
                dumps.append(cur)
            kv = _kv(m.group(1))
            cur = Dump(len(dumps) + 1, lineno, kv.get('cpus'), kv.get('records'),
                       kv.get('dropped', 0))
            continue
        if cur is None:
            continue
        m = END_RE.match(line)
        if m:
            cur.end_lineno = lineno
            cur.dropped = max(cur.dropped, _kv(m.group(1)).get('dropped', 0))
            dumps.append(cur)
            cur = None
            continue
        if not line.strip() or HEADER_RE.match(line):
            continue
        rec = parse_record(lineno, line)
        if rec is not None:
            cur.records.append(rec)
        else:
            cur.unparsed.append((lineno, line))
    if cur is not None:
        dumps.append(cur)
    return dumps


def read_lines(path):
    with open(path, 'rb') as f:
        return f.read().decode('utf-8', 'replace').split('\n')


# ---------------------------------------------------------------------------------------------
# Checking


class Violation(Exception):
    def __init__(self, rule, thread, record, details=(), vcpu=None):
        super().__init__(rule)
        self.rule = rule            # one line: what went wrong
        self.thread = thread
        self.record = record        # the record at which it was found
        self.details = list(details)
        self.vcpu = vcpu            # the vCPU, for the ownership rule


@dataclass
class Sequence:
    kind: str                   # SAVE or RESTORE
    entry: Record
    hooks: List[Record] = field(default_factory=list)

    @property
    def nodes(self):
        try:
            return int(self.entry.args.get('nodes', ''), 0)
        except ValueError:
            return None

    @property
    def ops(self):
        return [h.arg('op') for h in self.hooks]

    def where(self):
        return 'line %d, SEQ %d, CPU %d' % (self.entry.lineno, self.entry.seq, self.entry.cpu)


@dataclass
class ThreadState:
    model: Optional[List[str]] = None   # op pointers, newest first; None until learned
    learned_from: str = ''              # which sequence the model came from
    open: Optional[Sequence] = None
    seen_entry: bool = False            # an entry of this thread was seen in this dump
    last_save: Optional[Sequence] = None
    attaches_since_save: int = 0
    detaches_since_save: int = 0


@dataclass
class VcpuState:
    """What the ownership rule knows of one vCPU (keyed by its vcpu= value)."""
    # VMX: learned from the first vmptrld (or vmclear) of the vCPU; until then nothing is known.
    vmx_known: bool = False
    current: Optional[int] = None       # CPU where its VMCS is current, None: not current
    loaded_at: Optional[Record] = None  # the vmptrld that made it current
    cleared_at: Optional[Record] = None  # the latest vmclear
    launched: Optional[bool] = False    # VMRESUME allowed; None: unknown (a VMRESUME failed)
    launched_by: Optional[Record] = None  # the entry that launched the current VMCS
    failed_launch: Optional[Record] = None  # a VMLAUNCH since the vmptrld that failed
    pending: Optional[Record] = None    # the latest VMX entry, until its vmexit:exit
    # SVM
    last_entry: Optional[Record] = None  # the latest kind=0 entry
    asids: Dict[int, Record] = field(default_factory=dict)  # CPU -> new_asid since last_entry
    history: List[Record] = field(default_factory=list)     # its latest ownership records


@dataclass
class Order:
    newer_save: str
    newer_restore: str
    older_save: str
    older_restore: str

    def __str__(self):
        return '%s:%s before %s:%s' % (self.newer_save, self.newer_restore,
                                       self.older_save, self.older_restore)


def parse_order(text):
    """'SAVE_A:RESTORE_A,SAVE_B:RESTORE_B' (or 'A,B') -> Order."""
    parts = [p.strip() for p in text.split(',')]
    if len(parts) != 2 or not all(parts):
        raise ValueError('--order wants two nodes, A,B: %r' % text)
    names = []
    for p in parts:
        s, _, r = p.partition(':')
        names.append((s, r or s))
    return Order(names[0][0], names[0][1], names[1][0], names[1][1])


@dataclass
class Inner:
    hook: str
    names: Tuple[str, ...]      # function names (or FUNCTION:NAME), in the required order

    def rank(self, probe):
        """The position of a probe's record in the list, else None."""
        fn = probe.split(':', 1)[0]
        for i, n in enumerate(self.names):
            if n == probe or n == fn:
                return i
        return None

    def __str__(self):
        return '%s:%s' % (self.hook, ','.join(self.names))


def add_rule_arguments(ap, order_flag):
    """The rule options, shared with run.py (which calls --order --trace-order)."""
    ap.add_argument(order_flag, dest='order', action='append', default=[],
                    metavar='SAVE_A:RESTORE_A,SAVE_B:RESTORE_B',
                    help='node A is newer than node B (repeatable)')
    ap.add_argument('--inner', action='append', default=[], metavar='HOOK:A,B[,C...]',
                    help='inside every call of hook HOOK, functions A, B, ... run in this '
                         'order (repeatable)')
    ap.add_argument('--no-vcpu-owner', dest='vcpu_owner', action='store_false',
                    help='turn off the vCPU ownership rule (VMCS current on one CPU, '
                         'VMLAUNCH/VMRESUME, SVM ASID per CPU)')


def parse_rule_arguments(ap, a):
    """(orders, inner) from add_rule_arguments' options; a bad rule is a usage error."""
    try:
        return ([parse_order(o) for o in a.order], [parse_inner(i) for i in a.inner])
    except ValueError as e:
        ap.error(str(e))


def parse_inner(text):
    """'HOOK:A,B[,C...]' -> Inner."""
    hook, sep, rest = text.partition(':')
    hook = hook.strip()
    names = tuple(n.strip() for n in rest.split(','))
    if not sep or not hook or len(names) < 2 or not all(names):
        raise ValueError('--inner wants HOOK:A,B[,C...] (a hook and two or more functions): %r'
                         % text)
    if len(set(names)) != len(names):
        raise ValueError('--inner lists a function twice: %r' % text)
    return Inner(hook, names)


@dataclass
class Body:
    """One call of a hook that --inner rules look into."""
    hook_rec: Record            # the ctxop:save / ctxop:restore record that began it
    rules: List[Inner]
    top: List[int]              # per rule: highest rank seen so far (-1: none)
    hits: List[Record] = field(default_factory=list)   # records that matched a rule
    ranks_seen: List[set] = field(default_factory=list)

    @property
    def hook(self):
        return self.hook_rec.args.get('hook', '?')

    def where(self):
        r = self.hook_rec
        return 'line %d, SEQ %d, CPU %d' % (r.lineno, r.seq, r.cpu)


@dataclass
class Result:
    ok: bool
    dumps: int
    records: int
    sequences_checked: int
    violation_text: str = ''
    saves: int = 0
    restores: int = 0
    skipped: int = 0                    # records not checked (after a SEQ hole)
    notes: List[str] = field(default_factory=list)
    status: str = 'ok'                  # ok, violation, no-trace
    inner_rules: int = 0                # how many --inner rules were given
    inner_bodies: int = 0               # hook bodies looked into by --inner rules
    inner_ordered: int = 0              # ... of which held two or more of a rule's functions
    owner_on: bool = True               # the vCPU ownership rule is on
    owner_records: int = 0              # vmptrld/vmclear/vmentry/new_asid records seen
    owner_entries: int = 0              # guest entries the ownership rule checked
    owner_tolerated: int = 0            # ... and entries of vCPUs it knew nothing of yet

    @property
    def exit_code(self):
        return {'ok': 0, 'violation': 1}.get(self.status, 2)

    def summary(self):
        if self.status == 'no-trace':
            return 'tracecheck: no trace dump in the log'
        s = 'tracecheck: %d dump%s, %d records, %d save and %d restore sequences checked, ' % (
            self.dumps, '' if self.dumps == 1 else 's', self.records, self.saves, self.restores)
        if self.inner_rules:
            s += '%d hook bod%s checked by --inner rules (%d with two or more listed), ' % (
                self.inner_bodies, 'y' if self.inner_bodies == 1 else 'ies', self.inner_ordered)
        if self.owner_on and self.owner_records:
            s += '%d guest entr%s checked for VMCS/ASID ownership%s, ' % (
                self.owner_entries, 'y' if self.owner_entries == 1 else 'ies',
                (' (%d before the vCPU was known)' % self.owner_tolerated)
                if self.owner_tolerated else '')
        if self.ok:
            return s + 'OK'
        return s + 'VIOLATION: ' + self.violation_text.split('\n', 1)[0]


class DumpChecker:
    def __init__(self, dump, orders=(), inner=(), owner=True):
        self.dump = dump
        self.owner = owner      # the vCPU ownership rule
        self.vcpus = {}         # vcpu= value -> VcpuState
        self.owner_records = 0
        self.owner_entries = 0
        self.owner_tolerated = 0
        self.orders = list(orders)
        self.inner = {}         # hook name -> [Inner]
        for rule in inner:
            self.inner.setdefault(rule.hook, []).append(rule)
        self.bodies = {}        # thread -> its open Body
        self.inner_bodies = 0
        self.inner_ordered = 0
        self.threads = {}
        self.names = {}         # (kind, op) -> hook name, for messages
        self.saves = 0
        self.restores = 0
        self.checked = dump.records
        self.notes = []

    # -- helpers --

    def state(self, thread):
        st = self.threads.get(thread)
        if st is None:
            st = self.threads[thread] = ThreadState()
        return st

    def hooks(self, ops, kind):
        return '[' + ', '.join(self.names.get((kind, op), op) for op in ops) + ']'

    def label(self, op, kind):
        return '%s %s' % (op, self.names.get((kind, op), '?'))

    def show(self, ops, kind):
        return '[' + ', '.join('%s %s' % (op, self.names.get((kind, op), '?')) for op in ops) + ']'

    # -- SEQ holes --

    def limit_to_first_hole(self):
        recs = self.dump.records
        for i in range(1, len(recs)):
            if recs[i].seq <= recs[i - 1].seq:
                raise Violation('records out of SEQ order (SEQ %d after %d)'
                                % (recs[i].seq, recs[i - 1].seq), recs[i].thread, recs[i])
        hole = None
        for i in range(1, len(recs)):
            if recs[i].seq != recs[i - 1].seq + 1:
                hole = i
                break
        d = self.dump
        if hole is None:
            if d.dropped:
                self.notes.append('dump %d (line %d): dropped=%d but no hole in SEQ: the '
                                  'dropped records came after the last one printed; all %d '
                                  'records checked' % (d.index, d.begin_lineno, d.dropped,
                                                       len(recs)))
            return
        self.checked = recs[:hole]
        skipped = len(recs) - hole
        why = 'dropped=%d' % d.dropped if d.dropped else \
            ('dropped=0 but SEQ has a hole (a writer that lost the race with the end of '
             'tracing takes a SEQ and writes nothing)')
        self.notes.append('dump %d (line %d): %s; first SEQ hole after SEQ %d (line %d): '
                          'checked %d records, skipped %d'
                          % (d.index, d.begin_lineno, why, recs[hole - 1].seq,
                             recs[hole - 1].lineno, hole, skipped))

    # -- the walk --

    def run(self):
        self.limit_to_first_hole()
        for rec in self.checked:
            self.record(rec)
        for t in list(self.bodies):     # bodies cut short by the end of what is checked
            self.close_body(t)

    def record(self, rec):
        if self.inner:
            self.inner_record(rec)
        p = rec.probe
        if p in ENTRY_PROBE:
            self.entry(rec, ENTRY_PROBE[p])
        elif p in HOOK_PROBE:
            self.hook(rec, HOOK_PROBE[p])
        elif p in RETURN_PROBE:
            self.ret(rec, RETURN_PROBE[p])
        elif p == 'ctxop_attach:attach':
            self.attach(rec)
        elif p == 'ctxop_detach:detach':
            self.detach(rec)
        elif p == 'thread:free':
            self.free(rec)
        elif self.owner and p in OWNER_PROBES:
            self.ownership(rec)
        # other probes (fpu, swtch, thread:create, ...) carry nothing this checker needs
        if self.inner and p in HOOK_PROBE:
            rules = self.inner.get(rec.args.get('hook'))
            if rules:
                self.bodies[rec.thread] = Body(rec, rules, [-1] * len(rules),
                                               ranks_seen=[set() for _ in rules])
                self.inner_bodies += 1

    # -- --inner rules --

    def inner_record(self, rec):
        """Before the record's own checks: end or extend its thread's open hook body."""
        p = rec.probe
        if p == 'thread:free':
            t = rec.arg('thread')
            if t is not None and t != rec.thread:
                self.bodies.pop(t, None)
        body = self.bodies.get(rec.thread)
        if body is None:
            return
        if p.split(':', 1)[0] == 'ctxop' or p in ENTRY_PROBE or p in RETURN_PROBE:
            self.close_body(rec.thread)
            return
        matched = False
        for i, rule in enumerate(body.rules):
            k = rule.rank(p)
            if k is None:
                continue
            matched = True
            body.ranks_seen[i].add(k)
            if k < body.top[i]:
                body.hits.append(rec)
                self.inner_violation(rec, body, rule, k, body.top[i])
            body.top[i] = k
        if matched:
            body.hits.append(rec)

    def close_body(self, thread):
        body = self.bodies.pop(thread)
        if any(len(s) >= 2 for s in body.ranks_seen):
            self.inner_ordered += 1

    def inner_violation(self, rec, body, rule, k, top):
        kind = HOOK_PROBE[body.hook_rec.probe]
        raise Violation('--inner %s: in the body of a %s call, %s ran after %s'
                        % (rule, body.hook, rule.names[k], rule.names[top]), rec.thread, rec,
                        ['the %s call (%s hook) began at %s' % (body.hook, kind, body.where()),
                         'required order: ' + ', '.join(rule.names),
                         'listed functions in this body so far: '
                         + ', '.join('%s (line %d)' % (h.probe, h.lineno) for h in body.hits)])

    def entry(self, rec, kind):
        st = self.state(rec.thread)
        if st.open is not None:
            raise Violation('%sctx entered while a %s sequence of the same thread is open '
                            '(sequences interleave)' % (kind, st.open.kind), rec.thread, rec,
                            ['the open %s sequence began at %s'
                             % (st.open.kind, st.open.where())])
        st.open = Sequence(kind, rec)
        st.seen_entry = True

    def _orphan(self, rec, st, what):
        # Records of a sequence that began before tracing did are fine; later ones are not.
        if st.seen_entry:
            raise Violation('%s with no open sequence of its thread' % what, rec.thread, rec)

    def hook(self, rec, kind):
        st = self.state(rec.thread)
        if st.open is None:
            self._orphan(rec, st, rec.probe)
            return
        if st.open.kind != kind:
            raise Violation('%s inside a %s sequence' % (rec.probe, st.open.kind), rec.thread,
                            rec, ['the %s sequence began at %s'
                                  % (st.open.kind, st.open.where())])
        if rec.cpu != st.open.entry.cpu:
            raise Violation('%s sequence moved from CPU %d to CPU %d (hooks must run with '
                            'preemption disabled)' % (kind, st.open.entry.cpu, rec.cpu),
                            rec.thread, rec, ['the sequence began at %s' % st.open.where()])
        op = rec.arg('op')
        if op is None:
            raise Violation('%s record without op=' % rec.probe, rec.thread, rec)
        self.names[(kind, op)] = rec.args.get('hook', '?')
        st.open.hooks.append(rec)

    def ret(self, rec, kind):
        st = self.state(rec.thread)
        seq = st.open
        if seq is None:
            self._orphan(rec, st, rec.probe)
            return
        if seq.kind != kind:
            raise Violation('%s while a %s sequence is open' % (rec.probe, seq.kind),
                            rec.thread, rec, ['the %s sequence began at %s'
                                              % (seq.kind, seq.where())])
        if rec.cpu != seq.entry.cpu:
            raise Violation('%s sequence moved from CPU %d to CPU %d (hooks must run with '
                            'preemption disabled)' % (kind, seq.entry.cpu, rec.cpu),
                            rec.thread, rec, ['the sequence began at %s' % seq.where()])
        st.open = None
        self.finish(rec, st, seq)

    def finish(self, rec, st, seq):
        kind = seq.kind
        if seq.nodes is None:
            raise Violation('%sctx:entry without nodes=' % kind, rec.thread, seq.entry)
        if seq.nodes != len(seq.hooks):
            raise Violation('%s sequence ran %d hook%s but its entry says nodes=%d'
                            % (kind, len(seq.hooks), '' if len(seq.hooks) == 1 else 's',
                               seq.nodes), rec.thread, rec,
                            ['the sequence began at %s' % seq.where(),
                             'hooks run: ' + self.show(seq.ops, kind)])
        self.check_orders(rec, seq)
        got = seq.ops
        newest_first = got if kind == SAVE else list(reversed(got))
        if st.model is None:
            st.model = newest_first
            st.learned_from = '%s sequence at %s' % (kind, seq.where())
        else:
            expected = st.model if kind == SAVE else list(reversed(st.model))
            if got != expected:
                self.mismatch(rec, st, seq, expected)
        if kind == SAVE:
            st.last_save = seq
            st.attaches_since_save = st.detaches_since_save = 0
            self.saves += 1
        else:
            self.restores += 1

    def mismatch(self, rec, st, seq, expected):
        kind = seq.kind
        got = seq.ops
        if kind == RESTORE:
            rule, order = 'restore does not mirror save', 'oldest->newest'
        else:
            rule, order = 'save does not match the list', 'newest->oldest'
        names = [self.names.get((kind, op), op) for op in set(expected) | set(got)]
        if len(set(names)) == len(names) and max(len(expected), len(got)) <= 6:
            head = '%s: expected %s got %s' % (rule, self.hooks(expected, kind),
                                               self.hooks(got, kind))
        else:
            k = next(i for i in range(max(len(expected), len(got)) + 1)
                     if i >= len(expected) or i >= len(got) or expected[i] != got[i])
            head = '%s: expected %d node%s, got %d; first difference at position %d' % (
                rule, len(expected), '' if len(expected) == 1 else 's', len(got), k)
        details = ['%s  %-40s %s' % ('pos', 'expected (%s)' % order, 'got')]
        for i in range(max(len(expected), len(got))):
            e = self.label(expected[i], kind) if i < len(expected) else '-'
            g = self.label(got[i], kind) if i < len(got) else '-'
            details.append('%3d  %-40s %s%s' % (i, e, g, '' if e == g else '   <<'))
        if kind == RESTORE and expected and got == list(reversed(expected)):
            details.append('the restore ran newest->oldest, the same order as save '
                           '(the legacy order)')
        if st.last_save is not None:
            details.append('compared with the save sequence at %s (%d node%s), adjusted by '
                           '%d attach%s and %d detach%s since'
                           % (st.last_save.where(), len(st.last_save.hooks),
                              '' if len(st.last_save.hooks) == 1 else 's',
                              st.attaches_since_save,
                              '' if st.attaches_since_save == 1 else 'es',
                              st.detaches_since_save,
                              '' if st.detaches_since_save == 1 else 'es'))
        else:
            details.append('no save of this thread seen yet; the list was learned from the '
                           '%s' % st.learned_from)
        raise Violation(head, rec.thread, rec, details)

    def check_orders(self, rec, seq):
        for o in self.orders:
            if seq.kind == SAVE:
                first, second = o.newer_save, o.older_save
            else:
                first, second = o.older_restore, o.newer_restore
            names = [h.args.get('hook') for h in seq.hooks]
            a = [i for i, n in enumerate(names) if n == first]
            b = [i for i, n in enumerate(names) if n == second]
            if a and b and max(a) > min(b):
                raise Violation('--order %s: in a %s sequence %s must run before %s'
                                % (o, seq.kind, first, second), rec.thread, rec,
                                ['the sequence began at %s' % seq.where(),
                                 'hooks run: ' + ', '.join(n or '?' for n in names)])

    def _target(self, rec):
        t = rec.arg('thread')
        op = rec.arg('op')
        if t is None or op is None:
            raise Violation('%s record without thread= or op=' % rec.probe, rec.thread, rec)
        return t, op

    def _edit_during_walk(self, rec, t, st):
        if st.open is not None:
            raise Violation('%s of thread %s while its %s sequence is open'
                            % (rec.probe.split(':')[1], t, st.open.kind), t, rec,
                            ['the %s sequence began at %s' % (st.open.kind, st.open.where())])

    def attach(self, rec):
        t, op = self._target(rec)
        st = self.state(t)
        self._edit_during_walk(rec, t, st)
        if st.model is None:
            return
        if op in st.model:
            raise Violation('attach of a node already on the list', t, rec,
                            ['list (newest first): ' + self.show(st.model, SAVE)])
        st.model.insert(0, op)
        st.attaches_since_save += 1

    def detach(self, rec):
        t, op = self._target(rec)
        st = self.state(t)
        self._edit_during_walk(rec, t, st)
        if st.model is None:
            return
        if op not in st.model:
            raise Violation('detach of a node not on the list (op=%s)' % op, t, rec,
                            ['list (newest first): ' + self.show(st.model, SAVE)])
        st.model.remove(op)
        st.detaches_since_save += 1

    def free(self, rec):
        t = rec.arg('thread')
        if t is None:
            raise Violation('thread:free record without thread=', rec.thread, rec)
        st = self.threads.pop(t, None)
        if st is not None and st.open is not None:
            raise Violation('thread freed while its %s sequence is open' % st.open.kind, t, rec,
                            ['the sequence began at %s' % st.open.where()])

    # -- vCPU ownership (VMCS current on one CPU, VMLAUNCH/VMRESUME, SVM ASID per CPU) --

    def ownership(self, rec):
        vcpu = rec.arg('vcpu')
        if vcpu is None:
            raise Violation('%s record without vcpu=' % rec.probe, rec.thread, rec)
        self.owner_records += 1
        st = self.vcpus.get(vcpu)
        if st is None:
            st = self.vcpus[vcpu] = VcpuState()
        p = rec.probe
        if p == VMPTRLD:
            self.vmptrld(rec, vcpu, st)
        elif p == VMCLEAR:
            self.vmclear(rec, vcpu, st)
        elif p == VMENTRY:
            self.vmentry(rec, vcpu, st)
        elif p == VMEXIT:
            self.vmexit(rec, st)
        elif p == NEW_ASID:
            st.asids[rec.cpu] = rec
        st.history.append(rec)
        del st.history[:-OWNER_HISTORY]

    def _int_arg(self, rec, key, vcpu):
        try:
            return int(rec.args[key], 0)
        except (KeyError, ValueError):
            raise Violation('%s record without a number in %s=' % (rec.probe, key),
                            rec.thread, rec, vcpu=vcpu) from None

    def owner_violation(self, rule, rec, vcpu, st, details=()):
        hist = ['this vCPU\'s latest VMCS/ASID records before it:']
        hist += ['  line %d: CPU %d %s %s' % (r.lineno, r.cpu, r.probe,
                                               ' '.join('%s=%s' % kv for kv in r.args.items()
                                                        if kv[0] != 'vcpu'))
                 for r in st.history] or ['  (none)']
        raise Violation(rule, rec.thread, rec, list(details) + hist, vcpu=vcpu)

    @staticmethod
    def _at(r):
        return 'line %d, SEQ %d' % (r.lineno, r.seq)

    def vmptrld(self, rec, vcpu, st):
        cpu = self._int_arg(rec, 'cpu', vcpu)
        if st.current is not None:
            self.owner_violation(
                'VMCS current on two CPUs: vmptrld on cpu%d while the VMCS is current on cpu%d'
                % (cpu, st.current), rec, vcpu, st,
                ['made current by the vmptrld at %s (CPU %d), no vmclear since'
                 % (self._at(st.loaded_at), st.current)])
        # Not current before a vmptrld means cleared (or never loaded): its launch state is
        # clear, so the next entry must be a VMLAUNCH.
        self._forget_launch(st)
        st.current = cpu
        st.loaded_at = rec

    @staticmethod
    def _forget_launch(st):
        """After a vmptrld or vmclear the VMCS's launch state is clear."""
        st.vmx_known = True
        st.launched = False
        st.launched_by = st.failed_launch = st.pending = None

    def vmclear(self, rec, vcpu, st):
        cpu = self._int_arg(rec, 'cpu', vcpu)
        if st.current is not None and st.current != cpu:
            self.owner_violation(
                'vmclear on cpu%d but VMCS current on cpu%d' % (cpu, st.current), rec, vcpu,
                st, ['made current by the vmptrld at %s (CPU %d)'
                     % (self._at(st.loaded_at), st.current)])
        # A vmclear of a VMCS not current is tolerated (the kernel skips those); either way
        # the VMCS is in memory now with its launch state clear.
        self._forget_launch(st)
        st.current = None
        st.cleared_at = rec

    def vmentry(self, rec, vcpu, st):
        kind = rec.args.get('kind')
        if kind == 'vmrun':
            self.svm_entry(rec, vcpu, st)
            return
        if kind not in ENTRY_KIND:
            raise Violation('vmentry:entry with an unknown kind=%s' % kind, rec.thread, rec,
                            vcpu=vcpu)
        name = ENTRY_KIND[kind]
        if not st.vmx_known:
            self.owner_tolerated += 1   # begun before the dump: learned at its first vmptrld
            return
        self.owner_entries += 1
        if st.current is None:
            self.owner_violation(
                '%s entry on cpu%d but VMCS not current' % (name, rec.cpu), rec, vcpu, st,
                ['cleared by the vmclear at %s (CPU %s), no vmptrld since'
                 % (self._at(st.cleared_at), st.cleared_at.args.get('cpu', '?'))])
        if st.current != rec.cpu:
            self.owner_violation(
                '%s entry on cpu%d but VMCS current on cpu%d' % (name, rec.cpu, st.current),
                rec, vcpu, st, ['made current by the vmptrld at %s (CPU %d)'
                                % (self._at(st.loaded_at), st.current)])
        if kind == 'vmresume' and st.launched is False:
            if st.failed_launch is not None:
                why = ['the VMLAUNCH at %s failed (vmexit reason=%s), so the VMCS '
                       'was never launched' % (self._at(st.failed_launch), VM_EXIT_VMFAIL)]
            else:
                why = ['the first entry after the vmptrld at %s must be a VMLAUNCH'
                       % self._at(st.loaded_at)]
            if st.cleared_at is not None:
                why.append('the VMCS was last cleared by the vmclear at %s'
                           % self._at(st.cleared_at))
            self.owner_violation('VMRESUME after VMCLEAR: VMRESUME on cpu%d of a VMCS not '
                                 'launched since its vmptrld' % rec.cpu, rec, vcpu, st, why)
        if kind == 'vmlaunch' and st.launched is True:
            self.owner_violation(
                'VMLAUNCH on cpu%d of a VMCS already launched (no vmclear since; the entry '
                'must be a VMRESUME)' % rec.cpu, rec, vcpu, st,
                ['launched by the entry at %s' % self._at(st.launched_by)])
        # Launched from here on, unless its vmexit:exit says the entry failed.
        st.pending = rec
        if kind == 'vmlaunch' or st.launched is None:
            st.launched = True
            st.launched_by = rec

    def vmexit(self, rec, st):
        e = st.pending
        st.pending = None
        if e is None or rec.args.get('reason') != VM_EXIT_VMFAIL:
            return
        if e.args.get('kind') == 'vmlaunch':
            st.launched = False         # a failed VMLAUNCH leaves the launch state clear
            st.launched_by = None
            st.failed_launch = e
        else:
            st.launched = None          # a failed VMRESUME: the kernel may go either way

    def svm_entry(self, rec, vcpu, st):
        last = st.last_entry
        if last is None and rec.cpu in st.asids:
            self.owner_entries += 1     # its first entry, with a fresh ASID on this CPU
        elif last is None:
            self.owner_tolerated += 1   # where it ran before the dump is unknown
        else:
            self.owner_entries += 1
            if last.cpu != rec.cpu and rec.cpu not in st.asids:
                self.owner_violation(
                    'SVM vCPU moved to cpu%d without a new ASID' % rec.cpu, rec, vcpu, st,
                    ['its previous entry was on cpu%d at %s; no svm:new_asid for it on cpu%d '
                     'since' % (last.cpu, self._at(last), rec.cpu)]
                    + ['svm:new_asid since then on cpu%d at %s' % (c, self._at(r))
                       for c, r in sorted(st.asids.items())])
        st.last_entry = rec
        st.asids.clear()


def context_lines(dump, rec, n=CONTEXT):
    recs = dump.records
    i = next(k for k, r in enumerate(recs) if r is rec)
    out = []
    for r in recs[max(0, i - n):i + n + 1]:
        out.append('%s %6d: %s' % ('>>' if r is rec else '  ', r.lineno, r.text))
    return out


def format_violation(dump, v):
    out = ['%s' % v.rule,
           '  rule broken at log line %d (dump %d, begun at line %d), thread %s%s'
           % (v.record.lineno, dump.index, dump.begin_lineno, v.thread,
              ', vcpu %s' % v.vcpu if v.vcpu else '')]
    out += ['  ' + d for d in v.details]
    out.append('  records around it (log line: record):')
    out += ['  ' + l for l in context_lines(dump, v.record)]
    return '\n'.join(out)


def check_lines(lines, orders=(), inner=(), owner=True):
    dumps = parse_dumps(lines)
    res = Result(ok=True, dumps=len(dumps), records=sum(len(d.records) for d in dumps),
                 sequences_checked=0, inner_rules=len(inner), owner_on=owner)
    if not dumps:
        res.ok = False
        res.status = 'no-trace'
        return res
    for d in dumps:
        if d.end_lineno is None:
            res.notes.append('dump %d (line %d) has no "# trace end" line: log cut short?'
                             % (d.index, d.begin_lineno))
        if d.declared_records is not None and d.declared_records != len(d.records):
            res.notes.append('dump %d (line %d) announces records=%d but holds %d'
                             % (d.index, d.begin_lineno, d.declared_records, len(d.records)))
        for lineno, text in d.unparsed[:3]:
            res.notes.append('dump %d: line %d is not a trace record, ignored: %s'
                             % (d.index, lineno, text.strip()))
        if len(d.unparsed) > 3:
            res.notes.append('dump %d: %d more lines that are not trace records'
                             % (d.index, len(d.unparsed) - 3))
        c = DumpChecker(d, orders, inner, owner)
        try:
            c.run()
        except Violation as v:
            res.ok = False
            res.status = 'violation'
            res.violation_text = format_violation(d, v)
        res.notes += c.notes
        res.saves += c.saves
        res.restores += c.restores
        res.inner_bodies += c.inner_bodies
        res.inner_ordered += c.inner_ordered
        res.owner_records += c.owner_records
        res.owner_entries += c.owner_entries
        res.owner_tolerated += c.owner_tolerated
        res.skipped += len(d.records) - len(c.checked)
        if not res.ok:
            break
    res.sequences_checked = res.saves + res.restores
    return res


def check_log(path, orders=(), inner=(), owner=True):
    """Check every dump in the log at path. orders: Order objects or 'A:a,B:b' strings;
    inner: Inner objects or 'HOOK:A,B[,C...]' strings; owner: the vCPU ownership rule."""
    orders = [parse_order(o) if isinstance(o, str) else o for o in orders]
    inner = [parse_inner(i) if isinstance(i, str) else i for i in inner]
    return check_lines(read_lines(path), orders, inner, owner)


def report(res, quiet=False):
    """The text to print for a Result."""
    out = []
    if res.status == 'no-trace':
        return [res.summary()]
    if not quiet:
        out += ['tracecheck: ' + n for n in res.notes]
        if res.status == 'violation':
            out += ['tracecheck: VIOLATION: ' + l if i == 0 else l
                    for i, l in enumerate(res.violation_text.split('\n'))]
    out.append(res.summary())
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__[__doc__.index('Rules,'):__doc__.index('Usable as a module')])
    ap.add_argument('log', help='serial log file')
    add_rule_arguments(ap, '--order')
    ap.add_argument('--quiet', action='store_true', help='print only the summary line')
    a = ap.parse_args(argv)
    orders, inner = parse_rule_arguments(ap, a)
    try:
        res = check_log(a.log, orders, inner, a.vcpu_owner)
    except OSError as e:
        print('tracecheck: cannot read %s: %s' % (a.log, e.strerror or e), file=sys.stderr)
        return 2
    for line in report(res, a.quiet):
        print(line)
    return res.exit_code


if __name__ == '__main__':
    sys.exit(main())
