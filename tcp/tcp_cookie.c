/*
 * tcp_cookie.c: SYN cookies (RFC 4987): when a listener's SYN backlog
 * is full, its handshakes go on without any state kept.  Portable.
 *
 *	SYN, backlog full: tcp_listen_input -> tcp_cookie_syn
 *	                   -> tcp_cookie_encode -> tcp_reply (the SYN-ACK)
 *	ACK, no connection: tcp_dispatch -> tcp_cookie_ack -> tcp_cookie_decode
 *	                   -> tcp_conn_new, SYN_RCVD as if the SYN had been
 *	                      kept; tcp_dispatch then processes the ACK on it
 *	                      (tcp_process: accept, its data)
 *
 * Why.  A passive open keeps a connection in SYN_RCVD from the SYN to
 * the final ACK, and a listener keeps at most tcp_config.syn_backlog of
 * them (tcp_in.c).  SYNs from spoofed addresses fill that backlog with
 * handshakes nobody will finish, and then a real client's SYN would be
 * dropped for as long as the flood lasts.  Past a full backlog we
 * answer each SYN with a SYN-ACK whose initial sequence number is a
 * cookie, remember nothing, and when an ACK arrives for no connection
 * on a listening port, its ACK number minus one is the cookie: if it is
 * one we made, the handshake is rebuilt from it and the connection
 * starts ESTABLISHED, handed to the listener's on_accept exactly as a
 * kept handshake would be.  Below a full backlog nothing changes:
 * cookies cost a real handshake its RTT sample, and without timestamps
 * its window scaling and SACK, so they are only for when the choice is
 * that or a drop.
 *
 * The cookie (our ISN, 32 bits):
 *
 *	bits 31..3  29 bits of H, a MAC of the handshake
 *	bit  2      the time slot's parity
 *	bits 1..0   the MSS index: the peer's MSS rounded down to one of
 *	            cookie_mss[] (536, 1300, 1440, 1460)
 *
 * H is SipHash-2-4 under the boot secret of the ISNs (tcp_hash, tcp.c:
 * made once per boot, from the clock unless the platform gave one with
 * tcp_set_secret; never a constant) over three words: both addresses,
 * both ports and the peer's ISN, and the time slot with the MSS index
 * and the option bits below.  The slot counts TCP_COOKIE_SLOT_NS (64 s,
 * tcp_int.h) of the monotonic clock; a cookie is taken in the slot that
 * made it and the next one (its parity bit says which of the two to
 * check), so it lives 64 to 128 s, and one from two slots back fails.
 * A blind guess passes with odds of 2^-29 per ACK.
 *
 * Options.  The MSS index is in the cookie.  Window scale and
 * SACK-permitted fit only if the SYN had timestamps, as in Linux: our
 * SYN-ACK's TSval then carries them in its low COOKIE_TS_BITS bits
 * (bits 3..0 the peer's shift, 15 for none; bit 4 SACK-permitted; the
 * clock's own low bits replaced, and the value moved back by 32 ms if
 * that put it ahead of the clock, so TSvals never go backwards), and
 * the ACK's TSecr echoes them.  They are in H too, so an ACK cannot
 * change them.  Without timestamps the SYN-ACK offers neither window
 * scaling nor SACK (we could not remember that the peer asked), and the
 * connection has neither; an ACK with no timestamps for a SYN that had
 * them fails (RFC 7323 3.2: such a segment is dropped anyway).
 *
 * When cookies are checked.  Only for an ACK to a listener that sent a
 * cookie in the last two slots (l->cookie_ns): a listener that never
 * overflowed takes no ACK as a handshake, as in Linux.  An ACK that
 * fails is counted (tcp.cookies_rejected) and then treated as any
 * segment for no connection (an RST, tcp.rx_no_conn).  An ACK that
 * passes but cannot be a connection (conn_max, memory) is dropped and
 * counted; the peer's first segment with data, if it comes, carries the
 * same cookie and the same sequence number, and is tried again.
 *
 * Nothing is kept per cookie; the listener's one timestamp is a relaxed
 * atomic, written by whichever core sent the latest cookie.
 */
#include <errno.h>

#include "stats.h"
#include "tcp_int.h"

#define COOKIE_TS_BITS	5		/* low bits of our TSval that carry options */
#define COOKIE_WS_NONE	15		/* their shift field: no window scaling */

