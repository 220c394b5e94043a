/*
 * stats.c: adding up and printing the stack's per-core counters (see
 * stats.h).  Portable.
 *
 * Every counter is a uint64_t, so a struct net_stats is read as an
 * array of them: a reader loads each word with a relaxed atomic load
 * (the owning core stores them the same way), which gives whole values
 * though not one instant across the fields.
 */
#include <stddef.h>
#include <string.h>

#include "kernel/platform.h"
#include "kernel/print.h"
#include "stats.h"

struct net_stats net_percore[NCPU];

#define NWORDS	(offsetof(struct net_stats, tcp) / sizeof(uint64_t) + \
		    sizeof(struct tcp_stats) / sizeof(uint64_t))

void
net_stats_read(struct net_stats *out)
{
	uint64_t *sum = (uint64_t *)out;

	memset(out, 0, sizeof *out);
	for (int c = 0; c < core_count(); c++) {
		const uint64_t *w = (const uint64_t *)&net_percore[c];
		for (size_t i = 0; i < NWORDS; i++)
			sum[i] += __atomic_load_n(&w[i], __ATOMIC_RELAXED);
	}
}

/* The counters' names, in struct order, layer by layer. */
static const char *const names[] = {
	"eth.rx", "eth.tx", "eth.rx_short", "eth.rx_not_ours", "eth.rx_multicast",
	"eth.rx_bad_type", "eth.tx_nomem",
	"arp.rx", "arp.tx", "arp.rx_bad", "arp.rx_requests", "arp.rx_replies",
	"arp.tx_requests", "arp.tx_replies", "arp.learned", "arp.hits",
	"arp.misses", "arp.expired", "arp.evicted", "arp.queued",
	"arp.queue_drops", "arp.pending_drops", "arp.timeouts",
	"arp.timeout_drops", "arp.nomem",
	"ip.rx", "ip.tx", "ip.rx_short", "ip.rx_bad_version", "ip.rx_bad_hlen",
	"ip.rx_bad_len", "ip.rx_bad_csum", "ip.rx_bad_src", "ip.rx_not_ours",
	"ip.rx_frag", "ip.rx_bad_proto", "ip.tx_no_route", "ip.tx_too_big",
	"ip.tx_nomem",
	"icmp.rx", "icmp.tx", "icmp.rx_short", "icmp.rx_bad_csum", "icmp.rx_echo",
	"icmp.rx_ignored", "icmp.tx_unreach", "icmp.rate_limited", "icmp.tx_nomem",
	"udp.rx", "udp.tx", "udp.rx_short", "udp.rx_bad_len", "udp.rx_bad_csum",
	"udp.rx_no_port", "udp.tx_too_big", "udp.tx_nomem", "udp.tx_err",
	"dhcp.rx", "dhcp.tx", "dhcp.tx_discover", "dhcp.tx_request",
	"dhcp.rx_offer", "dhcp.rx_ack", "dhcp.rx_nak", "dhcp.rx_bad",
	"dhcp.rx_ignored", "dhcp.retransmits", "dhcp.bound", "dhcp.renewing",
	"dhcp.rebinding", "dhcp.expired", "dhcp.nomem",
	"tcp.rx", "tcp.tx", "tcp.rx_short", "tcp.rx_bad_off", "tcp.rx_bad_csum",
	"tcp.rx_bad_addr", "tcp.rx_handover", "tcp.rx_coalesced", "tcp.rx_no_conn",
	"tcp.rx_out_of_window", "tcp.rx_ooo", "tcp.rx_ooo_drops", "tcp.rx_dup",
	"tcp.rx_paws", "tcp.rx_bad_ack", "tcp.rx_after_close", "tcp.rst_rx",
	"tcp.rst_tx", "tcp.rst_ignored", "tcp.challenge_acks",
	"tcp.challenge_limited", "tcp.syn_rx", "tcp.backlog_drops",
	"tcp.cookies_sent", "tcp.cookies_validated", "tcp.cookies_rejected",
	"tcp.conn_limit", "tcp.accepts", "tcp.refused_by_app", "tcp.connects",
	"tcp.established", "tcp.closed", "tcp.aborts", "tcp.retransmits",
	"tcp.fast_retransmits", "tcp.sack_retransmits", "tcp.timeouts", "tcp.tlp_probes",
	"tcp.dupacks", "tcp.delayed_acks", "tcp.zero_window_probes",
	"tcp.keepalive_probes", "tcp.keepalive_drops", "tcp.time_wait",
	"tcp.nomem",
};

_Static_assert(sizeof names / sizeof names[0] == NWORDS,
    "stats.c: one name per counter of struct net_stats");

void
net_stats_print(void)
{
	struct net_stats s;
	const uint64_t *w = (const uint64_t *)&s;

	net_stats_read(&s);
	for (size_t i = 0; i < NWORDS; i++)
		if (w[i] != 0)
			kprintf("%s %llu\n", names[i], (unsigned long long)w[i]);
}
