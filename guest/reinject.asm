; reinject.asm: events whose delivery touches guest memory the hypervisor has
; not mapped yet. With vmm_ondemand (tests/vmm_intr_test.c runs it so)
; bhyvelet maps guest RAM 4 KiB at a time on the first nested page fault,
; so an exception or interrupt whose IDT gate or stack frame is on a page
; the guest never touched exits in the middle of its delivery, and the
; hypervisor must deliver it again (IDT-vectoring / EXITINTINFO) after mapping
; the page. Flat 32-bit protected mode. Each case has its own IDT on its own
; page of the image (gates assembled in; the guest never reads or writes that
; page, so it is unmapped until the delivery reads the gate) and its own
; stack page in RAM above 1 MiB (never touched before the delivery pushes
; onto it):
;   1. #UD (ud2): the handler runs once, vector 6, pushed EIP = the ud2;
;   2. #GP (mov ds, 0x80): once, vector 13, error code 0x80 on the stack;
;   3. IRQ0 (PIT one-shot into sti; hlt): once, return EIP after the hlt.
; Each handler also checks that its frame is at the top of its stack page.
; Needs event injection (with re-injection after a nested page fault) in
; bhyvelet (in progress); runs under plain QEMU.
;
; Prints `reinject: <case> ok` per case.
; Exit codes: 0 ok; 0x71/0x72/0x73 #UD: count / EIP / frame; 0x74/0x75/0x76
; #GP: count / EIP or error code / frame; 0x77/0x78/0x79 IRQ0: count / EIP /
; frame; a delivery that goes wrong usually ends in a triple fault instead.

%include "common.inc"
%include "lm.inc"
%include "intr.inc"

STACK_UD        equ     0x111000        ; tops of three untouched pages
STACK_GP        equ     0x122000
STACK_IRQ       equ     0x133000
BAD_SEL         equ     0x80

msg_ud:         db      "reinject: #UD through an unmapped IDT page and stack ok", 13, 10, 0
msg_gp:         db      "reinject: #GP(0x80) through an unmapped IDT page and stack ok", 13, 10, 0
msg_irq:        db      "reinject: IRQ0 through an unmapped IDT page and stack ok", 13, 10, 0
msg_done:       db      "reinject: all events delivered once", 13, 10, 0

saved_esp:      dd      0
h_count:        dd      0
h_esp:          dd      0               ; esp at handler entry
h_eip:          dd      0
h_err:          dd      0

idtr_ud:        dw      256 * 8 - 1
                dd      idt_ud
idtr_gp:        dw      256 * 8 - 1
                dd      idt_gp
idtr_irq:       dw      256 * 8 - 1
                dd      idt_irq

; CHECK field, value, exit code
%macro CHECK 3
        cmp     dword [%1], %2
        je      %%ok
        GUEST_EXIT %3
%%ok:
%endmacro

        bits    16
guest_main:
        cli
        PIC_INIT 0x20, 0x28
        mov     ebx, pm_main
        jmp     pm32_switch

        bits    32
pm_main:
        ; 1. #UD
        mov     dword [h_count], 0
        lidt    [idtr_ud]
        mov     [saved_esp], esp
        mov     esp, STACK_UD
ud_at:  ud2
ud_resume:
        mov     esp, [saved_esp]
        CHECK   h_count, 1, 0x71
        CHECK   h_eip, ud_at, 0x72
        CHECK   h_esp, STACK_UD - 12, 0x73
        PUTS32  msg_ud

        ; 2. #GP with an error code
        mov     dword [h_count], 0
        lidt    [idtr_gp]
        mov     [saved_esp], esp
        mov     esp, STACK_GP
        mov     ax, BAD_SEL
gp_at:  mov     ds, ax
gp_resume:
        mov     esp, [saved_esp]
        CHECK   h_count, 1, 0x74
        CHECK   h_eip, gp_at, 0x75
        CHECK   h_err, BAD_SEL, 0x75
        CHECK   h_esp, STACK_GP - 16, 0x76
        PUTS32  msg_gp

        ; 3. IRQ0 from the PIT into sti; hlt
        mov     dword [h_count], 0
        lidt    [idtr_irq]
        PIT_SET 0, 0, 1193              ; one-shot, about 1 ms
        PIC_MASK 0xfe, 0xff
        mov     [saved_esp], esp
        mov     esp, STACK_IRQ
        sti
        hlt
irq_after:
        cli
        mov     esp, [saved_esp]
        PIC_MASK 0xff, 0xff
        CHECK   h_count, 1, 0x77
        CHECK   h_eip, irq_after, 0x78
        CHECK   h_esp, STACK_IRQ - 12, 0x79
        PUTS32  msg_irq

        PUTS32  msg_done
        GUEST_EXIT 0

ud_handler:
        mov     [h_esp], esp
        inc     dword [h_count]
        push    eax
        mov     eax, [esp + 4]
        mov     [h_eip], eax
        mov     dword [esp + 4], ud_resume
        pop     eax
        iretd

gp_handler:
        mov     [h_esp], esp
        inc     dword [h_count]
        push    eax
        mov     eax, [esp + 4]          ; error code
        mov     [h_err], eax
        mov     eax, [esp + 8]
        mov     [h_eip], eax
        mov     dword [esp + 8], gp_resume
        pop     eax
        add     esp, 4
        iretd

irq_handler:
        mov     [h_esp], esp
        inc     dword [h_count]
        push    eax
        mov     eax, [esp + 4]
        mov     [h_eip], eax
        PIC_EOI
        pop     eax
        iretd

; ---- the IDTs: each alone on a page of the image nobody touches ----
%define ABS(x) ((x) - $$ + 0x7c00)
%macro GATE 1                           ; a 32-bit interrupt gate, selector 0x08
        dw      ABS(%1) & 0xffff, SEL_CODE32, 0x8e00, ABS(%1) >> 16
%endmacro
%macro PAGE_ALIGN 0
        times   (0x1000 - (ABS($) & 0xfff)) & 0xfff db 0
%endmacro

        PAGE_ALIGN
idt_ud: times   6 dq 0
        GATE    ud_handler
        PAGE_ALIGN
idt_gp: times   13 dq 0
        GATE    gp_handler
        PAGE_ALIGN
idt_irq:
        times   0x20 dq 0
        GATE    irq_handler
        PAGE_ALIGN
