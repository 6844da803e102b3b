; exc32.asm: exceptions in flat 32-bit protected mode through the guest's own
; IDT (interrupt gates, intr.inc). Proves that #DE, #UD and #BP arrive with
; the right vector and pushed EIP (fault: the instruction; trap: the next),
; that #GP and #NP push the selector as error code (`mov ds` with a selector
; beyond the GDT limit / of a not-present segment), and that #PF pushes the
; error code (write/read to a not-present page: 2 / 0) with CR2 = the address,
; under 32-bit paging (4 KiB pages, identity map of 0..4 MiB, one page out).
; Needs event injection in bhyvelet (in progress); runs under plain QEMU.
;
; Exit codes: 0 ok; 0x11 #DE; 0x12 #UD; 0x13 #BP; 0x14 #GP(selector);
;   0x15 #NP(selector); 0x16 #PF write; 0x17 #PF read; 0x18 CR2 wrong;
;   0x7d an unexpected exception; 0xe0 (lm.inc).

%include "common.inc"
%include "lm.inc"
%include "intr.inc"

PD32            equ     0x1000          ; 32-bit page directory
PT32            equ     0x2000          ; its page table for 0..4 MiB
HOLE            equ     0x180000        ; the not-present page (inside RAM)
BAD_SEL         equ     0x80            ; beyond the GDT limit

msg_start:      db      "exc32: protected-mode exceptions through the IDT", 13, 10, 0
msg_paging:     db      "exc32: 32-bit paging on", 13, 10, 0
msg_cr2:        db      "exc32: CR2 wrong: 0x", 0
msg_done:       db      "exc32: all exceptions ok", 13, 10, 0

EXC_CASE case_de, 0, 0, de_at, 0x11, "exc32: #DE (div by 0)"
EXC_CASE case_ud, 6, 0, ud_at, 0x12, "exc32: #UD (ud2)"
EXC_CASE case_bp, 3, 0, bp_next, 0x13, "exc32: #BP (int3)"
EXC_CASE case_gp, 13, BAD_SEL, gp_at, 0x14, "exc32: #GP(0x80) (mov ds, bad selector)"
EXC_CASE case_np, 11, SEL_NOTPRESENT, np_at, 0x15, "exc32: #NP(0x28) (mov ds, not-present segment)"
EXC_CASE case_pfw, 14, 2, pfw_at, 0x16, "exc32: #PF(2) (write to a not-present page)"
EXC_CASE case_pfr, 14, 0, pfr_at, 0x17, "exc32: #PF(0) (read from a not-present page)"

        bits    16
guest_main:
        cli
        PIC_INIT 0x20, 0x28             ; mask the BIOS's IRQs (none under bhyvelet)
        mov     ebx, pm_main
        jmp     pm32_switch

        bits    32
pm_main:
        call    exc32_install
        PUTS32  msg_start

        EXC_EXPECT de_done
        xor     ecx, ecx
        mov     eax, 1234
        xor     edx, edx
de_at:  div     ecx
de_done:
        mov     esi, case_de
        call    exc_check32

        EXC_EXPECT ud_done
ud_at:  ud2
ud_done:
        mov     esi, case_ud
        call    exc_check32

        EXC_EXPECT bp_next
        int3
bp_next:
        mov     esi, case_bp
        call    exc_check32

        EXC_EXPECT gp_done
        mov     ax, BAD_SEL
gp_at:  mov     ds, ax
gp_done:
        mov     esi, case_gp
        call    exc_check32

        EXC_EXPECT np_done
        mov     ax, SEL_NOTPRESENT
np_at:  mov     ds, ax
np_done:
        mov     esi, case_np
        call    exc_check32

        ; 32-bit paging: identity map 0..4 MiB with 4 KiB pages, HOLE absent.
        mov     edi, PT32
        mov     eax, 0x003              ; present, writable
        mov     ecx, 1024
.pte:   stosd
        add     eax, 0x1000
        loop    .pte
        mov     dword [PT32 + (HOLE >> 12) * 4], 0
        mov     edi, PD32
        xor     eax, eax
        mov     ecx, 1024
        rep stosd
        mov     dword [PD32], PT32 | 3
        mov     eax, PD32
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 1 << 31            ; CR0.PG
        mov     cr0, eax
        PUTS32  msg_paging

        EXC_EXPECT pfw_done
pfw_at: mov     dword [HOLE + 0x123], 0x5a5a5a5a
pfw_done:
        mov     esi, case_pfw
        call    exc_check32
        cmp     dword [exc_cr2], HOLE + 0x123
        jne     cr2_bad

        EXC_EXPECT pfr_done
pfr_at: mov     eax, [HOLE + 0xffc]
pfr_done:
        mov     esi, case_pfr
        call    exc_check32
        cmp     dword [exc_cr2], HOLE + 0xffc
        jne     cr2_bad

        PUTS32  msg_done
        GUEST_EXIT 0

cr2_bad:
        PUTS32  msg_cr2
        mov     eax, [exc_cr2]
        call    puthex32
        mov     al, 13
        call    putc32
        mov     al, 10
        call    putc32
        GUEST_EXIT 0x18
