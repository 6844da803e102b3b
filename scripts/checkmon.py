"""make check's expectation cases for the monitor, tracing and nested guests (scripts/check.py
runs them as RunPyJobs: scripts/run.py with serial input, judged from the log). Each function
takes a run.RunResult and returns (ok, why); tests/host/test_checkmon.py shows them fail.
"""

import json
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tracecheck  # noqa: E402
import traceview  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _ended_early(res, why_ok):
    if res.timed_out:
        return False, 'the run hit its %g s timeout instead of ending' % res.timeout
    if res.timeout and res.elapsed > res.timeout / 2:
        return False, 'the run took %.1f s of its %g s timeout' % (res.elapsed, res.timeout)
    return True, why_ok


def _message(res, pattern):
    """Is there a kernel message line ("[cpuN] text") whose text matches pattern whole?"""
    return any(re.fullmatch(pattern, t) for t in res.log.message_texts())


# The monitor (kern/mon/), driven through QEMU's serial input: the break-in key while mb_input
# waits for its line, every dcmd, bad input, ::continue and the line for the guest.
MON_INPUT = (b'\x1d::help\r::cpus\r::threads | ::ctxops\r::vms\r::vcpus\r::stats mb_input.elf\r'
             b'::nosuch\r::ctxops 0x1\rnonsense\r::stack main\r::trace off *\r::trace on vmexit\r'
             b'::trace on\r::trace on nomatch*\r::continue\rtyped-on-com1\r')
MON_DCMDS = ('help', 'cpus', 'threads', 'ctxops', 'walk', 'stack', 'vms', 'vcpus', 'stats', 'trace',
             'pause', 'resume', 'kill', 'regs', 'dump',
             'kmem',
             'kmem_verify', 'findleaks',
             'continue', 'quit')
MON_FINAL_INPUT = b'::vms\r::threads\r::kmem\r::kmem_verify\r::findleaks\r::continue\r::quit\r'
# With a leak and a smashed redzone planted at boot (kern/mon/mon_kmem.c's switches).
MON_KMEM_INPUT = b'::kmem_verify\r::findleaks\r::ctxops main\r::quit\r'


def _mon_file(name, data):
    path = os.path.join(ROOT, 'build', name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)
    return os.path.relpath(path)


def expect_monitor(res):
    """The break-in key gave the monitor the console while a guest ran; each dcmd answered with
    what the kernel knows; bad input was refused and the monitor went on; ::continue gave the
    console back and the guest got its line (QEMU status 1: exit code 0)."""
    text = '\n'.join(res.log.lines)
    cpus = res.cpus
    if '# mon: the monitor has the console' not in text:
        return False, 'the break-in key did not start the monitor'
    missing = [d for d in MON_DCMDS if not re.search(r'^::%s\b' % d, text, re.M)]
    if missing:
        return False, '::help does not list %s' % ', '.join('::' + m for m in missing)
    rows = re.findall(r'^(\d+)\s+\d+\s+0x[0-9a-f]+ ', text, re.M)
    if len(rows) != cpus:
        return False, '::cpus printed %d CPUs, the machine has %d' % (len(rows), cpus)
    if not re.search(r'^0x[0-9a-f]+ +\d+ +main +\w+ +\d+ +-?\d+ +[1-9]', text, re.M):
        return False, '::threads shows no vCPU thread "main" with a ctxop'
    if not re.search(r'\(thread main, newest first\)\n  \[0\] ctxop 0x[0-9a-f]+ \{\n'
                     r'      save_op = vmm_savectx', text):
        return False, '::threads | ::ctxops does not show vmm_savectx newest on main'
    if not re.search(r'^0x[0-9a-f]+ +mb_input\.elf +1 +128 running', text, re.M):
        return False, '::vms does not list mb_input.elf (1 vCPU, 128 MiB, running)'
    if not re.search(r'^mb_input\.elf/vcpu0 +(vm_run|guest) +0x[0-9a-f]+ +main ', text, re.M):
        return False, '::vcpus does not show mb_input.elf/vcpu0 inside vm_run on main'
    if not re.search(r'^  VMEXIT_TOTAL +[1-9]', text, re.M):
        return False, '::stats printed no VMEXIT_TOTAL'
    # With one CPU the monitor runs, so the vCPU thread sleeps (in HLT) or has just been woken
    # and waits for a CPU (run): its saved stack is walked; with more it may be on a CPU, which
    # has no saved stack to walk.
    walked = re.search(r'^thread 0x[0-9a-f]+ \(main\), (sleep|run)\n  #0 ', text, re.M)
    onproc = re.search(r'^thread 0x[0-9a-f]+ \(main\), onproc\n  \(on a CPU now', text, re.M)
    if not walked and not (cpus > 1 and onproc):
        return False, '::stack main did not walk the sleeping vCPU thread'
    for err in ("mon: unknown dcmd '::nosuch'", 'mon: 0x1 is not a thread',
                "mon: 'nonsense' is not a dcmd"):
        if err not in text:
            return False, 'bad input not refused: no "%s"' % err
    if not re.search(r'^\d+ probes off$', text, re.M) or '\n1 probes on\n' not in text or \
            '\ntracing on\n' not in text or "mon: 'nomatch*' matches no probe" not in text:
        return False, '::trace off */on vmexit/on/on nomatch* did not answer as it should'
    dumps = tracecheck.parse_dumps(res.log.lines)
    probes = {r.probe for d in dumps for r in d.records}
    if not dumps or probes != {'vmexit:exit'}:
        return False, 'the dump after ::trace on vmexit holds %s, not vmexit:exit alone' % (
            sorted(probes) or 'nothing')
    if 'mb_input: got "typed-on-com1"' not in text or res.runner_rc != 1:
        return False, 'after ::continue the guest did not get its line (run.py %s)' % \
            res.runner_rc
    return _ended_early(res, 'every dcmd answered, bad input refused, the guest went on')


