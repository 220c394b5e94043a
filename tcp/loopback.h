/*
 * loopback.h: the loopback interface.  Portable.
 *
 * What an interface sends, it receives: each frame comes back through
 * netif_input as a new event on the core that sent it, after the events
 * already queued there (never inside the sender's call, so the stack is
 * never re-entered).
 */
#ifndef TCP_LOOPBACK_H
#define TCP_LOOPBACK_H

#include "netif.h"

#define LOOPBACK_MTU	16384	/* bytes of IP datagram per frame */

/*
 * Fill in nif as a loopback interface called name (MAC 0, every core a
 * queue, checksums "offloaded": frames are delivered marked
 * NETIF_RX_CSUM_OK, since nothing can corrupt them) and netif_add it.
 * The caller may set nif->ip and the rest before.  Returns 0, or -1.
 */
int loopback_add(struct netif *nif, const char *name);

/* Frames loopback could not deliver (no memory for their event). */
uint64_t loopback_dropped(void);

#endif
