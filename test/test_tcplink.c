/*
 * test_tcplink.c: two TCP stacks over the in-memory wire (hosted/memlink),
 * bulk transfers checked byte for byte at the far end.
 *
 * Every case runs K connections at once, connection k opened from core
 * k (so each lives on its own core, and memlink keeps its frames there).
 * Client k sends its bytes, each stream starting with an 8-byte header
 * naming k and then k's pattern (test/tcpstream.h: byte i is byte i % 8
 * of a 64-bit mix of k and i / 8, so a byte out of place, lost, doubled
 * or belonging to another connection cannot pass), and shuts its side
 * down.  The server
 * checks every byte where it falls and keeps an FNV-1a hash of the
 * stream; at the peer's FIN it must have had exactly the bytes sent, and
 * after the run its hash must equal the client's.  In the echo cases the
 * server sends everything back (with backpressure: its receive window
 * stays shut over what its send queue has not taken, as app/echo does)
 * and the client checks the echo the same way.
 *
 * The cases (every link 10.N.0.1 <-> 10.N.0.2, its own subnet; 64 MiB
 * is 4 connections of 16 MiB):
 *	clean		64 MiB, no impairment
 *	loss_1pct	64 MiB, 1% of frames lost each way
 *	loss_5pct	64 MiB, 5% lost
 *	loss_20pct	64 MiB, 20% lost
 *	reorder_dup_echo 64 MiB echoed (both directions checked), 1% reordered
 *			(1 ms late), 1% duplicated, 1% lost
 *	rcvbuf_1	a one-byte receive window at the server (tcp_config's
 *			rcvbuf = 1 while the connection is made): 16 KiB,
 *			every segment one byte, and the transfer completes
 * The wire adds 50 us each way, so the RTO's floor is 10 ms here (200
 * ms by default, which would leave the 20% case idle for minutes: the
 * recovery under test is the same).  Each case ends with no connection
 * left (TIME_WAIT is 20 ms here), no iobuf, and the leak checks of
 * test/netwire.h; the link counters must show the impairments.  A case
 * that does not finish in CASE_DOG_S seconds ($TCPLINK_DOG_S if set)
 * fails with each connection's state printed, and the rest are aborted.
 *
 * Figures (time, retransmissions) go to standard output beside the
 * PASS lines; test/run.sh shows them only when something fails.
 */
#include <stdlib.h>

#include "netwire.h"
#include "tcp/pkt.h"
#include "tcp/tcp.h"

#define PORT		5001
#define MIB		(1024 * 1024ULL)
#define CASE_DOG_S	240		/* a case that takes longer has hung ... */
#define CHUNK		16384		/* most bytes a client makes per tcp_send */
#define MAXK		NCORES		/* connections per case, at most */

#include "tcpstream.h"	/* the streams and their checker: needs MAXK */

/* ---- the case and its connections ------------------------------------------ */

struct tcase {
	const char *name;
	struct memlink **ml;
	int conns;
	uint64_t bytes;		/* per connection, header included */
	int echo;
	uint32_t server_rcvbuf;	/* 0: the default */
	uint32_t rto_max_ms;	/* 0: the default */
	uint32_t syn_retries;	/* 0: the default */
};

/* Client k, on core k. */
struct client {
	struct tcp_conn *c;
	uint64_t sent, hash;	/* bytes queued; FNV of them */
	struct checker echo;	/* what came back (echo cases) */
	int shut, fin, done, aborted;
	struct tcp_info info;	/* at the end */
	uint64_t t_done;
};

/* One accepted connection (malloc'd in accept, freed at its end). */
struct server {
	struct iobuf *pending;	/* echo: delivered, not yet taken by tcp_send */
	int fin;
	int slot;		/* where its result goes: servers[slot] */
};

/* What a server leaves for the checks after the run. */
struct server_result {
	struct checker ck;
	int done, aborted;
	struct tcp_conn *c;	/* while it runs (the watchdog aborts it) */
	struct server *s;
	int core;
	struct tcp_info info;	/* the server's, at the watchdog */
};

