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
# reported, and Ctrl-C of the frontend then ends the other; SIGKILL of
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

exit $failed
