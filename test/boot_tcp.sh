#!/bin/bash
# boot_tcp.sh: our TCP against Linux's, through the echo app
# (app/echo.c: echo on port 7, discard on 9, source on 19, and
# connect=A.B.C.D:PORT,bytes=N to be the client).
#
# Everything happens in a network namespace of its own (ebbtcpPID), so
# no traffic leaves it and nothing outside it is touched.  The same
# tests run against each kind of instance there is:
#
#   hosted	build/hosted/echo --tap tap0, as 10.77.0.2/24; tap0 is
#		Linux's end, 10.77.0.1/24
#   hosted_2cpus  the same on two cores (a TAP queue each: Linux spreads
#		the connections over both, and each lives on its own core)
#   native_tap	the native image in QEMU with a virtio-net NIC on the TAP
#		device tapq0 (10.79.0.2/24; Linux 10.79.0.1/24)
#   native_user	the native image with QEMU's user networking, as
#		10.0.2.15; ports 7, 9 and 19 forwarded from the namespace's
#		127.0.0.1:17007, 17009 and 17019 (hostfwd); Linux as the
#		server is reached at 10.0.2.2, QEMU's alias for the
#		namespace's loopback
#
# The tests, each named tcp.TEST.KIND:
#   echo_16m	nc sends 16 MiB of random bytes to port 7, half-closes, and
#		gets the same bytes back (cmp), then the app's FIN
#   concurrent_100  100 connections at once, 64 KiB each way on each,
#		every byte checked (test/tcp_peer.c)
#   discard_source  4 MiB into port 9 (the app's FIN after ours says it
#		took them all) and 4 MiB out of port 19
#   linux_server  the app connects out (connect=) to Linux's echo
#		server (tcp_peer serve), sends 4 MiB of its pattern and checks
#		the echo; the app exits 0 only if every byte came back
#   loss_5pct	as echo_16m with 4 MiB, with nftables dropping 5% of the TCP
#		segments in each direction (numgen random mod 100 < 5 on the
#		namespace's input and output hooks, tap device only); the
#		rules' counters must show drops (TAP kinds only: with user
#		networking the guest's TCP ends at QEMU's, not Linux's)
#
# The native image boots with test/qemu.sh's accelerator: KVM where the
# host has it, TCG otherwise.  tcp.connect_usage (a malformed connect=
# exits 64 with the usage) runs always; without root, `ip netns` or nft,
# the tests that need them print SKIP lines.  The native kinds print SKIP
# lines if the native echo finds no network interface (it says "echo:
# no network interface"), which would mean QEMU gave it no virtio-net NIC.
. "$(dirname "$0")/lib.sh"	# QEMU picks KVM where it can (test/qemu.sh)

ns=ebbtcp$$
echo_app=${ECHO_APP:-build/hosted/echo}
peer=build/test/tcp_peer
pid=
spid=	# tcp_peer serve's
tmp=$(mktemp -d)
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp" "$out" "$out.txt"
}

# The app's new argument: a malformed connect= is a usage error (64).
timeout 30 "$echo_app" connect=10.0.0.1:99999,bytes=5 >"$out" 2>&1
check tcp.connect_usage 64 $? '^echo: connect=10\.0\.0\.1:99999,bytes=5: not connect=A\.B\.C\.D:PORT,bytes=N$' \
	'^usage: echo \[ip=dhcp \| ip=A\.B\.C\.D/N\[,gw=G\]\].* \[connect=A\.B\.C\.D:PORT,bytes=N\]'

tests="echo_16m concurrent_100 discard_source linux_server loss_5pct"
skip_all() { for k in "$@"; do for t in $tests; do echo "SKIP tcp.$t.$k: $why"; done; done; }
kinds="hosted hosted_2cpus native_tap native_user"
netns_make "$ns" "$peer" || { skip_all $kinds; exit 0; }
nft=$(command -v nft || echo /usr/sbin/nft)
in_ns() { run ip netns exec "$ns" "$@"; }
in_ns ip link set lo up

# The Linux servers for linux_server: echo on 7007 (and discard 7009,
# source 7019) on every address of the namespace.
ip netns exec "$ns" "$peer" serve 0.0.0.0 7000 >"$tmp/serve.out" 2>&1 &
spid=$!

head -c 16777216 /dev/urandom >"$tmp/r16m"
head -c 4194304 /dev/urandom >"$tmp/r4m"

# ---- the instances ------------------------------------------------------

# start KIND [APP ARGS...]: run the echo app of KIND in the namespace,
# and set $addr (the app's address as Linux reaches it), $port7, $port9,
# $port19 (where Linux reaches those ports), $server (where the app
# reaches Linux's echo server) and $dev (the TAP device, or none).
# Returns 0 once the app answers, 2 if the native image has no NIC.
start() {
	local kind=$1
	shift
	: >"$tmp/app.out"
	case $kind in
	hosted|hosted_2cpus)
		addr=10.77.0.2 port7=7 port9=9 port19=19 server=10.77.0.1:7007 dev=tap0
		ip netns exec "$ns" timeout 600 "$echo_app" --cpus "$([ "$kind" = hosted ] && echo 1 || echo 2)" \
			--tap tap0 ip=10.77.0.2/24 "$@" >"$tmp/app.out" 2>&1 &
		pid=$!
		;;
	native_tap)
		addr=10.79.0.2 port7=7 port9=9 port19=19 server=10.79.0.1:7007 dev=tapq0
		ARGS="ip=10.79.0.2/24 $*" ip netns exec "$ns" timeout 600 test/qemu.sh \
			build/native/echo.elf32 -netdev tap,id=n0,ifname=tapq0,script=no,downscript=no \
			-device virtio-net-pci,netdev=n0 </dev/null >"$tmp/app.out" 2>&1 &
		pid=$!
		;;
	native_user)
		addr=127.0.0.1 port7=17007 port9=17009 port19=17019 server=10.0.2.2:7007 dev=none
		ARGS="ip=10.0.2.15/24,gw=10.0.2.2 $*" ip netns exec "$ns" timeout 600 test/qemu.sh \
			build/native/echo.elf32 -nic user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:17007-:7,hostfwd=tcp:127.0.0.1:17009-:9,hostfwd=tcp:127.0.0.1:17019-:19 \
			</dev/null >"$tmp/app.out" 2>&1 &
		pid=$!
		;;
	esac
	# Up once it says so (the native image boots slowly under TCG).
	app_up "$dev" "$addr" '^echo: (tcp ports|no network interface)' 60 || return 1
	grep -q '^echo: no network interface' "$tmp/app.out" && return 2
	[ "$dev" = none ] || in_ns ping -c 1 -w 10 "$addr" >/dev/null 2>&1
}

