/*
 * memlink.c: two interfaces joined by an in-memory wire (memlink.h).
 * Hosted.
 *
 *	netif_send(A) -> memlink_transmit: draws, wire_buffer (copy and
 *	                 checksum as needed), pcap, impairments, queue on
 *	                 A's wire queue of this core (deliver at `at`)
 *	... when `at` comes (at once, or A's queue timer on this core):
 *	wire_deliver (an event on this core) -> netif_input(B)
 *
 * Queues.  Each side has one wire queue per core; queue c of A feeds
 * queue c of B, so a frame sent on core c is received on core c, and a
 * queue is per-core data owned by core c: its ring, its timer, its event
 * record and its counters are touched only there, with no lock.  The
 * ring (queue_max slots and one for a duplicate, made on the queue's
 * first frame, so that a frame in flight costs no allocation) holds
 * frames in flight, sorted by delivery time `at` (frames with equal
 * times in sending order): a frame goes at the end, unless it is due
 * before the last (behind a reordered one), and then it moves up.  When
 * the head is due, the queue's own event record (spawn_on_record:
 * cannot fail) runs wire_deliver, which hands every due frame to the
 * peer; a head in the future arms the queue's timer, whose callback (in
 * a hook, not an event) only sends that event.
 *
 * Impairments.  For every frame, transmit draws four numbers from the
 * queue's random stream (xorshift64*, seeded from the seed, the side and
 * the core), always four and always in the same order, loss, duplicate,
 * corrupt, reorder, before anything else (a frame without memory for
 * its copy has drawn its four too), so that the same frames sent in the
 * same order on a queue meet the same fate whatever the settings of the
 * others; a link with no impairment at all draws none, since no draw
 * could change anything.  A lost frame is counted and freed; a
 * corrupted one has the byte at (the corrupt draw's high half) mod
 * length xored with 0xff; a reordered one is delivered reorder_ns late;
 * a duplicated one is queued twice (two copies) with the same time.
 * The rate limit serializes each queue: a frame leaves when the one
 * before has (busy_until) plus its own bytes at rate_bps, then takes
 * delay_ns to arrive.  A frame that none of these hold back is due at
 * once (at 0), so a link without them never reads the clock (and a
 * plain link, with no impairment, rate, delay or capture, queues a
 * frame the receiver may take as it is without a look at any of them:
 * wire_plain); each
 * wire_deliver hands over at most the frames queued when it began, so
 * that a conversation's replies wait for the next event (the core's
 * timers and other events run in between).  A frame that finds queue_max frames in flight is
 * dropped (a full router queue).  None of these are transmit errors:
 * the wire took the frame.  Only a missing copy or ring (no memory)
 * returns ENOMEM.
 *
 * Copies.  The receiver may write into what it gets where iobuf_shared
 * says no one else views it, and nowhere else (iobuf.h's rule), so a
 * chain whose first buffer, the headers, is the sender's alone crosses
 * as it is, as a loopback device passes its frames: an ACK, a UDP
 * datagram, a TCP segment (its headers' buffer, then clones of the send
 * queue, which the receiver sees shared and only reads).  A chain goes
 * so when its rest has MEMLINK_PASS_MIN bytes or more (a small copy
 * costs less than a longer chain to free), whether or not the receiver
 * will sum it (inet.c sums a chain about as fast as one buffer, and
 * faster than a copy would cost); else the rest is copied into the
 * first buffer's tailroom.  The wire
 * itself writes and reads frames as one buffer where it has to (a
 * checksum to fill in, a byte to corrupt, a capture, a duplicate: any
 * impairment asked for), so there each frame becomes one buffer the
 * receiver owns alone (wire_buffer): one buffer nobody else views goes
 * as it is; a chain whose first buffer is the sender's alone and has
 * the tailroom gets the rest copied there; anything else is copied into
 * a fresh iobuf.  The chain's other buffers are freed.
 *
 * Checksum offload.  With NETIF_F_TX_CSUM offered, a frame whose hints
 * ask for a checksum gets it here, summed as the bytes are copied
 * (inet_copy_chain), but only when someone will look at it: when the
 * receiving side does not offer NETIF_F_RX_CSUM, when the frame is to
 * be corrupted (so that the receiver's check catches the flip), or when
 * a capture is written.  Otherwise, as between two virtual machines on
 * one host, the frame crosses with the field as the sender left it (the
 * pseudo-header's sum) and arrives marked NETIF_RX_CSUM_OK: with both
 * offloads, nobody computes a checksum.  With NETIF_F_RX_CSUM, frames
 * that were not corrupted arrive marked NETIF_RX_CSUM_OK.
 *
 * pcap.  Every frame transmitted by either side, before the impairments
 * (what a capture at the sender sees), as one classic pcap file
 * (LINKTYPE_ETHERNET, microsecond times from clock_ns), under a mutex,
 * flushed after each record so that a test can read it while the link
 * lives.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebb/event.h"
#include "ebb/timer.h"
#include "kernel/platform.h"
#include "memlink.h"
#include "tcp/inet.h"
#include "tcp/proto.h"

#define MEMLINK_QUEUE_MAX	1024		/* default queue_max */
#define MEMLINK_REORDER_NS	TIMER_MS	/* default reorder_ns */
#define MEMLINK_PASS_MIN	256		/* a chain's rest crosses as it is from
						 * this many bytes; less is copied */
