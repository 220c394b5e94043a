/*
 * test_dhcp.c: the DHCP client (tcp/dhcp.c) against a DHCP server
 * model that lives in this file, over a clean memlink
 * (test/netwire.h): the client drives side 0, the model listens on
 * port 67 of side 1 (10.2.0.1/24) and hands out 10.2.0.100.
 *
 * A lease second is made 5 ms (dhcp_tune), and the first
 * retransmission waits 20 ms, so a 200-second lease (T1 100, T2 175)
 * runs its course in a second: long enough that a loaded host's
 * stalls do not reach T1 before a test expects it.  Timing checks are
 * strict only below (a timer never fires early).
 *
 *   - a full exchange: DISCOVER, OFFER, REQUEST, ACK; the interface is
 *     configured (address, mask, router) and announced; then T1: a
 *     REQUEST unicast to the server with ciaddr, ACKed: renewed;
 *   - rebind: the server ignores unicasts, so the client renews in
 *     vain until T2, then broadcasts and is ACKed;
 *   - expiry: the server falls silent; at the end of the lease the
 *     address is removed and the client discovers again;
 *   - retransmission: the first two DISCOVERs go unanswered, and the
 *     waits roughly double;
 *   - malformed replies (short, not a reply, no cookie, an option past
 *     the end, no type, no server id, no address) are dropped and
 *     counted; a well-formed one for another transaction is ignored;
 *     the client binds all the same;
 *   - a NAK to a renewal: the address goes, discovery starts again.
 */
#include <errno.h>

#include "netwire.h"
#include "tcp/dhcp.h"

#define SEC_NS		(5 * TIMER_MS)	/* one lease second: 5 ms */
#define RETRY_NS	(20 * TIMER_MS)
#define SRV_IP		IP4(10, 2, 0, 1)
#define CLI_IP		IP4(10, 2, 0, 100)
#define ROUTER_IP	IP4(10, 2, 0, 254)

static struct memlink *ml;
static struct netif *cli, *srv_nif;

static struct netif *
make_link(void)
{
	struct memlink_config c = { .seed = 3 };

	ml = memlink_create("dc", "ds", &c);
	CHECK(ml != NULL);
	cli = memlink_netif(ml, 0);
	srv_nif = memlink_netif(ml, 1);
	return srv_nif;
}

/* ---- the server model ------------------------------------------------------ */

static struct srv {
	int silent;		/* answer nothing */
	int ignore_unicast;	/* answer no renewal (unicast REQUEST) */
	int nak_renewal;	/* NAK renewals */
	int drop_discovers;	/* leave this many DISCOVERs unanswered */
	int malformed;		/* send the malformed replies before the OFFER */
	int discovers, requests, renews, rebinds;	/* what it received */
	uint64_t discover_at[8];	/* clock_ns() of each DISCOVER */
} srv;

/* An option: code, length, value. */
static uint8_t *
put_opt(uint8_t *o, uint8_t code, uint8_t n, const void *v)
{
	*o++ = code;
	*o++ = n;
	memcpy(o, v, n);
	return o + n;
}

/*
 * Send a reply of type to the client's request req (len bytes of it
 * after the mangling below), to dst.  mangle: 0 none; 1 short; 2 op is
 * a request; 3 no cookie; 4 an option past the end; 5 no type; 6 no
 * server id; 7 no address; 8 another xid (well formed).
 */
static void
srv_reply(const struct dhcp_msg *req, uint8_t type, uint32_t dst, int mangle)
{
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, 400);
	struct dhcp_msg *m = iobuf_put(b, 300);
	uint8_t *o = (uint8_t *)(m + 1);
	uint32_t lease = hton32(200), sid = SRV_IP, mask = IP4(255, 255, 255, 0);
	uint32_t router = ROUTER_IP;

	memset(m, 0, 300);
	m->op = mangle == 2 ? DHCP_BOOTREQUEST : DHCP_BOOTREPLY;
	m->htype = 1;
	m->hlen = 6;
	m->xid = mangle == 8 ? req->xid ^ 1 : req->xid;
	m->yiaddr = type == DHCP_NAK || mangle == 7 ? 0 : CLI_IP;
	memcpy(m->chaddr, req->chaddr, 16);
	m->magic = mangle == 3 ? 0 : hton32(DHCP_MAGIC);
	if (mangle != 5)
		o = put_opt(o, DHCP_OPT_TYPE, 1, &type);
	if (mangle != 6)
		o = put_opt(o, DHCP_OPT_SERVER, 4, &sid);
	if (type != DHCP_NAK) {
		o = put_opt(o, DHCP_OPT_LEASE, 4, &lease);
		o = put_opt(o, DHCP_OPT_MASK, 4, &mask);
		o = put_opt(o, DHCP_OPT_ROUTER, 4, &router);
	}
	*o = DHCP_OPT_END;
	if (mangle == 4) {		/* an option of 200 bytes where 30 are left */
		o[0] = DHCP_OPT_ROUTER;
		o[1] = 200;
	}
	if (mangle == 1)
		iobuf_trim(b, 100);
	CHECK_EQ(udp_sendto(srv_nif, DHCP_SERVER_PORT, dst, DHCP_CLIENT_PORT, b), 0);
}

