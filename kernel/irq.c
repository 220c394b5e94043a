/*
 * irq.c: interrupts as events — platform.h's irq_alloc and irq_poll, and
 * irq_trap, where every interrupt vector (32..255) lands.
 *
 * There is no interrupt handler in the usual sense.  Interrupts are
 * enabled only inside core_sleep (kernel/smp.c), at the event loop's
 * idle point, and what runs at interrupt time is only irq_trap, which
 * acknowledges the interrupt and, for a device vector, sets its bit in
 * this core's pending set.  The handler that irq_alloc registered runs
 * later, as ordinary code with interrupts off, when the event loop calls
 * irq_poll.  So a handler never interrupts an event, and per-core data
 * needs no locks.  A typical sequence, on one core:
 *
 *	v = irq_alloc(net_rx, nic)	a driver takes a vector and programs
 *					its device (MSI-X) to send it here
 *	core_sleep(...)			the loop is idle: sti; hlt
 *	  -> vector v			alltraps -> trap -> irq_trap(v):
 *					EOI, mark v pending; hlt ends
 *	irq_poll()			the loop again: runs net_rx(nic),
 *					which may spawn events
 *
 * The vectors (native.h draws the whole table): T_IRQ_FIRST..T_IRQ_LAST
 * are handed out by irq_alloc, in order, never taken back (irq_disarm
 * makes one do nothing, for a device that was reset).  T_TIMER and
 * T_WAKE only end a halt, so irq_trap just acknowledges them.  The
 * spurious vector needs no EOI (SDM vol. 3, 10.9); T_LAPIC_ERROR prints
 * the error.  An interrupt on a vector nobody allocated is reported,
 * never fatal.
 *
 * The EOI is sent at once, before the handler runs: right for the
 * edge-triggered interrupts (MSI, MSI-X, IPIs) this kernel uses.  A
 * level-triggered source (an IOAPIC pin) would have to be masked until
 * its handler ran, or it would interrupt again as soon as the halt's
 * sti allowed it.
 *
 * Polled vectors.  A device that cannot interrupt (no MSI-X, or fewer
 * table entries than queues) still needs its handler run now and then,
 * or a core with frames waiting could sleep forever.  irq_tick makes a
 * vector "tick" on one core: once every IRQ_POLL_US, whether or not
 * anything happened, it is marked pending as if it had interrupted.
 * core_sleep does that (irq_tick_check) and never sleeps past the next
 * tick; a core that never sleeps is busy, and runs irq_poll only when
 * idle anyway.  The handler cannot
 * tell a tick from an interrupt, so a driver needs no second path; it
 * only sees work later (up to IRQ_POLL_US) than with an interrupt.
 *
 * Locking: the handler table is written under irq_lock by irq_alloc and
 * read without it, by any core, once a device has been told the vector
 * (which happens after irq_alloc returns).  A core's pending set is its
 * own: irq_trap (at interrupt time) and irq_poll (interrupts off) both
 * run on the owning core, and interrupts arrive only inside core_sleep's
 * "sti; hlt; cli", whose "memory" clobber makes the compiler reload the
 * set afterwards, so plain loads and stores suffice.
 */
#include "native.h"
#include "platform.h"
#include "print.h"
#include "spinlock.h"

struct irq {
	void (*handler)(void *arg);	/* NULL: the vector is free */
	void *arg;
};

static struct irq irqs[256];
static int irq_next = T_IRQ_FIRST;	/* the next vector irq_alloc hands out */
static struct spinlock irq_lock = SPINLOCK_INIT("irq");

/*
 * Each core's pending device vectors (bit v % 64 of word v / 64), its
 * ticking vectors (the same layout) and the time of its next tick.
 * tick is written by irq_tick (core 0 while the other cores are parked,
 * or the core itself) and read by the core with relaxed atomics: they
 * order nothing, the bits only have to arrive; cores_start's release
 * publishes them before the loops run.
 */
static struct {
	uint64_t bits[4];
	uint64_t tick[4];
	uint64_t tick_next;	/* clock_ns of the next tick; 0: at once */
} __attribute__((aligned(CACHE_LINE))) pending[NCPU];

/* platform.h: a vector of its own for handler, or -1 if none is left. */
int
irq_alloc(void (*handler)(void *arg), void *arg)
{
	int v = -1;

	if (handler == NULL)
		panic("irq_alloc: no handler");
	spin_lock(&irq_lock);
	if (irq_next <= T_IRQ_LAST) {
		v = irq_next++;
		irqs[v].arg = arg;
		irqs[v].handler = handler;
	}
	spin_unlock(&irq_lock);
	return v;
}