def expect_monitor_final(res):
    """monitor=1: the run's end gave the monitor the console instead of shutting down; ::quit
    shut down with the run's status (0, the suite passed)."""
    text = '\n'.join(res.log.lines)
    if '# mon: the run is over (status 0)' not in text:
        return False, 'no "# mon: the run is over (status 0)" after the suite'
    if '# mon> ::vms' not in text or '# mon> ::quit' not in text:
        return False, 'the monitor did not take ::vms and ::quit'
    if 'mon: the run is over: ::quit ends it' not in text:
        return False, '::continue at the end of a run was not refused'
    if not re.search(r'^kmem_alloc_256 +256 +\d+ +\d+ +\d+ +\d+ +\d+$', text, re.M) or \
            not re.search(r'^total +- +\d+', text, re.M):
        return False, '::kmem printed no cache table'
    if 'kmem_verify: 0 corrupt buffers' not in text:
        return False, '::kmem_verify found corruption in a clean kernel'
    if not re.search(r'Total +0 buffers, 0 bytes', text):
        return False, '::findleaks reported leaks in a clean kernel'
    if res.log.shutdown != '0':
        return False, 'no shutdown with status 0 after ::quit'
    return _ended_early(res, 'the monitor kept the kernel up until ::quit')


MON_VM_INPUT = (b'\x1d::pause evspin\r::vcpus\r::vcpus\r::regs evspin/vcpu0\r'
                b'::dump evspin 0x7c00 32\r::dump evspin 0x7fffff0 64\r::regs nosuch/vcpu0\r'
                b'::resume evspin\r::vcpus\r::kill evspin\r')


