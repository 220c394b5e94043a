#!/bin/bash
# bench_ping.sh: ping round trip and flood-ping rate from Linux to the
# echo app over a TAP device, native (QEMU, virtio-net) beside hosted
# (build/hosted/echo --tap), each in a network namespace of its own
# (make bench).  Prints figures, asserts nothing.
#
# For each side: 1000 pings 2 ms apart (min/avg/max round trip, from
# ping's summary) and a 5 s flood ping (ping -f: a request as soon as
# the reply is back, or every 10 ms; the rate is replies per second of
# ping's own elapsed time).  The native image runs on 1 core under
# whatever test/qemu.sh picks (KVM or TCG: printed, since TCG's figures
# say more about the emulator than the stack).  Needs root (the
# namespace, the TAP device); otherwise it says so and exits 0.
set -u
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "bench_ping: skipped: not root (a network namespace and a TAP device need it)"
	exit 0
fi
ns=ebbbench$$
if ! ip netns add "$ns" 2>/dev/null; then
	echo "bench_ping: skipped: 'ip netns' is unavailable here"
	exit 0
fi
tmp=$(mktemp -d)
pid=
stop() {
	[ -n "$pid" ] && kill -- -"$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	pid=
	ip netns exec "$ns" ip link del tap0 2>/dev/null	# usually gone with its fds
	return 0
}
trap 'stop; ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up

if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	accel=kvm
else
	accel=tcg
fi

# up: wait for tap0 (made by the app or QEMU), configure Linux's end,
# and wait until 10.83.0.2 answers.
up() {
	local i
	for ((i = 0; i < 300; i++)); do
		in_ns ip link show tap0 >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	in_ns ip addr add 10.83.0.1/24 dev tap0 && in_ns ip link set tap0 up || return 1
	for ((i = 0; i < 60; i++)); do
		in_ns ping -c 1 -w 1 10.83.0.2 >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || return 1
	done
	return 1
}

# measure NAME: the two figures for what answers at 10.83.0.2.
measure() {
	local rtt flood sent got ms
	rtt=$(in_ns ping -q -c 1000 -i 0.002 -W 2 10.83.0.2 2>&1 |
		sed -n 's|^rtt min/avg/max/mdev = \([0-9.]*\)/\([0-9.]*\)/\([0-9.]*\)/.*|\1/\2/\3|p')
	flood=$(in_ns ping -q -f -w 5 10.83.0.2 2>&1 | grep 'packets transmitted')
	sent=$(echo "$flood" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
	got=$(echo "$flood" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	ms=$(echo "$flood" | sed -n 's/.*time \([0-9]*\)ms.*/\1/p')
	printf '  %-32s ping rtt min/avg/max %s ms; flood %s pkt/s (%s of %s replies)\n' "$1" \
		"${rtt:-?}" "$([ -n "$ms" ] && [ "$ms" -gt 0 ] && echo $((got * 1000 / ms)) || echo '?')" \
		"${got:-?}" "${sent:-?}"
}

echo "bench_ping: Linux (namespace $ns) -> echo app over TAP, 10.83.0.2"

setsid ip netns exec "$ns" env ACCEL=$accel CPUS=1 MEM=256M NET=tap TAP=tap0 \
	ARGS=ip=10.83.0.2/24 test/qemu.sh build/native/echo.elf32 </dev/null >"$tmp/q.out" 2>&1 &
pid=$!
if up; then
	measure "native (QEMU $accel, virtio-net)"
else
	echo "  native: did not come up:"; tail -5 "$tmp/q.out" | sed 's/^/    /'
fi
stop

setsid ip netns exec "$ns" build/hosted/echo --tap tap0 ip=10.83.0.2/24 \
	</dev/null >"$tmp/h.out" 2>&1 &
pid=$!
if up; then
	measure "hosted (Linux process, TAP)"
else
	echo "  hosted: did not come up:"; tail -5 "$tmp/h.out" | sed 's/^/    /'
fi
stop
exit 0
