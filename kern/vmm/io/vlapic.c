/*
 * The local APIC (vlapic.h). One struct, one spin lock (an IPI from
 * another vCPU's thread and a callout's vlapic_update touch it as well as
 * its own vCPU, possibly with interrupts off); no timer of its own: the
 * timer is worked out from the clock whenever the APIC is looked at.
 *
 * Locking: no vlapic function holds two vlapic locks at once, and none
 * calls out (struct vlapic_ops) with one held. An ICR write decides what
 * to send under the sender's lock, drops it, then routes the message;
 * vlapic_deliver takes each target's lock in turn. So two vCPUs IPI-ing
 * each other at the same moment cannot deadlock, and a callback may call
 * back into any APIC, its own included.
 *
 * Modelled (SDM vol. 3, chapter 10, xAPIC mode): ID (writable), version,
 * TPR, APR (reads 0, as QEMU), PPR from TPR and the highest ISR class,
 * EOI (ends the highest vector in service; a TMR bit set reports it
 * through eoi_level), LDR, DFR (flat and cluster), SVR (software enable:
 * while clear every LVT is masked and unmasking is refused, and fixed
 * interrupts are dropped, as bhyve), ISR/TMR/IRR, ESR (errors collect
 * until a write copies them to the readable register), the ICR with
 * fixed, lowest-priority (to one destination), NMI, INIT (including the
 * level de-assert, which does nothing), SIPI, physical and logical
 * destinations and the three shorthands (delivery status always reads
 * 0: delivery is immediate), the six LVT entries (CMCI is not one: the
 * version says max LVT 5, so 0x2f0 is reserved, as in QEMU), the timer in
 * one-shot and periodic mode on a 1 GHz bus with the divide register.
 * A reserved offset reads 0 and sets ESR's illegal register bit (QEMU).
 *
 * Not modelled: x2APIC, the TSC-deadline timer (bit 18 of the timer LVT
 * is not writable), SMI, arbitration priority, focus checking, EOI
 * broadcast suppression, LINT0/LINT1 remote IRR, the thermal and
 * performance sources (their LVTs are plain registers), the LVT's
 * delivery status. IA32_APIC_BASE behaves as a CPU, not as QEMU 7.2's TCG
 * (which cannot set EN again): clearing EN resets and disables the APIC,
 * setting it resets it again.
 */
#include "vlapic.h"
#include "../../kmem.h"
#include "../../sync.h"
#include "../../tunable.h"

KTUNABLE_TEST(vlapic_inject_ppr_ignore_isr, "the local APIC's PPR is its "
    "TPR alone: a vector in service no longer holds back its own and lower "
    "priority classes (vio/lapic_ppr_isr_caught must catch it)");

#define	NLVT		6	/* timer, thermal, perf, LINT0, LINT1, error */
#define	LVT_TIMER	0
#define	LVT_LINT0	3
#define	LVT_LINT1	4
#define	LVT_ERROR	5
#define	NVEC_WORDS	8	/* 256 vectors in u32s */

/* The writable bits of each LVT entry (the rest read 0). */
static const u32 lvt_writable[NLVT] = {
	APIC_LVT_VECTOR | APIC_LVT_MASKED | APIC_LVT_PERIODIC,	/* timer */
	APIC_LVT_VECTOR | APIC_LVT_DM | APIC_LVT_MASKED,	/* thermal */
	APIC_LVT_VECTOR | APIC_LVT_DM | APIC_LVT_MASKED,	/* perf */
	APIC_LVT_VECTOR | APIC_LVT_DM | APIC_LVT_POLARITY |	/* LINT0 */
	    APIC_LVT_TRIGGER | APIC_LVT_MASKED,
	APIC_LVT_VECTOR | APIC_LVT_DM | APIC_LVT_POLARITY |	/* LINT1 */
	    APIC_LVT_TRIGGER | APIC_LVT_MASKED,
	APIC_LVT_VECTOR | APIC_LVT_MASKED,			/* error */
};

