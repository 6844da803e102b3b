; Multiboot v1 entry for the mb kernels: the header, the entry state saved
; before anything changes it, a GDT of our own (the loader's may live in
; memory we reuse), a stack, and the 256 trap stubs.

bits 32

MB_MAGIC	equ 0x1BADB002
MB_FLAGS	equ 0x00000003	; modules page-aligned, memory info wanted

section .multiboot
align 4
	dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

section .text
global _start
extern mb_start
extern _kernel_start
extern trap_dispatch
global mb_entry
global gdt_desc
global boot_stack_top

_start:
	; Multiboot leaves ESP undefined: set a stack only after saving it.
	mov	[mb_entry + 0], eax
	mov	[mb_entry + 4], ebx
	mov	[mb_entry + 8], esp
	mov	esp, boot_stack_top
	pushfd
	pop	dword [mb_entry + 24]
	mov	eax, cr0
	mov	[mb_entry + 12], eax
	mov	eax, cr3
	mov	[mb_entry + 16], eax
	mov	eax, cr4
	mov	[mb_entry + 20], eax
	xor	eax, eax
	mov	ax, cs
	mov	[mb_entry + 28], eax
	mov	ax, ds
	mov	[mb_entry + 32], eax
	mov	ax, es
	mov	[mb_entry + 36], eax
	mov	ax, ss
	mov	[mb_entry + 40], eax
	mov	ax, fs
	mov	[mb_entry + 44], eax
	mov	ax, gs
	mov	[mb_entry + 48], eax
	; Through the loader's DS: our image's first word (base 0) and a word at
	; 64 MiB - 4 (a 4 GiB limit); mb_entry reads both back.
	mov	eax, [_kernel_start]
	mov	[mb_entry + 52], eax
	mov	dword [0x03fffffc], 0x600dcafe

	lgdt	[gdt_desc]
	jmp	0x08:.reload
.reload:
	mov	ax, 0x10
	mov	ds, ax
	mov	es, ax
	mov	ss, ax
	mov	fs, ax
	mov	gs, ax
	cld
	call	mb_start
.hang:
	cli
	hlt
	jmp	.hang

; Each stub makes the frame uniform: an error code (0 where the CPU pushes
; none), then the vector.  struct trapframe in mb.h is this layout.
%macro TRAP_STUB 1
trap_stub_%1:
%if !((%1 == 8) || (%1 >= 10 && %1 <= 14) || (%1 == 17) || (%1 == 21) || (%1 == 29) || (%1 == 30))
	push	0
%endif
	push	%1
	jmp	trap_common
%endmacro

%assign i 0
%rep 256
TRAP_STUB i
%assign i i + 1
%endrep

trap_common:
	pushad
	push	esp
	call	trap_dispatch
	add	esp, 4
	popad
	add	esp, 8
	iretd

section .rodata
global trap_stubs
trap_stubs:
%assign i 0
%rep 256
	dd	trap_stub_%[i]
%assign i i + 1
%endrep

section .data
align 16
; 0x08 code32, 0x10 data32, 0x18 code64 (mb_long), 0x20 code16 and 0x28
; data16 (64 KiB, base 0: real-mode code going back or coming up).
global gdt
gdt:
	dq	0
	dq	0x00cf9a000000ffff
	dq	0x00cf92000000ffff
	dq	0x00af9a000000ffff
	dq	0x00009a000000ffff
	dq	0x000092000000ffff
gdt_end:
align 4
	dw	0
gdt_desc:
	dw	gdt_end - gdt - 1
	dd	gdt

align 4
mb_entry:
	times 14 dd 0

section .bss
align 16
	resb	16384
boot_stack_top:
