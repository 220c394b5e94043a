/*
 * test_iobuf.c: packet buffers (tcp/iobuf.c), hosted.
 *
 * Every operation on one buffer, with the boundaries and the refusals
 * (push past the headroom, advance past the window, put past the
 * tailroom leave the buffer as it was); small blocks (the 2 KiB slab
 * class) and large ones (kmalloc); clones that share bytes and free the
 * block only with the last reference, also when the references are
 * dropped on four cores at once; chains; iobuf_copy_out at every offset
 * and length across buffers of awkward sizes, against a flat copy; and
 * running out of memory, with the page allocator drained by hand.  Every
 * test ends with no iobuf and no block live (check_clean).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ebb/event.h"
#include "kernel/page.h"
#include "kernel/slab.h"
#include "tcp/iobuf.h"
#include "tcp/pkt.h"
#include "test.h"

#define NCORES	4

static void
setup(void)
{
	test_setup(NCORES, 0, TEST_EVENTS);
}

/* Nothing live: no iobuf, no block, no slab object in the iobuf caches. */
static void
check_clean(void)
{
	CHECK_EQ(iobuf_live(), 0);
	CHECK_EQ(iobuf_blocks_live(), 0);
	CHECK_EQ(test_in_use("iobuf"), 0);
	CHECK_EQ(test_in_use("iobuf_2k"), 0);
}

/* ---- one buffer -------------------------------------------------------- */

TEST(alloc_small)
{
	struct iobuf *b;

	setup();
	b = iobuf_alloc(IOBUF_HEADROOM, 1500);
	CHECK(b != NULL);
	CHECK(b->next == NULL);
	CHECK_EQ(b->len, 0);
	CHECK_EQ(iobuf_headroom(b), IOBUF_HEADROOM);
	CHECK(iobuf_tailroom(b) >= 1500);
	CHECK(!iobuf_shared(b));
	CHECK_EQ(iobuf_live(), 1);
	CHECK_EQ(iobuf_blocks_live(), 1);
	CHECK_EQ(test_in_use("iobuf_2k"), 1);
	iobuf_free(b);
	check_clean();
}

TEST(alloc_large)
{
	struct iobuf *b;
	uint8_t *p;

	setup();
	b = iobuf_alloc(IOBUF_HEADROOM, 9000);	/* a jumbo frame: kmalloc */
	CHECK(b != NULL);
	CHECK_EQ(test_in_use("iobuf_2k"), 0);
	CHECK_EQ(iobuf_blocks_live(), 1);
	p = iobuf_put(b, 9000);
	CHECK(p == b->data);
	test_fill(p, 9000, 7);
	CHECK(test_intact(b->data, 9000, 7));
	CHECK_EQ(iobuf_tailroom(b), 0);
	CHECK(iobuf_put(b, 1) == NULL);
	iobuf_free(b);
	b = iobuf_alloc(0, 0);			/* empty: still a buffer */
	CHECK(b != NULL);
	CHECK_EQ(iobuf_headroom(b), 0);
	iobuf_free(b);
	check_clean();
}

TEST(push_advance_put_trim)
{
	struct iobuf *b;
	uint8_t *p, *q;

	setup();
	b = iobuf_alloc(16, 100);
	CHECK(b != NULL);
	size_t tail = iobuf_tailroom(b);

	p = iobuf_put(b, 10);			/* append */
	CHECK(p == b->data);
	CHECK_EQ(b->len, 10);
	CHECK_EQ(iobuf_tailroom(b), tail - 10);
	memset(p, 'a', 10);
	q = iobuf_put(b, 5);
	CHECK(q == p + 10);
	memset(q, 'b', 5);

	p = iobuf_push(b, 16);			/* prepend: all the headroom */
	CHECK(p != NULL && p == b->data);
	CHECK_EQ(b->len, 31);
	CHECK_EQ(iobuf_headroom(b), 0);
	memset(p, 'h', 16);
	CHECK(iobuf_push(b, 1) == NULL);	/* refused: unchanged */
	CHECK(b->data == p && b->len == 31);

	q = iobuf_advance(b, 16);		/* consume the header */
	CHECK(q == p + 16);
	CHECK_EQ(b->len, 15);
	CHECK_EQ(iobuf_headroom(b), 16);
	CHECK_EQ(b->data[0], 'a');
	CHECK(iobuf_advance(b, 16) == NULL);	/* refused: unchanged */
	CHECK_EQ(b->len, 15);
	q = iobuf_advance(b, 15);		/* everything: empty, at the end */
	CHECK(q != NULL);
	CHECK_EQ(b->len, 0);
	CHECK(iobuf_push(b, 15) == p + 16);	/* and back */
	CHECK_EQ(b->data[10], 'b');

	iobuf_trim(b, 20);			/* longer than the window: no-op */
	CHECK_EQ(b->len, 15);
	iobuf_trim(b, 10);
	CHECK_EQ(b->len, 10);
	CHECK_EQ(iobuf_tailroom(b), tail - 10);	/* trimmed bytes are tailroom */
	iobuf_trim(b, 0);
	CHECK_EQ(b->len, 0);

	CHECK(iobuf_put(b, iobuf_tailroom(b) + 1) == NULL);
	CHECK_EQ(b->len, 0);
	CHECK(iobuf_put(b, iobuf_tailroom(b)) != NULL);	/* exactly full */
	CHECK_EQ(iobuf_tailroom(b), 0);
	iobuf_free(b);
	check_clean();
}

/* ---- clones ------------------------------------------------------------ */

TEST(clone_shares)
{
	struct iobuf *b, *c, *d;

	setup();
	b = iobuf_alloc(IOBUF_HEADROOM, 200);
	memcpy(iobuf_put(b, 5), "hello", 5);
	c = iobuf_clone(b);
	CHECK(c != NULL);
	CHECK(c->data == b->data && c->len == 5 && c->next == NULL);
	CHECK(c->block == b->block);
	CHECK(iobuf_shared(b) && iobuf_shared(c));
	CHECK_EQ(iobuf_live(), 2);
	CHECK_EQ(iobuf_blocks_live(), 1);

	c->data[0] = 'j';			/* the same bytes */
	CHECK_EQ(b->data[0], 'j');
	CHECK(iobuf_advance(c, 2) != NULL);	/* but windows of their own */
	CHECK_EQ(b->len, 5);
	CHECK_EQ(c->len, 3);

	d = iobuf_clone(c);			/* a clone of a clone */
	CHECK(d != NULL && d->len == 3 && d->data == b->data + 2);
	iobuf_free(b);				/* the block lives on, and in */
	CHECK_EQ(iobuf_blocks_live(), 1);	/* it b's struct (its home */
	CHECK_EQ(iobuf_live(), 2);		/* buffer), dead now */
	CHECK(memcmp(c->data, "llo", 3) == 0);
	iobuf_free(c);
	CHECK(!iobuf_shared(d));
	CHECK(memcmp(d->data, "llo", 3) == 0);
	CHECK_EQ(iobuf_blocks_live(), 1);
	iobuf_free(d);				/* the last reference */
	check_clean();
}

/* A clone made in the caller's memory: counted, shares, given up by iobuf_unview. */
TEST(clone_in)
{
	struct iobuf *b, in, *c;

	setup();
	b = iobuf_alloc(IOBUF_HEADROOM, 200);
	memcpy(iobuf_put(b, 5), "hello", 5);
	c = iobuf_clone_in(&in, b);
	CHECK(c == &in && c->next == NULL && c->block == b->block);
	CHECK(c->data == b->data && c->len == 5);
	CHECK(iobuf_shared(b) && iobuf_shared(c));
	CHECK_EQ(iobuf_live(), 2);
	iobuf_free(b);				/* the view keeps the block */
	CHECK_EQ(iobuf_blocks_live(), 1);
	CHECK(!iobuf_shared(c) && memcmp(c->data, "hello", 5) == 0);
	iobuf_unview(c);
	check_clean();
}

/* Clones of one block freed on every core at once: freed exactly once. */
#define XCLONES 4000
static struct iobuf *xc[XCLONES];
static int xdone;

static void
xfree(void *arg)
{
	long c = (long)arg;

	for (long i = c; i < XCLONES; i += NCORES)
		iobuf_free(xc[i]);
	/* Acq_rel: the last core to finish sees every core's frees. */
	if (__atomic_add_fetch(&xdone, 1, __ATOMIC_ACQ_REL) == NCORES)
		event_stop(0);
}

static void
xfirst(void *unused)
{
	(void)unused;
	for (long c = 0; c < NCORES; c++)
		CHECK_EQ(spawn_on((int)c, xfree, (void *)c), 0);
}

TEST(clone_free_across_cores)
{
	struct test_leaks start;
	struct iobuf *b;

	setup();
	iobuf_free(iobuf_alloc(0, 0));		/* the caches, made once, kept */
	start = test_leak_start(NCORES);
	b = iobuf_alloc(IOBUF_HEADROOM, 64);

	for (int i = 0; i < XCLONES; i++) {
		xc[i] = iobuf_clone(b);
		CHECK(xc[i] != NULL);
	}
	iobuf_free(b);
	CHECK_EQ(iobuf_blocks_live(), 1);
	xdone = 0;
	CHECK_EQ(event_run(xfirst, NULL), 0);
	check_clean();
	test_leak_check(start);
}

/* ---- chains and copy_out ----------------------------------------------- */

/* A chain of buffers holding lens[i] bytes each; flat gets the bytes. */
static struct iobuf *
make_chain(const size_t *lens, int n, uint8_t *flat)
{
	struct iobuf *head = NULL, *b;
	size_t off = 0;

	for (int i = 0; i < n; i++) {
		b = iobuf_alloc(8, lens[i]);
		CHECK(b != NULL);
		for (size_t j = 0; j < lens[i]; j++)
			flat[off + j] = (uint8_t)(off + j) * 7 + 1;
		memcpy(iobuf_put(b, lens[i]), flat + off, lens[i]);
		off += lens[i];
		if (head == NULL)
			head = b;
		else
			iobuf_chain_append(head, b);
	}
	return head;
}

TEST(chain)
{
	static const size_t lens[] = { 14, 20, 0, 8, 100 };
	uint8_t flat[142];
	struct iobuf *h;

	setup();
	h = make_chain(lens, 5, flat);
	CHECK_EQ(iobuf_chain_len(h), 142);
	CHECK_EQ(iobuf_live(), 5);
	CHECK_EQ(h->len, 14);
	CHECK_EQ(h->next->next->len, 0);
	CHECK_EQ(h->next->next->next->next->len, 100);
	CHECK(h->next->next->next->next->next == NULL);
	CHECK_EQ(iobuf_chain_len(NULL), 0);
	iobuf_free_chain(h);
	iobuf_free_chain(NULL);			/* ignored */
	check_clean();
}

TEST(copy_out_everywhere)
{
	static const size_t lens[] = { 3, 1, 0, 7, 2, 0, 13 };
	uint8_t flat[26], out[32];
	struct iobuf *h;
	int bad = 0;

	setup();
	h = make_chain(lens, 7, flat);
	CHECK_EQ(iobuf_chain_len(h), 26);
	for (size_t off = 0; off <= 26; off++)
		for (size_t n = 0; off + n <= 26; n++) {
			memset(out, 0xee, sizeof out);
			if (iobuf_copy_out(h, off, n, out) != out ||
			    memcmp(out, flat + off, n) != 0 || out[n] != 0xee)
				bad++;
		}
	CHECK_EQ(bad, 0);
	/* Past the end: NULL, at every offset. */
	for (size_t off = 0; off <= 27; off++)
		CHECK(iobuf_copy_out(h, off, 27 - off, out) == NULL);
	CHECK(iobuf_copy_out(h, 27, 0, out) == NULL);
	CHECK(iobuf_copy_out(h, 100, 1, out) == NULL);
	CHECK(iobuf_copy_out(NULL, 0, 0, out) == out);
	CHECK(iobuf_copy_out(NULL, 0, 1, out) == NULL);
	iobuf_free_chain(h);
	check_clean();
}

/* A chain flattened into one buffer: the same bytes, the headroom asked. */
TEST(linearize)
{
	static const size_t lens[] = { 14, 0, 1, 1500, 33 };
	uint8_t flat[1548];
	struct iobuf *h, *b;

	setup();
	h = make_chain(lens, 5, flat);
	b = iobuf_linearize(h, IOBUF_HEADROOM);
	CHECK(b != NULL && b->next == NULL);
	CHECK_EQ(b->len, sizeof flat);
	CHECK(memcmp(b->data, flat, sizeof flat) == 0);
	CHECK(iobuf_headroom(b) >= IOBUF_HEADROOM);
	iobuf_free_chain(h);		/* the copy does not share the chain's blocks */
	CHECK(memcmp(b->data, flat, sizeof flat) == 0);
	iobuf_free(b);
	check_clean();
}

/* pkt_drop at every offset: the rest of the bytes, emptied buffers freed. */
TEST(drop_front)
{
	static const size_t lens[] = { 3, 1, 0, 7, 2 };
	uint8_t flat[13], out[13];
	int bad = 0;

	setup();
	for (size_t n = 0; n <= 13; n++) {
		struct iobuf *h = make_chain(lens, 5, flat);

		h = pkt_drop(h, n);
		if (n == 13 ? h != NULL : h == NULL || iobuf_chain_len(h) != 13 - n ||
		    iobuf_copy_out(h, 0, 13 - n, out) != out ||
		    memcmp(out, flat + n, 13 - n) != 0)
			bad++;
		iobuf_free_chain(h);
		if (iobuf_live() != 0)
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK(pkt_drop(NULL, 0) == NULL);
	check_clean();
}

/* A header that spans two buffers, read through a clone of the chain. */
TEST(copy_out_header_across_clone)
{
	static const size_t lens[] = { 10, 30 };
	uint8_t flat[40], hdr[20];
	struct iobuf *h, *c;

	setup();
	h = make_chain(lens, 2, flat);
	c = iobuf_clone(h);
	iobuf_chain_append(c, iobuf_clone(h->next));
	CHECK(iobuf_advance(c, 4) != NULL);	/* consumed a 4-byte header */
	CHECK(iobuf_copy_out(c, 0, 20, hdr) == hdr);
	CHECK(memcmp(hdr, flat + 4, 20) == 0);
	CHECK_EQ(iobuf_live(), 4);
	CHECK_EQ(iobuf_blocks_live(), 2);
	iobuf_free_chain(h);
	iobuf_free_chain(c);
	check_clean();
}

/* ---- running out ------------------------------------------------------- */

/* Take every free page; returns a list through the blocks' first words. */
struct hoard {
	struct hoard *next;
	int order;
};

static struct hoard *
hoard_all(void)
{
	struct hoard *list = NULL, *h;

	slab_reap();		/* this core's slab arrays back first */
	for (int k = PAGE_MAX_ORDER; k >= 0; k--)
		while ((h = page_alloc(k)) != NULL) {
			h->next = list;
			h->order = k;
			list = h;
		}
	CHECK_EQ(page_count_free(), 0);
	return list;
}

static void
hoard_free(struct hoard *list)
{
	struct hoard *next;

	for (; list != NULL; list = next) {
		next = list->next;
		page_free(list, list->order);
	}
}

TEST(nomem)
{
	struct iobuf *b, *c, **cl;
	struct hoard *h;
	size_t n = 0, cap = 1 << 16;

	setup();
	CHECK(iobuf_alloc(SIZE_MAX, 2) == NULL);	/* sizes that overflow */
	CHECK(iobuf_alloc(2, SIZE_MAX) == NULL);
	CHECK(iobuf_alloc(0, SIZE_MAX - 8) == NULL);
	CHECK(iobuf_alloc(0, 64 << 20) == NULL);	/* larger than any block */
	check_clean();

	b = iobuf_alloc(IOBUF_HEADROOM, 100);	/* keeps an iobuf slab */
	CHECK(b != NULL);
	h = hoard_all();
	/* The struct may come from b's slab; the large block cannot. */
	CHECK(iobuf_alloc(0, 3 * PAGE_SIZE) == NULL);
	CHECK_EQ(iobuf_live(), 1);
	CHECK_EQ(iobuf_blocks_live(), 1);
	/* Clones until the iobuf slab is full: then NULL. */
	cl = malloc(cap * sizeof *cl);
	while (n < cap && (c = iobuf_clone(b)) != NULL)
		cl[n++] = c;
	CHECK(n < cap);
	CHECK(iobuf_clone(b) == NULL);
	/* A small iobuf_alloc is one iobuf_2k object (its home buffer in
	 * front): b's slab may have room.  An exact one needs the full cache. */
	CHECK(iobuf_alloc_exact(10) == NULL);
	CHECK_EQ(iobuf_live(), (long)n + 1);
	CHECK_EQ(iobuf_blocks_live(), 1);
	hoard_free(h);
	c = iobuf_clone(b);			/* memory back: works again */
	CHECK(c != NULL);
	iobuf_free(c);
	for (size_t i = 0; i < n; i++)
		iobuf_free(cl[i]);
	free(cl);
	iobuf_free(b);
	check_clean();
}
