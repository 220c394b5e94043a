/*
 * test_file.c: the file Ebb (ebb/file.c) between three nodes in one
 * process (test/msgnet.h): A serves a directory the suite makes under
 * /tmp, B and C read it over the messenger, A reads it locally.
 *
 *	reads		a small file whole; a file of 1 MiB + 12,345 bytes
 *			whole (five reply messages) and in pieces across the
 *			messages' edges, every byte checked; the last byte,
 *			at the end (0 bytes), past the end, len 0; the same
 *			on A itself; file_stat of a file and a directory;
 *			file_list of the top and of sub/
 *	refused		a missing file ENOENT, a directory EISDIR, a file as
 *			a directory ENOTDIR; "../x", "/etc/passwd",
 *			"sub/../small.txt" EACCES before asking; a symbolic
 *			link out of the directory (relative and absolute)
 *			and a FIFO EACCES from the server; a link that stays
 *			inside followed; an over-long path EINVAL, a read
 *			over FILE_READ_MAX EMSGSIZE; malformed requests sent
 *			raw get answers, and the server still works
 *	cores		every core of B and every core of C reads pieces of
 *			big.bin at once (requests from all of them in
 *			flight, answers completing on the messenger's core),
 *			every byte checked
 *	reset		the connections reset under a 6 MiB read, once as it
 *			is sent and once midway through the reply: the read
 *			fails (ECONNABORTED, ECONNRESET or, with the timeout
 *			shortened, ETIMEDOUT) or completes whole, never
 *			hangs; the next read works; nothing leaks
 *
 * Every run ends with every connection reset and nothing held, and
 * each test checks iobufs, slab objects and pages against the baseline
 * taken after a first run (prime) that made the peers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ebb/file.h"
#include "msgnet.h"

#define SMALL		"hello, files\n"
#define BIG		(1024 * 1024 + 12345)
#define HUGE		(6 * 1024 * 1024)

static struct files *fs[NNODES];
static char top[64], dir[80];

/* ---- the directory ---------------------------------------------------------------- */

static uint8_t
pat(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 11));
}

