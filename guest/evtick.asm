; evtick.asm: interrupts and exceptions reach a real-mode guest through its
; IVT. Programs the 8259A pair (master at vector 0x20), the 8254's channel 0
; at about 1 kHz (mode 2), and waits for EVTICK_N timer ticks with sti; hlt;
; then raises #UD (ud2), whose handler steps over it.
;
; Exit codes:
;   0   success
;   1   the #UD handler did not run exactly once
;   2   a tick arrived while interrupts were disabled

%include "common.inc"
%include "intr.inc"

EVTICK_N        equ     10

msg_ok: db      "evtick: 10 timer ticks and one #UD through the IVT", 13, 10, 0

guest_main:
        cli
        IVT_SET 0x20, tick
        IVT_SET 6, undef
        PIC_INIT 0x20, 0x28
        PIC_MASK 0xfe, 0xff             ; IRQ0 only
        PIT_SET 0, 2, 1193              ; channel 0, mode 2, 1.000 kHz
        sti
.wait:  hlt
        cmp     word [ticks], EVTICK_N
        jb      .wait
        cli
        mov     ax, [ticks]
        mov     [ticks_at_cli], ax
        ud2
        cmp     byte [uds], 1
        jne     .bad_ud
        ; the PIT goes on, but IF is clear: no tick may come in
        mov     cx, 0xffff
.spin:  loop    .spin
        mov     ax, [ticks]
        cmp     ax, [ticks_at_cli]
        jne     .bad_cli
        PUTS16  msg_ok
        GUEST_EXIT 0
.bad_ud:
        GUEST_EXIT 1
.bad_cli:
        GUEST_EXIT 2

tick:   inc     word [cs:ticks]
        push    ax
        mov     al, 0x20                ; non-specific EOI
        out     0x20, al
        pop     ax
        iret

undef:  push    bp
        mov     bp, sp
        add     word [bp + 2], 2        ; the saved IP: past the ud2
        inc     byte [cs:uds]
        pop     bp
        iret

ticks:          dw      0
ticks_at_cli:   dw      0
uds:            db      0
