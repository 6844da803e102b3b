; mb_smp's application-processor start: the real-mode trampoline that
; mb_smp.c copies to AP_TRAMPOLINE (the SIPI vector's page), and the 32-bit
; code it jumps to in the kernel image.  The trampoline is position-
; dependent: T() gives a label's address in the copy.

AP_TRAMPOLINE	equ 0x8000
AP_STACK	equ 4096
%define T(x)	(AP_TRAMPOLINE + (x) - ap_trampoline)

extern gdt
extern ap_main
global ap_trampoline
global ap_trampoline_end
global ap_next

section .text

bits 16
; An AP starts here in real mode, CS:IP = 0800:0000, interrupts off.
ap_trampoline:
	cli
	xor	ax, ax
	mov	ds, ax
	o32 lgdt [T(ap_gdtr)]
	mov	eax, cr0
	or	eax, 1
	mov	cr0, eax
	jmp	dword 0x08:ap_pm32
align 4
ap_gdtr:
	dw	47
	dd	gdt
ap_trampoline_end:

bits 32
; Each AP takes the next stack by its arrival number and calls
; ap_main(number); it never returns.
ap_pm32:
	mov	ax, 0x10
	mov	ds, ax
	mov	es, ax
	mov	ss, ax
	mov	fs, ax
	mov	gs, ax
	mov	eax, 1
	lock xadd [ap_next], eax
	lea	esp, [eax + 1]
	shl	esp, 12
	add	esp, ap_stacks
	push	eax
	call	ap_main
.hang:
	cli
	hlt
	jmp	.hang

section .data
align 4
ap_next:
	dd	0

section .bss
align 16
ap_stacks:
	resb	AP_STACK * 16
