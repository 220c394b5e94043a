/*
 * test_gso.c: segmentation in software (tcp/gso.c), hosted.
 *
 * A fake driver without NETIF_F_TSO4 keeps a flat copy of every frame
 * netif_send hands it, with its hints.  A TSO frame (Ethernet, IPv4, TCP
 * with a timestamp option, a payload of known bytes in buffers of odd
 * sizes, so that cuts fall inside buffers and between them) goes in; out
 * come frames of one MSS each, checked field by field: the IP length,
 * consecutive ids and a valid header checksum, the TCP sequence numbers,
 * the options and flags (a FIN on the last only), the payload bytes in
 * order, and the TCP checksum: valid when summed here, the pseudo-
 * header's sum and the hints when the device adds the rest.  Malformed
 * TSO frames are dropped and counted; no buffer is left behind.
 */
#include <errno.h>
#include <string.h>

#include "tcp/inet.h"
#include "tcp/iobuf.h"
#include "tcp/netif.h"
#include "tcp/proto.h"
#include "test.h"

#define HLEN	(ETH_HLEN + IP_HLEN + TCP_HLEN + 12)	/* with NOP NOP TS */
#define OUT_MAX	64
#define SRC	0x0a000001u
#define DST	0x0a000002u

/* ---- a driver that keeps what it is sent ------------------------------ */

static struct {
	uint8_t bytes[2048];
	size_t len;
	struct netif_tx_hints hints;
} out[OUT_MAX];
static int nout;

static int
keep_transmit(struct netif *nif, struct iobuf *frame, const struct netif_tx_hints *hints)
{
	(void)nif;
	if (nout < OUT_MAX && iobuf_chain_len(frame) <= sizeof out[0].bytes) {
		out[nout].len = iobuf_chain_len(frame);
		iobuf_copy_out(frame, 0, out[nout].len, out[nout].bytes);
		out[nout].hints = *hints;
	}
	nout++;
	iobuf_free_chain(frame);
	return 0;
}

static const struct netif_ops keep_ops = { .transmit = keep_transmit };

/* ---- TSO frames --------------------------------------------------------- */

static uint8_t payload[20000];

/*
 * A TSO frame of n payload bytes (payload[0..n)) with TCP flags, in a
 * header buffer and payload buffers of piece bytes each; its hints (the
 * TCP checksum left below, the pseudo-header's sum in place, as tcp_out.c
 * leaves it) in *h.
 */
static struct iobuf *
tso_frame(size_t n, size_t piece, uint8_t flags, uint16_t mss, struct netif_tx_hints *h)
{
	struct iobuf *f = iobuf_alloc(IOBUF_HEADROOM, HLEN), *b;
	uint8_t *p = iobuf_put(f, HLEN);
	struct eth_hdr *eh = (struct eth_hdr *)p;
	struct ip_hdr *ih = (struct ip_hdr *)(p + ETH_HLEN);
	struct tcp_hdr *th = (struct tcp_hdr *)(p + ETH_HLEN + IP_HLEN);
	uint8_t *o = (uint8_t *)(th + 1);

	memset(p, 0, HLEN);
	memset(eh->dst, 0xaa, ETH_ALEN);
	memset(eh->src, 0xbb, ETH_ALEN);
	eh->type = hton16(ETHERTYPE_IPV4);
	ih->vhl = IP_VERSION << 4 | IP_HLEN / 4;
	ih->len = hton16((uint16_t)(IP_HLEN + TCP_HLEN + 12 + n));
	ih->id = hton16(700);
	ih->frag = hton16(IP_DF);
	ih->ttl = 64;
	ih->proto = IP_PROTO_TCP;
	ih->src = hton32(SRC);
	ih->dst = hton32(DST);
	ih->csum = hton16(inet_hdr_csum(ih, IP_HLEN));
	th->sport = hton16(4000);
	th->dport = hton16(80);
	th->seq = hton32(0xfffff000u);		/* wraps inside the frame */
	th->ack = hton32(12345);
	th->off = (TCP_HLEN + 12) / 4 << 4;
	th->flags = flags;
	th->win = hton16(1000);
	o[0] = TCPOPT_NOP;
	o[1] = TCPOPT_NOP;
	o[2] = TCPOPT_TS;
	o[3] = 10;
	memset(o + 4, 0x5c, 8);
	th->csum = hton16(inet_fold(inet_pseudo(hton32(SRC), hton32(DST), IP_PROTO_TCP, 0)));
	for (size_t k = 0; k < n; k += piece) {
		size_t m = n - k < piece ? n - k : piece;
		b = iobuf_alloc(0, m);
		memcpy(iobuf_put(b, m), payload + k, m);
		iobuf_chain_append(f, b);
	}
	*h = (struct netif_tx_hints){ .csum = 1, .csum_start = ETH_HLEN + IP_HLEN,
	    .csum_offset = offsetof(struct tcp_hdr, csum), .mss = mss };
	return f;
}

