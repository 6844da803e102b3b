; evhalt.asm: the usual end of a boot sector, `cli; hlt`. Nothing can wake
; the CPU: bhyvelet stops the VM as "halted with interrupts disabled"
; (plain QEMU stays halted). No exit code is expected.

%include "common.inc"

msg:    db      "evhalt: cli; hlt", 13, 10, 0

guest_main:
        PUTS16  msg
        cli
        hlt
        GUEST_EXIT 0xdead
