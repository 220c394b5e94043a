/*
 * tcp_parse.c: a received segment checked and read into a struct
 * tcp_rxseg: its header, its checksum and its options.  Portable.
 *
 *	ip_input -> tcp_input (tcp_in.c) -> tcp_parse -> tcp_parse_opts
 *	                                 -> tcp_dispatch ...
 *
 * The header is read where it lies in the received buffer (pkt_peek),
 * copied only if it spans two.  Checks, in order, each failure counted
 * in struct tcp_stats and the segment dropped: a whole fixed header; a
 * data offset within the segment; the checksum over the pseudo-header
 * and the whole segment, unless the device vouched for it
 * (NETIF_RX_CSUM_OK); ports not 0 and a destination that is not a
 * broadcast.  Options are read leniently: the MSS, window scale and
 * SACK-permitted only from a SYN, timestamps and SACK blocks from any
 * segment, and a malformed option ends the parse (what came before it
 * stands).  The layout nearly every segment of a connection with
 * timestamps has, NOP NOP TS, is recognized in one test (RFC 7323
 * appendix A), as BSD and Linux do, before the general loop.
 */
#include <string.h>

#include "inet.h"
#include "pkt.h"
#include "stats.h"
#include "tcp_int.h"

/* A timestamps option's value at v (TSval, TSecr) into s. */
static void
parse_ts(const uint8_t *v, struct tcp_rxseg *s)
{
	s->ts = 1;
	memcpy(&s->tsval, v, 4);
	memcpy(&s->tsecr, v + 4, 4);
	s->tsval = ntoh32(s->tsval);
	s->tsecr = ntoh32(s->tsecr);
}

/* Read the options at o (n bytes) into s; malformed ones end the parse. */
static void
tcp_parse_opts(const uint8_t *o, int n, struct tcp_rxseg *s)
{
	int i = 0, len;

	/* What nearly every segment carries (RFC 7323 appendix A): NOP, NOP, TS. */
	if (n == 12 && o[0] == TCPOPT_NOP && o[1] == TCPOPT_NOP &&
	    o[2] == TCPOPT_TS && o[3] == 10) {
		parse_ts(o + 4, s);
		return;
	}
	while (i < n) {
		if (o[i] == TCPOPT_EOL)
			break;
		if (o[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= n || (len = o[i + 1]) < 2 || i + len > n)
			break;
		switch (o[i]) {
		case TCPOPT_MSS:
			if (len == 4 && (s->flags & TCP_FSYN))
				s->mss = (uint16_t)(o[i + 2] << 8 | o[i + 3]);
			break;
		case TCPOPT_WSCALE:
			if (len == 3 && (s->flags & TCP_FSYN))
				s->wscale = o[i + 2] > TCP_WSCALE_MAX ?
				    TCP_WSCALE_MAX : o[i + 2];
			break;
		case TCPOPT_SACK_OK:
			if (len == 2 && (s->flags & TCP_FSYN))
				s->sack_ok = 1;
			break;
		case TCPOPT_TS:
			if (len == 10)
				parse_ts(o + i + 2, s);
			break;
		case TCPOPT_SACK:
			if ((len - 2) % 8 != 0)
				break;
			for (int k = 0; k < (len - 2) / 8 && s->nsack < TCP_SACK_MAX; k++) {
				uint32_t e[2];
				memcpy(e, o + i + 2 + 8 * k, 8);
				s->sack[s->nsack].left = ntoh32(e[0]);
				s->sack[s->nsack].right = ntoh32(e[1]);
				s->nsack++;
			}
			break;
		}
		i += len;
	}
}

/* Check and parse the segment at pkt into s; 0, or -1 (counted). */
int
tcp_parse(const struct ip_rx *rx, struct iobuf *pkt, struct tcp_rxseg *s)
{
	uint8_t copy[TCP_HLEN_MAX];
	const struct tcp_hdr *th;
	const uint8_t *hdr;
	size_t total = iobuf_chain_len(pkt);

	if (total < TCP_HLEN || (th = pkt_peek(pkt, 0, TCP_HLEN, copy)) == NULL) {
		NSTAT(tcp, rx_short);
		return -1;
	}
	s->mss = 0;			/* the options none says (field by field: */
	s->sack_ok = 0;			/* no memset of the SACK blocks, which */
	s->ts = 0;			/* only nsack says are there) */
	s->tsval = s->tsecr = 0;
	s->nsack = 0;
	s->hlen = (uint8_t)((th->off >> 4) * 4);
	if (s->hlen < TCP_HLEN || s->hlen > total) {
		NSTAT(tcp, rx_bad_off);
		return -1;
	}
	if (!(rx->rx_flags & NETIF_RX_CSUM_OK) &&
	    inet_csum(inet_sum_chain(pkt, 0, total, inet_pseudo(rx->src, rx->dst,
	    IP_PROTO_TCP, (uint16_t)total))) != 0) {
		NSTAT(tcp, rx_bad_csum);
		return -1;
	}
	s->sport = ntoh16(th->sport);
	s->dport = ntoh16(th->dport);
	if (rx->broadcast || s->sport == 0 || s->dport == 0) {
		NSTAT(tcp, rx_bad_addr);
		return -1;
	}
	hdr = pkt_peek(pkt, 0, s->hlen, copy);	/* cannot fail: hlen <= total */
	th = (const struct tcp_hdr *)hdr;
	s->src = rx->src;
	s->dst = rx->dst;
	s->seq = ntoh32(th->seq);
	s->ack = ntoh32(th->ack);
	s->flags = th->flags & 0x3f;
	s->wnd = ntoh16(th->win);
	s->len = (uint32_t)(total - s->hlen);
	s->wscale = -1;
	s->nif = rx->nif;
	s->rx_flags = rx->rx_flags;
	tcp_parse_opts(hdr + TCP_HLEN, s->hlen - TCP_HLEN, s);
	return 0;
}
