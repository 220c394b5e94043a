/*
 * tcp.c: where TCP finds things: the connection tables, listeners,
 * ISNs and timestamp offsets, TCP's clock.  Portable.  The bottom of
 * the TCP files: it calls none of them.  (A connection's life is in
 * tcp_conn.c, the API's calls in tcp_api.c.)
 *
 *	tcp_conn_new (tcp_conn.c) -> tcp_table_add: the limit, both tables,
 *	                             the ephemeral port, ISN, TS offset
 *	tcp_conn_free -> tcp_table_remove
 *	tcp_dispatch (tcp_in.c) -> tcp_lookup, tcp_owner_lookup,
 *	                           tcp_listener_get
 *	tcp_listen, tcp_unlisten (the API) -> the listeners' table
 *
 * Where connections are found.  Each core keeps its own connections in
 * a chained hash table of its own (tcp_cores[core].bucket), keyed by
 * the remote address, remote port and local port (tcp_key: 64 bits; the
 * local address is the interface's and is checked on the match).  That
 * is the lookup every segment makes, touching nothing shared.  A second
 * table, shared by the instance (an RCU hash, ebb/rhash.h), maps the
 * same key to the connection for the other cores: a segment that
 * misses on its core looks there and is handed to the owner with
 * spawn_on (tcp_in.c); tcp_connect picks its ephemeral port by putting
 * the key there (rhash_put refuses a key in use, so two cores cannot
 * take the same 4-tuple).  Writes to it take the table's one lock, once
 * when a connection is made and once when it is freed.  Since other
 * cores read c->core through that table, a connection's memory is
 * freed after an RCU grace period (and, within the owner's own event,
 * code that ran a callback checks c->freed before going on).
 *
 * Listeners: an RCU hash from port to struct tcp_listener, as UDP's.  A
 * listener is counted (refs): the table holds one reference, and each
 * handshake in progress one more, so a listener removed while SYNs are
 * pending lives until they finish; the last reference frees it after a
 * grace period.
 *
 * Initial sequence numbers (RFC 6528): ISN = M + F(4-tuple, secret),
 * M a clock that ticks every 4 microseconds, F SipHash-2-4 of the
 * 4-tuple under a 128-bit boot secret (made at first use from the clock
 * unless tcp_set_secret gave one).  The timestamp clock's offset per
 * connection comes from the same hash (RFC 7323 section 5.4), and so
 * does a SYN cookie's MAC (tcp_cookie.c): tcp_hash is the one keyed
 * hash, its inputs kept apart by their lengths and tag bits.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "ebb/percore.h"
#include "ebb/rhash.h"
#include "kernel/malloc.h"
#include "kernel/spinlock.h"
#include "pkt.h"
#include "stats.h"
#include "tcp_int.h"

struct tcp_config tcp_cfg = {
	.time_wait_ms = 60000,
	.fin_wait2_ms = 60000,
	.sndbuf = 262144,
	.rcvbuf = 262144,
	.conn_max = 65536,
	.syn_backlog = 128,
	.rto_init_ms = 1000,
	.rto_min_ms = 200,
	.rto_max_ms = 60000,
	.syn_retries = 6,
	.data_retries = 15,
	.delack_ms = 40,
	.keepalive_idle_ms = 7200000,
	.keepalive_intvl_ms = 75000,
	.keepalive_cnt = 9,
	.persist_max_ms = 60000,
	.syn_cookies = 1,
};

/* Per core: its connections, its port cursor, its challenge-ACK bucket, its burst list. */
static struct tcp_core {
	LIST_HEAD(, tcp_conn) bucket[TCP_CONN_BUCKETS];
	struct tcp_burstq burst;	/* tcp_rx.c */
	uint16_t next_port;		/* ephemeral cursor (0: not started) */
	uint32_t tokens;		/* challenge ACKs left this second */
	uint64_t refill_ns;		/* when tokens were last refilled */
} tcp_cores[NCPU] PERCORE;

static struct rhash *owners;		/* key -> conn, every core's */
static struct rhash *listeners;		/* port -> listener */
static struct spinlock make_lock = SPINLOCK_INIT("tcp_tables");
static long live;			/* connections allocated (atomic) */

