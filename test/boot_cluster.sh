#!/bin/bash
# boot_cluster.sh: the elastic runtime's frontend (hosted/node.c, the LAN
# of hosted/lan.c) booting native nodes of app/cluster in QEMU, with no
# root: the call-in, the consoles, the ends.
#
# Checks: two nodes boot, call in from their LAN addresses, are told bye
# and exit with status 0, and so does the frontend; a node whose app
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

# gone PID SECS: PID has ended within SECS seconds.
gone() {
	for _ in $(seq $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

frontend nodes=2 image=$img
check cluster.callin 0 $? '^frontend: node 1 booting \(build/native/cluster.elf32, (TCG|KVM), 64M, pid [0-9]+\)$' \
	'^frontend: node 1 called in from 10\.235\.0\.2 after [0-9]+ ms$' \
	'^frontend: node 2 called in from 10\.235\.0\.3 after [0-9]+ ms$' \
	'^\[node 1\] vnet0: virtio' '^\[node 2\] node 2: the frontend says bye$' \
	'^frontend: node 1 exited with status 0$' '^frontend: node 2 exited with status 0$' \
	'^cluster: 2 of 2 nodes called in$' '^cluster: every node has ended$' '!panic'

frontend nodes=1 image=build/native/echo.elf32
check cluster.ended_first 1 $? '^\[node 1\] echo: node=1: unknown argument$' \
	'^frontend: node 1 exited with status 64$' \
	'^cluster: node 1 did not call in: No such process$' '^cluster: 0 of 1 nodes called in$'

frontend nodes=1 image=$img nodeargs=mute callin=3
check cluster.callin_limit 1 $? '^\[node 1\] cluster: mute: not calling in$' \
	'^frontend: node 1 has not called in after 3 s: stopping it$' \
	'^frontend: node 1: QEMU stopped \(we sent it TERM\)$' \
	'^cluster: node 1 did not call in: Connection timed out$'

# A node's QEMU killed under a running frontend; then Ctrl-C.
"$fe" nodes=2 image=$img stay </dev/null >"$tmp/app.out" 2>&1 &
pid=$!
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
kill -KILL "$pid" 2>/dev/null
cp "$tmp/app.out" "$out"
pid=
check cluster.node_killed 130 "$r" '^frontend: node 1: QEMU ended by signal 9 \(Killed\)$'

# SIGKILL of the frontend: its QEMUs must not outlive it.
"$fe" nodes=2 image=$img stay </dev/null >"$tmp/app.out" 2>&1 &
pid=$!
r=1
if wait_line '^cluster: all 2 nodes are up' 300; then
	q1=$(qemu_pid 1) q2=$(qemu_pid 2)
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	r=0
	gone "$q1" 30 || { echo "node 1's QEMU ($q1) outlived its frontend"; r=1; }
	gone "$q2" 30 || { echo "node 2's QEMU ($q2) outlived its frontend"; r=1; }
fi >>"$tmp/app.out"
kill -KILL "$pid" 2>/dev/null
cp "$tmp/app.out" "$out"
pid=
check cluster.frontend_killed 0 "$r" '^cluster: all 2 nodes are up'

ACCEL=tcg timeout 120 test/qemu.sh $img </dev/null >"$out" 2>&1
check cluster.native_frontend 1 $? 'a native instance cannot boot nodes'

frontend nodes=0
check cluster.bad_args 2 $? '^cluster: nodes must be 1\.\.62'

exit $failed
