; The SVM world switch.
;
; void svm_run(struct svm_gregs *g, paddr_t vmcb, paddr_t host_save)
;
; Called with GIF clear (CLGI) and interrupts on, so a host interrupt that
; arrives while the guest runs becomes a #VMEXIT(INTR) and is taken by the
; host after STGI. VMRUN itself switches RAX, RSP, RIP, RFLAGS, CRs, EFER and
; CS/SS/DS/ES; VMLOAD/VMSAVE move the rest (FS, GS, TR, LDTR, KernelGSBase,
; STAR family, SYSENTER). Our %gs base must be back before any C runs.
;
; Stack while the guest runs:
;   [rsp + 0]   host_save (physical)
;   [rsp + 8]   vmcb (physical)
;   [rsp + 16]  g (struct svm_gregs *)
;   [rsp + 24]  r15 r14 r13 r12 rbx rbp   (host callee-saved)
;   [rsp + 72]  return address

bits 64
section .text

; struct svm_gregs in kern/vmm/svm/svm.h (offsets checked there): the guest
; GPRs VMRUN leaves alone.
G_RBX	equ 0
G_RCX	equ 8
G_RDX	equ 16
G_RSI	equ 24
G_RDI	equ 32
G_RBP	equ 40
G_R8	equ 48
G_R9	equ 56
G_R10	equ 64
G_R11	equ 72
G_R12	equ 80
G_R13	equ 88
G_R14	equ 96
G_R15	equ 104

global svm_run
svm_run:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	push rdi			; g
	push rsi			; vmcb
	push rdx			; host_save

	mov rax, rdx
	vmsave				; host FS/GS/TR/LDTR/... -> host_save
	mov rax, rsi
	vmload				; guest's from the VMCB

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

	vmrun				; rax = vmcb; back here on #VMEXIT
					; with host rax (= vmcb) and rsp
global svm_run_vmexit
svm_run_vmexit:				; (svm_exit.c's QEMU MTTCG detector)
	vmsave				; guest FS/GS/... -> the VMCB
	mov rax, [rsp + 16]		; g
	mov [rax + G_RBX], rbx
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

	pop rax				; host_save
	vmload				; our GS base, TR, ... are back
	add rsp, 16			; vmcb, g
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret
global svm_run_end
svm_run_end:				; svm_run is [svm_run, svm_run_end)
