; stishadow.asm: the STI interrupt shadow and a HLT woken by an interrupt, in
; real mode. With IF=0 an IRQ0 is made pending (PIT channel 0 one-shot, mode
; 0; the guest waits until the PIC's IRR shows it), then:
;   1. `sti; cli`: the shadow covers the cli, so the interrupt is NOT taken
;      (and stays pending in the IRR);
;   2. `sti; inc bx; inc bx`: the interrupt is taken right after the first
;      inc (the handler sees IP = the second inc and bx = 1);
;   3. `sti; hlt`: the interrupt is taken after the shadow and wakes the HLT;
;      the handler sees IP = the instruction after the hlt (were it taken
;      before the hlt, the handler moves IP past it, so a failure does not
;      hang, and reports it).
; A `mov ss` shadow check is left out: with IF=1 there is no way to make an
; interrupt become pending exactly at a `mov ss`, and after `sti; mov ss`
; whether the shadow extends is CPU-specific (QEMU: it does not).
; Needs event injection, interrupt-window handling and a sleeping HLT in
; bhyvelet (in progress); runs under plain QEMU.
;
; Prints `stishadow: <case> ok` for each case.
; Exit codes: 0 ok; 0x41 IRQ0 never reached the IRR; 0x42 taken inside
; `sti; cli`; 0x43 not pending after `sti; cli`; 0x44 case 2 wrong IP or bx;
; 0x45 case 3 wrong IP; 0x46 handler count wrong; 0x7d unexpected exception.

%include "common.inc"
%include "intr.inc"

msg_cli:        db      "stishadow: sti; cli does not take the pending IRQ0 ok", 13, 10, 0
msg_inc:        db      "stishadow: sti; inc bx: IRQ0 taken after one instruction ok", 13, 10, 0
msg_hlt:        db      "stishadow: sti; hlt: IRQ0 wakes the hlt, return IP after it ok", 13, 10, 0
msg_ip:         db      "stishadow: handler saw ip 0x", 0
msg_bx:         db      " bx 0x", 0
msg_nl:         db      13, 10, 0

seen:           dd      0               ; interrupts taken
seen_ip:        dd      0
seen_bx:        dd      0

        bits    16
guest_main:
        cli
        call    exc16_install
        PIC_INIT 0x20, 0x28
        IVT_SET 0x20, irq0
        PIC_MASK 0xfe, 0xff

        ; 1. sti; cli
        call    make_pending
        sti
        cli
        cmp     dword [seen], 0
        jne     fail_cli
        PIC_READ_IRR
        test    al, 1
        jz      fail_cli_gone
        PUTS16  msg_cli
        sti                             ; take it now (shadow: after the nop)
        nop
        nop
        cli
        cmp     dword [seen], 1
        jne     fail_count

        ; 2. sti; inc bx; inc bx
        call    make_pending
        xor     bx, bx
        sti
        inc     bx
inc_b:  inc     bx
        cli
        call    show
        cmp     dword [seen_ip], inc_b
        jne     fail_inc
        cmp     dword [seen_bx], 1
        jne     fail_inc
        cmp     dword [seen], 2
        jne     fail_count
        PUTS16  msg_inc

        ; 3. sti; hlt
        call    make_pending
        sti
hlt_at: hlt
hlt_after:
        cli
        call    show
        cmp     dword [seen_ip], hlt_after
        jne     fail_hlt
        cmp     dword [seen], 3
        jne     fail_count
        PUTS16  msg_hlt
        PIC_MASK 0xff, 0xff
        GUEST_EXIT 0

fail_cli:       GUEST_EXIT 0x42
fail_cli_gone:  GUEST_EXIT 0x43
fail_inc:       GUEST_EXIT 0x44
fail_hlt:       GUEST_EXIT 0x45
fail_count:     GUEST_EXIT 0x46

; make_pending: IF=0; a PIT one-shot (about 1 ms), wait until IRQ0 is in the IRR.
make_pending:
        PIT_SET 0, 0, 1193              ; mode 0: OUT0 rises once, at terminal count
        PIC_WAIT_IRR 0, .none
        ret
.none:  GUEST_EXIT 0x41

; show: print the IP and bx the handler saw (a debugging aid on every run).
show:
        PUTS16  msg_ip
        mov     eax, [seen_ip]
        call    puthex16
        PUTS16  msg_bx
        mov     eax, [seen_bx]
        call    puthex16
        PUTS16  msg_nl
        ret

; IRQ0: record the return IP and bx; never return onto the hlt.
irq0:
        push    bp
        mov     bp, sp
        push    ax
        inc     dword [seen]
        movzx   eax, word [bp + 2]
        mov     [seen_ip], eax
        movzx   eax, bx
        mov     [seen_bx], eax
        cmp     word [bp + 2], hlt_at
        jne     .eoi
        mov     word [bp + 2], hlt_after        ; taken before the hlt: step over it
.eoi:   PIC_EOI
        pop     ax
        pop     bp
        iret
