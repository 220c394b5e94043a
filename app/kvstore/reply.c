/*
 * reply.c: building a batch of replies (proto.h's struct kv_out).
 * Portable.
 *
 * A batch is an iobuf chain that the connection hands to tcp_send once
 * per received segment.  Status lines and headers are small: they are
 * copied into the chain's last buffer while it is one of ours with room
 * (o->copy), so that a run of replies shares a buffer.  Values are never
 * copied: kv_out_ref links in a buffer that views the stored item, and
 * the next string starts a buffer after it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"

#define KV_OUT_BUF	1900	/* bytes of a copy buffer: a 2 KiB iobuf block */

void
kv_out_init(struct kv_out *o)
{
	memset(o, 0, sizeof *o);
}

void
kv_out_free(struct kv_out *o)
{
	iobuf_free_chain(o->head);
	kv_out_init(o);
}

/* Append b (taken) to the chain. */
static void
append(struct kv_out *o, struct iobuf *b)
{
	if (o->head == NULL)
		o->head = b;
	else
		o->tail->next = b;
	o->tail = b;
	o->len += b->len;
}

void
kv_out_str(struct kv_out *o, const char *s, size_t n)
{
	while (n > 0 && !o->nomem) {
		if (o->copy == NULL || iobuf_tailroom(o->copy) == 0) {
			struct iobuf *b = iobuf_alloc(0, KV_OUT_BUF);
			if (b == NULL) {
				o->nomem = 1;
				return;
			}
			append(o, b);
			o->copy = b;
		}
		size_t k = iobuf_tailroom(o->copy);
		if (k > n)
			k = n;
		memcpy(iobuf_put(o->copy, k), s, k);
		o->len += k;
		s += k;
		n -= k;
	}
}

void
kv_out_cstr(struct kv_out *o, const char *s)
{
	kv_out_str(o, s, strlen(s));
}

void
kv_out_printf(struct kv_out *o, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > 0)
		kv_out_str(o, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void
kv_out_ref(struct kv_out *o, struct iobuf *b)
{
	if (b == NULL) {
		o->nomem = 1;
		return;
	}
	append(o, b);
	o->copy = NULL;		/* never write after a value: start a new buffer */
}
