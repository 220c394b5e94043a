#!/bin/bash
# boot_virtio.sh: the native image on a virtio-net NIC in QEMU: the PCI
# transport with MSI-X (virtio/pci.c, kernel/pci.c), the driver
# (virtio/net.c) and the stack above it, reached from Linux.
#
# User networking (no root needed; test/qemu.sh NET=user): the echo app
# gets 10.0.2.15 from QEMU's DHCP and sends back UDP datagrams that
# reach it through QEMU's hostfwd from 127.0.0.1, compared byte for
# byte; the negotiated feature list is checked (QEMU's default device,
# here and on TAP), and the same echo works with a device that has one queue pair
# (mq=off), one that is modern only (disable-legacy=on) and one without
# MSI-X (vectors=0: the queues are polled).  Setting the link down and
# up from QEMU's monitor raises the configuration-change interrupt.  A
# legacy-only device (disable-modern=on) is refused with a message;
# ARGS=pci shows two devices, each with its MSI-X table and driver.
#
# TAP, in a network namespace of its own (root): Linux's ping, 1000
# requests 2 ms apart, gets 1000 replies; a flood ping of about 5 s
# loses nothing; then, on 4 cores with a multiqueue device (mq=on,
# vectors=10, 4 TAP queues), UDP datagrams from 64 source ports reach
# every core's receive queue, whose interrupt comes to that core (the
# per-queue counters the app prints with stats=1), and all come back;
# a device with 65 queue pairs, more than the kernel has cores, works
# on one core (its control queue is queue 130).
#
# Every boot is TCG, and the first one KVM too where the host has
# hardware virtualization; each runs in the background in its own
# process group, which the test ends.
. "$(dirname "$0")/lib.sh" virtio

img=build/native/echo.elf32
tmp=$(mktemp -d)
ns=ebbvirtio$$
qpid=
cleanup() {
	[ -n "$qpid" ] && kill -- -"$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp" "$out" "$out.txt"
}

# Datagrams: short text, all 256 byte values, and the largest that fits
# in one 1500-byte frame (1472 bytes of payload).
printf 'hello, virtio' >"$tmp/d1"
for i in $(seq 0 255); do printf "\\$(printf %03o "$i")"; done >"$tmp/d2"
head -c 1472 /dev/urandom >"$tmp/d3"

# start [env assignments...] [-- QEMU options...]: boot the echo app in
# the background, in its own process group (qpid), output in $qout: a
# new file for every boot, made here, because the background child opens
# it only later, and until then a reused file would still show the last
# boot's lines to wait_for.
nboot=0
start() {
	local envs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	nboot=$((nboot + 1))
	qout=$tmp/q$nboot.out
	: >"$qout"
	setsid env ACCEL=tcg MEM=256M "${envs[@]}" test/qemu.sh "$img" "$@" \
		</dev/null >"$qout" 2>&1 &
	qpid=$!
}

# wait_for REGEX SECONDS: until a line of the output matches; 1 if the
# boot ended or the time ran out.
wait_for() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		tr -d '\r' <"$qout" | grep -qE -- "$1" && return 0
		kill -0 "$qpid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# stop: end the boot, and wait (up to 10 s) until QEMU is gone too.
stop() {
	local i
	kill -- -"$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 -- -"$qpid" 2>/dev/null || break
		sleep 0.1
	done
	qpid=
}

# udp_echo HOST PORT: each datagram there and back, compared byte for
# byte; UDP may lose one on a loaded host, so up to 3 tries each (a
# reply that differs fails at once).
udp_echo() {
	local d try
	[ -n "$2" ] || { echo "no port to send to"; return 1; }
	for d in d1 d2 d3; do
		for try in 1 2 3; do
			timeout 10 nc -u -w1 "$1" "$2" <"$tmp/$d" >"$tmp/$d.back" 2>&1
			[ -s "$tmp/$d.back" ] && break
		done
		if cmp -s "$tmp/$d" "$tmp/$d.back"; then
			echo "$d: $(stat -c %s "$tmp/$d") bytes back intact (try $try)"
		else
			echo "$d: differs ($(stat -c %s "$tmp/$d.back") bytes back):"
			od -c "$tmp/$d.back" | head -5
			return 1
		fi
	done
}
echo_pats=('^d1: 13 bytes back intact' '^d2: 256 bytes back intact' '^d3: 1472 bytes back intact')

