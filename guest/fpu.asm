; fpu.asm: FPU-state checker. Loads distinct patterns into every FPU/SIMD
; register, then causes N exits of assorted kinds and, after each one, checks
; that every register still holds its pattern. A hypervisor that loses, mixes
; up (with the host's or another guest's) or half-restores the FPU state
; between exits is caught here.
;
; Parameter (port 0x4f8): bits 0-15 = N, the number of exits (0 -> 10000);
; bits 16-31 = pattern seed (0 -> fixed seed 0x5eed). Give concurrent VMs
; different seeds so that a state leak from one to the other is visible.
;
; Registers under test (expected values are computed, not snapshotted):
;   x87:  FCW (non-default rounding and precision), FSW (TOP and flags),
;         FTW (all 8 valid), ST0-ST7 (8 distinct 80-bit values)
;   SSE:  MXCSR (non-default rounding, FTZ, sticky flags), XMM0-XMM15
;   AVX:  YMM0-YMM15 bits 255:128, and XCR0 (if CPUID.1:ECX has XSAVE and AVX)
;   AVX-512 (if also CPUID.7.0:EBX.AVX512F[16] and CPUID 0xD.0:EAX bits 5-7,
;         opmask, ZMM_Hi256, Hi16_ZMM; XCR0 = 0xe7 then, 7 otherwise):
;         k0-k7 (64-bit), ZMM0-ZMM15 bits 511:256, ZMM16-ZMM31 (all 512 bits)
; x87/MXCSR/XMM are read with fxsave, YMM upper halves with vextractf128,
; ZMM0-15 upper halves with vextracti64x4, ZMM16-31 with vmovdqu64 and k0-k7
; with kmovq, all to memory: nothing is checked through an instruction that
; changes it.
;
; Exits rotate through: cpuid, in 0x4f8, hlt, hypercall echo, rdmsr
; 0x40000010, xsetbv (AVX only; cpuid otherwise); plus `out 0x4f4` of the
; iteration count every 1024 iterations.
;
; Output: "fpu guest: seed 0x.., N iterations, avx=A avx512=B" at the start,
;         "fpu guest: N checks ok (avx=A avx512=B)" at the end, or
;         "FPU CORRUPTED: <reg> at iteration <n> (got 0x.., expected 0x..)".
;
; Exit codes:
;   0     success
;   0x10  x87 state changed (FCW, FSW, FTW or ST0-ST7)
;   0x11  MXCSR changed
;   0x12  an XMM register changed
;   0x13  a YMM upper half changed
;   0x14  XCR0 changed, or was not 1 (x87, its reset value) when OSXSAVE
;         was first set
;   0x15  an opmask register (k0-k7) changed
;   0x16  a ZMM0-ZMM15 upper half (bits 511:256) changed
;   0x17  a ZMM16-ZMM31 register changed
;   0x20  the hypercall echo returned a wrong value
;   0xe0  no long mode (lm.inc)
; "at iteration 0" means the check right after loading, before any planned exit.

%include "common.inc"
%include "lm.inc"

; Work areas in guest RAM above the image (the image ends below 0x17c00).
VTAB    equ     0x20000         ; 16 x 32 bytes: XMMn at +32n, YMMn[255:128] at +32n+16
XTAB    equ     0x20200         ; 8 x 16 bytes: 80-bit x87 values in load order
FXBUF   equ     0x21000         ; fxsave area (512 bytes, 16-aligned)
YBUF    equ     0x21400         ; one vextractf128 result
ZTAB    equ     0x22000         ; 32 x 64 bytes: ZMMn (all 512 bits) at +64n;
                                ;  for n < 16 bits 255:0 are VTAB's XMMn/YMMn
KTAB    equ     0x22800         ; 8 x 8 bytes: k0-k7
ZBUF    equ     0x22c00         ; one vextracti64x4 / vmovdqu64 result (64-aligned)
KBUF    equ     0x22c40         ; one kmovq result

        bits    16
guest_main:
        ENTER_LONG_MODE fpu_main

        bits    64
fpu_main:
        call    hv_detect64

        ; ---- parameter: N and seed ----
        GUEST_PARAM
        movzx   r13d, ax                ; N
        test    r13d, r13d
        jnz     .n_ok
        mov     r13d, 10000
.n_ok:  shr     eax, 16                 ; seed
        jnz     .s_ok
        mov     eax, 0x5eed
