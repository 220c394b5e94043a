/*
 * arp.c: the Address Resolution Protocol for IPv4 over Ethernet (RFC
 * 826): the cache, the packets held for unresolved addresses, requests
 * and their retries, replies, and the gratuitous announcement.
 * Portable.
 *
 *	lookup:   eth_output -> arp_lookup (lock-free) -> hit: eth_send
 *	miss:     eth_output -> arp_queue -> hold the packet; first time:
 *	          arp_request, and a retry timer on this core
 *	retry:    timer -> arp_retry -> arp_request again, or after
 *	          ARP_RETRIES give up: drop the held packets, counted
 *	reply:    eth_input -> arp_input -> arp_learn -> cache the address,
 *	          take the pending record's packets -> eth_send each
 *	request:  eth_input -> arp_input -> arp_learn (the asker) -> arp_reply
 *
 * Two structures, one lock.
 *
 *   The cache: resolved addresses, struct arp_entry, in an RCU hash
 *   table keyed by IPv4 address (ebb/rhash.h).  An entry never changes
 *   once published: learning a new MAC, or refreshing an old one,
 *   publishes a new entry and frees the old after a grace period.  So
 *   arp_lookup, the per-packet path on every core, takes no lock and
 *   writes nothing shared.  Expiry is by timestamp checked on use: an
 *   entry older than the TTL is a miss (counted in arp.expired), and
 *   the resolution that follows replaces it.  No timer sweeps the
 *   cache; it is bounded instead (ARP_CACHE_MAX, the least recently
 *   learned entry is evicted), through a list in learning order.
 *
 *   The pending records: one per address being resolved, holding up
 *   to ARP_QUEUE_MAX packets (the oldest is dropped when a new one
 *   comes), at most ARP_PENDING_MAX of them.  A record's retry timer is
 *   armed on the core that made it (its owner, p->core), and only the
 *   owner frees the record: a reply received on another core unlinks
 *   the record under the lock, marks it resolved, takes its packets,
 *   and sends the owner an event (embedded in the record, so it cannot
 *   fail) that stops the timer and frees it.  A timer that fires on a
 *   resolved record does nothing.
 *
 * arp_lock guards the cache's writers (the list, ncached, and the
 * table's changes), the pending list and every field of every pending
 * record.  It is never held while a packet is sent (netif_send may lead
 * back into the stack: loopback, a test's fake interface), so sending
 * always comes after spin_unlock.  Lock order: arp_lock, then the
 * rhash's own writer lock and the allocators' locks inside it.
 *
 * One cache serves every interface, keyed by address alone: an entry
 * remembers its interface, and a lookup through another interface
 * misses (the next resolution replaces the entry).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/queue.h>

#include "ebb/event.h"
#include "ebb/rcu.h"
#include "ebb/rhash.h"
#include "ebb/timer.h"
#include "kernel/malloc.h"
#include "kernel/platform.h"
#include "kernel/spinlock.h"
#include "eth.h"
#include "proto.h"
#include "stats.h"

/* A resolved address.  Immutable once in the table. */
struct arp_entry {
	uint32_t ip;
	struct netif *nif;
	uint8_t mac[ETH_ALEN];
	uint64_t learned;		/* clock_ns() when learned */
	TAILQ_ENTRY(arp_entry) link;	/* on lru (arp_lock), newest first */
	struct rcu_head rcu;		/* freed after a grace period */
};

/* A packet held for an unresolved address. */
struct arp_held {
	struct iobuf *pkt;
	uint16_t ethertype;
	int has_hints;
	struct netif_tx_hints hints;
};

/* An address being resolved.  Every field under arp_lock but timer. */
struct arp_pending {
	uint32_t ip;
	struct netif *nif;
	int tries;			/* requests sent so far */
	int resolved;			/* unlinked by a reply or a flush */
	int first, n;			/* held[]: a ring, n packets from first */
	struct arp_held held[ARP_QUEUE_MAX];
	int core;			/* owner: the timer's core; frees it */
	struct timer retry;		/* owner's core only */
	struct event done;		/* to the owner: free me */
	LIST_ENTRY(arp_pending) link;	/* on pending, until resolved */
};