static void
put_file(const char *name, size_t n, const char *text)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	CHECK((f = fopen(path, "w")) != NULL);
	if (f == NULL)
		return;
	if (text != NULL)
		fputs(text, f);
	else
		for (size_t i = 0; i < n; i++)
			fputc(pat(i), f);
	fclose(f);
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void
rm_top(void)
{
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
make_dir(void)
{
	char p[160], q[160];

	snprintf(top, sizeof top, "/tmp/test_file.XXXXXX");
	CHECK(mkdtemp(top) != NULL);
	atexit(rm_top);
	snprintf(dir, sizeof dir, "%s/share", top);
	CHECK_EQ(mkdir(dir, 0755), 0);
	snprintf(p, sizeof p, "%s/sub", dir);
	CHECK_EQ(mkdir(p, 0755), 0);
	put_file("small.txt", 0, SMALL);
	put_file("big.bin", BIG, NULL);
	put_file("huge.bin", HUGE, NULL);
	put_file("sub/inner.txt", 0, "inner\n");
	snprintf(p, sizeof p, "%s/outside.txt", top);
	FILE *o = fopen(p, "w");
	CHECK(o != NULL);
	if (o != NULL)
		fclose(o);
	snprintf(p, sizeof p, "%s/esc", dir);
	CHECK_EQ(symlink("../outside.txt", p), 0);
	snprintf(p, sizeof p, "%s/abs", dir);
	CHECK_EQ(symlink("/etc/hostname", p), 0);
	snprintf(p, sizeof p, "%s/inlink", dir);
	CHECK_EQ(symlink("small.txt", p), 0);
	snprintf(q, sizeof q, "%s/fifo", dir);
	CHECK_EQ(mkfifo(q, 0644), 0);
}

/* ---- helpers ------------------------------------------------------------------------ */

/* file_read on node n, blocking: the chain (the caller's) or NULL with *err. */
static struct iobuf *
rd(int n, const char *path, uint64_t off, uint32_t len, int *err)
{
	struct future f;
	void *v = NULL;

	future_init(&f);
	if ((*err = file_read(fs[n], path, off, len, &f)) != 0)
		return NULL;
	*err = future_block(&f, &v);
	return v;
}

/* Does node n read [off, off + len) of big.bin as the pattern says (want bytes)? */
static int
big_ok(int n, const char *name, uint64_t off, uint32_t len, size_t want)
{
	int err, ok;
	struct iobuf *c = rd(n, name, off, len, &err);
	size_t got = iobuf_chain_len(c), i = 0;

	ok = err == 0 && got == want;
	for (struct iobuf *b = c; ok && b != NULL; b = b->next)
		for (size_t k = 0; k < b->len; k++, i++)
			if (b->data[k] != pat(off + i)) {
				ok = 0;
				break;
			}
	iobuf_free_chain(c);
	return ok;
}

/* Does node n read path whole as text? */
static int
text_ok(int n, const char *path, const char *text)
{
	int err;
	struct iobuf *c = rd(n, path, 0, 4096, &err);
	char buf[4096] = { 0 };
	size_t len = iobuf_chain_len(c);

	if (c != NULL)
		iobuf_copy_out(c, 0, len < sizeof buf - 1 ? len : sizeof buf - 1, buf);
	iobuf_free_chain(c);
	return err == 0 && strcmp(buf, text) == 0;
}

/* The error node n's read of path ends in (0: it read). */
static int
rd_err(int n, const char *path)
{
	int err;

	iobuf_free_chain(rd(n, path, 0, 100, &err));
	return err;
}

/* file_list on node n as a string (static, overwritten), or NULL with *err. */
static const char *
ls(int n, const char *path, int *err)
{
	static char buf[4096];
	struct future f;
	void *v = NULL;
	size_t len;

	future_init(&f);
	if ((*err = file_list(fs[n], path, &f)) != 0 || (*err = future_block(&f, &v)) != 0)
		return NULL;
	len = iobuf_chain_len(v);
	memset(buf, 0, sizeof buf);
	iobuf_copy_out(v, 0, len < sizeof buf - 1 ? len : sizeof buf - 1, buf);
	iobuf_free_chain(v);
	return buf;
}

/* Wait until no node serves or waits on a request. */
static void
settle(void)
{
	for (int i = 0; i < 20000; i++) {
		int busy = 0, s, p;
		for (int k = 0; k < NNODES; k++) {
			file_counts(fs[k], &s, &p);
			busy += s + p;
		}
		if (busy == 0)
			return;
		test_sleep_ms(1);
	}
	CHECK(!"file requests still in hand");
}

/* ---- set-up ---------------------------------------------------------------------------- */

static struct netif *
make(void)
{
	struct netif *prime = msgnet_make();
	char why[200];

	make_dir();
	CHECK((fs[0] = file_serve(node[0], dir, why, sizeof why)) != NULL);
	CHECK((fs[1] = file_start(node[1], NODE_IP(0))) != NULL);
	CHECK((fs[2] = file_start(node[2], NODE_IP(0))) != NULL);
	CHECK(file_start(node[1], NODE_IP(0)) == NULL);		/* one per messenger */
	CHECK(file_serve(node[2], "/nonexistent/dir", why, sizeof why) == NULL);
	CHECK(file_ebb() == fs[0]);			/* the first started */
	return prime;
}

static void cores_body(void);

static void
prime_body(void)
{
	CHECK(text_ok(1, "small.txt", SMALL));
	CHECK(text_ok(2, "small.txt", SMALL));
	/* The server's handler blocks for room (its core's first blocked
	 * event keeps a stack record for good): before the baseline. */
	CHECK(big_ok(1, "huge.bin", 0, HUGE, HUGE));
	CHECK(big_ok(2, "huge.bin", 0, HUGE, HUGE));
	/* So do two readers on every core (cores): the loops keep the
	 * stacks of events that blocked, for the next. */
	cores_body();
}

static struct test_leaks
begin(void)
{
	return wire_begin_primed(make, run, prime_body);
}

/* ---- reads ------------------------------------------------------------------------------- */

static void
reads_body(void)
{
	struct file_stat st = { 0 };
	struct future f;
	const char *s;
	int err;

	for (int n = 0; n < NNODES; n++) {
		CHECK(text_ok(n, "small.txt", SMALL));
		CHECK(text_ok(n, "sub/inner.txt", "inner\n"));
		CHECK(big_ok(n, "big.bin", 0, BIG, BIG));			/* 5 messages */
		CHECK(big_ok(n, "big.bin", 0, FILE_READ_MAX, BIG));		/* short: the end */
		CHECK(big_ok(n, "big.bin", FILE_CHUNK - 1, FILE_CHUNK + 2, FILE_CHUNK + 2));
		CHECK(big_ok(n, "big.bin", 3 * FILE_CHUNK, FILE_CHUNK, FILE_CHUNK));
		CHECK(big_ok(n, "big.bin", BIG - 1, 10, 1));			/* the last byte */
		CHECK(big_ok(n, "big.bin", BIG, 10, 0));			/* at the end */
		CHECK(big_ok(n, "big.bin", (uint64_t)1 << 40, 10, 0));	/* far past it */
		CHECK(big_ok(n, "big.bin", 5, 0, 0));				/* len 0 */
		CHECK(big_ok(n, "./big.bin", 1, 1, 1));

		future_init(&f);
		CHECK_EQ(file_stat(fs[n], "big.bin", &st, &f), 0);
		CHECK_EQ(future_block(&f, NULL), 0);
		CHECK_EQ(st.size, BIG);
		CHECK_EQ(st.type, FILE_REG);
		future_init(&f);
		CHECK_EQ(file_stat(fs[n], "sub", &st, &f), 0);
		CHECK_EQ(future_block(&f, NULL), 0);
		CHECK_EQ(st.type, FILE_DIR);
		future_init(&f);
		CHECK_EQ(file_stat(fs[n], "nope", &st, &f), 0);
		CHECK_EQ(future_block(&f, NULL), ENOENT);

		s = ls(n, "", &err);
		CHECK_EQ(err, 0);
		/* Regular files and directories only: no links, no FIFO. */
		CHECK(s != NULL && strstr(s, "small.txt\n") != NULL && strstr(s, "big.bin\n") != NULL &&
		    strstr(s, "huge.bin\n") != NULL && strstr(s, "sub/\n") != NULL &&
		    strstr(s, "esc") == NULL && strstr(s, "fifo") == NULL && strlen(s) ==
		    strlen("small.txt\nbig.bin\nhuge.bin\nsub/\n"));
		s = ls(n, "sub", &err);
		CHECK(s != NULL && strcmp(s, "inner.txt\n") == 0);
		CHECK(ls(n, "small.txt", &err) == NULL);
		CHECK_EQ(err, ENOTDIR);
		CHECK(ls(n, "../", &err) == NULL);
		CHECK_EQ(err, EACCES);
	}
}

TEST(reads)
{
	struct test_leaks l = begin();

	run(reads_body);
	wire_end(l);
}

/* ---- refused ------------------------------------------------------------------------------ */

static void
refused_body(void)
{
	static char longpath[FILE_PATH_MAX + 10];
	struct future f;

	memset(longpath, 'a', sizeof longpath - 1);
	for (int n = 0; n < NNODES; n++) {
		CHECK_EQ(rd_err(n, "missing.txt"), ENOENT);
		CHECK_EQ(rd_err(n, "sub"), EISDIR);
		CHECK_EQ(rd_err(n, ""), EISDIR);
		CHECK_EQ(rd_err(n, "small.txt/x"), ENOTDIR);
		CHECK_EQ(rd_err(n, "../outside.txt"), EACCES);
		CHECK_EQ(rd_err(n, "/etc/passwd"), EACCES);
		CHECK_EQ(rd_err(n, "sub/../small.txt"), EACCES);
		CHECK_EQ(rd_err(n, ".."), EACCES);
		CHECK_EQ(rd_err(n, "esc"), EACCES);		/* a link out, relative */
		CHECK_EQ(rd_err(n, "abs"), EACCES);		/* a link out, absolute */
		CHECK_EQ(rd_err(n, "fifo"), EACCES);		/* not a regular file */
		CHECK(text_ok(n, "inlink", SMALL));		/* a link that stays inside */
		CHECK_EQ(rd_err(n, longpath), EINVAL);
		future_init(&f);
		CHECK_EQ(file_read(fs[n], "big.bin", 0, FILE_READ_MAX + 1, &f), EMSGSIZE);
		CHECK_EQ(file_read(fs[n], NULL, 0, 1, &f), EINVAL);
	}

	/* Malformed requests, raw from C: each is answered (to a tag C never
	 * asked, so dropped), and the server goes on. */
	static const uint8_t shortreq[3] = { 1, 2, 3 }, nul[] = { 0, 0, 0, 9, 'a', 0, 'b' };
	struct iobuf *b;
	int kinds[] = { 1, 2, 3, 9, 0 };
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		CHECK((b = iobuf_alloc(IOBUF_HEADROOM, sizeof nul)) != NULL);
		memcpy(iobuf_put(b, i == 0 ? sizeof shortreq : sizeof nul),
		    i == 0 ? shortreq : nul, i == 0 ? sizeof shortreq : sizeof nul);
		future_init(&f);
		CHECK_EQ(msg_send(node[2], NODE_IP(0), EBB_FILE, (uint16_t)kinds[i], b, &f), 0);
		CHECK_EQ(future_block(&f, NULL), 0);
	}
	settle();
	CHECK(text_ok(2, "small.txt", SMALL));
}

