; evnmi.asm: NMIs from the host. The guest reports 1 when its IVT entry 2
; is set (the host injects an NMI then), and the handler reports 2 while
; it runs (the host injects a second NMI then, which must wait for this
; handler's IRET: no nesting). It waits, bounded, for both.
;
; Exit codes:
;   0   success
;   1   fewer than two NMIs came
;   2   an NMI came while its handler ran

%include "common.inc"

msg_ok: db      "evnmi: two NMIs, one after the other", 13, 10, 0

guest_main:
        cli
        mov     word [2 * 4], nmi
        mov     word [2 * 4 + 2], 0
        GUEST_REPORT 1                  ; ready: the host injects now
        mov     cx, 20000
.wait:  in      al, 0x61
        cmp     byte [nmis], 2
        jae     .done
        loop    .wait
        GUEST_EXIT 1
.done:  cmp     byte [nested], 0
        jne     .bad
        PUTS16  msg_ok
        GUEST_EXIT 0
.bad:   GUEST_EXIT 2

nmi:    cmp     byte [cs:in_nmi], 0
        je      .first
        mov     byte [cs:nested], 1
.first: mov     byte [cs:in_nmi], 1
        inc     byte [cs:nmis]
        push    eax
        push    dx
        GUEST_REPORT 2                  ; the host injects the second now
        in      al, 0x61                ; and an exit of the kernel's own
        pop     dx
        pop     eax
        mov     byte [cs:in_nmi], 0
        iret

nmis:   db      0
in_nmi: db      0
nested: db      0