/* What type of message is the n-byte message m?  0 if none. */
static uint8_t
msg_type(const uint8_t *m, size_t n)
{
	for (size_t i = DHCP_HLEN; i + 2 < n && m[i] != DHCP_OPT_END; i += 2 + (size_t)m[i + 1])
		if (m[i] == DHCP_OPT_TYPE)
			return m[i + 2];
	return 0;
}

/* Port 67 of the server's side. */
static void
srv_recv(void *arg, const struct udp_rx *rx, struct iobuf *p)
{
	uint8_t buf[600];
	size_t n = iobuf_chain_len(p);
	const struct dhcp_msg *m = (const struct dhcp_msg *)buf;

	(void)arg;
	CHECK(rx->nif == srv_nif);
	CHECK(n >= 300 && n <= sizeof buf);
	iobuf_copy_out(p, 0, n, buf);
	iobuf_free_chain(p);
	CHECK_EQ(m->op, DHCP_BOOTREQUEST);
	CHECK(memcmp(m->chaddr, cli->mac, 6) == 0);
	if (srv.silent)
		return;
	switch (msg_type(buf, n)) {
	case DHCP_DISCOVER:
		CHECK_EQ(rx->src_ip, 0);
		CHECK_EQ(rx->dst_ip, IP4_BROADCAST);
		if (srv.discovers < 8)
			srv.discover_at[srv.discovers] = clock_ns();
		if (srv.discovers++ < srv.drop_discovers)
			return;
		if (srv.malformed)
			for (int k = 1; k <= 8; k++)
				srv_reply(m, DHCP_OFFER, IP4_BROADCAST, k);
		srv_reply(m, DHCP_OFFER, IP4_BROADCAST, 0);
		return;
	case DHCP_REQUEST:
		if (m->ciaddr == 0) {		/* selecting: names the offer */
			srv.requests++;
			srv_reply(m, DHCP_ACK, IP4_BROADCAST, 0);
		} else if (rx->dst_ip == SRV_IP) {	/* renewing */
			CHECK_EQ(rx->src_ip, CLI_IP);
			srv.renews++;
			if (srv.nak_renewal)
				srv_reply(m, DHCP_NAK, m->ciaddr, 0);
			else if (!srv.ignore_unicast)
				srv_reply(m, DHCP_ACK, m->ciaddr, 0);
		} else {			/* rebinding */
			CHECK_EQ(rx->dst_ip, IP4_BROADCAST);
			srv.rebinds++;
			srv_reply(m, DHCP_ACK, IP4_BROADCAST, 0);
		}
		return;
	default:
		CHECK(!"the client sent neither a DISCOVER nor a REQUEST");
	}
}

/* ---- the runs --------------------------------------------------------------- */

static int notified;		/* notify calls */
static int lost;		/* ... with the address gone */
static int stop_after;		/* stop the client at this many notifications */
static int stop_on_loss;	/* ... or when the address goes */
static void (*on_bound)(int n);	/* a test's hook, at each binding */

static void
done(void)
{
	dhcp_stop();
	CHECK_EQ(dhcp_state(), DHCP_OFF);
	CHECK_EQ(udp_unbind(DHCP_SERVER_PORT), 0);
	netcfg_apply(cli, 0, 0, 0);
	wire_finish();
}

static void
notify(void *arg, struct netif *nif)
{
	(void)arg;
	CHECK(nif == cli);
	CHECK_EQ(core_id(), 0);
	notified++;
	if (nif->ip == 0) {
		lost++;
		if (stop_on_loss)
			done();
		return;
	}
	CHECK_EQ(nif->ip, CLI_IP);
	CHECK_EQ(nif->netmask, IP4(255, 255, 255, 0));
	CHECK_EQ(nif->gateway, ROUTER_IP);
	CHECK_EQ(dhcp_state(), DHCP_BOUND);
	if (on_bound != NULL)
		on_bound(notified);
	if (notified == stop_after)
		done();
}

static int
start_body(void)
{
	CHECK_EQ(udp_bind(DHCP_SERVER_PORT, srv_recv, NULL), 0);
	CHECK_EQ(dhcp_start(cli, notify, NULL), 0);
	CHECK_EQ(dhcp_start(cli, notify, NULL), EBUSY);
	CHECK_EQ(dhcp_state(), DHCP_SELECTING);
	return 1;
}

static struct test_leaks
dhcp_begin(void)
{
	struct test_leaks l = wire_begin(make_link);

	if (srv_nif->ip == 0)
		srv_nif->ip = SRV_IP, srv_nif->netmask = IP4(255, 255, 255, 0);
	dhcp_tune(SEC_NS, RETRY_NS);
	memset(&srv, 0, sizeof srv);
	notified = lost = stop_on_loss = 0;
	stop_after = 2;
	on_bound = NULL;
	return l;
}

/* ---- the tests -------------------------------------------------------------- */

