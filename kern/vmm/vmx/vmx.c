/*
 * Intel VMX backend: not built yet (its own issue). The probe says so, so
 * a VMX-only machine reports "no backend" instead of failing strangely.
 */
#include "../vmm.h"
#include "../../console.h"

static bool
vmx_probe(char *why, size_t len)
{
	ksnprintf(why, len, "the VMX backend is not built yet");
	return (false);
}

const struct vmm_ops vmm_ops_vmx = {
	.name = "vmx",
	.probe = vmx_probe,
};
