/*
 * test_memlink.c: two interfaces over the in-memory wire
 * (hosted/memlink.c), on the real event loops.
 *
 * Frames are crafted here (an Ethernet header, then the sending core,
 * a sequence number, the send time and a byte pattern keyed by both), sent
 * with netif_send, and received by the test's own input function
 * (struct netif.input), which records what came, on which core, when,
 * and whether every byte is as sent.  Then:
 *   - a clean wire, every core sending both ways: everything arrives,
 *     intact, in order, on the sending core;
 *   - each impairment alone, on core 0: what arrived matches the link's
 *     counters (lost frames missing, duplicates twice, corrupted frames
 *     broken, reordered frames late) and roughly the probability asked;
 *   - the same seed twice gives the same deliveries, another seed others;
 *   - delay and rate limit: nothing early; a full queue drops;
 *   - checksum offload filled in from every shape of chain, the sender's
 *     buffers untouched by the receiver; with both ends offloading, left
 *     as sent unless the frame is corrupted or captured;
 *   - the pcap file: header, one record per frame, the bytes sent.
 * Every test ends with no iobuf live and the loops' leak check.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ebb/event.h"
#include "ebb/timer.h"
#include "hosted/memlink.h"
#include "tcp/inet.h"
#include "tcp/iobuf.h"
#include "tcp/netif.h"
#include "test.h"

#define NCORES	4
#define MAXN	2000		/* most frames a test sends per core */
#define HDR	40		/* ethernet 14, core 2, seq 4, pad 4, time 8, ~time 8 */

struct rec {
	int seq;		/* -1: not even the header survived */
	int intact;
	int core;		/* where it arrived */
	uint64_t sent, arrived;
};

static struct rec recs[NCORES][MAXN * 2];	/* per sending core */
static int nrecs[NCORES];
static long expect;		/* frames to receive in all (atomic) */
static long got;		/* frames received (atomic) */
static struct timer dog;
static int dog_fired;

static size_t
frame_len(int seq)
{
	return 60 + (size_t)(seq % 50) * 29;	/* 60 .. 1481 */
}

static struct iobuf *
make_frame(struct netif *from, int core, int seq)
{
	size_t len = frame_len(seq);
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, len);
	uint8_t *p = iobuf_put(b, len);
	uint64_t now = clock_ns();
	uint16_t c16 = (uint16_t)core;
	uint32_t s32 = (uint32_t)seq;

	memset(p, 0xff, 6);
	memcpy(p + 6, from->mac, 6);
	p[12] = 0x88;		/* a local experimental EtherType */
	p[13] = 0xb5;
	memcpy(p + 14, &c16, 2);
	memcpy(p + 16, &s32, 4);
	memset(p + 20, 0, 4);
	memcpy(p + 24, &now, 8);
	now = ~now;
	memcpy(p + 32, &now, 8);
	test_fill(p + HDR, len - HDR, (uint64_t)core << 32 | (uint64_t)seq);
	return b;
}

static void finish(void *unused);

