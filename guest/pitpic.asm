; pitpic.asm: the 8259 PIC pair and the 8254 PIT, in real mode. Proves:
; ICW1-4 remap the master to vector 0x20 (slave 0x28) and OCW1 masks all but
; IRQ0; PIT channel 0 in mode 2 at 100 Hz (lo/hi count) raises IRQ0; with
; IF=0 the tick shows in the IRR (OCW3 read) and not in the ISR; `sti; hlt`
; sleeps until the tick, the handler (through the guest's IVT) sees IRQ0 in
; the ISR and a non-specific EOI clears it; no HLT returns without an
; interrupt; PIT channel 2 with the port 0x61 gate and OUT2 bit works as a
; BIOS-style delay. Needs event injection, a sleeping HLT and the PIC/PIT
; models in bhyvelet (in progress); runs under plain QEMU.
;
; Parameter: N ticks to count (0 -> 20; 0xffffffff, what plain QEMU reads
; from the absent port, -> 20 too).
; Prints: `pitpic: PIT channel 2 delay ok`, `pitpic: IRQ0 pending in the IRR
; with IF=0`, `pitpic: N ticks`.
; Exit codes: 0 ok; 0x31 IRQ0 never reached the IRR; 0x32 ISR bit 0 not set
; in the handler; 0x33 ISR not clear after the EOI; 0x34 a HLT returned
; without an interrupt; 0x35 OUT2 high before channel 2 counted down;
; 0x36 ISR set before any interrupt was taken; 0x7d unexpected exception.

%include "common.inc"
%include "intr.inc"

DEFAULT_TICKS   equ     20
PIT_100HZ       equ     (PIT_HZ + 50) / 100     ; 11932

msg_delay:      db      "pitpic: PIT channel 2 delay ok", 13, 10, 0
msg_irr:        db      "pitpic: IRQ0 pending in the IRR with IF=0", 13, 10, 0
msg_ticks1:     db      "pitpic: ", 0
msg_ticks2:     db      " ticks", 13, 10, 0

ticks:          dd      0
wakeups:        dd      0
want:           dd      0
isr_bad:        db      0       ; bit 0: ISR clear in the handler; bit 1: set after EOI

        bits    16
guest_main:
        cli
        call    exc16_install
        PIC_INIT 0x20, 0x28
        IVT_SET 0x20, irq0

        GUEST_PARAM
        cmp     eax, 0xffffffff
        je      .dflt
        test    eax, eax
        jnz     .have
.dflt:  mov     eax, DEFAULT_TICKS
.have:  mov     [want], eax

        PIT_DELAY PIT_100HZ, fail_out2  ; 10 ms
        PUTS16  msg_delay

        PIT_SET 0, 2, PIT_100HZ         ; rate generator, 100 Hz
        PIC_MASK 0xfe, 0xff             ; IRQ0 only
        PIC_WAIT_IRR 0, fail_irr
        PIC_READ_ISR
        test    al, al
        jnz     fail_isr_early
        PUTS16  msg_irr

.loop:  sti
        hlt
        cli
        inc     dword [wakeups]
        mov     eax, [wakeups]
        cmp     eax, [ticks]
        ja      fail_hlt                ; woke with no tick counted
        test    byte [isr_bad], 1
        jnz     fail_isr
        test    byte [isr_bad], 2
        jnz     fail_eoi
        mov     eax, [ticks]
        cmp     eax, [want]
        jb      .loop

        PIC_MASK 0xff, 0xff
        PUTS16  msg_ticks1
        mov     eax, [ticks]
        call    putdec16
        PUTS16  msg_ticks2
        GUEST_EXIT 0

fail_irr:       GUEST_EXIT 0x31
fail_isr:       GUEST_EXIT 0x32
fail_eoi:       GUEST_EXIT 0x33
fail_hlt:       GUEST_EXIT 0x34
fail_out2:      GUEST_EXIT 0x35
fail_isr_early: GUEST_EXIT 0x36

; IRQ0 (vector 0x20): count, check the ISR around the EOI.
irq0:
        push    ax
        inc     dword [ticks]
        PIC_READ_ISR
        test    al, 1
        jnz     .in
        or      byte [isr_bad], 1
.in:    PIC_EOI
        PIC_READ_ISR
        test    al, 1
        jz      .out
        or      byte [isr_bad], 2
.out:   pop     ax
        iret

; putdec16: eax as unsigned decimal (registers preserved).
putdec16:
        push    eax
        push    ebx
        push    ecx
        push    edx
        mov     ebx, 10
        xor     ecx, ecx
.div:   xor     edx, edx
        div     ebx
        push    dx
        inc     cx
        test    eax, eax
        jnz     .div
.out:   pop     ax
        add     al, '0'
        call    putc16
        loop    .out
        pop     edx
        pop     ecx
        pop     ebx
        pop     eax
        ret
