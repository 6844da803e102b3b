; evreinject.asm: events whose delivery faults in the host. The stack an
; interrupt or exception pushes onto is a page the host has not mapped
; yet, so delivering it exits with a nested page fault and the event in
; EXITINTINFO / IDT-vectoring information; the host maps the page and must
; deliver the same event again. A lost timer interrupt never comes back
; (the PIC has it in service already): the guest waits a bounded time.
; The host runs it with vmm_ondemand (its RAM mapped from the faults):
; premapped RAM never faults in a delivery.
;
; Exit codes:
;   0   success
;   1   the timer interrupt was lost
;   2   the #UD handler did not run exactly once

%include "common.inc"
%include "intr.inc"

msg_ok: db      "evreinject: an interrupt and a #UD delivered across nested page faults", 13, 10, 0

guest_main:
        cli
        IVT_SET 0x20, tick
        IVT_SET 6, undef
        PIC_INIT 0x20, 0x28
        PIC_MASK 0xfe, 0xff                ; IRQ0 only
        mov     ax, 0x8000              ; stack at 0x80000-0x80fff: untouched
        mov     ss, ax
        mov     sp, 0x1000
        PIT_SET 0, 2, 1193               ; 1 kHz
        sti
        mov     cx, 20000               ; port reads exit: the PIT is seen
.wait:  in      al, 0x61
        cmp     word [ticks], 0
        jne     .ticked
        loop    .wait
        GUEST_EXIT 1
.ticked:
        cli
        mov     ax, 0x8800              ; another untouched page for #UD
        mov     ss, ax
        mov     sp, 0x1000
        ud2
        cmp     byte [uds], 1
        jne     .bad_ud
        PUTS16  msg_ok
        GUEST_EXIT 0
.bad_ud:
        GUEST_EXIT 2

tick:   inc     word [cs:ticks]
        push    ax
        mov     al, 0x20
        out     0x20, al
        pop     ax
        iret

undef:  push    bp
        mov     bp, sp
        add     word [bp + 2], 2
        inc     byte [cs:uds]
        pop     bp
        iret

ticks:  dw      0
uds:    db      0
