; evfault.asm: faults as a CPU raises them, in flat 32-bit protected mode
; with an IDT. Each SVM and each VMX instruction raises #UD (the host's
; intercept injects it for its own vendor's, the CPU raises it for the
; other's); RDMSR/WRMSR of MSRs the VM lacks raise #GP(0); INVD and WBINVD
; do nothing; an MSR the VM has (EFER) reads without a fault.
;
; Exit codes:
;   0   success
;   1   not every #UD arrived (the report port gets the mask of the TRYs
;       that raised it, bit n for the n-th, 0-based)
;   2   not every #GP arrived
;   3   a #GP with a nonzero error code
;   4   an exception other than #UD or #GP

%include "common.inc"
%include "lm.inc"

N_UD            equ     18
N_GP            equ     3
IDT             equ     0x5000          ; 32 gates, below the stack

msg_ok: db      "evfault: 18 #UD, 3 #GP(0); INVD and WBINVD went on", 13, 10, 0

        bits    16
guest_main:
        mov     ebx, pm_main
        jmp     pm32_switch

        bits    32
; TRY len, bytes...: run one instruction that must fault; the handler
; resumes len bytes after it.
%assign try_n 0
%macro TRY 2+
        mov     dword [skip], %1
        mov     dword [cur], 1 << try_n
        db      %2
%assign try_n try_n + 1
%endmacro

pm_main:
        mov     edi, IDT
        xor     ecx, ecx
.gate:  mov     eax, other
        cmp     ecx, 6
        jne     .not_ud
        mov     eax, ud
.not_ud:
        cmp     ecx, 13
        jne     .not_gp
        mov     eax, gp
.not_gp:
        mov     edx, eax
        and     eax, 0xffff
        or      eax, SEL_CODE32 << 16
        mov     [edi], eax
        and     edx, 0xffff0000
        or      edx, 0x8e00             ; present, DPL 0, 32-bit interrupt gate
        mov     [edi + 4], edx
        add     edi, 8
        inc     ecx
        cmp     ecx, 32
        jb      .gate
        lidt    [idtr]
        mov     ebx, scratch            ; a memory operand for the VMX ones

        ; SVM: VMRUN, VMLOAD, VMSAVE, STGI, CLGI, SKINIT, INVLPGA. rAX is
        ; a page-aligned address: a misaligned one raises #GP before the
        ; intercept (QEMU, as the APM orders it).
        mov     eax, 0x6000
        TRY     3, 0x0f, 0x01, 0xd8
        TRY     3, 0x0f, 0x01, 0xda
        TRY     3, 0x0f, 0x01, 0xdb
        TRY     3, 0x0f, 0x01, 0xdc
        TRY     3, 0x0f, 0x01, 0xdd
        TRY     3, 0x0f, 0x01, 0xde
        TRY     3, 0x0f, 0x01, 0xdf
        ; VMX: VMLAUNCH, VMRESUME, VMXOFF, VMXON, VMPTRLD, VMCLEAR, VMPTRST,
        ; VMREAD, VMWRITE, INVEPT, INVVPID
        TRY     3, 0x0f, 0x01, 0xc2
        TRY     3, 0x0f, 0x01, 0xc3
        TRY     3, 0x0f, 0x01, 0xc4
        TRY     4, 0xf3, 0x0f, 0xc7, 0x33
        TRY     3, 0x0f, 0xc7, 0x33
        TRY     4, 0x66, 0x0f, 0xc7, 0x33
        TRY     3, 0x0f, 0xc7, 0x3b
        TRY     3, 0x0f, 0x78, 0xc0
        TRY     3, 0x0f, 0x79, 0xc0
        TRY     5, 0x66, 0x0f, 0x38, 0x80, 0x03
        TRY     5, 0x66, 0x0f, 0x38, 0x81, 0x03

        ; MSRs the VM lacks
        mov     dword [skip], 2
        mov     dword [cur], 0
        mov     ecx, 0x12345678
        rdmsr
        mov     ecx, 0xc0010999
        xor     eax, eax
        xor     edx, edx
        wrmsr
        mov     ecx, 0x40000099
        rdmsr
        ; and one it has
        mov     ecx, MSR_EFER
        rdmsr
        invd
        wbinvd

        GUEST_REPORT [seen]
        cmp     dword [uds], N_UD
        jne     .bad_ud
        cmp     dword [gps], N_GP
        jne     .bad_gp
        PUTS32  msg_ok
        GUEST_EXIT 0
.bad_ud:
        GUEST_EXIT 1
.bad_gp:
        GUEST_REPORT [gps]
        GUEST_EXIT 2

ud:     push    eax
        mov     eax, [skip]
        add     [esp + 4], eax          ; the saved EIP
        inc     dword [uds]
        mov     eax, [cur]
        or      [seen], eax
        pop     eax
        iret

gp:     cmp     dword [esp], 0          ; the error code
        jne     .bad
        add     esp, 4
        push    eax
        mov     eax, [skip]
        add     [esp + 4], eax
        inc     dword [gps]
        pop     eax
        iret
.bad:   GUEST_EXIT 3

other:  GUEST_EXIT 4

        align   4
idtr:   dw      32 * 8 - 1
        dd      IDT
skip:   dd      0
cur:    dd      0
seen:   dd      0
uds:    dd      0
gps:    dd      0
scratch: times 8 db 0
