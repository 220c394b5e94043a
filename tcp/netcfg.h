/*
 * netcfg.h: static IPv4 configuration of an interface.  Portable.
 *
 *	app: "ip=10.0.0.2/24,gw=10.0.0.1"
 *	  -> netcfg_parse  (text to three network-order addresses)
 *	  -> netcfg_apply  (nif->ip, netmask, gateway; arp_announce)
 *
 * The same netcfg_apply is what the DHCP client (dhcp.h) calls when a
 * lease is bound, so an interface is configured in one place.
 */
#ifndef TCP_NETCFG_H
#define TCP_NETCFG_H

#include <stdint.h>

#include "netif.h"

/* netcfg_parse's errors (negative); netcfg_error names them. */
enum {
	NETCFG_OK = 0,
	NETCFG_E_PREFIX = -1,	/* does not start with "ip=" */
	NETCFG_E_ADDR = -2,	/* the address is not A.B.C.D, each 0..255 */
	NETCFG_E_LEN = -3,	/* no "/N", or N not 1..32 */
	NETCFG_E_GW = -4,	/* ",gw=" missing its address, or a bad one */
	NETCFG_E_TRAILING = -5,	/* something after the configuration */
	NETCFG_E_HOST = -6,	/* the address is the subnet's own or its broadcast */
	NETCFG_E_GW_NET = -7,	/* the gateway is not on the subnet */
};

/*
 * Parse "ip=A.B.C.D/N" or "ip=A.B.C.D/N,gw=G" into *ip, *mask, *gw
 * (network order; *gw is 0 without ",gw=").  Returns NETCFG_OK, or a
 * NETCFG_E_* (the outputs then untouched).  "ip=dhcp" is not a static
 * configuration: it returns NETCFG_E_ADDR; callers look for it first.
 */
int netcfg_parse(const char *arg, uint32_t *ip, uint32_t *mask, uint32_t *gw);

/* A sentence for netcfg_parse's error err. */
const char *netcfg_error(int err);

/*
 * Parse "A.B.C.D" (exactly that, up to end or one of the stop
 * characters) into *ip (network order); returns the character after
 * it, or NULL if it is not an address.
 */
const char *netcfg_parse_addr(const char *s, uint32_t *ip);

/*
 * Configure nif with ip, mask and gw (network order; gw may be 0) and
 * tell the link with a gratuitous ARP.  ip 0 unconfigures nif (no
 * announcement).  Call it on the core that drives the interface's
 * configuration (the app's, or the DHCP client's): the fields are
 * plain words that the stack reads on every core, so a datagram in
 * flight on another core may see the old or the new address.  Returns
 * 0, or arp_announce's error number.
 */
int netcfg_apply(struct netif *nif, uint32_t ip, uint32_t mask, uint32_t gw);

/* Print ip (network order) as A.B.C.D into buf (16 bytes); returns buf. */
char *netcfg_fmt(uint32_t ip, char buf[16]);

#endif
