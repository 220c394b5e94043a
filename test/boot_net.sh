#!/bin/bash
# boot_net.sh: the hosted network stack against a real Linux peer, over
# a TAP device (hosted/tap.c).
#
# In a network namespace of its own (ebbtestPID), the test runs the
# hosted echo app (app/echo.c) with `--tap tap0`, so the TAP device is
# made inside the namespace; the Linux end of a TAP device is the device
# itself, so the test gives tap0 10.77.0.1/24 and brings it up, and the
# app takes ip=10.77.0.2/24.  Then Linux's ping must get 100 replies of
# 100, and UDP datagrams sent to port 7 with nc must come back byte for
# byte; once on one core (one queue) and once on two (IFF_MULTI_QUEUE).
# An idle instance must sleep (its fd wakes it), not spin.  Then the
# DHCP client against a real server: the app with ip=dhcp, tap0 as
# 10.78.0.1/24 and dnsmasq serving 10.78.0.50-60 on tap0 alone; the app
# must print its address within 15 s, dnsmasq's log must show the
# DHCPACK for it, and ping to it must get replies.  No traffic leaves
# the namespace, and the namespace, the app and dnsmasq go at exit.
#
# Without root or without `ip netns`, the tests that need them print
# SKIP lines (and net.dhcp_dnsmasq without dnsmasq, from dnsmasq-base).
# The option's usage errors are checked always.
. "$(dirname "$0")/lib.sh"	# no QEMU here: no KVM line

ns=ebbtest$$
echo_app=${ECHO_APP:-build/hosted/echo}	# the app under test (a test may point elsewhere)
pid=
dpid=	# dnsmasq's, for net.dhcp_dnsmasq
tmp=$(mktemp -d)
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp" "$out" "$out.txt"
}

# The option itself: usage errors exit 64.
timeout 30 build/hosted/hello --tap >"$out" 2>&1
check net.tap_usage 64 $? '--tap needs an interface name$' '^usage: .*\[--tap NAME\]'

skip() { for t in "$@"; do echo "SKIP net.$t: $why"; done; exit $failed; }
tests="tap_no_permission ping_1cpu udp_echo_1cpu idle_sleeps_1cpu ping_2cpus udp_echo_2cpus idle_sleeps_2cpus dhcp_dnsmasq"
if [ "$(id -u)" != 0 ]; then
	why="not root: a network namespace and a TAP device need it"; skip $tests
elif ! ip netns add "$ns" 2>/dev/null; then
	why="'ip netns' is unavailable here"; skip $tests
elif [ ! -x "$echo_app" ]; then
	why="$echo_app is not built (app/echo.c)"; skip $tests
fi
in_ns() { run ip netns exec "$ns" "$@"; }
in_ns ip link set lo up

# Without CAP_NET_ADMIN, making the device fails with a clear message.
if command -v setpriv >/dev/null; then
	in_ns timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=-all --bounding-set=-all build/hosted/hello --tap tapx >"$out" 2>&1
	check net.tap_no_permission 1 $? '--tap tapx: .*(needs root or CAP_NET_ADMIN)'
else
	echo "SKIP net.tap_no_permission: no setpriv"
fi

# start CPUS: the echo app on tap0, the Linux side configured; 0 if up.
start() {
	# ip itself, not in_ns: a function in the background would be a
	# subshell, and $! its pid rather than the app's (ip execs the app).
	ip netns exec "$ns" "$echo_app" --cpus "$1" --tap tap0 ip=10.77.0.2/24 \
		>"$tmp/app.out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		in_ns ip link show tap0 >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	in_ns ip addr add 10.77.0.1/24 dev tap0 && in_ns ip link set tap0 up || return 1
	# The app is up once it answers: ARP and a first ping, for up to 10 s.
	in_ns ping -c 1 -w 10 10.77.0.2 >/dev/null 2>&1
}

stop() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
	in_ns ip link del tap0 2>/dev/null	# gone with its fds anyway
}

# Datagrams: short text, all 256 byte values, and the largest that fits
# in one 1500-byte frame (1472 bytes of payload).
printf 'hello, echo' >"$tmp/d1"
for i in $(seq 0 255); do printf "\\$(printf %03o "$i")"; done >"$tmp/d2"
head -c 1472 /dev/urandom >"$tmp/d3"

# udp_echo: each datagram to port 7 and back, compared byte for byte.
udp_echo() {
	for d in d1 d2 d3; do
		in_ns timeout 10 nc -u -w1 10.77.0.2 7 <"$tmp/$d" >"$tmp/$d.back" 2>&1
		if cmp "$tmp/$d" "$tmp/$d.back"; then
			echo "$d: $(stat -c %s "$tmp/$d") bytes back intact"
		else
			echo "$d: differs"; return 1
		fi
	done
}

