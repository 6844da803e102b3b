; AP start-up code. mp_start_aps() copies this to TRAMPOLINE_BASE (below
; 1 MiB, page aligned), fills in tr_data, and sends INIT-SIPI-SIPI. The AP
; starts in real mode at TRAMPOLINE_BASE, climbs to long mode on the boot
; page tables (which identity-map low memory), and jumps to tr_entry(tr_arg)
; on the stack tr_stack, both kernel-window addresses.

TRAMPOLINE_BASE	equ 0x8000

org TRAMPOLINE_BASE
bits 16
ap_start:
	jmp short ap_real

align 8
tr_data:			; struct trampoline_data in kern/mp.c
tr_cr3:		dq 0
tr_efer:	dq 0
tr_stack:	dq 0
tr_entry:	dq 0
tr_arg:		dq 0

ap_real:
	cli
	cld
	xor ax, ax
	mov ds, ax
	lgdt [tr_gdt_ptr]
	mov eax, cr0
	or eax, 1
	mov cr0, eax
	jmp dword 0x08:ap_protected

bits 32
ap_protected:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov eax, cr4
	or eax, 1 << 5			; PAE
	mov cr4, eax
	mov eax, [tr_cr3]
	mov cr3, eax
	mov ecx, 0xc0000080
	rdmsr
	or eax, [tr_efer]		; LME (and NXE if the BSP uses it)
	wrmsr
	mov eax, cr0
	and eax, ~0x60000000
	or eax, 0x80010021		; PG, WP, NE, PE
	mov cr0, eax
	jmp 0x18:ap_long

bits 64
ap_long:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor eax, eax
	mov fs, ax
	mov gs, ax
	mov rsp, [tr_stack]
	mov rdi, [tr_arg]
	mov rax, [tr_entry]
	xor ebp, ebp
	push rbp			; a zero return address ends backtraces
	jmp rax

align 8
tr_gdt:
	dq 0
	dq 0x00cf9a000000ffff		; 0x08: 32-bit code
	dq 0x00cf92000000ffff		; 0x10: data
	dq 0x00af9a000000ffff		; 0x18: 64-bit code
tr_gdt_ptr:
	dw tr_gdt_ptr - tr_gdt - 1
	dd tr_gdt
