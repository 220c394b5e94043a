#!/bin/bash
# boot_kvstore.sh: the kvstore app (app/kvstore) against real memcached
# clients: nc sessions and libmemcached's tools (Debian's
# libmemcached-tools: memccp, memccat, memcrm, memcflush, memcstat,
# memcslap).
#
# Everything happens in a network namespace of its own (ebbkvPID), so
# no traffic leaves it.  The same tests run against each kind of
# instance:
#
#   hosted	build/hosted/kvstore --tap tap0, as 10.77.0.2/24 (Linux's
#		end 10.77.0.1/24)
#   hosted_2cpus  the same on two cores (a TAP queue each)
#   native_tap	the native image in QEMU on the TAP device tapq0
#		(10.79.0.2/24; Linux 10.79.0.1/24)
#   native_user	the native image on QEMU's user networking, 10.0.2.15,
#		port 11211 forwarded from the namespace's 127.0.0.1:21211
#
# The tests, each named kv.TEST.KIND:
#   nc_session	one nc session: every command kind, byte for byte against
#		the replies memcached 1.6 gives (set get gets-free cas-free
#		add replace append prepend incr decr touch delete, errors,
#		noreply, version)
#   tools	memccp copies a 100 KB random file in, memccat gives it back
#		(cmp), memcstat shows it (curr_items), memcrm removes it,
#		memccat then fails, memcflush succeeds
#   tools_binary  the same with every tool in --binary mode (memcached's
#		binary protocol, app/kvstore/binary.c)
#   meta_session  one nc session of meta commands (mg ms md ma mn, quiet
#		forms), byte for byte against memcached 1.6.18's replies
#   memcslap	memcslap --test=get (8 connections, sets then gets) exits 0 and
#		the store's get_hits grew
#   memcslap_binary  the same in --binary mode
#   pipeline	20 connections at once, each one write of 100 pipelined
#		requests (50 sets and 50 gets of its own keys), every reply
#		checked byte for byte
#   load	test/kv_load: 32 connections, 16 requests in flight on each,
#		90% GETs and 10% SETs of 32-byte keys with 64-byte values,
#		then 16 connections, 4 in flight, 1 KiB values (a SET's data
#		and the GETs' replies span segments); every reply checked
#		against the value that connection last set (fewer requests
#		natively, under TCG)
#   leaks	after everything, flush_all: curr_items and bytes are 0 and
#		only the asking connection is open
# And always: kv.usage (a bad argument exits 64 with the usage) and
# kv.no_nic (hosted without --tap: exits 69 saying how to give it one).
# Without root, `ip netns` or libmemcached-tools (make test installs
# them: test/deps.sh) the tests that need them print SKIP lines.
. "$(dirname "$0")/lib.sh"

ns=ebbkv$$
app=build/hosted/kvstore
pid=
tmp=$(mktemp -d)
cleanup() { ns_app_cleanup; }

timeout 30 "$app" port=0 >"$out" 2>&1
check kv.usage 64 $? '^kvstore: port=0: not port=1\.\.65535$' '^usage: kvstore \[ip=dhcp'
timeout 30 "$app" >"$out" 2>&1
check kv.no_nic 69 $? '^kvstore: no network interface: give it one with'

tests="nc_session meta_session tools tools_binary memcslap memcslap_binary pipeline load leaks"
kinds=${KV_KINDS:-"hosted hosted_2cpus native_tap native_user"}
skip_all() { for k in $kinds; do for t in $tests; do echo "SKIP kv.$t.$k: $why"; done; done; }
if ! command -v memccat >/dev/null; then
	why="no libmemcached-tools (apt-get install libmemcached-tools)"; skip_all; exit 0
fi
netns_make "$ns" "$app" build/native/kvstore.elf32 || { skip_all; exit 0; }
in_ns() { run ip netns exec "$ns" "$@"; }
in_ns ip link set lo up

