/*
 * VMRUN's consistency checks (AMD APM vol. 2, 15.5.1), in software: what
 * a VMEXIT_INVALID means. A VMCB that fails one is named by the check,
 * so a failed entry says why; a VMCB that passes every check and still
 * came back VMEXIT_INVALID was not refused by VMRUN at all: QEMU 7.2
 * turns a guest's MOV to CR3 or CR4 with reserved bits into
 * VMEXIT_INVALID in the middle of the guest (helper_write_crN), where
 * hardware raises #GP(0), and svm_decode_exit gives the guest that #GP.
 */
#include "svm.h"
#include "../../x86.h"

#define	EFER_VALID	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE | \
			    EFER_SVME | (1UL << 13) | (1UL << 14) | (1UL << 15))
#define	CR0_CD		(1UL << 30)
#define	CR0_NW		(1UL << 29)
#define	SEG_ATTR_L	(1U << 9)	/* the VMCB's packed attributes */
#define	SEG_ATTR_D	(1U << 10)

const char *
svm_vmcb_check(struct svm_vcpu *sv, const struct svm_entry_state *es)
{
	u64 efer = es->es_efer, cr0 = es->es_cr0, cr4 = es->es_cr4;
	u16 cs_attr = es->es_cs_attr;
	bool lm = (efer & EFER_LME) != 0 && (cr0 & CR0_PG) != 0;

	if ((efer & EFER_SVME) == 0)
		return ("EFER.SVME is clear");
	if ((efer & ~EFER_VALID) != 0)
		return ("EFER has reserved bits set");
	if ((cr0 & CR0_NW) != 0 && (cr0 & CR0_CD) == 0)
		return ("CR0.NW is set without CR0.CD");
	if ((cr0 >> 32) != 0)
		return ("CR0 bits 63:32 are set");
	if ((cr4 & ~vm_cr4_valid_bits()) != 0)
		return ("CR4 has reserved bits set");
	if ((efer & EFER_LMA) != 0 && (*vmcb64(sv, VMCB_CR3) >> 52) != 0)
		return ("CR3 has reserved bits set (long mode)");
	if ((es->es_dr6 >> 32) != 0)
		return ("DR6 bits 63:32 are set");
	if ((*vmcb64(sv, VMCB_DR7) >> 32) != 0)
		return ("DR7 bits 63:32 are set");
	if (lm && (cr4 & CR4_PAE) == 0)
		return ("EFER.LME and CR0.PG with CR4.PAE clear");
	if (lm && (cr0 & CR0_PE) == 0)
		return ("EFER.LME and CR0.PG with CR0.PE clear");
	if (lm && (cr4 & CR4_PAE) != 0 && (cs_attr & SEG_ATTR_L) != 0 &&
	    (cs_attr & SEG_ATTR_D) != 0)
		return ("long mode with CS.L and CS.D both set");
	if (*vmcb32(sv, VMCB_ASID) == 0)
		return ("ASID 0 (the host's)");
	if ((*vmcb32(sv, VMCB_INTERCEPT_MISC2) & INTERCEPT_VMRUN) == 0)
		return ("VMRUN not intercepted");
	u64 inj = sv->sv_eventinj_tried;
	if ((inj & EVENT_VALID) != 0) {
		u32 type = (u32)(inj >> EVENT_TYPE_SHIFT) & 7;
		u8 vec = (u8)inj;
		if (type == 1 || type > 4)
			return ("EVENTINJ has a reserved type");
		if (type == EVENT_TYPE_EXCEPTION && (vec == 2 || vec >= 31))
			return ("EVENTINJ: an exception with vector 2 or above 30");
	}
	return (NULL);
}
