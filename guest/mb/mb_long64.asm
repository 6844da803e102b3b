; mb_long's switch to long mode and its 64-bit part (mb_long.c has the
; 32-bit part).  long_enter(cr3, checks, failures) never returns: the 64-bit
; code prints its checks on COM1 in the same "ok - "/"FAIL - " form as the
; runtime's check(), adds them to the counts the 32-bit part passed, prints
; the summary and writes the exit code to port 0xf4 itself.

; The APIC is reached through rbx = LAPIC: an absolute [disp32] in 64-bit
; mode is sign-extended, and 0xFEE00000 has bit 31 set.
COM1		equ 0x3f8
LAPIC		equ 0xfee00000
TPR		equ 0x80
EOI		equ 0xb0
IRR_50		equ 0x220		; IRR bits 0x40-0x5f
ICR_LO		equ 0x300
ICR_HI		equ 0x310
VEC		equ 0x50
EFER		equ 0xc0000080

global long_enter

section .text
bits 32
long_enter:
	mov	ecx, [esp + 8]
	mov	[checks], ecx
	mov	ecx, [esp + 12]
	mov	[failures], ecx
	mov	eax, cr4
	or	eax, 1 << 5			; PAE
	mov	cr4, eax
	mov	eax, [esp + 4]
	mov	cr3, eax
	mov	ecx, EFER
	rdmsr
	or	eax, 1 << 8			; LME
	wrmsr
	mov	eax, cr0
	or	eax, 1 << 31			; PG: long mode is active (LMA)
	mov	cr0, eax
	jmp	0x18:long64

bits 64
; CHECK cc, "text": a check line, passing if condition cc holds now.
%macro CHECK 2
	j%1	%%pass
	inc	dword [rel failures]
	lea	rsi, [rel fail_str]
	jmp	%%print
%%pass:
	lea	rsi, [rel ok_str]
%%print:
	inc	dword [rel checks]
	call	puts
	lea	rsi, [rel %%text]
	call	puts
	jmp	%%done
%%text:	db	%2, 10, 0
%%done:
%endmacro

long64:
	mov	ax, 0x10
	mov	ds, ax
	mov	es, ax
	mov	ss, ax
	mov	esp, stack_top			; zero-extended: below 4 GiB
	mov	ebx, LAPIC
	lea	rsi, [rel ok_str]
	call	puts
	lea	rsi, [rel hello]
	call	puts
	inc	dword [rel checks]

	mov	ecx, EFER
	rdmsr
	test	eax, 1 << 10
	CHECK	nz, "EFER.LMA set"

	mov	rax, 0x123456789
	shr	rax, 32
	cmp	rax, 1
	CHECK	e, "64-bit arithmetic (CS.L set)"

	mov	eax, 5
	mov	cr8, rax
	mov	eax, [rbx + TPR]
	cmp	eax, 0x50
	CHECK	e, "CR8 <- 5: the MMIO TPR reads 0x50"

	mov	dword [rbx + TPR], 0x30
	mov	rax, cr8
	cmp	rax, 3
	CHECK	e, "MMIO TPR <- 0x30: CR8 reads 3"

	; A 64-bit IDT with one gate, for the self-IPI.
	lea	rax, [rel ipi_handler]
	lea	rdi, [rel idt + VEC * 16]
	mov	word [rdi], ax
	mov	word [rdi + 2], 0x18
	mov	word [rdi + 4], 0x8e00
	shr	rax, 16
	mov	word [rdi + 6], ax
	shr	rax, 16
	mov	dword [rdi + 8], eax
	lidt	[rel idtr]

	mov	eax, 6
	mov	cr8, rax
	mov	dword [rbx + ICR_HI], 0
	mov	dword [rbx + ICR_LO], (1 << 18) | (1 << 14) | VEC	; self, fixed
	sti
	mov	ecx, 100000
.spin1:	pause
	loop	.spin1
	cli
	cmp	dword [rel ipi_count], 0
	CHECK	e, "CR8 = 6 holds a self-IPI at vector 0x50"
	test	dword [rbx + IRR_50], 1 << (VEC - 0x40)
	CHECK	nz, "... in the IRR"

	mov	eax, 4
	sti
	mov	cr8, rax
	mov	ecx, 1000
.spin2:	pause
	loop	.spin2
	cli
	cmp	dword [rel ipi_count], 1
	CHECK	e, "CR8 <- 4 delivers it, once, through the 64-bit IDT"
	mov	rax, cr8
	cmp	rax, 4
	CHECK	e, "CR8 still 4 after the handler's EOI"

	; The summary as mb_finish() prints it; the exit code to isa-debug-exit.
	cmp	dword [rel failures], 0
	jne	.failed
	lea	rsi, [rel all_str]
	call	puts
	mov	eax, [rel checks]
	call	putdec
	lea	rsi, [rel passed_str]
	call	puts
	xor	eax, eax
	jmp	exit
.failed:
	lea	rsi, [rel fail_str]
	call	puts
	mov	eax, [rel failures]
	call	putdec
	lea	rsi, [rel of_str]
	call	puts
	mov	eax, [rel checks]
	call	putdec
	lea	rsi, [rel failed_str]
	call	puts
	mov	eax, 1

; outl(code, 0xf4), "Shutdown" to 0x8900, then halt.
exit:
	out	0xf4, eax
	lea	rsi, [rel shutdown]
	mov	dx, 0x8900
.s:	lodsb
	test	al, al
	jz	.h
	out	dx, al
	jmp	.s
.h:	cli
	hlt
	jmp	.h

ipi_handler:
	inc	dword [rel ipi_count]
	mov	dword [rbx + EOI], 0		; rbx is LAPIC everywhere
	iretq

; rsi = NUL-terminated string; '\n' goes out as CR LF.  Waits for THRE.
puts:
	push	rax
	push	rdx
.next:	lodsb
	test	al, al
	jz	.out
	cmp	al, 10
	jne	.put
	mov	al, 13
	call	putc
	mov	al, 10
.put:	call	putc
	jmp	.next
.out:	pop	rdx
	pop	rax
	ret

putc:
	push	rax
	mov	dx, COM1 + 5
.wait:	in	al, dx
	test	al, 0x20
	jz	.wait
	pop	rax
	mov	dx, COM1
	out	dx, al
	ret

; eax in decimal.
putdec:
	push	rbx
	lea	rdi, [rel numbuf + 11]
	mov	byte [rdi], 0
	mov	ebx, 10
.d:	xor	edx, edx
	div	ebx
	add	dl, '0'
	dec	rdi
	mov	[rdi], dl
	test	eax, eax
	jnz	.d
	mov	rsi, rdi
	call	puts
	pop	rbx
	ret

section .rodata
ok_str:		db	"ok - ", 0
fail_str:	db	"FAIL - ", 0
hello:		db	"64-bit code prints on COM1", 10, 0
all_str:	db	"ok - all ", 0
passed_str:	db	" checks passed", 10, 0
of_str:		db	" of ", 0
failed_str:	db	" checks failed", 10, 0
shutdown:	db	"Shutdown", 0

section .data
align 16
idtr:
	dw	256 * 16 - 1
	dd	idt, 0
checks:		dd	0
failures:	dd	0
ipi_count:	dd	0

section .bss
alignb 16
idt:		resb	256 * 16
numbuf:		resb	12
alignb 16
		resb	4096
stack_top:
