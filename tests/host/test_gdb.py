"""make gdb: QEMU's gdbstub stops the kernel at kmain with its symbols."""
import os
import shutil
import socket
import subprocess
import unittest

ROOT = os.path.join(os.path.dirname(__file__), '..', '..')


def free_port():
    """A TCP port nobody listens on now (two test runs at once must not share one)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class TestGdb(unittest.TestCase):
    @unittest.skipUnless(shutil.which('gdb') and shutil.which('qemu-system-x86_64')
                         and os.path.isfile(os.path.join(ROOT, 'build', 'kernel.elf')),
                         'needs gdb, qemu and a built kernel')
    def test_breaks_at_kmain(self):
        env = dict(os.environ, GDB_BATCH='1', GDB_PORT=str(free_port()))
        p = subprocess.run(['sh', 'scripts/gdb.sh', 'guest=hello'], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        out = p.stdout.decode('utf-8', 'replace')
        self.assertIn('Breakpoint 1, kmain', out, out)
        self.assertRegex(out, r'rip\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <kmain>', out)


if __name__ == '__main__':
    unittest.main()
