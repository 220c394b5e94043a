/*
 * echo.c: the UDP echo server (RFC 862) on port 7.
 *
 *	build/hosted/echo [--tap NAME] ip=dhcp
 *	build/hosted/echo [--tap NAME] ip=10.0.2.15/24,gw=10.0.2.2
 *	make run APP=echo ARGS="ip=dhcp"
 *
 * It takes the first network interface there is, configures it
 * statically (netcfg_parse, netcfg_apply: the address is announced
 * with a gratuitous ARP) or by DHCP (dhcp_start; configured comes
 * from the client's notification), binds UDP port 7 and sends every
 * datagram back to where it came from, from the core that received
 * it.  Once configured it prints "echo: udp port 7 on A.B.C.D" (again
 * after each new address; "echo: lease lost" when DHCP takes it away).
 * No argument means ip=dhcp.
 *
 *	app_main -> netcfg_apply | dhcp_start ... notify -> configured
 *	udp_input -> echo -> udp_sendto (the payload, unchanged)
 *
 * Natively there is no NIC driver yet: with no interface at all it
 * says so and exits with EX_UNAVAILABLE (69).  A bad argument exits
 * with EXIT_USAGE (64).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ebb/runtime.h"
#include "kernel/param.h"
#include "tcp/dhcp.h"
#include "tcp/netcfg.h"
#include "tcp/netif.h"
#include "tcp/udp.h"

#define ECHO_PORT	7
#define EX_UNAVAILABLE	69	/* sysexits.h: a service is unavailable */

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

static int
usage(const char *why, const char *arg)
{
	printf("echo: %s: %s\nusage: echo [ip=dhcp | ip=A.B.C.D/N[,gw=G]]\n", arg, why);
	return EXIT_USAGE;
}

int
app_main(int argc, char **argv)
{
	const char *cfg = argc > 1 ? argv[1] : "ip=dhcp";
	uint32_t ip = 0, mask = 0, gw = 0;
	struct netif *nif;
	int dhcp = strcmp(cfg, "ip=dhcp") == 0, err;

	if (argc > 2)
		return usage("one argument at most", argv[2]);
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
