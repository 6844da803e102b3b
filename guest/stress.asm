; stress.asm: many exits of every kind the ABI offers, each result checked.
; Runs in long mode (via lm.inc). Each iteration does one kind of exit, in
; rotation: cpuid 0x40000000 (signature), in 0x4f8 (parameter unchanged), hlt,
; scratch MSR (read back the previous value, write a new one, read it back),
; hypercall (echo, and an unknown number). Every 4096 iterations it reports
; the iteration count on port 0x4f4. After every iteration it checks that the
; canary values in rbp and r8-r11 survived the exits (the host must save and
; restore all guest GPRs).
;
; Parameter (port 0x4f8): N iterations (0 -> 100000).
; Output: "stress guest: N iterations ok", or "stress guest: <what> failed at
; iteration <n> (got 0x.., expected 0x..)".
;
; Exit codes:
;   0     success
;   0x30  cpuid 0x40000000: wrong signature (eax, or "bhyv" "elet" "vmm!")
;   0x31  in 0x4f8 returned a different value than at the start
;   0x32  scratch MSR: rdmsr right after wrmsr returned another value
;   0x33  scratch MSR: the value written earlier was lost across other exits
;   0x34  hypercall echo: eax != ebx + 1
;   0x35  unknown hypercall number did not return 0xffffffff
;   0x36  a GPR canary (rbp, r8-r11) changed across an exit
;   0x37  RAM size (port 0x4fc) below 2 MiB
;   0xe0  no long mode (lm.inc)

%include "common.inc"
%include "lm.inc"

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
        mov     r13d, eax                       ; r13 = N
        test    r13d, r13d
        jnz     .n_ok
        mov     r13d, 100000
.n_ok:  mov     rbp, 0x0123456789abcdef         ; canaries, never touched below
        mov     r8,  0xfedcba9876543210
        mov     r9,  0x5555aaaa5555aaaa
        mov     r10, 0xaaaa5555aaaa5555
        mov     r11, 0x0f1e2d3c4b5a6978
        mov     qword [msr_val], 0              ; nothing written yet
        xor     r12d, r12d                      ; r12 = iteration
        xor     r14d, r14d                      ; r14 = exit kind 0..4

.loop:  inc     r12d
        test    r12d, 4095
        jnz     .kind
        GUEST_REPORT r12d
.kind:  cmp     r14d, 0
        je      .k_cpuid
        cmp     r14d, 1
        je      .k_param
        cmp     r14d, 2
        je      .k_hlt
        cmp     r14d, 3
        je      .k_msr
        ; kind 4: hypercalls
        mov     eax, HC_ECHO
        mov     ebx, r12d
        imul    ebx, ebx, 0x9e3779b9            ; a changing argument
        mov     r15d, ebx
        call    hypercall64
        lea     edx, [r15 + 1]
        mov     ebx, 0x34
        mov     esi, what_echo
        cmp     eax, edx
        jne     fail
        mov     eax, 0x7777                     ; not a hypercall number
        mov     ebx, r12d
        call    hypercall64
        mov     edx, 0xffffffff
        mov     ebx, 0x35
        mov     esi, what_unknown
        cmp     eax, edx
        jne     fail
        jmp     .next

.k_cpuid:
        mov     eax, 0x40000000
        xor     ecx, ecx
        cpuid
        mov     esi, what_cpuid
        mov     r15d, ebx                       ; keep ebx: `fail` wants it for the code
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
        GUEST_PARAM
        mov     edx, [param]
        mov     ebx, 0x31
        mov     esi, what_param
        cmp     eax, edx
        jne     fail
        jmp     .next

.k_hlt: hlt
        jmp     .next

.k_msr: mov     ecx, MSR_SCRATCH                ; the last value must have survived
        rdmsr
        shl     rdx, 32
        or      rax, rdx
        mov     rdx, [msr_val]
        mov     ebx, 0x33
        mov     esi, what_msr_lost
        cmp     rax, rdx
        jne     fail
        mov     eax, r12d                       ; new value: both halves change
        mov     rdx, 0x9e3779b97f4a7c15
        imul    rax, rdx
        mov     [msr_val], rax
        mov     rdx, rax
        shr     rdx, 32
        wrmsr
        rdmsr
        shl     rdx, 32
        or      rax, rdx
        mov     rdx, [msr_val]
        mov     ebx, 0x32
        mov     esi, what_msr
        cmp     rax, rdx
        jne     fail

.next:  ; canaries
        mov     rax, 0x0123456789abcdef
        cmp     rbp, rax
        jne     .canary
        mov     rax, 0xfedcba9876543210
        cmp     r8, rax
        jne     .canary
        mov     rax, 0x5555aaaa5555aaaa
        cmp     r9, rax
        jne     .canary
        mov     rax, 0xaaaa5555aaaa5555
        cmp     r10, rax
        jne     .canary
        mov     rax, 0x0f1e2d3c4b5a6978
        cmp     r11, rax
        jne     .canary
        inc     r14d
        cmp     r14d, 5
        jb      .more
        xor     r14d, r14d
.more:  cmp     r12d, r13d
        jb      .loop

        PUTS64  msg_done1
        mov     eax, r12d
        call    putdec64
        PUTS64  msg_done2
        GUEST_EXIT 0

.canary:
        mov     eax, ebp                        ; shows rbp's low half; the name says which
        mov     edx, 0x89abcdef
        mov     ebx, 0x36
        mov     esi, what_canary
        jmp     fail

fail_ram:
        mov     edx, 2 << 20
        mov     ebx, 0x37
        mov     esi, what_ram
        ; fall through
; fail: esi = what failed, eax = got, edx = expected (low 32 bits shown),
; ebx = exit code, r12 = iteration. Prints and exits.
fail:
        mov     r14d, eax
        mov     r15d, edx
        mov     r13d, ebx
        mov     r10d, esi
        PUTS64  msg_fail1
        mov     esi, r10d
        call    puts64
        PUTS64  msg_fail2
        mov     eax, r12d
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
what_canary:    db      "GPR canary (rbp, r8-r11)", 0
what_ram:       db      "RAM size", 0
