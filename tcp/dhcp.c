/*
 * dhcp.c: the DHCP client (RFC 2131).  Portable.
 *
 *	start:    dhcp_start -> dhcp_discover -> dhcp_send -> udp_sendto (bcast)
 *	receive:  udp_input -> dhcp_recv -> dhcp_parse (any core; malformed:
 *	          dropped, counted) -> dhcp_handle (the client's core, via
 *	          spawn_on if need be) -> dhcp_offer | dhcp_bind | dhcp_lose
 *	timers:   rtx   -> dhcp_rtx_fire   -> the state's message again, backoff
 *	          lease -> dhcp_lease_fire -> BOUND: renew (T1, unicast)
 *	                                   -> RENEWING: rebind (T2, broadcast)
 *	                                   -> REBINDING: expire (address removed,
 *	                                      DISCOVER again)
 *
 * States follow RFC 2131 figure 5: SELECTING (DISCOVER sent), REQUESTING
 * (REQUEST for the first OFFER), BOUND, RENEWING, REBINDING; INIT is
 * the moment dhcp_discover runs, and INIT-REBOOT is not done (a new
 * instance asks afresh).  A NAK in any state that asked sends us back
 * to INIT, dropping the address if we had one.
 *
 * Retransmission (4.1): a message that is not answered is sent again
 * after DHCP_RETRY_MS, then twice that, and so on up to
 * DHCP_RETRY_MAX_MS, each wait randomized by up to an eighth either
 * way so that clients started together spread out.  REQUESTING gives
 * up after DHCP_REQUEST_TRIES and discovers again; RENEWING and
 * REBINDING retransmit until the lease timer moves them on.
 *
 * Lease times (4.4.5) count from when the REQUEST that was ACKed went
 * out: T1 defaults to half the lease, T2 to seven eighths; values that
 * are out of order are replaced by the defaults, and a lease shorter
 * than DHCP_LEASE_MIN is raised to it.
 *
 * Cores: all of the client's state belongs to the core that called
 * dhcp_start (its two timers are armed there).  A reply may arrive on
 * any core: dhcp_recv parses it there (so a malformed one is counted
 * where it came in), then hands a copy of what it learned to the
 * client's core with spawn_on.  Only the state word is read elsewhere
 * (dhcp_state), as a relaxed atomic.
 *
 * Addresses are in network order, as in the rest of the stack.
 */
#include <errno.h>
#include <string.h>

#include "ebb/event.h"
#include "ebb/timer.h"
#include "kernel/malloc.h"
#include "kernel/platform.h"
#include "dhcp.h"
#include "eth.h"
#include "netcfg.h"
#include "proto.h"
#include "stats.h"
#include "udp.h"

#define DHCP_MSG_MAX	1500	/* most bytes of a reply we read */
#define DHCP_MSG_MIN	300	/* BOOTP's minimum (RFC 1542 2.1): we pad to it */

/* What a well-formed reply said (dhcp_parse). */
struct dhcp_reply {
	uint8_t type;			/* DHCP_OFFER, DHCP_ACK or DHCP_NAK */
	uint32_t xid;
	uint8_t chaddr[ETH_ALEN];
	uint32_t yiaddr, server, mask, router;
	uint32_t lease, t1, t2;		/* seconds; 0: not given */
};

/* The client.  Every field but state belongs to core. */
static struct dhcp {
	enum dhcp_state state;		/* relaxed atomic: dhcp_state reads it */
	struct netif *nif;
	int core;			/* the core that started the client */
	dhcp_notify_fn fn;
	void *arg;
	uint32_t xid;			/* of the current exchange */
	uint32_t server, offered;	/* the server chosen, the address offered */
	uint32_t mask, router;		/* the lease's configuration */
	uint64_t started;		/* clock_ns() of the exchange's start (secs) */
	uint64_t sent_at;		/* clock_ns() of the last REQUEST */
	uint64_t bound_at;		/* ... of the one that got the lease */
	uint32_t lease, t1, t2;		/* seconds, as bound */
	uint64_t retry;			/* the next retransmission interval, ns */
	int tries;			/* REQUESTs sent in REQUESTING */
	uint64_t rnd;			/* xorshift64 state: xids, jitter */
	struct timer rtx;		/* retransmission */
	struct timer lease_t;		/* T1, then T2, then the end */
} dc;

