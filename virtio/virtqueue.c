/*
 * virtqueue.c: the driver side of a split virtqueue (virtio 1.x, 2.7).
 * Portable; virtqueue.h draws the rings and the typical sequence.
 *
 * Invariants:
 * - A descriptor is either on the free list (chained through next,
 *   token[i] unused) or in exactly one chain the device owns, whose head
 *   h has token[h] != NULL.  nfree counts the free list; nfree + the
 *   descriptors of outstanding chains = size.
 * - avail_idx is the only copy of avail->idx the driver trusts (the
 *   device never writes avail->idx); last_used counts what virtq_get has
 *   harvested, so last_used <= used->idx <= avail_idx, all modulo 2^16.
 *
 * Barriers.  The device is another agent reading and writing the same
 * memory (natively by DMA, in the hosted tests by the device model), so
 * every hand-over needs an ordering.  There are four:
 * 1. publish (virtq_add): descriptors and ring slot written, then
 *    avail->idx stored with release: a device that sees the new idx sees
 *    the entries it covers.
 * 2. harvest (virtq_get): used->idx loaded with acquire before the used
 *    entry is read: the device wrote the entry, then (its own write
 *    barrier) the idx.
 * 3. kick (virtq_kick): avail->idx stored, then a full fence, then
 *    avail_event or used->flags loaded.  A store then a load needs the
 *    full fence (on x86 it is the one ordering the hardware does not
 *    give).  The device does the mirror image: writes avail_event (or
 *    clears NO_NOTIFY), full fence, reads avail->idx.  So one side sees
 *    the other's store: either the device sees our new idx, or we see
 *    that it wants a kick.  Without the fence both could miss.
 * 4. re-enable (virtq_enable_cb): used_event (or the flag) stored, full
 *    fence, used->idx loaded; the device writes used->idx, fences, reads
 *    used_event.  The same pairing: either the device interrupts, or we
 *    see the new entries and poll again.  That is the lost wake-up fix.
 */
#include <string.h>

#include "kernel/page.h"
#include "kernel/platform.h"
#include "virtqueue.h"

/* Byte offsets of the areas in the block, for size entries. */
static size_t
avail_off(int size)
{
	return 16 * (size_t)size;
}

/* The used ring on its own page, as the legacy layout wants too. */
static size_t
used_off(int size)
{
	size_t end = avail_off(size) + 6 + 2 * (size_t)size;

	return (end + PAGE_SIZE - 1) & ~(size_t)(PAGE_SIZE - 1);
}

/* The token array after the used ring (ours only: the device never sees it). */
static size_t
token_off(int size)
{
	return (used_off(size) + 6 + 8 * (size_t)size + 7) & ~(size_t)7;
}

int
virtq_init(struct virtq *vq, int size, int event_idx)
{
	size_t bytes;
	char *mem;
	int order = 0;

	if (size < 1 || size > VIRTQ_MAX_SIZE || (size & (size - 1)) != 0)
		return -1;
	bytes = token_off(size) + sizeof(void *) * (size_t)size;
	while (((size_t)PAGE_SIZE << order) < bytes)
		order++;
	if ((mem = page_alloc(order)) == NULL)
		return -1;
	memset(mem, 0, (size_t)PAGE_SIZE << order);

	memset(vq, 0, sizeof *vq);
	vq->size = (uint16_t)size;
	vq->event_idx = event_idx;
	vq->order = order;
	vq->desc = (struct virtq_desc *)mem;
	vq->avail = (struct virtq_avail *)(mem + avail_off(size));
	vq->used = (struct virtq_used *)(mem + used_off(size));
	vq->token = (void **)(mem + token_off(size));

	/* Every descriptor free, chained in order. */
	for (int i = 0; i < size - 1; i++)
		vq->desc[i].next = (uint16_t)(i + 1);
	vq->free_head = 0;
	vq->nfree = (uint16_t)size;
	return 0;
}

void
virtq_destroy(struct virtq *vq)
{
	page_free(vq->desc, vq->order);
	vq->desc = NULL;
}

/* Identity-mapped RAM: the virtual address is the DMA address. */
uint64_t
virtq_addr_desc(const struct virtq *vq)
{
	return (uintptr_t)vq->desc;
}

uint64_t
virtq_addr_avail(const struct virtq *vq)
{
	return (uintptr_t)vq->avail;
}

uint64_t
virtq_addr_used(const struct virtq *vq)
{
	return (uintptr_t)vq->used;
}

int
virtq_add(struct virtq *vq, const struct virtq_seg *seg, int nout, int nin,
    void *token)
{
	int n = nout + nin;
	uint16_t head, i;

	if (token == NULL)
		panic("virtq_add: NULL token");
	if (nout < 0 || nin < 0 || n == 0 || n > vq->nfree)
		return -1;

	/* Take n descriptors off the free list, filling them in. */
	head = i = vq->free_head;
	for (int k = 0; k < n; k++) {
		struct virtq_desc *d = &vq->desc[i];

		d->addr = (uintptr_t)seg[k].buf;
		d->len = seg[k].len;
		d->flags = (uint16_t)((k < nout ? 0 : VIRTQ_DESC_F_WRITE) |
		    (k < n - 1 ? VIRTQ_DESC_F_NEXT : 0));
		i = d->next;	/* the next free one, and so the chain's next */
	}
	vq->free_head = i;
	vq->nfree = (uint16_t)(vq->nfree - n);
	vq->token[head] = token;

	/* The slot, then the index that hands it over. */
	vq->avail->ring[vq->avail_idx & (vq->size - 1)] = head;
	vq->avail_idx++;
	/*
	 * Barrier 1: release orders the descriptor and ring-slot stores
	 * above before the new idx; the device reads idx, then (its read
	 * barrier) the slot and the descriptors.
	 */
	__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
	return 0;
}

