; evmsr.asm: the SYSCALL/SWAPGS MSRs are the guest's own, and what must not
; reach the hardware does not. Writes STAR, LSTAR, CSTAR, SFMASK and
; KERNEL_GS_BASE and reads them back; FS_BASE and GS_BASE written by
; WRMSR are the bases FS and GS address with (real mode too); a
; non-canonical LSTAR and FS_BASE and RDPMC raise #GP(0); DR0 starts at 0
; and DR0/DR3 keep the guest's values. The host checks its own MSRs and
; debug registers are unchanged after.
;
; Exit codes:
;   0   success
;   1   an MSR read back a different value (the report port has its number)
;   2   not exactly three #GP
;   4   FS or GS did not address through the base WRMSR gave it
;   3   DR0 did not start at 0, or DR0/DR3 did not keep what the guest wrote

%include "common.inc"
%include "intr.inc"

msg_ok: db      "evmsr: syscall MSRs and FS/GS bases are the guest's; a bad LSTAR, a bad FS_BASE and RDPMC raise #GP", 13, 10, 0

; WRRD msr, hi, lo: write and read back
%macro WRRD 3
        mov     ecx, %1
        mov     edx, %2
        mov     eax, %3
        wrmsr
        xor     eax, eax
        xor     edx, edx
        rdmsr
        cmp     edx, %2
        jne     %%bad
        cmp     eax, %3
        je      %%ok
%%bad:  GUEST_REPORT %1
        GUEST_EXIT 1
%%ok:
%endmacro

guest_main:
        cli
        IVT_SET 13, gp
        ; DR0-DR3 start at 0 (the host's are not ours), and keep ours
        mov     eax, dr0
        or      eax, 0
        jnz     .bad_dr
        mov     eax, 0x7c00
        mov     dr0, eax
        mov     eax, 0x7d00
        mov     dr3, eax
        mov     eax, dr0
        cmp     eax, 0x7c00
        jne     .bad_dr
        mov     eax, dr3
        cmp     eax, 0x7d00
        jne     .bad_dr
        WRRD    0xc0000081, 0x00230010, 0x00000000      ; STAR
        WRRD    0xc0000082, 0xffffffff, 0x81234560      ; LSTAR
        WRRD    0xc0000083, 0xffffffff, 0x81234570      ; CSTAR
        WRRD    0xc0000084, 0x00000000, 0x00004700      ; SFMASK
        WRRD    0xc0000102, 0x00001234, 0x56789000      ; KERNEL_GS_BASE
        ; markers at 0x10000 and 0x10010, then FS and GS based there
        push    ds
        mov     ax, 0x1000
        mov     ds, ax
        mov     dword [0], 0xf5f5f5f5
        mov     dword [0x10], 0x65656565
        pop     ds
        WRRD    0xc0000100, 0x00000000, 0x00010000      ; FS_BASE
        WRRD    0xc0000101, 0x00000000, 0x00010010      ; GS_BASE
        cmp     dword [fs:0], 0xf5f5f5f5
        jne     .bad_base
        cmp     dword [gs:0], 0x65656565
        jne     .bad_base
        mov     ecx, 0xc0000100
        mov     edx, 0x00008000                         ; not canonical
        xor     eax, eax
        wrmsr
        mov     ecx, 0xc0000082
        mov     edx, 0x00008000                         ; not canonical
        xor     eax, eax
        wrmsr
        xor     ecx, ecx
        rdpmc
        cmp     byte [gps], 3
        jne     .bad_gp
        PUTS16  msg_ok
        GUEST_EXIT 0
.bad_gp:
        GUEST_EXIT 2
.bad_base:
        GUEST_EXIT 4
.bad_dr:
        GUEST_REPORT eax
        GUEST_EXIT 3

gp:     push    bp
        mov     bp, sp
        add     word [bp + 2], 2        ; wrmsr and rdpmc are 2 bytes
        inc     byte [cs:gps]
        pop     bp
        iret

gps:    db      0
