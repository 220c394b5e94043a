#!/bin/bash
# netns.sh: boot a native image on a TAP device in a network namespace of
# its own (make run NET=tap), so that Linux can reach it without touching
# the host's network.
#
#   test/netns.sh build/native/APP.elf32 [extra QEMU options...]
#
# It makes the namespace ebbrunPID, runs test/qemu.sh inside it with
# NET=tap TAP=tap0 (QEMU makes tap0 there), and once tap0 appears gives
# the Linux end 10.80.0.1/24 and brings it up.  The guest is 10.80.0.2:
# for an app that uses the network (NET_APPS, from the Makefile; default
# echo) ip=10.80.0.2/24 goes in front of ARGS unless ARGS has an ip=
# word of its own (no DHCP server runs here: without an address the app
# would ask for one for ever).  It prints how to reach the guest, e.g.
#
#	netns: ip netns exec ebbrun1234 ping 10.80.0.2
#
# and deletes the namespace (and with it tap0) when QEMU exits.  The
# exit status is qemu.sh's.  Needs root (a namespace, a TAP device).
# qemu.sh ends with this script: HUP, INT or TERM here is passed on to
# it (it stops QEMU) before the namespace goes, and it gets TERM from the
# kernel if this script dies of anything else (setpriv --pdeathsig).
# Environment: as test/qemu.sh (CPUS, MEM, ARGS, ACCEL, NETDEV_OPTS,
# NIC_OPTS).
set -u
img=${1:?usage: test/netns.sh IMAGE.elf32 [qemu options]}
shift
here=$(dirname "$0")

if [ "$(id -u)" != 0 ]; then
	echo "netns.sh: NET=tap needs root, for a network namespace and a TAP device;" \
		"run: sudo make run NET=tap (or NET=user, which needs nothing)" >&2
	exit 1
fi
ns=ebbrun$$
if ! ip netns add "$ns"; then
	echo "netns.sh: cannot make network namespace $ns ('ip netns' from iproute2)" >&2
	exit 1
fi
watcher=
qpid=
cleanup() {
	[ -n "$watcher" ] && kill "$watcher" 2>/dev/null
	if [ -n "$qpid" ]; then
		kill -TERM "$qpid" 2>/dev/null
		wait "$qpid" 2>/dev/null
	fi
	ip netns del "$ns" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
ip netns exec "$ns" ip link set lo up

hint="give the app ip=10.80.0.2/24"
case " ${NET_APPS:-echo} " in
*" $(basename "$img" .elf32) "*)
	case " ${ARGS:-} " in
	*" ip="*) hint="ARGS=$ARGS" ;;
	*)
		export ARGS="ip=10.80.0.2/24${ARGS:+ $ARGS}"
		hint="ARGS=$ARGS" ;;
	esac ;;
esac

# Configure tap0 once QEMU has made it (within 30 s), then say how to
# reach the guest.
(
	for _ in $(seq 300); do
		if ip netns exec "$ns" ip link show tap0 >/dev/null 2>&1; then
			ip netns exec "$ns" ip addr add 10.80.0.1/24 dev tap0 &&
				ip netns exec "$ns" ip link set tap0 up &&
				echo "netns: tap0 is 10.80.0.1/24 in namespace $ns; the guest is 10.80.0.2" \
					"($hint): ip netns exec $ns ping 10.80.0.2"
			exit
		fi
		sleep 0.1
	done
	echo "netns: QEMU made no tap0 in 30 s" >&2
) &
watcher=$!

# In the background, waited for with wait, so that a signal is acted on
# at once; the loop waits again if a signal cut the first wait short.
ip netns exec "$ns" setpriv --pdeathsig TERM env NET=tap TAP=tap0 "$here/qemu.sh" "$img" "$@" <&0 &
qpid=$!
while :; do
	wait "$qpid"
	rc=$?
	kill -0 "$qpid" 2>/dev/null || break
done
qpid=
exit $rc
