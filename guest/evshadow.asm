; evshadow.asm: the STI shadow. With IRQ0 already pending (the PIT's
; one-shot fired and the PIC's IRR shows it), `sti` is followed by a store
; to a page the host has not mapped yet: the nested page fault exits with
; the shadow active, and the interrupt must not come before the store,
; only after it (the saved IP is after_store, or after the port read
; that follows, the next exit, where the window is not taken at once). The host counts the
; entries it made with a shadow reported (QEMU's TCG reports none).
; The host runs it with vmm_ondemand (its RAM mapped from the faults):
; premapped RAM never exits on a store.
; Parameter 1: the MOV SS shadow instead: `sti; mov ss, ax; store`, the
; store exiting in the shadow of the MOV SS (VMX reports it apart from
; STI's), and again the interrupt must come only after the store.
;
; Exit codes:
;   0   success
;   1   the interrupt came inside the STI shadow (before the store)
;   2   no interrupt, or at another IP (the report port has the IP)

%include "common.inc"
%include "intr.inc"

msg_ok: db      "evshadow: the interrupt waited for the shadow", 13, 10, 0

guest_main:
        IVT_SET 0x20, tick
        PIC_INIT 0x20, 0x28
        PIC_MASK 0xfe, 0xff                ; IRQ0 only
        GUEST_PARAM
        mov     bx, ax
        PIT_SET 0, 0, 200                ; one-shot, about 170 us
        mov     ax, 0x9000              ; 0x90000: not touched before
        mov     es, ax
.poll:  mov     al, 0x0a                ; OCW3: read IRR
        out     0x20, al
        in      al, 0x20
        test    al, 1
        jz      .poll
        test    bx, bx
        jnz     movss_path
        sti
at_store:
        mov     byte [es:0], 1
after_store:
        in      al, 0x61                ; an exit: Bochs's SVM takes V_IRQ
after_in:                               ; only at its next event
        mov     cx, 100
.spin:  loop    .spin
        cli
        mov     ax, [saved_ip]
        cmp     ax, after_store
        je      .ok
        cmp     ax, after_in
        je      .ok
        cmp     ax, after_store2
        je      .ok
        cmp     ax, at_store
        je      .in_shadow
        cmp     ax, at_movss
        je      .in_shadow
        cmp     ax, at_store2
        je      .in_shadow
        GUEST_REPORT [saved_ip]
        GUEST_EXIT 2
.in_shadow:
        GUEST_EXIT 1
.ok:    PUTS16  msg_ok
        GUEST_EXIT 0

movss_path:
        mov     ax, ss
        sti
at_movss:
        mov     ss, ax
at_store2:
        mov     byte [es:0], 1
after_store2:
        jmp     after_store

tick:   push    bp
        mov     bp, sp
        push    ax
        mov     ax, [bp + 2]            ; the interrupted IP
        mov     [cs:saved_ip], ax
        mov     al, 0x20
        out     0x20, al
        pop     ax
        pop     bp
        iret

saved_ip:       dw      0
