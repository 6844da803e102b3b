; msrgp.asm: MSRs that do not exist raise #GP(0), in flat 32-bit protected
; mode with the guest's own IDT (intr.inc). Proves that rdmsr and wrmsr of
; 0x12345678, 0xC0010999 and 0x40000099 each raise #GP with error code 0 at
; the rdmsr/wrmsr (the handler resumes after it) and change neither edx:eax
; (rdmsr) nor anything else, and that MSRs that exist - EFER (read, and the
; same value written back) and the TSC (0x10, read twice, increasing) - do
; not fault. Needs #GP injection for unknown MSRs in bhyvelet (in progress:
; today bhyvelet reads 0 and ignores writes). Plain QEMU 7.2 with TCG does
; the same as today's bhyvelet (unknown MSRs read 0, writes are ignored), so
; there this guest fails with 0x51 at its first rdmsr; it passes on hardware
; semantics (KVM, or QEMU versions whose TCG raises #GP).
;
; Prints one line per access: `msrgp: rdmsr 0x12345678 #GP(0) ok`, ...,
; `msrgp: rdmsr EFER ok`, `msrgp: rdmsr TSC ok`.
; Exit codes: 0 ok; 0x51 an unknown MSR's rdmsr did not #GP(0) at the rdmsr;
; 0x52 the same for wrmsr; 0x53 a faulting rdmsr changed edx:eax; 0x54 EFER
; access faulted; 0x55 TSC read faulted or did not increase; 0x7d an
; unexpected exception; 0xe0 (lm.inc).

%include "common.inc"
%include "lm.inc"
%include "intr.inc"

MSR_TSC         equ     0x10

rd_eax:         dd      0
rd_edx:         dd      0
msg_done:       db      "msrgp: all MSR accesses ok", 13, 10, 0
msg_efer:       db      "msrgp: rdmsr/wrmsr EFER ok", 13, 10, 0
msg_tsc:        db      "msrgp: rdmsr TSC ok", 13, 10, 0

; MSR_GP number: rdmsr and wrmsr of it must #GP(0).
%macro MSR_GP 1
        EXC_EXPECT %%rd_done
        mov     ecx, %1
        mov     eax, 0xaaaa5555
        mov     edx, 0x5555aaaa
%%rd_at:
        rdmsr
%%rd_done:
        mov     [rd_eax], eax
        mov     [rd_edx], edx
        mov     esi, %%rd_case
        call    exc_check32
        cmp     dword [rd_eax], 0xaaaa5555
        jne     fail_clobber
        cmp     dword [rd_edx], 0x5555aaaa
        jne     fail_clobber
        EXC_EXPECT %%wr_done
        mov     ecx, %1
        xor     eax, eax
        xor     edx, edx
%%wr_at:
        wrmsr
%%wr_done:
        mov     esi, %%wr_case
        call    exc_check32
        jmp     %%next
EXC_CASE %%rd_case, 13, 0, %%rd_at, 0x51, "msrgp: rdmsr ", %str(%1), " #GP(0)"
EXC_CASE %%wr_case, 13, 0, %%wr_at, 0x52, "msrgp: wrmsr ", %str(%1), " #GP(0)"
%%next:
%endmacro

        bits    16
guest_main:
        cli
        PIC_INIT 0x20, 0x28             ; mask the BIOS's IRQs (none under bhyvelet)
        mov     ebx, pm_main
        jmp     pm32_switch

        bits    32
pm_main:
        call    exc32_install

        MSR_GP  0x12345678
        MSR_GP  0xc0010999
        MSR_GP  0x40000099

        ; EFER exists: read it, write the same value back; no exception.
        mov     dword [exc_resume], 0   ; disarmed: any exception exits 0x7d
        mov     dword [exc_count], 0
        mov     ecx, MSR_EFER
        rdmsr
        wrmsr
        cmp     dword [exc_count], 0
        jne     fail_efer
        PUTS32  msg_efer

        ; The TSC exists and counts.
        mov     ecx, MSR_TSC
        rdmsr
        mov     ebx, eax
        mov     edi, edx
        mov     ecx, 1000
.spin:  loop    .spin
        mov     ecx, MSR_TSC
        rdmsr
        sub     eax, ebx
        sbb     edx, edi
        jb      fail_tsc
        or      eax, edx
        jz      fail_tsc
        cmp     dword [exc_count], 0
        jne     fail_tsc
        PUTS32  msg_tsc

        PUTS32  msg_done
        GUEST_EXIT 0

fail_clobber:   GUEST_EXIT 0x53
fail_efer:      GUEST_EXIT 0x54
fail_tsc:       GUEST_EXIT 0x55