/*
 * Field tags: [c] set at create, constant after; [l] under vl_lock.
 * The timer: vl_timer_icr counts from vl_timer_start, one count per
 * divisor ns; vl_timer_seen expiries of this count were already dealt
 * with (delivered, or dropped because the LVT was masked then).
 */
struct vlapic {
	spinlock_t vl_lock;
	u32 vl_id;			/* [l] APIC ID, 8 bits */
	u64 vl_apicbase;		/* [l] IA32_APIC_BASE */
	u32 vl_tpr;			/* [l] 8 bits */
	u32 vl_ldr;			/* [l] bits 31-24 */
	u32 vl_dfr;			/* [l] bits 31-28 */
	u32 vl_svr;			/* [l] */
	u32 vl_isr[NVEC_WORDS];		/* [l] */
	u32 vl_tmr[NVEC_WORDS];		/* [l] */
	u32 vl_irr[NVEC_WORDS];		/* [l] */
	u32 vl_esr;			/* [l] as read */
	u32 vl_esr_pending;		/* [l] errors since the last ESR write */
	u32 vl_icr_lo, vl_icr_hi;	/* [l] */
	u32 vl_lvt[NLVT];		/* [l] */
	u32 vl_timer_icr;		/* [l] initial count */
	u32 vl_timer_dcr;		/* [l] divide configuration */
	hrtime_t vl_timer_start;	/* [l] clock time of elapsed count 0 */
	u64 vl_timer_seen;		/* [l] expiries dealt with */
	struct vlapic_ops vl_ops;	/* [c] */
	void *vl_arg;			/* [c] */
	hrtime_t (*vl_clock)(void *);	/* [c] */
	void *vl_clock_arg;		/* [c] */
};

/* --- bits and priorities (all under vl_lock) --- */

static bool
vec_test(const u32 *v, int vec)
{
	return ((v[vec >> 5] >> (vec & 31)) & 1) != 0;
}

static void
vec_set(u32 *v, int vec)
{
	v[vec >> 5] |= 1u << (vec & 31);
}

static void
vec_clear(u32 *v, int vec)
{
	v[vec >> 5] &= ~(1u << (vec & 31));
}

/* The highest vector set, or -1. */
static int
vec_highest(const u32 *v)
{
	for (int i = NVEC_WORDS - 1; i >= 0; i--)
		if (v[i] != 0)
			return (i * 32 + 31 - __builtin_clz(v[i]));
	return (-1);
}

static bool
hw_enabled(const struct vlapic *vl)
{
	return ((vl->vl_apicbase & APIC_BASE_EN) != 0);
}

static bool
sw_enabled(const struct vlapic *vl)
{
	return ((vl->vl_svr & APIC_SVR_ENABLE) != 0);
}

/* SDM 10.8.3.1: the higher of the TPR and the in-service class. */
static u32
ppr(const struct vlapic *vl)
{
	int isrv = vec_highest(vl->vl_isr);

	if (isrv < 0 || vlapic_inject_ppr_ignore_isr)
		isrv = 0;
	if ((vl->vl_tpr >> 4) >= ((u32)isrv >> 4))
		return (vl->vl_tpr);
	return ((u32)isrv & 0xf0);
}

/* The vector the CPU may take now, or -1. */
static int
pending_locked(const struct vlapic *vl)
{
	if (!hw_enabled(vl) || !sw_enabled(vl))
		return (-1);
	int v = vec_highest(vl->vl_irr);
	if (v < 0 || ((u32)v >> 4) <= (ppr(vl) >> 4))
		return (-1);
	return (v);
}

static void set_irr_locked(struct vlapic *, int vector, bool level);

/* An error for ESR; the error LVT interrupts if it is open. */
static void
error_locked(struct vlapic *vl, u32 bit)
{
	u32 lvt = vl->vl_lvt[LVT_ERROR];

	vl->vl_esr_pending |= bit;
	if (!(lvt & APIC_LVT_MASKED) && (lvt & APIC_LVT_VECTOR) >= 16)
		set_irr_locked(vl, lvt & APIC_LVT_VECTOR, false);
}