static struct spinlock arp_lock = SPINLOCK_INIT("arp");
static struct rhash *cache;		/* ip -> entry (rcu_assign once) */
static TAILQ_HEAD(arp_lru, arp_entry) lru = TAILQ_HEAD_INITIALIZER(lru);
static int ncached;
static LIST_HEAD(, arp_pending) pending = LIST_HEAD_INITIALIZER(pending);
static int npending;
static uint64_t ttl_ns = ARP_TTL_MS * TIMER_MS;
static uint64_t retry_ns = ARP_RETRY_MS * TIMER_MS;

void
arp_tune(uint64_t ttl, uint64_t retry)
{
	/* Relaxed: two independent tunables, read on their own; nothing hangs on them. */
	__atomic_store_n(&ttl_ns, ttl, __ATOMIC_RELAXED);
	__atomic_store_n(&retry_ns, retry, __ATOMIC_RELAXED);
}

/* ---- sending ARP packets ------------------------------------------------- */

/* Build and send one ARP packet from nif's addresses. */
static int
arp_send(struct netif *nif, uint16_t op, const uint8_t *dst_mac,
    const uint8_t *tha, uint32_t spa, uint32_t tpa)
{
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, ARP_LEN);
	struct arp_pkt *a;

	if (b == NULL) {
		NSTAT(arp, nomem);
		return ENOMEM;
	}
	a = iobuf_put(b, ARP_LEN);
	a->htype = hton16(ARP_HTYPE_ETH);
	a->ptype = hton16(ETHERTYPE_IPV4);
	a->hlen = ETH_ALEN;
	a->plen = 4;
	a->op = hton16(op);
	memcpy(a->sha, nif->mac, ETH_ALEN);
	a->spa = spa;
	memcpy(a->tha, tha, ETH_ALEN);
	a->tpa = tpa;
	NSTAT(arp, tx);
	if (op == ARP_REQUEST)
		NSTAT(arp, tx_requests);
	else
		NSTAT(arp, tx_replies);
	return eth_send(nif, b, dst_mac, ETHERTYPE_ARP, NULL);
}

static const uint8_t zero_mac[ETH_ALEN];

/* Who has ip?  Broadcast. */
static int
arp_request(struct netif *nif, uint32_t ip)
{
	return arp_send(nif, ARP_REQUEST, eth_broadcast, zero_mac, nif->ip, ip);
}

int
arp_announce(struct netif *nif)
{
	if (nif->ip == 0)
		return EINVAL;
	return arp_send(nif, ARP_REQUEST, eth_broadcast, zero_mac, nif->ip, nif->ip);
}

/* ---- the cache ----------------------------------------------------------- */

/* ip's MAC if cached for nif: 1 found, 0 not there, -1 expired.  Lock-free. */
static int
cache_get(struct netif *nif, uint32_t ip, uint8_t mac[ETH_ALEN])
{
	struct rhash *h = rcu_deref(cache);
	struct arp_entry *e;

	if (h == NULL || (e = rhash_get(h, ip)) == NULL || e->nif != nif)
		return 0;
	if (clock_ns() - e->learned >= __atomic_load_n(&ttl_ns, __ATOMIC_RELAXED))
		return -1;
	memcpy(mac, e->mac, ETH_ALEN);
	return 1;
}

int
arp_lookup(struct netif *nif, uint32_t ip, uint8_t mac[ETH_ALEN])
{
	int r = cache_get(nif, ip, mac);

	if (r == 1) {
		NSTAT(arp, hits);
		return 1;
	}
	if (r < 0)
		NSTAT(arp, expired);
	NSTAT(arp, misses);
	return 0;
}

static void
entry_free(struct rcu_head *r)
{
	kfree((char *)r - offsetof(struct arp_entry, rcu));
}

/* Take e out of the cache; freed after a grace period.  arp_lock held. */
static void
entry_remove(struct arp_entry *e)
{
	rhash_del(cache, e->ip);
	TAILQ_REMOVE(&lru, e, link);
	ncached--;
	rcu_call_head(&e->rcu, entry_free);
}

/* The table, made on first use.  arp_lock held.  NULL if out of memory. */
static struct rhash *
cache_table(void)
{
	if (cache == NULL)
		rcu_assign(cache, rhash_new(ARP_CACHE_MAX));
	return cache;
}

/*
 * Cache ip -> mac on nif, replacing what was there.  arp_lock held.
 * Returns 0 or ENOMEM.
 */
