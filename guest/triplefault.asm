; triplefault.asm: makes the CPU triple-fault (shutdown) on purpose, so the
; host's shutdown handling can be tested.
;
; Parameter (port 0x4f8): 0 -> fault in 32-bit protected mode (via lm.inc);
; 1 -> fault in real mode. Protected mode is the default because the IDT limit
; check in real mode is not honoured everywhere: on an AMD host under KVM the
; real-mode int went through the IVT at 0 anyway and ran off into garbage.
; How: load an IDT with limit 0, then ud2. #UD (vector 6) lies beyond the
; IDT limit -> #GP, whose vector is beyond the limit too -> #DF, also beyond
; the limit -> triple fault: the CPU shuts down (an exit for the host).
;
; Exit codes (none is expected: the VM must stop at the triple fault):
;   0xdead  execution continued past the faulting instruction

%include "common.inc"
%include "lm.inc"

msg:    db      "about to triple fault", 13, 10, 0

        align   8
idt0:   dw      0               ; limit 0: no vector is inside the IDT
        dd      0

        bits    16
guest_main:
        PUTS16  msg
        GUEST_PARAM
        test    eax, eax
        jz      .pm
        o32 lidt [idt0]                 ; real mode: the limit-0 IVT
        ud2
        GUEST_EXIT 0xdead
.pm:    mov     ebx, pm_fault
        jmp     pm32_switch

        bits    32
pm_fault:
        lidt    [idt0]
        ud2
        GUEST_EXIT 0xdead