/* Called by trap() for vectors 32..255, on the core that took it. */
void
irq_trap(int v)
{
	switch (v) {
	case T_SPURIOUS:
		return;			/* not in service: no EOI */
	case T_TIMER:
	case T_WAKE:
		break;			/* ending the halt was the point */
	case T_LAPIC_ERROR:
		lapic_error();
		break;
	default:
		if (v >= T_IRQ_FIRST && v <= T_IRQ_LAST && irqs[v].handler != NULL) {
			pending[core_id()].bits[v / 64] |= 1ULL << (v % 64);
			break;
		}
		kprintf("irq: stray interrupt, vector %d on core %d; ignored\n", v, core_id());
		break;
	}
	lapic_eoi();
}

/* Has this core a device vector waiting for irq_poll? */
int
irq_pending(void)
{
	const uint64_t *p = pending[core_id()].bits;

	return (p[0] | p[1] | p[2] | p[3]) != 0;
}

/*
 * Make vector v (irq_alloc's) pending on core `core` every IRQ_POLL_US
 * from now on, as if its device interrupted (the top of this file).
 * Core 0 before the runtime starts (in a driver's probe), or `core`
 * itself.
 */
void
irq_tick(int v, int core)
{
	if (v < T_IRQ_FIRST || v > T_IRQ_LAST || irqs[v].handler == NULL || core < 0 || core >= NCPU)
		panic("irq_tick: vector %d is not allocated, or no core %d", v, core);
	__atomic_fetch_or(&pending[core].tick[v / 64], 1ULL << (v % 64), __ATOMIC_RELAXED);
}

/* What a disarmed vector runs: nothing. */
static void
irq_ignore(void *arg)
{
	(void)arg;
}

/*
 * Disarm vector v: its handler becomes a no-op and it stops ticking on
 * every core, so that a device that is reset can have its driver's
 * state freed while an interrupt it sent before the reset is still
 * pending somewhere.  The vector stays allocated (irq_alloc never hands
 * one out twice).  Only while no core can be running the handler:
 * before the loops run or while they are stopped (a driver's probe or
 * detach); the loops' start publishes the change.
 */
void
irq_disarm(int v)
{
	if (v < T_IRQ_FIRST || v > T_IRQ_LAST || irqs[v].handler == NULL)
		panic("irq_disarm: vector %d is not allocated", v);
	spin_lock(&irq_lock);
	irqs[v].handler = irq_ignore;
	irqs[v].arg = NULL;
	spin_unlock(&irq_lock);
	for (int c = 0; c < NCPU; c++)
		__atomic_fetch_and(&pending[c].tick[v / 64], ~(1ULL << (v % 64)), __ATOMIC_RELAXED);
}

/* Has this core ticking vectors? */
static int
ticking(int c)
{
	uint64_t t = 0;

	for (int w = 0; w < 4; w++)
		t |= __atomic_load_n(&pending[c].tick[w], __ATOMIC_RELAXED);
	return t != 0;
}

/*
 * For core_sleep, on its own core: if this core's tick is due, make its
 * ticking vectors pending, as their interrupts would, and schedule the
 * next.  Returns when the next tick is due, or 0 if the core has none.
 */
uint64_t
irq_tick_check(void)
{
	int c = core_id();
	uint64_t now;

	if (!ticking(c))
		return 0;
	if ((now = clock_ns()) >= pending[c].tick_next) {
		for (int w = 0; w < 4; w++)
			pending[c].bits[w] |= __atomic_load_n(&pending[c].tick[w], __ATOMIC_RELAXED);
		pending[c].tick_next = now + IRQ_POLL_US * 1000ULL;
	}
	return pending[c].tick_next;
}

/*
 * platform.h: run the handlers of this core's pending vectors, lowest
 * vector first, each once however many times it fired, and clear them.
 */
void
irq_poll(void)
{
	uint64_t *p = pending[core_id()].bits;

	for (int w = 0; w < 4; w++) {
		while (p[w] != 0) {
			int v = w * 64 + __builtin_ctzll(p[w]);
			p[w] &= p[w] - 1;	/* clear it before the handler runs */
			irqs[v].handler(irqs[v].arg);
		}
	}
}