static const struct tcase *tc;
static struct memlink *links[6];
static struct client clients[MAXK];
static struct server_result servers[MAXK];
static int nservers;		/* accepted (atomic) */
static int finished;		/* clients and servers done (atomic) */
static uint64_t t_start;
static struct timer quiet;	/* core 0: waits for tcp_live() == 0 */
static const struct tcp_config *base_cfg;
static int dog_fired;		/* the watchdog ended this case */
static int quiet_started;	/* core 0: all_done has run */
static uint64_t quiet_deadline;	/* ... and the wait for quiet ends then */

static void end_one(void);

/* ... unless TCPLINK_DOG_S says how long (to see a hang sooner). */
static uint64_t
dog_s(void)
{
	const char *e = getenv("TCPLINK_DOG_S");

	return e != NULL && atoi(e) > 0 ? (uint64_t)atoi(e) : CASE_DOG_S;
}

/* ---- the client -------------------------------------------------------------- */

/* Print one connection's state and counters. */
static void
print_conn(const char *who, int k, const struct tcp_info *ti)
{
	printf("    %s %d: %s, snd_wnd %u rcv_wnd %u cwnd %u inflight %u sndq %u rcvq %u oooq %u "
	    "srtt %u us rttvar %u us rto %u ms, segs %llu in %llu out, retx %llu, "
	    "timeouts %llu, zwp %llu\n",
	    who, k, tcp_state_name(ti->state), ti->snd_wnd, ti->rcv_wnd, ti->cwnd,
	    ti->inflight, ti->sndq, ti->rcvq, ti->oooq, ti->srtt_us, ti->rttvar_us, ti->rto_ms,
	    (unsigned long long)ti->segs_in, (unsigned long long)ti->segs_out,
	    (unsigned long long)ti->retransmits, (unsigned long long)ti->timeouts,
	    (unsigned long long)ti->zero_window_probes);
}

/* Queue client cl's next bytes while there is room; shut down after the last. */
static void
client_pump(struct client *cl, struct tcp_conn *c)
{
	size_t room;
	uint64_t k = (uint64_t)(cl - clients);

	while (cl->sent < tc->bytes && (room = tcp_sndbuf_free(c)) > 0) {
		size_t n = tc->bytes - cl->sent < room ? (size_t)(tc->bytes - cl->sent) : room;
		if (n > CHUNK)
			n = CHUNK;
		struct iobuf *b = iobuf_alloc(0, n);
		CHECK(b != NULL);
		if (b == NULL)
			return;
		uint8_t *p = iobuf_put(b, n);
		stream_fill(k, cl->sent, p, n);
		long r = tcp_send(c, b);
		if (r > 0)
			cl->hash = fnv(cl->hash, p, (size_t)r);
		iobuf_free_chain(b);
		if (r <= 0) {
			CHECK(r == 0);
			return;
		}
		cl->sent += (uint64_t)r;
	}
	if (cl->sent == tc->bytes && !cl->shut) {
		cl->shut = 1;
		CHECK_EQ(tcp_shutdown(c), 0);
	}
}

/* The client's handshake is done: start sending. */
static void
cl_connected(void *arg, struct tcp_conn *c)
{
	CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
	client_pump(arg, c);
}

/* Room in the client's send buffer: send more. */
static void
cl_sent(void *arg, struct tcp_conn *c, size_t acked)
{
	(void)acked;
	client_pump(arg, c);
}

/* What comes back to the client: checked (echo cases only), or the FIN. */
static void
cl_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	struct client *cl = arg;

	(void)c;
	if (data == NULL) {
		cl->fin = 1;
		return;
	}
	CHECK(tc->echo);		/* nothing comes back otherwise */
	check_chain(&cl->echo, data);
	iobuf_free_chain(data);
}

/* Both directions done: note the counters, give the handle up. */
static void
cl_closed(void *arg, struct tcp_conn *c)
{
	struct client *cl = arg;

	tcp_conn_info(c, &cl->info);
	cl->t_done = clock_ns();
	cl->done = 1;
	tcp_close(c);
	end_one();
}

/* A client connection failed: the case fails, with its state. */
static void
cl_aborted(void *arg, struct tcp_conn *c, int reason)
{
	struct client *cl = arg;
	struct tcp_info ti;
	char m[96];

	tcp_conn_info(c, &ti);		/* still valid inside the callback */
	print_conn("aborted client", (int)(cl - clients), &ti);
	snprintf(m, sizeof m, "client %d aborted, reason %d", (int)(cl - clients), reason);
	test_fail(__FILE__, __LINE__, m);
	cl->aborted = cl->done = 1;
	end_one();
}

