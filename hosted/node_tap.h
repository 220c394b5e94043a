/*
 * node_tap.h: the frontend's TAP LAN: TAP devices on a Linux bridge, as
 * root (node_lan_tap in ebb/node.h; node_tap.c).  Hosted.
 */
#ifndef HOSTED_NODE_TAP_H
#define HOSTED_NODE_TAP_H

#include <stddef.h>

/*
 * Check that bridge is a bridge, bring it up, and make the existing
 * interface dev a port of it, up.  0, or -1 with the reason in why.
 */
int node_tap_bridge(const char *bridge, const char *dev, char *why, size_t whylen);

/*
 * Make node num's TAP device (its name, unique to this process and
 * node, in name[16]) as a port of bridge, up, for QEMU to use through
 * the fd returned (close-on-exec; not persistent: the device goes with
 * its last fd).  The fd, or -1 with the reason in why.
 */
int node_tap_make(const char *bridge, int num, char name[16], char *why, size_t whylen);

#endif