/* The MSS values a cookie can say: common paths' (RFC 879's 536, tunnels, Ethernet). */
static const uint16_t cookie_mss[4] = { 536, 1300, 1440, 1460 };

/* The index of the largest table MSS not above the peer's (0 if none is). */
static int
mss_index(uint16_t peer_mss)
{
	int i = 3;

	while (i > 0 && cookie_mss[i] > peer_mss)
		i--;
	return i;
}

/* The option bits our TSval carries for ck (only with timestamps). */
static uint32_t
ts_bits(const struct tcp_cookie *ck)
{
	return (uint32_t)(ck->wscale < 0 ? COOKIE_WS_NONE : ck->wscale) |
	    (uint32_t)ck->sack_ok << 4;
}

/* H: the MAC of a handshake in slot (the seg's addresses, from the SYN's side). */
static uint32_t
cookie_mac(const struct tcp_rxseg *s, uint32_t peer_isn, uint64_t slot, int idx,
    const struct tcp_cookie *ck)
{
	uint64_t m[3];
	uint32_t opts = ck->ts ? 1u << COOKIE_TS_BITS | ts_bits(ck) : 0;

	m[0] = (uint64_t)s->dst << 32 | s->src;
	m[1] = (uint64_t)s->dport << 48 | (uint64_t)s->sport << 32 | peer_isn;
	m[2] = slot << 16 | opts << 2 | (uint32_t)idx;
	return (uint32_t)(tcp_hash(m, 3) << 3);
}

/* The cookie for SYN syn at now_ns (our ISN); *ck what it will bring back. */
uint32_t
tcp_cookie_encode(const struct tcp_rxseg *syn, uint64_t now_ns, struct tcp_cookie *ck)
{
	uint64_t slot = now_ns / TCP_COOKIE_SLOT_NS;
	int idx = mss_index(syn->mss != 0 ? syn->mss : TCP_MSS_DEFAULT);

	ck->mss = cookie_mss[idx];
	ck->ts = syn->ts;
	ck->wscale = (int8_t)(syn->ts ? syn->wscale : -1);
	ck->sack_ok = syn->ts && syn->sack_ok;
	return cookie_mac(syn, syn->seq, slot, idx, ck) | (uint32_t)(slot & 1) << 2 |
	    (uint32_t)idx;
}

/* Our TSval for a cookie SYN-ACK: ts_now with ck's option bits, never ahead. */
uint32_t
tcp_cookie_tsval(const struct tcp_cookie *ck, uint32_t ts_now)
{
	uint32_t mask = (1u << COOKIE_TS_BITS) - 1;
	uint32_t v = (ts_now & ~mask) | ts_bits(ck);

	return SEQ_GT(v, ts_now) ? v - (mask + 1) : v;
}

/* Is ack's ACK number one more than a cookie of ours?  0 and *ck, or -1. */
int
tcp_cookie_decode(const struct tcp_rxseg *ack, uint64_t now_ns, struct tcp_cookie *ck)
{
	uint32_t isn = ack->ack - 1, bits;
	uint64_t slot = now_ns / TCP_COOKIE_SLOT_NS;
	int idx = (int)(isn & 3);

	if ((slot & 1) != ((isn >> 2) & 1)) {
		if (slot == 0)
			return -1;
		slot--;				/* made in the slot before */
	}
	ck->mss = cookie_mss[idx];
	ck->ts = ack->ts;
	ck->wscale = -1;
	ck->sack_ok = 0;
	if (ack->ts) {
		bits = ack->tsecr & ((1u << COOKIE_TS_BITS) - 1);
		if ((bits & 15) != COOKIE_WS_NONE) {
			if ((bits & 15) > TCP_WSCALE_MAX)
				return -1;
			ck->wscale = (int8_t)(bits & 15);
		}
		ck->sack_ok = (bits >> 4) & 1;
	}
	return cookie_mac(ack, ack->seq - 1, slot, idx, ck) == (isn & ~7u) ? 0 : -1;
}

