#!/bin/sh
# callgrind.sh: instructions per Ebb call against a direct call, per UDP
# datagram, per TCP data segment and per TCP connection, counted
# by valgrind's callgrind (repeatable, unlike time).  Part of make bench;
# says so and does nothing if valgrind is not installed.
set -u
b=build/hosted/bench_ebb
n=1000000
if ! command -v valgrind >/dev/null 2>&1; then
	echo "callgrind: valgrind is not installed (apt-get install valgrind); skipping"
	exit 0
fi
count() {
	valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect="$1" \
		"$b" "$n" 2>&1 | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
d=$(count loop_direct)
e=$(count loop_ebb)
calls=$((5 * n))		# bench_ebb runs each loop 5 times
echo "callgrind, $calls calls of each loop: direct $(echo "$d $calls" | awk '{printf "%.2f", $1/$2}')," \
	"Ebb $(echo "$e $calls" | awk '{printf "%.2f", $1/$2}') instructions per call (loop overhead included)"

# UDP over memlink: the marginal instructions of one datagram (down one
# stack, across the wire, up the other), from two runs of bench_udp.
u=build/hosted/bench_udp
total() {
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$u" "$1" 2>&1 |
		sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
t1=$(total 2000)
t2=$(total 6000)
echo "callgrind, UDP echo over memlink: $(echo "$t1 $t2" | awk '{printf "%.0f", ($2 - $1) / (2 * 2 * 4000)}')" \
	"instructions per datagram (2 cores x 4000 more round trips, 2 datagrams each)"

# TCP over memlink: the marginal instructions of one bulk data segment
# (sent by one stack, copied by the wire, received by the other, and
# its share of the ACKs going back), from two runs of bench_tcp bulk;
# and how many of them are the two software checksums over its bytes
# (memlink offers no offload here; counted with --toggle-collect).
tb=build/hosted/bench_tcp
tcp_run() {
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 |
		sed -n -e 's/.*Collected : *\([0-9]*\).*/I \1/p' \
			-e 's/.*bulk sender: \([0-9]*\) segments out.*/S \1/p' \
			-e 's/.*everything: \([0-9]*\) sent.*/T \1/p'
}
if [ -x "$tb" ]; then
	r1=$(tcp_run "$tb" bulk 16777216)
	r2=$(tcp_run "$tb" bulk 67108864)
	c1=$(tcp_run --toggle-collect=inet_sum "$tb" bulk 16777216 | sed -n 's/^I /C /p')
	c2=$(tcp_run --toggle-collect=inet_sum "$tb" bulk 67108864 | sed -n 's/^I /C /p')
	echo "$r1 $c1 $r2 $c2" | awk '{ for (i = 1; i < NF; i += 2) v[$i, ++n[$i]] = $(i + 1) }
	END { di = v["I", 2] - v["I", 1]; ds = v["S", 2] - v["S", 1]; dt = v["T", 2] - v["T", 1];
	      dc = v["C", 2] - v["C", 1];
	      if (ds > 0 && dt > 0)
		printf "callgrind, TCP bulk over memlink: %.0f instructions per data segment, " \
		    "%.0f of them in inet_sum (two software checksums of 1448 bytes), %.0f the rest " \
		    "(%.0f per segment of either kind; %d more data segments in 48 MiB more)\n",
		    di / ds, dc / ds, (di - dc) / ds, di / dt, ds;
	      else print "callgrind, TCP bulk over memlink: no figures (bench_tcp failed?)" }'
fi

# TCP connections over memlink: the marginal instructions of one
# connection (both stacks: the handshake, 64 bytes each way, the FINs),
# from two runs of bench_tcp cps.
if [ -x "$tb" ]; then
	k1=$(tcp_run "$tb" cps 2000 | sed -n 's/^I //p')
	k2=$(tcp_run "$tb" cps 6000 | sed -n 's/^I //p')
	echo "$k1 $k2" | awk 'NF == 2 { printf "callgrind, TCP connections over memlink: %.0f instructions " \
	    "per connection (connect, 64 bytes echoed, close; both stacks; from 4000 more)\n", ($2 - $1) / 4000 }
	    NF != 2 { print "callgrind, TCP connections over memlink: no figures (bench_tcp failed?)" }'
fi

# The virtio-net driver against the device model: the instructions it
# spends per frame (one sent and one received each round), collected
# only inside its entry points, from two runs of bench_vnet.
vb=build/hosted/bench_vnet
vnet_run() {
	valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		--toggle-collect=vnet_transmit --toggle-collect=vnet_rx_interrupt \
		--toggle-collect=rx_event --toggle-collect=vnet_idle \
		--toggle-collect=watch_fire "$vb" "$1" 2>&1 |
		sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
if [ -x "$vb" ]; then
	v1=$(vnet_run 100000)
	v2=$(vnet_run 300000)
	echo "callgrind, virtio-net driver (hosted, device model): $(echo "$v1 $v2" |
		awk '{printf "%.0f", ($2 - $1) / (2 * 200000)}') instructions per frame" \
		"(64-byte frames, one sent and one received a round, buffers and the stack's drop included)"
fi

# kvstore's request path (the text parser, the store, the reply batch;
# no network): the marginal instructions of one GET (a hit, 32-byte key,
# 64-byte value), of one SET, of one mg and of one binary GET, from two
# runs of bench_kv.
kb=build/hosted/bench_kv
if [ -x "$kb" ]; then
	kv_run() {
		valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect="$1" \
			"$kb" "$2" 2>&1 | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
	}
	g1=$(kv_run kv_bench_gets 20000)
	g2=$(kv_run kv_bench_gets 60000)
	s1=$(kv_run kv_bench_sets 20000)
	s2=$(kv_run kv_bench_sets 60000)
	m1=$(kv_run kv_bench_mgets 20000)
	m2=$(kv_run kv_bench_mgets 60000)
	b1=$(kv_run kv_bench_bgets 20000)
	b2=$(kv_run kv_bench_bgets 60000)
	echo "$g1 $g2 $s1 $s2 $m1 $m2 $b1 $b2" | awk '{ printf "callgrind, kvstore request path " \
	    "(parser, store, reply; no TCP): %.0f instructions per GET, %.0f per SET, " \
	    "%.0f per mg, %.0f per binary GET\n", ($2 - $1) / 40000, ($4 - $3) / 40000, \
	    ($6 - $5) / 40000, ($8 - $7) / 40000 }'
fi
