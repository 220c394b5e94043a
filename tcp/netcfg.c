/*
 * netcfg.c: static IPv4 configuration: parse "ip=A.B.C.D/N[,gw=G]",
 * apply it to an interface.  Portable.
 *
 *	app_main -> netcfg_parse -> netcfg_apply -> arp_announce
 *	dhcp (bound, lost) -------> netcfg_apply
 *
 * The parser is written by hand rather than with sscanf or inet_aton,
 * so that it is the same under newlib and glibc and says exactly what
 * is wrong: every field is checked (four decimal parts of at most three
 * digits and 0..255, a prefix length of 1..32, an optional gateway on
 * the subnet), and nothing may follow.  Addresses come out in network
 * order, as the stack keeps them (proto.h).
 */
#include <stddef.h>
#include <stdio.h>

#include "eth.h"
#include "netcfg.h"
#include "proto.h"

/* A decimal number of 1..3 digits, at most max, at *s; NULL if none. */
static const char *
parse_num(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	int n = 0;

	while (*s >= '0' && *s <= '9' && n < 3) {
		v = v * 10 + (unsigned)(*s++ - '0');
		n++;
	}
	if (n == 0 || v > max || (*s >= '0' && *s <= '9'))
		return NULL;
	*out = v;
	return s;
}

const char *
netcfg_parse_addr(const char *s, uint32_t *ip)
{
	unsigned part[4];

	for (int i = 0; i < 4; i++) {
		if ((s = parse_num(s, 255, &part[i])) == NULL)
			return NULL;
		if (i < 3 && *s++ != '.')
			return NULL;
	}
	*ip = IP4(part[0], part[1], part[2], part[3]);
	return s;
}

/* Does s start with the prefix p?  The rest of s, or NULL. */
static const char *
skip(const char *s, const char *p)
{
	while (*p != '\0')
		if (*s++ != *p++)
			return NULL;
	return s;
}

int
netcfg_parse(const char *arg, uint32_t *ip, uint32_t *mask, uint32_t *gw)
{
	const char *s;
	uint32_t a, m, g = 0;
	unsigned len;

	if ((s = skip(arg, "ip=")) == NULL)
		return NETCFG_E_PREFIX;
	if ((s = netcfg_parse_addr(s, &a)) == NULL)
		return NETCFG_E_ADDR;
	if (*s++ != '/' || (s = parse_num(s, 32, &len)) == NULL || len == 0)
		return NETCFG_E_LEN;
	m = hton32(len == 32 ? 0xffffffffu : ~(0xffffffffu >> len));
	if (*s == ',') {
		if ((s = skip(s + 1, "gw=")) == NULL || (s = netcfg_parse_addr(s, &g)) == NULL)
			return NETCFG_E_GW;
	}
	if (*s != '\0')
		return NETCFG_E_TRAILING;
	/* On a /31 or /32 every address is a host's (RFC 3021). */
	if (len < 31 && ((a & ~m) == 0 || (a & ~m) == ~m))
		return NETCFG_E_HOST;
	if (g != 0 && ((g & m) != (a & m) || g == a))
		return NETCFG_E_GW_NET;
	*ip = a;
	*mask = m;
	*gw = g;
	return NETCFG_OK;
}

const char *
netcfg_error(int err)
{
	switch (err) {
	case NETCFG_OK:		return "ok";
	case NETCFG_E_PREFIX:	return "expected ip=A.B.C.D/N[,gw=G] or ip=dhcp";
	case NETCFG_E_ADDR:	return "bad address: expected A.B.C.D, each part 0 to 255";
	case NETCFG_E_LEN:	return "bad or missing prefix length: expected /N, N 1 to 32";
	case NETCFG_E_GW:	return "bad gateway: expected gw=A.B.C.D";
	case NETCFG_E_TRAILING:	return "unexpected text after the configuration";
	case NETCFG_E_HOST:	return "the address is the subnet's network or broadcast address";
	case NETCFG_E_GW_NET:	return "the gateway is not another address on the subnet";
	default:		return "unknown error";
	}
}

char *
netcfg_fmt(uint32_t ip, char buf[16])
{
	uint32_t h = ntoh32(ip);

	snprintf(buf, 16, "%u.%u.%u.%u", (unsigned)(h >> 24), (unsigned)(h >> 16 & 255),
	    (unsigned)(h >> 8 & 255), (unsigned)(h & 255));
	return buf;
}

int
netcfg_apply(struct netif *nif, uint32_t ip, uint32_t mask, uint32_t gw)
{
	/*
	 * Relaxed stores: each word is read whole on other cores; nothing
	 * is ordered by them (a datagram may briefly see a mix).
	 */
	__atomic_store_n(&nif->netmask, ip == 0 ? 0 : mask, __ATOMIC_RELAXED);
	__atomic_store_n(&nif->gateway, ip == 0 ? 0 : gw, __ATOMIC_RELAXED);
	__atomic_store_n(&nif->ip, ip, __ATOMIC_RELAXED);
	if (ip == 0)
		return 0;
	return arp_announce(nif);
}
