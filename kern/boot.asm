; Boot: the multiboot v1 header and the 32-bit entry, up to the first C code.
;
; The loader (QEMU -kernel or GRUB) enters _start in 32-bit protected mode,
; paging off, EAX = 0x2BADB002, EBX = physical address of the multiboot info.
; We build boot page tables that map the first 4 GiB three times:
;   0x0000000000000000  identity      (needed while the switch to long mode runs)
;   0xffff800000000000  direct map    (KPM_BASE: all of RAM, for the kernel)
;   0xffffffff80000000  kernel window (KERNEL_BASE: first 2 GiB, where we link)
; then enable PAE + long mode + paging and jump to the kernel window.
; The boot tables stay in use by APs while they start (kern/trampoline.asm);
; the boot CPU moves to the kernel's own tables in pmap_init().

KERNEL_BASE	equ 0xffffffff80000000
MB_MAGIC	equ 0x1badb002
MB_FLAGS	equ 0x00010003	; page-align modules, memory map, a.out kludge

extern __load_end_phys, __bss_end_phys, kmain

section .multiboot
align 4
mb_header:
	dd MB_MAGIC
	dd MB_FLAGS
	dd -(MB_MAGIC + MB_FLAGS)
	dd mb_header		; header_addr
	dd 0x100000		; load_addr: start of the image
	dd __load_end_phys	; load_end_addr
	dd __bss_end_phys	; bss_end_addr: the loader zeroes up to here
	dd _start		; entry_addr

section .boot.text
bits 32
global _start
_start:
	cli
	cld
	mov [mb_magic], eax
	mov [mb_info], ebx

	; Long mode is required; say so on COM1 if it is missing.
	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .no_long_mode
	mov eax, 0x80000001
	cpuid
	test edx, 1 << 29
	jz .no_long_mode
	mov [ext_features_edx], edx

	; Four page directories of 2 MiB pages cover 0-4 GiB.
	xor ecx, ecx
.fill_pd:
	mov eax, ecx
	shl eax, 21
	or eax, 0x83			; present, writable, 2 MiB
	mov [boot_pd + ecx * 8], eax
	inc ecx
	cmp ecx, 4 * 512
	jb .fill_pd

	xor ecx, ecx
.fill_pdpt:
	mov eax, ecx
	shl eax, 12
	add eax, boot_pd
	or eax, 0x03
	mov [boot_pdpt_low + ecx * 8], eax
	inc ecx
	cmp ecx, 4
	jb .fill_pdpt

	mov eax, boot_pdpt_low
	or eax, 0x03
	mov [boot_pml4], eax			; identity
	mov [boot_pml4 + 256 * 8], eax		; direct map
	mov eax, boot_pdpt_high
	or eax, 0x03
	mov [boot_pml4 + 511 * 8], eax		; kernel window
	mov eax, boot_pd
	or eax, 0x03
	mov [boot_pdpt_high + 510 * 8], eax	; -2 GiB -> 0 GiB
	add eax, 4096
	mov [boot_pdpt_high + 511 * 8], eax	; -1 GiB -> 1 GiB

	mov eax, cr4
	or eax, 1 << 5				; PAE
	mov cr4, eax
	mov eax, boot_pml4
	mov cr3, eax
	mov ecx, 0xc0000080			; EFER
	rdmsr
	or eax, 1 << 8				; LME
	test dword [ext_features_edx], 1 << 20
	jz .no_nx
	or eax, 1 << 11				; NXE
.no_nx:
	wrmsr
	mov eax, cr0
	and eax, ~0x60000000			; caches on (CD, NW clear)
	or eax, 0x80010021			; PG, WP, NE, PE
	mov cr0, eax
	lgdt [boot_gdt_ptr]
	jmp 0x08:.long_mode

.no_long_mode:
	mov esi, no_lm_msg
.putc:
	lodsb
	test al, al
	jz .halt
	mov dx, 0x3f8
	out dx, al
	jmp .putc
.halt:
	hlt
	jmp .halt

bits 64
.long_mode:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor eax, eax
	mov fs, ax
	mov gs, ax
	mov rsp, boot_stack_top
	xor ebp, ebp
	mov edi, [mb_magic]
	mov esi, [mb_info]
	mov rax, kmain
	call rax
.dead:
	hlt
	jmp .dead

section .boot.data
align 8
global boot_gdt, boot_gdt_ptr, mb_magic, mb_info
boot_gdt:
	dq 0
	dq 0x00af9a000000ffff		; 0x08: 64-bit code
	dq 0x00cf92000000ffff		; 0x10: data
boot_gdt_ptr:
	dw boot_gdt_ptr - boot_gdt - 1
	dq boot_gdt
mb_magic:	dd 0
mb_info:	dd 0
ext_features_edx: dd 0
no_lm_msg:	db "bhyvelet: this CPU has no long mode", 13, 10, 0

; The boot page tables live in the loaded image (low, identity-mapped).
align 4096
global boot_pml4
boot_pml4:	times 4096 db 0
boot_pdpt_low:	times 4096 db 0
boot_pdpt_high:	times 4096 db 0
boot_pd:	times 4 * 4096 db 0

; The AP start-up code, copied to TRAMPOLINE_BASE by mp_start_aps().
section .rodata
global trampoline_start, trampoline_end
trampoline_start:
	incbin "build/kern/trampoline.bin"
trampoline_end:

; The boot CPU's first stack; it becomes CPU 0's idle thread's stack.
section .bss
align 16
global boot_stack, boot_stack_top
boot_stack:	resb 16384
boot_stack_top:
