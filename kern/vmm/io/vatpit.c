/*
 * The 8254 (vatpit.h). One struct, one spin lock; no timer of its own:
 * every counter is worked out from the clock when it is looked at.
 *
 * A loaded channel counts from start_tick (input clocks since boot, of
 * the clock function); elapsed = now - start_tick while counting, frozen
 * while not (a low gate). Counting starts the moment the count is written
 * (the real chip waits for the next input clock), and a new count takes
 * effect at once in every mode (the real chip waits for the end of the
 * current period in modes 2 and 3). BCD counting is not modelled: the BCD
 * bit is kept and shown in the status, the count is binary.
 *
 * Modes: 0 (interrupt on terminal count), 2 (rate generator) and 3 (square
 * wave) as the chip; 1 and 5 start on a rising gate (only channel 2's can
 * rise); 4 and 5 give their one-clock low pulse at terminal count; modes 6
 * and 7 are 2 and 3. Channel 1 works like the others (gate high, no
 * output wired).
 */
#include "vatpit.h"
#include "vatpic.h"
#include "../../kmem.h"
#include "../../sync.h"
#include "../../console.h"

#define	NS_PER_SEC	1000000000ULL
#define	REFRESH_TICKS	18	/* channel 1 as the BIOS sets it: 15.1 us */

/* Everything in struct channel is guarded by vatpit's vt_lock. */
struct channel {
	u8 mode;		/* 0-5 */
	u8 rw;			/* PIT_RW_LO/HI/LOHI >> 4 */
	bool bcd;		/* kept, not used for counting */
	bool gate;		/* channel 2: port 0x61 bit 0; others high */
	bool armed;		/* a count was written since the control word */
	bool counting;		/* elapsed advances (see above) */
	u32 initial;		/* 1 .. 65536 */
	u64 start_tick;		/* when counting: tick where elapsed = 0 */
	u64 frozen;		/* when not counting: elapsed */
	u64 load_tick;		/* when the count was written (null count) */
	u64 edges_seen;		/* OUT rising edges already pulsed (ch0) */
	u8 write_lo;		/* lo/hi writes: the low byte */
	bool write_hi_next;	/* lo/hi writes: the high byte is next */
	bool read_hi_next;	/* lo/hi reads: the high byte is next */
	bool count_latched;
	u16 latch;
	bool status_latched;
	u8 status;
};

/* Field tags: [c] set at create, constant after; [l] under vt_lock. */
struct vatpit {
	spinlock_t vt_lock;
	struct channel vt_ch[3];	/* [l] */
	u8 vt_portb;			/* [l] port 0x61 bits 3-0 as written */
	struct vatpic *vt_pic;		/* [c] may be NULL */
	hrtime_t (*vt_clock)(void *);	/* [c] */
	void *vt_clock_arg;		/* [c] */
};

/* Input clocks in ns since boot, without overflowing u64. */
static u64
ns_to_ticks(hrtime_t ns)
{
	return ((ns / NS_PER_SEC) * VATPIT_HZ +
	    (ns % NS_PER_SEC) * VATPIT_HZ / NS_PER_SEC);
}

/* The first ns at which ns_to_ticks() reaches ticks. */
static hrtime_t
ticks_to_ns(u64 ticks)
{
	return ((ticks / VATPIT_HZ) * NS_PER_SEC +
	    ((ticks % VATPIT_HZ) * NS_PER_SEC + VATPIT_HZ - 1) / VATPIT_HZ);
}

static u64
now_ticks(const struct vatpit *vt)
{
	return (ns_to_ticks(vt->vt_clock(vt->vt_clock_arg)));
}

static u64
elapsed(const struct channel *ch, u64 now)
{
	return (ch->counting ? now - ch->start_tick : ch->frozen);
}

static bool
out_level(const struct channel *ch, u64 now)
{
	u64 e = elapsed(ch, now), n = ch->initial;

	if (!ch->armed)
		return (ch->mode != 0);
	switch (ch->mode) {
	case 0:
		return (e >= n);
	case 1:
		return (!ch->counting || e >= n);
	case 2:
		return (!ch->counting || e % n != n - 1);
	case 3:
		return (!ch->counting || e % n < (n + 1) / 2);
	default:				/* 4, 5 */
		return (!ch->counting || e != n);
	}
}

static u16
count_value(const struct channel *ch, u64 now)
{
	u64 e = elapsed(ch, now), n = ch->initial;

	if (!ch->armed)
		return (0);
	if (ch->mode == 2)
		return ((u16)(n - e % n));
	if (ch->mode == 3) {
		u64 phase = e % n, half = (n + 1) / 2;
		u64 p = phase < half ? phase : phase - half;
		return ((u16)((n & ~1ULL) - 2 * p));
	}
	return ((u16)(n - e));
}

/* Rising edges of OUT since the count was loaded, up to now. */
static u64
rising_edges(const struct channel *ch, u64 now)
{
	u64 e = elapsed(ch, now), n = ch->initial;

	if (!ch->armed)
		return (0);
	switch (ch->mode) {
	case 0:
		return (e >= n);
	case 1:
		return (ch->counting && e >= n);
	case 2: case 3:
		return (ch->counting ? e / n : 0);
	default:
		return (ch->counting && e > n);
	}
}

/* The tick of rising edge number k (1-based), or 0 if there is none. */
static u64
edge_tick(const struct channel *ch, u64 k)
{
	if (!ch->armed || !ch->counting)
		return (0);
	switch (ch->mode) {
	case 2: case 3:
		return (ch->start_tick + k * ch->initial);
	case 0: case 1:
		return (k == 1 ? ch->start_tick + ch->initial : 0);
	default:
		return (k == 1 ? ch->start_tick + ch->initial + 1 : 0);
	}
}

/* Under vt_lock: has channel 0 an edge to pulse? (records it) */
static bool
collect_irq0(struct vatpit *vt, u64 now)
{
	struct channel *ch = &vt->vt_ch[0];
	u64 n = rising_edges(ch, now);

	if (n <= ch->edges_seen)
		return (false);
	ch->edges_seen = n;
	return (true);
}

static u8
status_byte(const struct channel *ch, u64 now)
{
	bool null = !ch->armed || now == ch->load_tick;

	return ((out_level(ch, now) ? PIT_ST_OUT : 0) |
	    (null ? PIT_ST_NULL : 0) | (ch->rw << 4) | (ch->mode << 1) |
	    (ch->bcd ? PIT_BCD : 0));
}

static void
latch_count(struct channel *ch, u64 now)
{
	if (ch->count_latched)
		return;			/* the first latch holds until read */
	ch->latch = count_value(ch, now);
	ch->count_latched = true;
}

static void
load_count(struct channel *ch, u32 n, u64 now)
{
	ch->initial = n == 0 ? 65536 : n;
	ch->armed = true;
	ch->load_tick = now;
	ch->edges_seen = 0;
	ch->frozen = 0;
	ch->start_tick = now;
	/* Modes 1 and 5 wait for a rising gate; the others count if it's up. */
	ch->counting = ch->gate && ch->mode != 1 && ch->mode != 5;
}

static void
set_gate(struct channel *ch, bool high, u64 now)
{
	if (high == ch->gate)
		return;
	ch->gate = high;
	if (!ch->armed)
		return;
	switch (ch->mode) {
	case 0: case 4:			/* the gate pauses counting */
		if (high) {
			ch->start_tick = now - ch->frozen;
			ch->counting = true;
		} else {
			ch->frozen = elapsed(ch, now);
			ch->counting = false;
		}
		break;
	case 2: case 3:			/* low: stop, OUT high; rise: reload */
		ch->counting = high;
		ch->frozen = 0;
		ch->start_tick = now;
		ch->edges_seen = 0;
		break;
	default:			/* 1, 5: a rise (re)triggers */
		if (high) {
			ch->counting = true;
			ch->start_tick = now;
			ch->edges_seen = 0;
		}
		break;
	}
}

static void
control_word(struct vatpit *vt, u8 v, u64 now)
{
	int sc = v >> 6;

	if (sc == 3) {				/* read-back */
		for (int c = 0; c < 3; c++) {
			struct channel *ch = &vt->vt_ch[c];
			if (!(v & PIT_RB_CH(c)))
				continue;
			if (!(v & PIT_RB_NOCOUNT))
				latch_count(ch, now);
			if (!(v & PIT_RB_NOSTATUS) && !ch->status_latched) {
				ch->status = status_byte(ch, now);
				ch->status_latched = true;
			}
		}
		return;
	}
	struct channel *ch = &vt->vt_ch[sc];
	if ((v & PIT_RW_LOHI) == PIT_RW_LATCH) {
		latch_count(ch, now);
		return;
	}
	ch->rw = (v >> 4) & 3;
	ch->mode = (v >> 1) & 7;
	if (ch->mode >= 6)
		ch->mode -= 4;
	ch->bcd = (v & PIT_BCD) != 0;
	ch->armed = false;
	ch->counting = false;
	ch->frozen = 0;
	ch->edges_seen = 0;
	ch->count_latched = false;
	ch->status_latched = false;
	ch->write_hi_next = false;
	ch->read_hi_next = false;
}