stop() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	pid=
	[ "$dev" != none ] && in_ns ip link del "$dev" 2>/dev/null
	return 0
}

# ---- loss ---------------------------------------------------------------

# loss_on DEV: drop 5% of TCP segments into and out of the namespace on DEV.
loss_on() {
	in_ns "$nft" -f - <<EOF
table inet loss {
	chain in {
		type filter hook input priority 0;
		iifname "$1" meta l4proto tcp numgen random mod 100 < 5 counter drop
	}
	chain out {
		type filter hook output priority 0;
		oifname "$1" meta l4proto tcp numgen random mod 100 < 5 counter drop
	}
}
EOF
}

loss_off() { in_ns "$nft" delete table inet loss 2>/dev/null; }

# The packets each rule dropped: "IN OUT".
loss_drops() {
	in_ns "$nft" list table inet loss | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | tr '\n' ' '
}

# ---- the tests ----------------------------------------------------------

# nc_echo FILE SECS: FILE to port 7 and back, compared.
nc_echo() {
	local f=$1
	in_ns timeout "$2" nc -N "$addr" "$port7" <"$f" >"$f.back" 2>"$tmp/nc.err"
	local rc=$?
	[ $rc -eq 0 ] || { echo "nc exited with $rc: $(cat "$tmp/nc.err")"; return 1; }
	if cmp "$f" "$f.back"; then
		echo "$(stat -c %s "$f") bytes back intact"
	else
		echo "sent $(stat -c %s "$f") bytes, got $(stat -c %s "$f.back") back, differing"
		return 1
	fi
}

# Seconds since $t0, for the notes after PASS.
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# run_kind KIND: every test against that kind of instance.
run_kind() {
	local k=$1 rc t0
	start "$k"
	rc=$?
	if [ $rc -eq 2 ]; then
		why="the native echo has no network interface (QEMU gave it no NIC)"
		skip_all "$k"; stop; return
	elif [ $rc -ne 0 ]; then
		cp "$tmp/app.out" "$out"
		check "tcp.start.$k" 0 1
		stop; return
	fi

	t0=$(date +%s.%N)
	nc_echo "$tmp/r16m" 300 >"$out" 2>&1
	rc=$?
	check_note() { echo "$(elapsed) s"; }
	check "tcp.echo_16m.$k" 0 $rc '^16777216 bytes back intact$'
	unset -f check_note

	in_ns timeout 120 "$peer" echo "$addr" "$port7" 65536 100 >"$out" 2>&1
	check "tcp.concurrent_100.$k" 0 $? '^echo: 100 connections, 65536 bytes each, echoed intact'

	{ in_ns timeout 120 "$peer" sink "$addr" "$port9" 4194304 &&
	  in_ns timeout 120 "$peer" drain "$addr" "$port19" 4194304; } >"$out" 2>&1
	check "tcp.discard_source.$k" 0 $? '^sink: 4194304 bytes' '^drain: 4194304 bytes'

	if [ ! -x "$nft" ]; then
		echo "SKIP tcp.loss_5pct.$k: no nft (nftables)"
	elif [ "$dev" != none ]; then
		t0=$(date +%s.%N)
		loss_on "$dev" && {
			nc_echo "$tmp/r4m" 300
			rc=$?
			echo "nft drops (in out): $(loss_drops)"
			loss_off
			[ $rc -eq 0 ]
		} >"$out" 2>&1
		rc=$?
		drops=$(sed -n 's/^nft drops (in out): //p' "$out")
		check_note() { echo "$(elapsed) s, ${drops% } segments dropped (in, out)"; }
		check "tcp.loss_5pct.$k" 0 $rc '^4194304 bytes back intact$' \
			'^nft drops \(in out\): [1-9][0-9]* [1-9][0-9]* $'
		unset -f check_note
	else
		echo "SKIP tcp.loss_5pct.$k: user networking ends the guest's TCP at QEMU"
	fi
	stop

	# Linux as the server: the app connects out and exits with the verdict.
	start "$k" "connect=$server,bytes=4194304"
	rc=$?
	wait "$pid"	# (start's ping may have failed: the app is busy or done)
	rc=$?
	pid=
	cp "$tmp/app.out" "$out"
	check "tcp.linux_server.$k" 0 $rc "^echo: connect ${server//./\\.}: sent 4194304 bytes, got 4194304 back intact"
	stop
}

run_kind hosted
run_kind hosted_2cpus
if [ ! -f build/native/echo.elf32 ]; then
	why="build/native/echo.elf32 is not built"; skip_all native_tap native_user
else
	run_kind native_tap
	run_kind native_user
fi
exit $failed