static int
cache_put(struct netif *nif, uint32_t ip, const uint8_t *mac)
{
	struct arp_entry *e, *old;

	if (cache_table() == NULL || (e = kmalloc(sizeof *e)) == NULL)
		return ENOMEM;
	e->ip = ip;
	e->nif = nif;
	memcpy(e->mac, mac, ETH_ALEN);
	e->learned = clock_ns();
	if ((old = rhash_get(cache, ip)) != NULL)
		entry_remove(old);
	else if (ncached == ARP_CACHE_MAX) {
		entry_remove(TAILQ_LAST(&lru, arp_lru));
		NSTAT(arp, evicted);
	}
	if (rhash_put(cache, ip, e) != 0) {
		kfree(e);
		return ENOMEM;
	}
	TAILQ_INSERT_HEAD(&lru, e, link);
	ncached++;
	NSTAT(arp, learned);
	return 0;
}

/* ---- pending records ----------------------------------------------------- */

/* The record for ip on nif, or NULL.  arp_lock held. */
static struct arp_pending *
pending_find(struct netif *nif, uint32_t ip)
{
	struct arp_pending *p;

	LIST_FOREACH(p, &pending, link)
		if (p->ip == ip && p->nif == nif)
			return p;
	return NULL;
}

/* Free a record, on its owner core: the timer first. */
static void
pending_free(void *arg)
{
	struct arp_pending *p = arg;

	timer_stop(&p->retry);
	kfree(p);
}

/*
 * Unlink p, mark it resolved and move its packets to out (at least
 * ARP_QUEUE_MAX slots); returns how many.  arp_lock held.  The caller
 * must then call pending_release(p) after unlocking.
 */
static int
pending_take(struct arp_pending *p, struct arp_held *out)
{
	int n = p->n;

	for (int i = 0; i < n; i++)
		out[i] = p->held[(p->first + i) % ARP_QUEUE_MAX];
	p->n = 0;
	p->resolved = 1;
	LIST_REMOVE(p, link);
	npending--;
	return n;
}

/* A resolved record goes to its owner to be freed. */
static void
pending_release(struct arp_pending *p)
{
	if (p->core == core_id())
		pending_free(p);
	else
		spawn_on_record(p->core, &p->done, pending_free, p);
}

/* The retry timer: ask again, or give up and drop what was held. */
static void
arp_retry(void *arg)
{
	struct arp_pending *p = arg;
	struct arp_held out[ARP_QUEUE_MAX];
	int n;

	spin_lock(&arp_lock);
	if (p->resolved) {		/* the done event is on its way */
		spin_unlock(&arp_lock);
		return;
	}
	if (p->tries < ARP_RETRIES) {
		p->tries++;
		timer_start(&p->retry, __atomic_load_n(&retry_ns, __ATOMIC_RELAXED), 0);
		spin_unlock(&arp_lock);
		arp_request(p->nif, p->ip);
		return;
	}
	n = pending_take(p, out);
	spin_unlock(&arp_lock);
	NSTAT(arp, timeouts);
	for (int i = 0; i < n; i++) {
		NSTAT(arp, timeout_drops);
		iobuf_free_chain(out[i].pkt);
	}
	pending_free(p);		/* we are the owner: the timer's core */
}

int
arp_queue(struct netif *nif, struct iobuf *pkt, uint32_t ip,
    uint16_t ethertype, const struct netif_tx_hints *h)
{
	struct arp_pending *p;
	struct arp_held *slot;
	struct iobuf *dropped = NULL;
	int ask = 0;
	uint8_t mac[ETH_ALEN];

	spin_lock(&arp_lock);
	if ((p = pending_find(nif, ip)) == NULL) {
		if (cache_get(nif, ip, mac) == 1) {	/* resolved meanwhile */
			spin_unlock(&arp_lock);
			return eth_send(nif, pkt, mac, ethertype, h);
		}
		if (npending == ARP_PENDING_MAX || (p = kcalloc(1, sizeof *p)) == NULL) {
			spin_unlock(&arp_lock);
			NSTAT(arp, pending_drops);
			iobuf_free_chain(pkt);
			return ENOBUFS;
		}
		p->ip = ip;
		p->nif = nif;
		p->tries = 1;
		p->core = core_id();
		timer_setup(&p->retry, arp_retry, p);
		timer_start(&p->retry, __atomic_load_n(&retry_ns, __ATOMIC_RELAXED), 0);
		LIST_INSERT_HEAD(&pending, p, link);
		npending++;
		ask = 1;
	}
	if (p->n == ARP_QUEUE_MAX) {		/* full: the oldest goes */
		dropped = p->held[p->first].pkt;
		p->first = (p->first + 1) % ARP_QUEUE_MAX;
		p->n--;
	}
	slot = &p->held[(p->first + p->n) % ARP_QUEUE_MAX];
	slot->pkt = pkt;
	slot->ethertype = ethertype;
	slot->has_hints = h != NULL;
	if (h != NULL)
		slot->hints = *h;
	p->n++;
	spin_unlock(&arp_lock);
	NSTAT(arp, queued);
	if (dropped != NULL) {
		NSTAT(arp, queue_drops);
		iobuf_free_chain(dropped);
	}
	if (ask)
		arp_request(nif, ip);
	return 0;
}

