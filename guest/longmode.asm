; longmode.asm: real mode -> 32-bit protected mode -> long mode (through
; lm.inc, printing each stage), then proves from 64-bit code that CS.L is set
; and exits with success.
;
; Output:  real mode / protected mode / long mode / reached long mode
;
; Exit codes:
;   0     success
;   0x01  a 64-bit operation gave the wrong result (we are not in 64-bit mode)
;   0x02  EFER.LMA is not set after the switch
;   0xe0  CPUID says the CPU has no long mode (from lm.inc)

%define LM_VERBOSE
%include "common.inc"
%include "lm.inc"

msg_ok:   db    "reached long mode", 13, 10, 0
msg_bad:  db    "64-bit operation failed: not in 64-bit mode", 13, 10, 0
msg_lma:  db    "EFER.LMA is clear", 13, 10, 0

        bits    16
guest_main:
        ENTER_LONG_MODE long_main

        bits    64
long_main:
        ; In 32-bit code these bytes would decode differently (REX.W becomes
        ; dec eax), so a correct result proves we really run 64-bit code.
        mov     rax, 0x123456789abcdef0
        shr     rax, 32
        cmp     rax, 0x12345678
        jne     .bad
        ; EFER.LMA (bit 10) is set by the CPU when long mode is active.
        mov     ecx, MSR_EFER
        rdmsr
        bt      eax, 10
        jnc     .nolma
        PUTS64  msg_ok
        GUEST_EXIT 0
.bad:   PUTS64  msg_bad
        GUEST_EXIT 0x01
.nolma: PUTS64  msg_lma
        GUEST_EXIT 0x02