# start KIND: the app of KIND in the namespace; sets $addr and $port.
start() {
	: >"$tmp/app.out"
	case $1 in
	hosted|hosted_2cpus)
		addr=10.77.0.2 port=11211 dev=tap0
		ip netns exec "$ns" timeout 900 "$app" --cpus "$([ "$1" = hosted ] && echo 1 || echo 2)" \
			--tap tap0 ip=10.77.0.2/24 >"$tmp/app.out" 2>&1 &
		pid=$!
		;;
	native_tap)
		addr=10.79.0.2 port=11211 dev=tapq0
		ARGS="ip=10.79.0.2/24" ip netns exec "$ns" timeout 900 test/qemu.sh \
			build/native/kvstore.elf32 -netdev tap,id=n0,ifname=tapq0,script=no,downscript=no \
			-device virtio-net-pci,netdev=n0 </dev/null >"$tmp/app.out" 2>&1 &
		pid=$!
		;;
	native_user)
		addr=127.0.0.1 port=21211 dev=none
		ARGS="ip=10.0.2.15/24,gw=10.0.2.2" ip netns exec "$ns" timeout 900 test/qemu.sh \
			build/native/kvstore.elf32 \
			-nic user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:21211-:11211 \
			</dev/null >"$tmp/app.out" 2>&1 &
		pid=$!
		;;
	esac
	app_up "$dev" "$addr" '^kvstore: memcached protocol on tcp port' 90 || return 1
	[ "$dev" = none ] || in_ns ping -c 1 -w 10 "$addr" >/dev/null 2>&1
}

stop() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}

# talk FILE: send FILE's bytes on one connection; the replies on stdout.
talk() {
	in_ns timeout 30 nc -q 3 "$addr" "$port" <"$1"
}

# The stat NAME from a stats request.
kvstat() {
	printf 'stats\r\n' >"$tmp/stats.in"
	talk "$tmp/stats.in" | tr -d '\r' | sed -n "s/^STAT $1 //p"
}

# One session, with memcached 1.6's replies (checked against Debian's
# memcached 1.6.18).
printf '%s\r\n' "set a 5 0 5" hello "get a" "add a 0 0 1" x "add b 0 0 2" bb \
	"replace c 0 0 1" x "append a 0 0 1" "!" "prepend a 0 0 2" ">>" "get a b c" \
	"incr n 1" "set n 0 0 2" 10 "incr n 5" "decr n 100" "incr n x" "touch a 100" \
	"touch c 1" "delete b" "delete b" "set q 0 0 1 noreply" q "get q" "bogus" \
	"set k 0 0 1" "toolong" "set k x 0 1" "version" >"$tmp/session.in"
printf '%s\r\n' STORED "VALUE a 5 5" hello END NOT_STORED STORED NOT_STORED STORED STORED \
	"VALUE a 5 8" ">>hello!" "VALUE b 0 2" bb END NOT_FOUND STORED 15 0 \
	"CLIENT_ERROR invalid numeric delta argument" TOUCHED NOT_FOUND DELETED NOT_FOUND \
	"VALUE q 0 1" q END ERROR "CLIENT_ERROR bad data chunk" ERROR \
	"CLIENT_ERROR bad command line format" "VERSION 1.6.0" >"$tmp/session.want"
# ("toolong" is no 1-byte data block: the block is "too", which does not
# end in "\r\n", and "long" is then read as a command, as memcached does.)

# A session of meta commands, with memcached 1.6.18's replies.
printf '%s\r\n' "ms m 5 T0 F3" hello "mg m v f t s k" "mg x v" "mg x v q k" "mn" \
	"ms m 1 MA" "!" "mg m v" "ma c N0 J10 v" "ma c MD D3 v" "md m q" "md m" "mg m v" \
	"mn" >"$tmp/meta.in"
printf '%s\r\n' HD "VA 5 f3 t-1 s5 km" hello EN MN HD "VA 6" "hello!" "VA 2" 10 "VA 1" 7 \
	NF EN MN >"$tmp/meta.want"

