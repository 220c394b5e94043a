/*
 * test_lan.c: the virtual LAN's switch (hosted/lan.c) against nodes
 * played by plain UDP sockets, as QEMU's dgram netdev would be.
 *
 * The loops run on one core (the LAN's reader is core 0's idle
 * handler); a thread of the test plays three nodes, A, B and C, each a
 * UDP socket on 127.0.0.1 with a MAC of its own, and asks core 0 to
 * send frames from the frontend's stack through a mailbox that a timer
 * there polls.  The frontend's received frames are recorded by the
 * interface's input hook.
 *
 * "Nothing came" is never judged by waiting: after a frame that must
 * not reach a socket, a marker frame that must is sent the same way
 * (loopback UDP from one socket keeps its order), and the next datagram
 * the socket reads has to be the marker.  Checks: learning from the
 * first frame, broadcast to every other node and to us, unicast to its
 * owner only, flooding of an unknown MAC (not back to the sender, not
 * to us), our own frames out by the same rules, a MAC that moves to a
 * new address followed, runts, our own MAC coming back, a multicast
 * source and a datagram over the MTU dropped and counted; the counters;
 * every frame's buffer freed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "ebb/event.h"
#include "ebb/timer.h"
#include "hosted/lan.h"
#include "tcp/iobuf.h"
#include "test.h"

static struct netif *lan;

/* Frames our stack received: the last one's bytes, and how many. */
static uint8_t got_frame[2048];
static size_t got_len;
static int got_count;

/* The mailbox: the thread asks core 0 to send a frame from our stack. */
static uint8_t mail_frame[2048];
static size_t mail_len;
static int mail_full, mail_stop;
static struct timer mail_timer;

static void
record(struct netif *nif, struct iobuf *frame, uint32_t rx_flags)
{
	(void)nif;
	(void)rx_flags;
	got_len = iobuf_chain_len(frame);
	if (got_len <= sizeof got_frame)
		iobuf_copy_out(frame, 0, got_len, got_frame);
	iobuf_free_chain(frame);
	__atomic_add_fetch(&got_count, 1, __ATOMIC_RELEASE);
}

static void
mail_poll(void *arg)
{
	(void)arg;
	if (__atomic_load_n(&mail_full, __ATOMIC_ACQUIRE)) {
		struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, mail_len);

		memcpy(iobuf_put(b, mail_len), mail_frame, mail_len);
		netif_send(lan, b, NULL);
		__atomic_store_n(&mail_full, 0, __ATOMIC_RELEASE);
	}
	if (__atomic_load_n(&mail_stop, __ATOMIC_ACQUIRE)) {
		timer_stop(&mail_timer);
		event_stop(0);
	}
}

/* ---- the nodes ------------------------------------------------------------- */

struct fake {
	int fd;
	uint8_t mac[6];
};

static struct fake A, B, C;
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t nobody[6] = { 0x02, 0, 0, 0, 0, 0x99 };
static const uint8_t D[6] = { 0x52, 0x54, 0, 0xeb, 0, 0xd };
static struct sockaddr_in lan_addr;

static void
fake_open(struct fake *f, uint8_t id)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 30 };	/* a bound on a wait for what must come */

	f->fd = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(bind(f->fd, (struct sockaddr *)&a, sizeof a) == 0);
	setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	memcpy(f->mac, (uint8_t[6]){ 0x52, 0x54, 0, 0xeb, 0, id }, 6);
}

/* A frame: dst, src, type 0x88b5 (local experimental), then tag and padding to len. */
static size_t
frame(uint8_t *p, const uint8_t *dst, const uint8_t *src, uint8_t tag, size_t len)
{
	memset(p, 0, len);
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	p[12] = 0x88;
	p[13] = 0xb5;
	if (len > 14)
		p[14] = tag;
	return len;
}

/* Node f sends a frame to the LAN. */
static void
node_send(struct fake *f, const uint8_t *dst, const uint8_t *src, uint8_t tag, size_t len)
{
	uint8_t p[2048];

	frame(p, dst, src, tag, len);
	CHECK_EQ(sendto(f->fd, p, len, 0, (struct sockaddr *)&lan_addr, sizeof lan_addr), len);
}

/* The next datagram node f receives must be a frame to dst tagged tag. */
static void
expect_at(struct fake *f, const uint8_t *dst, uint8_t tag, int line)
{
	uint8_t p[2048];
	ssize_t n = recv(f->fd, p, sizeof p, 0);

	if (n < 15 || memcmp(p, dst, 6) != 0 || p[14] != tag) {
		char m[128];
		snprintf(m, sizeof m, "line %d: node %02x got %zd bytes, tag %d, not tag %d",
		    line, f->mac[5], n, n >= 15 ? p[14] : -1, tag);
		test_fail(__FILE__, __LINE__, m);
	}
}
#define EXPECT_AT(f, dst, tag) expect_at((f), (dst), (tag), __LINE__)

/* Our stack must have received n frames in all, the last tagged tag. */
static void
expect_us(int n, uint8_t tag, int line)
{
	for (int i = 0; i < 3000 && __atomic_load_n(&got_count, __ATOMIC_ACQUIRE) < n; i++)
		usleep(10000);
	if (__atomic_load_n(&got_count, __ATOMIC_ACQUIRE) != n || got_frame[14] != tag) {
		char m[128];
		snprintf(m, sizeof m, "line %d: we got %d frames (last tag %d), not %d (tag %d)",
		    line, got_count, got_frame[14], n, tag);
		test_fail(__FILE__, __LINE__, m);
	}
}
#define EXPECT_US(n, tag) expect_us((n), (tag), __LINE__)