static const struct tcp_callbacks client_cb = {
	.connected = cl_connected, .receive = cl_receive, .sent = cl_sent,
	.closed = cl_closed, .aborted = cl_aborted,
};

/* On core k: open client k's connection. */
static void
client_start(void *unused)
{
	struct client *cl = &clients[core_id()];
	uint32_t lip, rip;
	uint16_t lport, rport;

	(void)unused;
	cl->hash = FNV_INIT;
	cl->echo.hash = FNV_INIT;
	CHECK_EQ(tcp_connect(memlink_netif(*tc->ml, 1)->ip, PORT, &client_cb, cl, &cl->c), 0);
	/* Its port makes the flow this core's (tcp.c): one queue steers here. */
	tcp_endpoints(cl->c, &lip, &lport, &rip, &rport);
	CHECK_EQ(netif_flow_hash(rip, lip, hton16(rport), hton16(lport)) % (uint32_t)core_count(),
	    core_id());
}

/* ---- the server -------------------------------------------------------------- */

/* The server's end: its result kept, its state freed, the handle closed. */
static void
server_end(struct server *s, struct tcp_conn *c)
{
	servers[s->slot].done = 1;
	servers[s->slot].c = NULL;
	free(s);
	tcp_close(c);
	end_one();
}

/* Echo cases: queue what fits, reopen the window by as much. */
static void
server_flush(struct server *s, struct tcp_conn *c)
{
	if (s->pending != NULL) {
		long n = tcp_send(c, s->pending);
		CHECK(n >= 0);
		if (n > 0) {
			s->pending = pkt_drop(s->pending, (size_t)n);
			tcp_recved(c, (size_t)n);
		}
	}
	if (s->fin && s->pending == NULL)
		server_end(s, c);
}

/* Server: check what arrives; echo it (echo cases) or free it; close after the FIN. */
static void
sv_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	struct server *s = arg;

	if (data == NULL) {
		s->fin = 1;
		if (!tc->echo)
			server_end(s, c);
		else
			server_flush(s, c);
		return;
	}
	check_chain(&servers[s->slot].ck, data);
	if (!tc->echo) {
		iobuf_free_chain(data);
		return;
	}
	if (s->pending == NULL)
		s->pending = data;
	else
		iobuf_chain_append(s->pending, data);
	server_flush(s, c);
}

/* Server (echo cases): room again; send more of what is pending. */
static void
sv_sent(void *arg, struct tcp_conn *c, size_t acked)
{
	(void)acked;
	if (tc->echo)
		server_flush(arg, c);
}

/* A server connection failed: the case fails. */
static void
sv_aborted(void *arg, struct tcp_conn *c, int reason)
{
	struct server *s = arg;
	char m[96];

	(void)c;
	snprintf(m, sizeof m, "server %d aborted, reason %d", s->slot, reason);
	test_fail(__FILE__, __LINE__, m);
	servers[s->slot].aborted = servers[s->slot].done = 1;
	servers[s->slot].c = NULL;
	iobuf_free_chain(s->pending);
	free(s);
	end_one();
}

static const struct tcp_callbacks server_cb = {
	.receive = sv_receive, .sent = sv_sent, .aborted = sv_aborted,
};

/* Server: a new connection gets a result slot and, echoing, a held window. */
static int
sv_accept(void *arg, struct tcp_conn *c)
{
	struct server *s = calloc(1, sizeof *s);

	(void)arg;
	CHECK(s != NULL);
	if (s == NULL)
		return 1;
	s->slot = __atomic_fetch_add(&nservers, 1, __ATOMIC_RELAXED);
	CHECK(s->slot < tc->conns);
	if (s->slot >= tc->conns) {
		free(s);
		return 1;
	}
	servers[s->slot].ck.hash = FNV_INIT;
	servers[s->slot].c = c;
	servers[s->slot].s = s;
	servers[s->slot].core = core_id();
	if (tc->echo)
		tcp_setopt(c, TCP_OPT_MANUAL_RECVED, 1);
	tcp_attach(c, &server_cb, s);
	return 0;
}

