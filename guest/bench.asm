; bench: the exit benchmarks' guest (tests/vmm_bench.c).
; The parameter (port 0x4f8) says what to do: bits 30:0 = how many exits,
; bit 31 set = port I/O exits (out 0x4f4, handled by the vCPU thread),
; clear = CPUID exits (handled in the kernel). Then it exits with 0.
; Real mode, no stack, no memory: nothing but the exits being measured.
;
; The two loops sit at fixed addresses so that vmm_exit_floor can start
; them directly (RIP, ESI = count, DX = 0x4f4 set by the host) and time the
; same guest code under the bare world switch: keep BENCH_FLOOR_CPUID and
; BENCH_FLOOR_IO in tests/vmm_bench.c in step.

org 0x7c00
bits 16
	jmp start
	times 0x10-($-$$) db 0
cpuid_loop:				; 0x7c10
	xor eax, eax
	cpuid
	dec esi
	jnz cpuid_loop
	jmp done
	times 0x20-($-$$) db 0
io_loop:				; 0x7c20, dx = 0x4f4
	out dx, eax
	dec esi
	jnz io_loop
	jmp done

start:
	cli
	mov dx, 0x4f8
	in eax, dx
	mov esi, eax
	and esi, 0x7fffffff		; the count (cpuid clobbers ebx)
	jz done
	test eax, 0x80000000
	jz cpuid_loop
	mov dx, 0x4f4
	jmp io_loop
done:
	xor eax, eax
	mov dx, 0x4f0
	out dx, eax
	hlt
	jmp done
