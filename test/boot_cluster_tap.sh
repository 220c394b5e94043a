#!/bin/bash
# boot_cluster_tap.sh: the elastic runtime's frontend booting native
# nodes of app/cluster on the TAP LAN (node_lan_tap, ebb/node.h;
# hosted/node_tap.c) instead of the default's, as root (SKIP lines
# without root or ip netns).
#
# The test makes a namespace with a bridge br0 in it; the frontend runs
# inside (ip netns exec) with --tap ebfe0 lan=tap:br0, so its own stack
# (10.235.0.1) and every node's NIC are ports of br0.
#
# Checks:
#	two_nodes	two nodes under TCG, each on a TAP device of its own
#			on br0, call in from their addresses, say hello, and
#			the default checks pass (streams both ways and node to
#			node, the id map, the counter): "cluster: all checks
#			passed", every node and the frontend exit 0; then the
#			namespace has no interface but lo and br0 (the TAP
#			devices went with their QEMUs and the frontend)
#	ports		with stay: while the nodes run, ebfe0 and both nodes'
#			TAP devices are ports of br0; Ctrl-C of the frontend
#			(status 130) ends both QEMUs within 30 s, and every
#			TAP device goes
#	errors		refused with the reason, no QEMU started: a bridge
#			that does not exist; an interface that is not a bridge;
#			no --tap; lan=tap: with ip=; a node's TAP name taken
#			(a persistent TAP device of that name); without
#			CAP_NET_ADMIN (root's capability dropped)
. "$(dirname "$0")/lib.sh"

tests="two_nodes ports errors"
skip() { for t in "$@"; do echo "SKIP cluster_tap.$t: $why"; done; exit $failed; }

tmp=$(mktemp -d)
ns=ebb-ctap.$$
pid=
cleanup() { ns_app_cleanup; }

fe=build/hosted/cluster
img=build/native/cluster.elf32
[ -r "$img" ] || { why="$img is not built (make)"; skip $tests; }
netns_make "$ns" "$fe" || skip $tests
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up
in_ns ip link add br0 type bridge || { why="cannot make a bridge"; skip $tests; }

# The namespace's interfaces other than lo and br0, one line.
others() { in_ns ip -br link | awk '$1 != "lo" && $1 != "br0" { print $1 }' | tr '\n' ' '; }

# QEMUs that are still running, of the "booting" lines in $tmp/app.out.
live_qemus() {
	local p
	for p in $(sed -n 's/^frontend: node [0-9]* booting .*, pid \([0-9]*\))$/\1/p' "$tmp/app.out"); do
		kill -0 "$p" 2>/dev/null && echo "$p"
	done
}

# cluster_tap.two_nodes
timeout 300 ip netns exec "$ns" "$fe" --tap ebfe0 lan=tap:br0 nodes=2 image=$img \
	</dev/null >"$tmp/app.out" 2>&1
rc=$?
cp "$tmp/app.out" "$out"
echo "left: interfaces [$(others)] QEMUs [$(live_qemus)]" >>"$out"
check cluster_tap.two_nodes 0 $rc \
	"^frontend: node 1's NIC is TAP device eb[0-9]+n1 on bridge br0$" \
	"^frontend: node 2's NIC is TAP device eb[0-9]+n2 on bridge br0$" \
	'^frontend: node 1 called in from 10\.235\.0\.2 after [0-9]+ ms$' \
	'^frontend: node 2 called in from 10\.235\.0\.3 after [0-9]+ ms$' \
	'^frontend: node 1 says "hello from node 1"$' '^frontend: node 2 says "hello from node 2"$' \
	'^frontend: node 2 read global id [0-9]+ from the map: "set by node 1"$' \
	'^cluster: the distributed counter: 42000 items counted over 2 nodes and the frontend \(42000 sent and delivered\)$' \
	'^cluster: all checks passed$' \
	'^frontend: node 1 exited with status 0$' '^frontend: node 2 exited with status 0$' \
	'^left: interfaces \[\] QEMUs \[\]$'

# cluster_tap.ports
ip netns exec "$ns" "$fe" --tap ebfe0 lan=tap:br0 nodes=2 image=$img stay </dev/null >"$tmp/app.out" 2>&1 &
pid=$!
if wait_line '^cluster: all 2 nodes are up' 240; then
	ports=$(in_ns ip -br link show master br0 | awk '{ print $1 }' | sort | tr '\n' ' ')
	q=$(live_qemus | wc -l)
	kill -INT "$pid"
	wait "$pid"
	rc=$?
	pid=
	for _ in $(seq 300); do		# the QEMUs end on their frontend's death
		[ -z "$(live_qemus)" ] && break
		sleep 0.1
	done
else
	ports=none q=0 rc=-1
	kill -KILL "$pid"
	wait "$pid"
	pid=
fi
cp "$tmp/app.out" "$out"
echo "running: ports of br0 [$ports], $q QEMUs" >>"$out"
echo "after Ctrl-C: status $rc, interfaces [$(others)] QEMUs [$(live_qemus)]" >>"$out"
check cluster_tap.ports 0 0 '^running: ports of br0 \[eb[0-9]+n1 eb[0-9]+n2 ebfe0 \], 2 QEMUs$' \
	'^after Ctrl-C: status 130, interfaces \[\] QEMUs \[\]$'

# cluster_tap.errors: each refused with its reason, nothing started.
in_ns ip link add vx0 type veth peer name vx1
: >"$out"
err() {
	local want=$1 st
	shift
	timeout 60 ip netns exec "$ns" "$@" </dev/null >"$tmp/err.out" 2>&1
	st=$?
	echo "status $st (want $want): $(grep -v '^$' "$tmp/err.out" | tail -1)" >>"$out"
	grep -q ' booting ' "$tmp/err.out" && grep -q 'called in' "$tmp/err.out" &&
		echo "a node called in" >>"$out"
}
err 2 "$fe" --tap ebfe0 lan=tap:nobr nodes=1 image=$img
err 2 "$fe" --tap ebfe0 lan=tap:vx0 nodes=1 image=$img
err 2 "$fe" lan=tap:br0 nodes=1 image=$img
err 2 "$fe" --tap ebfe0 lan=tap:br0 ip=10.1.0.2/24 nodes=1 image=$img
err 1 bash -c 'ip tuntap add "eb$$n1" mode tap && exec "$0" "$@"' "$fe" --tap ebfe0 lan=tap:br0 \
	nodes=1 image=$img
err 1 setpriv --inh-caps=-net_admin --bounding-set=-net_admin "$fe" --tap ebfe0 lan=tap:br0 \
	nodes=1 image=$img
in_ns ip -br link | awk '$1 ~ /^eb[0-9]+n1$/ { print $1 }' | while read -r d; do in_ns ip link del "$d"; done
in_ns ip link del vx0
echo "left: interfaces [$(others)]" >>"$out"
check cluster_tap.errors 0 0 \
	'^status 2 \(want 2\): cluster: lan=tap:nobr: no bridge "nobr" here' \
	'^status 2 \(want 2\): cluster: lan=tap:vx0: vx0 is not a bridge' \
	"^status 2 \(want 2\): cluster: lan=tap:br0: the TAP LAN needs the frontend's own TAP interface \(--tap NAME\)$" \
	"^status 2 \(want 2\): cluster: lan=tap: and ip= both set the --tap interface's address$" \
	'^status 1 \(want 1\): cluster: node_boot: an interface eb[0-9]+n1 exists already' \
	'^status 1 \(want 1\): .*(needs root or CAP_NET_ADMIN|Operation not permitted)' \
	'!a node called in' '^left: interfaces \[\]$'
exit $failed
