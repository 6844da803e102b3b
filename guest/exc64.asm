; exc64.asm: exceptions in long mode (lm.inc) through the guest's own 64-bit
; IDT (intr.inc). Proves that #DE, #UD and #BP arrive with the right vector
; and pushed RIP, that a non-canonical address gives #GP(0), that `mov ds`
; with a selector beyond the GDT limit / of a not-present segment gives
; #GP(selector) / #NP(selector), and that a write/read to an address lm.inc
; does not map (2..4 MiB: PD[1] not present) gives #PF with error code 2 / 0
; and CR2 = the address. Needs event injection in bhyvelet (in progress); runs
; under plain QEMU.
;
; Exit codes: 0 ok; 0x21 #DE; 0x22 #UD; 0x23 #BP; 0x24 #GP(0) non-canonical;
;   0x25 #GP(selector); 0x26 #NP(selector); 0x27 #PF write; 0x28 #PF read;
;   0x29 CR2 wrong; 0x7d an unexpected exception; 0xe0 (lm.inc).

%include "common.inc"
%include "lm.inc"
%include "intr.inc"

UNMAPPED        equ     0x300000        ; linear, not mapped by lm.inc
BAD_SEL         equ     0x80            ; beyond the GDT limit

msg_start:      db      "exc64: long-mode exceptions through the IDT", 13, 10, 0
msg_cr2:        db      "exc64: CR2 wrong: 0x", 0
msg_done:       db      "exc64: all exceptions ok", 13, 10, 0

EXC_CASE case_de, 0, 0, de_at, 0x21, "exc64: #DE (div by 0)"
EXC_CASE case_ud, 6, 0, ud_at, 0x22, "exc64: #UD (ud2)"
EXC_CASE case_bp, 3, 0, bp_next, 0x23, "exc64: #BP (int3)"
EXC_CASE case_nc, 13, 0, nc_at, 0x24, "exc64: #GP(0) (non-canonical address)"
EXC_CASE case_gp, 13, BAD_SEL, gp_at, 0x25, "exc64: #GP(0x80) (mov ds, bad selector)"
EXC_CASE case_np, 11, SEL_NOTPRESENT, np_at, 0x26, "exc64: #NP(0x28) (mov ds, not-present segment)"
EXC_CASE case_pfw, 14, 2, pfw_at, 0x27, "exc64: #PF(2) (write to an unmapped page)"
EXC_CASE case_pfr, 14, 0, pfr_at, 0x28, "exc64: #PF(0) (read from an unmapped page)"

        bits    16
guest_main:
        cli
        PIC_INIT 0x20, 0x28             ; mask the BIOS's IRQs (none under bhyvelet)
        ENTER_LONG_MODE lm_main

        bits    64
lm_main:
        call    exc64_install
        PUTS64  msg_start

        EXC_EXPECT de_done
        xor     ecx, ecx
        mov     eax, 1234
        xor     edx, edx
de_at:  div     rcx
de_done:
        mov     esi, case_de
        call    exc_check64

        EXC_EXPECT ud_done
ud_at:  ud2
ud_done:
        mov     esi, case_ud
        call    exc_check64

        EXC_EXPECT bp_next
        int3
bp_next:
        mov     esi, case_bp
        call    exc_check64

        EXC_EXPECT nc_done
        mov     rbx, 0x8000000000000000
nc_at:  mov     rax, [rbx]
nc_done:
        mov     esi, case_nc
        call    exc_check64

        EXC_EXPECT gp_done
        mov     ax, BAD_SEL
gp_at:  mov     ds, ax
gp_done:
        mov     esi, case_gp
        call    exc_check64

        EXC_EXPECT np_done
        mov     ax, SEL_NOTPRESENT
np_at:  mov     ds, ax
np_done:
        mov     esi, case_np
        call    exc_check64

        EXC_EXPECT pfw_done
pfw_at: mov     dword [UNMAPPED + 0x123], 0x5a5a5a5a
pfw_done:
        mov     esi, case_pfw
        call    exc_check64
        cmp     dword [exc_cr2], UNMAPPED + 0x123
        jne     cr2_bad

        EXC_EXPECT pfr_done
pfr_at: mov     eax, [UNMAPPED + 0x1ff8]
pfr_done:
        mov     esi, case_pfr
        call    exc_check64
        cmp     dword [exc_cr2], UNMAPPED + 0x1ff8
        jne     cr2_bad

        PUTS64  msg_done
        GUEST_EXIT 0

cr2_bad:
        PUTS64  msg_cr2
        mov     eax, [exc_cr2]
        call    puthex64
        mov     al, 13
        call    putc64
        mov     al, 10
        call    putc64
        GUEST_EXIT 0x29
