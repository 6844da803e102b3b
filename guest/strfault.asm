; strfault.asm: faults and long REPs in string port I/O, in long mode
; (lm.inc) through the guest's own IDT (intr.inc). A `rep insb` of 16 bytes
; from the LSR whose destination runs off the last mapped byte (0x1FFFF8,
; lm.inc maps 0..2 MiB) gives #PF(2) at the instruction with CR2 = 0x200000,
; after 8 bytes are in (rcx = 8, rdi = 0x200000, the 8 bytes read 0x60); a
; `rep outsb` from a non-canonical rsi gives #GP(0) with rcx untouched; a
; `rep outsb` of 10000 bytes to port 0x80 (nothing there) ends with rcx = 0
; and rsi moved by 10000, however many times the host resumed it. Runs under
; plain QEMU too.
;
; Exit codes: 0 ok; 0x81 #PF case; 0x82 rcx/rdi after the #PF; 0x83 CR2;
;   0x84 insb data; 0x85 #GP case; 0x86 rcx after the #GP; 0x87 rcx/rsi after
;   the long rep; 0x7d an unexpected exception; 0xe0 (lm.inc).

%include "common.inc"
%include "lm.inc"
%include "intr.inc"

EDGE            equ     0x200000        ; first unmapped linear byte
LONG_N          equ     10000

msg_start:      db      "strfault: string I/O faults in long mode", 13, 10, 0
msg_long:       db      "strfault: rep outsb of 10000 bytes ok", 13, 10, 0
msg_done:       db      "strfault: all string I/O faults ok", 13, 10, 0
msg_cr2:        db      "strfault: CR2 wrong: 0x", 0

EXC_CASE case_pf, 14, 2, pf_at, 0x81, "strfault: #PF(2) in rep insb (8 of 16 bytes in)"
EXC_CASE case_gp, 13, 0, gp_at, 0x85, "strfault: #GP(0) in rep outsb (non-canonical rsi)"

        bits    16
guest_main:
        cli
        PIC_INIT 0x20, 0x28
        ENTER_LONG_MODE lm_main

        bits    64
lm_main:
        call    exc64_install
        PUTS64  msg_start
        cld

        mov     qword [EDGE - 8], 0
        EXC_EXPECT pf_done
        mov     dx, COM1_LSR
        mov     rdi, EDGE - 8
        mov     rcx, 16
pf_at:  rep insb
pf_done:
        push    rcx
        push    rdi
        mov     esi, case_pf
        call    exc_check64
        pop     rdi
        pop     rcx
        cmp     rcx, 8
        jne     bad_pfregs
        cmp     rdi, EDGE
        jne     bad_pfregs
        cmp     dword [exc_cr2], EDGE
        jne     bad_cr2
        mov     rax, 0x6060606060606060
        cmp     qword [EDGE - 8], rax
        jne     bad_data

        EXC_EXPECT gp_done
        mov     dx, COM1
        mov     rsi, 0x8000000000000000
        mov     rcx, 4
gp_at:  rep outsb
gp_done:
        push    rcx
        mov     esi, case_gp
        call    exc_check64
        pop     rcx
        cmp     rcx, 4
        jne     bad_gpregs

        mov     dx, 0x80
        mov     rsi, 0x10000
        mov     rcx, LONG_N
        rep outsb
        test    rcx, rcx
        jnz     bad_long
        cmp     rsi, 0x10000 + LONG_N
        jne     bad_long
        PUTS64  msg_long

        PUTS64  msg_done
        GUEST_EXIT 0

bad_pfregs:     GUEST_EXIT 0x82
bad_cr2:        PUTS64  msg_cr2
        mov     eax, [exc_cr2]
        call    puthex64
        mov     al, 13
        call    putc64
        mov     al, 10
        call    putc64
        GUEST_EXIT 0x83
bad_data:       GUEST_EXIT 0x84
bad_gpregs:     GUEST_EXIT 0x86
bad_long:       GUEST_EXIT 0x87
