/*
 * net_watch.c: the driver's watchdog for lost notifications.  Portable.
 *
 * A kick (driver to device) and an interrupt (device to driver) are each
 * decided by a handshake over shared memory (virtqueue.c, barriers 3 and
 * 4): one side stores its index, fences, and loads what the other side
 * asked for; the other side does the mirror image.  With both fences
 * honoured, at least one side sees the other's store, so nothing is
 * lost.  Without them, both loads can miss: the device reads our old
 * avail->idx and goes to sleep waiting for a kick, while we read its old
 * avail_event and decide no kick is needed.  Under VIRTIO_F_EVENT_IDX
 * such a miss is for good: a kick is due only when avail->idx crosses
 * avail_event, and we have crossed it already, so no later transmit or
 * refill asks again (without EVENT_IDX the next one would: the flag
 * stays clear).  A transmit queue then fills and every send says "tx
 * full"; a receive queue's device stops taking frames.
 *
 * Where the fences go missing: QEMU's TCG with a single vCPU.  TCG
 * emits a host barrier for a guest's MFENCE (and makes a LOCKed
 * instruction atomic) only when the machine may have more than one vCPU
 * (-smp maxcpus > 1); with one, it assumes nothing else watches guest
 * memory.  But QEMU's device model does, from its main-loop thread, on
 * another host CPU, so the host's store buffer reorders our store of
 * avail->idx after our load of avail_event.  Measured: 16 connections
 * of round trips wedged a -smp 1 instance within seconds every time,
 * and never with -smp 1,maxcpus=2 (one vCPU, fences honoured).
 * test/qemu.sh therefore gives TCG maxcpus=2; this watchdog is for
 * every other way a notification can be lost (someone else's command
 * line, a device that loses one itself).
 *
 * What it does: each core has one one-shot timer, armed on demand for
 * VNET_WATCH_MS, by anything that could leave a notification lost:
 * a kick decision that sent nothing (tx_queue, vnet_rx_kick), a full
 * transmit ring, and callbacks turned back on (vnet_rx_service).  When
 * it fires it looks at every queue of the pairs this core owns:
 *
 *   kick owed       virtq_kick_owed: the device asked to hear about an
 *                   entry we published without notifying
 *   interrupt owed  virtq_irq_owed (receive): callbacks on, and used
 *                   entries not taken
 *
 * A device in the middle of its work can look like the first for a
 * moment, and an interrupt takes a moment to arrive, so one sighting
 * only makes the queue suspect.  A later one is a lost notification if
 * nothing moved that would have ended it.  For a kick: a period later,
 * the device's used->idx unchanged.  For an interrupt: what we
 * harvested unchanged while this core slept twice.  A core takes
 * interrupts only when it sleeps (an interrupt that comes while it is
 * busy waits), and one taken at a sleep has been handled, its frames
 * harvested, before the next; so a busy core, however long it stays
 * busy, is never mistaken for one whose interrupt was lost.  Then the
 * watchdog kicks (counted in lost_kicks) or polls the receive queue as
 * its interrupt would have (lost_irqs).  The timer
 * re-arms itself while a queue is suspect and stops otherwise, so an
 * idle instance is not woken.
 *
 * The timers live here, one per core, not in struct vnet: a detached
 * device's pairs are freed, and a timer still armed then finds no
 * device and stops.  vnet_watching counts the armed ones, for a test
 * that wants no timer left at its end.
 */
#include "ebb/timer.h"
#include "net_priv.h"

struct vnet_watcher vnet_watchers[NCPU];

static void watch_fire(void *unused);

void
vnet_watch_start(int c)
{
	struct vnet_watcher *w = &vnet_watchers[c];

	if (c != core_id())
		panic("vnet_watch_start: core %d's watchdog armed on core %d", c, core_id());
	if (w->t.fn == NULL)
		timer_setup(&w->t, watch_fire, NULL);
	/* No memory for the timer heap: the next decision tries again. */
	if (timer_start(&w->t, VNET_WATCH_MS * TIMER_MS, 0) == 0)
		__atomic_store_n(&w->armed, 1, __ATOMIC_RELAXED);
}

int
vnet_watching(void)
{
	int n = 0;

	for (int c = 0; c < NCPU; c++)
		n += __atomic_load_n(&vnet_watchers[c].armed, __ATOMIC_RELAXED);
	return n;
}

/*
 * Look at queue q (vq) of pair p: act on what was owed at an earlier
 * look too, with no progress since (see the top).  irq: also look for an
 * overdue interrupt (receive queues that take interrupts); sleeps: this
 * core's sleeps so far.  1 while it needs another look.
 */
static int
watch_queue(struct vnet_pair *p, struct virtq *vq, struct vnet_watch *w, int q, int irq,
    uint64_t sleeps)
{
	uint16_t used = virtq_used_idx(vq);
	int kick_owed = virtq_kick_owed(vq);
	int irq_owed = irq && virtq_irq_owed(vq);
	int acted = 0;

	if (w->used != used)		/* the device moved: no kick lost yet */
		w->kick = 0;
	if (w->taken != vq->last_used)	/* we harvested: no interrupt lost yet */
		w->irq = 0;
	w->used = used;
	w->taken = vq->last_used;
	if (irq_owed && !w->irq)
		w->sleeps = sleeps;	/* suspect from now */
	if (kick_owed && w->kick) {
		virtq_kicked(vq);
		p->v->d->ops->notify(p->v->d, q);
		VNET_INC(p->st.kicks, 1);
		VNET_INC(p->st.lost_kicks, 1);
		kick_owed = 0;
		acted = 1;
	}
	if (irq_owed && w->irq && sleeps >= w->sleeps + 2) {
		VNET_INC(p->st.lost_irqs, 1);
		vnet_rx_wake(p);	/* as the interrupt would have */
		irq_owed = 0;
		acted = 1;
	}
	w->kick = (uint8_t)kick_owed;
	w->irq = (uint8_t)irq_owed;
	return kick_owed || irq_owed || acted;	/* after acting: see that it worked */
}

/* The timer, on its core: every pair this core owns, on every device. */
static void
watch_fire(void *unused)
{
	int c = core_id(), again = 0;
	struct event_stats es;

	(void)unused;
	event_stats(c, &es);
	__atomic_store_n(&vnet_watchers[c].armed, 0, __ATOMIC_RELAXED);
	for (int s = 0; s < VNET_MAX; s++) {
		struct vnet *v = vnets[s];
		struct vnet_pair *p;

		if (v == NULL || c >= v->pairs)
			continue;
		p = &v->pair[c];
		again |= watch_queue(p, &p->tx, &p->tx_watch, vnet_txq(c), 0, es.sleeps);
		again |= watch_queue(p, &p->rx, &p->rx_watch, vnet_rxq(c),
		    p->rx_irq && !p->polling, es.sleeps);
	}
	if (again)
		vnet_watch_start(c);
}