/* The test's input: record the frame. */
static void
rec_input(struct netif *nif, struct iobuf *frame, uint32_t rx_flags)
{
	uint8_t buf[2048];
	size_t len = iobuf_chain_len(frame);
	uint16_t c16 = 0;
	uint32_t s32 = 0, pad = 1;
	uint64_t notsent = 0;
	struct rec r = { -1, 0, core_id(), 0, clock_ns() };
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	(void)rx_flags;
	if (len <= sizeof buf && len >= HDR && iobuf_copy_out(frame, 0, len, buf)) {
		memcpy(&c16, buf + 14, 2);
		memcpy(&s32, buf + 16, 4);
		memcpy(&pad, buf + 20, 4);
		memcpy(&r.sent, buf + 24, 8);
		memcpy(&notsent, buf + 32, 8);
		if (c16 < NCORES && s32 < MAXN) {
			/* Every byte checked: the sender's MAC is the peer's. */
			r.seq = (int)s32;
			r.intact = len == frame_len(r.seq) &&
			    memcmp(buf, bcast, 6) == 0 &&
			    memcmp(buf + 6, nif->mac, 5) == 0 &&
			    buf[11] == 3 - nif->mac[5] &&
			    buf[12] == 0x88 && buf[13] == 0xb5 && pad == 0 &&
			    notsent == ~r.sent &&
			    test_intact(buf + HDR, len - HDR, (uint64_t)c16 << 32 | s32);
		}
	}
	iobuf_free_chain(frame);
	if (r.seq >= 0 && nrecs[c16] < MAXN * 2 && c16 == r.core)
		recs[c16][nrecs[c16]++] = r;	/* only core c16 writes here */
	else
		recs[r.core][nrecs[r.core]++] = (struct rec){ -1, 0, r.core, 0, 0 };
	/* Acq_rel: whoever counts the last frame sees every record. */
	long n = __atomic_add_fetch(&got, 1, __ATOMIC_ACQ_REL);
	if (n == __atomic_load_n(&expect, __ATOMIC_ACQUIRE))
		spawn_on(0, finish, NULL);
}

static void
finish(void *unused)
{
	(void)unused;
	timer_stop(&dog);
	event_stop(0);
}

static void
dog_bark(void *unused)
{
	(void)unused;
	dog_fired = 1;
	event_stop(1);
}

/* Reset the records; the watchdog on core 0 (called in an event there). */
static void
start_dog(void)
{
	timer_setup(&dog, dog_bark, NULL);
	CHECK_EQ(timer_start(&dog, 10000 * TIMER_MS, 0), 0);
}

static void
reset(long n)
{
	memset(nrecs, 0, sizeof nrecs);
	got = 0;
	expect = n;
	dog_fired = 0;
}

/*
 * The leak check's start: the runtime up, and the iobuf caches made
 * (once per process, never given back) before the free pages are counted.
 */
static struct test_leaks
leak_start(void)
{
	test_setup(NCORES, 0, TEST_EVENTS);
	iobuf_free(iobuf_alloc(0, 0));
	return test_leak_start(NCORES);
}

static struct memlink *
link_with(const struct memlink_config *cfg)
{
	struct memlink *ml = memlink_create("ml-a", "ml-b", cfg);

	CHECK(ml != NULL);
	memlink_netif(ml, 0)->input = rec_input;
	memlink_netif(ml, 1)->input = rec_input;
	return ml;
}

static void
check_no_iobufs(void)
{
	CHECK_EQ(iobuf_live(), 0);
	CHECK_EQ(iobuf_blocks_live(), 0);
}

/* ---- a clean wire, every core, both ways ------------------------------- */

#define CLEAN_N	500
static struct memlink *clink;

static void
clean_send(void *unused)
{
	int c = core_id();

	(void)unused;
	for (int i = 0; i < CLEAN_N; i++) {	/* A->B even, B->A odd */
		struct netif *from = memlink_netif(clink, i & 1);
		CHECK_EQ(netif_send(from, make_frame(from, c, i), NULL), 0);
	}
}

static void
clean_first(void *unused)
{
	(void)unused;
	start_dog();
	for (int c = 0; c < NCORES; c++)
		CHECK_EQ(spawn_on(c, clean_send, NULL), 0);
}

