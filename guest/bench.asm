; bench: the exit benchmarks' guest (tests/vmm_bench.c).
; The parameter (port 0x4f8) says what to do: bits 30:0 = how many exits,
; bit 31 set = port I/O exits (out 0x4f4, handled by the vCPU thread),
; clear = CPUID exits (handled in the kernel). Then it exits with 0.
; Real mode, no stack, no memory: nothing but the exits being measured.

org 0x7c00
bits 16
	cli
	mov dx, 0x4f8
	in eax, dx
	mov esi, eax
	and esi, 0x7fffffff		; the count (cpuid clobbers ebx)
	jz .done
	test eax, 0x80000000
	jnz .io
.cpuid:
	xor eax, eax
	cpuid
	dec esi
	jnz .cpuid
	jmp .done
.io:
	mov dx, 0x4f4
.io_loop:
	out dx, eax
	dec esi
	jnz .io_loop
.done:
	xor eax, eax
	mov dx, 0x4f0
	out dx, eax
	hlt
	jmp .done
