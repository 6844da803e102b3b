; Interrupt entry stubs and the low half of the context switch.

bits 64
default rel
section .text

extern trap

; One stub per vector. Each pushes a dummy error code where the CPU pushes
; none, then its vector number, so every trap frame has the same shape:
;
;   +160 ss        (pushed by the CPU)
;   +152 rsp
;   +144 rflags
;   +136 cs
;   +128 rip
;   +120 error code (CPU's or our 0)
;   +112 vector
;   +0..104 r15 r14 r13 r12 r11 r10 r9 r8 rbp rdi rsi rdx rcx rbx rax
;           (struct regs in kern/trap.h, lowest address first)
%macro ISR 1
isr_%1:
%if !(%1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17 || %1 == 21 || %1 == 29 || %1 == 30)
	push 0
%endif
	push %1
	jmp isr_common
%endmacro

%assign v 0
%rep 256
ISR v
%assign v v + 1
%endrep

isr_common:
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push rbp
	push r8
	push r9
	push r10
	push r11
	push r12
	push r13
	push r14
	push r15
	cld
	mov rdi, rsp
	call trap		; may switch threads and come back much later
	pop r15
	pop r14
	pop r13
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rbp
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
	add rsp, 16		; vector and error code
	iretq

section .rodata
align 8
global isr_table
isr_table:
%assign v 0
%rep 256
	dq isr_ %+ v
%assign v v + 1
%endrep

section .text

T_SP	equ 0
T_LIVE	equ 8

; void resume(kthread_t *old, kthread_t *new)
;
; Called by swtch() with interrupts off. Saves the callee-saved registers on
; old's stack, publishes old->t_sp, then clears old->t_live: from that store
; on another CPU may run old, so nothing below touches old's stack again.
; Then waits until new's registers are no longer live anywhere (new may be
; in the last instructions of resume() on another CPU), claims it, and
; returns on new's stack into whatever new was doing when it switched out.
global resume
resume:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	mov [rdi + T_SP], rsp
	mov dword [rdi + T_LIVE], 0	; release: x86 keeps stores in order
.wait:
	cmp dword [rsi + T_LIVE], 0
	je .claim
	pause
	jmp .wait
.claim:
	mov dword [rsi + T_LIVE], 1
	mov rsp, [rsi + T_SP]
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret

; First instructions of a new thread: thread_create() builds a stack whose
; resume() frame returns here with r12 = the thread.
extern thread_start
global thread_start_asm
thread_start_asm:
	mov rdi, r12
	xor ebp, ebp
	push rbp		; zero return address: backtraces stop here
	jmp thread_start

; void regs_capture(struct regs *r): the caller's registers, for panic().
; rip is the return address, rsp the caller's stack pointer after return.
global regs_capture
regs_capture:
	mov [rdi + 0], r15
	mov [rdi + 8], r14
	mov [rdi + 16], r13
	mov [rdi + 24], r12
	mov [rdi + 32], r11
	mov [rdi + 40], r10
	mov [rdi + 48], r9
	mov [rdi + 56], r8
	mov [rdi + 64], rbp
	mov [rdi + 72], rdi
	mov [rdi + 80], rsi
	mov [rdi + 88], rdx
	mov [rdi + 96], rcx
	mov [rdi + 104], rbx
	mov [rdi + 112], rax
	mov qword [rdi + 120], -1	; vector: none
	mov qword [rdi + 128], 0
	mov rax, [rsp]
	mov [rdi + 136], rax		; rip
	mov [rdi + 144], cs
	pushfq
	pop rax
	mov [rdi + 152], rax
	lea rax, [rsp + 8]
	mov [rdi + 160], rax		; rsp
	mov [rdi + 168], ss
	mov rax, [rdi + 112]
	ret