#define PCAP_MAGIC		0xa1b2c3d4u	/* microsecond times */
#define PCAP_SNAPLEN		65535
#define PCAP_LINKTYPE_ETHERNET	1

/* A frame in flight: a slot of its queue's ring. */
struct wire_frame {
	uint64_t at;			/* clock_ns() when it is delivered; 0: at once */
	struct iobuf *frame;
	uint32_t rx_flags;
};

/* One side's wire queue on one core.  Per-core data: owned by core. */
struct wire_queue {
	struct wire_frame *ring;	/* cap slots (made on first use), the n in
					 * flight from first on, sorted by at */
	uint32_t cap, first, n;
	int core;
	int scheduled;			/* ev queued, not yet run */
	uint64_t busy_until;		/* the rate limit: when the wire is free */
	uint64_t rng;			/* this queue's random stream */
	struct memlink_side *side;
	struct timer timer;		/* armed for head->at */
	struct event ev;		/* wire_deliver's record */
	struct memlink_stats st;
} __attribute__((aligned(CACHE_LINE)));

struct memlink_side {
	struct netif nif;		/* first: the driver state is nif.driver */
	struct memlink *link;
	struct memlink_side *peer;
	struct wire_queue q[NCPU];
};

struct memlink {
	struct memlink_config cfg;
	int impaired;			/* any of loss, dup, corrupt, reorder asked for */
	int plain;			/* none of those, no rate, delay or capture:
					 * memlink_transmit's short path */
	FILE *pcap;
	pthread_mutex_t pcap_lock;	/* held while a record is written */
	struct memlink_side side[2];
};

static int nlinks;			/* links made so far (atomic): MACs */

/* ---- random streams ---------------------------------------------------- */

static uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* Does draw r fall within ppm parts per million? */
static int
chance(uint64_t r, uint32_t ppm)
{
	return ppm != 0 && (r >> 11) % 1000000 < ppm;
}

/* splitmix64: a well-mixed non-zero start for each queue's stream. */
static uint64_t
rng_seed(uint64_t seed, int side, int core)
{
	uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (uint64_t)(side * NCPU + core + 1);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return z != 0 ? z : 1;
}

/* ---- pcap -------------------------------------------------------------- */