def expect_monitor_vm(res):
    """::pause stops a spinning guest's exits (two ::vcpus show the same count) and gives
    ::regs its registers; ::dump shows its memory (the boot sector's first bytes); bad names and
    ranges are refused; ::resume lets it run again; ::kill stops it with the reason
    "killed from the monitor" and the host goes on to its shutdown."""
    text = '\n'.join(res.log.lines)
    counts = [int(m) for m in re.findall(r'^evspin/vcpu0 +\w+ +0x[0-9a-f]+ +main +\d+ +\w+ +(\d+)$',
                                         text, re.M)]
    states = re.findall(r'^evspin/vcpu0 +(\w+) ', text, re.M)
    if len(counts) != 3 or states[:2] != ['paused', 'paused']:
        return False, '::vcpus while paused: states %s' % states
    if counts[0] != counts[1]:
        return False, 'exits went on while paused (%d, then %d)' % (counts[0], counts[1])
    if states[2] not in ('vm_run', 'guest'):
        return False, 'after ::resume the vCPU is %s, not running' % states[2]
    if not re.search(r'^  r15 +0x[0-9a-f]{16}  rip +0x0000000000007[0-9a-f]{3}', text, re.M) or \
            not re.search(r'^  cs +sel 0x0000 base 0x0+ limit 0x0000ffff attr 0x09b', text, re.M):
        return False, '::regs did not show the real-mode guest (rip near 0x7c00, CS)'
    if not re.search(r'^00007c00  e9 ', text, re.M):
        return False, '::dump evspin 0x7c00 did not show the image (its jmp at 0x7c00)'
    if "is outside evspin's 2 MiB" not in text or "no vCPU named 'nosuch/vcpu0'" not in text:
        return False, 'a dump past the RAM or a bad vCPU name was not refused'
    if "bhyvelet: guest 'evspin' exited: stopped: killed from the monitor" not in \
            res.log.message_texts():
        return False, '::kill did not stop evspin with "killed from the monitor"'
    if res.log.shutdown is None:
        return False, 'the host did not go on to its shutdown'
    return _ended_early(res, 'paused (%d exits, twice), regs, dump, resumed, killed' % counts[0])


MON_CTX_INPUT = b'\x1d::threads | ::ctxops\r::continue\r'


def expect_monitor_ctxops(res):
    """Ctrl-] while suite vmm/fpu_guest_switches runs its vCPU threads: ::ctxops of a vCPU thread
    inside VM_RUN lists vmm_savectx newest and the thread's FPU ctxop (fpu_ctx_save) oldest, the
    illumos 12477 order; the suite then passes (the monitor changed nothing)."""
    text = '\n'.join(res.log.lines)
    ring = re.compile(r'\(thread fpu, newest first\)\n  \[0\] ctxop 0x[0-9a-f]+ \{\n'
                      r'      save_op = vmm_savectx\n(?:.*\n){10}  \}\n  \[1\] ctxop 0x[0-9a-f]+ \{\n'
                      r'      save_op = fpu_ctx_save\n')
    if not ring.search(text):
        return False, 'no vCPU thread with vmm_savectx newest and fpu_ctx_save oldest'
    if not res.verdict.ok or res.log.failed:
        return False, 'the suite did not pass with the monitor entered: %s' % res.verdict.reason
    return _ended_early(res, 'vmm_savectx newest, fpu_ctx_save oldest, suite passed')


def expect_monitor_kmem(res):
    """mon_plant_leak and mon_plant_redzone: ::kmem_verify finds the smashed redzone with its
    cache and allocator, ::findleaks the leaked buffer with the function that allocated it, and
    not the smashed one (a static still points to it); and once the guest's VM_RUN has
    returned, ::ctxops main shows nothing of the vCPU on its thread."""
    text = '\n'.join(res.log.lines)
    if not re.search(r'kmem_verify: kmem_alloc_48 buf=0x[0-9a-f]+: redzone smashed at offset 40 '
                     r'\(found 0x5a; size 40, allocated by mon_kmem_plant', text):
        return False, '::kmem_verify did not find the planted redzone'
    if 'kmem_verify: 1 corrupt buffers' not in text:
        return False, '::kmem_verify did not count exactly the planted buffer'
    if not re.search(r'^kmem_alloc_96 +1 0x[0-9a-f]+ mon_plant_leak_buf\+', text, re.M):
        return False, '::findleaks did not name mon_plant_leak_buf for the planted leak'
    if re.search(r'^kmem_alloc_48 +\d+ 0x', text, re.M):
        return False, '::findleaks reported the referenced (smashed) buffer as leaked'
    if '(thread main, newest first)\n  (no ctxops)' not in text:
        return False, 'the vCPU thread still has ctxops after VM_RUN returned (::ctxops main)'
    if res.log.shutdown != '0':
        return False, 'no shutdown with status 0 after ::quit'
    return _ended_early(res, 'the planted leak and redzone were found, with their callers')


