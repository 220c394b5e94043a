#!/bin/bash
# boot_cluster.sh: the elastic runtime's frontend (hosted/node.c, the LAN
# of hosted/lan.c) booting native nodes of app/cluster in QEMU, with no
# root: the call-in, the consoles, the ends.
#
# Checks: two nodes boot, call in from their LAN addresses, say hello
# over the messenger; 10,000 items stream each way between the frontend
# and each node and 1,000 from each node to the other, every one checked
# in order and whole; node 1 sets a global id in the id map and node 2
# reads it back; the distributed counter sums to what was delivered;
# the nodes are told bye and exit with status 0, and so does the
# frontend; share=DIR: each node walks a directory of the host's
# through the file Ebb (ebb/file.h) and its sizes and checksums match
# the frontend's own reading, an escape out of it refused, a link out
# of it not listed, a missing DIR refused; a node killed in the middle
# of a stream of a million is reported, its peers' messages to it fail with an error, and the other
# node finishes its streams (status 1: not all was well); the benchmark
# (bench: round trips and streams, 64 B and 64 KiB, frontend <-> node 1
# and node 1 <-> node 2) completes with every figure; a node whose app
# ends before calling in (echo, which refuses node=) is reported with
# its status and its future fails; a node that never calls in is
# stopped at the frontend's limit; a node's QEMU killed while it runs is
# reported, and Ctrl-C of the frontend then ends the other; plain: a
# native kvstore node loads its items from a file of the host's through
# the file Ebb (3,000 lines over two pieces, a line with no space and
# one too long counted bad) and a memcached client on the host reads
# them back byte for byte through the node's forwarded port (fwd=,
# QEMU's user networking), then Ctrl-C leaves no QEMU, a load= file
# missing reported, plain nodes that all end reported (status 1), a bad
# fwd= refused; SIGKILL of
# the frontend ends every QEMU it started (PR_SET_PDEATHSIG); a native
# image asked to be a frontend refuses; bad arguments are refused.
. "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$tmp"
}

fe=build/hosted/cluster
img=build/native/cluster.elf32

# frontend ARGS...: run the frontend to its end, output in $out.
frontend() {
	timeout 300 "$fe" "$@" </dev/null >"$out" 2>&1
}

# The pid of node N's QEMU, from the frontend's "booting" line.
qemu_pid() {
	sed -n "s/^frontend: node $1 booting .*, pid \([0-9]*\))$/\1/p" "$tmp/app.out"
}

# bg ARGS...: the frontend in the background ($pid), its output in
# $tmp/app.out for wait_line; bg_end: make sure it has ended, its output
# into $out for check.
bg() {
	"$fe" "$@" </dev/null >"$tmp/app.out" 2>&1 &
	pid=$!
}
bg_end() {
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	cp "$tmp/app.out" "$out"
	pid=
}

