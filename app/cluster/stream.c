/*
 * stream.c: the cluster app's checked streams, and small helpers for
 * its messages.  Both roles send and receive streams the same way.
 *
 * An item is CL_ITEM bytes: its sequence number and its source's
 * address (big-endian), then bytes that are a function of both, so a
 * receiver checks every byte and the order: item k of a source must be
 * its k-th.  The sender awaits the delivery (msg.h: the peer's TCP has
 * it) of every CL_SENT_EVERY-th item and of the END, which is enough
 * to know how many failed when a connection breaks: a break fails every
 * message not yet acknowledged, in order.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "ebb/event.h"
#include "kernel/malloc.h"
#include "tcp/proto.h"

static uint8_t
pattern(uint32_t seq, uint32_t src, int i)
{
	return (uint8_t)(seq * 131 + src * 7 + (uint32_t)i * 13);
}

uint32_t
cl_word(const struct msg *m, uint32_t off)
{
	uint32_t w;

	if (m->data == NULL || m->len < off + 4 || iobuf_copy_out(m->data, off, 4, &w) == NULL)
		return 0;
	return ntoh32(w);
}

int
cl_send(struct messenger *m, uint32_t to, uint32_t ebb, uint16_t kind,
    const void *p, uint32_t n)
{
	struct iobuf *b = NULL;
	int err;

	if (n > 0) {
		if ((b = iobuf_alloc(IOBUF_HEADROOM, n)) == NULL)
			return ENOMEM;
		memcpy(iobuf_put(b, n), p, n);
	}
	if ((err = msg_send(m, to, ebb, kind, b, NULL)) != 0)
		iobuf_free_chain(b);
	return err;
}

/* Send one message, waiting for room while the peer's queue is full. */
static int
send_waiting(struct messenger *m, uint32_t to, uint32_t ebb, uint16_t kind,
    struct iobuf *b, struct future *sent)
{
	int err;

	while ((err = msg_send(m, to, ebb, kind, b, sent)) == EAGAIN) {
		struct future room;

		future_init(&room);
		if ((err = msg_wait_room(m, to, &room)) != 0)
			break;
		future_block(&room, NULL);
	}
	if (err != 0)
		iobuf_free_chain(b);
	return err;
}

/* Wait for the awaited delivery in slot i (covering items to upto). */
static void
await(struct future *f, uint32_t upto, uint32_t *done, struct cl_out *out)
{
	if (future_block(f, NULL) != 0) {
		out->failed += upto - *done;
		if (out->err == 0)
			out->err = f->err;
	}
	*done = upto;
}

void
cl_stream(struct messenger *m, uint32_t to, uint32_t ebb, uint32_t src,
    uint32_t n, uint32_t size, const int *stop, const char *label, struct cl_out *out)
{
	enum { AWAIT_MAX = 64 };	/* futures pending at once: a ring */
	struct future sent[AWAIT_MAX];	/* (the messenger holds their addresses) */
	uint32_t upto[AWAIT_MAX];	/* the items each one covers end there */
	uint32_t end = hton32(n), done = 0, head = 0, npend = 0;
	int err = 0;

	memset(out, 0, sizeof *out);
	out->n = n;
	for (uint32_t k = 0; k <= n; k++) {
		int last = k == n, awaited = last || (k + 1) % CL_SENT_EVERY == 0;
		struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, size);
		struct future *f = NULL;
		uint32_t slot;

		if (__atomic_load_n(stop, __ATOMIC_RELAXED)) {
			err = ECONNABORTED;	/* the peer is gone */
			if (b != NULL)
				iobuf_free(b);
			break;
		}
		if (b == NULL) {
			err = ENOMEM;
			break;
		}
		if (last) {
			memcpy(iobuf_put(b, 4), &end, 4);
		} else {
			uint8_t *p = iobuf_put(b, size);
			uint32_t w[2] = { hton32(k), hton32(src) };

			memcpy(p, w, 8);
			for (uint32_t i = 8; i < size; i++)
				p[i] = pattern(k, src, (int)i);
		}
		if (awaited) {
			if (npend == AWAIT_MAX) {	/* the oldest first */
				await(&sent[head], upto[head], &done, out);
				head = (head + 1) % AWAIT_MAX;
				npend--;
			}
			slot = (head + npend) % AWAIT_MAX;
			f = &sent[slot];
			future_init(f);
			upto[slot] = last ? n : k + 1;
		}
		if ((err = send_waiting(m, to, ebb, last ? K_END : K_DATA, b, f)) != 0)
			break;
		if (!last && ++out->sent % CL_PROGRESS == 0 && label != NULL)
			printf("%s: %u items sent\n", label, out->sent);
		if (f != NULL)
			npend++;
	}
	if (err == ECONNABORTED)	/* what is queued toward a dead peer */
		msgr_drop(m, to);	/* fails now, not at TCP's give-up */
	for (; npend > 0; npend--, head = (head + 1) % AWAIT_MAX)
		await(&sent[head], upto[head], &done, out);
	if (err != 0) {			/* items from out->sent on never went */
		out->failed += n - out->sent;
		if (out->err == 0)
			out->err = err;
	}
	if (out->failed > n)
		out->failed = n;
}

void
cl_stream_data(struct cl_in *in, uint32_t src, const struct msg *m)
{
	uint8_t p[256];
	uint32_t w[2], seq = 0;
	int ok = m->len >= 8 && iobuf_copy_out(m->data, 0, 8, w) != NULL;

	if (in->ended)			/* a new stream from the same source */
		*in = (struct cl_in){ 0 };
	if (ok) {
		seq = ntoh32(w[0]);
		ok = seq == in->got + in->bad && ntoh32(w[1]) == src;
	}
	for (uint32_t off = 8; ok && off < m->len; off += sizeof p) {
		uint32_t n = m->len - off < sizeof p ? m->len - off : (uint32_t)sizeof p;

		iobuf_copy_out(m->data, off, n, p);
		for (uint32_t i = 0; ok && i < n; i++)
			ok = p[i] == pattern(seq, src, (int)(off + i));
	}
	if (ok)
		in->got++;
	else
		in->bad++;
}

struct core0 {
	struct msg *m;
	void (*fn)(struct msg *m);
};

static void
core0_event(void *arg)
{
	struct core0 c = *(struct core0 *)arg;

	kfree(arg);
	c.fn(c.m);
}

void
cl_on_core0(struct msg *m, void (*fn)(struct msg *m))
{
	struct core0 *c;

	if (core_id() == 0) {
		fn(m);
		return;
	}
	if ((c = kmalloc(sizeof *c)) == NULL) {
		msg_free(m);		/* lost: the stream's checks will show it */
		return;
	}
	*c = (struct core0){ m, fn };
	if (spawn_on(0, core0_event, c) != 0) {
		kfree(c);
		msg_free(m);
	}
}