static uint64_t second_ns = 1000000000ULL;
static uint64_t retry0_ns = DHCP_RETRY_MS * TIMER_MS;

static void dhcp_discover(void);

void
dhcp_tune(uint64_t sec, uint64_t retry)
{
	second_ns = sec;
	retry0_ns = retry;
}

enum dhcp_state
dhcp_state(void)
{
	return __atomic_load_n(&dc.state, __ATOMIC_RELAXED);
}

static void
set_state(enum dhcp_state s)
{
	__atomic_store_n(&dc.state, s, __ATOMIC_RELAXED);
}

static uint32_t
rnd32(void)
{
	dc.rnd ^= dc.rnd << 13;
	dc.rnd ^= dc.rnd >> 7;
	dc.rnd ^= dc.rnd << 17;
	return (uint32_t)(dc.rnd >> 16);
}

/* ---- sending ------------------------------------------------------------- */

/* Append option code with n bytes of value at *o; returns the next byte. */
static uint8_t *
opt(uint8_t *o, uint8_t code, uint8_t n, const void *val)
{
	*o++ = code;
	*o++ = n;
	memcpy(o, val, n);
	return o + n;
}

/*
 * Build and send a message of type: broadcast unless to is nonzero.
 * REQUESTING's REQUEST names the offer and the server (4.3.2); a
 * renewing or rebinding client puts its address in ciaddr instead.
 */
static void
dhcp_send(uint8_t type, uint32_t to)
{
	static const uint8_t params[] = { DHCP_OPT_MASK, DHCP_OPT_ROUTER,
	    DHCP_OPT_LEASE, DHCP_OPT_SERVER, DHCP_OPT_T1, DHCP_OPT_T2 };
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, DHCP_MSG_MIN);
	struct dhcp_msg *m;
	uint8_t *o;
	uint64_t secs;

	if (b == NULL) {
		NSTAT(dhcp, nomem);
		return;
	}
	m = iobuf_put(b, DHCP_MSG_MIN);
	memset(m, 0, DHCP_MSG_MIN);
	m->op = DHCP_BOOTREQUEST;
	m->htype = ARP_HTYPE_ETH;
	m->hlen = ETH_ALEN;
	m->xid = hton32(dc.xid);
	secs = (clock_ns() - dc.started) / second_ns;
	m->secs = hton16(secs > 0xffff ? 0xffff : (uint16_t)secs);
	memcpy(m->chaddr, dc.nif->mac, ETH_ALEN);
	m->magic = hton32(DHCP_MAGIC);
	o = (uint8_t *)(m + 1);
	o = opt(o, DHCP_OPT_TYPE, 1, &type);
	if (type == DHCP_REQUEST && dc.state == DHCP_REQUESTING) {
		o = opt(o, DHCP_OPT_REQ_IP, 4, &dc.offered);
		o = opt(o, DHCP_OPT_SERVER, 4, &dc.server);
	} else if (type == DHCP_REQUEST) {
		m->ciaddr = dc.nif->ip;
	}
	o = opt(o, DHCP_OPT_PARAMS, sizeof params, params);
	*o = DHCP_OPT_END;
	if (type == DHCP_DISCOVER) {
		NSTAT(dhcp, tx_discover);
	} else {
		NSTAT(dhcp, tx_request);
		dc.sent_at = clock_ns();
	}
	NSTAT(dhcp, tx);
	udp_sendto(dc.nif, DHCP_CLIENT_PORT, to != 0 ? to : IP4_BROADCAST,
	    DHCP_SERVER_PORT, b);
}

