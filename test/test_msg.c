/*
 * test_msg.c: the messenger (ebb/msg.c) between three nodes in one
 * process, over the in-memory wire.
 *
 * The nodes and runs are test/msgnet.h's (A, B, C, and D, an address
 * with no messenger).  The first run (prime) sends one message each way between every pair,
 * so that the peers (kept for good) exist before the baseline.
 *
 *	order_many	4 cores of A and 4 of C send 2,500 messages each to B
 *			(20,000 in flight, 0..1000 bytes, every payload
 *			patterned): each sender core's messages arrive in
 *			order and intact; the last future of each resolves;
 *			a message to an id with no handler is counted
 *	large		1 MiB messages, an empty one and one of MSG_LEN_MAX
 *			(hundreds of segments each) arrive intact; one byte
 *			more is EMSGSIZE
 *	backpressure	B's handler keeps what it gets (a reader that
 *			stopped): A's sends end in EAGAIN with memory bounded;
 *			a room future stays pending until B frees, then
 *			resolves, and the rest arrives in order
 *	reset_mid	B stops reading, a 1 MiB message is half in, and B
 *			resets the connection: its future and those behind it
 *			fail with ECONNRESET, the half message is never
 *			delivered, nothing leaks
 *	no_peer		a send to D (no messenger there) fails its future
 *	bad_frames	raw TCP clients send a bad header, a bad hello, a
 *			frame to Ebb 0 after the hello: each is reset and
 *			counted
 */
#include <errno.h>
#include <stdlib.h>

#include "ebb/ebb.h"
#include "ebb/future.h"
#include "ebb/msg.h"
#include "kernel/page.h"
#include "kernel/spinlock.h"
#include "msgnet.h"

#define EBB_SEQ		(EBB_TEST_FIRST + 10)	/* checks order and bytes */
#define EBB_HOLD	(EBB_TEST_FIRST + 11)	/* keeps what it gets */
#define EBB_NONE_HERE	(EBB_TEST_FIRST + 12)	/* bound, no handler */
#define PER_CORE	2500
#define MIB		(1024 * 1024)


/* ---- payloads: [u32 core][u32 seq][u32 len][u32 sender] then a pattern ------- */

struct phdr {
	uint32_t core, seq, len, sender;
};

