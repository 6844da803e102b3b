; evbench.asm: the event benchmarks' guest (tests/vmm_intr_bench.c).
; Parameter (port 0x4f8): bits 31:28 what, bits 27:0 N.
;   1: N RDMSRs of an MSR the VM lacks, each a #GP delivered to the IVT
;      handler, which steps over it (an injected exception's round trip).
;   2: N rounds of: PIT channel 0 one-shot (mode 0) of 1193 counts (about
;      1 ms), TSC read, then sti; hlt until IRQ0's handler has run (the
;      TSC read again there; the flag tested with IF clear, so no IRQ
;      slips in between the test and the HLT). Reports the sum of the TSC deltas (low 32
;      bits each) to port 0x4f4 at the end.
;   3: as 2, but waiting in a loop with no exits instead of HLT.
;   4: N times rep outsb of 64 bytes to COM1 (a string I/O exit, decoded
;      and emulated by the kernel, each byte one access to the UART).
; Then it exits with 0. Real mode.

%include "common.inc"
%include "intr.inc"

guest_main:
        cli
        IVT_SET 13, gp
        IVT_SET 0x20, tick
        GUEST_PARAM
        mov     esi, eax
        and     esi, 0x0fffffff
        shr     eax, 28
        cmp     eax, 1
        je      .gp_loop
        cmp     eax, 4
        je      .outs_loop
        mov     [spin], eax
        PIC_INIT 0x20, 0x28
        PIC_MASK 0xfe, 0xff                ; IRQ0 only
        xor     edi, edi                ; the sum of the deltas
.round: test    esi, esi
        jz      .report
        mov     byte [ticked], 0
        PIT_SET 0, 0, 1193
        rdtsc
        mov     [t0], eax
        cmp     byte [spin], 3
        je      .spin_sti
        ; The flag is tested with IF clear and `sti; hlt` follows: the
        ; STI shadow holds the IRQ off until HLT waits. An IRQ taken
        ; between an IF-set test and the HLT would leave HLT waiting for
        ; an edge the one-shot PIT never gives again (a guest hang, seen
        ; whenever the vCPU thread was preempted past the edge).
.hlt:   cmp     byte [ticked], 0
        jne     .got
        sti
        hlt
        cli
        jmp     .hlt
.spin_sti:
        sti
.spin:  cmp     byte [ticked], 0
        je      .spin
.got:   cli
        mov     eax, [t1]
        sub     eax, [t0]
        add     edi, eax
        dec     esi
        jmp     .round
.report:
        GUEST_REPORT edi
        GUEST_EXIT 0

.gp_loop:
        test    esi, esi
        jz      .gp_done
        mov     ecx, 0x12345678
        rdmsr
        dec     esi
        jmp     .gp_loop
.gp_done:
        GUEST_EXIT 0

.outs_loop:
        mov     ebx, esi                ; rep outsb uses si
        cld
.outs:  test    ebx, ebx
        jz      .gp_done
        mov     si, outs_text
        mov     cx, 64
        mov     dx, COM1
        rep outsb
        dec     ebx
        jmp     .outs

gp:     push    bp
        mov     bp, sp
        add     word [bp + 2], 2        ; past the rdmsr
        pop     bp
        iret

tick:   push    eax
        push    edx
        rdtsc
        mov     [cs:t1], eax
        mov     byte [cs:ticked], 1
        mov     al, 0x20
        out     0x20, al
        pop     edx
        pop     eax
        iret

outs_text:
        times 63 db '.'
        db      10
t0:     dd      0
t1:     dd      0
spin:   dd      0
ticked: db      0
