#!/bin/bash
# boot_synflood.sh: SYN cookies (tcp/tcp_cookie.c) against a real SYN
# flood: the echo app is flooded with SYNs from spoofed addresses of its
# own subnet (test/synflood.c, a raw socket), and while the flood runs
# real Linux clients connect and get their bytes echoed.
#
# Everything happens in a network namespace of its own (ebbsynPID), as
# root (SKIP lines otherwise).  Two kinds of instance:
#
#   hosted	build/hosted/echo --tap tap0 ip=10.83.0.2/24 stats=1; tap0 is
#		Linux's end, 10.83.0.1/24; the flood at 10,000 SYNs a second
#   native	build/native/echo.elf32 in QEMU (test/qemu.sh, NET=tap) on
#		the TAP device tapq0, ip=10.84.0.2/24 stats=1; the flood at
#		4,000 a second (QEMU may be TCG: this machine's speed, not a
#		bound the test asserts)
#
# The tests, each named synflood.TEST.KIND:
#   clients	once the app has sent about 4 s of the flood's worth of
#		cookies (its backlog of 128 is full of the flood's
#		handshakes: 40,000 hosted, 16,000 native; 60 s at most), 20
#		connections at once echo 8 KiB each with every byte checked
#		(tcp_peer echo), then nc echoes 64 KiB (cmp); the flood must
#		still be running when they are done (it is stopped after
#		them: at most 90 s of it)
#   cookies	the app's counters (echo's stats= line "echo: tcp ..."), read
#		after the flood: cookies sent, at least 21 connections made
#		from cookies, no SYN dropped for a full backlog
#
# Every process started here (the app or QEMU, the flood, the clients)
# runs in a process group of its own (setsid); at exit, whatever the
# exit (success, failure, a timeout's SIGTERM or Ctrl-C), lib.sh ends
# them with everything else this script started, then calls cleanup.
. "$(dirname "$0")/lib.sh"

ns=ebbsyn$$
peer=build/test/tcp_peer
flood=build/test/synflood
tmp=$(mktemp -d)
groups=		# the process groups started here
cleanup() {
	for g in $groups; do kill -KILL -- "-$g" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp" "$out" "$out.txt"
}

tests="clients cookies"
skip_all() { for k in "$@"; do for t in $tests; do echo "SKIP synflood.$t.$k: $why"; done; done; }
kinds="hosted native"
netns_make "$ns" "$peer" "$flood" || { skip_all $kinds; exit 0; }
in_ns() { run ip netns exec "$ns" "$@"; }
in_ns ip link set lo up
head -c 65536 /dev/urandom >"$tmp/r64k"

# spawn FILE CMD...: CMD in the namespace, in a process group of its own
# (so that killing the group kills QEMU under qemu.sh too), output to
# FILE; its pid, which is the group's id, in $spawned.
spawn() {
	local f=$1
	shift
	setsid ip netns exec "$ns" "$@" </dev/null >"$f" 2>&1 &
	spawned=$!
	groups="$groups $spawned"
}

# run_ns FILE CMD...: spawn, and wait for it; its status.  (A signal to
# this script interrupts the wait at once, and cleanup kills the group.)
run_ns() {
	spawn "$@"
	wait "$spawned"
}