int
virtq_kick(struct virtq *vq)
{
	uint16_t old = vq->kicked_idx, new_idx = vq->avail_idx;
	int kick;

	vq->kicked_idx = new_idx;
	/*
	 * Barrier 3: our avail->idx store (virtq_add) before the loads
	 * below of what the device asked.  The device writes avail_event
	 * or used->flags, fences, and then reads avail->idx; with this
	 * fence on our side, at least one of us sees the other's store.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx)
		kick = vring_need_event(
		    __atomic_load_n(virtq_avail_event(vq), __ATOMIC_RELAXED),
		    new_idx, old);
	else
		kick = old != new_idx &&	/* something new since the last kick */
		    !(__atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED) &
		    VIRTQ_USED_F_NO_NOTIFY);
	if (kick)
		vq->notified_idx = new_idx;
	return kick;
}

int
virtq_kick_owed(struct virtq *vq)
{
	uint16_t event;

	if (vq->avail_idx == vq->notified_idx)
		return 0;	/* everything published was notified */
	/* As barrier 3: our stores of avail->idx before the loads below. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)	/* not busy (the flag clear), and not done with it all */
		return !(__atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED) &
		    VIRTQ_USED_F_NO_NOTIFY) && virtq_used_idx(vq) != vq->avail_idx;
	/* avail_event in [notified_idx, avail_idx): modulo 2^16, as ever. */
	event = __atomic_load_n(virtq_avail_event(vq), __ATOMIC_RELAXED);
	return (uint16_t)(event - vq->notified_idx) <
	    (uint16_t)(vq->avail_idx - vq->notified_idx);
}

void
virtq_kicked(struct virtq *vq)
{
	vq->kicked_idx = vq->notified_idx = vq->avail_idx;
}

int
virtq_irq_owed(struct virtq *vq)
{
	return !vq->cb_off && virtq_used_idx(vq) != vq->last_used;
}

uint16_t
virtq_used_idx(struct virtq *vq)
{
	/* Acquire: as barrier 2, though callers only compare it. */
	return __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
}

/* Put the chain starting at head back on the free list. */
static void
free_chain(struct virtq *vq, uint16_t head)
{
	uint16_t i = head;
	int n = 1;

	/* Our own descriptors: the device reads them but never writes. */
	while (vq->desc[i].flags & VIRTQ_DESC_F_NEXT) {
		i = vq->desc[i].next;
		n++;
	}
	vq->desc[i].next = vq->free_head;
	vq->free_head = head;
	vq->nfree = (uint16_t)(vq->nfree + n);
	vq->token[head] = NULL;
}

void *
virtq_get(struct virtq *vq, uint32_t *len)
{
	struct virtq_used_elem *e;
	uint32_t id;
	void *token;

	for (;;) {
		/*
		 * Barrier 2: acquire orders this load of used->idx before the
		 * read of the entry below; the device wrote the entry, then
		 * (its write barrier) used->idx.
		 */
		if (__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE) == vq->last_used)
			return NULL;
		e = &vq->used->ring[vq->last_used & (vq->size - 1)];
		id = e->id;
		if (len != NULL)
			*len = e->len;
		vq->last_used++;
		if (id < vq->size && (token = vq->token[id]) != NULL)
			break;
		/* Not a chain the device holds: input to drop, not a panic. */
		vq->bad++;
	}
	free_chain(vq, (uint16_t)id);
	/*
	 * Callbacks off under EVENT_IDX: keep used_event one behind what
	 * was harvested (virtq_disable_cb), or a queue left off for good
	 * (a transmit queue, a polled one) would interrupt once every 65536
	 * entries, when used->idx passes the old value.  Relaxed: a hint
	 * that orders nothing.  Turning callbacks on is virtq_enable_cb's
	 * job, fenced.
	 */
	if (vq->cb_off && vq->event_idx)
		__atomic_store_n(virtq_used_event(vq), (uint16_t)(vq->last_used - 1),
		    __ATOMIC_RELAXED);
	return token;
}

void *
virtq_detach_unused(struct virtq *vq)
{
	void *token;

	for (uint16_t i = 0; i < vq->size; i++) {
		if ((token = vq->token[i]) != NULL) {
			free_chain(vq, i);
			return token;
		}
	}
	return NULL;
}

void
virtq_disable_cb(struct virtq *vq)
{
	vq->cb_off = 1;
	if (vq->event_idx) {
		/*
		 * With EVENT_IDX the flag must stay 0 (2.7.7); instead ask
		 * to be told only when used->idx passes last_used - 1, which
		 * is ~65535 entries away: never, as at most size buffers can
		 * be outstanding before we harvest, and virtq_get keeps it
		 * one behind as it harvests.
		 */
		__atomic_store_n(virtq_used_event(vq),
		    (uint16_t)(vq->last_used - 1), __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&vq->avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT,
		    __ATOMIC_RELAXED);
	}
}

int
virtq_enable_cb(struct virtq *vq)
{
	vq->cb_off = 0;
	if (vq->event_idx) {
		/* Interrupt when the entry at last_used is written. */
		__atomic_store_n(virtq_used_event(vq), vq->last_used,
		    __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&vq->avail->flags, 0, __ATOMIC_RELAXED);
	}
	/*
	 * Barrier 4: the store above before the load of used->idx below.
	 * The device writes used->idx, fences, then reads used_event or
	 * flags: either it sees interrupts are wanted, or we see its entry.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&vq->used->idx, __ATOMIC_RELAXED) != vq->last_used;
}
