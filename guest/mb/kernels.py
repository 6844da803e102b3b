"""How each multiboot test kernel (guest/mb/NAME.c) is run: the one table of run parameters.

scripts/plainqemu.py --mb RUN runs an entry under plain QEMU (the reference); a bhyvelet run of the
same entry passes the same image, args, modules, CPU count and RAM (`scripts/run.py --guest FILE
--guest-args ARGS --guest-module FILE --guest-cpus N --guest-mem MiB`) and must print the same
lines and end with the same status.

RUNS maps a run name to a dict:
  kernel   image name: build/guest/mb/KERNEL.elf
  args     the -append string; {cpus} and {mem} are replaced by the run's values
  modules  list of (file name in MODULE_FILES, module args): -initrd "PATH ARGS,..."
  cpus     -smp N
  mem      -m MiB
  status   QEMU's exit status: (code << 1) | 1, so 1 = pass, 3 = fail
  timeout  seconds before the run counts as hung
  input    None, or bytes typed into COM1 once the serial output holds `input_after`
  model    None, or where QEMU 7.2's TCG differs from a CPU (unknown MSRs, APIC re-enable): 'tcg'
           runs expect TCG (status 1 on plain QEMU), 'cpu' runs expect a CPU (status 3 on plain
           QEMU TCG; a machine that behaves as a CPU, bhyvelet by its guest ABI, must give 1)
Runs with status 3 and no model are negative checks: the kernel must notice the wrong expectation
it is given. mb_entry checks that word 0 of its cmdline ends in "mb_entry.elf" (QEMU passes the
-kernel path), so another loader must name the image so.
"""

PATTERN_LEN = 4109                      # mb_entry.c's PATTERN_LEN


def _pattern():
    return bytes((i * 7 + 3) & 0xff for i in range(PATTERN_LEN))


# Module files the runs load, written to a temporary directory by the harness.
MODULE_FILES = {
    'env.txt': b'# an environment module\nGREETING=hello from a module\nKERNEL=mb_entry\n',
    'pattern.bin': _pattern(),
}

PASS = 1
FAIL = 3


def _run(kernel, args='', modules=(), cpus=1, mem=128, status=PASS, timeout=20, model=None,
         input=None, input_after=None):
    return {'kernel': kernel, 'args': args, 'modules': list(modules), 'cpus': cpus, 'mem': mem,
            'status': status, 'timeout': timeout, 'model': model, 'input': input,
            'input_after': input_after}


RUNS = {
    'mb_entry': _run('mb_entry', 'alpha beta=2 mem={mem} mods=2',
                     [('env.txt', 'mod0'), ('pattern.bin', 'mod1')]),
    'mb_mmap': _run('mb_mmap', 'mem={mem}'),
    'mb_mmap-96': _run('mb_mmap', 'mem={mem}', mem=96),
    'mb_uart': _run('mb_uart'),
    'mb_fwcfg': _run('mb_fwcfg', 'cpus={cpus} mem={mem}', cpus=2),
    'mb_fwcfg-4': _run('mb_fwcfg', 'cpus={cpus} mem={mem}', cpus=4, mem=256),
    'mb_acpi': _run('mb_acpi', 'cpus={cpus}', cpus=2),
    'mb_acpi-4': _run('mb_acpi', 'cpus={cpus}', cpus=4),
    'mb_apictimer': _run('mb_apictimer'),
    'mb_selfipi': _run('mb_selfipi'),
    'mb_smp-2': _run('mb_smp', 'cpus={cpus}', cpus=2),
    'mb_smp-4': _run('mb_smp', 'cpus={cpus}', cpus=4),
    'mb_mmio': _run('mb_mmio'),
    # QEMU 7.2 TCG reads MSRs that do not exist as 0 and drops writes, and
    # reads the TSC MSR as 0; a CPU (and bhyvelet's MSR table) raises #GP(0)
    # and gives the TSC.  mb_msr is the reference run on plain QEMU TCG;
    # mb_msr-cpu expects a CPU's behaviour and fails there.
    'mb_msr': _run('mb_msr', 'model=tcg', model='tcg'),
    'mb_msr-cpu': _run('mb_msr', 'model=cpu', status=FAIL, model='cpu'),
    # QEMU 7.2 TCG cannot set APIC_BASE.EN again once cleared (the write is
    # dropped); a CPU re-enables the APIC in its reset state.  mb_apicbase is
    # the reference run; mb_apicbase-cpu expects a CPU and fails on TCG.
    'mb_apicbase': _run('mb_apicbase', 'model=tcg', model='tcg'),
    'mb_apicbase-cpu': _run('mb_apicbase', 'model=cpu', status=FAIL, model='cpu'),
    'mb_long': _run('mb_long'),
    'mb_vga': _run('mb_vga'),
    # a line typed on the console once the kernel says it is ready (its own boot
    # output), read by the receive interrupt
    'mb_input': _run('mb_input', 'want=typed-on-com1', input=b'typed-on-com1\r',
                     input_after=b'ready, type a line'),
    # negative: a wrong RAM size in the cmdline must fail the mem_upper check
    'mb_entry-wrongmem': _run('mb_entry', 'alpha beta=2 mem=64 mods=2',
                              [('env.txt', 'mod0'), ('pattern.bin', 'mod1')], status=FAIL),
    'mb_mmap-wrongmem': _run('mb_mmap', 'mem=256', status=FAIL),
    'mb_acpi-wrongcpus': _run('mb_acpi', 'cpus=1', cpus=2, status=FAIL),
    'mb_smp-wrongcpus': _run('mb_smp', 'cpus=3', cpus=4, status=FAIL),
    'mb_fwcfg-wrongcpus': _run('mb_fwcfg', 'cpus=3 mem={mem}', cpus=2, status=FAIL),
}


def args_of(run):
    """The -append string of a run, with {cpus} and {mem} filled in."""
    return run['args'].format(cpus=run['cpus'], mem=run['mem'])
