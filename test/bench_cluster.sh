#!/bin/bash
# bench_cluster.sh: the elastic runtime's figures (make bench).  Prints,
# asserts nothing.
#
# Call-in time: from node_boot (the frontend forks QEMU) to the node's
# call-in reaching the frontend, as the frontend prints it ("node N
# called in ... after M ms"): the median over CLUSTER_RUNS (5) runs of
# one node, and each node's of one run of four (booted at once, so they
# share the host's cores), under TCG unless the host has hardware
# virtualization.  It covers QEMU's start, SeaBIOS, the kernel's boot,
# the NIC, the node's gratuitous ARP and the first call-in datagram
# through the frontend's switch.
#
# The messenger between native nodes: the cluster app's bench (its
# bench.c): round trips (one in flight) and streamed messages a second
# (as many in flight as the messenger's queue takes, each delivery
# acknowledged), 64 B and 64 KiB, frontend <-> node 1 and node 1 <->
# node 2, every message through the frontend's switch.  (bench_msg,
# run by make bench before this, gives the same between hosted nodes
# over memlink.)
. "$(dirname "$0")/lib.sh"

fe=build/hosted/cluster
runs=${CLUSTER_RUNS:-5}
ms=()
for _ in $(seq "$runs"); do
	m=$(timeout 300 "$fe" nodes=1 </dev/null 2>&1 |
		sed -n 's/^frontend: node 1 called in from .* after \([0-9]*\) ms$/\1/p')
	[ -n "$m" ] && ms+=("$m")
done
if [ ${#ms[@]} -eq 0 ]; then
	echo "cluster: no node called in (build/hosted/cluster failed?)"
	exit 0
fi
med=$(printf '%s\n' "${ms[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
four=$(timeout 300 "$fe" nodes=4 </dev/null 2>&1 |
	sed -n 's/^frontend: node \([0-9]\) called in from .* after \([0-9]*\) ms$/\2/p' | sort -n | tr '\n' ' ')
echo "cluster: node_boot to call-in, one node: median ${med} ms over ${#ms[@]} runs (${ms[*]});" \
	"four at once: ${four:-none}ms"
timeout 300 "$fe" nodes=2 bench </dev/null 2>&1 | sed -n 's/^bench: /cluster: messenger, /p'
