/*
 * tcp_sndq.c: the send queue: the application's bytes as segments of
 * whole MSSes, up to a TSO frame's (tcp_seg_cap), each holding its data
 * as iobuf clones, and the slices each transmission sends.  Portable.
 * Below tcp_out.c: it sends nothing.
 *
 *	tcp_send, tcp_write (tcp_api.c) -> tcp_queue_data (segments of up
 *	                                   to tcp_seg_cap, clones), tcp_queue_fin
 *	tcp_output -> tcp_seg_split (a segment cut to fit a window or cwnd,
 *	              or to the MSS it is sent again by)
 *	tcp_ack with SACK blocks -> tcp_seg_fine (the sent ones cut to MSSes)
 *	tcp_xmit, tcp_ack's retransmissions -> tcp_slice (fresh clones)
 *	tcp_ack, tcp_conn_free -> tcp_seg_free
 *
 * Why segments of many MSSes: a segment costs a struct, its clone, a turn
 * of tcp_output's loop, a send time and, when acked, a free; queued by
 * the TSO frame and sent as one (gso.c cuts it, or the device), a bulk
 * sender pays those once a frame, as Linux's socket buffers of 64 KiB
 * do.  Where TCP counts or resends by the MSS (the SACK scoreboard,
 * IsLost, a retransmission, the tail loss probe), the segment is cut
 * into MSSes first; a cut keeps what the segment had been through (its
 * send time, resends, marks).
 *
 * Retransmission keeps the bytes without copying: a segment's data is a
 * chain of iobuf clones of the application's buffers (the first made in
 * the segment itself, s->head, by iobuf_clone_in: a segment within one
 * of the application's buffers, the usual case, costs no clone's
 * allocation; tcp_seg_drop_data gives it up), and each transmission
 * sends fresh clones of those (tcp_slice).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "kernel/malloc.h"
#include "pkt.h"
#include "stats.h"
#include "tcp_int.h"

/* ---- buffers ---------------------------------------------------------------- */

/* Free chain d, whose first buffer may be in (iobuf_clone_in's). */
static void
chain_drop(struct iobuf *in, struct iobuf *d)
{
	struct iobuf *next;

	if (d != NULL && d == in) {
		next = d->next;
		iobuf_unview(d);
		d = next;
	}
	iobuf_free_chain(d);
}

/*
 * A chain of clones of len bytes of b from off, the first made in in
 * (iobuf_clone_in) unless in is NULL; NULL if out of memory.
 */
static struct iobuf *
slice(struct iobuf *in, const struct iobuf *b, size_t off, size_t len)
{
	struct iobuf *head = NULL, **tail = &head, *n;

	if (b != NULL && off < b->len && len > 0 && len <= b->len - off) {
		/* The usual case: the bytes lie within one buffer. */
		if ((n = in != NULL ? iobuf_clone_in(in, b) : iobuf_clone(b)) == NULL)
			return NULL;
		n->data += off;
		n->len = len;
		return n;
	}
	for (; b != NULL && len > 0; b = b->next) {
		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		n = head == NULL && in != NULL ? iobuf_clone_in(in, b) : iobuf_clone(b);
		if (n == NULL) {
			chain_drop(in, head);
			return NULL;
		}
		iobuf_advance(n, off);
		off = 0;
		if (n->len > len)
			iobuf_trim(n, len);
		len -= n->len;
		*tail = n;
		tail = &n->next;
	}
	return head;
}

/* A chain of clones of len bytes of b from off; NULL if out of memory. */
struct iobuf *
tcp_slice(const struct iobuf *b, size_t off, size_t len)
{
	return slice(NULL, b, off, len);
}

/* Give up s's payload (s->data NULL after). */
void
tcp_seg_drop_data(struct tcp_seg *s)
{
	chain_drop(&s->head, s->data);
	s->data = NULL;
}

/* Free s and its payload (s is off the queue). */
void
tcp_seg_free(struct tcp_seg *s)
{
	tcp_seg_drop_data(s);
	kfree(s);
}

/* Append n bytes to seg s: from chain src at off, or copied from bytes. */
static int
seg_append(struct tcp_seg *s, const struct iobuf *src, size_t off, size_t n,
    const uint8_t *bytes)
{
	struct iobuf *add, *last;

	if (src != NULL) {
		/* The first clone in the segment itself (s->head is free). */
		if ((add = slice(s->data == NULL ? &s->head : NULL, src, off, n)) == NULL)
			return ENOMEM;
	} else {
		/* Into the last buffer's tailroom, if it is ours alone. */
		for (last = s->data; last != NULL && last->next != NULL; last = last->next)
			;
		if (last != NULL && !iobuf_shared(last) && iobuf_tailroom(last) >= n) {
			memcpy(iobuf_put(last, n), bytes, n);
			s->len += (uint32_t)n;
			return 0;
		}
		if ((add = iobuf_alloc(IOBUF_HEADROOM, n)) == NULL)
			return ENOMEM;
		memcpy(iobuf_put(add, n), bytes, n);
	}
	if (s->data == NULL)
		s->data = add;
	else
		iobuf_chain_append(s->data, add);
	s->len += (uint32_t)n;
	return 0;
}

/* Set s up empty, at seq (the fields one by one: no memset of the head clone). */
static void
seg_init(struct tcp_seg *s, uint32_t seq)
{
	s->seq = seq;
	s->len = 0;
	s->flags = 0;
	s->sacked = 0;
	s->lost = 0;
	s->rexmit_rec = 0;
	s->rexmits = 0;
	s->sent_ns = 0;
	s->data = NULL;
}

/* A new empty segment at the tail, starting at seq; NULL if out of memory. */
static struct tcp_seg *
seg_new(struct tcp_conn *c, uint32_t seq)
{
	struct tcp_seg *s = kmalloc(sizeof *s);

	if (s == NULL)
		return NULL;
	seg_init(s, seq);
	TAILQ_INSERT_TAIL(&c->sndq, s, link);
	if (c->snd_next == NULL)
		c->snd_next = s;
	return s;
}

/* The sequence number after the last queued byte. */
static uint32_t
sndq_end(const struct tcp_conn *c)
{
	struct tcp_seg *last = TAILQ_LAST(&c->sndq, tcp_segq);

	return last == NULL ? c->snd_una : last->seq + seg_span(last);
}

/* Queue up to n bytes (clones of data, or copies of bytes); how many it took. */
size_t
tcp_queue_data(struct tcp_conn *c, const struct iobuf *data, size_t n,
    const void *bytes, int *err)
{
	size_t room = tcp_sndbuf_room(c), done = 0, k, base = 0;
	struct tcp_seg *s = TAILQ_LAST(&c->sndq, tcp_segq);
	const struct iobuf *at = data;	/* data's buffer holding byte done, */
					/* base bytes into the chain */
	if (n > room)
		n = room;
	while (done < n) {
		/* The tail segment grows while it is unsent and short of a
		 * TSO frame's whole MSSes (tcp_seg_cap). */
		if (s == NULL || c->snd_next == NULL || s->len >= tcp_seg_cap(c) ||
		    (s->flags & (TCP_FFIN | TCP_FSYN))) {
			if ((s = seg_new(c, sndq_end(c))) == NULL)
				break;
		}
		k = tcp_seg_cap(c) - s->len;
		if (k > n - done)
			k = n - done;
		for (; at != NULL && done - base >= at->len; at = at->next)
			base += at->len;
		if ((*err = seg_append(s, at, done - base, k,
		    bytes == NULL ? NULL : (const uint8_t *)bytes + done)) != 0)
			break;
		done += k;
		c->sndq_bytes += (uint32_t)k;
	}
	/* A segment made but left empty by a failed append goes. */
	if (s != NULL && s->len == 0 && s->flags == 0) {
		if (c->snd_next == s)
			c->snd_next = NULL;
		TAILQ_REMOVE(&c->sndq, s, link);
		kfree(s);
	}
	if (done > 0)
		*err = 0;
	return done;
}

/* Queue our FIN after everything queued; 0, or ENOMEM. */
int
tcp_queue_fin(struct tcp_conn *c)
{
	struct tcp_seg *s = TAILQ_LAST(&c->sndq, tcp_segq);

	if (s != NULL && c->snd_next != NULL && !(s->flags & TCP_FFIN)) {
		s->flags |= TCP_FFIN;		/* rides on the last unsent segment */
		c->shut_wr = 1;
		return 0;
	}
	if ((s = seg_new(c, sndq_end(c))) == NULL) {
		NSTAT(tcp, nomem);
		return ENOMEM;
	}
	s->flags = TCP_FFIN;
	c->shut_wr = 1;
	return 0;
}

/*
 * Cut s after k payload bytes into two segments; 0, or ENOMEM.  The
 * second keeps what s had been through (sent when, how often, deemed
 * lost, resent in this recovery); neither is SACKed whole any more
 * than s was.
 */
int
tcp_seg_split(struct tcp_conn *c, struct tcp_seg *s, uint32_t k)
{
	struct tcp_seg *t = kmalloc(sizeof *t);
	struct iobuf *a, *b;

	if (t == NULL)
		return ENOMEM;
	seg_init(t, s->seq + k);
	t->sacked = s->sacked;
	t->lost = s->lost;
	t->rexmit_rec = s->rexmit_rec;
	t->rexmits = s->rexmits;
	t->sent_ns = s->sent_ns;
	if ((a = tcp_slice(s->data, 0, k)) == NULL ||
	    (b = tcp_slice(s->data, k, s->len - k)) == NULL) {
		iobuf_free_chain(a);
		kfree(t);
		return ENOMEM;
	}
	tcp_seg_drop_data(s);
	s->data = a;
	t->data = b;
	t->seq = s->seq + k;
	t->len = s->len - k;
	t->flags = s->flags & TCP_FFIN;
	s->flags &= (uint8_t)~TCP_FFIN;
	s->len = k;
	TAILQ_INSERT_AFTER(&c->sndq, s, t, link);
	return 0;
}

/*
 * Cut every sent segment longer than an MSS into segments of one (the
 * SACK scoreboard and recovery count and resend by the MSS); 0, or
 * ENOMEM (those cut so far stay cut).
 */
int
tcp_seg_fine(struct tcp_conn *c)
{
	struct tcp_seg *s;

	TAILQ_FOREACH(s, &c->sndq, link) {
		if (!SEQ_LT(s->seq, c->snd_max))
			break;
		if (s->len > c->mss && tcp_seg_split(c, s, c->mss) != 0)
			return ENOMEM;
	}
	return 0;
}