/* Check the frames out[] against a cut of n bytes at mss, with flags, offloaded or not. */
static void
check_cut(size_t n, uint16_t mss, uint8_t flags, int offload)
{
	int want = (int)((n + mss - 1) / mss);
	size_t k = 0;

	CHECK_EQ(nout, want);
	for (int i = 0; i < nout && i < OUT_MAX; i++) {
		uint8_t *p = out[i].bytes;
		struct ip_hdr *ih = (struct ip_hdr *)(p + ETH_HLEN);
		struct tcp_hdr *th = (struct tcp_hdr *)(p + ETH_HLEN + IP_HLEN);
		size_t m = n - k < mss ? n - k : mss, tlen = TCP_HLEN + 12 + m;
		uint32_t sum = inet_pseudo(ih->src, ih->dst, IP_PROTO_TCP, (uint16_t)tlen);

		CHECK_EQ(out[i].len, HLEN + m);
		CHECK_EQ(out[i].hints.mss, 0);
		CHECK(p[0] == 0xaa && p[6] == 0xbb);
		CHECK_EQ(ntoh16(ih->len), IP_HLEN + tlen);
		CHECK_EQ(ntoh16(ih->id), 700 + i);
		CHECK_EQ(inet_hdr_csum(ih, IP_HLEN), 0);	/* valid */
		CHECK_EQ(ntoh32(th->seq), 0xfffff000u + (uint32_t)k);
		CHECK_EQ(ntoh32(th->ack), 12345);
		CHECK_EQ(th->flags, i == want - 1 ? flags : (uint8_t)(flags & ~TCP_FFIN));
		CHECK(memcmp(th + 1, "\x01\x01\x08\x0a\x5c\x5c\x5c\x5c\x5c\x5c\x5c\x5c", 12) == 0);
		CHECK(memcmp(p + HLEN, payload + k, m) == 0);
		if (offload) {
			CHECK(out[i].hints.csum == 1 &&
			    out[i].hints.csum_start == ETH_HLEN + IP_HLEN &&
			    out[i].hints.csum_offset == offsetof(struct tcp_hdr, csum));
			CHECK_EQ(ntoh16(th->csum), inet_fold(sum));	/* the device adds the rest */
		} else {
			CHECK_EQ(out[i].hints.csum, 0);
			CHECK_EQ(inet_csum(inet_sum(th, tlen, sum)), 0);	/* valid */
		}
		k += m;
	}
}

