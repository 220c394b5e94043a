/*
 * node_boot.c: the frontend's half of ebb/node.h on a native instance,
 * which has no QEMU to start: node_boot refuses, with the reason, and
 * there are never any booted nodes for the rest to act on.  Native.
 * The frontend is hosted (hosted/node.c); a native instance is a node,
 * and its side of the protocol, node_join, is portable (ebb/node.c).
 */
#include <errno.h>
#include <stdio.h>

#include "ebb/node.h"

struct node *
node_boot(const struct node_spec *spec, char *why, size_t whylen)
{
	snprintf(why, whylen, "%s: a native instance cannot boot nodes (it has no QEMU"
	    " to start): the frontend is the hosted build of the app", spec->image);
	return NULL;
}

int
node_lan_tap(const char *bridge, struct netif *own, char *why, size_t whylen)
{
	(void)own;
	snprintf(why, whylen, "lan=tap:%s: a native instance has no TAP devices: the frontend"
	    " is the hosted build of the app", bridge);
	return ENOTSUP;
}

/* No node exists here, so nothing below can be given one. */
struct future *
node_called_in(struct node *n)
{
	(void)n;
	return NULL;
}

int
node_num(const struct node *n)
{
	(void)n;
	return 0;
}

uint32_t
node_ip(const struct node *n)
{
	(void)n;
	return 0;
}

void
node_on_exit(void (*fn)(struct node *n, int status))
{
	(void)fn;			/* no node will end */
}

void
node_stop(struct node *n, unsigned grace_ms)
{
	(void)n;
	(void)grace_ms;
}

void
node_wait_all(void)
{
}
