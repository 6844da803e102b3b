; spin.asm: prints a line, then computes forever with no exits at all (a
; register-only loop: no I/O, no memory, no HLT), for a test that stops the
; VM from another thread. Under plain QEMU scripts/plainqemu.py reports a
; timeout (124).
;
; Exit codes: none (it never ends by itself).

%include "common.inc"

msg:    db      "spin: computing forever", 13, 10, 0

guest_main:
        cli
        PUTS16  msg
        xor     eax, eax
        mov     ebx, 1
.loop:  add     eax, ebx                ; a Fibonacci-ish walk, never stops
        xchg    eax, ebx
        jmp     .loop
