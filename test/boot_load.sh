#!/bin/bash
# boot_load.sh: the native echo app in QEMU under the loads a server
# meets, each of which used to stop an instance for good (virtio/
# net_watch.c explains why): many connections doing round trips, a fast
# reader, and a burst of new connections.  After each load the instance
# must still answer ping (TAP), UDP and TCP.
#
# Everything runs in a network namespace of its own (ebbloadPID; root),
# against two kinds of instance, each booted twice, with the device's
# EVENT_IDX on (QEMU's default) and off:
#
#   tap   a TAP device tapl0 in the namespace: Linux 10.81.0.1/24, the
#         app 10.81.0.2 (ip= static)
#   user  QEMU's user networking, the app 10.0.2.15; TCP 7 and 19 and
#         UDP 7 forwarded from the namespace's 127.0.0.1:18007, 18019
#         and 18007
#
# The tests, each named load.TEST.KIND.evidx_on|off:
#   rr16, rr64    16 (64) connections, each doing 64-byte round trips
#                 back to back for 10 s, every echo checked; then every
#                 request still out must be answered (test/tcp_peer.c
#                 load)
#   hold10k       (tap) 10,000 connections opened as fast as Linux can
#                 (50 handshakes in flight), held open together, then a
#                 64-byte round trip on each (tcp_peer hold)
#   chargen256m   (user) 256 MiB read from the source port (19) by nc
#   alive         afterwards: ping -c 3 (tap), a UDP datagram echoed,
#                 100 TCP round trips
# and one more instance, load.fenceless.tap: the rr16 load on TAP with
# CPUS=1,maxcpus=1, the one configuration in which QEMU's TCG drops the
# guest's memory fences (test/qemu.sh avoids it): there notifications
# are lost, and the driver's watchdog must find and resend them; the
# PASS line shows how many it resent (lost kicks and interrupts, from
# the app's stats= lines).
#
# Each QEMU runs in its own process group (setsid); at exit, whatever
# the exit, lib.sh ends it with everything else this script started,
# then calls cleanup.  Without root or `ip netns`, every test prints a
# SKIP line.
. "$(dirname "$0")/lib.sh"

ns=ebbload$$
peer=build/test/tcp_peer
img=build/native/echo.elf32
tmp=$(mktemp -d)
qpid=
cleanup() {
	[ -n "$qpid" ] && kill -- -"$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp" "$out" "$out.txt"
}

all="rr16.tap rr64.tap hold10k.tap alive.tap rr16.user rr64.user chargen256m.user alive.user"
if ! netns_make "$ns" "$peer"; then
	for e in on off; do for t in $all; do echo "SKIP load.$t.evidx_$e: $why"; done; done
	echo "SKIP load.fenceless.tap: $why"
	exit 0
fi
in_ns() { run ip netns exec "$ns" "$@"; }
in_ns ip link set lo up

# start KIND EVIDX [env...]: boot the echo app of KIND (tap or user)
# with the device's event_idx=EVIDX, in its own process group; set
# $addr, $p7 and $p19 (where Linux reaches it).  0 once it answers.
nboot=0
start() {
	local kind=$1 evidx=$2 nic net
	shift 2
	nboot=$((nboot + 1))
	qout=$tmp/q$nboot.out
	: >"$qout"
	nic="-device virtio-net-pci,netdev=n0,romfile=,event_idx=$evidx"
	if [ "$kind" = tap ]; then
		addr=10.81.0.2 p7=7 p19=19
		net="-netdev tap,id=n0,ifname=tapl0,script=no,downscript=no"
		set -- ARGS="ip=10.81.0.2/24 stats=5" "$@"
	else
		addr=127.0.0.1 p7=18007 p19=18019
		net="-netdev user,id=n0,hostfwd=tcp:127.0.0.1:18007-:7,hostfwd=tcp:127.0.0.1:18019-:19,hostfwd=udp:127.0.0.1:18007-:7"
		set -- ARGS="ip=10.0.2.15/24,gw=10.0.2.2 stats=5" "$@"
	fi
	# $net and $nic are split into words on purpose: no spaces of their own.
	# shellcheck disable=SC2086
	setsid ip netns exec "$ns" env MEM=512M "$@" test/qemu.sh "$img" $net $nic \
		</dev/null >"$qout" 2>&1 &
	qpid=$!
	if [ "$kind" = tap ]; then
		for _ in $(seq 200); do
			in_ns ip link show tapl0 >/dev/null 2>&1 && break
			sleep 0.05
		done
		in_ns ip addr add 10.81.0.1/24 dev tapl0 && in_ns ip link set tapl0 up || return 1
	fi
	for _ in $(seq 600); do
		grep -q '^echo: tcp ports' "$qout" && break
		kill -0 "$qpid" 2>/dev/null || return 1
		sleep 0.1
	done
	grep -q '^echo: tcp ports' "$qout" || return 1
	[ "$kind" = user ] || in_ns ping -c 1 -w 10 "$addr" >/dev/null 2>&1
}