TEST(clean)
{
	struct test_leaks start = leak_start();
	struct memlink_config cfg = { .seed = 1 };
	struct memlink_stats st[2];

	clink = link_with(&cfg);
	CHECK_EQ(memlink_netif(clink, 0)->mac[5], 1);
	CHECK_EQ(memlink_netif(clink, 1)->mac[5], 2);
	reset(NCORES * CLEAN_N);
	CHECK_EQ(event_run(clean_first, NULL), 0);
	CHECK(!dog_fired);
	for (int c = 0; c < NCORES; c++) {
		int next[2] = { 0, 1 };		/* A->B sent the even, B->A the odd */

		CHECK_EQ(nrecs[c], CLEAN_N);
		for (int i = 0; i < nrecs[c]; i++) {
			int s = recs[c][i].seq;
			CHECK(s >= 0);
			if (s < 0)
				continue;
			CHECK_EQ(s, next[s & 1]);	/* in order, each way */
			next[s & 1] = s + 2;
			CHECK(recs[c][i].intact);
			CHECK_EQ(recs[c][i].core, c);	/* on the sending core */
		}
	}
	memlink_stats(clink, 0, &st[0]);
	memlink_stats(clink, 1, &st[1]);
	for (int s = 0; s < 2; s++) {
		CHECK_EQ(st[s].sent, NCORES * CLEAN_N / 2);
		CHECK_EQ(st[s].delivered, NCORES * CLEAN_N / 2);
		CHECK_EQ(st[s].lost + st[s].duplicated + st[s].corrupted +
		    st[s].reordered + st[s].overflow + st[s].nomem, 0);
	}
	CHECK_EQ(memlink_netif(clink, 1)->stats.rx_frames, NCORES * CLEAN_N / 2);
	CHECK_EQ(memlink_netif(clink, 0)->stats.tx_frames, NCORES * CLEAN_N / 2);
	check_no_iobufs();
	test_leak_check(start);
}

/* ---- impairments, on core 0 -------------------------------------------- */

#define IMP_N	1000		/* below the default queue_max: one burst */
static struct memlink *imp;
static int imp_n;

/* Send imp_n frames A->B in one burst; then we know what should arrive. */
static void
imp_first(void *unused)
{
	struct netif *a = memlink_netif(imp, 0);
	struct memlink_stats st;

	(void)unused;
	start_dog();
	for (int i = 0; i < imp_n; i++)
		CHECK_EQ(netif_send(a, make_frame(a, 0, i), NULL), 0);
	memlink_stats(imp, 0, &st);
	long e = (long)(st.sent - st.lost - st.overflow - st.nomem + st.duplicated);
	/* Release: the count before the deliveries that compare with it. */
	__atomic_store_n(&expect, e, __ATOMIC_RELEASE);
	if (e == 0 || __atomic_load_n(&got, __ATOMIC_ACQUIRE) == e)
		finish(NULL);
}

/* One run over a new link with cfg; st gets A's counters. */
static void
imp_run(const struct memlink_config *cfg, int n, struct memlink_stats *st)
{
	imp = link_with(cfg);
	imp_n = n;
	reset(-1);
	CHECK_EQ(event_run(imp_first, NULL), 0);
	CHECK(!dog_fired);
	memlink_stats(imp, 0, st);
	CHECK_EQ(st->sent, n);
	CHECK_EQ(st->delivered, nrecs[0]);
	check_no_iobufs();
}

/* Is x within [lo, hi] of IMP_N parts per million p? (about +-30%) */
static int
near(uint64_t x, uint32_t ppm)
{
	double e = (double)IMP_N * ppm / 1e6;

	return x >= e * 0.7 && x <= e * 1.3;
}

TEST(loss)
{
	struct test_leaks start = leak_start();
	struct memlink_config cfg = { .seed = 7, .loss_ppm = 200000 };
	struct memlink_stats st;
	int last = -1;

	imp_run(&cfg, IMP_N, &st);
	CHECK(near(st.lost, cfg.loss_ppm));
	CHECK_EQ(nrecs[0], IMP_N - (int)st.lost);
	for (int i = 0; i < nrecs[0]; i++) {
		CHECK(recs[0][i].seq > last);	/* missing ones, no others */
		CHECK(recs[0][i].intact);
		last = recs[0][i].seq;
	}
	test_leak_check(start);
}

