/*
 * tap.h: a network interface on a Linux TAP device (tap.c).  Hosted.
 *
 * The hosted instance's Ethernet port: frames the instance sends come
 * out of the Linux interface NAME, and frames Linux sends into NAME
 * reach the instance's stack.  main makes one for `--tap NAME`:
 *
 *	struct netif *nif = tap_create("tap0", core_count(), why, sizeof why);
 *	if (nif == NULL) ... why says what went wrong ...
 *	netif_add(nif);
 *
 * The Linux side is not configured here: bring NAME up and give it an
 * address with ip(8) (test/boot_net.sh does), as one would cable a port.
 */
#ifndef HOSTED_TAP_H
#define HOSTED_TAP_H

#include <stddef.h>
#include <stdint.h>

#include "tcp/netif.h"

/*
 * Make (or attach to) the TAP device name, with nqueues queues
 * (1..core_count(); more than one asks for IFF_MULTI_QUEUE), one per
 * core from core 0.  Must be called before the loops first run (it
 * hooks them): main calls it before ebb_start.  Returns the interface,
 * registered with the stack (netif_add) as every driver registers its
 * own, or NULL with a one-line reason in why (no /dev/net/tun, no
 * permission, ...).
 */
struct netif *tap_create(const char *name, int nqueues, char *why, size_t whylen);

/* Per-interface driver counters beyond struct netif_stats. */
struct tap_stats {
	uint64_t rx_errors;	/* read failed (not EAGAIN), or a malformed header */
	uint64_t rx_nomem;	/* no iobuf for a frame: read and dropped */
	uint64_t tx_errors;	/* writev failed: frame dropped */
	uint64_t tx_copies;	/* chains too long for one writev, linearized */
};
void tap_stats(struct netif *nif, struct tap_stats *st);

#endif