.s_ok:  mov     [seed], eax

        ; ---- enable the FPU, SSE and (if offered) AVX ----
        mov     rax, cr0
        and     eax, ~((1 << 2) | (1 << 3))     ; EM=0 (no emulation), TS=0 (no #NM)
        or      eax, (1 << 1) | (1 << 5)        ; MP=1, NE=1 (native x87 errors)
        mov     cr0, rax
        mov     rax, cr4
        or      eax, (1 << 9) | (1 << 10)       ; OSFXSR, OSXMMEXCPT
        mov     cr4, rax
        mov     eax, 1
        cpuid
        mov     eax, ecx
        and     eax, (1 << 26) | (1 << 28)      ; XSAVE and AVX
        cmp     eax, (1 << 26) | (1 << 28)
        jne     .no_avx
        mov     eax, 0xd                        ; does XCR0 offer x87|SSE|AVX?
        xor     ecx, ecx
        cpuid
        mov     ebp, eax
        and     eax, 7
        cmp     eax, 7
        jne     .no_avx
        mov     dword [exp_xcr0], 7             ; XCR0 = x87 | SSE | AVX
        xor     eax, eax                        ; AVX-512: leaf 7 present,
        cpuid                                   ;  AVX512F, and XCR0 offers
        cmp     eax, 7                          ;  opmask | ZMM_Hi256 | Hi16_ZMM
        jb      .set_xcr0
        mov     eax, 7
        xor     ecx, ecx
        cpuid
        bt      ebx, 16
        jnc     .set_xcr0
        and     ebp, 0xe0
        cmp     ebp, 0xe0
        jne     .set_xcr0
        mov     dword [exp_xcr0], 0xe7          ; ... | opmask | ZMM_Hi256 | Hi16_ZMM
        mov     byte [avx512], 1
.set_xcr0:
        mov     rax, cr4
        or      eax, 1 << 18                    ; OSXSAVE
        mov     cr4, rax
        xor     ecx, ecx                        ; before any XSETBV, XCR0 is
        xgetbv                                  ;  its reset value, x87 alone
        cmp     eax, 1
        jne     verify.bad_xcr0_reset
        xor     ecx, ecx
        mov     eax, [exp_xcr0]
        xor     edx, edx
        xsetbv
        mov     byte [avx], 1
.no_avx:

        ; ---- compute the expected patterns from the seed ----
        mov     eax, [seed]
        mov     rdx, rax
        shl     rdx, 32
        or      rax, rdx
        mov     rdx, 0x9e3779b97f4a7c15
        xor     rax, rdx
        mov     [rng], rax
        mov     edi, VTAB                       ; 64 random qwords for XMM/YMM
        mov     ecx, 16 * 32 / 8
.vgen:  call    rand
        stosq
        loop    .vgen
        mov     edi, XTAB                       ; 8 random normal 80-bit values
        mov     ecx, 8
.xgen:  call    rand
        bts     rax, 63                         ; explicit integer bit: normal number
        mov     [rdi], rax
        call    rand
        and     eax, 0x803f                     ; sign, and an exponent
        add     eax, 0x3fff - 32                ;  within 2^-32 .. 2^31
        mov     [rdi + 8], ax
        add     edi, 16
        loop    .xgen
        mov     eax, [seed]                     ; FCW: masked exceptions, RC = 1..3,
        xor     edx, edx                        ; PC = 53 or 64 bits
        mov     ecx, 3
        div     ecx
        lea     ecx, [rdx + 1]
        shl     ecx, 10
        or      ecx, 0x027f
        test    byte [seed], 4
        jz      .pc53
        or      ecx, 0x0100
.pc53:  mov     [exp_fcw], cx
        mov     eax, [seed]                     ; MXCSR: masked, RC = 1..3, FTZ,
        shr     eax, 4                          ; and some sticky flags (bits 0-5)
        xor     edx, edx
        mov     ecx, 3
        div     ecx
        lea     ecx, [rdx + 1]
        shl     ecx, 13
        or      ecx, 0x9f80
        mov     eax, [seed]
        shr     eax, 8
        and     eax, 0x3f
        or      ecx, eax
        mov     [exp_mxcsr], ecx
        cmp     byte [avx512], 0                ; ZMM and opmask patterns, drawn
        je      .gen_done                       ;  after all the others so those
        mov     edi, ZTAB                       ;  stay the same without AVX-512
        xor     ebx, ebx                        ; ebx = n
.zgen:  cmp     ebx, 16
        jae     .zlow_rand
        mov     esi, ebx                        ; ZMM0-15: bits 255:0 = VTAB's
        shl     esi, 5
        add     esi, VTAB
        mov     ecx, 4
        rep movsq
        mov     ecx, 4
        jmp     .zhi
.zlow_rand:
        mov     ecx, 8                          ; ZMM16-31: 512 random bits
.zhi:   call    rand
        stosq
        loop    .zhi
        inc     ebx
        cmp     ebx, 32
        jb      .zgen
        mov     edi, KTAB                       ; k0-k7: 8 random qwords
        mov     ecx, 8
.kgen:  call    rand
        stosq
        loop    .kgen
.gen_done:

        ; ---- load the patterns ----
        fninit
        fldcw   [exp_fcw]
        mov     esi, XTAB
%assign i 0
%rep 8
        fld     tword [rsi + 16 * i]            ; ST0 ends up = the last one loaded
%assign i i + 1
%endrep
        ldmxcsr [exp_mxcsr]
        cmp     byte [avx512], 0
        je      .load_avx
%assign i 0
%rep 32
        vmovdqu64 zmm %+ i, [ZTAB + 64 * i]
%assign i i + 1
%endrep
%assign i 0
%rep 8
        kmovq   k %+ i, [KTAB + 8 * i]
%assign i i + 1
%endrep
        jmp     .loaded
.load_avx:
        cmp     byte [avx], 0
        je      .load_sse
%assign i 0
%rep 16
        vmovdqu ymm %+ i, [VTAB + 32 * i]
%assign i i + 1
%endrep
        jmp     .loaded
.load_sse:
%assign i 0
%rep 16
        movdqu  xmm %+ i, [VTAB + 32 * i]
%assign i i + 1
%endrep
.loaded:

        ; ---- announce ----
        PUTS64  msg_start
        mov     eax, [seed]
        call    puthex64
        PUTS64  msg_comma
        mov     eax, r13d
        call    putdec64
        PUTS64  msg_iters
        call    put_classes
        PUTS64  msg_crlf

        ; ---- the loop: r12 = iteration, r13 = N, r14 = exit kind ----
        xor     r12d, r12d
        call    verify                          ; iteration 0: right after loading
        xor     r14d, r14d
.loop:  inc     r12d
        test    r12d, 1023
        jnz     .kind
        GUEST_REPORT r12d
.kind:  cmp     r14d, 0
        je      .k_cpuid
        cmp     r14d, 1
        je      .k_in
        cmp     r14d, 2
        je      .k_hlt
        cmp     r14d, 3
        je      .k_hc
        cmp     r14d, 4
        je      .k_msr
        cmp     byte [avx], 0                   ; kind 5: xsetbv (AVX only)
        je      .k_cpuid
        xor     ecx, ecx
        mov     eax, [exp_xcr0]                 ; the same value again
        xor     edx, edx
        xsetbv
        jmp     .check
.k_cpuid:
        mov     eax, 1
        xor     ecx, ecx
        cpuid
        jmp     .check
.k_in:  GUEST_PARAM
        jmp     .check
.k_hlt: hlt
        jmp     .check
.k_hc:  mov     eax, HC_ECHO
        mov     ebx, r12d
        call    hypercall64
        lea     ebx, [r12 + 1]
        cmp     eax, ebx
        jne     .hc_bad
        jmp     .check
.k_msr: mov     ecx, MSR_SCRATCH
        rdmsr
.check: call    verify
        inc     r14d
        cmp     r14d, 6
        jb      .next
        xor     r14d, r14d
.next:  cmp     r12d, r13d
        jb      .loop

        PUTS64  msg_done1
        mov     eax, r12d
        call    putdec64
        PUTS64  msg_done2
        call    put_classes
        PUTS64  msg_done3
        GUEST_EXIT 0

.hc_bad:
        PUTS64  msg_hc
        mov     eax, r12d
        call    putdec64
        PUTS64  msg_crlf
        GUEST_EXIT 0x20

; verify: check every register against its pattern; on a mismatch print the
; report and exit (does not return). r12 = iteration number for the report.
verify:
        fxsave  [FXBUF]
        ; x87 control, status (TOP and exception flags; C0-C3 are undefined
        ; after fld) and abridged tag word (all 8 registers valid)
        mov     ax, [FXBUF + 0]
        cmp     ax, [exp_fcw]
        jne     .bad_fcw
        test    word [FXBUF + 2], 0x38ff
        jnz     .bad_fsw
        cmp     byte [FXBUF + 4], 0xff
        jne     .bad_ftw
        ; ST0..ST7: ST(k) is the value loaded (7-k)-th
        xor     r15d, r15d
.st:    mov     esi, r15d
        shl     esi, 4
        add     esi, FXBUF + 32                 ; ST(k) slot at FXBUF + 32 + 16k
        mov     edi, 7
        sub     edi, r15d
        shl     edi, 4
        add     edi, XTAB
        mov     ecx, 10
        call    compare
        jne     .bad_st
        inc     r15d
        cmp     r15d, 8
        jb      .st
        ; MXCSR
        mov     eax, [FXBUF + 24]
        cmp     eax, [exp_mxcsr]
        jne     .bad_mxcsr
        ; XMM0..XMM15
        xor     r15d, r15d
.xmm:   mov     esi, r15d
        shl     esi, 4
        add     esi, FXBUF + 160
        mov     edi, r15d
        shl     edi, 5
        add     edi, VTAB
        mov     ecx, 16
        call    compare
        jne     .bad_xmm
        inc     r15d
        cmp     r15d, 16
        jb      .xmm
        cmp     byte [avx], 0
        je      .ok
        ; XCR0 (xgetbv is not intercepted; a wrong XCR0 would also hide YMM)
        xor     ecx, ecx
        xgetbv
        cmp     eax, [exp_xcr0]
        jne     .bad_xcr0
        test    edx, edx
        jnz     .bad_xcr0
        ; YMM0..YMM15 bits 255:128
%assign i 0
%rep 16
        vextractf128 [YBUF], ymm %+ i, 1
        mov     esi, YBUF
        mov     edi, VTAB + 32 * i + 16
        mov     ecx, 16
        call    compare
        mov     r15d, i
        jne     .bad_ymm
%assign i i + 1
%endrep
        cmp     byte [avx512], 0
        je      .ok
        ; ZMM0..ZMM15 bits 511:256
%assign i 0
%rep 16
        vextracti64x4 [ZBUF], zmm %+ i, 1
        mov     esi, ZBUF
        mov     edi, ZTAB + 64 * i + 32
        mov     ecx, 32
        call    compare
        mov     r15d, i
        jne     .bad_zhi
%assign i i + 1
%endrep
        ; ZMM16..ZMM31, all 512 bits
%rep 16
        vmovdqu64 [ZBUF], zmm %+ i
        mov     esi, ZBUF
        mov     edi, ZTAB + 64 * i
        mov     ecx, 64
        call    compare
        mov     r15d, i
        jne     .bad_zmm
%assign i i + 1
%endrep
        ; k0..k7
%assign i 0
%rep 8
        kmovq   [KBUF], k %+ i
        mov     esi, KBUF
        mov     edi, KTAB + 8 * i
        mov     ecx, 8
        call    compare
        mov     r15d, i
        jne     .bad_k
%assign i i + 1
%endrep
.ok:    ret

.bad_fcw:
        movzx   r8d, word [FXBUF + 0]
        movzx   r9d, word [exp_fcw]
        mov     esi, name_fcw
        mov     ebp, 0x10
        jmp     .report
.bad_fsw:
        movzx   r8d, word [FXBUF + 2]
        xor     r9d, r9d
        mov     esi, name_fsw
        mov     ebp, 0x10
        jmp     .report
.bad_ftw:
        movzx   r8d, byte [FXBUF + 4]
        mov     r9d, 0xff
        mov     esi, name_ftw
        mov     ebp, 0x10
        jmp     .report
.bad_st:
        mov     esi, name_st
        mov     ebp, 0x10
        jmp     .report_n
.bad_mxcsr:
        mov     r8d, eax
        mov     r9d, [exp_mxcsr]
        mov     esi, name_mxcsr
        mov     ebp, 0x11
        jmp     .report
.bad_xmm:
        mov     esi, name_xmm
        mov     ebp, 0x12
        jmp     .report_n
.bad_ymm:
        mov     esi, name_ymm
        mov     ebp, 0x13
        jmp     .report_n
.bad_zhi:
        mov     esi, name_zmm
        mov     ebp, 0x16
        jmp     .report_n
.bad_zmm:
        mov     esi, name_zmm
        mov     ebp, 0x17
        jmp     .report_n
.bad_k:
        mov     esi, name_k
        mov     ebp, 0x15
        jmp     .report_n
.bad_xcr0:
        mov     r8d, eax
        mov     r9d, [exp_xcr0]
        mov     esi, name_xcr0
        mov     ebp, 0x14
        jmp     .report
.bad_xcr0_reset:                ; the host's XCR0 under the guest
        mov     r8d, eax
        mov     r9d, 1
        mov     esi, name_xcr0
        mov     ebp, 0x14
        jmp     .report

.report_n:                      ; name + number in r15 (+ suffix for YMM/ZMM halves)
        mov     r10d, esi
        PUTS64  msg_corrupt
        mov     esi, r10d
        call    puts64
        mov     eax, r15d
        call    putdec64
        cmp     ebp, 0x13
        jne     .not_ymm
        PUTS64  name_ymm_hi
        jmp     .tail
.not_ymm:
        cmp     ebp, 0x16
        jne     .tail
        PUTS64  name_zmm_hi
        jmp     .tail
.report:                        ; plain name
        mov     r10d, esi
        PUTS64  msg_corrupt
        mov     esi, r10d
        call    puts64
.tail:  PUTS64  msg_at
        mov     eax, r12d
        call    putdec64
        PUTS64  msg_got
        mov     eax, r8d
        call    puthex64
        PUTS64  msg_exp
        mov     eax, r9d
        call    puthex64
        PUTS64  msg_close
        mov     eax, ebp
        mov     dx, PORT_VERDICT
        out     dx, eax
.park:  hlt
        jmp     .park

; compare: ecx bytes at [rsi] (actual) vs [rdi] (expected). ZF=1 if equal;
; otherwise r8d/r9d = the actual/expected dword at the first difference.
compare:
        repe cmpsb
        je      .eq
        mov     r8d, [rsi - 1]
        mov     r9d, [rdi - 1]
        cmp     r8d, r9d                        ; ZF=0 (they differ in the low byte)
.eq:    ret

; put_classes: print "A avx512=B" (the state classes under test; the caller
; has printed "avx=" already). Registers preserved but for eax and esi.
put_classes:
        movzx   eax, byte [avx]
        add     al, '0'
        call    putc64
        PUTS64  msg_avx512
        movzx   eax, byte [avx512]
        add     al, '0'
        call    putc64
        ret

; rand: xorshift64, rax = next value (rdx clobbered).
rand:
        mov     rax, [rng]
        mov     rdx, rax
        shl     rdx, 13
        xor     rax, rdx
        mov     rdx, rax
        shr     rdx, 7
        xor     rax, rdx
        mov     rdx, rax
        shl     rdx, 17
        xor     rax, rdx
        mov     [rng], rax
        ret

        align   8
rng:            dq      0
seed:           dd      0
exp_mxcsr:      dd      0
exp_xcr0:       dd      0               ; 7, or 0xe7 with AVX-512 (AVX only)
exp_fcw:        dw      0
avx:            db      0
avx512:         db      0

msg_start:      db      "fpu guest: seed 0x", 0
msg_comma:      db      ", ", 0
msg_iters:      db      " iterations, avx=", 0
msg_avx512:     db      " avx512=", 0
msg_crlf:       db      13, 10, 0
msg_done1:      db      "fpu guest: ", 0
msg_done2:      db      " checks ok (avx=", 0
msg_done3:      db      ")", 13, 10, 0
msg_hc:         db      "fpu guest: hypercall echo wrong at iteration ", 0
msg_corrupt:    db      "FPU CORRUPTED: ", 0
msg_at:         db      " at iteration ", 0
msg_got:        db      " (got 0x", 0
msg_exp:        db      ", expected 0x", 0
msg_close:      db      ")", 13, 10, 0
name_fcw:       db      "FCW", 0
name_fsw:       db      "FSW", 0
name_ftw:       db      "FTW", 0
name_st:        db      "ST", 0
name_mxcsr:     db      "MXCSR", 0
name_xmm:       db      "XMM", 0
name_ymm:       db      "YMM", 0
name_ymm_hi:    db      "[255:128]", 0
name_xcr0:      db      "XCR0", 0
name_zmm:       db      "ZMM", 0
name_zmm_hi:    db      "[511:256]", 0
name_k:         db      "K", 0
