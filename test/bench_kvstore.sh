#!/bin/bash
# bench_kvstore.sh: part of make bench (root): the kvstore app's
# throughput and latency at a fixed offered load beside Debian's
# memcached, all in one network namespace, measured by test/kv_load.c
# (90% GETs, 10% SETs of 32-byte keys, every key set once first so that
# the GETs hit; every reply checked byte for byte):
#
#   kvstore hosted   build/hosted/kvstore --tap tap0 (one core), at
#                    10.77.0.2 behind the TAP device (Linux's end 10.77.0.1)
#   memcached        Debian's memcached -t 1 (one worker thread) on the
#                    namespace's 127.0.0.1:11311 (Linux's own server: its
#                    requests go over Linux's loopback, not a TAP device
#                    and a second stack)
#   kvstore native   the image in QEMU (KVM or TCG: printed) on a TAP
#                    device there, at 10.79.0.2
#
# Each server gets the same runs: 16 and 64 connections, values of 64 B
# and 1 KiB, one request in flight per connection and 8 (pipelined), at
# KV_RATE (10000) requests/s offered over all connections, for KV_SECS
# (3) seconds each; then one closed-loop run (64 connections, 8 in flight,
# 64 B) for what each can do at most.  A request's latency runs from
# when it was due, so a server that cannot keep up shows it in p50/p99
# and in a throughput below the offered load.  kv_load is one Linux
# thread, on the same host: at most it measures its own limit too.  It prints a line per run, then the table; it
# asserts nothing, and a run with errors says so in its line and in the
# table's errors column.
. "$(dirname "$0")/lib.sh" ""

secs=${KV_SECS:-3}
rate=${KV_RATE:-10000}
ns=ebbkb$$
load=build/test/kv_load
tmp=$(mktemp -d)
pid=
cleanup() { ns_app_cleanup; }
if ! netns_make "$ns" "$load" build/hosted/kvstore build/native/kvstore.elf32; then
	echo "bench_kvstore: skipped: $why"
	exit 0
fi
PATH=$PATH:/usr/sbin:/usr/bin
command -v memcached >/dev/null ||
	echo "bench_kvstore: no memcached (apt-get install memcached): no figures beside kvstore's"
in_ns() { run ip netns exec "$ns" "$@"; }
in_ns ip link set lo up
accel=$(grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ] && echo KVM || echo TCG)

# start KIND: one server; sets $host and $port; 0 once it answers.
start() {
	local dev=none want= kind=$1
	: >"$tmp/app.out"
	case $1 in
	hosted)	ip netns exec "$ns" build/hosted/kvstore --tap tap0 ip=10.77.0.2/24 \
			>"$tmp/app.out" 2>&1 &
		pid=$! host=10.77.0.2 port=11211 dev=tap0 want='memcached protocol on tcp' ;;
	memcached)
		# -u: memcached will not run as root without a user to become.
		ip netns exec "$ns" memcached -u nobody -t 1 -l 127.0.0.1 -p 11311 -U 0 -m 64 \
			>"$tmp/app.out" 2>&1 &
		pid=$! host=127.0.0.1 port=11311 ;;
	native)	ARGS="ip=10.79.0.2/24" ip netns exec "$ns" test/qemu.sh \
			build/native/kvstore.elf32 -netdev tap,id=n0,ifname=tapq0,script=no,downscript=no \
			-device virtio-net-pci,netdev=n0 </dev/null >"$tmp/app.out" 2>&1 &
		pid=$! host=10.79.0.2 port=11211 dev=tapq0 want='memcached protocol on tcp' ;;
	esac
	if [ "$kind" != memcached ]; then	# memcached says nothing
		app_up "$dev" "$host" "$want" 120 || return 1
	fi
	for _ in $(seq 100); do	# until it answers a request
		in_ns "$load" -n 1 -t 5 "$host" "$port" >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

stop() { app_stop; }

# measure LABEL CONNS DEPTH VALUE RATE: one kv_load run (RATE 0: closed
# loop); its line, and a row for the table in $tmp/rows:
# LABEL|CONNS|DEPTH|VALUE|RATE|kv_load's last line.
measure() {
	local r
	r=$(in_ns "$load" -w -c "$2" -p "$3" -v "$4" -r "$5" -d "$secs" -t $((secs + 60)) \
		"$host" "$port" 2>"$tmp/load.err" | tail -1)
	[ -n "$r" ] || r="FAIL no output: $(head -c 200 "$tmp/load.err")"
	printf '%-24s c=%-3d depth=%-2d %5d B: %s\n' "$1" "$2" "$3" "$4" "$r"
	echo "$1|$2|$3|$4|$5|$r" >>"$tmp/rows"
}

# The table: a row per server, connection count, depth and value size.
table() {
	echo
	echo "| server | conns | in flight | value | offered req/s | req/s | p50 | p99 | errors |"
	echo "|---|---|---|---|---|---|---|---|---|"
	awk -F'|' '
	function us(v) {
		if (v >= 1000000) return sprintf("%.2f s", v / 1000000)
		return v >= 1000 ? sprintf("%.1f ms", v / 1000) : sprintf("%.0f us", v)
	}
	{
		# "ok N requests (...) E errors in T s: R req/s (offered O), latency us p50 A p99 B max C"
		n = split($6, h, " ")
		p50 = p99 = rps = "-"
		for (i = 1; i <= n; i++) {
			if (h[i] == "p50") p50 = us(h[i + 1])
			if (h[i] == "p99") p99 = us(h[i + 1])
			if ((h[i] == "req/s" || h[i] == "req/s,") && i > 1) rps = h[i - 1]
		}
		size = $4 >= 1024 ? ($4 / 1024) " KiB" : $4 " B"
		errs = h[1] == "ok" ? "none" : $6
		offered = $5 == 0 ? "closed loop" : $5
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3,
		    size, offered, rps, p50, p99, errs
	}' "$tmp/rows"
}

: >"$tmp/rows"
echo "bench_kvstore: $rate requests/s offered, $secs s a run, 90% GET / 10% SET, 32-byte keys"
for kind in hosted memcached native; do
	case $kind in
	hosted)	label="kvstore hosted (TAP)" ;;
	memcached) label="memcached -t 1 (Linux, lo)"
		command -v memcached >/dev/null || continue ;;
	native)	label="kvstore native ($accel, TAP)" ;;
	esac
	if ! start $kind; then
		echo "$label: did not start"
		sed 's/^/    /' "$tmp/app.out" | tail -5
		stop
		continue
	fi
	for v in 64 1024; do
		for c in 16 64; do
			for d in 1 8; do
				measure "$label" $c $d $v "$rate"
			done
		done
	done
	measure "$label" 64 8 64 0	# as fast as it answers
	stop
done
[ -s "$tmp/rows" ] && table
exit 0
