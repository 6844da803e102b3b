; drcr.asm: the debug and control register writes bhyvelet checks itself
; (docs/vmm.md). Real mode, its own IVT handlers for #DB, #UD and #GP.
;   DR7 is virtual: a guest's DR7 reads back as written (bit 10 set), DR5
;   reads as DR7 while CR4.DE is clear, and an enabled instruction
;   breakpoint on code the guest then runs does not fire. (Under plain
;   QEMU or on hardware it fires: this guest ends there with 0x41, by
;   design: guests get no hardware breakpoints under bhyvelet.)
;   A MOV to CR0 setting NW without CD raises #GP(0), as MOV CR0 does on
;   hardware (QEMU's TCG takes it; SVM checks CR0 writes, vm_cr0_write_ok).
; Exit codes: 0 ok; 0x41 the breakpoint fired (#DB); 0x42 DR7 did not read
; back; 0x43 DR5 is not DR7; 0x44 no #GP for CR0.NW without CD; 0x45 an
; unexpected #UD.

%include "common.inc"
%include "intr.inc"

guest_main:
        cli
        IVT_SET 1, on_db
        IVT_SET 6, on_ud
        IVT_SET 13, on_gp
        ; An instruction breakpoint (L0, R/W 00, LEN 00) on bp_here.
        mov     eax, bp_here
        mov     dr0, eax
        mov     eax, 0x401
        mov     dr7, eax
bp_here:
        nop
        cmp     byte [dbs], 0
        jne     .fired
        mov     eax, 0x00000f03         ; L0 G0, LE GE, and bit 11 (reads 0)
        mov     dr7, eax
        mov     eax, dr7
        cmp     eax, 0x00000703
        jne     .dr7
        mov     eax, dr5
        cmp     eax, 0x00000703
        jne     .dr5
        xor     eax, eax
        mov     dr7, eax
        mov     eax, cr0
        or      eax, 1 << 29            ; NW
        and     eax, ~(1 << 30)         ; without CD
        mov     cr0, eax                ; 3 bytes: the #GP handler skips them
        cmp     byte [gps], 1
        jne     .nogp
        cmp     byte [uds], 0
        jne     .ud
        GUEST_EXIT 0
.fired: GUEST_EXIT 0x41
.dr7:   GUEST_EXIT 0x42
.dr5:   GUEST_EXIT 0x43
.nogp:  GUEST_EXIT 0x44
.ud:    GUEST_EXIT 0x45

on_db:  mov     byte [cs:dbs], 1
        push    eax                     ; disarmed, or real mode's IRET
        xor     eax, eax                ; (no RF) would meet it again
        mov     dr7, eax
        pop     eax
        iret
on_ud:  mov     byte [cs:uds], 1
        push    bp
        mov     bp, sp
        add     word [bp + 2], 3        ; past a mov to or from a DR
        pop     bp
        iret
on_gp:  mov     byte [cs:gps], 1
        push    bp
        mov     bp, sp
        add     word [bp + 2], 3        ; past the mov cr0, eax
        pop     bp
        iret

dbs:    db      0
uds:    db      0
gps:    db      0
