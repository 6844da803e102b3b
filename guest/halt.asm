; halt.asm: prints a line, then `cli; hlt` with nothing that could wake it.
; bhyvelet (with a HLT that sleeps, in progress) must stop it as "halted with
; interrupts disabled"; today HLT is an exit that returns at once, so the
; guest reaches the GUEST_EXIT 0xdead behind it. Under plain QEMU it hangs:
; scripts/plainqemu.py reports a timeout (124).
;
; Exit codes (none is expected): 0x5d the hlt returned.

%include "common.inc"

msg:    db      "halt: cli; hlt with interrupts disabled", 13, 10, 0

guest_main:
        cli
        PUTS16  msg
        cli
        hlt
        GUEST_EXIT 0x5d