# user_echo NAME [env...]: boot on user networking, wait for DHCP's
# address, echo through hostfwd; checked as NAME.
user_echo() {
	local name=$1 port rc=0
	shift
	start NET=user FWD=udp:7 ARGS="ip=dhcp" "$@"
	if wait_for '^echo: udp port 7 on ' 60; then
		port=$(tr -d '\r' <"$qout" | sed -n 's/^echo.s UDP port 7 is at 127\.0\.0\.1:\([0-9]*\)$/\1/p')
		udp_echo 127.0.0.1 "$port" >"$tmp/echo.out" 2>&1 || rc=1
	else
		echo "no address in 60 s" >"$tmp/echo.out"
		rc=1
	fi
	stop
	cat "$qout" "$tmp/echo.out" >"$out"
	rm -f "$tmp/echo.out"
	return $rc
}

# QEMU's default virtio-net-pci (transitional, MSI-X, one queue pair);
# under KVM too where the host has it (the feature check below reads
# the TCG run, the last).
for a in $accels; do
	[ "$a" = tcg ] && continue
	user_echo "user_default_$a" ACCEL="$a"
	check "virtio.user_dhcp_udp_echo.$a" 0 $? '^echo: udp port 7 on 10\.0\.2\.15$' \
		"${echo_pats[@]}" '!stray|panic'
done
user_echo user_default
check virtio.user_dhcp_udp_echo 0 $? '^echo.s UDP port 7 is at 127\.0\.0\.1:[0-9]+$' \
	'^echo: udp port 7 on 10\.0\.2\.15$' "${echo_pats[@]}" '!stray|panic'
# The features QEMU's default device offers and the driver uses, by
# name on the driver's attach line.  On user networking QEMU offers no
# offloads (slirp takes no virtio-net header); on TAP it does (below).
feat() { echo "^vnet0: virtio@00:0[0-9a-f]\.0, .*features:( [A-Z0-9_]+)* $1( |\$)"; }
check virtio.features_user 0 0 \
	'^vnet0: virtio@00:0[0-9a-f]\.0, mac 52:54:00:12:34:56, link up, 1 queue pair ' \
	"$(feat VERSION_1)" "$(feat MAC)" "$(feat STATUS)" "$(feat MRG_RXBUF)" "$(feat EVENT_IDX)"

user_echo mq_off NIC_OPTS=,mq=off CPUS=2
check virtio.mq_off 0 $? '^echo: udp port 7 on 10\.0\.2\.15$' "${echo_pats[@]}"

user_echo modern_only NIC_OPTS=,disable-legacy=on
check virtio.disable_legacy 0 $? '^echo: udp port 7 on 10\.0\.2\.15$' "${echo_pats[@]}"

user_echo no_msix NIC_OPTS=,vectors=0
check virtio.no_msix_polled 0 $? 'no MSI-X; its queues will be polled' \
	'^echo: udp port 7 on 10\.0\.2\.15$' "${echo_pats[@]}"

# A configuration change -- the link set down, then up, from QEMU's
# monitor -- interrupts through MSI-X entry 0, on core 0.
monitor() { printf '%s\n' "$1" | timeout 5 nc -U -q1 "$tmp/mon" >/dev/null 2>&1; }
start NET=user ARGS=ip=dhcp -- -monitor "unix:$tmp/mon,server,nowait"
if wait_for '^echo: udp port 7 on ' 60; then
	monitor 'set_link n0 off'
	wait_for 'configuration changed \(generation 1\)' 10
	monitor 'set_link n0 on'
	wait_for 'configuration changed \(generation 2\)' 10