/* Send the state's message (again). */
static void
dhcp_send_state(void)
{
	switch (dc.state) {
	case DHCP_SELECTING:
		dhcp_send(DHCP_DISCOVER, 0);
		break;
	case DHCP_REQUESTING:
	case DHCP_REBINDING:
		dhcp_send(DHCP_REQUEST, 0);
		break;
	case DHCP_RENEWING:
		dhcp_send(DHCP_REQUEST, dc.server);
		break;
	default:
		break;
	}
}

/* Arm the retransmission timer: the current interval, jittered; then double. */
static void
dhcp_rtx_arm(void)
{
	uint64_t j = dc.retry / 4 + 1;
	uint64_t wait = dc.retry - dc.retry / 8 + rnd32() % j;

	timer_start(&dc.rtx, wait, 0);
	dc.retry *= 2;
	if (dc.retry > retry0_ns * (DHCP_RETRY_MAX_MS / DHCP_RETRY_MS))
		dc.retry = retry0_ns * (DHCP_RETRY_MAX_MS / DHCP_RETRY_MS);
}

/* Enter state s and send its first message. */
static void
dhcp_enter(enum dhcp_state s)
{
	set_state(s);
	dc.retry = retry0_ns;
	dc.tries = 1;
	dhcp_send_state();
	dhcp_rtx_arm();
}

/* INIT: a fresh exchange. */
static void
dhcp_discover(void)
{
	dc.xid = rnd32();
	dc.started = clock_ns();
	timer_stop(&dc.lease_t);
	dhcp_enter(DHCP_SELECTING);
}

static void
dhcp_rtx_fire(void *unused)
{
	(void)unused;
	NSTAT(dhcp, retransmits);
	if (dc.state == DHCP_REQUESTING && dc.tries++ >= DHCP_REQUEST_TRIES) {
		dhcp_discover();	/* the offer is gone: start again */
		return;
	}
	dhcp_send_state();
	dhcp_rtx_arm();
}

/* ---- the lease ----------------------------------------------------------- */

/* The lease is gone (expired or NAKed): remove the address, start again. */
static void
dhcp_lose(void)
{
	int had = dc.nif->ip != 0;

	timer_stop(&dc.rtx);
	timer_stop(&dc.lease_t);
	if (had) {
		netcfg_apply(dc.nif, 0, 0, 0);
		arp_flush();		/* what we learned was for the old address */
	}
	dhcp_discover();		/* before the news: fn may stop us */
	if (had && dc.fn != NULL)
		dc.fn(dc.arg, dc.nif);
}

/* The mask an address's class implies, for a server that sends none. */
static uint32_t
classful(uint32_t ip)
{
	uint32_t h = ntoh32(ip);

	if (h >> 31 == 0)
		return IP4(255, 0, 0, 0);
	if (h >> 30 == 2)
		return IP4(255, 255, 0, 0);
	return IP4(255, 255, 255, 0);
}

/* An ACK: configure the interface and time the lease. */
static void
dhcp_bind(const struct dhcp_reply *r)
{
	uint32_t mask = r->mask != 0 ? r->mask : classful(r->yiaddr);

	timer_stop(&dc.rtx);
	dc.lease = r->lease < DHCP_LEASE_MIN ? DHCP_LEASE_MIN : r->lease;
	dc.t1 = r->t1;
	dc.t2 = r->t2;
	if (dc.t2 == 0 || dc.t2 >= dc.lease)
		dc.t2 = (uint32_t)((uint64_t)dc.lease * 7 / 8);
	if (dc.t1 == 0 || dc.t1 >= dc.t2)
		dc.t1 = dc.lease / 2;
	dc.server = r->server;
	dc.bound_at = dc.sent_at;
	if (dc.nif->ip != r->yiaddr || dc.nif->netmask != mask || dc.nif->gateway != r->router)
		netcfg_apply(dc.nif, r->yiaddr, mask, r->router);
	set_state(DHCP_BOUND);
	NSTAT(dhcp, bound);
	timer_start_at(&dc.lease_t, dc.bound_at + dc.t1 * second_ns, 0);
	if (dc.fn != NULL)
		dc.fn(dc.arg, dc.nif);
}

