/*
 * loopback.c: the loopback interface (loopback.h).  Portable.
 *
 *	netif_send -> loopback_transmit -> spawn(loopback_deliver)
 *	... later, as its own event on the same core:
 *	loopback_deliver -> netif_input -> eth_input
 *
 * transmit must not call netif_input itself: the sender (deep inside
 * ip_output, say) would find the stack re-entered under it.  So each
 * frame travels in a small record (the interface and the frame) queued
 * with spawn on the sending core; frames therefore come back in the
 * order they were sent.  If the record or the spawn cannot be had, the
 * frame is dropped, counted, and transmit returns ENOMEM.
 */
#include <errno.h>
#include <string.h>

#include "ebb/event.h"
#include "kernel/malloc.h"
#include "loopback.h"

struct loopback_frame {
	struct netif *nif;
	struct iobuf *frame;
};

static uint64_t dropped;	/* frames lost for want of memory (atomic) */

/* The event: hand the frame to the stack, as if it had just arrived. */
static void
loopback_deliver(void *arg)
{
	struct loopback_frame lf = *(struct loopback_frame *)arg;

	kfree(arg);
	netif_input(lf.nif, lf.frame, NETIF_RX_CSUM_OK);
}

static int
loopback_transmit(struct netif *nif, struct iobuf *frame,
    const struct netif_tx_hints *hints)
{
	struct loopback_frame *lf = kmalloc(sizeof *lf);

	(void)hints;		/* checksums: nothing to check on this wire */
	if (lf != NULL) {
		lf->nif = nif;
		lf->frame = frame;
		if (spawn(loopback_deliver, lf) == 0)
			return 0;
		kfree(lf);
	}
	iobuf_free_chain(frame);
	/* Relaxed: a statistic. */
	__atomic_add_fetch(&dropped, 1, __ATOMIC_RELAXED);
	return ENOMEM;
}

static const struct netif_ops loopback_ops = {
	.transmit = loopback_transmit,
};

int
loopback_add(struct netif *nif, const char *name)
{
	nif->ops = &loopback_ops;
	nif->driver = NULL;
	strncpy(nif->name, name, NETIF_NAME_MAX - 1);
	nif->name[NETIF_NAME_MAX - 1] = '\0';
	memset(nif->mac, 0, ETH_ALEN);
	nif->mtu = LOOPBACK_MTU;
	nif->features = NETIF_F_RX_CSUM | NETIF_F_TX_CSUM;
	nif->nqueues = core_count();
	return netif_add(nif);
}

uint64_t
loopback_dropped(void)
{
	return __atomic_load_n(&dropped, __ATOMIC_RELAXED);
}