/* ---- receiving ------------------------------------------------------------ */

/*
 * What the sender of an ARP packet told us: ip is at mac.  Cache it if
 * the packet was for us, or if we know or are resolving ip already (RFC
 * 826's merge), and send what was held for it.
 */
static void
arp_learn(struct netif *nif, uint32_t ip, const uint8_t *mac, int for_us)
{
	struct arp_held out[ARP_QUEUE_MAX];
	struct arp_pending *p;
	struct arp_entry *e;
	int n = 0;

	spin_lock(&arp_lock);
	p = pending_find(nif, ip);
	e = cache != NULL ? rhash_get(cache, ip) : NULL;
	if (!for_us && p == NULL && e == NULL) {
		spin_unlock(&arp_lock);
		return;
	}
	/* Unchanged and fresh: leave the entry be (no churn per request). */
	if (e == NULL || e->nif != nif || memcmp(e->mac, mac, ETH_ALEN) != 0 ||
	    clock_ns() - e->learned >= __atomic_load_n(&ttl_ns, __ATOMIC_RELAXED) / 2) {
		if (cache_put(nif, ip, mac) != 0)
			NSTAT(arp, nomem);
	}
	if (p != NULL)
		n = pending_take(p, out);
	spin_unlock(&arp_lock);
	for (int i = 0; i < n; i++)
		eth_send(nif, out[i].pkt, mac, out[i].ethertype,
		    out[i].has_hints ? &out[i].hints : NULL);
	if (p != NULL)
		pending_release(p);
}

void
arp_input(struct netif *nif, struct iobuf *pkt)
{
	struct arp_pkt a;
	int op;

	NSTAT(arp, rx);
	if (iobuf_copy_out(pkt, 0, ARP_LEN, &a) == NULL ||
	    ntoh16(a.htype) != ARP_HTYPE_ETH || ntoh16(a.ptype) != ETHERTYPE_IPV4 ||
	    a.hlen != ETH_ALEN || a.plen != 4 ||
	    ((op = ntoh16(a.op)) != ARP_REQUEST && op != ARP_REPLY) ||
	    (a.sha[0] & 1)) {			/* a group MAC is no one's */
		NSTAT(arp, rx_bad);
		iobuf_free_chain(pkt);
		return;
	}
	iobuf_free_chain(pkt);		/* everything we need is in a */
	if (op == ARP_REQUEST)
		NSTAT(arp, rx_requests);
	else
		NSTAT(arp, rx_replies);
	if (nif->ip == 0 || a.spa == 0 || a.spa == nif->ip)
		return;			/* unconfigured; a probe; a conflict */
	arp_learn(nif, a.spa, a.sha, a.tpa == nif->ip);
	if (op == ARP_REQUEST && a.tpa == nif->ip)
		arp_send(nif, ARP_REPLY, a.sha, a.sha, nif->ip, a.spa);
}

/* ---- flushing ------------------------------------------------------------ */

void
arp_flush(void)
{
	struct arp_held out[ARP_QUEUE_MAX];
	struct arp_pending *p;
	int n;

	spin_lock(&arp_lock);
	while (!TAILQ_EMPTY(&lru))
		entry_remove(TAILQ_FIRST(&lru));
	while ((p = LIST_FIRST(&pending)) != NULL) {
		n = pending_take(p, out);
		spin_unlock(&arp_lock);
		for (int i = 0; i < n; i++)
			iobuf_free_chain(out[i].pkt);
		pending_release(p);
		spin_lock(&arp_lock);
	}
	spin_unlock(&arp_lock);
}