TRACE_PATTERNS = 'vm*,svm*,ctxop:*,savectx,restorectx,swtch'


def expect_trace_guest(res):
    """trace=PATTERNS on a user guest (mb_smp on 2 vCPUs): the dump at its end holds only those
    probes, passes tracecheck, converts to trace-event JSON with a track per CPU, guest slices
    and exits, and renders both PNGs (scripts/traceview.py)."""
    import tempfile
    import traceview
    dumps = tracecheck.parse_dumps(res.log.lines)
    if not dumps or not dumps[-1].records:
        return False, 'no trace dump after the guest ended'
    funcs = {r.probe.split(':')[0] for d in dumps for r in d.records}
    stray = sorted(f for f in funcs if not (f.startswith('vm') or f in (
        'ctxop', 'savectx', 'restorectx', 'swtch', 'svm', 'svm_savectx', 'svm_restorectx')))
    if stray:
        return False, 'probes outside trace=%s recorded: %s' % (TRACE_PATTERNS, stray)
    tc = tracecheck.check_log(res.log_path)
    if not tc.ok:
        return False, 'tracecheck: %s' % tc.summary()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            dump, lines = traceview.load(res.log_path)
            paths = traceview.write(traceview.build(dump, lines), tmp, 'guest')
        except traceview.Malformed as e:
            return False, 'traceview: %s' % e
        js = [p for p in paths if p.endswith('.json')]
        with open(js[0]) as f:
            doc = json.load(f)
        ev = doc['traceEvents']
        tracks = {e['args']['name'] for e in ev if e.get('ph') == 'M' and
                  e.get('name') == 'thread_name'}
        guest = [e for e in ev if e.get('ph') == 'X' and e.get('cat') == 'guest']
        exits = [e for e in ev if e.get('ph') == 'i' and e.get('cat') == 'exit']
        pngs = [p for p in paths if p.endswith('.png')]
        png_ok = all(open(p, 'rb').read(8) == b'\x89PNG\r\n\x1a\n' for p in pngs)
    if not tracks or not guest or not exits:
        return False, 'the JSON lacks tracks (%d), guest slices (%d) or exits (%d)' % (
            len(tracks), len(guest), len(exits))
    if traceview.pyplot() is not None and (len(pngs) != 2 or not png_ok):
        return False, 'traceview drew %d PNGs, not the timeline and the histogram' % len(pngs)
    return _ended_early(res, '%d records, tracecheck OK, JSON %d tracks %d guest slices, %d PNGs'
                        % (len(dumps[-1].records), len(tracks), len(guest), len(pngs)))


# sync_loose_timing=1 skips the three sync tests that time interrupts to within 200 us or 2 ms
# (timeouts firing in deadline order, a timer interrupt pending 200 us after its deadline): a
# guest kernel on 2 vCPUs sharing 1 host CPU under TCG is off its host CPU for up to a host tick,
# and they failed in about one nested run in three (docs/vmm.md); they run on the host in every
# other boot.
NESTED_ARGS = 'suite=sync,thread,kmem sync_loose_timing=1'


def expect_nested_bhyvelet(res):
    """run.py --guest build/kernel.elf --guest-cpus 2: bhyvelet's own kernel (an ELF64 with the
    multiboot a.out kludge, which sets up its own long mode, local APIC timer and its AP by
    INIT/SIPI) boots as a multiboot guest and its suites pass inside it; run.py exits 1, QEMU's
    status for the guest's exit code 0."""
    out = ' | '.join(res.runner_output[-3:])
    if res.runner_rc != 1:
        return False, 'run.py --guest build/kernel.elf exited %s, want 1: %s' % (res.runner_rc,
                                                                               out)
    if not _message(res, r'\[kernel\.elf/com1\] \[cpu0\] mp: 2 CPUs up'):
        return False, 'the guest kernel did not bring up its second CPU'
    texts = res.log.message_texts()
    done = [t for t in texts if re.fullmatch(r'\[kernel\.elf/com1\] # \d+ passed, 0 failed', t)]
    if not done:
        return False, 'no "# N passed, 0 failed" from the guest kernel'
    return _ended_early(res, 'bhyvelet ran as its own guest on 2 vCPUs: %s' % done[0].split('] ')[1])