TEST(duplicate)
{
	struct test_leaks start = leak_start();
	struct memlink_config cfg = { .seed = 8, .dup_ppm = 100000,
	    .queue_max = 2 * IMP_N };
	struct memlink_stats st;
	int twice = 0, next = 0;

	imp_run(&cfg, IMP_N, &st);
	CHECK(near(st.duplicated, cfg.dup_ppm));
	CHECK_EQ(nrecs[0], IMP_N + (int)st.duplicated);
	for (int i = 0; i < nrecs[0]; i++) {
		CHECK(recs[0][i].intact);
		if (i > 0 && recs[0][i].seq == recs[0][i - 1].seq) {
			twice++;		/* the copy, right behind */
			continue;
		}
		CHECK_EQ(recs[0][i].seq, next);
		next++;
	}
	CHECK_EQ(twice, st.duplicated);
	CHECK_EQ(next, IMP_N);
	test_leak_check(start);
}

TEST(corrupt)
{
	struct test_leaks start = leak_start();
	struct memlink_config cfg = { .seed = 9, .corrupt_ppm = 100000 };
	struct memlink_stats st;
	int broken = 0;

	imp_run(&cfg, IMP_N, &st);
	CHECK(near(st.corrupted, cfg.corrupt_ppm));
	CHECK_EQ(nrecs[0], IMP_N);
	for (int i = 0; i < nrecs[0]; i++)
		if (!recs[0][i].intact)
			broken++;
	CHECK_EQ(broken, st.corrupted);		/* every flip seen, no other */
	test_leak_check(start);
}

TEST(reorder)
{
	struct test_leaks start = leak_start();
	struct memlink_config cfg = { .seed = 10, .reorder_ppm = 100000,
	    .reorder_ns = 200 * TIMER_MS };
	struct memlink_stats st;
	int late = 0, last_on_time = -1, last_late = -1;
	char seen[IMP_N] = { 0 };

	imp_run(&cfg, IMP_N, &st);
	CHECK(near(st.reordered, cfg.reorder_ppm));
	CHECK_EQ(nrecs[0], IMP_N);
	for (int i = 0; i < nrecs[0]; i++) {
		struct rec *r = &recs[0][i];
		CHECK(r->intact);
		if (r->seq >= 0)
			seen[r->seq]++;
		if (r->arrived - r->sent >= cfg.reorder_ns) {
			late++;			/* held back, in order among themselves */
			CHECK(r->seq > last_late);
			last_late = r->seq;
		} else {
			CHECK_EQ(late, 0);	/* every on-time frame first */
			CHECK(r->seq > last_on_time);
			last_on_time = r->seq;
		}
	}
	for (int i = 0; i < IMP_N; i++)
		CHECK_EQ(seen[i], 1);
	CHECK_EQ(late, st.reordered);
	test_leak_check(start);
}

/* Everything at once, twice with one seed and once with another. */
TEST(seeded)
{
	struct test_leaks start = leak_start();
	struct memlink_config cfg = { .seed = 42, .loss_ppm = 100000,
	    .dup_ppm = 100000, .corrupt_ppm = 100000, .reorder_ppm = 100000,
	    .reorder_ns = 50 * TIMER_MS };
	static struct rec first[MAXN * 2];
	struct memlink_stats s1, s2, s3;
	int n1, same = 1;

	imp_run(&cfg, IMP_N, &s1);
	n1 = nrecs[0];
	memcpy(first, recs[0], sizeof first);
	imp_run(&cfg, IMP_N, &s2);
	CHECK(memcmp(&s1, &s2, sizeof s1) == 0);
	CHECK_EQ(nrecs[0], n1);
	for (int i = 0; i < n1 && i < nrecs[0]; i++)
		if (first[i].seq != recs[0][i].seq || first[i].intact != recs[0][i].intact)
			same = 0;
	CHECK(same);
	cfg.seed = 43;
	imp_run(&cfg, IMP_N, &s3);
	CHECK(s3.lost != s1.lost || s3.duplicated != s1.duplicated ||
	    s3.corrupted != s1.corrupted || s3.reordered != s1.reordered);
	test_leak_check(start);
}