fi
stop
cp "$qout" "$out"
check virtio.config_change 0 0 '^virtio@00:02\.0: configuration changed \(generation 1\)$' \
	'^virtio@00:02\.0: configuration changed \(generation 2\)$'

# A legacy-only device is named and refused; echo then has no interface.
ACCEL=tcg NET=user NIC_OPTS=,disable-modern=on timeout 60 test/qemu.sh "$img" </dev/null >"$out" 2>&1
check virtio.legacy_refused 69 $? 'a legacy-only virtio device .* not supported' \
	'^echo: no network interface'

# ARGS=pci: two devices, QEMU's default (transitional, 1af4:1000) and a
# modern-only one (1af4:1041), each with its MSI-X table size and taken
# by the driver (vnet0, vnet1).  The echo image, since only the images
# of apps that use the network carry the driver (the Makefile's
# NET_APPS); echo then refuses the word "pci" and exits with 64.
ACCEL=tcg NET=user ARGS=pci timeout 60 test/qemu.sh "$img" \
	-netdev user,id=n1 -device virtio-net-pci,netdev=n1,disable-legacy=on,romfile= \
	</dev/null >"$out" 2>&1
check virtio.pci_list 64 $? '^echo: pci: unknown argument$' \
	'^pci 00:0[0-9a-f]\.0 1af4:1000 class 02\.00 virtio-net .* msix-table [0-9]+ driver virtio_net_transitional$' \
	'^pci 00:0[0-9a-f]\.0 1af4:1041 class 02\.00 virtio-net .* msix-table [0-9]+ driver virtio_net$' \
	'^vnet0: virtio@' '^vnet1: virtio@'

# ---- TAP, in a namespace ----------------------------------------------------

tap_tests="features_tap ping_1000 ping_flood mq_every_queue mq_many_pairs"
skip() { for t in $tap_tests; do echo "SKIP virtio.$t: $why"; done; exit $failed; }
if [ "$(id -u)" != 0 ]; then
	why="not root: a network namespace and a TAP device need it"; skip
elif ! ip netns add "$ns" 2>/dev/null; then
	why="'ip netns' is unavailable here"; skip
fi
in_ns() { run ip netns exec "$ns" "$@"; }
in_ns ip link set lo up

# tap_start NET_PREFIX CPUS [env...]: echo on tap0 at PREFIX.2, Linux at
# PREFIX.1; 0 once the guest answers a ping.
tap_start() {
	local net=$1 cpus=$2 i
	shift 2
	nboot=$((nboot + 1))
	qout=$tmp/q$nboot.out
	: >"$qout"
	ip netns exec "$ns" setsid env ACCEL=tcg MEM=256M CPUS="$cpus" NET=tap TAP=tap0 \
		ARGS="ip=$net.2/24 stats=1" "$@" test/qemu.sh "$img" </dev/null >"$qout" 2>&1 &
	qpid=$!
	for ((i = 0; i < 300; i++)); do
		in_ns ip link show tap0 >/dev/null 2>&1 && break
		kill -0 "$qpid" 2>/dev/null || return 1
		sleep 0.1
	done
	in_ns ip addr add "$net.1/24" dev tap0 && in_ns ip link set tap0 up || return 1
	wait_for '^echo: udp port 7 on ' 60 || return 1
	for ((i = 0; i < 30; i++)); do
		in_ns ping -c 1 -w 1 "$net.2" >/dev/null 2>&1 && return 0
		kill -0 "$qpid" 2>/dev/null || return 1
	done
	return 1
}

