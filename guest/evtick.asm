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

EVTICK_N        equ     10

msg_ok: db      "evtick: 10 timer ticks and one #UD through the IVT", 13, 10, 0

guest_main:
        cli
        mov     word [0x20 * 4], tick
        mov     word [0x20 * 4 + 2], 0
        mov     word [6 * 4], undef
        mov     word [6 * 4 + 2], 0
        ; ICW1-4: edge, cascade, ICW4; vectors 0x20/0x28; slave on IRQ2; 8086
        mov     al, 0x11
        out     0x20, al
        out     0xa0, al
        mov     al, 0x20
        out     0x21, al
        mov     al, 0x28
        out     0xa1, al
        mov     al, 4
        out     0x21, al
        mov     al, 2
        out     0xa1, al
        mov     al, 1
        out     0x21, al
        out     0xa1, al
        mov     al, 0xfe                ; IRQ0 only
        out     0x21, al
        mov     al, 0xff
        out     0xa1, al
        ; channel 0, lo/hi, mode 2, divisor 1193 (1.000 kHz)
        mov     al, 0x34
        out     0x43, al
        mov     ax, 1193
        out     0x40, al
        mov     al, ah
        out     0x40, al
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