TEST(delay)
{
	struct test_leaks start = leak_start();
	struct memlink_config cfg = { .seed = 1, .delay_ns = 30 * TIMER_MS };
	struct memlink_stats st;

	imp_run(&cfg, 100, &st);
	CHECK_EQ(nrecs[0], 100);
	for (int i = 0; i < nrecs[0]; i++) {
		CHECK_EQ(recs[0][i].seq, i);
		CHECK(recs[0][i].arrived - recs[0][i].sent >= cfg.delay_ns);
	}
	test_leak_check(start);
}

TEST(rate_limit)
{
	struct test_leaks start = leak_start();
	/* 100 frames of 60..1481 bytes at 8 Mbit/s: a byte a microsecond. */
	struct memlink_config cfg = { .seed = 1, .rate_bps = 8000000 };
	struct memlink_stats st;
	uint64_t bytes = 0;

	imp_run(&cfg, 100, &st);
	CHECK_EQ(nrecs[0], 100);
	for (int i = 0; i < nrecs[0]; i++) {
		bytes += frame_len(i);
		CHECK_EQ(recs[0][i].seq, i);
		/* Not before its bytes and all before it have crossed. */
		CHECK(recs[0][i].arrived - recs[0][0].sent >= bytes * 1000);
	}
	cfg.queue_max = 10;			/* a short queue: the rest dropped */
	imp_run(&cfg, 100, &st);
	CHECK_EQ(st.overflow, 90);
	CHECK_EQ(nrecs[0], 10);
	test_leak_check(start);
}

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

/* ---- pcap -------------------------------------------------------------- */

static void
pcap_first(void *unused)
{
	struct memlink_stats a, b;

	(void)unused;
	start_dog();
	for (int i = 0; i < 10; i++) {
		struct netif *from = memlink_netif(imp, i & 1);
		CHECK_EQ(netif_send(from, make_frame(from, 0, i), NULL), 0);
	}
	memlink_stats(imp, 0, &a);
	memlink_stats(imp, 1, &b);
	long e = 10 - (long)(a.lost + b.lost);
	/* Release: the count before the deliveries that compare with it. */
	__atomic_store_n(&expect, e, __ATOMIC_RELEASE);
	if (e == 0 || __atomic_load_n(&got, __ATOMIC_ACQUIRE) == e)
		finish(NULL);
}

TEST(pcap)
{
	struct test_leaks start = leak_start();
	char path[] = "/tmp/test_memlink.XXXXXX";
	int fd = mkstemp(path);
	struct memlink_config cfg = { .seed = 1, .pcap = path,
	    .loss_ppm = 500000 };	/* captured before the loss */
	uint32_t gh[6], rh[4];
	uint8_t buf[2048];
	FILE *f;

	CHECK(fd >= 0);
	close(fd);
	imp = link_with(&cfg);
	reset(-1);
	CHECK_EQ(event_run(pcap_first, NULL), 0);
	f = fopen(path, "rb");
	CHECK(f != NULL);
	CHECK_EQ(fread(gh, 4, 6, f), 6);
	CHECK_EQ(gh[0], 0xa1b2c3d4u);
	CHECK_EQ(gh[1], 2 | 4 << 16);		/* version 2.4 */
	CHECK_EQ(gh[4], 65535);
	CHECK_EQ(gh[5], 1);			/* LINKTYPE_ETHERNET */
	for (int i = 0; i < 10; i++) {
		CHECK_EQ(fread(rh, 4, 4, f), 4);
		CHECK(rh[1] < 1000000);
		CHECK_EQ(rh[2], frame_len(i));
		CHECK_EQ(rh[3], frame_len(i));
		CHECK_EQ(fread(buf, 1, rh[2], f), rh[2]);
		CHECK(test_intact(buf + HDR, rh[2] - HDR, (uint64_t)i));
		CHECK(memcmp(buf + 6, memlink_netif(imp, i & 1)->mac, 6) == 0);
	}
	CHECK_EQ(fread(buf, 1, 1, f), 0);	/* nothing more */
	fclose(f);
	unlink(path);
	check_no_iobufs();
	test_leak_check(start);
}
