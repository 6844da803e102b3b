; evprefix.asm: exits on instructions with prefixes resume after the whole
; instruction. Without NRIP (QEMU's SVM) a host that skips only the
; opcode's bare length lands inside the instruction; the byte after each
; one here is the start of a `mov bx, n`, so landing short runs garbage
; and bx is wrong. Real mode: o32 cpuid, cs hlt (with IF set and IRQ0
; pending it wakes at once), ds rdmsr of EFER, and a cs-prefixed vmcall/
; vmmcall picked by the CPUID vendor.
;
; Exit codes:
;   0   success
;   1-4 the instruction of that number resumed at the wrong place

%include "common.inc"
%include "intr.inc"

msg_ok: db      "evprefix: prefixed cpuid, hlt, rdmsr and hypercall resumed after themselves", 13, 10, 0

guest_main:
        cli
        IVT_SET 0x20, tick
        xor     bx, bx
        xor     eax, eax
        db      0x66, 0x0f, 0xa2        ; o32 cpuid (cpuid: ebx = "Auth"/"Genu")
        mov     bx, 1
        cmp     bx, 1
        jne     .bad1
        ; cs hlt: make IRQ0 pending first so the HLT returns
        PIC_INIT 0x20, 0x28
        PIC_MASK 0xfe, 0xff                ; IRQ0 only
        PIT_SET 0, 0, 100
.poll:  mov     al, 0x0a
        out     0x20, al
        in      al, 0x20
        test    al, 1
        jz      .poll
        xor     bx, bx
        sti
        db      0x2e, 0xf4              ; cs hlt
        mov     bx, 2
        cli
        cmp     bx, 2
        jne     .bad2
        xor     bx, bx
        mov     ecx, MSR_EFER
        db      0x3e, 0x0f, 0x32        ; ds rdmsr
        mov     bx, 3
        cmp     bx, 3
        jne     .bad3
        ; the hypercall: vmmcall on AMD (ebx = "Auth"), vmcall on Intel
        xor     eax, eax
        cpuid
        mov     esi, ebx
        mov     eax, 1                  ; HC_ECHO
        xor     ebx, ebx
        cmp     esi, 0x68747541
        jne     .intel
        db      0x2e, 0x0f, 0x01, 0xd9  ; cs vmmcall
        mov     bx, 4
        jmp     .hc_done
.intel: db      0x2e, 0x0f, 0x01, 0xc1  ; cs vmcall
        mov     bx, 4
.hc_done:
        cmp     bx, 4
        jne     .bad4
        PUTS16  msg_ok
        GUEST_EXIT 0
.bad1:  GUEST_EXIT 1
.bad2:  GUEST_EXIT 2
.bad3:  GUEST_EXIT 3
.bad4:  GUEST_EXIT 4

tick:   push    ax
        mov     al, 0x20
        out     0x20, al
        pop     ax
        iret