static int
pcap_open(struct memlink *ml, const char *path)
{
	struct {
		uint32_t magic;
		uint16_t major, minor;
		int32_t thiszone;
		uint32_t sigfigs, snaplen, linktype;
	} h = { PCAP_MAGIC, 2, 4, 0, 0, PCAP_SNAPLEN, PCAP_LINKTYPE_ETHERNET };

	if ((ml->pcap = fopen(path, "wb")) == NULL)
		return -1;
	if (fwrite(&h, sizeof h, 1, ml->pcap) != 1 || fflush(ml->pcap) != 0) {
		fclose(ml->pcap);
		return -1;
	}
	return 0;
}

/* One record: b, a linear frame. */
static void
pcap_write(struct memlink *ml, const struct iobuf *b)
{
	uint64_t t = clock_ns();
	uint32_t caplen = b->len < PCAP_SNAPLEN ? (uint32_t)b->len : PCAP_SNAPLEN;
	uint32_t r[4] = { (uint32_t)(t / 1000000000), (uint32_t)(t % 1000000000 / 1000),
	    caplen, (uint32_t)b->len };

	pthread_mutex_lock(&ml->pcap_lock);
	fwrite(r, sizeof r, 1, ml->pcap);
	fwrite(b->data, 1, caplen, ml->pcap);
	fflush(ml->pcap);
	pthread_mutex_unlock(&ml->pcap_lock);
}

/* ---- the frame's buffer ------------------------------------------------ */

/*
 * Copy frame's bytes from k on (src: the chain from there; len bytes in
 * all) to b->data + k.  If h asks for a checksum, sum from h->csum_start
 * to the end as the bytes go (those before k summed where they are) and
 * store it: the device's checksum offload (netif.h), a computed 0 sent
 * as 0xffff, as a device does for UDP's sake.
 */
static void
wire_copy(struct iobuf *b, const struct iobuf *src, size_t k, size_t len,
    const struct netif_tx_hints *h)
{
	size_t start, from;
	uint32_t sum = 0;
	uint16_t csum;

	if (h == NULL || (size_t)h->csum_start + h->csum_offset + 2 > len) {
		iobuf_copy_out(src, 0, len - k, b->data + k);
		return;
	}
	start = h->csum_start;
	from = start > k ? start : k;	/* the copy is summed from here on */
	if (start < k)
		sum = inet_sum(b->data + start, k - start, 0);
	iobuf_copy_out(src, 0, from - k, b->data + k);
	sum = inet_add(sum, inet_copy_chain(b->data + from, src, from - k, len - from, 0),
	    from - start);
	csum = hton16(inet_csum(sum));
	if (csum == 0)
		csum = 0xffff;
	memcpy(b->data + start + h->csum_offset, &csum, 2);
}

/*
 * The wire's buffer for frame (which it consumes): one buffer that the
 * receiver will own alone.  A frame that is one buffer nobody else
 * views goes as it is.  Otherwise, when the first buffer is ours alone
 * and its tailroom holds the rest, the rest is copied there (a TCP
 * segment: its headers' buffer, then clones of the sender's queue);
 * else the whole frame is copied into a fresh buffer.  h: fill in the
 * checksum it asks for on the way (NULL: none).  NULL if memory ran out.
 */
static struct iobuf *
wire_buffer(struct iobuf *frame, const struct netif_tx_hints *h)
{
	size_t len = iobuf_chain_len(frame), k = 0;
	struct iobuf *b, *src = frame;

	if (!iobuf_shared(frame) && iobuf_tailroom(frame) >= len - frame->len) {
		b = frame;
		k = frame->len;		/* these bytes are in place already */
		src = frame->next;
		b->next = NULL;
	} else if ((b = iobuf_alloc(IOBUF_HEADROOM, len)) == NULL) {
		iobuf_free_chain(frame);
		return NULL;
	}
	iobuf_put(b, len - k);
	wire_copy(b, src, k, len, h);
	iobuf_free_chain(src);
	return b;
}

/* ---- the wire queue ---------------------------------------------------- */

static void wire_deliver(void *arg);

