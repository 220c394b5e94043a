/*
 * node.h: the nodes of an elastic instance: the frontend that boots
 * them, and how a booted node calls in.  Portable interface.
 *
 * A hosted program may be the frontend of a cluster
 * (../../shared/DESIGN.md, "The elastic runtime"): node_boot starts a
 * native image in QEMU on a virtual LAN that needs no root
 * (hosted/lan.h), or as root on TAP devices on a bridge (node_lan_tap),
 * and a future resolves when that node has called in.
 * Node numbers: the frontend is node 0, booted nodes are 1, 2, ...
 * in boot order; node n's address on the LAN is NODE_NET + n + 1
 * (10.235.0.1 the frontend, 10.235.0.2 node 1, ...), a /24.
 *
 *	frontend (hosted)                     node n (native)
 *	node_boot(&spec) -> QEMU ... args     app_main: node_join(argc, argv)
 *	                     "node=n frontend=10.235.0.1 ip=10.235.0.n+1/24"
 *	                <- "callin n"  (UDP, NODE_PORT, every 250 ms)
 *	future resolves, "welcome n BASE COUNT" ->   node_joined's future
 *	node_stop(n)    -> "bye"                     the node exits, status 0
 *
 * The call-in protocol is one line of text per datagram, on UDP port
 * NODE_PORT at both ends; a welcome carries the range of global Ebb
 * ids the node may hand out (node_ids).  The frontend is hosted/node.c;
 * a native instance has no QEMU to start, and its node_boot says so
 * (kernel/node_boot.c).  The node's side, node_join, is portable
 * (ebb/node.c), so a hosted program can be a node too.
 */
#ifndef EBB_NODE_H
#define EBB_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "future.h"
#include "idmap.h"

#define NODE_MAX	62		/* booted nodes, at most (each is a QEMU) */
#define NODE_PORT	7400		/* the call-in protocol's UDP port */
#define NODE_NET	0x0aeb0000u	/* 10.235.0.0/24, host order */
#define NODE_IDS	IDMAP_RANGE	/* global Ebb ids per node: range N of
					 * the id map (idmap_reserve) */

/* What node_boot starts. */
struct node_spec {
	const char *image;		/* a native image, APP.elf32 */
	int cpus;			/* cores (1 if 0) */
	int mem_mib;			/* memory in MiB (64 if 0) */
	const char *args;		/* the app's arguments (NULL: none) */
	int callin_s;			/* seconds it has to call in (120 if 0),
					 * else it is stopped and its future
					 * fails with ETIMEDOUT */
	const char *fwd;		/* guest ports the host reaches, "tcp:11211
					 * udp:7" (NULL: none): see below */
};

/*
 * Forwarded ports.  The LAN is out of Linux's reach; with spec->fwd the
 * node gets a second NIC, after the LAN's (PCI order), on QEMU's user
 * networking, which forwards a free port of the host's 127.0.0.1 to
 * each guest port named, and node_boot prints where each is:
 * "frontend: node N's TCP port 11211 is at 127.0.0.1:PORT".  It passes
 * nat=dhcp, and node_join configures that NIC by DHCP (QEMU's
 * 10.0.2.15; the node's one DHCP client, tcp/dhcp.h).
 */
#define NODE_FWD_MAX	8		/* ports in spec->fwd, at most */

struct node;
struct netif;

/*
 * Boot a node: start QEMU on spec's image, on the LAN (made by the
 * first call; the frontend's address is configured then), with the
 * arguments node_join looks for after spec->args.  Call on core 0.
 * Returns the node, or NULL with the reason in why (a native instance:
 * ENOTSUP's sentence).  The node's console lines are printed prefixed
 * "[node N] ".  The QEMU process dies with this one, however this one
 * ends (even by SIGKILL: PR_SET_PDEATHSIG).
 */
struct node *node_boot(const struct node_spec *spec, char *why, size_t whylen);

/*
 * The TAP LAN, as root (instead of the default, hosted/lan.c's, which
 * needs none): from the first node_boot on, each node's NIC is a TAP
 * device of its own ("ebPIDnN", made by the frontend and handed to its
 * QEMU; it goes when that QEMU ends), a port of the Linux bridge named
 * bridge; and own, the frontend's TAP interface (hosted --tap NAME),
 * becomes a port too, and gets the frontend's address (10.235.0.1/24)
 * when the first node boots.  Call on core 0 before the first
 * node_boot.  0, or an errno with the reason in why (ENODEV: no such
 * bridge, not a bridge, or not root; EINVAL: own is NULL, or a node
 * was booted already; a native instance: ENOTSUP).  A node's TAP name
 * already taken fails its node_boot, with the reason.
 */
int node_lan_tap(const char *bridge, struct netif *own, char *why, size_t whylen);

/*
 * A future that resolves (value: the node) when the node has called in,
 * or fails with ESRCH if its QEMU ended first, or ETIMEDOUT if it did
 * not call in in time (spec->callin_s; it is then stopped).  Callbacks
 * on core 0.
 */
struct future *node_called_in(struct node *n);

/* The node's number (1, 2, ...) and LAN address (network order). */
int node_num(const struct node *n);
uint32_t node_ip(const struct node *n);

/*
 * Called on core 0 when a node's QEMU has ended (after it was reported
 * on the console: the exit status, or the signal), expected or not.
 * status: the node's own exit status (0..125) if it exited; 128 + S if
 * its QEMU ended by signal S (or stopped on our TERM, 128 + 15); 124 if
 * the machine stopped without a status or QEMU failed.
 */
void node_on_exit(void (*fn)(struct node *n, int status));

/*
 * Ask the node to exit ("bye"; its app's status is then 0); after
 * grace_ms without that, TERM its QEMU.  node_wait_all waits (blocking
 * the calling event, on core 0) until every booted node has ended.
 */
void node_stop(struct node *n, unsigned grace_ms);
void node_wait_all(void);

/* ---- the node's side (portable) ---------------------------------------- */

/*
 * If argv has node=N frontend=A.B.C.D ip=A.B.C.D/N (what node_boot
 * passes), configure the first interface with that address and call in
 * until the frontend answers (with nat=dhcp too: the second interface
 * by DHCP, announced on the console); then joined resolves (value: the node
 * number, as a uintptr_t), and a "bye" from the frontend ends the
 * instance with status 0 (ebb_exit).  Returns 0 if it started, ENOENT
 * if argv has no node= (not a node), or EINVAL with the reason in why.
 * Call on core 0.
 */
int node_join(int argc, char **argv, struct future *joined, char *why, size_t whylen);

/*
 * The range of global Ebb ids node n of this process's site hands
 * out: [*base, *base + NODE_IDS), range site * IDMAP_SITE_RANGES + n
 * of the id map.
 */
void node_ids(int n, uint32_t *base);

/*
 * This process's site (0..IDMAP_SITES-1, idmap.h; 0 unless set): a
 * frontend sets it before booting nodes, node_boot passes it on as
 * site=S when not 0, and node_join sets it from that.
 */
void node_site(int site);
int node_site_of(void);

#endif