static void
dhcp_lease_fire(void *unused)
{
	(void)unused;
	switch (dc.state) {
	case DHCP_BOUND:		/* T1: ask our server to extend it */
		NSTAT(dhcp, renewing);
		dc.xid = rnd32();
		timer_start_at(&dc.lease_t, dc.bound_at + dc.t2 * second_ns, 0);
		dhcp_enter(DHCP_RENEWING);
		break;
	case DHCP_RENEWING:		/* T2: ask any server */
		NSTAT(dhcp, rebinding);
		timer_start_at(&dc.lease_t, dc.bound_at + dc.lease * second_ns, 0);
		timer_stop(&dc.rtx);
		dhcp_enter(DHCP_REBINDING);
		break;
	case DHCP_REBINDING:		/* the end of the lease */
		NSTAT(dhcp, expired);
		dhcp_lose();
		break;
	default:
		break;
	}
}

/* ---- receiving ----------------------------------------------------------- */

/* A 4-byte option value into *v if len is right; -1 if not. */
static int
opt32(const uint8_t *val, uint8_t len, uint32_t *v)
{
	if (len < 4)
		return -1;
	memcpy(v, val, 4);
	return 0;
}

/*
 * Check the n-byte message at m and fill in *r; 0, or -1 if it is
 * malformed: short, not a reply over Ethernet, no magic cookie, an
 * option running past the end, no type or an unexpected one, no server
 * identifier, or an OFFER or ACK with no address.
 */
static int
dhcp_parse(const uint8_t *m, size_t n, struct dhcp_reply *r)
{
	const struct dhcp_msg *h = (const struct dhcp_msg *)m;
	size_t i = DHCP_HLEN;
	uint32_t v;

	memset(r, 0, sizeof *r);
	if (n < DHCP_HLEN || h->op != DHCP_BOOTREPLY || h->htype != ARP_HTYPE_ETH ||
	    h->hlen != ETH_ALEN || ntoh32(h->magic) != DHCP_MAGIC)
		return -1;
	r->xid = ntoh32(h->xid);
	r->yiaddr = h->yiaddr;
	memcpy(r->chaddr, h->chaddr, ETH_ALEN);
	while (i < n && m[i] != DHCP_OPT_END) {
		uint8_t code = m[i], len;
		const uint8_t *val;

		if (code == DHCP_OPT_PAD) {
			i++;
			continue;
		}
		if (i + 2 > n || i + 2 + m[i + 1] > n)
			return -1;
		len = m[i + 1];
		val = m + i + 2;
		i += 2 + (size_t)len;
		switch (code) {
		case DHCP_OPT_TYPE:
			if (len != 1)
				return -1;
			r->type = val[0];
			break;
		case DHCP_OPT_MASK:
			if (opt32(val, len, &r->mask) != 0)
				return -1;
			break;
		case DHCP_OPT_ROUTER:
			if (opt32(val, len, &r->router) != 0)
				return -1;
			break;
		case DHCP_OPT_SERVER:
			if (opt32(val, len, &r->server) != 0)
				return -1;
			break;
		case DHCP_OPT_LEASE:
		case DHCP_OPT_T1:
		case DHCP_OPT_T2:
			if (opt32(val, len, &v) != 0)
				return -1;
			v = ntoh32(v);
			if (code == DHCP_OPT_LEASE)
				r->lease = v;
			else if (code == DHCP_OPT_T1)
				r->t1 = v;
			else
				r->t2 = v;
			break;
		default:		/* options we did not ask for */
			break;
		}
	}
	if (r->type != DHCP_OFFER && r->type != DHCP_ACK && r->type != DHCP_NAK)
		return -1;
	if (r->server == 0)
		return -1;
	if (r->type != DHCP_NAK && (r->yiaddr == 0 || r->yiaddr == IP4_BROADCAST))
		return -1;
	return 0;
}

