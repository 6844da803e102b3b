; evirq.asm: interrupts raised from outside while the guest computes with
; no exits. Programs the 8259A pair (master at vector 0x20), unmasks IRQ1
; only, sets IF and spins until EVIRQ_N IRQ1s have reached its IVT
; handler. A host thread pulses IRQ1 (tests/vmm_intr_test.c); no timer
; runs, so nothing but the PIC's notify of the vCPU can bring them in.
;
; Exit codes:
;   0   success (it never ends otherwise: the test stops it)

%include "common.inc"
%include "intr.inc"

EVIRQ_N         equ     5

msg_ok: db      "evirq: 5 IRQ1s reached a spinning guest", 13, 10, 0

guest_main:
        cli
        IVT_SET 0x21, irq1
        PIC_INIT 0x20, 0x28
        PIC_MASK 0xfd, 0xff             ; IRQ1 only
        sti
.spin:  cmp     word [count], EVIRQ_N
        jb      .spin
        cli
        PUTS16  msg_ok
        GUEST_EXIT 0

irq1:   inc     word [cs:count]
        push    ax
        mov     al, 0x20                ; non-specific EOI
        out     0x20, al
        pop     ax
        iret

count:  dw      0