if tap_start 10.81.0 1; then
	cp "$qout" "$out"
	check virtio.features_tap 0 0 \
		'^vnet0: virtio@00:0[0-9a-f]\.0, mac 52:54:00:12:34:56, link up, 1 queue pair ' \
		"$(feat VERSION_1)" "$(feat MAC)" "$(feat STATUS)" "$(feat CSUM)" "$(feat GUEST_CSUM)" \
		"$(feat HOST_TSO4)" "$(feat MRG_RXBUF)" "$(feat EVENT_IDX)"

	in_ns timeout 120 ping -c 1000 -i 0.002 -W 2 10.81.0.2 >"$out" 2>&1
	check virtio.ping_1000 0 $? '^1000 packets transmitted, 1000 received, 0% packet loss'

	# Flood: a 1 s run gives the rate, then about 5 s' worth by count,
	# so that no request is still in flight when ping stops.
	n=$(in_ns ping -f -w 1 10.81.0.2 2>/dev/null | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
	n=$((${n:-200} * 5))
	in_ns timeout 120 ping -f -c "$n" -W 2 10.81.0.2 >"$out" 2>&1
	rc=$?
	check_note() { sed -n 's/^\([0-9]* packets transmitted\).*time \([0-9]*ms\).*/\1 in \2/p' "$out.txt"; }
	check virtio.ping_flood 0 $rc "^$n packets transmitted, $n received, 0% packet loss"
	unset -f check_note
else
	cp "$qout" "$out"
	check virtio.tap_start 0 1
fi
stop
in_ns ip link del tap0 2>/dev/null

# Multiqueue: 4 cores, 4 queue pairs.  Linux's TAP spreads what it sends
# over its queues by flow, so 64 source ports reach all four.
# Queue q received frames, and took MSI-X interrupts (on its own core:
# the driver panics on a pair's interrupt elsewhere); the watchdog's "lost N
# kicks N interrupts" may follow on the line.
mq_pat() { echo "^vnet0 q$1: rx [1-9][0-9]* frames .* [1-9][0-9]* interrupts(,|\$)"; }
if tap_start 10.82.0 4 NETDEV_OPTS=,queues=4 NIC_OPTS=,mq=on,vectors=10; then
	for p in $(seq 40000 40063); do
		echo "from port $p" >"$tmp/m$p"
		in_ns timeout 10 nc -u -w1 -p "$p" 10.82.0.2 7 <"$tmp/m$p" >"$tmp/m$p.back" 2>&1 &
	done
	wait_pids=$(jobs -p | grep -vx "$qpid")
	# shellcheck disable=SC2086
	wait $wait_pids 2>/dev/null
	back=0
	for p in $(seq 40000 40063); do cmp -s "$tmp/m$p" "$tmp/m$p.back" && back=$((back + 1)); done
	sleep 1.5	# one more stats=1 line, after the traffic
	stop
	{ cat "$qout"; echo "udp: $back of 64 datagrams back"; } >"$out"
	check virtio.mq_every_queue 0 0 '^udp: 64 of 64 datagrams back$' \
		'^vnet0: virtio@.*, 4 queue pairs ' \
		"$(mq_pat 0)" "$(mq_pat 1)" "$(mq_pat 2)" "$(mq_pat 3)"
else
	stop
	cp "$qout" "$out"
	check virtio.mq_start 0 1
fi
in_ns ip link del tap0 2>/dev/null

# More queue pairs than the kernel has cores (NCPU, 64): on one core the
# driver uses one pair, and the control queue is the device's last,
# 2 * 65 = 130, past the first 2 * NCPU + 1 queues.
if tap_start 10.83.0 1 NETDEV_OPTS=,queues=65 NIC_OPTS=,mq=on; then
	in_ns timeout 30 ping -c 20 -i 0.05 -W 2 10.83.0.2 >"$tmp/ping.out" 2>&1
	rc=$?
	stop
	cat "$qout" "$tmp/ping.out" >"$out"
	check virtio.mq_many_pairs 0 $rc '^vnet0: virtio@.*, 1 queue pair \(device max 65\), ' \
		'^20 packets transmitted, 20 received, 0% packet loss'
else
	stop
	cp "$qout" "$out"
	check virtio.mq_many_start 0 1
fi

exit $failed