/* Fixed interrupt into IRR (TMR follows the trigger mode). */
static void
set_irr_locked(struct vlapic *vl, int vector, bool level)
{
	if (!hw_enabled(vl) || !sw_enabled(vl))
		return;
	if (vector < 16) {
		error_locked(vl, APIC_ESR_RECV_ILLEGAL);
		return;
	}
	vec_set(vl->vl_irr, vector);
	if (level)
		vec_set(vl->vl_tmr, vector);
	else
		vec_clear(vl->vl_tmr, vector);
}

/* --- the timer (under vl_lock) --- */

/* DCR bits 3, 1, 0: 000 = 2, 001 = 4, ... 110 = 128, 111 = 1. */
static u64
timer_divisor(u32 dcr)
{
	u32 v = (dcr & 3) | ((dcr >> 1) & 4);

	return (v == 7 ? 1 : 2ULL << v);
}

static bool
timer_periodic(const struct vlapic *vl)
{
	return ((vl->vl_lvt[LVT_TIMER] & APIC_LVT_PERIODIC) != 0);
}

/* Counts gone by since the count was loaded. */
static u64
timer_elapsed(const struct vlapic *vl, hrtime_t now)
{
	if (now < vl->vl_timer_start)
		return (0);
	return ((now - vl->vl_timer_start) / timer_divisor(vl->vl_timer_dcr));
}

/* Expiries of the current count up to now (one-shot: at most one). */
static u64
timer_expiries(const struct vlapic *vl, hrtime_t now)
{
	if (vl->vl_timer_icr == 0)
		return (0);
	u64 n = timer_elapsed(vl, now) / vl->vl_timer_icr;
	return (timer_periodic(vl) ? n : MIN(n, 1));
}

static u32
timer_ccr(const struct vlapic *vl, hrtime_t now)
{
	u64 e = timer_elapsed(vl, now), n = vl->vl_timer_icr;

	if (n == 0)
		return (0);
	if (timer_periodic(vl))
		return ((u32)(n - e % n));
	return (e >= n ? 0 : (u32)(n - e));
}

/*
 * Deal with expiries since the last look: one interrupt however many went
 * by (as a real APIC's single IRR bit), none if the LVT is masked now.
 * True if the IRR got the timer's vector.
 */
static bool
timer_collect(struct vlapic *vl, hrtime_t now)
{
	u64 n = timer_expiries(vl, now);
	u32 lvt = vl->vl_lvt[LVT_TIMER];

	if (n <= vl->vl_timer_seen)
		return (false);
	vl->vl_timer_seen = n;
	if ((lvt & APIC_LVT_MASKED) || !sw_enabled(vl) || !hw_enabled(vl))
		return (false);
	set_irr_locked(vl, lvt & APIC_LVT_VECTOR, false);
	return (true);
}

static void
timer_load(struct vlapic *vl, u32 count, hrtime_t now)
{
	vl->vl_timer_icr = count;
	vl->vl_timer_start = now;
	vl->vl_timer_seen = 0;
}

/* A new divisor: the count goes on from where it is. */
static void
timer_set_dcr(struct vlapic *vl, u32 dcr, hrtime_t now)
{
	u64 e = timer_elapsed(vl, now);

	vl->vl_timer_dcr = dcr & 0xb;
	vl->vl_timer_start = now - e * timer_divisor(vl->vl_timer_dcr);
}

/* --- state --- */

/* Power-on state, ID and IA32_APIC_BASE kept (SDM 10.4.7.1). */
static void
reset_locked(struct vlapic *vl)
{
	vl->vl_tpr = 0;
	vl->vl_ldr = 0;
	vl->vl_dfr = 0xf0000000;
	vl->vl_svr = APIC_SVR_RESET;
	for (int i = 0; i < NVEC_WORDS; i++)
		vl->vl_isr[i] = vl->vl_tmr[i] = vl->vl_irr[i] = 0;
	vl->vl_esr = vl->vl_esr_pending = 0;
	vl->vl_icr_lo = vl->vl_icr_hi = 0;
	for (int i = 0; i < NLVT; i++)
		vl->vl_lvt[i] = APIC_LVT_RESET;
	vl->vl_timer_icr = 0;
	vl->vl_timer_dcr = 0;
	vl->vl_timer_start = 0;
	vl->vl_timer_seen = 0;
}

struct vlapic *
vlapic_create(u32 id, bool bsp, const struct vlapic_ops *ops, void *arg,
    hrtime_t (*clock)(void *), void *clock_arg)
{
	struct vlapic *vl = kmem_zalloc(sizeof (*vl), KM_SLEEP);

	spin_init(&vl->vl_lock, "vlapic");
	vl->vl_id = id & 0xff;
	vl->vl_apicbase = VLAPIC_BASE | APIC_BASE_EN | (bsp ? APIC_BASE_BSP : 0);
	if (ops != NULL)
		vl->vl_ops = *ops;
	vl->vl_arg = arg;
	vl->vl_clock = clock;
	vl->vl_clock_arg = clock_arg;
	reset_locked(vl);
	return (vl);
}

void
vlapic_destroy(struct vlapic *vl)
{
	kmem_free(vl, sizeof (*vl));
}

void
vlapic_reset(struct vlapic *vl)
{
	spin_lock(&vl->vl_lock);
	reset_locked(vl);
	spin_unlock(&vl->vl_lock);
}

void
vlapic_bios_init(struct vlapic *vl)
{
	spin_lock(&vl->vl_lock);
	if (vl->vl_apicbase & APIC_BASE_BSP) {
		vl->vl_svr |= APIC_SVR_ENABLE;
		vl->vl_lvt[LVT_LINT0] = APIC_LVT_TRIGGER | APIC_LVT_DM_EXTINT;
		vl->vl_lvt[LVT_LINT1] = APIC_LVT_TRIGGER | APIC_LVT_DM_NMI;
	}
	spin_unlock(&vl->vl_lock);
}

static void
notify(struct vlapic *vl)
{
	if (vl->vl_ops.notify != NULL)
		vl->vl_ops.notify(vl->vl_arg);
}

/* --- the ICR --- */

/*
 * Under vl_lock: turn the ICR into a message; false if there is nothing
 * to send (SMI, reserved modes, an illegal fixed vector).
 */
static bool
icr_message(struct vlapic *vl, struct vlapic_msg *m)
{
	u32 lo = vl->vl_icr_lo;

	m->dest = vl->vl_icr_hi >> 24;
	m->logical = (lo & APIC_ICR_LOGICAL) != 0;
	m->mode = lo & APIC_ICR_DM;
	m->shorthand = lo & APIC_ICR_SH;
	m->vector = (int)(lo & APIC_ICR_VECTOR);
	m->level = (lo & APIC_ICR_LEVEL) != 0;
	m->assert = (lo & APIC_ICR_ASSERT) != 0;
	switch (m->mode) {
	case APIC_ICR_DM_FIXED: case APIC_ICR_DM_LOWEST:
		if (m->vector < 16) {
			error_locked(vl, APIC_ESR_SEND_ILLEGAL);
			return (false);
		}
		return (true);
	case APIC_ICR_DM_NMI: case APIC_ICR_DM_INIT: case APIC_ICR_DM_SIPI:
		return (true);
	default:
		return (false);		/* SMI, reserved, ExtINT */
	}
}

/* With no lock held: send what icr_message made. */
static void
icr_send(struct vlapic *vl, const struct vlapic_msg *m)
{
	if (m->shorthand != APIC_ICR_SH_SELF) {
		if (vl->vl_ops.ipi != NULL)
			vl->vl_ops.ipi(vl->vl_arg, vl, m);
		return;
	}
	/* Self: fixed (lowest priority is fixed here) and NMI only. */
	if (m->mode == APIC_ICR_DM_FIXED || m->mode == APIC_ICR_DM_LOWEST)
		vlapic_set_intr(vl, m->vector, m->level);
	else if (m->mode == APIC_ICR_DM_NMI && vl->vl_ops.nmi != NULL)
		vl->vl_ops.nmi(vl->vl_arg, vlapic_id(vl));
}

/* --- MMIO --- */

/* What an access leaves to do once the lock is dropped. */
struct after {
	int eoi_vector;			/* eoi_level, or -1 */
	bool send;			/* the ICR's message */
	struct vlapic_msg msg;
};

static u32
reg_read(struct vlapic *vl, u32 off, hrtime_t now)
{
	if (off >= APIC_OFFSET_ISR0 && off < APIC_OFFSET_TMR0)
		return (vl->vl_isr[(off - APIC_OFFSET_ISR0) >> 4]);
	if (off >= APIC_OFFSET_TMR0 && off < APIC_OFFSET_IRR0)
		return (vl->vl_tmr[(off - APIC_OFFSET_TMR0) >> 4]);
	if (off >= APIC_OFFSET_IRR0 && off < APIC_OFFSET_ESR)
		return (vl->vl_irr[(off - APIC_OFFSET_IRR0) >> 4]);
	if (off >= APIC_OFFSET_TIMER_LVT && off <= APIC_OFFSET_ERROR_LVT)
		return (vl->vl_lvt[(off - APIC_OFFSET_TIMER_LVT) >> 4]);
	switch (off) {
	case APIC_OFFSET_ID:
		return (vl->vl_id << 24);
	case APIC_OFFSET_VER:
		return (VLAPIC_VERSION);
	case APIC_OFFSET_TPR:
		return (vl->vl_tpr);
	case APIC_OFFSET_APR:
		return (0);
	case APIC_OFFSET_PPR:
		return (ppr(vl));
	case APIC_OFFSET_EOI:
		return (0);
	case APIC_OFFSET_LDR:
		return (vl->vl_ldr);
	case APIC_OFFSET_DFR:
		return (vl->vl_dfr | APIC_DFR_RESERVED);
	case APIC_OFFSET_SVR:
		return (vl->vl_svr);
	case APIC_OFFSET_ESR:
		return (vl->vl_esr);
	case APIC_OFFSET_ICR_LOW:
		return (vl->vl_icr_lo);	/* delivery status: always done */
	case APIC_OFFSET_ICR_HI:
		return (vl->vl_icr_hi);
	case APIC_OFFSET_TIMER_ICR:
		return (vl->vl_timer_icr);
	case APIC_OFFSET_TIMER_CCR:
		return (timer_ccr(vl, now));
	case APIC_OFFSET_TIMER_DCR:
		return (vl->vl_timer_dcr);
	default:
		error_locked(vl, APIC_ESR_ILLEGAL_REG);
		return (0);
	}
}

static void
reg_write(struct vlapic *vl, u32 off, u32 val, hrtime_t now, struct after *a)
{
	if (off >= APIC_OFFSET_ISR0 && off < APIC_OFFSET_ESR)
		return;				/* ISR, TMR, IRR: read-only */
	if (off >= APIC_OFFSET_TIMER_LVT && off <= APIC_OFFSET_ERROR_LVT) {
		int i = (int)(off - APIC_OFFSET_TIMER_LVT) >> 4;
		val &= lvt_writable[i];
		if (!sw_enabled(vl))
			val |= APIC_LVT_MASKED;	/* SDM 10.4.7.2 */
		vl->vl_lvt[i] = val;
		return;
	}
	switch (off) {
	case APIC_OFFSET_ID:
		vl->vl_id = val >> 24;
		break;
	case APIC_OFFSET_VER: case APIC_OFFSET_APR: case APIC_OFFSET_PPR:
	case APIC_OFFSET_TIMER_CCR:
		break;				/* read-only */
	case APIC_OFFSET_TPR:
		vl->vl_tpr = val & 0xff;
		break;
	case APIC_OFFSET_EOI: {
		int v = vec_highest(vl->vl_isr);
		if (v < 0)
			break;
		vec_clear(vl->vl_isr, v);
		if (vec_test(vl->vl_tmr, v))
			a->eoi_vector = v;
		break;
	}
	case APIC_OFFSET_LDR:
		vl->vl_ldr = val & 0xff000000;
		break;
	case APIC_OFFSET_DFR:
		vl->vl_dfr = val & 0xf0000000;
		break;
	case APIC_OFFSET_SVR:
		vl->vl_svr = val & APIC_SVR_WRITABLE;
		if (!sw_enabled(vl))
			for (int i = 0; i < NLVT; i++)
				vl->vl_lvt[i] |= APIC_LVT_MASKED;
		break;
	case APIC_OFFSET_ESR:
		vl->vl_esr = vl->vl_esr_pending;
		vl->vl_esr_pending = 0;
		break;
	case APIC_OFFSET_ICR_LOW:
		vl->vl_icr_lo = val & APIC_ICR_WRITABLE;
		a->send = icr_message(vl, &a->msg);
		break;
	case APIC_OFFSET_ICR_HI:
		vl->vl_icr_hi = val & 0xff000000;
		break;
	case APIC_OFFSET_TIMER_ICR:
		timer_load(vl, val, now);
		break;
	case APIC_OFFSET_TIMER_DCR:
		timer_set_dcr(vl, val, now);
		break;
	default:
		error_locked(vl, APIC_ESR_ILLEGAL_REG);
		break;
	}
}

int
vlapic_mmio(struct vlapic *vl, u64 offset, bool write, int bytes, u32 *val)
{
	struct after a = { .eoi_vector = -1 };

	if (offset >= VLAPIC_PAGE_SIZE)
		return (-1);
	spin_lock(&vl->vl_lock);
	if (!hw_enabled(vl)) {
		spin_unlock(&vl->vl_lock);
		return (-1);
	}
	if (bytes != 4 || (offset & 0xf) != 0) {
		spin_unlock(&vl->vl_lock);
		if (!write)
			*val = 0;
		return (0);
	}
	hrtime_t now = vl->vl_clock(vl->vl_clock_arg);
	/* Expiries up to now count with the LVT as it was until now. */
	(void)timer_collect(vl, now);
	if (write)
		reg_write(vl, (u32)offset, *val, now, &a);
	else
		*val = reg_read(vl, (u32)offset, now);
	spin_unlock(&vl->vl_lock);
	if (a.eoi_vector >= 0 && vl->vl_ops.eoi_level != NULL)
		vl->vl_ops.eoi_level(vl->vl_arg, a.eoi_vector);
	if (a.send)
		icr_send(vl, &a.msg);
	return (0);
}

/* --- IA32_APIC_BASE, CR8, ID --- */

u64
vlapic_apicbase_read(struct vlapic *vl)
{
	spin_lock(&vl->vl_lock);
	u64 v = vl->vl_apicbase;
	spin_unlock(&vl->vl_lock);
	return (v);
}

bool
vlapic_apicbase_write(struct vlapic *vl, u64 val)
{
	if (val & ~(APIC_BASE_ADDR | APIC_BASE_EN | APIC_BASE_BSP))
		return (false);		/* EXTD or reserved: #GP */
	spin_lock(&vl->vl_lock);
	bool was = hw_enabled(vl);
	vl->vl_apicbase = (val & (APIC_BASE_ADDR | APIC_BASE_EN)) |
	    (vl->vl_apicbase & APIC_BASE_BSP);
	/*
	 * SDM 10.4.3: disabled, the APIC loses its state (nothing pending
	 * survives, the timer stops); enabled again, it is in its power-on
	 * state. Resetting on both edges gives both.
	 */
	if (was != hw_enabled(vl))
		reset_locked(vl);
	spin_unlock(&vl->vl_lock);
	return (true);
}

bool
vlapic_hw_enabled(struct vlapic *vl)
{
	spin_lock(&vl->vl_lock);
	bool en = hw_enabled(vl);
	spin_unlock(&vl->vl_lock);
	return (en);
}

u32
vlapic_id(struct vlapic *vl)
{
	spin_lock(&vl->vl_lock);
	u32 id = vl->vl_id;
	spin_unlock(&vl->vl_lock);
	return (id);
}

bool
vlapic_set_cr8(struct vlapic *vl, u64 v)
{
	if (v > 15)
		return (false);
	spin_lock(&vl->vl_lock);
	vl->vl_tpr = (u32)v << 4;
	spin_unlock(&vl->vl_lock);
	return (true);
}

u64
vlapic_get_cr8(struct vlapic *vl)
{
	spin_lock(&vl->vl_lock);
	u64 v = vl->vl_tpr >> 4;
	spin_unlock(&vl->vl_lock);
	return (v);
}

/* --- interrupts --- */

bool
vlapic_pending_intr(struct vlapic *vl, int *vector)
{
	spin_lock(&vl->vl_lock);
	(void)timer_collect(vl, vl->vl_clock(vl->vl_clock_arg));
	int v = pending_locked(vl);
	spin_unlock(&vl->vl_lock);
	if (v < 0)
		return (false);
	*vector = v;
	return (true);
}

void
vlapic_intr_accepted(struct vlapic *vl, int vector)
{
	spin_lock(&vl->vl_lock);
	/* An INIT may have emptied the IRR since vlapic_pending_intr. */
	if (vector >= 0 && vector < 256 && vec_test(vl->vl_irr, vector)) {
		vec_clear(vl->vl_irr, vector);
		vec_set(vl->vl_isr, vector);
	}
	spin_unlock(&vl->vl_lock);
}

void
vlapic_set_intr(struct vlapic *vl, int vector, bool level)
{
	if (vector < 0 || vector > 255)
		return;
	spin_lock(&vl->vl_lock);
	set_irr_locked(vl, vector, level);
	bool pending = pending_locked(vl) >= 0;
	spin_unlock(&vl->vl_lock);
	if (pending)
		notify(vl);
}

void
vlapic_lint(struct vlapic *vl, int pin)
{
	bool nmi = false, wake = false;

	if (pin != 0 && pin != 1)
		return;
	spin_lock(&vl->vl_lock);
	u32 lvt = vl->vl_lvt[LVT_LINT0 + pin];
	u32 id = vl->vl_id;
	if (!hw_enabled(vl)) {
		/* Disabled: LINT0 is INTR (the caller's PIC), LINT1 NMI. */
		nmi = pin == 1;
	} else if (!(lvt & APIC_LVT_MASKED)) {
		switch (lvt & APIC_LVT_DM) {
		case APIC_LVT_DM_FIXED:
			set_irr_locked(vl, lvt & APIC_LVT_VECTOR,
			    (lvt & APIC_LVT_TRIGGER) != 0);
			wake = pending_locked(vl) >= 0;
			break;
		case APIC_LVT_DM_NMI:
			nmi = true;
			break;
		case APIC_LVT_DM_EXTINT:
			wake = true;	/* the caller asks the 8259 */
			break;
		default:
			break;		/* SMI, INIT: not modelled */
		}
	}
	spin_unlock(&vl->vl_lock);
	if (nmi && vl->vl_ops.nmi != NULL)
		vl->vl_ops.nmi(vl->vl_arg, id);
	if (wake)
		notify(vl);
}

bool
vlapic_extint_allowed(struct vlapic *vl)
{
	spin_lock(&vl->vl_lock);
	u32 lvt = vl->vl_lvt[LVT_LINT0];
	bool ok = !hw_enabled(vl) || (!(lvt & APIC_LVT_MASKED) &&
	    (lvt & APIC_LVT_DM) == APIC_LVT_DM_EXTINT);
	spin_unlock(&vl->vl_lock);
	return (ok);
}