/* A SYN that found l's backlog full: the cookie SYN-ACK; nothing kept. */
void
tcp_cookie_syn(struct tcp_listener *l, const struct tcp_rxseg *s)
{
	uint64_t now = tcp_now_ns();
	uint32_t rcvbuf = tcp_cfg.rcvbuf, isn, tsval = 0;
	uint16_t rmss = (uint16_t)(s->nif->mtu - IP_HLEN - TCP_HLEN);
	struct tcp_cookie ck;
	uint8_t opt[40];
	int olen;

	isn = tcp_cookie_encode(s, now, &ck);
	if (ck.ts)			/* tcp_ts_now's clock, for the connection to be */
		tsval = tcp_cookie_tsval(&ck, (uint32_t)(now / TIMER_MS) +
		    tcp_ts_offset(s->dst, s->dport, s->src, s->sport));
	olen = tcp_syn_opts(opt, rmss, ck.wscale >= 0 ? tcp_wscale_for(rcvbuf) : -1,
	    ck.sack_ok, ck.ts, tsval, s->tsval);
	/* Relaxed: a time, read by tcp_cookie_ack on any core; it orders nothing. */
	__atomic_store_n(&l->cookie_ns, now, __ATOMIC_RELAXED);
	NSTAT(tcp, cookies_sent);
	tcp_reply(s, isn, s->seq + 1, TCP_FSYN | TCP_FACK,
	    (uint16_t)(rcvbuf > 65535 ? 65535 : rcvbuf), opt, olen);
}

/* Has l sent a cookie recently enough for one to come back now? */
static int
cookies_recent(const struct tcp_listener *l, uint64_t now)
{
	uint64_t t = __atomic_load_n(&l->cookie_ns, __ATOMIC_RELAXED);

	return t != 0 && now - t < 2 * TCP_COOKIE_SLOT_NS;
}

/*
 * c, new, as tcp_listen_input would have left it after the SYN that ck
 * remembers and our SYN-ACK (ISN ack->ack - 1): SYN_RCVD, l's.
 */
static void
cookie_conn(struct tcp_conn *c, struct tcp_listener *l, const struct tcp_rxseg *ack,
    const struct tcp_cookie *ck)
{
	struct tcp_rxseg syn = {
		.src = ack->src, .dst = ack->dst, .sport = ack->sport,
		.dport = ack->dport, .seq = ack->seq - 1, .flags = TCP_FSYN,
		.wnd = ack->wnd, .mss = ck->mss, .wscale = ck->wscale,
		.sack_ok = ck->sack_ok, .ts = ck->ts, .tsval = ack->tsval,
		.nif = ack->nif,
	};

	/* Relaxed: counts; the listener is alive (RCU) while we take a ref. */
	__atomic_add_fetch(&l->refs, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&l->backlog, 1, __ATOMIC_RELAXED);
	c->lst = l;
	c->iss = ack->ack - 1;
	c->snd_una = c->iss;
	c->snd_nxt = c->snd_max = c->iss + 1;	/* our SYN went */
	tcp_syn_options(c, &syn);
	/* The SYN-ACK offered this much window, and the edge never retracts. */
	c->rcv_adv = c->rcv_nxt + (c->rcvbuf > 65535 ? 65535 : c->rcvbuf);
	c->last_ack_sent = c->rcv_nxt;
	tcp_set_state(c, TCP_SYN_RCVD);
}

/*
 * An ACK (no SYN, no RST) for no connection on l's port.  If it carries
 * a cookie of ours: 0, pkt taken, and in *cp the connection in SYN_RCVD
 * on which the caller processes the ACK (NULL if none could be made:
 * pkt freed).  Otherwise -1, pkt untouched, for the caller's RST.
 */
int
tcp_cookie_ack(struct tcp_listener *l, struct tcp_rxseg *s, struct iobuf *pkt,
    struct tcp_conn **cp)
{
	uint64_t now = tcp_now_ns();
	struct tcp_cookie ck;
	struct tcp_conn *c;
	int err;

	if (!tcp_cfg.syn_cookies || !cookies_recent(l, now))
		return -1;
	if (tcp_cookie_decode(s, now, &ck) != 0) {
		NSTAT(tcp, cookies_rejected);
		return -1;
	}
	c = tcp_conn_new(s->nif, s->dst, s->dport, s->src, s->sport, &err);
	*cp = c;
	if (c == NULL) {
		if (err == ENOMEM)
			NSTAT(tcp, nomem);
		iobuf_free_chain(pkt);		/* EADDRINUSE: another core has it */
		return 0;
	}
	NSTAT(tcp, cookies_validated);
	cookie_conn(c, l, s, &ck);
	return 0;
}