/* The ring's slot i places after the first (i < q->cap). */
static struct wire_frame *
wire_slot(struct wire_queue *q, uint32_t i)
{
	i += q->first;
	return &q->ring[i < q->cap ? i : i - q->cap];
}

/*
 * Put b on q (room for it checked), to be delivered at `at`, after
 * frames due no later: at the end, the usual case, or, for a frame due
 * before the last (a reordered frame is behind it), moved up past the
 * later ones.
 */
static void
wire_put(struct wire_queue *q, struct iobuf *b, uint64_t at, uint32_t flags)
{
	uint32_t i = q->n++;

	for (; i > 0 && wire_slot(q, i - 1)->at > at; i--)
		*wire_slot(q, i) = *wire_slot(q, i - 1);
	*wire_slot(q, i) = (struct wire_frame){ at, b, flags };
}

/* Make sure wire_deliver runs when q's head is due. */
static void
wire_kick(struct wire_queue *q)
{
	uint64_t at;

	if (q->n == 0 || q->scheduled)
		return;
	at = q->ring[q->first].at;
	if (at == 0 || at <= clock_ns()) {
		timer_stop(&q->timer);
		q->scheduled = 1;
		spawn_on_record(q->core, &q->ev, wire_deliver, q);
	} else if (!timer_armed(&q->timer) || q->timer.deadline != at) {
		if (timer_start_at(&q->timer, at, 0) != 0) {
			q->scheduled = 1;	/* no timer: poll with the event */
			spawn_on_record(q->core, &q->ev, wire_deliver, q);
		}
	}
}

/* The timer's callback, in a hook: only send the event. */
static void
wire_timer(void *arg)
{
	struct wire_queue *q = arg;

	if (!q->scheduled) {
		q->scheduled = 1;
		spawn_on_record(q->core, &q->ev, wire_deliver, q);
	}
}

/*
 * The event: every frame due when it began to the peer (those the peer
 * sends back meanwhile wait for the next event), then wait for the next.
 * The clock is read only for a frame with a time (at 0: due at once).
 */
static void
wire_deliver(void *arg)
{
	struct wire_queue *q = arg;
	struct netif *peer = &q->side->peer->nif;
	uint64_t now = 0;
	uint32_t todo = q->n;
	struct wire_frame w;

	q->scheduled = 0;
	for (; todo > 0 && q->n > 0; todo--) {
		w = q->ring[q->first];
		if (w.at != 0) {		/* held back: is it due yet? */
			if (now == 0)
				now = clock_ns();
			if (w.at > now)
				break;
		}
		q->first = q->first + 1 < q->cap ? q->first + 1 : 0;	/* off the */
		q->n--;			/* queue before the stack runs */
		q->st.delivered++;
		netif_input(peer, w.frame, w.rx_flags);
	}
	wire_kick(q);
}

/* q's ring, made on the first frame: queue_max slots and one for a duplicate.  0, or -1. */
static int
wire_ring(struct wire_queue *q, const struct memlink_config *cfg)
{
	if (q->ring != NULL)
		return 0;
	if ((q->ring = calloc(cfg->queue_max + 1, sizeof *q->ring)) == NULL)
		return -1;
	q->cap = cfg->queue_max + 1;
	return 0;
}

/* ---- transmit ---------------------------------------------------------- */

/*
 * A plain link's frame that crosses as it is (memlink_transmit decided):
 * at the end of q, due at once, nothing drawn, copied or timed.
 */
static int
wire_plain(struct wire_queue *q, struct iobuf *frame, uint32_t flags)
{
	uint32_t i;

	if (q->n >= q->side->link->cfg.queue_max) {
		q->st.overflow++;
		iobuf_free_chain(frame);
		return 0;
	}
	q->st.sent++;
	i = q->first + q->n++;
	q->ring[i < q->cap ? i : i - q->cap] = (struct wire_frame){ 0, frame, flags };
	if (!q->scheduled) {
		q->scheduled = 1;
		spawn_on_record(q->core, &q->ev, wire_deliver, q);
	}
	return 0;
}