# finish PID [SIGNAL]: signal the process group PID leads (TERM), wait for it.
finish() {
	kill -"${2:-TERM}" -- "-$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# counters: the app's latest "echo: tcp" line, as "SENT VALIDATED DROPS".
counters() {
	tr -d '\r' <"$tmp/app.out" | grep '^echo: tcp syn_rx' | tail -1 |
		awk '{ print $9, $11, $15 }'
}

# start KIND: the app of KIND in the namespace, up and answering; sets
# $addr, $dev, $rate, $app.  Returns 0, or 1 (the app's output says why).
start() {
	: >"$tmp/app.out"
	case $1 in
	hosted)
		addr=10.83.0.2 dev=tap0 rate=10000
		spawn "$tmp/app.out" build/hosted/echo --tap tap0 ip=10.83.0.2/24 stats=1
		;;
	native)
		addr=10.84.0.2 dev=tapq0 rate=4000
		spawn "$tmp/app.out" env NET=tap TAP=tapq0 ARGS="ip=10.84.0.2/24 stats=1" \
			test/qemu.sh build/native/echo.elf32
		;;
	esac
	app=$spawned
	for _ in $(seq 200); do
		in_ns ip link show "$dev" >/dev/null 2>&1 && break
		sleep 0.05
	done
	in_ns ip addr add "${addr%.2}.1/24" dev "$dev" && in_ns ip link set "$dev" up || return 1
	for _ in $(seq 600); do		# the native image boots slowly under TCG
		grep -q '^echo: tcp ports' "$tmp/app.out" && break
		kill -0 "$app" 2>/dev/null || return 1
		sleep 0.1
	done
	grep -q '^echo: tcp ports' "$tmp/app.out" && run_ns /dev/null ping -c 1 -w 20 "$addr"
}

# run_kind KIND: flood the app of KIND, echo through it meanwhile, read its counters.
run_kind() {
	local k=$1 rc fl sent val drops before
	if ! start "$k"; then
		cp "$tmp/app.out" "$out"
		check "synflood.start.$k" 0 1
		finish "$app"
		return
	fi
	spawn "$tmp/flood.out" "$flood" "$addr" 7 $((rate * 90)) "$rate" "${addr%.2}.0/24"
	fl=$spawned
	{
		# The backlog is full once cookies go out (the stats line, every
		# second); the clients come after about 4 s of them.
		for _ in $(seq 60); do
			read -r sent val drops <<<"$(counters)"
			[ "${sent:-0}" -ge $((rate * 4)) ] && break
			sleep 1
		done
		echo "cookies sent before the clients: ${sent:-none}"
		before=${val:-0}
		run_ns "$tmp/peer.out" timeout 180 "$peer" echo "$addr" 7 8192 20
		rc=$?
		cat "$tmp/peer.out"
		run_ns "$tmp/nc.out" sh -c 'exec timeout 120 nc -N "$1" 7 <"$2" >"$2.back"' \
			sh "$addr" "$tmp/r64k" &&
			cmp "$tmp/r64k" "$tmp/r64k.back" && echo "nc: 65536 bytes back intact"
		kill -0 "$fl" 2>/dev/null && echo "the flood is still running"
		[ $rc -eq 0 ]
	} >"$out" 2>&1
	rc=$?
	finish "$fl" INT
	cat "$tmp/flood.out" >>"$out"
	syns=$(sed -n 's/^synflood: \([0-9]*\) SYNs.*/\1/p' "$tmp/flood.out")
	check_note() { echo "${syns:-?} spoofed SYNs at ${rate}/s"; }
	check "synflood.clients.$k" 0 $rc '^cookies sent before the clients: [1-9]' \
		'^echo: 20 connections, 8192 bytes each, echoed intact' \
		'^nc: 65536 bytes back intact$' '^the flood is still running$' '^synflood: [1-9][0-9]* SYNs'
	sleep 3 & wait $!		# the next stats line
	read -r sent val drops <<<"$(counters)"
	echo "cookies sent ${sent:-?} validated ${val:-?} (before the clients: $before)" \
		"backlog_drops ${drops:-?}" >"$out"
	rc=1
	[ "${sent:-0}" -gt 0 ] && [ "$((${val:-0} - before))" -ge 21 ] && [ "${drops:-1}" -eq 0 ] && rc=0
	check_note() { echo "$sent cookies sent, $val connections made from them, $drops backlog drops"; }
	check "synflood.cookies.$k" 0 $rc
	unset -f check_note
	finish "$app"
	in_ns ip link del "$dev" 2>/dev/null
}

run_kind hosted
if [ ! -f build/native/echo.elf32 ]; then
	why="build/native/echo.elf32 is not built"; skip_all native
else
	run_kind native
fi
exit $failed
