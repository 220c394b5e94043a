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
 *   - the pcap file: header, one record per frame, the bytes sent.
 * Every test ends with no iobuf live and the loops' leak check.
 * Checksum offload is test_memlink_csum.c's; memlinktest.h has what the
 * two share.
 */
#include "memlinktest.h"

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