TEST(refused)
{
	struct test_leaks l = begin();

	run(refused_body);
	wire_end(l);
}

/* ---- cores -------------------------------------------------------------------------------- */

#define PER_CORE	12

static struct future cores_done;
static int cores_left, cores_bad;

/* On one core of B or C (arg: the node): reads of big.bin's pieces, each checked. */
static void
core_reads(void *arg)
{
	int n = (int)(uintptr_t)arg, bad = 0;

	for (int i = 0; i < PER_CORE; i++) {
		uint64_t off = ((uint64_t)core_id() * 7919 + (uint64_t)i * 104729) % BIG;
		uint32_t len = i % 3 == 0 ? FILE_CHUNK + 17 : 4000 + (uint32_t)i;
		size_t want = off + len > BIG ? BIG - off : len;
		bad += !big_ok(n, "big.bin", off, len, want);
	}
	__atomic_add_fetch(&cores_bad, bad, __ATOMIC_RELAXED);
	if (__atomic_sub_fetch(&cores_left, 1, __ATOMIC_ACQ_REL) == 0)
		future_resolve(&cores_done, NULL);
}

static void
cores_body(void)
{
	future_init(&cores_done);
	cores_left = 2 * NCORES;
	cores_bad = 0;
	for (int c = 0; c < NCORES; c++) {
		CHECK_EQ(spawn_on(c, core_reads, (void *)(uintptr_t)1), 0);
		CHECK_EQ(spawn_on(c, core_reads, (void *)(uintptr_t)2), 0);
	}
	CHECK_EQ(future_block(&cores_done, NULL), 0);
	CHECK_EQ(cores_bad, 0);
	settle();
}

