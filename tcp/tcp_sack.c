/*
 * tcp_sack.c: the out-of-order queue and SACK, both ways.  Portable.
 *
 *	receiver: tcp_receive -> tcp_ooo_add (sorted, overlaps trimmed,
 *	                         bounded by the window and TCP_OOO_SEGS_MAX)
 *	                      -> tcp_ooo_take (what the hole's filling made
 *	                         in order, for tcp_receive to deliver)
 *	          tcp_emit -> tcp_sack_blocks (RFC 2018 section 4)
 *	sender:   tcp_ack -> tcp_sack_update (mark SACKed segments, then
 *	                     RFC 6675 IsLost)
 *	          tcp_ack, tcp_rto_expired -> tcp_recovery_reset
 *	          tcp_output -> tcp_next_hole, tcp_pipe (RFC 6675 NextSeg
 *	                        rule 1 and the pipe)
 *
 * The out-of-order queue holds segments that arrived beyond RCV.NXT, in
 * sequence order, never overlapping (a new arrival is trimmed to what
 * is not held yet), as the frames' own buffers.  Their bytes count
 * against the window we advertise, so the queue can never hold more
 * than the receive buffer; TCP_OOO_SEGS_MAX bounds how many entries
 * (and so blocks) tiny segments can pin.
 *
 * SACK blocks (RFC 2018 4): each run of contiguous queued bytes is a
 * block; the first block reported is the one holding the most recent
 * arrival, the rest follow in sequence order, as many as the option
 * space allows.
 *
 * The scoreboard lives in the send queue's segments (tcp_int.h): a
 * block from the peer marks every sent segment it covers entirely as
 * sacked; a segment not SACKed with at least TCP_DUPTHRESH SACKed
 * segments above it is lost (RFC 6675 IsLost, counted in segments).
 * The pipe is RFC 6675's: the bytes of every sent segment not SACKed,
 * not counting lost ones unless they were sent again.  Besides the
 * count, a segment is lost by time (after RACK, RFC 8985): when one
 * sent after it, by more than a reordering allowance, has been SACKed;
 * that way a hole sent again and lost again is found without the RTO
 * (with no allowance at all during recovery).
 * (RACK's own rule, which also waits an RTT from the send, and its
 * reordering timer are not here; a tail loss probe, tcp_timer.c, draws
 * the SACKs when the ACKs stop.)
 */
#include "kernel/malloc.h"
#include "pkt.h"
#include "stats.h"
#include "tcp_int.h"

/* Free entry e of the queue. */
static void
ooo_remove(struct tcp_conn *c, struct tcp_ooo *e)
{
	TAILQ_REMOVE(&c->oooq, e, link);
	c->ooo_bytes -= e->len;
	c->ooo_segs--;
	iobuf_free_chain(e->data);
	kfree(e);
}

/* Queue len bytes at seq (and a FIN after them) beyond RCV.NXT. */
void
tcp_ooo_add(struct tcp_conn *c, uint32_t seq, struct iobuf *data, uint32_t len,
    int fin)
{
	struct tcp_ooo *e, *n, *before = NULL;
	uint32_t end = seq + len;

	/* Trim against what is held; find where it goes. */
	for (e = TAILQ_FIRST(&c->oooq); e != NULL; e = n) {
		uint32_t eend = e->seq + e->len;
		n = TAILQ_NEXT(e, link);
		if (SEQ_LEQ(eend, seq)) {		/* wholly before */
			before = e;
			continue;
		}
		if (SEQ_GEQ(e->seq, end))		/* wholly after: stop */
			break;
		if (SEQ_LEQ(e->seq, seq) && SEQ_GEQ(eend, end)) {
			e->fin |= fin && eend == end;	/* nothing new but maybe FIN */
			NSTAT(tcp, rx_dup);
			iobuf_free_chain(data);
			return;
		}
		if (SEQ_LEQ(e->seq, seq)) {		/* e covers our front */
			pkt_skip(data, eend - seq);
			len -= eend - seq;
			seq = eend;
			before = e;
			continue;
		}
		if (SEQ_GEQ(end, eend)) {		/* we cover e: it goes */
			fin |= e->fin && eend == end;
			ooo_remove(c, e);
			continue;
		}
		len = e->seq - seq;			/* e covers our end */
		pkt_trim(data, len);
		end = seq + len;
		fin = 0;
		break;
	}
	if (c->ooo_segs >= TCP_OOO_SEGS_MAX || (e = kmalloc(sizeof *e)) == NULL) {
		NSTAT(tcp, rx_ooo_drops);
		iobuf_free_chain(data);
		return;
	}
	e->seq = seq;
	e->len = len;
	e->fin = fin;
	e->data = data;
	if (before == NULL)
		TAILQ_INSERT_HEAD(&c->oooq, e, link);
	else
		TAILQ_INSERT_AFTER(&c->oooq, before, e, link);
	c->ooo_bytes += len;
	c->ooo_segs++;
	c->sack_recent = seq;
	c->ctr.ooo_segs++;
	NSTAT(tcp, rx_ooo);
}

/*
 * The front of the queue, if what arrived since has made it in order:
 * 1, with its bytes beyond RCV.NXT in *data (*len of them, perhaps none)
 * and its FIN in *fin, for tcp_in.c to deliver; the entry is gone from
 * the queue.  0 when the queue is empty or a hole is still in front.
 * Entries wholly below RCV.NXT are freed on the way.
 */
int
tcp_ooo_take(struct tcp_conn *c, struct iobuf **data, uint32_t *len, int *fin)
{
	struct tcp_ooo *e;

	while ((e = TAILQ_FIRST(&c->oooq)) != NULL && SEQ_LEQ(e->seq, c->rcv_nxt)) {
		if (SEQ_LEQ(e->seq + e->len, c->rcv_nxt) && !(e->fin &&
		    e->seq + e->len == c->rcv_nxt)) {
			ooo_remove(c, e);		/* all old */
			continue;
		}
		pkt_skip(e->data, c->rcv_nxt - e->seq);
		*len = e->seq + e->len - c->rcv_nxt;
		*data = e->data;
		*fin = e->fin;
		e->data = NULL;
		ooo_remove(c, e);
		return 1;
	}
	return 0;
}

/* Free the whole out-of-order queue. */
void
tcp_ooo_free(struct tcp_conn *c)
{
	struct tcp_ooo *e;

	while ((e = TAILQ_FIRST(&c->oooq)) != NULL)
		ooo_remove(c, e);
}

/* The SACK blocks to send (the latest arrival first), at most max. */
int
tcp_sack_blocks(const struct tcp_conn *c, struct tcp_sackblk *out, int max)
{
	struct tcp_sackblk runs[TCP_OOO_SEGS_MAX > 64 ? 64 : TCP_OOO_SEGS_MAX];
	const struct tcp_ooo *e;
	int nr = 0, n = 0, first = -1;

	TAILQ_FOREACH(e, &c->oooq, link) {
		if (e->len == 0)
			continue;
		if (nr > 0 && runs[nr - 1].right == e->seq) {
			runs[nr - 1].right = e->seq + e->len;
		} else {
			if (nr == (int)(sizeof runs / sizeof runs[0]))
				break;
			runs[nr].left = e->seq;
			runs[nr].right = e->seq + e->len;
			nr++;
		}
		if (e->seq == c->sack_recent)
			first = nr - 1;
	}
	if (first >= 0 && n < max)
		out[n++] = runs[first];
	for (int i = 0; i < nr && n < max; i++)
		if (i != first)
			out[n++] = runs[i];
	return n;
}

/* Mark what s's SACK blocks cover, then IsLost and RACK's rule. */
void
tcp_sack_update(struct tcp_conn *c, const struct tcp_rxseg *s)
{
	struct tcp_seg *seg;
	uint64_t newest = 0, fresh = 0, reo;
	int above = 0;

	for (int i = 0; i < s->nsack; i++) {
		uint32_t l = s->sack[i].left, r = s->sack[i].right;
		/* Only blocks inside what is outstanding (not D-SACKs). */
		if (!SEQ_LT(l, r) || SEQ_LT(l, c->snd_una) || SEQ_GT(r, c->snd_max))
			continue;
		TAILQ_FOREACH(seg, &c->sndq, link) {
			if (!SEQ_LT(seg->seq, c->snd_max) || SEQ_GEQ(seg->seq, r))
				break;
			if (seg->len > 0 && !seg->sacked && SEQ_GEQ(seg->seq, l) &&
			    SEQ_LEQ(seg->seq + seg->len, r)) {
				seg->sacked = 1;
				if (seg->rexmits == 0 && seg->sent_ns > fresh &&
				    seg->sent_ns > c->rto_ns)
					fresh = seg->sent_ns;
			}
		}
	}
	if (fresh != 0)				/* an RTT sample (tcp_ack.c) */
		tcp_rtt_sample(c, (c->last_rx_ns - fresh) / 1000);	/* this ACK's time */
	/* IsLost, from the highest segment ever sent down. */
	for (seg = TAILQ_LAST(&c->sndq, tcp_segq); seg != NULL &&
	    !SEQ_LT(seg->seq, c->snd_max); seg = TAILQ_PREV(seg, tcp_segq, link))
		;
	for (; seg != NULL; seg = TAILQ_PREV(seg, tcp_segq, link)) {
		if (seg->sacked) {
			above++;
			if (seg->sent_ns > newest)
				newest = seg->sent_ns;
		} else if (above >= TCP_DUPTHRESH) {
			seg->lost = 1;
		}
	}
	/*
	 * RACK's idea (RFC 8985 6.2), by send times only: a segment is lost
	 * when something sent after it, by more than a reordering allowance
	 * (a quarter RTT, at least TCP_REO_MIN_NS), has arrived and it has
	 * not.  In recovery (fast, or the resend after an RTO) the allowance
	 * is zero, as RFC 8985 6.2 step 4 has it when no reordering has been
	 * seen (we never look for any): a retransmission lost again becomes
	 * a hole again as soon as anything sent after it is SACKed, not
	 * after a probe or the RTO.
	 */
	reo = (uint64_t)c->srtt_us * 1000 / 4;
	if (reo < TCP_REO_MIN_NS)
		reo = TCP_REO_MIN_NS;
	if (c->in_recovery || c->rto_sack)
		reo = 0;
	TAILQ_FOREACH(seg, &c->sndq, link) {
		if (!SEQ_LT(seg->seq, c->snd_max))
			break;
		if (!seg->sacked && seg->sent_ns != 0 && seg->sent_ns + reo < newest) {
			seg->rexmit_rec = 0;
			seg->lost = 1;
		}
	}
}

/* RFC 6675's pipe: bytes believed in the network. */
uint32_t
tcp_pipe(const struct tcp_conn *c)
{
	const struct tcp_seg *s;
	uint32_t pipe = 0;

	TAILQ_FOREACH(s, &c->sndq, link) {
		if (s == c->snd_next)
			break;
		if (s->sacked)
			continue;
		if (!s->lost)
			pipe += seg_span(s);
		if (s->rexmit_rec)
			pipe += seg_span(s);
	}
	return pipe;
}

/* The first segment deemed lost and not yet resent, or NULL. */
struct tcp_seg *
tcp_next_hole(struct tcp_conn *c)
{
	struct tcp_seg *s;

	TAILQ_FOREACH(s, &c->sndq, link) {
		if (s == c->snd_next)
			break;
		if (s->lost && !s->sacked && !s->rexmit_rec)
			return s;
	}
	return NULL;
}

/* Forget the scoreboard's recovery marks. */
void
tcp_recovery_reset(struct tcp_conn *c)
{
	struct tcp_seg *s;

	c->in_recovery = 0;
	c->dupacks = 0;
	TAILQ_FOREACH(s, &c->sndq, link)
		s->rexmit_rec = 0;
}
