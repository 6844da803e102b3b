; stress.asm: many exits of every kind the ABI offers, each result checked,
; and every GPR checked across every exit.
; Runs in long mode (via lm.inc). Each iteration does one kind of exit, in
; rotation: cpuid 0x40000000 (signature), in 0x4f8 (parameter unchanged), hlt,
; scratch MSR (read back the previous value, write a new one, read it back),
; hypercall (echo, and an unknown number). Every 4096 iterations it reports
; the iteration count on port 0x4f4.
;
; GPR canaries: before every exiting instruction all 16 GPRs hold known
; values (canaries that change every iteration, then the exit's inputs) and
; are stored to `before`; right after it they are stored to `after`, rsp is
; put back from `before`, and every GPR the exit does not define (cpuid:
; rax-rdx; in, rdmsr, hypercall: rax, and rdx for rdmsr) must be unchanged,
; rsp included. rsp cannot hold a canary (an exception or the next call
; would write through it), so it is checked for keeping its value; the
; iteration count and the rest of the state live in memory. The host must
; save and restore all guest GPRs; vmm_inject_gpr_flip (kern/vmm/vmm.c)
; flips one on a HLT exit to show this check catches it.
;
; Parameter (port 0x4f8): N iterations (0 -> 100000).
; Output: "stress guest: N iterations ok", or "stress guest: <what> failed at
; iteration <n> (got 0x.., expected 0x..)" (low 32 bits).
;
; Exit codes:
;   0     success
;   0x30  cpuid 0x40000000: wrong signature (eax, or "bhyv" "elet" "vmm!")
;   0x31  in 0x4f8 returned a different value than at the start
;   0x32  scratch MSR: rdmsr right after wrmsr returned another value
;   0x33  scratch MSR: the value written earlier was lost across other exits
;   0x34  hypercall echo: eax != ebx + 1
;   0x35  unknown hypercall number did not return 0xffffffff
;   0x36  a GPR the exit does not define changed across it (<what> names it:
;         "GPR r13 canary")
;   0x37  RAM size (port 0x4fc) below 2 MiB
;   0xe0  no long mode (lm.inc)

%include "common.inc"
%include "lm.inc"

; Masks of the GPRs an exit defines, one bit per register in VM_REG order
; (rax rbx rcx rdx rsi rdi rbp rsp r8 .. r15, kern/vmm/vmm.h).
OUT_RAX         equ     1 << 0
OUT_RBX         equ     1 << 1
OUT_RCX         equ     1 << 2
OUT_RDX         equ     1 << 3

; SNAP table: store all 16 GPRs (flags and GPRs untouched).
%macro SNAP 1
        mov     [%1 + 0*8], rax
        mov     [%1 + 1*8], rbx
        mov     [%1 + 2*8], rcx
        mov     [%1 + 3*8], rdx
        mov     [%1 + 4*8], rsi
        mov     [%1 + 5*8], rdi
        mov     [%1 + 6*8], rbp
        mov     [%1 + 7*8], rsp
        mov     [%1 + 8*8], r8
        mov     [%1 + 9*8], r9
        mov     [%1 + 10*8], r10
        mov     [%1 + 11*8], r11
        mov     [%1 + 12*8], r12
        mov     [%1 + 13*8], r13
        mov     [%1 + 14*8], r14
        mov     [%1 + 15*8], r15
%endmacro

; LOAD_CANARIES: every GPR but rsp from this iteration's canary table.
%macro LOAD_CANARIES 0
        mov     rax, [canary + 0*8]
        mov     rbx, [canary + 1*8]
        mov     rcx, [canary + 2*8]
        mov     rdx, [canary + 3*8]
        mov     rsi, [canary + 4*8]
        mov     rdi, [canary + 5*8]
        mov     rbp, [canary + 6*8]
        mov     r8 , [canary + 8*8]
        mov     r9 , [canary + 9*8]
        mov     r10, [canary + 10*8]
        mov     r11, [canary + 11*8]
        mov     r12, [canary + 12*8]
        mov     r13, [canary + 13*8]
        mov     r14, [canary + 14*8]
        mov     r15, [canary + 15*8]
%endmacro

; AFTER_EXIT mask: right after an exiting instruction (whose registers were
; stored with SNAP before): store them again, put rsp back before anything
; uses the stack, and check every GPR outside mask.
%macro AFTER_EXIT 1
        SNAP    after
        mov     rsp, [before + 7*8]
        mov     ebx, %1
        call    check_gprs
%endmacro

; HYPERCALL: vmcall or vmmcall inline (no call: the stack stays untouched
; between the two snapshots).
%macro HYPERCALL 0
        cmp     byte [hv_is_amd], 0
        jne     %%amd
        vmcall
        jmp     %%done
%%amd:  vmmcall
%%done:
%endmacro

        bits    16
guest_main:
        ENTER_LONG_MODE stress_main

        bits    64
stress_main:
        call    hv_detect64
        mov     dx, PORT_RAMSIZE
        in      eax, dx
        cmp     eax, 2 << 20
        jb      fail_ram
        GUEST_PARAM
        mov     [param], eax
        test    eax, eax
        jnz     .n_ok
        mov     eax, 100000
.n_ok:  mov     [nmax], eax
        mov     qword [msr_val], 0              ; nothing written yet
        mov     dword [iter], 0
        mov     dword [kind], 0                 ; exit kind 0..4

.loop:  inc     dword [iter]
        call    new_canaries
        test    dword [iter], 4095
        jnz     .kind
        LOAD_CANARIES
        mov     eax, [iter]
        mov     edx, PORT_REPORT
        SNAP    before
        out     dx, eax
        AFTER_EXIT 0
.kind:  mov     eax, [kind]
        cmp     eax, 0
        je      .k_cpuid
        cmp     eax, 1
        je      .k_param
        cmp     eax, 2
        je      .k_hlt
        cmp     eax, 3
        je      .k_msr
        ; kind 4: hypercalls
        LOAD_CANARIES
        mov     eax, [iter]
        imul    ebx, eax, 0x9e3779b9            ; a changing argument
        mov     eax, HC_ECHO
        SNAP    before
        HYPERCALL
        AFTER_EXIT OUT_RAX
        mov     eax, [after + 0*8]
        mov     edx, [before + 1*8]
        inc     edx
        mov     ebx, 0x34
        mov     esi, what_echo
        cmp     eax, edx
        jne     fail
        LOAD_CANARIES
        mov     eax, 0x7777                     ; not a hypercall number
        mov     ebx, [iter]
        SNAP    before
        HYPERCALL
        AFTER_EXIT OUT_RAX
        mov     eax, [after + 0*8]
        mov     edx, 0xffffffff
        mov     ebx, 0x35
        mov     esi, what_unknown
        cmp     eax, edx
        jne     fail
        jmp     .next

.k_cpuid:
        LOAD_CANARIES
        mov     eax, 0x40000000
        xor     ecx, ecx
        SNAP    before
        cpuid
        AFTER_EXIT OUT_RAX | OUT_RBX | OUT_RCX | OUT_RDX
        mov     eax, [after + 0*8]
        mov     r15d, [after + 1*8]             ; ebx: `fail` wants it for the code
        mov     ecx, [after + 2*8]
        mov     edx, [after + 3*8]
        mov     esi, what_cpuid
        mov     ebx, 0x30
        cmp     eax, 0x40000001
        jne     .cpuid_eax
        cmp     r15d, "bhyv"
        jne     .cpuid_ebx
        cmp     ecx, "elet"
        jne     .cpuid_ecx
        cmp     edx, "vmm!"
        jne     .cpuid_edx
        jmp     .next
.cpuid_eax:
        mov     edx, 0x40000001
        jmp     fail
.cpuid_ebx:
        mov     eax, r15d
        mov     edx, "bhyv"
        jmp     fail
.cpuid_ecx:
        mov     eax, ecx
        mov     edx, "elet"
        jmp     fail
.cpuid_edx:
        mov     eax, edx
        mov     edx, "vmm!"
        jmp     fail

.k_param:
        LOAD_CANARIES
        mov     edx, PORT_PARAM
        SNAP    before
        in      eax, dx
        AFTER_EXIT OUT_RAX
        mov     eax, [after + 0*8]
        mov     edx, [param]
        mov     ebx, 0x31
        mov     esi, what_param
        cmp     eax, edx
        jne     fail
        jmp     .next

.k_hlt: LOAD_CANARIES
        SNAP    before
        hlt
        AFTER_EXIT 0
        jmp     .next

.k_msr: LOAD_CANARIES                           ; the last value must have survived
        mov     ecx, MSR_SCRATCH
        SNAP    before
        rdmsr
        AFTER_EXIT OUT_RAX | OUT_RDX
        mov     eax, [after + 0*8]
        mov     edx, [after + 3*8]
        shl     rdx, 32
        or      rax, rdx
        mov     rdx, [msr_val]
        mov     ebx, 0x33
        mov     esi, what_msr_lost
        cmp     rax, rdx
        jne     fail
        mov     eax, [iter]                     ; new value: both halves change
        mov     rdx, 0x9e3779b97f4a7c15
        imul    rax, rdx
        mov     [msr_val], rax
        LOAD_CANARIES
        mov     rax, [msr_val]                  ; wrmsr takes eax:edx and
        mov     rdx, rax                        ; leaves all of rax, rdx alone
        shr     rdx, 32
        mov     ecx, MSR_SCRATCH
        SNAP    before
        wrmsr
        AFTER_EXIT 0
        LOAD_CANARIES
        mov     ecx, MSR_SCRATCH
        SNAP    before
        rdmsr
        AFTER_EXIT OUT_RAX | OUT_RDX
        mov     eax, [after + 0*8]
        mov     edx, [after + 3*8]
        shl     rdx, 32
        or      rax, rdx
        mov     rdx, [msr_val]
        mov     ebx, 0x32
        mov     esi, what_msr
        cmp     rax, rdx
        jne     fail

.next:  mov     eax, [kind]
        inc     eax
        cmp     eax, 5
        jb      .more
        xor     eax, eax
.more:  mov     [kind], eax
        mov     eax, [iter]
        cmp     eax, [nmax]
        jb      .loop

        PUTS64  msg_done1
        mov     eax, [iter]
        call    putdec64
        PUTS64  msg_done2
        GUEST_EXIT 0

; new_canaries: canary[i] = canary_base[i] ^ (iteration * 2^64/phi), so a
; value left over from an earlier exit (or another vCPU) does not match.
new_canaries:
        mov     eax, [iter]
        mov     rdx, 0x9e3779b97f4a7c15
        imul    rax, rdx
        xor     ecx, ecx
.l:     mov     rbx, [canary_base + rcx*8]
        xor     rbx, rax
        mov     [canary + rcx*8], rbx
        inc     ecx
        cmp     ecx, 16
        jb      .l
        ret

; check_gprs: ebx = the GPRs the exit defines (OUT_* bits); every other one
; must be the same in `after` as in `before`, else fail with 0x36 naming it.
check_gprs:
        xor     ecx, ecx
.l:     bt      ebx, ecx
        jc      .n
        mov     rax, [before + rcx*8]
        cmp     rax, [after + rcx*8]
        jne     .bad
.n:     inc     ecx
        cmp     ecx, 16
        jb      .l
        ret
.bad:   mov     edx, eax                        ; expected
        mov     eax, [after + rcx*8]            ; got
        mov     esi, [gpr_what + rcx*4]
        mov     ebx, 0x36
        jmp     fail

fail_ram:
        mov     edx, 2 << 20
        mov     ebx, 0x37
        mov     esi, what_ram
        ; fall through
; fail: esi = what failed, eax = got, edx = expected (low 32 bits shown),
; ebx = exit code; the iteration is [iter]. Prints and exits.
fail:
        mov     r14d, eax
        mov     r15d, edx
        mov     r13d, ebx
        mov     r10d, esi
        PUTS64  msg_fail1
        mov     esi, r10d
        call    puts64
        PUTS64  msg_fail2
        mov     eax, [iter]
        call    putdec64
        PUTS64  msg_got
        mov     eax, r14d
        call    puthex64
        PUTS64  msg_exp
        mov     eax, r15d
        call    puthex64
        PUTS64  msg_close
        mov     eax, r13d
        mov     dx, PORT_VERDICT
        out     dx, eax
.park:  hlt
        jmp     .park

        align   8
msr_val:        dq      0
param:          dd      0
nmax:           dd      0
iter:           dd      0
kind:           dd      0
; Per-register base values (rsp's slot is unused), this iteration's
; canaries, and the GPRs stored around the exit being checked.
canary_base:
                dq      0x0123456789abcdef  ; rax
                dq      0xfedcba9876543210  ; rbx
                dq      0x5555aaaa5555aaaa  ; rcx
                dq      0xaaaa5555aaaa5555  ; rdx
                dq      0x0f1e2d3c4b5a6978  ; rsi
                dq      0x8796a5b4c3d2e1f0  ; rdi
                dq      0x13579bdf02468ace  ; rbp
                dq      0  ; rsp
                dq      0xdeadbeefcafef00d  ; r8
                dq      0x0badc0de1337d00d  ; r9
                dq      0xa5a5a5a55a5a5a5a  ; r10
                dq      0x3c3c3c3cc3c3c3c3  ; r11
                dq      0x1122334455667788  ; r12
                dq      0x99aabbccddeeff00  ; r13
                dq      0x7f7f7f7ff7f7f7f7  ; r14
                dq      0x6996966996696996  ; r15
canary:         times 16 dq 0
before:         times 16 dq 0
after:          times 16 dq 0
gpr_what:
                dd      what_rax
                dd      what_rbx
                dd      what_rcx
                dd      what_rdx
                dd      what_rsi
                dd      what_rdi
                dd      what_rbp
                dd      what_rsp
                dd      what_r8
                dd      what_r9
                dd      what_r10
                dd      what_r11
                dd      what_r12
                dd      what_r13
                dd      what_r14
                dd      what_r15

msg_done1:      db      "stress guest: ", 0
msg_done2:      db      " iterations ok", 13, 10, 0
msg_fail1:      db      "stress guest: ", 0
msg_fail2:      db      " failed at iteration ", 0
msg_got:        db      " (got 0x", 0
msg_exp:        db      ", expected 0x", 0
msg_close:      db      ")", 13, 10, 0
what_cpuid:     db      "cpuid 0x40000000 signature", 0
what_param:     db      "parameter port read", 0
what_msr:       db      "scratch MSR read-back", 0
what_msr_lost:  db      "scratch MSR value kept across exits", 0
what_echo:      db      "hypercall echo", 0
what_unknown:   db      "unknown hypercall", 0
what_rax:      db      "GPR rax canary", 0
what_rbx:      db      "GPR rbx canary", 0
what_rcx:      db      "GPR rcx canary", 0
what_rdx:      db      "GPR rdx canary", 0
what_rsi:      db      "GPR rsi canary", 0
what_rdi:      db      "GPR rdi canary", 0
what_rbp:      db      "GPR rbp canary", 0
what_rsp:      db      "GPR rsp canary", 0
what_r8:       db      "GPR r8 canary", 0
what_r9:       db      "GPR r9 canary", 0
what_r10:      db      "GPR r10 canary", 0
what_r11:      db      "GPR r11 canary", 0
what_r12:      db      "GPR r12 canary", 0
what_r13:      db      "GPR r13 canary", 0
what_r14:      db      "GPR r14 canary", 0
what_r15:      db      "GPR r15 canary", 0
what_ram:       db      "RAM size", 0