TEST(cores)
{
	struct test_leaks l = begin();

	run(cores_body);
	wire_end(l);
}

/* ---- reset ----------------------------------------------------------------------------------- */

/* A read of huge.bin on B, with A and B reset when B has got at least after bytes. */
static void
reset_read(uint64_t after)
{
	struct msgr_stats s0b, s;
	struct future f;
	void *v = NULL;
	int err;

	msgr_stats(node[1], &s0b);
	future_init(&f);
	CHECK_EQ(file_read(fs[1], "huge.bin", 0, HUGE, &f), 0);
	for (int i = 0; after > 0 && i < 20000; i++) {
		msgr_stats(node[1], &s);
		if (s.rx_bytes - s0b.rx_bytes >= after || __atomic_load_n(&f.done, __ATOMIC_ACQUIRE))
			break;
		test_sleep_ms(1);
	}
	CHECK_EQ(msgr_drop(node[0], 0), 0);
	CHECK_EQ(msgr_drop(node[1], 0), 0);
	err = future_block(&f, &v);
	if (err == 0)
		CHECK_EQ(iobuf_chain_len(v), HUGE);	/* it made it first: whole */
	else
		CHECK(err == ECONNABORTED || err == ECONNRESET || err == ETIMEDOUT);
	iobuf_free_chain(v);
	settle();
}

static void
reset_body(void)
{
	file_timeout(fs[1], 3000);
	reset_read(0);				/* as the request is sent */
	reset_read(2 * FILE_CHUNK);		/* midway through the reply */
	file_timeout(fs[1], FILE_TIMEOUT_MS);
	CHECK(big_ok(1, "huge.bin", 0, HUGE, HUGE));	/* a new connection */
	CHECK(text_ok(2, "small.txt", SMALL));
}

TEST(reset)
{
	struct test_leaks l = begin();

	run(reset_body);
	wire_end(l);
}