# gone PID SECS: PID has ended within SECS seconds.
gone() {
	for _ in $(seq $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

frontend nodes=2 image=$img
check cluster.messages 0 $? '^frontend: node 1 booting \(build/native/cluster.elf32, (TCG|KVM), 64M, pid [0-9]+\)$' \
	'^frontend: node 1 called in from 10\.235\.0\.2 after [0-9]+ ms$' \
	'^frontend: node 2 called in from 10\.235\.0\.3 after [0-9]+ ms$' \
	'^\[node 1\] vnet0: virtio' \
	'^frontend: node 1 says "hello from node 1"$' '^frontend: node 2 says "hello from node 2"$' \
	'^frontend: to node 1: 10000 of 10000 items delivered$' \
	'^frontend: to node 2: 10000 of 10000 items delivered$' \
	"^frontend: node 1's stream: 10000 items, 10000 in order and intact$" \
	"^frontend: node 2's stream: 10000 items, 10000 in order and intact$" \
	'^frontend: node 1 reports 11000 items received \(0 bad\), 11000 of 11000 delivered, its counter 11000$' \
	'^frontend: node 2 reports 11000 items received \(0 bad\), 11000 of 11000 delivered, its counter 11000$' \
	'^frontend: node 2 read global id [0-9]+ from the map: "set by node 1"$' \
	'^cluster: the distributed counter: 42000 items counted over 2 nodes and the frontend \(42000 sent and delivered\)$' \
	'^cluster: all checks passed$' '^\[node 2\] node 2: the frontend says bye$' \
	'^frontend: node 1 exited with status 0$' '^frontend: node 2 exited with status 0$' '!panic'

# A node killed in the middle of the frontend's stream of a million to it.
bg nodes=2 image=$img msgs=1000000
r=99
if wait_line '^frontend: to node 2: 100000 items sent$' 300; then
	kill -KILL "$(qemu_pid 2)"
	wait "$pid"
	r=$?
fi
bg_end
check cluster.killed_mid_stream 1 "$r" '^frontend: node 2: QEMU ended by signal 9 \(Killed\)$' \
	'^cluster: node 2 is gone; the others go on without it$' \
	'^frontend: to node 2: [0-9]+ of 1000000 items delivered; not all: Software caused connection abort$' \
	'^\[node 1\] cluster: node 1: the frontend says node 2 is gone$' \
	'^frontend: to node 1: 1000000 of 1000000 items delivered$' \
	"^frontend: node 1's stream: 1000000 items, 1000000 in order and intact$" \
	'^frontend: node 1 reports [0-9]+ items received \(0 bad\), [0-9]+ of 1001000 delivered; not all: ' \
	'^cluster: some checks failed$' '^frontend: node 1 exited with status 0$' '!panic'

frontend nodes=2 image=$img bench
check cluster.bench 0 $? \
	'^bench: frontend <-> node 1: round trip [0-9]+ us \(64 B\), [0-9]+ us \(64 KiB\); streamed [1-9][0-9]* messages/s \(64 B\), [1-9][0-9]* messages/s \(64 KiB: [0-9]+ MB/s\)$' \
	'^bench: node 1 <-> node 2: round trip [0-9]+ us \(64 B\), [0-9]+ us \(64 KiB\); streamed [1-9][0-9]* messages/s \(64 B\), [1-9][0-9]* messages/s \(64 KiB: [0-9]+ MB/s\)$' \
	'^frontend: node 1 exited with status 0$' '^frontend: node 2 exited with status 0$' '!failed'

# share=DIR: the nodes read the host's files through the file Ebb.
mkdir -p "$tmp/share/docs" && echo "hello from the host" >"$tmp/share/hello.txt"
head -c 3000000 /dev/urandom >"$tmp/share/docs/random.bin"
cp README.md "$tmp/share/docs/" && : >"$tmp/share/empty"
echo secret >"$tmp/outside" && ln -s ../outside "$tmp/share/esc"
bytes=$(cat "$tmp/share/hello.txt" "$tmp/share/docs/"* | wc -c)
frontend nodes=2 image=$img share="$tmp/share"
check cluster.share 0 $? "^share: the frontend reads 4 files, $bytes bytes:\$" \
	'^hello\.txt 20 [0-9a-f]{16}$' '^docs/random\.bin 3000000 [0-9a-f]{16}$' '^empty 0 cbf29ce484222325$' \
	'^escape \.\./etc/passwd: Permission denied$' \
	"^share: node 1: 4 files, $bytes bytes: every size and checksum matches the frontend's\$" \
	"^share: node 2: 4 files, $bytes bytes: every size and checksum matches the frontend's\$" \
	"^\\[node 1\\] share: read 4 files, $bytes bytes, from the host through the file Ebb in [0-9]+ ms \\([0-9]+ MB/s\\)\$" \
	'^cluster: all checks passed$' \
	'^frontend: node 1 exited with status 0$' '^frontend: node 2 exited with status 0$' '!^esc ' '!panic'

frontend nodes=1 image=$img share="$tmp/nonexistent"
check cluster.share_missing 2 $? "^cluster: share: $tmp/nonexistent: No such file or directory\$" \
	'!booting'

frontend nodes=1 image=build/native/echo.elf32
check cluster.ended_first 1 $? '^\[node 1\] echo: node=1: unknown argument$' \
	'^frontend: node 1 exited with status 64$' \
	'^cluster: node 1 did not call in: No such process$' '^cluster: some checks failed$'

frontend nodes=1 image=$img nodeargs=mute callin=3
check cluster.callin_limit 1 $? '^\[node 1\] cluster: mute: not calling in$' \
	'^frontend: node 1 has not called in after 3 s: stopping it$' \
	'^frontend: node 1: QEMU stopped \(we sent it TERM\)$' \
	'^cluster: node 1 did not call in: Connection timed out$'

# A node's QEMU killed under a running frontend; then Ctrl-C.
bg nodes=2 image=$img stay
r=1
if wait_line '^cluster: all 2 nodes are up' 300; then
	q1=$(qemu_pid 1) q2=$(qemu_pid 2)
	kill -KILL "$q1"
	if wait_line '^frontend: node 1: QEMU ended by signal 9 \(Killed\)$' 30; then
		kill -INT "$pid"
		wait "$pid"
		r=$?
		gone "$q2" 30 || r=99
	fi
fi
bg_end
check cluster.node_killed 130 "$r" '^frontend: node 1: QEMU ended by signal 9 \(Killed\)$'

# plain: a kvstore node loads its items from the host's file through the
# file Ebb; a memcached client on the host reads them back through the
# forwarded port.  Lines of about 100 bytes, so the file spans two of
# the node's reads (256 KiB each).
mkdir -p "$tmp/kv"
for i in $(seq 3000); do
	printf 'k%d value %d of the host file, padded to about a hundred bytes %060d\n' "$i" "$i" "$i"
done >"$tmp/kv/items.txt"
{ echo nospace; printf 'long %070000d\n' 0; printf 'greeting hello,  world\r\n'; printf 'last no newline'; } \
	>>"$tmp/kv/items.txt"
bg nodes=1 plain image=build/native/kvstore.elf32 share="$tmp/kv" nodeargs=load=items.txt fwd=tcp:11211
r=1
if wait_line '^\[node 1\] kvstore: loaded 3002 items from the frontend' 300 &&
    wait_line '^\[node 1\] node 1: vnet1 is ' 300 &&
    wait_line '^cluster: all 1 nodes are up' 30; then
	port=$(sed -n "s/^frontend: node 1's TCP port 11211 is at 127\.0\.0\.1:\([0-9]*\)\$/\1/p" "$tmp/app.out")
	q1=$(qemu_pid 1)
	# Every item in one get, k2066 among them: the first read ends inside its line.
	keys="$(seq -f 'k%.0f' 3000 | tr '\n' ' ')greeting last long nospace"
	{
		awk 'NR <= 3000 { v = substr($0, index($0, " ") + 1)
			printf "VALUE %s 0 %d\r\n%s\r\n", $1, length(v), v }' "$tmp/kv/items.txt"
		printf 'VALUE greeting 0 13\r\nhello,  world\r\nVALUE last 0 10\r\nno newline\r\n'
	} >"$tmp/kv/want"
	printf 'END\r\n' >>"$tmp/kv/want"
	# The client: bash's /dev/tcp; quit makes the server close.
	timeout 60 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$port"' && printf "get '"$keys"'\r\nquit\r\n" >&3 &&
		cat <&3' >"$tmp/kv/got" 2>&1
	if cmp "$tmp/kv/want" "$tmp/kv/got" >>"$tmp/app.out" 2>&1; then
		echo "the client read $(wc -c <"$tmp/kv/got") bytes back as in the file" >>"$tmp/app.out"
	fi
	stats() {
		timeout 60 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$port"' && printf "'"$1"'stats\r\nquit\r\n" >&3 &&
			cat <&3' | tr -d '\r' | sed -n 's/^STAT \(curr_items\|bytes\|curr_connections\) /\1 /p' | tr '\n' ' '
		echo
	}
	echo "loaded: $(stats '')" >>"$tmp/app.out"
	# Leaks: flush_all empties the store, and only the asking connection is left.
	echo "flushed: $(stats 'flush_all\r\n')" >>"$tmp/app.out"
	kill -INT "$pid"
	wait "$pid"
	r=$?
	gone "$q1" 30 || { echo "node 1's QEMU ($q1) outlived its frontend" >>"$tmp/app.out"; r=99; }
fi
bg_end
check cluster.plain_kvstore 130 "$r" "^frontend: node 1's TCP port 11211 is at 127\.0\.0\.1:[0-9]+\$" \
	'^\[node 1\] node 1: vnet1 is 10\.0\.2\.15 \(DHCP\): the host.s forwarded ports reach it$' \
	'^\[node 1\] kvstore: loaded 3002 items from the frontend.s items\.txt \(2 bad lines\)$' \
	'^cluster: all 1 nodes are up; Ctrl-C ends them and me$' \
	'^the client read [0-9]+ bytes back as in the file$' '^loaded: curr_connections 1 bytes [1-9][0-9]* curr_items 3002 $' \
	'^flushed: curr_connections 1 bytes 0 curr_items 0 $' '!still pending' '!panic'

# plain: a load= file that is not there is reported, and the node serves on.
bg nodes=1 plain image=build/native/kvstore.elf32 share="$tmp/kv" nodeargs=load=missing.txt
r=1
if wait_line '^\[node 1\] kvstore: cannot load ' 300 && wait_line '^cluster: all 1 nodes are up' 30; then
	q1=$(qemu_pid 1)
	kill -INT "$pid"
	wait "$pid"
	r=$?
	gone "$q1" 30 || { echo "node 1's QEMU ($q1) outlived its frontend" >>"$tmp/app.out"; r=99; }
fi
bg_end
check cluster.plain_load_missing 130 "$r" \
	'^\[node 1\] kvstore: cannot load missing\.txt from the frontend: No such file or directory \(0 items loaded before\)$' \
	'!TCP port' '!vnet1' '!panic'

# plain: every node ends (echo refuses node=): the frontend says so, status 1.
frontend nodes=1 plain image=build/native/echo.elf32
check cluster.plain_all_ended 1 $? '^frontend: node 1 exited with status 64$' \
	'^cluster: every node has ended$' '!all 1 nodes are up'

# SIGKILL of the frontend: its QEMUs must not outlive it.
bg nodes=2 image=$img stay
r=1
if wait_line '^cluster: all 2 nodes are up' 300; then
	q1=$(qemu_pid 1) q2=$(qemu_pid 2)
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	r=0
	gone "$q1" 30 || { echo "node 1's QEMU ($q1) outlived its frontend"; r=1; }
	gone "$q2" 30 || { echo "node 2's QEMU ($q2) outlived its frontend"; r=1; }
fi >>"$tmp/app.out"
bg_end
check cluster.frontend_killed 0 "$r" '^cluster: all 2 nodes are up'

ACCEL=tcg timeout 120 test/qemu.sh $img </dev/null >"$out" 2>&1
check cluster.native_frontend 1 $? 'a native instance cannot boot nodes'

frontend nodes=0
check cluster.bad_args 2 $? '^cluster: nodes must be 1\.\.62'
frontend nodes=1 plain fwd=tcp:99999
check cluster.bad_fwd 1 $? '^cluster: node_boot: fwd=tcp:99999: want words tcp:PORT or udp:PORT$' '!booting'

exit $failed
