/*
 * node.c: a node's side of the call-in protocol (node.h).  Portable.
 *
 *	node_join -> netcfg_apply (the LAN address node_boot chose)
 *	          -> udp_bind(NODE_PORT) -> "callin N" to the frontend,
 *	             again every NODE_CALLIN_MS until
 *	"welcome N BASE COUNT" -> the joined future resolves
 *	"bye"                  -> ebb_exit(0)
 *	nat=dhcp (spec->fwd)   -> dhcp_start on the second interface (the
 *	             LAN's NIC is the first PCI device, so the first
 *	             interface); its address printed when bound
 *
 * Everything here runs on core 0: node_join, the retry timer and the
 * datagrams (a datagram is delivered on the core that received it, and
 * the LAN's NIC delivers on core 0 natively; a datagram on another core
 * is handed to core 0 first).  A datagram that is not one of the lines
 * above, or that does not come from the frontend, is counted in
 * bad_lines and dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebb/ebb.h"
#include "ebb/event.h"
#include "ebb/node.h"
#include "ebb/runtime.h"
#include "ebb/timer.h"
#include "kernel/platform.h"
#include "tcp/dhcp.h"
#include "tcp/netcfg.h"
#include "tcp/netif.h"
#include "tcp/udp.h"

#define NODE_CALLIN_MS	250		/* between call-ins until welcomed */
#define NODE_LINE_MAX	64

/* The node's state: core 0's alone. */
static struct {
	int num;
	uint32_t frontend;		/* network order */
	struct netif *nif;
	struct future *joined;
	struct timer retry;
	int welcomed;
	uint64_t callins, bad_lines;
} me;

static int site;		/* this process's: set before nodes boot or join */

void
node_site(int s)
{
	site = s;
}

int
node_site_of(void)
{
	return site;
}

void
node_ids(int n, uint32_t *base)
{
	*base = EBB_LOCAL_MAX + 1 + ((uint32_t)site * IDMAP_SITE_RANGES + (uint32_t)n) * NODE_IDS;
}

/* Send line as one datagram to the frontend's NODE_PORT. */
static void
send_line(const char *line)
{
	size_t n = strlen(line);
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, n);

	if (b == NULL)
		return;			/* the retry timer tries again */
	memcpy(iobuf_put(b, n), line, n);
	udp_sendto(me.nif, NODE_PORT, me.frontend, NODE_PORT, b);
}

static void
callin(void *arg)
{
	char line[NODE_LINE_MAX];

	(void)arg;
	if (me.welcomed)
		return;
	snprintf(line, sizeof line, "callin %d\n", me.num);
	me.callins++;
	send_line(line);
	timer_start(&me.retry, (uint64_t)NODE_CALLIN_MS * TIMER_MS, 0);
}

/* A line from the frontend, on core 0. */
static void
frontend_line(char *line)
{
	unsigned long num, base, count;
	uint32_t want;

	if (strcmp(line, "bye\n") == 0) {
		printf("node %d: the frontend says bye\n", me.num);
		ebb_exit(0);
		return;
	}
	if (sscanf(line, "welcome %lu %lu %lu", &num, &base, &count) != 3 ||
	    (int)num != me.num) {
		me.bad_lines++;
		return;
	}
	node_ids(me.num, &want);
	if (base != want || count != NODE_IDS) {
		printf("node %d: the frontend gave ids %lu+%lu, not %u+%u: ignored\n",
		    me.num, base, count, want, NODE_IDS);
		me.bad_lines++;
		return;
	}
	if (me.welcomed)
		return;			/* a welcome answering an older call-in */
	me.welcomed = 1;
	timer_stop(&me.retry);
	future_resolve(me.joined, (void *)(uintptr_t)me.num);
}

static void
line_event(void *arg)
{
	frontend_line(arg);
	free(arg);
}

