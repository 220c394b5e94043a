/*
 * netif.c: the list of network interfaces, and the two doors between the
 * drivers and the stack (netif.h).  Portable.
 *
 *	receive:  driver -> netif_input -> eth_input (or nif->input)
 *	transmit: eth_output -> netif_send -> nif->ops->transmit
 *
 * Both doors count the frame in the interface's stats (relaxed atomics:
 * the counters are statistics and order nothing; several cores may send
 * on one interface at once) and then hand the frame on, ownership and
 * all.
 *
 * The list: interfaces are added, never removed, so readers need no
 * grace period; they walk it with rcu_deref, and a writer, under
 * list_lock, fills the struct first and then links it at the tail with
 * rcu_assign (release), so a reader that finds it sees it complete.
 */
#include <stddef.h>

#include "ebb/rcu.h"
#include "kernel/spinlock.h"
#include "eth.h"
#include "netif.h"

static struct netif *list;		/* first interface (rcu_assign) */
static struct spinlock list_lock = SPINLOCK_INIT("netif_list");

/* Add n to a relaxed atomic counter. */
#define STAT_ADD(field, n) __atomic_add_fetch(&(field), (n), __ATOMIC_RELAXED)

int
netif_add(struct netif *nif)
{
	struct netif **where;

	if (nif->ops == NULL || nif->ops->transmit == NULL)
		return -1;
	spin_lock(&list_lock);
	/* list_lock held: we are the only writer of the links. */
	for (where = &list; *where != NULL; where = &(*where)->next) {
		if (*where == nif) {
			spin_unlock(&list_lock);
			return -1;
		}
	}
	nif->next = NULL;
	rcu_assign(*where, nif);	/* nif's fields before the link */
	spin_unlock(&list_lock);
	return 0;
}

struct netif *
netif_first(void)
{
	return rcu_deref(list);
}

struct netif *
netif_next(const struct netif *nif)
{
	return rcu_deref(nif->next);
}

void
netif_input(struct netif *nif, struct iobuf *frame, uint32_t rx_flags)
{
	STAT_ADD(nif->stats.rx_frames, 1);
	STAT_ADD(nif->stats.rx_bytes, iobuf_chain_len(frame));
	if (nif->input != NULL)
		nif->input(nif, frame, rx_flags);
	else
		eth_input(nif, frame, rx_flags);
}

int
netif_send(struct netif *nif, struct iobuf *frame, const struct netif_tx_hints *hints)
{
	static const struct netif_tx_hints none;	/* no offload */
	size_t len = iobuf_chain_len(frame);	/* before the driver owns it */
	int err;

	err = nif->ops->transmit(nif, frame, hints != NULL ? hints : &none);
	if (err != 0) {
		STAT_ADD(nif->stats.tx_errors, 1);
		return err;
	}
	STAT_ADD(nif->stats.tx_frames, 1);
	STAT_ADD(nif->stats.tx_bytes, len);
	return 0;
}