/*
 * The driver's transmit: the wire's buffer (a copy if need be), the
 * pcap record, the impairments, onto this core's queue.  On a plain
 * link (no impairment, rate, delay or capture), a frame that the
 * receiver may take as it is goes straight onto the queue.
 */
static int
memlink_transmit(struct netif *nif, struct iobuf *frame,
    const struct netif_tx_hints *hints)
{
	struct memlink_side *s = nif->driver;
	struct memlink *ml = s->link;
	const struct memlink_config *cfg = &ml->cfg;
	struct wire_queue *q = &s->q[core_id()];
	uint32_t peer_features = s->peer->nif.features, flags = 0;
	uint64_t r_loss = 0, r_dup = 0, r_corrupt = 0, r_reorder = 0, now, at;
	struct iobuf *b, *d;
	int corrupt, fill, reorder;

	if (ml->plain && q->ring != NULL && (!hints->csum || (peer_features & NETIF_F_RX_CSUM))) {
		/* As below with nothing drawn and no checksum to fill in: as
		 * it is, or one buffer. */
		if ((iobuf_shared(frame) || (frame->next != NULL &&
		    iobuf_chain_len(frame->next) < MEMLINK_PASS_MIN)) &&
		    (frame = wire_buffer(frame, NULL)) == NULL) {
			q->st.nomem++;
			return ENOMEM;
		}
		return wire_plain(q, frame, (peer_features & NETIF_F_RX_CSUM) ? NETIF_RX_CSUM_OK : 0);
	}
	if (ml->impaired) {			/* always four, in this order */
		r_loss = rng_next(&q->rng);
		r_dup = rng_next(&q->rng);
		r_corrupt = rng_next(&q->rng);
		r_reorder = rng_next(&q->rng);
	}
	corrupt = chance(r_corrupt, cfg->corrupt_ppm);
	/* The offloaded checksum, only where someone will look at it. */
	fill = hints->csum && (nif->features & NETIF_F_TX_CSUM) &&
	    (!(peer_features & NETIF_F_RX_CSUM) || corrupt || ml->pcap != NULL);
	if (wire_ring(q, cfg) != 0) {
		iobuf_free_chain(frame);
		q->st.nomem++;
		return ENOMEM;
	}
	if (!fill && !ml->impaired && ml->pcap == NULL && !iobuf_shared(frame) &&
	    (frame->next == NULL || iobuf_chain_len(frame->next) >= MEMLINK_PASS_MIN)) {
		b = frame;			/* crosses as it is */
	} else if ((b = wire_buffer(frame, fill ? hints : NULL)) == NULL) {
		q->st.nomem++;
		return ENOMEM;
	}
	q->st.sent++;
	if (ml->pcap != NULL)
		pcap_write(ml, b);

	if (chance(r_loss, cfg->loss_ppm)) {
		q->st.lost++;
		iobuf_free(b);
		return 0;
	}
	if (q->n >= cfg->queue_max) {
		q->st.overflow++;
		iobuf_free(b);
		return 0;
	}
	reorder = chance(r_reorder, cfg->reorder_ppm);
	at = 0;				/* due at once: no clock needed */
	if (cfg->rate_bps != 0 || cfg->delay_ns != 0 || reorder) {
		now = clock_ns();
		at = now;
		if (cfg->rate_bps != 0) {
			at = q->busy_until > now ? q->busy_until : now;
			at += iobuf_chain_len(b) * 8 * 1000000000ULL / cfg->rate_bps;
			q->busy_until = at;
		}
		at += cfg->delay_ns;
		if (reorder) {
			at += cfg->reorder_ns;
			q->st.reordered++;
		}
	}
	if (corrupt && b->len > 0) {
		b->data[(r_corrupt >> 32) % b->len] ^= 0xff;
		q->st.corrupted++;
	} else if (peer_features & NETIF_F_RX_CSUM) {
		flags = NETIF_RX_CSUM_OK;
	}
	d = chance(r_dup, cfg->dup_ppm) ? iobuf_linearize(b, IOBUF_HEADROOM) : NULL;
	wire_put(q, b, at, flags);
	if (chance(r_dup, cfg->dup_ppm)) {
		if (d == NULL) {
			q->st.nomem++;
		} else {
			wire_put(q, d, at, flags);	/* the ring's spare slot */
			q->st.duplicated++;
		}
	}
	wire_kick(q);
	return 0;
}