/* Our stack sends a frame (through core 0), and waits until it has. */
static void
us_send(const uint8_t *dst, uint8_t tag)
{
	mail_len = frame(mail_frame, dst, lan->mac, tag, 60);
	__atomic_store_n(&mail_full, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&mail_full, __ATOMIC_ACQUIRE))
		usleep(1000);
}

static void *
nodes(void *arg)
{
	uint8_t big[1600];

	(void)arg;
	/* A's broadcast: to us only (nobody else is known yet); A learned. */
	node_send(&A, bcast, A.mac, 1, 60);
	EXPECT_US(1, 1);
	/* B's broadcast: to us and to A. */
	node_send(&B, bcast, B.mac, 2, 60);
	EXPECT_AT(&A, bcast, 2);
	EXPECT_US(2, 2);
	/* A to B: B alone.  Then B to A: A alone (the marker for A). */
	node_send(&A, B.mac, A.mac, 3, 60);
	EXPECT_AT(&B, B.mac, 3);
	node_send(&B, A.mac, B.mac, 4, 60);
	EXPECT_AT(&A, A.mac, 4);
	/* A to a MAC nobody has: flooded to B, not back to A, not to us. */
	node_send(&A, nobody, A.mac, 5, 60);
	EXPECT_AT(&B, nobody, 5);
	/* A to us: us alone; then B's marker must be B's next. */
	node_send(&A, lan->mac, A.mac, 6, 60);
	EXPECT_US(3, 6);
	node_send(&A, B.mac, A.mac, 7, 60);
	EXPECT_AT(&B, B.mac, 7);
	/* C joins; our frames: unicast to its owner, broadcast and unknown to all. */
	node_send(&C, bcast, C.mac, 8, 60);
	EXPECT_AT(&A, bcast, 8);
	EXPECT_AT(&B, bcast, 8);
	EXPECT_US(4, 8);
	us_send(A.mac, 9);
	us_send(bcast, 10);
	us_send(nobody, 11);
	EXPECT_AT(&A, A.mac, 9);
	EXPECT_AT(&A, bcast, 10);
	EXPECT_AT(&A, nobody, 11);
	EXPECT_AT(&B, bcast, 10);		/* not 9: A's alone */
	EXPECT_AT(&B, nobody, 11);
	EXPECT_AT(&C, bcast, 10);
	EXPECT_AT(&C, nobody, 11);
	/* Dropped: a runt, our own MAC as a source, a multicast source, over the MTU. */
	node_send(&A, lan->mac, A.mac, 0, 10);
	node_send(&A, B.mac, lan->mac, 12, 60);
	node_send(&A, B.mac, bcast, 13, 60);
	frame(big, B.mac, A.mac, 14, sizeof big);
	CHECK_EQ(sendto(A.fd, big, sizeof big, 0, (struct sockaddr *)&lan_addr, sizeof lan_addr),
	    sizeof big);
	node_send(&A, B.mac, A.mac, 15, 60);
	EXPECT_AT(&B, B.mac, 15);		/* the marker: none of those came */
	EXPECT_US(4, 8);
	/*
	 * C's MAC moves to socket A (a restarted node): frames for C follow
	 * it, and a broadcast goes to socket A once though two MACs are
	 * there.  Socket C, now without a MAC, speaks again as D.
	 */
	node_send(&A, bcast, C.mac, 16, 60);
	EXPECT_AT(&B, bcast, 16);
	EXPECT_US(5, 16);
	us_send(C.mac, 17);
	node_send(&C, bcast, D, 18, 60);
	EXPECT_US(6, 18);
	us_send(bcast, 19);
	EXPECT_AT(&C, bcast, 19);		/* not 17: C's old socket */
	EXPECT_AT(&A, C.mac, 17);
	EXPECT_AT(&A, bcast, 18);		/* once, then 19 once */
	EXPECT_AT(&A, bcast, 19);
	EXPECT_AT(&B, bcast, 18);
	EXPECT_AT(&B, bcast, 19);
	node_send(&B, A.mac, B.mac, 20, 60);
	EXPECT_AT(&A, A.mac, 20);		/* the marker: no second 19 at A */

	__atomic_store_n(&mail_stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

static pthread_t thread;

static void
first(void *arg)
{
	char why[128];
	socklen_t len = sizeof lan_addr;

	(void)arg;
	lan = lan_create("lan0", 0, why, sizeof why);
	CHECK(lan != NULL);
	if (lan == NULL) {
		event_stop(1);
		return;
	}
	lan->input = record;
	lan_addr = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(lan_port(lan)),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	(void)len;
	timer_setup(&mail_timer, mail_poll, NULL);
	timer_start(&mail_timer, TIMER_MS, TIMER_MS);
	pthread_create(&thread, NULL, nodes, NULL);
}

TEST(learning_switch)
{
	struct lan_stats st;

	test_setup(1, 0, TEST_EVENTS);
	fake_open(&A, 0xa);
	fake_open(&B, 0xb);
	fake_open(&C, 0xc);
	CHECK_EQ(event_run(first, NULL), 0);
	pthread_join(thread, NULL);
	lan_stats(lan, &st);			/* the loop has stopped: all counted */
	CHECK_EQ(st.rx, 16);			/* every datagram the nodes sent */
	CHECK_EQ(st.to_us, 6);			/* 1, 2, 6, 8, 16, 18 */
	CHECK_EQ(st.forwarded, 12);		/* 2 3 4 5 7 8x2 15 16 18x2 20 */
	CHECK_EQ(st.tx, 11);			/* 9 10x3 11x3 17 19x3 */
	CHECK_EQ(st.dropped, 4);		/* the runt, ours, multicast, big */
	CHECK_EQ(iobuf_live(), 0);		/* every frame's buffer back (the LAN */
	CHECK_EQ(iobuf_blocks_live(), 0);	/* itself, its idle handler and its
						 * netif live as long as the process) */
}