static uint8_t
pat(uint64_t seed, size_t i)
{
	return (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

/* A payload of n bytes (n >= 16), or NULL for n 0; chained in 2 KiB buffers. */
static struct iobuf *
payload(uint32_t sender, uint32_t core, uint32_t seq, size_t n)
{
	struct iobuf *head = NULL, *b;
	struct phdr h = { core, seq, (uint32_t)n, sender };
	uint64_t seed = (uint64_t)sender << 40 | (uint64_t)core << 32 | seq;
	size_t off = 0;

	while (off < n) {
		size_t k = n - off < 1900 ? n - off : 1900;
		if ((b = iobuf_alloc(IOBUF_HEADROOM, k)) == NULL) {
			CHECK(!"iobuf_alloc");
			iobuf_free_chain(head);
			return NULL;
		}
		uint8_t *p = iobuf_put(b, k);
		for (size_t i = 0; i < k; i++)
			p[i] = pat(seed, off + i);
		if (off == 0)
			memcpy(p, &h, sizeof h);
		if (head == NULL)
			head = b;
		else
			iobuf_chain_append(head, b);
		off += k;
	}
	return head;
}

/* Does m's payload hold what payload() made?  Fills *h. */
static int
intact(const struct msg *m, struct phdr *h)
{
	size_t off = 0;

	if (m->len < sizeof *h || iobuf_chain_len(m->data) != m->len)
		return 0;
	iobuf_copy_out(m->data, 0, sizeof *h, h);
	if (h->len != m->len)
		return 0;
	uint64_t seed = (uint64_t)h->sender << 40 | (uint64_t)h->core << 32 | h->seq;
	for (const struct iobuf *b = m->data; b != NULL; b = b->next)
		for (size_t i = 0; i < b->len; i++, off++)
			if (off >= sizeof *h && b->data[i] != pat(seed, off))
				return 0;
	return 1;
}

/* ---- the test Ebbs ------------------------------------------------------------ */

/* What EBB_SEQ and EBB_HOLD have seen (reset by each test). */
static struct {
	uint32_t next[NNODES][NNODES][NCPU];	/* [receiver][sender][core]: seq expected */
	long got, bad, empty;			/* messages (atomic) */
	long want;				/* resolve done at this many */
	int reading;				/* EBB_HOLD frees at once (atomic) */
	struct future done;
	struct spinlock lock;			/* EBB_HOLD's list */
	struct msg *held[4096];
	int nheld;
	long held_bytes;
} rx;

static int
node_index(uint32_t ip)
{
	for (int i = 0; i < NNODES; i++)
		if (NODE_IP(i) == ip)
			return i;
	return -1;
}

/* EBB_SEQ: every sender core's messages in order, every byte as sent. */
static void
on_seq(void *rep, struct msg *m)
{
	struct phdr h;
	int to = node_index(msgr_ip(m->to)), from = node_index(m->from);

	CHECK(rep == &rx);
	if (m->len == 0) {
		__atomic_fetch_add(&rx.empty, 1, __ATOMIC_RELAXED);
	} else if (to < 0 || from < 0 || !intact(m, &h) || h.sender != (uint32_t)from ||
	    h.core >= NCPU || h.seq != rx.next[to][from][h.core]) {
		__atomic_fetch_add(&rx.bad, 1, __ATOMIC_RELAXED);
	} else {
		rx.next[to][from][h.core]++;
	}
	msg_free(m);
	/* Acq_rel: the last sees every handler's counts. */
	if (__atomic_add_fetch(&rx.got, 1, __ATOMIC_ACQ_REL) == rx.want)
		future_resolve(&rx.done, NULL);
}

/* EBB_HOLD: keep the message (a reader that has stopped reading). */
static void
on_hold(void *rep, struct msg *m)
{
	(void)rep;
	if (__atomic_load_n(&rx.reading, __ATOMIC_RELAXED)) {
		msg_free(m);
		if (__atomic_add_fetch(&rx.got, 1, __ATOMIC_ACQ_REL) == rx.want)
			future_resolve(&rx.done, NULL);
		return;
	}
	spin_lock(&rx.lock);
	CHECK(rx.nheld < 4096);
	rx.held[rx.nheld++] = m;
	rx.held_bytes += m->len;
	spin_unlock(&rx.lock);
	if (__atomic_add_fetch(&rx.got, 1, __ATOMIC_ACQ_REL) == rx.want)
		future_resolve(&rx.done, NULL);
}

/* Give back everything EBB_HOLD kept. */
static void
free_held(void)
{
	spin_lock(&rx.lock);
	int n = rx.nheld;
	rx.nheld = 0;
	spin_unlock(&rx.lock);
	for (int i = 0; i < n; i++)
		msg_free(rx.held[i]);
}

static void
rx_reset(long want)
{
	memset(rx.next, 0, sizeof rx.next);
	rx.got = rx.bad = rx.empty = rx.nheld = rx.held_bytes = rx.reading = 0;
	rx.want = want;
	future_init(&rx.done);
}

static struct ebb_shared seq_ebb = EBB_SHARED(&rx), hold_ebb = EBB_SHARED(&rx),
    none_ebb = EBB_SHARED(&rx);

/* msg_send, waiting for room while the queue is full. */
static int
send_wait(struct messenger *m, uint32_t to, uint32_t ebb, struct iobuf *b, struct future *f)
{
	int err;

	while ((err = msg_send(m, to, ebb, 1, b, f)) == EAGAIN) {
		struct future room;
		future_init(&room);
		CHECK_EQ(msg_wait_room(m, to, &room), 0);
		CHECK_EQ(future_block(&room, NULL), 0);
	}
	return err;
}

static struct netif *
make_links(void)
{
	struct netif *prime = msgnet_make();

	CHECK(msgr_start(NODE_IP(0)) == NULL);		/* taken */
	CHECK_EQ(ebb_bind(EBB_SEQ, &seq_ebb.root), 0);
	CHECK_EQ(ebb_bind(EBB_HOLD, &hold_ebb.root), 0);
	CHECK_EQ(ebb_bind(EBB_NONE_HERE, &none_ebb.root), 0);
	CHECK_EQ(msg_handle(EBB_SEQ, on_seq), 0);
	CHECK_EQ(msg_handle(EBB_HOLD, on_hold), 0);
	CHECK_EQ(msg_handle(EBB_SEQ, on_seq), EEXIST);
	CHECK_EQ(msg_handle(0, on_seq), EINVAL);
	spin_init(&rx.lock, "rx");
	return prime;
}

static void order_run(int per_core);

/* One message each way between every pair: every peer made. */
static void
prime_body(void)
{
	struct future f;

	rx_reset(NNODES * (NNODES - 1));
	for (int i = 0; i < NNODES; i++)
		for (int j = 0; j < NNODES; j++)
			if (i != j)
				CHECK_EQ(msg_send(node[i], NODE_IP(j), EBB_SEQ, 1,
				    payload((uint32_t)i, 0, 0, 64), NULL), 0);
	CHECK_EQ(future_block(&rx.done, NULL), 0);
	CHECK_EQ(rx.bad, 0);
	/* A's peer D too (no_peer's): it fails, there is no messenger there. */
	future_init(&f);
	CHECK_EQ(msg_send(node[0], NODE_IP(3), EBB_SEQ, 1, payload(0, 0, 0, 64), &f), 0);
	CHECK(future_block(&f, NULL) != 0);
	order_run(20);		/* what order_many makes once and keeps */
}

static struct test_leaks
begin(void)
{
	return wire_begin_primed(make_links, run, prime_body);
}

/* ---- order_many ------------------------------------------------------------------------ */

/*
 * A sender, on core k: n messages of 0..1000 bytes (16 at least), the
 * last with a future.  It never blocks (a callback resumes it when
 * there is room again), so that only the run's body ever blocks and
 * every run keeps the same loop stacks.
 */
struct sender {
	int from, to, n, i;
	struct future room, last, done;
};

static struct sender senders[2][NCORES];

static void sender_pump(struct sender *s);

static void
sender_room(struct future *f, void *arg)
{
	CHECK_EQ(f->err, 0);
	sender_pump(arg);
}

static void
sender_last(struct future *f, void *arg)
{
	struct sender *s = arg;

	CHECK_EQ(f->err, 0);
	future_resolve(&s->done, NULL);
}

static void
sender_pump(struct sender *s)
{
	uint32_t k = (uint32_t)core_id();
	int err;

	for (; s->i < s->n; s->i++) {
		size_t n = 16 + (size_t)((s->i * 7919u + k * 104729u) % 985);
		struct iobuf *b = payload((uint32_t)s->from, k, (uint32_t)s->i, n);
		err = msg_send(node[s->from], NODE_IP(s->to), EBB_SEQ, 1, b,
		    s->i == s->n - 1 ? &s->last : NULL);
		if (err == EAGAIN) {
			iobuf_free_chain(b);
			future_init(&s->room);
			CHECK_EQ(msg_wait_room(node[s->from], NODE_IP(s->to), &s->room), 0);
			CHECK_EQ(future_then(&s->room, sender_room, s), 0);
			return;
		}
		CHECK_EQ(err, 0);
	}
	CHECK_EQ(future_then(&s->last, sender_last, s), 0);
}

static void
sender_event(void *arg)
{
	sender_pump(arg);
}

static void
order_run(int per_core)
{
	struct msgr_stats a0, a1, b0, b1;
	struct future f;

	msgr_stats(node[0], &a0);
	msgr_stats(node[1], &b0);
	rx_reset(2L * NCORES * per_core + 1);
	for (int g = 0; g < 2; g++)
		for (int k = 0; k < NCORES; k++) {
			senders[g][k] = (struct sender){ .from = g == 0 ? 0 : 2, .to = 1,
			    .n = per_core };
			future_init(&senders[g][k].last);
			future_init(&senders[g][k].done);
			CHECK_EQ(spawn_on(k, sender_event, &senders[g][k]), 0);
		}
	CHECK_EQ(msg_send(node[0], NODE_IP(1), EBB_SEQ, 1, NULL, NULL), 0);	/* empty */
	future_init(&f);	/* to an Ebb bound at B with no handler: counted there */
	CHECK_EQ(msg_send(node[0], NODE_IP(1), EBB_NONE_HERE, 1, payload(0, 0, 0, 32), &f), 0);
	CHECK_EQ(future_block(&f, NULL), 0);
	for (int g = 0; g < 2; g++)
		for (int k = 0; k < NCORES; k++)
			CHECK_EQ(future_block(&senders[g][k].done, NULL), 0);
	CHECK_EQ(future_block(&rx.done, NULL), 0);
	CHECK_EQ(rx.bad, 0);
	CHECK_EQ(rx.empty, 1);
	for (int k = 0; k < NCORES; k++) {
		CHECK_EQ(rx.next[1][0][k], per_core);
		CHECK_EQ(rx.next[1][2][k], per_core);
	}
	msgr_stats(node[0], &a1);
	msgr_stats(node[1], &b1);
	CHECK_EQ(a1.sent - a0.sent, NCORES * per_core + 2);
	CHECK_EQ(a1.failed - a0.failed, 0);
	CHECK_EQ(b1.no_handler - b0.no_handler, 1);
	CHECK_EQ(b1.delivered - b0.delivered, 2 * NCORES * per_core + 1);
}

static void
order_body(void)
{
	order_run(PER_CORE);
}

TEST(order_many)
{
	struct test_leaks l = begin();

	run(order_body);
	wire_end(l);
}

/* ---- large ------------------------------------------------------------------------------ */

static void
large_body(void)
{
	static const size_t sizes[] = { MIB, MIB + 1, 3 * MIB + 777, MSG_LEN_MAX, MIB };
	struct future f[5];
	struct iobuf *big;

	rx_reset(5);
	for (int i = 0; i < 5; i++) {
		future_init(&f[i]);
		CHECK_EQ(send_wait(node[0], NODE_IP(2), EBB_SEQ,
		    payload(0, 0, (uint32_t)i, sizes[i]), &f[i]), 0);
	}
	for (int i = 0; i < 5; i++)
		CHECK_EQ(future_block(&f[i], NULL), 0);
	CHECK_EQ(future_block(&rx.done, NULL), 0);
	CHECK_EQ(rx.bad, 0);
	CHECK_EQ(rx.next[2][0][0], 5);
	big = payload(0, 0, 9, MSG_LEN_MAX + 1);
	CHECK_EQ(msg_send(node[0], NODE_IP(2), EBB_SEQ, 1, big, NULL), EMSGSIZE);
	iobuf_free_chain(big);
	CHECK_EQ(msg_send(node[0], NODE_IP(0), EBB_SEQ, 1, NULL, NULL), EINVAL);	/* itself */
	CHECK_EQ(msg_send(node[0], NODE_IP(2), 0, 1, NULL, NULL), EINVAL);
}

TEST(large)
{
	struct test_leaks l = begin();

	run(large_body);
	wire_end(l);
}

/* ---- backpressure ------------------------------------------------------------------------ */

#define BP_MSG	(64 * 1024)

static void
backpressure_body(void)
{
	struct future room;
	struct msgr_stats sb;
	size_t free0 = page_count_free(), used;
	int n = 0, err;

	rx_reset(-1);
	/* Send to the holding Ebb until the queue is full. */
	for (;;) {
		struct iobuf *b = payload(0, 0, (uint32_t)n, BP_MSG);
		err = msg_send(node[0], NODE_IP(1), EBB_HOLD, 1, b, NULL);
		if (err != 0) {
			iobuf_free_chain(b);
			break;
		}
		if (++n % 16 == 0)
			test_sleep_ms(1);	/* let it flow, so the stop is B's doing */
		CHECK(n < 1000);
		if (n >= 1000)
			return;
	}
	CHECK_EQ(err, EAGAIN);
	/* The queue is full: it can only drain if B reads; B does not. */
	future_init(&room);
	CHECK_EQ(msg_wait_room(node[0], NODE_IP(1), &room), 0);
	test_sleep_ms(200);
	CHECK(!room.done);
	msgr_stats(node[1], &sb);
	used = (free0 - page_count_free()) * PAGE_SIZE;
	printf("  backpressure: %d messages of %d bytes queued before EAGAIN; B holds %lld "
	    "bytes; %zu KiB of pages in use\n", n, BP_MSG, (long long)sb.held, used / 1024);
	CHECK((uint64_t)n * (BP_MSG + MSG_HDR_LEN) <= MSG_QUEUE_MAX + (uint64_t)sb.held + 512 * 1024);
	CHECK(sb.held >= MSG_HOLD_MAX);
	CHECK(sb.held <= MSG_HOLD_MAX + 512 * 1024);
	CHECK(used <= 24u * MIB);
	/* B reads again: the room comes, the rest goes. */
	rx.want = n + 64;
	__atomic_store_n(&rx.reading, 1, __ATOMIC_RELAXED);
	free_held();
	CHECK_EQ(future_block(&room, NULL), 0);
	for (int i = 0; i < 64; i++)
		CHECK_EQ(send_wait(node[0], NODE_IP(1), EBB_HOLD, payload(0, 0, (uint32_t)(n + i),
		    BP_MSG), NULL), 0);
	CHECK_EQ(future_block(&rx.done, NULL), 0);
	free_held();	/* any the handler kept before it saw reading */
}

TEST(backpressure)
{
	struct test_leaks l = begin();

	run(backpressure_body);
	wire_end(l);
}

/* ---- reset_mid ------------------------------------------------------------------------------- */

#define FILLERS	17	/* 16 put B past MSG_HOLD_MAX; the window takes 256 KiB more */

static void
reset_body(void)
{
	struct future big, small[5];
	struct msgr_stats sb0, sb, sa0, sa;
	uint64_t before = (uint64_t)FILLERS * (BP_MSG + MSG_HDR_LEN);

	msgr_stats(node[1], &sb0);
	msgr_stats(node[0], &sa0);
	rx_reset(-1);
	for (int i = 0; i < FILLERS; i++)
		CHECK_EQ(msg_send(node[0], NODE_IP(1), EBB_HOLD, 1,
		    payload(0, 0, (uint32_t)i, BP_MSG), NULL), 0);
	future_init(&big);
	CHECK_EQ(msg_send(node[0], NODE_IP(1), EBB_HOLD, 1, payload(0, 0, 99, MIB), &big), 0);
	for (int i = 0; i < 5; i++) {
		future_init(&small[i]);
		CHECK_EQ(msg_send(node[0], NODE_IP(1), EBB_HOLD, 1,
		    payload(0, 0, (uint32_t)(100 + i), 100), &small[i]), 0);
	}
	/* Wait until the big one is partly in at B (and can't be all: B holds). */
	do {
		test_sleep_ms(1);
		msgr_stats(node[1], &sb);
	} while (sb.rx_bytes - sb0.rx_bytes < before + MSG_HDR_LEN + 1000);
	CHECK_EQ(msgr_drop(node[1], NODE_IP(0)), 0);
	CHECK_EQ(future_block(&big, NULL), ECONNRESET);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(future_block(&small[i], NULL), ECONNRESET);
	test_sleep_ms(5);
	CHECK_EQ(rx.got, FILLERS);	/* never the half message */
	CHECK(rx.held_bytes == (long)FILLERS * BP_MSG);
	msgr_stats(node[0], &sa);
	CHECK(sa.failed - sa0.failed >= 6);
	CHECK(sa.broken - sa0.broken >= 1);
	free_held();
}

TEST(reset_mid)
{
	struct test_leaks l = begin();

	run(reset_body);
	wire_end(l);
}

/* ---- no_peer ---------------------------------------------------------------------------------- */

static void
no_peer_body(void)
{
	struct future f;
	int err;

	future_init(&f);
	CHECK_EQ(msg_send(node[0], NODE_IP(3), EBB_SEQ, 1, payload(0, 0, 0, 64), &f), 0);
	err = future_block(&f, NULL);
	CHECK(err == ECONNRESET || err == ECONNREFUSED || err == EPIPE);
}

TEST(no_peer)
{
	struct test_leaks l = begin();

	run(no_peer_body);
	wire_end(l);
}

/* ---- bad_frames -------------------------------------------------------------------------------- */

static struct {
	const uint8_t *bytes;
	size_t n;
	struct future done;
	int err;
} raw;

static void
raw_connected(void *arg, struct tcp_conn *c)
{
	(void)arg;
	CHECK_EQ(tcp_write(c, raw.bytes, raw.n), (long)raw.n);
}

static void
raw_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	(void)arg;
	iobuf_free_chain(data);
	if (data == NULL) {
		tcp_close(c);
		raw.err = EPIPE;
		future_resolve(&raw.done, NULL);
	}
}

static void
raw_aborted(void *arg, struct tcp_conn *c, int reason)
{
	(void)arg;
	(void)c;
	raw.err = reason;
	future_resolve(&raw.done, NULL);
}

static const struct tcp_callbacks raw_cb = {
	.connected = raw_connected, .receive = raw_receive, .aborted = raw_aborted,
};

/* Connect to B, send n bytes; B must reset the connection. */
static void
raw_try(const void *bytes, size_t n)
{
	struct tcp_conn *c;

	raw.bytes = bytes;
	raw.n = n;
	future_init(&raw.done);
	CHECK_EQ(tcp_connect(NODE_IP(1), MSG_PORT, &raw_cb, NULL, &c), 0);
	CHECK_EQ(future_block(&raw.done, NULL), 0);
	CHECK_EQ(raw.err, TCP_ERR_RESET);
}

static void
bad_body(void)
{
	static const uint8_t flags[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1 };
	static const uint8_t hello_bad_magic[] = { 0, 0, 0, 12, 0, 0, 0, 0, 0, 1, 0, 0,
	    'X', 'B', 'B', 'M', 0, 1, 0, 0, 10, 71, 0, 2 };
	static const uint8_t no_hello[] = { 0, 0, 0, 0, 0, 0, 0, 210, 0, 1, 0, 0 };
	static const uint8_t too_long[] = { 0, 0x40, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0 };
	static const uint8_t ebb0_after[] = { 0, 0, 0, 12, 0, 0, 0, 0, 0, 1, 0, 0,
	    'E', 'B', 'B', 'M', 0, 1, 0, 0, 10, 71, 0, 2,  0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 };
	struct msgr_stats s0b, s1b;

	msgr_stats(node[1], &s0b);
	raw_try(flags, sizeof flags);
	raw_try(hello_bad_magic, sizeof hello_bad_magic);
	raw_try(no_hello, sizeof no_hello);
	raw_try(too_long, sizeof too_long);
	raw_try(ebb0_after, sizeof ebb0_after);
	msgr_stats(node[1], &s1b);
	CHECK_EQ(s1b.bad_frames - s0b.bad_frames, 5);
	CHECK_EQ(s1b.delivered - s0b.delivered, 0);
}

TEST(bad_frames)
{
	struct test_leaks l = begin();

	run(bad_body);
	wire_end(l);
}