static const struct netif_ops memlink_ops = {
	.transmit = memlink_transmit,
};

/* ---- making a link ----------------------------------------------------- */

static void
side_init(struct memlink *ml, int i, const char *name, int num)
{
	struct memlink_side *s = &ml->side[i];
	struct netif *nif = &s->nif;
	static const uint8_t mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0 };

	s->link = ml;
	s->peer = &ml->side[1 - i];
	nif->ops = &memlink_ops;
	nif->driver = s;
	snprintf(nif->name, NETIF_NAME_MAX, "%s", name);
	memcpy(nif->mac, mac, ETH_ALEN);
	nif->mac[4] = (uint8_t)num;
	nif->mac[5] = (uint8_t)(i + 1);
	nif->mtu = ml->cfg.mtu != 0 ? ml->cfg.mtu : 1500;
	nif->features = ml->cfg.features & (NETIF_F_TX_CSUM | NETIF_F_RX_CSUM);
	nif->nqueues = core_count();
	for (int c = 0; c < NCPU; c++) {
		struct wire_queue *q = &s->q[c];

		q->core = c;
		q->side = s;
		q->rng = rng_seed(ml->cfg.seed, i, c);
		timer_setup(&q->timer, wire_timer, q);
	}
}

struct memlink *
memlink_create(const char *name_a, const char *name_b,
    const struct memlink_config *cfg)
{
	struct memlink *ml;
	int num = __atomic_add_fetch(&nlinks, 1, __ATOMIC_RELAXED);	/* a name */

	if (posix_memalign((void **)&ml, CACHE_LINE, sizeof *ml) != 0)
		return NULL;
	memset(ml, 0, sizeof *ml);
	ml->cfg = *cfg;
	if (ml->cfg.queue_max == 0)
		ml->cfg.queue_max = MEMLINK_QUEUE_MAX;
	if (ml->cfg.reorder_ns == 0)
		ml->cfg.reorder_ns = MEMLINK_REORDER_NS;
	ml->impaired = cfg->loss_ppm != 0 || cfg->dup_ppm != 0 || cfg->corrupt_ppm != 0 ||
	    cfg->reorder_ppm != 0;
	ml->plain = !ml->impaired && cfg->rate_bps == 0 && cfg->delay_ns == 0 &&
	    cfg->pcap == NULL;
	pthread_mutex_init(&ml->pcap_lock, NULL);
	if (cfg->pcap != NULL && pcap_open(ml, cfg->pcap) < 0) {
		free(ml);
		return NULL;
	}
	side_init(ml, 0, name_a, num);
	side_init(ml, 1, name_b, num);
	if (netif_add(&ml->side[0].nif) < 0 || netif_add(&ml->side[1].nif) < 0)
		panic("memlink_create: netif_add refused a new interface");
	return ml;
}

struct netif *
memlink_netif(struct memlink *ml, int side)
{
	return &ml->side[side].nif;
}

void
memlink_stats(struct memlink *ml, int side, struct memlink_stats *st)
{
	memset(st, 0, sizeof *st);
	for (int c = 0; c < NCPU; c++) {
		const struct memlink_stats *q = &ml->side[side].q[c].st;

		st->sent += q->sent;
		st->delivered += q->delivered;
		st->lost += q->lost;
		st->duplicated += q->duplicated;
		st->corrupted += q->corrupted;
		st->reordered += q->reordered;
		st->overflow += q->overflow;
		st->nomem += q->nomem;
	}
}
