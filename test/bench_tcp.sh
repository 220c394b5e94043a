#!/bin/bash
# bench_tcp.sh: our TCP against Linux's over a TAP device, beside Linux's
# own TCP over loopback (part of make bench; figures, no verdicts).
#
# In a network namespace of its own, as test/boot_tcp.sh sets it up:
# the hosted echo app (--tap tap0, 10.77.0.2; Linux's end 10.77.0.1),
# and, when the native image has a NIC driver, the native echo in QEMU on
# the TAP device tapq0 (10.79.0.2).  test/tcp_peer.c is Linux's end:
#
#	Linux -> app	tcp_peer sink BYTES into the app's discard port 9
#	app -> Linux	tcp_peer drain BYTES out of the app's source port 19
#	round trip	tcp_peer rr: 64 bytes to echo port 7 and back, one
#			in flight, COUNT times: mean, median, 99th percentile
#	connections	tcp_peer cps: connect, 64 bytes echoed, close, for
#			SECONDS
#
# The same four against `tcp_peer serve` on the namespace's 127.0.0.1:
# Linux's TCP on both ends, no device in between.  Needs root (SKIP
# lines otherwise).  BYTES, COUNT and SECONDS come from the environment
# (BENCH_BYTES 268435456, BENCH_RR 20000, BENCH_CPS_S 3); CPUS the
# hosted app's cores (1).
set -u
cd "$(dirname "$0")/.."
bytes=${BENCH_BYTES:-268435456}
rrn=${BENCH_RR:-20000}
cps_s=${BENCH_CPS_S:-3}
cpus=${CPUS:-1}
peer=build/test/tcp_peer
ns=ebbbench$$
pid=
spid=
tmp=$(mktemp -d)
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ] || ! ip netns add "$ns" 2>/dev/null; then
	echo "bench_tcp: SKIP: needs root and ip netns (a namespace and a TAP device)"
	exit 0
fi
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up

# run4 LABEL ADDR P7 P9 P19: the four measurements against one server.
run4() {
	local label=$1 addr=$2 p7=$3 p9=$4 p19=$5 r
	echo "$label:"
	for r in "sink $addr $p9 $bytes" "drain $addr $p19 $bytes" "rr $addr $p7 $rrn" \
	    "cps $addr $p7 $cps_s"; do
		# shellcheck disable=SC2086
		in_ns timeout 300 "$peer" $r 2>&1 | sed 's/^/  /'
	done
}

# start_app KIND: the echo app (hosted, or native on TAP); 0 once it answers.
start_app() {
	: >"$tmp/app.out"
	if [ "$1" = hosted ]; then
		dev=tap0 addr=10.77.0.2
		ip netns exec "$ns" build/hosted/echo --cpus "$cpus" --tap tap0 ip=10.77.0.2/24 \
			>"$tmp/app.out" 2>&1 &
	else
		dev=tapq0 addr=10.79.0.2
		ARGS="ip=10.79.0.2/24" CPUS=$cpus ip netns exec "$ns" test/qemu.sh \
			build/native/echo.elf32 -netdev tap,id=n0,ifname=tapq0,script=no,downscript=no \
			-device virtio-net-pci,netdev=n0 </dev/null >"$tmp/app.out" 2>&1 &
	fi
	pid=$!
	for _ in $(seq 600); do
		in_ns ip link show "$dev" >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	in_ns ip addr add "${addr%.2}.1/24" dev "$dev" && in_ns ip link set "$dev" up || return 1
	for _ in $(seq 600); do
		grep -q '^echo: no network interface' "$tmp/app.out" && return 2
		grep -q '^echo: tcp ports' "$tmp/app.out" && break
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	in_ns ping -c 1 -w 10 "$addr" >/dev/null 2>&1
}

stop_app() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}

echo "TCP over TAP, hosted and native echo against Linux (tcp_peer), $bytes bytes per bulk run"
if start_app hosted; then
	run4 "hosted echo ($cpus core) over TAP" 10.77.0.2 7 9 19
else
	echo "hosted echo: did not start:"; sed 's/^/  /' "$tmp/app.out"
fi
stop_app

start_app native
case $? in
0) run4 "native echo (QEMU $(grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ] && echo KVM || echo TCG), virtio-net) over TAP" 10.79.0.2 7 9 19 ;;
2) echo "native echo: SKIP: no network interface (no NIC driver yet)" ;;
*) echo "native echo: did not start:"; sed 's/^/  /' "$tmp/app.out" | tail -20 ;;
esac
stop_app

ip netns exec "$ns" "$peer" serve 127.0.0.1 7000 >"$tmp/serve.out" 2>&1 &
spid=$!
sleep 0.3
run4 "Linux's TCP on both ends (namespace loopback)" 127.0.0.1 7007 7009 7019