# The pipeline of client $1: 50 sets of its own keys, then 50 gets.
pipeline() {
	local c=$1 i
	for i in $(seq 50); do printf 'set p%s.%s 0 0 %s\r\nv%s.%s\r\n' "$c" "$i" $((${#c} + ${#i} + 2)) "$c" "$i"; done
	for i in $(seq 50); do printf 'get p%s.%s\r\n' "$c" "$i"; done
}
pipeline_want() {
	local c=$1 i
	for i in $(seq 50); do printf 'STORED\r\n'; done
	for i in $(seq 50); do printf 'VALUE p%s.%s 0 %s\r\nv%s.%s\r\nEND\r\n' "$c" "$i" $((${#c} + ${#i} + 2)) "$c" "$i"; done
}
for c in $(seq 20); do
	pipeline "$c" >"$tmp/pipe$c.in"
	pipeline_want "$c" >"$tmp/pipe$c.want"
done
head -c 100000 /dev/urandom >"$tmp/blob"

for kind in $kinds; do
	if ! start "$kind"; then
		echo "FAIL kv.start.$kind: the app did not come up; its output:"
		sed 's/^/    /' "$tmp/app.out" | tail -20
		failed=1
		stop
		continue
	fi
	S="--servers=$addr:$port"

	talk "$tmp/session.in" >"$out" 2>&1
	cmp -s "$out" "$tmp/session.want"
	check "kv.nc_session.$kind" 0 $? '^VERSION 1\.6\.0'

	{
		in_ns timeout 30 memccp "$S" "$tmp/blob" &&
		in_ns timeout 30 memccat "$S" blob >"$tmp/blob.back" &&
		head -c 100000 "$tmp/blob.back" | cmp "$tmp/blob" - &&	# memccat adds a newline
		[ "$(stat -c %s "$tmp/blob.back")" = 100001 ] &&
		in_ns timeout 30 memcstat "$S" | grep -E '^\s*curr_items: [1-9]' &&
		in_ns timeout 30 memcrm "$S" blob &&
		! in_ns timeout 30 memccat "$S" blob &&
		in_ns timeout 30 memcflush "$S" && echo "tools ok"
	} >"$out" 2>&1
	check "kv.tools.$kind" 0 $? '^tools ok$'

	talk "$tmp/meta.in" >"$out" 2>&1
	cmp -s "$out" "$tmp/meta.want"
	check "kv.meta_session.$kind" 0 $? '^MN'

	B="--binary $S"
	{
		in_ns timeout 30 memccp $B "$tmp/blob" &&
		in_ns timeout 30 memccat $B blob >"$tmp/blob.back" &&
		head -c 100000 "$tmp/blob.back" | cmp "$tmp/blob" - &&
		[ "$(stat -c %s "$tmp/blob.back")" = 100001 ] &&
		in_ns timeout 30 memcstat $B | grep -E '^\s*curr_items: [1-9]' &&
		in_ns timeout 30 memcrm $B blob &&
		! in_ns timeout 30 memccat $B blob &&
		in_ns timeout 30 memcflush $B && echo "binary tools ok"
	} >"$out" 2>&1
	check "kv.tools_binary.$kind" 0 $? '^binary tools ok$'

	for mode in "" --binary; do
		name=kv.memcslap${mode:+_binary}.$kind
		hits0=$(kvstat get_hits)
		in_ns timeout 120 memcslap "$S" $mode --test=get --concurrency=8 \
			--execute-number=500 >"$out" 2>&1
		rc=$?
		hits1=$(kvstat get_hits)
		echo "get_hits $hits0 -> $hits1" >>"$out"
		[ "$rc" -eq 0 ] && [ "${hits1:-0}" -gt "${hits0:-0}" ]
		check "$name" 0 $? '^Time to (set|get)'
	done

	for c in $(seq 20); do
		talk "$tmp/pipe$c.in" >"$tmp/pipe$c.out" 2>&1 &
	done
	wait $(jobs -p | grep -v "^$pid\$") 2>/dev/null
	bad=0
	for c in $(seq 20); do cmp -s "$tmp/pipe$c.out" "$tmp/pipe$c.want" || bad=$((bad + 1)); done
	echo "$bad of 20 pipelines wrong" >"$out"
	check "kv.pipeline.$kind" 0 "$bad" '^0 of 20'

	case $kind in hosted*) n=20000 ;; *) n=4000 ;; esac
	{
		in_ns timeout 200 build/test/kv_load -w -c 32 -p 16 -n "$n" -t 180 "$addr" "$port" &&
		in_ns timeout 200 build/test/kv_load -w -c 16 -p 4 -v 1024 -n $((n / 4)) -t 180 \
			"$addr" "$port"
	} >"$out" 2>&1
	check "kv.load.$kind" 0 $? '^ok [0-9]+ requests .*\) 0 errors in'

	printf 'flush_all\r\n' >"$tmp/flush.in"
	talk "$tmp/flush.in" >/dev/null
	sleep 1
	echo "items $(kvstat curr_items) bytes $(kvstat bytes) conns $(kvstat curr_connections)" >"$out"
	check "kv.leaks.$kind" 0 0 '^items 0 bytes 0 conns 1$'
	stop
done
exit "$failed"
