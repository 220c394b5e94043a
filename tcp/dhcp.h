/*
 * dhcp.h: the DHCP client (RFC 2131).  Portable.
 *
 *	dhcp_start -> DISCOVER (broadcast) ... OFFER -> REQUEST (broadcast)
 *	  ... ACK -> netcfg_apply (bound) -> T1: REQUEST to the server
 *	  (renewing) -> T2: REQUEST broadcast (rebinding) -> lease end:
 *	  the address removed, DISCOVER again
 *
 * One client per instance: it owns UDP port 68 (DHCP_CLIENT_PORT),
 * and drives one interface, from the core that started it (its timers
 * are armed there and every state change happens there; a reply that
 * arrives on another core is checked there and handed over).  Times
 * are the server's, in seconds; dhcp_tune lets a test make a second
 * a millisecond.
 */
#ifndef TCP_DHCP_H
#define TCP_DHCP_H

#include <stdint.h>

#include "netif.h"

/* The client's states (RFC 2131 figure 5, without INIT-REBOOT). */
enum dhcp_state {
	DHCP_OFF,		/* not started, or stopped */
	DHCP_SELECTING,		/* DISCOVER sent, waiting for an OFFER */
	DHCP_REQUESTING,	/* REQUEST sent for an offer, waiting for the ACK */
	DHCP_BOUND,		/* configured; T1 timer running */
	DHCP_RENEWING,		/* past T1: REQUESTs unicast to our server */
	DHCP_REBINDING,		/* past T2: REQUESTs broadcast to any server */
};

/*
 * Called on the client's core, from its timer or its receive path,
 * whenever a lease is bound or renewed (nif->ip is the address) and
 * when it is lost (nif->ip is 0): the app's "configured" event.  It
 * must not block; it may call dhcp_stop.
 */
typedef void (*dhcp_notify_fn)(void *arg, struct netif *nif);

/*
 * Start the client on nif, on this core: the interface is unconfigured
 * (ip 0) and a DISCOVER goes out.  fn may be NULL.  Returns 0, EBUSY
 * if the client runs already, or udp_bind's error for port 68.
 */
int dhcp_start(struct netif *nif, dhcp_notify_fn fn, void *arg);

/*
 * Stop the client, on the core that started it: timers stopped, port
 * 68 released; the interface keeps its address (no RELEASE is sent).
 */
void dhcp_stop(void);

/* The client's state (a snapshot, any core). */
enum dhcp_state dhcp_state(void);

/*
 * Tests: how long one lease second lasts and the first retransmission
 * interval, in ns (RFC: 1e9 and 4 s); the interval doubles up to 16
 * times itself.  Before dhcp_start.
 */
void dhcp_tune(uint64_t second_ns, uint64_t retry_ns);

#endif
