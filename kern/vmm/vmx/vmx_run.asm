; The VMX world switch.
;
; int vmx_run(struct vmx_gregs *g, int launched, struct vmx_host_dt *dt)
;   returns 0 after a VM exit (through vmx_exit_stub), 1 if VMLAUNCH or
;   VMRESUME failed with VMfailInvalid, 2 with VMfailValid (the reason is
;   in the VMCS's VM-instruction error field).
;
; Called with interrupts off and the vCPU's VMCS current on this CPU. The
; guest's RSP, RIP, RFLAGS, CRs and EFER are in the VMCS; the other GPRs
; and CR2 are in *g. VM exit loads HOST_RSP and jumps to HOST_RIP
; (vmx_exit_stub), with the stack as it was at the VMWRITE below:
;
;   [rsp + 0]   g
;   [rsp + 8]   dt: this CPU's GDTR and IDTR (the exit leaves their
;               limits at 0xFFFF; the stub reloads them first)
;   [rsp + 16]  r15 r14 r13 r12 rbx rbp   (host callee-saved)
;   [rsp + 64]  return address

bits 64
section .text

; struct vmx_gregs in kern/vmm/vmx/vmx.h (offsets checked there).
G_RAX	equ 0
G_RBX	equ 8
G_RCX	equ 16
G_RDX	equ 24
G_RSI	equ 32
G_RDI	equ 40
G_RBP	equ 48
G_R8	equ 56
G_R9	equ 64
G_R10	equ 72
G_R11	equ 80
G_R12	equ 88
G_R13	equ 96
G_R14	equ 104
G_R15	equ 112
G_CR2	equ 120

; struct vmx_host_dt in kern/vmm/vmx/vmx.h (offsets checked there).
HD_GDTR	equ 0
HD_IDTR	equ 10

VMCS_HOST_RSP	equ 0x6c14

global vmx_run
vmx_run:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	push rdx			; dt
	push rdi			; g, found again by the exit stub
	mov rax, VMCS_HOST_RSP
	vmwrite rax, rsp
	mov rax, [rdi + G_CR2]		; VMX does not switch CR2
	mov cr2, rax
	cmp esi, 0			; launched? (no mov below changes flags)
	mov rax, [rdi + G_RAX]
	mov rbx, [rdi + G_RBX]
	mov rcx, [rdi + G_RCX]
	mov rdx, [rdi + G_RDX]
	mov rsi, [rdi + G_RSI]
	mov rbp, [rdi + G_RBP]
	mov r8, [rdi + G_R8]
	mov r9, [rdi + G_R9]
	mov r10, [rdi + G_R10]
	mov r11, [rdi + G_R11]
	mov r12, [rdi + G_R12]
	mov r13, [rdi + G_R13]
	mov r14, [rdi + G_R14]
	mov r15, [rdi + G_R15]
	mov rdi, [rdi + G_RDI]
	je .launch
	vmresume
	jmp .failed
.launch:
	vmlaunch
.failed:				; still on our stack; CF or ZF says why
	mov eax, 2
	mov ebx, 1
	cmovc eax, ebx
	add rsp, 16			; g, dt
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret

global vmx_exit_stub
vmx_exit_stub:
	xchg rax, [rsp]			; rax = g; the guest's rax on the stack
	mov [rax + G_RBX], rbx
	mov rbx, [rsp + 8]		; dt: the real limits back before an
	lgdt [rbx + HD_GDTR]		; NMI or fault can use a selector or
	lidt [rbx + HD_IDTR]		; vector past the tables' ends
	mov [rax + G_RCX], rcx
	mov [rax + G_RDX], rdx
	mov [rax + G_RSI], rsi
	mov [rax + G_RDI], rdi
	mov [rax + G_RBP], rbp
	mov [rax + G_R8], r8
	mov [rax + G_R9], r9
	mov [rax + G_R10], r10
	mov [rax + G_R11], r11
	mov [rax + G_R12], r12
	mov [rax + G_R13], r13
	mov [rax + G_R14], r14
	mov [rax + G_R15], r15
	mov rbx, cr2
	mov [rax + G_CR2], rbx
	pop rbx				; the guest's rax
	mov [rax + G_RAX], rbx
	add rsp, 8			; dt
	xor eax, eax
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret
