/*
 * test_memlink_csum.c: the in-memory wire's checksum offload
 * (hosted/memlink.c), with memlinktest.h's frames and recording input
 * on the real event loops: the checksum filled in right from every
 * shape of chain (one buffer, the rest copied into the first's
 * tailroom, a fresh copy), a clean chain crossing as it is between two
 * ends that offload, the sender's held buffers untouched by what the
 * receiver writes, and, with both ends offloading, the frame left as the
 * sender wrote it unless it is corrupted (then filled first, so that
 * the receiver's check catches it) or captured.  Every test ends with
 * no iobuf live and the loops' leak check.
 */
#include "memlinktest.h"

/* ---- checksum offload -------------------------------------------------- */

/*
 * One frame (seq CS_SEQ: an odd length), its checksum asked for from HDR
 * (the field at HDR + 6, zeroed), sent A->B cut into a chain at the cuts
 * (0: none); the pieces marked shared are clones of buffers the test
 * holds, which must come through the receiver's scribbling intact.
 */
#define CS_SEQ	41
#define CS_MAX	8
struct cs_case { size_t cut[2]; int shared[3]; };

static const struct cs_case cs_cases[] = {
	{ { 0, 0 }, { 0, 0, 0 } },	/* one buffer: summed in place */
	{ { 20, 0 }, { 0, 0, 0 } },	/* into the first's tailroom, sum after it */
	{ { 41, 333 }, { 0, 1, 1 } },	/* the same from clones, the sum started odd */
	{ { HDR, 0 }, { 0, 1, 0 } },	/* the sum starts at the cut */
	{ { 60, 0 }, { 1, 0, 0 } },	/* the first shared: a fresh buffer */
};

static uint8_t cs_sent[CS_MAX][2048];	/* what each frame should arrive as */
static struct cs_got { uint8_t b[2048]; size_t len; uint32_t flags; int single; }
    cs_got[CS_MAX];			/* what came; single: one buffer, not shared */
static struct cs_held { struct iobuf *b; int k; size_t at; }
    cs_held[CS_MAX * 3];		/* a buffer cloned into frame k at offset at */
static struct memlink *imp;		/* the link under test */
static int cs_n, cs_nheld;
static struct netif_tx_hints cs_h = { .csum = 1, .csum_start = HDR, .csum_offset = 6 };

/* Frame k: cs_cases[k]'s chain. */
static struct iobuf *
cs_frame(int k)
{
	struct iobuf *f = make_frame(memlink_netif(imp, 0), 0, CS_SEQ), *head = NULL, **tail = &head;
	const struct cs_case *c = &cs_cases[k];
	size_t at = 0;

	f->data[HDR + 6] = f->data[HDR + 7] = 0;
	memcpy(cs_sent[k], f->data, f->len);
	for (int i = 0; i < 3 && at < f->len; i++) {
		size_t end = i < 2 && c->cut[i] != 0 ? c->cut[i] : f->len;
		struct iobuf *p = iobuf_alloc(IOBUF_HEADROOM, end - at);

		memcpy(iobuf_put(p, end - at), f->data + at, end - at);
		if (c->shared[i]) {
			cs_held[cs_nheld++] = (struct cs_held){ p, k, at };
			p = iobuf_clone(p);
		}
		*tail = p;
		tail = &p->next;
		at = end;
	}
	iobuf_free(f);
	return head;
}

/* Send cs_n frames, each cut as its case says. */
static void
cs_first(void *unused)
{
	(void)unused;
	start_dog();			/* expect is cs_n already (reset) */
	for (int k = 0; k < cs_n; k++)
		CHECK_EQ(netif_send(memlink_netif(imp, 0), cs_frame(k), &cs_h), 0);
}

/* Record what came; then scribble on it, as a receiver may. */
static void
cs_input(struct netif *nif, struct iobuf *frame, uint32_t rx_flags)
{
	struct cs_got *g = &cs_got[got];

	(void)nif;
	*g = (struct cs_got){ .flags = rx_flags, .len = iobuf_chain_len(frame),
	    .single = frame->next == NULL && !iobuf_shared(frame) };
	iobuf_copy_out(frame, 0, g->len, g->b);
	memset(frame->data, 0, frame->len);
	iobuf_free_chain(frame);
	if (++got == expect)
		finish(NULL);
}

/* The checksum region of what frame k arrived as, summed: 0xffff if the field is right. */
static uint16_t
cs_region_sum(int k)
{
	return inet_fold(inet_sum(cs_got[k].b + HDR, cs_got[k].len - HDR, 0));
}

/* Frame k arrived with the bytes sent but for the checksum field? */
static int
cs_same(int k)
{
	size_t f = HDR + 6;

	return cs_got[k].len == frame_len(CS_SEQ) &&
	    memcmp(cs_got[k].b, cs_sent[k], f) == 0 &&
	    memcmp(cs_got[k].b + f + 2, cs_sent[k] + f + 2, cs_got[k].len - f - 2) == 0;
}

/* ... and as one buffer the receiver owns alone? */
static int
cs_intact(int k)
{
	return cs_same(k) && cs_got[k].single;
}

/* n frames over a new link with cfg, received by cs_input. */
static void
cs_run(const struct memlink_config *cfg, int n)
{
	imp = memlink_create("ml-a", "ml-b", cfg);
	CHECK(imp != NULL);
	memlink_netif(imp, 1)->input = cs_input;
	cs_n = n;
	cs_nheld = 0;
	reset(n);
	CHECK_EQ(event_run(cs_first, NULL), 0);
	CHECK(!dog_fired);
	CHECK_EQ(got, n);
	for (int i = 0; i < cs_nheld; i++) {	/* untouched by the receiver */
		CHECK(memcmp(cs_held[i].b->data, cs_sent[cs_held[i].k] + cs_held[i].at,
		    cs_held[i].b->len) == 0);
		iobuf_free(cs_held[i].b);
	}
	check_no_iobufs();
}

/* TX_CSUM alone: the wire fills the field in, from any chain. */
TEST(csum_fill)
{
	struct test_leaks start = leak_start();
	struct memlink_config cfg = { .seed = 1, .features = NETIF_F_TX_CSUM | NETIF_F_TSO4 };
	int n = (int)(sizeof cs_cases / sizeof cs_cases[0]);

	cs_run(&cfg, n);
	CHECK_EQ(memlink_netif(imp, 0)->features, NETIF_F_TX_CSUM);
	for (int k = 0; k < n; k++) {
		CHECK(cs_intact(k));
		CHECK_EQ(cs_region_sum(k), 0xffff);
		CHECK_EQ(cs_got[k].flags, 0);		/* B does not offer RX_CSUM */
	}
	test_leak_check(start);
}

/*
 * TX and RX offered, no impairment, no capture: a chain whose first
 * buffer is the sender's alone (and the rest of at least
 * MEMLINK_PASS_MIN bytes, as in every case here) crosses as it is (its clones seen shared
 * by the receiver, which scribbles only on the first: the sender's held
 * buffers stay untouched, cs_run checks); one whose first is shared
 * arrives as a copy.
 */
TEST(chain_crosses)
{
	struct test_leaks start = leak_start();
	struct memlink_config cfg = { .seed = 1, .features = NETIF_F_TX_CSUM | NETIF_F_RX_CSUM };
	int n = (int)(sizeof cs_cases / sizeof cs_cases[0]);

	cs_run(&cfg, n);
	for (int k = 0; k < n; k++) {
		CHECK(cs_same(k));
		CHECK_EQ(cs_got[k].flags, NETIF_RX_CSUM_OK);
		CHECK_EQ(cs_got[k].single, cs_cases[k].cut[0] == 0 || cs_cases[k].shared[0]);
	}
	test_leak_check(start);
}

/*
 * TX and RX offered: a clean frame crosses with the field as the sender
 * left it (nobody looks: it arrives marked good); a corrupted one, or
 * one captured, is filled in first, so that the corruption shows.
 */
TEST(csum_pass_through)
{
	struct test_leaks start = leak_start();
	struct memlink_config cfg = { .seed = 1, .features = NETIF_F_TX_CSUM | NETIF_F_RX_CSUM };
	char path[] = "/tmp/test_memlink.XXXXXX";
	int fd = mkstemp(path), at = -1;

	cs_run(&cfg, 1);			/* one buffer, clean */
	CHECK(cs_intact(0));
	CHECK_EQ(cs_got[0].b[HDR + 6] | cs_got[0].b[HDR + 7], 0);	/* untouched */
	CHECK_EQ(cs_got[0].flags, NETIF_RX_CSUM_OK);
	cfg.corrupt_ppm = 1000000;
	cs_run(&cfg, 1);
	CHECK_EQ(cs_got[0].flags, 0);		/* find the flipped byte (unless in the field): */
	for (size_t i = 0; i < cs_got[0].len; i++)
		if (i != HDR + 6 && i != HDR + 7 && cs_got[0].b[i] != cs_sent[0][i])
			at = (int)i;
	if (at < 0 || at >= HDR)
		CHECK(cs_region_sum(0) != 0xffff);	/* the receiver's check catches it */
	if (at >= 0) {				/* and it was filled in before */
		cs_got[0].b[at] = cs_sent[0][at];
		CHECK_EQ(cs_region_sum(0), 0xffff);
	}
	CHECK(fd >= 0 && close(fd) == 0);
	cfg.corrupt_ppm = 0;
	cfg.pcap = path;			/* captured: filled in */
	cs_run(&cfg, 1);
	CHECK(cs_intact(0));
	CHECK_EQ(cs_region_sum(0), 0xffff);
	CHECK_EQ(cs_got[0].flags, NETIF_RX_CSUM_OK);
	unlink(path);
	test_leak_check(start);
}
