/*
 * node_tap.c: the frontend's other LAN: each node's NIC on a TAP device
 * of its own, every one a port of a Linux bridge, and the frontend's
 * own interface (main.c's --tap) a port too (node_tap.h).  Hosted.
 *
 * The default LAN (lan.c) needs no root but lives in this process.  As
 * root, node_lan_tap (ebb/node.h) puts the same nodes on a bridge
 * instead, which Linux switches, and which may reach other hosts.
 *
 *	node_lan_tap(bridge, own)  -> node_tap_bridge(bridge, own's name)
 *	node_boot, node n          -> node_tap_make: /dev/net/tun,
 *	                              TUNSETIFF "ebPIDnN", a port of the
 *	                              bridge, up; QEMU gets the fd:
 *	                              -netdev tap,id=n0,fd=FD
 *
 * Why the frontend makes the device, not QEMU (ifname=, script=no):
 * everything that can fail (not root, no such bridge, the name taken)
 * fails here, before QEMU starts, with the reason; nothing waits for
 * QEMU to make a device; and the device is never persistent: its fds
 * are this process's, closed once QEMU has its copy, and QEMU's, so it
 * goes when QEMU ends, however that ends.
 *
 * Bridge ports and flags are set with the old ioctls (SIOCBRADDIF,
 * SIOCSIFFLAGS on any socket), which need CAP_NET_ADMIN, like TUNSETIFF.
 * The name: "eb", the pid (at most 7 digits), "n", the node number (at
 * most 2): at most 12 characters, under IFNAMSIZ; checked unused first,
 * since TUNSETIFF would attach to a persistent TAP device of that name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node_tap.h"

/* A root hint for errno e, if it is a permission error. */
static const char *
root_hint(int e)
{
	return e == EPERM || e == EACCES ? " (needs root or CAP_NET_ADMIN)" : "";
}

/* Set IFF_UP on dev through socket s.  0, or errno. */
static int
set_up(int s, const char *dev)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return errno;
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? errno : 0;
}

int
node_tap_bridge(const char *bridge, const char *dev, char *why, size_t whylen)
{
	char path[64];
	struct ifreq ifr;
	unsigned idx;
	int s, e;

	if (strlen(bridge) == 0 || strlen(bridge) >= IFNAMSIZ) {
		snprintf(why, whylen, "bad bridge name \"%s\" (1 to %d characters)", bridge,
		    IFNAMSIZ - 1);
		return -1;
	}
	if (if_nametoindex(bridge) == 0) {
		snprintf(why, whylen, "no bridge \"%s\" here (make one: ip link add %s type bridge)",
		    bridge, bridge);
		return -1;
	}
	snprintf(path, sizeof path, "/sys/class/net/%s/bridge", bridge);
	if (access(path, F_OK) != 0) {
		snprintf(why, whylen, "%s is not a bridge (no %s)", bridge, path);
		return -1;
	}
	if ((idx = if_nametoindex(dev)) == 0) {
		snprintf(why, whylen, "no interface \"%s\" to add to %s", dev, bridge);
		return -1;
	}
	if ((s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", bridge);
	ifr.ifr_ifindex = (int)idx;
	if (ioctl(s, SIOCBRADDIF, &ifr) < 0 && errno != EBUSY) {
		e = errno;
		snprintf(why, whylen, "adding %s to bridge %s: %s%s", dev, bridge, strerror(e),
		    root_hint(e));
		close(s);
		return -1;
	}
	if ((e = set_up(s, bridge)) != 0 || (e = set_up(s, dev)) != 0) {
		snprintf(why, whylen, "bringing %s and %s up: %s%s", bridge, dev, strerror(e),
		    root_hint(e));
		close(s);
		return -1;
	}
	close(s);
	return 0;
}

int
node_tap_make(const char *bridge, int num, char name[16], char *why, size_t whylen)
{
	struct ifreq ifr;
	int fd, e;

	snprintf(name, 16, "eb%dn%d", (int)getpid() % 10000000, num);
	if (if_nametoindex(name) != 0) {
		snprintf(why, whylen, "an interface %s exists already (a TAP name this frontend"
		    " needs for node %d)", name, num);
		return -1;
	}
	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) < 0) {
		e = errno;
		snprintf(why, whylen, "/dev/net/tun: %s%s", strerror(e), root_hint(e));
		return -1;
	}
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;	/* QEMU asks TUNGETIFF */
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		snprintf(why, whylen, "TUNSETIFF %s: %s%s", name, strerror(e), root_hint(e));
		close(fd);
		return -1;
	}
	if (node_tap_bridge(bridge, name, why, whylen) != 0) {
		close(fd);			/* not persistent: the device goes */
		return -1;
	}
	return fd;
}
