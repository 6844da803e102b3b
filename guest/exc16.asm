; exc16.asm: real-mode exceptions through the IVT. Proves that #DE (div by
; 0), #UD (ud2), #BP (int3), #OF (into with OF=1) and #BR (bound out of
; range) reach the guest's own IVT handlers with the right vector and pushed
; CS:IP (the faulting instruction for faults, the next one for traps), and
; that IRET to a fixed-up IP resumes the guest. Needs event injection/
; reflection in bhyvelet (in progress); runs under plain QEMU.
;
; Exit codes: 0 ok; 0x01 #DE; 0x02 #UD; 0x03 #BP; 0x04 #OF; 0x05 #BR;
;   0x06 pushed CS != 0; 0x7d an unexpected exception.

%include "common.inc"
%include "intr.inc"

        bits    16
msg_start:      db      "exc16: real-mode exceptions through the IVT", 13, 10, 0
msg_done:       db      "exc16: all exceptions ok", 13, 10, 0
br_limits:           dw      10, 20                  ; bound: 10 <= ax <= 20

EXC_CASE case_de, 0, 0, de_at,   0x01, "exc16: #DE (div by 0)"
EXC_CASE case_ud, 6, 0, ud_at,   0x02, "exc16: #UD (ud2)"
EXC_CASE case_bp, 3, 0, bp_next, 0x03, "exc16: #BP (int3)"
EXC_CASE case_of, 4, 0, of_next, 0x04, "exc16: #OF (into)"
EXC_CASE case_br, 5, 0, br_at,   0x05, "exc16: #BR (bound)"

guest_main:
        cli
        PIC_INIT 0x20, 0x28             ; mask the BIOS's IRQs (none under bhyvelet)
        call    exc16_install
        PUTS16  msg_start

        EXC_EXPECT de_done
        xor     cx, cx
        mov     ax, 1234
de_at:  div     cl
de_done:
        mov     si, case_de
        call    exc_check16

        EXC_EXPECT ud_done
ud_at:  ud2
ud_done:
        mov     si, case_ud
        call    exc_check16

        EXC_EXPECT bp_next
        int3
bp_next:
        mov     si, case_bp
        call    exc_check16

        EXC_EXPECT of_next
        mov     al, 0x7f
        add     al, 1                   ; OF = 1
        into
of_next:
        mov     si, case_of
        call    exc_check16

        EXC_EXPECT br_done
        mov     ax, 30
br_at:  bound   ax, [br_limits]
br_done:
        mov     si, case_br
        call    exc_check16

        cmp     dword [exc_cs], 0
        je      .cs_ok
        GUEST_EXIT 0x06
.cs_ok: PUTS16  msg_done
        GUEST_EXIT 0