static uint64_t secret[2];		/* SipHash key, set once */
static int secret_set;			/* atomic: 0 none, 1 being set, 2 set */

/* ---- tables ---------------------------------------------------------------- */

/* The shared tables, made on first use; 0, or ENOMEM. */
static int
tcp_tables(void)
{
	if (rcu_deref(listeners) != NULL)
		return 0;
	spin_lock(&make_lock);
	if (owners == NULL)
		rcu_assign(owners, rhash_new(TCP_OWNER_BUCKETS));
	if (owners != NULL && listeners == NULL)
		rcu_assign(listeners, rhash_new(TCP_LISTEN_BUCKETS));
	spin_unlock(&make_lock);
	return rcu_deref(listeners) == NULL ? ENOMEM : 0;
}

struct tcp_burstq *
tcp_burstq(void)
{
	return &tcp_cores[core_id()].burst;
}

/* The lookup key of a connection: remote address and port, local port. */
uint64_t
tcp_key(uint32_t rip, uint16_t rport, uint16_t lport)
{
	return (uint64_t)rip << 32 | (uint32_t)rport << 16 | lport;
}

/* This core's lookup chain for key. */
static LIST_HEAD(, tcp_conn) *
tcp_bucket(uint64_t key)
{
	uint64_t h = key * 0x9E3779B97F4A7C15ULL;

	return (void *)&tcp_cores[core_id()].bucket[(h >> 40) % TCP_CONN_BUCKETS];
}

/* This core's connection for key, or NULL. */
struct tcp_conn *
tcp_lookup(uint64_t key)
{
	struct tcp_conn *c;

	LIST_FOREACH(c, tcp_bucket(key), hlink)
		if (c->key == key)
			return c;
	return NULL;
}

/* Any core's connection for key (RCU: within this event), or NULL. */
struct tcp_conn *
tcp_owner_lookup(uint64_t key)
{
	struct rhash *h = rcu_deref(owners);

	return h == NULL ? NULL : rhash_get(h, key);
}

/* The live listener on port (RCU: within this event), or NULL. */
struct tcp_listener *
tcp_listener_get(uint16_t port)
{
	struct rhash *h = rcu_deref(listeners);
	struct tcp_listener *l;

	if (h == NULL || (l = rhash_get(h, port)) == NULL)
		return NULL;
	if (__atomic_load_n(&l->dead, __ATOMIC_ACQUIRE))
		return NULL;
	return l;
}

/* After a grace period: a listener nobody can hold any more. */
static void
listener_free(struct rcu_head *r)
{
	kfree((char *)r - offsetof(struct tcp_listener, rcu));
}

/* Drop one reference to l; the last frees it after a grace period. */
void
tcp_listener_put(struct tcp_listener *l)
{
	/* Acq_rel: every holder's use comes before the free. */
	if (__atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) == 0)
		rcu_call_head(&l->rcu, listener_free);
}

/* Start accepting on port (tcp.h). */
int
tcp_listen(uint16_t port, tcp_accept_fn on_accept, void *arg)
{
	struct tcp_listener *l;
	int err;

	if (port == 0 || on_accept == NULL)
		return EINVAL;
	if (tcp_tables() != 0 || (l = kcalloc(1, sizeof *l)) == NULL)
		return ENOMEM;
	l->port = port;
	l->fn = on_accept;
	l->arg = arg;
	l->refs = 1;
	if ((err = rhash_put(listeners, port, l)) != 0) {
		kfree(l);
		return err == -1 ? EADDRINUSE : err;
	}
	return 0;
}

/* Stop accepting on port; handshakes in progress keep the listener. */
int
tcp_unlisten(uint16_t port)
{
	struct rhash *h = rcu_deref(listeners);
	struct tcp_listener *l;

	if (h == NULL || (l = rhash_del(h, port)) == NULL)
		return ENOENT;
	/* Release: a reader that sees dead sees nothing newer needed. */
	__atomic_store_n(&l->dead, 1, __ATOMIC_RELEASE);
	tcp_listener_put(l);
	return 0;
}

