; fuzz.asm: the frame of every fuzz guest (kern/vmm/fuzz/, docs/fuzz.md).
; The host writes a generated program (the payload) to 0x10000 and starts
; this image with the parameter's bits 1:0 saying the mode to run it in:
; 0 real mode (CS = 0x1000, IP = the op's offset), 1 flat 32-bit protected
; mode, 2 long mode (identity-mapped 4 GiB, 2 MiB pages). The payload is a
; row of ops; each begins by storing its index at FZ_CUR, and FZ_OPTAB
; holds every op's address. Any interrupt or exception, at any vector,
; lands in this frame's handler, which resets the stack and goes on with
; the op after FZ_CUR: a fault ends an op, not the guest. The payload's
; last op writes the verdict 0; the frame ends the guest with verdict 1
; after FZ_MAXFAULTS faults, and 2 if the op index was overwritten.
; Whatever else happens (a triple fault once the payload broke the IDT, a
; HLT with IF clear, an access outside RAM, a spin) the host stops it.
;
; Guest memory: IVT 0..0x3ff (real mode), IDT 0x3000..0x3fff (protected
; and long mode), stack below 0x7c00, this image at 0x7c00, the payload's
; control block at 0x10000 (FZ_CUR, FZ_NOPS, FZ_FAULTS), its op table at
; 0x10010, results (what its RDMSRs read) at 0x10420, its code from
; 0x10840 (kern/vmm/fuzz/fuzz.h); long mode's page tables at 0x20000..0x25fff.

%include "common.inc"
%include "lm.inc"

FZ_BASE         equ     0x10000
FZ_CUR          equ     FZ_BASE + 0
FZ_NOPS         equ     FZ_BASE + 4
FZ_FAULTS       equ     FZ_BASE + 8
FZ_OPTAB        equ     FZ_BASE + 0x10
FZ_MAXOPS       equ     256
FZ_MAXFAULTS    equ     4096
FZ_IDT          equ     0x3000
FZ_PML4         equ     0x20000
FZ_PDPT         equ     0x21000
FZ_PD           equ     0x22000         ; four: 4 GiB

; FZ_NEXT_OP base: the handlers' common part, once the stack and DS are
; reset: count the fault, and ebx = the next op's index, or the frame's
; verdict (1: too many faults, 2: the index is not an op's). base is what
; DS adds to FZ_BASE's offsets (FZ_BASE in real mode, 0 when flat).
%macro FZ_NEXT_OP 1
        inc     dword [FZ_FAULTS - %1]
        cmp     dword [FZ_FAULTS - %1], FZ_MAXFAULTS
        ja      %%many
        mov     ebx, [FZ_CUR - %1]
        inc     ebx
        cmp     ebx, [FZ_NOPS - %1]
        jae     %%bad
        cmp     ebx, FZ_MAXOPS
        jb      %%next
%%bad:  GUEST_EXIT 2
%%many: GUEST_EXIT 1
%%next:
%endmacro

guest_main:
        GUEST_PARAM
        and     eax, 3
        cmp     eax, 1
        je      .prot
        cmp     eax, 2
        je      .long
        ; Real mode: every IVT vector to rm_fault.
        xor     di, di
        mov     cx, 256
.ivt:   mov     word [di], rm_fault
        mov     word [di + 2], 0
        add     di, 4
        loop    .ivt
        mov     ax, FZ_BASE >> 4
        mov     es, ax
        push    ax                              ; CS of the payload
        push    word [es:FZ_OPTAB - FZ_BASE]    ; op 0's offset
        retf

.prot:  mov     ebx, pm_start
        jmp     pm32_switch
.long:  mov     ebx, lm_build
        jmp     pm32_switch

        bits    16
; Real mode: any vector. IF is clear (an interrupt gate of the IVT).
rm_fault:
        xor     ax, ax
        mov     ss, ax
        mov     sp, LM_STACK
        mov     ax, FZ_BASE >> 4
        mov     ds, ax
        FZ_NEXT_OP FZ_BASE
        push    word FZ_BASE >> 4
        push    word [ebx * 4 + FZ_OPTAB - FZ_BASE]
        retf

        bits    32
; A 32-bit interrupt gate for every vector to pm_fault.
idt32_fill:
        mov     edi, FZ_IDT
        mov     ecx, 256
.gate:  mov     eax, pm_fault
        mov     word [edi], ax
        mov     word [edi + 2], SEL_CODE32
        mov     word [edi + 4], 0x8e00          ; present, DPL 0, 32-bit interrupt gate
        shr     eax, 16
        mov     word [edi + 6], ax
        add     edi, 8
        loop    .gate
        lidt    [idtr32]
        ret

pm_start:
        call    idt32_fill
        jmp     [FZ_OPTAB]

pm_fault:
        mov     ax, SEL_DATA
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     esp, LM_STACK
        FZ_NEXT_OP 0
        jmp     [ebx * 4 + FZ_OPTAB]

; Long mode: identity page tables for 4 GiB, then the switch.
lm_build:
        mov     edi, FZ_PML4
        mov     ecx, 6 * 4096 / 4
        xor     eax, eax
        rep stosd
        mov     dword [FZ_PML4], FZ_PDPT | 3
        mov     edi, FZ_PDPT
        mov     eax, FZ_PD | 3
        mov     ecx, 4
.pdpt:  mov     [edi], eax
        add     edi, 8
        add     eax, 0x1000
        loop    .pdpt
        mov     edi, FZ_PD
        mov     eax, 0x83                       ; present, writable, 2 MiB
        xor     edx, edx                        ; the entry's high half
        mov     ecx, 4 * 512
.pd:    mov     [edi], eax
        mov     [edi + 4], edx
        add     edi, 8
        add     eax, 0x200000
        adc     edx, 0
        loop    .pd
        mov     eax, cr4
        or      eax, 1 << 5                     ; PAE
        mov     cr4, eax
        mov     eax, FZ_PML4
        mov     cr3, eax
        mov     ecx, MSR_EFER
        rdmsr
        or      eax, 1 << 8                     ; LME
        wrmsr
        mov     eax, cr0
        or      eax, 1 << 31                    ; PG
        mov     cr0, eax
        jmp     SEL_CODE64:lm_start

        bits    64
lm_start:
        mov     ax, SEL_DATA
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     rsp, LM_STACK
        mov     edi, FZ_IDT
        mov     ecx, 256
.gate:  mov     eax, lm_fault
        mov     word [rdi], ax
        mov     word [rdi + 2], SEL_CODE64
        mov     word [rdi + 4], 0x8e00          ; present, DPL 0, 64-bit interrupt gate
        shr     eax, 16
        mov     word [rdi + 6], ax
        mov     dword [rdi + 8], 0
        mov     dword [rdi + 12], 0
        add     edi, 16
        loop    .gate
        lidt    [idtr64]
        mov     eax, [FZ_OPTAB]
        jmp     rax

lm_fault:
        mov     ax, SEL_DATA
        mov     ss, ax
        mov     ds, ax
        mov     rsp, LM_STACK
        FZ_NEXT_OP 0
        mov     eax, [rbx * 4 + FZ_OPTAB]
        jmp     rax

        align   8
idtr32: dw      256 * 8 - 1
        dd      FZ_IDT
idtr64: dw      256 * 16 - 1
        dq      FZ_IDT