/* ---- the run ---------------------------------------------------------------- */

/* Core 0, every 5 ms once all are done: finish when no connection is left. */
static void
quiet_tick(void *unused)
{
	(void)unused;
	if (tcp_live() != 0 && !(dog_fired && clock_ns() > quiet_deadline))
		return;
	timer_stop(&quiet);
	CHECK_EQ(tcp_unlisten(PORT), 0);
	wire_finish();
}

/* Core 0, once: wait (5 ms ticks) for every connection to be freed. */
static void
all_done(void *unused)
{
	(void)unused;
	if (quiet_started++)
		return;		/* the watchdog's and the last end_one's */
	timer_setup(&quiet, quiet_tick, NULL);
	timer_start(&quiet, 5 * TIMER_MS, 5 * TIMER_MS);
}

/* A client or a server finished; the last one starts the wait for quiet. */
static void
end_one(void)
{
	/* Acq_rel: the last to count sees every other's results. */
	if (__atomic_add_fetch(&finished, 1, __ATOMIC_ACQ_REL) == 2 * tc->conns)
		spawn_on(0, all_done, NULL);
}

/* After the watchdog, on each core: report and abort what is still open here. */
static void
abort_core(void *unused)
{
	int k = core_id();
	struct tcp_info ti;

	(void)unused;
	if (k < tc->conns && !clients[k].done && clients[k].c != NULL) {
		tcp_conn_info(clients[k].c, &ti);
		print_conn("client", k, &ti);
		clients[k].done = clients[k].aborted = 1;
		tcp_abort(clients[k].c);
	}
	for (int j = 0; j < tc->conns; j++)
		if (servers[j].c != NULL && servers[j].core == k) {
			tcp_conn_info(servers[j].c, &ti);
			print_conn("server", j, &ti);
			iobuf_free_chain(servers[j].s->pending);
			free(servers[j].s);
			tcp_abort(servers[j].c);
			servers[j].c = NULL;
		}
	fflush(stdout);
}

/*
 * The watchdog: say where every connection stood, fail, abort them all
 * and end the run (after at most 2 s more for what the stack holds), so
 * that the cases after this one start clean.
 */
static void
case_dog(void *unused)
{
	char m[160];

	(void)unused;
	printf("  %s: %d connections accepted\n", tc->name, nservers);
	for (int k = 0; k < tc->conns; k++)
		printf("  client %d: sent %llu of %llu, shut %d, fin %d, done %d; "
		    "server slot %d: stream %llu, got %llu, done %d\n",
		    k, (unsigned long long)clients[k].sent, (unsigned long long)tc->bytes,
		    clients[k].shut, clients[k].fin, clients[k].done, k,
		    (unsigned long long)servers[k].ck.k, (unsigned long long)servers[k].ck.got,
		    servers[k].done);
	snprintf(m, sizeof m, "%s: not finished after %llu s; tcp_live() = %ld",
	    tc->name, (unsigned long long)dog_s(), tcp_live());
	test_fail(__FILE__, __LINE__, m);
	dog_fired = 1;
	quiet_deadline = clock_ns() + 2000 * TIMER_MS;
	for (int c = 0; c < core_count(); c++)
		spawn_on(c, abort_core, NULL);
	spawn_on(0, all_done, NULL);
}

/* The case's first event: configure, arm the watchdog, listen, start the clients. */
static int
case_body(void)
{
	struct tcp_config cfg = *base_cfg;

	if (tc->server_rcvbuf != 0)	/* both ends get it; only the server receives */
		cfg.rcvbuf = tc->server_rcvbuf;
	if (tc->rto_max_ms != 0)
		cfg.rto_max_ms = tc->rto_max_ms;
	if (tc->syn_retries != 0)
		cfg.syn_retries = tc->syn_retries;
	CHECK_EQ(tcp_configure(&cfg), 0);
	timer_setup(&dog, case_dog, NULL);
	timer_start(&dog, dog_s() * 1000 * TIMER_MS, 0);
	CHECK_EQ(tcp_listen(PORT, sv_accept, NULL), 0);
	t_start = clock_ns();
	for (int k = 0; k < tc->conns; k++)
		spawn_on(k, client_start, NULL);
	return 1;		/* quiet_tick calls wire_finish */
}