/* ---- ISNs and clocks ------------------------------------------------------- */

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

/* Set the ISN secret (tcp.h). */
void
tcp_set_secret(const uint8_t key[16])
{
	memcpy(secret, key, 16);
	__atomic_store_n(&secret_set, 2, __ATOMIC_RELEASE);
}

/* Make the secret from the clock on first use (once, by whoever comes first). */
static void
tcp_secret(void)
{
	int zero = 0;
	uint64_t t;

	if (__atomic_load_n(&secret_set, __ATOMIC_ACQUIRE) == 2)
		return;
	if (__atomic_compare_exchange_n(&secret_set, &zero, 1, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		t = clock_ns();
		secret[0] = t * 0x9E3779B97F4A7C15ULL ^ (uintptr_t)&t;
		secret[1] = ROTL(t, 29) * 0xC2B2AE3D27D4EB4FULL ^ (uintptr_t)tcp_cores;
		/* Release: the key is written before anyone reads it. */
		__atomic_store_n(&secret_set, 2, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&secret_set, __ATOMIC_ACQUIRE) != 2)
		;
}

/* One SipHash compression round on word w (two SipRounds). */
#define SIPCOMPRESS(w) do {						\
	v3 ^= (w);							\
	SIPROUND;							\
	SIPROUND;							\
	v0 ^= (w);							\
} while (0)

/*
 * SipHash-2-4 (Aumasson and Bernstein) of n 64-bit words under the boot
 * secret, which the caller has made (tcp_secret).  The message's length
 * is in its last block, so hashes of different lengths never collide by
 * construction: the ISN and the timestamp offset hash two words, a SYN
 * cookie (tcp_cookie.c) three.  Inline, so that the two-word hashes of
 * every connection are unrolled.
 */