stop() {
	[ -n "$qpid" ] && kill -- -"$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	qpid=
	in_ns ip link del tapl0 2>/dev/null
	return 0
}

# alive KIND: ping (tap), a UDP datagram, 100 TCP round trips.
alive() {
	local got
	if [ "$1" = tap ]; then
		in_ns ping -c 3 -w 10 "$addr" | grep -E 'packets transmitted' || return 1
	fi
	got=$(printf 'are you there\n' | in_ns timeout 10 nc -u -w 2 "$addr" "$p7")
	echo "udp: ${got:-nothing}"
	[ "$got" = "are you there" ] || return 1
	in_ns timeout 60 "$peer" rr "$addr" "$p7" 100
}

# The last counters line the app printed, shortened for a note.
counters() {
	tr -d '\r' <"$qout" | grep '^vnet0 q0:' | tail -1 |
		sed -n 's/.* \([0-9]*\) kicks, \([0-9]*\) interrupts, lost \([0-9]*\) kicks \([0-9]*\) interrupts$/\1 kicks, \2 interrupts, lost \3 kicks \4 interrupts/p'
}

# keep_log: the boot's output after the test's, for a FAIL to show.
keep_log() { { echo "--- the instance:"; tr -d '\r' <"$qout" | grep -v '^vnet0\|^echo: stats' | tail -15; } >>"$out"; }

# run_kind KIND EVIDX: every test of KIND with event_idx=EVIDX.
run_kind() {
	local k=$1 e=$2 s=$1.evidx_$2 t
	if ! start "$k" "$e"; then
		cp "$qout" "$out"
		check "load.start.$s" 0 1
		stop
		return
	fi
	for n in 16 64; do
		in_ns timeout 200 "$peer" load "$addr" "$p7" 10 "$n" >"$out" 2>&1
		t=$?
		keep_log
		check "load.rr$n.$s" 0 $t "^load: $n connections, [0-9]+ round trips"
	done
	if [ "$k" = tap ]; then
		in_ns timeout 300 "$peer" hold "$addr" "$p7" 10000 50 >"$out" 2>&1
		t=$?
		keep_log
		check "load.hold10k.$s" 0 $t '^hold: 10000 connections open at once'
	else
		in_ns timeout 300 sh -c "nc $addr $p19 </dev/null | head -c 268435456 | wc -c" >"$out" 2>&1
		t=$?
		keep_log
		check "load.chargen256m.$s" 0 $t '^268435456$'
	fi
	alive "$k" >"$out" 2>&1
	t=$?
	keep_log
	check_note() { counters; }
	check "load.alive.$s" 0 $t '^udp: are you there$' '^rr: 100 round trips'
	unset -f check_note
	stop
}

for e in on off; do
	run_kind tap "$e"
	run_kind user "$e"
done

# Fences dropped (one vCPU and maxcpus=1 under TCG): the watchdog's load.
if ! start tap on CPUS=1,maxcpus=1; then
	cp "$qout" "$out"
	check load.fenceless.tap 0 1
else
	{ in_ns timeout 200 "$peer" load "$addr" 7 10 16 && sleep 6 && alive tap; } >"$out" 2>&1
	t=$?
	keep_log
	check_note() { counters; }
	check load.fenceless.tap 0 $t '^load: 16 connections' '^udp: are you there$' \
		'^rr: 100 round trips'
	unset -f check_note
fi
stop
exit 0