/* event_run's first event. */
static void
case_first(void *unused)
{
	(void)unused;
	case_body();
}

/* The links, once: one per case, each on its own subnet. */
static struct netif *
make_links(void)
{
	static const struct memlink_config cfgs[] = {
		{ .seed = 11, .delay_ns = 50000 },
		{ .seed = 12, .delay_ns = 50000, .loss_ppm = 10000 },
		{ .seed = 13, .delay_ns = 50000, .loss_ppm = 50000 },
		{ .seed = 14, .delay_ns = 50000, .loss_ppm = 200000 },
		{ .seed = 15, .delay_ns = 50000, .loss_ppm = 10000, .dup_ppm = 10000,
		  .reorder_ppm = 10000, .reorder_ns = 1000000 },
		{ .seed = 16, .delay_ns = 50000 },
	};
	static struct tcp_config cfg;
	char na[8], nb[8];

	for (int i = 0; i < 6; i++) {
		snprintf(na, sizeof na, "t%da", i);
		snprintf(nb, sizeof nb, "t%db", i);
		links[i] = memlink_create(na, nb, &cfgs[i]);
		CHECK(links[i] != NULL);
		struct netif *a = memlink_netif(links[i], 0), *b = memlink_netif(links[i], 1);
		a->ip = IP4(10, 60 + i, 0, 1);
		b->ip = IP4(10, 60 + i, 0, 2);
		a->netmask = b->netmask = IP4(255, 255, 255, 0);
	}
	tcp_config_get(&cfg);
	cfg.time_wait_ms = 20;		/* so that a case ends soon after */
	cfg.fin_wait2_ms = 1000;
	cfg.rto_min_ms = 10;		/* the wire's round trip is 100 us */
	cfg.rto_init_ms = 100;
	CHECK_EQ(tcp_configure(&cfg), 0);
	base_cfg = &cfg;
	return memlink_netif(links[5], 0);
}

/* Frames the wire lost (both sides). */
static uint64_t
lost(struct memlink *ml)
{
	struct memlink_stats a, b;

	memlink_stats(ml, 0, &a);
	memlink_stats(ml, 1, &b);
	return a.lost + b.lost;
}

/* Frames the wire dropped for a full queue (both sides). */
static uint64_t
overflow(struct memlink *ml)
{
	struct memlink_stats a, b;

	memlink_stats(ml, 0, &a);
	memlink_stats(ml, 1, &b);
	return a.overflow + b.overflow;
}

/* Run case t once, without checks. */
static void
run_once(const struct tcase *t)
{
	tc = t;
	memset(clients, 0, sizeof clients);
	memset(servers, 0, sizeof servers);
	nservers = finished = dog_fired = quiet_started = 0;
	CHECK_EQ(event_run(case_first, NULL), 0);
}

/*
 * The first case of the suite: 64 KiB echoed on every core, so that
 * what TCP makes once and keeps (its tables, per-core state) exists
 * before the leak checks' baseline.
 */
static void
prime_tcp(struct test_leaks *l)
{
	static const struct tcase t = { .name = "prime", .ml = &links[0], .conns = NCORES,
	    .bytes = 65536, .echo = 1 };
	static int done;

	if (done)
		return;
	done = 1;
	run_once(&t);
	*l = test_leak_start(NCORES);
	net_stats_read(&s0);
}

