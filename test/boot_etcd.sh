#!/bin/bash
# boot_etcd.sh: two "hosts" sharing one global id map through etcd (as
# root; SKIP lines without root, ip netns or etcd-server).
#
# Host A and host B are network namespaces joined by a veth
# (10.80.0.1 in A, 10.80.0.2 in B); one etcd-server runs in A on
# 10.80.0.1:2379 (its peer port on A's 127.0.0.1).  Each host runs a
# frontend (build/hosted/cluster with --tap tap0: 10.80.1.2 in A and
# 10.80.2.2 in B, Linux's tap0 ends .1 and the routes between; B
# forwards) with idmap=etcd:10.80.0.1:2379 and one native node under
# TCG on its own LAN.
#
# Checks:
#	two_hosts	A (site 0): node 1 sets global id ID to a text through
#			A's map, which keeps it in etcd, and reads it back;
#			etcd holds it under ebb/idmap/ID (curl on the gateway);
#			then B (site 1): its node reads ID through B's map,
#			i.e. through etcd, and gets the text; the two sites'
#			ranges are apart; both frontends exit 0
#	absent		B's node reads an id never set: the read fails, the
#			frontend says so and exits 1
#	etcd_down	with etcd stopped, B's node's read fails (after the
#			etcd client's retries, within the id map's timeout)
#			instead of hanging: the frontend exits 1, promptly
. "$(dirname "$0")/lib.sh"

tests="two_hosts absent etcd_down"
skip() { for t in "$@"; do echo "SKIP etcd.$t: $why"; done; exit $failed; }

tmp=$(mktemp -d)
nsa=ebb-etcd-a.$$
nsb=ebb-etcd-b.$$
pid=
epid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$epid" ] && kill "$epid" 2>/dev/null && wait "$epid" 2>/dev/null
	ip netns del "$nsa" 2>/dev/null
	ip netns del "$nsb" 2>/dev/null
	rm -rf "$tmp"
}

fe=build/hosted/cluster
img=build/native/cluster.elf32
etcd_bin=$(command -v etcd)
id=70000				# a global id (site 0's node 1's range is 69633..)
text="set on host A"

[ -n "$etcd_bin" ] || { why="no etcd here (apt-get install etcd-server)"; skip $tests; }
command -v curl >/dev/null || { why="no curl here"; skip $tests; }
netns_make "$nsa" "$fe" || skip $tests
ip netns add "$nsb" || { why="cannot make a second namespace"; skip $tests; }

in_a() { run ip netns exec "$nsa" "$@"; }
in_b() { run ip netns exec "$nsb" "$@"; }

# The wire between the hosts, loopbacks up (each frontend's LAN is UDP on 127.0.0.1).
ip link add veth-a netns "$nsa" type veth peer name veth-b netns "$nsb" || exit 1
in_a ip addr add 10.80.0.1/24 dev veth-a && in_a ip link set veth-a up && in_a ip link set lo up
in_b ip addr add 10.80.0.2/24 dev veth-b && in_b ip link set veth-b up && in_b ip link set lo up
in_a ip route add 10.80.2.0/24 via 10.80.0.2
in_b sysctl -qw net.ipv4.ip_forward=1

# etcd in A, data under $tmp; its peer port: a free one on A's loopback.
ip netns exec "$nsa" "$etcd_bin" --name ebbtest --data-dir "$tmp/etcd" \
	--listen-client-urls http://10.80.0.1:2379 --advertise-client-urls http://10.80.0.1:2379 \
	--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
	--initial-cluster ebbtest=http://127.0.0.1:2380 >"$tmp/etcd.log" 2>&1 &
epid=$!
up=
for _ in $(seq 100); do
	in_a curl -s -m 2 -X POST http://10.80.0.1:2379/v3/kv/range -d '{"key":"eA=="}' 2>/dev/null |
		grep -q '"header"' && { up=1; break; }
	kill -0 "$epid" 2>/dev/null || break
	sleep 0.2
done
if [ -z "$up" ]; then
	echo "FAIL etcd.two_hosts: etcd did not come up; its log:"
	tail -20 "$tmp/etcd.log" | sed 's/^/    /'
	exit 1
fi

# host NS DEV_NET SITE ARGS...: a frontend in NS with tap0 on 10.80.DEV_NET.0/24,
# to its end (at most 300 s); its status; output in $out.
host() {
	local ns=$1 net=$2 site=$3
	shift 3
	ip netns exec "$ns" "$fe" --tap tap0 ip=10.80.$net.2/24,gw=10.80.$net.1 \
		idmap=etcd:10.80.0.1:2379 site="$site" nodes=1 image=$img msgs=100 xmsgs=0 \
		"$@" </dev/null >"$out" 2>&1 &
	pid=$!
	for _ in $(seq 200); do
		ip netns exec "$ns" ip link show tap0 >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	ip netns exec "$ns" ip addr add 10.80.$net.1/24 dev tap0 2>/dev/null
	ip netns exec "$ns" ip link set tap0 up 2>/dev/null
	local rc
	for _ in $(seq 3000); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	pid=
	[ -n "${VERBOSE:-}" ] && sed 's/^/    | /' "$out"
	return $rc
}

# etcd.two_hosts
host "$nsa" 1 0 putid=$id:"$text"
rc=$?
cp "$out" "$tmp/a.out"
check etcd.two_hosts.a 0 $rc '^frontend: site 0, global ids from 65537; the id map in etcd at 10\.80\.0\.1:2379$' \
	"^\[node 1\] cluster: node 1: set global id $id in the map: done" \
	'^\[node 1\] cluster: node 1 joined its frontend; global Ebb ids 69633\.\.73728 are mine$' \
	"^frontend: node 1 read global id $id from the map: \"$text\"$" '^cluster: all checks passed$'
key=$(printf 'ebb/idmap/%s' $id | base64)
got=$(in_a curl -s -m 5 -X POST http://10.80.0.1:2379/v3/kv/range -d "{\"key\":\"$key\"}" |
	sed -n 's/.*"value":"\([^"]*\)".*/\1/p' | base64 -d 2>/dev/null)
echo "etcd holds ebb/idmap/$id = \"$got\"" >"$out"
check etcd.two_hosts.in_etcd 0 0 "^etcd holds ebb/idmap/$id = \"$text\"\$"
host "$nsb" 2 1 getid=$id:"$text"
check etcd.two_hosts.b 0 $? '^frontend: site 1, global ids from 389121; the id map in etcd at 10\.80\.0\.1:2379$' \
	'^\[node 1\] cluster: node 1 joined its frontend; global Ebb ids 393217\.\.397312 are mine$' \
	"^frontend: node 1 read global id $id from the map: \"$text\"$" '^cluster: all checks passed$'

# etcd.absent
host "$nsb" 2 1 getid=$((id + 1)):"$text"
check etcd.absent 1 $? "^frontend: node 1 read global id $((id + 1)) from the map: \"\"$" \
	"^\[node 1\] cluster: node 1: global id $((id + 1)): No such file or directory$" \
	'^cluster: some checks failed$'

# etcd.etcd_down
kill "$epid" && wait "$epid" 2>/dev/null
epid=
t0=$(date +%s)
host "$nsb" 2 1 getid=$id:"$text"
rc=$?
secs=$(($(date +%s) - t0))
check_note() { echo "$secs s"; }
check etcd.etcd_down 1 $rc "^frontend: node 1 read global id $id from the map: \"\"$" \
	"^\[node 1\] cluster: node 1: global id $id: Connection refused$" \
	'^cluster: some checks failed$'
unset -f check_note
exit $failed