# CPU ticks (utime + stime) the app used in one second of quiet.
idle_ticks() {
	local a b
	a=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	sleep 1
	b=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	echo $((b - a))
}

for cpus in 1 2; do
	suffix=${cpus}cpu; [ "$cpus" -gt 1 ] && suffix=${cpus}cpus
	if ! start "$cpus"; then
		cp "$tmp/app.out" "$out"
		check "net.start_$suffix" 0 1
		stop
		continue
	fi
	in_ns timeout 60 ping -c 100 -i 0.01 -W 1 10.77.0.2 >"$out" 2>&1
	check "net.ping_$suffix" 0 $? '^100 packets transmitted, 100 received, 0% packet loss'

	udp_echo >"$out" 2>&1
	check "net.udp_echo_$suffix" 0 $? '^d1: 11 bytes back intact' \
		'^d2: 256 bytes back intact' '^d3: 1472 bytes back intact'

	ticks=$(idle_ticks)
	echo "idle for 1 s: $ticks ticks of CPU time" >"$out"
	check_note() { echo "$ticks ticks in 1 s"; }
	[ "$ticks" -le 10 ]
	check "net.idle_sleeps_$suffix" 0 $?
	unset -f check_note
	stop
done

# net.dhcp_dnsmasq: the app asks by DHCP; dnsmasq answers on tap0 only
# (no DNS: --port=0).  The app makes tap0, so dnsmasq starts after it
# and the first DISCOVER (sent while tap0 is down) is lost; the client
# sends it again after about 4 s, well within the 15 s allowed.
dnsmasq=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
dhcp_dnsmasq() {
	local ip= _
	ip netns exec "$ns" "$echo_app" --tap tap0 ip=dhcp >"$tmp/app.out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		in_ns ip link show tap0 >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || { echo "the app exited"; return 1; }
		sleep 0.05
	done
	in_ns ip addr add 10.78.0.1/24 dev tap0 && in_ns ip link set tap0 up || return 1
	# ip execs dnsmasq, so $! is its pid; kept in the foreground, as
	# root (the temporary files are root's), no config file.
	ip netns exec "$ns" "$dnsmasq" --keep-in-foreground --conf-file=/dev/null \
		--user=root --pid-file="$tmp/dnsmasq.pid" --port=0 --no-resolv \
		--interface=tap0 --bind-interfaces \
		--dhcp-range=10.78.0.50,10.78.0.60,255.255.255.0,2m \
		--dhcp-leasefile="$tmp/dnsmasq.leases" --log-dhcp \
		--log-facility="$tmp/dnsmasq.log" >"$tmp/dnsmasq.out" 2>&1 &
	dpid=$!
	for _ in $(seq 150); do	# 15 s
		ip=$(sed -n 's/^echo: udp port 7 on \(10\.78\.0\.[56][0-9]\)$/\1/p' \
			"$tmp/app.out" | tail -1)
		[ -n "$ip" ] && break
		kill -0 "$pid" 2>/dev/null || { echo "the app exited"; break; }
		kill -0 "$dpid" 2>/dev/null || { echo "dnsmasq exited"; break; }
		sleep 0.1
	done
	echo "app:"; sed 's/^/  /' "$tmp/app.out"
	[ -n "$ip" ] || { echo "dnsmasq:"; cat "$tmp/dnsmasq.out" "$tmp/dnsmasq.log" 2>/dev/null; return 1; }
	in_ns timeout 20 ping -c 3 -i 0.2 -W 2 "$ip" || return 1
	grep -qF "DHCPACK(tap0) $ip " "$tmp/dnsmasq.log" && echo "dnsmasq: DHCPACK for $ip"
}
if [ ! -x "$dnsmasq" ]; then
	echo "SKIP net.dhcp_dnsmasq: no dnsmasq (dnsmasq-base)"
else
	dhcp_dnsmasq >"$out" 2>&1
	check net.dhcp_dnsmasq 0 $? '^  echo: asking for an address on .*DHCP' \
		'^  echo: udp port 7 on 10\.78\.0\.(5[0-9]|60)$' \
		'^dnsmasq: DHCPACK for 10\.78\.0\.(5[0-9]|60)$' \
		'^3 packets transmitted, 3 received, 0% packet loss'
	kill "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; dpid=
	stop
fi

exit $failed
