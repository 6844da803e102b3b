; The built-in guests (guest/*.asm, assembled by the GNUmakefile into
; build/guest/*.bin) linked into the kernel image. guest_table is what
; guest_find() in vmm_dev.c walks: { name, start, end }, NULL-terminated.

bits 64
section .rodata

%macro GUEST 1
align 16
guest_%1_start:
	incbin %str(build/guest/%1.bin)
guest_%1_end:
guest_%1_name:
	db %str(%1), 0
%endmacro

GUEST hello
GUEST longmode
GUEST fpu
GUEST stress
GUEST triplefault
GUEST outofmap
GUEST bench
GUEST evtick
GUEST evfault
GUEST evshadow
GUEST evreinject
GUEST evspin
GUEST evnmi
GUEST exc16
GUEST exc32
GUEST exc64
GUEST pitpic
GUEST stishadow
GUEST msrgp
GUEST halt
GUEST udvirt
GUEST reinject
GUEST evbench
GUEST evmsr
GUEST stringio
GUEST strfault
GUEST evprefix
GUEST evirq
GUEST touchram
GUEST fuzz
GUEST drcr

%macro ENTRY 1
	dq guest_%1_name, guest_%1_start, guest_%1_end
%endmacro

align 8
global guest_table
guest_table:
	ENTRY hello
	ENTRY longmode
	ENTRY fpu
	ENTRY stress
	ENTRY triplefault
	ENTRY outofmap
	ENTRY bench
	ENTRY evtick
	ENTRY evfault
	ENTRY evshadow
	ENTRY evreinject
	ENTRY evspin
	ENTRY evnmi
	ENTRY exc16
	ENTRY exc32
	ENTRY exc64
	ENTRY pitpic
	ENTRY stishadow
	ENTRY msrgp
	ENTRY halt
	ENTRY udvirt
	ENTRY reinject
	ENTRY evbench
	ENTRY evmsr
	ENTRY stringio
	ENTRY strfault
	ENTRY evprefix
	ENTRY evirq
	ENTRY touchram
	ENTRY fuzz
	ENTRY drcr
	dq 0, 0, 0
