; udvirt.asm: every SVM and VMX instruction raises #UD in a guest, in flat
; 32-bit protected mode (in real mode they #UD anyway, so that would prove
; nothing). Proves that VMRUN, VMLOAD, VMSAVE, STGI, CLGI, SKINIT, INVLPGA
; (EFER.SVME = 0) and VMXON, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE,
; VMLAUNCH, VMRESUME, VMXOFF, INVEPT, INVVPID (CR4.VMXE = 0) each raise #UD
; at the instruction; the #UD handler skips it by the instruction's length
; (given in the table below; the assembler checks it against the encoding).
; VMCALL/VMMCALL are not tested: they are bhyvelet's hypercall. Needs #UD
; injection for these in bhyvelet (in progress); runs under plain QEMU.
;
; Prints `udvirt: NAME #UD ok (L bytes)` per instruction.
; Exit codes: 0 ok; 0x61 an instruction did not raise #UD exactly once at its
; address; 0x7d another exception (e.g. #GP); 0xe0 (lm.inc).

%include "common.inc"
%include "lm.inc"
%include "intr.inc"

VMX_REGION      equ     0x4000          ; a zeroed page for the memory operands

msg_done:       db      "udvirt: all 18 instructions raise #UD", 13, 10, 0
msg_ok1:        db      " #UD ok (", 0
msg_ok2:        db      " bytes)", 13, 10, 0
msg_bad:        db      " did not raise #UD once at its address", 13, 10, 0

ud_len:         dd      0               ; the length of the instruction under test
ud_seen:        dd      0
ud_eip:         dd      0

; UD_CASE "NAME", length, instruction...
%macro UD_CASE 3+
        mov     dword [ud_seen], 0
        mov     dword [ud_eip], 0
        mov     dword [ud_len], %2
        mov     esi, %%name
        mov     edi, %%at
        mov     ebx, VMX_REGION
        xor     eax, eax
%%at:   %3
%%end:
%%check equ 1 / ((%%end - %%at) == (%2))        ; assembly fails if the length is wrong
        call    ud_check
        jmp     %%next
%%name: db      "udvirt: ", %1, 0
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
        IDT32_SET 6, ud_handler
        mov     edi, VMX_REGION
        xor     eax, eax
        mov     ecx, 1024
        rep stosd

        UD_CASE "VMRUN",    3, vmrun
        UD_CASE "VMLOAD",   3, vmload
        UD_CASE "VMSAVE",   3, vmsave
        UD_CASE "STGI",     3, stgi
        UD_CASE "CLGI",     3, clgi
        UD_CASE "SKINIT",   3, db 0x0f, 0x01, 0xde   ; skinit (nasm 2.16 refuses it outside 64-bit code)
        UD_CASE "INVLPGA",  3, invlpga
        UD_CASE "VMXON",    4, vmxon [ebx]
        UD_CASE "VMCLEAR",  4, vmclear [ebx]
        UD_CASE "VMPTRLD",  3, vmptrld [ebx]
        UD_CASE "VMPTRST",  3, vmptrst [ebx]
        UD_CASE "VMREAD",   3, vmread eax, ebx
        UD_CASE "VMWRITE",  3, vmwrite ebx, eax
        UD_CASE "VMLAUNCH", 3, vmlaunch
        UD_CASE "VMRESUME", 3, vmresume
        UD_CASE "VMXOFF",   3, vmxoff
        UD_CASE "INVEPT",   5, invept eax, [ebx]
        UD_CASE "INVVPID",  5, invvpid eax, [ebx]

        PUTS32  msg_done
        GUEST_EXIT 0

; ud_check: esi = name, edi = the instruction's address.
ud_check:
        call    puts32
        cmp     dword [ud_seen], 1
        jne     .bad
        cmp     [ud_eip], edi
        jne     .bad
        PUTS32  msg_ok1
        mov     al, '0'
        add     al, [ud_len]
        call    putc32
        PUTS32  msg_ok2
        ret
.bad:   PUTS32  msg_bad
        GUEST_EXIT 0x61

; #UD: record, then skip the instruction by its length.
ud_handler:
        inc     dword [ud_seen]
        push    eax
        mov     eax, [esp + 4]          ; the pushed EIP
        mov     [ud_eip], eax
        add     eax, [ud_len]
        mov     [esp + 4], eax
        pop     eax
        iretd
