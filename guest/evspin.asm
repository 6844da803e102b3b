; evspin.asm: computes forever without an exit, for a stop request from
; another host thread. No exit code is expected. IF is set (nothing is
; pending): Bochs takes no host interrupt while a guest's IF is clear, so
; a cli spin would hold its CPU for good there (docs/platforms.md).

%include "common.inc"

msg:    db      "evspin: spinning", 13, 10, 0

guest_main:
        PUTS16  msg
        sti
.spin:  inc     eax
        jmp     .spin