static u8
counter_read(struct channel *ch, u64 now)
{
	if (ch->status_latched) {
		ch->status_latched = false;
		return (ch->status);
	}
	u16 v = ch->count_latched ? ch->latch : count_value(ch, now);
	bool hi;
	if (ch->rw == (PIT_RW_LOHI >> 4)) {
		hi = ch->read_hi_next;
		ch->read_hi_next = !hi;
		if (hi)
			ch->count_latched = false;
	} else {
		hi = ch->rw == (PIT_RW_HI >> 4);
		ch->count_latched = false;
	}
	return (hi ? v >> 8 : v & 0xff);
}

static void
counter_write(struct channel *ch, u8 v, u64 now)
{
	switch (ch->rw) {
	case PIT_RW_LO >> 4:
		load_count(ch, v, now);
		break;
	case PIT_RW_HI >> 4:
		load_count(ch, (u32)v << 8, now);
		break;
	default:
		if (!ch->write_hi_next) {
			ch->write_lo = v;
			ch->write_hi_next = true;
		} else {
			ch->write_hi_next = false;
			load_count(ch, ch->write_lo | (u32)v << 8, now);
		}
		break;
	}
}

struct vatpit *
vatpit_create(struct vatpic *pic, hrtime_t (*clock)(void *), void *clock_arg)
{
	struct vatpit *vt = kmem_zalloc(sizeof (*vt), KM_SLEEP);

	spin_init(&vt->vt_lock, "vatpit");
	vt->vt_pic = pic;
	vt->vt_clock = clock;
	vt->vt_clock_arg = clock_arg;
	for (int c = 0; c < 3; c++) {
		vt->vt_ch[c].rw = PIT_RW_LOHI >> 4;
		vt->vt_ch[c].gate = c != 2;	/* port 0x61 bit 0 starts 0 */
	}
	return (vt);
}

void
vatpit_destroy(struct vatpit *vt)
{
	kmem_free(vt, sizeof (*vt));
}

static void
unlock_and_pulse(struct vatpit *vt, bool irq0)
{
	spin_unlock(&vt->vt_lock);
	if (irq0 && vt->vt_pic != NULL)
		vatpic_pulse_irq(vt->vt_pic, 0);
}

int
vatpit_io(struct vatpit *vt, u16 port, bool in, int bytes, u32 *val)
{
	if ((port < VATPIT_PORT_CH0 || port > VATPIT_PORT_CTRL) &&
	    port != VATPIT_PORT_B)
		return (-1);
	if (bytes != 1) {		/* only byte access is modelled */
		if (in)
			*val = 0xffffffff;
		return (0);
	}
	spin_lock(&vt->vt_lock);
	u64 now = now_ticks(vt);
	bool irq0 = collect_irq0(vt, now);
	u8 v = (u8)*val;

	if (port == VATPIT_PORT_B) {
		if (in) {
			*val = vt->vt_portb |
			    ((now / REFRESH_TICKS) & 1 ? PORTB_REFRESH : 0) |
			    (out_level(&vt->vt_ch[2], now) ? PORTB_OUT2 : 0);
		} else {
			vt->vt_portb = v & 0x0f;
			set_gate(&vt->vt_ch[2], (v & PORTB_GATE2) != 0, now);
		}
	} else if (port == VATPIT_PORT_CTRL) {
		if (in)
			*val = 0xff;	/* the control word is write-only */
		else
			control_word(vt, v, now);
	} else {
		struct channel *ch = &vt->vt_ch[port - VATPIT_PORT_CH0];
		if (in)
			*val = counter_read(ch, now);
		else
			counter_write(ch, v, now);
	}
	unlock_and_pulse(vt, irq0);
	return (0);
}

void
vatpit_update(struct vatpit *vt)
{
	spin_lock(&vt->vt_lock);
	bool irq0 = collect_irq0(vt, now_ticks(vt));
	unlock_and_pulse(vt, irq0);
}

hrtime_t
vatpit_next_deadline(struct vatpit *vt)
{
	spin_lock(&vt->vt_lock);
	struct channel *ch = &vt->vt_ch[0];
	u64 tick = edge_tick(ch, ch->edges_seen + 1);
	spin_unlock(&vt->vt_lock);
	return (tick == 0 ? 0 : ticks_to_ns(tick));
}

void
vatpit_describe(struct vatpit *vt, char *buf, size_t len)
{
	spin_lock(&vt->vt_lock);
	const struct channel *ch = &vt->vt_ch[0];
	u64 now = now_ticks(vt);
	ksnprintf(buf, len, "pit0 mode=%u armed=%d counting=%d initial=%u "
	    "elapsed=%lu edges=%lu/%lu", ch->mode, ch->armed, ch->counting,
	    ch->initial, elapsed(ch, now), ch->edges_seen,
	    rising_edges(ch, now));
	spin_unlock(&vt->vt_lock);
}
