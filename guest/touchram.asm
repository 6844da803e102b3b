; touchram.asm: touches every 4 KiB page of its RAM, so the host can count
; the nested page faults that costs (none when the host premaps RAM, one per
; page when it maps from the faults) and time a guest that uses a lot of RAM.
; Flat 32-bit protected mode without paging: linear = guest-physical, so
; any RAM size up to 4 GiB needs no page tables of the guest's own.
;
; 1. reads the first dword of each page below LOW_END (the IVT, lm.inc's
;    tables, the stack, this image: not written, they are in use);
; 2. writes gpa ^ PATTERN at the start of every page from LOW_END to the
;    RAM size (port 0x4fc), then reads them all back: two pages that the
;    host mapped to one host page, or a 2 MiB mapping at the wrong place,
;    leave a value that is not the page's own;
; 3. at each 2 MiB boundary inside RAM writes a dword across it (0x11223344
;    at boundary - 2) and reads its two halves back as words, then the last
;    dword and the last byte of RAM;
; 4. reports EDGES_OK; with parameter bit 0 set it then writes the byte just
;    past RAM, which must stop the VM (out of map).
; The host test checks what the guest wrote from its side of the memory too.
;
; Prints `touchram: N KiB` at the start (N from port 0x4fc).
; Exit codes: 0 ok; 0x91 a page's value is not its own (its gpa is reported
; first); 0x92 a dword across a 2 MiB boundary read back wrong (the boundary
; is reported first); 0x93 the last dword or byte of RAM read back wrong;
; 0xdead it went on after writing past RAM.

%include "common.inc"
%include "lm.inc"

LOW_END         equ     0x20000         ; the image ends below 0x17c00
PATTERN         equ     0x5eed0000
STRADDLE        equ     0x11223344
EDGES_OK        equ     0x70c4ed

msg:    db      "touchram: ", 0
msg_kib: db     " KiB", 13, 10, 0
ramsize: dd     0

        bits    16
guest_main:
        mov     ebx, pm_main
        jmp     pm32_switch

        bits    32
pm_main:
        mov     dx, PORT_RAMSIZE
        in      eax, dx
        mov     [ramsize], eax
        PUTS32  msg
        mov     eax, [ramsize]
        shr     eax, 10
        call    putdec32
        PUTS32  msg_kib
        mov     ebp, [ramsize]

        xor     esi, esi
.read:  mov     eax, [esi]
        add     esi, 4096
        cmp     esi, LOW_END
        jb      .read

        mov     esi, LOW_END
.write: mov     eax, esi
        xor     eax, PATTERN
        mov     [esi], eax
        add     esi, 4096
        cmp     esi, ebp
        jb      .write

        mov     esi, LOW_END
.check: mov     eax, esi
        xor     eax, PATTERN
        cmp     [esi], eax
        jne     bad_page
        add     esi, 4096
        cmp     esi, ebp
        jb      .check

        mov     esi, 0x200000
.edge:  cmp     esi, ebp
        jae     .last
        mov     dword [esi - 2], STRADDLE
        cmp     word [esi - 2], STRADDLE & 0xffff
        jne     bad_edge
        cmp     word [esi], STRADDLE >> 16
        jne     bad_edge
        add     esi, 0x200000
        jmp     .edge

.last:  mov     dword [ebp - 4], STRADDLE
        cmp     dword [ebp - 4], STRADDLE
        jne     bad_last
        mov     byte [ebp - 1], 0xa5
        cmp     byte [ebp - 1], 0xa5
        jne     bad_last
        GUEST_REPORT EDGES_OK
        GUEST_PARAM
        test    eax, 1
        jz      .done
        mov     byte [ebp], 0x5a        ; one byte past RAM: the VM stops
        GUEST_EXIT 0xdead
.done:  GUEST_EXIT 0

bad_page:
        GUEST_REPORT esi
        GUEST_EXIT 0x91
bad_edge:
        GUEST_REPORT esi
        GUEST_EXIT 0x92
bad_last:
        GUEST_EXIT 0x93

; putdec32: print eax in decimal (registers preserved).
putdec32:
        pushad
        mov     ecx, 10
        xor     ebx, ebx
.div:   xor     edx, edx
        div     ecx
        push    edx
        inc     ebx
        test    eax, eax
        jnz     .div
.out:   pop     eax
        add     al, '0'
        call    putc32
        dec     ebx
        jnz     .out
        popad
        ret
