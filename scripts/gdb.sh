#!/bin/sh
# make gdb: boot the kernel in QEMU (TCG, -cpu max) stopped at its first
# instruction with the gdbstub on a local port, and attach gdb with the
# kernel's symbols (build/kernel.elf is linked where it runs, so no offset).
#
#   sh scripts/gdb.sh [CMDLINE] [GDB ARGS...]
#
# The serial console goes to build/logs/gdb-serial.log (tail -f it in a
# second terminal). gdb starts with a hardware breakpoint on kmain: software
# breakpoints set before the kernel is in long mode would be written into
# memory the boot code has not loaded yet. Quitting gdb stops QEMU.
# GDB_PORT picks the port (default 1234); GDB_BATCH=1 runs non-interactively
# (used to test this script: break at kmain, print a backtrace, quit).
set -eu
cd "$(dirname "$0")/.."

CMDLINE=${1:-guest=hello}
[ $# -gt 0 ] && shift
PORT=${GDB_PORT:-1234}
CPUS=${CPUS:-1}
mkdir -p build/logs
LOG=build/logs/gdb-serial.log

if [ ! -f build/kernel.bin ] || [ ! -f build/kernel.elf ]; then
    echo "gdb: build/kernel.bin not found: build it first (make)" >&2
    exit 1
fi

qemu-system-x86_64 -accel tcg,thread=single -cpu max -smp "$CPUS" -m 256 \
    -kernel build/kernel.bin -append "$CMDLINE" \
    -display none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -serial "file:$LOG" -monitor none \
    -gdb "tcp:127.0.0.1:$PORT" -S &
QEMU=$!
trap 'kill $QEMU 2>/dev/null || true' EXIT INT TERM

echo "gdb: QEMU (pid $QEMU) waits on 127.0.0.1:$PORT; serial console in $LOG" >&2
if [ "${GDB_BATCH:-0}" = 1 ]; then
    gdb -q -batch -nx \
        -ex "target remote 127.0.0.1:$PORT" \
        -ex 'hbreak kmain' -ex 'continue' -ex 'bt' -ex 'info registers rip' \
        "$@" build/kernel.elf
else
    gdb -q \
        -ex "target remote 127.0.0.1:$PORT" \
        -ex 'hbreak kmain' \
        "$@" build/kernel.elf
fi
