; outofmap.asm: touches guest-physical memory outside its RAM, so the host's
; "out of map" handling (EPT violation / nested page fault on an address with
; no mapping) can be tested.
;
; How: go to flat 32-bit protected mode without paging (linear = physical,
; so the 1 GiB address needs no page tables and no A20 games), then write to
; guest-physical 0x40000000. The VM must stop at that write.
;
; Exit codes (none is expected):
;   0xdead  execution continued after the write

%include "common.inc"
%include "lm.inc"

OUTSIDE equ     0x40000000      ; 1 GiB: far above any guest RAM we are given

msg:    db      "touching memory outside my map", 13, 10, 0

        bits    16
guest_main:
        PUTS16  msg
        mov     ebx, pm_main
        jmp     pm32_switch

        bits    32
pm_main:
        mov     dword [OUTSIDE], 0x0badf00d
        GUEST_EXIT 0xdead