TEST(dhcp_exchange_and_renewal)
{
	struct test_leaks l = dhcp_begin();

	wire_run(start_body);
	CHECK_EQ(notified, 2);
	CHECK_EQ(srv.discovers, 1);
	CHECK_EQ(srv.requests, 1);
	CHECK_EQ(srv.renews, 1);
	CHECK_EQ(srv.rebinds, 0);
	CHECK_EQ(DELTA(dhcp, tx_discover), 1);
	CHECK_EQ(DELTA(dhcp, tx_request), 2);
	CHECK_EQ(DELTA(dhcp, rx_offer), 1);
	CHECK_EQ(DELTA(dhcp, rx_ack), 2);
	CHECK_EQ(DELTA(dhcp, bound), 2);
	CHECK_EQ(DELTA(dhcp, renewing), 1);
	CHECK_EQ(DELTA(dhcp, rebinding), 0);
	CHECK_EQ(DELTA(dhcp, rx_bad), 0);
	CHECK(DELTA(arp, tx_requests) >= 1);	/* the announcement */
	wire_end(l);
}

/* At the first binding: the server stops answering renewals. */
static void
deaf_to_unicast(int n)
{
	if (n == 1)
		srv.ignore_unicast = 1;
}

TEST(dhcp_rebind_when_server_silent_at_t1)
{
	struct test_leaks l = dhcp_begin();

	on_bound = deaf_to_unicast;
	wire_run(start_body);
	CHECK_EQ(notified, 2);
	CHECK(srv.renews >= 2);			/* the first and retransmissions */
	CHECK_EQ(srv.rebinds, 1);
	CHECK_EQ(DELTA(dhcp, renewing), 1);
	CHECK_EQ(DELTA(dhcp, rebinding), 1);
	CHECK(DELTA(dhcp, retransmits) >= 1);
	CHECK_EQ(DELTA(dhcp, expired), 0);
	wire_end(l);
}

/* At the first binding: the server falls silent for good. */
static void
go_silent(int n)
{
	if (n == 1)
		srv.silent = 1;
}

TEST(dhcp_lease_expiry)
{
	struct test_leaks l = dhcp_begin();
	uint64_t t0 = clock_ns();

	on_bound = go_silent;
	stop_after = 0;
	stop_on_loss = 1;
	wire_run(start_body);
	CHECK_EQ(notified, 2);
	CHECK_EQ(lost, 1);
	CHECK_EQ(cli->ip, 0);
	CHECK(clock_ns() - t0 >= 200 * SEC_NS);	/* not before the lease ran out */
	CHECK_EQ(DELTA(dhcp, renewing), 1);
	CHECK_EQ(DELTA(dhcp, rebinding), 1);
	CHECK_EQ(DELTA(dhcp, expired), 1);
	CHECK_EQ(DELTA(dhcp, tx_discover), 2);	/* discovering again */
	wire_end(l);
}

TEST(dhcp_retransmit_with_backoff)
{
	struct test_leaks l = dhcp_begin();

	srv.drop_discovers = 2;
	stop_after = 1;
	wire_run(start_body);
	CHECK_EQ(notified, 1);
	CHECK_EQ(srv.discovers, 3);
	CHECK_EQ(DELTA(dhcp, retransmits), 2);
	/* Waits of about 20 and 40 ms, each within an eighth either way. */
	uint64_t w1 = srv.discover_at[1] - srv.discover_at[0];
	uint64_t w2 = srv.discover_at[2] - srv.discover_at[1];
	CHECK(w1 >= RETRY_NS - RETRY_NS / 8 && w1 < 10 * RETRY_NS);
	CHECK(w2 >= 2 * RETRY_NS - RETRY_NS / 4 && w2 < 20 * RETRY_NS);
	wire_end(l);
}

TEST(dhcp_malformed_replies_dropped)
{
	struct test_leaks l = dhcp_begin();

	srv.malformed = 1;
	stop_after = 1;
	wire_run(start_body);
	CHECK_EQ(notified, 1);
	CHECK_EQ(cli->ip, 0);			/* done() unconfigured it */
	CHECK_EQ(DELTA(dhcp, rx_bad), 7);
	CHECK_EQ(DELTA(dhcp, rx_ignored), 1);	/* another xid */
	CHECK_EQ(DELTA(dhcp, rx_offer), 1);
	CHECK_EQ(DELTA(dhcp, rx_ack), 1);
	wire_end(l);
}

/* At the first binding: renewals will be refused. */
static void
refuse_renewal(int n)
{
	if (n == 1)
		srv.nak_renewal = 1;
	else
		srv.nak_renewal = 0;
}

TEST(dhcp_nak_on_renewal)
{
	struct test_leaks l = dhcp_begin();

	on_bound = refuse_renewal;
	stop_after = 0;
	stop_on_loss = 1;
	wire_run(start_body);
	CHECK_EQ(lost, 1);
	CHECK_EQ(DELTA(dhcp, rx_nak), 1);
	CHECK_EQ(DELTA(dhcp, expired), 0);
	CHECK_EQ(DELTA(dhcp, tx_discover), 2);
	wire_end(l);
}