static inline uint64_t
siphash(const uint64_t *m, int n)
{
	uint64_t v0 = secret[0] ^ 0x736f6d6570736575ULL;
	uint64_t v1 = secret[1] ^ 0x646f72616e646f6dULL;
	uint64_t v2 = secret[0] ^ 0x6c7967656e657261ULL;
	uint64_t v3 = secret[1] ^ 0x7465646279746573ULL;

	for (int i = 0; i < n; i++)
		SIPCOMPRESS(m[i]);
	SIPCOMPRESS((uint64_t)(8 * n) << 56);	/* last: the length */
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* SipHash-2-4 of n words under the boot secret (made now if need be). */
uint64_t
tcp_hash(const uint64_t *m, int n)
{
	tcp_secret();
	return siphash(m, n);
}

/* An RFC 6528 initial sequence number for the 4-tuple. */
uint32_t
tcp_isn(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
	uint64_t m[2] = { (uint64_t)lip << 32 | rip, (uint64_t)lport << 16 | rport };

	tcp_secret();
	return (uint32_t)siphash(m, 2) + (uint32_t)(clock_ns() / 4000);
}

/* The per-connection offset of our timestamp clock (RFC 7323 5.4). */
uint32_t
tcp_ts_offset(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
	uint64_t m[2] = { (uint64_t)rip << 32 | lip, (uint64_t)rport << 16 | lport | 1ULL << 40 };

	tcp_secret();
	return (uint32_t)siphash(m, 2);
}

/* TCP's clock, nanoseconds. */
uint64_t
tcp_now_ns(void)
{
	return clock_ns();
}

/*
 * c's clock: while tcp_process handles a segment of c, the time it
 * came (last_rx_ns, read once per segment, as Linux keeps tcp_mstamp),
 * so that the ACKs, sends, timestamps and timers it leads to need no
 * clock of their own; else the clock.
 */
uint64_t
tcp_conn_now(const struct tcp_conn *c)
{
	return c->in_input ? c->last_rx_ns : clock_ns();
}

/* Our TSval now: milliseconds plus c's offset (RFC 7323 5.4). */
uint32_t
tcp_ts_now(const struct tcp_conn *c)
{
	return (uint32_t)(tcp_conn_now(c) / TIMER_MS) + c->ts_off;
}

/* May this core send a challenge ACK now?  1 yes (a token taken), 0 no. */
int
tcp_challenge_ok(void)
{
	struct tcp_core *tc = &tcp_cores[core_id()];
	uint64_t now = clock_ns();

	if (now - tc->refill_ns >= 1000 * TIMER_MS) {
		tc->refill_ns = now;
		tc->tokens = TCP_CHALLENGE_RATE;
	}
	if (tc->tokens == 0) {
		NSTAT(tcp, challenge_limited);
		return 0;
	}
	tc->tokens--;
	return 1;
}

/* ---- connections ----------------------------------------------------------- */

/*
 * Put c in the shared table, choosing an ephemeral port if lport is 0.
 * On an instance of several cores the first pass takes only ports whose
 * flow (netif_flow_core's hash of the 4-tuple) is this core's, so that
 * an interface with one receive queue steers the connection's segments
 * straight to its owner (netif.h: at most one crossing); a second pass
 * takes any free port.
 */
static int
tcp_publish(struct tcp_conn *c)
{
	struct tcp_core *tc = &tcp_cores[core_id()];
	int span = TCP_EPHEMERAL_HI - TCP_EPHEMERAL_LO + 1, n = core_count(), err;

	if (c->lport != 0) {
		c->key = tcp_key(c->rip, c->rport, c->lport);
		err = rhash_put(owners, c->key, c);
		return err == -1 ? EADDRINUSE : err;
	}
	if (tc->next_port == 0)
		tc->next_port = (uint16_t)(TCP_EPHEMERAL_LO +
		    (tcp_isn(0, 0, c->rip, (uint16_t)core_id()) % span));
	for (int pass = n > 1 ? 0 : 1; pass < 2; pass++) {
		for (int i = 0; i < span; i++) {
			uint16_t p = tc->next_port;
			tc->next_port = p == TCP_EPHEMERAL_HI ? TCP_EPHEMERAL_LO : p + 1;
			if (pass == 0 && (int)(netif_flow_hash(c->rip, c->lip,
			    hton16(c->rport), hton16(p)) % (uint32_t)n) != core_id())
				continue;	/* as netif_flow_core hashes the wire */
			c->key = tcp_key(c->rip, c->rport, p);
			if ((err = rhash_put(owners, c->key, c)) == 0) {
				c->lport = p;
				return 0;
			}
			if (err != -1)
				return err;
		}
	}
	return EADDRNOTAVAIL;
}

/*
 * Count c against conn_max and put it in both tables (an ephemeral port
 * chosen if c->lport is 0), and give it the ISN and timestamp offset of
 * its 4-tuple: 0, or EMFILE, ENOMEM, EADDRINUSE, EADDRNOTAVAIL (c in
 * neither).
 */
int
tcp_table_add(struct tcp_conn *c)
{
	int err;

	if ((err = tcp_tables()) != 0)
		return err;
	/* Relaxed: a count; overshooting by a racing core is undone below. */
	if (__atomic_add_fetch(&live, 1, __ATOMIC_RELAXED) > (long)tcp_cfg.conn_max) {
		__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
		NSTAT(tcp, conn_limit);
		return EMFILE;
	}
	if ((err = tcp_publish(c)) != 0) {
		__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
		return err;
	}
	LIST_INSERT_HEAD(tcp_bucket(c->key), c, hlink);
	c->iss = tcp_isn(c->lip, c->lport, c->rip, c->rport);
	c->ts_off = tcp_ts_offset(c->lip, c->lport, c->rip, c->rport);
	return 0;
}

/* Take c out of both tables (other cores may still read it: RCU). */
void
tcp_table_remove(struct tcp_conn *c)
{
	LIST_REMOVE(c, hlink);
	rhash_del(owners, c->key);
	__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
}

/* Connections alive now, on every core. */
void
tcp_count_states(long out[TCP_TIME_WAIT + 1])
{
	struct tcp_conn *c;

	for (int i = 0; i < TCP_CONN_BUCKETS; i++)
		LIST_FOREACH(c, &tcp_cores[core_id()].bucket[i], hlink)
			out[c->state]++;
}

long
tcp_live(void)
{
	return __atomic_load_n(&live, __ATOMIC_RELAXED);
}