/* Run case t and check everything it left. */
static void
run_case(const struct tcase *t)
{
	struct test_leaks l = wire_begin(make_links);
	uint64_t lost0, over0, retx = 0, to = 0, fast = 0, sack = 0;

	prime_tcp(&l);
	lost0 = lost(*t->ml);
	over0 = overflow(*t->ml);
	run_once(t);
	CHECK_EQ(tcp_configure(base_cfg), 0);
	double s = (double)(clock_ns() - t_start) / 1e9;

	CHECK_EQ(nservers, t->conns);
	for (int k = 0; k < t->conns; k++) {
		struct client *cl = &clients[k];
		struct server_result *sv = NULL;
		for (int j = 0; j < t->conns; j++)
			if (servers[j].ck.got >= HDR && servers[j].ck.k == (uint64_t)k)
				sv = &servers[j];
		CHECK(sv != NULL);
		CHECK(cl->done && !cl->aborted);
		CHECK_EQ(cl->sent, t->bytes);
		if (sv != NULL) {
			CHECK(sv->done && !sv->aborted);
			CHECK_EQ(sv->ck.got, t->bytes);
			CHECK_EQ(sv->ck.bad, 0);
			CHECK(sv->ck.hash == cl->hash);
		}
		if (t->echo) {
			CHECK_EQ(cl->echo.got, t->bytes);
			CHECK_EQ(cl->echo.bad, 0);
			CHECK_EQ(cl->echo.k, (uint64_t)k);
			CHECK(cl->echo.hash == cl->hash);
		}
		retx += cl->info.retransmits;
		to += cl->info.timeouts;
		fast += cl->info.fast_retransmits;
		sack += cl->info.sack_retransmits;
	}
	CHECK_EQ(tcp_live(), 0);
	printf("  %s: %d x %llu bytes in %.2f s (%.1f MB/s); %llu frames lost on the wire, "
	    "%llu dropped by a full queue; clients' retransmits %llu (fast %llu, sack %llu, "
	    "timeouts %llu)\n",
	    t->name, t->conns, (unsigned long long)t->bytes, s,
	    (double)t->bytes * t->conns / s / 1e6, (unsigned long long)(lost(*t->ml) - lost0),
	    (unsigned long long)(overflow(*t->ml) - over0),
	    (unsigned long long)retx, (unsigned long long)fast, (unsigned long long)sack,
	    (unsigned long long)to);
	fflush(stdout);
	wire_end(l);
}

/* ---- the cases ---------------------------------------------------------------- */

TEST(clean)
{
	static const struct tcase t = { .name = "clean", .ml = &links[0], .conns = 4,
	    .bytes = 16 * MIB };

	run_case(&t);
}

TEST(loss_1pct)
{
	static const struct tcase t = { .name = "loss_1pct", .ml = &links[1], .conns = 4,
	    .bytes = 16 * MIB };

	run_case(&t);
	CHECK(lost(links[1]) > 0);
}

TEST(loss_5pct)
{
	static const struct tcase t = { .name = "loss_5pct", .ml = &links[2], .conns = 4,
	    .bytes = 16 * MIB };

	run_case(&t);
	CHECK(lost(links[2]) > 0);
}

/*
 * Until tcpcore's 8a3ce25, RTT samples from ACKs that echoed the
 * timestamp of a segment sent before an RTO included the wait, so under
 * 20% loss the RTO climbed to seconds on this 100 us wire and 64 MiB
 * never finished.  For the record of such a regression:
 * TCPLINK_SMALL=1 sends 1 MiB per connection instead, and
 * TCPLINK_RTO_MAX=ms caps the RTO (allowing 30 SYNs then, since ARP
 * itself retries through the loss meanwhile).
 */
TEST(loss_20pct)
{
	static struct tcase t = { .name = "loss_20pct", .ml = &links[3], .conns = 4,
	    .bytes = 16 * MIB };

	if (getenv("TCPLINK_SMALL") != NULL)
		t.bytes = MIB;
	if (getenv("TCPLINK_RTO_MAX") != NULL && atoi(getenv("TCPLINK_RTO_MAX")) > 0) {
		t.rto_max_ms = (uint32_t)atoi(getenv("TCPLINK_RTO_MAX"));
		t.syn_retries = 30;
	}
	run_case(&t);
	CHECK(lost(links[3]) > 0);
}

TEST(reorder_dup_echo)
{
	static const struct tcase t = { .name = "reorder_dup_echo", .ml = &links[4], .conns = 4,
	    .bytes = 16 * MIB, .echo = 1 };
	struct memlink_stats a, b;

	run_case(&t);
	memlink_stats(links[4], 0, &a);
	memlink_stats(links[4], 1, &b);
	CHECK(a.reordered + b.reordered > 0);
	CHECK(a.duplicated + b.duplicated > 0);
}

TEST(rcvbuf_1)
{
	static const struct tcase t = { .name = "rcvbuf_1", .ml = &links[5], .conns = 1,
	    .bytes = 16384, .server_rcvbuf = 1 };

	run_case(&t);
}
