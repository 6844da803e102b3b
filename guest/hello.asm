; hello.asm: the smallest bhyvelet guest. Real mode only: prints one line on
; the UART and exits with success.
;
; Exit codes:
;   0   success (always)

%include "common.inc"

msg:    db      "Hello from a bhyvelet guest (real mode)", 13, 10, 0

guest_main:
        PUTS16  msg
        GUEST_EXIT 0
