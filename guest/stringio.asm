; stringio.asm: string port I/O in 16-bit (real mode), 32-bit and 64-bit
; code. In each mode: `rep outsb` of a 64-byte line to COM1 with DF=0, the
; same backwards (DF=1, the line stored reversed), and with an fs override
; (fs base 0x7000, ds base 0: without the override the wrong bytes go out);
; `rep outsw` of a line (each character a word: the low byte goes to COM1,
; the high byte 0 to the next port, IER); `rep insb` of 16 bytes from the LSR
; 0x3FD (each reads 0x60) with DF=0 and DF=1. After each it checks the count
; register is 0 and the source/destination index moved by the right amount
; in the right direction. The host's transcript shows whether the right bytes
; went out. Needs string I/O emulation in bhyvelet (in progress); runs under
; plain QEMU.
;
; Prints, per mode, `stringio: N-bit` and then four lines that must read
; exactly `stringio: rep outsb, DF=0 ...`, `stringio: rep outsb, DF=1 ...`,
; `stringio: rep outsb, fs override ...`, `stringio: rep outsw`, then
; `stringio: N-bit ok`.
; Exit codes: 0 ok; 0xM1 count register not 0; 0xM2 source index wrong;
; 0xM3 destination index wrong; 0xM4 insb data not 0x60; M = 1 (16-bit),
; 2 (32-bit), 3 (64-bit); 0xe0 (lm.inc).

%include "common.inc"
%include "lm.inc"

LINE            equ     64
INBUF           equ     0x6000          ; 16 bytes + guards
FS_BASE         equ     0x7000

; LINE64 "text": the text padded with '.' to 62 bytes, then CR LF.
%macro LINE64 1
        db      %1
        times   LINE - 2 - %strlen(%1) db '.'
        db      13, 10
%endmacro
; LINE64_REV "text": the same line stored backwards (for DF=1).
%macro LINE64_REV 1
        db      10, 13
        times   LINE - 2 - %strlen(%1) db '.'
  %assign i %strlen(%1)
  %rep %strlen(%1)
    %substr c %1 i
        db      c
    %assign i i - 1
  %endrep
%endmacro
; WORDS "text": each character as a 16-bit word, then CR LF as words.
%macro WORDS 1
  %assign i 1
  %rep %strlen(%1)
    %substr c %1 i
        dw      c
    %assign i i + 1
  %endrep
        dw      13, 10
%endmacro

s_fwd:  LINE64  "stringio: rep outsb, DF=0 "
s_rev:  LINE64_REV "stringio: rep outsb, DF=1 "
s_ovr:  LINE64  "stringio: rep outsb, fs override "
s_w:    WORDS   "stringio: rep outsw"
s_w_end:
S_W_N   equ     (s_w_end - s_w) / 2

m16:    db      "stringio: 16-bit", 13, 10, 0
m16ok:  db      "stringio: 16-bit ok", 13, 10, 0
m32:    db      "stringio: 32-bit", 13, 10, 0
m32ok:  db      "stringio: 32-bit ok", 13, 10, 0
m64:    db      "stringio: 64-bit", 13, 10, 0
m64ok:  db      "stringio: 64-bit ok", 13, 10, 0

; STRING_TESTS bits, code-prefix (0x10/0x20/0x30)
%macro STRING_TESTS 2
  %if %1 == 16
    %define C cx
    %define S si
    %define D di
  %elif %1 == 32
    %define C ecx
    %define S esi
    %define D edi
  %else
    %define C rcx
    %define S rsi
    %define D rdi
  %endif
        mov     dx, COM1
        cld                                     ; DF=0
        mov     S, s_fwd
        mov     C, LINE
        rep outsb
        test    C, C
        jnz     %%bad_c
        cmp     S, s_fwd + LINE
        jne     %%bad_s

        std                                     ; DF=1: from the last byte down
        mov     S, s_rev + LINE - 1
        mov     C, LINE
        rep outsb
        cld
        test    C, C
        jnz     %%bad_c
        cmp     S, s_rev - 1
        jne     %%bad_s

        mov     S, s_ovr - FS_BASE              ; fs:S is the line, ds:S is not
        mov     C, LINE
        rep fs outsb
        test    C, C
        jnz     %%bad_c
        cmp     S, s_ovr - FS_BASE + LINE
        jne     %%bad_s

        mov     S, s_w
        mov     C, S_W_N
        rep outsw
        test    C, C
        jnz     %%bad_c
        cmp     S, s_w_end
        jne     %%bad_s

        mov     dx, COM1_LSR                    ; insb, DF=0
        mov     dword [INBUF], 0
        mov     dword [INBUF + 4], 0
        mov     dword [INBUF + 8], 0
        mov     dword [INBUF + 12], 0
        mov     D, INBUF
        mov     C, 16
        rep insb
        test    C, C
        jnz     %%bad_c
        cmp     D, INBUF + 16
        jne     %%bad_d
        call    %%check_buf

        std                                     ; insb, DF=1
        mov     D, INBUF + 15
        mov     C, 16
        rep insb
        cld
        test    C, C
        jnz     %%bad_c
        cmp     D, INBUF - 1
        jne     %%bad_d
        call    %%check_buf
        jmp     %%done

%%check_buf:                                    ; 16 bytes of 0x60, guards intact
        mov     S, INBUF
        mov     C, 16
%%cb:   cmp     byte [S], 0x60
        jne     %%bad_buf
        inc     S
        dec     C
        jnz     %%cb
        cmp     byte [INBUF - 1], 0xaa
        jne     %%bad_buf
        cmp     byte [INBUF + 16], 0xaa
        jne     %%bad_buf
        mov     dword [INBUF], 0                ; for the next run
        mov     dword [INBUF + 4], 0
        mov     dword [INBUF + 8], 0
        mov     dword [INBUF + 12], 0
        ret
%%bad_c:        GUEST_EXIT %2 + 1
%%bad_s:        GUEST_EXIT %2 + 2
%%bad_d:        GUEST_EXIT %2 + 3
%%bad_buf:      GUEST_EXIT %2 + 4
%%done:
%endmacro

        bits    16
guest_main:
        cli
        mov     byte [INBUF - 1], 0xaa          ; guards around the buffer
        mov     byte [INBUF + 16], 0xaa
        PUTS16  m16
        mov     ax, FS_BASE >> 4
        mov     fs, ax
        STRING_TESTS 16, 0x10
        PUTS16  m16ok
        mov     ebx, pm_main
        jmp     pm32_switch

        bits    32
pm_main:
        PUTS32  m32
        mov     ax, SEL_DATA7000
        mov     fs, ax
        STRING_TESTS 32, 0x20
        PUTS32  m32ok
        mov     ebx, lm_main
        jmp     lm64_switch

        bits    64
lm_main:
        PUTS64  m64
        mov     ax, SEL_DATA7000
        mov     fs, ax                          ; 64-bit mode: base 0x7000 from the descriptor
        STRING_TESTS 64, 0x30
        PUTS64  m64ok
        GUEST_EXIT 0
