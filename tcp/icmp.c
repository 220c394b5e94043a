/*
 * icmp.c: ICMP for a host (RFC 792, RFC 1122 3.2.2): echo replies and
 * destination-unreachable errors.  Portable.
 *
 *	echo:   ip_input -> icmp_input -> icmp_echo -> ip_output
 *	errors: udp_input (closed port), ip_input (unknown protocol)
 *	        -> icmp_unreach -> rate limit -> ip_output
 *
 * Every message's checksum (the whole message) is verified, unless the
 * device vouched for it (NETIF_RX_CSUM_OK); a message that fails is
 * dropped and counted.  An echo request sent to us is answered with the
 * same identifier, sequence number and data, copied into a new buffer
 * (the received chain may share its bytes with a clone, and is a chain
 * besides) and summed as it is copied (inet_copy_chain): the reply's
 * checksum is computed afresh, never patched from the request's field,
 * which a device that vouched may have left partial.  One sent to a
 * broadcast address is ignored (RFC 1122 3.2.2.6 allows that, and it
 * keeps us out of smurf attacks).  Other types are counted and dropped:
 * we keep no path MTU and act on no redirect.  ICMP is checksummed
 * here, never offloaded: an echo reply's sum comes with its copy, and
 * errors are few.
 *
 * Unreachables quote the offending datagram's IP header and the first 8
 * bytes of its data, as RFC 792 asks; they are never sent about a
 * broadcast or from an unspecified source (RFC 1122 3.2.2), and at most
 * ICMP_RATE a second per core: each core has a token bucket (its own,
 * so no lock), holding up to ICMP_BURST tokens and refilled at
 * ICMP_RATE a second, and an error that finds it empty is counted in
 * icmp.rate_limited and not sent.  The instance's limit is therefore
 * ICMP_RATE times the cores that receive.
 */
#include <stddef.h>
#include <string.h>

#include "ebb/percore.h"
#include "inet.h"
#include "ip.h"
#include "pkt.h"
#include "proto.h"
#include "stats.h"

#define NS_PER_TOKEN	(1000000000ULL / ICMP_RATE)

/* Per core: the error token bucket, in nanoseconds of credit. */
static struct icmp_core {
	uint64_t credit;		/* NS_PER_TOKEN per error, at most ICMP_BURST */
	uint64_t last;			/* clock_ns() at the last refill */
} __attribute__((aligned(CACHE_LINE))) icmp_cores[NCPU];

/* Take a token from this core's bucket: 1 if there was one. */
static int
icmp_token(void)
{
	struct icmp_core *ic = &icmp_cores[core_id()];
	uint64_t now = clock_ns();

	ic->credit += now - ic->last;
	ic->last = now;
	if (ic->credit > ICMP_BURST * NS_PER_TOKEN)
		ic->credit = ICMP_BURST * NS_PER_TOKEN;
	if (ic->credit < NS_PER_TOKEN)
		return 0;
	ic->credit -= NS_PER_TOKEN;
	return 1;
}

/*
 * Answer an echo request of len bytes (its checksum good, or vouched
 * for): everything after type, code and checksum copied and summed in
 * one pass, then those three written (type and code 0 add nothing).
 */
static void
icmp_echo(const struct ip_rx *rx, const struct iobuf *pkt, size_t len)
{
	const size_t rest = offsetof(struct icmp_hdr, id);	/* copied from here on */
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, len);
	struct icmp_hdr *ic;
	uint32_t sum;

	if (b == NULL) {
		NSTAT(icmp, tx_nomem);
		return;
	}
	iobuf_put(b, len);		/* cannot fail: b was made for len */
	ic = (struct icmp_hdr *)b->data;
	sum = inet_copy_chain(b->data + rest, pkt, rest, len - rest, 0);
	ic->type = ICMP_ECHO_REPLY;
	ic->code = 0;
	ic->csum = hton16(inet_csum(sum));
	NSTAT(icmp, tx);
	ip_output(rx->nif, b, rx->src, IP_PROTO_ICMP, NULL);
}

void
icmp_input(const struct ip_rx *rx, struct iobuf *pkt)
{
	size_t len = iobuf_chain_len(pkt);
	struct icmp_hdr copy;
	const struct icmp_hdr *ic;

	NSTAT(icmp, rx);
	if ((ic = pkt_peek(pkt, 0, ICMP_HLEN, &copy)) == NULL) {
		NSTAT(icmp, rx_short);
	} else if (!(rx->rx_flags & NETIF_RX_CSUM_OK) &&
	    inet_csum(inet_sum_chain(pkt, 0, len, 0)) != 0) {
		NSTAT(icmp, rx_bad_csum);
	} else if (ic->type == ICMP_ECHO && ic->code == 0 && !rx->broadcast) {
		NSTAT(icmp, rx_echo);
		icmp_echo(rx, pkt, len);
	} else {
		NSTAT(icmp, rx_ignored);
	}
	iobuf_free_chain(pkt);
}

void
icmp_unreach(const struct ip_rx *rx, const struct iobuf *pkt, uint8_t code)
{
	size_t data = iobuf_chain_len(pkt), len;
	struct iobuf *b;
	struct icmp_hdr *ic;

	if (rx->broadcast || rx->src == 0)
		return;
	if (!icmp_token()) {
		NSTAT(icmp, rate_limited);
		return;
	}
	if (data > ICMP_ERR_DATA)
		data = ICMP_ERR_DATA;
	len = ICMP_HLEN + rx->hlen + data;
	if ((b = iobuf_alloc(IOBUF_HEADROOM, len)) == NULL) {
		NSTAT(icmp, tx_nomem);
		return;
	}
	iobuf_put(b, len);		/* cannot fail: b was made for len */
	ic = (struct icmp_hdr *)b->data;
	memset(ic, 0, ICMP_HLEN);
	ic->type = ICMP_UNREACH;
	ic->code = code;
	memcpy(b->data + ICMP_HLEN, rx->hdr, rx->hlen);
	iobuf_copy_out(pkt, 0, data, b->data + ICMP_HLEN + rx->hlen);
	ic->csum = hton16(inet_csum(inet_sum(b->data, len, 0)));
	NSTAT(icmp, tx);
	NSTAT(icmp, tx_unreach);
	ip_output(rx->nif, b, rx->src, IP_PROTO_ICMP, NULL);
}
