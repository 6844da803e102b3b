; evspin.asm: computes forever without an exit, for a stop request from
; another host thread. No exit code is expected.

%include "common.inc"

msg:    db      "evspin: spinning", 13, 10, 0

guest_main:
        PUTS16  msg
        cli
.spin:  inc     eax
        jmp     .spin