void
vlapic_update(struct vlapic *vl)
{
	spin_lock(&vl->vl_lock);
	bool fired = timer_collect(vl, vl->vl_clock(vl->vl_clock_arg));
	spin_unlock(&vl->vl_lock);
	if (fired)
		notify(vl);
}

hrtime_t
vlapic_next_deadline(struct vlapic *vl)
{
	hrtime_t when = 0;

	spin_lock(&vl->vl_lock);
	u32 lvt = vl->vl_lvt[LVT_TIMER];
	bool live = vl->vl_timer_icr != 0 && hw_enabled(vl) &&
	    sw_enabled(vl) && !(lvt & APIC_LVT_MASKED) &&
	    (timer_periodic(vl) || vl->vl_timer_seen == 0);
	if (live)
		when = vl->vl_timer_start + (vl->vl_timer_seen + 1) *
		    vl->vl_timer_icr * timer_divisor(vl->vl_timer_dcr);
	spin_unlock(&vl->vl_lock);
	return (when);
}

/* --- routing --- */

/* Under t's lock: is t one of msg's destinations (shorthand none)? */
static bool
dest_matches(const struct vlapic *t, const struct vlapic_msg *m)
{
	u32 dest = m->dest & 0xff;

	if (!m->logical)
		return (dest == 0xff || dest == t->vl_id);
	u32 ldr = t->vl_ldr >> 24;
	if ((t->vl_dfr >> 28) == APIC_DFR_FLAT)
		return ((dest & ldr) != 0);
	/* Cluster: bits 7-4 the cluster (15: all), bits 3-0 a member mask. */
	if ((dest >> 4) != 0xf && (dest >> 4) != (ldr >> 4))
		return (false);
	return ((dest & ldr & 0xf) != 0);
}

/* Takes t's lock: does t take msg? (*id: its APIC ID) */
static bool
takes(struct vlapic *t, struct vlapic *src, const struct vlapic_msg *m,
    u32 *id)
{
	bool yes;

	if (m->shorthand == APIC_ICR_SH_SELF && t != src)
		return (false);
	if (m->shorthand == APIC_ICR_SH_OTHERS && t == src)
		return (false);
	spin_lock(&t->vl_lock);
	yes = hw_enabled(t) && (m->shorthand != APIC_ICR_SH_NONE ||
	    dest_matches(t, m));
	*id = t->vl_id;
	spin_unlock(&t->vl_lock);
	return (yes);
}

int
vlapic_deliver(struct vlapic *const *all, int n, struct vlapic *src,
    const struct vlapic_msg *m)
{
	int taken = 0;
	u32 id;

	if (m->mode == APIC_ICR_DM_INIT && m->level && !m->assert)
		return (0);		/* INIT level de-assert: obsolete */
	for (int i = 0; i < n; i++) {
		struct vlapic *t = all[i];
		if (t == NULL || !takes(t, src, m, &id))
			continue;
		switch (m->mode) {
		case APIC_ICR_DM_FIXED:
		case APIC_ICR_DM_LOWEST:
			vlapic_set_intr(t, m->vector, m->level);
			break;
		case APIC_ICR_DM_NMI:
			if (t->vl_ops.nmi != NULL)
				t->vl_ops.nmi(t->vl_arg, id);
			break;
		case APIC_ICR_DM_INIT:
			vlapic_reset(t);
			if (t->vl_ops.init != NULL)
				t->vl_ops.init(t->vl_arg, id);
			break;
		case APIC_ICR_DM_SIPI:
			if (t->vl_ops.sipi != NULL)
				t->vl_ops.sipi(t->vl_arg, id, m->vector);
			break;
		default:
			continue;	/* SMI, ExtINT: not routed here */
		}
		taken++;
		if (m->mode == APIC_ICR_DM_LOWEST)
			break;		/* one destination: the first */
	}
	return (taken);
}
