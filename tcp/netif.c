/*
 * netif.c: the list of network interfaces, and the two doors between the
 * drivers and the stack (netif.h).  Portable.
 *
 *	receive:  driver -> netif_input -> (one queue, several cores: the
 *	          flow's core, netif_handed) -> eth_input (or nif->input)
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
 *
 * The flow hash (netif_flow_core) is here too: the one rule that says
 * which core owns a flow, used by netif_input to steer what arrives on
 * an interface with one receive queue, and by tcp_connect to pick a
 * port whose flow is its own core's.  A frame handed over travels in a
 * kmalloc'd record with its event inside (spawn_on_record cannot fail);
 * if there is no memory for the record the frame is dropped and
 * counted (rx_handoff_drops).
 */
#include <stddef.h>

#include "ebb/event.h"
#include "ebb/rcu.h"
#include "kernel/malloc.h"
#include "kernel/spinlock.h"
#include "eth.h"
#include "netif.h"
#include "proto.h"

static struct netif *list;		/* first interface (rcu_assign) */
static struct spinlock list_lock = SPINLOCK_INIT("netif_list");


void
netif_set_queues(struct netif *nif, int nqueues)
{
	nif->nqueues = nqueues;
	nif->steer = nqueues == 1 && core_count() > 1;
}

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
	netif_set_queues(nif, nif->nqueues);
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

/* Up the stack, on this core. */
static void
netif_up(struct netif *nif, struct iobuf *frame, uint32_t rx_flags)
{
	if (nif->input != NULL)
		nif->input(nif, frame, rx_flags);
	else
		eth_input(nif, frame, rx_flags);
}

/* A received frame on its way to its flow's core. */
struct netif_handoff {
	struct event ev;
	struct netif *nif;
	struct iobuf *frame;
	uint32_t rx_flags;
};

/* On the flow's core: the frame another core received for it. */
static void
netif_handed(void *arg)
{
	struct netif_handoff *h = arg;

	netif_up(h->nif, h->frame, h->rx_flags);
	kfree(h);
}

/* Hand frame to core c, or drop it (counted) if that cannot be done. */
static void
netif_hand_over(struct netif *nif, int c, struct iobuf *frame, uint32_t rx_flags)
{
	struct netif_handoff *h = kmalloc(sizeof *h);

	if (h == NULL) {
		STAT_ADD(nif->stats.rx_handoff_drops, 1);
		iobuf_free_chain(frame);
		return;
	}
	h->nif = nif;
	h->frame = frame;
	h->rx_flags = rx_flags;
	STAT_ADD(nif->stats.rx_handed, 1);
	spawn_on_record(c, &h->ev, netif_handed, h);
}

/*
 * One queue for several cores: frame to its flow's core, up the stack
 * here if that is this one.  Out of line, and called last, so that
 * netif_input stays a leaf that jumps to one or the other.
 */
static __attribute__((noinline)) void
netif_steer(struct netif *nif, struct iobuf *frame, uint32_t rx_flags)
{
	int c = netif_flow_core(frame, core_count());

	if (c != core_id())
		netif_hand_over(nif, c, frame, rx_flags);
	else
		netif_up(nif, frame, rx_flags);
}

void
netif_input(struct netif *nif, struct iobuf *frame, uint32_t rx_flags)
{
	STAT_ADD(nif->stats.rx_frames, 1);
	STAT_ADD(nif->stats.rx_bytes, iobuf_chain_len(frame));
	if (nif->steer)				/* netif.h */
		netif_steer(nif, frame, rx_flags);
	else
		netif_up(nif, frame, rx_flags);
}

int
netif_send(struct netif *nif, struct iobuf *frame, const struct netif_tx_hints *hints)
{
	static const struct netif_tx_hints none;	/* no offload */

	if (hints == NULL)
		hints = &none;
	else if (hints->mss != 0 && !(nif->features & NETIF_F_TSO4))
		return gso_send(nif, frame, hints);
	return netif_xmit(nif, frame, hints);
}

int
netif_xmit(struct netif *nif, struct iobuf *frame, const struct netif_tx_hints *hints)
{
	size_t len = iobuf_chain_len(frame);	/* before the driver owns it */
	int err;

	err = nif->ops->transmit(nif, frame, hints);
	if (err != 0) {
		STAT_ADD(nif->stats.tx_errors, 1);
		return err;
	}
	STAT_ADD(nif->stats.tx_frames, 1);
	STAT_ADD(nif->stats.tx_bytes, len);
	return 0;
}

/* ---- the software flow hash --------------------------------------------- */

/* One round of mixing (the finalizer of MurmurHash3): every bit counts. */
static uint32_t
flow_mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

uint32_t
netif_flow_hash(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	uint64_t a = ((uint64_t)src << 16) | sport;	/* one end */
	uint64_t b = ((uint64_t)dst << 16) | dport;	/* the other */
	uint64_t lo = a < b ? a : b, hi = a < b ? b : a;	/* symmetric */

	return flow_mix(flow_mix((uint32_t)lo ^ 0x9e3779b9u) ^ (uint32_t)(lo >> 32) ^
	    flow_mix((uint32_t)hi) ^ (uint32_t)(hi >> 32) * 0x27d4eb2fu);
}

int
netif_flow_core(const struct iobuf *frame, int ncores)
{
	struct eth_hdr eh;
	struct ip_hdr ih;
	uint16_t ports[2] = { 0, 0 };
	size_t ihl;

	if (ncores <= 1 || iobuf_copy_out(frame, 0, ETH_HLEN, &eh) == NULL ||
	    eh.type != hton16(ETHERTYPE_IPV4) ||
	    iobuf_copy_out(frame, ETH_HLEN, IP_HLEN, &ih) == NULL ||
	    (ih.vhl >> 4) != IP_VERSION || (ihl = 4u * (ih.vhl & 0x0f)) < IP_HLEN)
		return 0;
	/* Ports only for unfragmented TCP and UDP: fragments use the 2-tuple. */
	if ((ih.proto == IP_PROTO_TCP || ih.proto == IP_PROTO_UDP) &&
	    (ih.frag & hton16(IP_MF | IP_OFFMASK)) == 0 &&
	    iobuf_copy_out(frame, ETH_HLEN + ihl, sizeof ports, ports) == NULL)
		ports[0] = ports[1] = 0;	/* a runt: the 2-tuple then */
	return (int)(netif_flow_hash(ih.src, ih.dst, ports[0], ports[1]) %
	    (uint32_t)ncores);
}