TEST(cut)
{
	static struct netif plain, csum;
	static const struct { size_t n, piece; uint16_t mss; uint8_t flags; } runs[] = {
		{ 5000, 1448, 1448, TCP_FACK | TCP_FPSH },	/* cuts at the buffers' ends, and a short last */
		{ 4344, 1000, 1448, TCP_FACK },			/* three full, cuts inside buffers */
		{ 14480, 4096, 1448, TCP_FACK | TCP_FPSH | TCP_FFIN },	/* a FIN: on the last only */
		{ 3000, 7, 536, TCP_FACK },			/* tiny buffers: many in a segment */
		{ 1000, 1000, 1448, TCP_FACK },			/* one segment */
	};
	struct netif_tx_hints h;

	test_setup(1, 0, TEST_EVENTS);
	test_fill(payload, sizeof payload, 3);
	plain.ops = csum.ops = &keep_ops;
	plain.mtu = csum.mtu = 1500;
	csum.features = NETIF_F_TX_CSUM;
	CHECK_EQ(netif_add(&plain), 0);
	CHECK_EQ(netif_add(&csum), 0);
	for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
		for (int off = 0; off < 2; off++) {
			struct netif *nif = off ? &csum : &plain;
			uint64_t frames = nif->stats.tx_frames;

			nout = 0;
			CHECK_EQ(netif_send(nif, tso_frame(runs[r].n, runs[r].piece,
			    runs[r].flags, runs[r].mss, &h), &h), 0);
			check_cut(runs[r].n, runs[r].mss, runs[r].flags, off);
			CHECK_EQ(nif->stats.tx_frames - frames, (uint64_t)nout);
		}
	}
	CHECK_EQ(plain.stats.tx_errors, 0);
	CHECK_EQ(iobuf_live(), 0);
	CHECK_EQ(iobuf_blocks_live(), 0);
}

/* A device that cuts itself gets the frame as it is. */
TEST(device_tso)
{
	static struct netif tso;
	struct netif_tx_hints h;

	test_setup(1, 0, TEST_EVENTS);
	tso.ops = &keep_ops;
	tso.mtu = 1500;
	tso.features = NETIF_F_TX_CSUM | NETIF_F_TSO4;
	CHECK_EQ(netif_add(&tso), 0);
	nout = 0;
	CHECK_EQ(netif_send(&tso, tso_frame(1800, 900, TCP_FACK, 1448, &h), &h), 0);
	CHECK_EQ(nout, 1);
	CHECK_EQ(out[0].len, HLEN + 1800);
	CHECK_EQ(out[0].hints.mss, 1448);
	CHECK_EQ(iobuf_live(), 0);
}

/* Frames that are not what a TSO frame's hints say: dropped, counted. */
TEST(malformed)
{
	static struct netif plain;
	struct netif_tx_hints h;
	struct iobuf *f;

	test_setup(1, 0, TEST_EVENTS);
	plain.ops = &keep_ops;
	plain.mtu = 1500;
	CHECK_EQ(netif_add(&plain), 0);
	nout = 0;
	f = tso_frame(3000, 1000, TCP_FACK, 1448, &h);
	f->data[12] = 0x86;			/* ethertype: not IPv4 */
	CHECK_EQ(netif_send(&plain, f, &h), EINVAL);
	f = tso_frame(3000, 1000, TCP_FACK, 1448, &h);
	f->data[ETH_HLEN + 9] = IP_PROTO_UDP;	/* not TCP */
	CHECK_EQ(netif_send(&plain, f, &h), EINVAL);
	f = tso_frame(3000, 1000, TCP_FACK, 1448, &h);
	f->data[ETH_HLEN] = IP_VERSION << 4 | 6;	/* an IP option the hints miss */
	CHECK_EQ(netif_send(&plain, f, &h), EINVAL);
	f = tso_frame(3000, 1000, TCP_FACK, 1448, &h);
	f->data[ETH_HLEN + IP_HLEN + 12] = 3 << 4;	/* TCP offset under 5 words */
	CHECK_EQ(netif_send(&plain, f, &h), EINVAL);
	f = tso_frame(3000, 1000, TCP_FACK, 1448, &h);
	h.csum_start = 2000;			/* past the headers and the frame's start */
	CHECK_EQ(netif_send(&plain, f, &h), EINVAL);
	f = tso_frame(3000, 1000, TCP_FACK, 1448, &h);
	iobuf_trim(f, ETH_HLEN + IP_HLEN + 10);	/* a runt: the TCP header cut short */
	iobuf_free_chain(f->next);
	f->next = NULL;
	CHECK_EQ(netif_send(&plain, f, &h), EINVAL);
	CHECK_EQ(nout, 0);
	CHECK_EQ(plain.stats.tx_errors, 6);
	CHECK_EQ(plain.stats.tx_frames, 0);
	CHECK_EQ(iobuf_live(), 0);
	CHECK_EQ(iobuf_blocks_live(), 0);
}