static void
node_rx(void *arg, const struct udp_rx *rx, struct iobuf *p)
{
	size_t n = iobuf_chain_len(p);
	char *line;

	(void)arg;
	if (rx->src_ip != me.frontend || rx->src_port != NODE_PORT || n == 0 ||
	    n >= NODE_LINE_MAX || (line = malloc(NODE_LINE_MAX)) == NULL) {
		me.bad_lines++;		/* (a count, racy off core 0: a statistic) */
		iobuf_free_chain(p);
		return;
	}
	iobuf_copy_out(p, 0, n, line);
	line[n] = '\0';
	iobuf_free_chain(p);
	if (core_id() == 0)
		line_event(line);
	else if (spawn_on(0, line_event, line) != 0)
		free(line);
}

/* The forwarded ports' interface has (or has lost) its address. */
static void
nat_configured(void *arg, struct netif *nif)
{
	(void)arg;
	if (nif->ip == 0)
		printf("node %d: %s lost its address; asking again (DHCP)\n", me.num, nif->name);
	else
		printf("node %d: %s is %s (DHCP): the host's forwarded ports reach it\n", me.num,
		    nif->name, netcfg_fmt(nif->ip, (char[16]){ 0 }));
}

/* The value of "key=" in argv, or NULL. */
static const char *
arg(int argc, char **argv, const char *key)
{
	size_t k = strlen(key);

	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], key, k) == 0)
			return argv[i] + k;
	return NULL;
}

int
node_join(int argc, char **argv, struct future *joined, char *why, size_t whylen)
{
	const char *num = arg(argc, argv, "node="), *fe = arg(argc, argv, "frontend=");
	const char *ip = arg(argc, argv, "ip=");	/* netcfg_parse wants the "ip=" */
	const char *st = arg(argc, argv, "site=");
	const char *nat = arg(argc, argv, "nat=");
	struct netif *natif = NULL;
	uint32_t addr, mask, gw;
	char *end;
	long n;
	int err;

	if (num == NULL)
		return ENOENT;
	n = strtol(num, &end, 10);
	if (*end != '\0' || n < 1 || n > NODE_MAX) {
		snprintf(why, whylen, "node=%s: not a node number 1..%d", num, NODE_MAX);
		return EINVAL;
	}
	if (st != NULL) {
		long k = strtol(st, &end, 10);
		if (*end != '\0' || k < 0 || k >= IDMAP_SITES) {
			snprintf(why, whylen, "site=%s: not a site 0..%d", st, IDMAP_SITES - 1);
			return EINVAL;
		}
		node_site((int)k);
	}
	if (fe == NULL || netcfg_parse_addr(fe, &me.frontend) == NULL) {
		snprintf(why, whylen, "frontend=%s: not an address", fe ? fe : "(missing)");
		return EINVAL;
	}
	if (ip == NULL || (err = netcfg_parse(ip - 3, &addr, &mask, &gw)) != NETCFG_OK) {
		snprintf(why, whylen, "ip=%s: %s", ip ? ip : "(missing)",
		    ip ? netcfg_error(err) : "a node needs its address");
		return EINVAL;
	}
	if ((me.nif = netif_first()) == NULL) {
		snprintf(why, whylen, "no network interface to join the LAN on");
		return EINVAL;
	}
	if (nat != NULL && (strcmp(nat, "dhcp") != 0 || (natif = netif_next(me.nif)) == NULL)) {
		snprintf(why, whylen, "nat=%s: %s", nat, strcmp(nat, "dhcp") != 0 ?
		    "not nat=dhcp" : "no second interface to ask DHCP on");
		return EINVAL;
	}
	if ((err = udp_bind(NODE_PORT, node_rx, NULL)) != 0) {
		snprintf(why, whylen, "UDP port %d: %s", NODE_PORT, strerror(err));
		return err;
	}
	me.num = (int)n;
	if (natif != NULL && (err = dhcp_start(natif, nat_configured, NULL)) != 0) {
		udp_unbind(NODE_PORT);
		snprintf(why, whylen, "nat=dhcp: DHCP on %s: %s", natif->name, strerror(err));
		return err;
	}
	netcfg_apply(me.nif, addr, mask, gw);
	me.joined = joined;
	timer_setup(&me.retry, callin, NULL);
	callin(NULL);
	return 0;
}