/* A well-formed reply, on the client's core. */
static void
dhcp_handle(const struct dhcp_reply *r)
{
	enum dhcp_state s = dc.state;

	if (s == DHCP_OFF || s == DHCP_BOUND || r->xid != dc.xid ||
	    memcmp(r->chaddr, dc.nif->mac, ETH_ALEN) != 0)
		goto ignored;
	switch (r->type) {
	case DHCP_OFFER:
		if (s != DHCP_SELECTING)
			goto ignored;
		NSTAT(dhcp, rx_offer);
		timer_stop(&dc.rtx);
		dc.offered = r->yiaddr;
		dc.server = r->server;
		dhcp_enter(DHCP_REQUESTING);
		return;
	case DHCP_ACK:
		if (s == DHCP_SELECTING || (s != DHCP_REBINDING && r->server != dc.server))
			goto ignored;
		NSTAT(dhcp, rx_ack);
		dhcp_bind(r);
		return;
	case DHCP_NAK:
		if (s == DHCP_SELECTING)
			goto ignored;
		NSTAT(dhcp, rx_nak);
		dhcp_lose();
		return;
	}
ignored:
	NSTAT(dhcp, rx_ignored);
}

/* A reply that came in on another core, now on the client's. */
static void
dhcp_handle_ev(void *arg)
{
	dhcp_handle(arg);
	kfree(arg);
}

/* Port 68's datagrams, on the core that received them (udp_recv_fn). */
static void
dhcp_recv(void *arg, const struct udp_rx *rx, struct iobuf *p)
{
	/* Per core, each written only by its own: not on the event's stack. */
	static uint8_t bufs[NCPU][DHCP_MSG_MAX];
	uint8_t *buf = bufs[core_id()];
	size_t n = iobuf_chain_len(p);
	struct dhcp_reply r, *copy;

	(void)arg;
	if (n > DHCP_MSG_MAX)
		n = DHCP_MSG_MAX;
	iobuf_copy_out(p, 0, n, buf);
	iobuf_free_chain(p);
	NSTAT(dhcp, rx);
	if (rx->src_port != DHCP_SERVER_PORT || dhcp_parse(buf, n, &r) != 0) {
		NSTAT(dhcp, rx_bad);
		return;
	}
	if (core_id() == dc.core) {
		dhcp_handle(&r);
		return;
	}
	if ((copy = kmalloc(sizeof *copy)) == NULL) {
		NSTAT(dhcp, nomem);
		return;
	}
	*copy = r;
	if (spawn_on(dc.core, dhcp_handle_ev, copy) != 0) {
		NSTAT(dhcp, nomem);
		kfree(copy);
	}
}

/* ---- start and stop ------------------------------------------------------ */

int
dhcp_start(struct netif *nif, dhcp_notify_fn fn, void *arg)
{
	int err;

	if (dhcp_state() != DHCP_OFF)
		return EBUSY;
	dc.nif = nif;
	dc.core = core_id();
	dc.fn = fn;
	dc.arg = arg;
	dc.rnd = clock_ns() ^ ((uint64_t)nif->mac[4] << 40 | (uint64_t)nif->mac[5] << 32) ^
	    0x9e3779b97f4a7c15ULL;
	if (dc.rnd == 0)
		dc.rnd = 1;
	timer_setup(&dc.rtx, dhcp_rtx_fire, NULL);
	timer_setup(&dc.lease_t, dhcp_lease_fire, NULL);
	if ((err = udp_bind(DHCP_CLIENT_PORT, dhcp_recv, NULL)) != 0)
		return err;
	if (nif->ip != 0)
		netcfg_apply(nif, 0, 0, 0);
	dhcp_discover();
	return 0;
}

void
dhcp_stop(void)
{
	if (dhcp_state() == DHCP_OFF)
		return;
	if (core_id() != dc.core)
		panic("dhcp_stop: on core %d, the client runs on core %d", core_id(), dc.core);
	timer_stop(&dc.rtx);
	timer_stop(&dc.lease_t);
	set_state(DHCP_OFF);
	udp_unbind(DHCP_CLIENT_PORT);
}
