/*
 * echo.c: the UDP echo server (RFC 862) on port 7.
 *
 *	build/hosted/echo [--tap NAME] ip=dhcp
 *	build/hosted/echo [--tap NAME] ip=10.0.2.15/24,gw=10.0.2.2 stats=5
 *	make run APP=echo ARGS="ip=dhcp"
 *
 * It takes the first network interface there is, configures it
 * statically (netcfg_parse, netcfg_apply: the address is announced
 * with a gratuitous ARP) or by DHCP (dhcp_start; configured comes
 * from the client's notification), binds UDP port 7 and sends every
 * datagram back to where it came from, from the core that received
 * it.  Once configured it prints "echo: udp port 7 on A.B.C.D" (again
 * after each new address; "echo: lease lost" when DHCP takes it away).
 * No address argument means ip=dhcp.
 *
 * stats=SECONDS (1..3600) prints the interface's counters every SECONDS
 * from core 0, one line "echo: stats rx F/B tx F/B errors E" (frames
 * and bytes), followed by the driver's own (netif_ops.print_stats,
 * when it has one: virtio-net's per-queue counters), for tests and
 * people watching a run.
 *
 *	app_main -> netcfg_apply | dhcp_start ... notify -> configured
 *	udp_input -> echo -> udp_sendto (the payload, unchanged)
 *
 * With no interface at all (natively: no virtio-net device, as with
 * make run NET=none) it says so and exits with EX_UNAVAILABLE (69).  A
 * bad argument exits with EXIT_USAGE (64).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ebb/runtime.h"
#include "ebb/timer.h"
#include "kernel/param.h"
#include "tcp/dhcp.h"
#include "tcp/netcfg.h"
#include "tcp/netif.h"
#include "tcp/udp.h"

#define ECHO_PORT	7
#define EX_UNAVAILABLE	69	/* sysexits.h: a service is unavailable */
#define STATS_MAX	3600	/* longest stats= period, seconds */

static struct timer stats_timer;	/* core 0's, when stats= is given */
static int stats_period;		/* stats=SECONDS; 0: not asked for */

/* A datagram for port 7, on the core that received it: send it back. */
static void
echo(void *arg, const struct udp_rx *rx, struct iobuf *payload)
{
	(void)arg;
	udp_sendto(rx->nif, rx->dst_port, rx->src_ip, rx->src_port, payload);
}

/* The interface has (or has lost) its address: say so. */
static void
configured(void *arg, struct netif *nif)
{
	char b[16];

	(void)arg;
	if (nif->ip == 0)
		printf("echo: lease lost on %s; asking again\n", nif->name);
	else
		printf("echo: udp port %d on %s\n", ECHO_PORT, netcfg_fmt(nif->ip, b));
	fflush(stdout);
}

/* stats=: the interface's counters, then the driver's; every period on core 0. */
static void
stats_print(void *arg)
{
	struct netif *nif = arg;
	struct netif_stats *st = &nif->stats;

	/* Relaxed loads: counters other cores add to; a line may be a moment stale. */
	printf("echo: stats rx %llu/%llu tx %llu/%llu errors %llu\n",
	    (unsigned long long)__atomic_load_n(&st->rx_frames, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&st->rx_bytes, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&st->tx_frames, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&st->tx_bytes, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&st->tx_errors, __ATOMIC_RELAXED));
	if (nif->ops->print_stats != NULL)
		nif->ops->print_stats(nif);
	fflush(stdout);
}

static int
usage(const char *why, const char *arg)
{
	printf("echo: %s: %s\nusage: echo [ip=dhcp | ip=A.B.C.D/N[,gw=G]] [stats=SECONDS]\n",
	    arg, why);
	return EXIT_USAGE;
}

/* Parse stats=SECONDS (1..STATS_MAX) into stats_period; 0, or -1 if malformed. */
static int
parse_stats(const char *s)
{
	int n = 0;

	s += strlen("stats=");
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || (n = n * 10 + (*s - '0')) > STATS_MAX)
			return -1;
	}
	stats_period = n;
	return n >= 1 ? 0 : -1;
}

/* stats=: print nif's counters every stats_period seconds; 0, or -1 (said why). */
static int
stats_start(struct netif *nif)
{
	uint64_t ns = stats_period * 1000000000ULL;

	if (stats_period == 0)
		return 0;
	timer_setup(&stats_timer, stats_print, nif);
	if (timer_start(&stats_timer, ns, ns) != 0) {
		printf("echo: cannot start the stats timer: %s\n", strerror(ENOMEM));
		return -1;
	}
	return 0;
}

int
app_main(int argc, char **argv)
{
	const char *cfg = "ip=dhcp";
	uint32_t ip = 0, mask = 0, gw = 0;
	struct netif *nif;
	int dhcp, err;

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "ip=", 3) == 0)
			cfg = argv[i];
		else if (strncmp(argv[i], "stats=", 6) == 0) {
			if (parse_stats(argv[i]) != 0)
				return usage("not stats=SECONDS, 1 to 3600", argv[i]);
		} else
			return usage("unknown argument", argv[i]);
	}
	dhcp = strcmp(cfg, "ip=dhcp") == 0;
	if (!dhcp && (err = netcfg_parse(cfg, &ip, &mask, &gw)) != NETCFG_OK)
		return usage(netcfg_error(err), cfg);
	if ((nif = netif_first()) == NULL) {
		printf("echo: no network interface\n");
		return EX_UNAVAILABLE;
	}
	if ((err = udp_bind(ECHO_PORT, echo, NULL)) != 0) {
		printf("echo: cannot bind udp port %d: %s\n", ECHO_PORT, strerror(err));
		return 1;
	}
	if (stats_start(nif) != 0)
		return 1;
	if (dhcp) {
		printf("echo: asking for an address on %s (DHCP)\n", nif->name);
		fflush(stdout);
		if ((err = dhcp_start(nif, configured, NULL)) != 0) {
			printf("echo: cannot start DHCP: %s\n", strerror(err));
			return 1;
		}
	} else {
		netcfg_apply(nif, ip, mask, gw);	/* a lost announcement is harmless */
		configured(NULL, nif);
	}
	return EBB_RUN;
}
